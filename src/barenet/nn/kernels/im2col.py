"""Sliding windows over images, shared by convolution and pooling (docs/math.md, "Convolution").

Notation as in docs/math.md: images ``x`` (N, C, H, W), a window (kernel) of
KH x KW pixels moved by stride s over ``x_pad``, the images zero-padded by p
on every border. There are ``OH = (H + 2p - KH) // s + 1`` by ``OW`` window
positions ``(oh, ow)``, and tap ``(i, j)`` of window ``(oh, ow)`` is pixel
``(s*oh + i, s*ow + j)`` of ``x_pad``.

- :func:`sliding_windows` views every window without copying:
  ``windows[n, c, i, j, oh, ow] = x_pad[n, c, s*oh + i, s*ow + j]``.
- :func:`im2col` copies those windows into one matrix, docs/math.md's ``X``,
  with a row per ``(c, i, j)`` and a column per ``(n, oh, ow)``, so a
  convolution is a single matrix product ``W (OC, C*KH*KW) @ cols (C*KH*KW, N*OH*OW)``.
  That order lets the copy move whole image rows and makes the product come
  out channel-major.
- :func:`col2im` is the adjoint (transpose) of :func:`im2col`, and
  :func:`add_windows` that of :func:`sliding_windows`: they add every window
  entry back onto the pixel it was copied from. Backward passes use them.
- With stride 1 and a padding that keeps the width (the 3x3 kernel with
  padding 1), im2col and col2im copy and add whole runs of image rows instead
  of window rows (docs/math.md, "The same copies, in long runs"): the same
  numbers, with NumPy's per-row loop overhead paid once per run of OH*W values
  instead of once per window row of OW.

The ``*_reference`` functions are the same maps written as plain loops, for
the tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ...errors import BarenetError
from .parallel import over_channels

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
    ``windows[n, c, i, j, oh, ow] = x_pad[n, c, s*oh + i, s*ow + j]``.
    """
    (kh, kw), (sh, sw) = kernel, stride
    windows = sliding_window_view(pad(x, padding, pad_value), (kh, kw), axis=(-2, -1))
    # (..., H', W', KH, KW) -> keep every s-th window position, kernel axes first
    return np.moveaxis(windows[..., ::sh, ::sw, :, :], (-2, -1), (-4, -3))


def im2col(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair,
           out: np.ndarray | None = None) -> np.ndarray:
    """Copy the windows of images ``x`` (N, C, H, W) into a matrix (C*KH*KW, N*OH*OW).

    Row ``(c, i, j)`` holds tap ``(i, j)`` of channel ``c`` for every window
    position, column ``(n, oh, ow)`` is one window; padding is zero.
    ``out`` (same shape and dtype) is reused instead of allocating.
    """
    n, c, h, w = x.shape
    oh, ow = output_size((h, w), kernel, stride, padding)
    rows, columns = c * kernel[0] * kernel[1], n * oh * ow
    if out is None or out.shape != (rows, columns) or out.dtype != x.dtype:
        out = np.empty((rows, columns), x.dtype)
    if _runs_apply(kernel, stride, padding):
        taps = out.reshape(c, *kernel, n, oh, ow)
        padded, pixels = _row_padded(x.shape, padding, x.dtype)
        runs = _tap_runs(padded, kernel, (n, h + 2 * padding[0], w))  # (C, KH, KW, N, OH*W)
        flat = taps.reshape(runs.shape)
        source = x.transpose(1, 0, 2, 3)

        def channels(s: slice) -> None:  # each channel's rows on its own (parallel.py)
            pixels[s] = source[s]
            flat[s] = runs[s]
            _zero_wrapped(taps[s], w, padding[1])

        over_channels(channels, c, out.size)
        return out
    windows = sliding_windows(x, kernel, stride, padding)  # (N, C, KH, KW, OH, OW)
    out.reshape(c, *kernel, n, oh, ow)[...] = windows.transpose(1, 2, 3, 0, 4, 5)
    return out


