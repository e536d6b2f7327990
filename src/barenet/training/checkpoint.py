"""Checkpoints: everything needed to continue a run exactly where it stopped.

One ``.npz`` holding the model's arrays (``model.*``), the optimizer's state
(``optim.*``) and a JSON header (``__state__``) with the epoch, the batch
index within it, the history so far and the states of every random
generator. Written atomically, read without pickle.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BarenetError
from ..io.files import atomic_write
from ..model import Sequential
from ..optim import Optimizer

STATE = "__state__"


def save_checkpoint(path: Path, model: Sequential, optimizer: Optimizer,
                    state: dict[str, Any]) -> None:
    """Atomically write model, optimizer and loop ``state`` (JSON-serialisable) to ``path``."""
    arrays = {f"model.{k}": v for k, v in model.state().items()}
    arrays.update({f"optim.{k}": v for k, v in optimizer.state_dict().items()})
    arrays[STATE] = np.frombuffer(json.dumps(state).encode("utf-8"), dtype=np.uint8)
    with atomic_write(path) as handle:
        np.savez(handle, **arrays)


def _read(path: Path, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise BarenetError(f"{path} not found: no checkpoint to resume from (a run folder "
                           "gets one after its first epoch or when interrupted)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in (names or archive.files)}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise BarenetError(f"checkpoint {path} is unreadable ({exc}); start a new run") from None


def _state(arrays: dict[str, np.ndarray], path: Path) -> dict[str, Any]:
    try:
        return json.loads(arrays.pop(STATE).tobytes().decode("utf-8"))
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        raise BarenetError(f"checkpoint {path} has no readable state ({exc}); "
                           "start a new run") from None


def read_state(path: Path) -> dict[str, Any]:
    """Only the loop state of a checkpoint (cheap: the arrays are not read)."""
    return _state(_read(path, (STATE,)), path)


def load_checkpoint(path: Path, model: Sequential, optimizer: Optimizer) -> dict[str, Any]:
    """Restore ``model`` and ``optimizer`` in place from ``path``; return the loop state."""
    arrays = _read(path)
    state = _state(arrays, path)
    try:
        targets = model.state()
        for name, target in targets.items():
            value = arrays[f"model.{name}"]
            if value.shape != target.shape:
                raise ValueError(f"{name} has shape {value.shape}, expected {target.shape}")
            model.set_state(name, value)
        optimizer.load_state_dict({k[len("optim."):]: v for k, v in arrays.items()
                                   if k.startswith("optim.")})
    except (KeyError, ValueError) as exc:
        raise BarenetError(f"checkpoint {path} does not match this run's model "
                           f"({exc}); start a new run") from None
    return state
