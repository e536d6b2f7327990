"""argparse types shared by the subcommands: each refuses a bad value in one line naming it."""

from __future__ import annotations

import argparse
import math

from ..nn.kernels.parallel import MAX_THREADS

#: Seeds are NumPy's 32-bit ``SeedSequence`` entropy, as a config's ``seed`` is.
SEED_LIMIT = 2**32


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def seed(text: str) -> int:
    """argparse type: a random seed, an integer in [0, 2^32)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {SEED_LIMIT - 1}, "
                                         f"got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (``inf`` and ``nan`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number above 0, got {text!r}")
    return value


def thread_count(text: str) -> int:
    """argparse type: a thread count from 0 (one per core) to :data:`MAX_THREADS`."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 (one thread per core) "
                                         f"to {MAX_THREADS}, got {text!r}")
    return value
