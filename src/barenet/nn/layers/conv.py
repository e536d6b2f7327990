"""2-D convolution (docs/math.md, "Convolution").

The textbook version first: :func:`conv2d` and :func:`conv2d_backward`, docs/math.md's
index formulas as sums over the windows. Then the layer, :class:`Conv2d`, whose fast
path is one matrix product over im2col columns (:mod:`barenet.nn.kernels.conv`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import DTypeLike

from ..init import INITIALIZERS, as_generator
from ..kernels import conv as fast
from ..kernels.im2col import Pair, as_pair, check_image_batch, pair_config
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
from ..registry import LAYERS
from ..switch import is_plain

# -- the textbook version: docs/math.md's index formulas -----------------------------


def windows_of(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair,
               pad_value: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The padded images and all their windows: ``(x_pad, windows)``.

    ``windows[n, c, oh, ow, i, j] = x_pad[n, c, s*oh + i, s*ow + j]``, a view of
    ``x_pad``, which is ``x`` (N, C, H, W) with ``padding`` rows and columns of
    ``pad_value`` on every border.
    """
    (ph, pw), (sh, sw) = padding, stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    windows = sliding_window_view(x_pad, kernel, axis=(2, 3))  # every window position
    return x_pad, windows[:, :, ::sh, ::sw]  # every s-th one


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: Pair,
           padding: Pair) -> np.ndarray:
    """``y[n, o, oh, ow] = b[o] + sum_{c,i,j} W[o, c, i, j] x_pad[n, c, s*oh + i, s*ow + j]``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    weight : ndarray, shape (OC, C, KH, KW)
    bias : ndarray, shape (OC,), or None

    Returns
    -------
    y : ndarray, shape (N, OC, OH, OW)
    """
    _, windows = windows_of(x, weight.shape[2:], stride, padding)
    y = np.einsum("ocij,nchwij->nohw", weight, windows)
    if bias is not None:
        y = y + bias[None, :, None, None]
    return y


def conv2d_backward(grad_out: np.ndarray, x: np.ndarray, weight: np.ndarray, stride: Pair,
                    padding: Pair) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``dL/dx``, ``dL/dW`` and ``dL/db`` of :func:`conv2d` from ``delta = grad_out``.

    ``dW[o, c, i, j] = sum_{n,oh,ow} delta[n, o, oh, ow] x_pad[n, c, s*oh + i, s*ow + j]``,
    ``db[o] = sum_{n,oh,ow} delta[n, o, oh, ow]``, and every window tap hands
    ``sum_o delta[n, o, oh, ow] W[o, c, i, j]`` back to the pixel it read (the padding's
    share is dropped).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    d_weight : ndarray, shape (OC, C, KH, KW)
    d_bias : ndarray, shape (OC,)
    """
    h, w = x.shape[2:]
    (kh, kw), (sh, sw), (ph, pw) = weight.shape[2:], stride, padding
    x_pad, windows = windows_of(x, (kh, kw), stride, padding)
    d_weight = np.einsum("nohw,nchwij->ocij", grad_out, windows)
    d_bias = grad_out.sum(axis=(0, 2, 3))
    oh, ow = grad_out.shape[2:]
    dx_pad = np.zeros_like(x_pad)
    for i in range(kh):
        for j in range(kw):  # tap (i, j) of every window reads x_pad[:, :, s*oh + i, s*ow + j]
            dx_pad[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += np.einsum(
                "nohw,oc->nchw", grad_out, weight[:, :, i, j])
    return dx_pad[:, :, ph:ph + h, pw:pw + w], d_weight, d_bias


# -- the layer ----------------------------------------------------------------------


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

    A cross-correlation, as in PyTorch. Its textbook version is :func:`conv2d` and
    :func:`conv2d_backward` (under :func:`barenet.nn.plain`, the layer runs them and
    keeps the input ``x``). The fast path (:mod:`barenet.nn.kernels.conv`) copies the
    windows into ``cols`` (C*KH*KW, N*OH*OW), docs/math.md's ``X``, keeps that instead,
    and computes the sums as matrix products over it: ``Y = W cols + b``,
    ``dW = dY cols^T``, ``dcols = W^T dY``, then adds ``dcols`` back onto the pixels
    (col2im). :meth:`infer` works with the channels last in memory.

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
    ``b`` is (OC,). The fast output is a transposed view of the (OC, N, OH, OW)
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
    work_arrays = ("cols", "x")

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
        self.x: np.ndarray | None = None  # the last input (textbook path)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``y[n, o, oh, ow] = b_o + sum_{c,i,j} W[o, c, i, j] x_pad[n, c, s oh + i, s ow + j]``.

        Keeps ``x`` (textbook) or its im2col matrix ``cols`` (fast, a reused buffer).
        See docs/math.md, "Convolution".

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
        weight, bias = self.params["weight"].data, self._bias()
        if is_plain():
            self.x = x
            return conv2d(x, weight, bias, self.stride, self.padding)
        y, self.cols = fast.im2col_conv2d(x, weight, bias, self.stride, self.padding,
                                           cols=self.cols)
        return y

    def infer(self, x: np.ndarray) -> np.ndarray:
        """:meth:`forward` for prediction, nothing kept for a backward pass: the same
        numbers up to rounding.

        Fast: the output comes with the channels last in memory (a transposed view of
        (N, OH, OW, OC)), which :class:`MaxPool2d` and :class:`ReLU` keep
        (:func:`barenet.nn.kernels.conv.channels_last_conv2d`). Textbook: :func:`conv2d`.
        """
        check_image_batch(x, self.in_channels, self.kernel, self.padding, "Conv2d")
        weight, bias = self.params["weight"].data, self._bias()
        if is_plain():
            return conv2d(x, weight, bias, self.stride, self.padding)
        return fast.channels_last_conv2d(x, weight, bias, self.stride, self.padding)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """``dL/dW``, ``dL/db`` into ``weight.grad``, ``bias.grad``; returns ``dL/dx``.

        One backward per forward (the fast path reuses ``cols`` for ``dL/dcols``). See
        docs/math.md, "Convolution".

        Parameters
        ----------
        grad_out : ndarray, shape (N, OC, OH, OW)
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, shape (N, C, H, W), or None
            dL/dx; None when ``needs_input_grad`` is False.
        """
        weight = self.params["weight"]
        if is_plain():
            dx, d_weight, d_bias = conv2d_backward(grad_out, self.x, weight.data, self.stride,
                                                   self.padding)
        else:
            dx, d_weight, d_bias = fast.im2col_conv2d_backward(
                grad_out, self.cols, weight.data, self.input_shape, self.stride, self.padding,
                bias=self.bias is not None, input_grad=self.needs_input_grad)
        weight.grad[...] = d_weight
        if self.bias is not None:
            self.params["bias"].grad[...] = d_bias
        return dx if self.needs_input_grad else None  # None: see Sequential.backward

    def _bias(self) -> np.ndarray | None:
        return self.params["bias"].data if "bias" in self.params else None

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
