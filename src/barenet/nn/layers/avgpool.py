"""Average pooling over windows of each channel (docs/math.md, "Pooling")."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels.im2col import add_windows, sliding_windows
from ._pool import Pool2d, pool_spec
from .registry import LAYERS


@LAYERS.register()
class AvgPool2d(Pool2d):
    """``y[n, c, oh, ow] = (1 / (KH KW)) sum_{i,j} x_pad[n, c, s*oh + i, s*ow + j]``, zero padding.

    Padded zeros count in the average (PyTorch's default ``count_include_pad``),
    so every input pixel of a window receives ``dy / (KH KW)``.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window KH x KW.
    stride : int or (int, int), optional
        Step s between windows; defaults to the kernel size (non-overlapping windows).
    padding : int or (int, int)
        Zero rows/columns p added on each side.
    """

    spec = pool_spec()
    short_name = "avgpool"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y[n, c, oh, ow] = (1 / (KH KW)) sum_{i,j} x_pad[n, c, s oh + i, s ow + j]``.

        Zero padding, counted in the average. See docs/math.md, "Pooling".

        Parameters
        ----------
        x : ndarray, shape (N, C, H, W)

        Returns
        -------
        y : ndarray, shape (N, C, OH, OW)
            ``OH = (H + 2p - KH) // s + 1``, likewise OW.
        """
        self.check(x)
        return sliding_windows(x, self.kernel, self.stride, self.padding).mean(axis=(2, 3))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx``: every tap of window (oh, ow) gets ``delta[n, c, oh, ow] / (KH KW)``.

        Summed over the windows that hold a pixel; shares on the padding are dropped.
        See docs/math.md, "Pooling".

        Parameters
        ----------
        grad_out : ndarray, shape (N, C, OH, OW)
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, shape (N, C, H, W)
        """
        n, c, oh, ow = grad_out.shape
        kh, kw = self.kernel
        share = grad_out[:, :, None, None] / grad_out.dtype.type(kh * kw)
        return add_windows(np.broadcast_to(share, (n, c, kh, kw, oh, ow)), self.input_shape[2:],
                           self.stride, self.padding)

    def onnx_nodes(self, graph: Any, x: str) -> str:
        return graph.node("AveragePool", [x], "averagepool", **self.onnx_window(),
                          count_include_pad=1)

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Pool2d, np.ndarray]]:
        return [("overlapping padded windows, odd-sized input",
                        cls(3, stride=2, padding=1), rng.standard_normal((2, 3, 7, 9)))]
