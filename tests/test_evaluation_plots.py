"""Every plot writes a real, non-blank PNG; the helpers that feed them compute the right arrays."""

import numpy as np
import pytest
from PIL import Image

from barenet.errors import BarenetError
from barenet.evaluation import plots
from barenet.model.classifier import Sequential
from barenet.nn.layers import Flatten, Linear, ReLU
from barenet.nn.module import Module, Parameter

NAMES = [f"class {k}" for k in range(10)]
HISTORY = [{"epoch": e, "train_loss": 1.0 / e, "train_acc": 1 - 0.5 / e,
            "val_loss": 1.2 / e, "val_acc": 1 - 0.6 / e, "lr": 0.1, "seconds": 1.5}
           for e in range(1, 5)]


def assert_png(path, min_size=(100, 100)):
    """``path`` is a PNG at least ``min_size`` pixels that is not a single flat colour."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] >= min_size[0] and image.size[1] >= min_size[1]
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 1.0, f"{path} looks blank"
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


class ChannelConv(Module):
    """A stand-in convolution: 1x1 kernels, (N, C_in, H, W) -> (N, C_out, H, W).

    Its "weight" is 4-D like Conv2d's, which is all the plots rely on.
    """

    def __init__(self, c_in: int = 1, c_out: int = 4) -> None:
        super().__init__()
        w = np.linspace(-1, 1, c_out * c_in).reshape(c_out, c_in, 1, 1)
        self.params["weight"] = Parameter(w.astype(np.float32), "weight")

    def forward(self, x):
        return np.einsum("oi,nihw->nohw", self.params["weight"].data[:, :, 0, 0], x)

    def output_shape(self, input_shape):
        return (self.params["weight"].data.shape[0], *input_shape[1:])


def tiny_cnn():
    return Sequential([ChannelConv(1, 4), ReLU(), Flatten(), Linear(4 * 28 * 28, 10, rng=0)],
                      input_shape=(1, 28, 28), metadata={"class_names": NAMES})


@pytest.fixture
def images(rng):
    # a bright square at a random place on each image: varied, never blank
    out = np.zeros((40, 28, 28), np.uint8)
    for image, (r, c) in zip(out, rng.integers(2, 18, (40, 2)), strict=True):
        image[r:r + 8, c:c + 8] = 255
    return out


def test_loss_and_accuracy_curves(tmp_path):
    assert_png(plots.plot_loss(HISTORY, tmp_path / "loss.png"))
    assert_png(plots.plot_accuracy(HISTORY, tmp_path / "acc.png"))


def test_curves_skip_missing_validation_values(tmp_path):
    history = [{**row, "val_loss": None} for row in HISTORY]
    assert_png(plots.plot_loss(history, tmp_path / "loss.png"))


ODD_VALUES = [1e308, -1e308, 10**400, -1, 2**63, float("nan"), True, "x", [], 1e-320]


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_odd_numbers_in_a_history_are_left_out_not_a_crash(tmp_path, value):
    """Item 19: `report` crashed (OverflowError, UnboundLocalError, ValueError) on these."""
    keys = ["epoch", "train_loss", "val_loss", "train_acc", "val_acc", "label_smoothing"]
    history = [dict(row) for row in HISTORY * 2]
    for row, key in zip(history, keys, strict=False):  # the odd value in a new place each row
        row[key] = value
    for plot in (plots.plot_loss, plots.plot_accuracy):
        assert_png(plot(history, tmp_path / "curve.png"))


def test_a_history_of_only_odd_numbers_is_one_line(tmp_path):
    history = [{"epoch": 1e308, "train_loss": -0.0, "val_loss": "x", "train_acc": 1e308,
                "val_acc": 1e15, "label_smoothing": "x"},
               {"epoch": -1e308, "val_loss": 3, "label_smoothing": -1},
               {"epoch": 2**63, "train_loss": 0, "val_loss": None, "val_acc": 1e-320}]
    with pytest.raises(BarenetError, match="no train_acc or val_acc"):
        plots.plot_accuracy(history, tmp_path / "accuracy.png")
    with pytest.raises(BarenetError, match="no train_loss or val_loss"):
        plots.plot_loss(history, tmp_path / "loss.png")


def test_curves_need_epochs(tmp_path):
    with pytest.raises(BarenetError, match="no epochs"):
        plots.plot_loss([], tmp_path / "loss.png")
    with pytest.raises(BarenetError, match="no train_loss or val_loss"):
        plots.plot_loss([{"epoch": 1}], tmp_path / "loss.png")
    assert not (tmp_path / "loss.png").exists()


def test_confusion_heat_map(tmp_path, rng):
    matrix = rng.integers(0, 50, (10, 10)) + np.diag(np.full(10, 900))
    assert_png(plots.plot_confusion(matrix, NAMES, tmp_path / "confusion.png"))
    with pytest.raises(BarenetError, match="does not match"):
        plots.plot_confusion(matrix, NAMES[:3], tmp_path / "bad.png")


def test_misclassified_grid(tmp_path, images, rng):
    labels = rng.integers(0, 10, len(images))
    probabilities = rng.dirichlet(np.ones(10), len(images))
    assert (probabilities.argmax(1) != labels).any()
    assert_png(plots.plot_misclassified(images, labels, probabilities, NAMES,
                                        tmp_path / "wrong.png", max_images=12))


def test_misclassified_with_no_mistakes_still_writes_a_figure(tmp_path, images):
    labels = np.arange(len(images)) % 10
    probabilities = np.eye(10)[labels]
    assert_png(plots.plot_misclassified(images, labels, probabilities, NAMES,
                                        tmp_path / "wrong.png"), min_size=(100, 50))


def test_weight_images_of_a_linear_layer(rng):
    weight = rng.normal(size=(784, 100))
    tiles = plots.weight_images(weight, max_images=64)
    assert tiles.shape == (64, 28, 28)
    # column j of the weight is tile j, scaled so that its largest |w| is 1
    np.testing.assert_allclose(tiles[5], weight[:, 5].reshape(28, 28) / np.abs(weight[:, 5]).max())
    np.testing.assert_allclose(np.abs(tiles).max(axis=(1, 2)), 1.0)


def test_weight_images_of_a_conv_layer_and_of_a_non_image_layer(rng):
    assert plots.weight_images(rng.normal(size=(8, 2, 5, 5))).shape == (16, 5, 5)
    assert plots.weight_images(rng.normal(size=(30, 10))) is None
    assert plots.weight_images(np.zeros((784, 3))).max() == 0  # no division by zero


def test_weights_plot(tmp_path, rng):
    assert_png(plots.plot_weights(rng.normal(size=(784, 16)), tmp_path / "w.png"))
    assert_png(plots.plot_weights(rng.normal(size=(6, 1, 5, 5)), tmp_path / "conv.png"))
    with pytest.raises(BarenetError, match="cannot show"):
        plots.plot_weights(rng.normal(size=(30, 10)), tmp_path / "bad.png")


def test_first_weight_layer_walks_past_layers_without_weights():
    model = Sequential([Flatten(), Linear(784, 5), ReLU(), Linear(5, 2)], input_shape=(1, 28, 28))
    assert plots.first_weight_layer(model) is model.layers[1]
    assert plots.first_weight_layer(Sequential([ReLU()])) is None


def test_feature_maps_stop_at_the_first_shape_change(images):
    model = tiny_cnn()
    model.train()
    maps, names = plots.feature_maps(model, images[0])
    assert names == ["ChannelConv", "ReLU"]  # Flatten changes the shape: not applied
    weight = model.layers[0].params["weight"].data[:, 0, 0, 0]
    x = model.prepare_input(images[:1])[0, 0]
    np.testing.assert_allclose(maps, np.maximum(weight[:, None, None] * x, 0), rtol=1e-6)
    assert model.training  # the mode is restored


def test_feature_maps_of_a_model_without_convolution():
    assert plots.feature_maps(Sequential([Linear(784, 10)]), np.zeros((28, 28), np.uint8)) is None


def test_feature_maps_plot(tmp_path, images):
    maps, names = plots.feature_maps(tiny_cnn(), images[0])
    assert_png(plots.plot_feature_maps(images[0], maps, tmp_path / "fm.png", names))


def test_write_report_for_an_mlp(tmp_path, images, rng, linear_model):
    model = linear_model(class_names=NAMES)
    labels = rng.integers(0, 10, len(images))
    history = {"epochs": HISTORY, "test": {"accuracy": 0.1, "loss": 2.3}}  # history.json
    written = plots.write_report(tmp_path, model, images, labels, NAMES, history)
    assert [p.name for p in written] == ["loss.png", "accuracy.png", "confusion.png",
                                         "misclassified.png", "reliability.png", "weights.png"]
    assert all(p.parent == tmp_path / "plots" for p in written)
    for path in written:
        assert_png(path)


def test_write_report_for_a_cnn_without_history(tmp_path, images, rng):
    labels = rng.integers(0, 10, len(images))
    written = plots.write_report(tmp_path, tiny_cnn(), images, labels, NAMES)
    assert [p.name for p in written] == ["confusion.png", "misclassified.png", "reliability.png",
                                         "weights.png", "feature_maps.png"]


def test_a_run_of_one_epoch_gets_no_curve_of_one_dot(tmp_path, images, rng, linear_model):
    """Issue 33, item 1: the speedrun's loss plot was a single dot."""
    labels = rng.integers(0, 10, len(images))
    history = {"epochs": HISTORY[:1], "test": {"accuracy": 0.1, "loss": 2.3}}
    written = plots.write_report(tmp_path, linear_model(class_names=NAMES), images, labels,
                                 NAMES, history)
    assert "loss.png" not in [p.name for p in written] and "confusion.png" in [
        p.name for p in written]


