"""Stage 7: the digit's ink to the 28x28 image an MNIST network expects.

MNIST digits are bright ink on a black background, scaled so that the longer
side of the ink's bounding box is 20 pixels, and placed in a 28x28 field so
that their centre of mass lies at pixel (14, 14). :func:`to_glyph` does the
same to the ink found by :mod:`barenet.vision.ink`: crop, thicken strokes
that would be too thin at 20 pixels, resize (anti-aliased), brighten, paste
into the middle, and shift the centre of mass onto (14, 14).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import disk

from ..errors import BarenetError
from ..model.classifier import Sequential
from .ink import EmptyDrawingError

#: Side of the square image the network sees.
CANVAS_SIZE = 28
#: Longer side of the ink's bounding box inside that square.
BOX_SIZE = 20
#: MNIST's strokes are about this fraction of the digit's longer side wide
#: (measured: median stroke width 2.4 pixels of the 20-pixel box)...
STROKE_FRACTION = 0.12
#: ...and strokes thinner than this fraction of that are thickened before shrinking,
THIN_STROKE = 0.6
#: on a copy of the digit at most this many pixels long (8 times MNIST's box).
THICKEN_SIDE = 160
#: Strokes more than this many times MNIST's wide get hard edges...
BOLD_STROKE = 1.5
#: ...ink under this fraction of full brightness becoming none, over one minus it full.
SOFT_INK = 0.25


def crop(image: np.ndarray, bbox: tuple[int, int, int, int]) -> np.ndarray:
    """The part of ``image`` inside ``bbox = (top, bottom, left, right)``."""
    top, bottom, left, right = bbox
    return image[top:bottom, left:right]


def resize_longer_side(image: np.ndarray, size: int = BOX_SIZE) -> np.ndarray:
    """Resize preserving the aspect ratio so that the longer side is ``size`` pixels.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W) floats.
    size : int
        Length of the longer side afterwards; the shorter side is rounded, at
        least 1.

    Returns
    -------
    numpy.ndarray
        float32 (h, w) with ``max(h, w) == size``, clipped to [0, 1].
        Shrinking averages the pixels each output pixel covers (anti-aliased,
        like MNIST's own scaling); enlarging interpolates bilinearly.
    """
    h, w = image.shape
    scale = size / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32))  # mode "F"
    out = np.asarray(pil.resize((new_w, new_h), resample), dtype=np.float32)
    return np.clip(out, 0, 1)


def paste_center(glyph: np.ndarray, size: int = CANVAS_SIZE) -> np.ndarray:
    """Place ``glyph`` in the middle of a black ``size`` x ``size`` canvas."""
    h, w = glyph.shape
    if h > size or w > size:
        raise BarenetError(f"a {h}x{w} image does not fit in a {size}x{size} canvas")
    canvas = np.zeros((size, size), dtype=np.float32)
    top, left = (size - h) // 2, (size - w) // 2
    canvas[top:top + h, left:left + w] = glyph
    return canvas


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Brightness-weighted mean ``(row, column)`` of pixel indices.

    Raises
    ------
    EmptyDrawingError
        The image is all black (it has no centre of mass).
    """
    total = float(image.sum(dtype=np.float64))
    if total <= 0:
        raise EmptyDrawingError("the picture is blank: it has no ink to centre")
    rows = image.sum(axis=1, dtype=np.float64) @ np.arange(image.shape[0])
    cols = image.sum(axis=0, dtype=np.float64) @ np.arange(image.shape[1])
    return float(rows) / total, float(cols) / total


def shift(image: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Move the image content by ``(dy, dx)`` pixels, fractions included.

    Each fractional part is applied with linear interpolation between the two
    nearest pixels, which moves the centre of mass by exactly the requested
    amount as long as no ink crosses the edge (ink that does is lost); new
    pixels are black.

    Returns
    -------
    numpy.ndarray
        float32 array of the same shape.
    """
    out = np.asarray(image, dtype=np.float32)
    for axis, amount in ((0, dy), (1, dx)):
        whole = int(np.floor(amount))
        frac = np.float32(amount - whole)
        out = _roll_in(out, whole, axis) * (1 - frac) + _roll_in(out, whole + 1, axis) * frac
    return out


def _roll_in(image: np.ndarray, offset: int, axis: int) -> np.ndarray:
    """``image`` moved by a whole ``offset`` along ``axis``, the emptied side zeroed."""
    out = np.zeros_like(image)
    n = image.shape[axis]
    if abs(offset) >= n:
        return out
    src = [slice(None)] * 2
    dst = [slice(None)] * 2
    src[axis] = slice(max(0, -offset), n - max(0, offset))
    dst[axis] = slice(max(0, offset), n - max(0, -offset))
    out[tuple(dst)] = image[tuple(src)]
    return out


def center_by_mass(image: np.ndarray) -> np.ndarray:
    """Shift so the centre of mass lands on ``(H / 2, W / 2)``, i.e. (14, 14) for 28x28.

    That is where MNIST puts it: the mean centre of mass of its test digits is
    (13.99, 14.01) in pixel-index coordinates.
    """
    cy, cx = center_of_mass(image)
    return shift(image, image.shape[0] / 2 - cy, image.shape[1] / 2 - cx)


def thicken(ink: np.ndarray, width: float) -> np.ndarray:
    """Widen strokes of ``width`` pixels that would be too thin once shrunk to 20 pixels.

    A ballpoint line in a large photo is a few pixels wide where the digit is
    hundreds tall; shrunk to MNIST's 20 pixels it would be a faint hairline,
    where MNIST's strokes are about :data:`STROKE_FRACTION` of the digit. Such
    strokes get a grey dilation (a maximum over a disk) up to that width.

    Parameters
    ----------
    ink : ndarray (h, w)
        The digit's ink, bright on black, cropped to its box.
    width : float
        Its stroke width in pixels (:func:`barenet.vision.ink.stroke_width`).
    """
    target = STROKE_FRACTION * max(ink.shape)
    if width >= THIN_STROKE * target:
        return ink
    radius = max(1, round((target - width) / 2))
    padded = np.pad(ink, radius)
    return ndimage.grey_dilation(padded, footprint=disk(radius).astype(bool))


def harden(ink: np.ndarray, width: float) -> np.ndarray:
    """Make the soft edges of bold strokes hard (a blurred photo, a felt pen): ink under
    :data:`SOFT_INK` of full brightness becomes none, over one minus it full, for strokes
    more than :data:`BOLD_STROKE` times MNIST's width; others are returned as they are."""
    if width <= BOLD_STROKE * STROKE_FRACTION * max(ink.shape):
        return ink
    return np.clip((ink - SOFT_INK) / np.float32(1 - 2 * SOFT_INK), 0, 1)


def to_glyph(ink: np.ndarray, width: float) -> np.ndarray:
    """The 28x28 MNIST-style image of a digit's cropped ink.

    Parameters
    ----------
    ink : ndarray (h, w)
        Bright-on-black ink in [0, 1], cropped to the digit's box.
    width : float
        The strokes' width in pixels (for :func:`thicken`).

    Returns
    -------
    ndarray float32 (28, 28)
        In [0, 1]: longer side 20 pixels, the brightest ink 1, centre of mass at (14, 14).
    """
    if max(ink.shape) > THICKEN_SIDE:  # thicken at a bounded size: a huge crop stays cheap
        width *= THICKEN_SIDE / max(ink.shape)
        ink = resize_longer_side(ink, THICKEN_SIDE)
    glyph = resize_longer_side(thicken(harden(ink, width), width), BOX_SIZE)
    peak = float(glyph.max())
    if peak <= 0:
        raise EmptyDrawingError("the picture is blank: it has no ink to centre")
    glyph /= peak  # a thin stroke shrunk a lot turns faint: back to full brightness
    return np.clip(center_by_mass(paste_center(glyph, CANVAS_SIZE)), 0, 1)


def check_input_size(model: Sequential, path: Path) -> None:
    """Refuse a model that does not take one 28x28 image per sample.

    Raises
    ------
    BarenetError
        The model's input shape holds some other number of values.
    """
    if model.input_shape is not None and math.prod(model.input_shape) != 28 * 28:
        raise BarenetError(f"{path}: the model takes inputs of shape {model.input_shape}, but "
                           "predict and draw feed it 28x28 grey images; use an MNIST-style model")
