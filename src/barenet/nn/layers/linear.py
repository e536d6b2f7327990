"""Fully connected layer (docs/math.md, "Linear").

The textbook version first: :func:`linear` and :func:`linear_backward`. Then the layer,
:class:`Linear`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ...errors import BarenetError
from ..init import INITIALIZERS, as_generator
from ..module import Module, Parameter
from ..options import INITS, Spec, check_options, choice, flag, needs_flat, size
from ..registry import LAYERS
from ..switch import is_plain

# -- the textbook version: docs/math.md's formulas ----------------------------------


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``y = x W + b``: x (N, D_in), W (D_in, D_out), b (D_out,) or None -> y (N, D_out)."""
    return x @ weight if bias is None else x @ weight + bias


def linear_backward(grad_out: np.ndarray, x: np.ndarray, weight: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``dL/dx = delta W^T``, ``dL/dW = x^T delta``, ``dL/db = sum_n delta_n``."""
    return grad_out @ weight.T, x.T @ grad_out, grad_out.sum(axis=0)


# -- the layer ----------------------------------------------------------------------


def _shape(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    needs_flat("Linear", shape)
    return (o["out_features"],)


def _arrays(o: Mapping[str, Any]) -> list[tuple[int, ...]]:
    return [(o["in_features"], o["out_features"])] + ([(o["out_features"],)] if o["bias"] else [])


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

    Its textbook version is :func:`linear` and :func:`linear_backward`; the fast path
    adds the bias in place and writes the gradients straight into ``weight.grad`` and
    ``bias.grad``, and skips ``dL/dx`` when nobody needs it.
    """

    #: ``rng`` and ``dtype`` are not options: no file holds them.
    spec = Spec({"in_features": size(inferred=True), "out_features": size(),
                 "init": choice("he", *INITS), "bias": flag(True)},
                _arrays, random=True, shape=_shape)
    short_name = "linear"
    output_axis = 1  # W is (in_features, out_features)

    def __init__(self, in_features: int, out_features: int, init: str = "he",
                 bias: bool = True, rng: np.random.Generator | int | None = None,
                 dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        initializer = INITIALIZERS[init]  # a one-line error naming the initialisers
        check_options(type(self).__name__, self.spec, {
            "in_features": in_features, "out_features": out_features, "init": init,
            "bias": bias})
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.init = init
        w = initializer((self.in_features, self.out_features), self.in_features,
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
        if is_plain():
            return linear(x, self.params["weight"].data, self._bias())
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
        if is_plain():
            dx, d_weight, d_bias = linear_backward(grad_out, self.x, w.data)
            w.grad[...] = d_weight
            if self.bias is not None:
                self.params["bias"].grad[...] = d_bias
            return dx if self.needs_input_grad else None
        np.matmul(self.x.T, grad_out, out=w.grad)
        if self.bias is not None:
            np.sum(grad_out, axis=0, out=self.params["bias"].grad)
        if not self.needs_input_grad:  # the network's input: see Sequential.backward
            return None
        return grad_out @ w.data.T

    def _bias(self) -> np.ndarray | None:
        return self.params["bias"].data if "bias" in self.params else None

    def config(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features,
                "init": self.init, "bias": self.bias is not None}

    def onnx_nodes(self, graph: Any, x: str) -> str:
        y = graph.node("MatMul", [x, graph.constant("weight", self.weight.data)], "linear")
        if self.bias is not None:
            y = graph.node("Add", [y, graph.constant("bias", self.bias.data)], "linear_bias")
        return y

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        return [(f"init={init}, bias={bias}",
                        cls(5, 4, init=init, bias=bias, rng=rng, dtype=np.float64),
                        rng.standard_normal((6, 5)))
                for init in ("he", "xavier", "lecun") for bias in (True, False)]
