"""PyTorch parity of every core layer and loss: forward outputs, input gradients and
parameter gradients (and batch-norm running statistics) agree to 1e-10 in float64."""

import numpy as np
import pytest

from barenet.nn.layers import (
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
from barenet.nn.losses import BCEWithLogits, MSELoss, SoftmaxCrossEntropy
from barenet.nn.losses.cross_entropy import NO_CLASS

from .torch_parity import close, torch  # skips this file without PyTorch

F = torch.nn.functional


def torch_pass(module, x, upstream):
    """Output and input gradient of a torch module for upstream gradient ``upstream``."""
    xt = torch.tensor(x, requires_grad=True)
    y = module(xt)
    y.backward(torch.tensor(upstream))
    return y, xt.grad


def barenet_pass(layer, x, upstream):
    y = layer.forward(x.copy())
    return y, layer.backward(upstream.copy())


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("init", ["he", "xavier", "lecun"])
def test_linear(rng, bias, init):
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


@pytest.mark.parametrize("ours, theirs", [
    (ReLU(), torch.nn.ReLU()),
    (LeakyReLU(), torch.nn.LeakyReLU()),
    (LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (Sigmoid(), torch.nn.Sigmoid()),
    (Tanh(), torch.nn.Tanh()),
    (Softmax(), torch.nn.Softmax(dim=-1)),
], ids=lambda m: repr(m))
def test_activations(rng, ours, theirs):
    x = 3 * rng.standard_normal((11, 9))
    x[0, :6] = [-700.0, -40.0, -15.0, 15.0, 40.0, 700.0]  # extreme inputs too
    g = rng.standard_normal(x.shape)
    y, dx = barenet_pass(ours, x, g)
    y_ref, dx_ref = torch_pass(theirs, x, g)
    close(y, y_ref, "output")
    close(dx, dx_ref, "input gradient")


def test_flatten(rng):
    x = rng.standard_normal((4, 2, 3, 5))
    g = rng.standard_normal((4, 30))
    y, dx = barenet_pass(Flatten(), x, g)
    y_ref, dx_ref = torch_pass(torch.nn.Flatten(), x, g)
    close(y, y_ref)
    close(dx, dx_ref)


@pytest.mark.parametrize("ours_cls, theirs_cls, shape", [
    (BatchNorm1d, torch.nn.BatchNorm1d, (16, 5)),
    (BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 5, 5)),
], ids=["1d", "2d"])
def test_batchnorm_train_then_eval(rng, ours_cls, theirs_cls, shape):
    c = shape[1]
    ours = ours_cls(c, eps=1e-4, momentum=0.2, dtype=np.float64)
    ref = theirs_cls(c, eps=1e-4, momentum=0.2, dtype=torch.float64)
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


def test_dropout_eval_is_identity_like_torch(rng):
    x = rng.standard_normal((8, 10))
    ours, ref = Dropout(0.5, rng=0).eval(), torch.nn.Dropout(0.5).eval()
    y, dx = barenet_pass(ours, x, x)
    y_ref, dx_ref = torch_pass(ref, x, x)
    close(y, y_ref)
    close(dx, dx_ref)
    assert np.array_equal(y, x) and np.array_equal(dx, x)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_train_scaling_matches_torch(rng, p):
    """Torch cannot share our random numbers, so compare the convention: survivors
    scaled by 1/(1-p), output and gradient both x * mask for one shared mask."""
    x = rng.uniform(0.5, 1.5, (200, 100))
    g = rng.standard_normal(x.shape)
    ours = Dropout(p, rng=1)
    y, dx = barenet_pass(ours, x, g)
    kept = y != 0
    mask = kept / (1 - p)
    close(y, x * mask, "output is x * mask")
    close(dx, g * mask, "gradient is g * mask")
    # torch with the same mask, applied as a tensor product, gives the same numbers
    y_ref, dx_ref = torch_pass(lambda t: t * torch.tensor(mask), x, g)
    close(y, y_ref)
    close(dx, dx_ref)
    # torch's own dropout follows the same convention: zeros and x / (1 - p)
    torch.manual_seed(0)
    y_torch = torch.nn.Dropout(p)(torch.tensor(x)).numpy()
    kept_torch = y_torch != 0
    close(y_torch[kept_torch], x[kept_torch] / (1 - p))
    for keep_rate in (kept.mean(), kept_torch.mean()):
        assert abs(keep_rate - (1 - p)) < 5 * np.sqrt(p * (1 - p) / x.size)


def loss_parity(loss, z, targets, ref_fn, ref_targets):
    value = loss.forward(z.copy(), targets)
    grad = loss.backward()
    zt = torch.tensor(z, requires_grad=True)
    ref = ref_fn(zt, ref_targets)
    ref.backward()
    close(value, ref.detach().numpy(), "loss value")
    close(grad, zt.grad, "gradient")
    assert isinstance(value, float)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_int_labels(rng, smoothing):
    z = 4 * rng.standard_normal((32, 10))
    z[0] = [900, -900, 0, 1, 2, 3, 4, 5, 6, 7]  # extreme logits stay finite
    labels = rng.integers(0, 10, 32)
    loss_parity(SoftmaxCrossEntropy(smoothing), z, labels,
                lambda t, y: F.cross_entropy(t, y, label_smoothing=smoothing),
                torch.tensor(labels))


@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("kind", ["one-hot", "soft"])
def test_cross_entropy_distributions(rng, smoothing, kind):
    z = 3 * rng.standard_normal((16, 6))
    labels = rng.integers(0, 6, 16)
    q = np.eye(6)[labels] if kind == "one-hot" else rng.dirichlet(np.ones(6), 16)
    loss_parity(SoftmaxCrossEntropy(smoothing), z, q,
                lambda t, y: F.cross_entropy(t, y, label_smoothing=smoothing), torch.tensor(q))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_no_class_labels(rng, smoothing):
    """Label -1 (a non-digit, outlier exposure) is PyTorch's cross-entropy with a uniform
    probability row as its target."""
    z = 3 * rng.standard_normal((20, 10))
    labels = np.where(rng.random(20) < 0.3, NO_CLASS, rng.integers(0, 10, 20))
    rows = np.where((labels == NO_CLASS)[:, None], 0.1, np.eye(10)[np.maximum(labels, 0)])
    loss_parity(SoftmaxCrossEntropy(smoothing), z, labels,
                lambda t, y: F.cross_entropy(t, y, label_smoothing=smoothing),
                torch.tensor(rows))


def test_mse(rng):
    z, t = rng.standard_normal((12, 5)), rng.standard_normal((12, 5))
    loss_parity(MSELoss(), z, t, F.mse_loss, torch.tensor(t))


@pytest.mark.parametrize("soft", [False, True])
def test_bce_with_logits(rng, soft):
    z = 5 * rng.standard_normal((12, 5))
    z[0] = [-800, -50, 0, 50, 800]
    t = rng.uniform(0, 1, z.shape) if soft else rng.integers(0, 2, z.shape).astype(float)
    loss_parity(BCEWithLogits(), z, t, F.binary_cross_entropy_with_logits, torch.tensor(t))
