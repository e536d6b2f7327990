"""What max and average pooling share: window geometry, options, checks, config, shape.

Each pooling file starts with its textbook version (the windows as in
:func:`~barenet.nn.layers.conv.windows_of`); :class:`~barenet.nn.layers.MaxPool2d` and
:class:`~barenet.nn.layers.AvgPool2d` each declare their own spec from :func:`pool_spec`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..kernels.im2col import as_pair, check_image_batch, output_size, pair_config
from ..module import Module
from ..options import Spec, check_options, needs_images, pair, two, windows


def _shape(o: Mapping[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    needs_images("pooling", shape)
    return (shape[0], *windows(o, shape))


def _padding(o: Mapping[str, Any]) -> str | None:
    """A window must hold at least one real pixel: padding at most half the kernel."""
    if any(2 * p > k for p, k in zip(two(o["padding"]), two(o["kernel_size"]), strict=True)):
        return (f"padding {o['padding']} must be at most half the kernel size "
                f"{o['kernel_size']} (a window of padding only)")
    return None


def pool_spec() -> Spec:
    """The options of a pooling over windows: kernel, stride (None: the kernel), padding."""
    return Spec({"kernel_size": pair(), "stride": pair(None, none_ok=True),
                 "padding": pair(0, low=0)}, shape=_shape, rule=_padding)


class Pool2d(Module):
    """Window geometry, checks, config and output shape of a pooling layer.

    Shapes: ``x`` (N, C, H, W) -> ``y`` (N, C, OH, OW) with
    ``OH = (H + 2p - KH) // s + 1`` (likewise OW).
    """

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0) -> None:
        super().__init__()
        check_options(type(self).__name__, self.spec,
                      {"kernel_size": kernel_size, "stride": stride, "padding": padding})
        self.kernel = as_pair(kernel_size, "kernel_size", 1)
        self.stride = self.kernel if stride is None else as_pair(stride, "stride", 1)
        self.padding = as_pair(padding, "padding", 0)

    def check(self, x: np.ndarray) -> tuple[int, int]:
        """Check that ``x`` is (N, C, H, W) and large enough, remember its shape; (OH, OW)."""
        check_image_batch(x, None, self.kernel, self.padding, type(self).__name__)
        self.input_shape = x.shape
        return output_size(x.shape[2:], self.kernel, self.stride, self.padding)

    def config(self) -> dict:
        return {"kernel_size": pair_config(self.kernel), "stride": pair_config(self.stride),
                "padding": pair_config(self.padding)}

    def onnx_window(self) -> dict[str, list[int]]:
        """The ONNX attributes of the windows: kernel_shape, strides, pads."""
        ph, pw = self.padding
        return {"kernel_shape": list(self.kernel), "strides": list(self.stride),
                "pads": [ph, pw, ph, pw]}
