"""The IDX file format of MNIST and Fashion-MNIST: reading and writing.

An IDX file is a 4-byte magic number ``00 00 <dtype code> <ndim>``, then
``ndim`` big-endian uint32 dimensions, then the array in C order, big-endian.
Either the raw file or its gzip-compressed form (``.gz``) is read; which one
is told by the gzip magic bytes, not by the name.

Every check runs before the array is allocated: a header that declares more
values than the caller allows (a dataset's known size), more bytes than the
memory budget (:func:`barenet.io.memory.memory_budget`) or more data than the file
can hold is refused, and the data are read in chunks into a buffer that grows
with what the file really holds, so a header that lies cannot make the reader
ask for gigabytes.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import BarenetError
from ..io.files import atomic_write
from ..io.memory import check_memory, memory_budget

#: IDX dtype code -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
# Deflate cannot compress better than about 1032:1, so a gzip file of n bytes
# decompresses to at most this many times n bytes (plus a small constant).
_MAX_GZIP_RATIO = 1100
_CHUNK = 1 << 20
#: More dimensions than NumPy 1.x can represent (no dataset has more than a few).
MAX_NDIM = 32


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data) or "nothing"


def _read_data(stream: BinaryIO, name: str, expected: int) -> bytearray:
    """Up to ``expected + 1`` bytes of ``stream`` (one more tells a file that is too long),
    read in chunks into a buffer that grows with the data the stream really holds;
    refused first if ``expected`` bytes would not fit the memory budget."""
    check_memory(f"{name}: the data its header declares", expected, memory_budget(),
                 "the file is corrupt")
    data = bytearray()
    while len(data) <= expected:
        chunk = stream.read(min(_CHUNK, expected + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _parse_header(stream: BinaryIO, name: str,
                  max_values: int | None) -> tuple[np.dtype, tuple[int, ...], int]:
    """Read and check the magic number and dimensions, and the size they declare.

    Returns
    -------
    dtype : numpy.dtype
        Big-endian element type.
    shape : tuple of int
        The declared dimensions.
    header_size : int
        Bytes taken by magic number and dimensions.

    Raises
    ------
    BarenetError
        A damaged header, or more than ``max_values`` values.
    """
    magic = stream.read(4)
    if len(magic) < 4:
        raise BarenetError(f"{name}: too short for an IDX header (expected 4 magic bytes, "
                           f"found {len(magic)}); the file is truncated, download it again")
    if magic[:2] != b"\x00\x00":
        raise BarenetError(f"{name}: not an IDX file (expected magic bytes 00 00 <type> <ndim>, "
                           f"found {_hex(magic)}); check that it is the right file")
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        valid = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise BarenetError(f"{name}: unknown IDX dtype code 0x{code:02X} (valid: {valid}); "
                           "the file is corrupt or not an IDX file")
    if ndim == 0:
        raise BarenetError(f"{name}: IDX header declares 0 dimensions (expected 1 or more); "
                           "the file is corrupt")
    raw_dims = stream.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise BarenetError(f"{name}: truncated IDX header (expected {4 * ndim} bytes of "
                           f"dimensions, found {len(raw_dims)}); download the file again")
    shape = struct.unpack(f">{ndim}I", raw_dims)
    if ndim > MAX_NDIM:
        raise BarenetError(f"{name}: IDX header declares {ndim} dimensions, at most "
                           f"{MAX_NDIM} supported; the file is corrupt")
    # An empty array needs no data, but NumPy refuses one whose other dimensions multiply
    # past its index range (non-empty ones are refused by the size checks of the readers).
    if 0 in shape and math.prod(d for d in shape if d) * IDX_DTYPES[code].itemsize \
            > np.iinfo(np.intp).max:
        raise BarenetError(f"{name}: IDX header declares shape {shape}, too large for any "
                           "array; the file is corrupt")
    if max_values is not None and math.prod(shape) > max_values:
        raise BarenetError(f"{name}: IDX header declares shape {shape}, {math.prod(shape):,} "
                           f"values, more than the {max_values:,} expected; the file is corrupt "
                           "or not the right one, download it again")
    return IDX_DTYPES[code], shape, 4 + 4 * ndim


def _finish(data: bytearray, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """View the raw bytes as the declared array, in native byte order."""
    array = np.frombuffer(data, dtype).reshape(shape)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    else:
        array = array.view(dtype.newbyteorder("="))
    return array


def read_idx(path: str | os.PathLike, max_values: int | None = None) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed.

    Parameters
    ----------
    path : str or os.PathLike
        The file, e.g. ``train-images-idx3-ubyte.gz``.
    max_values : int or None
        The most values the array may hold (``60000 * 28 * 28`` for MNIST's
        training images); a header declaring more is refused before any data
        are read. ``None``: only the memory budget bounds it.

    Returns
    -------
    numpy.ndarray
        The array, shape as declared by the header (e.g. ``(60000, 28, 28)``),
        native byte order, writable.

    Raises
    ------
    BarenetError
        If the file is missing, unreadable, not IDX, truncated, longer than its
        header declares, larger than ``max_values`` or the memory budget, or a
        corrupt gzip stream. The message names the file and the expected and
        found values.
    """
    path = Path(path)
    name = str(path)
    try:
        with open(path, "rb") as handle:
            file_size = os.fstat(handle.fileno()).st_size
            is_gzip = handle.read(2) == _GZIP_MAGIC
            handle.seek(0)
            if is_gzip:
                return _read_gzip(handle, name, file_size, max_values)
            return _read_raw(handle, name, file_size, max_values)
    except MemoryError:
        raise BarenetError(f"{name}: not enough memory to read it; close other programs "
                           "and run again") from None
    except FileNotFoundError:
        raise BarenetError(f"{name}: no such file; check the path") from None
    except OSError as exc:
        raise BarenetError(f"cannot read {name}: {exc.strerror or exc}") from None


