"""Batch normalisation (docs/math.md, "Batch normalisation").

The textbook version first: :func:`batch_norm` and :func:`batch_norm_backward`, the
formulas with means. Then the layers: one implementation serves both shapes,
``BatchNorm1d`` normalises each feature of (N, C) over the batch, ``BatchNorm2d`` each
channel of (N, C, H, W) over the batch and all pixels. Only the axes reduced over
differ. Their fast path is :mod:`barenet.nn.kernels.batchnorm`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ...errors import BarenetError
from ..kernels import batchnorm as fast
from ..module import Module, Parameter
from ..options import Spec, check_options, number, size
from ..registry import LAYERS
from ..switch import is_plain

# -- the textbook version: docs/math.md's formulas with means --------------------------


def batch_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
               mean: np.ndarray | None = None, var: np.ndarray | None = None):
    """Per channel (axis 1): ``y = gamma x_hat + beta`` with ``x_hat = (x - mu) r`` and
    ``r = 1 / sqrt(var + eps)``.

    Training (``mean`` None): ``mu`` and ``var`` are the batch's mean and biased variance
    over every axis but the channels; eval: the given running estimates.

    Parameters
    ----------
    x : ndarray, shape (N, C) or (N, C, H, W)
    gamma, beta : ndarray, shape (C,)
    mean, var : ndarray, shape (C,), optional

    Returns
    -------
    y, x_hat : ndarray, same shape as x
    r : ndarray, shape (C,)
    mu, var : ndarray, shape (C,), the statistics used
    """
    axes = (0, *range(2, x.ndim))  # all but the channels
    per_channel = (1, -1) + (1,) * (x.ndim - 2)  # (C,) -> broadcast along axis 1
    if mean is None:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    r = 1 / np.sqrt(var + eps)
    x_hat = (x - mean.reshape(per_channel)) * r.reshape(per_channel)
    y = gamma.reshape(per_channel) * x_hat + beta.reshape(per_channel)
    return y, x_hat, r, mean, var


def batch_norm_backward(grad_out: np.ndarray, x_hat: np.ndarray, r: np.ndarray,
                        gamma: np.ndarray, training: bool = True
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``dL/dx``, ``dL/dgamma``, ``dL/dbeta`` of :func:`batch_norm` from ``delta = grad_out``.

    ``dbeta = sum delta``, ``dgamma = sum delta x_hat``; with ``g = gamma delta`` and means
    over each channel's values, ``dx = r (g - mean(g) - x_hat mean(g x_hat))`` in training
    (``mu`` and ``var`` depend on ``x``), ``r g`` in eval (they are constants).
    """
    axes = (0, *range(2, x_hat.ndim))
    per_channel = (1, -1) + (1,) * (x_hat.ndim - 2)
    d_beta = grad_out.sum(axis=axes)
    d_gamma = (grad_out * x_hat).sum(axis=axes)
    g = gamma.reshape(per_channel) * grad_out
    r = r.reshape(per_channel)
    if not training:
        return r * g, d_gamma, d_beta
    dx = r * (g - g.mean(axis=axes, keepdims=True)
              - x_hat * (g * x_hat).mean(axis=axes, keepdims=True))
    return dx, d_gamma, d_beta


# -- the layers -------------------------------------------------------------------------


def _arrays(o: Mapping[str, Any]) -> list[tuple[int, ...]]:
    return [(o["num_features"],)] * 4  # gamma, beta, running mean and variance


