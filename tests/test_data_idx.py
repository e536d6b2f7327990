"""IDX reader and writer: round trips, and a precise error for every kind of damage."""

import gzip
import struct
import tracemalloc

import numpy as np
import pytest

from barenet.data.idx import read_idx, write_idx
from barenet.errors import BarenetError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, rng, dtype, suffix):
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.flags.writeable
    np.testing.assert_array_equal(back, array)


def test_writes_mnist_layout_big_endian(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    write_idx(path, np.array([1, 2, 3], np.uint8))
    assert path.read_bytes() == bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 1, 2, 3])
    write_idx(path, np.array([1, -2], np.int16))
    assert path.read_bytes() == bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0, 1, 0xFF, 0xFE])


def test_gz_name_means_gzip_and_content_decides_on_read(tmp_path):
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    write_idx(tmp_path / "x.gz", array)
    assert (tmp_path / "x.gz").read_bytes()[:2] == b"\x1f\x8b"
    # A raw file named .gz, and a gzip file named without it, both read.
    write_idx(tmp_path / "raw", array)
    (tmp_path / "raw.gz").write_bytes((tmp_path / "raw").read_bytes())
    (tmp_path / "zipped").write_bytes((tmp_path / "x.gz").read_bytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "raw.gz"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "zipped"), array)


def test_empty_dimension(tmp_path):
    write_idx(tmp_path / "e.gz", np.zeros((0, 28, 28), np.uint8))
    assert read_idx(tmp_path / "e.gz").shape == (0, 28, 28)


def test_writer_is_atomic_and_rejects_bad_dtype(tmp_path):
    path = tmp_path / "x"
    write_idx(path, np.zeros(2, np.uint8))
    with pytest.raises(BarenetError, match="cannot store dtype uint16"):
        write_idx(path, np.zeros(2, np.uint16))
    with pytest.raises(BarenetError, match="cannot store shape"):
        write_idx(path, np.uint8(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]
    np.testing.assert_array_equal(read_idx(path), [0, 0])


def _header(code, dims):
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("data, message", [
    (b"", r"too short for an IDX header \(expected 4 magic bytes, found 0\)"),
    (b"\x00\x00", "found 2"),
    (b"\x01\x02\x08\x01" + b"\x00" * 8, "not an IDX file .*found 01 02 08 01"),
    (b"\x00\x00\x07\x01" + b"\x00" * 8, "unknown IDX dtype code 0x07"),
    (b"\x00\x00\x08\x00", "declares 0 dimensions"),
    (_header(0x08, [2, 3])[:9], "truncated IDX header .*expected 8 bytes .*found 5"),
    (_header(0x08, [2, 3]) + b"\x00" * 5, "truncated .*expected 6 data bytes, found 5"),
    (_header(0x0C, [2]) + b"\x00" * 7, "truncated .*expected 8 data bytes, found 7"),
])
def test_damaged_files(tmp_path, data, message, gz):
    path = tmp_path / ("bad.gz" if gz else "bad")
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(BarenetError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_extra_bytes(tmp_path):
    data = _header(0x08, [2, 3]) + bytes(7)
    (tmp_path / "raw").write_bytes(data)
    with pytest.raises(BarenetError, match="longer than its header .*expected 6 data bytes, "
                                           "found 7"):
        read_idx(tmp_path / "raw")
    (tmp_path / "z.gz").write_bytes(gzip.compress(data))
    with pytest.raises(BarenetError, match="longer than its header .*expected 6 data bytes, "
                                           "found more"):
        read_idx(tmp_path / "z.gz")


def test_huge_declared_size_refused_before_allocating(tmp_path):
    # 4e9 x 4e9 float64: would be an absurd allocation; both forms refuse it up front.
    data = _header(0x0E, [4_000_000_000, 4_000_000_000]) + bytes(16)
    (tmp_path / "raw").write_bytes(data)
    with pytest.raises(BarenetError, match="truncated .*found 16"):
        read_idx(tmp_path / "raw")
    (tmp_path / "z.gz").write_bytes(gzip.compress(data))
    with pytest.raises(BarenetError, match="more than a .*-byte gzip file can hold"):
        read_idx(tmp_path / "z.gz")


def test_truncated_and_corrupt_gzip(tmp_path):
    blob = gzip.compress(_header(0x08, [1024]) + bytes(range(256)) * 4)
    (tmp_path / "cut.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(BarenetError, match="cut.gz: truncated gzip stream"):
        read_idx(tmp_path / "cut.gz")
    flipped = bytearray(blob)
    flipped[-8] ^= 0xFF  # CRC of the data
    (tmp_path / "crc.gz").write_bytes(bytes(flipped))
    with pytest.raises(BarenetError, match="crc.gz: corrupt gzip stream"):
        read_idx(tmp_path / "crc.gz")
    garbage = blob[:10] + b"\xff" * 40
    (tmp_path / "junk.gz").write_bytes(garbage)
    with pytest.raises(BarenetError, match="junk.gz: corrupt gzip stream"):
        read_idx(tmp_path / "junk.gz")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(BarenetError, match="no such file"):
        read_idx(tmp_path / "nope.gz")
    with pytest.raises(BarenetError, match="cannot read"):
        read_idx(tmp_path)


def test_a_lying_gzip_header_allocates_no_more_than_the_real_data(tmp_path):
    # 100 kB of data under a header declaring 100 MB: within what a 100 kB gzip file could
    # inflate to, so only reading tells the lie; the buffer grows with the real data.
    data = _header(0x08, [100_000_000]) + np.random.default_rng(0).bytes(100_000)
    (tmp_path / "liar.gz").write_bytes(gzip.compress(data, compresslevel=1))
    tracemalloc.start()
    try:
        with pytest.raises(BarenetError, match="truncated .*found 100000"):
            read_idx(tmp_path / "liar.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000


@pytest.mark.parametrize("gz", [False, True])
def test_more_values_than_allowed_or_than_memory_is_refused_before_reading(tmp_path, gz,
                                                                          monkeypatch):
    path = tmp_path / ("x.gz" if gz else "x")
    write_idx(path, np.zeros((3, 1000), np.uint8))
    assert read_idx(path, max_values=3000).shape == (3, 1000)
    with pytest.raises(BarenetError, match=r"declares shape \(3, 1000\), 3,000 values, more "
                                           "than the 2,999 expected") as info:
        read_idx(path, max_values=2999)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)
    monkeypatch.setenv("BARENET_MAX_MEMORY", "2K")
    with pytest.raises(BarenetError, match="its header declares needs about 2.9 KB of memory, "
                                           "more than the 2.0 KB available; the file is "
                                           "corrupt") as info:
        read_idx(path)
    assert "--max-memory" in str(info.value)
