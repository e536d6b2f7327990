"""Element-wise activations and softmax (docs/math.md, "Activations", "Softmax")."""

from __future__ import annotations

import numpy as np

from ..module import Module
from .registry import LAYERS


@LAYERS.register()
class ReLU(Module):
    """``y = max(x, 0)``; ``dx = dy * [x > 0]``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self.mask


@LAYERS.register()
class LeakyReLU(Module):
    """``y = x`` for ``x > 0`` else ``alpha x``; ``dx = dy`` or ``alpha dy``.

    Parameters
    ----------
    alpha : float
        Slope for negative inputs.
    """

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: np.ndarray) -> np.ndarray:
        one, alpha = x.dtype.type(1), x.dtype.type(self.alpha)  # no float64 detour
        self.slope = np.where(x > 0, one, alpha)
        return x * self.slope

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self.slope

    def config(self) -> dict:
        return {"alpha": self.alpha}


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function without overflow: uses ``exp(-|x|)``, which is at most 1."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


@LAYERS.register()
class Sigmoid(Module):
    """``y = 1 / (1 + exp(-x))``; ``dx = dy * y (1 - y)``.

    ``y (1 - y)`` is computed as ``e / (1 + e)^2`` with ``e = exp(-|x|)``:
    for large positive ``x`` the literal ``1 - y`` cancels to a few
    significant digits (or to exactly 0), this form keeps full precision.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(x))
        self.slope = (e / ((1 + e) * (1 + e))).astype(x.dtype, copy=False)
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self.slope


@LAYERS.register()
class Tanh(Module):
    """``y = tanh(x)``; ``dx = dy * (1 - y^2)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * (1 - self.y * self.y)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``exp(z - max z) / sum exp(z - max z)`` along ``axis``: never overflows."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@LAYERS.register()
class Softmax(Module):
    """Softmax over the last axis, with its exact Jacobian-vector product.

    ``dx_i = y_i (dy_i - sum_j dy_j y_j)``: usable on its own, not only fused
    into the cross-entropy loss.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.y = softmax(x)
        return self.y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self.y
        return y * (grad_out - np.sum(grad_out * y, axis=-1, keepdims=True))
