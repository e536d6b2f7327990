"""The logistic function as a layer (docs/math.md, "Activations").

The textbook version first: :func:`~barenet.nn.functional.sigmoid` (stable, written
once in ``functional.py``) and :func:`sigmoid_backward`. Then the layer, :class:`Sigmoid`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functional import sigmoid
from ..module import Module
from ..options import Spec
from ..registry import LAYERS
from ..switch import is_plain

# -- the textbook version: docs/math.md's formulas ----------------------------------


def sigmoid_backward(grad_out: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``dL/dx = delta sigma'(x)`` with ``sigma'(x) = e / (1 + e)^2``, ``e = exp(-|x|)``.

    That is ``y (1 - y)`` without its cancellation for large ``x`` (docs/math.md).
    """
    e = np.exp(-np.abs(x))
    return grad_out * e / (1 + e) ** 2


# -- the layer ----------------------------------------------------------------------


@LAYERS.register()
class Sigmoid(Module):
    """``y = 1 / (1 + exp(-x))``; ``dx = dy * y (1 - y)``.

    ``y (1 - y)`` is computed as ``sigma(x) sigma(-x)``: for large positive
    ``x`` the literal ``1 - y`` cancels to a few significant digits (or to
    exactly 0), while ``sigma(-x)`` keeps full precision.

    Textbook: :func:`~barenet.nn.functional.sigmoid` and :func:`sigmoid_backward`,
    keeping the input ``x``. The fast path keeps the slope ``sigma(x) sigma(-x)`` from
    the forward pass instead, and backward is one product.
    """

    spec = Spec({})
    short_name = "sigm"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y = sigma(x) = 1 / (1 + exp(-x))``, computed without overflow by :func:`sigmoid`.

        Keeps ``slope = sigma'(x) = sigma(x) sigma(-x)``. See docs/math.md, "Activations".

        ``x`` may have any shape; ``y`` has the same.
        """
        if is_plain():
            self.x = x
            return sigmoid(x)
        y = sigmoid(x)
        self.slope = y * sigmoid(-x)  # = y (1 - y), without the cancellation
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = delta * slope``, with ``slope = y (1 - y)`` computed as ``e / (1 + e)^2``.

        See docs/math.md, "Activations".

        ``grad_out`` (delta = dL/dy) and the returned ``dx`` have the shape of ``x``.
        """
        if is_plain():
            return sigmoid_backward(grad_out, self.x)
        return grad_out * self.slope

    def onnx_nodes(self, graph: Any, x: str) -> str:
        return graph.node("Sigmoid", [x], "sigmoid")

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        large = np.array([[-800.0, -40.0, -20.0, -8.0, -5.0], [5.0, 8.0, 20.0, 40.0, 800.0]])
        return [("", cls(), 2 * rng.standard_normal((6, 5))),
                ("large |x|", cls(), large)]
