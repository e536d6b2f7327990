"""Global-norm gradient clipping."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..module import Parameter


def clip_grad_norm(params: Iterable[Parameter], max_norm: float) -> float:
    """Scale all gradients together so their joint L2 norm is at most ``max_norm``.

    Returns the norm before clipping (as ``torch.nn.utils.clip_grad_norm_``).
    """
    params = list(params)
    total = float(np.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in params)))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for p in params:
            p.grad *= scale
    return total
