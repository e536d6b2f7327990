"""Pixel preprocessing: uint8 to float in [0, 1], and standardisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from ..errors import BarenetError

#: Float types a model may train in.
FLOAT_DTYPES = ("float32", "float64")


def float_dtype(dtype: DTypeLike) -> np.dtype:
    """``dtype`` as a NumPy dtype, if it is float32 or float64; else :class:`BarenetError`."""
    try:
        resolved = None if dtype is None else np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in FLOAT_DTYPES:
        raise BarenetError(f"unsupported dtype {dtype!r}; valid: {', '.join(FLOAT_DTYPES)}")
    return resolved


def to_float(images: np.ndarray, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Scale uint8 pixels 0..255 to floats in [0, 1].

    Parameters
    ----------
    images : numpy.ndarray
        uint8, any shape, e.g. (N, 28, 28).
    dtype : dtype-like
        ``float32`` (default) or ``float64``.

    Returns
    -------
    numpy.ndarray
        New array of the same shape, ``images / 255`` in ``dtype``.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise BarenetError(f"expected uint8 pixels, got {images.dtype}; "
                           "scale raw dataset images, not already converted ones")
    out = images.astype(float_dtype(dtype))
    out /= 255
    return out


@dataclass(frozen=True)
class Standardization:
    """Subtract one mean and divide by one standard deviation, over all pixels.

    Fit it on the training images only and record ``mean`` and ``std`` with the
    model, so inference applies the same transform.

    Attributes
    ----------
    mean : float
        Mean pixel value of the data it was fitted on.
    std : float
        Standard deviation of the pixel values (1.0 if they were constant).
    """

    mean: float
    std: float

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardization:
        """Measure mean and standard deviation of ``x`` (any shape), in float64."""
        x = np.asarray(x)
        if x.size == 0:
            raise BarenetError("cannot standardise on an empty training set; "
                               "use a smaller validation split")
        mean = float(np.mean(x, dtype=np.float64))
        std = float(np.std(x, dtype=np.float64))
        return cls(mean, std if std > 0 else 1.0)

    def apply(self, x: np.ndarray, *, inplace: bool = False) -> np.ndarray:
        """Return ``(x - mean) / std``, shape and float dtype of ``x`` kept.

        Parameters
        ----------
        x : numpy.ndarray
            Float array, any shape.
        inplace : bool
            Overwrite ``x`` instead of allocating a new array.
        """
        out = x if inplace else np.array(x, copy=True)
        out -= out.dtype.type(self.mean)
        out *= out.dtype.type(1.0 / self.std)
        return out

    def invert(self, x: np.ndarray) -> np.ndarray:
        """Undo :meth:`apply`: return ``x * std + mean`` as a new array."""
        return x * x.dtype.type(self.std) + x.dtype.type(self.mean)

    def to_dict(self) -> dict[str, float]:
        """``{"mean": ..., "std": ...}``, for run records and model metadata."""
        return {"mean": self.mean, "std": self.std}