def test_write_report_checks_class_names_against_outputs(tmp_path, images):
    model = Sequential([Linear(784, 3)])
    with pytest.raises(BarenetError, match="3 outputs but 10 class names"):
        plots.write_report(tmp_path, model, images, np.zeros(len(images), int), NAMES)


def test_with_the_real_conv2d(tmp_path, images):
    conv = pytest.importorskip("barenet.nn.layers.conv")
    model = Sequential([conv.Conv2d(1, 4, 3), ReLU(), Flatten(), Linear(4 * 26 * 26, 10)],
                       input_shape=(1, 28, 28))
    maps, names = plots.feature_maps(model, images[0])
    assert maps.shape == (4, 26, 26) and names == ["Conv2d", "ReLU"]
    assert_png(plots.plot_weights(model.layers[0].params["weight"].data, tmp_path / "w.png"))


def test_history_epochs_accepts_the_file_or_its_list():
    assert plots.history_epochs({"epochs": HISTORY, "test": None}) == HISTORY
    assert plots.history_epochs(HISTORY) == HISTORY
    assert plots.history_epochs(None) == [] and plots.history_epochs({"test": None}) == []
    with pytest.raises(BarenetError, match="per-epoch"):
        plots.history_epochs({"epochs": 3})


def test_the_loss_plot_says_why_training_loss_stays_above_validation_loss():
    """Issue 33, item 6: 0.94 against 0.14 was put down to label smoothing alone."""
    label, sentence = plots.training_loss_note({"label_smoothing": 0.1, "non_digits": 0.25})
    assert label == "label smoothing 0.1, 25% non-digits"
    assert "ln 10 = 2.30" in sentence and "smoothed by 0.1" in sentence
    assert plots.training_loss_note({"label_smoothing": 0.1})[0] == "label smoothing 0.1"
    assert plots.training_loss_note({"label_smoothing": 0.0, "non_digits": 0.0}) is None


@pytest.mark.parametrize("temperature, labels", [
    (1.0, ["perfectly calibrated", "not calibrated (T = 1)", "share of answers"]),
    (0.5, ["perfectly calibrated", "T = 1", "T = 0.5", "share of answers (calibrated)"])])
def test_the_reliability_plot_of_an_uncalibrated_model_draws_one_curve(tmp_path, rng,
                                                                       monkeypatch, temperature,
                                                                       labels):
    """Issue 33, item 1: two identical 'T = 1' curves, one labelled calibrated."""
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path, new=False: figures.append(fig))
    raw = rng.dirichlet(np.ones(10), 200)
    plots.plot_reliability(raw, raw, rng.integers(0, 10, 200), tmp_path / "r.png", temperature)
    names = [name.split(":")[0] for name in figures[0].axes[0].get_legend_handles_labels()[1]]
    assert names == labels
