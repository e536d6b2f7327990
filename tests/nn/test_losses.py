"""SoftmaxCrossEntropy, MSELoss and BCEWithLogits: the gradient check, PyTorch parity
(label smoothing, soft targets, the no-class label, extreme logits), and target errors."""

import numpy as np
import pytest

import barenet as bn
from barenet.nn.losses import BCEWithLogits, MSELoss, SoftmaxCrossEntropy
from barenet.nn.losses.cross_entropy import NO_CLASS

from .checks import assert_gradcheck
from .torch_parity import close, needs_torch, torch

# --- the gradient check ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["int", "one-hot", "smoothing", "soft", "no-class"])
def test_softmax_cross_entropy_gradcheck(rng, kind):
    z = 3 * rng.standard_normal((8, 5))
    labels = rng.integers(0, 5, 8)
    no_class = np.where(np.arange(8) % 3 == 0, NO_CLASS, labels)  # outlier exposure
    targets = {"int": labels, "one-hot": np.eye(5)[labels], "smoothing": labels,
               "soft": rng.dirichlet(np.ones(5), 8), "no-class": no_class}[kind]
    loss = SoftmaxCrossEntropy(label_smoothing=0.2 if kind in ("smoothing", "no-class") else 0.0)
    assert_gradcheck(loss, z, targets, max_entries=None)


def test_softmax_cross_entropy_unnormalised_target_rows(rng):
    """Target rows that do not sum to 1 still get the exact gradient."""
    z = rng.standard_normal((6, 4))
    assert_gradcheck(SoftmaxCrossEntropy(), z, rng.uniform(0, 2, (6, 4)), max_entries=None)


def test_mse_gradcheck(rng):
    z = rng.standard_normal((7, 3))
    assert_gradcheck(MSELoss(), z, rng.standard_normal((7, 3)), max_entries=None)


@pytest.mark.parametrize("soft", [False, True])
def test_bce_with_logits_gradcheck(rng, soft):
    z = 4 * rng.standard_normal((7, 3))
    t = rng.uniform(0, 1, z.shape) if soft else rng.integers(0, 2, z.shape).astype(float)
    assert_gradcheck(BCEWithLogits(), z, t, max_entries=None)


# --- PyTorch parity ------------------------------------------------------------------------


def loss_parity(loss, z, targets, ref_fn, ref_targets):
    value = loss.forward(z.copy(), targets)
    grad = loss.backward()
    zt = torch.tensor(z, requires_grad=True)
    ref = ref_fn(zt, ref_targets)
    ref.backward()
    close(value, ref.detach().numpy(), "loss value")
    close(grad, zt.grad, "gradient")
    assert isinstance(value, float)


def cross_entropy(smoothing):
    return lambda t, y: torch.nn.functional.cross_entropy(t, y, label_smoothing=smoothing)


@needs_torch
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_int_labels(rng, smoothing):
    z = 4 * rng.standard_normal((32, 10))
    z[0] = [900, -900, 0, 1, 2, 3, 4, 5, 6, 7]  # extreme logits stay finite
    labels = rng.integers(0, 10, 32)
    loss_parity(SoftmaxCrossEntropy(smoothing), z, labels, cross_entropy(smoothing),
                torch.tensor(labels))


@needs_torch
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("kind", ["one-hot", "soft"])
def test_cross_entropy_distributions(rng, smoothing, kind):
    z = 3 * rng.standard_normal((16, 6))
    labels = rng.integers(0, 6, 16)
    q = np.eye(6)[labels] if kind == "one-hot" else rng.dirichlet(np.ones(6), 16)
    loss_parity(SoftmaxCrossEntropy(smoothing), z, q, cross_entropy(smoothing), torch.tensor(q))


@needs_torch
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_no_class_labels(rng, smoothing):
    """Label -1 (a non-digit, outlier exposure) is PyTorch's cross-entropy with a uniform
    probability row as its target."""
    z = 3 * rng.standard_normal((20, 10))
    labels = np.where(rng.random(20) < 0.3, NO_CLASS, rng.integers(0, 10, 20))
    rows = np.where((labels == NO_CLASS)[:, None], 0.1, np.eye(10)[np.maximum(labels, 0)])
    loss_parity(SoftmaxCrossEntropy(smoothing), z, labels, cross_entropy(smoothing),
                torch.tensor(rows))


@needs_torch
def test_mse_matches_torch(rng):
    z, t = rng.standard_normal((12, 5)), rng.standard_normal((12, 5))
    loss_parity(MSELoss(), z, t, torch.nn.functional.mse_loss, torch.tensor(t))


@needs_torch
@pytest.mark.parametrize("soft", [False, True])
def test_bce_with_logits_matches_torch(rng, soft):
    z = 5 * rng.standard_normal((12, 5))
    z[0] = [-800, -50, 0, 50, 800]
    t = rng.uniform(0, 1, z.shape) if soft else rng.integers(0, 2, z.shape).astype(float)
    loss_parity(BCEWithLogits(), z, t, torch.nn.functional.binary_cross_entropy_with_logits,
                torch.tensor(t))


# --- errors --------------------------------------------------------------------------------


def test_loss_target_errors_are_clear(rng):
    z = rng.standard_normal((4, 3))
    ce = SoftmaxCrossEntropy()
    with pytest.raises(bn.BarenetError, match="4 outputs but 1 targets"):
        ce.forward(z, np.array([1]))
    with pytest.raises(bn.BarenetError, match=r"\[0, 3\)"):
        ce.forward(z, np.array([0, 1, 2, 3]))
    with pytest.raises(bn.BarenetError, match="integer class labels"):
        ce.forward(z, np.array([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(bn.BarenetError, match=r"\(N, 3\)"):
        ce.forward(z, np.eye(4))
    with pytest.raises(bn.BarenetError, match=r"\(N, K\)"):
        ce.forward(z.reshape(2, 2, 3), np.array([0, 1]))
    with pytest.raises(bn.BarenetError, match="label_smoothing"):
        SoftmaxCrossEntropy(1.0)
    for loss in (MSELoss(), BCEWithLogits()):
        with pytest.raises(bn.BarenetError, match="targets of shape"):
            loss.forward(z, np.zeros((4, 2)))
