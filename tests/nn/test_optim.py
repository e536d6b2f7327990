"""PyTorch parity of the optimizers, schedules and gradient clipping (1e-10, float64),
and of a whole 784-128-64-10 training run (same loss at every step within 1e-8)."""

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
    make_schedule,
)

from .torch_parity import TOL, torch  # skips this file without PyTorch

SHAPES = [(5, 4), (4,), (3, 2, 2)]


def make_params(rng):
    ours = [Parameter(rng.standard_normal(s), f"p{i}") for i, s in enumerate(SHAPES)]
    theirs = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours]
    return ours, theirs


OPTIMIZERS = {
    "sgd": (SGD, torch.optim.SGD, dict(lr=0.1)),
    "sgd-wd": (SGD, torch.optim.SGD, dict(lr=0.1, weight_decay=0.05)),
    "sgd-momentum": (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    "sgd-momentum-wd": (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.8, weight_decay=0.01)),
    "sgd-nesterov": (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    "sgd-nesterov-wd": (SGD, torch.optim.SGD,
                        dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adam": (Adam, torch.optim.Adam, dict(lr=0.01)),
    "adam-options": (Adam, torch.optim.Adam,
                     dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    "adamw": (AdamW, torch.optim.AdamW, dict(lr=0.01)),  # both default weight_decay=0.01
    "adamw-wd": (AdamW, torch.optim.AdamW, dict(lr=0.01, betas=(0.85, 0.99), weight_decay=0.2)),
    "rmsprop": (RMSProp, torch.optim.RMSprop, dict(lr=0.01)),
    "rmsprop-options": (RMSProp, torch.optim.RMSprop,
                        dict(lr=0.005, alpha=0.9, eps=1e-6, weight_decay=0.05)),
    "rmsprop-momentum": (RMSProp, torch.optim.RMSprop, dict(lr=0.01, momentum=0.9)),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_steps_match_torch(rng, name):
    ours_cls, theirs_cls, options = OPTIMIZERS[name]
    ours, theirs = make_params(rng)
    opt, ref = ours_cls(ours, **options), theirs_cls(theirs, **options)
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


@pytest.mark.parametrize("name", ["sgd-momentum", "adam", "rmsprop-momentum"])
def test_optimizer_state_dict_resumes_exactly(rng, name):
    ours_cls, _, options = OPTIMIZERS[name]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(6)]
    params, _ = make_params(rng)
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


def torch_lrs(scheduler_cls, epochs, lr=0.1, **options):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = scheduler_cls(opt, **options)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs)


@pytest.mark.parametrize("name, options, scheduler, torch_options, epochs", [
    ("step", dict(step_size=3, gamma=0.5), "StepLR", dict(step_size=3, gamma=0.5), 13),
    ("step", dict(step_size=1, gamma=0.7), "StepLR", dict(step_size=1, gamma=0.7), 6),
    ("exponential", dict(gamma=0.9), "ExponentialLR", dict(gamma=0.9), 15),
    ("cosine", dict(epochs=10), "CosineAnnealingLR", dict(T_max=10), 11),
    ("cosine", dict(epochs=7, min_lr=0.002), "CosineAnnealingLR", dict(T_max=7, eta_min=0.002),
     8),
])
def test_schedules_match_torch_on_whole_epochs(name, options, scheduler, torch_options, epochs):
    schedule = make_schedule(name, 0.1, **options)
    ours = np.array([schedule(epoch) for epoch in range(epochs)])
    theirs = torch_lrs(getattr(torch.optim.lr_scheduler, scheduler), epochs, **torch_options)
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL)
    assert ours[-1] < ours[0]


def test_constant_schedule_and_warmup():
    constant = make_schedule("constant", 0.05)
    assert [constant(e) for e in (0, 0.5, 7)] == [0.05, 0.05, 0.05]
    warm = make_schedule("cosine", 0.1, warmup=2.0, epochs=10)
    cosine = make_schedule("cosine", 0.1, epochs=10)
    assert warm(1.0) == pytest.approx(0.5 * cosine(1.0), rel=1e-12)
    assert warm(0.5) == pytest.approx(0.25 * cosine(0.5), rel=1e-12)
    assert warm(3.0) == cosine(3.0)
    assert 0 < warm(0.0) < 1e-3 * 0.1 + 1e-15  # never exactly zero
    assert cosine(10) == cosine(25) == 0.0  # stays at min_lr after the end


def test_schedule_errors_are_barenet_errors():
    with pytest.raises(bn.BarenetError, match="unknown schedule 'bogus'"):
        make_schedule("bogus", 0.1)
    with pytest.raises(bn.BarenetError, match="step_size"):
        make_schedule("step", 0.1, step_size=0)
    with pytest.raises(bn.BarenetError, match="schedule 'step'"):
        make_schedule("step", 0.1, nonsense=3)


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e6])
def test_clip_grad_norm_matches_torch(rng, max_norm):
    ours, theirs = make_params(rng)
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


# -- a whole training run -------------------------------------------------------------


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
