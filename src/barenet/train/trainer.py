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
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data import Augment, Batches, PreparedData
from ..data.non_digits import make_non_digits, per_batch, pool_size
from ..errors import BarenetError
from ..io.progress import progress_bar
from ..model.classifier import INFERENCE_BATCH, Sequential
from ..model.scaling import network_input
from ..model.views import tta_mean
from ..nn.losses import Loss, SoftmaxCrossEntropy
from ..nn.losses.cross_entropy import NO_CLASS
from ..nn.optim import OPTIMIZERS, clip_grad_norm
from .builder import build_model, build_optimizer, build_schedule
from .checkpoint import LoopState, Partial, config_fingerprint, load_checkpoint, read_state
from .runs import RunFolder

if TYPE_CHECKING:
    from .scene_crops import SceneCrops


class Interrupted(BarenetError):
    """Training stopped by Ctrl-C or SIGTERM after writing a checkpoint."""


def to_input(model: Sequential, images: np.ndarray) -> np.ndarray:
    """Prepared images (N, 28, 28) viewed as the network's input (N, *input_shape)."""
    return network_input(images, model.dtype, None, model.input_shape)


def evaluate(model: Sequential, x: np.ndarray, y: np.ndarray,
             batch_size: int = INFERENCE_BATCH, loss_fn: Loss | None = None,
             mirror: bool = False, shift: bool = False) -> tuple[float, float]:
    """Mean loss (cross-entropy unless ``loss_fn``) and accuracy of ``model`` (eval mode)
    on prepared images; with ``mirror`` or ``shift``, of the outputs averaged over the
    test-time views that :meth:`Sequential.predict_logits` averages over."""
    if len(y) == 0:
        return 0.0, 0.0
    logits = tta_mean(lambda view: logits_of(model, view, batch_size), x, mirror, shift)
    loss = (loss_fn or SoftmaxCrossEntropy())(logits, y)
    return float(loss), float((logits.argmax(axis=1) == y).mean())


def logits_of(model: Sequential, x: np.ndarray,
              batch_size: int = INFERENCE_BATCH) -> np.ndarray:
    """The network's outputs (N, K) in eval mode for prepared images (N, 28, 28), as
    ``barenet predict`` computes them (:meth:`Sequential.eval_logits`)."""
    return model.eval_logits(to_input(model, x), batch_size)


def check_input_shape(input_shape: list[int], image_shape: tuple[int, ...]) -> None:
    """The model's ``input_shape`` must hold exactly one image's pixels (before any training)."""
    if math.prod(input_shape) != math.prod(image_shape):
        sizes = "x".join(map(str, image_shape))
        raise BarenetError(f"[model] input_shape {list(input_shape)} takes "
                           f"{math.prod(input_shape):,} values per sample, but the images are "
                           f"{sizes} ({math.prod(image_shape):,} values); use "
                           f"[{math.prod(image_shape)}] or [1, {', '.join(map(str, image_shape))}]")


def lower_rate(lr: float, default: float = math.inf) -> float:
    """A round learning rate about a tenth of ``lr`` (1e6 -> 1e5, 2e-3 -> 2e-4, 0.7 -> 0.07),
    or the optimizer's ``default`` when ``lr`` is ten times that or more (a tenth of 1e308
    would diverge as well)."""
    tenth = lr / 10
    if tenth >= default or not (math.isfinite(tenth) and tenth > 0):
        return default if math.isfinite(default) else 1e-3
    exponent = math.floor(math.log10(tenth))
    return round(tenth / 10**exponent) * 10**exponent


