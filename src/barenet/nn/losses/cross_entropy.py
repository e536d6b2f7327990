"""Softmax and cross-entropy fused (docs/math.md, "Softmax cross-entropy")."""

from __future__ import annotations

import numpy as np

from ...errors import BarenetError
from ..functional import log_softmax
from .base import LOSSES, Loss

#: The label of a picture of no class (a non-digit, for outlier exposure): its target is
#: the uniform distribution, ``q_k = 1/K``, "no class more than another".
NO_CLASS = -1


def target_distribution(targets: np.ndarray, num_classes: int, smoothing: float,
                        dtype) -> np.ndarray:
    """Turn integer labels (N,) or one-hot rows (N, K) into smoothed target rows (N, K).

    A label :data:`NO_CLASS` (-1) gives the uniform row ``1/K``.
    """
    targets = np.asarray(targets)
    if targets.ndim not in (1, 2) or (targets.ndim == 2 and targets.shape[1] != num_classes):
        raise BarenetError(f"targets must be labels (N,) or rows (N, {num_classes}), "
                           f"got shape {targets.shape}")
    if targets.ndim == 1:
        if not np.issubdtype(targets.dtype, np.integer):
            raise BarenetError(f"integer class labels expected, got dtype {targets.dtype}")
        if targets.size and (targets.min() < NO_CLASS or targets.max() >= num_classes):
            raise BarenetError(f"labels must lie in [0, {num_classes}) or be {NO_CLASS} "
                               f"(no class), got [{targets.min()}, {targets.max()}]")
        q = np.zeros((targets.shape[0], num_classes), dtype)
        known = targets != NO_CLASS
        q[np.flatnonzero(known), targets[known]] = 1
        q[~known] = 1 / num_classes
    else:
        q = targets.astype(dtype, copy=True)
    if smoothing:
        q *= 1 - smoothing
        q += smoothing / num_classes
    return q


@LOSSES.register()
class SoftmaxCrossEntropy(Loss):
    """Mean cross-entropy of ``softmax(logits)`` against the targets.

    ``L = -(1/N) sum_n sum_k q_nk log p_nk`` with ``p = softmax(z)``; the
    gradient collapses to ``dL/dz = (p - q) / N``. Targets are integer labels
    (N,) or rows of a distribution (N, K); ``label_smoothing`` mixes ``q`` with
    the uniform distribution as PyTorch's ``CrossEntropyLoss`` does. A label
    :data:`NO_CLASS` (-1) marks a picture of no class: its target is uniform.
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise BarenetError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        """``L = -(1/N) sum_n sum_k q_nk log p_nk`` with ``p = softmax(z)``, via ``log_softmax``.

        Keeps ``p`` and the target rows ``q``. See docs/math.md, "Softmax cross-entropy".

        Parameters
        ----------
        outputs : ndarray, shape (N, K)
            Logits z for K classes.
        targets : ndarray, shape (N,) of integer labels, or (N, K) rows of distributions

        Returns
        -------
        float
        """
        if outputs.ndim != 2:
            raise BarenetError(f"cross-entropy expects logits of shape (N, K), got {outputs.shape}")
        n, k = outputs.shape
        q = target_distribution(targets, k, self.label_smoothing, outputs.dtype)
        if q.shape[0] != n:
            raise BarenetError(f"{n} outputs but {q.shape[0]} targets; give one target per sample")
        log_p = log_softmax(outputs)
        self.q, self.p = q, np.exp(log_p)
        # Rows given as distributions need not sum to 1: dL/dz = (p sum(q) - q) / N in general.
        self.q_mass = None if np.asarray(targets).ndim == 1 else q.sum(axis=1, keepdims=True)
        return float(-(q * log_p).sum() / n)

    def backward(self) -> np.ndarray:
        """``dL/dz = (p - q) / N``; ``(sum_k q_k p - q) / N`` for target rows that don't sum to 1.

        See docs/math.md, "Softmax cross-entropy".

        Returns
        -------
        dz : ndarray, shape (N, K)
            dL/dz for the logits of the last ``forward``.
        """
        p = self.p if self.q_mass is None else self.p * self.q_mass
        return (p - self.q) / self.p.shape[0]

    def config(self) -> dict:
        return {"label_smoothing": self.label_smoothing}

