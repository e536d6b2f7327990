"""Sliding windows over images, shared by convolution and pooling (docs/math.md, "Convolution").

Notation as in docs/math.md: images ``x`` (N, C, H, W), a window (kernel) of
KH x KW pixels moved by stride s over ``x_pad``, the images zero-padded by p
on every border. There are ``OH = (H + 2p - KH) // s + 1`` by ``OW`` window
positions ``(i, j)``, and tap ``(u, v)`` of window ``(i, j)`` is pixel
``(s*i + u, s*j + v)`` of ``x_pad``.

- :func:`sliding_windows` views every window without copying:
  ``windows[n, c, u, v, i, j] = x_pad[n, c, s*i + u, s*j + v]``.
- :func:`im2col` copies those windows into one matrix with a row per
  ``(c, u, v)`` and a column per ``(n, i, j)``, so a convolution is a single
  matrix product ``W (OC, C*KH*KW) @ cols (C*KH*KW, N*OH*OW)``. ``cols`` is
  the transpose of docs/math.md's ``X_col``: that order lets the copy move
  whole image rows and makes the product come out channel-major.
- :func:`col2im` is the adjoint (transpose) of :func:`im2col`, and
  :func:`add_windows` that of :func:`sliding_windows`: they add every window
  entry back onto the pixel it was copied from. Backward passes use them.

The ``*_reference`` functions are the same maps written as plain loops, for
the tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import BarenetError

Pair = tuple[int, int]


def as_pair(value: int | Sequence[int], name: str, minimum: int) -> Pair:
    """``3 -> (3, 3)``; ``(3, 5)`` or ``[3, 5]`` stay (height, width). Checks ``>= minimum``."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum
                    for v in pair)):
        raise BarenetError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def pair_config(pair: Pair) -> int | list[int]:
    """The JSON form of a pair in a layer's ``config()``: an int when both sides agree."""
    return pair[0] if pair[0] == pair[1] else list(pair)


def output_size(size: Pair, kernel: Pair, stride: Pair, padding: Pair) -> Pair:
    """Window positions ``(OH, OW)`` along each axis: ``(H + 2p - KH) // s + 1``."""
    return tuple((n + 2 * p - k) // s + 1  # type: ignore[return-value]
                 for n, k, s, p in zip(size, kernel, stride, padding, strict=True))


def check_image_batch(x: np.ndarray, channels: int | None, kernel: Pair, padding: Pair,
                      layer: str) -> None:
    """Raise a one-line :class:`BarenetError` unless ``x`` is (N, C, H, W) and fits the window."""
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        want = f"C={channels}" if channels is not None else "any C"
        raise BarenetError(f"{layer} expects images (N, C, H, W) with {want}, got shape {x.shape}")
    for axis, k, p in zip((2, 3), kernel, padding, strict=True):
        if x.shape[axis] + 2 * p < k:
            raise BarenetError(f"{layer}: input {x.shape[2]}x{x.shape[3]} with padding {padding} "
                               f"is smaller than the {kernel[0]}x{kernel[1]} window")


def pad(x: np.ndarray, padding: Pair, value: float = 0.0) -> np.ndarray:
    """Images (..., H, W) with ``padding`` rows and columns of ``value`` around (no copy if 0)."""
    ph, pw = padding
    if ph == pw == 0:
        return x
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(ph, ph), (pw, pw)], constant_values=value)


def sliding_windows(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair,
                    pad_value: float = 0.0) -> np.ndarray:
    """All windows of images (..., H, W) as a read-only view (..., KH, KW, OH, OW).

    For a batch (N, C, H, W) that is (N, C, KH, KW, OH, OW) with
    ``windows[n, c, u, v, i, j] = x_pad[n, c, s*i + u, s*j + v]``.
    """
    (kh, kw), (sh, sw) = kernel, stride
    windows = sliding_window_view(pad(x, padding, pad_value), (kh, kw), axis=(-2, -1))
    # (..., H', W', KH, KW) -> keep every s-th window position, kernel axes first
    return np.moveaxis(windows[..., ::sh, ::sw, :, :], (-2, -1), (-4, -3))


def im2col(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, pad_value: float = 0.0,
           out: np.ndarray | None = None) -> np.ndarray:
    """Copy the windows of images ``x`` (N, C, H, W) into a matrix (C*KH*KW, N*OH*OW).

    Row ``(c, u, v)`` holds tap ``(u, v)`` of channel ``c`` for every window
    position, column ``(n, i, j)`` is one window; padding is ``pad_value``.
    ``out`` (same shape and dtype) is reused instead of allocating.
    """
    n, c = x.shape[:2]
    windows = sliding_windows(x, kernel, stride, padding, pad_value)
    shape = (c, *kernel, n, *windows.shape[4:])  # (C, KH, KW, N, OH, OW)
    rows, columns = c * kernel[0] * kernel[1], n * windows.shape[4] * windows.shape[5]
    if out is None or out.shape != (rows, columns) or out.dtype != x.dtype:
        out = np.empty((rows, columns), x.dtype)
    out.reshape(shape)[...] = windows.transpose(1, 2, 3, 0, 4, 5)
    return out


