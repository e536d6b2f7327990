"""Scaling, standardisation, the validation split, mini-batches and prepare()."""

import numpy as np
import pytest

from barenet.data.batches import Batches
from barenet.data.datasets import Dataset
from barenet.data.pipeline import prepare
from barenet.data.split import validation_split
from barenet.errors import BarenetError
from barenet.model.classifier import Sequential
from barenet.model.scaling import Standardization, float_dtype, network_input, to_float
from barenet.nn.layers import Linear


def test_to_float_range_and_dtype():
    pixels = np.array([[0, 51, 255]], np.uint8)
    x = to_float(pixels)
    assert x.dtype == np.float32 and x.shape == (1, 3)
    np.testing.assert_allclose(x, [[0.0, 0.2, 1.0]], rtol=1e-7)
    assert to_float(pixels, "float64").dtype == np.float64
    with pytest.raises(BarenetError, match="unsupported dtype 'float16'"):
        to_float(pixels, "float16")
    with pytest.raises(BarenetError, match="expected uint8 pixels"):
        to_float(x)
    with pytest.raises(BarenetError, match="unsupported dtype None"):
        float_dtype(None)


def test_standardization(rng):
    x = rng.random((50, 4, 4)).astype(np.float32)
    s = Standardization.fit(x)
    y = s.apply(x)
    assert y.dtype == np.float32 and y is not x
    assert abs(float(y.mean())) < 1e-5 and abs(float(y.std()) - 1) < 1e-5
    np.testing.assert_allclose(y * s.std + s.mean, x, atol=1e-6)
    assert s.apply(x, inplace=True) is x
    assert s.to_dict() == {"mean": s.mean, "std": s.std}
    assert Standardization.fit(np.ones(3)).std == 1.0  # constant data: no division by zero
    with pytest.raises(BarenetError, match="empty training set"):
        Standardization.fit(np.zeros((0, 4)))


def test_fit_pixels_equals_the_float64_fit(rng):
    """The histogram fit (the fast path) against two passes over the scaled pixels."""
    for pixels in (rng.integers(0, 256, (40, 7, 7), dtype=np.uint8),
                   np.where(rng.random((30, 28, 28)) < 0.8, 0, 255).astype(np.uint8)):
        fast, plain = Standardization.fit_pixels(pixels), Standardization.fit(pixels / 255)
        assert fast.mean == pytest.approx(plain.mean, rel=1e-12)
        assert fast.std == pytest.approx(plain.std, rel=1e-12)
    for value in range(256):  # one value only: std 1, whatever the rounding of the mean
        constant = Standardization.fit_pixels(np.full(7, value, np.uint8))
        assert constant.std == 1.0 and constant.mean == pytest.approx(value / 255)
    with pytest.raises(BarenetError, match="empty training set"):
        Standardization.fit_pixels(np.zeros((0, 4), np.uint8))
    with pytest.raises(BarenetError, match="expected uint8 pixels, got float32"):
        Standardization.fit_pixels(np.zeros(4, np.float32))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pixel_table_gives_the_bits_of_scaling_then_standardising(rng, dtype):
    """network_input's one-pass lookup (uint8 + standardisation) against its two steps."""
    pixels = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    s = Standardization(0.1306604762738429, 0.30810780385646264)
    plain = s.apply(to_float(pixels, dtype))
    fast = network_input(pixels, dtype, s, (1, 28, 28))
    assert fast.dtype == np.dtype(dtype) and fast.shape == (20, 1, 28, 28)
    np.testing.assert_array_equal(fast.reshape(plain.shape), plain)


def test_validation_split_takes_the_last_examples():
    x, y = np.arange(6000 * 2).reshape(6000, 2), np.arange(6000)
    x_tr, y_tr, x_val, y_val = validation_split(x, y)
    assert len(x_tr) == 1000 and len(x_val) == 5000
    np.testing.assert_array_equal(y_val, np.arange(1000, 6000))
    assert np.shares_memory(x_val, x)  # views, not copies
    _, _, x_val, y_val = validation_split(x, y, 0)
    assert x_val.shape == (0, 2) and y_val.shape == (0,)
    for bad in (6000, -1, 2.5, True):
        with pytest.raises(BarenetError, match="validation size must be an integer from 0"):
            validation_split(x, y, bad)
    with pytest.raises(BarenetError, match="6000 inputs but 5 labels"):
        validation_split(x, y[:5])


