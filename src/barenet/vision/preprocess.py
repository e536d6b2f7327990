"""Turn any picture of a digit (a drawing, a scan, a phone photo) into the 28x28 an MNIST
network expects.

One pure stage at a time (docs/pictures.md shows each on a real picture):

1. :func:`to_grayscale` (``gray.py``): any array to one float channel in [0, 1];
2. :func:`to_working_size` (``ink.py``): big photos shrunk to at most 1024 pixels;
3. :func:`ink_is_dark`: dark ink on light paper, or light on dark;
4. :func:`paper_background`: the paper's local brightness (uneven light, shadows);
5. :func:`ink_strength`: how much darker than its paper (:func:`on_paper`, not the desk)
   each pixel is, noise removed;
6. :func:`local_noise`, :func:`ink_levels`, :func:`ink_mask`, :func:`ruled_lines`,
   :func:`components`, :func:`inside_frames`, :func:`frame_joint`,
   :func:`digit_components`, :func:`without_underlines`: adaptive thresholding (taken
   again without the desk or a finger where one is found), paper lines and specks
   removed, a box or circle round the digit left out (taken apart from it first where
   they touch), the digit's strokes kept and the lines drawn under it left out;
7. :func:`to_glyph` (``glyph.py``): crop, thicken thin strokes (harden bold ones),
   resize to 20 pixels, centre by mass in 28x28, as MNIST was made.

:func:`extract` runs them all and keeps every stage's result (for
``predict --show`` and the app's preview); :func:`preprocess` returns only the
28x28. ``barenet predict``, the drawing app and its preview all call these, and
:func:`row_atoms` cuts a row of digits into pieces of at most one digit. The model's own
normalisation is not applied here: :meth:`barenet.Sequential.predict_proba` does that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .glyph import to_glyph
from .gray import to_grayscale
from .ink import (
    BACKGROUND_FRACTION,
    BACKGROUND_STROKES,
    MIN_BACKGROUND_WINDOW,
    Component,
    EmptyDrawingError,
    Line,
    components,
    digit_components,
    frame_joint,
    ink_is_dark,
    ink_levels,
    ink_mask,
    ink_strength,
    inside_frames,
    local_noise,
    main_piece,
    odd_window,
    paper_background,
    paper_edges,
    remove_lines,
    ruled_lines,
    stroke_width,
    to_working_size,
    union_box,
    without_underlines,
)
from .ink_finder import InkFinder, digit_region

Box = tuple[int, int, int, int]
#: The digit's box holds the pixels at least this bright (of the ink's typical level).
BOX_LEVEL = 0.2


@dataclass
class Extraction:
    """Every stage's result for one picture (arrays at the working size).

    Attributes
    ----------
    shape : (int, int)
        Height and width of the picture given.
    gray : ndarray (h, w)
        The grey picture at the working size (at most 1024 pixels a side).
    dark_ink : bool
        Whether the ink was darker than the paper.
    ink : ndarray (h, w)
        Relative darkness of the ink under its paper, in [0, 1].
    mask : ndarray of bool (h, w)
        The ink kept: thresholded, paper lines removed.
    labels : ndarray of int (h, w)
        Connected pieces of ``mask``.
    pieces : list of Component
        The pieces that are not specks, largest first.
    digit : list of Component
        The pieces that make up the digit.
    lines : list of Line
        Ruled or squared paper lines that were removed.
    glyph : ndarray (28, 28)
        What the network sees.
    """

    shape: tuple[int, int]
    gray: np.ndarray
    dark_ink: bool
    ink: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    pieces: list[Component]
    digit: list[Component]
    lines: list[Line]
    glyph: np.ndarray

    @property
    def scale(self) -> tuple[float, float]:
        """Picture pixels per working pixel, down and across."""
        return self.shape[0] / self.gray.shape[0], self.shape[1] / self.gray.shape[1]

    def to_picture(self, box: Box) -> Box:
        """A working-size box ``(top, bottom, left, right)`` in the picture's own pixels."""
        sy, sx = self.scale
        top, bottom, left, right = box
        return (int(top * sy), min(self.shape[0], round(bottom * sy)),
                int(left * sx), min(self.shape[1], round(right * sx)))

    @property
    def box(self) -> Box:
        """The digit's box in the picture's own pixels."""
        return self.to_picture(union_box(self.digit))

    def glyph_of(self, picked: np.ndarray, box: Box) -> np.ndarray:
        """The 28x28 of the ink ``picked`` (a mask of ``box``'s shape) within ``box``."""
        return glyph_from(self.ink, picked, box)


