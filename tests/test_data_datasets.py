"""Where dataset files are found, what a missing copy says, and loading the real MNIST."""

import dataclasses
import gzip
from pathlib import Path

import numpy as np
import pytest
from conftest import REAL_MNIST

from barenet.data import datasets
from barenet.data.datasets import DATASETS, FILES, candidate_dirs, load_dataset
from barenet.data.idx import write_idx
from barenet.errors import BarenetError


def _write_set(folder: Path, marker: int, n_train: int = 6, n_test: int = 3,
               gz: bool = True) -> None:
    """Four tiny files whose first training label is ``marker``, to tell folders apart."""
    labels = np.arange(n_train, dtype=np.uint8) % 10
    labels[0] = marker
    arrays = [np.full((n_train, 28, 28), marker, np.uint8), labels,
              np.zeros((n_test, 28, 28), np.uint8), np.arange(n_test, dtype=np.uint8)]
    for name, array in zip(FILES, arrays, strict=True):
        write_idx(folder / (name if gz else name[:-3]), array)


@pytest.fixture
def env(offline_data):
    """Datasets only where the test writes them (conftest's ``offline_data``)."""
    return offline_data


def _marker(**kwargs) -> int:
    return int(load_dataset("mnist", download=False, **kwargs).train_labels[0])


def test_resolution_order(env, monkeypatch):
    _write_set(env / "cache" / "mnist", 1)
    assert _marker() == 1
    _write_set(env / "envdata", 2)
    monkeypatch.setenv("BARENET_DATA", str(env / "envdata"))
    assert _marker() == 2  # $BARENET_DATA before the cache
    _write_set(env / "arg", 3)
    assert _marker(data_dir=env / "arg") == 3  # the argument before $BARENET_DATA
    # A folder the user names that lacks a file is the error: nothing else is searched
    (env / "arg" / FILES[3]).unlink()
    with pytest.raises(BarenetError, match=f"{env / 'arg'} holds no mnist files "
                                           rf"\(expected {FILES[0]}"):
        _marker(data_dir=env / "arg")


@pytest.mark.parametrize("make, words", [(lambda p: None, "does not exist"),
                                         (lambda p: p.mkdir(), "holds no mnist files"),
                                         (lambda p: p.write_text("x"), "is not a folder")])
def test_a_wrong_data_dir_is_named_first(env, make, words):
    folder = env / "wrong"
    make(folder)
    with pytest.raises(BarenetError) as err:
        load_dataset("mnist", folder)
    message = str(err.value)
    assert message.startswith(f"{folder} {words}") and FILES[0] in message
    assert "download" not in message and "\n" not in message


def test_dataset_subfolder_and_raw_files(env, monkeypatch):
    _write_set(env / "all" / "mnist", 4, gz=False)
    monkeypatch.setenv("BARENET_DATA", str(env / "all"))
    data = load_dataset("mnist", download=False)
    assert data.train_labels[0] == 4 and data.source == env / "all" / "mnist"
    assert data.train_images.shape == (6, 28, 28) and data.num_classes == 10


def test_cache_dir_argument(env):
    _write_set(env / "elsewhere", 5)
    assert _marker(cache_dir=env / "elsewhere") == 5


def test_system_folder_after_cache(env, monkeypatch):
    spec = DATASETS["fashion-mnist"]
    monkeypatch.setitem(DATASETS, "fashion-mnist",
                        dataclasses.replace(spec, system_dirs=(env / "usr-share",)))
    _write_set(env / "usr-share", 6)
    data = load_dataset("fashion-mnist", download=False)
    assert data.train_labels[0] == 6 and data.class_names[0] == "T-shirt/top"
    _write_set(env / "cache" / "fashion-mnist", 7)
    assert load_dataset("fashion-mnist", download=False).train_labels[0] == 7
    assert candidate_dirs("fashion-mnist")[-1] == env / "usr-share"


def test_debian_folder_is_a_source():
    assert datasets.paths.DEBIAN_FASHION_MNIST in DATASETS["fashion-mnist"].system_dirs


def test_offline_error_says_where_to_put_the_files(env):
    cache = env / "cache" / "mnist"
    with pytest.raises(BarenetError) as info:
        load_dataset("mnist", download=False)
    message = str(info.value)
    assert "no local copy of mnist" in message and "\n" not in message
    assert f"put {', '.join(FILES)} in {cache}" in message and "$BARENET_DATA" in message
    with pytest.raises(BarenetError, match=f"no local copy of mnist either: put .* in {cache}"):
        load_dataset("mnist", progress=False)  # no mirrors reachable (none configured)
    assert not cache.exists()


def test_unknown_dataset(env):
    with pytest.raises(BarenetError, match="unknown dataset 'cifar'; valid: fashion-mnist, mnist"):
        load_dataset("cifar")


def test_inconsistent_files(env):
    folder = env / "bad"
    _write_set(folder, 1)
    write_idx(folder / FILES[1], np.zeros(5, np.uint8))
    with pytest.raises(BarenetError, match="holds 6 images but .* holds 5 labels"):
        load_dataset("mnist", folder)
    write_idx(folder / FILES[1], np.full(6, 10, np.uint8))
    with pytest.raises(BarenetError, match="label 10 found, expected 0..9"):
        load_dataset("mnist", folder)
    write_idx(folder / FILES[1], np.zeros((6, 2), np.uint8))
    with pytest.raises(BarenetError, match=r"expected uint8 labels of shape \(N,\)"):
        load_dataset("mnist", folder)
    (folder / FILES[1]).write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x06"))
    with pytest.raises(BarenetError, match="truncated"):
        load_dataset("mnist", folder)


@pytest.mark.skipif(not REAL_MNIST.is_dir(), reason="shared/data/mnist not beside the repo")
def test_real_mnist(env):
    data = load_dataset("mnist", REAL_MNIST, download=False)
    assert data.train_images.shape == (60000, 28, 28) and data.train_images.dtype == np.uint8
    assert data.test_images.shape == (10000, 28, 28) and data.test_images.dtype == np.uint8
    assert data.train_labels.shape == (60000,) and data.test_labels.shape == (10000,)
    for labels in (data.train_labels, data.test_labels):
        assert labels.dtype == np.uint8 and labels.min() == 0 and labels.max() == 9
    assert data.train_images.max() == 255 and data.class_names == tuple("0123456789")


def test_files_larger_than_the_published_sets_are_refused_before_reading(env):
    folder = env / "big"
    _write_set(folder, 1)
    # one test image more than MNIST's 10,000 (a header could declare 3,000,000 as well)
    write_idx(folder / FILES[2], np.zeros((10_001, 28, 28), np.uint8))
    write_idx(folder / FILES[3], np.zeros(10_001, np.uint8))
    with pytest.raises(BarenetError, match=rf"{FILES[2]}: IDX header declares shape \(10001, "
                                           r"28, 28\), 7,840,784 values, more than the "
                                           "7,840,000 expected") as info:
        load_dataset("mnist", folder)
    assert "\n" not in str(info.value)
    write_idx(folder / FILES[2], np.zeros((3, 28, 27), np.uint8))
    write_idx(folder / FILES[3], np.zeros(3, np.uint8))
    with pytest.raises(BarenetError, match=r"expected uint8 images of shape \(N, 28, 28\), "
                                           r"found uint8 of shape \(3, 28, 27\)"):
        load_dataset("mnist", folder)