def col2im(cols: np.ndarray, input_shape: tuple[int, ...], kernel: Pair, stride: Pair,
           padding: Pair) -> np.ndarray:
    """Adjoint of :func:`im2col`: add every entry of ``cols`` onto the pixel it was copied from.

    ``cols`` is (C*KH*KW, N*OH*OW), or already shaped (C, KH, KW, N, OH, OW);
    returns images of ``input_shape`` (N, C, H, W). They are a transposed view
    of (C, N, H, W) memory, the order in which the columns arrive.
    """
    n, c, h, w = input_shape
    oh, ow = output_size((h, w), kernel, stride, padding)
    windows = cols.reshape(c, *kernel, n, oh, ow)
    # (C, N, KH, KW, OH, OW) windows -> (C, N, H, W) images -> (N, C, H, W) view
    return add_windows(np.moveaxis(windows, 3, 1), (h, w), stride, padding).transpose(1, 0, 2, 3)


def add_windows(windows: np.ndarray, size: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Adjoint of :func:`sliding_windows`: sum each window entry onto its image pixel.

    ``windows`` is (..., KH, KW, OH, OW), any memory layout (a broadcast view
    works); returns images (..., H, W), ``(H, W) = size``, with
    ``dx[..., s*i + u - p, s*j + v - p] += windows[..., u, v, i, j]`` and what
    lands on the padding dropped: one vectorised addition per tap ``(u, v)``.
    The leading axes keep their order in memory.
    """
    *lead, kh, kw, oh, ow = windows.shape
    (h, w), (sh, sw), (ph, pw) = size, stride, padding
    dx = np.zeros((*lead, h + 2 * ph, w + 2 * pw), windows.dtype)
    for u in range(kh):
        for v in range(kw):
            dx[..., u:u + sh * oh:sh, v:v + sw * ow:sw] += windows[..., u, v, :, :]
    return dx[..., ph:ph + h, pw:pw + w]


# -- loop references for the tests: slow and obviously right ------------------------


def _window_pixels(input_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair):
    """Every (n, c, u, v, i, j, y, z): tap (u, v) of window (i, j) is input pixel (y, z)."""
    n, c, h, w = input_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = output_size((h, w), kernel, stride, padding)
    for b in range(n):
        for ch in range(c):
            for u in range(kh):
                for v in range(kw):
                    for i in range(oh):
                        for j in range(ow):
                            yield b, ch, u, v, i, j, sh * i + u - ph, sw * j + v - pw


def im2col_reference(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair,
                     pad_value: float = 0.0) -> np.ndarray:
    """:func:`im2col` by an explicit loop over every tap of every window."""
    n, c, h, w = x.shape
    (kh, kw), (oh, ow) = kernel, output_size((h, w), kernel, stride, padding)
    cols = np.full((c * kh * kw, n * oh * ow), pad_value, x.dtype)
    for b, ch, u, v, i, j, y, z in _window_pixels(x.shape, kernel, stride, padding):
        if 0 <= y < h and 0 <= z < w:
            cols[(ch * kh + u) * kw + v, (b * oh + i) * ow + j] = x[b, ch, y, z]
    return cols


def col2im_reference(cols: np.ndarray, input_shape: tuple[int, ...], kernel: Pair,
                     stride: Pair, padding: Pair) -> np.ndarray:
    """:func:`col2im` by an explicit loop over every entry of ``cols``."""
    n, c, h, w = input_shape
    (kh, kw), (oh, ow) = kernel, output_size((h, w), kernel, stride, padding)
    dx = np.zeros(input_shape, cols.dtype)
    for b, ch, u, v, i, j, y, z in _window_pixels(input_shape, kernel, stride, padding):
        if 0 <= y < h and 0 <= z < w:
            dx[b, ch, y, z] += cols[(ch * kh + u) * kw + v, (b * oh + i) * ow + j]
    return dx


def add_windows_reference(windows: np.ndarray, size: Pair, stride: Pair,
                          padding: Pair) -> np.ndarray:
    """:func:`add_windows` of (N, C, KH, KW, OH, OW) windows by an explicit loop."""
    n, c, kh, kw = windows.shape[:4]
    dx = np.zeros((n, c, *size), windows.dtype)
    for b, ch, u, v, i, j, y, z in _window_pixels((n, c, *size), (kh, kw), stride, padding):
        if 0 <= y < size[0] and 0 <= z < size[1]:
            dx[b, ch, y, z] += windows[b, ch, u, v, i, j]
    return dx
