"""The gradient check itself: it catches a wrong gradient (off by a factor of 1.001, or
by 1e-5 per entry), lets a true zero gradient pass at larger sizes, samples entries, and
refuses float32, a loss without targets and meaningless options."""

import numpy as np
import pytest

import barenet as bn
from barenet.nn.gradcheck import gradcheck
from barenet.nn.layers import BatchNorm1d, Linear, ReLU
from barenet.nn.losses import MSELoss
from barenet.nn.module import Module

from .checks import GRAD_TOL as TOL
from .checks import assert_gradcheck


class _WrongLinear(Linear):
    """Linear whose weight gradient is off by a factor of 1.001."""

    def backward(self, grad_out):
        dx = super().backward(grad_out)
        self.params["weight"].grad *= 1.001
        return dx


class _WrongSlope(Module):
    """y = x^2 with the derivative x instead of 2x."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad_out):
        return grad_out * self.x


def test_gradcheck_catches_wrong_gradients(rng):
    x = rng.standard_normal((5, 4))
    wrong = gradcheck(_WrongLinear(4, 3, rng=rng).astype(np.float64), x)
    assert wrong.errors["weight"] > 1e-4 and wrong.errors["input"] < TOL
    assert not wrong.passed(TOL)
    assert gradcheck(_WrongSlope(), x).errors["input"] > 0.1


class _BiasOffset(Linear):
    """Linear whose bias gradient is off by 1e-5 per entry."""

    def backward(self, grad_out):
        dx = super().backward(grad_out)
        self.params["bias"].grad += 1e-5
        return dx


@pytest.mark.parametrize(("n", "d", "h"), [(32, 10, 32), (128, 50, 128)])
def test_zero_gradient_passes_at_larger_sizes_and_small_errors_still_fail(n, d, h):
    """The bias before batch-norm has gradient 0 exactly; numerically both sides are
    rounding noise that grows with the size of f (it failed with a fixed floor of 1e-3)."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        model = bn.Sequential([Linear(d, h, rng=rng), BatchNorm1d(h), ReLU(),
                               Linear(h, 3, rng=rng)]).astype(np.float64)
        assert_gradcheck(model, rng.standard_normal((n, d)), max_entries=64, seed=seed)
    rng = np.random.default_rng(0)
    wrong = bn.Sequential([_BiasOffset(d, h, rng=rng), BatchNorm1d(h), ReLU(),
                           _WrongLinear(h, 3, rng=rng)]).astype(np.float64)
    result = gradcheck(wrong, rng.standard_normal((n, d)), max_entries=64)
    assert result.errors["0.bias"] > 1e-5 and result.errors["3.weight"] > 1e-4
    assert result.errors["0.weight"] < TOL


def test_gradcheck_refuses_float32_and_loss_without_targets(rng):
    with pytest.raises(bn.BarenetError, match="float64"):
        gradcheck(Linear(3, 2), rng.standard_normal((2, 3)))
    with pytest.raises(bn.BarenetError, match="targets"):
        gradcheck(MSELoss(), rng.standard_normal((2, 3)))


def test_gradcheck_max_entries_samples(rng):
    layer = Linear(30, 20, rng=rng).astype(np.float64)
    result = gradcheck(layer, rng.standard_normal((10, 30)), max_entries=50)
    assert result.checked == {"input": 50, "weight": 50, "bias": 20}
    assert result.passed(TOL)


def test_gradcheck_rejects_meaningless_options(rng):
    layer = Linear(3, 2, rng=rng).astype(np.float64)
    with pytest.raises(bn.BarenetError, match="eps"):
        gradcheck(layer, rng.standard_normal((2, 3)), eps=0)
    with pytest.raises(bn.BarenetError, match="max_entries"):
        gradcheck(layer, rng.standard_normal((2, 3)), max_entries=0)