def glyph_from(ink: np.ndarray, picked: np.ndarray, box: Box) -> np.ndarray:
    """The 28x28 of the ink pixels ``picked`` (a mask of the box's shape) inside ``box``.

    The ink is scaled so that its 90th percentile is full brightness (pencil
    and ballpoint alike), and a stretch of stroke fainter than that (glare on a
    whiteboard, a lighter touch of the pen) so that the strongest ink within a stroke's
    width of it is: the digit is drawn as whole as it was written. Faint ink with no paper
    within a stroke's width is no stretch of stroke (glare on a board, joined to the
    chalk) and is not brightened. It is cropped, as
    MNIST's digits were, to the box of the pixels at least :data:`BOX_LEVEL` bright: a
    faint anti-aliased fringe does not make the digit smaller.
    """
    top, bottom, left, right = box
    region = ink[top:bottom, left:right] * ndimage.binary_dilation(picked)
    values = region[picked]
    if values.size == 0:
        raise EmptyDrawingError("the picture is nearly blank: too little ink to be a digit")
    width = stroke_width(picked)
    typical = np.float32(max(float(np.percentile(values, 90)), 1e-6))
    # the strongest ink within a stroke's width of each pixel, at most the typical
    reach = 2 * int(np.ceil(width)) + 1
    full = np.minimum(ndimage.maximum_filter(np.where(picked, region, 0), size=reach), typical)
    # but a stroke has paper within its width: where the ink around a pixel never falls
    # to half its own (glare on a board, joined to the chalk), it is no faint stretch of
    # stroke and stays as faint as it is. The ink is looked at beyond the box too (a
    # 1's box holds no paper beside it), smoothed over 3x3 against noise
    t, lft = max(top - reach, 0), max(left - reach, 0)
    smooth = ndimage.uniform_filter(ink[t:bottom + reach, lft:right + reach], size=3)
    floor = ndimage.minimum_filter(smooth, size=reach)
    inside = np.s_[top - t:bottom - t, left - lft:right - lft]
    full[floor[inside] > smooth[inside] / 2] = typical
    region = np.clip(region / np.maximum(full, np.float32(1e-6)), 0, 1)
    rows = np.flatnonzero((region >= BOX_LEVEL).any(axis=1))
    cols = np.flatnonzero((region >= BOX_LEVEL).any(axis=0))
    if rows.size == 0:  # ink too faint for any pixel to reach the box's level
        raise EmptyDrawingError("the picture is nearly blank: too little ink to be a digit")
    region = region[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float32)
    return to_glyph(region, width)


def finder_extraction(finder: InkFinder, shape: tuple[int, int], work: np.ndarray,
                      dark: bool, ink: np.ndarray, low: float) -> Extraction:
    """The :class:`Extraction` of a picture whose ink the
    plain pipeline measured (``ink``, its low level ``low``) and the finder sorted.

    The digit is the ink at least ``low`` in
    :func:`~barenet.vision.ink_finder.digit_region`, and only that: taking a connected
    piece of ink whole when half of it lies there read fewer digits right, as a box's
    edge or a line touching the digit came with it (docs/results.md, "A learned ink
    finder"). Then in pieces (:func:`barenet.vision.ink.components`: specks and solid
    masses at the edge dropped), all of which are kept; its 28x28 is made as the plain
    pipeline makes it (:func:`glyph_from`). ``shape`` is the picture's own size. No
    paper lines are removed (the finder leaves them out).

    Raises
    ------
    EmptyDrawingError
        The finder marked nothing, or no ink lies where it marked.
    """
    region = digit_region(finder, work, dark)
    inked = ink >= low
    picked = region & inked
    labels, pieces, _ = components(picked, ink, stroke_width(picked))
    if not pieces:
        raise EmptyDrawingError("the picture is nearly blank: no ink where the ink finder "
                                "marked the digit")
    top, bottom, left, right = union_box(pieces)
    selected = np.isin(labels, [c.label for c in pieces])
    glyph = glyph_from(ink, selected[top:bottom, left:right], (top, bottom, left, right))
    return Extraction(tuple(shape), work, dark, ink, selected, labels, pieces, pieces, [],
                      glyph)


