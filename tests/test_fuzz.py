"""Nothing lost, nothing crashes: property-based fuzzing of everything that reads untrusted input.

Five targets, each fed hundreds to thousands of generated and mutated inputs per run:

- the IDX reader (:func:`barenet.data.read_idx`), raw and gzip;
- the model loader (:func:`barenet.load`);
- the config parser (:func:`barenet.train.config.load` and ``validate``), and the
  builder on whatever it accepts;
- the image decoder (:func:`barenet.vision.images.load_image`) and preprocessor
  (:func:`barenet.vision.preprocess`), up to a 12-megapixel photo;
- the number reader (:func:`barenet.vision.reading.read_number`, ``predict --number``).

The one property: only :class:`BarenetError` escapes, with a one-line message, within a
time and memory budget, and no warning printed; whatever is returned is sane. Runs of the
same tests are reproducible (``derandomize=True``; Hypothesis also draws constants from the
project's imported modules, so running a subset of the suite draws other inputs);
``BARENET_FUZZ_SCALE=10`` runs ten times as many inputs.
Byte-level mutations are drawn as a seed and done with NumPy, which is much faster than
letting Hypothesis generate the bytes. The counts appear in the pytest terminal summary.
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import inspect
import io
import json
import math
import os
import signal
import struct
import tempfile
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

import barenet as bn
from barenet.data import read_idx
from barenet.data.augment import Augment
from barenet.data.idx import IDX_DTYPES
from barenet.errors import BarenetError
from barenet.nn.layers import (
    LAYERS,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from barenet.nn.optim import OPTIMIZERS, SCHEDULES, make_schedule
from barenet.nn.options import layer_spec
from barenet.train import config as cfg
from barenet.train.builder import build_model, plan
from barenet.vision import extract, preprocess
from barenet.vision.images import load_image
from barenet.vision.reading import read_number

SCALE = float(os.environ.get("BARENET_FUZZ_SCALE", "1"))
MB = 1 << 20


def fuzz_settings(examples: int) -> settings:
    """Reproducible (derandomized, no example database), no per-example deadline."""
    return settings(max_examples=max(1, round(examples * SCALE)), deadline=None,
                    derandomize=True, database=None, print_blob=False,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory):
    """A folder for the files fed to readers: in memory (/dev/shm) where there is one, since
    thousands of files are written and removed, and on ext4 that alone can take seconds."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        with tempfile.TemporaryDirectory(prefix="barenet-fuzz-", dir=shm) as folder:
            yield Path(folder)
    else:
        yield tmp_path_factory.mktemp("fuzz")


# --- the property ---------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the alarm of :func:`budget`; not an Exception, so no handler catches it."""


def _peak_rss() -> int | None:
    """Peak resident memory of this process since the last reset (Linux), else None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak_rss() -> int | None:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return None
    return _peak_rss()


@contextlib.contextmanager
def budget(seconds: float = 10.0, memory: int | None = None, trace: bool = True):
    """Fail (not hang) after ``seconds``; fail if the block took more than ``memory`` bytes at
    its peak, whether it returned or raised.

    ``trace=True`` measures every allocation of Python and NumPy with tracemalloc (an array
    allocated and never touched counts), but slows Python down about four times;
    ``trace=False`` measures the growth of the peak resident memory instead (Linux only).
    """
    def timeout(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    start = None
    if memory is not None and trace:
        tracemalloc.start()
    elif memory is not None:
        start = _reset_peak_rss()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        peak = None
        if memory is not None and trace:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        elif start is not None:
            peak = _peak_rss() - start
        if peak is not None and peak > memory:
            raise AssertionError(f"took {peak / MB:.1f} MB, budget {memory / MB:.1f} MB")


TRACE_EVERY = 8
_calls = iter(range(1 << 62))


def attempt(fuzz, target: str, call, *args, seconds: float = 10.0, memory: int | None = None,
            trace: bool | None = None, **kwargs):
    """``call(*args)``: its result, or None when it refused with a one-line BarenetError.

    Any other exception propagates and fails the test (Hypothesis then shrinks the input), and
    so does a warning (the command line would print it). Memory is traced allocation by
    allocation for one call in TRACE_EVERY, the others are checked by their resident memory.
    """
    if trace is None:
        trace = next(_calls) % TRACE_EVERY == 0
    try:
        with budget(seconds, memory, trace), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = call(*args, **kwargs)
    except BarenetError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message, f"not a one-line message: {message!r}"
        result = None
    assert not caught, f"printed {caught[0].category.__name__}: {caught[0].message}"
    fuzz(target, "refused" if result is None else "accepted")
    return result


def _position(rng: np.random.Generator, end: int, hot: int) -> int:
    """A random offset below ``end``, half of the time within the first ``hot`` bytes."""
    end = max(end, 1)
    return int(rng.integers(0, min(end, hot) if rng.random() < 0.5 else end))


def mutate(data: bytes, seed: int, hot: int = 64) -> bytes:
    """One to three random byte-level mutations of ``data``, often within its first ``hot``
    bytes (where headers live): bit flips, random or interesting values written, spans
    deleted, duplicated or inserted, truncation, extra bytes."""
    rng = np.random.default_rng(seed)
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        n = len(buf)
        i = _position(rng, n, hot)
        kind = int(rng.integers(9))
        if kind == 0 and n:  # flip 1-8 bits
            for _ in range(int(rng.integers(1, 9))):
                j = _position(rng, n, hot)
                buf[j] ^= 1 << int(rng.integers(8))
        elif kind == 1 and n:  # random bytes over a span
            k = int(rng.integers(1, 9))
            buf[i:i + k] = rng.integers(0, 256, k, dtype=np.uint8).tobytes()
        elif kind == 2 and n:  # an interesting 32-bit value (a size field?)
            value = int(rng.choice([0, 1, 0xFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, n, n - 1]))
            buf[i:i + 4] = value.to_bytes(4, "big" if rng.random() < 0.5 else "little")
        elif kind == 3:  # truncate
            del buf[int(rng.integers(0, n + 1)):]
        elif kind == 4:  # extra bytes at the end
            buf += rng.integers(0, 256, int(rng.integers(1, 65)), dtype=np.uint8).tobytes()
        elif kind == 5 and n:  # delete a span
            del buf[i:i + int(rng.integers(1, 17))]
        elif kind == 6 and n:  # duplicate a span
            buf[i:i] = buf[i:i + int(rng.integers(1, 33))]
        elif kind == 7:  # insert random bytes
            i = _position(rng, n + 1, hot)
            buf[i:i] = rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8).tobytes()
        elif kind == 8 and n:  # zero or 0xFF a span
            k = len(buf[i:i + int(rng.integers(1, 17))])
            buf[i:i + k] = bytes([int(rng.choice([0, 255]))]) * k
    return bytes(buf)


def put(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new file: on ext4, truncating a file that holds data flushes it
    to disk first (the auto_da_alloc heuristic), a hundred times slower."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)
    return path


seeds = st.integers(0, 2**63 - 1)

KEYS = sorted(cfg.SCHEMA) + [
    "type", "config", "layers", "input_shape", "in_features", "out_features", "kernel_size",
    "stride", "padding", "num_features", "p", "alpha", "init", "bias", "lr", "name", "betas",
    "warmup", "scale", "step_size", "gamma", "dtype", "rng", "format", "mean", "std", "", "é"]
STRINGS = LAYERS.names() + ["adam", "sgd", "cosine", "step", "mnist", "float64", "float16",
                            "object", "he", "xavier", "zeros", "", "784", "1e9", "é\u2028x"]
INTS = [0, 1, -1, 2, 3, 10, 28, 784, 2**16, 2**16 + 1, 2**20, 2**20 + 1, 2**31, 2**63 - 1,
        -2**63, 10**30]
FLOATS = [0.0, -0.0, 0.5, -0.5, 1.5, 1e-300, 1e300, 1e9, float("nan"), float("inf"),
          float("-inf")]


def random_value(rng: np.random.Generator, depth: int = 0, null: bool = True):
    """A random JSON (``null=True``) or TOML value: interesting numbers, names barenet knows,
    lists and tables nested a few levels. Faster to make than a Hypothesis strategy's."""
    kind = int(rng.integers(8 if depth < 3 else 6))
    if kind == 0:
        return None if null else bool(rng.integers(2))
    if kind == 1:
        return bool(rng.integers(2))
    if kind == 2:
        return int(rng.choice(INTS)) if rng.random() < 0.7 else int(rng.integers(-5, 100))
    if kind == 3:
        return float(rng.choice(FLOATS)) if rng.random() < 0.7 else float(rng.normal() * 10)
    if kind in (4, 5):
        return str(rng.choice(STRINGS))
    if kind == 6:
        return [random_value(rng, depth + 1, null) for _ in range(int(rng.integers(5)))]
    return {str(rng.choice(KEYS)): random_value(rng, depth + 1, null)
            for _ in range(int(rng.integers(4)))}


