"""The fast convolution: one matrix product over im2col columns (docs/math.md, "Convolution").

Its textbook version is :func:`barenet.nn.layers.conv.conv2d` and
:func:`~barenet.nn.layers.conv.conv2d_backward`: sums over the windows, no matrix.
Here the windows are copied into ``cols`` (C*KH*KW, N*OH*OW), docs/math.md's ``X``, by
:func:`~barenet.nn.kernels.im2col.im2col`, and with ``W`` reshaped to (OC, C*KH*KW)::

    Y = W cols + b        dW = dY cols^T        db = sum of dY over (n, oh, ow)
    dcols = W^T dY        dx = col2im(dcols)

where ``Y`` and ``dY`` are (OC, N*OH*OW). The products are cut into slices that the
threads share (:func:`~barenet.nn.kernels.parallel.matmul`).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import parallel
from .im2col import Pair, col2im, im2col, output_size


def im2col_conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: Pair,
                   padding: Pair, cols: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``Y = W_mat cols + b``: the output and the im2col matrix that backward needs.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    weight : ndarray, shape (OC, C, KH, KW)
    bias : ndarray, shape (OC,), or None
    cols : ndarray, shape (C*KH*KW, N*OH*OW), optional
        The previous call's matrix, reused as the buffer when its shape and dtype fit.

    Returns
    -------
    y : ndarray, shape (N, OC, OH, OW)
        A transposed view of the (OC, N, OH, OW) product; when the gradient comes back
        in that memory order, reading it as ``dY`` is free.
    cols : ndarray, shape (C*KH*KW, N*OH*OW)
    """
    oc, kernel = weight.shape[0], weight.shape[2:]
    oh, ow = output_size(x.shape[2:], kernel, stride, padding)
    cols = im2col(x, kernel, stride, padding, out=cols)
    y = np.empty((oc, cols.shape[1]), cols.dtype)
    parallel.matmul(weight.reshape(oc, -1), cols, y)  # (OC, N*OH*OW)
    if bias is not None:
        y += bias[:, None]
    return y.reshape(oc, x.shape[0], oh, ow).transpose(1, 0, 2, 3), cols


def im2col_conv2d_backward(grad_out: np.ndarray, cols: np.ndarray, weight: np.ndarray,
                    input_shape: tuple[int, ...], stride: Pair, padding: Pair,
                    bias: bool = True, input_grad: bool = True
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """``dW = dY cols^T``, ``db`` = row sums of ``dY``, ``dx = col2im(W_mat^T dY)``.

    ``cols`` is :func:`im2col_conv2d`'s matrix; it is overwritten by ``dcols`` (one
    backward per forward).

    Parameters
    ----------
    grad_out : ndarray, shape (N, OC, OH, OW)
    cols : ndarray, shape (C*KH*KW, N*OH*OW)
    weight : ndarray, shape (OC, C, KH, KW)
    input_shape : (N, C, H, W)
    bias : whether to return ``db``
    input_grad : whether to return ``dx`` (else None, and ``cols`` is left alone)

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None
        A transposed view of (C, N, H, W) memory.
    d_weight : ndarray, shape (OC, C, KH, KW)
        A transposed view of (C*KH*KW, OC) memory.
    d_bias : ndarray, shape (OC,), or None
    """
    n, oc, oh, ow = grad_out.shape
    # dY: (N, OC, OH, OW) -> (OC, N*OH*OW), a copy only if grad_out is in NCHW memory order
    g = grad_out.transpose(1, 0, 2, 3).reshape(oc, n * oh * ow)
    # Departs from the textbook dW = dY cols^T: computed as (cols dY^T)^T, the
    # orientation OpenBLAS runs faster, and with few rows in cols (a first layer:
    # C*KH*KW = 9) as one product per image, summed, instead of one long product.
    # Both equal the textbook conv2d_backward (tests).
    k = cols.shape[0]
    if k <= 32:
        images = cols.reshape(k, n, oh * ow).transpose(1, 0, 2)
        deltas = g.reshape(oc, n, oh * ow).transpose(1, 2, 0)
        per_image = np.empty((n, k, oc), g.dtype)  # summed once, in one order, below
        parallel.over_channels(
            lambda s: np.matmul(images[s], deltas[s], out=per_image[s]), n, g.size * k)
        grad_t = per_image.sum(axis=0)
    else:
        grad_t = np.empty((k, oc), g.dtype)
        parallel.matmul(cols, g.T, grad_t, rows=True)
    d_weight = grad_t.T.reshape(weight.shape)
    # row sums as a matrix-vector product (see the batch norm kernel)
    d_bias = np.matmul(g, np.ones(g.shape[1], g.dtype)) if bias else None
    if not input_grad:
        return None, d_weight, d_bias
    # dcols has the shape of cols, which is not needed any more: reuse its buffer.
    parallel.matmul(weight.reshape(oc, -1).T, g, cols)
    return col2im(cols, input_shape, weight.shape[2:], stride, padding), d_weight, d_bias


def channels_last_conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: Pair,
                 padding: Pair) -> np.ndarray:
    """The forward pass for prediction, with the channels last in memory: nothing kept.

    The windows are copied in the input's own memory order: from channels-last
    input (what this returns) one row per window, its taps ``(i, j, c)``
    contiguous; from any other (the network's input) the ``im2col`` columns. Either
    way the product is (windows, taps) x (taps, OC), whose (N*OH*OW, OC) result is
    the output with the channels last. The sum over the taps runs in another order
    than :func:`im2col_conv2d`'s: the same numbers up to rounding.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), any memory order
    weight : ndarray, shape (OC, C, KH, KW)
    bias : ndarray, shape (OC,), or None

    Returns
    -------
    y : ndarray, shape (N, OC, OH, OW)
        A transposed view of (N, OH, OW, OC) memory.
    """
    n, c, h, w = x.shape
    oc, kernel = weight.shape[0], weight.shape[2:]
    oh, ow = output_size((h, w), kernel, stride, padding)
    ph, pw = padding
    if c > 1 and x.strides[1] == x.itemsize:  # channels last: one row per window
        padded = np.zeros((n, h + 2 * ph, w + 2 * pw, c), x.dtype)
        padded[:, ph:ph + h, pw:pw + w] = x.transpose(0, 2, 3, 1)
        windows = sliding_window_view(padded, kernel, axis=(1, 2))
        windows = windows[:, ::stride[0], ::stride[1]]  # (N, OH, OW, C, KH, KW)
        rows = np.empty((n, oh, ow, *kernel, c), x.dtype)
        rows[...] = windows.transpose(0, 1, 2, 4, 5, 3)
        rows = rows.reshape(n * oh * ow, c * kernel[0] * kernel[1])
        taps = weight.transpose(0, 2, 3, 1).reshape(oc, -1)  # (i, j, c)
    else:  # channel-major input: im2col's columns, read transposed by the product
        rows = im2col(x, kernel, stride, padding).T
        taps = weight.reshape(oc, -1)  # (c, i, j)
    y = rows @ taps.T  # (N*OH*OW, OC)
    if bias is not None:
        y += bias
    return y.reshape(n, oh, ow, oc).transpose(0, 3, 1, 2)
