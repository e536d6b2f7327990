"""What the network's test files share: the gradient check's tolerance and assertion, the
textbook comparison's tolerance, and the checks every spatial layer passes."""

import json

import numpy as np

from barenet.nn.gradcheck import gradcheck
from barenet.nn.layers import LAYERS

#: A finite-difference gradient check passes below this relative error (float64).
GRAD_TOL = 1e-6

#: A fast path against its textbook version, in float64.
TIGHT = {"rtol": 1e-12, "atol": 1e-12}


def assert_gradcheck(target, x, targets=None, **options):
    """Check ``target`` (a module or a loss) at ``x``; return the result."""
    result = gradcheck(target, x, targets, **options)
    assert result.total_checked > 0
    assert result.passed(GRAD_TOL), f"relative errors {result.errors}"
    return result


def channels_last(x: np.ndarray) -> np.ndarray:
    """The same (N, C, H, W) values as a view of (N, H, W, C) memory, as infer returns."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def check_shape_config_and_dtype(rng, layer, shape):
    """float32 in, float32 out and back, of the spec's output shape; a JSON-able config
    that builds the same layer again."""
    x = rng.standard_normal((2, *shape)).astype(np.float32)
    y = layer.forward(x)
    assert y.shape == (2, *layer.output_shape(shape))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    config = json.loads(json.dumps(layer.config()))  # JSON-able and complete
    assert LAYERS[type(layer).__name__](**config).config() == layer.config()
