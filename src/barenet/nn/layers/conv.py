"""2-D convolution as one matrix product over im2col columns (docs/math.md, "Convolution")."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import DTypeLike

from ..init import INITIALIZERS, as_generator
from ..kernels import parallel
from ..kernels.im2col import (
    Pair,
    as_pair,
    check_image_batch,
    col2im,
    im2col,
    output_size,
    pad,
    pair_config,
    sliding_windows,
)
from ..module import Module, Parameter
from ..options import (
    INITS,
    Spec,
    check_options,
    choice,
    flag,
    needs_images,
    pair,
    size,
    two,
    windows,
)
from .registry import LAYERS


def _shape(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    needs_images("Conv2d", shape)
    return (o["out_channels"], *windows(o, shape))


def _arrays(o: Mapping[str, Any]) -> list[tuple[int, ...]]:
    weight = (o["out_channels"], o["in_channels"], *two(o["kernel_size"]))
    return [weight] + ([(o["out_channels"],)] if o["bias"] else [])


def _kept(o: Mapping[str, Any], shape: tuple[int, ...], out: tuple[int, ...]) -> int:
    """The im2col columns kept for backward: ``C KH KW`` values per output pixel."""
    return o["in_channels"] * math.prod(two(o["kernel_size"])) * math.prod(out[1:])


@LAYERS.register()
class Conv2d(Module):
    """``y[n, o, oh, ow] = b[o] + sum_{c,i,j} W[o, c, i, j] x_pad[n, c, s*oh + i, s*ow + j]``.

    A cross-correlation, as in PyTorch. With ``cols`` (C*KH*KW, N*OH*OW), the
    windows of the input copied by :func:`~barenet.nn.kernels.im2col.im2col`
    (docs/math.md's ``X``), and ``W`` reshaped to (OC, C*KH*KW), the forward
    pass is one product and the backward pass two::

        Y = W cols + b        dW = dY cols^T        db = sum of dY over (n, oh, ow)
        dcols = W^T dY

    where ``Y`` and ``dY`` are (OC, N*OH*OW). :func:`~barenet.nn.kernels.im2col.col2im`
    then adds each entry of ``dcols`` back onto the input pixel it was copied
    from: the adjoint of im2col.

    Parameters
    ----------
    in_channels, out_channels : int
        C and OC.
    kernel_size : int or (int, int)
        KH x KW.
    stride : int or (int, int)
        Step s between window positions.
    padding : int or (int, int)
        Zero rows/columns p added on each side of the image.
    init : {"he", "xavier", "lecun"}
        Weight initialiser (fan-in C*KH*KW, fan-out OC*KH*KW); biases start at zero.
    bias : bool
        Whether to add ``b``.
    rng : numpy.random.Generator or int, optional
        Source of the initial weights.
    dtype : numpy dtype
        float32 (default) or float64.

    Shapes: ``x`` (N, C, H, W) -> ``y`` (N, OC, OH, OW) with
    ``OH = (H + 2p - KH) // s + 1`` (likewise OW); ``W`` is (OC, C, KH, KW),
    ``b`` is (OC,). The output is a transposed view of the (OC, N, OH, OW)
    product; NumPy treats it as any other (N, OC, OH, OW) array, and when the
    gradient comes back in the same memory order, reading it as ``dY`` is free.
    """

    #: ``rng`` and ``dtype`` are not options: no file holds them.
    spec = Spec({"in_channels": size(inferred=True), "out_channels": size(),
                 "kernel_size": pair(), "stride": pair(1), "padding": pair(0, low=0),
                 "init": choice("he", *INITS), "bias": flag(True)},
                _arrays, random=True, shape=_shape, kept=_kept)
    short_name = "conv"
    output_axis = 0  # W is (out_channels, in_channels, KH, KW)
    work_arrays = ("cols",)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                 init: str = "he", bias: bool = True,
                 rng: np.random.Generator | int | None = None,
                 dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        initializer = INITIALIZERS[init]  # a one-line error naming the initialisers
        check_options(type(self).__name__, self.spec, {
            "in_channels": in_channels, "out_channels": out_channels,
            "kernel_size": kernel_size, "stride": stride, "padding": padding, "init": init,
            "bias": bias})
        self.kernel = as_pair(kernel_size, "kernel_size", 1)
        self.stride = as_pair(stride, "stride", 1)
        self.padding = as_pair(padding, "padding", 0)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.init = init
        taps = self.kernel[0] * self.kernel[1]
        w = initializer((self.out_channels, self.in_channels, *self.kernel),
                        self.in_channels * taps, self.out_channels * taps, as_generator(rng),
                        dtype)
        self.params["weight"] = Parameter(w, "weight")
        if bias:
            self.params["bias"] = Parameter(np.zeros(self.out_channels, dtype), "bias")
        self.cols: np.ndarray | None = None  # im2col of the last input; a reused buffer

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y[n, o, oh, ow] = b_o + sum_{c,i,j} W[o, c, i, j] x_pad[n, c, s oh + i, s ow + j]``.

        Computed as ``Y = W_mat X + b``, with X = im2col(x) of shape (C KH KW, N OH OW) kept in
        ``self.cols``. See docs/math.md, "Convolution".

        Parameters
        ----------
        x : ndarray, shape (N, C, H, W)

        Returns
        -------
        y : ndarray, shape (N, OC, OH, OW)
            ``OH = (H + 2p - KH) // s + 1``, likewise OW.
        """
        check_image_batch(x, self.in_channels, self.kernel, self.padding, "Conv2d")
        self.input_shape = x.shape
        oh, ow = output_size(x.shape[2:], self.kernel, self.stride, self.padding)
        self.cols = im2col(x, self.kernel, self.stride, self.padding, out=self.cols)
        w = self.params["weight"].data.reshape(self.out_channels, -1)
        y = np.empty((self.out_channels, self.cols.shape[1]), self.cols.dtype)
        parallel.matmul(w, self.cols, y)  # (OC, N*OH*OW)
        if self.bias is not None:
            y += self.params["bias"].data[:, None]
        return y.reshape(self.out_channels, x.shape[0], oh, ow).transpose(1, 0, 2, 3)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """:meth:`forward` for prediction, with the channels last in memory: the same
        numbers up to rounding, nothing kept for a backward pass.

        The windows are copied in the input's own memory order: from channels-last
        input (what this returns) one row per window, its taps ``(i, j, c)``
        contiguous; from any other (the network's input) the ``im2col`` columns. Either
        way the product is (windows, taps) x (taps, OC), whose (N*OH*OW, OC) result is
        the output with the channels last. OpenBLAS runs that orientation faster for
        few output channels and many windows. :class:`MaxPool2d` and :class:`ReLU`
        keep that memory order.

        Parameters
        ----------
        x : ndarray, shape (N, C, H, W), any memory order

        Returns
        -------
        y : ndarray, shape (N, OC, OH, OW)
            A transposed view of (N, OH, OW, OC) memory.
        """
        check_image_batch(x, self.in_channels, self.kernel, self.padding, "Conv2d")
        n, c, h, w = x.shape
        oh, ow = output_size((h, w), self.kernel, self.stride, self.padding)
        ph, pw = self.padding
        weight = self.params["weight"].data
        if c > 1 and x.strides[1] == x.itemsize:  # channels last: one row per window
            padded = np.zeros((n, h + 2 * ph, w + 2 * pw, c), x.dtype)
            padded[:, ph:ph + h, pw:pw + w] = x.transpose(0, 2, 3, 1)
            windows = sliding_window_view(padded, self.kernel, axis=(1, 2))
            windows = windows[:, ::self.stride[0], ::self.stride[1]]  # (N, OH, OW, C, KH, KW)
            rows = np.empty((n, oh, ow, *self.kernel, c), x.dtype)
            rows[...] = windows.transpose(0, 1, 2, 4, 5, 3)
            rows = rows.reshape(n * oh * ow, c * self.kernel[0] * self.kernel[1])
            taps = weight.transpose(0, 2, 3, 1).reshape(self.out_channels, -1)  # (i, j, c)
        else:  # channel-major input: im2col's columns, read transposed by the product
            rows = im2col(x, self.kernel, self.stride, self.padding).T
            taps = weight.reshape(self.out_channels, -1)  # (c, i, j)
        y = rows @ taps.T  # (N*OH*OW, OC)
        if self.bias is not None:
            y += self.params["bias"].data
        return y.reshape(n, oh, ow, self.out_channels).transpose(0, 3, 1, 2)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """``dL/dW_mat = delta_Y X^T``, ``dL/dX = W_mat^T delta_Y``, dL/db = row sums of delta_Y.

        delta_Y is delta as (OC, N OH OW); col2im adds dL/dX back onto the pixels: dL/dx. Stores
        dL/dW in ``weight.grad``, dL/db in ``bias.grad``; dL/dX reuses the ``self.cols``
        buffer, so one backward per forward. See docs/math.md, "Convolution".

        Parameters
        ----------
        grad_out : ndarray, shape (N, OC, OH, OW)
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, shape (N, C, H, W), or None
            dL/dx; None when ``needs_input_grad`` is False.
        """
        n, oc, oh, ow = grad_out.shape
        # dY: (N, OC, OH, OW) -> (OC, N*OH*OW), a copy only if grad_out is in NCHW memory order
        g = grad_out.transpose(1, 0, 2, 3).reshape(oc, n * oh * ow)
        weight = self.params["weight"]
        # Departs from the textbook dW = dY cols^T: computed as (cols dY^T)^T, the
        # orientation OpenBLAS runs faster, and with few rows in cols (a first layer:
        # C*KH*KW = 9) as one product per image, summed, instead of one long product.
        # Both equal conv2d_reference (tests).
        k = self.cols.shape[0]
        if k <= 32:
            images = self.cols.reshape(k, n, oh * ow).transpose(1, 0, 2)
            deltas = g.reshape(oc, n, oh * ow).transpose(1, 2, 0)
            per_image = np.empty((n, k, oc), g.dtype)  # summed once, in one order, below
            parallel.over_channels(
                lambda s: np.matmul(images[s], deltas[s], out=per_image[s]), n, g.size * k)
            weight.grad.reshape(oc, -1).T[...] = per_image.sum(axis=0)
        else:
            grad_t = np.empty((k, oc), g.dtype)
            parallel.matmul(self.cols, g.T, grad_t, rows=True)
            weight.grad.reshape(oc, -1).T[...] = grad_t
        if self.bias is not None:  # row sums as a matrix-vector product (see BatchNorm)
            np.matmul(g, np.ones(g.shape[1], g.dtype), out=self.params["bias"].grad)
        if not self.needs_input_grad:  # the network's input: see Sequential.backward
            return None
        # dcols has the shape of cols, which is not needed any more: reuse its buffer.
        dcols = self.cols
        parallel.matmul(weight.data.reshape(oc, -1).T, g, dcols)
        return col2im(dcols, self.input_shape, self.kernel, self.stride, self.padding)

    def config(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": pair_config(self.kernel), "stride": pair_config(self.stride),
                "padding": pair_config(self.padding), "init": self.init,
                "bias": self.bias is not None}

    def onnx_nodes(self, graph: Any, x: str) -> str:
        inputs = [x, graph.constant("weight", self.weight.data)]
        if self.bias is not None:
            inputs.append(graph.constant("bias", self.bias.data))
        ph, pw = self.padding
        return graph.node("Conv", inputs, "conv", kernel_shape=list(self.kernel),
                          strides=list(self.stride), pads=[ph, pw, ph, pw])

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        layer = cls(2, 3, 3, stride=2, padding=1, rng=rng, dtype=np.float64)
        layer.bias.data[...] = rng.standard_normal(3)
        return [("stride 2, padding 1, odd-sized input", layer,
                        rng.standard_normal((2, 2, 7, 9)))]


# -- the plain reference, for the tests: docs/math.md's index form -------------------


def conv2d_reference(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                     grad_out: np.ndarray, stride: Pair, padding: Pair,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """:class:`Conv2d`'s forward and backward as docs/math.md's index formulas.

    No im2col matrix: sums over the windows view with ``einsum``, and the input
    gradient added back one tap ``(i, j)`` at a time.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    weight : ndarray, shape (OC, C, KH, KW)
    bias : ndarray, shape (OC,), or None
    grad_out : ndarray, shape (N, OC, OH, OW)
        delta = dL/dy.

    Returns
    -------
    y : ndarray, shape (N, OC, OH, OW)
    dx : ndarray, shape (N, C, H, W)
    dW : ndarray, shape (OC, C, KH, KW)
    db : ndarray, shape (OC,), or None
    """
    n, c, h, w = x.shape
    kh, kw = weight.shape[2:]
    (s_h, s_w), (p_h, p_w) = stride, padding
    windows = sliding_windows(x, (kh, kw), stride, padding)  # [n, c, i, j, oh, ow]
    y = np.einsum("ocij,ncijhw->nohw", weight, windows)
    if bias is not None:
        y = y + bias[None, :, None, None]
    d_weight = np.einsum("nohw,ncijhw->ocij", grad_out, windows)
    d_bias = None if bias is None else grad_out.sum(axis=(0, 2, 3))
    oh, ow = grad_out.shape[2:]
    dx_pad = np.zeros_like(pad(x, padding))
    for i in range(kh):
        for j in range(kw):  # x_pad[n, c, s oh + i, s ow + j] += sum_o delta W[o, c, i, j]
            dx_pad[:, :, i:i + s_h * oh:s_h, j:j + s_w * ow:s_w] += np.einsum(
                "nohw,oc->nchw", grad_out, weight[:, :, i, j])
    return y, dx_pad[:, :, p_h:p_h + h, p_w:p_w + w], d_weight, d_bias
