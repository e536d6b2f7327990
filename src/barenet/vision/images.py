"""Read an image file of any common kind into a NumPy array for :mod:`barenet.vision`.

Pillow decodes the file (PNG, JPEG, BMP, GIF, TIFF and whatever else it knows);
this module only maps its many pixel modes onto the arrays
:func:`barenet.vision.to_grayscale` accepts, keeping Pillow's
decompression-bomb limit. A large picture is shrunk while it is converted, a band
of rows at a time, so no full-size copy of it is ever made besides Pillow's own;
the picture is turned upright as its EXIF orientation says, as image viewers do.
"""

from __future__ import annotations

import math
import os
import stat
import struct
import warnings
from collections.abc import Callable, Iterator
from typing import IO

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import BarenetError

#: Pictures larger than this on their longer side are shrunk by a whole factor
#: while decoding: a digit needs no more, and it bounds the memory used.
MAX_SIDE = 2048
#: Pictures are converted to arrays in bands of about this many pixels.
BAND_PIXELS = 1 << 19
#: The median that fills a float picture's missing pixels is taken on about this many.
FILL_SAMPLE = 1 << 20
#: The EXIF tag of a picture's orientation.
ORIENTATION = 0x0112

# Modes kept as they are; every other mode is converted to the one given.
_KEEP = {"L", "LA", "RGB", "RGBA"}
_CONVERT = {"1": "L", "PA": "RGBA", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB", "CMYK": "RGB",
            "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}
# What damaged metadata makes Pillow's EXIF reader raise.
_BAD_METADATA = (SyntaxError, ValueError, OSError, EOFError, KeyError, IndexError, TypeError,
                 struct.error)


def check_regular_file(path: str | os.PathLike) -> None:
    """Refuse what is not a regular file before reading it: a FIFO or a device would block
    or never end.

    Raises
    ------
    BarenetError
        Missing, a folder, a device, FIFO or socket, or not even statable.
    """
    try:
        kind = os.stat(path).st_mode
    except FileNotFoundError:
        raise BarenetError(f"{path}: no such file") from None
    except OSError as exc:
        raise BarenetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if stat.S_ISDIR(kind):
        raise BarenetError(f"{path}: is a folder, not an image file")
    if not stat.S_ISREG(kind):
        raise BarenetError(f"{path}: not a regular file (a device, FIFO or socket); "
                           "give an image file")


def load_image(path: str | os.PathLike | IO[bytes]) -> np.ndarray:
    """Decode the first frame of an image file, upright.

    Parameters
    ----------
    path : str, os.PathLike or a binary file object
        Any file Pillow can open: PNG (8- or 16-bit, palette, with or without
        alpha), JPEG (grey, RGB or CMYK), BMP, GIF (an animation gives its
        first frame), TIFF (also 32-bit float)...

    Returns
    -------
    numpy.ndarray
        ``uint8`` (H, W), (H, W, 2), (H, W, 3) or (H, W, 4) (grey, grey +
        alpha, RGB, RGBA), or ``uint16`` (H, W) for 16-bit grey and float
        pictures (a float picture's range is that of its finite pixels and 0;
        NaN and infinite pixels become the median of the finite ones).
        Pictures with a side longer than :data:`MAX_SIDE` are shrunk by an
        integer factor (pixel averaging). A picture with an EXIF orientation
        (a phone photo stored sideways) is rotated or flipped upright, as
        image viewers show it (:func:`PIL.ImageOps.exif_transpose`).

    Raises
    ------
    BarenetError
        The file is missing, unreadable, not an image, truncated or corrupt,
        larger than Pillow's decompression-bomb limit, or too large for the
        memory left.
    """
    if isinstance(path, (str, os.PathLike)):  # a file by name (an open file object: as is)
        check_regular_file(path)
    name = _name(path)
    size = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # damaged metadata (TIFF tags, EXIF) is skipped with a warning: not worth printing
            warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
            with Image.open(path) as image:
                image.seek(0)
                size = image.size
                factor = math.ceil(max(image.size) / MAX_SIDE)
                if factor > 1 and image.format == "JPEG":
                    image.draft(image.mode, (image.width // factor, image.height // factor))
                image.load()
                return upright(_to_array(image), _orientation(image))
    except FileNotFoundError:
        raise BarenetError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise BarenetError(f"{name}: is a folder, not an image file") from None
    except PermissionError:
        raise BarenetError(f"{name}: permission denied; make it readable") from None
    except UnidentifiedImageError:
        if _is_empty(path):
            raise BarenetError(f"{name}: the file is empty (0 bytes), not an image") from None
        raise BarenetError(f"{name}: not an image file Pillow can read "
                           "(give a PNG, JPEG, BMP or GIF file)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BarenetError(f"{name}: the image has more pixels than Pillow's "
                           f"decompression-bomb limit of {Image.MAX_IMAGE_PIXELS:,}; "
                           "shrink it first") from None
    except MemoryError:
        pixels = f"{size[0]}x{size[1]} " if size else ""
        raise BarenetError(f"{name}: not enough memory to decode this {pixels}picture; "
                           "shrink it first or close other programs") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BarenetError(f"{name}: cannot decode the image ({reason}); the file is damaged: "
                           "export or download it again") from None


def _name(path: str | os.PathLike | IO[bytes]) -> str:
    """How messages name the file: its path, a file object's name, else "the image"."""
    if isinstance(path, (str, os.PathLike)):
        return str(path)
    name = getattr(path, "name", None)
    return name if isinstance(name, str) and name else "the image"


def _is_empty(path: str | os.PathLike | IO[bytes]) -> bool:
    """Whether the file (by name, or an open file object) holds no byte at all."""
    try:
        if isinstance(path, (str, os.PathLike)):
            return os.path.getsize(path) == 0
        path.seek(0, os.SEEK_END)
        return path.tell() == 0
    except (OSError, ValueError, AttributeError):  # unseekable, closed, or no file at all
        return False


def _orientation(image: Image.Image) -> int:
    """The picture's EXIF orientation (1 to 8; 1 is upright), read as
    :func:`PIL.ImageOps.exif_transpose` reads it; 1 when damaged or absent."""
    try:
        value = image.getexif().get(ORIENTATION, 1)
    except _BAD_METADATA:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright(array: np.ndarray, orientation: int) -> np.ndarray:
    """A decoded picture turned as its EXIF orientation says, as viewers show it.

    Parameters
    ----------
    array : numpy.ndarray
        The picture as stored, (H, W) or (H, W, C).
    orientation : int
        The EXIF Orientation tag: 2 mirrored, 3 upside down, 4 flipped, 5 transposed,
        6 turned a quarter anticlockwise (turn it clockwise to show it), 7 transversed,
        8 turned a quarter clockwise; other values, as it is.

    Returns
    -------
    numpy.ndarray
        The picture upright: the same pixels :func:`PIL.ImageOps.exif_transpose` gives.
    """
    if orientation == 2:
        array = array[:, ::-1]
    elif orientation == 3:
        array = array[::-1, ::-1]
    elif orientation == 4:
        array = array[::-1]
    elif orientation == 5:
        array = array.swapaxes(0, 1)
    elif orientation == 6:
        array = np.rot90(array, -1)
    elif orientation == 7:
        array = array[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:
        array = np.rot90(array, 1)
    else:
        return array
    return np.ascontiguousarray(array)


def _to_array(image: Image.Image) -> np.ndarray:
    """A decoded Pillow image as a uint8 or uint16 array, shrunk to at most MAX_SIDE.

    The image is converted a band of about :data:`BAND_PIXELS` pixels at a time, each band
    averaged down at once into the result: the memory used beyond Pillow's own copy of the
    picture is that of the result and of one band.
    """
    width, height = image.size
    if not width or not height:
        raise ValueError(f"the image has no pixels ({width}x{height})")
    factor = math.ceil(max(width, height) / MAX_SIDE)
    # a side shorter than the factor (a long thin strip) is averaged whole, not dropped
    fy, fx = min(factor, height), min(factor, width)
    rows = fy * max(1, BAND_PIXELS // (max(width, 1) * fy))
    bottom = height // fy * fy

    def bands() -> Iterator[Image.Image]:
        for top in range(0, bottom, rows):
            yield image if rows >= height else image.crop((0, top, width, min(top + rows,
                                                                              bottom)))
    convert = _converter(image, bands)
    if rows >= bottom:
        return _shrink(convert(image if rows >= height else next(bands())), fy, fx)
    out = None
    for top, band in zip(range(0, bottom, rows), bands(), strict=True):
        part = _shrink(convert(band), fy, fx)
        if out is None:
            out = np.empty((bottom // fy, *part.shape[1:]), part.dtype)
        out[top // fy:top // fy + len(part)] = part
    return out


def _converter(image: Image.Image, bands: Callable[[], Iterator[Image.Image]]
               ) -> Callable[[Image.Image], np.ndarray]:
    """The function turning one band of ``image`` into its uint8 or uint16 array."""
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        high = 65535 if mode.startswith("I;16") or image.getextrema()[1] > 255 else 255
        kind = np.uint16 if high > 255 else np.uint8
        return lambda band: np.clip(np.asarray(band), 0, high).astype(kind)
    if mode == "F":
        return _float_converter(bands, image.width * image.height)
    if mode == "P":
        target = "RGBA" if "transparency" in image.info else "RGB"
    elif mode not in _KEEP:
        target = _CONVERT.get(mode, "RGB")
    else:
        return np.asarray
    return lambda band: np.asarray(band.convert(target))


def _float_converter(bands: Callable[[], Iterator[Image.Image]], pixels: int
                     ) -> Callable[[Image.Image], np.ndarray]:
    """For a float picture of ``pixels`` pixels: its values from the lower of 0 and its
    least finite value (0) to the higher of 0 and its greatest (65535). A NaN or infinite
    pixel is missing: it gets the median of the finite ones (the paper, in a picture of a
    digit; taken on about :data:`FILL_SAMPLE` of them, evenly spread)."""
    low, high, missing, sample = 0.0, 0.0, False, []
    step = max(1, pixels // FILL_SAMPLE)
    for band in bands():  # first pass: the finite range, and the sample for the median
        values = np.asarray(band)
        finite = np.isfinite(values)
        if not finite.all():
            missing, values = True, values[finite]
        if values.size:
            low, high = min(low, float(values.min())), max(high, float(values.max()))
            sample.append(values.ravel()[::step].copy())  # not a view of the band
    # a float32 pixel's value (in float64: the mean of two near float32's limit overflows)
    fill = float(np.float32(np.median(np.concatenate(sample).astype(np.float64)))) \
        if missing and sample else 0.0
    span = high - low if high > low else 1.0

    def convert(band: Image.Image) -> np.ndarray:
        values = np.array(band, dtype=np.float64)  # one copy of the band, worked on in place
        if missing:
            np.copyto(values, fill, where=~np.isfinite(values))
        values -= low
        values /= span
        values *= 65535
        return np.round(values, out=values).astype(np.uint16)
    return convert


def _shrink(array: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Average ``fy`` x ``fx`` blocks (the ragged last row and column are dropped)."""
    if fy == fx == 1:
        return array
    h, w = array.shape[0] // fy, array.shape[1] // fx
    # sums of whole numbers, exact: down the rows of each block, then across
    rows = array[:h * fy, :w * fx].reshape(h, fy, -1).sum(axis=1, dtype=np.uint64)
    mean = rows.reshape(h, w, fx, *array.shape[2:]).sum(axis=2) / (fy * fx)
    return np.round(mean, out=mean).astype(array.dtype)
