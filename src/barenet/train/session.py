"""One training run, for ``barenet train``, ``barenet finetune`` and ``barenet.fit`` alike.

A :class:`Session` holds what a run is beyond its loop (:class:`~barenet.train.trainer.Trainer`):
the run folder, when there is one (``barenet.fit`` has none), with its config, data record,
checkpoint and history; resuming from that checkpoint; calibration; and the saving of
the last and the kept model. Each command is a short function that makes its config
and its data and calls a session: :func:`train_from_config` here,
:func:`barenet.train.finetune.finetune` and :func:`barenet.train.fit.fit`.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data import PreparedData
from ..data.split import validation_split
from ..errors import BarenetError
from ..model.classifier import Sequential
from ..nn.losses import Loss
from ..nn.optim import Optimizer
from .builder import build_model, build_optimizer
from .checkpoint import config_fingerprint, load_checkpoint, read_state
from .config import Config, dumps
from .mix import Mix
from .runs import RunFolder
from .trainer import Diverged, Interrupted, Trainer, check_input_shape, evaluate

if TYPE_CHECKING:
    from ..data.datasets import Dataset
    from .scene_crops import SceneCrops


#: Calibration reads at most this many validation digits as pictures (a few ms each).
CALIBRATION_PICTURES = 2000
#: A run trained on crops of generated pages calibrates on this many validation pages.
CALIBRATION_PAGES = 2000


def calibrate(model: Sequential, images: np.ndarray, labels: np.ndarray,
              pages: SceneCrops | None = None) -> dict[str, Any]:
    """Fit the temperature and the "not sure" bar of ``model`` on what the reader sees.

    ``barenet predict`` and the app never give the network a data set's array: they
    read a picture (:func:`barenet.vision.extract`), and its 28x28 differs from the
    array's. So the validation digits are read as picture files are (at most
    :data:`CALIBRATION_PICTURES` of them), and, for a reader trained on crops of
    generated pages, ``pages`` are the reader's crops of pages of validation digits.
    The temperature is fitted on both (:func:`~barenet.model.calibration.fit_temperature`;
    a crop of something else than the digit left out), the bar on both
    (:func:`~barenet.model.calibration.fit_bar`).

    Parameters
    ----------
    model : Sequential
    images : ndarray, shape (N, 28, 28)
        Raw validation images (uint8, or floats in [0, 1]), as a picture file holds them.
    labels : ndarray of int, shape (N,)
    pages : SceneCrops, optional
        The reader's crops of generated pages of validation digits.

    Returns
    -------
    dict
        The ``calibration`` metadata record (empty with no validation data or for a
        model that ends in its own ``Softmax``): the temperature, the expected
        calibration error before and after on those pictures, the bar, and what the bar
        does there (right answers flagged; crops read wrong and not flagged).
    """
    from ..model.calibration import expected_calibration_error, fit_bar, fit_temperature
    from ..nn.functional import softmax
    from ..vision import EmptyDrawingError, preprocess

    if len(labels) == 0 or model.ends_in_softmax:
        return {}
    glyphs, read = [], []
    for image, label in zip(images[:CALIBRATION_PICTURES], labels, strict=False):
        with contextlib.suppress(EmptyDrawingError):  # answered "nearly blank", not read
            glyphs.append(preprocess(image))
            read.append(label)
    y = np.asarray(read, np.int64)
    logits = model.predict_logits(np.asarray(glyphs, np.float32).reshape(-1, 28, 28))
    logits = logits.astype(np.float64)
    page_logits = page_y = None
    digit = np.zeros(0, bool)
    if pages is not None and len(pages):
        page_logits = model.predict_logits(pages.glyphs).astype(np.float64)
        page_y = pages.targets
        digit = page_y >= 0
    fit_z = logits if page_logits is None else np.concatenate([logits, page_logits[digit]])
    fit_y = y if page_y is None else np.concatenate([y, page_y[digit]])
    t = fit_temperature(fit_z, fit_y)
    p = softmax(logits / t)
    p_pages = None if page_logits is None else softmax(page_logits / t)
    bar = fit_bar(p, y, p_pages, page_y)
    right = p.argmax(axis=1) == y
    record = {"temperature": t, "fitted_on": "validation pictures", "pictures": len(y),
              "pages": len(digit),
              "val_ece_before": expected_calibration_error(softmax(fit_z), fit_y),
              "val_ece_after": expected_calibration_error(softmax(fit_z / t), fit_y),
              "min_confidence": bar,
              "right_flagged": float((right & (p.max(axis=1) < bar)).sum() / max(right.sum(), 1))}
    if p_pages is not None:
        record["pages_wrong_not_flagged"] = float(np.mean(
            (p_pages.argmax(axis=1) != page_y) & (p_pages.max(axis=1) >= bar)))
    return record


def new_model(config: Config) -> Sequential:
    """The config's model with fresh weights, drawn from its seed (``config.seeds.init``)."""
    return build_model(config.model.table(), np.random.default_rng(config.seeds.init),
                       np.dtype(config.dtype))


