"""Everything the drawing window shows, computed from the drawing, without any widget."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.folder import add_sample, count_samples, remove_last_sample
from ..errors import BarenetError
from ..io import paths
from ..model.calibration import is_unsure
from ..vision import EmptyDrawingError, preprocess
from ..vision.reading import integrated_gradients, why_overlay
from .board import DrawingBoard
from .network import Activations, Stage, activations, describe, load_model

#: Shown while the board is empty.
DRAW_PROMPT = "Draw a digit with the mouse. C, Delete or Escape clears."


@dataclass(frozen=True)
class View:
    """What the window shows for one drawing: what the network sees, its answer, why.

    Computed by :meth:`AppState.read` (off the window's thread, see
    :class:`barenet.app.window.Reader`) and shown with :meth:`AppState.apply`.
    """

    seen: np.ndarray | None
    result: Activations | None
    why: np.ndarray | None
    status: str


class AppState:
    """The drawing, what the network sees of it, and what the network makes of it.

    Parameters
    ----------
    model_path : pathlib.Path or None
        Model file; ``None`` takes the newest under ``runs/``. A missing or
        unreadable model leaves :attr:`model` ``None`` and says why in
        :attr:`model_message`; drawing and the preview still work.
    board : DrawingBoard, optional

    Attributes
    ----------
    seen : numpy.ndarray or None
        The 28x28 image the network sees; ``None`` while the drawing is blank.
    result : Activations or None
        The network's activations and probabilities for :attr:`seen`.
    reasons : numpy.ndarray or None
        The why overlay of :attr:`seen` (:meth:`why`), when it was computed.
    status : str
        One line describing the current state for the user.
    """

    def __init__(self, model_path: Path | None = None, board: DrawingBoard | None = None,
                 samples: Path | None = None) -> None:
        self.board = board or DrawingBoard()
        self.samples = Path(samples) if samples is not None else paths.samples_dir()
        self.model, self.model_path, self.model_message = load_model(model_path)
        self.original = (self.model, self.model_path)
        self.stages: list[Stage] = []
        self.class_names: list[str] = []
        if self.model is not None:
            try:
                self.stages = describe(self.model)
            except (BarenetError, ValueError) as exc:
                self.model, self.model_message = None, f"{self.model_path}: cannot show this " \
                                                       f"model ({exc})"
            else:
                self.class_names = self.model.class_names
        self.seen: np.ndarray | None = None
        self.result: Activations | None = None
        self.reasons: np.ndarray | None = None  # the why overlay, when computed: see why()
        self.status = DRAW_PROMPT

    def update(self) -> None:
        """Recompute :attr:`seen`, :attr:`result` and :attr:`status` from the drawing, now."""
        self.apply(self.read(self.board.to_array()))

    def read(self, drawing: np.ndarray, with_why: bool = False) -> View:
        """What the network makes of ``drawing`` (the board's array), and with ``with_why``
        the reasons painted on; changes nothing, so it may run on another thread while the
        window goes on drawing."""
        model = self.model  # the model of this moment, if a taught one is swapped in meanwhile
        try:
            seen = preprocess(drawing, invert=False)
        except EmptyDrawingError as exc:
            status = DRAW_PROMPT if not drawing.any() else f"Not a digit yet: {exc}."
            return View(None, None, None, status)
        if model is None:
            return View(seen, None, None, "No model to ask (see the Network panel).")
        result = activations(model, self.stages, seen)
        why = why_overlay(seen, integrated_gradients(model, seen)) if with_why else None
        p = result.probabilities
        order = np.argsort(-p, kind="stable")
        if is_unsure(p[None], model.min_confidence)[0]:
            top = ", ".join(f"{self.class_names[i]} {100 * p[i]:.0f}%" for i in order[:2])
            return View(seen, result, why, f"? The network is not sure ({top}).")
        return View(seen, result, why, f"The network says {self.class_names[order[0]]} "
                                       f"({100 * p[order[0]]:.1f}%).")

    def apply(self, view: View) -> None:
        """Show ``view``: it becomes :attr:`seen`, :attr:`result` and :attr:`status`."""
        self.seen, self.result, self.reasons, self.status = (view.seen, view.result, view.why,
                                                          view.status)

    def why(self) -> np.ndarray | None:
        """What the network saw with its reasons painted on, (28, 28, 3) uint8, or None.

        Integrated gradients of the answer (:func:`barenet.vision.reading.integrated_gradients`),
        computed when first asked for after each update: only while the app shows them.
        """
        if self.reasons is None and self.seen is not None and self.model is not None:
            self.reasons = why_overlay(self.seen, integrated_gradients(self.model, self.seen))
        return self.reasons

    # -- the user's samples ---------------------------------------------------------
    def save_sample(self, label: str) -> str:
        """Save the drawing as a sample of ``label`` ("It's a 7"); returns a status line."""
        if self.board.empty:
            return "Draw a digit first, then say which it is."
        try:
            path = add_sample(self.samples, label, self.board.to_array())
        except BarenetError as exc:
            return f"Could not save the sample: {exc}"
        return f"Saved as a {label}: {path}. Draw the next one."

    def undo_sample(self) -> str:
        """Delete the last sample saved; returns a status line."""
        removed = remove_last_sample(self.samples)
        return f"Deleted {removed}." if removed else "There is no sample to delete."

    def sample_counts(self) -> dict[str, int]:
        """Samples saved so far per class (the app shows them)."""
        return count_samples(self.samples, self.class_names or [str(d) for d in range(10)])

    def use_model(self, path: Path | None) -> str:
        """Swap in the model at ``path`` (a taught one), or the original with ``None``; the
        drawing is read again by whoever shows it (:meth:`read`)."""
        if path is None:
            self.model, self.model_path = self.original
        else:
            model, _, message = load_model(path)
            if model is None:
                return f"Could not load the taught model: {message}"
            self.model, self.model_path = model, path
        return f"Using {self.model_path}."
