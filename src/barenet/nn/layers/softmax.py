"""Softmax as a layer (docs/math.md, "Softmax").

The textbook version first: :func:`~barenet.nn.functional.softmax` (written once in
``functional.py``) and :func:`softmax_backward`; the layer, :class:`Softmax`, runs them
(it has no other path).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functional import softmax
from ..module import Module
from ..options import Spec
from ..registry import LAYERS

# -- the textbook version: docs/math.md's formulas ----------------------------------


def softmax_backward(grad_out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dx = y (delta - sum_k delta_k y_k)`` per row: the Jacobian-vector product,
    O(K) a row, with ``y = softmax(x)`` over the last axis."""
    return y * (grad_out - np.sum(grad_out * y, axis=-1, keepdims=True))


# -- the layer ----------------------------------------------------------------------


@LAYERS.register()
class Softmax(Module):
    """Softmax over the last axis, with its exact Jacobian-vector product.

    ``dx_i = y_i (dy_i - sum_j dy_j y_j)``: usable on its own, not only fused
    into the cross-entropy loss. :func:`~barenet.nn.functional.softmax` and
    :func:`softmax_backward` are its only path.
    """

    spec = Spec({})
    short_name = "softmax"

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

        ``grad_out`` (delta = dL/dy) and the returned ``dx`` have the shape of ``x``.
        """
        return softmax_backward(grad_out, self.y)

    def onnx_nodes(self, graph: Any, x: str) -> str:
        return graph.node("Softmax", [x], "softmax", axis=-1)

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        return [("", cls(), rng.standard_normal((6, 5)))]
