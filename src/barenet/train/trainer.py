"""The training loop: mini-batches, validation, the best epoch, early stopping.

The heart of it is :meth:`Trainer.train_batch`, the algorithm in five lines:
forward, loss, backward, (clip), step. Everything else is bookkeeping so
that a run can be watched, stopped, resumed and reported on; what is kept on disk,
and where, is the session's (:mod:`barenet.train.session`).
"""

from __future__ import annotations

import itertools
import math
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..data import Augment, Batches, PreparedData
from ..errors import BarenetError
from ..io.progress import progress_bar
from ..model.classifier import INFERENCE_BATCH, Sequential
from ..model.scaling import network_input
from ..model.views import tta_mean
from ..nn.losses import Loss, SoftmaxCrossEntropy
from ..nn.losses.cross_entropy import NO_CLASS
from ..nn.optim import OPTIMIZERS, Optimizer, clip_grad_norm
from .builder import build_schedule
from .checkpoint import LoopState, Partial
from .config import Config
from .mix import Mix


class Interrupted(BarenetError):
    """Training stopped by Ctrl-C or SIGTERM (after the trainer's ``save``)."""


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


class Diverged(BarenetError):
    """The loss or the weights became NaN or infinite; the message says what to try."""


class Trainer:
    """The training loop: epochs of mini-batches, validation, the best epoch, early stopping.

    It writes nothing: after every epoch, and when a signal stops it, it calls ``save``
    (:class:`barenet.train.session.Session` keeps a run folder's checkpoint and history
    with it). Everything random it draws comes from ``config.seeds``.

    Parameters
    ----------
    model : Sequential
        Trained in place.
    optimizer : Optimizer
        Over ``model.parameters()``; its ``lr`` is the schedule's base rate
        (``config.schedule``), from which it is set again before every batch.
    data : PreparedData
        Scaled (and standardised) train / validation images (N, 28, 28) with labels (N,);
        the validation split may be empty. The test split is not used.
    config : Config
        ``epochs``, ``batch_size``, ``augment``, ``clip_norm``, ``label_smoothing``,
        ``keep``, ``early_stopping``, ``seed``, the optimizer's ``lr`` (for advice).
    mix : Mix, optional
        What each batch holds besides its digits; by default ``Mix(config, data)``
        (generated non-digits at the config's share; crops of generated pages need
        to be given).
    loss_fn : Loss, optional
        The loss to train and validate with; by default cross-entropy (with the
        config's label smoothing for training, without it for validation).
    save : callable, optional
        ``save(trainer)``, called with :attr:`state` up to date (random states
        included) at every epoch's end and before :class:`Interrupted` is raised.

    Attributes
    ----------
    state : LoopState
        Where the loop is: epochs and batches done, history, the best epoch.
    best : dict of str to ndarray or None
        The best epoch's arrays (:meth:`restore_best` puts them in the model).
    """

    def __init__(self, model: Sequential, optimizer: Optimizer, data: PreparedData,
                 config: Config, *, mix: Mix | None = None, loss_fn: Loss | None = None,
                 save: Callable[[Trainer], None] | None = None) -> None:
        self.model, self.optimizer, self.data, self.config = model, optimizer, data, config
        self.schedule = build_schedule(config.to_dict(), optimizer.lr)
        self.save = save
        seeds = config.seeds
        self.shuffle_rng = np.random.default_rng(seeds.shuffle)
        self.augment = Augment(**config.augment.options, fill=data.background,
                               rng=np.random.default_rng(seeds.augment))
        self.batches = Batches(data.x_train, data.y_train, config.batch_size, self.shuffle_rng)
        self.mix = mix if mix is not None else Mix(config, data)
        self.loss_fn = loss_fn or SoftmaxCrossEntropy(config.label_smoothing)
        self.val_loss_fn = loss_fn or SoftmaxCrossEntropy()
        self.state = LoopState()
        self.best: dict[str, np.ndarray] | None = None  # the best epoch's arrays
        self.stop_signal: int | None = None
        self.progress: Callable[[float], None] | None = None

    # -- one step -----------------------------------------------------------
    def train_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """One gradient step on a prepared batch; returns (loss, number correct)."""
        logits = self.model.forward(x)
        loss = self.loss_fn(logits, y)
        if not np.isfinite(loss):
            return loss, 0
        self.model.backward(self.loss_fn.backward(), input_grad=False)
        if self.config.clip_norm:
            clip_grad_norm(self.model.parameters(), self.config.clip_norm)
        self.optimizer.step()
        return loss, int((logits.argmax(axis=1) == y).sum())

    # -- random state, for exact resumption --------------------------------------
    def generators(self) -> list[np.random.Generator]:
        """Every random generator the loop draws from, in the order a checkpoint saves
        their states: shuffling, each dropout layer, augmentation, then the mix's."""
        layer_rngs = [layer.rng for layer in self.model.layers if hasattr(layer, "rng")]
        return [self.shuffle_rng, *layer_rngs, self.augment.rng, *self.mix.generators]

    def _save(self) -> None:
        if self.save is None:
            return
        self.state.rngs = [g.bit_generator.state for g in self.generators()]
        self.save(self)

    def restore(self, state: LoopState, best: dict[str, np.ndarray] | None) -> None:
        """Continue from a checkpoint's loop state (its random states put into
        :meth:`generators`, one each) and best epoch's arrays; the model and the
        optimizer are restored by the caller (:func:`barenet.train.checkpoint.load_checkpoint`)."""
        for generator, rng_state in zip(self.generators(), state.rngs, strict=True):
            generator.bit_generator.state = rng_state
        self.state, self.best = state, best

    def restore_best(self) -> Sequential:
        """Put the best epoch's weights into :attr:`model` (the last ones if none was best)."""
        if self.best is not None:
            self.model.load_state_dict(self.best)
        return self.model

    # -- the loop -------------------------------------------------------------
    def fit(self, log: Callable[[str], None] = print,
            progress: Callable[[float], None] | None = None) -> Sequential:
        """Train for the configured epochs; returns the model after the last one.

        The best epoch's weights are kept in :attr:`best` (and in the
        checkpoint): :meth:`restore_best` puts them in the model. ``log`` receives
        one line per epoch. ``progress``, if given, is called after every batch with
        the fraction of the whole run done (0..1): the app's progress bar.

        Raises
        ------
        Interrupted
            On SIGINT or SIGTERM, after the batch in progress and ``save``.
        Diverged
            When the loss or the weights stop being finite.
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
                while self.state.epoch < self.config.epochs:
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
        """One epoch: the batches, then validation, the best model, history, ``save``."""
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
        self.state.epoch_start_rng = None
        self._save()

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
        epoch, batches, total = self.state.epoch, len(self.batches), self.config.epochs
        bar = progress_bar(batches, f"epoch {epoch + 1}/{total}", initial=self.state.batch,
                           unit="batch")
        for b, (images, y) in itertools.islice(enumerate(self.batches), self.state.batch, None):
            self.optimizer.lr = self.schedule(epoch + b / batches)
            x, targets = self.mix(images, y)
            loss, correct = self.train_batch(to_input(self.model, self.augment(x)), targets)
            if not np.isfinite(loss):
                raise Diverged(f"loss became {loss} at epoch {epoch + 1}, batch {b + 1}: "
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
        """``save`` in the middle of the epoch, then raise :class:`Interrupted` saying where."""
        partial.seconds = time.perf_counter() - started
        self.state.batch, self.state.partial = batch, partial
        self._save()
        raise Interrupted(f"stopped by signal {self.stop_signal} at epoch "
                          f"{self.state.epoch + 1}, batch {batch}")

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
                "label_smoothing": self.config.label_smoothing,
                "non_digits": self.mix.non_digits_in_batches}

    def _check_weights(self) -> None:
        if not all(np.all(np.isfinite(p.data)) for p in self.model.parameters()):
            raise Diverged(f"weights became NaN or infinite in epoch {self.state.epoch + 1}; "
                           f"{self._advice()}")

    def _advice(self) -> str:
        """What to do after training diverged: a lower learning rate, named as the config's
        option and as the flag (the session adds what was saved so far)."""
        optimizer = self.config.optimizer
        default = OPTIMIZERS[optimizer.name].spec.options["lr"].default
        lr = optimizer.lr if optimizer.lr is not None else default
        return (f"try a lower learning rate (the config's [optimizer] lr, or --lr; e.g. "
                f"--lr {lower_rate(lr, default):g})")

    def _track_best(self, row: dict[str, Any]) -> None:
        """Keep the weights of the best epoch by validation accuracy (the last without a
        validation split, or with ``keep = "last"``)."""
        best = self.state.best
        if (self.config.keep == "last" or row["val_acc"] is None or best is None
                or row["val_acc"] > best["val_accuracy"]):
            self.state.best = {"epoch": row["epoch"], "val_accuracy": row["val_acc"],
                               "val_loss": row["val_loss"]}
            self.best = {name: array.copy() for name, array in self.model.state_dict().items()}
            self.state.stale_epochs = 0
        else:
            self.state.stale_epochs += 1

    def _early_stop(self, log) -> bool:
        patience = self.config.early_stopping
        if patience and self.state.stale_epochs >= patience:
            log(f"early stopping: no validation improvement for {patience} epochs")
            return True
        return False
