"""``barenet evaluate`` and ``barenet report`` end to end, on a tiny IDX dataset and run folder."""

import json

import numpy as np
import pytest

from barenet.cli.main import main
from barenet.data import DATASETS, FILES, read_idx, write_idx
from barenet.model.classifier import Sequential
from barenet.model.views import ONE_PIXEL_SHIFTS, shift_images
from barenet.nn.layers import Linear

MNIST_NAMES = list(DATASETS["mnist"].class_names)
FASHION_NAMES = list(DATASETS["fashion-mnist"].class_names)


@pytest.fixture
def data_dir(tmp_path, rng):
    """A data folder whose mnist/ and fashion-mnist/ hold the same tiny IDX files.

    30 train and 50 test images of random pixels; the labels are 0..9 repeated.
    """
    folder = tmp_path / "data"
    splits = [(FILES[:2], rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)),
              (FILES[2:], rng.integers(0, 256, (50, 28, 28), dtype=np.uint8))]
    for name in ("mnist", "fashion-mnist"):
        for (images_file, labels_file), images in splits:
            write_idx(folder / name / images_file, images)
            write_idx(folder / name / labels_file, (np.arange(len(images)) % 10).astype(np.uint8))
    return folder


def tiny_model(inputs=784, outputs=10, dataset="mnist"):
    return Sequential([Linear(inputs, outputs, rng=0)], metadata={
        "dataset": dataset, "class_names": MNIST_NAMES,
        "normalization": {"mean": 0.1307, "std": 0.3081}})


@pytest.fixture
def run_dir(tmp_path):
    """A run folder as `barenet train` leaves it: best.npz, model.npz, history.json."""
    folder = tmp_path / "runs" / "tiny"
    tiny_model().save(folder / "best.npz")
    tiny_model().save(folder / "model.npz")
    epochs = [{"epoch": e, "train_loss": 2.0 / e, "train_acc": 0.2 * e, "val_loss": 2.2 / e,
               "val_acc": 0.18 * e, "lr": 0.01, "seconds": 0.5} for e in (1, 2, 3)]
    (folder / "history.json").write_text(json.dumps(
        {"epochs": epochs, "test": {"accuracy": 0.5, "loss": 1.0}}))
    return folder


def expected_accuracy_line(data_dir):
    images, labels = (read_idx(data_dir / "mnist" / name) for name in FILES[2:])
    correct = int((tiny_model().predict(images) == labels).sum())
    return f"test accuracy: {correct / len(labels):.2%} ({correct}/{len(labels)})"


