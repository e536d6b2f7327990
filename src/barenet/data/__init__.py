"""Datasets, preprocessing, mini-batches and augmentation.

Typical use by a training loop::

    data = prepare(load_dataset("mnist"), val_size=5000, standardize=True)
    augment = Augment(max_shift=2, max_rotation=10, fill=data.background)
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        for xb, yb in Batches(data.x_train, data.y_train, 128, rng):
            xb = augment(xb, rng)
            ...
"""

from ..model.scaling import FLOAT_DTYPES, Standardization, float_dtype, to_float
from .augment import Augment, elastic_displacement, gaussian_matrix, warp_images
from .batches import Batches
from .datasets import (
    DATASETS,
    FILES,
    MIRRORS,
    Dataset,
    DatasetSpec,
    candidate_dirs,
    find_dataset_files,
    get_spec,
    load_dataset,
)
from .download import download_file, download_files
from .idx import read_idx, write_idx
from .pipeline import PreparedData, prepare
from .split import DEFAULT_VAL_SIZE, validation_split

__all__ = [
    "Augment", "elastic_displacement", "gaussian_matrix", "warp_images",
    "Batches",
    "DATASETS", "FILES", "MIRRORS", "Dataset", "DatasetSpec", "candidate_dirs",
    "find_dataset_files", "get_spec", "load_dataset",
    "download_file", "download_files",
    "read_idx", "write_idx",
    "PreparedData", "prepare",
    "FLOAT_DTYPES", "Standardization", "float_dtype", "to_float",
    "DEFAULT_VAL_SIZE", "validation_split",
]