def _read_raw(handle: BinaryIO, name: str, file_size: int,
              max_values: int | None) -> np.ndarray:
    dtype, shape, header = _parse_header(handle, name, max_values)
    expected = math.prod(shape) * dtype.itemsize
    found = file_size - header
    if found != expected:
        kind = "truncated" if found < expected else "longer than its header declares"
        raise BarenetError(f"{name}: {kind} (header declares shape {shape} of {dtype.name}: "
                           f"expected {expected} data bytes, found {found}); "
                           "download the file again")
    data = _read_data(handle, name, expected)
    if len(data) != expected:
        raise BarenetError(f"{name}: changed while it was read (expected {expected} data "
                           f"bytes, found {len(data)}); read it again")
    return _finish(data, dtype, shape)


def _read_gzip(handle: BinaryIO, name: str, file_size: int,
               max_values: int | None) -> np.ndarray:
    try:
        with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
            dtype, shape, _ = _parse_header(stream, name, max_values)
            expected = math.prod(shape) * dtype.itemsize
            limit = _MAX_GZIP_RATIO * file_size + 1024
            if expected > limit:
                raise BarenetError(f"{name}: header declares shape {shape} of {dtype.name} "
                                   f"({expected} bytes), more than a {file_size}-byte gzip "
                                   "file can hold; the file is corrupt, download it again")
            data = _read_data(stream, name, expected)
            if len(data) < expected:
                raise BarenetError(f"{name}: truncated (header declares shape {shape}: "
                                   f"expected {expected} data bytes, found {len(data)}); "
                                   "download the file again")
            if len(data) > expected:
                raise BarenetError(f"{name}: longer than its header declares (shape {shape}: "
                                   f"expected {expected} data bytes, found more); "
                                   "the file is corrupt, download it again")
    except EOFError:
        raise BarenetError(f"{name}: truncated gzip stream (the compressed file ends early); "
                           "delete it and download it again") from None
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise BarenetError(f"{name}: corrupt gzip stream ({exc}); "
                           "delete the file and download it again") from None
    return _finish(data, dtype, shape)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, atomically; gzip-compressed if ``path`` ends in ``.gz``.

    Parameters
    ----------
    path : str or os.PathLike
        Target file.
    array : numpy.ndarray
        Any shape with at least one dimension, each below 2**32; dtype uint8,
        int8, int16, int32, float32 or float64.

    Raises
    ------
    BarenetError
        If the dtype or shape cannot be stored in IDX, or the file cannot be written.
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise BarenetError(f"cannot store dtype {array.dtype} in IDX (valid: uint8, int8, "
                           "int16, int32, float32, float64); convert the array first")
    if array.ndim == 0 or array.ndim > 255 or any(d >= 2**32 for d in array.shape):
        raise BarenetError(f"cannot store shape {array.shape} in IDX (1 to 255 dimensions, "
                           "each below 2**32)")
    header = bytes([0, 0, _CODES[native], array.ndim]) + struct.pack(f">{array.ndim}I",
                                                                     *array.shape)
    data = np.ascontiguousarray(array, dtype=native.newbyteorder(">"))
    with atomic_write(path, "wb") as handle:
        if str(path).endswith(".gz"):
            with gzip.GzipFile(filename="", fileobj=handle, mode="wb", mtime=0) as stream:
                stream.write(header)
                stream.write(data.reshape(-1).view(np.uint8))
        else:
            handle.write(header)
            handle.write(data.reshape(-1).view(np.uint8))
