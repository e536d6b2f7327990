"""Teach a trained model one person's handwriting: fine-tuning on their samples, with replay.

The user's samples (an ImageFolder, :mod:`barenet.data.folder`) are split into
a part to learn from and a held-out part to measure on. The model goes on
training from its own weights, as ``barenet train`` does (the same
:class:`~barenet.train.session.Session`, checkpoints and ``--resume``), on
batches that are a quarter the user's samples (augmented: shifted, rotated,
scaled, so a few drawings go a long way) and three quarters *replay* of the
model's original training images, so that it does not forget MNIST while it learns
the new hand. When the user's digits slant clearly unlike MNIST's and the model
is convolutional, a quarter as many again of the replayed digits are added
sheared to their slant (:mod:`barenet.data.writer_style`): the slant is learnt
from every digit, not only from the user's few. The run folder's config records the parent model and
a hash of the samples; the result is calibrated again on MNIST's validation split.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import PreparedData, load_dataset, prepare
from ..data.datasets import file_sha256
from ..data.folder import LabelledPictures, read_folder
from ..data.split import validation_split
from ..data.writer_style import in_writers_slant
from ..errors import BarenetError
from ..model.classifier import Sequential
from ..model.load import load
from ..model.scaling import network_input
from ..nn.options import layer_spec
from .config import Config
from .config import load as load_config
from .runs import RunFolder
from .session import Session, new_model
from .trainer import evaluate

#: Fraction of each digit's samples held out to measure on (at least one, when it has two).
HELD_OUT = 0.3
#: Replayed original training images: at least this many, and this many per user sample.
MIN_REPLAY, REPLAY_PER_SAMPLE = 6000, 30
#: The user's samples are repeated to this fraction of the replayed images.
USER_SHARE = 0.33
#: Fewer samples per class than this make the held-out figure noisy (and it is said).
FEW_SAMPLES = 5
#: Passes over the mixed samples and replay (its time: docs/results.md, "Teaching it
#: your handwriting").
EPOCHS = 4
#: Adam's learning rate: gentler than training from scratch, the model is already good.
LR = 6e-4
#: How the user's samples are varied while learning.
AUGMENT = {"max_shift": 2.0, "max_rotation": 12.0, "scale": [0.85, 1.15]}


@dataclass
class FinetuneResult:
    """What ``barenet finetune`` prints: accuracies before and after, and where it went."""

    run_dir: Path
    held_out: int
    held_out_before: float
    held_out_after: float
    test_before: float
    test_after: float
    seconds: float
    noisy: bool


def layer_specs(model: Sequential) -> dict[str, Any]:
    """The ``[model]`` table of a config that builds ``model``'s architecture."""
    layers = []
    for spec in model.config()["layers"]:
        declared = layer_spec(spec["type"]).options
        options = {k: v for k, v in spec["config"].items() if not declared[k].inferred}
        layers.append({"type": spec["type"], **options})
    if model.input_shape is None:
        raise BarenetError("the model does not record its input shape; it cannot be fine-tuned")
    return {"input_shape": list(model.input_shape), "layers": layers}


def split_held_out(labels: np.ndarray, rng: np.random.Generator,
                   fraction: float = HELD_OUT) -> tuple[np.ndarray, np.ndarray]:
    """Indices to learn from and to hold out: ``fraction`` of each class, rounded, at least
    one of any class with two or more samples, never all of a class."""
    learn, held = [], []
    for label in np.unique(labels):
        index = rng.permutation(np.flatnonzero(labels == label))
        n = len(index)
        k = 0 if n < 2 else min(n - 1, max(1, round(fraction * n)))
        held += index[:k].tolist()
        learn += index[k:].tolist()
    return np.array(sorted(learn), np.int64), np.array(sorted(held), np.int64)


def finetune_config(parent: Sequential, parent_path: Path, samples: LabelledPictures,
                    samples_dir: Path, epochs: int, seed: int, base: Config | None) -> Config:
    """The validated config of a fine-tuning run: the parent's architecture and recipe
    (from its run folder's config.toml when there is one), a gentler learning rate,
    augmentation for the few samples, and a ``[finetune]`` table saying what it came from."""
    config = {
        "name": "finetune", "dataset": parent.metadata.get("dataset", "mnist"), "seed": seed,
        "epochs": epochs, "batch_size": 64,
        "validation_size": base.validation_size if base else 5000,
        "label_smoothing": base.label_smoothing if base else 0.0, "dtype": str(parent.dtype),
        # generated non-digits too, if the parent learnt from them: the taught model must not
        # forget to be unsure of what is no digit
        "non_digits": base.non_digits if base else 0.0,
        "optimizer": {"name": "adam", "lr": LR}, "schedule": {"name": "cosine"},
        "augment": dict(AUGMENT), "model": layer_specs(parent),
        "finetune": {"parent": str(parent_path.resolve()), "parent_sha256":
                     file_sha256(parent_path), "samples": str(samples_dir.resolve()),
                     "samples_sha256": samples.fingerprint, "held_out": HELD_OUT,
                     "replay": MIN_REPLAY},
    }
    return Config.from_dict(config)


