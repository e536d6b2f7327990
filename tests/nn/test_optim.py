"""SGD, Adam, AdamW, RMSProp and gradient clipping: PyTorch parity of every step (1e-10,
float64), Adam's in-place update against the textbook step, resuming from a state dict,
options and errors, and a whole 784-128-64-10 training run with PyTorch's loss at every
step (within 1e-8)."""

import numpy as np
import pytest

import barenet as bn
from barenet.nn.layers import Linear, ReLU
from barenet.nn.losses import SoftmaxCrossEntropy
from barenet.nn.module import Parameter
from barenet.nn.optim import (
    SGD,
    Adam,
    AdamW,
    RMSProp,
    clip_grad_norm,
    flush_subnormals,
)
from barenet.nn.optim.adam import adam_reference

from .checks import TIGHT
from .torch_parity import TOL, needs_torch, torch

SHAPES = [(5, 4), (4,), (3, 2, 2)]


def make_params(rng):
    return [Parameter(rng.standard_normal(s), f"p{i}") for i, s in enumerate(SHAPES)]


def torch_params(ours):
    return [torch.tensor(p.data.copy(), requires_grad=True) for p in ours]


# name: (barenet's class, torch.optim's class name, options both take)
OPTIMIZERS = {
    "sgd": (SGD, "SGD", dict(lr=0.1)),
    "sgd-wd": (SGD, "SGD", dict(lr=0.1, weight_decay=0.05)),
    "sgd-momentum": (SGD, "SGD", dict(lr=0.1, momentum=0.9)),
    "sgd-momentum-wd": (SGD, "SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.01)),
    "sgd-nesterov": (SGD, "SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    "sgd-nesterov-wd": (SGD, "SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adam": (Adam, "Adam", dict(lr=0.01)),
    "adam-options": (Adam, "Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    "adamw": (AdamW, "AdamW", dict(lr=0.01)),  # both default weight_decay=0.01
    "adamw-wd": (AdamW, "AdamW", dict(lr=0.01, betas=(0.85, 0.99), weight_decay=0.2)),
    "rmsprop": (RMSProp, "RMSprop", dict(lr=0.01)),
    "rmsprop-options": (RMSProp, "RMSprop", dict(lr=0.005, alpha=0.9, eps=1e-6,
                                                 weight_decay=0.05)),
    "rmsprop-momentum": (RMSProp, "RMSprop", dict(lr=0.01, momentum=0.9)),
}

# --- PyTorch parity ------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_steps_match_torch(rng, name):
    ours_cls, theirs_name, options = OPTIMIZERS[name]
    ours = make_params(rng)
    theirs = torch_params(ours)
    opt, ref = ours_cls(ours, **options), getattr(torch.optim, theirs_name)(theirs, **options)
    start = [p.data.copy() for p in ours]
    for step in range(8):
        if step == 5:  # a schedule changing the learning rate mid-run
            opt.lr = options["lr"] / 3
            for group in ref.param_groups:
                group["lr"] = options["lr"] / 3
        for p, t in zip(ours, theirs, strict=True):
            g = rng.standard_normal(p.data.shape)
            p.grad[...] = g
            t.grad = torch.tensor(g)
        opt.step()
        ref.step()
        for p, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=TOL, atol=TOL,
                                       err_msg=f"{name}, step {step + 1}, {p.name}")
    assert opt.t == 8
    assert not np.allclose(ours[0].data, start[0])  # the parameters really moved


@needs_torch
@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e6])
def test_clip_grad_norm_matches_torch(rng, max_norm):
    ours = make_params(rng)
    theirs = torch_params(ours)
    for p, t in zip(ours, theirs, strict=True):
        g = rng.standard_normal(p.data.shape)
        p.grad[...] = g
        t.grad = torch.tensor(g)
    before = [p.grad.copy() for p in ours]
    norm = clip_grad_norm(ours, max_norm)
    norm_ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert norm == pytest.approx(float(norm_ref), rel=TOL)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=TOL, atol=TOL)
    joint = np.sqrt(sum(np.sum(p.grad ** 2) for p in ours))
    if max_norm < norm:
        assert joint == pytest.approx(max_norm, rel=1e-5)
    else:
        assert all(np.array_equal(a, p.grad) for a, p in zip(before, ours, strict=True))


# --- the fast path against the textbook one -------------------------------------------------


@pytest.mark.parametrize("cls, options", [
    (Adam, {}),
    (Adam, {"weight_decay": 0.1}),
    (AdamW, {"weight_decay": 0.05}),
    (Adam, {"betas": (0.5, 0.9), "eps": 1e-3, "lr": 0.1}),
])
def test_adam_update_matches_the_textbook_step(rng, cls, options):
    shapes = [(5, 4), (4,), (3, 2, 2)]
    params = [Parameter(rng.standard_normal(s), "w") for s in shapes]
    optimizer = cls(params, **options)
    plain = [(p.data.copy(), np.zeros(p.data.shape), np.zeros(p.data.shape)) for p in params]
    lr = options.get("lr", 1e-3)
    betas, eps = options.get("betas", (0.9, 0.999)), options.get("eps", 1e-8)
    decay = options.get("weight_decay", optimizer.weight_decay)
    for t in range(1, 8):
        for p in params:
            p.grad[...] = rng.standard_normal(p.data.shape)
        plain = [adam_reference(w, p.grad, m, v, t, lr, betas, eps, decay, cls is AdamW)
                 for (w, m, v), p in zip(plain, params, strict=True)]
        optimizer.step()
        for (w, m, v), p, s in zip(plain, params, optimizer.state, strict=True):
            np.testing.assert_allclose(p.data, w, **TIGHT)
            np.testing.assert_allclose(s["m"], m, **TIGHT)
            np.testing.assert_allclose(s["v"], v, **TIGHT)


