"""Learning-rate schedules: functions of training progress measured in epochs.

Each schedule is called with the fractional epoch (``epoch + batch / batches``)
and returns the learning rate, so the same config works whatever the batch
size. ``linear warm-up`` wraps any other schedule.
"""

from __future__ import annotations

import math

from ...errors import BarenetError
from ..registry import Registry

SCHEDULES: Registry = Registry("schedule")


class Schedule:
    def __init__(self, lr: float) -> None:
        self.lr = float(lr)

    def __call__(self, epoch: float) -> float:
        raise NotImplementedError


@SCHEDULES.register("constant")
class Constant(Schedule):
    """``lr`` throughout."""

    def __call__(self, epoch: float) -> float:
        return self.lr


@SCHEDULES.register("step")
class StepDecay(Schedule):
    """Multiply by ``gamma`` every ``step_size`` whole epochs."""

    def __init__(self, lr: float, step_size: int = 5, gamma: float = 0.1) -> None:
        super().__init__(lr)
        if int(step_size) < 1:
            raise BarenetError(f"step schedule: step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def __call__(self, epoch: float) -> float:
        return self.lr * self.gamma ** (int(epoch) // self.step_size)


@SCHEDULES.register("exponential")
class ExponentialDecay(Schedule):
    """Multiply by ``gamma`` after every whole epoch."""

    def __init__(self, lr: float, gamma: float = 0.9) -> None:
        super().__init__(lr)
        self.gamma = float(gamma)

    def __call__(self, epoch: float) -> float:
        return self.lr * self.gamma ** int(epoch)


@SCHEDULES.register("cosine")
class Cosine(Schedule):
    """Half a cosine from ``lr`` down to ``min_lr`` over ``epochs`` (then ``min_lr``)."""

    def __init__(self, lr: float, epochs: float, min_lr: float = 0.0) -> None:
        super().__init__(lr)
        if not float(epochs) > 0:
            raise BarenetError(f"cosine schedule: epochs must be > 0, got {epochs}")
        self.epochs, self.min_lr = float(epochs), float(min_lr)

    def __call__(self, epoch: float) -> float:
        progress = min(epoch / self.epochs, 1.0)
        return self.min_lr + (self.lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


class LinearWarmup(Schedule):
    """Scale the wrapped schedule by ``epoch / warmup`` (at least 0.001) for ``warmup`` epochs.

    The learning rate so rises linearly from 0.1% of the wrapped one to all of it.
    """

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
