"""The classifier (barenet.Sequential): raw images in, predictions out. Batch norm folded
into the layers before it gives the eval forward's numbers; several threads give the same
numbers as one; test-time views average mirrored and shifted copies; a small CNN trains,
lists its shapes and round-trips through its model file."""

import numpy as np
import pytest

import barenet as bn
from barenet.errors import BarenetError
from barenet.nn.layers import (
    BatchNorm1d,
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

# --- prediction: eval layers, batch norm folded, threads ---------------------------------


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_predicting_with_batch_norm_folded_equals_the_eval_forward(rng, dtype, tolerance):
    from barenet.nn.layers.batchnorm import _BatchNorm

    model = bn.Sequential([
        Conv2d(1, 4, 3, padding=1, rng=rng), BatchNorm2d(4), MaxPool2d(2), ReLU(),
        Conv2d(4, 5, 3, bias=False, rng=rng), BatchNorm2d(5),
        MaxPool2d(2), BatchNorm2d(5),  # after pooling: folded through it (positive gamma)
        Flatten(), Linear(5 * 2 * 2, 6, rng=rng), BatchNorm1d(6), ReLU(), Linear(6, 3, rng=rng),
    ], input_shape=(1, 12, 12)).astype(dtype)
    for layer in model.layers:
        if isinstance(layer, _BatchNorm):
            c = layer.num_features
            layer.gamma.data[...] = rng.uniform(0.5, 2, c)
            layer.beta.data[...] = rng.standard_normal(c)
            layer.buffers["running_mean"][...] = rng.standard_normal(c)
            layer.buffers["running_var"][...] = rng.uniform(0.5, 2, c)
    x = rng.random((7, 1, 12, 12)).astype(dtype)
    with model.evaluating():
        plain = model.forward(x)
        kinds = [type(layer).__name__ for layer in model.inference_layers()]
    assert kinds == ["Conv2d", "MaxPool2d", "ReLU", "Conv2d", "MaxPool2d", "Flatten", "Linear",
                     "ReLU", "Linear"]
    before = [a.copy() for a in model.state_dict().values()]
    np.testing.assert_allclose(model.predict_logits(x), plain, rtol=tolerance, atol=tolerance)
    for a, b in zip(before, model.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b)  # folding changes nothing in the model
    # one negative scale: max does not commute with it, so that batch norm stays
    model.layers[7].gamma.data[2] = -0.7
    with model.evaluating():
        plain = model.forward(x)
        assert [type(m).__name__ for m in model.inference_layers()].count("BatchNorm2d") == 1
    np.testing.assert_allclose(model.predict_logits(x), plain, rtol=tolerance, atol=tolerance)
    model.train()
    assert [type(m).__name__ for m in model.inference_layers()].count("BatchNorm2d") == 3


def test_prediction_on_several_threads_gives_the_same_numbers(rng):
    # a convolution with no batch norm after it keeps its own im2col buffer per thread
    model = bn.Sequential([Conv2d(1, 6, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
                           Conv2d(6, 4, 3, rng=rng), BatchNorm2d(4), Flatten(),
                           Linear(4 * 12 * 12, 10, rng=rng)], input_shape=(1, 28, 28))
    images = rng.integers(0, 256, (203, 28, 28), dtype=np.uint8)  # 7 batches, the last short
    one = model.predict_logits(images, batch_size=32, threads=1)
    for threads in (2, 3, 8):
        np.testing.assert_array_equal(model.predict_logits(images, batch_size=32,
                                                           threads=threads), one)
    with model.evaluating():
        plain = model.forward(model.prepare_input(images))
    np.testing.assert_allclose(one, plain, rtol=2e-5, atol=2e-5)
    assert model.predict_logits(images[:0], threads=4).shape == (0, 10)


# --- test-time views ------------------------------------------------------------------


def test_predict_with_mirror_averages_each_image_with_its_mirror_image(rng):
    model = bn.Sequential([Linear(784, 10, rng=rng)])  # raw images are mirrored, not rows
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    plain, mirrored = model.predict_logits(images), model.predict_logits(images[:, :, ::-1])
    np.testing.assert_allclose(model.predict_logits(images, mirror=True),
                               (plain + mirrored) / 2, rtol=1e-6, atol=1e-6)
    symmetric = np.concatenate([images[:, :, :14], images[:, :, 13::-1]], axis=2)
    np.testing.assert_allclose(model.predict_logits(symmetric, mirror=True),
                               model.predict_logits(symmetric), rtol=1e-6, atol=1e-6)
    with pytest.raises(BarenetError, match=r"mirroring expects images of shape \(N, H, W\)"):
        model.predict_logits(images.reshape(5, 784), mirror=True)


def test_predict_with_shift_averages_each_image_with_its_four_one_pixel_shifts(rng):
    model = bn.Sequential([Linear(784, 10, rng=rng)])
    images = np.zeros((5, 28, 28), np.uint8)  # a blank edge, as MNIST's: rolling it in
    images[:, 4:24, 4:24] = rng.integers(0, 256, (5, 20, 20))  # is what the shift does
    shifted = [np.roll(images, step, axis=axis) for step in (-1, 1) for axis in (1, 2)]
    views = [images, *shifted]
    expected = sum(model.predict_logits(v) for v in views) / 5
    np.testing.assert_allclose(model.predict_logits(images, shift=True), expected,
                               rtol=1e-5, atol=1e-5)
    both = sum(model.predict_logits(v) + model.predict_logits(v[:, :, ::-1]) for v in views) / 10
    np.testing.assert_allclose(model.predict_logits(images, shift=True, mirror=True), both,
                               rtol=1e-5, atol=1e-5)


# --- a small CNN: trains, lists its shapes, round-trips through its file ---------------


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
        for name, array in model.state_dict().items():
            np.testing.assert_array_equal(loaded.state_dict()[name], array, err_msg=name)


def test_training_steps_reduce_the_loss_and_summary_lists_shapes(rng):
    model = cnn(rng, "gap")
    x = rng.standard_normal((32, 1, 28, 28)).astype(np.float32)
    losses = train_steps(model, x, rng.integers(0, 10, 32), steps=15)
    assert losses[-1] < losses[0]
    summary = model.summary()
    assert "(8, 14, 14)" in summary and "(16, 7, 7)" in summary and "(16,)" in summary
    assert model.output_shape((1, 28, 28)) == (10,)
