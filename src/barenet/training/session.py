"""One training run end to end: data, model, loop, test accuracy, files, plots."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..serialization import load, save
from .config import dumps
from .runs import RunFolder
from .trainer import Split, Trainer, evaluate


@dataclass
class TrainingResult:
    run_dir: Path
    dataset: str
    test_accuracy: float
    test_loss: float
    best_epoch: int
    seconds: float


def normalization(images: np.ndarray, standardize: bool) -> dict[str, float]:
    """Mean and standard deviation of the training pixels scaled to [0, 1] (or 0 and 1)."""
    if not standardize:
        return {"mean": 0.0, "std": 1.0}
    scaled = images.astype(np.float64) / 255
    return {"mean": float(scaled.mean()), "std": float(scaled.std())}


def train_from_config(config: dict[str, Any], data_dir: Path | None = None,
                      out: Path | None = None, resume: bool = False, plots: bool = True,
                      log=print) -> TrainingResult:
    """Train as ``config`` says; write the run folder; return the test result.

    With ``resume``, ``out`` is an existing run folder whose checkpoint is continued.
    """
    from ..data import load_dataset, validation_split

    started = time.perf_counter()
    data = load_dataset(config["dataset"], data_dir)
    train_images, train_labels, val_images, val_labels = validation_split(
        data.train_images, data.train_labels, config["validation_size"])
    metadata = {"dataset": data.name, "class_names": list(data.class_names),
                "normalization": normalization(train_images, config["standardize"]),
                "config": config["name"]}
    run = RunFolder(out) if resume else RunFolder.create(config["name"], out)
    trainer = Trainer(config, Split(train_images, train_labels), Split(val_images, val_labels),
                      metadata, run)
    run.preflight(sum(a.nbytes for a in trainer.model.state().values()))
    if resume:
        trainer.resume()
        log(f"resuming {run.path} at epoch {trainer.state['epoch'] + 1}, "
            f"batch {trainer.state['batch'] + 1}")
    else:
        from ..fileio import write_text

        write_text(run.config, dumps(config))
        log(trainer.model.summary())
        log(f"training on {data.name}: {len(train_labels)} images, validating on "
            f"{len(val_labels)}; run folder {run.path}")
    model = trainer.fit(log)
    save(model, run.final_model, {"metrics": {"epochs": trainer.state["epoch"]}})

    best = load(run.best_model)
    test = Split(data.test_images, data.test_labels)
    test_loss, test_acc = evaluate(best, test)
    best_epoch = int(best.metadata.get("metrics", {}).get("epoch", trainer.state["epoch"]))
    metrics = {**best.metadata.get("metrics", {}), "test_accuracy": test_acc,
               "test_loss": test_loss}
    save(best, run.best_model, {"metrics": metrics})
    run.write_history(trainer.state["history"], {"accuracy": test_acc, "loss": test_loss,
                                                 "best_epoch": best_epoch})
    if plots:
        _plots(run, best, test, data.class_names)
    return TrainingResult(run.path, data.name, test_acc, test_loss, best_epoch,
                          time.perf_counter() - started)


def _plots(run: RunFolder, model, test: Split, class_names) -> None:
    from ..plots import write_report

    paths = write_report(run.path, model, test.images, test.labels, list(class_names),
                         history=run.read_history())
    print(f"plots: {', '.join(p.name for p in paths)} in {run.plots}", file=sys.stderr)