def _spec(needs: str, ndim: int) -> Spec:
    """The options of a batch norm whose samples are ``needs`` with ``ndim`` axes."""

    def shape(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != ndim:
            raise BarenetError(f"{needs} but receives shape {shape}")
        return shape

    options = {"num_features": size(inferred=True), "eps": number(1e-5, open_low=True),
               "momentum": number(0.1, high=1.0)}
    return Spec(options, _arrays, shape=shape)


class _BatchNorm(Module):
    """``y = gamma * (x - mu) / sqrt(var + eps) + beta``, per channel.

    Training: ``mu`` and ``var`` are the batch's (biased variance) and the
    running estimates move by ``momentum`` toward them (the running variance
    uses the unbiased estimate, as PyTorch does; a batch with a single value
    per channel, such as a last batch of one sample, leaves them unchanged
    where PyTorch raises). Eval: the running estimates
    are used, so a single sample is normalised the same way every time.

    Its textbook version is :func:`batch_norm` and :func:`batch_norm_backward` (means
    over the axes, under :func:`barenet.nn.plain`). The fast path
    (:mod:`barenet.nn.kernels.batchnorm`) views each channel as a row of a (C, M)
    matrix, sums with matrix-vector products, and runs the elementwise passes as
    channel slices on several threads into preallocated arrays.

    Parameters
    ----------
    num_features : int
        Number of features (1d) or channels (2d), ``C``.
    eps : float
        Added to the variance before the square root.
    momentum : float
        Weight of the current batch in the running estimates.
    dtype : numpy dtype
        float32 (default) or float64.
    """

    ndim = 2  # dimensions of the input, batch axis included

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        check_options(type(self).__name__, self.spec,
                      {"num_features": num_features, "eps": eps, "momentum": momentum})
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), float(momentum)
        c = self.num_features
        self.params["gamma"] = Parameter(np.ones(c, dtype), "gamma")
        self.params["beta"] = Parameter(np.zeros(c, dtype), "beta")
        self.buffers["running_mean"] = np.zeros(c, dtype)
        self.buffers["running_var"] = np.ones(c, dtype)

    def _check(self, x: np.ndarray) -> None:
        """Raise a one-line error unless ``x`` is (N, C) or (N, C, H, W) with C channels;
        remember its shape."""
        if x.ndim != self.ndim or x.shape[1] != self.num_features:
            expected = "(N, C)" if self.ndim == 2 else "(N, C, H, W)"
            raise BarenetError(f"{type(self).__name__}({self.num_features}) expects {expected} "
                               f"with C={self.num_features}, got shape {x.shape}")
        self.input_shape = x.shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Per channel: ``y = gamma (x - mu) r + beta`` with ``r = 1 / sqrt(sigma^2 + eps)``.

        Training: mu, sigma^2 of this batch (m = N, or N H W values per channel); the running
        estimates move toward them if m > 1. Eval: ``running_mean``, ``running_var``. Keeps
        ``x_hat`` and ``inv_std`` (r). See docs/math.md, "Batch normalisation".

        Parameters
        ----------
        x : ndarray, shape (N, C) for BatchNorm1d, (N, C, H, W) for BatchNorm2d

        Returns
        -------
        y : ndarray, same shape as x
        """
        self._check(x)
        gamma, beta = self.params["gamma"].data, self.params["beta"].data
        stats = {} if self.training else {"mean": self.buffers["running_mean"],
                                          "var": self.buffers["running_var"]}
        if is_plain():  # x_hat (N, C, ...) like x
            y, self.x_hat, inv_std, mu, var = batch_norm(x, gamma, beta, self.eps, **stats)
            self.inv_std = inv_std.astype(x.dtype)
        else:  # x_hat (C, M): a row per channel
            y, self.x_hat, self.inv_std, mu, var, self.ones = fast.batch_norm_rows(
                fast.channel_rows(x), gamma, beta, self.eps, **stats)
            y = fast.from_channel_rows(y, x.shape)
        m = x.size // self.num_features  # values per channel
        if self.training and m > 1:  # one value has no unbiased variance (0/0): leave be
            r = self.momentum
            self.buffers["running_mean"] *= 1 - r
            self.buffers["running_mean"] += r * mu
            self.buffers["running_var"] *= 1 - r
            self.buffers["running_var"] += r * var * (m / (m - 1))
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dbeta = sum_i delta_i``, ``dL/dgamma = sum_i delta_i x_hat_i``, per channel.

        Writes them into ``gamma.grad``, ``beta.grad``. With ``g = gamma delta``, means over the m
        values of a channel, ``dL/dx = r (g - mean(g) - x_hat mean(g x_hat))`` in training mode,
        ``r g`` in eval mode (as ``self.training`` is now). See docs/math.md, "Batch normalisation".

        ``grad_out`` (delta = dL/dy) and the returned ``dx`` have the shape of ``x``.
        """
        self._check(grad_out)
        gamma, beta = self.params["gamma"], self.params["beta"]
        if is_plain():
            dx, d_gamma, d_beta = batch_norm_backward(grad_out, self.x_hat, self.inv_std,
                                                      gamma.data, self.training)
        else:
            dx, d_gamma, d_beta = fast.batch_norm_rows_backward(
                fast.channel_rows(grad_out), self.x_hat, self.inv_std, gamma.data, self.ones,
                self.training)
            dx = fast.from_channel_rows(dx, self.input_shape)
        gamma.grad[...] = d_gamma
        beta.grad[...] = d_beta
        return dx

    def config(self) -> dict:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum}

    def onnx_nodes(self, graph: Any, x: str) -> str:
        inputs = [x, graph.constant("gamma", self.gamma.data),
                  graph.constant("beta", self.beta.data),
                  graph.constant("mean", self.buffers["running_mean"]),
                  graph.constant("var", self.buffers["running_var"])]
        return graph.node("BatchNormalization", inputs, "batchnorm", epsilon=float(self.eps))

    @classmethod
    def examples_on(cls, rng: np.random.Generator,
                    shape: tuple[int, ...]) -> list[tuple[str, Module, np.ndarray]]:
        """A training-mode and an eval-mode gradient check on input of ``shape``."""
        out = []
        for mode in ("train", "eval"):
            bn = cls(shape[1], dtype=np.float64)
            bn.params["gamma"].data[...] = rng.uniform(0.5, 2.0, shape[1])
            bn.params["beta"].data[...] = rng.standard_normal(shape[1])
            bn.buffers["running_mean"][...] = rng.standard_normal(shape[1])
            bn.buffers["running_var"][...] = rng.uniform(0.5, 2.0, shape[1])
            bn.train(mode == "train")
            out.append((mode, bn, 3 * rng.standard_normal(shape) + 1))
        return out


