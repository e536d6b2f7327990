"""The fast batch normalisation (docs/math.md, "Batch normalisation").

Its textbook version is :func:`barenet.nn.layers.batchnorm.batch_norm` and
:func:`~barenet.nn.layers.batchnorm.batch_norm_backward`: means over the axes with
``mean``. Here each channel is one row of a (C, M) matrix, a view when the input is
channel-major in memory (as convolution and pooling outputs are); the sums are
matrix-vector products and ``einsum``, run whole, so that no number depends on the
thread count; the elementwise passes run as channel slices on several threads
(:func:`~barenet.nn.kernels.parallel.over_channels`), into preallocated arrays.
"""

from __future__ import annotations

import numpy as np

from .parallel import over_channels


def channel_rows(x: np.ndarray) -> np.ndarray:
    """``x`` (N, C) or (N, C, H, W) as (C, M): one row per channel, M = N or N*H*W.

    A view when ``x`` is channel-major in memory, as convolution and pooling outputs
    are (and as (N, C) features are, with a stride); a copy otherwise.
    """
    return np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)


def from_channel_rows(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`channel_rows`: (C, M) back to ``shape`` (a view)."""
    n, c, *pixels = shape
    return np.moveaxis(rows.reshape(c, n, *pixels), 0, 1)


def batch_norm_rows(rows: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                       mean: np.ndarray | None = None, var: np.ndarray | None = None):
    """Per row: ``y = gamma (x - mu) r + beta`` with ``r = 1 / sqrt(var + eps)``.

    Training (``mean`` None): ``mu`` and ``var`` are the row's mean and biased variance;
    eval: the given running estimates.

    Parameters
    ----------
    rows : ndarray, shape (C, M)
    gamma, beta : ndarray, shape (C,)
    mean, var : ndarray, shape (C,), optional

    Returns
    -------
    y, x_hat : ndarray, shape (C, M)
    inv_std : ndarray, shape (C,), ``r`` in the rows' dtype
    mu, var : ndarray, shape (C,), the statistics used
    ones : ndarray, shape (M,), kept for the backward pass's sums
    """
    m = rows.shape[1]  # values per channel
    # Departs from the textbook mean: row sums as a matrix-vector product (BLAS), not
    # sum(axis=...). Over 100,000 float32 values its rounding error was 1.5e-7 of the
    # sum of |x| (NumPy's pairwise sum: 8e-8).
    ones = np.ones(m, rows.dtype)
    c = rows.shape[0]
    x_hat, y = np.empty(rows.shape, rows.dtype), np.empty(rows.shape, rows.dtype)
    training = mean is None
    mu = rows @ ones / m if training else mean

    def centre(s: slice) -> None:  # normalised below
        np.subtract(rows[s], mu[s, None], out=x_hat[s])

    over_channels(centre, c, rows.size)
    if training:
        var = np.einsum("cm,cm->c", x_hat, x_hat) / m  # one pass, no squared copy
    inv_std = (1.0 / np.sqrt(var + eps)).astype(rows.dtype)

    def normalise(s: slice) -> None:
        x_hat[s] *= inv_std[s, None]
        np.multiply(x_hat[s], gamma[s, None], out=y[s])
        y[s] += beta[s, None]

    over_channels(normalise, c, rows.size)
    return y, x_hat, inv_std, mu, var, ones


def batch_norm_rows_backward(dy: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray,
                        gamma: np.ndarray, ones: np.ndarray, training: bool = True
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``dbeta = sum dy``, ``dgamma = sum dy x_hat`` per row; ``dx = r gamma (dy - mean(dy)
    - x_hat mean(dy x_hat))`` in training, ``r gamma dy`` in eval.

    Parameters
    ----------
    dy, x_hat : ndarray, shape (C, M)
    inv_std, gamma : ndarray, shape (C,)
    ones : ndarray, shape (M,), from :func:`batch_norm_rows`

    Returns
    -------
    dx : ndarray, shape (C, M)
    d_gamma, d_beta : ndarray, shape (C,), in ``gamma``'s dtype
    """
    d_beta = (dy @ ones).astype(gamma.dtype, copy=False)  # the sums whole: see forward
    d_gamma = np.einsum("cm,cm->c", dy, x_hat).astype(gamma.dtype, copy=False)
    scale = (gamma * inv_std)[:, None]  # dy/dx for fixed mu and var
    m, dx = dy.shape[1], np.empty(dy.shape, dy.dtype)
    # the two means are d_beta / m and d_gamma / m, already summed above
    mean_g, mean_gx = (d_beta / m)[:, None], (d_gamma / m)[:, None]

    def channels(s: slice) -> None:
        if not training:  # mu and var are constants
            np.multiply(dy[s], scale[s], out=dx[s])
            return
        np.multiply(x_hat[s], mean_gx[s], out=dx[s])
        np.subtract(dy[s], dx[s], out=dx[s])
        dx[s] -= mean_g[s]
        dx[s] *= scale[s]

    over_channels(channels, dy.shape[0], dy.size)
    return dx, d_gamma, d_beta