# --- IDX reader -----------------------------------------------------------------------------

IDX = "IDX reader"


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """The IDX encoding of ``array`` as the format defines it."""
    dtype = IDX_DTYPES[code]
    return (bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            + np.ascontiguousarray(array, dtype=dtype).tobytes())


def reference_idx(content: bytes) -> np.ndarray | None:
    """The array a (decompressed) IDX byte string holds, or None if it holds none: the
    format's definition, written without any concern for safety."""
    if len(content) < 4 or content[:2] != b"\0\0" or content[2] not in IDX_DTYPES:
        return None
    ndim, dtype = content[3], IDX_DTYPES[content[2]]
    header = 4 + 4 * ndim
    if ndim == 0 or len(content) < header:
        return None
    shape = struct.unpack(f">{ndim}I", content[4:header])
    if math.prod(shape) * dtype.itemsize != len(content) - header:
        return None
    if ndim > 32 or math.prod(d for d in shape if d) * dtype.itemsize >= 2**63:
        return None  # no NumPy array has this shape (NumPy 1.x allows 32 dimensions)
    native = dtype.newbyteorder("=")
    if math.prod(shape) == 0:
        return np.empty(shape, native)
    return np.frombuffer(content, dtype, offset=header).reshape(shape).astype(native)


def gunzip(data: bytes) -> bytes | None:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return None


def check_idx(fuzz, path: Path, data: bytes) -> None:
    """read_idx agrees with the reference: same array, or a BarenetError when there is none;
    memory stays within what the data needs (a header declaring terabytes allocates nothing)."""
    put(path, data)
    is_gzip = data[:2] == b"\x1f\x8b"
    content = gunzip(data) if is_gzip else data
    expected = reference_idx(content) if content is not None else None
    # Raw: the array and one byte-order copy. Gzip: the reader may allocate what the header
    # declares before finding the stream corrupt, but never more than deflate can expand to.
    memory = 3 * len(content or b"") + (2 * 1100 * len(data) if is_gzip else 0) + 4 * MB
    result = attempt(fuzz, IDX, read_idx, path, seconds=10, memory=memory)
    if expected is None:
        assert result is None, f"read_idx accepted a file holding no IDX array: {data[:40]!r}"
    else:
        assert result is not None, f"read_idx refused a valid IDX file: {data[:40]!r}"
        assert result.shape == expected.shape and result.dtype == expected.dtype
        assert result.dtype.isnative and result.flags.writeable
        assert result.tobytes() == expected.tobytes()


dims = st.one_of(st.integers(0, 6), st.integers(0, 2**32 - 1),
                 st.sampled_from([28, 60000, 2**16, 2**31, 2**32 - 1]))
magics = st.sampled_from([b"\0\0"] * 9 + [b"\0\x01", b"\x1f\x8b", b"PK"])
codes = st.sampled_from(sorted(IDX_DTYPES)) | st.integers(0, 255)
shapes = st.lists(dims, max_size=5) | st.integers(6, 255).map(lambda n: [1] * n)
sizes = st.sampled_from(["exact", "exact", "near", "any"])
bytes_values = st.integers(0, 255)


@st.composite
def idx_files(draw) -> bytes:
    """An IDX file from a generated header: magic, dtype code, ndim and dimensions, each
    valid or not, then data of exactly the declared size or of some other size; raw or gzip."""
    magic, code, shape = draw(magics), draw(codes), draw(shapes)
    ndim = len(shape) if draw(st.booleans()) else draw(bytes_values)
    header = magic + bytes([code, ndim]) + struct.pack(f">{len(shape)}I", *shape)
    if draw(st.booleans()):  # cut short
        header = header[:draw(seeds) % (len(header) + 1)]
    itemsize = IDX_DTYPES[code].itemsize if code in IDX_DTYPES else 1
    declared = math.prod(shape) * itemsize
    size, seed = draw(sizes), draw(seeds)
    if size == "exact" and declared <= 1 << 16:
        length = declared
    elif size == "near" and declared <= 1 << 16:
        length = max(0, declared + seed % 19 - 9)
    else:
        length = seed % 4097
    payload = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    data = header + payload
    if draw(st.booleans()):
        data = gzip.compress(data, compresslevel=1, mtime=0)
    return data


@fuzz_settings(2000)
@given(data=idx_files())
@example(data=bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1))
@example(data=gzip.compress(bytes([0, 0, 0x0E, 2]) + struct.pack(">2I", 2**31, 2**31), mtime=0))
@example(data=bytes([0, 0, 8, 40]) + struct.pack(">40I", *[1] * 40) + b"\x07")  # 40 dims
@example(data=bytes([0, 0, 9, 3]) + struct.pack(">3I", 2**32 - 1, 0, 2**32 - 1))  # empty, huge
@example(data=gzip.compress(bytes([0, 0, 8, 70]) + struct.pack(">70I", *[1] * 70) + b"\x07",
                            mtime=0))
def test_idx_generated_headers(fuzz, scratch, data):
    check_idx(fuzz, scratch / "generated.idx", data)


def _idx_bases() -> list[bytes]:
    rng = np.random.default_rng(7)
    floats = rng.standard_normal((3, 5)).astype(np.float32)
    floats[0, :3] = [np.nan, np.inf, -np.inf]
    arrays = [(rng.integers(0, 256, (4, 6, 5)), 0x08), (rng.integers(-128, 128, 9), 0x09),
              (rng.integers(-2**15, 2**15, (2, 7)), 0x0B), (rng.integers(-2**31, 2**31, 3), 0x0C),
              (floats, 0x0D), (rng.standard_normal((1, 1, 2, 3)), 0x0E),
              (np.zeros((0, 28, 28)), 0x08), (rng.integers(0, 10, 100), 0x08)]
    raw = [idx_bytes(a, code) for a, code in arrays]
    return raw + [gzip.compress(r, mtime=0) for r in raw]


IDX_BASES = _idx_bases()


@fuzz_settings(2000)
@given(base=st.sampled_from(IDX_BASES), seed=seeds, inside=st.booleans())
def test_idx_mutated_files(fuzz, scratch, base, seed, inside):
    """Valid files, raw or gzip, mutated: byte flips, truncation, extra bytes, corrupt gzip
    streams; ``inside`` mutates a gzip file's content and compresses it again, so that the
    mutation reaches the IDX parser instead of failing the gzip checksum."""
    if inside and base[:2] == b"\x1f\x8b":
        data = gzip.compress(mutate(gzip.decompress(base), seed), compresslevel=1, mtime=0)
    else:
        data = mutate(base, seed, hot=32 if base[:2] != b"\x1f\x8b" else 1 << 30)
    check_idx(fuzz, scratch / "mutated.idx", data)