@LAYERS.register()
class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features."""

    spec = _spec("BatchNorm1d needs features (C,)", 1)
    short_name = "norm"
    ndim = 2

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        return cls.examples_on(rng, (8, 4))


@LAYERS.register()
class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) channels, over the batch and all pixels."""

    spec = _spec("BatchNorm2d needs images (C, H, W)", 3)
    short_name = "norm"
    ndim = 4

    @classmethod
    def gradcheck_examples(cls, rng: np.random.Generator) -> list[tuple[str, Module, np.ndarray]]:
        return cls.examples_on(rng, (3, 2, 3, 3))


def fold_into(layer: Module, norm: _BatchNorm, through_max: bool = False) -> Module | None:
    """``layer`` (one declaring its ``output_axis``: a Linear or Conv2d) and the eval-mode
    batch norm after it, as one layer.

    ``gamma ((W x + b) - mu) r + beta = (gamma r W) x + (gamma r (b - mu) + beta)`` per
    output channel, with ``r = 1 / sqrt(running_var + eps)``: the same numbers up to
    rounding, one pass over the activations fewer. Returns a new layer (``layer`` and
    ``norm`` are not changed), or None for a layer that cannot take it in.

    ``through_max``: a max-pooling sits between the two. Max commutes with a
    per-channel ``a x + c`` only where ``a > 0`` (``max(a x + c) = a max(x) + c``), so the
    fold is refused (None) unless every channel's ``gamma r`` is positive.
    """
    axis = type(layer).output_axis
    if axis is None:
        return None
    weight = layer.params["weight"].data
    scale = (norm.params["gamma"].data.astype(np.float64)
             / np.sqrt(norm.buffers["running_var"].astype(np.float64) + norm.eps))
    if through_max and not np.all(scale > 0):
        return None
    bias = layer.params["bias"].data if "bias" in layer.params else 0.0
    shift = (bias - norm.buffers["running_mean"]) * scale + norm.params["beta"].data
    # scale each output: along the weight's output axis (Linear's weight is (in, out), a
    # convolution's (out, in, KH, KW))
    per_output = np.expand_dims(scale, [a for a in range(weight.ndim) if a != axis])
    folded = layer.replica()  # its own im2col buffer, not the original's
    folded.params = {"weight": Parameter((weight * per_output).astype(weight.dtype), "weight"),
                     "bias": Parameter(shift.astype(weight.dtype), "bias")}
    return folded