def extract(image: np.ndarray, invert: bool | None = None,
            finder: InkFinder | None = None) -> Extraction:
    """Run every stage on one picture of a digit (or a row of digits).

    Parameters
    ----------
    image : numpy.ndarray
        Any array :func:`to_grayscale` accepts: (H, W) or (H, W, 1..4), uint8,
        uint16, bool or floats in [0, 1]; light or dark background.
    invert : bool, optional
        ``True`` for dark ink on a light background, ``False`` for light ink on
        dark; ``None`` (default) decides with :func:`ink_is_dark`.
    finder : barenet.vision.ink_finder.InkFinder, optional
        A learned ink finder: it, not the hand-set rules (paper lines, pieces, the
        digit's pieces), decides which ink is the digit's
        (:func:`barenet.vision.ink_finder.finder_extraction`). Default: the plain
        hand-set pipeline.

    Returns
    -------
    Extraction

    Raises
    ------
    EmptyDrawingError
        The picture is blank or holds too little ink to be a digit.
    BarenetError
        The array is not an image (wrong shape or values).
    """
    gray = to_grayscale(image)
    work = to_working_size(gray)
    dark = ink_is_dark(work) if invert is None else bool(invert)
    paper = work if dark else 1 - work
    side = min(work.shape)
    window = odd_window(max(BACKGROUND_FRACTION * side, MIN_BACKGROUND_WINDOW))
    background = paper_background(paper, window)
    ink, noise = ink_strength(paper, background)
    noise = local_noise(ink, noise, window)
    low, high = ink_levels(ink, noise)
    mask = ink_mask(ink, low, high)
    width = stroke_width(mask)
    wider = odd_window(min(BACKGROUND_STROKES * width, 2 * side))
    if wider > window:  # thick strokes: a wider window keeps them out of the paper
        wide_background = paper_background(paper, wider)
        wide_ink, paper_noise = ink_strength(paper, wide_background)
        # when the strokes fill the picture, too little paper is left to measure its noise
        # over the wide window: the narrow window's measure is taken; and if no ink
        # stands out over the wide window's paper even then, the narrow window's reading
        # stands
        for wide_noise in (local_noise(wide_ink, paper_noise, wider), noise):
            try:
                wide_low, wide_high = ink_levels(wide_ink, wide_noise)
            except EmptyDrawingError:
                continue
            wide_mask = ink_mask(wide_ink, wide_low, wide_high)
            if wide_mask.any():
                ink, noise, low, high, mask = wide_ink, wide_noise, wide_low, wide_high, wide_mask
                background, window, width = wide_background, wider, stroke_width(mask)
                break
    if finder is not None:
        return finder_extraction(finder, gray.shape, work, dark, ink, low)
    lines = ruled_lines(ink, low, mask, width)
    mask = remove_lines(mask, lines, ink)
    # a sheet and what it lies on each hold the background's window: in a picture less
    # than 1 / BACKGROUND_FRACTION windows across (small, or filled by thick strokes) the
    # background's steps are the strokes' own
    sheets = window <= odd_window(BACKGROUND_FRACTION * side)
    edges = paper_edges(background, width) if sheets else None
    labels, pieces, solid = components(mask, ink, width, edges)
    if solid:  # a desk or a finger: Otsu split its ink from the pen's, not the pen's faint
        # from strong ink, and a faint pen was left under the high level; again without it
        desk = np.isin(labels, [c.label for c in solid])
        _, high = ink_levels(np.where(desk, np.float32(0), ink), noise)
        mask = remove_lines(ink_mask(ink, low, high), lines, ink)
        labels, pieces, _ = components(mask, ink, width, edges)

    def digit_of(pieces: list[Component], labels: np.ndarray) -> list[Component]:
        pieces = inside_frames(pieces, labels)
        group = digit_components(pieces, mask.shape)
        digit = without_underlines(group)
        if len(digit) < len(group):  # nothing joins the digit through a line under it
            lines = {c.label for c in group} - {c.label for c in digit}
            digit = without_underlines(digit_components(
                [c for c in pieces if c.label not in lines], mask.shape))
        return digit

    digit = digit_of(pieces, labels)
    main = main_piece(pieces, mask.shape)
    joint = frame_joint(labels, main)
    if joint is not None:  # a frame touching the digit: the two taken apart, and the
        # digit read without the frame, if it then is
        cut_labels, cut_pieces, _ = components(mask & ~joint, ink, width, edges)
        top, _, left, right = main.box  # the frame's top row is its rim, never cut
        frame = cut_labels[top, left + int(np.argmax(labels[top, left:right] == main.label))]
        cut_digit = digit_of(cut_pieces, cut_labels) if cut_pieces else []
        if cut_digit and frame not in [c.label for c in cut_digit]:
            mask, labels, pieces, digit = mask & ~joint, cut_labels, cut_pieces, cut_digit
    selected = np.isin(labels, [c.label for c in digit])
    top, bottom, left, right = union_box(digit)
    glyph = glyph_from(ink, selected[top:bottom, left:right], (top, bottom, left, right))
    return Extraction(gray.shape, work, dark, ink, mask, labels, pieces, digit, lines, glyph)


def preprocess(image: np.ndarray, invert: bool | None = None) -> np.ndarray:
    """The 28x28 image the network sees, from any picture of one digit.

    Returns
    -------
    numpy.ndarray
        float32 (28, 28) in [0, 1], ink bright on black, the ink's longer side
        20 pixels, its centre of mass at (14, 14) to within half a pixel.

    Raises
    ------
    EmptyDrawingError
        The picture is blank or holds too little ink to be a digit.
    BarenetError
        The array is not an image (wrong shape or values).
    """
    return extract(image, invert).glyph
