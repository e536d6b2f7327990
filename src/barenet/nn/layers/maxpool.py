"""Max pooling over windows of each channel (docs/math.md, "Pooling").

The windows are read as a view (:func:`~barenet.nn.kernels.im2col.sliding_windows`)
and gradients returned with its adjoint (:func:`~barenet.nn.kernels.im2col.add_windows`),
except where the windows sit side by side (stride = kernel, no padding, the usual 2x2):
there each pixel belongs to at most one window, and each tap writes its gradient
straight into place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels.im2col import Pair, add_windows, pad, sliding_windows
from ..kernels.parallel import over_channels
from ._pool import Pool2d, pool_spec
from .registry import LAYERS


@LAYERS.register()
class MaxPool2d(Pool2d):
    """``y[n, c, oh, ow] = max_{i,j} x_pad[n, c, s*oh + i, s*ow + j]``, padding with -inf.

    The gradient flows to the one maximal entry of each window; on ties to the
    first in row-major ``(i, j)`` order, as PyTorch does.

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

        In training mode keeps ``argmax``, each window's winning tap ``i KW + j`` (the
        first on ties); in eval mode only the input, from which ``backward`` finds them if
        it is called. See docs/math.md, "Pooling". :func:`max_pool2d_reference` is the plain
        version (``max`` and ``argmax`` over the taps); this one keeps a running
        maximum over contiguous copies of each tap instead.

        Parameters
        ----------
        x : ndarray, shape (N, C, H, W)

        Returns
        -------
        y : ndarray, shape (N, C, OH, OW)
            ``OH = (H + 2p - KH) // s + 1``, likewise OW.
        """
        self.check(x)
        # Work channel-major, (C, N, ...): the memory order convolution and batch-norm
        # outputs already have, so reading the taps is a strided view and no copy.
        channel_major = x.transpose(1, 0, 2, 3)
        pairs = self.kernel == self.stride == (2, 2) and self.padding == (0, 0)
        if not self.training and pairs:  # eval: no winners (needed only by a rare backward)
            y, self.argmax, self.input = self._max_of_pairs(channel_major), None, x
            return y.transpose(1, 0, 2, 3)
        windows = sliding_windows(channel_major, self.kernel, self.stride, self.padding,
                                  pad_value=-np.inf)  # (C, N, KH, KW, OH, OW)
        if self.training:
            y, self.argmax = self._max_and_argmax(windows)
            self.input = None
        else:
            y, self.argmax, self.input = self._max(windows), None, x
        return y.transpose(1, 0, 2, 3)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """:meth:`forward` in eval mode for prediction; the same numbers.

        Input with the channels last in memory (:meth:`Conv2d.infer`'s output) and 2x2
        windows at stride 2 without padding: the larger of each pair of rows, then of
        each pair of columns, both passes over runs of C contiguous values, and the
        output keeps that memory order. Anything else: :meth:`forward`.
        """
        pairs = self.kernel == self.stride == (2, 2) and self.padding == (0, 0)
        if self.training or not pairs or x.ndim != 4 or x.shape[1] < 2 \
                or x.strides[1] != x.itemsize:
            return self.forward(x)
        self.check(x)
        oh, ow = x.shape[2] // 2, x.shape[3] // 2
        last = x.transpose(0, 2, 3, 1)  # (N, H, W, C) views, no copy
        rows = np.maximum(last[:, 0:2 * oh:2], last[:, 1:2 * oh:2])
        return np.maximum(rows[:, :, 0:2 * ow:2], rows[:, :, 1:2 * ow:2]).transpose(0, 3, 1, 2)

    @staticmethod
    def _max_of_pairs(x: np.ndarray) -> np.ndarray:
        """:meth:`_max` for 2x2 windows at stride 2 without padding, on ``x`` (C, N, H, W):
        the larger of each pair of rows, then of each pair of columns of that.

        Two passes instead of four, the first along whole rows. The same numbers as
        :meth:`_max`: a maximum is exact in any order.
        """
        c, n, h, w = x.shape
        oh, ow = h // 2, w // 2
        rows = x[:, :, :2 * oh].reshape(c, n, oh, 2, w)  # a view: one axis split in two
        y = np.empty((c, n, oh, ow), x.dtype)

        def channels(s: slice) -> None:
            larger_row = np.maximum(rows[s, :, :, 0], rows[s, :, :, 1])  # (c, N, OH, W)
            np.maximum(larger_row[..., 0:2 * ow:2], larger_row[..., 1:2 * ow:2], out=y[s])

        over_channels(channels, c, y.size * 4)
        return y

    def _max(self, windows: np.ndarray) -> np.ndarray:
        """The running maximum alone (eval mode): one pass a tap, without the winners."""
        kh, kw = self.kernel
        y = np.empty(windows.shape[:2] + windows.shape[4:], windows.dtype)

        def channels(c: slice) -> None:
            np.copyto(y[c], windows[c, :, 0, 0])
            for t in range(1, kh * kw):
                np.maximum(y[c], windows[c, :, t // kw, t % kw], out=y[c])

        over_channels(channels, len(y), y.size * kh * kw)
        return y

    def _max_and_argmax(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Running maximum over the taps t = i*KW + j, and the index of the tap it came from.

        Channel slices run on several threads (:mod:`barenet.nn.kernels.parallel`).
        """
        kh, kw = self.kernel
        y = np.empty(windows.shape[:2] + windows.shape[4:], windows.dtype)
        argmax = np.zeros(y.shape, np.min_scalar_type(kh * kw))

        def channels(c: slice) -> None:
            out, best = y[c], argmax[c]
            np.copyto(out, windows[c, :, 0, 0])
            larger, index = np.empty(out.shape, bool), np.empty_like(best)
            tap = np.empty_like(out)  # each tap copied once: the four passes below then run
            for t in range(1, kh * kw):  # on contiguous memory
                np.copyto(tap, windows[c, :, t // kw, t % kw])
                np.greater(tap, out, out=larger)  # strictly: a tie keeps the first maximum
                # Taps come in increasing order, so a new winner has the largest index so
                # far (a maximum, in place of a masked assignment).
                np.multiply(larger, best.dtype.type(t), out=index)
                np.maximum(best, index, out=best)
                np.maximum(out, tap, out=out)

        over_channels(channels, len(y), y.size * kh * kw)
        return y, argmax

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx``: each ``delta[n, c, oh, ow]`` goes to its window's argmax pixel.

        Overlapping windows add up; pixels that win no window get 0. See docs/math.md, "Pooling".
        Where windows sit side by side each tap writes its pixels directly, 2.7 times
        faster than the general scatter-add (``add_windows``) on ``cnn.toml``'s first
        pooling; both are held to :func:`max_pool2d_reference` by the tests.

        Parameters
        ----------
        grad_out : ndarray, shape (N, C, OH, OW)
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, shape (N, C, H, W)
        """
        kh, kw = self.kernel
        if self.argmax is None:  # an eval-mode forward kept only its input: find the winners
            windows = sliding_windows(self.input.transpose(1, 0, 2, 3), self.kernel,
                                      self.stride, self.padding, pad_value=-np.inf)
            self.argmax = self._max_and_argmax(windows)[1]
        dy = grad_out.transpose(1, 0, 2, 3)  # (C, N, OH, OW), like argmax
        if self.stride != self.kernel or self.padding != (0, 0):
            # Overlapping or padded windows: a pixel can win in several, so add them up.
            taps = np.arange(kh * kw).reshape(kh, kw, 1, 1)
            windows = (self.argmax[:, :, None, None] == taps) * dy[:, :, None, None]
            dx = add_windows(windows, self.input_shape[2:], self.stride, self.padding)
            return dx.transpose(1, 0, 2, 3)
        # Windows side by side: each pixel is in at most one, so every tap writes its own
        # pixels, and only the rows and columns no window covers need zeros.
        n, c, h, w = self.input_shape
        oh, ow = dy.shape[2:]
        dx = np.empty((c, n, h, w), grad_out.dtype)
        dx[:, :, oh * kh:] = 0
        dx[:, :, :, ow * kw:] = 0
        dx_windows = dx[:, :, :oh * kh, :ow * kw].reshape(c, n, oh, kh, ow, kw)

        def channels(s: slice) -> None:
            for t in range(kh * kw):
                np.multiply(self.argmax[s] == t, dy[s], out=dx_windows[s, :, :, t // kw, :, t % kw])

        over_channels(channels, c, dx.size)
        return dx.transpose(1, 0, 2, 3)

    def onnx_nodes(self, graph: Any, x: str) -> str:
        return graph.node("MaxPool", [x], "maxpool", **self.onnx_window())

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Pool2d, np.ndarray]]:
        return [("overlapping padded windows, odd-sized input",
                        cls(3, stride=2, padding=1), rng.standard_normal((2, 3, 7, 9)))]


# -- the plain reference, for the tests: docs/math.md's formulas, window by window ----


def max_pool2d_reference(x: np.ndarray, grad_out: np.ndarray, kernel: Pair, stride: Pair,
                         padding: Pair) -> tuple[np.ndarray, np.ndarray]:
    """:class:`MaxPool2d`'s forward and backward as docs/math.md writes them.

    ``y[n, c, oh, ow]`` is the largest tap of window ``(oh, ow)``; its
    ``delta`` is added to the pixel of the first largest tap, one window at a time.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    grad_out : ndarray, shape (N, C, OH, OW)
        delta = dL/dy.

    Returns
    -------
    y : ndarray, shape (N, C, OH, OW)
    dx : ndarray, shape (N, C, H, W)
    """
    n, c, h, w = x.shape
    (kh, kw), (s_h, s_w), (p_h, p_w) = kernel, stride, padding
    windows = sliding_windows(x, kernel, stride, padding, pad_value=-np.inf)
    taps = windows.reshape(n, c, kh * kw, *windows.shape[4:])  # tap i KW + j
    y = taps.max(axis=2)
    winner = taps.argmax(axis=2)  # the first maximum on ties
    dx_pad = np.zeros_like(pad(x, padding))
    images, channels = np.indices((n, c))
    for oh in range(y.shape[2]):
        for ow in range(y.shape[3]):
            i, j = np.divmod(winner[:, :, oh, ow], kw)
            np.add.at(dx_pad, (images, channels, s_h * oh + i, s_w * ow + j),
                      grad_out[:, :, oh, ow])
    return y, dx_pad[:, :, p_h:p_h + h, p_w:p_w + w]
