"""Fully connected layer (docs/math.md, "Linear")."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from ...errors import BarenetError
from ..init import INITIALIZERS, as_generator
from ..module import Module, Parameter
from .registry import LAYERS


@LAYERS.register()
class Linear(Module):
    """``y = x W + b``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of one input and one output vector.
    init : {"he", "xavier", "lecun"}
        Weight initialiser; biases start at zero.
    bias : bool
        Whether to add ``b``.
    rng : numpy.random.Generator or int, optional
        Source of the initial weights.
    dtype : numpy dtype
        float32 (default) or float64.

    Shapes: ``x`` (N, in_features) -> ``y`` (N, out_features); ``W`` is
    (in_features, out_features), so the forward pass is one matrix product.
    """

    def __init__(self, in_features: int, out_features: int, init: str = "he",
                 bias: bool = True, rng: np.random.Generator | int | None = None,
                 dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.init = init
        w = INITIALIZERS[init]((self.in_features, self.out_features), self.in_features,
                               self.out_features, as_generator(rng), dtype)
        self.params["weight"] = Parameter(w, "weight")
        if bias:
            self.params["bias"] = Parameter(np.zeros(self.out_features, dtype), "bias")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute ``y = x W + b`` and keep ``x`` for the backward pass.

        See docs/math.md, "Linear".

        Parameters
        ----------
        x : ndarray, shape (N, in_features)

        Returns
        -------
        y : ndarray, shape (N, out_features)
        """
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise BarenetError(f"Linear({self.in_features}, {self.out_features}) expects input "
                               f"of shape (N, {self.in_features}), got {x.shape}; "
                               "put a Flatten layer before it for image input")
        self.x = x
        y = x @ self.params["weight"].data
        if self.bias is not None:
            y += self.params["bias"].data
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dW = x^T delta``, ``dL/db = sum_n delta_n``, ``dL/dx = delta W^T``.

        Stores dL/dW in ``weight.grad``, dL/db in ``bias.grad``. See docs/math.md, "Linear".

        Parameters
        ----------
        grad_out : ndarray, shape (N, out_features)
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, shape (N, in_features), or None
            dL/dx; None when ``needs_input_grad`` is False.
        """
        w = self.params["weight"]
        np.matmul(self.x.T, grad_out, out=w.grad)
        if self.bias is not None:
            np.sum(grad_out, axis=0, out=self.params["bias"].grad)
        if not self.needs_input_grad:  # the network's input: see Sequential.backward
            return None
        return grad_out @ w.data.T

    def config(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features,
                "init": self.init, "bias": self.bias is not None}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self.out_features,)
