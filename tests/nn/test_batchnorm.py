"""BatchNorm1d and BatchNorm2d: the gradient check in training and eval mode, PyTorch parity
(running statistics included, and after a convolution), the fast path against the textbook
formulas written before the classes, and their options and errors."""

import numpy as np
import pytest

import barenet as bn
from barenet.nn.layers import BatchNorm1d, BatchNorm2d, Conv2d
from barenet.nn.layers.batchnorm import batch_norm, batch_norm_backward

from .checks import TIGHT, assert_gradcheck
from .torch_parity import (
    barenet_pass,
    both_passes,
    close,
    needs_torch,
    torch,
    torch_conv,
    torch_pass,
)

# --- the gradient check ------------------------------------------------------------------


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm1d_gradcheck(rng, training):
    layer = BatchNorm1d(4, dtype=np.float64)
    layer.params["gamma"].data[...] = rng.uniform(0.5, 2, 4)
    layer.params["beta"].data[...] = rng.standard_normal(4)
    layer.buffers["running_mean"][...] = rng.standard_normal(4)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, 4)
    layer.train(training)
    result = assert_gradcheck(layer, 3 * rng.standard_normal((10, 4)) + 2, max_entries=None)
    assert set(result.errors) == {"input", "gamma", "beta"}


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm2d_gradcheck(rng, training):
    layer = BatchNorm2d(3, dtype=np.float64).train(training)
    layer.params["gamma"].data[...] = rng.uniform(0.5, 2, 3)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, 3)
    assert_gradcheck(layer, rng.standard_normal((2, 3, 4, 4)), max_entries=None)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm2d_gradcheck_every_array_moved(rng, mode):
    layer = BatchNorm2d(3, dtype=np.float64)
    layer.params["gamma"].data[...] = rng.uniform(0.5, 2.0, 3)
    layer.params["beta"].data[...] = rng.standard_normal(3)
    layer.buffers["running_mean"][...] = rng.standard_normal(3)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2.0, 3)
    layer.train(mode == "train")
    x = 2 * rng.standard_normal((4, 3, 7, 9)) + 1
    result = assert_gradcheck(layer, x, max_entries=None)
    assert set(result.errors) == {"input", "gamma", "beta"}


# --- PyTorch parity ------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("ours_cls, theirs_name, shape", [
    (BatchNorm1d, "BatchNorm1d", (16, 5)),
    (BatchNorm2d, "BatchNorm2d", (4, 3, 5, 5)),
], ids=["1d", "2d"])
def test_batchnorm_train_then_eval_matches_torch(rng, ours_cls, theirs_name, shape):
    c = shape[1]
    ours = ours_cls(c, eps=1e-4, momentum=0.2, dtype=np.float64)
    ref = getattr(torch.nn, theirs_name)(c, eps=1e-4, momentum=0.2, dtype=torch.float64)
    gamma, beta = rng.uniform(0.5, 2, c), rng.standard_normal(c)
    ours.params["gamma"].data[...] = gamma
    ours.params["beta"].data[...] = beta
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        ref.bias.copy_(torch.tensor(beta))
    for mode in ["train"] * 3 + ["eval"] * 2:
        ours.train(mode == "train")
        ref.train(mode == "train")
        ref.zero_grad()
        x = 2 * rng.standard_normal(shape) + rng.standard_normal((1, c) + (1,) * (len(shape) - 2))
        g = rng.standard_normal(shape)
        y, dx = barenet_pass(ours, x, g)
        y_ref, dx_ref = torch_pass(ref, x, g)
        close(y, y_ref, f"{mode} output")
        close(dx, dx_ref, f"{mode} input gradient")
        close(ours.params["gamma"].grad, ref.weight.grad, f"{mode} gamma gradient")
        close(ours.params["beta"].grad, ref.bias.grad, f"{mode} beta gradient")
        close(ours.buffers["running_mean"], ref.running_mean, f"{mode} running mean")
        close(ours.buffers["running_var"], ref.running_var, f"{mode} running var")
    assert not np.allclose(ours.buffers["running_mean"], 0)  # the stats really moved