def learns_slant(config: Config) -> bool:
    """Whether fine-tuning with ``config`` adds replayed digits at the user's slant.

    For handwriting only (a slant means nothing to Fashion-MNIST's clothes), and for
    models that take images as images, (C, H, W): convolutional models, which learn a
    slant once for every position. Measured
    (``bench_finetune.py``, 10 samples per digit): the copies cut the `cnn`'s writer
    error to 0.42 of its value instead of 0.77, but left the `mlp`'s as it was (0.27-0.32)
    and cost it 0.3 points of MNIST accuracy instead of 0.01.
    """
    return config.dataset == "mnist" and len(config.model.input_shape) == 3


@dataclass(frozen=True)
class Lesson:
    """The prepared images of a fine-tuning run, as :func:`lesson` mixes them.

    Attributes
    ----------
    data : PreparedData
        Training images (N, 28, 28): the replayed digits, those at the user's slant and
        the user's samples repeated, with labels (N,); no validation or test split.
    held_x, held_y : ndarray (H, 28, 28), ndarray int64 (H,)
        The user's held-out samples, prepared.
    learnt, replayed, slanted, repeat : int
        The user's samples learnt from, replayed digits, slanted copies, and how
        many times each sample is repeated.
    """

    data: PreparedData
    held_x: np.ndarray
    held_y: np.ndarray
    learnt: int
    replayed: int
    slanted: int
    repeat: int


def lesson(config: Config, parent: Sequential, samples: LabelledPictures, learn: np.ndarray,
           held: np.ndarray, digits: PreparedData, rng: np.random.Generator) -> Lesson:
    """Draw the replayed digits from ``digits`` (the parent's training split, prepared) and
    mix them with the samples indexed by ``learn`` (:func:`split_held_out`), all prepared as
    the parent's input; the samples indexed by ``held`` are held out."""
    dtype, standard = np.dtype(config.dtype), parent.standardization
    replay_count = max(MIN_REPLAY, REPLAY_PER_SAMPLE * len(learn))
    replay = rng.choice(len(digits.y_train), min(replay_count, len(digits.y_train)),
                        replace=False)
    repeat = max(1, round(USER_SHARE * len(replay) / len(learn)))
    # replayed digits written at the user's slant too, when it is not MNIST's
    slanted_from, slanted = in_writers_slant(
        digits.x_train[replay], samples.images[learn] if learns_slant(config)
        else samples.images[:0], rng)
    x_user = np.repeat(samples.images[learn], repeat, axis=0)
    y_user = np.repeat(samples.labels[learn], repeat)
    x_train = np.concatenate([network_input(digits.x_train[replay], dtype, standard),
                              network_input(slanted, dtype, standard),
                              network_input(x_user, dtype, standard)])
    y_train = np.concatenate([digits.y_train[replay].astype(np.int64),
                              digits.y_train[replay][slanted_from].astype(np.int64), y_user])
    empty = np.zeros((0, 28, 28), dtype)
    data = PreparedData(x_train, y_train, empty, np.zeros(0, np.int64), empty,
                        np.zeros(0, np.int64), tuple(samples.class_names), standard)
    return Lesson(data, network_input(samples.images[held], dtype, standard),
                  samples.labels[held], len(learn), len(replay), len(slanted), repeat)


def _config_and_run(parent: Sequential, model_path: Path, samples: LabelledPictures,
                    samples_dir: Path, out: Path | None, epochs: int, seed: int,
                    resume: bool) -> tuple[Config, RunFolder]:
    """A new run's config and folder, or an interrupted run's, refused if the samples or
    the parent changed since it started."""
    if resume:
        run = RunFolder(out)
        config = load_config(str(run.config))
        if config.finetune.samples_sha256 != samples.fingerprint or \
                config.finetune.parent_sha256 != file_sha256(model_path):
            raise BarenetError(f"the samples or the parent model changed since {run.path} "
                               "started; start a new fine-tuning run instead of resuming")
        return config, run
    base = None  # the parent's recipe, when its run folder has one
    parent_config = RunFolder(model_path.parent).config
    if parent_config.is_file():
        try:
            base = load_config(str(parent_config))
        except BarenetError:
            base = None
    config = finetune_config(parent, model_path, samples, samples_dir, epochs, seed, base)
    return config, RunFolder.create("finetune", out)


