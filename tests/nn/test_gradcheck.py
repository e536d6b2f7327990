"""Finite-difference gradient checks (float64, relative error < 1e-6) of every core
layer, every loss and a whole Sequential, plus checks that gradcheck itself catches
a wrong gradient."""

import numpy as np
import pytest

import barenet as bn
from barenet.nn.gradcheck import (
    away_from_kinks,
    gradcheck,
    layer_examples,
    loss_examples,
    model_example,
)
from barenet.nn.layers import (
    LAYERS,
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from barenet.nn.losses import LOSSES, BCEWithLogits, MSELoss, SoftmaxCrossEntropy
from barenet.nn.losses.cross_entropy import NO_CLASS
from barenet.nn.module import Module

TOL = 1e-6


def assert_gradcheck(target, x, targets=None, **options):
    result = gradcheck(target, x, targets, **options)
    assert result.total_checked > 0
    assert result.passed(TOL), f"relative errors {result.errors}"
    return result


@pytest.mark.parametrize("init", ["he", "xavier", "lecun"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(rng, init, bias):
    layer = Linear(7, 5, init=init, bias=bias, rng=rng).astype(np.float64)
    result = assert_gradcheck(layer, rng.standard_normal((9, 7)), max_entries=None)
    expected = {"input": 63, "weight": 35} | ({"bias": 5} if bias else {})
    assert result.checked == expected


@pytest.mark.parametrize("layer", [ReLU(), LeakyReLU(0.1), LeakyReLU(0.01), Sigmoid(), Tanh(),
                                   Softmax()], ids=repr)
def test_activations(rng, layer):
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


def test_dropout_train_mode(rng):
    layer = Dropout(0.4, rng=3)
    x = rng.standard_normal((10, 6))
    assert_gradcheck(layer, x, max_entries=None)
    dropped = layer.forward(x) == 0
    assert 0 < dropped.mean() < 1  # the mask really drops some and keeps some


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm1d(rng, training):
    layer = BatchNorm1d(4, dtype=np.float64)
    layer.params["gamma"].data[...] = rng.uniform(0.5, 2, 4)
    layer.params["beta"].data[...] = rng.standard_normal(4)
    layer.buffers["running_mean"][...] = rng.standard_normal(4)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, 4)
    layer.train(training)
    result = assert_gradcheck(layer, 3 * rng.standard_normal((10, 4)) + 2, max_entries=None)
    assert set(result.errors) == {"input", "gamma", "beta"}


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm2d(rng, training):
    layer = BatchNorm2d(3, dtype=np.float64).train(training)
    layer.params["gamma"].data[...] = rng.uniform(0.5, 2, 3)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, 3)
    assert_gradcheck(layer, rng.standard_normal((2, 3, 4, 4)), max_entries=None)


def test_flatten(rng):
    assert_gradcheck(Flatten(), rng.standard_normal((3, 2, 4, 5)), max_entries=None)


@pytest.mark.parametrize("kind", ["int", "one-hot", "smoothing", "soft", "no-class"])
def test_softmax_cross_entropy(rng, kind):
    z = 3 * rng.standard_normal((8, 5))
    labels = rng.integers(0, 5, 8)
    no_class = np.where(np.arange(8) % 3 == 0, NO_CLASS, labels)  # outlier exposure
    targets = {"int": labels, "one-hot": np.eye(5)[labels], "smoothing": labels,
               "soft": rng.dirichlet(np.ones(5), 8), "no-class": no_class}[kind]
    loss = SoftmaxCrossEntropy(label_smoothing=0.2 if kind in ("smoothing", "no-class") else 0.0)
    assert_gradcheck(loss, z, targets, max_entries=None)


def test_softmax_cross_entropy_unnormalised_target_rows(rng):
    """Target rows that do not sum to 1 still get the exact gradient."""
    z = rng.standard_normal((6, 4))
    assert_gradcheck(SoftmaxCrossEntropy(), z, rng.uniform(0, 2, (6, 4)), max_entries=None)


def test_mse(rng):
    z = rng.standard_normal((7, 3))
    assert_gradcheck(MSELoss(), z, rng.standard_normal((7, 3)), max_entries=None)


@pytest.mark.parametrize("soft", [False, True])
def test_bce_with_logits(rng, soft):
    z = 4 * rng.standard_normal((7, 3))
    t = rng.uniform(0, 1, z.shape) if soft else rng.integers(0, 2, z.shape).astype(float)
    assert_gradcheck(BCEWithLogits(), z, t, max_entries=None)


def test_whole_sequential(rng):
    example = model_example(rng)
    result = assert_gradcheck(example.target, example.x, max_entries=None)
    n_params = len(example.target.parameters())
    assert len(result.errors) == n_params + 1  # every parameter of every layer, plus input


def test_nested_sequential_parameters_are_checked(rng):
    inner = bn.Sequential([Linear(4, 3, rng=rng), Tanh()])
    model = bn.Sequential([inner, Linear(3, 2, rng=rng)]).astype(np.float64)
    result = assert_gradcheck(model, rng.standard_normal((5, 4)))
    assert set(result.errors) == {"input", "0.0.weight", "0.0.bias", "1.weight", "1.bias"}


def test_every_registered_layer_and_loss_has_a_passing_example(rng):
    for name in LAYERS.names():  # each its own, in its own file
        assert "gradcheck_examples" in vars(LAYERS[name]), name
    for registry, examples in ((LAYERS, layer_examples), (LOSSES, loss_examples)):
        for name in registry.names():
            cases = examples(name, registry[name], rng)
            assert cases, f"no gradcheck example for {name}"
            for case in cases:
                result = case.check()
                assert result.passed(TOL), (name, case.label, result.errors)


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
