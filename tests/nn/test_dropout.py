"""Dropout: the gradient check in training mode (one fixed mask), PyTorch's convention
(survivors scaled by 1/(1-p), identity in eval), and a fresh mask every batch."""

import numpy as np
import pytest

import barenet as bn
from barenet.nn.layers import Dropout

from .checks import assert_gradcheck
from .torch_parity import barenet_pass, close, needs_torch, torch, torch_pass


def test_dropout_train_mode(rng):
    layer = Dropout(0.4, rng=3)
    x = rng.standard_normal((10, 6))
    assert_gradcheck(layer, x, max_entries=None)
    dropped = layer.forward(x) == 0
    assert 0 < dropped.mean() < 1  # the mask really drops some and keeps some


@needs_torch
def test_dropout_eval_is_identity_like_torch(rng):
    x = rng.standard_normal((8, 10))
    ours, ref = Dropout(0.5, rng=0).eval(), torch.nn.Dropout(0.5).eval()
    y, dx = barenet_pass(ours, x, x)
    y_ref, dx_ref = torch_pass(ref, x, x)
    close(y, y_ref)
    close(dx, dx_ref)
    assert np.array_equal(y, x) and np.array_equal(dx, x)


@needs_torch
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_train_scaling_matches_torch(rng, p):
    """Torch cannot share our random numbers, so compare the convention: survivors
    scaled by 1/(1-p), output and gradient both x * mask for one shared mask."""
    x = rng.uniform(0.5, 1.5, (200, 100))
    g = rng.standard_normal(x.shape)
    ours = Dropout(p, rng=1)
    y, dx = barenet_pass(ours, x, g)
    kept = y != 0
    mask = kept / (1 - p)
    close(y, x * mask, "output is x * mask")
    close(dx, g * mask, "gradient is g * mask")
    # torch with the same mask, applied as a tensor product, gives the same numbers
    y_ref, dx_ref = torch_pass(lambda t: t * torch.tensor(mask), x, g)
    close(y, y_ref)
    close(dx, dx_ref)
    # torch's own dropout follows the same convention: zeros and x / (1 - p)
    torch.manual_seed(0)
    y_torch = torch.nn.Dropout(p)(torch.tensor(x)).numpy()
    kept_torch = y_torch != 0
    close(y_torch[kept_torch], x[kept_torch] / (1 - p))
    for keep_rate in (kept.mean(), kept_torch.mean()):
        assert abs(keep_rate - (1 - p)) < 5 * np.sqrt(p * (1 - p) / x.size)


def test_dropout_is_identity_in_eval_and_random_in_train(rng):
    layer = Dropout(0.5, rng=0)
    x = rng.standard_normal((50, 40))
    layer.eval()
    assert layer.forward(x) is x
    g = rng.standard_normal(x.shape)
    assert layer.backward(g) is g
    layer.train()
    first, second = layer.forward(x), layer.forward(x)
    assert not np.array_equal(first, second)  # a fresh mask every batch
    assert set(np.unique(np.round(first / x, 12))) == {0.0, 2.0}
    assert Dropout(0.0).forward(x) is x
    with pytest.raises(bn.BarenetError, match=r"\[0, 1\)"):
        Dropout(1.0)
