"""Finite-difference gradient checking: is ``backward`` the derivative of ``forward``?

For a layer, the scalar checked is ``f(x) = sum(forward(x) * G)`` for a fixed
random ``G``, so ``backward(G)`` must return ``df/dx`` and leave ``df/dW`` in
every parameter's ``grad``. For a loss, ``f(x) = loss(x, targets)``. Each
derivative is compared with the central difference
``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``, whose error is O(eps^2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import BarenetError
from .losses.base import Loss
from .module import Module


#: Gradients whose norm is below this are compared absolutely: a gradient that is
#: exactly zero in theory (a bias before batch-norm) is ~1e-10 numerically.
ABSOLUTE_FLOOR = 1e-3


@dataclass
class GradcheckResult:
    """Per array: ``|analytic - numeric| / max(|analytic| + |numeric|, ABSOLUTE_FLOOR)`` (L2 norms)."""

    errors: dict[str, float] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    def passed(self, tolerance: float = 1e-6) -> bool:
        return self.max_error < tolerance


def _named_parameters(target: Module) -> dict:
    layers = getattr(target, "layers", None)
    if layers is None:
        return dict(target.params)
    return {f"{i}.{name}": p for i, layer in enumerate(layers) for name, p in layer.params.items()}


def _random_sources(target) -> list[np.random.Generator]:
    modules = getattr(target, "layers", [target])
    return [m.rng for m in modules if isinstance(getattr(m, "rng", None), np.random.Generator)]


def gradcheck(target: Module | Loss, x: np.ndarray, targets: np.ndarray | None = None,
              eps: float = 1e-6, max_entries: int | None = 200,
              seed: int = 0) -> GradcheckResult:
    """Compare analytic and central-difference gradients in float64.

    Parameters
    ----------
    target : Module (a layer or Sequential) or Loss
        Must hold float64 parameters (``module.astype(np.float64)``).
    x : ndarray
        Input (any shape the target accepts); cast to float64.
    targets : ndarray, optional
        Required when ``target`` is a loss.
    eps : float
        Finite-difference step.
    max_entries : int or None
        Check at most this many randomly chosen entries of each array (None: all).
    seed : int
        Seeds the upstream gradient ``G`` and the choice of entries.

    Returns
    -------
    GradcheckResult
        Worst relative error per array (``"input"`` and each parameter name).
    """
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)
    is_loss = isinstance(target, Loss)
    if is_loss and targets is None:
        raise BarenetError("gradcheck of a loss needs targets")
    params = {} if is_loss else _named_parameters(target)
    if any(p.data.dtype != np.float64 for p in params.values()):
        raise BarenetError("gradcheck needs float64 parameters; call .astype(np.float64) first")
    sources = _random_sources(target)
    states = [g.bit_generator.state for g in sources]

    def forward(inp: np.ndarray) -> np.ndarray | float:
        for g, s in zip(sources, states):  # same dropout mask on every evaluation
            g.bit_generator.state = s
        return target.forward(inp, targets) if is_loss else target.forward(inp)

    out = forward(x)
    upstream = None if is_loss else rng.standard_normal(np.shape(out))

    def f(inp: np.ndarray) -> float:
        y = forward(inp)
        return float(y) if is_loss else float(np.sum(y * upstream))

    forward(x)
    analytic = {"input": np.array(target.backward() if is_loss else target.backward(upstream))}
    analytic |= {name: p.grad.copy() for name, p in params.items()}

    arrays = {"input": x} | {name: p.data for name, p in params.items()}
    result = GradcheckResult()
    for name, array in arrays.items():
        flat = array.reshape(-1)
        picks = np.arange(flat.size)
        if max_entries is not None and flat.size > max_entries:
            picks = rng.choice(flat.size, max_entries, replace=False)
        numeric = np.empty(len(picks))
        for k, i in enumerate(picks):
            old = flat[i]
            flat[i] = old + eps
            plus = f(x)
            flat[i] = old - eps
            minus = f(x)
            flat[i] = old
            numeric[k] = (plus - minus) / (2 * eps)
        a = analytic[name].reshape(-1)[picks]
        scale = max(np.linalg.norm(a) + np.linalg.norm(numeric), ABSOLUTE_FLOOR)
        result.errors[name] = float(np.linalg.norm(a - numeric) / scale)
        result.checked[name] = len(picks)
    return result