@needs_torch
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm2d_on_a_convolution_output(rng, training):
    """BatchNorm2d receives Conv2d's output, a transposed (channel-major) view."""
    conv = Conv2d(2, 3, 3, stride=2, padding=1, rng=rng, dtype=np.float64)
    norm = BatchNorm2d(3, dtype=np.float64)
    norm.params["gamma"].data[...] = rng.uniform(0.5, 2, 3)
    norm.params["beta"].data[...] = rng.standard_normal(3)
    norm.buffers["running_var"][...] = rng.uniform(0.5, 2, 3)
    ref = torch.nn.Sequential(torch_conv(conv), torch.nn.BatchNorm2d(3, dtype=torch.float64))
    with torch.no_grad():
        ref[1].weight.copy_(torch.tensor(norm.params["gamma"].data))
        ref[1].bias.copy_(torch.tensor(norm.params["beta"].data))
        ref[1].running_var.copy_(torch.tensor(norm.buffers["running_var"]))
    model = bn.Sequential([conv, norm]).train(training)
    ref.train(training)
    x = 3 * rng.standard_normal((5, 2, 7, 9)) + 1
    both_passes(model, ref, x, rng.standard_normal((5, 3, 4, 5)))
    close(norm.params["gamma"].grad, ref[1].weight.grad, "gamma gradient")
    close(norm.params["beta"].grad, ref[1].bias.grad, "beta gradient")
    close(norm.buffers["running_mean"], ref[1].running_mean, "running mean")
    close(norm.buffers["running_var"], ref[1].running_var, "running variance")
    close(conv.params["weight"].grad, ref[0].weight.grad, "conv weight gradient")


# --- the fast path against the textbook one -------------------------------------------------


@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (16, 5)), (BatchNorm2d, (4, 3, 5, 6)),
                                        (BatchNorm1d, (1, 3))])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_the_textbook_formulas(rng, cls, shape, training):
    layer = cls(shape[1], dtype=np.float64)
    layer.gamma.data[...] = rng.uniform(0.5, 2, shape[1])
    layer.beta.data[...] = rng.standard_normal(shape[1])
    layer.buffers["running_mean"][...] = rng.standard_normal(shape[1])
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, shape[1])
    stats = {} if training else {"mean": layer.buffers["running_mean"].copy(),
                                 "var": layer.buffers["running_var"].copy()}
    layer.train(training)
    x = 3 * rng.standard_normal(shape) + 1
    delta = rng.standard_normal(shape)
    y = layer.forward(x)
    dx = layer.backward(delta)
    y_plain, x_hat, r = batch_norm(x, layer.gamma.data, layer.beta.data, layer.eps, **stats)[:3]
    dx_plain, dgamma, dbeta = batch_norm_backward(delta, x_hat, r, layer.gamma.data, training)
    np.testing.assert_allclose(y, y_plain, **TIGHT)
    np.testing.assert_allclose(dx, dx_plain, **TIGHT)
    np.testing.assert_allclose(layer.gamma.grad, dgamma, **TIGHT)
    np.testing.assert_allclose(layer.beta.grad, dbeta, **TIGHT)


# --- running statistics, options, errors ----------------------------------------------------


def test_batchnorm_single_sample_batch_leaves_running_stats(rng):
    """A last training batch of one sample has no variance: the running estimates
    must not be pulled toward 0 by it (PyTorch raises here instead)."""
    layer = BatchNorm1d(3, dtype=np.float64)
    layer.forward(rng.standard_normal((20, 3)) * 4 + 1)
    mean, var = layer.buffers["running_mean"].copy(), layer.buffers["running_var"].copy()
    y = layer.forward(rng.standard_normal((1, 3)))
    assert np.array_equal(layer.buffers["running_mean"], mean)
    assert np.array_equal(layer.buffers["running_var"], var)
    assert np.array_equal(y, np.broadcast_to(layer.params["beta"].data, (1, 3)))
    assert not np.any(layer.backward(np.ones((1, 3))))


def test_batchnorm_rejects_wrong_shape():
    with pytest.raises(bn.BarenetError, match=r"BatchNorm1d\(4\)"):
        BatchNorm1d(4).forward(np.zeros((3, 5), np.float32))


@pytest.mark.parametrize("options", [dict(num_features=0), dict(num_features=3, eps=-1e-5),
                                     dict(num_features=3, momentum=1.5),
                                     dict(num_features=3, eps=float("nan"))])
def test_batchnorm_rejects_meaningless_options(options):
    with pytest.raises(bn.BarenetError, match="BatchNorm1d: (num_features|eps|momentum) must be"):
        BatchNorm1d(**options)
