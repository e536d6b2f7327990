"""RMSProp (docs/math.md, "RMSProp")."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..module import Parameter
from ..options import Spec, check_options, number
from .base import MOMENTUM, OPTIMIZERS, Optimizer


@OPTIMIZERS.register("rmsprop")
class RMSProp(Optimizer):
    """``v <- a v + (1-a) g^2;  w <- w - lr g / (sqrt(v) + eps)`` (``torch.optim.RMSprop``).

    With ``momentum``, ``b <- mu b + g / (sqrt(v) + eps);  w <- w - lr b``.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
        Learning rate.
    alpha : float
        Decay rate ``a`` of the mean square ``v``.
    eps : float
        Added to the denominator.
    momentum : float
        ``mu``; 0 for none.
    weight_decay : float
        L2 penalty added to the gradient.
    """

    spec = Spec({"lr": number(1e-2, open_low=True),
                 "alpha": number(0.99, high=1.0, open_high=True),  # 1 keeps the mean square 0
                 "eps": number(1e-8, open_low=True), "momentum": MOMENTUM,
                 "weight_decay": number(0.0)})
    state_names = ("v", "buf")

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        check_options(type(self).__name__, self.spec, {
            "alpha": alpha, "eps": eps, "momentum": momentum, "weight_decay": weight_decay})
        self.alpha, self.eps = float(alpha), float(eps)
        self.momentum, self.weight_decay = float(momentum), float(weight_decay)

    def update(self, w: np.ndarray, g: np.ndarray, s: dict[str, np.ndarray]) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * w
        v = s["v"]
        v *= self.alpha
        v += (1 - self.alpha) * (g * g)
        step = g / (np.sqrt(v) + self.eps)
        if self.momentum:
            buf = s["buf"]
            buf *= self.momentum
            buf += step
            step = buf
        w -= self.lr * step