def test_idx_gzip_bomb_is_refused_without_inflating_it(fuzz, scratch):
    """A 2 MB gzip file whose header declares 2 GB: refused before allocating or inflating."""
    header = bytes([0, 0, 8, 1]) + struct.pack(">I", 2**31 - 1)
    stream = zlib.compressobj(1, zlib.DEFLATED, 31)
    data = stream.compress(header) + b"".join(stream.compress(bytes(MB)) for _ in range(64))
    check_idx(fuzz, scratch / "bomb.idx.gz", data + stream.flush())


# --- model loader ---------------------------------------------------------------------------

LOADER = "model loader"


def _model_files() -> list[bytes]:
    rng = np.random.default_rng(3)
    mlp = bn.Sequential([Linear(12, 6, rng=rng), BatchNorm1d(6), ReLU(), Dropout(0.2, rng=rng),
                         Linear(6, 3, init="xavier", rng=rng), Softmax()], (12,),
                        {"normalization": {"mean": 0.1, "std": 0.3}, "class_names": ["a", "b", "c"],
                         "dataset": "synthetic", "metrics": {"val_accuracy": 0.5}})
    cnn = bn.Sequential([Conv2d(1, 2, 3, stride=2, padding=1, rng=rng), BatchNorm2d(2),
                         LeakyReLU(0.1), MaxPool2d(2, padding=1), AvgPool2d(1), Conv2d(2, 3, 1),
                         GlobalAvgPool2d(), Linear(3, 2, bias=False, rng=rng)], (1, 8, 8))
    tiny = bn.Sequential([Flatten(), Linear(4, 2, init="lecun", rng=rng), Tanh(),
                          Linear(2, 1, rng=rng), Sigmoid()], (2, 2))
    files = []
    with tempfile.TemporaryDirectory() as folder:
        for model in [mlp, cnn.astype(np.float64), tiny]:
            bn.save(model, Path(folder) / "model.npz")
            files.append((Path(folder) / "model.npz").read_bytes())
    return files


MODEL_FILES = _model_files()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def forged_zip(entries: list[tuple[str, int, bytes, int, int]]) -> bytes:
    """A zip written byte by byte from ``(name, method, payload, crc, declared size)``
    entries, so that a member may declare any size whatever its payload inflates to."""
    local, central = b"", b""
    for name, method, payload, crc, size in entries:
        offset, fname = len(local), name.encode()
        local += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc,
                             len(payload), size, len(fname), 0) + fname + payload
        central += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc,
                               len(payload), size, len(fname), 0, 0, 0, 0, 0, offset) + fname
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                      len(central), len(local), 0)
    return local + central + end


def zip_of(items: list[tuple[str, bytes]], compress: bool = False) -> bytes:
    """A zip of ``(name, content)`` members, stored or deflated; any names, duplicates too."""
    entries = []
    for name, content in items:
        stream = zlib.compressobj(1, zlib.DEFLATED, -15)
        payload = stream.compress(content) + stream.flush() if compress else content
        entries.append((name, 8 if compress else 0, payload, zlib.crc32(content), len(content)))
    return forged_zip(entries)


def npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, np.asanyarray(array), allow_pickle=True)
    return out.getvalue()


def header_npy(header) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return npy(np.frombuffer(text, np.uint8))


def check_load(fuzz, path: Path, data: bytes) -> None:
    """Only BarenetError escapes load, fast and in bounded memory; a model that loads holds
    finite float arrays and runs on an input of its shape."""
    put(path, data)
    model = attempt(fuzz, LOADER, bn.load, path, seconds=10, memory=256 * MB)
    if model is None:
        return
    assert model.dtype in (np.float32, np.float64)
    for name, array in model.state_dict().items():
        assert array.dtype == model.dtype and np.all(np.isfinite(array)), name
    if model.input_shape and math.prod(model.input_shape) <= 10_000:
        try:
            model.train(False).forward(np.zeros((2, *model.input_shape), model.dtype))
        except BarenetError:
            pass


def zip_regions(data: bytes) -> list[int]:
    """Offsets where the structure of a zip file changes: each local header, its name and
    data, the central directory and its entries, the end record."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        offsets = {0, len(data), archive.start_dir}
        for info in archive.infolist():
            offsets.add(info.header_offset)
            offsets.add(info.header_offset + 30)
            offsets.add(info.header_offset + 30 + len(info.filename))
            offsets.add(info.header_offset + 30 + len(info.filename) + len(info.extra) + 128)
    end = data.rfind(b"PK\x05\x06")
    offsets.update({end, end + 10, end + 12, end + 16, end + 20})
    position = archive.start_dir
    while data[position:position + 4] == b"PK\x01\x02":
        offsets.add(position)
        name, extra, comment = struct.unpack("<3H", data[position + 28:position + 34])
        position += 46 + name + extra + comment
    return sorted(offsets)


@fuzz_settings(1500)
@given(index=st.integers(0, 2), seed=seeds, where=st.integers(0, 10**6),
       cut=st.integers(-8, 8), how=st.sampled_from(["bytes", "truncate", "region"]))
@example(index=1, seed=138701, where=138701, cut=0, how="region")  # compressed size: 307 MB
def test_model_byte_mutations(fuzz, scratch, index, seed, where, cut, how):
    """Bit flips anywhere, and truncation or damage at every kind of offset of the zip."""
    base = MODEL_FILES[index]
    regions = zip_regions(base)
    offset = min(max(regions[where % len(regions)] + cut, 0), len(base))
    if how == "bytes":
        data = mutate(base, seed, hot=1 << 30)
    elif how == "truncate":
        data = base[:offset]
    else:  # mutations where a structure starts
        data = base[:offset] + mutate(base[offset:], seed, hot=48)
    check_load(fuzz, scratch / "bytes.npz", data)


random_arrays = st.sampled_from([
    np.zeros(0), np.zeros((6, 3), np.float32), np.zeros(6, np.float64), np.full(6, np.nan),
    np.full((12, 6), np.inf, np.float32), np.arange(6), np.ones(3, bool), np.ones(3, complex),
    np.float64(1.5), np.zeros((6, 12), np.float32).T, np.ones(6, np.float16),
    np.zeros(3, [("a", "<f4")]), np.array(["ab"]), np.zeros((2**16, 2), np.uint8),
    np.full((12, 6), 1e300), np.full(6, -1e39), np.full((2, 1, 3, 3), 1e-320),
])
member_names = st.sampled_from([
    "__barenet__.npy", "0.weight.npy", "0.bias.npy", "1.gamma.npy", "1.running_var.npy",
    "4.weight.npy", "9.weight.npy", "0.weight", "__barenet__", "../evil.npy", "/abs.npy",
    "dir/0.weight.npy", "", "é.npy"]) | st.text(max_size=12)


@fuzz_settings(1000)
@given(index=st.integers(0, 2), ops=st.lists(st.tuples(
           st.sampled_from(["remove", "add", "rename", "swap", "replace", "bytes", "dup"]),
           member_names, random_arrays, seeds), min_size=1, max_size=3),
       compress=st.booleans())
def test_model_member_mutations(fuzz, scratch, index, ops, compress):
    """Members removed, added, renamed, swapped, duplicated, or replaced by arrays of the
    wrong shape or dtype (integers, complex, bool, structured, strings, 0-d, NaN, inf)."""
    items = mutate_members(list(members(MODEL_FILES[index]).items()), ops)
    check_load(fuzz, scratch / "members.npz", zip_of(items, compress))


def mutate_members(items: list[tuple[str, bytes]], ops) -> list[tuple[str, bytes]]:
    """The archive members ``items`` with each ``(op, name, array, seed)`` of ``ops`` done."""
    for op, name, array, seed in ops:
        rng = np.random.default_rng(seed)
        i = int(rng.integers(len(items))) if items else 0
        if op == "remove" and items:
            del items[i]
        elif op == "add":
            items.append((name, npy(array)))
        elif op == "rename" and items:
            items[i] = (name, items[i][1])
        elif op == "swap" and len(items) > 1:
            j = int(rng.integers(len(items)))
            items[i], items[j] = (items[i][0], items[j][1]), (items[j][0], items[i][1])
        elif op == "replace" and items:
            items[i] = (items[i][0], npy(array))
        elif op == "bytes" and items:
            items[i] = (items[i][0], mutate(items[i][1], seed))
        elif op == "dup" and items:
            items.append((items[i][0], npy(array)))
    return items


def json_paths(value, path=()) -> list[tuple]:
    """Every path into a JSON value, the value's own (empty) path first."""
    paths = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += json_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            paths += json_paths(item, (*path, i))
    return paths


