"""Flatten: (N, C, H, W) -> (N, C*H*W) (docs/math.md, "Flatten").

A reshape, forward and back; the layer, :class:`Flatten`, has no other path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..module import Module
from ..options import Spec
from ..registry import LAYERS


@LAYERS.register()
class Flatten(Module):
    """Keep the batch axis, join all others; the backward pass restores the shape.

    One path, textbook and fast alike: a reshape (a view where NumPy can give one).
    """

    spec = Spec({}, shape=lambda o, shape: (math.prod(shape),))
    short_name = "flat"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Reshape (N, C, H, W) to (N, C*H*W), or any (N, ...) to (N, prod(...)); keeps the shape.

        No copy where NumPy can give a view. See docs/math.md, "Flatten".

        Parameters
        ----------
        x : ndarray, shape (N, ...)

        Returns
        -------
        y : ndarray, shape (N, prod of x.shape[1:])
        """
        self.shape = x.shape
        # math.prod, not -1: reshape(0, -1) is ambiguous and raises on an empty batch
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = delta`` reshaped to the input's shape (the Jacobian is the identity).

        See docs/math.md, "Flatten".

        Parameters
        ----------
        grad_out : ndarray, shape (N, prod of x.shape[1:])
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, same shape as x
        """
        return grad_out.reshape(self.shape)

    def onnx_nodes(self, graph: Any, x: str) -> str:
        return graph.node("Flatten", [x], "flatten", axis=1)

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        return [("", cls(), rng.standard_normal((3, 2, 3, 4)))]