def assert_one_line_error(capsys, *fragments):
    err = capsys.readouterr().err
    assert err.startswith("barenet: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_evaluate_prints_accuracy_report_and_confusion(run_dir, data_dir, capsys):
    assert main(["evaluate", str(run_dir / "best.npz"), "--data-dir", str(data_dir),
                 "--batch-size", "7"]) == 0
    out, err = capsys.readouterr()
    assert expected_accuracy_line(data_dir) in out
    assert "precision" in out and "macro avg" in out
    assert "confusion matrix (rows: true class, columns: predicted class)" in out
    table = out.split("columns: predicted class)\n")[1].splitlines()
    counts = np.array([[int(v) for v in line.split()[-10:]] for line in table[1:11]])
    assert counts.shape == (10, 10) and counts.sum() == 50
    np.testing.assert_array_equal(counts.sum(axis=1), 5)  # labels are 0..9 five times
    assert err == ""


def test_evaluate_with_mirror_images_averages_the_two_outputs(run_dir, data_dir, capsys):
    images, labels = (read_idx(data_dir / "mnist" / name) for name in FILES[2:])
    model = tiny_model()
    averaged = (model.predict_logits(images) + model.predict_logits(images[:, :, ::-1])) / 2
    correct = int((averaged.argmax(axis=1) == labels).sum())
    assert main(["evaluate", str(run_dir), "--data-dir", str(data_dir), "--mirror"]) == 0
    assert (f"test accuracy: {correct / len(labels):.2%} ({correct}/{len(labels)}, each "
            "averaged with its mirror image)") in capsys.readouterr().out


def test_evaluate_with_shift_averages_each_image_with_its_shifts(run_dir, data_dir, capsys):
    images, labels = (read_idx(data_dir / "mnist" / name) for name in FILES[2:])
    model = tiny_model()
    views = [images, *(shift_images(images, dy, dx) for dy, dx in ONE_PIXEL_SHIFTS)]
    averaged = sum(model.predict_logits(v) for v in views) / len(views)
    correct = int((averaged.argmax(axis=1) == labels).sum())
    assert main(["evaluate", str(run_dir), "--data-dir", str(data_dir), "--shift"]) == 0
    assert (f"test accuracy: {correct / len(labels):.2%} ({correct}/{len(labels)}, each "
            "averaged with its four one-pixel shifts)") in capsys.readouterr().out


def test_evaluate_a_run_folder_uses_its_best_model(run_dir, data_dir, capsys):
    assert main(["evaluate", str(run_dir), "--data-dir", str(data_dir)]) == 0
    assert f"model: {run_dir / 'best.npz'}" in capsys.readouterr().out


def test_evaluate_on_another_dataset_of_the_same_shape_warns(run_dir, data_dir, capsys):
    assert main(["evaluate", str(run_dir / "best.npz"), "--dataset", "fashion-mnist",
                 "--data-dir", str(data_dir)]) == 0
    out, err = capsys.readouterr()
    assert err == ("barenet: warning: the model was trained on mnist; evaluating it on "
                   "fashion-mnist\n")
    assert all(name in out for name in FASHION_NAMES)


def test_evaluate_refuses_a_model_of_another_input_size(tmp_path, data_dir, capsys):
    tiny_model(inputs=32 * 32).save(tmp_path / "big.npz")
    assert main(["evaluate", str(tmp_path / "big.npz"), "--data-dir", str(data_dir)]) == 2
    assert_one_line_error(capsys, "takes inputs of shape (1024,)", "28x28")


def test_evaluate_refuses_a_model_with_another_number_of_classes(tmp_path, data_dir, capsys):
    tiny_model(outputs=5).save(tmp_path / "five.npz")
    assert main(["evaluate", str(tmp_path / "five.npz"), "--data-dir", str(data_dir)]) == 2
    assert_one_line_error(capsys, "5 outputs", "10 classes")


def test_evaluate_a_missing_model(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope.npz")]) == 2
    assert_one_line_error(capsys, "nope.npz")


def test_evaluate_rejects_a_zero_batch_size(run_dir):
    with pytest.raises(SystemExit) as info:
        main(["evaluate", str(run_dir), "--batch-size", "0"])
    assert info.value.code == 2


def test_report_writes_every_plot(run_dir, data_dir, capsys):
    assert main(["report", str(run_dir), "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    names = ["loss.png", "accuracy.png", "confusion.png", "misclassified.png", "reliability.png",
             "weights.png"]
    assert out[0] == f"plots of {run_dir / 'best.npz'} on the mnist test split:"
    assert out[1:] == [str(run_dir / "plots" / name) for name in names]
    assert sorted(p.name for p in (run_dir / "plots").iterdir()) == sorted(names)


def test_report_of_the_final_model(run_dir, data_dir, capsys):
    assert main(["report", str(run_dir), "--data-dir", str(data_dir), "--model", "final"]) == 0
    assert str(run_dir / "model.npz") in capsys.readouterr().out


def test_report_falls_back_to_the_final_model(run_dir, data_dir, capsys):
    (run_dir / "best.npz").unlink()
    assert main(["report", str(run_dir), "--data-dir", str(data_dir)]) == 0
    assert str(run_dir / "model.npz") in capsys.readouterr().out


def test_report_on_a_missing_run_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path / "no-such-run")]) == 2
    assert_one_line_error(capsys, "no-such-run: no such run folder")


def test_report_without_history(run_dir, capsys):
    (run_dir / "history.json").unlink()
    assert main(["report", str(run_dir)]) == 2
    assert_one_line_error(capsys, "history.json not found")


def test_report_with_a_corrupt_history(run_dir, capsys):
    (run_dir / "history.json").write_text('{"epochs": 3}')
    assert main(["report", str(run_dir)]) == 2
    assert_one_line_error(capsys, "history.json", "epochs")


def test_report_without_the_requested_model(run_dir, capsys):
    (run_dir / "model.npz").unlink()
    assert main(["report", str(run_dir), "--model", "final"]) == 2
    assert_one_line_error(capsys, "no model.npz in this run folder")
    assert not (run_dir / "plots").exists()


@pytest.fixture
def nowhere_else(offline_data):
    """No $BARENET_DATA, an empty cache, no system folders, no mirrors: only data.json helps."""
    return offline_data


def record_data(run_dir, data_dir):
    from barenet.data import load_dataset
    from barenet.train.runs import RunFolder

    RunFolder(run_dir).write_data_source(load_dataset("mnist", data_dir / "mnist"))


def test_evaluate_and_report_find_the_data_the_run_was_trained_on(run_dir, data_dir, capsys,
                                                                   nowhere_else):
    record_data(run_dir, data_dir)
    assert main(["evaluate", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert expected_accuracy_line(data_dir) in out and str(data_dir / "mnist") in out
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "plots" / "confusion.png").is_file()


def test_a_changed_data_file_is_warned_about(run_dir, data_dir, capsys, nowhere_else):
    record_data(run_dir, data_dir)
    labels = data_dir / "mnist" / FILES[3]
    write_idx(labels, ((np.arange(50) + 1) % 10).astype(np.uint8))
    assert main(["evaluate", str(run_dir)]) == 0
    assert f"{FILES[3]} in {data_dir / 'mnist'} changed since" in capsys.readouterr().err


def test_report_draws_the_curves_without_any_data(run_dir, capsys, nowhere_else):
    assert main(["report", str(run_dir)]) == 2
    captured = capsys.readouterr()
    assert (run_dir / "plots" / "loss.png").is_file() and (run_dir / "plots" / "accuracy.png")
    assert not (run_dir / "plots" / "confusion.png").exists()
    assert str(run_dir / "plots" / "loss.png") in captured.out
    err = captured.err
    assert err.startswith("barenet: error: ") and err.count("\n") == 1, err
    assert "the curves need no data and were written" in err