def apply_json_op(doc, path: tuple, op: str, value, key: str):
    """``doc`` with the value at ``path`` replaced, deleted, or given a new key or item."""
    if not path:
        return value if op == "replace" else doc
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if op == "replace":
        parent[last] = value
    elif op == "delete":
        del parent[last]
    elif op == "add":
        target = parent[last]
        if isinstance(target, dict):
            target[key] = value
        elif isinstance(target, list):
            target.append(value)
        else:
            parent[last] = [target, value]
    elif op == "sizes":  # every number in the subtree scaled up (a huge model)
        parent[last] = json.loads(json.dumps(parent[last]), parse_int=lambda s: int(s) * 1000)
    return doc


def edited(doc, edits):
    """``doc`` with each ``(where, op, seed)`` of ``edits`` applied at a path it picks."""
    for where, op, seed in edits:
        rng = np.random.default_rng(seed)
        paths = json_paths(doc)
        doc = apply_json_op(doc, paths[where % len(paths)], op, random_value(rng),
                            str(rng.choice(KEYS)))
    return doc


def encode_header(doc, encoding: str) -> bytes:
    text = json.dumps(doc)
    if encoding == "utf-16":
        return text.encode("utf-16")
    if encoding == "latin-1 junk":
        return text.encode()[:-2] + b"\xff\xfe\xc3" + text.encode()[-2:]
    if encoding == "deep":
        return b"[" * 100_000 + b"]" * 100_000
    if encoding == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    return text.encode()


@fuzz_settings(1200)
@given(index=st.integers(0, 2), edits=st.lists(st.tuples(
           st.integers(0, 10**6), st.sampled_from(["replace", "delete", "add", "sizes"]), seeds),
           min_size=1, max_size=3),
       encoding=st.sampled_from(["utf-8"] * 12 + ["utf-16", "latin-1 junk", "deep", "bom"]),
       header_dtype=st.sampled_from([np.uint8] * 6 + [np.int16, np.float32, "2d"]))
def test_model_header_mutations(fuzz, scratch, index, edits, encoding,
                                header_dtype):
    """The JSON header mutated: wrong types, unknown layer types, huge sizes, nested junk,
    deleted keys; then encoded as UTF-8, UTF-16, broken UTF-8, absurdly deep nesting."""
    items = members(MODEL_FILES[index])
    doc = edited(json.loads(np.load(io.BytesIO(items["__barenet__.npy"])).tobytes()), edits)
    raw = encode_header(doc, encoding)
    if header_dtype == "2d":
        header = npy(np.frombuffer(raw, np.uint8).reshape(1, -1))
    else:
        header = npy(np.frombuffer(raw[:len(raw) // np.dtype(header_dtype).itemsize
                                       * np.dtype(header_dtype).itemsize], header_dtype))
    items["__barenet__.npy"] = header
    check_load(fuzz, scratch / "header.npz", zip_of(list(items.items())))


@fuzz_settings(500)
@given(items=st.lists(st.tuples(member_names, st.one_of(
           st.binary(max_size=64), random_arrays.map(npy),
           seeds.map(lambda seed: header_npy({
               "format": "barenet-model", "format_version": 1, "dtype": "float32",
               "architecture": random_value(np.random.default_rng(seed))})))),
           max_size=5),
       compress=st.booleans())
def test_model_zips_from_scratch(fuzz, scratch, items, compress):
    check_load(fuzz, scratch / "scratch.npz", zip_of(items, compress))


# --- checkpoints ------------------------------------------------------------------------------

CHECKPOINT = "checkpoint loader"


def _checkpoint_parts():
    """A small model and optimizer, and the bytes of a checkpoint of them mid-epoch."""
    from barenet.nn.optim import Adam
    from barenet.train.checkpoint import LoopState, Partial, members

    def fresh():
        model = bn.Sequential([Linear(6, 5, rng=0), BatchNorm1d(5), ReLU(),
                               Dropout(0.2, rng=1), Linear(5, 3, rng=2)])
        return model, Adam(model.parameters())

    model, optimizer = fresh()
    for p in model.parameters():
        p.grad[...] = 0.1
    optimizer.step()
    state = LoopState(epoch=1, batch=3, history=[{"epoch": 1, "train_loss": 0.5}],
                      best={"epoch": 1, "val_accuracy": 0.5, "val_loss": 1.0},
                      partial=Partial(1.5, 3, 6, 0.2),
                      epoch_start_rng=np.random.default_rng(0).bit_generator.state,
                      rngs=[np.random.default_rng(i).bit_generator.state for i in range(3)],
                      config_sha256="a" * 64, data_sha256={"f": "b" * 64})
    arrays = members(model, optimizer, model.state_dict(), state)
    return fresh, zip_of([(f"{k}.npy", npy(v)) for k, v in arrays.items()])


CHECKPOINT_MODEL, CHECKPOINT_FILE = _checkpoint_parts()


def check_checkpoint(fuzz, path: Path, data: bytes) -> None:
    from barenet.train.checkpoint import load_checkpoint

    model, optimizer = CHECKPOINT_MODEL()
    attempt(fuzz, CHECKPOINT, load_checkpoint, put(path, data), model, optimizer,
            seconds=10, memory=64 * MB)


def test_the_checkpoint_base_is_accepted(fuzz, scratch):
    from barenet.train.checkpoint import load_checkpoint

    model, optimizer = CHECKPOINT_MODEL()
    state, best = load_checkpoint(put(scratch / "base.npz", CHECKPOINT_FILE), model, optimizer)
    assert state.batch == 3 and best is not None and optimizer.t == 1
    fuzz(CHECKPOINT, "accepted")


@fuzz_settings(600)
@given(edits=st.lists(st.tuples(st.integers(0, 10**6),
                                st.sampled_from(["replace", "delete", "add", "sizes"]), seeds),
                      min_size=1, max_size=3))
def test_checkpoint_state_mutations(fuzz, scratch, edits):
    """The loop state's JSON with wrong types, deleted keys, huge numbers, nested junk."""
    items = members(CHECKPOINT_FILE)
    doc = edited(json.loads(np.load(io.BytesIO(items["__state__.npy"])).tobytes()), edits)
    items["__state__.npy"] = npy(np.frombuffer(json.dumps(doc).encode(), np.uint8))
    check_checkpoint(fuzz, scratch / "state.npz", zip_of(list(items.items())))


@fuzz_settings(600)
@given(ops=st.lists(st.tuples(st.sampled_from(["remove", "add", "replace", "bytes", "swap",
                                               "rename", "dup"]),
                              st.sampled_from(["model.0.weight.npy", "best.1.gamma.npy",
                                               "optim.t.npy", "optim.0.m.npy", "__state__.npy",
                                               "model.9.weight.npy"]),
                              random_arrays, seeds), min_size=1, max_size=3),
       compress=st.booleans())
def test_checkpoint_member_mutations(fuzz, scratch, ops, compress):
    """Members removed, added, replaced by arrays of other shapes and dtypes, or corrupted."""
    items = mutate_members(list(members(CHECKPOINT_FILE).items()), ops)
    check_checkpoint(fuzz, scratch / "members.npz", zip_of(items, compress))


def test_checkpoint_zip_bomb_is_refused_fast(fuzz, scratch):
    items = dict(members(CHECKPOINT_FILE))
    items["model.0.weight.npy"] = npy(np.zeros((8000, 8000), np.float32))  # 256 MB, deflated
    check_checkpoint(fuzz, scratch / "bomb.npz", zip_of(list(items.items()), compress=True))


