"""The switch between the textbook path and the fast one.

Every layer file starts with its textbook version: plain functions of docs/math.md's
formulas. The layer class calls them under :func:`plain`, and otherwise its fast path
(:mod:`barenet.nn.kernels`): the same inputs give the same outputs up to rounding, and
the same gradients. ::

    with bn.nn.plain():          # every forward, backward and infer inside: textbook
        y = model.forward(x)
        model.backward(delta)

One setting for the whole process, not one per thread: prediction runs batches on
worker threads (:func:`barenet.nn.kernels.parallel.over_batches`), and those must take
the path the caller chose. A forward and its backward run in the same setting: switch
between steps, not inside one (a layer's textbook path may keep other arrays than its
fast one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_plain = False


def is_plain() -> bool:
    """True while the layers run their textbook functions (:func:`plain`)."""
    return _plain


def set_plain(on: bool = True) -> bool:
    """Run the textbook path (True) or the fast one (False) from now on; returns the
    previous setting."""
    global _plain
    previous, _plain = _plain, bool(on)
    return previous


@contextmanager
def plain(on: bool = True) -> Iterator[None]:
    """``with plain():`` every layer runs its textbook functions inside; the previous
    setting comes back after the block, also when it raises."""
    previous = set_plain(on)
    try:
        yield
    finally:
        set_plain(previous)
