"""Checkpoints: everything needed to continue a run exactly where it stopped.

One ``.npz`` holding the model's arrays (``model.*``), the best epoch's
(``best.*``), the optimizer's state (``optim.*``) and a JSON header
(``__state__``): the :class:`LoopState`, the loop's position and random
states, saved and validated as one unit. Written atomically by
:meth:`barenet.train.runs.RunFolder.save_checkpoint`, read without pickle,
and trusted no more than a model file: every member's size is checked before
it is read, every field of the state before it is used.
"""

from __future__ import annotations

import hashlib
import json
import math
import reprlib
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BarenetError
from ..model.classifier import Sequential
from ..model.file import NPY_OVERHEAD
from ..model.load import read_member
from ..nn.optim import Optimizer
from ..nn.options import array_problem

STATE = "__state__"
#: Largest loop state (history, random states) of a checkpoint: 10,000 epochs of history fit.
MAX_CHECKPOINT_STATE_BYTES = 1 << 24


@dataclass
class Partial:
    """Running sums of the epoch in progress, for a mid-epoch checkpoint."""

    loss: float = 0.0  # sum of per-sample losses
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0


@dataclass
class LoopState:
    """Where a training run is, and what it depends on.

    Attributes
    ----------
    epoch : int
        Epochs finished.
    batch : int
        Batches finished in the epoch in progress (0 at an epoch's end).
    history : list of dict
        One row per finished epoch (``runs.HISTORY_COLUMNS``).
    best : dict or None
        The best epoch so far: ``epoch``, ``val_accuracy``, ``val_loss`` (None
        without a validation split: the best is the last).
    stale_epochs : int
        Epochs since the best one, for early stopping.
    partial : Partial or None
        The epoch in progress's running sums; None at an epoch's end.
    epoch_start_rng : dict or None
        The shuffling generator's state when the epoch in progress began
        (replayed on a mid-epoch resume).
    rngs : list of dict
        Every random generator's state (:meth:`barenet.train.trainer.Trainer.generators`):
        shuffling, each dropout layer, augmentation, the draws of non-digits and crops.
    config_sha256 : str
        :func:`config_fingerprint` of the config the run was started with.
    data_sha256 : dict
        The SHA-256 of each data file the run trains on.
    """

    epoch: int = 0
    batch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None
    stale_epochs: int = 0
    partial: Partial | None = None
    epoch_start_rng: dict[str, Any] | None = None
    rngs: list[dict[str, Any]] = field(default_factory=list)
    config_sha256: str = ""
    data_sha256: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str, where: str) -> LoopState:
        """Parse and check every field; a one-line :class:`BarenetError` names the first bad one."""
        try:
            record = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise _bad(where, f"its state is not valid JSON ({exc})") from None
        names = [f.name for f in fields(cls)]
        if not isinstance(record, dict) or set(record) != set(names):
            keys = sorted(record) if isinstance(record, dict) else type(record).__name__
            raise _bad(where, f"its state has keys {reprlib.repr(keys)}, expected {names}")
        for name in ("epoch", "batch", "stale_epochs"):
            _check(where, name, _is_count(record[name]), "a whole number >= 0")
        _check(where, "history", isinstance(record["history"], list) and all(
            isinstance(row, dict) and all(isinstance(k, str) and _is_number_or_none(v)
                                          for k, v in row.items())
            for row in record["history"]), "a list of epoch rows of numbers")
        best = record["best"]
        _check(where, "best", best is None or (
            isinstance(best, dict) and set(best) == {"epoch", "val_accuracy", "val_loss"}
            and _is_count(best["epoch"]) and _is_number_or_none(best["val_accuracy"])
            and _is_number_or_none(best["val_loss"])), "null or {epoch, val_accuracy, val_loss}")
        partial = record["partial"]
        _check(where, "partial", partial is None or (
            isinstance(partial, dict) and set(partial) == {"loss", "correct", "seen", "seconds"}
            and _is_number(partial["loss"]) and _is_count(partial["correct"])
            and _is_count(partial["seen"]) and _is_number(partial["seconds"])),
            "null or {loss, correct, seen, seconds}")
        rngs = record["rngs"]
        _check(where, "rngs", isinstance(rngs, list) and all(map(_is_rng_state, rngs)),
               "a list of NumPy bit-generator states")
        _check(where, "epoch_start_rng", record["epoch_start_rng"] is None
               or _is_rng_state(record["epoch_start_rng"]), "null or a bit-generator state")
        _check(where, "config_sha256", _is_digest(record["config_sha256"]), "a SHA-256 digest")
        data = record["data_sha256"]
        _check(where, "data_sha256", isinstance(data, dict) and all(
            isinstance(k, str) and _is_digest(v) for k, v in data.items()),
            "file name -> SHA-256 digest")
        record["partial"] = Partial(**partial) if partial is not None else None
        return cls(**record)


#: Config keys added after checkpoints were written, and the value that leaves them out of
#: the fingerprint (their default: the run is as it was before the key existed, so a run
#: folder written before it still resumes).
LATER_KEYS = {"scene_finder": ""}


def config_fingerprint(config: dict[str, Any]) -> str:
    """SHA-256 of a validated config: what a checkpoint's arrays and position depend on."""
    config = {k: v for k, v in config.items() if k not in LATER_KEYS or v != LATER_KEYS[k]}
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode("utf-8")).hexdigest()


def _bad(where: str, problem: str) -> BarenetError:
    return BarenetError(f"checkpoint {where}: {problem}; start a new run or restore the "
                        "checkpoint the run wrote")


