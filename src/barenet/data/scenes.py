"""Random pages with one handwritten digit on them: training scenes for the picture reader.

The picture reader has to find the ink of a digit on whatever page it was written on: a
form's box, a notebook's ruled lines and margin, squared paper, a coloured sheet, a photo
taken at a slant, in poor light, with a shaking hand. Rather than collect and label such
photos, :func:`make_scene` invents them ("domain randomisation", Tobin et al., 2017): an
MNIST training digit is drawn as ink on a page of random paper, rulings and clutter, the
page is photographed by a random camera, and the digit's own ink coverage comes with the
picture as the truth a reader can learn from. A reader that sees enough pages, each
different in every respect but the digit, learns what is digit and what is page.

Every scene is drawn in two spaces. On the *page* (the writer's sheet, its rulings
axis-aligned) the paper, printing, ink and desk are composed: each ink multiplies the
colour below it by ``1 - coverage * (1 - reflectance)``. The *camera* then maps the page
to the picture by a homography (rotation in the page's plane, tilt of the camera) and
adds light, blur and the faults of sensors and files. The digit mask follows the page
through the camera's geometry but not its optics: it is where the ink lies, not how
blur or low resolution smeared it.

The digit is one of the MNIST images given, its ink height from an eighth of the
picture's short side to nearly all of it (most of it on pictures under 64 pixels, crops
of a digit). It is enlarged smoothly (Pillow's bilinear or bicubic filter, far faster
than ``scipy.ndimage.zoom``), thinned or thickened a little (grey
erosion or dilation, and the grey level taken as the stroke's edge), its edge steepened
to a pen's, and its grey values used as the ink's coverage.

What a scene may hold (its :attr:`Scene.kinds` name those used):

- paper, exactly one of :data:`PAPERS`: white, cream, grey, recycled (with fibres and
  flecks) or coloured (any hue, pastel to strong), with low-frequency ``mottling`` and
  per-pixel ``grain``;
- at most one ruling of :data:`RULINGS`: ``ruled`` lines, a squared ``grid`` (sometimes
  with heavier lines every fifth or tenth square), a ``dot_grid``; a ``margin`` line;
- a printed form ``box`` around the digit (sometimes touching or crossing its ink), a
  ``comb`` of adjacent boxes, a printed ``label`` beside the box, lines of ``print``
  elsewhere; printed words are letters of Pillow's bitmap font or procedural marks,
  never digits;
- the writer's tool, exactly one of :data:`INKS`: a ``pen`` of any dark hue, a grey
  ``pencil`` with the paper's tooth showing through, a broad ``marker``;
- handwritten clutter: an ``underline``, a ``strike`` through or near the digit,
  ``neighbours`` (other training digits in the same hand, cut by the picture's edge),
  ``specks`` of dirt and dots;
- a ``desk`` around part of the page, with the page's edge and its shadow, and a
  ``crease`` where the page was folded;
- light: ``illumination`` gradients and vignetting, a soft ``shadow``, ``glare``
  spots, a ``colour_cast`` of the lamp;
- camera: ``rotation`` (up to 15 degrees), ``perspective`` (tilted 8 to 35 degrees),
  Gaussian ``blur``, ``motion_blur``, ``low_resolution`` (down then up sampling),
  sensor ``noise``, ``jpeg`` re-encoding at quality 15 to 95.

Each of the last is on with its chance in :data:`CHANCES`, drawn independently, so that
several come together (a desk or neighbours that find no room are left out). The
camera's exposure then brings the brightest part of the view partly or fully towards
white. Pictures are 24 to 400 pixels on the short side (one in ten under 64, most 64 to
256 spread evenly in scale, one in eight above 256), the long side up to 1.5 times it.

Held out
--------
Three conditions of everyday pages are chosen now, before any training, never to be
generated, so that a benchmark can report how the reader copes with what it never saw::

    HELD_OUT = ("circled", "chalkboard", "sticky_note")

- ``circled``: no circle, ellipse or other loop is ever drawn around the digit; the
  handwritten strokes near it are open, nearly straight lines, and the only outlines
  around it are printed, axis-aligned form boxes and grid squares.
- ``chalkboard``: the ink is always darker than its paper (every ink multiplies the
  paper by a reflectance below one); never light chalk or marker on a dark board.
- ``sticky_note``: coloured paper always fills the picture; a desk shows only around
  white, cream, grey or recycled paper that covers at least 60 % of the picture.

Only MNIST's training split may be drawn: :func:`training_digits` hands it over, and
the digits the scenes are made of then never include a test digit.
"""

from __future__ import annotations

import colorsys
import io
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from skimage.transform import ProjectiveTransform, warp

from .datasets import Dataset

#: Conditions of everyday pages that no scene ever shows (see the module's docstring).
HELD_OUT = ("circled", "chalkboard", "sticky_note")
#: The papers and their chances: exactly one per scene.
PAPERS = {"white": 0.40, "cream": 0.15, "grey": 0.10, "recycled": 0.10, "coloured": 0.25}
#: Papers that may lie on a desk (coloured paper fills the picture: no sticky notes).
DESK_PAPERS = ("white", "cream", "grey", "recycled")
#: The rulings printed on the paper and their chances: at most one (else plain paper).
RULINGS = {"ruled": 0.25, "grid": 0.18, "dot_grid": 0.05}
#: The writer's tools and their chances: exactly one per scene.
INKS = {"pen": 0.55, "pencil": 0.20, "marker": 0.25}
#: The chance of each other effect, drawn independently. ``comb`` and ``label`` are
#: drawn only for scenes with a ``box``, ``blur`` twice as often on pictures under 64
#: pixels (these chances are of the scenes with a box, or of larger pictures).
CHANCES = {
    "mottling": 0.70, "grain": 0.80, "margin": 0.30, "box": 0.25, "comb": 0.40,
    "label": 0.70, "print": 0.15, "underline": 0.15, "strike": 0.10, "neighbours": 0.30,
    "specks": 0.35, "desk": 0.25, "crease": 0.08,
    "illumination": 0.60, "shadow": 0.30, "glare": 0.15, "colour_cast": 0.40,
    "rotation": 0.60, "perspective": 0.50, "blur": 0.35, "motion_blur": 0.12,
    "low_resolution": 0.20, "noise": 0.70, "jpeg": 0.60,
}
#: Every kind a scene may name in :attr:`Scene.kinds`.
KINDS = (*PAPERS, *RULINGS, *INKS, *CHANCES)
#: Letters printed labels are made of: never a digit, which would be a second answer.
LETTERS = string.ascii_letters
#: A desk is placed only if the page still covers at least this share of the picture.
MIN_PAGE_SHARE = 0.6
#: Most pixels a side of the page canvas may have, as a multiple of the picture's
#: longer side (a steeper view is not taken).
MAX_CANVAS = 3.0


