"""Learning-rate schedules: functions of training progress measured in epochs.

Each schedule is called with the fractional epoch (``epoch + batch / batches``)
and returns the learning rate, so the same config works whatever the batch
size. ``linear warm-up`` wraps any other schedule.
"""

from __future__ import annotations

import math

from ...errors import BarenetError
from ..options import REQUIRED, Spec, check_options, number, size
from ..registry import Registry

#: Schedule name -> class; each registers itself with the spec it declares (``lr`` is
#: not an option: it comes from the optimizer).
SCHEDULES: Registry = Registry("schedule", owns="spec")
#: Epochs of linear warm-up (:class:`LinearWarmup`), which goes with any schedule.
WARMUP = number(0.0)


class Schedule:
    spec: Spec = Spec({})

    def __init__(self, lr: float) -> None:
        self.lr = float(lr)

    def __call__(self, epoch: float) -> float:
        raise NotImplementedError


@SCHEDULES.register("constant")
class Constant(Schedule):
    """``lr`` throughout."""

    spec = Spec({})

    def __call__(self, epoch: float) -> float:
        return self.lr


@SCHEDULES.register("step")
class StepDecay(Schedule):
    """Multiply by ``gamma`` every ``step_size`` whole epochs."""

    spec = Spec({"step_size": size(5), "gamma": number(0.1, high=1.0, open_low=True)})

    def __init__(self, lr: float, step_size: int = 5, gamma: float = 0.1) -> None:
        super().__init__(lr)
        check_options("step schedule", self.spec, {"step_size": step_size, "gamma": gamma})
        self.step_size, self.gamma = int(step_size), float(gamma)

    def __call__(self, epoch: float) -> float:
        return self.lr * self.gamma ** (int(epoch) // self.step_size)


@SCHEDULES.register("exponential")
class ExponentialDecay(Schedule):
    """Multiply by ``gamma`` after every whole epoch."""

    spec = Spec({"gamma": number(0.9, high=1.0, open_low=True)})

    def __init__(self, lr: float, gamma: float = 0.9) -> None:
        super().__init__(lr)
        check_options("exponential schedule", self.spec, {"gamma": gamma})
        self.gamma = float(gamma)

    def __call__(self, epoch: float) -> float:
        return self.lr * self.gamma ** int(epoch)


@SCHEDULES.register("cosine")
class Cosine(Schedule):
    """Half a cosine from ``lr`` down to ``min_lr`` over ``epochs`` (then ``min_lr``)."""

    spec = Spec({"epochs": number(REQUIRED, open_low=True), "min_lr": number(0.0)})

    def __init__(self, lr: float, epochs: float, min_lr: float = 0.0) -> None:
        super().__init__(lr)
        check_options("cosine schedule", self.spec, {"epochs": epochs, "min_lr": min_lr})
        self.epochs, self.min_lr = float(epochs), float(min_lr)

    def __call__(self, epoch: float) -> float:
        progress = min(epoch / self.epochs, 1.0)
        return self.min_lr + (self.lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


class LinearWarmup(Schedule):
    """Scale the wrapped schedule by ``epoch / warmup`` (at least 0.001) for ``warmup`` epochs.

    The learning rate so rises linearly from 0.1% of the wrapped one to all of it.
    """

    spec = Spec({"warmup": WARMUP})

    def __init__(self, schedule: Schedule, warmup: float) -> None:
        super().__init__(schedule.lr)
        self.schedule, self.warmup = schedule, float(warmup)

    def __call__(self, epoch: float) -> float:
        lr = self.schedule(epoch)
        if epoch < self.warmup:
            lr *= max(epoch / self.warmup, 1e-3)
        return lr


def make_schedule(name: str, lr: float, warmup: float = 0.0, **options) -> Schedule:
    """Build a schedule from its config name and options, with optional linear warm-up."""
    try:
        schedule = SCHEDULES[name](lr, **options)
    except TypeError as exc:
        raise BarenetError(f"schedule {name!r}: {exc}") from None
    return LinearWarmup(schedule, warmup) if warmup else schedule
