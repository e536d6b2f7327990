"""Mean squared error and binary cross-entropy from logits (docs/math.md, "MSE", "BCE")."""

from __future__ import annotations

import numpy as np

from ...errors import BarenetError
from ..functional import sigmoid
from .base import LOSSES, Loss


def _check_same_shape(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    targets = np.asarray(targets, dtype=outputs.dtype)
    if targets.shape != outputs.shape:
        raise BarenetError(f"targets of shape {outputs.shape} expected, got {targets.shape}")
    return targets


@LOSSES.register()
class MSELoss(Loss):
    """``L = mean((y - t)^2)`` over every element; ``dL/dy = 2 (y - t) / size``."""

    def forward(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        """``L = (1/S) sum (y - t)^2`` over all S elements (e.g. S = N D, not N); keeps ``y - t``.

        See docs/math.md, "MSE".

        Parameters
        ----------
        outputs, targets : ndarray, any shape, the same for both
            Predictions y and targets t.

        Returns
        -------
        float
        """
        self.diff = outputs - _check_same_shape(outputs, targets)
        return float(np.mean(self.diff * self.diff))

    def backward(self) -> np.ndarray:
        """``dL/dy = 2 (y - t) / S``, S the number of elements.

        See docs/math.md, "MSE".

        Returns
        -------
        dy : ndarray, same shape as the outputs
        """
        return 2 * self.diff / self.diff.size


@LOSSES.register()
class BCEWithLogits(Loss):
    """Binary cross-entropy of ``sigmoid(z)`` against targets in [0, 1], from logits.

    ``L = mean(max(z, 0) - z t + log(1 + exp(-|z|)))`` (no overflow for any z);
    ``dL/dz = (sigmoid(z) - t) / size``.
    """

    def forward(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        """``L = (1/S) sum (max(z, 0) - z t + log(1 + exp(-|z|)))`` over all S elements.

        The stable form of the binary cross-entropy of ``sigma(z)``; keeps ``sigma(z) - t``.
        See docs/math.md, "BCE".

        Parameters
        ----------
        outputs, targets : ndarray, any shape, the same for both
            Logits z and targets t in [0, 1].

        Returns
        -------
        float
        """
        t = _check_same_shape(outputs, targets)
        z = outputs
        self.residual = sigmoid(z) - t
        return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))

    def backward(self) -> np.ndarray:
        """``dL/dz = (sigma(z) - t) / S``, S the number of elements.

        See docs/math.md, "BCE".

        Returns
        -------
        dz : ndarray, same shape as the outputs
        """
        return self.residual / self.residual.size
