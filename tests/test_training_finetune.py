"""Teaching a model the user's handwriting: sample folders, ``finetune``, the app's teacher."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REAL_MNIST, write_mnist_slice
from PIL import Image

import barenet
from barenet import BarenetError
from barenet.app.teach import Teacher
from barenet.cli.main import main
from barenet.data.folder import (
    add_sample,
    count_samples,
    picture_files,
    read_folder,
    remove_last_sample,
)
from barenet.data.writer_style import STYLED_SHARE
from barenet.train import config as configs
from barenet.train import finetune as ft
from barenet.train.finetune import split_held_out

DIGITS = [str(d) for d in range(10)]
needs_mnist = pytest.mark.skipif(not REAL_MNIST.is_dir(),
                                 reason="the MNIST files are not in ../shared/data/mnist")


def canvas_of(digit28: np.ndarray, slant: float = 0.5) -> np.ndarray:
    """An MNIST digit as a 280x280 app drawing, slanted: white on black uint8."""
    big = Image.fromarray(digit28).resize((200, 200), Image.Resampling.BICUBIC)
    big = big.transform((200, 200), Image.Transform.AFFINE, (1, slant, -100 * slant, 0, 1, 0),
                        Image.Resampling.BICUBIC)
    canvas = np.zeros((280, 280), np.uint8)
    canvas[40:240, 40:240] = np.asarray(big)
    return canvas


# -- sample folders -----------------------------------------------------------------------

def test_samples_saved_in_quick_succession_are_all_kept_in_the_order_saved(tmp_path,
                                                                          monkeypatch):
    # a frozen clock: every sample saved in the same microsecond
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_123_456_789)
    drawings = [np.full((28, 28), 10 * i, np.uint8) for i in range(12)]
    paths = [add_sample(tmp_path, "3", d) for d in drawings]
    assert len(set(paths)) == 12
    assert [path for _, path in picture_files(tmp_path)[0]] == paths


def test_samples_are_saved_counted_and_the_last_one_deleted(tmp_path):
    drawing = np.zeros((280, 280), np.uint8)
    drawing[60:220, 130:150] = 255
    first = add_sample(tmp_path, "1", drawing)
    time.sleep(0.01)
    second = add_sample(tmp_path, "7", drawing)
    assert first.parent == tmp_path / "1" and second.parent == tmp_path / "7"
    with Image.open(first) as saved:
        assert saved.size == (280, 280) and np.array_equal(np.asarray(saved), drawing)
    assert count_samples(tmp_path, DIGITS) == {**dict.fromkeys(DIGITS, 0), "1": 1, "7": 1}
    assert remove_last_sample(tmp_path) == second and not second.exists()
    assert remove_last_sample(tmp_path) == first
    assert remove_last_sample(tmp_path) is None
    pictures = [path for _, path in picture_files(tmp_path)[0]] if any(tmp_path.glob("*/*")) \
        else []
    assert pictures == []


@pytest.mark.parametrize("make, words", [
    (lambda root: None, "no such folder"),
    (lambda root: root.mkdir(), "holds no pictures"),
    (lambda root: (root.mkdir(), (root / "a.png").write_bytes(b"x")), "outside label folders"),
])
def test_a_wrong_layout_is_one_line(tmp_path, make, words):
    root = tmp_path / "samples"
    make(root)
    with pytest.raises(BarenetError, match=words) as err:
        read_folder(root, DIGITS)
    assert "\n" not in str(err.value)


def test_unknown_labels_and_unreadable_pictures_are_named(tmp_path):
    drawing = np.zeros((280, 280), np.uint8)
    drawing[60:220, 130:150] = 255
    add_sample(tmp_path, "x", drawing)
    with pytest.raises(BarenetError, match="folder 'x' is not one of the model's classes"):
        read_folder(tmp_path, DIGITS)
    (tmp_path / "x").rename(tmp_path / "3")
    (tmp_path / "3" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(BarenetError, match="broken.png"):
        read_folder(tmp_path, DIGITS)
    kept = read_folder(tmp_path, DIGITS, skip=True)
    assert kept.labels.tolist() == [3] and len(kept.skipped) == 1
    assert kept.images.shape == (1, 28, 28)


def test_the_held_out_split_keeps_every_class_in_training():
    labels = np.array([0] * 10 + [1] * 3 + [2])
    learn, held = split_held_out(labels, np.random.default_rng(0))
    assert sorted([*learn, *held]) == list(range(len(labels)))
    assert (labels[held] == 0).sum() == 3 and (labels[held] == 1).sum() == 1
    assert 2 not in labels[held] and {0, 1, 2} <= set(labels[learn].tolist())


# -- barenet finetune ------------------------------------------------------------------

@pytest.fixture(scope="module")
def parent_run(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A small MLP trained on 3,000 real MNIST digits, and a folder of slanted samples."""
    base = tmp_path_factory.mktemp("finetune")
    data = base / "mnist-slice"
    dataset = write_mnist_slice(data, 3000, 500)
    run = base / "parent"
    assert main(["train", "--data-dir", str(data), "--out", str(run), "--epochs", "2",
                 "--set", "validation_size=500", "--no-plots"]) == 0
    samples = base / "samples"
    for d in range(10):
        for i in np.flatnonzero(dataset.test_labels[1000:] == d)[:4]:
            add_sample(samples, str(d), canvas_of(dataset.test_images[1000 + i]))
    return run, samples, data


