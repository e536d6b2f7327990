"""Inverted dropout (docs/math.md, "Dropout").

The textbook version first, :func:`dropout` and :func:`dropout_backward`; the layer,
:class:`Dropout`, runs them (it has no other path).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..init import as_generator
from ..module import Module
from ..options import Spec, check_options, number
from ..registry import LAYERS

# -- the textbook version: docs/math.md's formulas ----------------------------------


def dropout(x: np.ndarray, p: float, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """``y = x m / (1 - p)`` with ``m ~ Bernoulli(1 - p)`` per element: ``(y, mask)``, the
    mask with the scale ``1 / (1 - p)`` in it."""
    keep = rng.random(x.shape, dtype=np.float32) >= p  # u >= p: kept with probability 1 - p
    mask = keep.astype(x.dtype) / x.dtype.type(1.0 - p)
    return x * mask, mask


def dropout_backward(grad_out: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``dL/dx = delta m / (1 - p)``: the forward pass's mask, scale included."""
    return grad_out * mask


# -- the layer ----------------------------------------------------------------------


@LAYERS.register()
class Dropout(Module):
    """Zero each input with probability ``p`` in training, scaling survivors by ``1/(1-p)``.

    In eval mode the layer is the identity, so no rescaling is needed at
    inference. :func:`dropout` and :func:`dropout_backward` are its only path. Works on
    inputs of any shape, (N, D) or (N, C, H, W).

    Parameters
    ----------
    p : float
        Probability of dropping each input, in [0, 1).
    rng : numpy.random.Generator or int, optional
        Source of the masks (a seed makes training reproducible).
    """

    spec = Spec({"p": number(0.5, high=1.0, open_high=True)}, random=True)
    short_name = "drop"

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        check_options(type(self).__name__, self.spec, {"p": p})
        self.p = float(p)
        self.rng = as_generator(rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Training: ``y = x * m / (1 - p)``, m ~ Bernoulli(1 - p); eval or ``p = 0``: ``y = x``.

        Keeps ``mask = m / (1 - p)`` (None when the identity). See docs/math.md, "Dropout".

        Parameters
        ----------
        x : ndarray, any shape, e.g. (N, D) or (N, C, H, W)

        Returns
        -------
        y : ndarray, same shape as x
            ``x`` itself, not a copy, when the layer is the identity.
        """
        if not self.training or self.p == 0.0:
            self.mask = None
            return x
        y, self.mask = dropout(x, self.p, self.rng)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = delta * m / (1 - p)``, with the mask of the last ``forward``.

        ``grad_out`` itself if that ``forward`` was the identity. See docs/math.md, "Dropout".

        ``grad_out`` (delta = dL/dy) and the returned ``dx`` have the shape of ``x``.
        """
        return grad_out if self.mask is None else dropout_backward(grad_out, self.mask)

    def config(self) -> dict:
        return {"p": self.p}

    def onnx_nodes(self, graph: Any, x: str) -> str:
        return x  # eval mode: the identity

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        return [("p=0.4, train", cls(0.4, rng=np.random.default_rng(rng.integers(2**32))),
                        rng.standard_normal((6, 5)))]
