"""From a loaded dataset to float arrays ready for training, in one call."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from ..model.scaling import Standardization, float_dtype, network_input
from .datasets import Dataset
from .split import DEFAULT_VAL_SIZE, validation_split


@dataclass
class PreparedData:
    """Float train/validation/test arrays and the transform that produced them.

    Attributes
    ----------
    x_train, x_val, x_test : numpy.ndarray
        Float images, shapes (N_train, 28, 28), (val_size, 28, 28), (10000, 28, 28).
    y_train, y_val, y_test : numpy.ndarray
        uint8 labels, shapes (N_train,), (val_size,), (10000,).
    class_names : tuple of str
        Label ``k`` means ``class_names[k]``.
    standardization : Standardization or None
        Mean and std applied after scaling to [0, 1] (fitted on ``x_train``), or
        None when the data were only scaled. Record it with the model.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    standardization: Standardization | None

    @property
    def background(self) -> float:
        """The value a black (0) pixel has after preprocessing: the fill for :class:`Augment`."""
        s = self.standardization
        return 0.0 if s is None else -s.mean / s.std


def prepare(dataset: Dataset, *, val_size: int = DEFAULT_VAL_SIZE,
            dtype: DTypeLike = np.float32, standardize: bool = False) -> PreparedData:
    """Scale to [0, 1], hold out validation images, optionally standardise.

    Parameters
    ----------
    dataset : Dataset
        As returned by :func:`~barenet.data.load_dataset`.
    val_size : int
        The last ``val_size`` training images become the validation set.
    dtype : dtype-like
        ``float32`` (default) or ``float64``.
    standardize : bool
        Also subtract the training mean and divide by the training std (one
        scalar each, measured on the training part only).

    Returns
    -------
    PreparedData
        The arrays, class names and the standardisation used (or None).
    """
    dtype = float_dtype(dtype)
    x_train, y_train, x_val, y_val = validation_split(dataset.train_images,
                                                     dataset.train_labels, val_size)
    standardization = Standardization.fit_pixels(x_train) if standardize else None
    x_train, x_val, x_test = (network_input(x, dtype, standardization)
                              for x in (x_train, x_val, dataset.test_images))
    return PreparedData(x_train, y_train, x_val, y_val, x_test, dataset.test_labels,
                        dataset.class_names, standardization)
