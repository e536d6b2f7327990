"""Stochastic gradient descent with momentum (docs/math.md, "SGD")."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..module import Parameter
from ..options import Spec, check_options, flag, number
from .base import MOMENTUM, OPTIMIZERS, Optimizer


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    """``g <- g + wd w;  v <- mu v + g;  w <- w - lr (g + mu v if nesterov else v)``.

    With ``momentum=0`` this is plain ``w <- w - lr g``. Same conventions as
    ``torch.optim.SGD`` (dampening 0).

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
        Learning rate (a schedule may change ``self.lr`` between steps).
    momentum : float
        ``mu``; 0 for plain gradient descent.
    nesterov : bool
        Use the look-ahead gradient ``g + mu v``.
    weight_decay : float
        L2 penalty ``wd`` added to the gradient.
    """

    spec = Spec({"lr": number(0.01, open_low=True), "momentum": MOMENTUM,
                 "nesterov": flag(False), "weight_decay": number(0.0)})
    state_names = ("velocity",)

    def __init__(self, params: Iterable[Parameter], lr: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        check_options(type(self).__name__, self.spec, {
            "momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay})
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.weight_decay = float(weight_decay)

    def update(self, w: np.ndarray, g: np.ndarray, s: dict[str, np.ndarray]) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * w
        if self.momentum:
            v = s["velocity"]
            v *= self.momentum
            v += g
            g = g + self.momentum * v if self.nesterov else v
        w -= self.lr * g
