"""Learning-rate schedules: PyTorch parity on whole epochs (1e-10), warm-up, and errors."""

import numpy as np
import pytest

import barenet as bn
from barenet.nn.optim import make_schedule

from .torch_parity import TOL, needs_torch, torch


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


@needs_torch
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
