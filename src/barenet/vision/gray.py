"""Stage 1: any image array to one grey channel in [0, 1]."""

from __future__ import annotations

import numpy as np

from ..errors import BarenetError

#: Luma weights of ITU-R BT.601, as Pillow's "L" conversion uses.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


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
