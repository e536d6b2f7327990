"""One training run end to end: data, model, loop, test accuracy, files, plots."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..serialization import load, save
from .checkpoint import read_state
from .config import dumps
from .runs import RunFolder
from .trainer import Trainer, evaluate


@dataclass
class TrainingResult:
    run_dir: Path
    dataset: str
    test_accuracy: float
    test_loss: float
    best_epoch: int
    seconds: float


def train_from_config(config: dict[str, Any], data_dir: Path | None = None,
                      out: Path | None = None, resume: bool = False, plots: bool = True,
                      log=print) -> TrainingResult:
    """Train as ``config`` says; write the run folder; return the test result.

    With ``resume``, ``out`` is an existing run folder whose checkpoint is continued.
    """
    from ..data import load_dataset, prepare

    started = time.perf_counter()
    if resume and data_dir is None:  # the folder the interrupted run read its data from
        data_dir = read_state(RunFolder(out).checkpoint).get("data_dir")
    dataset = load_dataset(config["dataset"], data_dir)
    data = prepare(dataset, val_size=config["validation_size"], dtype=config["dtype"],
                   standardize=config["standardize"])
    norm = data.standardization.to_dict() if data.standardization else {"mean": 0.0, "std": 1.0}
    metadata = {"dataset": dataset.name, "class_names": list(data.class_names),
                "normalization": norm, "config": config["name"]}
    run = RunFolder(out) if resume else RunFolder.create(config["name"], out)
    trainer = Trainer(config, data, metadata, run)
    trainer.state["data_dir"] = str(dataset.source)
    run.preflight(sum(a.nbytes for a in trainer.model.state().values()))
    if resume:
        trainer.resume()
        log(f"resuming {run.path} at epoch {trainer.state['epoch'] + 1}, "
            f"batch {trainer.state['batch'] + 1}")
    else:
        from ..fileio import write_text

        write_text(run.config, dumps(config))
        log(trainer.model.summary())
        log(f"training on {dataset.name}: {len(data.y_train)} images, validating on "
            f"{len(data.y_val)}; run folder {run.path}")
    model = trainer.fit(log)
    save(model, run.final_model, {"metrics": {"epochs": trainer.state["epoch"]}})

    best = load(run.best_model)
    test_loss, test_acc = evaluate(best, data.x_test, data.y_test)
    best_epoch = int(best.metadata.get("metrics", {}).get("epoch", trainer.state["epoch"]))
    metrics = {**best.metadata.get("metrics", {}), "test_accuracy": test_acc,
               "test_loss": test_loss}
    save(best, run.best_model, {"metrics": metrics})
    run.write_history(trainer.state["history"], {"accuracy": test_acc, "loss": test_loss,
                                                 "best_epoch": best_epoch})
    if plots:
        from ..plots import write_report

        paths = write_report(run.path, best, dataset.test_images, dataset.test_labels,
                             list(data.class_names), history=run.read_history())
        log(f"plots: {', '.join(p.name for p in paths)} in {run.plots}")
    return TrainingResult(run.path, dataset.name, test_acc, test_loss, best_epoch,
                          time.perf_counter() - started)
