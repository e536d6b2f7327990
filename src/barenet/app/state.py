"""Everything the drawing window shows, computed from the drawing, without any widget."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.folder import add_sample, count_samples, remove_last_sample
from ..errors import BarenetError
from ..evaluation.calibration import is_unsure
from ..io import paths
from ..vision import EmptyDrawingError, preprocess
from ..vision.reading import integrated_gradients, why_overlay
from .board import DrawingBoard
from .network import Activations, Stage, activations, describe, load_model

#: Shown while the board is empty.
DRAW_PROMPT = "Draw a digit with the mouse. C, Delete or Escape clears."


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
        self._why: np.ndarray | None = None  # computed on demand: see why()
        self.status = DRAW_PROMPT

    def update(self) -> None:
        """Recompute :attr:`seen`, :attr:`result` and :attr:`status` from the drawing."""
        try:
            self.seen = preprocess(self.board.to_array(), invert=False)
        except EmptyDrawingError as exc:
            self.seen, self.result, self._why = None, None, None
            self.status = DRAW_PROMPT if self.board.empty else f"Not a digit yet: {exc}."
            return
        if self.model is None:
            self.result, self._why = None, None
            self.status = "No model to ask (see the Network panel)."
            return
        self.result = activations(self.model, self.stages, self.seen)
        self._why = None
        p = self.result.probabilities
        order = np.argsort(-p, kind="stable")
        if is_unsure(p[None], self.model.min_confidence)[0]:
            top = ", ".join(f"{self.class_names[i]} {100 * p[i]:.0f}%" for i in order[:2])
            self.status = f"? The network is not sure ({top})."
        else:
            self.status = (f"The network says {self.class_names[order[0]]} "
                           f"({100 * p[order[0]]:.1f}%).")

    def why(self) -> np.ndarray | None:
        """What the network saw with its reasons painted on, (28, 28, 3) uint8, or None.

        Integrated gradients of the answer (:func:`barenet.vision.reading.integrated_gradients`),
        computed when first asked for after each update: only while the app shows them.
        """
        if self._why is None and self.seen is not None and self.model is not None:
            self._why = why_overlay(self.seen, integrated_gradients(self.model, self.seen))
        return self._why

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
        """Swap in the model at ``path`` (a taught one), or the original with ``None``."""
        if path is None:
            self.model, self.model_path = self.original
        else:
            model, _, message = load_model(path)
            if model is None:
                return f"Could not load the taught model: {message}"
            self.model, self.model_path = model, path
        self.update()
        return f"Using {self.model_path}."
