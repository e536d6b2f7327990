"""Average pooling over windows of each channel (docs/math.md, "Pooling").

The textbook version first: :func:`avg_pool2d` and :func:`avg_pool2d_backward`. Then the
layer, :class:`AvgPool2d`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels.im2col import Pair, add_windows, sliding_windows
from ..registry import LAYERS
from ..switch import is_plain
from ._pool import Pool2d, pool_spec
from .conv import windows_of

# -- the textbook version: docs/math.md's formulas ----------------------------------


def avg_pool2d(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """``y[n, c, oh, ow] = (1 / (KH KW)) sum_{i,j} x_pad[n, c, s*oh + i, s*ow + j]``.

    Zero padding, counted in the average.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)

    Returns
    -------
    y : ndarray, shape (N, C, OH, OW)
    """
    _, windows = windows_of(x, kernel, stride, padding)
    return windows.mean(axis=(4, 5))


def avg_pool2d_backward(grad_out: np.ndarray, input_shape: tuple[int, ...], kernel: Pair,
                        stride: Pair, padding: Pair) -> np.ndarray:
    """``dL/dx``: every tap of window ``(oh, ow)`` gets ``delta[n, c, oh, ow] / (KH KW)``,
    added up over the windows that hold a pixel; the padding's shares are dropped.

    Returns
    -------
    dx : ndarray, shape ``input_shape`` (N, C, H, W)
    """
    n, c, h, w = input_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = grad_out.shape[2:]
    share = grad_out / (kh * kw)
    dx_pad = np.zeros((n, c, h + 2 * ph, w + 2 * pw), grad_out.dtype)
    for i in range(kh):
        for j in range(kw):  # tap (i, j) of every window reads x_pad[:, :, s*oh + i, s*ow + j]
            dx_pad[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += share
    return dx_pad[:, :, ph:ph + h, pw:pw + w]


# -- the layer ----------------------------------------------------------------------


@LAYERS.register()
class AvgPool2d(Pool2d):
    """``y[n, c, oh, ow] = (1 / (KH KW)) sum_{i,j} x_pad[n, c, s*oh + i, s*ow + j]``, zero padding.

    Padded zeros count in the average (PyTorch's default ``count_include_pad``),
    so every input pixel of a window receives ``dy / (KH KW)``. Its textbook version is
    :func:`avg_pool2d` and :func:`avg_pool2d_backward`; the fast path reads the windows
    as a channel-major view and adds the shares back with one broadcast per tap
    (:func:`~barenet.nn.kernels.im2col.add_windows`).

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
        if is_plain():
            return avg_pool2d(x, self.kernel, self.stride, self.padding)
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
        if is_plain():
            return avg_pool2d_backward(grad_out, self.input_shape, self.kernel, self.stride,
                                       self.padding)
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
