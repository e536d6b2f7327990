"""A small CNN as a barenet.Sequential: model file round trip, summary, training step."""

import numpy as np

import barenet as bn
from barenet.nn.layers import (
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    ReLU,
)
from barenet.nn.losses import SoftmaxCrossEntropy
from barenet.nn.optim import Adam


def cnn(rng, head: str) -> bn.Sequential:
    pool = [GlobalAvgPool2d(), Linear(16, 10, rng=rng)] if head == "gap" else \
        [Flatten(), Linear(16 * 7 * 7, 10, rng=rng)]
    return bn.Sequential([
        Conv2d(1, 8, 3, padding=1, rng=rng), BatchNorm2d(8), ReLU(), MaxPool2d(2),
        Conv2d(8, 16, 3, padding=1, rng=rng), BatchNorm2d(16), ReLU(), MaxPool2d(2),
        Dropout(0.3, rng=rng.integers(2**32)), *pool,
    ], input_shape=(1, 28, 28))


def train_steps(model, x, labels, steps=3):
    loss, opt = SoftmaxCrossEntropy(), Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(steps):
        losses.append(loss.forward(model.forward(x), labels))
        model.backward(loss.backward())
        opt.step()
    return losses


def test_save_load_round_trip_gives_identical_predictions(rng, tmp_path):
    images = rng.integers(0, 256, (16, 28, 28)).astype(np.uint8)
    for head in ("gap", "flatten"):
        model = cnn(rng, head)
        x = model.prepare_input(images)
        train_steps(model, x, rng.integers(0, 10, 16))  # moves weights and running stats
        path = tmp_path / f"{head}.npz"
        model.save(path)
        loaded = bn.load(path)
        assert loaded.config() == model.config()
        assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
        np.testing.assert_array_equal(loaded.predict_proba(images), model.predict_proba(images))
        for name, array in model.state().items():
            np.testing.assert_array_equal(loaded.state()[name], array, err_msg=name)


def test_training_steps_reduce_the_loss_and_summary_lists_shapes(rng):
    model = cnn(rng, "gap")
    x = rng.standard_normal((32, 1, 28, 28)).astype(np.float32)
    losses = train_steps(model, x, rng.integers(0, 10, 32), steps=15)
    assert losses[-1] < losses[0]
    summary = model.summary()
    assert "(8, 14, 14)" in summary and "(16, 7, 7)" in summary and "(16,)" in summary
    assert model.output_shape((1, 28, 28)) == (10,)
