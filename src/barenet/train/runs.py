"""Run folders: everything about one training run in one place.

::

    runs/mlp-20261122-010203/
        config.toml      the config used, every default filled in
        data.json        the dataset's folder and the SHA-256 of its four files
        history.json     per-epoch metrics and the final test result
        history.csv      the same epochs as a table
        best.npz         the model with the best validation accuracy (keep = "last": the last)
        model.npz        the model after the last epoch
        checkpoint.npz   model, best epoch, optimizer, loop and RNG state, for --resume
        plots/*.png      curves, confusion matrix, misclassified digits, weights
        .lock            held by the process training in the folder

:class:`RunFolder` is the only code that writes into a run folder, one method
per file. :class:`barenet.train.session.Session` writes the checkpoint and the
history after every epoch (the trainer's ``save`` hook), and the config, the data
record and the two models once each; ``barenet train`` and ``barenet report`` the plots.

A run folder is untrusted input (it may come from someone else): nothing in it
is followed if it is a symbolic link, every file is read with a size bound, and
a folder that holds other files is never taken as a new run's folder.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import reprlib
import shutil
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..data.datasets import FILES, Dataset, file_sha256
from ..errors import BarenetError
from ..io.files import (
    atomic_write,
    ensure_writable_dir,
    open_regular,
    printable,
    read_regular,
    real_folder,
    remove_stale_temporaries,
    shown,
    write_text,
)
from ..io.paths import BEST_MODEL, FINAL_MODEL, RUNS_DIR
from ..model.file import save

if TYPE_CHECKING:
    from ..model.classifier import Sequential
    from ..nn.optim import Optimizer
    from .checkpoint import LoopState

CHECKPOINT = "checkpoint.npz"
LOCK = ".lock"
HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds",
                   "label_smoothing", "non_digits")


#: Longest config name used in a run folder's name (file systems allow 255 bytes a part).
MAX_NAME = 80
#: Largest ``history.json`` read (a run of 10,000 epochs writes about 2 MB) and ``data.json``.
MAX_HISTORY_BYTES = 16 << 20
MAX_DATA_RECORD_BYTES = 64 << 10
#: The files a run's ``data.json`` may name: the dataset's own four, gzipped or not.
DATA_FILES = frozenset(FILES) | {name.removesuffix(".gz") for name in FILES}
#: Leftovers of barenet's own that a new run may find in its folder: the lock of a run
#: killed before its first checkpoint.
OWN_LEFTOVERS = frozenset({LOCK})


def safe_name(name: str) -> str:
    """``name`` as one harmless path component: letters, digits, ``.``, ``_``, ``-``.

    A config name such as ``../../etc`` or ``/tmp/x`` must not put the run folder
    outside ``runs/``; other characters become ``-``, and it is cut to :data:`MAX_NAME`.
    """
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "run"
    return cleaned[:MAX_NAME]


class RunFolder:
    """Paths and writers for one run; every write is atomic."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.best_model = self.path / BEST_MODEL
        self.final_model = self.path / FINAL_MODEL
        self.checkpoint = self.path / CHECKPOINT
        self.config = self.path / "config.toml"
        self.data = self.path / "data.json"
        self.history_json = self.path / "history.json"
        self.history_csv = self.path / "history.csv"
        self.plots = self.path / "plots"
        self.lock_file = self.path / LOCK
        self._lock: IO | None = None

    @classmethod
    def create(cls, name: str, out: Path | None = None) -> RunFolder:
        """A new folder ``out`` (or ``runs/<name>-<time>``); refuses to overwrite a run."""
        if out is None:
            out = RUNS_DIR / f"{safe_name(name)}-{time.strftime('%Y%m%d-%H%M%S')}"
        out = Path(out)
        try:
            taken = (out / CHECKPOINT).exists() or (out / FINAL_MODEL).exists()
            others = sorted(entry.name for entry in os.scandir(out)
                            if entry.name not in OWN_LEFTOVERS) if out.is_dir() else []
        except OSError as exc:  # a name over 255 bytes, a path through a file...
            raise BarenetError(f"cannot use {shown(reprlib.repr(str(out)))} as a run folder "
                               f"({exc.strerror or exc}); choose another --out") from None
        if taken and cls(out).finished():
            raise BarenetError(f"{shown(out)} already holds a finished run; choose another "
                               "--out")
        if taken:
            raise BarenetError(f"{shown(out)} already holds a run; choose another --out or "
                               f"continue it with --resume {shown(out)}")
        if others:  # barenet writes only in folders it made or was handed empty
            raise BarenetError(f"{shown(out)} is not empty (it holds {shown(others[0])}"
                               f"{f' and {len(others) - 1} more' if len(others) > 1 else ''}) "
                               "and holds no barenet run to continue; give --out a new or "
                               "empty folder")
        return cls(out)

    def preflight(self, model_bytes: int) -> None:
        """Fail now, not after an hour, if the folder can't be written or the disk is full.

        Also takes the folder's lock (:meth:`lock`) for the rest of the process.

        A checkpoint holds the model and up to two optimizer moments; the best
        and final models one copy each: ten model sizes plus plots is ample.
        """
        ensure_writable_dir(self.path, "run folder", "choose another with --out")
        self.lock()
        remove_stale_temporaries(self.path, (CHECKPOINT, BEST_MODEL, FINAL_MODEL, "config.toml",
                                             "data.json", "history.json", "history.csv"))
        needed = 10 * model_bytes + (20 << 20)
        free = shutil.disk_usage(self.path).free
        if free < needed:
            raise BarenetError(f"only {free >> 20} MB free at {self.path}, training needs about "
                               f"{needed >> 20} MB for checkpoints and models; free some space")

    def lock(self) -> None:
        """Hold the folder for this process until it exits; refuse if another holds it.

        Two trainings with the same ``--out`` would mix their files. The lock is
        an OS file lock (released when the process ends, even by SIGKILL) on
        ``.lock``, which names the holding process.
        """
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks in the stdlib
            return
        fd = open_regular(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)  # no symbolic link
        handle = open(fd, "r+", encoding="ascii")  # noqa: SIM115 - held open
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise BarenetError(f"{self.path} is in use by {holder} (another barenet train "
                               "or finetune); wait for it to finish or choose another --out") \
                from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def write_config(self, text: str) -> None:
        write_text(self.config, text)

    def save_checkpoint(self, model: Sequential, optimizer: Optimizer,
                        best: dict[str, Any] | None, state: LoopState) -> None:
        """Atomically write the model, the best epoch's arrays, the optimizer and the state."""
        import numpy as np

        from .checkpoint import members

        arrays = members(model, optimizer, best, state)
        with atomic_write(self.checkpoint) as handle:
            np.savez(handle, **arrays)

    def save_final(self, model: Sequential, metrics: dict[str, Any]) -> None:
        save(model, self.final_model, {"metrics": metrics})

    def save_best(self, model: Sequential, metrics: dict[str, Any]) -> None:
        save(model, self.best_model, {"metrics": metrics})

    def write_plots(self, model: Sequential, images: Any, labels: Any,
                    class_names: list[str], epochs: list[dict] | None = None) -> list[Path]:
        """The run's PNGs in ``plots/``, from a model of the run and its history."""
        from ..evaluation.plots import write_report

        real_folder(self.plots, "plots folder")
        history = self.read_history() if epochs is None else epochs
        return write_report(self.path, model, images, labels, class_names, history=history)

    def write_curves(self, epochs: list[dict]) -> list[Path]:
        """Only the loss and accuracy curves (they need no data)."""
        from ..evaluation.plots import write_curves

        real_folder(self.plots, "plots folder")
        return write_curves(self.path, epochs)

    def write_history(self, epochs: list[dict[str, Any]], test: dict | None = None) -> None:
        write_text(self.history_json, json.dumps({"epochs": epochs, "test": test}, indent=1))
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(epochs)
        write_text(self.history_csv, table.getvalue())

    def write_data_source(self, dataset: Dataset) -> None:
        """Record where the run's data came from: name, folder (absolute), file checksums."""
        record = {"dataset": dataset.name, "data_dir": str(Path(dataset.source).resolve()),
                  "sha256": dataset.checksums()}
        write_text(self.data, json.dumps(record, indent=1))

    def data_dir(self, dataset: str) -> Path | None:
        """The folder this run's ``dataset`` was read from, if it still holds the same files.

        None when the run has no record of it (older runs), it was another dataset, or
        the folder is gone; a line on stderr says when the files there have changed. A
        record that cannot be read, or that names files other than the dataset's own,
        is ignored with a line on stderr.
        """
        try:
            record = json.loads(read_regular(self.data, MAX_DATA_RECORD_BYTES, "data record"))
            folder, sums = Path(record["data_dir"]), dict(record["sha256"])
            if not set(sums) <= DATA_FILES or not all(isinstance(v, str) for v in sums.values()):
                raise ValueError("it names files that are not the dataset's")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, BarenetError) as exc:
            print(f"barenet: warning: ignoring {shown(self.data)} ({printable(str(exc))}); "
                  "give --data-dir", file=sys.stderr)
            return None
        if record.get("dataset") != dataset or not folder.is_dir():
            return None
        changed = [name for name, digest in sums.items() if not _same_file(folder / name, digest)]
        if changed:
            print(f"barenet: warning: {', '.join(changed)} in {folder} changed since "
                  f"{self.path} was trained", file=sys.stderr)
        return folder

    def finished(self) -> bool:
        """Whether the run finished: its history holds the test result, which is written
        after the kept model."""
        if not self.history_json.exists() or not self.best_model.exists():
            return False
        test = self.read_history().get("test")
        return isinstance(test, dict) and isinstance(test.get("accuracy"), (int, float))

    def check_unfinished(self) -> None:
        """Refuse to resume a finished run: its end (calibration, test, the kept model,
        plots) would be done again and ``best.npz`` rewritten."""
        if self.finished():
            raise BarenetError(f"{shown(self.path)} is a finished run: there is nothing to "
                               f"resume; see it with `barenet evaluate {shown(self.path)}` or "
                               f"`barenet report {shown(self.path)}`")

    def read_history(self) -> dict[str, Any]:
        try:
            return json.loads(read_regular(self.history_json, MAX_HISTORY_BYTES, "history"))
        except FileNotFoundError:
            raise BarenetError(f"{shown(self.history_json)} not found: is {shown(self.path)} a "
                               "run folder written by `barenet train`?") from None
        except (OSError, ValueError, RecursionError) as exc:
            raise BarenetError(f"cannot read {shown(self.history_json)}: "
                               f"{printable(str(exc))}") from None


def _same_file(path: Path, digest: str) -> bool:
    """Whether ``path`` is a regular file whose SHA-256 is ``digest``."""
    try:
        return path.is_file() and file_sha256(path) == digest
    except OSError:
        return False
