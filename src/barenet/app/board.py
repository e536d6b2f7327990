"""The drawing board: strokes kept in an off-screen image, not grabbed from the screen."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

#: Side of the square drawing, in pixels.
BOARD_SIZE = 280
#: Default pen width. MNIST strokes are about 2 to 2.5 pixels wide on digits
#: 20 pixels tall; a digit drawn about 200 pixels tall here needs about 20.
DEFAULT_BRUSH = 20
MIN_BRUSH, MAX_BRUSH = 4, 48


class DrawingBoard:
    """White strokes with round caps and joins on a black square.

    Each pointer position is joined to the previous one by a straight segment
    of the pen's width, with a disc at every point, so fast movements leave a
    continuous, evenly thick stroke.

    Parameters
    ----------
    size : int
        Side of the drawing in pixels.
    brush : int
        Pen width in pixels.
    """

    def __init__(self, size: int = BOARD_SIZE, brush: int = DEFAULT_BRUSH) -> None:
        self.size = int(size)
        self.brush = int(brush)
        self.image = Image.new("L", (self.size, self.size), 0)
        self._draw = ImageDraw.Draw(self.image)
        self._last: tuple[float, float] | None = None
        self.strokes = 0

    def set_brush(self, width: int) -> None:
        """Change the pen width for the following strokes (clamped to the allowed range)."""
        self.brush = int(min(MAX_BRUSH, max(MIN_BRUSH, width)))

    def begin(self, x: float, y: float) -> None:
        """Put the pen down at ``(x, y)``: a round dot."""
        self._last = (x, y)
        self.strokes += 1
        self._dot(x, y)

    def extend(self, x: float, y: float) -> tuple[float, float, float, float] | None:
        """Move the pen to ``(x, y)``, drawing from the previous point.

        Returns
        -------
        tuple of float or None
            The segment ``(x0, y0, x1, y1)`` drawn, for the screen to draw the
            same; ``None`` when the pen is up.
        """
        if self._last is None:
            return None
        x0, y0 = self._last
        self._draw.line([(x0, y0), (x, y)], fill=255, width=self.brush)
        self._dot(x, y)
        self._last = (x, y)
        return x0, y0, x, y

    def end(self) -> None:
        """Lift the pen."""
        self._last = None

    def clear(self) -> None:
        """Erase everything."""
        self._draw.rectangle([0, 0, self.size, self.size], fill=0)
        self._last = None
        self.strokes = 0

    def _dot(self, x: float, y: float) -> None:
        r = self.brush / 2
        self._draw.ellipse([x - r, y - r, x + r, y + r], fill=255)

    def to_array(self) -> np.ndarray:
        """The drawing as a (size, size) ``uint8`` array, ink 255 on 0."""
        return np.asarray(self.image).copy()

    @property
    def empty(self) -> bool:
        """Whether nothing has been drawn since the last :meth:`clear`."""
        return self.strokes == 0
