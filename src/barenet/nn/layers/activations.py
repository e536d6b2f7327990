"""Element-wise activations and softmax (docs/math.md, "Activations", "Softmax")."""

from __future__ import annotations

import numpy as np

from ..module import Module
from .registry import LAYERS


@LAYERS.register()
class ReLU(Module):
    """``y = max(x, 0)``; ``dx = dy * [x > 0]``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y = max(x, 0)``; keeps the mask ``[x > 0]`` for the backward pass.

        See docs/math.md, "Activations".

        Parameters
        ----------
        x : ndarray, any shape

        Returns
        -------
        y : ndarray, same shape as x
        """
        self.mask = x > 0
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = delta * [x > 0]`` (element-wise; 0 at the kink ``x = 0``).

        See docs/math.md, "Activations".

        Parameters
        ----------
        grad_out : ndarray, same shape as x
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, same shape as x
        """
        return grad_out * self.mask

    def infer(self, x: np.ndarray) -> np.ndarray:
        """``max(x, 0)`` in one pass, no mask kept; any memory order stays."""
        return np.maximum(x, x.dtype.type(0))


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
        """``y = x`` where ``x > 0``, else ``alpha x``; keeps ``slope`` (1 or alpha).

        See docs/math.md, "Activations".

        Parameters
        ----------
        x : ndarray, any shape

        Returns
        -------
        y : ndarray, same shape as x
        """
        one, alpha = x.dtype.type(1), x.dtype.type(self.alpha)  # no float64 detour
        self.slope = np.where(x > 0, one, alpha)
        return x * self.slope

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = delta * slope``: ``delta`` where ``x > 0``, else ``alpha delta``.

        See docs/math.md, "Activations".

        Parameters
        ----------
        grad_out : ndarray, same shape as x
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, same shape as x
        """
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

    ``y (1 - y)`` is computed as ``sigma(x) sigma(-x)``: for large positive
    ``x`` the literal ``1 - y`` cancels to a few significant digits (or to
    exactly 0), while ``sigma(-x)`` keeps full precision.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y = sigma(x) = 1 / (1 + exp(-x))``, computed without overflow by :func:`sigmoid`.

        Keeps ``slope = sigma'(x) = sigma(x) sigma(-x)``. See docs/math.md, "Activations".

        Parameters
        ----------
        x : ndarray, any shape

        Returns
        -------
        y : ndarray, same shape as x
        """
        y = sigmoid(x)
        self.slope = y * sigmoid(-x)  # = y (1 - y), without the cancellation
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = delta * slope``, with ``slope = y (1 - y)`` computed as ``e / (1 + e)^2``.

        See docs/math.md, "Activations".

        Parameters
        ----------
        grad_out : ndarray, same shape as x
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, same shape as x
        """
        return grad_out * self.slope


@LAYERS.register()
class Tanh(Module):
    """``y = tanh(x)``; ``dx = dy * (1 - y^2)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y = tanh(x)``; keeps ``y`` for the backward pass.

        See docs/math.md, "Activations".

        Parameters
        ----------
        x : ndarray, any shape

        Returns
        -------
        y : ndarray, same shape as x
        """
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = delta * (1 - y^2)``.

        See docs/math.md, "Activations".

        Parameters
        ----------
        grad_out : ndarray, same shape as x
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, same shape as x
        """
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
        """``y_k = exp(x_k) / sum_j exp(x_j)`` over the last axis, shifted by its max (no overflow).

        Keeps ``y``. See docs/math.md, "Softmax" (there ``z`` = x, ``s`` = y).

        Parameters
        ----------
        x : ndarray, shape (..., K)
            K classes on the last axis.

        Returns
        -------
        y : ndarray, same shape as x
        """
        self.y = softmax(x)
        return self.y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = y * (delta - sum_k delta_k y_k)``, the sum over the last axis, per row.

        The Jacobian-vector product, O(K) per row. See docs/math.md, "Softmax".

        Parameters
        ----------
        grad_out : ndarray, same shape as x
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, same shape as x
        """
        y = self.y
        return y * (grad_out - np.sum(grad_out * y, axis=-1, keepdims=True))