UNPICKLED = []


def _tripped() -> None:
    UNPICKLED.append("unpickled")


class Tripwire:
    """Unpickling this object records it: the loader must never get that far."""

    def __reduce__(self):
        return _tripped, ()


def test_model_with_a_pickled_array_is_refused_unopened(fuzz, scratch):
    items = members(MODEL_FILES[2])
    for name in ["1.weight.npy", "__barenet__.npy"]:
        for trap in [np.array([Tripwire(), 1, "a"], dtype=object), np.array(Tripwire())]:
            buffer = io.BytesIO()
            np.savez(buffer, **{name[:-4]: trap})
            bad = dict(items, **members(buffer.getvalue()))
            path = scratch / "pickle.npz"
            put(path, zip_of(list(bad.items())))
            with pytest.raises(BarenetError, match="pickle"):
                bn.load(path)
            fuzz(LOADER, "refused")
    assert UNPICKLED == []


def deflate_zeros(megabytes: int) -> bytes:
    """A raw deflate stream of ``megabytes`` MiB of zeros, built from one compressed
    block repeated (about 1 KB per MiB): a zip bomb without compressing gigabytes."""
    block_maker = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = block_maker.compress(bytes(MB)) + block_maker.flush(zlib.Z_FULL_FLUSH)
    # After a full flush a block stands alone: the same block again inflates to another MiB.
    return block * megabytes + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


BOMB = deflate_zeros(2047)


@pytest.mark.parametrize("member", ["__barenet__.npy", "0.weight.npy", "7.junk.npy"])
@pytest.mark.parametrize("declared", ["honest", "lying"])
def test_model_zip_bomb_is_refused_fast(fuzz, scratch, member, declared):
    """A 2 MB member inflating to 2 GiB, its size declared honestly (refused unread) or
    declared small (inflating stops at the declared size, then the checksum fails)."""
    size = 2047 * MB if declared == "honest" else 1000
    crc = 0 if declared == "honest" else zlib.crc32(bytes(size))
    others = [(name, 0, content, zlib.crc32(content), len(content))
              for name, content in members(MODEL_FILES[2]).items() if name != member]
    data = forged_zip([(member, 8, BOMB, crc, size), *others])
    path = scratch / "bomb.npz"
    put(path, data)
    with pytest.raises(BarenetError):
        with budget(seconds=5, memory=64 * MB):
            bn.load(path)
    fuzz(LOADER, "refused")


def hostile_header(layers: list, input_shape=None) -> bytes:
    header = {"format": "barenet-model", "format_version": 1, "dtype": "float32",
              "architecture": {"layers": layers, "input_shape": input_shape}, "metadata": {}}
    return zip_of([("__barenet__.npy", header_npy(header))])


@pytest.mark.parametrize("layers", [
    [{"type": "Conv2d", "config": {"in_channels": 64, "out_channels": 64, "kernel_size": 1000}}],
    [{"type": "Conv2d", "config": {"in_channels": 64, "out_channels": 64,
                                   "kernel_size": [1000, 1000]}}],
    [{"type": "Linear", "config": {"in_features": 784, "out_features": 1e7}}],
    [{"type": "Linear", "config": {"in_features": 784, "out_features": "10000000"}}],
    [{"type": "BatchNorm1d", "config": {"num_features": 1e9}}],
    [{"type": "BatchNorm1d", "config": {"num_features": 2**20}}] * 4000,
    [{"type": "Linear", "config": {"in_features": 2**13, "out_features": 2**14}}],
    [{"type": "Linear", "config": {"in_features": 2**20, "out_features": 100}}] * 50,
], ids=["conv-kernel", "conv-kernel-pair", "float-size", "string-size", "float-bn",
        "many-bn", "one-huge-linear", "many-linear"])
def test_model_describing_a_huge_architecture_is_refused_in_bounded_memory(
        fuzz, scratch, layers):
    """A few hundred bytes describing gigabytes of weights: refused before allocating them."""
    path = scratch / "huge.npz"
    put(path, hostile_header(layers))
    with pytest.raises(BarenetError):
        with budget(seconds=5, memory=256 * MB):
            bn.load(path)
    fuzz(LOADER, "refused")


def test_model_member_declaring_a_huge_compressed_size_is_read_in_bounded_memory(fuzz, scratch):
    """A stored member whose compressed size (in the central directory) says 2 GB: zipfile's
    read() allocated that much at once; the loader reads only the declared data size."""
    data = bytearray(MODEL_FILES[2])
    entry = data.find(b"1.bias.npy", data.find(b"PK\x01\x02")) - 46  # its central entry
    assert data[entry:entry + 4] == b"PK\x01\x02"
    data[entry + 20:entry + 24] = struct.pack("<I", 0x7FFFFFF0)  # compressed size
    path = put(scratch / "compressed-size.npz", bytes(data))
    assert attempt(fuzz, LOADER, bn.load, path, seconds=5, memory=64 * MB, trace=True)


def test_model_array_beyond_float32_is_refused(fuzz, scratch):
    """A float64 array of 1e39 for a float32 model: finite in the file, infinite once cast."""
    items = members(MODEL_FILES[2])
    items["1.bias.npy"] = npy(np.full(2, 1e39))
    path = put(scratch / "overflow.npz", zip_of(list(items.items())))
    with pytest.raises(BarenetError, match="too large for float32"):
        bn.load(path)
    fuzz(LOADER, "refused")


# --- config parser --------------------------------------------------------------------------

CONFIG = "config parser"
#: Building a model may take its weights and their gradients, and this much more.
BUILD_MARGIN = 64 * MB

CNN_MODEL = {"input_shape": [1, 28, 28], "layers": [
    {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "BatchNorm2d"}, {"type": "ReLU"}, {"type": "MaxPool2d", "kernel_size": 2},
    {"type": "Conv2d", "out_channels": 4, "kernel_size": [3, 5], "stride": 2},
    {"type": "GlobalAvgPool2d"}, {"type": "Dropout", "p": 0.1},
    {"type": "Linear", "out_features": 10}, {"type": "Softmax"}]}


def _config_bases() -> list[dict]:
    """The shipped configs (mlp-best with narrower layers: each accepted input is built),
    a small CNN, and the least a config needs."""
    mlp = cfg.load("mlp").to_dict()
    best = cfg.load("mlp-best").to_dict()
    for layer in best["model"]["layers"][:-1]:
        if "out_features" in layer:
            layer["out_features"] = 32
    cnn = dict(mlp, model=CNN_MODEL, optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9},
               schedule={"name": "step", "step_size": 2}, augment={"elastic_alpha": 8.0})
    minimal = {"model": {"input_shape": [784], "layers": [{"type": "Linear", "out_features": 10}]}}
    return [mlp, best, cnn, minimal]


CONFIG_BASES = _config_bases()

def use_config(config) -> None:
    """What the trainer does with an accepted config: build the model, the optimizer, the
    schedule and the augmentation, and use each once; only BarenetError may come out."""
    weights = sum(layer_spec(p.kind).values(p.options) for p in plan(config["model"]))
    itemsize = np.dtype(config["dtype"]).itemsize
    with budget(seconds=20, memory=2 * itemsize * weights + BUILD_MARGIN):
        model = build_model(config["model"], np.random.default_rng(0), np.dtype(config["dtype"]))
    params = [p for p in model.parameters()][:2]
    options = dict(config["optimizer"])
    optimizer = OPTIMIZERS[options.pop("name")](params, **options)
    options = dict(config["schedule"])
    name = options.pop("name")
    if "epochs" in inspect.signature(SCHEDULES[name].__init__).parameters:
        options.setdefault("epochs", config["epochs"])
    schedule = make_schedule(name, optimizer.lr, **options)
    for epoch in (0.0, 0.5, 1.0, float(config["epochs"])):
        assert math.isfinite(schedule(epoch))
    augment = Augment(**config["augment"], fill=0.0, rng=np.random.default_rng(0))
    out = augment(np.zeros((2, 28, 28), np.float32))
    assert out.shape == (2, 28, 28)