@needs_mnist
def test_finetune_writes_a_run_that_records_its_parent_and_samples(parent_run, capsys,
                                                                   monkeypatch):
    run, samples, _ = parent_run
    monkeypatch.setattr(ft, "MIN_REPLAY", 300)
    capsys.readouterr()
    out = run.parent / "taught"
    assert main(["finetune", "--model", str(run), "--samples", str(samples), "--out", str(out),
                 "--epochs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "your held-out samples (10):" in printed and "before" in printed
    assert "this figure is noisy" in printed  # 4 samples per digit
    assert "slant" not in printed  # an MLP: no slanted replay (learns_slant)
    assert "MNIST test accuracy:" in printed
    config = configs.load(str(out / "config.toml"))
    assert config.finetune.parent == str((run / "best.npz").resolve())
    assert config.finetune.samples_sha256 == read_folder(samples, DIGITS).fingerprint
    assert config.non_digits == 0.25  # the parent's (mlp.toml): still unsure of non-digits
    model = barenet.load(out / "best.npz")
    assert model.metadata["parent"] == str((run / "best.npz").resolve())
    assert model.metadata["metrics"]["held_out"] == 10
    assert "temperature" in model.metadata["calibration"]
    parent = barenet.load(run / "best.npz")
    assert not np.array_equal(model.layers[0].weight.data, parent.layers[0].weight.data)


def test_slanted_replay_is_for_convolutional_digit_models_only():
    mlp, cnn = configs.load("mlp"), configs.load("cnn")
    assert ft.learns_slant(cnn) and not ft.learns_slant(mlp)
    assert not ft.learns_slant(dataclasses.replace(cnn, dataset="fashion-mnist"))


@needs_mnist
def test_slanted_samples_add_replayed_digits_at_their_slant(parent_run, capsys, monkeypatch,
                                                           tmp_path):
    run, samples, _ = parent_run
    monkeypatch.setattr(ft, "MIN_REPLAY", 300)
    monkeypatch.setattr(ft, "learns_slant", lambda config: True)
    capsys.readouterr()
    assert main(["finetune", "--model", str(run), "--samples", str(samples), "--out",
                 str(tmp_path / "taught"), "--epochs", "1"]) == 0
    slanted = int(STYLED_SHARE * 900)  # a quarter of the 30 replayed per sample learnt from
    assert f"900 replayed mnist images ({slanted} more at your samples' slant)" in \
        capsys.readouterr().out


def copy_samples(samples: Path, copy: Path) -> Path:
    """A copy of the samples folder ``samples`` at ``copy``, to change without harm."""
    for label, path in picture_files(samples)[0]:
        (copy / label).mkdir(parents=True, exist_ok=True)
        (copy / label / path.name).write_bytes(path.read_bytes())
    return copy


@needs_mnist
def test_resuming_with_changed_samples_is_refused(parent_run, capsys, monkeypatch, tmp_path):
    run, samples, _ = parent_run
    monkeypatch.setattr(ft, "MIN_REPLAY", 300)
    copy = copy_samples(samples, tmp_path / "samples")
    (copy / "3" / "link.png").symlink_to(next((copy / "3").iterdir()))  # left out, warned
    out = tmp_path / "taught"
    capsys.readouterr()
    assert main(["finetune", "--model", str(run), "--samples", str(copy), "--out", str(out),
                 "--epochs", "1"]) == 0
    assert f"warning: left out {copy / '3' / 'link.png'}: a symbolic link" in \
        capsys.readouterr().out
    remove_last_sample(copy)
    capsys.readouterr()
    assert main(["finetune", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the samples or the parent model changed" in err and err.count("\n") == 1


@needs_mnist
def test_a_damaged_sample_is_left_out_with_a_warning(parent_run, capsys, monkeypatch, tmp_path):
    """Issue 30: one bad file never ends a batch; finetune stopped at a damaged picture."""
    run, samples, _ = parent_run
    monkeypatch.setattr(ft, "MIN_REPLAY", 300)
    copy = copy_samples(samples, tmp_path / "samples")
    (copy / "3" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not the rest of a picture")
    capsys.readouterr()
    assert main(["finetune", "--model", str(run), "--samples", str(copy), "--out",
                 str(tmp_path / "taught"), "--epochs", "1"]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if "broken.png" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: left out ")


@needs_mnist
def test_too_few_samples_is_one_line(parent_run, capsys, tmp_path):
    run, samples, _ = parent_run
    one = tmp_path / "one"
    first = picture_files(samples)[0][0]
    (one / first[0]).mkdir(parents=True)
    (one / first[0] / first[1].name).write_bytes(first[1].read_bytes())
    assert main(["finetune", "--model", str(run), "--samples", str(one)]) == 2
    err = capsys.readouterr().err
    assert "at least 2" in err and err.count("\n") == 1


@needs_mnist
def test_evaluate_on_a_folder_of_pictures(parent_run, capsys):
    run, samples, _ = parent_run
    assert main(["evaluate", str(run), "--images", str(samples)]) == 0
    out = capsys.readouterr().out
    assert f"40 pictures in {samples}" in out and "confusion matrix" in out


# -- the app's teacher -----------------------------------------------------------------

class _Result:
    run_dir = Path("/nowhere")
    held_out_before, held_out_after, test_before, test_after = 0.5, 0.9, 0.98, 0.979


def test_the_teacher_runs_in_the_background_and_reports_progress():
    calls = []

    def fake(model, samples, log, progress):
        calls.append((model, samples))
        for k in range(1, 5):
            progress(k / 4)
            time.sleep(0.01)
        log("done")
        return _Result()

    teacher = Teacher(fake)
    assert teacher.poll() is None
    teacher.start(Path("m.npz"), Path("s"))
    deadline = time.monotonic() + 5
    while not teacher.poll().done and time.monotonic() < deadline:
        time.sleep(0.01)
    lesson = teacher.poll()
    assert lesson.done and lesson.fraction == 1.0 and lesson.error is None
    assert lesson.model == Path("/nowhere/best.npz") and "50% -> 90%" in lesson.message
    assert calls == [(Path("m.npz"), Path("s"))] and not teacher.busy


def test_a_failed_lesson_says_why():
    def fake(model, samples, log, progress):
        raise BarenetError("s holds no pictures")

    teacher = Teacher(fake)
    teacher.start(Path("m.npz"), Path("s"))
    deadline = time.monotonic() + 5
    while not teacher.poll().done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert teacher.poll().error == "s holds no pictures"
    assert teacher.poll().model is None