class Session:
    """A model, its data and its loop, and where the run is kept.

    Parameters
    ----------
    config : Config
    data : PreparedData
        Train / validation images (N, 28, 28) and labels (N,), prepared; the
        validation split may be empty.
    model : Sequential
        Trained in place; its ``input_shape`` must hold one image's pixels.
    run : RunFolder, optional
        Where the config, the data record, the checkpoint, the history and the models
        go; without one (``barenet.fit``) nothing is written.
    dataset : Dataset, optional
        The data set the images come from: its files' checksums go into the
        checkpoint and the run folder's ``data.json``.
    scene_crops : SceneCrops, optional
        The reader's crops of generated pages, for a config with a ``scene_crops``
        share (:class:`~barenet.train.mix.Mix`).
    loss_fn : Loss, optional
        See :class:`~barenet.train.trainer.Trainer`.
    optimizer : Optimizer, optional
        Used as it is instead of one built from ``config.optimizer`` (``barenet.fit``).

    Attributes
    ----------
    trainer : Trainer
    mix : Mix
        What each batch holds besides its digits.

    Raises
    ------
    BarenetError
        A model that does not take the images, an unwritable run folder, a full disk.
    """

    def __init__(self, config: Config, data: PreparedData, model: Sequential, *,
                 run: RunFolder | None = None, dataset: Dataset | None = None,
                 scene_crops: SceneCrops | None = None, loss_fn: Loss | None = None,
                 optimizer: Optimizer | None = None) -> None:
        check_input_shape(list(config.model.input_shape), data.x_train.shape[1:])
        self.config, self.run, self.dataset = config, run, dataset
        table = config.to_dict()
        self.mix = Mix(config, data, scene_crops)
        if optimizer is None:
            optimizer = build_optimizer(table, model.parameters())
        # the hook holds the run folder, not the session: no cycle keeps the folder's lock
        # after the session is gone
        self.trainer = Trainer(model, optimizer, data, config, mix=self.mix, loss_fn=loss_fn,
                               save=functools.partial(_save, run) if run is not None else None)
        self.trainer.state.config_sha256 = config_fingerprint(table)
        self.trainer.state.data_sha256 = dict(dataset.checksums()) if dataset else {}
        if run is not None:
            run.preflight(sum(a.nbytes for a in model.state_dict().values()))

    @property
    def model(self) -> Sequential:
        return self.trainer.model

    @property
    def history(self) -> list[dict[str, Any]]:
        """One row per epoch trained (``runs.HISTORY_COLUMNS``)."""
        return self.trainer.state.history

    # -- the run folder -------------------------------------------------------------
    def begin(self, resume: bool = False) -> None:
        """Continue from the run folder's checkpoint (``resume``), or write a new run's
        ``config.toml`` and ``data.json``. Nothing without a run folder."""
        if self.run is None:
            return
        if resume:
            self._resume()
        else:
            self.run.write_config(dumps(self.config))
            if self.dataset is not None:
                self.run.write_data_source(self.dataset)

    def _resume(self) -> None:
        """Put the checkpoint's model, optimizer, random states and position into the loop.

        Refused, in one line, when the checkpoint was written for another config
        (``config.toml`` edited since) or other data files, or does not fit this run.
        """
        run, trainer = self.run, self.trainer
        where = run.checkpoint
        saved, state = read_state(where), trainer.state
        if saved.config_sha256 != state.config_sha256:
            raise BarenetError(f"{run.config} changed since {where} was written (or the "
                               "checkpoint belongs to another run); a resumed run must train "
                               "on what it started with: undo the edit, or start a new run")
        if state.data_sha256 and saved.data_sha256 != state.data_sha256:
            changed = sorted(k for k in {**saved.data_sha256, **state.data_sha256}
                             if saved.data_sha256.get(k) != state.data_sha256.get(k))
            raise BarenetError(f"the data files differ from those {run.path} trained on "
                               f"({', '.join(changed)}); resume with the same --data-dir, or "
                               "start a new run")
        batches, generators = len(trainer.batches), trainer.generators()
        if not (saved.epoch <= self.config.epochs and saved.batch < max(batches, 1)
                and len(saved.rngs) == len(generators)
                and (saved.batch == 0) == (saved.partial is None)):
            raise BarenetError(f"checkpoint {where} is at epoch {saved.epoch}, batch "
                               f"{saved.batch} with {len(saved.rngs)} random states; this run "
                               f"has {self.config.epochs} epochs of {batches} batches and "
                               f"{len(generators)} random generators: start a new run")
        trainer.restore(*load_checkpoint(where, trainer.model, trainer.optimizer, saved))

    def _saved_so_far(self) -> str:
        """``; <files> in <run> are intact`` naming only files that exist."""
        run = self.run
        names = [p.name for p in (run.checkpoint,) if p.is_file()] if run else []
        if not names:
            return "; no model or checkpoint had been saved yet"
        verb = "is" if len(names) == 1 else "are"
        return f"; {', '.join(names)} in {run.path} {verb} intact"

    # -- training ---------------------------------------------------------------------
    def train(self, log: Callable[[str], None] = print,
              progress: Callable[[float], None] | None = None) -> Sequential:
        """Run the loop (:meth:`Trainer.fit`); returns the model after the last epoch.

        Raises
        ------
        Interrupted
            Saying whether a checkpoint was saved and how to resume.
        Diverged
            Saying what to try and what was saved so far.
        """
        try:
            return self.trainer.fit(log, progress)
        except Interrupted as exc:
            after = ("the model keeps the weights it had then" if self.run is None else
                     f"checkpoint saved. Resume with: barenet train --resume {self.run.path}")
            raise Interrupted(f"{exc}; {after}") from None
        except Diverged as exc:
            raise Diverged(f"{exc}{self._saved_so_far()}") from None

    def kept(self) -> Sequential:
        """The model with the kept epoch's weights (the best, or the last; see ``keep``)."""
        return self.trainer.restore_best()

    def calibrate(self, model: Sequential, images: np.ndarray, labels: np.ndarray,
                  pages: SceneCrops | None = None) -> dict[str, Any]:
        """Fit ``model``'s temperature and "not sure" bar on what the reader sees of raw
        validation images (and ``pages``; :func:`calibrate`) and record them in its
        metadata; returns the record (empty when there is none)."""
        calibration = calibrate(model, images, labels, pages)
        if calibration:
            model.metadata["calibration"] = calibration
        return calibration

    def save_last(self, model: Sequential, metrics: dict[str, Any]) -> None:
        """``model.npz``: the model after the last epoch, with ``metrics``."""
        if self.run is not None:
            self.run.save_final(model, metrics)

    def save_kept(self, model: Sequential, metrics: dict[str, Any],
                  test: dict[str, Any]) -> None:
        """``best.npz``: the kept model with ``metrics``; then the history, closed with the
        ``test`` result (which marks the run finished)."""
        if self.run is not None:
            self.run.save_best(model, metrics)
            self.run.write_history(self.history, test)


