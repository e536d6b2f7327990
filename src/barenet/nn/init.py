"""Weight initialisers (docs/math.md, "Initialisation").

Each takes the array shape, the fan-in and fan-out of one output unit, a
random generator and a dtype, and returns a new array.

What a model may allocate is checked before any initialiser runs
(:mod:`barenet.nn.options`).
"""

from __future__ import annotations

import numpy as np

from .registry import Registry

INITIALIZERS: Registry = Registry("initialiser")

#: Values drawn at a time: the float64 draws of a large layer never exist all at once.
CHUNK = 1 << 20


def _drawn(shape, dtype, draw) -> np.ndarray:
    """An array of ``shape`` filled from ``draw(count)`` (float64 values), a chunk at a time.

    Departs from the textbook one-liner ``draw(size).astype(dtype)`` only in memory: the
    generator gives the same stream in pieces, so the values are the same bits.
    """
    out = np.empty(shape, dtype)
    flat = out.reshape(-1)
    for start in range(0, flat.size, CHUNK):
        flat[start:start + CHUNK] = draw(min(CHUNK, flat.size - start))
    return out


@INITIALIZERS.register("he")
def he(shape, fan_in, fan_out, rng, dtype=np.float32) -> np.ndarray:
    """He / Kaiming normal: std = sqrt(2 / fan_in), for ReLU networks."""
    return _drawn(shape, dtype, lambda n: rng.standard_normal(n) * np.sqrt(2.0 / fan_in))


@INITIALIZERS.register("xavier")
def xavier(shape, fan_in, fan_out, rng, dtype=np.float32) -> np.ndarray:
    """Xavier / Glorot uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), for tanh/sigmoid."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return _drawn(shape, dtype, lambda n: rng.uniform(-limit, limit, n))


@INITIALIZERS.register("lecun")
def lecun(shape, fan_in, fan_out, rng, dtype=np.float32) -> np.ndarray:
    """LeCun normal: std = sqrt(1 / fan_in), for SELU-like or linear units."""
    return _drawn(shape, dtype, lambda n: rng.standard_normal(n) * np.sqrt(1.0 / fan_in))


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Accept a Generator, a seed or None (fresh entropy) and return a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
