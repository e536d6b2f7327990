"""Inverted dropout (docs/math.md, "Dropout")."""

from __future__ import annotations

import numpy as np

from ..init import as_generator
from ..module import Module
from ..options import LAYER_SPECS, check_options
from .registry import LAYERS


@LAYERS.register()
class Dropout(Module):
    """Zero each input with probability ``p`` in training, scaling survivors by ``1/(1-p)``.

    In eval mode the layer is the identity, so no rescaling is needed at
    inference. Works on inputs of any shape, (N, D) or (N, C, H, W).

    Parameters
    ----------
    p : float
        Probability of dropping each input, in [0, 1).
    rng : numpy.random.Generator or int, optional
        Source of the masks (a seed makes training reproducible).
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        check_options("Dropout", LAYER_SPECS["Dropout"], {"p": p})
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
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        self.mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx = delta * m / (1 - p)``, with the mask of the last ``forward``.

        ``grad_out`` itself if that ``forward`` was the identity. See docs/math.md, "Dropout".

        Parameters
        ----------
        grad_out : ndarray, same shape as x
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, same shape as x
        """
        return grad_out if self.mask is None else grad_out * self.mask

    def config(self) -> dict:
        return {"p": self.p}
