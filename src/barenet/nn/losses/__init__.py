"""Losses: fused softmax cross-entropy, mean squared error, binary cross-entropy."""

from ..functional import log_softmax
from .base import LOSSES, Loss
from .cross_entropy import SoftmaxCrossEntropy
from .regression import BCEWithLogits, MSELoss

__all__ = ["LOSSES", "Loss", "SoftmaxCrossEntropy", "MSELoss", "BCEWithLogits", "log_softmax"]
