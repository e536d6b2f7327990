"""Stages 2-6: find the ink of handwriting in a drawing, a scan or a phone photo.

A photo of a digit on paper is ``brightness = light(x, y) * reflectance(x, y)``:
the light changes slowly across the page (a gradient, a vignette, a shadow),
the reflectance is that of paper (high) or ink (low). So the ink is not "pixels
darker than one level" but "pixels darker than the paper around them":

2. :func:`to_working_size`: big photos are shrunk to :data:`WORK_SIDE` pixels first;
3. :func:`ink_is_dark`: dark ink on light paper, or light (chalk) on dark;
4. :func:`paper_background`: the local paper brightness, a grey-level *closing*
   (a maximum, then a minimum, over a window wider than any pen stroke): it
   erases the strokes but keeps slow light changes and the sharp edge of a shadow;
5. :func:`ink_strength`: how much darker than its paper each pixel is, relative to
   the paper (so ink in a shadow counts as much as ink in the light), with the
   paper's own noise (grain, sensor, JPEG) measured and subtracted;
6. :func:`ink_levels`, :func:`ink_mask`, :func:`ruled_lines` and
   :func:`digit_components`: hysteresis
   thresholding (strong ink seeds, faint ink connected to it grows), ruled or
   squared paper lines found by a Hough transform and removed, specks dropped,
   and the connected strokes of the digit kept.

scikit-image and scipy.ndimage do the image processing; each stage is a pure
function of arrays. docs/pictures.md shows every stage on a photo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import apply_hysteresis_threshold, threshold_otsu
from skimage.measure import label
from skimage.morphology import convex_hull_image, reconstruction, skeletonize
from skimage.transform import hough_line, hough_line_peaks, resize

from ..errors import BarenetError

#: Pictures are processed with at most this many pixels on their longer side.
WORK_SIDE = 1024
#: The polarity (dark or light ink) is decided on the picture shrunk to this many pixels.
POLARITY_SIDE = 256
#: The paper-background window is at least this fraction of the shorter side...
BACKGROUND_FRACTION = 0.2
#: ...and at least this many pixels (a small picture's strokes are few pixels, not few
#: percent, wide)...
MIN_BACKGROUND_WINDOW = 15
#: ...and at least this many stroke widths.
BACKGROUND_STROKES = 4
#: The darkest ink must be at least this much darker than its paper (relative), or twice
#: the low level of ink on quiet paper (a faint pencil stands out from clean paper).
MIN_CONTRAST = 0.15
#: Paper's grey level is at least this fraction of the picture's brightest paper's. Grey
#: levels are stored gamma-encoded (light goes as level ** 2.2), so this is a tenth of
#: the light: a hand's or a phone's shadow keeps a third of it or more, and a page of any
#: colour reflects more than a tenth of what white paper does, while a dark desk or
#: cover beside the page does not.
PAPER_LIGHT = 0.35
#: A light mark that is at most this share of the region of its own shade joined to it
#: may be the rim of a lighter sheet, not chalk (:func:`sheet_rims`)...
RIM_SHARE = 0.5
#: ...when that sheet, its holes filled, is convex: at least this share of its convex
#: hull (paper has straight edges; a bold stroke's outline curves in)...
SHEET_SOLIDITY = 0.9
#: ...among the largest this many marks (the rest weigh little).
RIM_MARKS = 32
#: Ink is a pixel this many noise deviations darker than its paper...
NOISE_SIGMAS = 4.0
#: ...and never less than this (relative darkness), even on noiseless pictures.
MIN_INK = 0.05
#: Otsu's threshold needs ink levels this far apart (closer, its histogram cannot be made).
OTSU_RANGE = 1e-3
#: A picture needs at least this many ink pixels...
MIN_INK_PIXELS = 4
#: ...and at least this fraction of its area in ink, else it is "nearly blank".
MIN_INK_FRACTION = 1e-4
#: Components smaller than this fraction of the largest are specks...
SPECK_FRACTION = 0.04
#: ...unless they are this many stroke widths long (a piece of a broken stroke).
SPECK_STROKES = 6.0
#: A straight run of ink this long (fraction of the picture's width or height) is a
#: candidate ruled line...
LINE_FRACTION = 0.5
#: ...and a ruled line if it is this much longer than the rest of the ink is wide...
LINE_OVERHANG = 1.3
#: ...or this much longer than the rest of the ink is tall (for a horizontal line; wide,
#: for a vertical one): the lines under a row of digits that fills the page's width.
LINE_ACROSS = 4.0
#: ...and holds at most this many times the pixels of the rest of the ink (a lone "1"
#: with a serif is a stroke, not a line).
LINE_SHARE = 3.0
#: Pictures smaller than this (a side, in pixels) are not searched for lines.
MIN_LINES_SIDE = 48
#: Lines are looked for in the ink averaged over this many pixels along them.
LINE_SMOOTH = 7
#: ...where they are this much darker than averaged across them.
LINE_ACROSS_SHARE = 0.5
#: Lines are looked for within this many degrees of horizontal and vertical.
LINE_TILT = 12.0
#: ...in steps of this many degrees (a line across 1000 pixels, a tenth of a degree off
#: the nearest step, drifts by less than 2 pixels).
LINE_ANGLE_STEP = 0.1
#: This many long thin lines, parallel and evenly spaced (their gaps within
#: :data:`RULING_EVEN` of the median gap), are a ruling (ruled or squared paper), however
#: long the rest of the ink is: no digit, nor a row of them, draws that.
RULING_LINES = 4
RULING_EVEN = 0.25
#: A pixel on a ruled line this many times darker than the line's typical pixel is a pen's.
PEN_OVER_LINE = 2.0
#: A piece at the picture's edge this many times thicker than the thickest piece inside it
#: is no ink of the digit (the desk beyond the page, a finger) and is dropped.
SOLID_STROKES = 2.5
#: Strokes within this fraction of the digit's size of its largest piece belong to it.
GROUP_MARGIN = 0.25
#: A piece with more than this share of its pixels along a sharp step of the paper's
#: brightness is a sheet's edge or the shadow it casts, not ink (:func:`paper_edges`).
EDGE_SHARE = 0.5
#: A piece whose holes hold ink at least this share of its own height tall is a frame
#: drawn round it (a form's box, a circle): a digit's loops hold no ink, or a scrap.
FRAMED_HEIGHT = 1 / 3
#: A frame's thickness is the depth (from the paper around) at which this share of the
#: ink bordering its holes lies: its inner edge, the lowest of them.
FRAME_RIM = 0.1
#: ...and what it holds is bordered by the paper inside it on this share of its edge: a
#: stroke has paper on both sides, the inner band of a bold stroke on one only.
FRAME_PAPER = 0.75
#: A piece that goes this share of the way round another (seen from its centre, in
#: :data:`FRAME_SECTORS` sectors) holds it, as if closed: a circle drawn with a gap.
FRAME_AROUND = 0.75
FRAME_SECTORS = 72
#: An underline is a piece at most this high for its width, under the rest of the digit...
UNDERLINE_FLAT = 0.25
#: ...and at least this wide for the rest's width.
UNDERLINE_WIDE = 0.5


#: A threshold: one level for the whole picture, or one per pixel (H, W).
Level = float | np.ndarray


class EmptyDrawingError(BarenetError):
    """The picture holds no digit: it is blank, or holds only a speck of ink."""


def to_working_size(gray: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    """Shrink ``gray`` (H, W) by pixel averaging so its longer side is at most ``side``.

    A digit needs no more pixels, and it bounds the time and memory of the
    stages after it. Smaller pictures are returned unchanged.
    """
    h, w = gray.shape
    scale = max(h, w) / side
    if scale <= 1:
        return gray
    size = (max(1, round(w / scale)), max(1, round(h / scale)))
    pil = Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32))
    return np.asarray(pil.resize(size, Image.Resampling.BOX), dtype=np.float32)


def border(gray: np.ndarray) -> np.ndarray:
    """The pixels of the outermost row and column on every side, as one flat array."""
    if min(gray.shape) <= 2:
        return gray.ravel()
    return np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])


def odd_window(n: float) -> int:
    """The odd filter size nearest below ``n``, at least 3."""
    return max(3, int(n) | 1)


def local_median(gray: np.ndarray, window: int) -> np.ndarray:
    """A smooth local median of ``gray`` over about ``window`` x ``window`` pixels.

    Computed on a coarse grid of cells (a median per cell, then a median filter
    over the cells) and interpolated back: cheap for any window size.
    """
    h, w = gray.shape
    cell = max(1, window // 8)
    gh, gw = math.ceil(h / cell), math.ceil(w / cell)
    padded = np.pad(gray, ((0, gh * cell - h), (0, gw * cell - w)), mode="edge")
    cells = np.median(padded.reshape(gh, cell, gw, cell), axis=(1, 3))
    cells = ndimage.median_filter(cells, size=odd_window(window / cell), mode="nearest")
    smooth = Image.fromarray(cells.astype(np.float32)).resize(
        (gw * cell, gh * cell), Image.Resampling.BILINEAR)
    return np.asarray(smooth, dtype=np.float32)[:h, :w]


#: Robust statistics of a picture are taken on about this many of its pixels.
STATS_SAMPLE = 1 << 16


def sample(values: np.ndarray) -> np.ndarray:
    """At most :data:`STATS_SAMPLE` of ``values``, spread evenly over the picture:
    as precise for robust statistics, and a large photo costs no more."""
    flat = values.ravel()
    return flat[::max(1, flat.size // STATS_SAMPLE)]


def robust_spread(values: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation (1.4826 MAD) of ``values`` (a :func:`sample`)."""
    picked = sample(values)
    if picked.size == 0:
        return 0.0, 0.0
    centre = float(np.median(picked))
    return centre, 1.4826 * float(np.median(np.abs(picked - centre)))


