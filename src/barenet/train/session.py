"""One training run end to end: data, model, loop, test accuracy, files, plots."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..model.classifier import Sequential
from .config import dumps
from .runs import RunFolder
from .trainer import Trainer, evaluate, logits_of


def calibrate(model: Sequential, x_val: np.ndarray, y_val: np.ndarray) -> dict[str, Any]:
    """Fit the temperature of ``model`` on the prepared validation split.

    Returns the ``calibration`` metadata record (empty with no validation data
    or for a model that ends in its own ``Softmax``): the temperature, the
    validation split's expected calibration error before and after, and the
    "not sure" bar (:func:`barenet.model.calibration.fit_min_confidence`).
    """
    from ..model.calibration import expected_calibration_error, fit_min_confidence, fit_temperature
    from ..nn.functional import softmax

    if len(y_val) == 0 or model.ends_in_softmax:
        return {}
    logits = logits_of(model, x_val).astype(np.float64)
    t = fit_temperature(logits, y_val)
    return {"temperature": t, "fitted_on": "validation",
            "val_ece_before": expected_calibration_error(softmax(logits), y_val),
            "val_ece_after": expected_calibration_error(softmax(logits / t), y_val),
            "min_confidence": fit_min_confidence(softmax(logits / t), y_val)}


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


def train_from_config(config: dict[str, Any], data_dir: Path | None = None,
                      out: Path | None = None, resume: bool = False, plots: bool = True,
                      log=print) -> TrainingResult:
    """Train as ``config`` says; write the run folder; return the test result.

    With ``resume``, ``out`` is an existing run folder whose checkpoint is continued.
    """
    from ..data import load_dataset, prepare
    from ..data.non_digits import pool_size

    started = time.perf_counter()
    run = RunFolder(out) if resume else RunFolder.create(config["name"], out)
    if resume:
        run.check_unfinished()
    if resume and data_dir is None:  # the folder the interrupted run read its data from
        data_dir = run.data_dir(config["dataset"])
    dataset = load_dataset(config["dataset"], data_dir)
    data = prepare(dataset, val_size=config["validation_size"], dtype=config["dtype"],
                   standardize=config["standardize"])
    norm = data.standardization.to_dict() if data.standardization else {"mean": 0.0, "std": 1.0}
    metadata = {"dataset": dataset.name, "class_names": list(data.class_names),
                "normalization": norm, "config": config["name"]}
    crops = None
    if config["scene_crops"]:
        from .scene_crops import scene_crops

        log(f"making {config['scene_count']} pages and extracting the reader's crops...")
        crops = scene_crops(dataset, config["scene_count"], config["seed"],
                            validation_size=config["validation_size"])
        log(f"{len(crops)} crops in {crops.seconds:.0f} s ({crops.seconds_per_crop:.3f} s a "
            f"page; no ink found on {crops.skipped})")
    non_digits = pool_size(config["non_digits"], len(data.y_train))
    if non_digits:  # the first thing that takes a while: say so before it starts
        log(f"making {non_digits:,} pictures of no digit, so the model can say \"not sure\" "
            f"(non_digits = {config['non_digits']:g})...")
    trainer = Trainer(config, data, metadata, run, data_sha256=dataset.checksums(),
                      scene_crops=crops)
    run.preflight(sum(a.nbytes for a in trainer.model.state().values()))
    if resume:
        trainer.resume()
        log(f"resuming {run.path} at epoch {trainer.state.epoch + 1}, "
            f"batch {trainer.state.batch + 1}")
    else:
        run.write_config(dumps(config))
        run.write_data_source(dataset)
        log(trainer.model.summary())
        extra = ("" if trainer.non_digits is None else
                 f" and {len(trainer.non_digits)} generated non-digits")
        if crops is not None:
            extra += f" and {len(crops)} crops of generated pages"
        log(f"training on {dataset.name}: {len(data.y_train)} images{extra}, validating on "
            f"{len(data.y_val)}; run folder {run.path}")
    model = trainer.fit(log)
    run.save_final(model, {"epochs": trainer.state.epoch})

    best = trainer.restore_best()
    calibration = calibrate(best, data.x_val, data.y_val)
    if calibration:
        best.metadata["calibration"] = calibration
        log(f"calibration: temperature {calibration['temperature']:.3f} on the validation "
            f"split (expected calibration error {calibration['val_ece_before']:.2%} -> "
            f"{calibration['val_ece_after']:.2%})")
    test_loss, test_acc = evaluate(best, data.x_test, data.y_test)
    record = trainer.state.best or {"epoch": trainer.state.epoch}
    best_epoch = int(record["epoch"])
    metrics = {**record, "test_accuracy": test_acc, "test_loss": test_loss}
    views = {"shift": config["augment"].get("max_shift", 0) >= 1,
             "mirror": bool(config["augment"].get("flip"))}
    tta = evaluate(best, data.x_test, data.y_test, **views)[1] if any(views.values()) else None
    if tta is not None:
        metrics["test_accuracy_tta"] = tta
    run.save_best(best, metrics)
    run.write_history(trainer.state.history, {"accuracy": test_acc, "loss": test_loss,
                                              "best_epoch": best_epoch})
    if plots and config["plots"]:
        paths = run.write_plots(best, dataset.test_images, dataset.test_labels,
                                list(data.class_names))
        log(f"plots: {', '.join(p.name for p in paths)} in {run.plots}")
    return TrainingResult(run.path, dataset.name, test_acc, test_loss, best_epoch,
                          time.perf_counter() - started, tta, views)
