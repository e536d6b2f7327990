"""The rectifier and its leaky variant (docs/math.md, "Activations").

The textbook versions first: :func:`relu`, :func:`relu_backward`, :func:`leaky_relu`,
:func:`leaky_relu_backward`. Then the layers, :class:`ReLU` and :class:`LeakyReLU`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..module import Module
from ..options import Spec, check_options, number
from ..registry import LAYERS
from ..switch import is_plain

# -- the textbook version: docs/math.md's formulas ----------------------------------


def relu(x: np.ndarray) -> np.ndarray:
    """``y = max(x, 0)``, element-wise."""
    return np.maximum(x, 0)


def relu_backward(grad_out: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``dL/dx = delta [x > 0]`` (0 at the kink ``x = 0``)."""
    return grad_out * (x > 0)


def leaky_relu(x: np.ndarray, alpha: float) -> np.ndarray:
    """``y = x`` where ``x > 0``, else ``alpha x``."""
    return np.where(x > 0, x, alpha * x)


def leaky_relu_backward(grad_out: np.ndarray, x: np.ndarray, alpha: float) -> np.ndarray:
    """``dL/dx = delta`` where ``x > 0``, else ``alpha delta``."""
    return np.where(x > 0, grad_out, alpha * grad_out)


# -- the layers ---------------------------------------------------------------------


@LAYERS.register()
class ReLU(Module):
    """``y = max(x, 0)``; ``dx = dy * [x > 0]``.

    Textbook: :func:`relu` and :func:`relu_backward`, keeping the input ``x``. The fast
    path keeps the mask ``[x > 0]`` and multiplies by it; its :meth:`infer` keeps
    nothing and leaves the memory order as it is.
    """

    spec = Spec({})

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y = max(x, 0)``; keeps the mask ``[x > 0]`` for the backward pass.

        See docs/math.md, "Activations".

        ``x`` may have any shape; ``y`` has the same.
        """
        if is_plain():
            self.x = x
            return relu(x)
        self.mask = x > 0
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = delta * [x > 0]`` (element-wise; 0 at the kink ``x = 0``).

        See docs/math.md, "Activations".

        ``grad_out`` (delta = dL/dy) and the returned ``dx`` have the shape of ``x``.
        """
        if is_plain():
            return relu_backward(grad_out, self.x)
        return grad_out * self.mask

    def infer(self, x: np.ndarray) -> np.ndarray:
        """``max(x, 0)`` in one pass, no mask kept; any memory order stays."""
        if is_plain():
            return relu(x)
        return np.maximum(x, x.dtype.type(0))

    def onnx_nodes(self, graph: Any, x: str) -> str:
        return graph.node("Relu", [x], "relu")

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        x = rng.standard_normal((6, 5))
        return [("", cls(), x + np.copysign(0.05, x))]  # clear of the kink at 0


@LAYERS.register()
class LeakyReLU(Module):
    """``y = x`` for ``x > 0`` else ``alpha x``; ``dx = dy`` or ``alpha dy``.

    Textbook: :func:`leaky_relu` and :func:`leaky_relu_backward`, keeping the input
    ``x``. The fast path keeps the slope (1 or alpha) in the input's dtype and
    multiplies by it.

    Parameters
    ----------
    alpha : float
        Slope for negative inputs.
    """

    spec = Spec({"alpha": number(0.01, high=1.0)})
    short_name = "lrelu"

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        check_options(type(self).__name__, self.spec, {"alpha": alpha})
        self.alpha = float(alpha)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y = x`` where ``x > 0``, else ``alpha x``; keeps ``slope`` (1 or alpha).

        See docs/math.md, "Activations".

        ``x`` may have any shape; ``y`` has the same.
        """
        if is_plain():
            self.x = x
            return leaky_relu(x, self.alpha)
        one, alpha = x.dtype.type(1), x.dtype.type(self.alpha)  # no float64 detour
        self.slope = np.where(x > 0, one, alpha)
        return x * self.slope

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = delta * slope``: ``delta`` where ``x > 0``, else ``alpha delta``.

        See docs/math.md, "Activations".

        ``grad_out`` (delta = dL/dy) and the returned ``dx`` have the shape of ``x``.
        """
        if is_plain():
            return leaky_relu_backward(grad_out, self.x, self.alpha)
        return grad_out * self.slope

    def config(self) -> dict:
        return {"alpha": self.alpha}

    def onnx_nodes(self, graph: Any, x: str) -> str:
        return graph.node("LeakyRelu", [x], "leaky", alpha=self.alpha)

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        x = rng.standard_normal((6, 5))
        return [("", cls(alpha=0.1), x + np.copysign(0.05, x))]  # clear of the kink at 0
