"""Read a picture with a model: one digit, or a row of digits, with an honest "not sure".

This is what ``barenet predict``, the app and ``benchmarks/bench_photos.py``
call: :func:`read_digit` for a picture of one digit, :func:`read_number` for a
row of digits (a house number, a postcode). The picture goes through
:mod:`barenet.vision`, the 28x28 through the model, and the calibrated
probabilities through :func:`barenet.model.calibration.is_unsure`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import BarenetError
from ..model.calibration import is_unsure
from ..model.classifier import Sequential
from .ink import EmptyDrawingError
from .number import MAX_DIGITS, groupings, is_dash, merged, row_atoms
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
        Whether the answer should be "not sure" (:func:`barenet.model.calibration.is_unsure`).
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

    Segmentation by recognition: the row is cut into atoms, pieces of at most one
    digit (:func:`barenet.vision.number.row_atoms`); every run of neighbouring atoms
    that could be one digit (:func:`barenet.vision.number.groupings`) is read by
    the model, and the number is the grouping that covers all atoms with the
    highest total log-probability, ``sum_d log p(top class of d)``, found by
    dynamic programming over the atoms; an atom too low to be a digit (a 5's bar cut
    off its body: :func:`barenet.vision.number.is_dash`) joins a neighbour or is left
    out. A digit cut in two reads as two doubtful
    halves, two digits read as one are doubtful (the shipped models were trained to
    be unsure of pairs: ``non_digits`` in their configs), so the right cut wins.

    Raises
    ------
    barenet.vision.EmptyDrawingError
        No digit can be found in the picture.
    """
    found = extraction if extraction is not None else extract(image)
    row = row_atoms(found)
    n = len(row.atoms)
    if n > MAX_ROW_ATOMS:
        raise EmptyDrawingError(f"no number found: the row holds {n} separate marks, more "
                                f"than {MAX_ROW_ATOMS} (a number has at most {MAX_DIGITS} "
                                "digits)")
    runs = groupings(row)
    pictures = [merged(row.atoms[i:j]) for i, j in runs]
    readings = _readings(model, [found.glyph_of(mask, box) for mask, box in pictures],
                         [found.to_picture(box) for _, box in pictures])
    best = [0.0] + [-math.inf] * n  # best[j]: the best reading of atoms 0 .. j-1
    # back[j]: where that reading's last step starts, and its digit (None: atom j-1 skipped)
    back: list[tuple[int, Reading | None]] = [(0, None)] * (n + 1)
    ending: dict[int, list[tuple[int, Reading]]] = {}
    for (i, j), reading in zip(runs, readings, strict=True):
        ending.setdefault(j, []).append((i, reading))
    for j in range(1, n + 1):
        if is_dash(row.atoms[j - 1].box, row.height):  # a dash, or a 5's bar cut off: no digit
            best[j], back[j] = best[j - 1], (j - 1, None)
        for i, reading in ending.get(j, []):
            cost = CUT_COST if i > 0 and row.atoms[i].cut else 0.0
            score = best[i] + math.log(max(reading.probability, 1e-12)) - cost
            if score > best[j]:
                best[j], back[j] = score, (i, reading)
    digits, spans, j = [], [], n
    while j > 0:
        i, reading = back[j]
        if reading is not None:
            digits.append(reading)
            spans.append((i, j))
        j = i
    if not digits:
        raise EmptyDrawingError("no digits found on the picture: only dashes and dots")
    digits.reverse()
    spans.reverse()
    notes = [f"digits {k} and {k + 1} touch and could not be split cleanly"
             for k, (i, _) in enumerate(spans[1:], start=1) if not row.atoms[i].clean]
    notes += [f"digit {k} is as wide as two: it may be two digits that touch"
              for k, (i, j) in enumerate(spans, start=1)
              if any(row.atoms[m].cut for m in range(i + 1, j))]
    if len(digits) > MAX_DIGITS:
        notes.append(f"found {len(digits)} digit-like marks, more than a number of "
                     f"{MAX_DIGITS} digits has")
    unsure = any(d.unsure for d in digits) or bool(notes)
    return NumberReading(digits, unsure, notes)


#: A digit boundary through ink costs this much log-probability (a cut must make both
#: digits about twice as likely as the whole): a fragment of a digit is often read with
#: confidence (half a 0 is a fine 1), the whole only a little more. Measured on 40
#: benchmark rows: 0.3 and 0.7 read 24 right, 2.0 read 22.
CUT_COST = 0.7
#: A row cut into more atoms than this is no number (and would cost too much to read).
MAX_ROW_ATOMS = 8 * MAX_DIGITS
