"""Global average pooling: each channel's mean (docs/math.md, "Pooling")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..kernels.im2col import check_image_batch
from ..module import Module
from ..options import Spec, needs_images
from .registry import LAYERS


def _shape(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    needs_images("GlobalAvgPool2d", shape)
    return (shape[0],)


@LAYERS.register()
class GlobalAvgPool2d(Module):
    """``y[n, c] = mean over (h, w) of x[n, c, h, w]``: (N, C, H, W) -> (N, C).

    Backward spreads ``dy[n, c] / (H W)`` evenly over the channel's pixels.
    Equivalent to PyTorch's ``adaptive_avg_pool2d(x, 1)`` followed by a flatten.
    """

    spec = Spec({}, shape=_shape)
    short_name = "gap"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y[n, c] = (1 / (H W)) sum_{h,w} x[n, c, h, w]``.

        See docs/math.md, "Pooling".

        Parameters
        ----------
        x : ndarray, shape (N, C, H, W)

        Returns
        -------
        y : ndarray, shape (N, C)
        """
        check_image_batch(x, None, (1, 1), (0, 0), "GlobalAvgPool2d")
        self.input_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx[n, c, h, w] = delta[n, c] / (H W)`` at every pixel of the channel.

        See docs/math.md, "Pooling".

        Parameters
        ----------
        grad_out : ndarray, shape (N, C)
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, shape (N, C, H, W)
        """
        h, w = self.input_shape[2:]
        share = grad_out[:, :, None, None] / grad_out.dtype.type(h * w)
        return np.broadcast_to(share, self.input_shape).copy()

    def onnx_nodes(self, graph: Any, x: str) -> str:
        return graph.node("Flatten", [graph.node("GlobalAveragePool", [x], "gap")], "flatten",
                          axis=1)

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        return [("odd-sized input", cls(), rng.standard_normal((2, 3, 7, 9)))]
