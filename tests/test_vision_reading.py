"""Reading with a model: the input gradient and integrated gradients ("why did it say that?")."""

from __future__ import annotations

import numpy as np
import pytest

from barenet import Sequential
from barenet.nn.layers import BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Tanh
from barenet.vision.reading import input_gradient, integrated_gradients, why_overlay

NORM = {"normalization": {"mean": 0.13, "std": 0.31}}


def mlp() -> Sequential:
    return Sequential([Linear(784, 32, rng=0), Tanh(), Linear(32, 10, rng=1)],
                      metadata=NORM).astype(np.float64)


def cnn() -> Sequential:
    model = Sequential([Conv2d(1, 3, 3, padding=1, rng=0), BatchNorm2d(3), MaxPool2d(2), ReLU(),
                        Flatten(), Linear(3 * 14 * 14, 10, rng=1)], (1, 28, 28), NORM)
    model.astype(np.float64)
    model.forward(np.random.default_rng(0).normal(size=(8, 1, 28, 28)))  # batch-norm statistics
    return model.eval()


def central_difference(model: Sequential, seen: np.ndarray, k: int, pixels) -> list[float]:
    out = []
    for i, j in pixels:
        up, down = seen.copy(), seen.copy()
        up[i, j] += 1e-6
        down[i, j] -= 1e-6
        out.append((model.predict_logits(up[None])[0, k] - model.predict_logits(down[None])[0, k])
                   / 2e-6)
    return out


@pytest.mark.parametrize("make", [mlp, cnn])
def test_input_gradient_is_the_derivative_of_the_top_logit(make, rng):
    model = make()
    mode = model.training
    seen = rng.random((28, 28))  # no ties in the max-pooling windows
    k = int(model.predict_logits(seen[None])[0].argmax())
    pixels = [(3, 4), (14, 14), (20, 9), (27, 27)]
    gradient = input_gradient(model, seen)
    np.testing.assert_allclose([gradient[p] for p in pixels],
                               central_difference(model, seen, k, pixels), rtol=1e-6, atol=1e-8)
    assert gradient.shape == (28, 28) and model.training is mode  # the mode is put back


def test_a_batch_of_inputs_gives_one_gradient_each(rng):
    model = mlp()
    batch = rng.random((3, 28, 28))
    together = input_gradient(model, batch, label=4)
    for b in range(3):
        np.testing.assert_allclose(together[b], input_gradient(model, batch[b], label=4))


def test_integrated_gradients_add_up_to_the_logit_change(rng):
    model = mlp()
    seen = rng.random((28, 28))
    k = int(model.predict_logits(seen[None])[0].argmax())
    attribution = integrated_gradients(model, seen, steps=64)
    logits = model.predict_logits(np.stack([seen, np.zeros((28, 28))]))
    change = logits[0, k] - logits[1, k]
    assert attribution.sum() == pytest.approx(change, rel=0.02)
    seen[:5] = 0
    assert (integrated_gradients(model, seen)[:5] == 0).all()  # no ink, no attribution


def test_the_overlay_colours_for_and_against():
    seen = np.zeros((28, 28))
    gradient = np.zeros((28, 28))
    gradient[5, 5], gradient[6, 6] = 1.0, -1.0
    rgb = why_overlay(seen, gradient)
    assert rgb.shape == (28, 28, 3) and rgb.dtype == np.uint8
    assert rgb[5, 5, 0] > rgb[5, 5, 2] and rgb[6, 6, 2] > rgb[6, 6, 0]
    assert rgb[0, 0].tolist() == [0, 0, 0]
    assert why_overlay(seen, np.zeros((28, 28))).max() == 0  # nothing to say: no colour