def col2im(cols: np.ndarray, input_shape: tuple[int, ...], kernel: Pair, stride: Pair,
           padding: Pair) -> np.ndarray:
    """Adjoint of :func:`im2col`: add every entry of ``cols`` onto the pixel it was copied from.

    ``cols`` is (C*KH*KW, N*OH*OW); returns images of ``input_shape``
    (N, C, H, W), a transposed view of (C, N, H, W) memory, the order in which
    the columns arrive. ``cols`` serves as scratch: entries that belong to
    the padding may be set to zero.
    """
    n, c, h, w = input_shape
    oh, ow = output_size((h, w), kernel, stride, padding)
    windows = cols.reshape(c, *kernel, n, oh, ow)
    if not _runs_apply(kernel, stride, padding):
        # (C, N, KH, KW, OH, OW) windows -> (C, N, H, W) images -> (N, C, H, W) view
        dx = add_windows(np.moveaxis(windows, 3, 1), (h, w), stride, padding)
        return dx.transpose(1, 0, 2, 3)
    (kh, kw), (ph, pw) = kernel, padding
    padded, pixels = _row_padded(input_shape, padding, cols.dtype)
    runs = _tap_runs(padded, kernel, (n, h + 2 * ph, w), writeable=True)
    dx = np.empty((c, n, h, w), cols.dtype)

    def channels(s: slice) -> None:  # each channel's rows on its own (parallel.py)
        _zero_wrapped(windows[s], w, pw)  # those entries belong to the padding
        for i in range(kh):
            for j in range(kw):  # the runs of one tap do not overlap: one += each
                runs[s, i, j] += windows[s, i, j].reshape(s.stop - s.start, n, oh * ow)
        dx[s] = pixels[s]

    over_channels(channels, c, cols.size)
    return dx.transpose(1, 0, 2, 3)


# -- the fast path for stride 1 and "same" width: contiguous runs -----------------------
#
# With stride 1 and 2*pw = KW - 1 (OW = W: the 3x3 kernel with padding 1, say), tap
# (i, j) of all windows of image n is one contiguous run of OH*W values, if the image
# rows are laid end to end and padded only above and below: it starts at row i, shifted
# by j - pw columns. The shift makes the first (or last) |j - pw| values of each output
# row read the neighbouring row's edge (or further, when the padding is wider than the
# image) instead of the left (right) padding; those are set to the padding afterwards
# (:func:`_zero_wrapped`). Copying runs of OH*W values
# instead of rows of OW is what makes this path faster: NumPy's loop overhead is per row.


def _runs_apply(kernel: Pair, stride: Pair, padding: Pair) -> bool:
    """Stride 1, a width-keeping padding, and more than one tap (1x1 gains nothing)."""
    return stride == (1, 1) and 2 * padding[1] == kernel[1] - 1 and kernel != (1, 1)


