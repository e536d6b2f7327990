"""Batch normalisation (docs/math.md, "Batch normalisation").

One implementation serves both shapes: ``BatchNorm1d`` normalises each
feature of (N, C) over the batch, ``BatchNorm2d`` each channel of (N, C, H, W)
over the batch and all pixels. Only the axes reduced over differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ...errors import BarenetError
from ..kernels.parallel import over_channels
from ..module import Module, Parameter
from ..options import Spec, check_options, number, size
from .registry import LAYERS


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

    def _rows(self, x: np.ndarray) -> np.ndarray:
        """``x`` as (C, M): one row per channel, M = N (1d) or N*H*W (2d) values in it.

        A view when ``x`` is channel-major in memory, as convolution and pooling
        outputs are (and as (N, C) features are, with a stride); a copy otherwise.
        """
        if x.ndim != self.ndim or x.shape[1] != self.num_features:
            expected = "(N, C)" if self.ndim == 2 else "(N, C, H, W)"
            raise BarenetError(f"{type(self).__name__}({self.num_features}) expects {expected} "
                               f"with C={self.num_features}, got shape {x.shape}")
        self.input_shape = x.shape
        return np.moveaxis(x, 1, 0).reshape(self.num_features, -1)

    def _unrows(self, rows: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`_rows`: (C, M) back to the input's shape (a view)."""
        n, c, *pixels = self.input_shape
        return np.moveaxis(rows.reshape(c, n, *pixels), 0, 1)

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
        rows = self._rows(x)
        gamma, beta = self.params["gamma"].data, self.params["beta"].data
        m = rows.shape[1]  # values per channel
        # Departs from the textbook mean: row sums as a matrix-vector product (BLAS), not
        # sum(axis=...). Over 100,000 float32 values its rounding error was 1.5e-7 of the
        # sum of |x| (NumPy's pairwise sum: 8e-8).
        # batch_norm_reference is the textbook version, with means (tests).
        # The elementwise passes run as channel slices on several threads
        # (barenet.nn.kernels.parallel); the sums run whole, so that no number depends on
        # the thread count.
        ones = np.ones(m, rows.dtype)
        c = self.num_features
        x_hat, y = np.empty(rows.shape, rows.dtype), np.empty(rows.shape, rows.dtype)
        if self.training:
            mu = rows @ ones / m
        else:
            mu, var = self.buffers["running_mean"], self.buffers["running_var"]

        def centre(s: slice) -> None:  # normalised below
            np.subtract(rows[s], mu[s, None], out=x_hat[s])

        over_channels(centre, c, rows.size)
        if self.training:
            var = np.einsum("cm,cm->c", x_hat, x_hat) / m  # one pass, no squared copy
        self.inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)

        def normalise(s: slice) -> None:
            x_hat[s] *= self.inv_std[s, None]
            np.multiply(x_hat[s], gamma[s, None], out=y[s])
            y[s] += beta[s, None]

        over_channels(normalise, c, rows.size)
        if self.training and m > 1:  # one value has no unbiased variance (0/0): leave be
            r = self.momentum
            self.buffers["running_mean"] *= 1 - r
            self.buffers["running_mean"] += r * mu
            self.buffers["running_var"] *= 1 - r
            self.buffers["running_var"] += r * var * (m / (m - 1))
        self.x_hat, self.ones = x_hat, ones
        return self._unrows(y)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dbeta = sum_i delta_i``, ``dL/dgamma = sum_i delta_i x_hat_i``, per channel.

        Writes them into ``gamma.grad``, ``beta.grad``. With ``g = gamma delta``, means over the m
        values of a channel, ``dL/dx = r (g - mean(g) - x_hat mean(g x_hat))`` in training mode,
        ``r g`` in eval mode (as ``self.training`` is now). See docs/math.md, "Batch normalisation".

        Parameters
        ----------
        grad_out : ndarray, same shape as x
            delta = dL/dy.

        Returns
        -------
        dx : ndarray, same shape as x
        """
        dy = self._rows(grad_out)
        gamma, beta = self.params["gamma"], self.params["beta"]
        beta.grad[...] = dy @ self.ones  # the sums whole: see forward
        gamma.grad[...] = np.einsum("cm,cm->c", dy, self.x_hat)
        scale = (gamma.data * self.inv_std)[:, None]  # dy/dx for fixed mu and var
        m, dx = dy.shape[1], np.empty(dy.shape, dy.dtype)
        # dx = gamma inv_std (dy - mean(dy) - x_hat mean(dy x_hat)), means over each row;
        # the two means are beta.grad / m and gamma.grad / m, already summed above.
        mean_g, mean_gx = (beta.grad / m)[:, None], (gamma.grad / m)[:, None]

        def channels(s: slice) -> None:
            if not self.training:  # mu and var are constants
                np.multiply(dy[s], scale[s], out=dx[s])
                return
            np.multiply(self.x_hat[s], mean_gx[s], out=dx[s])
            np.subtract(dy[s], dx[s], out=dx[s])
            dx[s] -= mean_g[s]
            dx[s] *= scale[s]

        over_channels(channels, self.num_features, dy.size)
        return self._unrows(dx)

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


# -- the plain reference, for the tests: docs/math.md's formulas with means ----------


def batch_norm_reference(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                         grad_out: np.ndarray, mean: np.ndarray | None = None,
                         var: np.ndarray | None = None,
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Batch norm's forward and backward as docs/math.md writes them: ``(y, dx, dgamma, dbeta)``.

    Training mode (the batch's mean and biased variance) unless ``mean`` and
    ``var`` are given, as the eval-mode running estimates. Channels are axis 1;
    the statistics run over every other axis.

    Parameters
    ----------
    x, grad_out : ndarray, shape (N, C) or (N, C, H, W)
    gamma, beta : ndarray, shape (C,)
    mean, var : ndarray, shape (C,), optional
    """
    axes = (0, *range(2, x.ndim))
    per_channel = (1, -1) + (1,) * (x.ndim - 2)
    training = mean is None
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    r = 1 / np.sqrt(var.reshape(per_channel) + eps)
    x_hat = (x - mean.reshape(per_channel)) * r
    y = gamma.reshape(per_channel) * x_hat + beta.reshape(per_channel)
    d_beta = grad_out.sum(axis=axes)
    d_gamma = (grad_out * x_hat).sum(axis=axes)
    g = gamma.reshape(per_channel) * grad_out
    if not training:
        return y, r * g, d_gamma, d_beta
    dx = r * (g - g.mean(axis=axes, keepdims=True)
              - x_hat * (g * x_hat).mean(axis=axes, keepdims=True))
    return y, dx, d_gamma, d_beta