@fuzz_settings(2000)
@given(index=st.integers(0, len(CONFIG_BASES) - 1), edits=st.lists(st.tuples(
           st.integers(0, 10**6), st.sampled_from(["replace", "replace", "delete", "add"]),
           seeds), min_size=1, max_size=3))
def test_config_dicts(fuzz, index, edits):
    """Valid configs with one to three values replaced, deleted or added anywhere: wrong
    types, negative or absurd sizes, unknown keys and names, NaN, nested tables."""
    config = json.loads(json.dumps(CONFIG_BASES[index]))
    for where, op, seed in edits:
        rng = np.random.default_rng(seed)
        paths = json_paths(config)
        value = random_value(rng, null=False) if rng.random() < 0.9 else datetime.date(1979, 5, 27)
        config = apply_json_op(config, paths[where % len(paths)], op, value, str(rng.choice(KEYS)))
    full = attempt(fuzz, CONFIG, cfg.validate, config)
    if full is not None:
        use_config(full)


def toml_text(value) -> str:
    """A TOML value, written inline (dates as TOML dates, NaN and inf as TOML spells them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_text(v)}" for k, v in value.items()) + "}"
    return value.isoformat()  # a date


ABSURD_TOML = ["[" * 3000 + "]" * 3000, "{a = " * 3000 + "1" + "}" * 3000, "9" * 5000,
               "1e99999", "0x" + "f" * 100, '"' + "x" * 100_000 + '"']
OVERRIDE_TEXTS = ["3", "1e-3", "true", "[1, 2]", "{a = 1}", "nan", "-inf", "adam",
                  "9999999999999999999999", "[[]]", '""', "x = 1", *ABSURD_TOML]


def load_config(path: Path, overrides: dict[str, str]) -> dict:
    """``barenet train CONFIG --set key=value ...``: the values parsed as the CLI does; the
    full table of the config made."""
    return cfg.load(str(path), {key: cfg.parse_value(text)
                                for key, text in overrides.items()}).to_dict()


@fuzz_settings(1200)
@given(index=st.integers(0, len(CONFIG_BASES) - 1),
       lines=st.lists(st.tuples(st.sampled_from(["", "[model]", "[optimizer]", "[augment]",
                                                 "[[model.layers]]", "[schedule]", "[x.y]"]),
                                seeds), max_size=3),
       seed=seeds, mutated=st.booleans(),
       overrides=st.dictionaries(
           st.sampled_from(["epochs", "lr", "optimizer.lr", "model.layers", "model",
                            "optimizer.name", "schedule.warmup", "augment.scale", "seed.x",
                            "model.input_shape", "a.b.c", ""]),
           st.sampled_from(OVERRIDE_TEXTS), max_size=2))
@example(index=0, lines=[], seed=0, mutated=False, overrides={"epochs": "[" * 3000})
@example(index=0, lines=[], seed=0, mutated=False, overrides={"epochs": "9" * 5000})
def test_config_toml_files(fuzz, scratch, index, lines, seed, mutated, overrides):
    """Whole TOML files: a valid config written out, then lines appended (tables repeated,
    keys redefined, absurd nesting and numbers) or its bytes mutated (invalid TOML, invalid
    UTF-8); then dotted command-line overrides."""
    text = cfg.dumps(CONFIG_BASES[index])
    for table, line_seed in lines:
        rng = np.random.default_rng(line_seed)
        key = str(rng.choice(KEYS))
        value = (str(rng.choice(ABSURD_TOML)) if rng.random() < 0.1
                 else toml_text(random_value(rng, null=False)))
        text += f"\n{table}\n{json.dumps(key)} = {value}\n"
    data = text.encode()
    if mutated:
        data = mutate(data, seed, hot=1 << 30)
    path = put(scratch / "config.toml", data)
    full = attempt(fuzz, CONFIG, load_config, path, overrides)
    if full is not None:
        use_config(full)


@pytest.mark.parametrize("line", ABSURD_TOML[:3])
def test_config_with_absurd_toml_is_refused(fuzz, scratch, line):
    """Nesting deeper than Python's recursion limit, or an integer of 5000 digits, made
    tomllib raise RecursionError or ValueError, not TOMLDecodeError."""
    path = put(scratch / "absurd.toml", f"epochs = {line}\n".encode())
    assert attempt(fuzz, CONFIG, load_config, path, {}) is None


MINIMAL = {"input_shape": [784], "layers": [{"type": "Linear", "out_features": 10}]}


@pytest.mark.parametrize("config", [
    {"model": {"input_shape": [784], "layers": [{"type": "Linear", "out_features": 2**16},
                                                {"type": "Linear", "out_features": 2**16}]}},
    {"model": {"input_shape": [2**16, 2**16], "layers": [{"type": "Flatten"},
                                                         {"type": "Linear", "out_features": 10}]}},
    {"model": {"input_shape": [1, 28, 28], "layers": [
        {"type": "Conv2d", "out_channels": 2**16, "kernel_size": [2**10, 2**10],
         "padding": 2**10}]}},
    {"model": {"input_shape": [1, 28, 28], "layers": [
        {"type": "Conv2d", "out_channels": 2**16, "kernel_size": 1}]}},
    {"model": {"input_shape": [784], "layers": [{"type": "Linear", "out_features": 1e9}]}},
    {"model": {"input_shape": [784], "layers": [{"type": "Linear", "out_features": "100000"}]}},
    {"model": {"input_shape": [784], "layers": [{"type": "Linear"}]}},
    {"model": {"input_shape": [784], "layers": [{"type": "Linear", "out_features": [10]}]}},
    {"model": {"input_shape": [1, 28, 28], "layers": [
        {"type": "Conv2d", "out_channels": 4, "kernel_size": {"a": 1}}]}},
    {"model": MINIMAL, "optimizer": {"name": "adam", "betas": []}},
    {"model": MINIMAL, "optimizer": {"name": "adam", "betas": "ab"}},
    {"model": MINIMAL, "augment": {"scale": [[1, 2]]}},
    {"model": MINIMAL, "augment": {"scale": []}},
    {"model": MINIMAL, "augment": {"scale": [0, 0]}},
    {"model": MINIMAL, "schedule": {"name": "exponential", "gamma": 1e300}},
    {"model": MINIMAL, "schedule": {"name": "cosine", "warmup": [1]}},
    {"model": {"input_shape": [784], "layers": [{"type": "ReLU"}]}},
], ids=["billion-weights", "huge-input", "huge-conv", "huge-activations", "float-size",
        "string-size", "missing-size", "list-size", "table-size", "betas-empty", "betas-string",
        "scale-nested", "scale-empty", "scale-zero", "schedule-overflow", "warmup-list",
        "no-parameters"])
def test_config_that_cannot_be_used_is_refused_by_validate(fuzz, config):
    """Each of these was accepted by validate, then crashed or allocated gigabytes in
    build_model or the trainer (a TypeError, ValueError, OverflowError or MemoryError)."""
    with pytest.raises(BarenetError):
        with budget(seconds=5, memory=64 * MB):
            cfg.validate(config)
    fuzz(CONFIG, "refused")


# --- image decoder and preprocessor ---------------------------------------------------------

PREPROCESS = "image preprocessor"
DECODER = "image decoder"


def check_preprocessed(out: np.ndarray) -> None:
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1


picture_dtypes = st.sampled_from([
    np.uint8, np.uint16, np.int8, np.int16, np.int32, np.int64, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, bool, np.complex64, object, "<U2", "datetime64[s]"])
picture_shapes = (st.lists(st.integers(0, 40) | st.sampled_from([1, 2, 3, 4, 3000]), max_size=4)
                  .filter(lambda s: math.prod(s) <= 40_000)
                  | st.sampled_from([(28, 28), (28, 28, 3), (100, 80, 4), (1, 5000), (5000, 1),
                                     (1, 1), (2, 2, 2), (1, 1, 4), (0, 0, 3), (3, 7, 2)]))
picture_fills = st.sampled_from(["noise", "constant", "stroke", "stroke", "special", "sparse"])


@st.composite
def pictures(draw) -> np.ndarray:
    """Any array: all dtypes, 0 to 4 dimensions, empty, one pixel, long thin strips,
    constant, noisy, NaN and inf, a drawn stroke on a light or dark background."""
    dtype, shape = draw(picture_dtypes), draw(picture_shapes)
    fill = draw(picture_fills)
    rng = np.random.default_rng(draw(seeds))
    if fill == "noise":
        x = rng.random(shape)
    elif fill == "constant":
        x = np.full(shape, rng.random())
    elif fill == "special":
        x = rng.choice([0.0, 1.0, np.nan, np.inf, -np.inf, -0.5, 2.0, 1e30], shape)
    elif fill == "sparse":
        x = (rng.random(shape) < 0.001).astype(float)
    else:  # a straight stroke of ink, on a light or dark background
        x = np.full(shape, float(rng.random() < 0.5))
        if len(shape) >= 2 and min(shape[:2]) > 0:
            h, w = shape[:2]
            rows = np.linspace(rng.integers(h), rng.integers(h), 50).astype(int)
            cols = np.linspace(rng.integers(w), rng.integers(w), 50).astype(int)
            x[rows, cols] = 1 - x[rows, cols]
    if np.issubdtype(np.dtype(dtype), np.integer):
        info = np.iinfo(dtype)
        top = [255, 65535, min(info.max, 10**6), info.max][int(rng.integers(4))]
        x = np.nan_to_num(x, nan=0, posinf=1, neginf=0).clip(-1, 1) * top
        with np.errstate(all="ignore"):
            x = np.clip(x, info.min, info.max).astype(dtype)
    elif dtype == "datetime64[s]":
        x = np.zeros(shape, dtype)
    else:
        with np.errstate(all="ignore"):
            x = x.astype(dtype)
    return x


@fuzz_settings(2000)
@given(image=pictures(), invert=st.sampled_from([None, True, False]))
@example(image=np.zeros((1, 3000)), invert=None)
@example(image=np.eye(3000, 2, dtype=np.uint8) * 255, invert=None)
def test_preprocess_any_array(fuzz, image, invert):
    out = attempt(fuzz, PREPROCESS, preprocess, image, invert, seconds=10, memory=256 * MB)
    if out is not None:
        check_preprocessed(out)


NUMBER = "number reader"


def _read_number(image: np.ndarray, model: bn.Sequential) -> list:
    found = extract(image)
    number = read_number(model, image, found)
    assert 1 <= len(number.digits) and all(d.seen.shape == (28, 28) for d in number.digits)
    for d in number.digits:
        top, bottom, left, right = d.box
        assert 0 <= top < bottom <= found.shape[0] and 0 <= left < right <= found.shape[1]
        assert all(np.isfinite(p) and 0 <= p <= 1 for _, p in d.top)
    return number.digits


@fuzz_settings(600)
@given(image=pictures())
@example(image=np.eye(3000, 2, dtype=np.uint8) * 255)
@example(image=np.tile(np.eye(8, dtype=np.uint8) * 255, (5, 500)))
@example(image=np.kron(np.eye(2, dtype=np.uint8), np.full((10, 6), 255, np.uint8)))  # no row
def test_number_reader_any_array(fuzz, image):
    """``predict --number``'s path: the same arrays as the preprocessor, cut into digits."""
    attempt(fuzz, NUMBER, _read_number, image, NUMBER_MODEL, seconds=10, memory=256 * MB)


