"""ReLU, LeakyReLU, Sigmoid, Tanh and Softmax: the gradient check, PyTorch parity (extreme
inputs included), sigmoid's exact slope far out, and ReLU's infer against its forward."""

import numpy as np
import pytest

from barenet.nn.gradcheck import away_from_kinks
from barenet.nn.layers import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh

from .checks import assert_gradcheck, channels_last
from .torch_parity import barenet_pass, close, needs_torch, torch, torch_pass

# --- the gradient check ------------------------------------------------------------------


@pytest.mark.parametrize("layer", [ReLU(), LeakyReLU(0.1), LeakyReLU(0.01), Sigmoid(), Tanh(),
                                   Softmax()], ids=repr)
def test_activations_gradcheck(rng, layer):
    x = away_from_kinks(2 * rng.standard_normal((8, 6)))
    assert_gradcheck(layer, x, max_entries=None)


def test_sigmoid_large_inputs_gradcheck_and_exact_slope(rng):
    x = np.array([[-800.0, -100.0, -40.0, -20.0, -5.0], [5.0, 20.0, 40.0, 100.0, 800.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        assert_gradcheck(Sigmoid(), x, max_entries=None)
        layer = Sigmoid()
        y = layer.forward(x)
        slope = layer.backward(np.ones_like(x))
    assert np.all((y >= 0) & (y <= 1))
    # sigmoid'(x) = 1 / (4 cosh^2(x / 2)): an independent formula, exact to rounding
    with np.errstate(over="ignore"):
        exact = 1 / (4 * np.cosh(x / 2) ** 2)
    np.testing.assert_allclose(slope, exact, rtol=1e-13, atol=0)
    assert slope[1, 3] > 0  # sigmoid'(100) = 3.7e-44 survives; 1 - y would be exactly 0


# --- PyTorch parity ------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("ours, theirs", [
    (ReLU(), lambda: torch.nn.ReLU()),
    (LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    (LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    (Sigmoid(), lambda: torch.nn.Sigmoid()),
    (Tanh(), lambda: torch.nn.Tanh()),
    (Softmax(), lambda: torch.nn.Softmax(dim=-1)),
], ids=["ReLU()-ReLU()", "LeakyReLU(alpha=0.01)-LeakyReLU(negative_slope=0.01)",
        "LeakyReLU(alpha=0.2)-LeakyReLU(negative_slope=0.2)", "Sigmoid()-Sigmoid()",
        "Tanh()-Tanh()", "Softmax()-Softmax(dim=-1)"])
def test_activations_match_torch(rng, ours, theirs):
    x = 3 * rng.standard_normal((11, 9))
    x[0, :6] = [-700.0, -40.0, -15.0, 15.0, 40.0, 700.0]  # extreme inputs too
    g = rng.standard_normal(x.shape)
    y, dx = barenet_pass(ours, x, g)
    y_ref, dx_ref = torch_pass(theirs(), x, g)
    close(y, y_ref, "output")
    close(dx, dx_ref, "input gradient")


# --- infer ---------------------------------------------------------------------------------


def test_relu_infer_equals_its_forward(rng):
    x = channels_last(rng.standard_normal((3, 4, 5, 6)))
    x[0, 0, 0, :3] = [0.0, -0.0, np.nan]
    y = ReLU().infer(x)
    np.testing.assert_array_equal(y, ReLU().forward(x))
    assert y.strides == x.strides
