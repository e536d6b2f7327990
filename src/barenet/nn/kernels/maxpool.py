"""The fast max pooling (docs/math.md, "Pooling").

Its textbook version is :func:`barenet.nn.layers.maxpool.max_pool2d` and
:func:`~barenet.nn.layers.maxpool.max_pool2d_backward`: ``max`` and ``argmax`` over each
window's taps, and one scatter per window. Here:

- the work is channel-major, (C, N, ...): the memory order convolution and batch-norm
  outputs already have, so reading the taps is a strided view and no copy;
- the forward pass keeps a running maximum over contiguous copies of each tap, and the
  index of the tap it came from (the first on ties, as PyTorch);
- 2x2 windows at stride 2 without padding, in eval mode, are a maximum of maxima: the
  larger of each pair of rows, then of each pair of columns (a maximum is exact in any
  order; training cannot use it, as two tied taps would be found in another order);
- where the windows sit side by side, each tap writes its gradient straight into its
  pixels instead of the general scatter-add (:func:`~barenet.nn.kernels.im2col.add_windows`);
- channel slices run on several threads (:func:`~barenet.nn.kernels.parallel.over_channels`).
"""

from __future__ import annotations

import numpy as np

from .im2col import Pair, add_windows, sliding_windows
from .parallel import over_channels


def side_by_side_pairs(kernel: Pair, stride: Pair, padding: Pair) -> bool:
    """2x2 windows at stride 2 without padding (the maximum-of-maxima shortcut)."""
    return kernel == stride == (2, 2) and padding == (0, 0)


def max_pool2d_train(x: np.ndarray, kernel: Pair, stride: Pair,
                     padding: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Each window's maximum and its winning tap ``i KW + j`` (the first on ties).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)

    Returns
    -------
    y : ndarray, shape (N, C, OH, OW)
        A transposed view of (C, N, OH, OW) memory.
    argmax : ndarray of small unsigned ints, shape (C, N, OH, OW)
    """
    windows = sliding_windows(x.transpose(1, 0, 2, 3), kernel, stride, padding,
                              pad_value=-np.inf)  # (C, N, KH, KW, OH, OW)
    y, argmax = _max_and_argmax(windows, kernel)
    return y.transpose(1, 0, 2, 3), argmax


def max_pool2d_eval(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Each window's maximum, without the winners (which only a backward pass needs).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)

    Returns
    -------
    y : ndarray, shape (N, C, OH, OW)
        A transposed view of (C, N, OH, OW) memory.
    """
    channel_major = x.transpose(1, 0, 2, 3)
    if side_by_side_pairs(kernel, stride, padding):
        return _max_of_pairs(channel_major).transpose(1, 0, 2, 3)
    windows = sliding_windows(channel_major, kernel, stride, padding, pad_value=-np.inf)
    return _max(windows, kernel).transpose(1, 0, 2, 3)


def max_pool2d_channels_last(x: np.ndarray) -> np.ndarray:
    """:func:`max_pool2d_eval` of 2x2 windows at stride 2, for prediction on input with the
    channels last in memory: both passes over runs of C contiguous values.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), a transposed view of (N, H, W, C) memory

    Returns
    -------
    y : ndarray, shape (N, C, H // 2, W // 2), the same memory order
    """
    oh, ow = x.shape[2] // 2, x.shape[3] // 2
    last = x.transpose(0, 2, 3, 1)  # (N, H, W, C) views, no copy
    rows = np.maximum(last[:, 0:2 * oh:2], last[:, 1:2 * oh:2])
    return np.maximum(rows[:, :, 0:2 * ow:2], rows[:, :, 1:2 * ow:2]).transpose(0, 3, 1, 2)


def max_pool2d_argmax_backward(grad_out: np.ndarray, argmax: np.ndarray | None,
                        x: np.ndarray | None, input_shape: tuple[int, ...], kernel: Pair,
                        stride: Pair, padding: Pair) -> np.ndarray:
    """``dL/dx``: each ``delta[n, c, oh, ow]`` goes to its window's winning pixel.

    Parameters
    ----------
    grad_out : ndarray, shape (N, C, OH, OW)
    argmax : ndarray, shape (C, N, OH, OW), or None
        :func:`max_pool2d_train`'s winners; None: found again from ``x``.
    x : ndarray, shape (N, C, H, W), or None when ``argmax`` is given
    input_shape : (N, C, H, W)

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        A transposed view of (C, N, H, W) memory.
    """
    kh, kw = kernel
    if argmax is None:  # an eval-mode forward kept only its input: find the winners
        windows = sliding_windows(x.transpose(1, 0, 2, 3), kernel, stride, padding,
                                  pad_value=-np.inf)
        argmax = _max_and_argmax(windows, kernel)[1]
    dy = grad_out.transpose(1, 0, 2, 3)  # (C, N, OH, OW), like argmax
    if stride != kernel or padding != (0, 0):
        # Overlapping or padded windows: a pixel can win in several, so add them up.
        taps = np.arange(kh * kw).reshape(kh, kw, 1, 1)
        windows = (argmax[:, :, None, None] == taps) * dy[:, :, None, None]
        return add_windows(windows, input_shape[2:], stride, padding).transpose(1, 0, 2, 3)
    # Windows side by side: each pixel is in at most one, so every tap writes its own
    # pixels, and only the rows and columns no window covers need zeros.
    n, c, h, w = input_shape
    oh, ow = dy.shape[2:]
    dx = np.empty((c, n, h, w), grad_out.dtype)
    dx[:, :, oh * kh:] = 0
    dx[:, :, :, ow * kw:] = 0
    dx_windows = dx[:, :, :oh * kh, :ow * kw].reshape(c, n, oh, kh, ow, kw)

    def channels(s: slice) -> None:
        for t in range(kh * kw):
            np.multiply(argmax[s] == t, dy[s], out=dx_windows[s, :, :, t // kw, :, t % kw])

    over_channels(channels, c, dx.size)
    return dx.transpose(1, 0, 2, 3)


def _max_of_pairs(x: np.ndarray) -> np.ndarray:
    """:func:`_max` for 2x2 windows at stride 2 without padding, on ``x`` (C, N, H, W):
    the larger of each pair of rows, then of each pair of columns of that."""
    c, n, h, w = x.shape
    oh, ow = h // 2, w // 2
    rows = x[:, :, :2 * oh].reshape(c, n, oh, 2, w)  # a view: one axis split in two
    y = np.empty((c, n, oh, ow), x.dtype)

    def channels(s: slice) -> None:
        larger_row = np.maximum(rows[s, :, :, 0], rows[s, :, :, 1])  # (c, N, OH, W)
        np.maximum(larger_row[..., 0:2 * ow:2], larger_row[..., 1:2 * ow:2], out=y[s])

    over_channels(channels, c, y.size * 4)
    return y


def _max(windows: np.ndarray, kernel: Pair) -> np.ndarray:
    """The running maximum alone over windows (C, N, KH, KW, OH, OW): one pass a tap."""
    kh, kw = kernel
    y = np.empty(windows.shape[:2] + windows.shape[4:], windows.dtype)

    def channels(c: slice) -> None:
        np.copyto(y[c], windows[c, :, 0, 0])
        for t in range(1, kh * kw):
            np.maximum(y[c], windows[c, :, t // kw, t % kw], out=y[c])

    over_channels(channels, len(y), y.size * kh * kw)
    return y


def _max_and_argmax(windows: np.ndarray, kernel: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Running maximum over the taps t = i*KW + j of windows (C, N, KH, KW, OH, OW), and
    the index of the tap it came from."""
    kh, kw = kernel
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