NUMBER_MODEL = bn.Sequential([Linear(784, 10, rng=0)])


def test_a_twelve_megapixel_photo_is_read_in_bounded_time_and_memory(fuzz, scratch):
    """A 4000x3000 JPEG phone photo of a digit: decoded, its ink found and read."""
    rng = np.random.default_rng(0)
    light = np.linspace(0.6, 1.0, 4000, dtype=np.float32)[None, :] * np.ones((3000, 1), np.float32)
    grey = light * 0.9
    grey[900:2100, 1700:1790] *= 0.2  # a "1", 1200 pixels tall
    grey += rng.normal(0, 0.02, grey.shape).astype(np.float32)
    path = scratch / "photo.jpg"
    Image.fromarray((np.clip(grey, 0, 1) * 255).astype(np.uint8)).save(path, quality=85)
    image = attempt(fuzz, DECODER, load_image, path, seconds=10, memory=400 * MB, trace=True)
    found = attempt(fuzz, PREPROCESS, extract, image, seconds=10, memory=400 * MB, trace=True)
    assert image.shape == (1500, 2000)  # decoded at half size (MAX_SIDE), boxes in its pixels
    top, bottom, left, right = found.box
    assert abs(top - 450) < 10 and abs(bottom - 1050) < 10 and abs(left - 850) < 10


def _image_files() -> list[bytes]:
    rng = np.random.default_rng(5)
    gray = np.full((24, 20), 255, np.uint8)
    gray[4:20, 8:12] = 0  # a dark "1" on white
    rgb = np.stack([gray, gray, 255 - gray], axis=-1)
    rgba = np.concatenate([rgb, (255 - gray)[..., None]], axis=-1)
    files = []

    def save(image: Image.Image, fmt: str, **options) -> None:
        out = io.BytesIO()
        image.save(out, fmt, **options)
        files.append(out.getvalue())

    save(Image.fromarray(gray), "PNG")
    save(Image.fromarray(rgba), "PNG")
    save(Image.fromarray(gray).convert("P"), "PNG", transparency=0)
    save(Image.fromarray(gray.astype(np.uint16) * 257), "PNG")
    save(Image.fromarray(gray).convert("1"), "PNG")
    save(Image.fromarray(rgb), "JPEG", quality=80)
    save(Image.fromarray(gray), "JPEG", progressive=True)
    save(Image.fromarray(rgb).convert("CMYK"), "JPEG")
    frames = [Image.fromarray(gray).convert("P"), Image.fromarray(255 - gray).convert("P")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    files.append(out.getvalue())
    save(Image.fromarray(rgb), "BMP")
    save(Image.fromarray(gray), "BMP")
    save(Image.fromarray(rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)), "TIFF")
    return files


IMAGE_FILES = _image_files()


@fuzz_settings(2500)
@given(index=st.integers(0, len(IMAGE_FILES) - 1), seed=seeds)
@example(index=8, seed=440686)  # a GIF declaring 20x60633 pixels: was shrunk to 0 columns
def test_decoder_mutated_image_files(fuzz, scratch, index, seed):
    """Valid PNG, JPEG, GIF, BMP and TIFF files, flipped and truncated, then decoded and
    preprocessed as ``barenet predict`` does; no warnings printed on the way either."""
    path = put(scratch / "image.bin", mutate(IMAGE_FILES[index], seed))
    # A few bytes may declare up to Pillow's limit of 89M pixels, decoded then converted:
    # bounded, but not small (resident memory, as Pillow's buffers are not traced).
    image = attempt(fuzz, DECODER, load_image, path, seconds=10, memory=1024 * MB, trace=False)
    if image is None:
        return
    assert isinstance(image, np.ndarray) and image.dtype in (np.uint8, np.uint16)
    assert image.ndim in (2, 3) and min(image.shape[:2]) >= 1 and max(image.shape[:2]) <= 2048
    assert image.ndim == 2 or image.shape[2] in (2, 3, 4)
    try:
        check_preprocessed(preprocess(image))
    except BarenetError:
        pass