def _row_padded(shape: tuple[int, ...], padding: Pair,
                dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Zeros (C, L) for images of ``shape`` (N, C, H, W), and the view of their pixels.

    Each channel's row holds ``pw`` zeros, then each image with ``ph`` zero rows
    above and below, its rows end to end, then ``pw`` zeros. The view is
    (C, N, H, W).
    """
    n, c, h, w = shape
    ph, pw = padding
    size = (h + 2 * ph) * w
    padded = np.zeros((c, n * size + 2 * pw), dtype)
    images = padded[:, pw:pw + n * size].reshape(c, n, h + 2 * ph, w)
    return padded, images[:, :, ph:ph + h]


def _tap_runs(padded: np.ndarray, kernel: Pair, size: tuple[int, ...],
              writeable: bool = False) -> np.ndarray:
    """The runs of :func:`_row_padded` images as a view (C, KH, KW, N, OH*W).

    ``runs[c, i, j, n, k] = padded[c, n*(H + 2ph)*W + i*W + j + k]`` for images
    of ``size`` (N, H + 2ph, W): the ``pw`` margin in front makes the shift
    ``j - pw`` of tap ``(i, j)`` an offset ``j``.
    """
    n, hp, w = size
    oh = hp - kernel[0] + 1
    step = padded.itemsize
    return as_strided(padded, (padded.shape[0], *kernel, n, oh * w),
                      (padded.strides[0], w * step, step, hp * w * step, step),
                      writeable=writeable)


def _zero_wrapped(windows: np.ndarray, w: int, pw: int) -> None:
    """Set to zero the entries of ``windows`` (C, KH, KW, N, OH, W) that read padding.

    In the runs, tap column ``j`` is shifted by ``j - pw``: the first ``pw - j`` (or
    the last ``j - pw``) output columns then read a neighbouring row, or with
    padding wider than the image, other images, instead of the side padding.
    """
    for j in range(windows.shape[2]):
        if j < pw:
            windows[:, :, j, :, :, :pw - j] = 0
        elif j > pw:
            windows[:, :, j, :, :, max(w - (j - pw), 0):] = 0


def add_windows(windows: np.ndarray, size: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Adjoint of :func:`sliding_windows`: sum each window entry onto its image pixel.

    ``windows`` is (..., KH, KW, OH, OW), any memory layout (a broadcast view
    works); returns images (..., H, W), ``(H, W) = size``, with
    ``dx[..., s*oh + i - p, s*ow + j - p] += windows[..., i, j, oh, ow]`` and what
    lands on the padding dropped: one vectorised addition per tap ``(i, j)``.
    The leading axes keep their order in memory.
    """
    *lead, kh, kw, oh, ow = windows.shape
    (h, w), (sh, sw), (ph, pw) = size, stride, padding
    dx = np.zeros((*lead, h + 2 * ph, w + 2 * pw), windows.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[..., i:i + sh * oh:sh, j:j + sw * ow:sw] += windows[..., i, j, :, :]
    return dx[..., ph:ph + h, pw:pw + w]


# -- loop references for the tests: slow and obviously right ------------------------


def _window_pixels(input_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair):
    """Every (n, c, i, j, oh, ow, u, v): tap (i, j) of window (oh, ow) is input pixel (u, v)."""
    n, c, h, w = input_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = output_size((h, w), kernel, stride, padding)
    for b in range(n):
        for ch in range(c):
            for i in range(kh):
                for j in range(kw):
                    for r in range(oh):
                        for q in range(ow):
                            yield b, ch, i, j, r, q, sh * r + i - ph, sw * q + j - pw


def im2col_reference(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """:func:`im2col` by an explicit loop over every tap of every window."""
    n, c, h, w = x.shape
    (kh, kw), (oh, ow) = kernel, output_size((h, w), kernel, stride, padding)
    cols = np.zeros((c * kh * kw, n * oh * ow), x.dtype)
    for b, ch, i, j, r, q, u, v in _window_pixels(x.shape, kernel, stride, padding):
        if 0 <= u < h and 0 <= v < w:
            cols[(ch * kh + i) * kw + j, (b * oh + r) * ow + q] = x[b, ch, u, v]
    return cols


def col2im_reference(cols: np.ndarray, input_shape: tuple[int, ...], kernel: Pair,
                     stride: Pair, padding: Pair) -> np.ndarray:
    """:func:`col2im` by an explicit loop over every entry of ``cols``."""
    n, c, h, w = input_shape
    (kh, kw), (oh, ow) = kernel, output_size((h, w), kernel, stride, padding)
    dx = np.zeros(input_shape, cols.dtype)
    for b, ch, i, j, r, q, u, v in _window_pixels(input_shape, kernel, stride, padding):
        if 0 <= u < h and 0 <= v < w:
            dx[b, ch, u, v] += cols[(ch * kh + i) * kw + j, (b * oh + r) * ow + q]
    return dx


def add_windows_reference(windows: np.ndarray, size: Pair, stride: Pair,
                          padding: Pair) -> np.ndarray:
    """:func:`add_windows` of (N, C, KH, KW, OH, OW) windows by an explicit loop."""
    n, c, kh, kw = windows.shape[:4]
    dx = np.zeros((n, c, *size), windows.dtype)
    for b, ch, i, j, r, q, u, v in _window_pixels((n, c, *size), (kh, kw), stride, padding):
        if 0 <= u < size[0] and 0 <= v < size[1]:
            dx[b, ch, u, v] += windows[b, ch, i, j, r, q]
    return dx
