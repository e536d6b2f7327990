"""A row of handwritten digits (a house number, a postcode) cut into single digits.

Works on an :class:`~barenet.vision.preprocess.Extraction` of the whole picture:

1. :func:`row_pieces`: the ink pieces on the row (the band where most of the
   ink's height lies); specks, dashes, stray marks above or below it and pieces at
   the picture's edge dropped;
2. :func:`columns`: pieces stacked over one another (a 5's bar over its body, a
   broken pencil stroke) merged into one column, left to right;
3. :func:`candidate_cuts` and :func:`row_atoms`: a column wide enough for two
   digits is cut where its ink is thinnest near each expected digit boundary,
   into *atoms*: an atom should hold at most one digit, and a digit may be
   several atoms (a 0 drawn in two strokes, a wide 0 cut in two);
4. :func:`groupings`: the runs of neighbouring atoms that could be one digit.

Which grouping is the number is decided by the model, not by geometry:
:func:`barenet.vision.reading.read_number` reads every run and keeps the
segmentation whose digits it is most sure of (segmentation by recognition).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .ink import Component, EmptyDrawingError, stroke_width, touches_border, union_box

if TYPE_CHECKING:
    from .preprocess import Box, Extraction

#: Handwritten digits are about this wide for their height (median of MNIST's
#: boxes: 0.7; a "1" much less, a "0" up to 1).
DIGIT_ASPECT = 0.7
#: A cut is clean where the ink across it is at most this many stroke widths.
CLEAN_CUT_STROKES = 2.5
#: Pieces overlapping horizontally by this fraction of the narrower are one digit.
STACK_OVERLAP = 0.4
#: The row is the band of the pieces' median top and bottom, widened by this fraction...
ROW_MARGIN = 0.35
#: ...along the row's slope, at most this steep (45 degrees: beyond, it is no row)...
MAX_ROW_SLOPE = 1.0
#: ...measured between the largest this many pieces.
ROW_SLOPE_PIECES = 64
#: Pieces lower than this fraction of the row (a dash, a dot, a comma) are no digits.
MIN_HEIGHT = 0.4
#: A row of digits has at most this many.
MAX_DIGITS = 12
#: One digit is at most this many row heights wide (a wide 0 is about 1.2)...
MAX_DIGIT_WIDTH = 1.5
#: ...and made of at most this many atoms.
MAX_ATOMS = 4
#: A cut leaves at least this fraction of the row's height on either side.
MIN_PART = 0.2
#: A piece wider than this many digit widths may hold more than one digit.
TOUCHING_WIDTHS = 1.6
#: Neighbours closer than this fraction of the row's height may be one digit in two pieces.
JOIN_GAP = 0.25


@dataclass
class Atom:
    """A piece of a row that is no more than one digit: a column of ink, or a part of one
    cut where the ink is thinnest.

    ``mask`` is its ink, inside ``box`` (working pixels, ``mask.shape`` the box's);
    ``cut`` says whether its left edge is a cut through ink (False: a gap, or the row's
    start), and ``clean`` whether that cut crossed little ink.
    """

    mask: np.ndarray
    box: Box
    cut: bool = False
    clean: bool = True


@dataclass
class RowAtoms:
    """The atoms of a row, left to right, and the row's typical digit height (working pixels)."""

    atoms: list[Atom]
    height: float


def merged(atoms: list[Atom]) -> tuple[np.ndarray, Box]:
    """Several neighbouring atoms as one picture: their joint ink and its box."""
    box = union_box(atoms)
    mask = np.zeros((box[1] - box[0], box[3] - box[2]), bool)
    for a in atoms:
        top, bottom, left, right = a.box
        mask[top - box[0]:bottom - box[0], left - box[2]:right - box[2]] |= a.mask
    return mask, box


def row_slope(pieces: list[Component]) -> float:
    """The slope ``dy/dx`` of the line through the centres of ``pieces``: the median of
    the slopes between every two of them (Theil-Sen: a mark above the row moves it little),
    at most :data:`MAX_ROW_SLOPE` either way, 0 for one piece."""
    centres = np.array([[(c.box[0] + c.box[1]) / 2, (c.box[2] + c.box[3]) / 2]
                        for c in pieces[:ROW_SLOPE_PIECES]])
    dy = centres[:, None, 0] - centres[None, :, 0]
    dx = centres[:, None, 1] - centres[None, :, 1]
    apart = dx > 0  # each pair once, left to right
    if not apart.any():
        return 0.0
    return float(np.clip(np.median(dy[apart] / dx[apart]), -MAX_ROW_SLOPE, MAX_ROW_SLOPE))


def row_pieces(pieces: list[Component], shape: tuple[int, int]) -> list[Component]:
    """The pieces lying on the row of digits (most of the ink's height band).

    The band follows the row's slope (:func:`row_slope`): a row written or photographed
    at a tilt rises across the picture by more than the band is high. As for one digit
    (:func:`barenet.vision.ink.digit_components`), a row inside the picture takes no
    piece from the picture's edge (a desk, a page's edge, a finger): when some piece
    lies inside, those that touch the edge are left out.
    """
    inside = [c for c in pieces if not touches_border(c, shape)]
    pieces = inside or pieces
    big = [c for c in pieces if c.area >= 0.15 * pieces[0].area] or pieces[:1]
    slope = row_slope(big)

    def rise(c: Component) -> float:  # how far the row has risen at the piece's middle
        return slope * (c.box[2] + c.box[3]) / 2

    top = float(np.median([c.box[0] - rise(c) for c in big]))
    bottom = float(np.median([c.box[1] - rise(c) for c in big]))
    height = bottom - top
    margin = ROW_MARGIN * height
    return [c for c in pieces if c.box[0] - rise(c) < bottom + margin
            and c.box[1] - rise(c) > top - margin and c.height <= 2.5 * height]


def columns(pieces: list[Component]) -> list[list[Component]]:
    """Group pieces that overlap horizontally (one digit) and order the groups left to right.

    Pieces are taken from left to right, each joining the first group it overlaps enough;
    a group ending left of a piece can take no later piece and is no longer compared, so a
    row of thousands of dots costs about one comparison per dot.
    """
    groups: list[list[Component]] = []
    spans: list[tuple[int, int]] = []  # each group's left and right
    open_groups: list[int] = []  # the groups reaching beyond the current piece's left
    for c in sorted(pieces, key=lambda c: c.box[2]):
        open_groups = [g for g in open_groups if spans[g][1] > c.box[2]]
        for g in open_groups:
            left, right = spans[g]
            overlap = min(right, c.box[3]) - max(left, c.box[2])
            if overlap >= STACK_OVERLAP * min(c.width, right - left):
                groups[g].append(c)
                spans[g] = (left, max(right, c.box[3]))
                break
        else:
            open_groups.append(len(groups))
            groups.append([c])
            spans.append((c.box[2], c.box[3]))
    return sorted(groups, key=lambda g: min(c.box[2] for c in g))


#: A mark beside the digit read is digit-sized when it is at least this fraction of the
#: digit's height, and in a row with it when their heights overlap by this fraction.
BESIDE_HEIGHT = 0.5


def marks_beside(found: Extraction) -> int:
    """How many digit-sized marks stand beside the digit read, in a row with it: columns
    of the other pieces (:func:`columns`) at least :data:`BESIDE_HEIGHT` of the digit's
    height, whose heights overlap the digit's by as much, and that do not reach the
    picture's edge (a page's edge, a desk, a finger). A picture of ``317`` read as one
    digit has two: it holds a number, which ``predict --number`` reads whole."""
    if not found.digit:
        return 0
    top, bottom, left, right = union_box(found.digit)
    height = bottom - top
    chosen = {c.label for c in found.digit}
    count = 0
    shape = found.mask.shape
    inside = [c for c in found.pieces if c.label not in chosen and not touches_border(c, shape)]
    for group in columns(inside):
        g_top, g_bottom, g_left, g_right = union_box(group)
        overlap = min(bottom, g_bottom) - max(top, g_top)
        beside = g_right <= left or g_left >= right
        if beside and g_bottom - g_top >= BESIDE_HEIGHT * height \
                and overlap >= BESIDE_HEIGHT * height:
            count += 1
    return count


def candidate_cuts(mask: np.ndarray, height: float) -> list[int]:
    """Columns of one piece's ``mask`` where it may hold two digits side by side.

    A piece ``r = width / (DIGIT_ASPECT * height)`` digit widths wide, with ``r`` at
    least :data:`TOUCHING_WIDTHS`, may hold ``k = floor(r)`` or ``ceil(r)`` digits (at
    least 2): for each such ``k``, a candidate is the column of least ink within a
    quarter of a digit of each expected boundary, at least :data:`MIN_PART` of the
    height from the piece's ends. (Rounding ``r`` to one ``k`` put the boundaries of
    two wide digits, 2.6 widths together, inside them: a benchmark row's "0 8" read
    "0 7".) Whether the cuts are taken is left to the reader
    (:func:`barenet.vision.reading.read_number`):
    a wide 0 is one digit, a 4 and a 7 that touch are two. (Cutting also at every
    thin place of narrower pieces was measured, and cut 2s and 5s into fragments the
    model read with confidence: 19 of 40 benchmark rows read right, against 24.)
    """
    width = mask.shape[1]
    digits = width / (DIGIT_ASPECT * height)
    if digits < TOUCHING_WIDTHS:
        return []
    profile = mask.sum(axis=0)
    edge = max(1, int(MIN_PART * height))
    cuts: set[int] = set()
    for count in range(max(2, math.floor(digits)), max(2, math.ceil(digits)) + 1):
        for j in range(1, count):
            expected = j * width / count
            lo = max(edge, int(expected - width / count / 4))
            hi = min(width - edge, int(expected + width / count / 4) + 1)
            if hi > lo:
                cuts.add(lo + int(np.argmin(profile[lo:hi])))
    return sorted(cuts)


def row_atoms(found: Extraction) -> RowAtoms:
    """The row of digits of ``found`` in atoms: every way to read it is a grouping of them.

    Raises
    ------
    EmptyDrawingError
        No digit can be found on the picture.
    """
    if not found.pieces:
        raise EmptyDrawingError("no digits found: the picture holds too little ink")
    row = row_pieces(found.pieces, found.mask.shape)
    if not row:
        raise EmptyDrawingError("no row of digits found on the picture")
    height = float(np.median([c.height for c in row if c.area >= 0.15 * row[0].area]
                             or [c.height for c in row]))
    atoms: list[Atom] = []
    for group in columns(row):
        top, bottom, left, right = union_box(group)
        if is_dash((top, bottom, left, right), height):
            continue  # a dash or a dot between the digits
        selected = np.isin(found.labels[top:bottom, left:right], [c.label for c in group])
        cuts = candidate_cuts(selected, height)
        profile = selected.sum(axis=0)
        limit = CLEAN_CUT_STROKES * max(stroke_width(selected), 1.0) if cuts else 0.0
        edges = [0, *cuts, selected.shape[1]]
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            part = selected[:, a:b]
            rows = np.flatnonzero(part.any(axis=1))
            if rows.size == 0:
                continue
            atoms.append(Atom(part[rows[0]:rows[-1] + 1],
                              (top + int(rows[0]), top + int(rows[-1]) + 1, left + a, left + b),
                              cut=a > 0, clean=a == 0 or bool(profile[a] <= limit)))
    if not atoms:
        raise EmptyDrawingError("no digits found on the picture")
    return RowAtoms(atoms, height)


def is_dash(box: Box, height: float) -> bool:
    """Whether ink in ``box`` is too low to be a digit of a row ``height`` tall
    (under :data:`MIN_HEIGHT` of it): a dash, a dot, a 5's bar cut off its body."""
    return box[1] - box[0] < MIN_HEIGHT * height


def groupings(row: RowAtoms) -> list[tuple[int, int]]:
    """The runs ``(i, j)`` of atoms ``i .. j-1`` that could be one digit.

    At most :data:`MAX_ATOMS` atoms, no wider than :data:`MAX_DIGIT_WIDTH` row
    heights, no gap between them wider than :data:`JOIN_GAP` of the height
    (digits written apart are never joined), and no dash (:func:`is_dash`) alone.
    """
    atoms, height = row.atoms, row.height
    runs = []
    for i in range(len(atoms)):
        right = atoms[i].box[3]
        top, bottom = atoms[i].box[:2]
        for j in range(i + 1, min(len(atoms), i + MAX_ATOMS) + 1):
            if j > i + 1:
                gap = atoms[j - 1].box[2] - right
                if gap > JOIN_GAP * height:
                    break
                right = max(right, atoms[j - 1].box[3])
                top, bottom = min(top, atoms[j - 1].box[0]), max(bottom, atoms[j - 1].box[1])
            if right - atoms[i].box[2] > MAX_DIGIT_WIDTH * height and j > i + 1:
                break
            if not is_dash((top, bottom, 0, 0), height):
                runs.append((i, j))
    return runs