@pytest.mark.parametrize("size", [(20, 60633), (60633, 3), (1, 4097)])
def test_decoder_shrinks_long_thin_pictures_to_at_least_one_pixel(scratch, size):
    path = scratch / "thin.png"
    Image.new("L", size, 255).save(path)
    image = load_image(path)
    assert min(image.shape) >= 1 and max(image.shape) <= 2048


# --- pictures of many marks, photos stored sideways, float pictures with missing pixels ------

MARKS = "marks, patterns, noise"


def mark_picture(kind: str, size: int, period: int, angle: float, duty: int, dark: bool,
                 blob: bool, seed: int) -> np.ndarray:
    """A ``size`` x ``size`` grey picture of fine marks: stripes, mesh, halftone or
    checkerboard ``period`` pixels apart turned by ``angle`` degrees (ink ``duty`` pixels
    wide), a grid of square dots, up to 9,000 dots scattered, or a field of binary or grey
    noise; dark ink on light paper or the reverse, with a blob (the main piece a digit's
    group grows from) in the middle or not."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    turn = math.radians(angle)
    u = xx * math.cos(turn) + yy * math.sin(turn)
    v = yy * math.cos(turn) - xx * math.sin(turn)
    across, along = (u % period) < duty, (v % period) < duty
    if kind == "scattered dots":
        ink = np.zeros((size, size), bool)
        count = int(rng.integers(1, 9001))
        ys, xs = rng.integers(0, size, (2, count))
        for dy in range(duty):
            for dx in range(duty):
                ink[np.minimum(ys + dy, size - 1), np.minimum(xs + dx, size - 1)] = True
    elif kind == "noise":
        ink = rng.random((size, size)) < rng.uniform(0.02, 0.6)
    elif kind == "grey noise":
        return rng.integers(0, 256, (size, size), dtype=np.uint8)
    else:
        ink = {"stripes": across, "mesh": across | along, "halftone": across & along,
               "checker": (u // period + v // period) % 2 < 1,
               "dot grid": (yy % period < duty) & (xx % period < duty)}[kind]
    if blob:
        side = max(2, size // 30)
        ink[size // 2 - side:size // 2 + side, size // 2 - side:size // 2 + side] = True
    return np.where(ink, 0 if dark else 255, 255 if dark else 0).astype(np.uint8)


@fuzz_settings(14)
@given(kind=st.sampled_from(["stripes", "mesh", "halftone", "checker", "dot grid",
                             "scattered dots", "noise", "grey noise"]),
       size=st.sampled_from([24, 64, 150, 300]), period=st.integers(2, 6),
       angle=st.sampled_from([0.0, 90.0, 45.0, 30.0, 7.0]), duty=st.integers(1, 3),
       dark=st.booleans(), blob=st.booleans(), seed=seeds)
# 1024x1024 of noise: 433 s (grouping pieces over a list), one a fifth dark now 1-2 s
@example(kind="noise", size=1024, period=2, angle=0.0, duty=1, dark=True, blob=False, seed=1)
# 10,000 dots 2 pixels apart round a blob: the digit's group grew a ring of dots per pass
@example(kind="dot grid", size=400, period=4, angle=0.0, duty=2, dark=True, blob=True, seed=0)
# stripes 3 and 4 pixels apart: IndexError (a percentile of no crossing runs)
@example(kind="stripes", size=200, period=3, angle=0.0, duty=1, dark=True, blob=False, seed=0)
@example(kind="stripes", size=200, period=4, angle=90.0, duty=1, dark=False, blob=False, seed=0)
def test_marks_patterns_and_noise_are_read_or_refused_in_bounded_time(
        fuzz, kind, size, period, angle, duty, dark, blob, seed):
    """Fine dots, stripes, mesh and halftone 2-6 pixels apart and noise fields, read as
    ``predict`` and ``predict --number`` read them: within 10 s and 256 MB each (pictures
    larger than 512 pixels measured by their resident memory: tracing them is slow)."""
    image = mark_picture(kind, size, period, angle, duty, dark, blob, seed)
    attempt(fuzz, MARKS, _read_number, image, NUMBER_MODEL, seconds=10, memory=256 * MB,
            trace=False if size > 512 else None)


def _picture_file(rng: np.random.Generator, shape: tuple[int, int], colour: bool) -> np.ndarray:
    """A stroke of dark ink on light, noisy paper."""
    h, w = shape
    paper = rng.uniform(150, 255) + rng.normal(0, 8, (h, w))
    rows = np.linspace(rng.integers(h), rng.integers(h), 4 * (h + w)).astype(int)
    cols = np.linspace(rng.integers(w), rng.integers(w), 4 * (h + w)).astype(int)
    paper[rows, cols] = rng.uniform(0, 100)
    grey = np.clip(paper, 0, 255).astype(np.uint8)
    return np.stack([grey, grey, 255 - grey], axis=-1) if colour else grey


@fuzz_settings(16)
@given(orientation=st.integers(0, 9), fmt=st.sampled_from(["JPEG", "PNG", "TIFF"]),
       height=st.integers(1, 200), width=st.integers(1, 200), colour=st.booleans(), seed=seeds)
@example(orientation=6, fmt="JPEG", height=120, width=90, colour=True, seed=0)  # was sideways
def test_decoder_turns_photos_upright_as_viewers_do(fuzz, scratch, orientation, fmt, height,
                                                    width, colour, seed):
    """A picture with an EXIF orientation is decoded as :func:`PIL.ImageOps.exif_transpose`
    shows it (a phone photo stored sideways), then preprocessed."""
    from PIL import ImageOps

    image = Image.fromarray(_picture_file(np.random.default_rng(seed), (height, width), colour))
    exif = image.getexif()
    exif[0x0112] = orientation
    path = scratch / f"photo.{fmt.lower()}"
    path.unlink(missing_ok=True)
    image.save(path, fmt, exif=exif.tobytes())
    decoded = attempt(fuzz, DECODER, load_image, path, seconds=10, memory=64 * MB)
    with Image.open(path) as saved:
        assert np.array_equal(decoded, np.asarray(ImageOps.exif_transpose(saved)))
    out = attempt(fuzz, PREPROCESS, preprocess, decoded, seconds=10, memory=64 * MB)
    if out is not None:
        check_preprocessed(out)


@fuzz_settings(16)
@given(missing=st.lists(st.sampled_from([np.inf, -np.inf, np.nan]), max_size=40),
       height=st.integers(1, 200), width=st.integers(1, 200),
       scale=st.sampled_from([1.0, 1e-30, 1e30, -1.0, 3.4e38]), seed=seeds)
@example(missing=[np.inf], height=120, width=90, scale=1.0, seed=0)  # read blank, with warnings
def test_decoder_float_tiffs_with_missing_pixels(fuzz, scratch, missing, height, width, scale,
                                                 seed):
    """A float TIFF with NaN or infinite pixels decodes, without a warning, as the same picture
    with those pixels at the finite ones' median; then it is preprocessed."""
    rng = np.random.default_rng(seed)
    values = (_picture_file(rng, (height, width), False) / 255 * scale).astype(np.float32)
    spots = rng.integers(0, height * width, len(missing))
    values.flat[spots] = np.array(missing, np.float32)
    finite = np.isfinite(values)
    fill = np.median(values[finite].astype(np.float64)) if finite.any() else 0.0
    filled = np.where(finite, values, np.float32(fill))
    for name, picture in (("filled", filled), ("missing", values)):
        (scratch / f"{name}.tif").unlink(missing_ok=True)
        Image.fromarray(picture.astype(np.float32), "F").save(scratch / f"{name}.tif")
    decoded = attempt(fuzz, DECODER, load_image, scratch / "missing.tif", seconds=10,
                      memory=64 * MB)
    assert np.array_equal(decoded, load_image(scratch / "filled.tif"))
    out = attempt(fuzz, PREPROCESS, preprocess, decoded, seconds=10, memory=64 * MB)
    if out is not None:
        check_preprocessed(out)
