"""What every loss shares: ``forward(outputs, targets) -> float`` and ``backward() -> grad``."""

from __future__ import annotations

import numpy as np

from ..registry import Registry

LOSSES: Registry = Registry("loss")


class Loss:
    """A scalar function of the network's outputs and the targets.

    ``forward`` returns the mean loss over the batch and remembers what it
    needs; ``backward`` returns dL/d(outputs), same shape as the outputs.
    """

    def forward(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        """Return the loss L, a mean over the batch, and keep what ``backward`` needs.

        See docs/math.md, "Notation" (the backward contract).

        Parameters
        ----------
        outputs : ndarray, shape (N, ...)
            The network's output y.
        targets : ndarray, shape depending on the loss

        Returns
        -------
        float
        """
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """Return ``dL/d(outputs)`` for the last ``forward``: the first delta of the backward pass.

        See docs/math.md, "Notation" (the backward contract).

        Returns
        -------
        ndarray, same shape as the outputs
        """
        raise NotImplementedError

    def __call__(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        return self.forward(outputs, targets)

    def config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"
