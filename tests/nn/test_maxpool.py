"""MaxPool2d: the gradient check, PyTorch parity (ties included), the fast paths against
the window-by-window reference written before the class, and its shapes and errors."""

import numpy as np
import pytest

import barenet as bn
from barenet.nn.layers import MaxPool2d
from barenet.nn.layers.maxpool import max_pool2d, max_pool2d_backward

from .checks import TIGHT, assert_gradcheck, channels_last, check_shape_config_and_dtype
from .torch_parity import both_passes, needs_torch, torch

# --- the gradient check ------------------------------------------------------------------


@pytest.mark.parametrize("kernel, stride, padding", [
    (2, None, 0), (3, None, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), (5, 2, 2),
    ((2, 3), (1, 2), (1, 1)),
])
def test_max_pool_gradcheck(rng, kernel, stride, padding):
    layer = MaxPool2d(kernel, stride=stride, padding=padding)
    assert_gradcheck(layer, rng.standard_normal((2, 3, 7, 9)), max_entries=None)


# --- PyTorch parity ------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("kernel, stride, padding", [
    (2, None, 0), (3, None, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), ((2, 3), (1, 2), (1, 1)),
])
def test_max_pool_matches_torch(rng, kernel, stride, padding):
    layer = MaxPool2d(kernel, stride=stride, padding=padding)
    ref = torch.nn.MaxPool2d(kernel, stride=stride, padding=padding)
    x = rng.standard_normal((3, 4, 7, 9))
    g = rng.standard_normal((3, *layer.output_shape((4, 7, 9))))
    both_passes(layer, ref, x, g)


@needs_torch
@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 0)])
def test_max_pool_ties_like_torch(rng, kernel, stride, padding):
    layer = MaxPool2d(kernel, stride=stride, padding=padding)
    ref = torch.nn.MaxPool2d(kernel, stride=stride, padding=padding)
    x = rng.integers(0, 2, (3, 4, 7, 9)).astype(np.float64)  # many tied maxima
    g = rng.standard_normal((3, *layer.output_shape((4, 7, 9))))
    both_passes(layer, ref, x, g)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    x = np.array([[[[1.0, 1.0], [1.0, 0.0]]]])
    layer = MaxPool2d(2)
    assert layer.forward(x)[0, 0, 0, 0] == 1.0
    np.testing.assert_array_equal(layer.backward(np.array([[[[5.0]]]]))[0, 0],
                                  [[5.0, 0.0], [0.0, 0.0]])


# --- the fast paths against the textbook one ------------------------------------------------

# (N, C, H, W), kernel, stride, padding: side-by-side windows take MaxPool2d's direct
# backward, the others (overlap, padding, uncovered edge rows) the scatter-add.
POOLS = [
    ((2, 3, 8, 8), 2, None, 0),
    ((2, 2, 7, 9), 2, None, 0),  # the last row and column belong to no window
    ((2, 2, 7, 9), 3, 2, 1),
    ((1, 3, 6, 5), (2, 3), (1, 2), (1, 0)),
    ((2, 1, 5, 5), 3, 1, 0),
]


@pytest.mark.parametrize("shape, kernel, stride, padding", POOLS)
@pytest.mark.parametrize("training", [True, False])  # eval: no winners kept until backward
def test_max_pool_matches_the_window_by_window_reference(rng, shape, kernel, stride, padding,
                                                         training):
    x = rng.standard_normal(shape)
    x[0, 0, :2, :2] = 1.5  # a tie: the first tap in row-major order wins
    layer = MaxPool2d(kernel, stride=stride, padding=padding).train(training)
    y = layer.forward(x)
    delta = rng.standard_normal(y.shape)
    y_plain = max_pool2d(x, layer.kernel, layer.stride, layer.padding)
    dx_plain = max_pool2d_backward(delta, x, layer.kernel, layer.stride, layer.padding)
    np.testing.assert_array_equal(y, y_plain)
    np.testing.assert_allclose(layer.backward(delta), dx_plain, **TIGHT)


@pytest.mark.parametrize("shape, kernel, stride, padding", POOLS)
@pytest.mark.parametrize("layout", ["channel-major", "channels-last"])
def test_max_pool_infer_equals_its_forward(rng, shape, kernel, stride, padding, layout):
    x = rng.standard_normal(shape)
    x[0, 0, :2, :2] = 1.5  # a tie
    x[-1, -1, 0, 0] = np.nan  # propagates as in forward
    if layout == "channels-last":
        x = channels_last(x)
    layer = MaxPool2d(kernel, stride=stride, padding=padding).eval()
    y = layer.infer(x)
    np.testing.assert_array_equal(y, layer.forward(x))
    np.testing.assert_array_equal(y, max_pool2d(x, layer.kernel, layer.stride, layer.padding))
    if layout == "channels-last" and layer.kernel == layer.stride == (2, 2) and shape[1] > 1:
        assert y.strides[1] == y.itemsize  # stays channels last for the next layer


# --- shapes, config, dtype, errors -----------------------------------------------------------


@pytest.mark.parametrize("layer, shape", [
    (MaxPool2d(2), (3, 7, 9)), (MaxPool2d(3, stride=2, padding=1), (3, 7, 9)),
], ids=repr)
def test_output_shape_config_and_dtype(rng, layer, shape):
    check_shape_config_and_dtype(rng, layer, shape)


def test_errors_are_one_line_barenet_errors(rng):
    with pytest.raises(bn.BarenetError, match=r"\(N, C, H, W\)"):
        MaxPool2d(2).forward(rng.standard_normal((2, 64)))
    with pytest.raises(bn.BarenetError, match="at most half"):
        MaxPool2d(2, padding=2)
