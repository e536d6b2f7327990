"""barenet.fit: arrays in memory, the CLI's training loop, one-line refusals before training."""

import numpy as np
import pytest
from conftest import separable_images

import barenet as bn
from barenet.nn.layers import Flatten, Linear, ReLU
from barenet.train import trainer as trainer_module


@pytest.fixture
def digits(rng):
    y = rng.integers(0, 10, 300)
    return separable_images(y, rng), y


def mlp():
    return bn.Sequential([Linear(784, 32, rng=0), ReLU(), Linear(32, 10, rng=1)])


def test_fit_learns_and_returns_per_epoch_figures_to_plot(digits, capsys):
    x, y = digits
    model = mlp()
    history = bn.fit(model, x.reshape(-1, 784), y, epochs=4, batch_size=32, lr=3e-3,
                     validation=(x[:60].reshape(-1, 784), y[:60]))
    assert len(history.loss) == len(history.val_accuracy) == 4 and history.lr == [3e-3] * 4
    assert history.loss[-1] < history.loss[0] and history.val_accuracy[-1] > 0.9
    assert (model.predict(x[:60]) == y[:60]).mean() > 0.9  # trained in place
    assert "epoch 4: train loss" in capsys.readouterr().out
    assert repr(history).startswith("History(4 epochs: loss ")


def test_fit_runs_the_trainer_of_barenet_train(digits, monkeypatch):
    x, y = digits
    calls = []
    real = trainer_module.Trainer.train_batch

    def counting(self, xb, yb):
        calls.append(len(yb))
        return real(self, xb, yb)

    monkeypatch.setattr(trainer_module.Trainer, "train_batch", counting)
    bn.fit(mlp(), x, y, epochs=2, batch_size=100, log=None)
    assert calls == [100, 100, 100] * 2


def test_same_seed_same_weights_and_a_first_flatten_learns_its_input_shape(digits):
    x, y = digits
    runs = []
    for _ in range(2):
        model = bn.Sequential([Flatten(), Linear(784, 10, rng=0)])
        bn.fit(model, x, y, epochs=2, seed=3, log=None)
        runs.append(model.layers[1].weight.data.copy())
        assert model.input_shape == (28, 28)
    np.testing.assert_array_equal(*runs)


@pytest.mark.parametrize("x, y, problem", [
    (np.zeros((10, 784)), np.zeros(9, int), "x has 10 samples but y has shape (9,)"),
    (np.array([["a"] * 784] * 4), np.zeros(4, int), "x must be a numeric array"),
    (np.full((4, 784), np.nan), np.zeros(4, int), "x holds NaN or infinite values"),
    (np.zeros((4, 784)), np.array([0, 1, 2, 10]), "labels 0 to 9 expected"),
    (np.zeros((4, 784)), np.array([0, -1, 2, 3]), "labels 0 to 9 expected"),
    (np.zeros((4, 784)), np.array([0.5, 1, 2, 3]), "whole-number class labels"),
    (np.zeros((4, 392)), np.zeros(4, int), "samples have shape (392,), the model takes (784,)"),
    (np.zeros((0, 784)), np.zeros(0, int), "x holds no samples"),
])
def test_bad_data_is_one_line_before_training(x, y, problem):
    model = mlp()
    before = model.layers[0].weight.data.copy()
    with pytest.raises(bn.BarenetError) as info:
        bn.fit(model, x, y, epochs=1, log=None)
    assert problem in str(info.value) and "\n" not in str(info.value)
    np.testing.assert_array_equal(model.layers[0].weight.data, before)


def test_bad_options_are_one_line(digits):
    x, y = digits
    for options, problem in [({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
                             ({"lr": -1.0}, "lr must be a number"),
                             ({"epochs": 0}, "epochs = 0 is invalid"),
                             ({"loss": "hinge"}, "loss must be 'cross_entropy'"),
                             ({"validation": (x[:5], y[:4])}, "validation x has 5 samples")]:
        with pytest.raises(bn.BarenetError, match=problem.replace("(", r"\(")):
            bn.fit(mlp(), x, y, log=None, **options)


def test_whole_number_float_labels_and_a_loss_instance_are_taken(digits):
    x, y = digits
    history = bn.fit(mlp(), x, y.astype(np.float64), epochs=1, log=None,
                     loss=bn.losses.SoftmaxCrossEntropy(label_smoothing=0.1))
    assert len(history.epochs) == 1 and history.val_loss == [None]


def test_a_cnn_fitted_on_images_with_no_channel_axis_is_told_the_input_shape(digits):
    """Issue 33, item 8: a hand-built CNN fitted on (N, 28, 28) data."""
    from barenet.nn.layers import Conv2d

    x, y = digits
    model = bn.Sequential([Conv2d(1, 2, 3), ReLU(), Flatten(), Linear(2 * 26 * 26, 10)])
    with pytest.raises(bn.BarenetError, match=r"build it with input_shape=\(1, 28, 28\)"):
        bn.fit(model, x.reshape(-1, 28, 28), y, epochs=1, log=None)


def test_float_pixels_from_0_to_255_are_warned_about(digits):
    """Issue 33, item 9: they were taken silently and trained worse."""
    x, y = digits
    model = bn.Sequential([Flatten(), Linear(784, 10)])
    with pytest.warns(UserWarning, match=r"x\.astype\(np\.uint8\) or x / 255"):
        bn.fit(model, x.astype(np.float32), y, epochs=1, log=None)


@pytest.mark.parametrize("shape", [(28, 28), (784,)])
def test_one_image_with_no_batch_axis_is_told_how_to_add_it(shape):
    """Issue 33, item 8: `predict` on a single image."""
    model = bn.Sequential([Flatten(), Linear(784, 10)])
    with pytest.raises(bn.BarenetError, match=r"no batch axis.*images\[None\]"):
        model.predict(np.zeros(shape, np.uint8))
    assert model.predict(np.zeros((1, *shape), np.uint8)).shape == (1,)


def test_an_optimizer_object_is_taken_as_in_pytorch(digits):
    """Issue 33, item 9: bn.fit refused an optimizer object."""
    x, y = digits
    model = mlp()
    optimizer = bn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = bn.fit(model, x, y, epochs=2, batch_size=100, optimizer=optimizer, log=None)
    assert optimizer.t == 6 and history.lr == [0.05, 0.05]  # its own steps, its own rate
    by_name = mlp()  # "sgd" has no momentum: other weights show the object was used
    bn.fit(by_name, x, y, epochs=2, batch_size=100, optimizer="sgd", lr=0.05, log=None)
    assert not np.array_equal(by_name.layers[0].weight.data, model.layers[0].weight.data)
    other = mlp()
    with pytest.raises(bn.BarenetError, match="build it with model.parameters()"):
        bn.fit(other, x, y, optimizer=optimizer, log=None)
