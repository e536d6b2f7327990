"""The training loop: mini-batches, validation, checkpoints, early stopping.

The heart of it is :meth:`Trainer.train_batch`, the algorithm in five lines:
forward, loss, backward, (clip), step. Everything else is bookkeeping so
that a run can be watched, stopped, resumed and reported on.
"""

from __future__ import annotations

import itertools
import math
import signal
import threading
import time
from typing import Any

import numpy as np

from ..data import Augment, Batches, PreparedData
from ..data.scaling import network_input
from ..errors import BarenetError
from ..io.model_file import save
from ..io.progress import ProgressBar
from ..losses import SoftmaxCrossEntropy
from ..model import INFERENCE_BATCH, Sequential
from ..optim import clip_grad_norm
from .builder import build_model, build_optimizer, build_schedule
from .checkpoint import load_checkpoint, save_checkpoint
from .runs import RunFolder


class Interrupted(BarenetError):
    """Training stopped by Ctrl-C or SIGTERM after writing a checkpoint."""


def to_input(model: Sequential, images: np.ndarray) -> np.ndarray:
    """Prepared images (N, 28, 28) viewed as the network's input (N, *input_shape)."""
    return network_input(images, model.dtype, None, model.input_shape)


def evaluate(model: Sequential, x: np.ndarray, y: np.ndarray,
             batch_size: int = INFERENCE_BATCH) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (eval mode) on prepared images."""
    if len(y) == 0:
        return 0.0, 0.0
    logits = logits_of(model, x, batch_size)
    loss = SoftmaxCrossEntropy()(logits, y)
    return float(loss), float((logits.argmax(axis=1) == y).mean())


def logits_of(model: Sequential, x: np.ndarray,
              batch_size: int = INFERENCE_BATCH) -> np.ndarray:
    """The network's outputs (N, K) in eval mode for prepared images (N, 28, 28)."""
    with model.evaluating():
        out = [model.forward(to_input(model, x[i:i + batch_size]))
               for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, model.output_shape(model.input_shape)[-1]))


def lower_rate(lr: float) -> float:
    """A round learning rate about a tenth of ``lr``: 1e6 -> 1e5, 2e-3 -> 2e-4, 0.7 -> 0.07."""
    tenth = lr / 10
    if not (math.isfinite(tenth) and tenth > 0):
        return 1e-3
    exponent = math.floor(math.log10(tenth))
    return round(tenth / 10**exponent) * 10**exponent


