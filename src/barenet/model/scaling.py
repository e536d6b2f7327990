"""Raw pixels to network input: uint8 to float in [0, 1], standardisation, shape.

:func:`network_input` is the one function that does it, for training data
(``data.prepare``, each training batch) and for inference
(``Sequential.prepare_input``) alike.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..errors import BarenetError

#: Float types a model may train in.
FLOAT_DTYPES = ("float32", "float64")
#: Pixels counted or looked up at a time (the 8-byte index copies NumPy makes stay small).
CHUNK = 1 << 20


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
        """Measure mean and standard deviation of ``x`` (any shape), in float64.

        For float data; uint8 pixels go through :meth:`fit_pixels`, which the tests
        hold equal to this plain two-pass form.
        """
        x = np.asarray(x)
        if x.size == 0:
            raise BarenetError("cannot standardise on an empty training set; "
                               "use a smaller validation split")
        mean = float(np.mean(x, dtype=np.float64))
        std = float(np.std(x, dtype=np.float64))
        return cls(mean, std if std > 0 else 1.0)

    @classmethod
    def fit_pixels(cls, pixels: np.ndarray) -> Standardization:
        """The fit of ``pixels / 255`` for uint8 ``pixels`` (any shape), from their histogram.

        A uint8 image set has only 256 distinct values, so its mean and standard
        deviation follow exactly from how often each occurs: one pass of counting
        instead of two in float64.
        Equal to ``fit(to_float(pixels, float64))`` up to rounding (the tests check it).
        """
        pixels = np.asarray(pixels)
        if pixels.dtype != np.uint8:
            raise BarenetError(f"expected uint8 pixels, got {pixels.dtype}")
        if pixels.size == 0:
            return cls.fit(pixels)
        flat = pixels.reshape(-1)
        # in chunks: bincount turns its input into 8-byte indices, 376 MB for all of MNIST
        counts = sum(np.bincount(flat[i:i + CHUNK], minlength=256).astype(np.float64)
                     for i in range(0, flat.size, CHUNK))
        values = np.arange(256) / 255
        mean = float(counts @ values / pixels.size)
        if np.count_nonzero(counts) == 1:  # one value only: no spread (not a rounding residue)
            return cls(mean, 1.0)
        return cls(mean, math.sqrt(float(counts @ (values - mean) ** 2 / pixels.size)))

    @classmethod
    def from_record(cls, record: Any, dtype: DTypeLike = np.float32) -> Standardization:
        """The ``normalization`` record of a model's metadata, checked.

        One number each for ``mean`` and ``std``; both finite, ``std > 0``, and
        ``1 / std`` and ``mean / std`` finite in ``dtype`` (a ``std`` of 1e-45 is a
        valid float64 but makes every float32 input infinite).
        """
        if not (isinstance(record, Mapping) and set(record) >= {"mean", "std"}
                and all(isinstance(record[k], (int, float)) and not isinstance(record[k], bool)
                        for k in ("mean", "std"))):
            raise BarenetError(f"metadata normalization must hold one number each for mean "
                               f"and std, got {reprlib.repr(record)}")
        mean, std = float(record["mean"]), float(record["std"])
        largest = float(np.finfo(float_dtype(dtype)).max)
        if not (math.isfinite(mean) and math.isfinite(std) and std > 0
                and 1 / std < largest and abs(mean) / std < largest):
            raise BarenetError(f"metadata normalization needs a finite mean and a std > 0 "
                               f"whose reciprocal fits {np.dtype(dtype).name}, got {record!r}")
        return cls(mean, std)

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

    def to_dict(self) -> dict[str, float]:
        """``{"mean": ..., "std": ...}``, for run records and model metadata."""
        return {"mean": self.mean, "std": self.std}


def pixel_table(dtype: DTypeLike, standardization: Standardization) -> np.ndarray:
    """What each of the 256 uint8 values becomes: scaled, then standardised, in ``dtype``.

    Computed with the very operations :func:`to_float` and
    :meth:`Standardization.apply` use, so looking pixels up in it gives the same bits
    as the two steps (the tests check it), in one pass over the images instead of two.
    """
    return standardization.apply(to_float(np.arange(256, dtype=np.uint8), dtype),
                                 inplace=True)


def look_up(table: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """``table[pixels]`` for uint8 ``pixels``, a chunk at a time (NumPy would first turn all
    the pixels into 8-byte indices: 376 MB for MNIST)."""
    out = np.empty(pixels.shape, table.dtype)
    flat, flat_out = pixels.reshape(-1), out.reshape(-1)
    for i in range(0, flat.size, CHUNK):
        np.take(table, flat[i:i + CHUNK], out=flat_out[i:i + CHUNK], mode="clip")  # 0..255
    return out


def network_input(images: np.ndarray, dtype: DTypeLike = np.float32,
                  standardization: Standardization | None = None,
                  input_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Raw images -> the network's input: scale, standardise, reshape.

    ``uint8`` pixels are scaled by 1/255; floating (or bool) images are taken to
    be in [0, 1] already, or to be prepared (scaled and standardised) when
    ``standardization`` is None. No copy is made when nothing changes.

    Parameters
    ----------
    images : numpy.ndarray
        (N, ...) with N samples, e.g. (N, 28, 28), (N, 784) or (N, 1, 28, 28).
    dtype : dtype-like
        ``float32`` or ``float64``: the model's.
    standardization : Standardization, optional
        Applied after scaling: ``(x - mean) / std``.
    input_shape : tuple of int, optional
        One sample's shape for the network; the result is (N, *input_shape).

    Returns
    -------
    numpy.ndarray
    """
    images = np.asarray(images)
    if not (np.issubdtype(images.dtype, np.number) or images.dtype == bool):
        raise BarenetError(f"images must be numeric arrays, got dtype {images.dtype}")
    dtype = float_dtype(dtype)
    if images.dtype == np.uint8 and standardization is not None:
        x = look_up(pixel_table(dtype, standardization), images)  # to_float + apply, at once
    elif images.dtype == np.uint8:
        x = to_float(images, dtype)
    else:
        x = images.astype(dtype, copy=False)
        if standardization is not None:
            x = standardization.apply(x, inplace=x is not images)
    if input_shape is not None:
        size = math.prod(input_shape)
        if x.ndim == 0 or x.size % size or (x.size // size) != x.shape[0]:
            raise BarenetError(f"expected a batch of images with {size} values each "
                               f"(one sample is {tuple(input_shape)}), got shape {x.shape}")
        x = x.reshape((x.shape[0], *input_shape))
    return x