def ink_is_dark(gray: np.ndarray) -> bool:
    """Whether the picture is dark ink on light paper (else light ink on a dark ground).

    Ink is the minority of pixels that differ strongly from their surroundings, in
    marks narrower than :func:`paper_background`'s window. Dark ink is darker than a
    local median (over a third of the picture) *and* than a grey closing by
    reconstruction over that window; chalk is lighter than both the median and an
    opening by reconstruction. Dark ink makes the first heavy, chalk the second.

    The opening erases every light region narrower than the window, and the
    reconstruction (a dilation under the picture) grows back, whole, every region
    some part of which survived: a sheet or a note lighter than the desk around it
    comes back, corners and all, and is not taken for light ink even where the desk is
    most of the median's window. The median in turn keeps out the paper inside a
    loop, a box or between ruled lines, which no part of the window's size reaches.
    A note that its writing cuts into strips narrower than the window does not come
    back; its rim is then left out (:func:`sheet_rims`).
    When the two are within a factor of 2 (an empty picture, pure noise), the border
    decides: it mostly shows the background. The picture is looked at shrunk to at
    most :data:`POLARITY_SIDE` pixels (one decision needs no more).
    """
    gray = to_working_size(gray, POLARITY_SIDE)
    residual = gray - local_median(gray, max(3, min(gray.shape) // 3))
    _, spread = robust_spread(residual)
    level = max(NOISE_SIGMAS * spread, MIN_INK)
    size = odd_window(max(BACKGROUND_FRACTION * min(gray.shape), MIN_BACKGROUND_WINDOW))
    closed = reconstruction(ndimage.grey_closing(gray, size=(size, size), mode="nearest"),
                            gray, method="erosion")
    opened = reconstruction(ndimage.grey_opening(gray, size=(size, size), mode="nearest"),
                            gray, method="dilation")
    darker = float(np.clip(np.minimum(-residual, closed - gray) - level, 0, None).sum())
    lighter = np.clip(np.minimum(residual, gray - opened) - level, 0, None)
    lighter = float(np.where(sheet_rims(lighter, gray, level), 0, lighter).sum())
    if darker > 2 * lighter:
        return True
    if lighter > 2 * darker:
        return False
    return float(np.median(border(gray))) > 0.5


def sheet_rims(lighter: np.ndarray, gray: np.ndarray, level: float) -> np.ndarray:
    """Which of the light marks of :func:`ink_is_dark` are the rim of a lighter sheet
    (bool, the shape of ``gray``).

    A note or a sheet on a darker desk, wider than the window but cut by its writing
    into strips narrower than it, is not grown back by the opening; the median, over a
    window mostly of note, takes the note's middle for background and only its rim, where
    the desk fills the window, for light marks. A mark (a connected piece of
    ``lighter > 0``) is such a rim when the sheet of its own shade joined to it (the
    pixels at least as light as the mark's mean, less the noise ``level``):

    - is at least 1 / :data:`RIM_SHARE` times the mark: a chalk stroke is mostly
      lighter than the median around it;
    - holds darker marks in its holes, narrower than its own strokes: writing, not
      the loop of a bold light 0;
    - is convex once those holes are filled (:data:`SHEET_SOLIDITY`): a sheet of paper
      has straight edges, the outline of a bold light 8 curves in at its waist.

    Only light marks are tested: paper is made to be lighter than what it lies on. (A
    dark board cut into strips by chalk, before a lighter wall, is still read as dark
    ink.)
    """
    marks, count = label(lighter > 0, return_num=True, connectivity=2)
    rims = np.zeros(count + 1, bool)
    if count == 0:
        return rims[marks]
    index = np.arange(1, count + 1)
    mass = ndimage.sum(lighter, marks, index)
    area = np.bincount(marks.ravel(), minlength=count + 1)[1:]
    shade = ndimage.mean(gray, marks, index)
    for k in np.argsort(-mass)[:RIM_MARKS]:
        region, _ = ndimage.label(gray >= shade[k] - level)
        joined = np.unique(region[marks == k + 1])
        sheet = np.isin(region, joined[joined > 0])
        if sheet.sum() * RIM_SHARE < area[k]:
            continue
        rows, cols = np.flatnonzero(sheet.any(axis=1)), np.flatnonzero(sheet.any(axis=0))
        sheet = sheet[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]  # its box: the cost
        outline = ndimage.binary_fill_holes(sheet)
        held = outline & ~sheet
        rims[k + 1] = (held.any() and stroke_width(held) < stroke_width(sheet)
                       and outline.sum() >= SHEET_SOLIDITY * convex_hull_image(outline).sum())
    return rims[marks]


def paper_background(paper: np.ndarray, window: int) -> np.ndarray:
    """The paper's local brightness under dark ink: a grey closing over ``window`` pixels.

    Closing (a maximum filter, then a minimum filter, of the same square) removes
    every dark feature narrower than the window, so pen strokes vanish, while the
    paper's slow light changes and the straight edge of a shadow are kept.
    First each pixel becomes the lower of itself and its 3x3 mean: a bright
    noisy pixel cannot set the maximum, and an edge stays where it is (as a
    3x3 median would do, at a tenth of its cost).
    """
    smooth = np.minimum(paper, ndimage.uniform_filter(paper, size=3, mode="nearest"))
    reach = min(window, *paper.shape) - 1
    if reach < 1:
        return ndimage.grey_closing(smooth, size=(window, window), mode="nearest")
    # Beyond the picture's edge, the light goes on changing as it did inside: the
    # picture is mirrored (a stroke at the edge stays a thin stroke) with the trend of
    # its local median continued (an odd reflection of it). With a plain mirror, the
    # paper at the darker edge of a gradient would be taken for ink.
    trend = local_median(smooth, window)
    padded = (np.pad(smooth, reach, mode="reflect")
              + np.pad(trend, reach, mode="reflect", reflect_type="odd")
              - np.pad(trend, reach, mode="reflect"))
    closed = ndimage.grey_closing(padded, size=(window, window), mode="nearest")
    return closed[reach:reach + paper.shape[0], reach:reach + paper.shape[1]]


def on_paper(paper: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Which pixels lie on the paper, not on the desk around it (bool, (H, W)).

    A background lit at less than :data:`PAPER_LIGHT` of the picture's brightest
    paper (its 99th percentile), over a patch that reaches the picture's edge and holds
    four of the background's windows, is not paper but a desk, a cover or the dark
    beyond a page's edge; so are the pixels as dark as it and joined to it, and the two
    pixels around them (the page's edge, blurred by the lens).
    """
    cut = np.float32(PAPER_LIGHT * np.percentile(sample(background), 99))
    # a desk reaches the picture's edge and is wider than the background's window both
    # ways, or the background would have closed over it: it holds four windows at least.
    # The core of a bold stroke is smaller, and so is the rim that the background's
    # trend, continued beyond the picture's edge, leaves on ink at the edge
    window = max(int(BACKGROUND_FRACTION * min(paper.shape)), MIN_BACKGROUND_WINDOW)
    patches, _ = ndimage.label(background < cut)
    desks = np.bincount(patches.ravel()) >= 4 * window * window
    desks &= np.isin(np.arange(desks.size), border(patches))
    desks[0] = False
    unlit = desks[patches]
    # the background follows the desk's edge only as closely as local_median's cells,
    # and at the picture's edge its trend is continued beyond the picture: the pixels
    # as dark as the desk and joined to it are desk too
    joined, _ = ndimage.label(unlit | (paper < cut))
    desk = np.isin(joined, np.unique(joined[unlit]))
    return ~ndimage.binary_dilation(desk, iterations=2)  # the page's edge, blurred


def ink_strength(paper: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, float]:
    """Relative darkness of each pixel under its paper, noise removed; and the noise level.

    ``darkness = (background - paper) / background`` is what fraction of the light
    the ink absorbs, the same in shadow and in light. Most pixels are paper, so the
    median and spread of ``darkness`` over the picture measure the paper's own
    grain and noise; the result is ``darkness`` minus that median, clipped to [0, 1].

    Only the paper's pixels (:func:`on_paper`) hold ink and are measured: a dark
    desk's grain, divided by its little light, would seem as strong as ink and set the
    noise level and the thresholds that the ink on the paper is held to.

    Returns
    -------
    ink : ndarray, float32 (H, W)
    noise : float
        The robust standard deviation (1.4826 MAD) of the paper's darkness.
    """
    darkness = (background - paper) / np.maximum(background, np.float32(0.05))
    lit = on_paper(paper, background)
    centre, noise = robust_spread(darkness[lit])
    # paper is never lighter than its background but where the smoothing darkened the
    # background at a light mark's rim: paper so small that those rims are most of it
    # does not set ink's zero below the background's
    ink = np.where(lit, np.clip(darkness - np.float32(max(centre, 0.0)), 0, 1), np.float32(0))
    return ink.astype(np.float32, copy=False), noise


def local_noise(ink: np.ndarray, noise: float, tile: int) -> np.ndarray:
    """The paper's noise around each pixel, at most the whole picture's ``noise``.

    The noise of a photo is not the same everywhere (a shadow is noisier than the
    light, relative to its paper): measured over the whole picture, a noisy corner
    raises the ink threshold everywhere and faint ink elsewhere is lost. In tiles
    about ``tile`` pixels wide, the noise is the 75th percentile of ``ink`` (the
    strength above the paper's median, clipped at 0: 0.674 deviations for paper),
    interpolated between the tiles' centres; a tile holding much ink would measure
    more, which the cap at ``noise`` bounds.

    Returns
    -------
    ndarray float32 (H, W)
    """
    h, w = ink.shape
    rows = np.linspace(0, h, max(1, round(h / tile)) + 1).astype(int)
    cols = np.linspace(0, w, max(1, round(w / tile)) + 1).astype(int)
    grid = np.array([[_upper_quartile(ink[r0:r1, c0:c1]) / 0.6745
                      for c0, c1 in zip(cols[:-1], cols[1:], strict=True)]
                     for r0, r1 in zip(rows[:-1], rows[1:], strict=True)], np.float32)
    spread = resize(grid, (h, w), order=1, mode="edge", anti_aliasing=False)
    return np.minimum(spread, np.float32(noise)).astype(np.float32)


def _upper_quartile(values: np.ndarray) -> float:
    """The 75th percentile of ``values``; 0 for none."""
    return float(np.percentile(values, 75)) if values.size else 0.0


def ink_levels(ink: np.ndarray, noise: Level,
               min_contrast: float = MIN_CONTRAST) -> tuple[Level, Level]:
    """The two levels of hysteresis thresholding, taken from the picture itself.

    The low level is :data:`NOISE_SIGMAS` noise deviations (at least
    :data:`MIN_INK`): anything fainter could be paper grain. The high level is
    Otsu's threshold between faint and strong ink among the pixels above the low
    level, at least twice the low level and at most half the darkest ink. With
    ``noise`` given at each pixel (:func:`local_noise`), both levels are too.

    Raises
    ------
    EmptyDrawingError
        Nothing is ``min_contrast`` darker than its paper, nor twice the low level
        where it lies, or too few pixels are ink.
    """
    low = np.maximum(NOISE_SIGMAS * np.asarray(noise, np.float32), np.float32(MIN_INK))
    # the second brightest pixel: one hot pixel of sensor noise is no ink
    flat = ink.ravel()
    at = int(np.argpartition(flat, -2)[-2]) if flat.size > 1 else 0
    peak = float(flat[at]) if flat.size > 1 else 0.0
    if peak < min(min_contrast, 2 * float(low if low.ndim == 0 else low.ravel()[at])):
        raise EmptyDrawingError("the picture is blank: nothing stands out from the background")
    candidates = ink[ink > low]
    if candidates.size < max(MIN_INK_PIXELS, MIN_INK_FRACTION * ink.size):
        raise EmptyDrawingError("the picture is nearly blank: too little ink to be a digit")
    high = 2 * low
    if candidates.size >= 16 and candidates.max() - candidates.min() > OTSU_RANGE:
        high = np.maximum(high, np.float32(threshold_otsu(candidates)))
    high = np.maximum(np.minimum(high, np.float32(0.5 * peak)), low)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def ink_mask(ink: np.ndarray, low: Level, high: Level) -> np.ndarray:
    """Which pixels are ink: at least ``low`` and connected to pixels above ``high``.

    Hysteresis thresholding: strong ink seeds, and faint ink joined to it (the
    faint ends of pencil strokes) grows from it; paper grain alone never does.
    """
    return apply_hysteresis_threshold(ink, low, high)


def stroke_width(mask: np.ndarray) -> float:
    """Typical width of the strokes in ``mask``: twice the median distance to the
    stroke's edge, measured along the stroke's centre line (its skeleton)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return 0.0
    # both measures look no further than the paper around the ink: its box (a sliver of
    # a 12-megapixel photo's working size) gives the same answer at a fraction of the cost
    mask = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    centre = skeletonize(mask)
    distance = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    return float(2 * np.median(distance[centre])) if centre.any() else 1.0


@dataclass
class Line:
    """A ruled line: pixels with ``|x cos(theta) + y sin(theta) - rho| <= half_width``."""

    theta: float
    rho: float
    half_width: float


def _line_distance(line: Line, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    return np.abs(xs * math.cos(line.theta) + ys * math.sin(line.theta) - line.rho)


@dataclass
class _Pixels:
    """Pixels of a picture of ``shape`` in raster order, and their order by column: the
    pixels near a line are then found without measuring the distance of every pixel."""

    ys: np.ndarray
    xs: np.ndarray
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        self.by_x = np.argsort(self.xs, kind="stable")
        self.sorted_xs = self.xs[self.by_x]

    def near(self, line: Line, reach: float) -> tuple[np.ndarray, np.ndarray]:
        """``(ys, xs)`` of the pixels in the band of rows (for a horizontal line; columns for
        a vertical one) the line crosses, widened by ``reach``: every pixel within ``reach``
        of the line, and others; in raster order."""
        cos, sin = math.cos(line.theta), math.sin(line.theta)
        horizontal = abs(sin) > 0.5
        span = self.shape[1 if horizontal else 0] - 1
        if horizontal:  # y = (rho - x cos) / sin, 0 <= x <= span
            ends = (line.rho / sin, (line.rho - span * cos) / sin)
            width = reach / abs(sin) + 1  # a pixel's distance to the line is |dy sin|
        else:  # x = (rho - y sin) / cos
            ends = (line.rho / cos, (line.rho - span * sin) / cos)
            width = reach / abs(cos) + 1
        # whole bounds: compared with floats, the coordinates would all be converted first
        bounds = np.array([math.floor(min(ends) - width), math.ceil(max(ends) + width) + 1],
                          self.ys.dtype)
        if horizontal:
            at = np.arange(*np.searchsorted(self.ys, bounds))
        else:
            at = np.sort(self.by_x[slice(*np.searchsorted(self.sorted_xs, bounds))])
        return self.ys[at], self.xs[at]


def _refine(line: Line, pixels: _Pixels) -> Line:
    """The straight line fitted (least squares, twice, outliers dropped) to the ink near ``line``.

    The Hough transform's peak is only as precise as its angle steps, and ink of
    the digit crossing the line pulls it; the fit follows the line's own pixels.
    """
    ys, xs = pixels.near(line, line.half_width + 2)
    horizontal = abs(math.sin(line.theta)) > 0.5
    along, across = (xs, ys) if horizontal else (ys, xs)
    near = _line_distance(line, ys, xs) <= line.half_width + 2
    for _ in range(2):
        if near.sum() < 8 or np.ptp(along[near]) == 0:
            return line
        slope, offset = np.polyfit(along[near], across[near], 1)
        norm = math.hypot(1.0, slope)
        if horizontal:  # y = slope x + offset
            fitted = Line(math.atan2(1.0, -slope), offset / norm, line.half_width)
        else:  # x = slope y + offset
            fitted = Line(math.atan2(-slope, 1.0), offset / norm, line.half_width)
        near &= _line_distance(fitted, ys, xs) <= line.half_width + 1
        line = fitted
    return line


#: How far across a line its width is looked for (pixels, either side).
LINE_REACH = 12


def _crossing_runs(line: Line, faint: np.ndarray) -> np.ndarray:
    """At each place along ``line`` inside the picture (each column of a horizontal line, each
    row of a vertical one), how many ``faint`` pixels run across it there: 0 where it has no
    ink, ``2 * LINE_REACH + 1`` where it is that wide or wider (no line is)."""
    h, w = faint.shape
    horizontal = abs(math.sin(line.theta)) > 0.5
    steps = np.arange(w if horizontal else h)
    cos, sin = math.cos(line.theta), math.sin(line.theta)
    centre = (line.rho - steps * cos) / sin if horizontal else (line.rho - steps * sin) / cos
    offsets = np.arange(-LINE_REACH, LINE_REACH + 1)[:, None]
    at = np.round(centre).astype(int)[None, :] + offsets
    inside = (at >= 0) & (at < (h if horizontal else w))
    at = np.clip(at, 0, (h if horizontal else w) - 1)
    ink = (faint[at, steps] if horizontal else faint[steps, at]) & inside
    stop = np.zeros((1, ink.shape[1]), bool)
    beyond = np.argmin(np.vstack([ink[LINE_REACH + 1:], stop]), axis=0)
    before = np.argmin(np.vstack([ink[LINE_REACH - 1::-1], stop]), axis=0)
    return np.where(ink[LINE_REACH], 1 + beyond + before, 0)[inside[LINE_REACH]]


def _spread(coords: np.ndarray) -> float:
    """How far the rest of the ink extends along one axis, its furthest percent on either
    side left out (crumbs of the lines, specks)."""
    if coords.size == 0:
        return 0.0
    low, high = np.percentile(coords, [1, 99])
    return float(high - low) + 1


def _ruling(lines: list[Line], shape: tuple[int, int], apart: float) -> set[int]:
    """The indices of the ``lines`` that belong to a ruling: :data:`RULING_LINES` or more
    horizontal (or vertical) lines more than ``apart`` from each other, evenly spaced.

    A line's place is where it crosses the picture's middle; two lines at most
    ``apart`` from each other are one line found twice, and count once.
    """
    h, w = shape
    ruled: set[int] = set()
    for horizontal in (True, False):
        placed = []  # (place, index), by place
        for k, line in enumerate(lines):
            cos, sin = math.cos(line.theta), math.sin(line.theta)
            if (abs(sin) > 0.5) == horizontal:
                # y at the middle column (horizontal), x at the middle row (vertical)
                placed.append(((line.rho - w / 2 * cos) / sin if horizontal
                               else (line.rho - h / 2 * sin) / cos, k))
        placed.sort()
        kept = [at for at, _ in placed[:1]]  # one place per line found more than once
        for at, _ in placed[1:]:
            if at - kept[-1] > apart:
                kept.append(at)
        if len(kept) < RULING_LINES:
            continue
        gaps = np.diff(kept)
        even = np.abs(gaps - np.median(gaps)) <= RULING_EVEN * np.median(gaps)
        if even.sum() < RULING_LINES - 1:
            continue
        # the places at either end of an even gap, and every line found there
        ends = [kept[i] for i in np.flatnonzero(np.append(even, False) | np.insert(even, 0, False))]
        ruled |= {k for at, k in placed if any(abs(at - end) <= apart for end in ends)}
    return ruled


def ruled_lines(ink: np.ndarray, low: Level, mask: np.ndarray,
                width: float | None = None) -> list[Line]:
    """Straight lines across the picture (ruled or squared paper, a page edge).

    A Hough transform over angles within :data:`LINE_TILT` degrees of horizontal
    and vertical finds straight runs of ink at least :data:`LINE_FRACTION` of the
    picture long; each run's width is where the ink across it stops, and a run is no
    wider than the pen's strokes over most of its length (else a thick bar). The thin
    lines of squared paper make the pen seem thinner than the major lines: measured
    again without the lines found, runs as wide as it are looked at too. A run is a
    ruled line only if it is :data:`LINE_OVERHANG` times longer than the writing (the
    rest of the ink, but for the pieces the picture's edge cuts: a notebook's binding
    or the desk goes on beyond it) is wide (or tall), and holds at most
    :data:`LINE_SHARE` times its ink: the bar of a 7 that fills a tight crop is part of
    the digit, a line across the whole page is not. A row of digits may be as wide as
    the page: a line :data:`LINE_ACROSS` times longer than the writing is tall is a
    ruled line too (a 7's bar is shorter than the 7 is tall), and so is each line of a
    ruling (:data:`RULING_LINES` evenly spaced), however little the writing beside it:
    no digit draws a ruling.

    Paper lines are often fainter than the pen, as faint as the paper's noise: they
    are looked for in the ink averaged over :data:`LINE_SMOOTH` pixels along them
    (where the noise averages out and a line does not), above half of ``low`` and
    :data:`LINE_ACROSS_SHARE` times fainter averaged across them (blots and JPEG's halos
    round strokes are as dark either way), and in ``mask``; the pen's strokes are not
    averaged (a row of digits would become a band).

    Parameters
    ----------
    ink : ndarray (H, W)
        The ink's strength (:func:`ink_strength`).
    low : float or ndarray (H, W)
        The faintest ink (:func:`ink_levels`' low level), for the picture or per pixel.
    mask : ndarray of bool (H, W)
        The ink (:func:`ink_mask`): what the lines are compared with.
    width : float, optional
        The strokes' width (:func:`stroke_width` of ``mask``), if already measured.
    """
    h, w = mask.shape
    if min(h, w) < MIN_LINES_SIDE or not mask.any():
        return []
    width = stroke_width(mask) if width is None else width
    candidates = _line_candidates(ink, low, mask)
    found = _no_wider_than(candidates, width)
    if not found:
        return []
    pixels = _Pixels(*np.nonzero(mask), mask.shape)
    on_line = _covered([line for line, _ in found], pixels)
    lines = _longer_than_writing(found, pixels, ~on_line[pixels.ys, pixels.xs], width)
    if not lines:
        return []
    # squared paper's thin lines make the pen seem thinner than its major lines are
    pen = stroke_width(mask & ~_covered(lines, pixels))
    seen = {id(line) for line, _ in found}
    wider = [c for c in _no_wider_than(candidates, pen) if id(c[0]) not in seen] \
        if pen > width else []
    if wider:  # with the thin lines: a wider line where the ruling has a gap is its own
        rest = ~(on_line | _covered([line for line, _ in wider], pixels))[pixels.ys, pixels.xs]
        lines += [line for line in _longer_than_writing(found + wider, pixels, rest, pen)
                  if id(line) not in seen]
    return lines


def _line_candidates(ink: np.ndarray, low: Level, mask: np.ndarray
                     ) -> list[tuple[Line, _Pixels, np.ndarray, int]]:
    """The straight runs of :func:`ruled_lines`' Hough transform: each line, the pixels it
    was fitted to, its :func:`_crossing_runs` and the picture's length along it."""
    tilt = math.radians(LINE_TILT)
    steps = max(3, int(LINE_TILT * 2 / LINE_ANGLE_STEP) + 1)
    near_vertical = np.linspace(-tilt, tilt, steps)
    near_horizontal = np.concatenate([np.linspace(-math.pi / 2, -math.pi / 2 + tilt, steps // 2),
                                      np.linspace(math.pi / 2 - tilt, math.pi / 2, steps // 2,
                                                  endpoint=False)])
    h, w = mask.shape
    candidates = []
    weak = np.where(mask, np.float32(0), ink)  # the pen's strokes are not smeared into lines
    smooth = [ndimage.uniform_filter1d(weak, LINE_SMOOTH, axis=axis) for axis in (0, 1)]
    for thetas, length, axis in ((near_horizontal, w, 1), (near_vertical, h, 0)):
        along, across = smooth[axis], smooth[1 - axis]
        # faint ink drawn out along the direction: no blot, no JPEG halo round a stroke
        faint = (along > low / 2) & (across < LINE_ACROSS_SHARE * along) | mask
        pixels = _Pixels(*np.nonzero(faint), faint.shape)
        space, angles, dists = hough_line(faint, theta=thetas)
        _, peak_angles, peak_dists = hough_line_peaks(
            space, angles, dists, threshold=LINE_FRACTION * length, min_distance=5,
            min_angle=len(thetas), num_peaks=64)
        for theta, rho in zip(peak_angles, peak_dists, strict=True):
            # the Hough peak's angle is a degree off or so: fitted to the line's pixels first
            line = _refine(Line(float(theta), float(rho), 2.0), pixels)
            runs = _crossing_runs(line, faint)
            if (runs > 0).any():  # else refined off the ink (fine stripes): no line there
                candidates.append((line, pixels, runs, length))
    return candidates


def _no_wider_than(candidates: list[tuple[Line, _Pixels, np.ndarray, int]], pen: float
                   ) -> list[tuple[Line, _Pixels]]:
    """The candidates no wider than strokes of the ``pen``'s width (else a thick bar)
    over most of their length (where strokes or other lines cross a line, its ink is
    wider), each with its half width set."""
    thickest = max(4.0, 2 * pen)
    kept = []
    for line, pixels, runs, length in candidates:
        thin = (runs > 0) & (runs <= min(thickest, max(3.0, 0.03 * length), 2 * LINE_REACH))
        if thin.sum() >= min(LINE_FRACTION / 2 * len(runs), 0.5 * (runs > 0).sum()):
            line.half_width = int(np.percentile(runs[runs > 0], 25)) // 2 + 1.5
            kept.append((line, pixels))
    return kept


def _covered(lines: list[Line], ink: _Pixels) -> np.ndarray:
    """The ink pixels on ``lines`` (bool, the picture's shape)."""
    on_line = np.zeros(ink.shape, bool)
    for line in lines:
        ys, xs = ink.near(line, line.half_width)
        on = _line_distance(line, ys, xs) <= line.half_width
        on_line[ys[on], xs[on]] = True
    return on_line


def _longer_than_writing(found: list[tuple[Line, _Pixels]], ink: _Pixels, rest: np.ndarray,
                         pen: float) -> list[Line]:
    """The lines of ``found`` that are paper lines beside the writing: the ink pixels
    ``rest`` (bool, one per pixel of ``ink``) that lie on none (see :func:`ruled_lines`)."""
    if not rest.any():
        return []
    h, w = ink.shape
    # the writing the lines are compared with lies inside the picture: ink cut by its
    # edge (a notebook's binding, the desk) goes on beyond it, as far as any line
    off_lines = np.zeros((h, w), bool)
    off_lines[ink.ys[rest], ink.xs[rest]] = True
    pieces = label(off_lines, connectivity=2)
    cut = np.unique(np.concatenate([pieces[0], pieces[-1], pieces[:, 0], pieces[:, -1]]))
    inside = rest & ~np.isin(pieces[ink.ys, ink.xs], cut[cut > 0])
    writing = inside if inside.any() else rest
    spread_y, spread_x = _spread(ink.ys[writing]), _spread(ink.xs[writing])
    ruling = _ruling([line for line, _ in found], (h, w), max(4.0, 2 * pen))
    lines = []
    for k, (line, pixels) in enumerate(found):
        ys, xs = pixels.near(line, line.half_width)
        along = _line_distance(line, ys, xs) <= line.half_width
        horizontal = abs(math.sin(line.theta)) > 0.5
        coord, spread, across = (xs, spread_x, spread_y) if horizontal else \
            (ys, spread_y, spread_x)
        extent = float(np.ptp(coord[along])) + 1 if along.any() else 0.0
        longer = extent >= LINE_OVERHANG * spread or extent >= LINE_ACROSS * across
        # a stroke may be as long as the picture, but no digit draws a ruling
        if k in ruling or (longer and along.sum() <= LINE_SHARE * rest.sum()):
            lines.append(line)
    return lines


def remove_lines(mask: np.ndarray, lines: list[Line], ink: np.ndarray) -> np.ndarray:
    """``mask`` without the pixels of ``lines``, except where a stroke crosses a line.

    A line pixel stays when the ink continues on both sides of the line (just
    beyond its width, above and below a horizontal line, left and right of a
    vertical one), or when it is :data:`PEN_OVER_LINE` times darker than the line's
    typical pixel (a pen stroke along or across a faint paper line): the digit's
    strokes are not cut where they cross the paper's lines.
    """
    if not lines:
        return mask
    ys, xs = np.nonzero(mask)
    drop = np.zeros(len(ys), bool)
    h, w = mask.shape
    for line in lines:
        on = _line_distance(line, ys, xs) <= line.half_width
        if not on.any():
            continue
        reach = int(math.ceil(line.half_width)) + 1
        dy, dx = (reach, 0) if abs(math.sin(line.theta)) > 0.5 else (0, reach)
        y0, x0, y1, x1 = ys[on] - dy, xs[on] - dx, ys[on] + dy, xs[on] + dx
        inside = (y0 >= 0) & (x0 >= 0) & (y1 < h) & (x1 < w)
        strength = ink[ys[on], xs[on]]
        crossing = strength > PEN_OVER_LINE * float(np.median(strength))
        crossing[inside] |= mask[y0[inside], x0[inside]] & mask[y1[inside], x1[inside]]
        drop[np.flatnonzero(on)[~crossing]] = True
    out = mask.copy()
    out[ys[drop], xs[drop]] = False
    return out


@dataclass
class Component:
    """One connected piece of ink: its label, pixel count, ink mass and bounding box."""

    label: int
    area: int
    mass: float
    box: tuple[int, int, int, int]  # top, bottom, left, right; bottom and right exclusive
    #: Twice the largest distance from inside the piece to its edge, small holes filled:
    #: a stroke's width, or a blot's, a desk's, a finger's (set by :func:`components`).
    thickness: float = 0.0

    @property
    def height(self) -> int:
        return self.box[1] - self.box[0]

    @property
    def width(self) -> int:
        return self.box[3] - self.box[2]


def paper_edges(background: np.ndarray, width: float) -> np.ndarray:
    """The pixels within a stroke ``width`` of a sharp step in the paper's brightness
    (bool, the shape of ``background``).

    Where the background changes by :data:`MIN_CONTRAST` of itself within five pixels,
    two papers meet: a note and the desk, a page and the sharp edge of a shadow. The
    shadow a sheet casts and its blurred rim lie along that step, darker than the paper
    beside them, as ink is; writing crosses such a step, or lies beside it, but does
    not follow it.
    """
    high = ndimage.grey_dilation(background, size=5)
    sharp = high - ndimage.grey_erosion(background, size=5) >= MIN_CONTRAST * high
    if not sharp.any():
        return sharp
    reach = ndimage.distance_transform_cdt(~sharp, metric="chessboard")
    return reach <= max(1.0, width)


def components(mask: np.ndarray, ink: np.ndarray,
               width: float | None = None, edges: np.ndarray | None = None
               ) -> tuple[np.ndarray, list[Component], list[Component]]:
    """The connected pieces of ``mask`` (8-connected) that are not specks nor solid masses.

    A piece at the picture's edge more than :data:`SOLID_STROKES` times thicker than
    the thickest piece inside it (the desk beyond the page, a finger) is dropped
    first, and so is a piece more than :data:`EDGE_SHARE` of which lies in ``edges``
    (:func:`paper_edges`: a sheet's edge or its shadow), unless every piece does; then
    specks: pieces under :data:`SPECK_FRACTION` of the largest one left that are short
    too, under :data:`SPECK_STROKES` stroke widths long (a thin pen's stroke broken by
    noise or a faint stretch of ink is long, dust is not).

    ``width`` is the strokes' width (:func:`stroke_width` of ``mask``), if already measured.
    Every piece is measured at once, over the whole picture (:func:`thicknesses`), so a
    picture of thousands of dots costs about as much as one of a few strokes.

    Returns
    -------
    labels : ndarray of int (H, W)
        0 for background, ``k`` for the pixels of component ``k``.
    pieces : list of Component
        Largest first.
    solid : list of Component
        The solid masses at the edge that were dropped.
    """
    labels = label(mask, connectivity=2)
    count = int(labels.max(initial=0))
    area = np.bincount(labels.ravel(), minlength=count + 1)
    mass = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count + 1)
    boxes = np.zeros((count + 1, 4), np.int64)  # top, bottom, left, right
    if count:
        boxes[1:] = [(rows.start, rows.stop, cols.start, cols.stop)
                     for rows, cols in ndimage.find_objects(labels)]
    thick = thicknesses(labels, count)
    kept = np.flatnonzero(area >= MIN_INK_PIXELS)
    kept = kept[kept > 0]
    kept = kept[np.argsort(-area[kept], kind="stable")]  # largest first, in label order
    top, bottom, left, right = boxes[kept].T
    edge = (top == 0) | (left == 0) | (bottom == mask.shape[0]) | (right == mask.shape[1])
    solid = np.zeros(len(kept), bool)
    if edge.any() and not edge.all():
        inside = kept[~edge]
        strokes = thick[inside[area[inside] >= SPECK_FRACTION * area[inside[0]]]].max()
        # a piece that thick has at least the area of a square that wide
        solid = edge & (area[kept] >= (SOLID_STROKES * strokes) ** 2) & \
            (thick[kept] > SOLID_STROKES * strokes)
    rest = kept[~solid]
    if edges is not None and rest.size:
        along = np.bincount(labels[edges], minlength=count + 1)[rest] > EDGE_SHARE * area[rest]
        # a sheet's edge lies beside writing: when every piece follows a step, the steps
        # are the strokes' own (a background that could not close over them)
        rest = rest[~along] if not along.all() else rest
    if rest.size:
        longest = np.maximum(boxes[rest, 1] - boxes[rest, 0], boxes[rest, 3] - boxes[rest, 2])
        shortest = max(SPECK_STROKES * (stroke_width(mask) if width is None else width),
                       SPECK_FRACTION * longest[0])
        rest = rest[(area[rest] >= SPECK_FRACTION * area[rest[0]]) | (longest >= shortest)]

    def made(chosen: np.ndarray) -> list[Component]:  # Python numbers: quicker to make
        return [Component(k, a, m, tuple(box), t) for k, a, m, box, t in zip(
            chosen.tolist(), area[chosen].tolist(), mass[chosen].tolist(),
            boxes[chosen].tolist(), thick[chosen].tolist(), strict=True)]
    return labels, made(rest), made(kept[solid])


def thicknesses(labels: np.ndarray, count: int | None = None) -> np.ndarray:
    """The thickness of every piece of ``labels`` (:attr:`Component.thickness`), at once.

    A piece's thickness is twice the largest distance from inside it to its edge, with
    its holes smaller than a square of its stroke width filled (thresholded noise, a dark
    desk or a finger in the picture, is full of them; a digit's loops are larger). The
    stroke width is twice the largest distance from inside the piece alone to its edge.

    Measured on the whole picture in linear time, not piece by piece (the box of a long
    diagonal piece is most of the picture, and a picture may hold thousands): the
    distance from any pixel of a piece to the nearest pixel outside it is the distance to
    the nearest paper, and the holes come from the paper's 4-connected regions, which
    with the 8-connected pieces form a tree (each region lies in one piece, each piece
    in one region): a piece's holes are the regions that lie in it, each with everything
    inside it. A node's parent is the node just above its first pixel in raster order.

    Parameters
    ----------
    labels : ndarray of int (H, W)
        0 for paper, ``1 .. count`` for the pieces (as :func:`components` labels them).
    count : int, optional
        The number of pieces, ``labels.max()`` if not given.

    Returns
    -------
    ndarray float64 (count + 1,)
        Entry ``k`` is the thickness of piece ``k`` (entry 0 is 0).
    """
    count = int(labels.max(initial=0)) if count is None else count
    padded = np.pad(labels, 1)
    inked = padded > 0
    regions, holes = ndimage.label(~inked)  # the paper, 4-connected
    width = padded.shape[1]
    # one tree node per piece (1 .. count) and per paper region (count + 1 ..)
    node = np.where(inked, padded, regions + count).ravel()
    nodes = count + holes + 1
    first = np.full(nodes, node.size)  # each node's first pixel in raster order
    np.minimum.at(first, node, np.arange(node.size))
    first[0] = width  # node 0 stands for no node
    parent = node[first - width]
    outer = node[0]  # the paper around everything, from the padding
    parent[[0, outer]] = 0
    size = np.bincount(node, minlength=nodes)
    widest = np.zeros(nodes)
    np.maximum.at(widest, node, ndimage.distance_transform_edt(inked).ravel())
    widest *= 2  # the stroke width of each piece, before its holes are filled
    # rows of nodes by their first pixel's row: a node's parent is always on a row above
    order = np.argsort(first[1:] // width, kind="stable") + 1
    rows = np.split(order, np.flatnonzero(np.diff(first[order] // width)) + 1)
    enclosed = size.copy()  # each node's pixels and those of every node inside it
    for row in reversed(rows):
        np.add.at(enclosed, parent[row], enclosed[row])
    is_hole = np.arange(nodes) > count
    small = is_hole & (parent > 0) & (enclosed < np.maximum(1.0, widest[parent] ** 2 / 4))
    if not small.any():
        return widest[:count + 1]
    # pieces inside a small hole are measured apart from the piece around them (a filled
    # hole is part of that piece), one depth of such nesting at a time
    depth = np.zeros(nodes, np.int64)
    for row in rows:
        depth[row] = depth[parent[row]] + small[row]
    thickness = np.zeros(count + 1)
    for level in range(int(depth[1:count + 1].max(initial=0)) + 1):
        owner = np.zeros(nodes, np.int64)  # the piece of this depth whose filled area it is in
        for row in rows:
            up = parent[row]
            own_piece = np.where(depth[row] == level, row, owner[up])
            own_hole = np.where(depth[up] == level, np.where(small[row], up, 0), owner[up])
            owner[row] = np.where(row <= count, own_piece, own_hole)
        filled = owner[node]
        reach = np.zeros(nodes)
        np.maximum.at(reach, filled,
                      ndimage.distance_transform_edt(filled.reshape(padded.shape) > 0).ravel())
        at = np.flatnonzero(depth[1:count + 1] == level) + 1
        thickness[at] = 2 * reach[at]
    return thickness


def touches_border(c: Component, shape: tuple[int, int]) -> bool:
    """Whether the piece ``c`` reaches the edge of a picture of ``shape``."""
    top, bottom, left, right = c.box
    return top == 0 or left == 0 or bottom == shape[0] or right == shape[1]


def crosses(c: Component, shape: tuple[int, int]) -> bool:
    """Whether the piece ``c`` runs from edge to edge of a picture of ``shape``: from one
    edge to within its own thickness of the other (a binding's last coil, a page's edge
    fading out in a corner)."""
    top, bottom, left, right = c.box
    near = c.thickness
    return (min(top, shape[0] - bottom) == 0 and top + shape[0] - bottom <= near) or \
        (min(left, shape[1] - right) == 0 and left + shape[1] - right <= near)


def apart(a: Component, b: Component, margin: float) -> bool:
    """Whether the boxes of ``a`` and ``b`` are more than ``margin`` apart."""
    return (a.box[0] >= b.box[1] + margin or b.box[0] >= a.box[1] + margin
            or a.box[2] >= b.box[3] + margin or b.box[2] >= a.box[3] + margin)


def main_piece(pieces: list[Component], shape: tuple[int, int]) -> Component:
    """The piece the digit is grown from: the one with the most ink.

    A piece touching the picture's edge counts half: it goes on beyond what was
    framed. A piece that crosses the picture from edge to edge (a page's edge, a
    notebook's binding or margin) is larger than the picture: when the heaviest piece
    inside the picture lies apart from it (beyond :data:`GROUP_MARGIN` of its own size,
    so that the group grown from it would not reach the crossing piece), that one is
    the digit's.
    """
    main = max(pieces, key=lambda c: c.mass * (0.5 if touches_border(c, shape) else 1.0))
    inside = [c for c in pieces if not touches_border(c, shape)]
    if not (inside and crosses(main, shape)):
        return main
    best = max(inside, key=lambda c: c.mass)
    return best if apart(best, main, GROUP_MARGIN * max(best.height, best.width)) else main


def frame_joint(labels: np.ndarray, piece: Component) -> np.ndarray | None:
    """Where a frame drawn round the digit touches it, when ``piece`` is the two as one.

    Seen from the paper around the piece, a frame's ink goes only as deep as the frame
    is thick: its rim. The rim's depth is where the ink bordering the piece's holes
    starts, the :data:`FRAME_RIM` quantile of that ink's depth (holes smaller than a
    square of the stroke, specks of paper in a bold stroke, are no loops, as in
    :func:`thicknesses`). A digit is all rim: its loops' ink borders the paper around
    too. A frame touching the digit holds ink deeper than twice the rim's depth, at
    least :data:`FRAMED_HEIGHT` of the piece's height tall and bordered by the paper
    inside the frame on :data:`FRAME_PAPER` of its edge (the inner band of a bold stroke
    has paper on one side only): the digit. The ink between once and twice the rim's
    depth joins the two. A frame drawn round the digit lies inside the picture: a piece
    at the picture's edge (a grid, a table, the page) is none.

    Returns
    -------
    ndarray of bool (H, W) or None
        The joint's pixels, whose removal leaves the frame and the digit apart
        (:func:`inside_frames` then leaves the frame out); None when ``piece`` holds no
        such digit.
    """
    if touches_border(piece, labels.shape):  # it goes on beyond: a grid, a table, a page
        return None
    top, bottom, left, right = piece.box
    own = np.pad(labels[top:bottom, left:right] == piece.label, 1)
    filled = ndimage.binary_fill_holes(own)
    holes, count = ndimage.label(filled & ~own)
    # holes smaller than a square of the stroke (noise in a thick one) are no loops
    size = np.bincount(holes.ravel(), minlength=count + 1)
    holes = (size >= max(1.0, piece.thickness ** 2 / 4))[holes] & (holes > 0)
    if not holes.any():
        return None
    depth = ndimage.distance_transform_edt(filled)
    rim = float(np.quantile(depth[own & ndimage.binary_dilation(holes)], FRAME_RIM))
    held = own & (depth > 2 * rim)
    rows = np.flatnonzero(held.any(axis=1))
    if rows.size == 0 or rows[-1] - rows[0] + 1 < FRAMED_HEIGHT * piece.height:
        return None
    # what a frame holds is drawn on the paper inside it, which borders its strokes on
    # both sides; the inner band of a bold stroke has paper on one side, its own ink on
    # the other
    edge = held & ~ndimage.binary_erosion(held)
    if (edge & ndimage.binary_dilation(holes)).sum() < FRAME_PAPER * edge.sum():
        return None
    joint = np.zeros(labels.shape, bool)
    joint[top:bottom, left:right] = (own & (depth > rim) & ~held)[1:-1, 1:-1]
    return joint


def inside_frames(pieces: list[Component], labels: np.ndarray) -> list[Component]:
    """The pieces without the frames drawn round the digit.

    A digit's loops (0, 6, 8, 9) hold paper, or at most a scrap of its own broken
    stroke. A piece whose holes hold other ink at least :data:`FRAMED_HEIGHT` of its
    own height tall is a frame round it: a form's printed box, a circle drawn round the
    answer. When the main piece (:func:`main_piece`, the one the digit grows from) is a
    frame, it and everything outside it (the box's label, the rest of the form) are
    left out and the pieces it holds are looked at the same way again (a box within a
    box); a lighter piece holding the main piece is a frame too and is left out. A
    piece holds another when the other lies in its holes, or when it goes
    :data:`FRAME_AROUND` of the way round it (a circle drawn with a gap). A frame's walls
    (:func:`partitions`: a form's row of cells) are left out with it. A frame that
    touches the digit is one piece with it; :func:`frame_joint` takes them apart.

    Parameters
    ----------
    pieces : list of Component
        The pieces of :func:`components`, largest first.
    labels : ndarray of int (H, W)
        Their labels.
    """
    # per frame: its holes, and its pixels (at most 64 a sector on average: enough to
    # tell which sectors it reaches, and a bounded cost for each piece inside its box)
    seen: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def holds(frame: Component, piece: Component) -> bool:
        top, bottom, left, right = frame.box
        t, b, lft, r = piece.box
        if not (top <= t and b <= bottom and left <= lft and r <= right):
            return False
        if frame.label not in seen:
            own = labels[top:bottom, left:right] == frame.label
            ys, xs = np.nonzero(own)
            step = -(-ys.size // (64 * FRAME_SECTORS))
            seen[frame.label] = (ndimage.binary_fill_holes(own) & ~own, ys[::step], xs[::step])
        holes, ys, xs = seen[frame.label]
        # a piece apart from the frame (not even touching it diagonally) lies wholly in
        # one of its holes or wholly outside them: its top row tells which
        row = labels[t, lft:r] == piece.label
        if holes[t - top, lft - left:r - left][row].all():
            return True
        # or the frame goes most of the way round it (a circle drawn with a gap)
        angles = np.arctan2(ys + top - (t + b - 1) / 2, xs + left - (lft + r - 1) / 2)
        sectors = np.floor((angles + np.pi) / (2 * np.pi) * FRAME_SECTORS).astype(np.int64)
        return np.unique(sectors % FRAME_SECTORS).size >= FRAME_AROUND * FRAME_SECTORS

    while pieces:
        main = main_piece(pieces, labels.shape)
        frames = [c for c in pieces if c is not main and holds(c, main)]
        pieces = [c for c in pieces if c is main or not (
            c in frames or any(partitions(f, c) and holds(f, c) for f in frames))]
        held = [c for c in pieces if c is not main and holds(main, c)]
        if not held:
            return pieces
        top, bottom, _, _ = union_box(held)
        if bottom - top < FRAMED_HEIGHT * main.height:
            return pieces
        pieces = [c for c in held if not partitions(main, c)] or held
    return pieces


def partitions(frame: Component, piece: Component) -> bool:
    """Whether ``piece``, held by ``frame``, is one of its walls (a form's row of cells).

    A wall is straight (at most twice as wide across as it is thick), no thicker than
    the frame's own stroke, and runs :data:`FRAME_AROUND` of the frame's height (or
    width): a digit written in a cell is seldom a straight stroke as thin as the printed
    frame from one side of the cell to the other.
    """
    if piece.thickness > frame.thickness:
        return False
    return (piece.height >= FRAME_AROUND * frame.height
            and piece.width <= 2 * piece.thickness) or \
        (piece.width >= FRAME_AROUND * frame.width and piece.height <= 2 * piece.thickness)


def digit_components(pieces: list[Component], shape: tuple[int, int]) -> list[Component]:
    """The pieces that make up the one digit of the picture.

    The group starts from :func:`main_piece` (the piece with the most ink); the pieces
    whose boxes come within :data:`GROUP_MARGIN` of its size (a 5's separate bar, a
    broken pencil stroke) join it, except, when the main piece lies inside the picture,
    pieces that touch the picture's edge.

    The group grows until no piece comes within the margin of its box. Each of the four
    sides of a piece's box is compared with the group's box only once it comes within
    the margin (the pieces sorted by each side), so thousands of dots cost
    ``O(n log n)``, not a pass over all pieces each time the box grows.

    Raises
    ------
    EmptyDrawingError
        No piece is left.
    """
    if not pieces:
        raise EmptyDrawingError("the picture is nearly blank: too little ink to be a digit")
    main = main_piece(pieces, shape)
    margin = GROUP_MARGIN * max(main.height, main.width)
    # a digit inside the picture takes no piece from its edge (the page's edge, a finger)
    candidates = pieces if touches_border(main, shape) else [
        c for c in pieces if not touches_border(c, shape)]
    boxes = np.array([c.box for c in candidates], np.float64).reshape(-1, 4)
    # piece i is near the group's box (top, bottom, left, right) when each of its four
    # keys is below the matching bound: its top - margin < bottom, -(its bottom + margin)
    # < -top, its left - margin < right, -(its right + margin) < -left. The bounds only
    # grow with the group, so each key, sorted, is passed over once.
    keys = np.stack([boxes[:, 0] - margin, -(boxes[:, 1] + margin),
                     boxes[:, 2] - margin, -(boxes[:, 3] + margin)])
    order = np.argsort(keys, axis=1, kind="stable")
    sorted_keys = np.take_along_axis(keys, order, axis=1)
    passed = np.zeros(4, np.int64)  # how many of each sorted key are below their bound
    met = np.zeros(len(candidates), np.int8)  # how many of its four keys each piece meets
    joined = np.array([c is main for c in candidates])
    group = [main]
    top, bottom, left, right = main.box
    while True:  # grow until no piece comes within the margin of the group
        fresh = []
        for k, bound in enumerate((bottom, -top, right, -left)):
            end = int(np.searchsorted(sorted_keys[k], bound, side="left"))
            fresh.append(order[k, passed[k]:end])
            met[fresh[-1]] += 1  # each piece once per key
            passed[k] = end
        near = np.unique(np.concatenate(fresh))
        near = near[(met[near] == 4) & ~joined[near]]
        if not near.size:
            return group
        joined[near] = True
        group += [candidates[i] for i in near]
        top, bottom = min(top, int(boxes[near, 0].min())), max(bottom, int(boxes[near, 1].max()))
        left, right = min(left, int(boxes[near, 2].min())), max(right, int(boxes[near, 3].max()))


def without_underlines(group: list[Component]) -> list[Component]:
    """``group`` without the lines drawn under it.

    The lowest piece is an underline when it is flat (at most :data:`UNDERLINE_FLAT` as
    high as it is wide), its middle lies below the rest's box, and it is at least
    :data:`UNDERLINE_WIDE` as wide as the rest; then the next lowest is looked at (a
    double underline). A line touching the digit is one piece with it and stays.
    """
    order = sorted(range(len(group)), key=lambda i: group[i].box[0])
    boxes = np.array([group[i].box for i in order], np.int64).reshape(-1, 4)
    # the box of the first k pieces, lowest last, for every k: the rest's box at once
    bottom = np.maximum.accumulate(boxes[:, 1])
    left, right = np.minimum.accumulate(boxes[:, 2]), np.maximum.accumulate(boxes[:, 3])
    kept = len(group)
    while kept > 1:
        line = group[order[kept - 1]]
        if not (line.height <= UNDERLINE_FLAT * line.width
                and (line.box[0] + line.box[1]) / 2 >= bottom[kept - 2]
                and line.width >= UNDERLINE_WIDE * (right[kept - 2] - left[kept - 2])):
            break
        kept -= 1
    return [group[i] for i in sorted(order[:kept])]


def union_box(pieces: list[Component]) -> tuple[int, int, int, int]:
    """The bounding box ``(top, bottom, left, right)`` of several pieces."""
    return (min(c.box[0] for c in pieces), max(c.box[1] for c in pieces),
            min(c.box[2] for c in pieces), max(c.box[3] for c in pieces))
