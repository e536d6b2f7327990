"""Teaching from the app: ``barenet finetune`` in a background thread, watched from the window.

The window stays responsive: NumPy releases the interpreter while it computes,
and the window only polls :meth:`Teacher.poll` from its event loop. The taught
model is a new run folder under ``runs/``; the original stays as it was.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import BarenetError


@dataclass
class Lesson:
    """Where a lesson is: its progress (0..1), its last line, and how it ended."""

    fraction: float = 0.0
    message: str = "Teaching..."
    done: bool = False
    model: Path | None = None  # the taught model, once done
    error: str | None = None


class Teacher:
    """Runs one fine-tuning at a time in a daemon thread.

    Parameters
    ----------
    finetune : callable, optional
        ``finetune(model_path, samples_dir, log=..., progress=...)`` returning an
        object with ``run_dir`` and accuracies; :func:`barenet.train.finetune.finetune`
        by default (tests pass a quick stand-in).
    """

    def __init__(self, finetune=None) -> None:
        if finetune is None:
            from ..train.finetune import finetune
        self._finetune = finetune
        self._lock = threading.Lock()
        self._lesson: Lesson | None = None
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, model_path: Path, samples: Path) -> None:
        """Begin teaching ``model_path`` from ``samples``; refused while a lesson runs."""
        if self.busy:
            raise BarenetError("already teaching; wait for it to finish")
        self._lesson = Lesson()
        self._thread = threading.Thread(target=self._run, args=(model_path, samples),
                                        daemon=True, name="barenet-teach")
        self._thread.start()

    def poll(self) -> Lesson | None:
        """A copy of the current lesson's state (None before the first)."""
        with self._lock:
            return None if self._lesson is None else Lesson(**vars(self._lesson))

    def _update(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._lesson, key, value)

    def _run(self, model_path: Path, samples: Path) -> None:
        try:
            result = self._finetune(
                model_path, samples, log=lambda line: self._update(message=str(line)),
                progress=lambda fraction: self._update(fraction=float(fraction)))
        except BarenetError as exc:
            self._update(done=True, error=str(exc), message=f"Could not teach: {exc}")
        except Exception as exc:  # a bug must not kill the window silently
            self._update(done=True, error=repr(exc), message=f"Teaching failed: {exc!r}")
        else:
            before, after = result.held_out_before, result.held_out_after
            self._update(done=True, fraction=1.0, model=Path(result.run_dir) / "best.npz",
                         message=f"Taught: your held-out samples {before:.0%} -> {after:.0%}, "
                                 f"MNIST {result.test_before:.2%} -> {result.test_after:.2%}.")
