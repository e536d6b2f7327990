"""Max and average pooling over windows of each channel (docs/math.md, "Pooling").

Both pooling layers read the windows of :func:`~barenet.layers.im2col.sliding_windows`
(a view, no copy) and send gradients back with :func:`~barenet.layers.im2col.col2im`,
the same pair of maps the convolution uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import BarenetError
from ..module import Module
from .im2col import as_pair, check_image_batch, col2im, output_size, pair_config, sliding_windows
from .registry import LAYERS


class _Pool2d(Module):
    """What max and average pooling share: window geometry, checks, config, output shape.

    Shapes: ``x`` (N, C, H, W) -> ``y`` (N, C, OH, OW) with
    ``OH = (H + 2p - KH) // s + 1`` (likewise OW).
    """

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0) -> None:
        super().__init__()
        self.kernel = as_pair(kernel_size, "kernel_size", 1)
        self.stride = self.kernel if stride is None else as_pair(stride, "stride", 1)
        self.padding = as_pair(padding, "padding", 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel, strict=True)):
            raise BarenetError(f"{type(self).__name__}: padding {padding} must be at most half "
                               f"the kernel size {kernel_size} (a window of padding only)")

    def windows(self, x: np.ndarray, pad_value: float = 0.0) -> np.ndarray:
        """Check ``x`` and view its windows (N, C, KH, KW, OH, OW)."""
        check_image_batch(x, None, self.kernel, self.padding, type(self).__name__)
        self.size = x.shape[2:]
        return sliding_windows(x, self.kernel, self.stride, self.padding, pad_value)

    def scatter(self, windows: np.ndarray) -> np.ndarray:
        """Gradient (N, C, KH, KW, OH, OW) of every window entry -> gradient of the input."""
        return col2im(windows, self.size, self.stride, self.padding)

    def config(self) -> dict:
        return {"kernel_size": pair_config(self.kernel), "stride": pair_config(self.stride),
                "padding": pair_config(self.padding)}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (input_shape[0],
                *output_size(input_shape[1:], self.kernel, self.stride, self.padding))

    @classmethod
    def gradcheck_example(cls, rng: np.random.Generator) -> tuple[_Pool2d, np.ndarray]:
        """Overlapping padded windows on an odd-sized input, for ``barenet gradcheck``."""
        return cls(3, stride=2, padding=1), rng.standard_normal((2, 3, 7, 9))


@LAYERS.register()
class MaxPool2d(_Pool2d):
    """``y[n, c, i, j] = max_{u,v} x_pad[n, c, s*i + u, s*j + v]``, padding with -inf.

    The gradient flows to the one maximal entry of each window; on ties to the
    first in row-major ``(u, v)`` order, as PyTorch does.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window KH x KW.
    stride : int or (int, int), optional
        Step s between windows; defaults to the kernel size (non-overlapping windows).
    padding : int or (int, int)
        -inf rows/columns p added on each side, never selected.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        windows = self.windows(x, pad_value=-np.inf)
        kw = self.kernel[1]
        taps = self.kernel[0] * kw
        # Running maximum over the taps t = u*KW + v of all windows at once, and where it was.
        y = windows[:, :, 0, 0].copy()
        self.argmax = np.zeros(y.shape, np.min_scalar_type(taps))
        larger = np.empty(y.shape, bool)
        for t in range(1, taps):
            candidate = windows[:, :, t // kw, t % kw]
            np.greater(candidate, y, out=larger)  # strictly: a tie keeps the first maximum
            np.copyto(self.argmax, t, where=larger)
            np.maximum(y, candidate, out=y)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        kh, kw = self.kernel
        taps = np.arange(kh * kw).reshape(kh, kw, 1, 1)
        chosen = self.argmax[:, :, None, None] == taps  # (N, C, KH, KW, OH, OW)
        return self.scatter(chosen * grad_out[:, :, None, None])


@LAYERS.register()
class AvgPool2d(_Pool2d):
    """``y[n, c, i, j] = (1 / (KH KW)) sum_{u,v} x_pad[n, c, s*i + u, s*j + v]``, zero padding.

    Padded zeros count in the average (PyTorch's default ``count_include_pad``),
    so every input pixel of a window receives ``dy / (KH KW)``.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window KH x KW.
    stride : int or (int, int), optional
        Step s between windows; defaults to the kernel size (non-overlapping windows).
    padding : int or (int, int)
        Zero rows/columns p added on each side.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.windows(x).mean(axis=(2, 3))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        n, c, oh, ow = grad_out.shape
        kh, kw = self.kernel
        share = grad_out[:, :, None, None] / grad_out.dtype.type(kh * kw)
        return self.scatter(np.broadcast_to(share, (n, c, kh, kw, oh, ow)))


@LAYERS.register()
class GlobalAvgPool2d(Module):
    """``y[n, c] = mean over (h, w) of x[n, c, h, w]``: (N, C, H, W) -> (N, C).

    Backward spreads ``dy[n, c] / (H W)`` evenly over the channel's pixels.
    Equivalent to PyTorch's ``adaptive_avg_pool2d(x, 1)`` followed by a flatten.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_image_batch(x, None, (1, 1), (0, 0), "GlobalAvgPool2d")
        self.input_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        h, w = self.input_shape[2:]
        share = grad_out[:, :, None, None] / grad_out.dtype.type(h * w)
        return np.broadcast_to(share, self.input_shape).copy()

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (input_shape[0],)

    @classmethod
    def gradcheck_example(cls, rng: np.random.Generator) -> tuple[GlobalAvgPool2d, np.ndarray]:
        """An odd-sized input, for ``barenet gradcheck``."""
        return cls(), rng.standard_normal((2, 3, 7, 9))
