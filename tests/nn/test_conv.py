"""Finite-difference gradient checks (float64, relative error < 1e-6) of the convolution and
pooling layers and of BatchNorm2d, plus shapes, configs, dtypes and input errors."""

import json

import numpy as np
import pytest

import barenet as bn
from barenet.nn.gradcheck import away_from_kinks, gradcheck, layer_examples
from barenet.nn.layers import (
    LAYERS,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    ReLU,
)

TOL = 1e-6


def assert_gradcheck(layer, x, **options):
    result = gradcheck(layer, x, **options)
    assert result.passed(TOL), f"relative errors {result.errors}"
    return result


@pytest.mark.parametrize("kernel, stride, padding, size", [
    (3, 1, 0, (7, 9)), (3, 1, 1, (7, 9)), (3, 2, 0, (7, 9)), (3, 2, 1, (7, 9)),
    (5, 1, 2, (7, 9)), (5, 2, 1, (9, 7)), ((3, 5), (2, 1), (1, 2), (7, 9)), (1, 1, 0, (4, 5)),
])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(rng, kernel, stride, padding, size, bias):
    layer = Conv2d(3, 4, kernel, stride=stride, padding=padding, bias=bias, rng=rng,
                   dtype=np.float64)
    if bias:
        layer.params["bias"].data[...] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, *size))
    result = assert_gradcheck(layer, x, max_entries=None)
    assert set(result.errors) == {"input", "weight"} | ({"bias"} if bias else set())


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
@pytest.mark.parametrize("kernel, stride, padding", [
    (2, None, 0), (3, None, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), (5, 2, 2),
    ((2, 3), (1, 2), (1, 1)),
])
def test_pooling(rng, cls, kernel, stride, padding):
    layer = cls(kernel, stride=stride, padding=padding)
    assert_gradcheck(layer, rng.standard_normal((2, 3, 7, 9)), max_entries=None)


def test_global_avg_pool(rng):
    assert_gradcheck(GlobalAvgPool2d(), rng.standard_normal((3, 4, 7, 9)), max_entries=None)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm2d(rng, mode):
    layer = BatchNorm2d(3, dtype=np.float64)
    layer.params["gamma"].data[...] = rng.uniform(0.5, 2.0, 3)
    layer.params["beta"].data[...] = rng.standard_normal(3)
    layer.buffers["running_mean"][...] = rng.standard_normal(3)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2.0, 3)
    layer.train(mode == "train")
    x = 2 * rng.standard_normal((4, 3, 7, 9)) + 1
    result = assert_gradcheck(layer, x, max_entries=None)
    assert set(result.errors) == {"input", "gamma", "beta"}


def small_cnn(rng, dtype=np.float64) -> bn.Sequential:
    return bn.Sequential([
        Conv2d(1, 4, 3, padding=1, rng=rng), BatchNorm2d(4), ReLU(), MaxPool2d(2),
        Conv2d(4, 6, 3, stride=2, padding=1, rng=rng), BatchNorm2d(6), ReLU(),
        Dropout(0.25, rng=rng.integers(2**32)), AvgPool2d(2, stride=1), GlobalAvgPool2d(),
        Linear(6, 3, rng=rng),
    ], input_shape=(1, 12, 11)).astype(dtype)


def test_whole_cnn(rng):
    model = small_cnn(rng)
    assert_gradcheck(model, away_from_kinks(rng.standard_normal((4, 1, 12, 11))), max_entries=60)


def test_barenet_gradcheck_examples_cover_the_new_layers(rng):
    for name in ("Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d"):
        (case,) = layer_examples(name, LAYERS[name], rng)
        assert case.check().passed(TOL), (name, case.check().errors)


@pytest.mark.parametrize("layer, shape", [
    (Conv2d(3, 5, 3), (3, 7, 9)), (Conv2d(3, 5, 5, stride=2, padding=2), (3, 7, 9)),
    (Conv2d(3, 5, (3, 1), stride=(1, 2)), (3, 7, 9)), (MaxPool2d(2), (3, 7, 9)),
    (MaxPool2d(3, stride=2, padding=1), (3, 7, 9)), (AvgPool2d((2, 3), padding=(1, 1)), (3, 7, 9)),
    (GlobalAvgPool2d(), (3, 7, 9)),
], ids=repr)
def test_output_shape_config_and_dtype(rng, layer, shape):
    x = rng.standard_normal((2, *shape)).astype(np.float32)
    y = layer.forward(x)
    assert y.shape == (2, *layer.output_shape(shape))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    config = json.loads(json.dumps(layer.config()))  # JSON-able and complete
    assert LAYERS[type(layer).__name__](**config).config() == layer.config()


def test_conv_weight_shape_and_init(rng):
    layer = Conv2d(16, 32, 3, rng=rng)
    w = layer.params["weight"].data
    assert w.shape == (32, 16, 3, 3) and w.dtype == np.float32
    assert abs(w.std() - np.sqrt(2 / (16 * 9))) < 0.01  # He: fan-in C*KH*KW
    assert not np.any(layer.params["bias"].data)
    assert "bias" not in Conv2d(1, 2, 3, bias=False).params


def test_errors_are_one_line_barenet_errors(rng):
    with pytest.raises(bn.BarenetError, match=r"C=3, got shape \(2, 4, 8, 8\)"):
        Conv2d(3, 2, 3).forward(rng.standard_normal((2, 4, 8, 8)))
    with pytest.raises(bn.BarenetError, match=r"\(N, C, H, W\)"):
        MaxPool2d(2).forward(rng.standard_normal((2, 64)))
    with pytest.raises(bn.BarenetError, match="smaller than the 5x5 window"):
        Conv2d(1, 1, 5).forward(rng.standard_normal((1, 1, 4, 9)))
    with pytest.raises(bn.BarenetError, match="at most half"):
        MaxPool2d(2, padding=2)
    with pytest.raises(bn.BarenetError, match="stride must be"):
        AvgPool2d(2, stride=0)
    with pytest.raises(bn.BarenetError, match="unknown initialiser"):
        Conv2d(1, 1, 3, init="nope")


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    x = np.array([[[[1.0, 1.0], [1.0, 0.0]]]])
    layer = MaxPool2d(2)
    assert layer.forward(x)[0, 0, 0, 0] == 1.0
    np.testing.assert_array_equal(layer.backward(np.array([[[[5.0]]]]))[0, 0],
                                  [[5.0, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("in_channels", [1, 8])  # per-image and single-product weight gradients
def test_conv_on_an_empty_batch(in_channels):
    layer = Conv2d(in_channels, 4, 3, padding=1, rng=0)
    y = layer.forward(np.zeros((0, in_channels, 5, 5), np.float32))
    assert y.shape == (0, 4, 5, 5)
    assert layer.backward(np.zeros(y.shape, np.float32)).shape == (0, in_channels, 5, 5)
    assert not layer.params["weight"].grad.any()


def test_flatten_after_conv_and_eval_forward(rng):
    model = bn.Sequential([Conv2d(1, 2, 3, rng=rng), Flatten(), Linear(2 * 25, 3, rng=rng)],
                          input_shape=(1, 7, 7))
    x = rng.standard_normal((5, 1, 7, 7)).astype(np.float32)
    out = model.forward(x)
    assert out.shape == (5, 3)
    assert model.backward(np.ones_like(out)).shape == x.shape
    assert model.predict(x).shape == (5,)
