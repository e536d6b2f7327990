"""Global average pooling: each channel's mean (docs/math.md, "Pooling").

The textbook version first, :func:`global_avg_pool2d` and
:func:`global_avg_pool2d_backward`; the layer, :class:`GlobalAvgPool2d`, runs them (it
has no other path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..kernels.im2col import check_image_batch
from ..module import Module
from ..options import Spec, needs_images
from ..registry import LAYERS

# -- the textbook version: docs/math.md's formulas ----------------------------------


def global_avg_pool2d(x: np.ndarray) -> np.ndarray:
    """``y[n, c] = (1 / (H W)) sum_{h,w} x[n, c, h, w]``: (N, C, H, W) -> (N, C)."""
    return x.mean(axis=(2, 3))


def global_avg_pool2d_backward(grad_out: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """``dL/dx[n, c, h, w] = delta[n, c] / (H W)`` at every pixel of the channel."""
    h, w = input_shape[2:]
    share = grad_out[:, :, None, None] / grad_out.dtype.type(h * w)
    return np.broadcast_to(share, input_shape).copy()


# -- the layer ----------------------------------------------------------------------


def _shape(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    needs_images("GlobalAvgPool2d", shape)
    return (shape[0],)


@LAYERS.register()
class GlobalAvgPool2d(Module):
    """``y[n, c] = mean over (h, w) of x[n, c, h, w]``: (N, C, H, W) -> (N, C).

    Backward spreads ``dy[n, c] / (H W)`` evenly over the channel's pixels. The textbook
    functions :func:`global_avg_pool2d` and :func:`global_avg_pool2d_backward` are its
    only path, under :func:`barenet.nn.plain` or not. Equivalent to PyTorch's
    ``adaptive_avg_pool2d(x, 1)`` followed by a flatten.
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
        return global_avg_pool2d(x)

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
        return global_avg_pool2d_backward(grad_out, self.input_shape)

    def onnx_nodes(self, graph: Any, x: str) -> str:
        return graph.node("Flatten", [graph.node("GlobalAveragePool", [x], "gap")], "flatten",
                          axis=1)

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        return [("odd-sized input", cls(), rng.standard_normal((2, 3, 7, 9)))]
