"""Turn any picture of a digit into the 28x28 image an MNIST network expects.

MNIST digits are bright ink on a black background, scaled so that the longer
side of the ink's bounding box is 20 pixels, and placed in a 28x28 field so
that their centre of mass lies at pixel (14, 14). :func:`preprocess` does the
same to a drawing, a photo or a scan, one pure step at a time:

1. :func:`to_grayscale`: any array (grey, RGB, with alpha; 8-bit, 16-bit or
   float) to one float channel in [0, 1];
2. :func:`to_ink`: invert dark-on-light pictures, subtract the background,
   stretch the ink to full brightness;
3. :func:`ink_bbox` and :func:`crop`: cut away everything outside the ink;
4. :func:`resize_longer_side`: anti-aliased resize, longer side 20 pixels;
   then brightened again so its brightest pixel is 1;
5. :func:`paste_center`: into a 28x28 black canvas;
6. :func:`center_by_mass`: sub-pixel shift putting the centre of mass at (14, 14).

Blank or nearly blank pictures raise :class:`EmptyDrawingError` instead of
being classified. The model's own normalisation (mean and standard deviation)
is not applied here: :meth:`barenet.Sequential.predict_proba` does that.
The drawing app, its preview and ``barenet predict`` all call :func:`preprocess`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import BarenetError
from .model import Sequential

#: Side of the square image the network sees.
CANVAS_SIZE = 28
#: Longer side of the ink's bounding box inside that square.
BOX_SIZE = 20
#: Ink must differ from the background by at least this much (on a 0..1 scale).
MIN_CONTRAST = 0.15
#: Pixels at or above this fraction of full ink brightness count as ink.
INK_THRESHOLD = 0.2
#: A picture needs at least this many ink pixels...
MIN_INK_PIXELS = 4
#: ...and at least this fraction of its area in ink, else it is "nearly blank".
MIN_INK_FRACTION = 1e-4
#: Luma weights of ITU-R BT.601, as Pillow's "L" conversion uses.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class EmptyDrawingError(BarenetError):
    """The picture holds no digit: it is blank, or holds only a speck of ink."""


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """One float channel in [0, 1] from a grey, RGB, grey+alpha or RGBA array.

    Parameters
    ----------
    image : numpy.ndarray
        Shape (H, W), (H, W, 1), (H, W, 2) (grey + alpha), (H, W, 3) (RGB)
        or (H, W, 4) (RGBA). ``uint8`` values are divided by 255, ``uint16``
        by 65535, other integer types by 255 or 65535 according to their
        largest value; booleans map to 0 and 1; floats must lie in [0, 1].

    Returns
    -------
    numpy.ndarray
        float32 array of shape (H, W). Colour becomes BT.601 luma. Transparent
        pixels are composited onto white when the visible pixels are mostly
        dark and onto black when they are mostly light, so that ink on a
        transparent background stays visible either way.

    Raises
    ------
    BarenetError
        Wrong shape, non-numeric or out-of-range values, NaN.
    """
    x = _to_unit_float(np.asarray(image))
    if x.ndim == 3 and x.shape[2] in (1, 2, 3, 4):
        channels = x.shape[2]
        colour = x[..., : 3 if channels >= 3 else 1]
        gray = colour @ LUMA if colour.shape[2] == 3 else colour[..., 0]
        if channels in (2, 4):
            alpha = x[..., -1]
            visible = float(alpha.sum())
            light = visible > 0 and float((gray * alpha).sum()) / visible > 0.5
            background = 0.0 if light else 1.0
            gray = gray * alpha + background * (1 - alpha)
        x = gray
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise BarenetError(f"expected an image of shape (H, W) or (H, W, 1..4), got {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32)


def _to_unit_float(x: np.ndarray) -> np.ndarray:
    """Scale an integer, boolean or float array to float32 values in [0, 1]."""
    if x.dtype == bool:
        return x.astype(np.float32)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255)
    if x.dtype == np.uint16:
        return x.astype(np.float32) / np.float32(65535)
    if np.issubdtype(x.dtype, np.integer):
        low, high = (int(x.min()), int(x.max())) if x.size else (0, 0)
        if low < 0 or high > 65535:
            raise BarenetError(f"integer image values must lie in 0..65535, got {low}..{high}")
        return x.astype(np.float32) / np.float32(255 if high <= 255 else 65535)
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
        if x.size and not np.all(np.isfinite(x)):
            raise BarenetError("the image holds NaN or infinite values")
        if x.size and (x.min() < 0 or x.max() > 1):
            raise BarenetError(f"float images must hold values in [0, 1], got {x.min():.3g}.."
                               f"{x.max():.3g}; divide 8-bit values by 255 first")
        return x
    raise BarenetError(f"images must be numeric arrays, got dtype {x.dtype}")


def border(gray: np.ndarray) -> np.ndarray:
    """The pixels of the outermost row and column on every side, as one flat array."""
    if min(gray.shape) <= 2:
        return gray.ravel()
    return np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])


def is_dark_on_light(gray: np.ndarray) -> bool:
    """Whether the picture is dark ink on a light background.

    Decided by the median brightness of the border pixels: a digit rarely
    covers most of the picture's edge, so the border shows the background.
    """
    return float(np.median(border(gray))) > 0.5


def to_ink(gray: np.ndarray, invert: bool | None = None,
           min_contrast: float = MIN_CONTRAST) -> np.ndarray:
    """Bright ink on black, stretched so the brightest ink is 1.

    Parameters
    ----------
    gray : numpy.ndarray
        (H, W) floats in [0, 1], as from :func:`to_grayscale`.
    invert : bool, optional
        Whether the picture is dark on light and must be inverted; ``None``
        (default) decides with :func:`is_dark_on_light`.
    min_contrast : float
        Smallest difference between the brightest ink and the background for
        the picture to count as holding anything.

    Returns
    -------
    numpy.ndarray
        float32 (H, W): background (the border's median brightness) 0, the
        brightest ink 1, values in between scaled linearly, darker clipped to 0.

    Raises
    ------
    EmptyDrawingError
        Nothing in the picture stands out from the background by ``min_contrast``.
    """
    if invert is None:
        invert = is_dark_on_light(gray)
    ink = 1 - gray if invert else gray
    background = float(np.median(border(ink)))
    contrast = float(ink.max()) - background
    if contrast < min_contrast:
        raise EmptyDrawingError("the picture is blank: nothing stands out from the background")
    stretched = (ink - np.float32(background)) / np.float32(contrast)
    return np.clip(stretched, 0, 1, out=stretched).astype(np.float32, copy=False)


def ink_bbox(ink: np.ndarray, threshold: float = INK_THRESHOLD,
             min_pixels: int = MIN_INK_PIXELS,
             min_fraction: float = MIN_INK_FRACTION) -> tuple[int, int, int, int]:
    """Bounding box ``(top, bottom, left, right)`` of the ink, bottom and right exclusive.

    Parameters
    ----------
    ink : numpy.ndarray
        (H, W) bright-on-black floats, as from :func:`to_ink`.
    threshold : float
        Pixels with at least this value count as ink.
    min_pixels, min_fraction : int, float
        Fewer ink pixels than ``max(min_pixels, min_fraction * H * W)`` make the
        picture "nearly blank": a speck, not a digit.

    Raises
    ------
    EmptyDrawingError
        Too little ink.
    """
    mask = ink >= threshold
    count = int(mask.sum())
    if count < max(min_pixels, min_fraction * mask.size):
        raise EmptyDrawingError("the picture is nearly blank: too little ink to be a digit")
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


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


def preprocess(image: np.ndarray, invert: bool | None = None) -> np.ndarray:
    """The 28x28 image the network sees, from any picture of one digit.

    Parameters
    ----------
    image : numpy.ndarray
        Any array :func:`to_grayscale` accepts: (H, W) or (H, W, 1..4),
        uint8, uint16, bool or floats in [0, 1]; light or dark background.
    invert : bool, optional
        ``True`` for dark ink on a light background, ``False`` for light ink on
        dark; ``None`` (default) detects it from the picture's border.

    Returns
    -------
    numpy.ndarray
        float32 (28, 28) in [0, 1], ink bright on black, the ink's longer side
        20 pixels, its centre of mass at (14, 14) to within half a pixel.

    Raises
    ------
    EmptyDrawingError
        The picture is blank or holds too little ink to be a digit.
    BarenetError
        The array is not an image (wrong shape or values).
    """
    ink = to_ink(to_grayscale(image), invert)
    glyph = resize_longer_side(crop(ink, ink_bbox(ink)), BOX_SIZE)
    glyph /= glyph.max()  # a thin stroke shrunk a lot turns faint: back to full brightness
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
