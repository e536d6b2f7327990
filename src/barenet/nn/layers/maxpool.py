"""Max pooling over windows of each channel (docs/math.md, "Pooling").

The textbook version first: :func:`max_pool2d` and :func:`max_pool2d_backward`, the
formulas window by window. Then the layer, :class:`MaxPool2d`, whose fast path is in
:mod:`barenet.nn.kernels.maxpool`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels import maxpool as fast
from ..kernels.im2col import Pair
from ..registry import LAYERS
from ..switch import is_plain
from ._pool import Pool2d, pool_spec
from .conv import windows_of

# -- the textbook version: docs/math.md's formulas, window by window -----------------


def max_pool2d(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """``y[n, c, oh, ow] = max_{i,j} x_pad[n, c, s*oh + i, s*ow + j]``, padding with -inf.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)

    Returns
    -------
    y : ndarray, shape (N, C, OH, OW)
    """
    _, windows = windows_of(x, kernel, stride, padding, pad_value=-np.inf)
    return windows.max(axis=(4, 5))


def max_pool2d_backward(grad_out: np.ndarray, x: np.ndarray, kernel: Pair, stride: Pair,
                        padding: Pair) -> np.ndarray:
    """``dL/dx``: each ``delta[n, c, oh, ow]`` is added to the pixel of its window's first
    largest tap (row-major ``(i, j)`` order, as PyTorch), one window at a time.

    Parameters
    ----------
    grad_out : ndarray, shape (N, C, OH, OW)
        delta = dL/dy.
    x : ndarray, shape (N, C, H, W), the forward pass's input

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    x_pad, windows = windows_of(x, kernel, stride, padding, pad_value=-np.inf)
    oh, ow = grad_out.shape[2:]
    winner = windows.reshape(n, c, oh, ow, kh * kw).argmax(axis=4)  # tap i KW + j
    dx_pad = np.zeros_like(x_pad)
    images, channels = np.indices((n, c))
    for r in range(oh):
        for q in range(ow):
            i, j = np.divmod(winner[:, :, r, q], kw)
            np.add.at(dx_pad, (images, channels, sh * r + i, sw * q + j), grad_out[:, :, r, q])
    return dx_pad[:, :, ph:ph + h, pw:pw + w]


# -- the layer ----------------------------------------------------------------------


@LAYERS.register()
class MaxPool2d(Pool2d):
    """``y[n, c, oh, ow] = max_{i,j} x_pad[n, c, s*oh + i, s*ow + j]``, padding with -inf.

    The gradient flows to the one maximal entry of each window; on ties to the
    first in row-major ``(i, j)`` order, as PyTorch does. Its textbook version is
    :func:`max_pool2d` and :func:`max_pool2d_backward` (under :func:`barenet.nn.plain`
    the layer keeps the input ``x`` and finds the winners again in backward). The fast
    path (:mod:`barenet.nn.kernels.maxpool`) works channel-major, keeps each window's
    winning tap ``argmax`` in training (in eval only the input), takes a maximum of
    maxima for 2x2 windows in eval mode, and where windows sit side by side writes each
    tap's gradient straight into its pixels.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window KH x KW.
    stride : int or (int, int), optional
        Step s between windows; defaults to the kernel size (non-overlapping windows).
    padding : int or (int, int)
        -inf rows/columns p added on each side, never selected.
    """

    spec = pool_spec()
    short_name = "pool"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y[n, c, oh, ow] = max_{i,j} x_pad[n, c, s oh + i, s ow + j]``, padding with -inf.

        See docs/math.md, "Pooling".

        Parameters
        ----------
        x : ndarray, shape (N, C, H, W)

        Returns
        -------
        y : ndarray, shape (N, C, OH, OW)
            ``OH = (H + 2p - KH) // s + 1``, likewise OW.
        """
        self.check(x)
        window = (self.kernel, self.stride, self.padding)
        if is_plain():
            self.argmax, self.input = None, x
            return max_pool2d(x, *window)
        if self.training:
            y, self.argmax = fast.max_pool2d_train(x, *window)
            self.input = None
            return y
        self.argmax, self.input = None, x  # the winners only if a (rare) backward asks
        return fast.max_pool2d_eval(x, *window)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """:meth:`forward` in eval mode for prediction; the same numbers.

        Fast, on input with the channels last in memory (:meth:`Conv2d.infer`'s output)
        and 2x2 windows at stride 2 without padding: the output keeps that memory order
        (:func:`barenet.nn.kernels.maxpool.max_pool2d_channels_last`). Anything else:
        :meth:`forward`.
        """
        if is_plain() or self.training or not fast.side_by_side_pairs(
                self.kernel, self.stride, self.padding) or x.ndim != 4 or x.shape[1] < 2 \
                or x.strides[1] != x.itemsize:
            return self.forward(x)
        self.check(x)
        return fast.max_pool2d_channels_last(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx``: each ``delta[n, c, oh, ow]`` goes to its window's argmax pixel.

        Overlapping windows add up; pixels that win no window get 0. See docs/math.md,
        "Pooling".

        Parameters
        ----------
        grad_out : ndarray, shape (N, C, OH, OW)
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, shape (N, C, H, W)
        """
        window = (self.kernel, self.stride, self.padding)
        if is_plain():
            return max_pool2d_backward(grad_out, self.input, *window)
        return fast.max_pool2d_argmax_backward(grad_out, self.argmax, self.input, self.input_shape,
                                        *window)

    def onnx_nodes(self, graph: Any, x: str) -> str:
        return graph.node("MaxPool", [x], "maxpool", **self.onnx_window())

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Pool2d, np.ndarray]]:
        return [("overlapping padded windows, odd-sized input",
                        cls(3, stride=2, padding=1), rng.standard_normal((2, 3, 7, 9)))]