def finetune(model_path: Path, samples_dir: Path, out: Path | None = None, epochs: int = EPOCHS,
             seed: int = 0, data_dir: Path | None = None, resume: bool = False,
             log: Callable[[str], None] = print,
             progress: Callable[[float], None] | None = None) -> FinetuneResult:
    """Fine-tune the model at ``model_path`` on the ImageFolder ``samples_dir``.

    With ``resume``, ``out`` is an interrupted fine-tuning run to continue;
    ``progress(fraction)`` is called as training goes (see :meth:`Session.train`).

    Raises
    ------
    BarenetError
        No or too few samples, a wrong layout, labels the model does not have,
        unreadable pictures, an unwritable run folder, a changed parent or
        changed samples on ``--resume``.
    """
    started = time.perf_counter()
    parent = load(model_path)
    if parent.input_shape is None or math.prod(parent.input_shape) != 28 * 28:
        raise BarenetError(f"{model_path}: the model does not take 28x28 images; it cannot "
                           "learn from drawn samples")
    samples = read_folder(samples_dir, parent.class_names, skip=True)  # one bad file: left out
    for _, message in samples.skipped:
        log(f"warning: left out {message}")
    if len(samples.labels) < 2:
        raise BarenetError(f"{samples_dir} holds {len(samples.labels)} sample; fine-tuning "
                           "needs at least 2 (better 10 or more of each digit)")
    config, run = _config_and_run(parent, model_path, samples, samples_dir, out, epochs, seed,
                                  resume)
    rng = np.random.default_rng(config.seed)
    learn, held_out = split_held_out(samples.labels, rng)
    if len(learn) == 0:
        raise BarenetError(f"{samples_dir}: too few samples to learn from; add more")
    counts = np.bincount(samples.labels, minlength=len(samples.class_names))
    noisy = bool(counts.min() < FEW_SAMPLES)
    if data_dir is None:
        data_dir = RunFolder(model_path.parent).data_dir(config.dataset)
    dataset = load_dataset(config.dataset, data_dir)
    mnist = prepare(dataset, val_size=config.validation_size, dtype=config.dtype)
    taught = lesson(config, parent, samples, learn, held_out, mnist, rng)
    held = len(taught.held_y)

    dtype, standard = np.dtype(config.dtype), parent.standardization
    x_test = network_input(mnist.x_test, dtype, standard)
    held_before = evaluate(parent, taught.held_x, taught.held_y)[1] if held else math.nan
    recorded = parent.metadata.get("metrics", {}).get("test_accuracy")
    test_before = float(recorded) if isinstance(recorded, (int, float)) and not isinstance(
        recorded, bool) else evaluate(parent, x_test, mnist.y_test)[1]  # as train measured it

    model = new_model(config)  # the config's dropout streams, the parent's weights
    model.load_state_dict(parent.state_dict())
    model.metadata.update({k: v for k, v in parent.metadata.items()
                           if k not in ("metrics", "calibration")})
    model.metadata.update(config="finetune", parent=str(Path(model_path).resolve()))
    session = Session(config, taught.data, model, run=run, dataset=dataset)
    session.begin(resume)
    if resume:
        log(f"resuming {run.path} at epoch {session.trainer.state.epoch + 1}")
    else:
        log(f"fine-tuning {model_path} on {taught.learnt} of {len(samples.labels)} samples "
            f"(x{taught.repeat}, augmented) and {taught.replayed} replayed {dataset.name} "
            "images" + (f" ({taught.slanted} more at your samples' slant)"
                        if taught.slanted else "")
            + f"; {held} held out; run folder {run.path}")
    model = session.train(log, progress)

    # calibrated on the digits' validation split read as pictures (the session's data have
    # none)
    _, _, val_images, val_labels = validation_split(dataset.train_images, dataset.train_labels,
                                                    config.validation_size)
    session.calibrate(model, val_images, val_labels)
    held_after = evaluate(model, taught.held_x, taught.held_y)[1] if held else math.nan
    test_after = evaluate(model, x_test, mnist.y_test)[1]
    metrics = {"held_out": held, "held_out_accuracy_before": held_before,
               "held_out_accuracy_after": held_after, "test_accuracy_before": test_before,
               "test_accuracy": test_after}
    # no validation split: the kept model is the last one, and predict and draw take a
    # run's best.npz
    session.save_last(model, metrics)
    session.save_kept(model, metrics, {"accuracy": test_after, "held_out_accuracy": held_after})
    return FinetuneResult(run.path, held, held_before, held_after, test_before,
                          test_after, time.perf_counter() - started, noisy)
