"""What the PyTorch parity tests share: the tolerance, the comparison, and the skip.

PyTorch is an optional, test-only dependency (``pip install -e .[torch]``). Without it,
each test marked :data:`needs_torch` skips with a reason naming what to install (and
fails under ``BARENET_NO_SKIP=1``, see tests/conftest.py); the gradient checks and the
textbook comparisons in the same file still run.
"""

import numpy as np
import pytest

try:
    import torch
except ImportError:
    torch = None

#: Marks a test that compares against PyTorch.
needs_torch = pytest.mark.skipif(
    torch is None,
    reason="PyTorch is not installed: pip install -e '.[torch]' (test-only reference)")

#: float64 results must agree to this, absolutely and relatively.
TOL = 1e-10


def close(ours, theirs, what: str = "") -> None:
    """Assert barenet's array equals PyTorch's tensor (or array) within :data:`TOL`."""
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert np.shape(ours) == theirs.shape, what
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL, err_msg=what)


def torch_pass(module, x, upstream):
    """Output and input gradient of a torch module for upstream gradient ``upstream``."""
    xt = torch.tensor(x, requires_grad=True)
    y = module(xt)
    y.backward(torch.tensor(upstream))
    return y, xt.grad


def barenet_pass(layer, x, upstream):
    y = layer.forward(x.copy())
    return y, layer.backward(upstream.copy())


def both_passes(layer, reference, x, upstream):
    """(output, input gradient) of the barenet layer and of the torch callable agree."""
    y, dx = barenet_pass(layer, x, upstream)
    y_ref, dx_ref = torch_pass(reference, x, upstream)
    close(y, y_ref, "output")
    close(dx, dx_ref, "input gradient")


def torch_conv(layer):
    """A float64 ``torch.nn.Conv2d`` with the weights of barenet's ``Conv2d`` ``layer``."""
    ref = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel,
                          stride=layer.stride, padding=layer.padding,
                          bias=layer.bias is not None,
                          dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.weight.data))
        if layer.bias is not None:
            ref.bias.copy_(torch.tensor(layer.bias.data))
    return ref
