"""What the PyTorch parity tests share: the tolerance and the comparison.

Importing this module skips the importing test file cleanly when PyTorch is
not installed (it is an optional, test-only dependency: ``pip install -e .[torch]``).
"""

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed: pip install -e '.[torch]' (test-only reference)")

#: float64 results must agree to this, absolutely and relatively.
TOL = 1e-10


def close(ours, theirs, what: str = "") -> None:
    """Assert barenet's array equals PyTorch's tensor (or array) within :data:`TOL`."""
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert np.shape(ours) == theirs.shape, what
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL, err_msg=what)
