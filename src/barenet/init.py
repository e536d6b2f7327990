"""Weight initialisers (docs/math.md, "Initialisation").

Each takes the array shape, the fan-in and fan-out of one output unit, a
random generator and a dtype, and returns a new array.

Inside :func:`weight_budget` they first check the size they are asked for,
so that a model described by untrusted input (a model file, a config) with
absurd sizes is refused before its memory is allocated.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from contextvars import ContextVar

import numpy as np

from .errors import BarenetError
from .registry import Registry

INITIALIZERS: Registry = Registry("initialiser")

# [weights still allowed, the limit] inside weight_budget(), else None
_BUDGET: ContextVar[list[int] | None] = ContextVar("weight_budget", default=None)


@contextlib.contextmanager
def weight_budget(limit: int) -> Iterator[None]:
    """Within the block, initialisers create at most ``limit`` weights in all.

    Asking for more raises :class:`BarenetError` before anything is allocated.
    """
    token = _BUDGET.set([limit, limit])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _reserve(shape: tuple[int, ...]) -> None:
    budget = _BUDGET.get()
    if budget is None:
        return
    size = math.prod(max(int(d), 0) for d in shape)  # NumPy refuses negative sizes itself
    if size > budget[0]:
        raise BarenetError(f"a weight array of shape {tuple(shape)} ({size:,} values) takes the "
                           f"model past {budget[1]:,} weights, the most allowed; "
                           "use smaller layers")
    budget[0] -= size


@INITIALIZERS.register("he")
def he(shape, fan_in, fan_out, rng, dtype=np.float32) -> np.ndarray:
    """He / Kaiming normal: std = sqrt(2 / fan_in), for ReLU networks."""
    _reserve(shape)
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


@INITIALIZERS.register("xavier")
def xavier(shape, fan_in, fan_out, rng, dtype=np.float32) -> np.ndarray:
    """Xavier / Glorot uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), for tanh/sigmoid."""
    _reserve(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(dtype)


@INITIALIZERS.register("lecun")
def lecun(shape, fan_in, fan_out, rng, dtype=np.float32) -> np.ndarray:
    """LeCun normal: std = sqrt(1 / fan_in), for SELU-like or linear units."""
    _reserve(shape)
    return (rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)).astype(dtype)


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Accept a Generator, a seed or None (fresh entropy) and return a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