def _check(where: str, name: str, ok: bool, expected: str) -> None:
    if not ok:
        raise _bad(where, f"state field {name!r} is not {expected}")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _is_number_or_none(value: Any) -> bool:
    return value is None or _is_number(value)


def _is_digest(value: Any) -> bool:
    return (isinstance(value, str) and len(value) == 64
            and all(c in "0123456789abcdef" for c in value))


def _is_rng_state(value: Any) -> bool:
    """Whether NumPy accepts ``value`` as the state of its bit generator (PCG64 here)."""
    if not (isinstance(value, dict) and value.get("bit_generator") == "PCG64"):
        return False
    try:
        np.random.PCG64().state = value
    except (TypeError, ValueError, KeyError, OverflowError):
        return False
    return True


# -- the file -----------------------------------------------------------------------

def members(model: Sequential, optimizer: Optimizer, best: dict[str, np.ndarray] | None,
            state: LoopState) -> dict[str, np.ndarray]:
    """The arrays of a checkpoint, by member name (for the run folder's writer)."""
    arrays = {f"model.{k}": v for k, v in model.state_dict().items()}
    if best is not None:
        arrays.update({f"best.{k}": v for k, v in best.items()})
    arrays.update({f"optim.{k}": v for k, v in optimizer.state_dict().items()})
    text = state.to_json().encode("utf-8")
    if len(text) > MAX_CHECKPOINT_STATE_BYTES:
        raise BarenetError(f"the training state takes {len(text):,} bytes, more than the "
                           f"{MAX_CHECKPOINT_STATE_BYTES:,} a checkpoint may hold")
    arrays[STATE] = np.frombuffer(text, dtype=np.uint8)
    return arrays


def _open(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise BarenetError(f"{path} not found: no checkpoint to resume from (a run folder "
                           "gets one after its first epoch or when interrupted)")
    try:
        return zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise BarenetError(f"checkpoint {path} is unreadable ({exc}); start a new run") from None


def read_state(path: Path) -> LoopState:
    """Only the loop state of a checkpoint (cheap: the arrays are not read)."""
    with _open(path) as archive:
        raw = _member(archive, path, STATE, MAX_CHECKPOINT_STATE_BYTES)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _bad(str(path), "its state is not a byte string")
    try:
        text = raw.tobytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(str(path), f"its state is not UTF-8 ({exc})") from None
    return LoopState.from_json(text, str(path))


def _member(archive: zipfile.ZipFile, path: Path, name: str, max_bytes: int) -> np.ndarray:
    try:
        return read_member(archive, path, name, max_bytes)
    except BarenetError as exc:
        raise BarenetError(f"checkpoint {exc}; start a new run") from None


def load_checkpoint(path: Path, model: Sequential, optimizer: Optimizer,
                    state: LoopState | None = None,
                    ) -> tuple[LoopState, dict[str, np.ndarray] | None]:
    """Restore ``model`` and ``optimizer`` in place from ``path``.

    Returns the loop state and the best epoch's arrays (None if the run had
    none yet). Every member must be one this model and optimizer have, of the
    same shape, finite, and no larger than that: nothing is inflated first.
    ``state``: the loop state, when the caller has read it already (:func:`read_state`).
    """
    state = read_state(path) if state is None else state
    targets = {f"model.{k}": v for k, v in model.state_dict().items()}
    best_targets = {f"best.{k}": v for k, v in model.state_dict().items()}
    optim_targets = {f"optim.{k}": v for k, v in optimizer.state_dict().items()}
    expected = {**targets, **optim_targets}
    with _open(path) as archive:
        names = {n.removesuffix(".npy") for n in archive.namelist()} - {STATE}
        has_best = any(n.startswith("best.") for n in names)
        if has_best:
            expected.update(best_targets)
        unexpected, missing = sorted(names - set(expected)), sorted(set(expected) - names)
        if unexpected or missing:
            raise BarenetError(f"checkpoint {path} does not match this run's model and "
                               f"optimizer (unexpected {reprlib.repr(unexpected)}, missing "
                               f"{reprlib.repr(missing)}); start a new run")
        arrays = {}
        for name, target in expected.items():
            target = np.asarray(target)
            value = _member(archive, path, name, target.nbytes + NPY_OVERHEAD)
            if value.shape != target.shape or not np.issubdtype(value.dtype, np.number):
                raise BarenetError(f"checkpoint {path}: {name} has shape {value.shape} "
                                   f"({value.dtype}), this run needs {target.shape}; "
                                   "start a new run")
            problem = array_problem(name, value)
            if problem:
                raise BarenetError(f"checkpoint {path}: {name} {problem}; start a new run")
            arrays[name] = value
    model.load_state_dict({name[len("model."):]: arrays[name] for name in targets})
    try:
        optimizer.load_state_dict({k[len("optim."):]: arrays[k] for k in optim_targets})
    except (ValueError, TypeError, OverflowError) as exc:
        raise BarenetError(f"checkpoint {path}: its optimizer state is unusable ({exc}); "
                           "start a new run") from None
    if not (optimizer.t >= 0 and math.isfinite(optimizer.lr) and optimizer.lr >= 0):
        raise BarenetError(f"checkpoint {path}: its optimizer is at step {optimizer.t} with "
                           f"learning rate {optimizer.lr}; start a new run")
    best = {k[len("best."):]: arrays[k].astype(model.dtype) for k in best_targets} \
        if has_best else None
    return state, best
