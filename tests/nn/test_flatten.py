"""Flatten: the gradient check, PyTorch parity, and a Conv2d -> Flatten -> Linear model."""

import numpy as np

import barenet as bn
from barenet.nn.layers import Conv2d, Flatten, Linear

from .checks import assert_gradcheck
from .torch_parity import barenet_pass, close, needs_torch, torch, torch_pass


def test_flatten_gradcheck(rng):
    assert_gradcheck(Flatten(), rng.standard_normal((3, 2, 4, 5)), max_entries=None)


@needs_torch
def test_flatten_matches_torch(rng):
    x = rng.standard_normal((4, 2, 3, 5))
    g = rng.standard_normal((4, 30))
    y, dx = barenet_pass(Flatten(), x, g)
    y_ref, dx_ref = torch_pass(torch.nn.Flatten(), x, g)
    close(y, y_ref)
    close(dx, dx_ref)


def test_flatten_after_conv_and_eval_forward(rng):
    model = bn.Sequential([Conv2d(1, 2, 3, rng=rng), Flatten(), Linear(2 * 25, 3, rng=rng)],
                          input_shape=(1, 7, 7))
    x = rng.standard_normal((5, 1, 7, 7)).astype(np.float32)
    out = model.forward(x)
    assert out.shape == (5, 3)
    assert model.backward(np.ones_like(out)).shape == x.shape
    assert model.predict(x).shape == (5,)