@dataclass(frozen=True)
class Scene:
    """One generated picture and the truth about its digit.

    Attributes
    ----------
    picture : ndarray uint8 (H, W, 3)
        The photo, RGB.
    digit_mask : ndarray float32 (H, W)
        Coverage in [0, 1] of the digit's ink alone (no clutter, no neighbours), through
        the camera's geometry but before its blur, noise and resampling.
    label : int
        The digit's class, 0-9.
    box : tuple of int
        ``(top, bottom, left, right)``: ``picture[top:bottom, left:right]`` holds every
        pixel of ``digit_mask`` above zero.
    kinds : frozenset of str
        The paper, ruling, ink and effects used, names from :data:`KINDS`.
    page_share : float
        The share of the picture covered by the page (1 unless a ``desk`` shows).
    """

    picture: np.ndarray
    digit_mask: np.ndarray
    label: int
    box: tuple[int, int, int, int]
    kinds: frozenset[str]
    page_share: float


def training_digits(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The only digits scenes may be made of: ``dataset``'s training split.

    Parameters
    ----------
    dataset : Dataset
        A loaded data set, e.g. ``load_dataset("mnist")``.

    Returns
    -------
    images : ndarray uint8 (60000, 28, 28)
        ``dataset.train_images`` itself (no copy).
    labels : ndarray uint8 (60000,)
        ``dataset.train_labels``.

    Raises
    ------
    TypeError
        If ``dataset`` is not a :class:`Dataset` (arrays cannot tell which split they
        are, so none are taken).
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"training_digits takes a Dataset, not {type(dataset).__name__}: "
                        "scenes are made of its training split only")
    return dataset.train_images, dataset.train_labels


class _Choices:
    """Which kinds a scene uses: each drawn from ``rng`` with its chance, ``force`` turns
    one on, ``exclude`` turns one off. The chance is drawn either way, so forcing one
    kind leaves every other draw unchanged."""

    def __init__(self, rng: np.random.Generator, force: Iterable[str],
                 exclude: Iterable[str]) -> None:
        self.rng, self.force, self.exclude = rng, set(force), set(exclude)
        for name in self.force | self.exclude:
            if name in HELD_OUT:
                raise ValueError(f"{name!r} is held out: no scene ever shows it")
            if name not in KINDS:
                raise ValueError(f"unknown kind {name!r}; the kinds are {', '.join(KINDS)}")
        if self.force & self.exclude:
            raise ValueError(f"both forced and excluded: {sorted(self.force & self.exclude)}")
        self.kinds: set[str] = set()

    def on(self, kind: str, chance: float | None = None) -> bool:
        """Whether the scene uses ``kind`` (by its chance in :data:`CHANCES`, or
        ``chance``)."""
        drawn = self.rng.random() < (CHANCES[kind] if chance is None else chance)
        used = kind not in self.exclude and (kind in self.force or drawn)
        if used:
            self.kinds.add(kind)
        return used

    def one_of(self, table: Mapping[str, float], required: bool) -> str | None:
        """One name of ``table`` by its chance (or none, unless ``required``)."""
        draw = self.rng.random()
        forced = [name for name in table if name in self.force]
        if len(forced) > 1:
            raise ValueError(f"only one of {', '.join(table)} at a time: {forced}")
        if forced:
            choice: str | None = forced[0]
        else:
            names = [name for name in table if name not in self.exclude]
            if required and not names:
                raise ValueError(f"all of {', '.join(table)} excluded")
            chances = np.array([table[name] for name in names])
            if required:
                chances = chances / chances.sum()
            index = int(np.searchsorted(np.cumsum(chances), draw, side="right"))
            choice = names[index] if index < len(names) else None
        if choice is not None:
            self.kinds.add(choice)
        return choice


@dataclass
class _Ink:
    """How a writing tool lays down ink."""

    colour: np.ndarray  # reflectance (3,), below one in every channel
    opacity: float
    edge: float  # width in pixels of the stroke's soft edge
    level: float  # grey level of the enlarged MNIST digit taken as the stroke's edge
    spread: int  # pixels of grey dilation (> 0) or erosion (< 0)
    tooth: float  # how much of the paper's tooth breaks the stroke (pencil)
    pressure: float  # variation of the ink's density along the strokes (pen)


def _hsv(hue: float, saturation: float, value: float) -> np.ndarray:
    """RGB (3,) float32 of a colour given as hue, saturation and value in [0, 1]."""
    return np.array(colorsys.hsv_to_rgb(hue, saturation, value), np.float32)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _random_ink(tool: str, zoom: float, rng: np.random.Generator) -> _Ink:
    """A writing tool's ink for a digit enlarged ``zoom`` times from MNIST."""
    if tool == "pencil":
        grey = rng.uniform(0.25, 0.55)
        colour = np.array([grey, grey, grey * rng.uniform(0.97, 1.05)], np.float32)
        return _Ink(colour, rng.uniform(0.65, 0.95), rng.uniform(1.5, 3.0),
                    rng.uniform(0.3, 0.6), -int(rng.uniform(0, 0.4) * zoom),
                    rng.uniform(0.1, 0.45), 0.0)
    if tool == "marker":
        colour = _hsv(rng.random(), rng.uniform(0.3, 1.0), rng.uniform(0.08, 0.55))
        return _Ink(colour, rng.uniform(0.85, 1.0), rng.uniform(0.8, 1.5),
                    rng.uniform(0.2, 0.45), int(rng.uniform(0, 0.5) * zoom), 0.0,
                    rng.uniform(0, 0.15))
    if rng.random() < 0.45:  # black or blue-black, the commonest pens
        colour = _hsv(rng.uniform(0.55, 0.7), rng.uniform(0, 0.8), rng.uniform(0.05, 0.3))
    else:
        colour = _hsv(rng.random(), rng.uniform(0.3, 0.95), rng.uniform(0.12, 0.5))
    return _Ink(colour, rng.uniform(0.8, 1.0), rng.uniform(0.8, 2.0),
                rng.uniform(0.3, 0.65), -int(rng.uniform(0, 0.6) * zoom), 0.0,
                rng.uniform(0, 0.35))


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], cells: float) -> np.ndarray:
    """A smooth random field (H, W) float32 of unit variance, about ``cells`` bumps across
    its longer side: normals on a grid four times finer than the bumps, smoothed with a
    Gaussian (no grid shows where a threshold cuts it) and enlarged bicubically."""
    height, width = shape
    scale = 4 * cells / max(height, width)
    small = ndimage.gaussian_filter(rng.standard_normal(
        (max(4, round(height * scale) + 4), max(4, round(width * scale) + 4))), 2.0)
    small = (small[2:-2, 2:-2] / max(small.std(), 1e-9)).astype(np.float32)
    field = Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(field)