class Trainer:
    """Trains one model from a validated config on prepared data splits.

    Parameters
    ----------
    config : dict
        A config returned by :func:`barenet.train.config.validate`.
    data : PreparedData
        Scaled (and standardised) train / validation / test images with labels;
        the validation set may be empty.
    metadata : dict
        Recorded in every saved model: dataset, class names, normalisation.
    run : RunFolder or None
        Where checkpoints and history go; None (``barenet.fit``) writes nothing.
    start : Sequential, optional
        Weights to start from (fine-tuning), of the config's architecture; by
        default fresh ones drawn from the config's seed.
    model : Sequential, optional
        Train this model itself, in place, instead of building one (``barenet.fit``).
    loss_fn : Loss, optional
        The loss to train and validate with; by default cross-entropy (with the
        config's label smoothing for training, without it for validation).
    scene_crops : SceneCrops, optional
        What the picture reader extracted from generated pages
        (:func:`barenet.train.scene_crops.scene_crops`): required when the config's
        ``scene_crops`` share is above 0, and mixed into every batch at that share.
    """

    def __init__(self, config: dict[str, Any], data: PreparedData,
                 metadata: dict[str, Any], run: RunFolder | None,
                 start: Sequential | None = None, data_sha256: dict[str, str] | None = None,
                 model: Sequential | None = None, loss_fn: Loss | None = None,
                 scene_crops: SceneCrops | None = None) -> None:
        self.config, self.data, self.run = config, data, run
        check_input_shape(config["model"]["input_shape"], data.x_train.shape[1:])
        init_seed, shuffle_seed, augment_seed, non_digit_seed, scene_seed = (
            np.random.SeedSequence(config["seed"]).spawn(5))
        self.model = model if model is not None else build_model(
            config["model"], np.random.default_rng(init_seed), np.dtype(config["dtype"]))
        if start is not None:
            for name, array in start.state().items():
                self.model.set_state(name, array)
        self.model.metadata.update(metadata)
        self.shuffle_rng = np.random.default_rng(shuffle_seed)
        self.augment = Augment(**config["augment"], fill=data.background,
                               rng=np.random.default_rng(augment_seed))
        self.batches = Batches(data.x_train, data.y_train, config["batch_size"], self.shuffle_rng)
        self.non_digits, self.non_digit_rng = self._non_digit_pool(non_digit_seed)
        self.scene_crops, self.scene_targets, self.scene_rng = self._scene_crop_pool(
            scene_crops, scene_seed)
        self.loss_fn = loss_fn or SoftmaxCrossEntropy(config["label_smoothing"])
        self.val_loss_fn = loss_fn or SoftmaxCrossEntropy()
        self.optimizer = build_optimizer(config, self.model.parameters())
        self.schedule = build_schedule(config, self.optimizer.lr)
        self.state = LoopState(config_sha256=config_fingerprint(config),
                               data_sha256=dict(data_sha256 or {}))
        self.best: dict[str, np.ndarray] | None = None  # the best epoch's arrays
        self.stop_signal: int | None = None
        self.progress = None

    def _non_digit_pool(self, seed: np.random.SeedSequence
                        ) -> tuple[np.ndarray | None, np.random.Generator | None]:
        """Generated non-digits (outlier exposure, ``non_digits`` in the config), made once
        from the training digits, and the generator that draws them into batches."""
        count = pool_size(self.config["non_digits"], len(self.data.x_train))
        if not count:
            return None, None
        data = self.data
        pool_seed, draw_seed = seed.spawn(2)
        standard = data.standardization
        pool = make_non_digits(data.x_train, data.y_train, count,
                               np.random.default_rng(pool_seed), standard)
        return (network_input(pool, data.x_train.dtype, standard),
                np.random.default_rng(draw_seed))

    def _scene_crop_pool(self, crops: SceneCrops | None, seed: np.random.SeedSequence
                         ) -> tuple[np.ndarray | None, np.ndarray | None,
                                    np.random.Generator | None]:
        """The reader's crops of generated pages (``scene_crops`` in the config), prepared
        as the digits are, their targets, and the generator that draws them into batches."""
        if not self.config["scene_crops"]:
            return None, None, None
        if crops is None or not len(crops):
            raise BarenetError(f"scene_crops = {self.config['scene_crops']} needs the crops "
                               "of generated pages; barenet train makes them")
        data = self.data
        return (network_input(crops.glyphs, data.x_train.dtype, data.standardization),
                crops.targets, np.random.default_rng(seed))

    def with_scene_crops(self, images: np.ndarray, y: np.ndarray,
                         digits: int) -> tuple[np.ndarray, np.ndarray]:
        """The batch with its share of the reader's crops of generated pages added, for
        its ``digits`` digits, each with its page's label (``NO_CLASS`` where the reader
        cropped something else)."""
        if self.scene_crops is None:
            return images, y
        count = per_batch(digits, self.config["scene_crops"])
        picked = self.scene_rng.integers(0, len(self.scene_crops), count)
        return (np.concatenate([images, self.scene_crops[picked].reshape(
                    (count, *images.shape[1:]))]),
                np.concatenate([y.astype(np.int64), self.scene_targets[picked]]))

    def with_non_digits(self, images: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The batch with its share of non-digit pictures added, labelled ``NO_CLASS``."""
        if self.non_digits is None:
            return images, y
        count = per_batch(len(y), self.config["non_digits"])
        picked = self.non_digits[self.non_digit_rng.integers(0, len(self.non_digits), count)]
        return (np.concatenate([images, picked.reshape((count, *images.shape[1:]))]),
                np.concatenate([y.astype(np.int64), np.full(count, NO_CLASS)]))

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
        extra = [g for g in (self.non_digit_rng, self.scene_rng) if g is not None]
        return [self.shuffle_rng, *layer_rngs, self.augment.rng, *extra]

    def _checkpoint(self) -> None:
        if self.run is None:
            return
        self.state.rngs = [g.bit_generator.state for g in self._generators()]
        self.run.save_checkpoint(self.model, self.optimizer, self.best, self.state)

    def resume(self) -> None:
        """Continue from the run folder's checkpoint (model, optimizer, RNGs, position).

        Refused, in one line, when the checkpoint was written for another config
        (``config.toml`` edited since) or other data files, or does not fit this run.
        """
        where = self.run.checkpoint
        saved = read_state(where)
        if saved.config_sha256 != self.state.config_sha256:
            raise BarenetError(f"{self.run.config} changed since {where} was written (or the "
                               "checkpoint belongs to another run); a resumed run must train "
                               "on what it started with: undo the edit, or start a new run")
        if self.state.data_sha256 and saved.data_sha256 != self.state.data_sha256:
            changed = sorted(k for k in {**saved.data_sha256, **self.state.data_sha256}
                             if saved.data_sha256.get(k) != self.state.data_sha256.get(k))
            raise BarenetError(f"the data files differ from those {self.run.path} trained on "
                               f"({', '.join(changed)}); resume with the same --data-dir, or "
                               "start a new run")
        batches, generators = len(self.batches), self._generators()
        if not (saved.epoch <= self.config["epochs"] and saved.batch < max(batches, 1)
                and len(saved.rngs) == len(generators)
                and (saved.batch == 0) == (saved.partial is None)):
            raise BarenetError(f"checkpoint {where} is at epoch {saved.epoch}, batch "
                               f"{saved.batch} with {len(saved.rngs)} random states; this run "
                               f"has {self.config['epochs']} epochs of {batches} batches and "
                               f"{len(generators)} random generators: start a new run")
        state, self.best = load_checkpoint(where, self.model, self.optimizer, saved)
        for generator, rng_state in zip(generators, state.rngs, strict=True):
            generator.bit_generator.state = rng_state
        self.state = state

    def restore_best(self) -> Sequential:
        """Put the best epoch's weights into :attr:`model` (the last ones if none was best)."""
        if self.best is not None:
            for name, array in self.best.items():
                self.model.set_state(name, array)
        return self.model

    # -- the loop -------------------------------------------------------------
    def fit(self, log=print, progress=None) -> Sequential:
        """Train for the configured epochs; returns the model after the last one.

        The best epoch's weights are kept in :attr:`best` (and in the
        checkpoint): :meth:`restore_best` puts them in the model. ``progress``,
        if given, is called after every batch with the fraction of the whole run
        done (0..1): the app's progress bar.
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
                while self.state.epoch < self.config["epochs"]:
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
        """One epoch: the batches, then validation, the best model, history, checkpoint."""
        partial, started = self._start_epoch()
        bar = self._train_batches(partial, started)
        row = self._epoch_row(partial, time.perf_counter() - started)
        bar.close()
        val = (f"val loss {row['val_loss']:.4f} acc {row['val_acc']:.2%}"
               if row["val_acc"] is not None else "no validation split")
        log(f"epoch {row['epoch']}: train loss {row['train_loss']:.4f} acc "
            f"{row['train_acc']:.2%} | {val} | lr {row['lr']:.3g} | {row['seconds']:.1f}s")
        self._check_weights()
        self._track_best(row)
        self.state.history.append(row)
        self.state.epoch, self.state.batch, self.state.partial = self.state.epoch + 1, 0, None
        if self.run is not None:
            self.run.write_history(self.state.history)
        self.state.epoch_start_rng = None
        self._checkpoint()

    def _start_epoch(self) -> tuple[Partial, float]:
        """The running sums and the clock, fresh or as a mid-epoch checkpoint left them."""
        if self.state.partial is not None:  # mid-epoch resume: replay this epoch's shuffle
            self.shuffle_rng.bit_generator.state = self.state.epoch_start_rng
        self.state.epoch_start_rng = self.shuffle_rng.bit_generator.state
        partial = self.state.partial or Partial()
        self.model.train()
        return partial, time.perf_counter() - partial.seconds

    def _train_batches(self, partial: Partial, started: float) -> Any:
        """The epoch's remaining batches: schedule, step, sums, progress; stop on a signal."""
        epoch, batches, total = self.state.epoch, len(self.batches), self.config["epochs"]
        bar = progress_bar(batches, f"epoch {epoch + 1}/{total}", initial=self.state.batch,
                           unit="batch")
        for b, (images, y) in itertools.islice(enumerate(self.batches), self.state.batch, None):
            self.optimizer.lr = self.schedule(epoch + b / batches)
            x, targets = self.with_scene_crops(*self.with_non_digits(images, y), len(y))
            loss, correct = self.train_batch(to_input(self.model, self.augment(x)), targets)
            if not np.isfinite(loss):
                raise BarenetError(f"loss became {loss} at epoch {epoch + 1}, batch {b + 1}: "
                                   f"training diverged; {self._advice()}")
            labelled = int(np.count_nonzero(targets != NO_CLASS))  # digits, crops of digits
            partial.loss += loss * labelled
            partial.correct += correct
            partial.seen += labelled
            bar.set_postfix(loss=f"{partial.loss / partial.seen:.4f}",
                            acc=f"{partial.correct / partial.seen:.2%}", refresh=False)
            bar.update()
            if self.progress is not None:
                self.progress((epoch + (b + 1) / batches) / total)
            if self.stop_signal is not None:
                bar.close()
                self._stop(partial, started, b + 1)
        return bar

    def _stop(self, partial: Partial, started: float, batch: int) -> None:
        """Checkpoint in the middle of the epoch, then raise :class:`Interrupted`."""
        partial.seconds = time.perf_counter() - started
        self.state.batch, self.state.partial = batch, partial
        where = (f"stopped by signal {self.stop_signal} at epoch {self.state.epoch + 1}, "
                 f"batch {batch}")
        if self.run is None:
            raise Interrupted(f"{where}; the model keeps the weights it had then")
        self._checkpoint()
        raise Interrupted(f"{where}; checkpoint saved. Resume with: barenet train "
                          f"--resume {self.run.path}")

    def _epoch_row(self, partial: Partial, seconds: float) -> dict[str, Any]:
        """Validate; the epoch's history row."""
        data, epoch = self.data, self.state.epoch
        train_loss, train_acc = partial.loss / partial.seen, partial.correct / partial.seen
        has_val = len(data.y_val) > 0
        # without a validation split there is nothing to report: None, not NaN (not JSON)
        val_loss, val_acc = evaluate(self.model, data.x_val, data.y_val,
                                     loss_fn=self.val_loss_fn) if has_val else (None, None)
        return {"epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc,
                "val_loss": val_loss, "val_acc": val_acc, "lr": self.optimizer.lr,
                "seconds": seconds,
                # train_loss includes both, val_loss (plain cross-entropy on digits) neither
                "label_smoothing": self.config["label_smoothing"],
                "non_digits": self.config["non_digits"] if self.non_digits is not None else 0.0}

    def _check_weights(self) -> None:
        if not all(np.all(np.isfinite(p.data)) for p in self.model.parameters()):
            raise BarenetError(f"weights became NaN or infinite in epoch {self.state.epoch + 1}; "
                               f"{self._advice()}")

    def _advice(self) -> str:
        """What to do after training diverged: a lower learning rate, named as the config's
        option and as the flag, and what was saved so far."""
        optimizer = self.config["optimizer"]
        default = OPTIMIZERS[optimizer["name"]].spec.options["lr"].default
        return (f"try a lower learning rate (the config's [optimizer] lr, or --lr; e.g. "
                f"--lr {lower_rate(optimizer['lr'], default):g}){self._saved_so_far()}")

    def _track_best(self, row: dict[str, Any]) -> None:
        """Keep the weights of the best epoch by validation accuracy (the last without a
        validation split, or with ``keep = "last"``)."""
        best = self.state.best
        if (self.config["keep"] == "last" or row["val_acc"] is None or best is None
                or row["val_acc"] > best["val_accuracy"]):
            self.state.best = {"epoch": row["epoch"], "val_accuracy": row["val_acc"],
                               "val_loss": row["val_loss"]}
            self.best = {name: array.copy() for name, array in self.model.state().items()}
            self.state.stale_epochs = 0
        else:
            self.state.stale_epochs += 1

    def _saved_so_far(self) -> str:
        """``; <files> in <run> are intact`` naming only files that exist."""
        names = [p.name for p in (self.run.checkpoint,) if p.is_file()] if self.run else []
        if not names:
            return "; no model or checkpoint had been saved yet"
        verb = "is" if len(names) == 1 else "are"
        return f"; {', '.join(names)} in {self.run.path} {verb} intact"

    def _early_stop(self, log) -> bool:
        patience = self.config["early_stopping"]
        if patience and self.state.stale_epochs >= patience:
            log(f"early stopping: no validation improvement for {patience} epochs")
            return True
        return False
