"""The hyperbolic tangent as a layer (docs/math.md, "Activations").

The textbook version first, :func:`tanh_backward` (the forward pass is ``np.tanh``);
the layer, :class:`Tanh`, runs it (it has no other path).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..module import Module
from ..options import Spec
from ..registry import LAYERS

# -- the textbook version: docs/math.md's formulas ----------------------------------


def tanh_backward(grad_out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dx = delta (1 - y^2)`` with ``y = tanh(x)``."""
    return grad_out * (1 - y * y)


# -- the layer ----------------------------------------------------------------------


@LAYERS.register()
class Tanh(Module):
    """``y = tanh(x)``; ``dx = dy * (1 - y^2)``: :func:`tanh_backward`, its only path."""

    spec = Spec({})

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y = tanh(x)``; keeps ``y`` for the backward pass.

        See docs/math.md, "Activations".

        ``x`` may have any shape; ``y`` has the same.
        """
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = delta * (1 - y^2)``.

        See docs/math.md, "Activations".

        ``grad_out`` (delta = dL/dy) and the returned ``dx`` have the shape of ``x``.
        """
        return tanh_backward(grad_out, self.y)

    def onnx_nodes(self, graph: Any, x: str) -> str:
        return graph.node("Tanh", [x], "tanh")

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        return [("", cls(), rng.standard_normal((6, 5)))]
