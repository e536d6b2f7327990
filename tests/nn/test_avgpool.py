"""AvgPool2d and GlobalAvgPool2d: the gradient check, PyTorch parity (count_include_pad,
adaptive average pooling), and their shapes and errors. Both are averages of windows,
with no fast path of their own to hold against a textbook one."""

import pytest

import barenet as bn
from barenet.nn.layers import AvgPool2d, GlobalAvgPool2d

from .checks import assert_gradcheck, check_shape_config_and_dtype
from .torch_parity import both_passes, needs_torch, torch

# --- the gradient check ------------------------------------------------------------------


@pytest.mark.parametrize("kernel, stride, padding", [
    (2, None, 0), (3, None, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), (5, 2, 2),
    ((2, 3), (1, 2), (1, 1)),
])
def test_avg_pool_gradcheck(rng, kernel, stride, padding):
    layer = AvgPool2d(kernel, stride=stride, padding=padding)
    assert_gradcheck(layer, rng.standard_normal((2, 3, 7, 9)), max_entries=None)


def test_global_avg_pool_gradcheck(rng):
    assert_gradcheck(GlobalAvgPool2d(), rng.standard_normal((3, 4, 7, 9)), max_entries=None)


# --- PyTorch parity ------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("kernel, stride, padding", [
    (2, None, 0), (3, None, 0), (3, 2, 1), (3, 1, 1), (5, 2, 2), ((2, 3), (1, 2), (1, 1)),
])
def test_avg_pool_matches_torch(rng, kernel, stride, padding):
    layer = AvgPool2d(kernel, stride=stride, padding=padding)
    ref = torch.nn.AvgPool2d(kernel, stride=stride, padding=padding)  # count_include_pad=True
    x = rng.standard_normal((3, 4, 7, 9))
    g = rng.standard_normal((3, *layer.output_shape((4, 7, 9))))
    both_passes(layer, ref, x, g)


@needs_torch
def test_global_avg_pool_matches_torch(rng):
    x, g = rng.standard_normal((3, 4, 7, 9)), rng.standard_normal((3, 4))
    both_passes(GlobalAvgPool2d(),
                lambda t: torch.nn.functional.adaptive_avg_pool2d(t, 1).flatten(1), x, g)


# --- shapes, config, dtype, errors -----------------------------------------------------------


@pytest.mark.parametrize("layer, shape", [
    (AvgPool2d((2, 3), padding=(1, 1)), (3, 7, 9)), (GlobalAvgPool2d(), (3, 7, 9)),
], ids=repr)
def test_output_shape_config_and_dtype(rng, layer, shape):
    check_shape_config_and_dtype(rng, layer, shape)


def test_errors_are_one_line_barenet_errors():
    with pytest.raises(bn.BarenetError, match="stride must be"):
        AvgPool2d(2, stride=0)
