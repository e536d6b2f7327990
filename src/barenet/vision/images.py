"""Read an image file of any common kind into a NumPy array for :mod:`barenet.vision`.

Pillow decodes the file (PNG, JPEG, BMP, GIF and whatever else it knows);
this module only maps its many pixel modes onto the arrays
:func:`barenet.vision.to_grayscale` accepts, keeping Pillow's
decompression-bomb limit.
"""

from __future__ import annotations

import math
import os
import stat
import warnings
from typing import IO

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import BarenetError

#: Pictures larger than this on their longer side are shrunk by a whole factor
#: while decoding: a digit needs no more, and it bounds the memory used.
MAX_SIDE = 2048

# Modes kept as they are; every other mode is converted to the one given.
_KEEP = {"L", "LA", "RGB", "RGBA"}
_CONVERT = {"1": "L", "PA": "RGBA", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB", "CMYK": "RGB",
            "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}


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
    """Decode the first frame of an image file.

    Parameters
    ----------
    path : str, os.PathLike or a binary file object
        Any file Pillow can open: PNG (8- or 16-bit, palette, with or without
        alpha), JPEG (grey, RGB or CMYK), BMP, GIF (an animation gives its
        first frame)...

    Returns
    -------
    numpy.ndarray
        ``uint8`` (H, W), (H, W, 2), (H, W, 3) or (H, W, 4) (grey, grey +
        alpha, RGB, RGBA), or ``uint16`` (H, W) for 16-bit grey pictures.
        Pictures with a side longer than :data:`MAX_SIDE` are first shrunk by
        an integer factor (pixel averaging).

    Raises
    ------
    BarenetError
        The file (by name, or an open file object) is missing, unreadable, not an
        image, truncated or corrupt, or larger than Pillow's decompression-bomb limit.
    """
    if isinstance(path, (str, os.PathLike)):  # a file by name (an open file object: as is)
        check_regular_file(path)
    name = _name(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # damaged metadata (TIFF tags, EXIF) is skipped with a warning: not worth printing
            warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
            with Image.open(path) as image:
                image.seek(0)
                factor = math.ceil(max(image.size) / MAX_SIDE)
                if factor > 1 and image.format == "JPEG":
                    image.draft(image.mode, (image.width // factor, image.height // factor))
                image.load()
                return _to_array(image)
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


def _to_array(image: Image.Image) -> np.ndarray:
    """A decoded Pillow image as a uint8 or uint16 array, shrunk to at most MAX_SIDE."""
    if image.mode.startswith("I;16") or image.mode == "I":
        gray = np.asarray(image)
        high = 65535 if gray.max(initial=0) > 255 or image.mode.startswith("I;16") else 255
        array = np.clip(gray, 0, high).astype(np.uint16 if high > 255 else np.uint8)
    elif image.mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float64))
        low, high = values.min(initial=0), values.max(initial=0)
        span = high - low if high > low else 1.0
        array = np.round((values - low) / span * 65535).astype(np.uint16)
    else:
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif image.mode not in _KEEP:
            image = image.convert(_CONVERT.get(image.mode, "RGB"))
        array = np.asarray(image)
    factor = math.ceil(max(array.shape[:2]) / MAX_SIDE)
    return _shrink(array, factor) if factor > 1 else array


def _shrink(array: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks (the ragged last row and column are dropped).

    A side shorter than ``factor`` (a long thin strip) is averaged whole, not dropped.
    """
    fy, fx = min(factor, array.shape[0]), min(factor, array.shape[1])
    h, w = array.shape[0] // fy, array.shape[1] // fx
    blocks = array[:h * fy, :w * fx].reshape(h, fy, w, fx, *array.shape[2:])
    return np.round(blocks.mean(axis=(1, 3))).astype(array.dtype)