# --- state, options, errors ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["sgd-momentum", "adam", "rmsprop-momentum"])
def test_optimizer_state_dict_resumes_exactly(rng, name):
    ours_cls, _, options = OPTIMIZERS[name]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(6)]
    params = make_params(rng)
    copy = [Parameter(p.data.copy()) for p in params]
    straight = ours_cls(params, **options)
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad[...] = g
        straight.step()
    first = ours_cls(copy, **options)
    for step_grads in grads[:3]:
        for p, g in zip(copy, step_grads, strict=True):
            p.grad[...] = g
        first.step()
    resumed = ours_cls(copy, **options)
    resumed.load_state_dict({k: v.copy() for k, v in first.state_dict().items()})
    for step_grads in grads[3:]:
        for p, g in zip(copy, step_grads, strict=True):
            p.grad[...] = g
        resumed.step()
    assert resumed.t == straight.t == 6
    for a, b in zip(params, copy, strict=True):
        assert np.array_equal(a.data, b.data)


def test_optimizer_errors_are_clear():
    with pytest.raises(bn.BarenetError, match="no parameters"):
        SGD([], lr=0.1)
    with pytest.raises(bn.BarenetError, match="learning rate"):
        SGD(Linear(784, 128).parameters(), lr=0)
    with pytest.raises(bn.BarenetError, match="unknown optimizer 'sgdd'"):
        bn.optim.OPTIMIZERS["sgdd"]


@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.9)])
def test_adam_refuses_betas_outside_zero_one(betas):
    with pytest.raises(bn.BarenetError, match=r"betas must be a list of two numbers in \[0, 1\)"):
        Adam([Parameter(np.zeros(2))], betas=betas)


def test_flush_subnormals_zeroes_only_tiny_float32_values():
    tiny32 = np.array([1e-38, -1e-35, 1e-31, 1e-29, 0.5], np.float32)
    tiny64 = np.array([1e-38, 1e-300, 0.5])
    flush_subnormals([tiny32, tiny64])
    assert np.array_equal(tiny32, np.array([0, 0, 0, 1e-29, 0.5], np.float32))
    assert np.array_equal(tiny64, [1e-38, 1e-300, 0.5])  # float64 left alone


# --- a whole training run ------------------------------------------------------------------


def torch_mlp(model):
    linears = [layer for layer in model.layers if isinstance(layer, Linear)]
    modules = []
    for i, layer in enumerate(linears):
        ref = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
        with torch.no_grad():
            ref.weight.copy_(torch.tensor(layer.params["weight"].data.T))
            ref.bias.copy_(torch.tensor(layer.params["bias"].data))
        modules += [ref] if i == len(linears) - 1 else [ref, torch.nn.ReLU()]
    return torch.nn.Sequential(*modules)


@pytest.fixture
def one_torch_thread():
    """Torch's OpenMP threads and OpenBLAS's threads, interleaved step by step on two
    cores, wait on each other (one run took 30 s instead of 2); one torch thread avoids it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@needs_torch
@pytest.mark.parametrize("optimizer", ["sgd-momentum", "adam"])
def test_mlp_training_matches_torch_step_by_step(optimizer, one_torch_thread):
    rng = np.random.default_rng(7)
    model = bn.Sequential([Linear(784, 128, rng=rng), ReLU(), Linear(128, 64, rng=rng), ReLU(),
                           Linear(64, 10, rng=rng)]).astype(np.float64)
    ref = torch_mlp(model)
    labels = rng.integers(0, 10, 2048)  # noisy copies of ten random prototype "images"
    images = 0.3 * rng.uniform(0, 1, (10, 784))[labels] + 0.7 * rng.uniform(0, 1, (2048, 784))
    images -= 0.5  # centred, as normalised MNIST is
    if optimizer == "adam":
        opt, ref_opt = Adam(model.parameters(), lr=1e-3), torch.optim.Adam(ref.parameters(),
                                                                           lr=1e-3)
    else:
        opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
        ref_opt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    loss_fn = SoftmaxCrossEntropy()
    losses, ref_losses = [], []
    order = rng.permutation(len(images))
    for step in range(200):
        if (step * 64) % len(images) == 0:
            order = rng.permutation(len(images))
        batch = order[(step * 64) % len(images):][:64]
        x, y = images[batch], labels[batch]
        losses.append(loss_fn.forward(model.forward(x), y))
        model.backward(loss_fn.backward())
        opt.step()
        ref_opt.zero_grad()
        ref_loss = torch.nn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(y))
        ref_loss.backward()
        ref_opt.step()
        ref_losses.append(ref_loss.item())
    np.testing.assert_allclose(losses, ref_losses, rtol=0, atol=1e-8)
    assert np.mean(losses[-20:]) < 0.2 * np.mean(losses[:20])  # it really learned
    final = model.layers[0].params["weight"].data
    np.testing.assert_allclose(final, ref[0].weight.detach().numpy().T, rtol=0, atol=1e-8)