def _save(run: RunFolder, trainer: Trainer) -> None:
    """The trainer's ``save`` for a run folder: the checkpoint, and at an epoch's end the
    history."""
    if trainer.state.partial is None:
        run.write_history(trainer.state.history)
    run.save_checkpoint(trainer.model, trainer.optimizer, trainer.best, trainer.state)


@dataclass
class TrainingResult:
    run_dir: Path
    dataset: str
    test_accuracy: float
    test_loss: float
    best_epoch: int
    seconds: float
    #: Test accuracy with test-time augmentation: each image's outputs averaged over the
    #: views of ``tta_views`` (``mirror`` for models trained with ``augment.flip``,
    #: ``shift`` for ``augment.max_shift`` of at least a pixel); None without either.
    tta_accuracy: float | None = None
    tta_views: dict[str, bool] = field(default_factory=dict)


def train_from_config(config: Config, data_dir: Path | None = None,
                      out: Path | None = None, resume: bool = False, plots: bool = True,
                      log: Callable[[str], None] = print) -> TrainingResult:
    """Train as ``config`` says; write the run folder; return the test result.

    With ``resume``, ``out`` is an existing run folder whose checkpoint is continued.
    """
    from ..data import load_dataset, prepare

    started = time.perf_counter()
    run = RunFolder(out) if resume else RunFolder.create(config.name, out)
    if resume:
        run.check_unfinished()
    if resume and data_dir is None:  # the folder the interrupted run read its data from
        data_dir = run.data_dir(config.dataset)
    dataset = load_dataset(config.dataset, data_dir)
    data = prepare(dataset, val_size=config.validation_size, dtype=config.dtype,
                   standardize=config.standardize)
    crops = _pools(config, dataset, data, log)
    model = new_model(config)
    norm = data.standardization.to_dict() if data.standardization else {"mean": 0.0, "std": 1.0}
    model.metadata.update({"dataset": dataset.name, "class_names": list(data.class_names),
                           "normalization": norm, "config": config.name})
    session = Session(config, data, model, run=run, dataset=dataset, scene_crops=crops)
    session.begin(resume)
    state = session.trainer.state
    if resume:
        log(f"resuming {run.path} at epoch {state.epoch + 1}, batch {state.batch + 1}")
    else:
        log(model.summary())
        non_digits = session.mix.non_digits
        extra = "" if non_digits is None else f" and {len(non_digits)} generated non-digits"
        if crops is not None:
            extra += f" and {len(crops)} crops of generated pages"
        log(f"training on {dataset.name}: {len(data.y_train)} images{extra}, validating on "
            f"{len(data.y_val)}; run folder {run.path}")
    model = session.train(log)
    session.save_last(model, {"epochs": state.epoch})

    best = session.kept()
    _, _, val_images, val_labels = validation_split(dataset.train_images, dataset.train_labels,
                                                    config.validation_size)
    pages = _scene_pages(config, dataset, log, validation=True) if crops is not None else None
    calibration = session.calibrate(best, val_images, val_labels, pages)
    if calibration:
        on = f"{calibration['pictures']} validation digits read as pictures" + (
            f" and {calibration['pages']} crops of validation pages" if pages else "")
        log(f"calibration: temperature {calibration['temperature']:.3f} on {on} (expected "
            f"calibration error {calibration['val_ece_before']:.2%} -> "
            f"{calibration['val_ece_after']:.2%}); \"not sure\" below "
            f"{calibration['min_confidence']:.1%}: {calibration['right_flagged']:.1%} of the "
            "right answers there" + (
                f", {calibration['pages_wrong_not_flagged']:.1%} of the crops wrong and not "
                "flagged" if pages else ""))
    test_loss, test_acc = evaluate(best, data.x_test, data.y_test)
    record = state.best or {"epoch": state.epoch}
    best_epoch = int(record["epoch"])
    metrics = {**record, "test_accuracy": test_acc, "test_loss": test_loss}
    views = {"shift": config.augment.max_shift >= 1, "mirror": config.augment.flip}
    tta = evaluate(best, data.x_test, data.y_test, **views)[1] if any(views.values()) else None
    if tta is not None:
        metrics["test_accuracy_tta"] = tta
    session.save_kept(best, metrics, {"accuracy": test_acc, "loss": test_loss,
                                      "best_epoch": best_epoch})
    if plots and config.plots:
        paths = run.write_plots(best, dataset.test_images, dataset.test_labels,
                                list(data.class_names))
        log(f"plots: {', '.join(p.name for p in paths)} in {run.plots}")
    return TrainingResult(run.path, dataset.name, test_acc, test_loss, best_epoch,
                          time.perf_counter() - started, tta, views)


