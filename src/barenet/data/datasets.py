"""MNIST and Fashion-MNIST: where their files are found, and loading them.

The four IDX files of a dataset are looked for, in this order:

1. the ``data_dir`` argument, or else the folder named by ``$BARENET_DATA``
   (the folder itself, then its sub-folder named after the dataset);
2. the user cache, ``paths.dataset_cache_dir(name)`` (``$BARENET_CACHE`` moves it);
3. system folders, e.g. Debian's ``/usr/share/datasets/fashion-mnist``
   (package ``dataset-fashion-mnist``);
4. a download from the mirrors in :data:`MIRRORS` into the user cache, each file
   checked against its SHA-256 in :data:`DATASETS`.

A folder counts only when it holds all four files; each may be gzipped
(``train-images-idx3-ubyte.gz``) or raw (``train-images-idx3-ubyte``).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BarenetError
from ..io import paths
from .download import download_files
from .idx import read_idx

#: The four files of an MNIST-style dataset, in the order train images,
#: train labels, test images, test labels.
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@dataclass(frozen=True)
class DatasetSpec:
    """What barenet knows about one dataset.

    Attributes
    ----------
    name : str
        Name used in configs and on the command line.
    class_names : tuple of str
        Label ``k`` means ``class_names[k]``.
    sha256 : dict of str to str
        File name (one of :data:`FILES`) -> SHA-256 of the published ``.gz`` file.
    max_bytes : dict of str to int
        File name -> the most bytes a download may deliver: its published size
        (rounded up where only a rounded size is published). A mirror that
        streams more is cut off there.
    system_dirs : tuple of pathlib.Path
        Folders where an operating-system package may have installed the files.
    sizes : tuple of int
        Images in the published training and test sets: a file declaring more is
        refused before its data are read (a copy may hold fewer, as the tests' do).
    image_shape : tuple of int
        Height and width of every image.
    """

    name: str
    class_names: tuple[str, ...]
    sha256: dict[str, str]
    max_bytes: dict[str, int]
    system_dirs: tuple[Path, ...] = ()
    sizes: tuple[int, int] = (60_000, 10_000)
    image_shape: tuple[int, int] = (28, 28)

    def max_values(self, filename: str) -> int:
        """The most values file ``filename`` (one of :data:`FILES`, gzipped or raw) holds:
        its set's images times their pixels, or one label per image."""
        index = [f.removesuffix(".gz") for f in FILES].index(filename.removesuffix(".gz"))
        count = self.sizes[index // 2]  # FILES: train images and labels, then test's
        return count * math.prod(self.image_shape) if index % 2 == 0 else count


#: Known datasets by name.
DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        class_names=tuple(str(d) for d in range(10)),
        sha256=dict(zip(FILES, (
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ), strict=True)),
        max_bytes=dict(zip(FILES, (9_912_422, 28_881, 1_648_877, 4_542), strict=True)),
    ),
    # Digests of the files as published (their MD5s are 8d4fb7e6..., 25c81989...,
    # bef4ecab..., bb300cfd...). Debian's copies hold the same deflate streams
    # under a gzip header without the file name and with another timestamp, so
    # they decompress to the same bytes but hash differently; they are read
    # from their folder, never checked against these.
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                     "Shirt", "Sneaker", "Bag", "Ankle boot"),
        sha256=dict(zip(FILES, (
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ), strict=True)),
        # published as 26 MB, 29 KB, 4.3 MB and 5.1 KB
        max_bytes=dict(zip(FILES, (27_000_000, 30_000, 4_500_000, 5_500), strict=True)),
        system_dirs=(paths.DEBIAN_FASHION_MNIST,),
    ),
}

#: Base URLs to download each dataset's files from, tried in order.
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
}


