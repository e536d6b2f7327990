"""Loading model files: :func:`load` trusts nothing in the file.

Every array is read with ``allow_pickle=False`` and checked for shape, dtype
and finiteness against the architecture, and any problem is one
:class:`BarenetError` line. Memory stays bounded whatever the file says: layer
options must be what :mod:`barenet.nn.options` declares, a model needs no more
weights than the file's bytes can hold (refused before they are allocated) and
no more memory to predict than the machine has, and no member is inflated
beyond its declared size. The format itself is :mod:`barenet.model.file`'s.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BarenetError
from ..io.memory import check_memory, inference_bytes, memory_budget
from ..nn.options import (
    MAX_DIMENSION,
    array_problem,
    check_options,
    check_sample_shape,
    layer_spec,
    model_layers,
    sample_values,
)
from ..nn.registry import LAYERS
from .card import Card
from .classifier import INFERENCE_BATCH, Sequential
from .file import (
    FORMAT,
    FORMAT_VERSION,
    HEADER,
    MAX_HEADER_BYTES,
    MAX_INFLATION,
    NPY_OVERHEAD,
)


def load(path: str | os.PathLike) -> Sequential:
    """Rebuild a model saved by :meth:`Sequential.save`, validating everything.

    Raises
    ------
    BarenetError
        The file is missing, not a barenet model, truncated, corrupt, holds a
        pickle, names an unknown layer, or has a missing or mis-shaped array.
    """
    path = Path(path)
    if not path.is_file():
        raise BarenetError(f"{path}: no such model file (train one with `barenet train`)")
    if path.suffix.lower() == ".onnx":
        raise BarenetError(f"{path}: an ONNX file, which barenet writes for other programs but "
                           "does not read; give the .npz model it was exported from")
    try:
        with zipfile.ZipFile(path) as archive:
            return _load_archive(archive, path)
    except BarenetError:
        raise
    except MemoryError:
        raise BarenetError(f"{path}: the model it describes is too large to load") from None
    except Exception as exc:  # zipfile raises many types (RuntimeError when encrypted, ...)
        raise _fail(path, f"not a readable barenet model file ({type(exc).__name__}: {exc}); "
                          "re-save or re-train it") from None


def _fail(path: Path, problem: str) -> BarenetError:
    return BarenetError(f"{path}: {' '.join(problem.split())}")  # always one line


def read_member(archive: zipfile.ZipFile, path: Path, name: str, max_bytes: int) -> np.ndarray:
    """Array ``name`` of an ``.npz`` archive, never pickled, refused before reading if it
    declares more than ``max_bytes`` (model files and checkpoints alike)."""
    member = f"{name}.npy"
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise _fail(path, f"array {name!r} is missing") from None
    if info.file_size > max_bytes:
        raise _fail(path, f"array {name!r} declares {info.file_size} bytes, at most "
                          f"{max_bytes} expected (corrupt or hostile file)")
    # Read no more than the declared size: ZipFile.read() would inflate (or, for a stored
    # member, allocate) up to 2 GB at once, whatever the size the member declares.
    try:
        with archive.open(info) as stream:
            data = stream.read(info.file_size)
    except (OSError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
        raise _fail(path, f"array {name!r}: not a readable barenet model file ({exc}); "
                          "re-save or re-train it") from None
    try:
        return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except MemoryError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise _fail(path, f"array {name!r} holds a pickled Python object; refused "
                              "(barenet never unpickles)") from None
        raise _fail(path, f"array {name!r} is not a valid .npy array ({exc})") from None
    except Exception as exc:  # a corrupt .npy header fails in NumPy's parser in many ways
        raise _fail(path, f"array {name!r} is not a valid .npy array "
                          f"({type(exc).__name__})") from None


def _max_values(archive: zipfile.ZipFile, path: Path) -> int:
    """The most numbers the file's arrays can honestly hold (float32, the smallest type).

    barenet stores members uncompressed; a compressed one is counted at most
    :data:`~barenet.model.file.MAX_INFLATION` times its stored size.
    """
    stored = sum(min(info.file_size, info.compress_size * MAX_INFLATION)
                 for info in archive.infolist() if info.filename != f"{HEADER}.npy")
    return stored // 4


def _header(archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    if f"{HEADER}.npy" not in archive.namelist():
        raise _fail(path, "not a barenet model file (no barenet header inside the archive)")
    raw = read_member(archive, path, HEADER, MAX_HEADER_BYTES)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _fail(path, "barenet header is not a byte string")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, f"barenet header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _fail(path, "not a barenet model file (wrong format name in the header)")
    if header.get("format_version") != FORMAT_VERSION:
        raise _fail(path, f"model format version {header.get('format_version')!r} is not "
                          f"supported (this barenet reads version {FORMAT_VERSION})")
    return header


def _build(header: dict[str, Any], path: Path, max_values: int) -> Sequential:
    """The model the header describes, refused before allocation when its arrays would hold
    more than ``max_values`` numbers, and after when one sample's activations would not
    fit :func:`barenet.io.memory.memory_budget` at the inference batch size."""
    arch = header.get("architecture")
    if not isinstance(arch, dict) or not isinstance(arch.get("layers"), list):
        raise _fail(path, "header has no list of layers")
    dtype = header.get("dtype")
    if dtype not in ("float32", "float64"):
        raise _fail(path, f"dtype {dtype!r} is not float32 or float64")
    layers, values = [], 0
    for i, spec in enumerate(arch["layers"]):
        if not (isinstance(spec, dict) and isinstance(spec.get("type"), str)
                and isinstance(spec.get("config", {}), dict)):
            raise _fail(path, f"layer {i} is not a {{type, config}} object")
        kind, config = spec["type"], spec.get("config", {})
        if kind not in LAYERS:
            raise _fail(path, f"layer {i} has unknown type {kind!r}; known: "
                              f"{', '.join(LAYERS.names())}")
        try:
            declared = layer_spec(kind)
            options = check_options(f"layer {i} ({kind})", declared, config)
        except BarenetError as exc:
            raise _fail(path, str(exc)) from None
        values += declared.values(options)
        if values > max_values:
            raise _fail(path, f"layer {i} ({kind}) takes the model past {max_values:,} "
                              "weights, more than this file can hold (corrupt or hostile file)")
        try:
            layer = LAYERS[kind](**config)
        except MemoryError:
            raise
        except Exception as exc:  # untrusted options: any failure is the file's fault
            raise _fail(path, f"layer {i} ({kind}) has invalid options {config}: {exc}") from None
        layers.append(layer)
    shape = arch.get("input_shape")
    if shape is not None and not (isinstance(shape, list) and all(
            isinstance(d, int) and 0 < d <= MAX_DIMENSION for d in shape)):
        raise _fail(path, f"input_shape {shape!r} is not a list of positive sizes")
    metadata = header.get("metadata", {})
    try:
        Card.read(metadata, dtype)
    except BarenetError as exc:
        raise _fail(path, str(exc)) from None
    model = Sequential(layers, tuple(shape) if shape else None, metadata).astype(dtype)
    if shape:
        _check_activations(model, path)
    return model


def _check_activations(model: Sequential, path: Path) -> None:
    """Shapes through the model must chain, and predicting a batch must fit in memory."""
    shape = model.input_shape
    try:
        for i, layer in enumerate(model.layers):
            shape = layer.output_shape(shape)
            check_sample_shape(f"layer {i} ({type(layer).__name__})", shape)
        per_sample = sample_values(model_layers(model), model.input_shape)
        weights = sum(a.size for a in model.state_dict().values())
        check_memory("predicting with this model",
                     inference_bytes(weights, per_sample, model.dtype.itemsize,
                                     INFERENCE_BATCH),
                     memory_budget())
    except BarenetError as exc:
        raise _fail(path, str(exc)) from None
    except (ValueError, TypeError, IndexError) as exc:  # a layer refusing the shape
        raise _fail(path, f"its layers do not fit together ({exc})") from None


def _load_archive(archive: zipfile.ZipFile, path: Path) -> Sequential:
    header = _header(archive, path)
    model = _build(header, path, _max_values(archive, path))
    expected = model.state_dict()
    members = set(archive.namelist()) - {f"{HEADER}.npy"}
    unexpected = sorted(members - {f"{name}.npy" for name in expected})
    if unexpected:
        raise _fail(path, f"unexpected arrays {unexpected} for this architecture")
    arrays = {}
    for name, target in expected.items():
        array = read_member(archive, path, name, target.nbytes + NPY_OVERHEAD)
        if array.shape != target.shape:
            raise _fail(path, f"array {name!r} has shape {array.shape}, the architecture "
                              f"needs {target.shape}")
        if not np.issubdtype(array.dtype, np.floating):
            raise _fail(path, f"array {name!r} has dtype {array.dtype}, a float type expected")
        with np.errstate(over="ignore"):  # a float64 value beyond float32's range: inf
            array = array.astype(target.dtype, copy=False)
        problem = array_problem(name, array)
        if problem:
            raise _fail(path, f"array {name!r} {problem} (or values too large for "
                              f"{target.dtype})" if "NaN" in problem else
                        f"array {name!r} {problem}")
        arrays[name] = array
    model.load_state_dict(arrays)
    return model