def _digit_coverage(image: np.ndarray, height: float, ink: _Ink,
                    rng: np.random.Generator) -> np.ndarray:
    """The ink coverage of MNIST ``image`` written ``height`` pixels tall.

    Parameters
    ----------
    image : ndarray uint8 (28, 28)
        Bright ink on black.
    height : float
        Height of the ink in pixels.
    ink : _Ink
        The tool: its stroke edge, thickness and texture.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray float32 (h, w)
        Coverage in [0, 1], the ink with a margin of blank pixels.
    """
    grey = np.pad(image.astype(np.float32) / 255, 1)
    rows, cols = np.flatnonzero(grey.max(axis=1) > 0), np.flatnonzero(grey.max(axis=0) > 0)
    if rows.size == 0:
        raise ValueError("a digit with no ink cannot be drawn")
    crop = grey[rows[0] - 1:rows[-1] + 2, cols[0] - 1:cols[-1] + 2]
    zoom = height / (rows[-1] - rows[0] + 1)
    # Bicubic to at most 4 times MNIST's size, MNIST's pixel grid smoothed away there (at
    # a pen's sharp edge it showed as ripples), then bilinear to the full size.
    stage = min(zoom, 4.0)
    enlarged = np.asarray(Image.fromarray(crop).resize(
        (max(1, round(crop.shape[1] * stage)), max(1, round(crop.shape[0] * stage))),
        Image.Resampling.BICUBIC))
    if stage > 1.5:
        enlarged = ndimage.gaussian_filter(enlarged, rng.uniform(0.25, 0.45) * stage)
    if zoom > stage:
        enlarged = np.asarray(Image.fromarray(enlarged).resize(
            (round(crop.shape[1] * zoom), round(crop.shape[0] * zoom)),
            Image.Resampling.BILINEAR))
    enlarged = np.pad(np.clip(enlarged, 0, 1), abs(ink.spread) + 2)
    if ink.spread > 0:
        enlarged = ndimage.grey_dilation(enlarged, size=ink.spread + 1)
    elif ink.spread < 0:
        eroded = ndimage.grey_erosion(enlarged, size=1 - ink.spread)
        if eroded.sum() > 0.4 * enlarged.sum():  # a thin digit keeps its strokes
            enlarged = eroded
    # MNIST's strokes rise from 0 to 1 over about 1.5 of its pixels: steepened to an
    # edge ``ink.edge`` pixels wide, around the level that sets the stroke's width (the
    # blank staying blank and the strokes' cores fully inked).
    softness = min(ink.edge / (1.5 * max(zoom, 1e-3)), 2 * ink.level, 2 * (1 - ink.level))
    coverage = np.clip((enlarged - ink.level) / softness + 0.5, 0, 1)
    return coverage.astype(np.float32)


def _stroke_width(coverage: np.ndarray) -> float:
    """Mean width in pixels of the strokes in ``coverage``: twice the area over the
    outline's length."""
    dy, dx = np.gradient(coverage)
    return float(2 * coverage.sum() / max(np.hypot(dy, dx).sum(), 1e-6))


def _stroke(points: np.ndarray, width: float) -> tuple[np.ndarray, int, int]:
    """Anti-aliased coverage of a polyline of ``width`` pixels.

    Parameters
    ----------
    points : ndarray (K, 2)
        Its vertices as (x, y), K >= 2 (two equal points draw a dot).
    width : float

    Returns
    -------
    coverage : ndarray float32 (h, w)
    top, left : int
        Where ``coverage[0, 0]`` lies.
    """
    pad = width / 2 + 2
    left, top = np.floor(points.min(axis=0) - pad).astype(int)
    right, bottom = np.ceil(points.max(axis=0) + pad).astype(int)
    ys = np.arange(top, bottom + 1, dtype=np.float32)[:, None]
    xs = np.arange(left, right + 1, dtype=np.float32)[None, :]
    distance = np.full((ys.size, xs.size), np.inf, np.float32)
    for (ax, ay), (bx, by) in zip(points[:-1], points[1:], strict=True):
        ex, ey = bx - ax, by - ay
        t = np.clip(((xs - ax) * ex + (ys - ay) * ey) / max(ex * ex + ey * ey, 1e-9), 0, 1)
        np.minimum(distance, np.hypot(xs - ax - t * ex, ys - ay - t * ey), out=distance)
    return np.clip(width / 2 + 0.5 - distance, 0, 1), int(top), int(left)


@cache
def _bitmap_font() -> ImageFont.ImageFont:
    return ImageFont.load_default_imagefont()


def _printed_text(rng: np.random.Generator, height: float) -> np.ndarray:
    """Coverage (h, w) of a short printed label about ``height`` pixels tall: letters of
    Pillow's bitmap font, or procedural marks that look like print from afar."""
    words = [("".join(rng.choice(list(LETTERS), int(rng.integers(1, 8)))))
             for _ in range(int(rng.integers(1, 4)))]
    text = " ".join(words) + (":" if rng.random() < 0.3 else "")
    if rng.random() < 0.6:
        font = _bitmap_font()
        box = font.getbbox(text)
        image = Image.new("L", (box[2] + 2, 13), 0)
        ImageDraw.Draw(image).text((1, 0), text, fill=255, font=font)
    else:
        image = Image.new("L", (7 * len(text) + 2, 13), 0)
        draw, x = ImageDraw.Draw(image), 1
        for char in text:
            if char != " ":
                top = 1 if rng.random() < 0.3 else 4  # an ascender or a small letter
                shape = rng.integers(4)
                if shape == 0:
                    draw.line([(x + 1, top), (x + 1, 11)], fill=255)
                elif shape == 1:
                    draw.line([(x, top), (x, 11)], fill=255)
                    draw.arc([(x, 4), (x + 4, 11)], 180, 360, fill=255)
                    draw.line([(x + 4, 7), (x + 4, 11)], fill=255)
                elif shape == 2:
                    draw.ellipse([(x, 5), (x + 4, 11)], outline=255)
                else:
                    draw.arc([(x, 5), (x + 4, 11)], 40, 320, fill=255)
            x += int(rng.integers(5, 8))
        image = image.crop((0, 0, x + 1, 13))
    scale = max(height, 4) / 10
    image = image.resize((max(2, round(image.width * scale)), max(2, round(13 * scale))),
                         Image.Resampling.BILINEAR)
    return np.asarray(image, np.float32) / 255


@dataclass
class _Page:
    """The page canvas: pixel (i, j) lies at page point (x0 + j, y0 + i)."""

    rgb: np.ndarray  # (H, W, 3) float32
    x0: int
    y0: int

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Page x (1, W) and y (H, 1) of the canvas's pixels."""
        height, width = self.rgb.shape[:2]
        return (np.arange(width, dtype=np.float32)[None, :] + self.x0,
                np.arange(height, dtype=np.float32)[:, None] + self.y0)

    def lay(self, coverage: np.ndarray, top: int, left: int, colour: np.ndarray,
            opacity: float = 1.0) -> None:
        """Ink of reflectance ``colour`` (3,) with ``coverage`` (h, w), its pixel [0, 0]
        at page point (left, top), multiplied onto the canvas; what falls outside it is
        cut off."""
        top, left = top - self.y0, left - self.x0
        y0, x0 = max(top, 0), max(left, 0)
        y1 = min(top + coverage.shape[0], self.rgb.shape[0])
        x1 = min(left + coverage.shape[1], self.rgb.shape[1])
        if y0 < y1 and x0 < x1:
            part = coverage[y0 - top:y1 - top, x0 - left:x1 - left, None]
            self.rgb[y0:y1, x0:x1] *= 1 - part * (opacity * (1 - colour))

    def lay_stroke(self, points: np.ndarray, width: float, colour: np.ndarray,
                   opacity: float = 1.0) -> None:
        """Ink along the polyline ``points`` (K, 2) of page points, ``width`` wide."""
        coverage, top, left = _stroke(points, width)
        self.lay(coverage, top, left, colour, opacity)