class Trainer:
    """Trains one model from a validated config on prepared data splits.

    Parameters
    ----------
    config : dict
        A config returned by :func:`barenet.training.config.validate`.
    data : PreparedData
        Scaled (and standardised) train / validation / test images with labels;
        the validation set may be empty.
    metadata : dict
        Recorded in every saved model: dataset, class names, normalisation.
    run : RunFolder
        Where models, checkpoints, history and plots go.
    start : Sequential, optional
        Weights to start from (fine-tuning), of the config's architecture; by
        default fresh ones drawn from the config's seed.
    """

    def __init__(self, config: dict[str, Any], data: PreparedData,
                 metadata: dict[str, Any], run: RunFolder, start: Sequential | None = None) -> None:
        self.config, self.data, self.run = config, data, run
        init_seed, shuffle_seed, augment_seed = np.random.SeedSequence(config["seed"]).spawn(3)
        self.model = build_model(config["model"], np.random.default_rng(init_seed),
                                 np.dtype(config["dtype"]))
        if start is not None:
            for name, array in start.state().items():
                self.model.set_state(name, array)
        self.model.metadata.update(metadata)
        self.shuffle_rng = np.random.default_rng(shuffle_seed)
        self.augment = Augment(**config["augment"], fill=data.background,
                               rng=np.random.default_rng(augment_seed))
        self.batches = Batches(data.x_train, data.y_train, config["batch_size"], self.shuffle_rng)
        self.loss_fn = SoftmaxCrossEntropy(config["label_smoothing"])
        self.optimizer = build_optimizer(config, self.model.parameters())
        self.schedule = build_schedule(config, self.optimizer.lr)
        self.state: dict[str, Any] = {"epoch": 0, "batch": 0, "history": [],
                                      "best_val_acc": -1.0, "stale_epochs": 0, "partial": None}
        self.stop_signal: int | None = None
        self.resume_rng: dict | None = None
        self.progress = None

    # -- one step -----------------------------------------------------------
    def train_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """One gradient step on a prepared batch; returns (loss, number correct)."""
        logits = self.model.forward(x)
        loss = self.loss_fn(logits, y)
        if not np.isfinite(loss):
            return loss, 0
        self.model.backward(self.loss_fn.backward(), input_grad=False)
        if self.config["clip_norm"]:
            clip_grad_norm(self.model.parameters(), self.config["clip_norm"])
        self.optimizer.step()
        return loss, int((logits.argmax(axis=1) == y).sum())

    # -- random state, for exact resumption --------------------------------------
    def _generators(self) -> list[np.random.Generator]:
        layer_rngs = [layer.rng for layer in self.model.layers if hasattr(layer, "rng")]
        return [self.shuffle_rng, *layer_rngs, self.augment.rng]

    def _checkpoint(self, epoch_start_rng: dict, partial: dict | None) -> None:
        state = dict(self.state, partial=partial, epoch_start_rng=epoch_start_rng,
                     rngs=[g.bit_generator.state for g in self._generators()])
        save_checkpoint(self.run.checkpoint, self.model, self.optimizer, state)

    def resume(self) -> None:
        """Continue from the run folder's checkpoint (model, optimizer, RNGs, position)."""
        state = load_checkpoint(self.run.checkpoint, self.model, self.optimizer)
        for generator, saved in zip(self._generators(), state.pop("rngs"), strict=True):
            generator.bit_generator.state = saved
        self.resume_rng = state.pop("epoch_start_rng")
        self.state = state

    # -- the loop -------------------------------------------------------------
    def fit(self, log=print, progress=None) -> Sequential:
        """Train for the configured epochs; returns the best model by validation accuracy.

        ``progress``, if given, is called after every batch with the fraction of
        the whole run done (0..1): the app's progress bar.
        """
        self.progress = progress
        # Ctrl-C and SIGTERM checkpoint and stop; only the main thread can take signals
        # (the app trains in a background thread)
        stops = (signal.SIGINT, signal.SIGTERM)
        main = threading.current_thread() is threading.main_thread()
        previous = {s: signal.signal(s, self._request_stop) for s in stops} if main else {}
        try:
            # Overflow is not an error here: a non-finite loss is, and is reported as one.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                while self.state["epoch"] < self.config["epochs"]:
                    if self.state["partial"] is None:
                        self.resume_rng = None
                    self._run_epoch(log)
                    if self._early_stop(log):
                        break
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        return self.model

    def _request_stop(self, signum: int, frame: Any) -> None:
        self.stop_signal = signum

    def _run_epoch(self, log) -> None:
        cfg, model, data = self.config, self.model, self.data
        epoch, batches = self.state["epoch"], len(self.batches)
        if self.resume_rng is not None:  # mid-epoch resume: replay this epoch's shuffle
            self.shuffle_rng.bit_generator.state = self.resume_rng
        epoch_start_rng = self.shuffle_rng.bit_generator.state
        partial = self.state["partial"] or {"loss": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}
        start_batch = self.state["batch"]
        bar = ProgressBar(batches, f"epoch {epoch + 1}/{cfg['epochs']}")
        started = time.perf_counter() - partial["seconds"]
        model.train()
        for b, (images, y) in itertools.islice(enumerate(self.batches), start_batch, None):
            self.optimizer.lr = self.schedule(epoch + b / batches)
            loss, correct = self.train_batch(to_input(model, self.augment(images)), y)
            if not np.isfinite(loss):
                raise BarenetError(
                    f"loss became {loss} at epoch {epoch + 1}, batch {b + 1}: training "
                    f"diverged; try a lower learning rate (e.g. --lr "
                    f"{lower_rate(cfg['optimizer']['lr']):g}){self._saved_so_far()}")
            partial["loss"] += loss * len(y)
            partial["correct"] += correct
            partial["seen"] += len(y)
            bar.update(b + 1, loss=partial["loss"] / partial["seen"],
                       acc=partial["correct"] / partial["seen"])
            if self.progress is not None:
                self.progress((epoch + (b + 1) / batches) / cfg["epochs"])
            if self.stop_signal is not None:
                partial["seconds"] = time.perf_counter() - started
                self.state["batch"] = b + 1
                self._checkpoint(epoch_start_rng, partial)
                raise Interrupted(
                    f"stopped by signal {self.stop_signal} at epoch {epoch + 1}, batch {b + 1}; "
                    f"checkpoint saved. Resume with: barenet train --resume {self.run.path}")
        seconds = time.perf_counter() - started
        train_loss = partial["loss"] / partial["seen"]
        train_acc = partial["correct"] / partial["seen"]
        has_val = len(data.y_val) > 0
        # without a validation split there is nothing to report: None, not NaN (not JSON)
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val) if has_val else (None, None)
        bar.close(batches, loss=train_loss, acc=train_acc)
        row = {"epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc,
               "val_loss": val_loss, "val_acc": val_acc, "lr": self.optimizer.lr,
               "seconds": seconds,
               # train_loss includes it, val_loss (plain cross-entropy) does not
               "label_smoothing": cfg["label_smoothing"]}
        val = f"val loss {val_loss:.4f} acc {val_acc:.2%}" if has_val else "no validation split"
        log(f"epoch {epoch + 1}: train loss {train_loss:.4f} acc {train_acc:.2%} | {val} | "
            f"lr {self.optimizer.lr:.3g} | {seconds:.1f}s")
        if not all(np.all(np.isfinite(p.data)) for p in model.parameters()):
            raise BarenetError(f"weights became NaN or infinite in epoch {epoch + 1}; try a "
                               f"lower learning rate (e.g. --lr "
                               f"{lower_rate(cfg['optimizer']['lr']):g}){self._saved_so_far()}")
        self.state["history"].append(row)
        if not has_val or val_acc > self.state["best_val_acc"]:
            self.state["best_val_acc"] = val_acc if has_val else 0.0
            self.state["stale_epochs"] = 0
            save(model, self.run.best_model, {"metrics": {
                "epoch": epoch + 1, "val_accuracy": val_acc, "val_loss": val_loss}})
        else:
            self.state["stale_epochs"] += 1
        self.state.update(epoch=epoch + 1, batch=0, partial=None)
        self.run.write_history(self.state["history"])
        self._checkpoint(self.shuffle_rng.bit_generator.state, None)

    def _saved_so_far(self) -> str:
        """``; <files> in <run> are intact`` naming only files that exist."""
        names = [p.name for p in (self.run.checkpoint, self.run.best_model, self.run.final_model)
                 if p.is_file()]
        if not names:
            return "; no model or checkpoint had been saved yet"
        verb = "is" if len(names) == 1 else "are"
        return f"; {', '.join(names)} in {self.run.path} {verb} intact"

    def _early_stop(self, log) -> bool:
        patience = self.config["early_stopping"]
        if patience and self.state["stale_epochs"] >= patience:
            log(f"early stopping: no validation improvement for {patience} epochs")
            return True
        return False