def _pools(config: Config, dataset: Dataset, data: PreparedData,
           log: Callable[[str], None]) -> SceneCrops | None:
    """The reader's crops of generated pages, for a config with a ``scene_crops`` share
    (None without); and a line saying so before the session makes the non-digits, the
    first thing that takes a while."""
    from ..data.non_digits import pool_size

    crops = _scene_pages(config, dataset, log) if config.scene_crops else None
    non_digits = pool_size(config.non_digits, len(data.y_train))
    if non_digits:
        log(f"making {non_digits:,} pictures of no digit, so the model can say \"not sure\" "
            f"(non_digits = {config.non_digits:g})...")
    return crops


def _scene_pages(config: Config, dataset: Dataset, log: Callable[[str], None],
                 validation: bool = False) -> SceneCrops:
    """The reader's crops of ``scene_count`` generated pages of training digits, or of
    as many pages of validation digits (another series of pages), but at most
    :data:`CALIBRATION_PAGES`."""
    from .scene_crops import scene_crops

    finder = None
    if config.scene_finder:
        from ..vision.ink_finder import load_finder

        finder = load_finder(config.scene_finder)
    count = min(CALIBRATION_PAGES, config.scene_count) if validation else config.scene_count
    log(f"making {count} pages of {'validation' if validation else 'training'} digits and "
        f"extracting the reader's crops"
        f"{' with the ink finder ' + config.scene_finder if finder else ''}...")
    crops = scene_crops(dataset, count, config.seed + 1 if validation else config.seed,
                        validation_size=config.validation_size, validation=validation,
                        finder=finder)
    log(f"{len(crops)} crops in {crops.seconds:.0f} s ({crops.seconds_per_crop:.3f} s a "
        f"page; no ink found on {crops.skipped})")
    return crops
