"""Adam and AdamW (docs/math.md, "Adam")."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..module import Parameter
from ..options import Option, Spec, check_options, number
from .base import OPTIMIZERS, Optimizer

# beta = 1 never forgets, and makes the bias correction 1 - beta^t divide by zero
_BETAS = Option("numbers", (0.9, 0.999), low=0.0, high=1.0, open_high=True, ordered=False)


@OPTIMIZERS.register("adam")
class Adam(Optimizer):
    """Adaptive moments (Kingma and Ba, 2015).

    ``m <- b1 m + (1-b1) g``; ``v <- b2 v + (1-b2) g^2``;
    ``w <- w - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)``.
    ``weight_decay`` adds ``wd w`` to the gradient (L2), as ``torch.optim.Adam``.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
        Learning rate.
    betas : (float, float)
        Decay rates ``b1``, ``b2`` of the first and second moment estimates.
    eps : float
        Added to the denominator.
    weight_decay : float
        L2 penalty (Adam) or decoupled decay rate (AdamW).
    """

    spec = Spec({"lr": number(1e-3, open_low=True), "betas": _BETAS,
                 "eps": number(1e-8, open_low=True), "weight_decay": number(0.0)})
    state_names = ("m", "v")
    decoupled = False

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        check_options(type(self).__name__, self.spec,
                      {"betas": list(betas), "eps": eps, "weight_decay": weight_decay})
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps, self.weight_decay = float(eps), float(weight_decay)

    def step(self) -> None:
        # Bias corrections depend only on t: fold them into two scalars per step.
        t = self.t + 1
        self._step_size = self.lr / (1 - self.beta1 ** t)
        self._root_bc2 = math.sqrt(1 - self.beta2 ** t)
        super().step()

    def update(self, w: np.ndarray, g: np.ndarray, s: dict[str, np.ndarray]) -> None:
        """One step of :func:`adam_reference`, in place, without temporaries.

        Differs from the textbook form in two ways, same numbers up to rounding:
        the bias corrections are two scalars per step (``step``), so
        ``m_hat`` and ``v_hat`` are never formed, and every intermediate goes
        through one reused scratch array: allocating the temporaries of the
        textbook form (:func:`adam_reference`, which the tests hold equal) costs
        more than its arithmetic.
        """
        if self.weight_decay:
            if self.decoupled:
                w *= 1 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * w
        # The same arithmetic as m/denom with temporaries, done in place through one
        # reused scratch array (the allocations cost more than the arithmetic here).
        m, v, tmp = s["m"], s["v"], self.scratch(w)
        m *= self.beta1  # m <- b1 m + (1-b1) g
        np.multiply(g, 1 - self.beta1, out=tmp)
        m += tmp
        v *= self.beta2  # v <- b2 v + (1-b2) g^2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - self.beta2
        v += tmp
        np.sqrt(v, out=tmp)  # denom = sqrt(v) / root_bc2 + eps
        tmp /= self._root_bc2
        tmp += self.eps
        np.divide(m, tmp, out=tmp)  # w <- w - step_size m / denom
        tmp *= self._step_size
        w -= tmp


def adam_reference(w: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
                   lr: float, betas: tuple[float, float], eps: float,
                   weight_decay: float = 0.0, decoupled: bool = False,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step ``t`` (from 1) of Adam as docs/math.md writes it; new arrays ``(w, m, v)``.

    The plain reference for :meth:`Adam.update`, which the tests hold equal to it.
    """
    b1, b2 = betas
    if decoupled:  # AdamW: shrink the weights first, leave g alone
        w = w * (1 - lr * weight_decay)
    elif weight_decay:  # L2: add the penalty's gradient
        g = g + weight_decay * w
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@OPTIMIZERS.register("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): ``w <- w (1 - lr wd)`` first."""

    spec = Spec({"lr": number(1e-3, open_low=True), "betas": _BETAS,
                 "eps": number(1e-8, open_low=True), "weight_decay": number(0.01)})
    decoupled = True

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