def _epoch(batches):
    return [(xb.copy(), yb.copy()) for xb, yb in batches]


def test_batches_cover_every_example_once_and_keep_the_partial_batch(rng):
    x = np.arange(10 * 3, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    batches = Batches(x, y, 4, rng)
    assert len(batches) == 3
    epoch = _epoch(batches)
    assert [len(yb) for _, yb in epoch] == [4, 4, 2]
    seen = np.concatenate([yb for _, yb in epoch])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))
    for xb, yb in epoch:
        np.testing.assert_array_equal(xb, x[yb])  # inputs stay paired with labels


def test_batches_deterministic_per_seed_and_reshuffled_per_epoch():
    x, y = np.zeros((50, 2)), np.arange(50)

    def orders(seed):
        batches = Batches(x, y, 8, np.random.default_rng(seed))
        return [np.concatenate([yb for _, yb in _epoch(batches)]) for _ in range(2)]

    first, second = orders(7), orders(7)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], orders(8)[0])


def test_batches_reuse_buffers_and_unshuffled_views(rng):
    x, y = np.arange(12.0).reshape(6, 2), np.eye(6)  # 2-D targets work too
    it = iter(Batches(x, y, 4, rng))
    first, _ = next(it)
    second, y2 = next(it)
    assert np.shares_memory(first, second) and y2.shape == (2, 6)
    plain = list(Batches(x, y, 4, shuffle=False))
    assert np.shares_memory(plain[0][0], x)
    np.testing.assert_array_equal(plain[1][0], x[4:])


def test_batches_validation(rng):
    x, y = np.zeros((4, 2)), np.zeros(4)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(BarenetError, match="batch size must be a positive integer"):
            Batches(x, y, bad, rng)
    with pytest.raises(BarenetError, match="4 inputs but 3 labels"):
        Batches(x, y[:3], 2, rng)
    with pytest.raises(ValueError, match="Generator"):
        Batches(x, y, 2)
    assert len(Batches(x, y, 10, rng)) == 1 and len(_epoch(Batches(x, y, 10, rng))[0][0]) == 4


@pytest.fixture
def dataset(rng):
    return Dataset("mnist", rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
                   rng.integers(0, 10, 20, dtype=np.uint8),
                   rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
                   rng.integers(0, 10, 7, dtype=np.uint8), tuple("0123456789"), None)


def test_prepare_scales_and_splits(dataset):
    data = prepare(dataset, val_size=5)
    assert data.x_train.shape == (15, 28, 28) and data.x_val.shape == (5, 28, 28)
    assert data.x_test.shape == (7, 28, 28) and data.x_train.dtype == np.float32
    assert 0 <= data.x_train.min() and data.x_train.max() <= 1
    np.testing.assert_array_equal(data.y_val, dataset.train_labels[15:])
    assert data.standardization is None and data.background == 0.0
    assert_inference_matches_training(data, dataset, {"mean": 0.0, "std": 1.0})


def test_prepare_standardizes_on_the_training_part(dataset):
    data = prepare(dataset, val_size=5, dtype="float64", standardize=True)
    s = data.standardization
    scaled = dataset.train_images[:15] / 255
    assert s.mean == pytest.approx(scaled.mean()) and s.std == pytest.approx(scaled.std())
    assert data.x_train.dtype == np.float64 and abs(data.x_train.mean()) < 1e-12
    np.testing.assert_allclose(data.x_val, (dataset.train_images[15:] / 255 - s.mean) / s.std)
    assert data.background == pytest.approx(-s.mean / s.std)
    assert_inference_matches_training(data, dataset, s.to_dict())


def assert_inference_matches_training(data, dataset, normalization):
    """A model's own preprocessing of raw images (predict, the app) equals what it trained on."""
    model = Sequential([Linear(784, 10)], metadata={"normalization": normalization})
    model.astype(data.x_test.dtype)
    np.testing.assert_allclose(model.prepare_input(dataset.test_images),
                               data.x_test.reshape(len(data.x_test), 784), rtol=1e-6, atol=1e-6)
