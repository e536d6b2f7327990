"""Conv2d: the gradient check (float64, relative error < 1e-6), PyTorch parity (1e-10 in
float64, on odd image sizes and with strides > 1), the fast path against the index form
written before the class, and its shapes, config, dtype, initialisation and errors."""

import numpy as np
import pytest

import barenet as bn
from barenet.nn.layers import Conv2d
from barenet.nn.layers.conv import conv2d, conv2d_backward

from .checks import TIGHT, assert_gradcheck, channels_last, check_shape_config_and_dtype
from .torch_parity import both_passes, close, needs_torch, torch, torch_conv

# --- the gradient check ------------------------------------------------------------------


@pytest.mark.parametrize("kernel, stride, padding, size", [
    (3, 1, 0, (7, 9)), (3, 1, 1, (7, 9)), (3, 2, 0, (7, 9)), (3, 2, 1, (7, 9)),
    (5, 1, 2, (7, 9)), (5, 2, 1, (9, 7)), ((3, 5), (2, 1), (1, 2), (7, 9)), (1, 1, 0, (4, 5)),
])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_gradcheck(rng, kernel, stride, padding, size, bias):
    layer = Conv2d(3, 4, kernel, stride=stride, padding=padding, bias=bias, rng=rng,
                   dtype=np.float64)
    if bias:
        layer.params["bias"].data[...] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, *size))
    result = assert_gradcheck(layer, x, max_entries=None)
    assert set(result.errors) == {"input", "weight"} | ({"bias"} if bias else set())


# --- PyTorch parity ------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("kernel, stride, padding, size", [
    (3, 1, 1, (7, 9)), (3, 2, 0, (7, 9)), (3, 2, 1, (9, 7)), (5, 1, 2, (7, 9)), (5, 3, 1, (11, 8)),
    ((3, 5), (2, 1), (1, 2), (7, 9)), (1, 2, 0, (5, 6)),
])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(rng, kernel, stride, padding, size, bias):
    layer = Conv2d(3, 5, kernel, stride=stride, padding=padding, bias=bias, rng=rng,
                   dtype=np.float64)
    if bias:
        layer.params["bias"].data[...] = rng.standard_normal(5)
    ref = torch_conv(layer)
    x = rng.standard_normal((4, 3, *size))
    g = rng.standard_normal((4, *layer.output_shape((3, *size))))
    both_passes(layer, ref, x, g)
    close(layer.params["weight"].grad, ref.weight.grad, "weight gradient")
    if bias:
        close(layer.params["bias"].grad, ref.bias.grad, "bias gradient")


@needs_torch
def test_float32_forward_close_to_torch(rng):
    layer = Conv2d(3, 8, 3, padding=1, rng=rng)
    x = rng.standard_normal((4, 3, 9, 7)).astype(np.float32)
    with torch.no_grad():
        y_ref = torch_conv(layer).float()(torch.tensor(x))
    np.testing.assert_allclose(layer.forward(x), y_ref.numpy(), rtol=1e-4, atol=1e-5)


# --- the fast path against the textbook one -------------------------------------------------

# Input channels x taps of 9 and 18 take Conv2d's per-image weight gradient (<= 32
# rows), 3 x 25 = 75 and 16 x 9 = 144 the one long product.
CONVS = [
    ((3, 1, 9, 9), 4, 3, 1, 1),
    ((2, 2, 7, 9), 3, 3, 2, 1),
    ((2, 3, 8, 7), 4, 5, 1, 2),
    ((2, 16, 5, 5), 6, 3, 1, 0),
]


@pytest.mark.parametrize("shape, out_channels, kernel, stride, padding", CONVS)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_matches_the_index_form(rng, shape, out_channels, kernel, stride, padding, bias):
    layer = Conv2d(shape[1], out_channels, kernel, stride=stride, padding=padding, bias=bias,
                   rng=rng, dtype=np.float64)
    if bias:
        layer.bias.data[...] = rng.standard_normal(out_channels)
    x = rng.standard_normal(shape)
    y = layer.forward(x)
    delta = rng.standard_normal(y.shape)
    dx = layer.backward(delta)
    y_plain = conv2d(x, layer.weight.data, layer.bias.data if bias else None, layer.stride,
                     layer.padding)
    dx_plain, dw_plain, db_plain = conv2d_backward(delta, x, layer.weight.data, layer.stride,
                                                   layer.padding)
    np.testing.assert_allclose(y, y_plain, **TIGHT)
    np.testing.assert_allclose(dx, dx_plain, **TIGHT)
    np.testing.assert_allclose(layer.weight.grad, dw_plain, **TIGHT)
    if bias:
        np.testing.assert_allclose(layer.bias.grad, db_plain, **TIGHT)


@pytest.mark.parametrize("shape, out_channels, kernel, stride, padding",
                         CONVS + [((2, 4, 6, 6), 3, (2, 3), (2, 1), (0, 1)),
                                  ((0, 4, 6, 6), 3, 3, 1, 1)])  # an empty batch
@pytest.mark.parametrize("layout", ["channel-major", "channels-last"])
def test_conv_infer_equals_its_forward(rng, shape, out_channels, kernel, stride, padding,
                                       layout):
    layer = Conv2d(shape[1], out_channels, kernel, stride=stride, padding=padding,
                   rng=rng, dtype=np.float64).eval()
    layer.bias.data[...] = rng.standard_normal(out_channels)
    x = rng.standard_normal(shape)
    if layout == "channels-last":
        x = channels_last(x)
    y = layer.infer(x)
    np.testing.assert_allclose(y, layer.forward(x), **TIGHT)
    assert y.shape[0] == 0 or y.shape[1] == 1 or y.strides[1] == y.itemsize  # channels last
    y_plain = conv2d(x, layer.weight.data, layer.bias.data, layer.stride, layer.padding)
    np.testing.assert_allclose(y, y_plain, **TIGHT)


# --- shapes, config, dtype, initialisation, errors -----------------------------------------


@pytest.mark.parametrize("layer, shape", [
    (Conv2d(3, 5, 3), (3, 7, 9)), (Conv2d(3, 5, 5, stride=2, padding=2), (3, 7, 9)),
    (Conv2d(3, 5, (3, 1), stride=(1, 2)), (3, 7, 9)),
], ids=repr)
def test_output_shape_config_and_dtype(rng, layer, shape):
    check_shape_config_and_dtype(rng, layer, shape)


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
    with pytest.raises(bn.BarenetError, match="smaller than the 5x5 window"):
        Conv2d(1, 1, 5).forward(rng.standard_normal((1, 1, 4, 9)))
    with pytest.raises(bn.BarenetError, match="unknown initialiser"):
        Conv2d(1, 1, 3, init="nope")


@pytest.mark.parametrize("in_channels", [1, 8])  # per-image and single-product weight gradients
def test_conv_on_an_empty_batch(in_channels):
    layer = Conv2d(in_channels, 4, 3, padding=1, rng=0)
    y = layer.forward(np.zeros((0, in_channels, 5, 5), np.float32))
    assert y.shape == (0, 4, 5, 5)
    assert layer.backward(np.zeros(y.shape, np.float32)).shape == (0, in_channels, 5, 5)
    assert not layer.params["weight"].grad.any()
