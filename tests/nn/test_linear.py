"""Linear: the gradient check (every initialiser, with and without bias), PyTorch parity,
and its input-shape errors. Its textbook functions are the fast path too: the registry-wide
plain-against-fast test (test_switch.py) holds them equal."""

import numpy as np
import pytest

import barenet as bn
from barenet.nn.layers import Linear

from .checks import assert_gradcheck
from .torch_parity import barenet_pass, close, needs_torch, torch, torch_pass


@pytest.mark.parametrize("init", ["he", "xavier", "lecun"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(rng, init, bias):
    layer = Linear(7, 5, init=init, bias=bias, rng=rng).astype(np.float64)
    result = assert_gradcheck(layer, rng.standard_normal((9, 7)), max_entries=None)
    expected = {"input": 63, "weight": 35} | ({"bias": 5} if bias else {})
    assert result.checked == expected


@needs_torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("init", ["he", "xavier", "lecun"])
def test_linear_matches_torch(rng, bias, init):
    layer = Linear(20, 7, init=init, bias=bias, rng=rng, dtype=np.float64)
    if bias:
        layer.params["bias"].data[...] = rng.standard_normal(7)
    ref = torch.nn.Linear(20, 7, bias=bias, dtype=torch.float64)
    with torch.no_grad():  # barenet's W is (in, out), torch's (out, in)
        ref.weight.copy_(torch.tensor(layer.params["weight"].data.T))
        if bias:
            ref.bias.copy_(torch.tensor(layer.params["bias"].data))
    x, g = rng.standard_normal((13, 20)), rng.standard_normal((13, 7))
    y, dx = barenet_pass(layer, x, g)
    y_ref, dx_ref = torch_pass(ref, x, g)
    close(y, y_ref, "output")
    close(dx, dx_ref, "input gradient")
    close(layer.params["weight"].grad, ref.weight.grad.T, "weight gradient")
    if bias:
        close(layer.params["bias"].grad, ref.bias.grad, "bias gradient")


def test_linear_rejects_wrong_input_shape(rng):
    layer = Linear(784, 10, rng=rng)
    with pytest.raises(bn.BarenetError, match=r"\(N, 784\).*Flatten"):
        layer.forward(np.zeros((2, 1, 28, 28), np.float32))
    with pytest.raises(bn.BarenetError, match="784"):
        layer.forward(np.zeros((2, 783), np.float32))
