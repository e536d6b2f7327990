"""Everything the drawing window shows, computed from the drawing, without any widget."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..calibration import is_unsure
from ..errors import BarenetError
from ..preprocess import EmptyDrawingError, preprocess
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

    def __init__(self, model_path: Path | None = None, board: DrawingBoard | None = None) -> None:
        self.board = board or DrawingBoard()
        self.model, self.model_path, self.model_message = load_model(model_path)
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
        self.status = DRAW_PROMPT
        self.updates = 0

    def update(self) -> None:
        """Recompute :attr:`seen`, :attr:`result` and :attr:`status` from the drawing."""
        self.updates += 1
        try:
            self.seen = preprocess(self.board.to_array(), invert=False)
        except EmptyDrawingError as exc:
            self.seen, self.result = None, None
            self.status = DRAW_PROMPT if self.board.empty else f"Not a digit yet: {exc}."
            return
        if self.model is None:
            self.result = None
            self.status = "No model to ask (see the Network panel)."
            return
        self.result = activations(self.model, self.stages, self.seen)
        p = self.result.probabilities
        order = np.argsort(-p, kind="stable")
        if is_unsure(p[None])[0]:
            top = ", ".join(f"{self.class_names[i]} {100 * p[i]:.0f}%" for i in order[:2])
            self.status = f"? The network is not sure ({top})."
        else:
            self.status = (f"The network says {self.class_names[order[0]]} "
                           f"({100 * p[order[0]]:.1f}%).")