@dataclass
class Dataset:
    """A loaded dataset: official train and test sets and the class names.

    Attributes
    ----------
    name : str
        Dataset name, e.g. ``"mnist"``.
    train_images : numpy.ndarray
        uint8, shape (60000, 28, 28), pixel values 0..255.
    train_labels : numpy.ndarray
        uint8, shape (60000,), values in ``0..len(class_names) - 1``.
    test_images : numpy.ndarray
        uint8, shape (10000, 28, 28).
    test_labels : numpy.ndarray
        uint8, shape (10000,).
    class_names : tuple of str
        Label ``k`` means ``class_names[k]``.
    source : pathlib.Path
        The folder the files were read from.
    files : tuple of pathlib.Path
        The four files, in the order of :data:`FILES`.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple[str, ...]
    source: Path
    files: tuple[Path, ...] = ()

    def checksums(self) -> dict[str, str]:
        """File name -> SHA-256 of each of the four files as read (a run folder records them)."""
        return {path.name: file_sha256(path) for path in self.files}

    @property
    def num_classes(self) -> int:
        """Number of classes (10)."""
        return len(self.class_names)


def get_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of ``name``; :class:`BarenetError` for an unknown name."""
    if name not in DATASETS:
        raise BarenetError(f"unknown dataset {name!r}; valid: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _files_in(folder: Path) -> list[Path] | None:
    """The four files in ``folder`` (``.gz`` preferred over raw), or None if any is missing."""
    found = []
    for filename in FILES:
        for candidate in (folder / filename, folder / filename[:-3]):
            if candidate.is_file():
                found.append(candidate)
                break
        else:
            return None
    return found


def candidate_dirs(name: str, data_dir: str | os.PathLike | None = None,
                   cache_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for ``name``'s files, in order (see the module docstring).

    Parameters
    ----------
    name : str
        Dataset name.
    data_dir : str or os.PathLike or None
        Folder given by the user; ``None`` uses ``$BARENET_DATA`` if set.
    cache_dir : str or os.PathLike or None
        Cache folder for this dataset; ``None`` uses ``paths.dataset_cache_dir(name)``.
    """
    spec = get_spec(name)
    dirs = []
    user = data_dir if data_dir is not None else os.environ.get(paths.DATA_ENV) or None
    if user is not None:
        user = Path(user).expanduser()
        dirs += [user, user / name]
    dirs.append(Path(cache_dir) if cache_dir is not None else paths.dataset_cache_dir(name))
    dirs += list(spec.system_dirs)
    return dirs


def find_dataset_files(name: str, data_dir: str | os.PathLike | None = None,
                       cache_dir: str | os.PathLike | None = None) -> list[Path] | None:
    """The four local files of ``name`` from the first folder that has them all, or None."""
    for folder in candidate_dirs(name, data_dir, cache_dir):
        files = _files_in(folder)
        if files is not None:
            return files
    return None


def _check(spec: DatasetSpec, images: np.ndarray, labels: np.ndarray,
           image_file: Path, label_file: Path) -> None:
    """Raise :class:`BarenetError` unless images (N, H, W) uint8 of the dataset's image
    shape and labels (N,) match."""
    if images.ndim != 3 or images.dtype != np.uint8 or images.shape[1:] != spec.image_shape:
        height, width = spec.image_shape
        raise BarenetError(f"{image_file}: expected uint8 images of shape (N, {height}, "
                           f"{width}), found {images.dtype} of shape {images.shape}; is it "
                           "the right file?")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise BarenetError(f"{label_file}: expected uint8 labels of shape (N,), found "
                           f"{labels.dtype} of shape {labels.shape}; is it the right file?")
    if len(images) != len(labels):
        raise BarenetError(f"{image_file} holds {len(images)} images but {label_file} holds "
                           f"{len(labels)} labels; the two files do not belong together")
    if len(labels) and labels.max() >= len(spec.class_names):
        raise BarenetError(f"{label_file}: label {labels.max()} found, expected 0.."
                           f"{len(spec.class_names) - 1} for {spec.name}; is it the right file?")


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, *,
                 cache_dir: str | os.PathLike | None = None, download: bool = True,
                 mirrors: Sequence[str] | None = None,
                 progress: bool | None = None) -> Dataset:
    """Load ``mnist`` or ``fashion-mnist``, downloading it into the cache if needed.

    Parameters
    ----------
    name : str
        ``"mnist"`` or ``"fashion-mnist"``.
    data_dir : str or os.PathLike or None
        Folder holding the four files (or a sub-folder named ``name``); if it
        holds neither, that is the error (nothing else is searched or
        downloaded). ``None`` uses ``$BARENET_DATA`` if set, searched first.
    cache_dir : str or os.PathLike or None
        Cache folder for this dataset; ``None`` uses ``paths.dataset_cache_dir(name)``.
        Downloads land here.
    download : bool
        Download missing files; ``False`` raises instead.
    mirrors : sequence of str or None
        Base URLs to try; ``None`` uses ``MIRRORS[name]``.
    progress : bool or None
        Progress bar on stderr while downloading; ``None``: only on a terminal.

    Returns
    -------
    Dataset
        Train images (60000, 28, 28) and labels (60000,), test images
        (10000, 28, 28) and labels (10000,), all uint8, plus class names.

    Raises
    ------
    BarenetError
        Unknown name; no local copy and the download failed or was not allowed
        (the message says where to put the four files); a corrupt file.
    """
    spec = get_spec(name)
    folder = Path(data_dir).expanduser() if data_dir is not None else None
    if folder is not None and _files_in(folder) is None and _files_in(folder / name) is None:
        # the folder the user named comes first: no silent download elsewhere
        state = "does not exist" if not folder.exists() else (
            "is not a folder" if not folder.is_dir() else f"holds no {name} files")
        raise BarenetError(f"{folder} {state} (expected {', '.join(FILES)}, gzipped or not, in "
                           f"it or in {folder / name}); pass the folder that holds them")
    files = find_dataset_files(name, data_dir, cache_dir)
    if files is None:
        cache = Path(cache_dir) if cache_dir is not None else paths.dataset_cache_dir(name)
        where = (f"put {', '.join(FILES)} in {cache} or in a folder named by "
                 f"${paths.DATA_ENV}, or pass --data-dir DIR")
        if not download:
            raise BarenetError(f"no local copy of {name} found and downloading is off; {where}")
        base_urls = MIRRORS.get(name, []) if mirrors is None else mirrors
        try:
            files = download_files(spec.sha256, base_urls, cache, progress=progress,
                                   max_bytes=spec.max_bytes)
        except BarenetError as exc:
            raise BarenetError(f"{exc}; no local copy of {name} either: {where}") from None
    arrays = [read_idx(path, spec.max_values(path.name)) for path in files]
    _check(spec, arrays[0], arrays[1], files[0], files[1])
    _check(spec, arrays[2], arrays[3], files[2], files[3])
    return Dataset(name, *arrays, class_names=spec.class_names, source=files[0].parent,
                   files=tuple(files))
