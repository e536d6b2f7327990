"""What every optimizer shares: (param, grad) pairs in, in-place updates out."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ...errors import BarenetError
from ..module import Parameter
from ..options import Spec, number
from ..registry import Registry

#: Optimizer name -> class; each registers itself with the spec it declares.
OPTIMIZERS: Registry = Registry("optimizer", owns="spec")
#: A momentum or decay rate of 1 never forgets: the steps only grow.
MOMENTUM = number(0.0, high=1.0, open_high=True)

#: Moment estimates smaller than this are set to zero (float32 only): see flush_subnormals.
SUBNORMAL_FLUSH = 1e-30
FLUSH_EVERY = 100


def flush_subnormals(arrays: Iterable[np.ndarray]) -> None:
    """Set tiny float32 values to exactly zero.

    Where a gradient stays zero (dead ReLU units, blank MNIST border pixels)
    moment estimates decay geometrically into the subnormal range, where
    arithmetic is about 50x slower: an MLP epoch measured 2.2 times slower
    without this (docs/math.md, "Subnormal floats"). Values this small change
    no update measurably.
    """
    for a in arrays:
        if a.dtype == np.float32:
            a[np.abs(a) < SUBNORMAL_FLUSH] = 0


class Optimizer:
    """Holds the parameters, the learning rate ``lr`` and per-parameter state.

    ``step()`` applies one update to every ``param.data`` in place from
    ``param.grad``. ``state`` holds one dict of arrays per parameter (e.g.
    Adam's ``m`` and ``v``); ``t`` counts steps.
    """

    state_names: tuple[str, ...] = ()
    #: The options of the constructor (``params`` is not one: the trainer passes the
    #: model's); a registered optimizer declares its own.
    spec: Spec = Spec({})

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise BarenetError("optimizer got no parameters to train")
        if not float(lr) > 0:
            raise BarenetError(f"learning rate must be > 0, got {lr}")
        self.lr = float(lr)
        self.t = 0
        self.state = [{name: np.zeros_like(p.data) for name in self.state_names}
                      for p in self.params]

    def step(self) -> None:
        self.t += 1
        for p, s in zip(self.params, self.state, strict=True):
            self.update(p.data, p.grad, s)
        if self.t % FLUSH_EVERY == 0:
            flush_subnormals(a for s in self.state for a in s.values())

    def update(self, w: np.ndarray, g: np.ndarray, s: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def scratch(self, like: np.ndarray) -> np.ndarray:
        """Work space shaped like ``like`` for one update, reused by the next (not state)."""
        buffer = getattr(self, "_scratch", None)
        if buffer is None or buffer.size < like.size or buffer.dtype != like.dtype:
            buffer = self._scratch = np.empty(max(p.data.size for p in self.params), like.dtype)
        return buffer[:like.size].reshape(like.shape)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad[...] = 0

    def state_dict(self) -> dict[str, np.ndarray]:
        """Arrays that restore the optimizer exactly (for checkpoints)."""
        out = {"t": np.array(self.t), "lr": np.array(self.lr)}
        for i, s in enumerate(self.state):
            out.update({f"{i}.{k}": v for k, v in s.items()})
        return out

    def load_state_dict(self, arrays: dict[str, np.ndarray]) -> None:
        self.t, self.lr = int(arrays["t"]), float(arrays["lr"])
        for i, s in enumerate(self.state):
            for k in s:
                s[k][...] = arrays[f"{i}.{k}"]
