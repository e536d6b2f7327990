"""Read a picture with a model: one digit, or a row of digits, with an honest "not sure".

This is what ``barenet predict``, the app and ``benchmarks/bench_photos.py``
call: :func:`read_digit` for a picture of one digit, :func:`read_number` for a
row of digits (a house number, a postcode). The picture goes through
:mod:`barenet.preprocess`, the 28x28 through the model, and the calibrated
probabilities through :func:`barenet.calibration.is_unsure`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .calibration import is_unsure
from .model import Sequential
from .preprocess import Extraction, extract, split_number


@dataclass
class Reading:
    """One digit read from a picture.

    Attributes
    ----------
    label : str
        The most likely class name.
    probability : float
        Its calibrated probability.
    unsure : bool
        Whether the answer should be "not sure" (:func:`barenet.calibration.is_unsure`).
    top : list of (str, float)
        Every class with its probability, most likely first.
    seen : ndarray, shape (28, 28)
        The image the network received.
    box : tuple of int
        ``(top, bottom, left, right)`` of the digit's ink in the picture's pixels.
    """

    label: str
    probability: float
    unsure: bool
    top: list[tuple[str, float]]
    seen: np.ndarray
    box: tuple[int, int, int, int]


@dataclass
class NumberReading:
    """A row of digits read from a picture; ``unsure`` if any digit is, or a split was doubtful."""

    digits: list[Reading]
    unsure: bool
    notes: list[str] = field(default_factory=list)

    @property
    def number(self) -> str:
        return "".join(d.label for d in self.digits)


def _readings(model: Sequential, glyphs: list[np.ndarray],
              boxes: list[tuple[int, int, int, int]]) -> list[Reading]:
    probabilities = model.predict_proba(np.stack(glyphs))
    unsure = is_unsure(probabilities)
    names = model.class_names
    readings = []
    for p, doubt, glyph, box in zip(probabilities, unsure, glyphs, boxes, strict=True):
        order = np.argsort(-p, kind="stable")
        top = [(names[i] if i < len(names) else str(i), float(p[i])) for i in order]
        readings.append(Reading(top[0][0], top[0][1], bool(doubt), top, glyph, box))
    return readings


def read_digit(model: Sequential, image: np.ndarray,
               extraction: Extraction | None = None) -> Reading:
    """Read the one digit in ``image`` (any array :func:`barenet.preprocess.preprocess` takes).

    ``extraction``, when given, is the result of :func:`barenet.preprocess.extract`
    for this image (to reuse it, e.g. for ``predict --show``).

    Raises
    ------
    barenet.preprocess.EmptyDrawingError
        The picture holds no digit.
    """
    found = extraction if extraction is not None else extract(image)
    return _readings(model, [found.glyph], [found.box])[0]


def read_number(model: Sequential, image: np.ndarray,
                extraction: Extraction | None = None) -> NumberReading:
    """Read a row of handwritten digits, left to right.

    Raises
    ------
    barenet.preprocess.EmptyDrawingError
        No digit can be found in the picture.
    """
    found = extraction if extraction is not None else extract(image)
    pieces = split_number(found)
    digits = _readings(model, [p.glyph for p in pieces.digits], [p.box for p in pieces.digits])
    unsure = any(d.unsure for d in digits) or bool(pieces.notes)
    return NumberReading(digits, unsure, list(pieces.notes))
