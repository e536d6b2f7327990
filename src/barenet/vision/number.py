"""A row of handwritten digits (a house number, a postcode) cut into single digits.

Works on an :class:`~barenet.vision.preprocess.Extraction` of the whole picture:

1. :func:`row_pieces`: the ink pieces on the row (the band where most of the
   ink's height lies); specks, dashes and stray marks above or below it dropped;
2. :func:`columns`: pieces stacked over one another (a 5's bar over its body, a
   broken pencil stroke) merged into one digit, left to right;
3. :func:`split_touching`: a piece much wider than a digit is cut where the ink
   is thinnest, at about one digit width; where no thin place is found, the
   digits are reported as touching instead of being cut blindly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .ink import Component, EmptyDrawingError, stroke_width

if TYPE_CHECKING:
    from .preprocess import Box, Extraction

#: Handwritten digits are about this wide for their height (median of MNIST's
#: boxes: 0.7; a "1" much less, a "0" up to 1).
DIGIT_ASPECT = 0.7
#: A piece wider than this many digit widths holds more than one digit.
TOUCHING_WIDTHS = 1.6
#: A cut is clean where the ink across it is at most this many stroke widths.
CLEAN_CUT_STROKES = 2.5
#: Pieces overlapping horizontally by this fraction of the narrower are one digit.
STACK_OVERLAP = 0.4
#: The row is the band of the pieces' median top and bottom, widened by this fraction.
ROW_MARGIN = 0.35
#: Pieces lower than this fraction of the row (a dash, a dot, a comma) are no digits.
MIN_HEIGHT = 0.4
#: A row of digits has at most this many.
MAX_DIGITS = 12


@dataclass
class DigitPiece:
    """One digit of a row: what the network sees, where it was (picture pixels), and its
    ink (``mask``, at the working size, inside ``work_box``) to join it to a neighbour."""

    glyph: np.ndarray
    box: Box
    mask: np.ndarray
    work_box: Box


@dataclass
class NumberPieces:
    """The digits of a row, left to right, and notes on what could not be done cleanly.

    ``height`` is the row's typical digit height in working pixels.
    """

    digits: list[DigitPiece]
    notes: list[str] = field(default_factory=list)
    height: float = 0.0


def joined(found: Extraction, a: DigitPiece, b: DigitPiece) -> DigitPiece:
    """Two neighbouring pieces as one digit (a 0 drawn in two strokes, a 5 and its bar)."""
    mask = a.mask | b.mask
    box = (min(a.work_box[0], b.work_box[0]), max(a.work_box[1], b.work_box[1]),
           min(a.work_box[2], b.work_box[2]), max(a.work_box[3], b.work_box[3]))
    return DigitPiece(found.glyph_of(mask, box), found.to_picture(box), mask, box)


def row_pieces(pieces: list[Component]) -> list[Component]:
    """The pieces lying on the row of digits (most of the ink's height band)."""
    big = [c for c in pieces if c.area >= 0.15 * pieces[0].area] or pieces[:1]
    top = float(np.median([c.box[0] for c in big]))
    bottom = float(np.median([c.box[1] for c in big]))
    height = bottom - top
    margin = ROW_MARGIN * height
    return [c for c in pieces if c.box[0] < bottom + margin and c.box[1] > top - margin
            and c.height <= 2.5 * height]


def columns(pieces: list[Component]) -> list[list[Component]]:
    """Group pieces that overlap horizontally (one digit) and order the groups left to right."""
    groups: list[list[Component]] = []
    for c in sorted(pieces, key=lambda c: c.box[2]):
        for group in groups:
            left, right = min(g.box[2] for g in group), max(g.box[3] for g in group)
            overlap = min(right, c.box[3]) - max(left, c.box[2])
            if overlap >= STACK_OVERLAP * min(c.width, right - left):
                group.append(c)
                break
        else:
            groups.append([c])
    return sorted(groups, key=lambda g: min(c.box[2] for c in g))


def split_touching(mask: np.ndarray, height: float) -> tuple[list[tuple[int, int]], bool]:
    """Column ranges of the digits in one piece's ``mask``, and whether the cuts were clean.

    ``k = round(width / (DIGIT_ASPECT * height))`` digits when the piece is at
    least :data:`TOUCHING_WIDTHS` digit widths wide; each cut is the column of
    least ink within a quarter of a digit of where it is expected.
    """
    width = mask.shape[1]
    count = round(width / (DIGIT_ASPECT * height))
    if width < TOUCHING_WIDTHS * DIGIT_ASPECT * height or count < 2:
        return [(0, width)], True
    profile = mask.sum(axis=0)
    limit = CLEAN_CUT_STROKES * max(stroke_width(mask), 1.0)
    cuts, clean = [], True
    for j in range(1, count):
        expected = j * width / count
        lo, hi = int(expected - width / count / 4), int(expected + width / count / 4) + 1
        cut = lo + int(np.argmin(profile[lo:hi]))
        clean &= bool(profile[cut] <= limit)
        cuts.append(cut)
    edges = [0, *cuts, width]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a], clean


def split_number(found: Extraction) -> NumberPieces:
    """Cut the row of digits of ``found`` into single digits, left to right.

    Raises
    ------
    EmptyDrawingError
        No digit can be found on the picture.
    """
    if not found.pieces:
        raise EmptyDrawingError("no digits found: the picture holds too little ink")
    row = row_pieces(found.pieces)
    if not row:
        raise EmptyDrawingError("no row of digits found on the picture")
    height = float(np.median([c.height for c in row if c.area >= 0.15 * row[0].area]
                             or [c.height for c in row]))
    digits: list[DigitPiece] = []
    notes: list[str] = []
    for group in columns(row):
        top = min(c.box[0] for c in group)
        bottom = max(c.box[1] for c in group)
        if bottom - top < MIN_HEIGHT * height:
            continue  # a dash or a dot between the digits
        selected = np.isin(found.labels, [c.label for c in group])
        left = min(c.box[2] for c in group)
        right = max(c.box[3] for c in group)
        spans, clean = split_touching(selected[top:bottom, left:right], height)
        if not clean:
            first = len(digits) + 1
            notes.append(f"digits {first}-{first + len(spans) - 1} touch and could not be "
                         "split cleanly")
        for a, b in spans:
            part = np.zeros_like(selected)
            part[top:bottom, left + a:left + b] = selected[top:bottom, left + a:left + b]
            rows = np.flatnonzero(part.any(axis=1))
            if rows.size == 0:
                continue
            box = (int(rows[0]), int(rows[-1]) + 1, left + a, left + b)
            digits.append(DigitPiece(found.glyph_of(part, box), found.to_picture(box), part, box))
    if not digits:
        raise EmptyDrawingError("no digits found on the picture")
    if len(digits) > MAX_DIGITS:
        notes.append(f"found {len(digits)} digit-like marks, more than a number of "
                     f"{MAX_DIGITS} digits has")
    return NumberPieces(digits, notes, height)