def _project(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` (N, 2) mapped by homography ``matrix`` (3, 3); (N, 3) with the third
    homogeneous coordinate kept as the last column."""
    moved = np.c_[points, np.ones(len(points))] @ matrix.T
    return np.c_[moved[:, :2] / moved[:, 2:], moved[:, 2]]


def _tilt(direction: float, angle: float) -> np.ndarray:
    """Rotation (3, 3) by ``angle`` about the axis at ``direction`` in the image plane."""
    axis = np.array([np.cos(direction), np.sin(direction), 0.0])
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]],
                      [-axis[1], axis[0], 0]])
    return (np.eye(3) * np.cos(angle) + np.sin(angle) * cross
            + (1 - np.cos(angle)) * np.outer(axis, axis))


def _camera(rng: np.random.Generator, shape: tuple[int, int], turn: float,
            tilt: np.ndarray | None, ink_box: tuple[float, float, float, float],
            margin: float) -> np.ndarray:
    """The homography (3, 3) from page (x, y) to picture (column, row): the page turned
    by ``turn`` radians in its plane, then seen by a camera rotated by ``tilt`` (3, 3)
    (None: straight on), scaled down if need be and shifted so that the digit's ink
    ``ink_box`` (left, right, top, bottom on the page) lies ``margin`` pixels inside."""
    height, width = shape
    matrix = np.array([[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0],
                       [0, 0, 1]])
    if tilt is not None:
        lens = np.diag([rng.uniform(1.0, 2.5) * max(shape)] * 2 + [1.0])
        matrix = lens @ tilt @ np.linalg.inv(lens) @ matrix
    left, right, top, bottom = ink_box
    corners = _project(matrix, np.array([[left, top], [right, top], [left, bottom],
                                         [right, bottom]]))[:, :2]
    low, high = corners.min(axis=0), corners.max(axis=0)
    room = np.array([width, height]) - 1 - 2 * margin
    scale = min(1.0, *(room / (high - low)))
    spread = rng.random(2) if rng.random() < 0.3 else (rng.random(2) + rng.random(2)) / 2
    first = margin - scale * low
    last = np.array([width, height]) - 1 - margin - scale * high
    shift = first + (last - first) * spread
    return _shift(*shift) @ np.diag([scale, scale, 1.0]) @ matrix


def _shift(x: float, y: float) -> np.ndarray:
    """The homography (3, 3) adding (x, y)."""
    return np.array([[1.0, 0.0, x], [0.0, 1.0, y], [0.0, 0.0, 1.0]])


def _seen_coverage(coverage: np.ndarray, left: int, top: int, camera: np.ndarray,
                   shape: tuple[int, int]) -> np.ndarray:
    """``coverage`` (h, w) lying at page point (left, top), as the picture of ``shape``
    sees it through ``camera``: (H, W) float32, zero below 1/255. Only the pixels around
    its image are resampled."""
    height, width = coverage.shape
    corners = _project(camera, np.array([[left - 1, top - 1], [left + width, top - 1],
                                         [left - 1, top + height],
                                         [left + width, top + height]], float))[:, :2]
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 1, shape[::-1])
    seen = np.zeros(shape, np.float32)
    to_patch = _shift(-left, -top) @ np.linalg.inv(camera) @ _shift(x0, y0)
    seen[y0:y1, x0:x1] = warp(coverage, ProjectiveTransform(matrix=to_patch),
                              output_shape=(y1 - y0, x1 - x0), order=1, mode="constant")
    seen[seen < 1 / 255] = 0
    return np.clip(seen, 0, 1)


def _page_window(camera: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The page's pixels the picture sees, (x0, y0, width, height), or None if the view
    is too steep (near the horizon) for a canvas of reasonable size."""
    height, width = shape
    corners = _project(np.linalg.inv(camera), np.array(
        [[-1, -1], [width, -1], [-1, height], [width, height]], float))
    if np.any(corners[:, 2] <= 0.2 * np.abs(corners[:, 2]).max()):
        return None
    x0, y0 = np.floor(corners[:, :2].min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(corners[:, :2].max(axis=0)).astype(int) + 2
    if max(x1 - x0, y1 - y0) > MAX_CANVAS * max(shape):
        return None
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def _paper(rng: np.random.Generator, kind: str) -> np.ndarray:
    """The reflectance (3,) of paper of ``kind``."""
    if kind == "white":
        return np.clip(rng.uniform(0.84, 0.98) + rng.normal(0, 0.015, 3), 0, 1)
    if kind == "cream":
        return _hsv(rng.uniform(0.09, 0.16), rng.uniform(0.06, 0.2), rng.uniform(0.84, 0.98))
    if kind == "grey":
        return np.clip(rng.uniform(0.55, 0.85) + rng.normal(0, 0.01, 3), 0, 1)
    if kind == "recycled":
        return _hsv(rng.uniform(0.07, 0.14), rng.uniform(0.04, 0.15), rng.uniform(0.7, 0.88))
    return _hsv(rng.random(), rng.uniform(0.12, 0.65), rng.uniform(0.55, 0.97))


def _printing_colour(rng: np.random.Generator, kind: str) -> np.ndarray:
    """Reflectance (3,) of a printed ``kind``: ``"ruling"`` (light blue, grey, green,
    pink), ``"margin"`` (red), ``"form"`` (black, blue or a dropout red), ``"text"``."""
    if kind == "ruling":
        hue = rng.choice([0.58, 0.6, 0.33, 0.95, 0.08, 0.0])
        return _hsv(hue, rng.uniform(0, 0.7), rng.uniform(0.55, 0.9))
    if kind == "margin":
        return _hsv(rng.uniform(-0.03, 0.03) % 1, rng.uniform(0.4, 0.9), rng.uniform(0.6, 0.95))
    if kind == "form" and rng.random() < 0.5:
        return _hsv(rng.choice([0.0, 0.6, 0.55, 0.08]), rng.uniform(0.3, 0.8),
                    rng.uniform(0.35, 0.9))
    return np.full(3, rng.uniform(0.05, 0.35), np.float32)


def _ruling(page: _Page, choices: _Choices, rng: np.random.Generator, kind: str | None,
            ink_box: tuple[float, float, float, float], digit_height: float) -> None:
    """Ruled lines, a grid or dots across the page, and a margin line."""
    xs, ys = page.coords()
    left, right, top, bottom = ink_box

    def lines(coords: np.ndarray, spacing: float, phase: float, width: float) -> np.ndarray:
        u = (coords - phase) / spacing
        return np.clip(width / 2 + 0.5 - np.abs(u - np.round(u)) * spacing, 0, 1)

    colour, opacity = _printing_colour(rng, "ruling"), rng.uniform(0.3, 0.9)
    width = rng.uniform(0.6, 1.8)
    if kind == "ruled":
        spacing = digit_height * rng.uniform(0.7, 1.5)
        baseline = bottom + digit_height * rng.uniform(-0.15, 0.12)
        coverage = np.broadcast_to(lines(ys, spacing, baseline, width), page.rgb.shape[:2])
        page.lay(coverage, page.y0, page.x0, colour, opacity)
    elif kind in ("grid", "dot_grid"):
        spacing = digit_height * (rng.uniform(0.3, 0.9) if rng.random() < 0.75
                                  else rng.uniform(0.08, 0.2))
        phase = rng.uniform(0, spacing, 2).tolist()
        across, down = lines(xs, spacing, phase[0], width), lines(ys, spacing, phase[1], width)
        if kind == "grid":
            coverage = 1 - (1 - across) * (1 - down)
            if spacing < 0.25 * digit_height:  # graph paper: faint lines, every 5th or
                every = spacing * int(rng.choice([5, 10]))  # 10th one heavier
                heavy = width * rng.uniform(1.2, 2.0)
                coverage = np.maximum(rng.uniform(0.3, 0.6) * coverage, 1 - (
                    1 - lines(xs, every, phase[0], heavy)) * (1 - lines(ys, every, phase[1],
                                                                        heavy)))
        else:
            u = (xs - phase[0]) / spacing
            v = (ys - phase[1]) / spacing
            radius = width * rng.uniform(0.8, 1.6)
            coverage = np.clip(radius / 2 + 0.5 - spacing * np.hypot(
                u - np.round(u), v - np.round(v)), 0, 1)
        page.lay(coverage, page.y0, page.x0, colour, opacity)
    if choices.on("margin"):
        spot = left - digit_height * rng.uniform(0.15, 2.0)
        if rng.random() < 0.15:
            spot = rng.uniform(left, right)  # the digit written across the margin
        width = rng.uniform(0.8, 2.2)
        coverage = np.clip(width / 2 + 0.5 - np.abs(xs - spot), 0, 1)
        if rng.random() < 0.2:  # a double margin line
            coverage = np.maximum(coverage, np.clip(width / 2 + 0.5 - np.abs(
                xs - spot - rng.uniform(2.5, 5)), 0, 1))
        page.lay(np.broadcast_to(coverage, page.rgb.shape[:2]), page.y0, page.x0,
                 _printing_colour(rng, "margin"))


def _form_box(page: _Page, choices: _Choices, rng: np.random.Generator,
              ink_box: tuple[float, float, float, float], digit_height: float) -> None:
    """A printed box around the digit (or a comb of boxes), with a printed label."""
    left, right, top, bottom = ink_box
    pads = digit_height * rng.uniform(0.06, 0.45, 4)
    if rng.random() < 0.3:  # the digit touches or crosses a side of its box
        pads[rng.integers(4)] = digit_height * rng.uniform(-0.2, 0.02)
    box_left, box_right = left - pads[0], right + pads[1]
    box_top, box_bottom = top - pads[2], bottom + pads[3]
    colour, width = _printing_colour(rng, "form"), rng.uniform(0.7, 2.5)
    if choices.on("comb"):
        cell = box_right - box_left
        cells_left, cells_right = rng.integers(0, 5, 2)
        divider = rng.uniform(0.3, 1.0) if rng.random() < 0.3 else 1.0
        for k in range(-int(cells_left), int(cells_right) + 2):
            x = box_left + k * cell
            page.lay_stroke(np.array([[x, box_bottom - divider * (box_bottom - box_top)],
                                      [x, box_bottom]]), width, colour)
        span = np.array([box_left - cells_left * cell, box_right + cells_right * cell])
        for y in (box_top, box_bottom):
            page.lay_stroke(np.array([[span[0], y], [span[1], y]]), width, colour)
        box_left = span[0]
    else:
        page.lay_stroke(np.array([[box_left, box_top], [box_right, box_top],
                                  [box_right, box_bottom], [box_left, box_bottom],
                                  [box_left, box_top]]), width, colour)
    if choices.on("label"):
        text = _printed_text(rng, digit_height * rng.uniform(0.12, 0.3))
        gap = text.shape[0] * rng.uniform(0.2, 1.0)
        if rng.random() < 0.6:  # before the box, or above it
            at = (round((box_top + box_bottom - text.shape[0]) / 2),
                  round(box_left - gap - text.shape[1]))
        else:
            at = (round(box_top - gap - text.shape[0]), round(box_left))
        page.lay(text, *at, _printing_colour(rng, "text"))


def _print_lines(page: _Page, rng: np.random.Generator,
                 ink_box: tuple[float, float, float, float], digit_height: float) -> None:
    """A few printed labels scattered on the page, none over the digit."""
    left, right, top, bottom = ink_box
    guard = 0.2 * digit_height
    colour, size = _printing_colour(rng, "text"), digit_height * rng.uniform(0.1, 0.3)
    height, width = page.rgb.shape[:2]
    for _ in range(int(rng.integers(1, 6))):
        text = _printed_text(rng, size)
        y = page.y0 + int(rng.integers(0, height))
        x = page.x0 + int(rng.integers(-text.shape[1] // 2, width))
        if (y < bottom + guard and y + text.shape[0] > top - guard
                and x < right + guard and x + text.shape[1] > left - guard):
            continue
        page.lay(text, y, x, colour)


def _hand_stroke(rng: np.random.Generator, start: np.ndarray, end: np.ndarray,
                 wobble: float) -> np.ndarray:
    """An open, nearly straight handwritten line (K, 2) from ``start`` to ``end``,
    bending sideways by about ``wobble`` pixels: its points only advance from ``start``
    towards ``end``, so it never crosses itself or closes a loop."""
    steps = int(rng.integers(3, 7))
    t = np.linspace(0, 1, steps)[:, None]
    points = start + t * (end - start)
    normal = np.array([-(end - start)[1], (end - start)[0]])
    normal /= max(np.hypot(*normal), 1e-9)
    bend = wobble * (np.sin(np.pi * t * rng.uniform(0.5, 2) + rng.uniform(0, np.pi))
                     + 0.3 * rng.standard_normal((steps, 1)))
    return points + bend * normal


def _ink_clutter(page: _Page, choices: _Choices, rng: np.random.Generator, ink: _Ink,
                 ink_box: tuple[float, float, float, float], digit_height: float,
                 stroke_width: float) -> None:
    """Underlines and strike-throughs by the writer, specks of dirt."""
    left, right, top, bottom = ink_box
    wide = right - left

    def pen() -> tuple[np.ndarray, float]:
        if rng.random() < 0.7:
            return ink.colour, ink.opacity
        other = _random_ink("pen", 1.0, rng)
        return other.colour, other.opacity

    if choices.on("underline"):
        colour, opacity = pen()
        y = bottom + digit_height * rng.uniform(0.03, 0.25)
        for row in range(2 if rng.random() < 0.2 else 1):
            y += row * digit_height * rng.uniform(0.08, 0.15)
            start = np.array([left - wide * rng.uniform(0, 0.4), y])
            end = np.array([right + wide * rng.uniform(0, 0.4),
                            y + wide * rng.uniform(-0.1, 0.1)])
            page.lay_stroke(_hand_stroke(rng, start, end, 0.02 * digit_height),
                            stroke_width * rng.uniform(0.6, 1.1), colour, opacity)
    if choices.on("strike"):
        colour, opacity = pen()
        middle = (top + bottom) / 2
        if rng.random() < 0.6:  # through the digit
            y = middle + digit_height * rng.uniform(-0.25, 0.25)
        else:  # just above or below it
            y = (top - digit_height * rng.uniform(0.03, 0.2) if rng.random() < 0.5
                 else bottom + digit_height * rng.uniform(0.03, 0.2))
        rise = digit_height * rng.uniform(-0.4, 0.4) * (rng.random() < 0.4)
        start = np.array([left - wide * rng.uniform(0.05, 0.5), y - rise / 2])
        end = np.array([right + wide * rng.uniform(0.05, 0.5), y + rise / 2])
        page.lay_stroke(_hand_stroke(rng, start, end, 0.02 * digit_height),
                        stroke_width * rng.uniform(0.6, 1.1), colour, opacity)
    if choices.on("specks"):
        height, width = page.rgb.shape[:2]
        for _ in range(int(rng.integers(2, 40))):
            spot = np.array([page.x0 + rng.uniform(0, width), page.y0 + rng.uniform(0, height)])
            size = rng.uniform(0.4, 2.0) * (rng.uniform(1, 4) if rng.random() < 0.1 else 1)
            grey = np.full(3, rng.uniform(0.05, 0.6), np.float32)
            page.lay_stroke(np.stack([spot, spot + rng.uniform(-0.5, 0.5, 2)]), size,
                            grey, rng.uniform(0.3, 1.0))


def _fibres(page: _Page, rng: np.random.Generator) -> None:
    """Recycled paper's fibres and flecks."""
    height, width = page.rgb.shape[:2]
    for _ in range(int(rng.integers(5, 6 + height * width // 3000))):
        start = np.array([page.x0 + rng.uniform(0, width), page.y0 + rng.uniform(0, height)])
        end = start + rng.uniform(-5, 5, 2)
        colour = _hsv(rng.random(), rng.uniform(0, 0.5), rng.uniform(0.3, 0.8))
        page.lay_stroke(np.stack([start, end]), rng.uniform(0.4, 1.0), colour,
                        rng.uniform(0.1, 0.4))


def _neighbours(page: _Page, rng: np.random.Generator, digits: np.ndarray, ink: _Ink,
                camera: np.ndarray, shape: tuple[int, int],
                ink_box: tuple[float, float, float, float], digit_height: float) -> bool:
    """Other training digits in the same hand, cut by the picture's edges; True if any
    was drawn (one whose ink would come near the digit's is left out)."""
    height, width = shape
    left, right, top, bottom = ink_box
    guard = 0.12 * digit_height
    inverse = np.linalg.inv(camera)
    centre = _project(camera, np.array([[(left + right) / 2, (top + bottom) / 2]]))[0, :2]
    edges = np.array([[-0.5, centre[1]], [width - 0.5, centre[1]],
                      [centre[0], -0.5], [centre[0], height - 0.5]])
    drawn = False
    for side in rng.permutation(4)[:int(rng.integers(1, 4))]:
        image = digits[rng.integers(len(digits))]
        coverage = _digit_coverage(image, digit_height * rng.uniform(0.85, 1.15), ink, rng)
        rows, cols = coverage.shape
        at = _project(inverse, edges[side:side + 1])[0, :2]
        outward = at - _project(inverse, centre[None])[0, :2]
        outward /= max(np.hypot(*outward), 1e-9)
        middle = at + outward * rng.uniform(-0.1, 0.3) * max(rows, cols)  # 20-60 % seen
        middle += np.array([-outward[1], outward[0]]) * rng.uniform(-0.1, 0.1) * digit_height
        y, x = round(middle[1] - rows / 2), round(middle[0] - cols / 2)
        if y < bottom + guard and y + rows > top - guard and x < right + guard \
                and x + cols > left - guard:
            continue
        page.lay(coverage, y, x, ink.colour, ink.opacity)
        drawn = True
    return drawn


def _desk(page: _Page, rng: np.random.Generator, camera: np.ndarray, shape: tuple[int, int],
          ink_box: tuple[float, float, float, float], digit_height: float,
          paper: np.ndarray) -> float | None:
    """A darker desk beyond one or two edges of the page, the page covering at least
    :data:`MIN_PAGE_SHARE` of the picture; the page's share, or None if no edge fits."""
    height, width = shape
    left, right, top, bottom = ink_box
    grid = np.stack(np.meshgrid(np.linspace(0, width - 1, 24), np.linspace(0, height - 1, 24)),
                    axis=-1).reshape(-1, 2)
    seen = _project(np.linalg.inv(camera), grid)[:, :2]
    centre = np.array([(left + right) / 2, (top + bottom) / 2])
    for _ in range(4):  # a side of the page, maybe a corner, with room for the desk
        first = rng.integers(4) * np.pi / 2 + np.deg2rad(rng.uniform(-3, 3))
        corner = rng.random() < 0.3
        normals = np.array([[np.cos(a), np.sin(a)] for a in
                            [first, first + np.pi / 2 * rng.choice([-1, 1])][:1 + corner]])
        half = np.abs(normals) @ np.array([(right - left) / 2, (bottom - top) / 2])
        along = (seen - centre) @ normals.T
        target = rng.uniform(MIN_PAGE_SHARE, 0.95) ** (1 / len(normals))
        reach = np.maximum(half + 0.3 * digit_height + 3, np.quantile(along, target, axis=0))
        share = float(np.mean(np.all(along < reach, axis=1)))
        if MIN_PAGE_SHARE <= share < 0.98:
            break
    else:
        return None
    xs, ys = page.coords()
    inside = np.min([float(r - centre @ n) - (xs * float(n[0]) + ys * float(n[1]))
                     for r, n in zip(reach, normals, strict=True)], axis=0)
    desk_colour = (_hsv(rng.uniform(0.05, 0.11), rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.6))
                   if rng.random() < 0.5 else
                   _hsv(rng.random(), rng.uniform(0, 0.4), rng.uniform(0.05, 0.5)))
    desk_colour *= min(1.0, 0.7 * _luminance(paper) / max(_luminance(desk_colour), 1e-3))
    grain = rng.standard_normal((3, 60)).astype(np.float32)  # the wood's grain, or a weave
    height, width = page.rgb.shape[:2]
    streaks = (np.asarray(Image.fromarray(grain).resize((width, height), Image.Resampling.BICUBIC))
               if rng.random() < 0.5 else np.asarray(Image.fromarray(grain).resize(
                   (height, width), Image.Resampling.BICUBIC)).T)
    texture = 1 + rng.uniform(0.02, 0.15) * streaks + rng.uniform(0, 0.04) * _smooth_field(
        rng, (height, width), 8)
    shade = 1 - rng.uniform(0.2, 0.6) * np.exp(np.minimum(inside, 0) / rng.uniform(2, 10))
    desk = desk_colour * (texture * shade)[..., None]
    paper_part = np.clip(inside + 0.5, 0, 1)[..., None]
    page.rgb[:] = page.rgb * paper_part + desk * (1 - paper_part)
    return share


def _crease(page: _Page, rng: np.random.Generator) -> None:
    """A fold across the page: a soft dark line, one side a little darker."""
    xs, ys = page.coords()
    height, width = page.rgb.shape[:2]
    angle = rng.uniform(0, np.pi)
    through = np.array([page.x0 + rng.uniform(0, width), page.y0 + rng.uniform(0, height)])
    sin, cos = float(np.sin(angle)), float(np.cos(angle))
    across = xs * sin - ys * cos - float(through[0] * sin - through[1] * cos)
    soft = rng.uniform(1, 6)
    shade = (1 - rng.uniform(0.04, 0.15) * np.exp(-(across / soft) ** 2)
             - rng.uniform(0, 0.06) * (across > 0))
    page.rgb *= shade[..., None]


def _light(picture: np.ndarray, choices: _Choices, rng: np.random.Generator) -> None:
    """Illumination, shadow, glare and the lamp's colour, then the camera's exposure,
    on ``picture`` in place."""
    height, width = picture.shape[:2]
    u = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    v = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    if choices.on("illumination"):
        gain = rng.uniform(0.75, 1.15) + rng.uniform(-0.3, 0.3) * u + rng.uniform(-0.3, 0.3) * v
        if rng.random() < 0.5:
            gain = gain * (1 - rng.uniform(0, 0.35) * (u * u + v * v) / 2)
        picture *= gain[..., None]
    if choices.on("shadow"):
        if rng.random() < 0.5:  # the straight edge of a hand's or phone's shadow
            angle = rng.uniform(0, 2 * np.pi)
            field = (u * np.cos(angle) + v * np.sin(angle) - rng.uniform(-0.7, 0.7))
            shadow = np.clip(field / rng.uniform(0.02, 0.5) + 0.5, 0, 1)
        else:
            field = _smooth_field(rng, (height, width), rng.uniform(1, 3))
            shadow = np.clip((field - rng.uniform(-0.8, 0.8)) / rng.uniform(0.3, 1.5) + 0.5,
                             0, 1)
        tint = (1 - rng.uniform(0, 0.1, 3) * (rng.random() < 0.5)).astype(np.float32)
        picture *= 1 - rng.uniform(0.25, 0.65) * shadow[..., None] * tint
    if choices.on("glare"):
        for _ in range(int(rng.integers(1, 3))):
            su, sv = rng.uniform(0.05, 0.5, 2).tolist()
            cu, cv = rng.uniform(-1, 1, 2).tolist()
            spot = np.exp(-((u - cu) / su) ** 2 / 2) * np.exp(-((v - cv) / sv) ** 2 / 2)
            picture += (1 - np.clip(picture, 0, 1)) * (rng.uniform(0.3, 0.9) * spot)[..., None]
    if choices.on("colour_cast"):
        picture *= (1 + rng.uniform(-0.1, 0.1, 3)).astype(np.float32)
    # The camera brings the brightest part of the view partly or fully towards white.
    bright = max(float(np.percentile(_luminance(picture[::4, ::4]), 95)), 1e-3)
    picture *= min(3.0, (rng.uniform(0.7, 1.05) / bright) ** rng.uniform(0.5, 1.0))


def _motion_blur(picture: np.ndarray, length: float, angle: float) -> np.ndarray:
    """``picture`` (H, W, C) smeared along a line of ``length`` pixels at ``angle``: two
    passes of 6 shifted copies, 36 points along the line."""
    step = np.array([np.sin(angle), np.cos(angle)]) * length
    for spacing in (step / 6, step / 36):
        shifts = np.round(np.arange(-2.5, 3.5)[:, None] * spacing).astype(int)
        pad = int(np.abs(shifts).max())
        padded = np.pad(picture, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        height, width = picture.shape[:2]
        picture = sum(padded[pad + dy:pad + dy + height, pad + dx:pad + dx + width]
                      for dy, dx in shifts) / len(shifts)
    return picture


def _optics(picture: np.ndarray, choices: _Choices, rng: np.random.Generator,
            digit_height: float) -> np.ndarray:
    """Focus blur, motion blur and sensor noise: ``picture`` (H, W, 3) float32."""
    if choices.on("blur", CHANCES["blur"] * (2 if min(picture.shape[:2]) < 64 else 1)):
        sigma = rng.uniform(0.4, 1.0) * max(0.7, 0.03 * digit_height)
        picture = ndimage.gaussian_filter(picture, (sigma, sigma, 0), truncate=3)
    if choices.on("motion_blur"):
        picture = _motion_blur(picture, digit_height * rng.uniform(0.03, 0.1) + 1.5,
                               rng.uniform(0, np.pi))
    if choices.on("noise"):
        sigma = rng.uniform(0.005, 0.05)
        picture = picture + sigma * rng.standard_normal(picture.shape[:2] + (1,),
                                                        dtype=np.float32)
        if rng.random() < 0.5:
            picture += 0.5 * sigma * rng.standard_normal(picture.shape, dtype=np.float32)
    return picture


def _file(picture: np.ndarray, choices: _Choices, rng: np.random.Generator,
          digit_height: float) -> np.ndarray:
    """``picture`` (H, W, 3) float32 as uint8, maybe at low resolution (the digit kept
    at least 12 pixels tall) and re-encoded."""
    picture = (np.clip(picture, 0, 1) * 255 + 0.5).astype(np.uint8)
    image = Image.fromarray(picture)
    if choices.on("low_resolution"):
        factor = min(rng.uniform(1.5, 5.0), max(1.2, digit_height / 12))
        down = (Image.Resampling.BOX, Image.Resampling.BILINEAR)[rng.integers(2)]
        up = (Image.Resampling.NEAREST, Image.Resampling.BILINEAR,
              Image.Resampling.BICUBIC)[rng.choice(3, p=[0.1, 0.45, 0.45])]
        small = image.resize((max(1, round(image.width / factor)),
                              max(1, round(image.height / factor))), down)
        image = small.resize(image.size, up)
    if choices.on("jpeg"):
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=int(rng.integers(15, 96)))
        image = Image.open(buffer).convert("RGB")
    return np.array(image)


def _picture_shape(rng: np.random.Generator) -> tuple[int, int]:
    """A random (height, width): short side 24-64 one time in ten, 64-256 (log-uniform)
    most often, 256-400 one time in eight; the long side up to 1.5 times the short."""
    draw = rng.random()
    if draw < 0.1:
        short = rng.uniform(24, 64)
    elif draw < 0.875:
        short = np.exp(rng.uniform(np.log(64), np.log(256)))
    else:
        short = rng.uniform(256, 400)
    long = short * (1.0 if rng.random() < 0.3 else rng.uniform(1.0, 1.5))
    shape = (round(short), round(long))
    return shape if rng.random() < 0.5 else shape[::-1]


def _digit_height(rng: np.random.Generator, shape: tuple[int, int]) -> float:
    """Height of the digit's ink: most of a small picture (a crop of the digit), else
    from an eighth of the short side to nearly all of it."""
    short, draw = min(shape), rng.random()
    if short < 64 or draw < 0.15:
        share = rng.uniform(0.6, 0.95)
    elif draw < 0.3:
        share = rng.uniform(0.12, 0.3)
    else:
        share = rng.uniform(0.3, 0.65)
    return max(12.0, share * short)


def make_scene(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
               size: int | tuple[int, int] | None = None, force: Iterable[str] = (),
               exclude: Iterable[str] = ()) -> Scene:
    """One digit of ``digits`` handwritten on a random page and photographed.

    Parameters
    ----------
    digits : ndarray uint8 (N, 28, 28)
        Bright ink on black: MNIST's training images (:func:`training_digits`). The
        digit drawn, and any neighbours, are chosen from them.
    labels : ndarray of int (N,)
        Their classes.
    rng : numpy.random.Generator
        Every choice is drawn from it: the same state, the same scene.
    size : int or tuple of int, optional
        The picture's (height, width), or its side if square; random by default (24 to
        400 pixels on the short side, most 64 to 256).
    force : iterable of str
        Kinds of :data:`KINDS` to use whatever their chance (one paper, ruling and ink
        at most; ``comb`` and ``label`` bring a ``box``).
    exclude : iterable of str
        Kinds never to use (a paper or ink excluded leaves the others' chances in
        proportion).

    Returns
    -------
    Scene

    Raises
    ------
    ValueError
        If the arrays disagree, a kind is unknown or held out (:data:`HELD_OUT`), or
        forced together with what it excludes (a ``desk`` with ``coloured`` paper).
    """
    digits, labels = np.asarray(digits), np.asarray(labels)
    if digits.ndim != 3 or len(digits) == 0 or labels.shape != (len(digits),) \
            or digits.dtype != np.uint8:
        raise ValueError(f"digits uint8 (N, H, W) and labels (N,) expected, got "
                         f"{digits.dtype} {digits.shape} and {labels.shape}")
    force = set(force)
    if force & {"comb", "label"}:
        force.add("box")
    exclude = set(exclude)
    if "coloured" in force:  # coloured paper fills the picture (held out: sticky_note)
        if "desk" in force:
            raise ValueError("a desk shows only around white, cream, grey or recycled "
                             "paper (a sticky note on a desk is held out)")
        exclude.add("desk")
    choices = _Choices(rng, force, exclude)
    if size is None:
        shape = _picture_shape(rng)
    else:
        shape = (int(size),) * 2 if np.ndim(size) == 0 else (int(size[0]), int(size[1]))
        if min(shape) < 16:
            raise ValueError(f"pictures have at least 16 pixels a side, not {shape}")
    index = int(rng.integers(len(digits)))
    digit_height = _digit_height(rng, shape)
    zoom = digit_height / 20
    desk = choices.on("desk")
    if desk:
        paper_kind = choices.one_of({k: PAPERS[k] for k in DESK_PAPERS}, required=True)
    else:
        paper_kind = choices.one_of(PAPERS, required=True)
    ruling = choices.one_of(RULINGS, required=False)
    tool = choices.one_of(INKS, required=True)
    ink = _random_ink(str(tool), zoom, rng)
    coverage = _digit_coverage(digits[index], digit_height, ink, rng)
    rows, cols = np.flatnonzero(coverage.max(axis=1) > 0), np.flatnonzero(coverage.max(axis=0) > 0)
    patch_top, patch_left = -(coverage.shape[0] // 2), -(coverage.shape[1] // 2)
    ink_box = (patch_left + int(cols[0]) - 0.5, patch_left + int(cols[-1]) + 0.5,
               patch_top + int(rows[0]) - 0.5, patch_top + int(rows[-1]) + 0.5)
    margin = max(1.0, 0.02 * min(shape))

    turn = np.deg2rad(rng.uniform(-15, 15)) if choices.on("rotation") else 0.0
    tilt = (_tilt(rng.uniform(0, 2 * np.pi), np.deg2rad(rng.uniform(8, 35)))
            if choices.on("perspective") else None)
    camera = _camera(rng, shape, turn, tilt, ink_box, margin)
    window = _page_window(camera, shape)
    if window is None:  # too steep a view for the canvas: taken straight on instead
        choices.kinds.discard("perspective")
        camera = _camera(rng, shape, turn, None, ink_box, margin)
        window = _page_window(camera, shape)  # straight on, it always fits
    x0, y0, canvas_width, canvas_height = window

    paper = _paper(rng, str(paper_kind)).astype(np.float32)
    tone = np.ones((canvas_height, canvas_width), np.float32)
    if choices.on("mottling"):
        tone += rng.uniform(0.005, 0.035) * _smooth_field(
            rng, tone.shape, rng.uniform(2, 6) * max(tone.shape) / max(shape))
    if choices.on("grain"):
        tone += rng.uniform(0.004, 0.03) * rng.standard_normal(tone.shape, dtype=np.float32)
    page = _Page(paper * tone[..., None], x0, y0)
    if paper_kind == "recycled":
        _fibres(page, rng)
    _ruling(page, choices, rng, ruling, ink_box, digit_height)
    if choices.on("box"):
        _form_box(page, choices, rng, ink_box, digit_height)
    if choices.on("print"):
        _print_lines(page, rng, ink_box, digit_height)
    if choices.on("neighbours") and not _neighbours(
            page, rng, digits, ink, camera, shape, ink_box, digit_height):
        choices.kinds.discard("neighbours")
    texture = np.ones_like(coverage)
    if ink.tooth:
        texture -= ink.tooth * rng.random(coverage.shape, dtype=np.float32)
    if ink.pressure:
        texture -= ink.pressure * np.abs(_smooth_field(rng, coverage.shape, 4))
    page.lay(coverage * np.clip(texture, 0, 1), patch_top, patch_left, ink.colour, ink.opacity)
    _ink_clutter(page, choices, rng, ink, ink_box, digit_height, _stroke_width(coverage))
    share = 1.0
    if desk:
        placed = _desk(page, rng, camera, shape, ink_box, digit_height, paper)
        if placed is None:
            choices.kinds.discard("desk")
        else:
            share = placed
    if choices.on("crease"):
        _crease(page, rng)

    picture = warp(page.rgb, ProjectiveTransform(matrix=_shift(-x0, -y0) @ np.linalg.inv(camera)),
                   output_shape=shape, order=1, mode="edge")
    digit_mask = _seen_coverage(coverage, patch_left, patch_top, camera, shape)
    _light(picture, choices, rng)
    picture = _file(_optics(picture, choices, rng, digit_height), choices, rng, digit_height)
    rows, cols = np.flatnonzero(digit_mask.any(axis=1)), np.flatnonzero(digit_mask.any(axis=0))
    return Scene(picture, digit_mask.astype(np.float32), int(labels[index]),
                 (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1),
                 frozenset(choices.kinds), share)


def make_scenes(digits: np.ndarray, labels: np.ndarray, count: int, seed: int,
                **options) -> Iterator[Scene]:
    """``count`` scenes, scene ``i`` made with ``numpy.random.default_rng([seed, i])``.

    Parameters
    ----------
    digits : ndarray uint8 (N, 28, 28)
        MNIST's training images (:func:`training_digits`).
    labels : ndarray of int (N,)
    count : int
    seed : int
        Each scene is determined by ``seed`` and its place ``i`` alone, so that workers
        may make different ranges of the same series.
    **options
        ``size``, ``force`` and ``exclude`` of :func:`make_scene`, for every scene.

    Yields
    ------
    Scene
    """
    for i in range(count):
        yield make_scene(digits, labels, np.random.default_rng([seed, i]), **options)
