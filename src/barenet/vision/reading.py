"""Read a picture with a model: one digit, or a row of digits, with an honest "not sure".

This is what ``barenet predict``, the app and ``benchmarks/bench_photos.py``
call: :func:`read_digit` for a picture of one digit, :func:`read_number` for a
row of digits (a house number, a postcode). The picture goes through
:mod:`barenet.vision`, the 28x28 through the model, and the calibrated
probabilities through :func:`barenet.evaluation.calibration.is_unsure`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BarenetError
from ..evaluation.calibration import is_unsure
from ..model import Sequential
from .number import MAX_DIGITS, joined, split_number
from .preprocess import Extraction, extract


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
        Whether the answer should be "not sure" (:func:`barenet.evaluation.calibration.is_unsure`).
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
    if not np.all(np.isfinite(probabilities)):
        raise BarenetError("the model's probabilities are not finite (NaN or infinity): its "
                           "file is damaged or its normalisation is unusable; re-train it")
    aspect = [(right - left) / max(bottom - top, 1) for top, bottom, left, right in boxes]
    unsure = is_unsure(probabilities, model.min_confidence, np.array(aspect))
    names = model.class_names
    readings = []
    for p, doubt, glyph, box in zip(probabilities, unsure, glyphs, boxes, strict=True):
        order = np.argsort(-p, kind="stable")
        top = [(names[i] if i < len(names) else str(i), float(p[i])) for i in order]
        readings.append(Reading(top[0][0], top[0][1], bool(doubt), top, glyph, box))
    return readings


def input_gradient(model: Sequential, seen: np.ndarray, label: int | None = None) -> np.ndarray:
    """``d z_k / d x``: the gradient of class ``k``'s logit at each input pixel.

    Back-propagation as in training, one step further: the gradient of the logit
    ``z_k`` (default: the top class) is sent back through every layer, in eval
    mode, to the picture itself (docs/math.md, "Why did it say that?"). Positive:
    more ink there would raise ``z_k``; negative: it would lower it.

    Parameters
    ----------
    model : Sequential
    seen : ndarray, shape (28, 28), or (B, 28, 28) for several at once
        What the network received, in [0, 1] (:func:`barenet.vision.preprocess`).
    label : int, optional
        The class to explain; default the most likely one (of the first image).

    Returns
    -------
    ndarray float64, the shape of ``seen``
    """
    seen = np.asarray(seen)
    batch = seen if seen.ndim == 3 else seen[None]
    x = model.prepare_input(batch)
    with model.evaluating():
        logits = model.forward(x)
        k = int(np.argmax(logits[0])) if label is None else int(label)
        delta = np.zeros_like(logits)
        delta[:, k] = 1  # d z_k / d z, for every image of the batch
        grad = model.backward(delta, input_grad=True)
    standard = model.standardization
    scale = 1.0 / standard.std if standard else 1.0  # x_norm = (x - mean) / std
    return np.asarray(grad, np.float64).reshape(seen.shape) * scale


def integrated_gradients(model: Sequential, seen: np.ndarray, label: int | None = None,
                         steps: int = 16) -> np.ndarray:
    """How much each pixel's ink added to class ``k``'s logit: ``x * mean_t dz_k/dx (t x)``.

    The plain gradient says what a small change would do, and in a CNN it is
    noisy. Integrated gradients (Sundararajan et al., 2017) average it along
    the way from a blank picture to this one, ``t = 1/2S, 3/2S, ... (2S-1)/2S``,
    and multiply by the ink: the attributions add up to about
    ``z_k(x) - z_k(blank)``. Positive pixels push towards class ``k``, negative away.

    Returns
    -------
    ndarray float64, shape (28, 28)
    """
    seen = np.asarray(seen, np.float64)
    if label is None:
        label = int(np.argmax(model.predict_logits(seen[None])[0]))
    t = (np.arange(steps) + 0.5) / steps
    path = (t[:, None, None] * seen[None]).astype(model.dtype)
    return seen * input_gradient(model, path, label).mean(axis=0)


def why_overlay(seen: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """What the network saw with its reasons painted on: an RGB image (28, 28, 3) uint8.

    The 28x28 in grey, dimmed; pixels whose attribution (:func:`integrated_gradients`,
    or :func:`input_gradient`) is positive, pushing towards the answer, in orange,
    negative, pushing away, in blue, brighter the stronger, relative to the
    strongest. The app's "network sees" and ``predict --show`` draw this.
    """
    grey = 0.55 * np.clip(np.asarray(seen, np.float64), 0, 1)[..., None] * np.ones(3)
    peak = float(np.abs(gradient).max())
    strength = np.clip(np.abs(gradient) / peak, 0, 1)[..., None] if peak > 0 else 0.0
    colour = np.where(np.asarray(gradient)[..., None] > 0, TOWARDS, AGAINST)
    rgb = grey * (1 - strength) + colour * strength
    return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


#: Colours of :func:`why_overlay`: pixels pushing towards the answer, and against it.
TOWARDS = np.array([1.0, 0.55, 0.1])
AGAINST = np.array([0.25, 0.55, 1.0])


def read_digit(model: Sequential, image: np.ndarray,
               extraction: Extraction | None = None) -> Reading:
    """Read the one digit in ``image`` (any array :func:`barenet.vision.preprocess` takes).

    ``extraction``, when given, is the result of :func:`barenet.vision.extract`
    for this image (to reuse it, e.g. for ``predict --show``).

    Raises
    ------
    barenet.vision.EmptyDrawingError
        The picture holds no digit.
    """
    found = extraction if extraction is not None else extract(image)
    return _readings(model, [found.glyph], [found.box])[0]


def read_number(model: Sequential, image: np.ndarray,
                extraction: Extraction | None = None) -> NumberReading:
    """Read a row of handwritten digits, left to right.

    The row is cut by :func:`barenet.vision.split_number`. Where a piece
    the model is not sure of lies within :data:`JOIN_GAP` of the row's height
    of its neighbour, the two are read again as one digit, and joined when the
    model is sure of that (a 0 drawn in two strokes, a 5 with its bar apart).

    Raises
    ------
    barenet.vision.EmptyDrawingError
        No digit can be found in the picture.
    """
    found = extraction if extraction is not None else extract(image)
    pieces = split_number(found)
    parts = list(pieces.digits)
    digits = _readings(model, [p.glyph for p in parts], [p.box for p in parts])
    i = 0
    while i + 1 < len(parts):  # a doubtful piece and its close neighbour: one digit?
        a, b = parts[i], parts[i + 1]
        gap = b.work_box[2] - a.work_box[3]
        if (digits[i].unsure or digits[i + 1].unsure) and gap < JOIN_GAP * pieces.height:
            piece = joined(found, a, b)
            both = _readings(model, [piece.glyph], [piece.box])[0]
            if not both.unsure:
                parts[i:i + 2], digits[i:i + 2] = [piece], [both]
                continue
        i += 1
    notes = [n for n in pieces.notes if "digit-like marks" not in n or len(digits) > MAX_DIGITS]
    unsure = any(d.unsure for d in digits) or bool(notes)
    return NumberReading(digits, unsure, notes)


#: Neighbours closer than this fraction of the row's height may be one digit in two pieces.
JOIN_GAP = 0.25
