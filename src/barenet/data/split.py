"""Holding out a validation set from the official training set."""

from __future__ import annotations

import numpy as np

from ..errors import BarenetError

#: Default validation size: the last 5,000 of MNIST's 60,000 training images.
DEFAULT_VAL_SIZE = 5000


def validation_split(x: np.ndarray, y: np.ndarray, val_size: int = DEFAULT_VAL_SIZE
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split off the last ``val_size`` examples as the validation set.

    The split is fixed (no shuffling), so every run validates on the same
    images. The results are views of ``x`` and ``y``, not copies.

    Parameters
    ----------
    x : numpy.ndarray
        Inputs, shape (N, ...).
    y : numpy.ndarray
        Labels, shape (N,) or (N, K).
    val_size : int
        Number of validation examples, ``0 <= val_size < N``; 0 gives empty
        validation arrays.

    Returns
    -------
    x_train, y_train : numpy.ndarray
        Shapes (N - val_size, ...) and (N - val_size,).
    x_val, y_val : numpy.ndarray
        Shapes (val_size, ...) and (val_size,).
    """
    n = len(x)
    if len(y) != n:
        raise BarenetError(f"{n} inputs but {len(y)} labels; they must pair up one to one")
    if isinstance(val_size, bool) or not isinstance(val_size, (int, np.integer)) \
            or not 0 <= val_size < n:
        raise BarenetError(f"validation size must be an integer from 0 to {n - 1} "
                           f"(the training set has {n} examples), got {val_size!r}")
    cut = n - int(val_size)
    return x[:cut], y[:cut], x[cut:], y[cut:]
