"""Mean squared error and binary cross-entropy from logits (docs/math.md, "MSE", "BCE")."""

from __future__ import annotations

import numpy as np

from ..errors import BarenetError
from ..layers.activations import sigmoid
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
        self.diff = outputs - _check_same_shape(outputs, targets)
        return float(np.mean(self.diff * self.diff))

    def backward(self) -> np.ndarray:
        return 2 * self.diff / self.diff.size


@LOSSES.register()
class BCEWithLogits(Loss):
    """Binary cross-entropy of ``sigmoid(z)`` against targets in [0, 1], from logits.

    ``L = mean(max(z, 0) - z t + log(1 + exp(-|z|)))`` (no overflow for any z);
    ``dL/dz = (sigmoid(z) - t) / size``.
    """

    def forward(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        t = _check_same_shape(outputs, targets)
        z = outputs
        self.residual = sigmoid(z) - t
        return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))

    def backward(self) -> np.ndarray:
        return self.residual / self.residual.size
