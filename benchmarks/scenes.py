"""Realistic pictures of handwriting (phone photos and scans) built from MNIST test digits.

The model of a photo
--------------------
A photo of a digit written on paper is made here the way light makes it, one
physical stage after the other, all in linear-light RGB (reflectances and
radiances in [0, 1]) until the camera's tone curve turns it into 8-bit sRGB:

1. **Pen** (:func:`digit_ink`): the MNIST digit is enlarged, smoothed and
   thresholded into a shape, reduced to its centre line (skeleton, with the
   short spurs pruned) and redrawn with a round pen of constant width plus a
   slow variation of pressure, with an anti-aliased edge. The result is an
   *ink coverage* map in [0, 1] at the resolution of the photo.
2. **Paper** (albedo): an off-white, cream or grey tint (or a dark board for
   chalk), a low-frequency mottling and a fine fibre grain; optionally printed
   ruling (light blue lines, red margin) or a squared grid.
3. **Ink on paper**: dye inks (ballpoint, felt pen, graphite) *multiply* the
   paper's reflectance by their transmittance; opaque media (chalk, white gel
   pen) *cover* it. Ink density varies slowly along the stroke (a ballpoint
   that skips); pencil and chalk only mark the tops of the paper's tooth, so
   their coverage is broken up by a grain texture.
4. **Things on the page**: dust, dots and a few specks of ink.
5. **The page in the world**: the page may cover only part of the frame, with
   a table (wood, a dark desk, fabric) beyond a slanted edge, and a contact
   shadow along it.
6. **Light**: a smooth illumination field multiplies everything: a linear
   gradient (a lamp to one side), a hard- or soft-edged shadow (a wall, a hand,
   the phone itself; slightly bluish, being lit by the sky only), lens
   vignetting, a specular glare on glossy boards; the light has a colour
   (warm lamps, cool daylight) that white balance does not fully remove.
7. **Occluders**: a finger close to the lens, far out of focus, entering the
   frame from one edge.
8. **Camera**: defocus blur (Gaussian), photon shot noise plus read noise
   (luma and chroma), the phone's sharpening, the sRGB tone curve with a
   little extra contrast, 8-bit quantisation and JPEG compression.

Every condition in :data:`CONDITIONS` is one of these effects, alone, on top
of a mild *baseline* of a real sheet of paper under real light (tinted paper
with a little texture, a gentle light gradient, slight blur and sensor
noise), except ``"clean"`` (flat white paper, black ink, nothing else: the
reference) and ``"phone_photo"`` (several effects at once, chosen at random).
``"paper"`` is the baseline alone. The frame is 200 to 1200 pixels on its
longer side (4:3, 3:4 or square), the digit 30 to 70% of its height at a random
position, unless the condition says otherwise.

:data:`NON_DIGITS` makes pictures that are *not* digits under the same
conditions: letters, short words, symbols, scribbles, shapes and blank paper.
Letters a person could read as a digit are never drawn: O o D Q I l i j L T t
Z z S s B b g q G J y Y U u (:data:`EXCLUDED_LETTERS`).

Every function is pure: all randomness comes from the ``rng``
(:class:`numpy.random.Generator`) it is given, so a picture is fully
determined by the generator's state.
"""

from __future__ import annotations

import functools
import io
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from skimage.morphology import skeletonize

__all__ = ["CONDITIONS", "NON_DIGITS", "EXCLUDED_LETTERS", "LETTERS", "Look", "digit_ink",
           "render_digit", "render_number"]

#: (top, bottom, left, right) in pixels, bottom and right exclusive (as ``Reading.box``).
Box = tuple[int, int, int, int]

#: Width of a normal pen stroke (``thickness=1``) as a fraction of the digit's height.
NORMAL_WIDTH = 0.08
#: Strokes are drawn at no more than this height, then enlarged (they are smooth).
WORK_HEIGHT = 320
#: Letters a person could read as a digit; never drawn by ``NON_DIGITS["letter"]``/``["word"]``.
EXCLUDED_LETTERS = "ODQILTZSBGJYU" + "olijtzsbgqyu"
#: The letters that may be drawn.
LETTERS = "".join(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  if c not in EXCLUDED_LETTERS)

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-Bold.ttf",
          "DejaVuSans-BoldOblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Italic.ttf",
          "DejaVuSerif-Bold.ttf", "DejaVuSerif-BoldItalic.ttf")
_BICUBIC = Image.Resampling.BICUBIC
_BILINEAR = Image.Resampling.BILINEAR
_NEAREST = Image.Resampling.NEAREST


# --------------------------------------------------------------------------- small tools

def _lin(srgb: tuple[float, float, float]) -> np.ndarray:
    """An sRGB colour given in 0..255 as linear-light float32 RGB."""
    c = np.asarray(srgb, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _jitter(srgb: tuple[float, float, float], rng: np.random.Generator,
            amount: float) -> np.ndarray:
    """``srgb`` with each channel moved by up to ``amount`` levels (0..255), then linear."""
    c = np.clip(np.asarray(srgb, np.float64) + rng.uniform(-amount, amount, 3), 0, 255)
    return _lin(tuple(c))


def _resize(a: np.ndarray, shape: tuple[int, int], resample=_BILINEAR) -> np.ndarray:
    """A float array resized to ``shape = (h, w)`` with Pillow (mode ``F``)."""
    h, w = max(1, int(shape[0])), max(1, int(shape[1]))
    image = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32))
    return np.asarray(image.resize((w, h), resample), dtype=np.float32)


def _noise(shape: tuple[int, int], rng: np.random.Generator, cell: float) -> np.ndarray:
    """Smooth noise of unit scale whose blobs are about ``cell`` pixels wide."""
    h, w = shape
    cell = max(float(cell), 1.0)
    grid = rng.standard_normal((max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)),
                               dtype=np.float32)
    return _resize(grid, shape, _BICUBIC)


def _fractal(shape: tuple[int, int], rng: np.random.Generator, cell: float,
             octaves: int = 4) -> np.ndarray:
    """Sum of :func:`_noise` octaves (each half the size and amplitude), about unit scale.

    Made on a grid coarse enough for its finest octave, then enlarged.
    """
    k = max(1, int(cell / 2 ** (octaves - 1) / 3))
    small = (max(2, -(-shape[0] // k)), max(2, -(-shape[1] // k)))
    total = np.zeros(small, np.float32)
    amplitude, norm, c = 1.0, 0.0, cell / k
    for _ in range(octaves):
        total += amplitude * _noise(small, rng, c)
        norm += amplitude ** 2
        c, amplitude = c / 2, amplitude / 2
    total /= np.float32(math.sqrt(norm))
    return _resize(total, shape, _BILINEAR) if k > 1 else total


def _dim(drop: np.ndarray | float) -> np.ndarray:
    """The factor on linear light that makes a pixel ``drop`` (0..1) darker in sRGB.

    Brightness as one sees it (and as 8-bit pixel values go) is roughly linear
    light to the power 1/2.2, so a 50% darker pixel takes 22% of the light.
    """
    return (1 - np.asarray(drop, np.float32)) ** np.float32(2.2)


def _soft(d: np.ndarray, width: float) -> np.ndarray:
    """Smooth step from 0 (``d <= -width/2``) to 1 (``d >= width/2``) of a signed distance."""
    s = np.clip(0.5 + d / np.float32(max(width, 1e-3)), 0, 1).astype(np.float32)
    return s * s * (3 - 2 * s)


def _grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``y`` (H, 1) and ``x`` (1, W), float32."""
    h, w = shape
    return ((np.arange(h, dtype=np.float32) + 0.5)[:, None],
            (np.arange(w, dtype=np.float32) + 0.5)[None, :])


def _bbox(mask: np.ndarray) -> Box | None:
    """Bounding box of the true pixels, or ``None``."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


# --------------------------------------------------------------------------- the pen

_EIGHT = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)


def _prune(skel: np.ndarray, length: int) -> np.ndarray:
    """Remove skeleton branches shorter than ``length`` pixels (the spurs of corners).

    Every end is eaten ``length`` pixels, then the surviving ends grow back
    along the original skeleton, so only the branches that vanished stay gone.
    Works on the set of skeleton pixels, touching only the ends at each step.
    """
    if length <= 0:
        return skel
    ys, xs = np.nonzero(skel)
    original = set(zip(ys.tolist(), xs.tolist(), strict=True))

    def around(p: tuple[int, int], within: set) -> list[tuple[int, int]]:
        return [q for q in ((p[0] + dy, p[1] + dx) for dy, dx in _EIGHT) if q in within]

    kept = set(original)
    ends = {p for p in kept if len(around(p, kept)) == 1}
    for _ in range(length):
        if not ends:
            break
        kept -= ends
        touched = {q for p in ends for q in around(p, kept)}
        ends = {q for q in touched if len(around(q, kept)) == 1}
    if len(kept) < 2:
        return skel
    front = {p for p in kept if len(around(p, kept)) == 1}
    for _ in range(length):
        new = {q for p in front for q in around(p, original) if q not in kept}
        if not new:
            break
        kept |= new
        front = new
    out = np.zeros_like(skel)
    rows, cols = zip(*kept, strict=True)
    out[list(rows), list(cols)] = True
    return out


def _pen(skeleton: np.ndarray, radius: float, rng: np.random.Generator,
         pressure: float = 0.12) -> np.ndarray:
    """Coverage of a round pen of ``radius`` pixels drawn along a 1-pixel ``skeleton``."""
    dist = ndimage.distance_transform_edt(~skeleton).astype(np.float32)
    r = np.float32(max(radius, 0.55))
    if pressure > 0:
        r = r * (1 + pressure * _noise(skeleton.shape, rng, max(4.0, 8 * radius)))
    return np.clip(r + 0.5 - dist, 0, 1)


def _stroke_shape(skel: np.ndarray, work_h: float, height_px: float, thickness: float,
                  rng: np.random.Generator, prune: int) -> np.ndarray:
    """Redraw a skeleton ``work_h`` tall with a pen; the result is cropped, ``height_px`` tall."""
    radius = 0.5 * NORMAL_WIDTH * thickness * work_h
    pad = int(math.ceil(radius * 1.3)) + 3
    skel = np.pad(_prune(skel, prune), pad)
    return _finish(_pen(skel, radius, rng), height_px)


def _finish(cov: np.ndarray, height_px: float) -> np.ndarray:
    """Crop ``cov`` to its ink (1 pixel margin) and resize it to ``height_px`` tall."""
    box = _bbox(cov > 0.02)
    if box is None:
        return np.zeros((max(1, int(height_px)), max(1, int(height_px))), np.float32)
    t, b, l_, r = box
    cov = np.pad(cov[t:b, l_:r], 1)
    target = max(4.0, float(height_px)) + 2
    if abs(target / cov.shape[0] - 1) > 0.01:
        scale = target / cov.shape[0]
        cov = _resize(cov, (round(cov.shape[0] * scale), max(1, round(cov.shape[1] * scale))),
                      _BICUBIC)
    return np.clip(cov, 0, 1).astype(np.float32)


def _smooth_shape(gray: np.ndarray, height_px: float, rng: np.random.Generator,
                  level: float = 0.45, smooth: float = 0.35) -> tuple[np.ndarray, float, float]:
    """Enlarge a small grey glyph (ink bright) so its ink is about ``min(height_px, WORK)`` tall.

    Returns the skeleton of the smoothed, thresholded shape, the working
    height of its ink, and the shape's typical half stroke width (in working
    pixels).
    """
    box = _bbox(gray > 0.3 * gray.max())
    if box is None:
        raise ValueError("the glyph holds no ink")
    t, b, l_, r = box
    ink_h = b - t
    crop = np.pad(gray[t:b, l_:r], 2)
    work_h = min(float(height_px), WORK_HEIGHT)
    f = work_h / ink_h
    up = _resize(crop, (round(crop.shape[0] * f), max(1, round(crop.shape[1] * f))), _BICUBIC)
    up = ndimage.gaussian_filter(up, smooth * f)  # ``smooth`` in pixels of the glyph
    shape = up > level * up.max()
    inside = ndimage.distance_transform_edt(shape)
    skel = skeletonize(shape)
    if not skel.any():
        return shape, work_h, 1.0
    return skel, work_h, float(np.median(inside[skel]))


def digit_ink(digit28: np.ndarray, height_px: int, thickness: float,
              rng: np.random.Generator) -> np.ndarray:
    """A handwritten MNIST digit redrawn as a smooth pen stroke at high resolution.

    The digit is cropped to its ink, enlarged (bicubic) so that its ink is
    ``height_px`` tall (at most :data:`WORK_HEIGHT` while drawing, then
    enlarged again, which a smooth map allows), lightly smoothed and
    thresholded at half brightness into a shape, thinned to its centre line
    (short spurs pruned) and redrawn with a round pen whose width is
    ``thickness * NORMAL_WIDTH`` of the height,
    varying slowly by about 12% like the pressure of a hand. The edge is
    anti-aliased over one pixel.

    Parameters
    ----------
    digit28 : numpy.ndarray
        (28, 28) uint8 MNIST digit (bright ink on black).
    height_px : int
        Height of the digit's ink in the result, in pixels.
    thickness : float
        Pen width relative to a normal pen: 0.4 is a thin ballpoint, 1 a normal
        pen (8% of the height), 2.5 a marker.
    rng : numpy.random.Generator
        Source of the pressure variation.

    Returns
    -------
    numpy.ndarray
        float32 (h, w) ink coverage in [0, 1], cropped to the ink with a
        one-pixel margin; ``h`` is ``height_px + 2`` (within a pixel).

    Raises
    ------
    ValueError
        The digit is blank.
    """
    gray = np.asarray(digit28, dtype=np.float32)
    if gray.max() > 1:
        gray = gray / 255.0
    # half brightness is where MNIST's anti-aliased edge lies; with a light smoothing this
    # keeps the digit's topology (loops, gaps, separate strokes) in 97-98% of test digits
    skel, work_h, half = _smooth_shape(gray, height_px, rng, level=0.5, smooth=0.2)
    return _stroke_shape(skel, work_h, height_px, thickness, rng, prune=int(round(1.2 * half)))


def _restroke(ink: np.ndarray, thickness: float, rng: np.random.Generator) -> np.ndarray:
    """Redraw any coverage map with a pen of a different ``thickness`` (same height)."""
    box = _bbox(ink > 0.5)
    if box is None:
        return ink
    height = box[1] - box[0]
    skel, work_h, half = _smooth_shape(ink, height, rng, level=0.5)
    return _stroke_shape(skel, work_h, height, thickness, rng, prune=int(round(1.2 * half)))


# --------------------------------------------------------------------------- the look

@dataclass
class Look:
    """Everything that decides how a picture looks, except where things are.

    Each condition of :data:`CONDITIONS` is a recipe for one of these (drawn
    at random for every picture). Colours are linear-light RGB in [0, 1];
    darkenings (``gradient``, ``shadow``, ``vignette``) are drops of the
    pixels' brightness (sRGB), see :func:`_dim`.

    Attributes
    ----------
    paper, paper_texture : tuple of float, float
        Reflectance of the paper (or board), and the amplitude of its mottling and grain.
    ink, ink_opacity : tuple of float, float
        Colour of the ink and its greatest coverage.
    ink_blotch, ink_grain : float
        Slow variation of the ink's density; breaking up by the paper's tooth (pencil, chalk).
    opaque_ink : bool
        Ink covers the paper (chalk, white pen) instead of filtering it (ballpoint, pencil).
    thickness : float
        Pen width relative to a normal pen (see :func:`digit_ink`).
    rotate : float
        Rotation of the writing, degrees counter-clockwise.
    lines, margin : str or None, bool
        ``"ruled"`` or ``"squared"`` paper; a red margin line on ruled paper.
    specks, page_edge, finger : bool
        Dust and ink specks; a table beyond the page's edge; a finger in the frame.
    chalk_dust : float
        Haze of wiped chalk on a board.
    gradient, shadow, vignette, glare : float
        Darkening across the page, in a shadow, in the corners (fractions of the pixels'
        brightness); brightness of a reflection (linear light added).
    light, exposure : tuple of float, float
        Colour of the light as the camera records it (white balance error); exposure.
    blur : float
        Defocus, a Gaussian sigma in pixels of a 640-pixel photo (scaled with larger frames).
    noise : float
        Standard deviation of the sensor noise on white, in linear units.
    contrast, sharpen : float
        The phone's extra contrast (S-curve) and sharpening (unsharp mask amount).
    jpeg : int or None
        JPEG quality the picture was saved with, if any.
    placement : str
        ``"free"``, ``"border"`` (cut by or touching an edge) or ``"small"`` (small in a
        large photo).
    max_cut : float
        With ``"border"``: the largest fraction of the ink the edge may cut off.
    """

    paper: tuple[float, float, float] = (1.0, 1.0, 1.0)
    paper_texture: float = 0.0
    ink: tuple[float, float, float] = (0.01, 0.01, 0.012)
    ink_opacity: float = 1.0
    ink_blotch: float = 0.0
    ink_grain: float = 0.0
    opaque_ink: bool = False
    thickness: float = 1.0
    rotate: float = 0.0
    lines: str | None = None
    margin: bool = False
    specks: bool = False
    page_edge: bool = False
    finger: bool = False
    chalk_dust: float = 0.0
    gradient: float = 0.0
    shadow: float = 0.0
    vignette: float = 0.0
    glare: float = 0.0
    light: tuple[float, float, float] = (1.0, 1.0, 1.0)
    exposure: float = 0.97
    blur: float = 0.0
    noise: float = 0.0
    contrast: float = 0.0
    sharpen: float = 0.0
    jpeg: int | None = None
    placement: str = "free"
    max_cut: float = 0.18


_PAPERS = ((247, 247, 244), (246, 241, 226), (240, 240, 236), (232, 230, 222), (244, 244, 248))
_INKS = {"black": (28, 28, 34), "blue": (22, 38, 130), "red": (178, 22, 32),
         "green": (22, 100, 52), "violet": (66, 36, 120)}
_SKIN = ((236, 188, 160), (224, 172, 140), (198, 134, 100), (160, 104, 72), (112, 72, 52),
         (86, 56, 42))


def _baseline(rng: np.random.Generator) -> Look:
    """A real sheet of paper under real light, photographed well."""
    paper = _jitter(_PAPERS[rng.integers(len(_PAPERS))], rng, 4)
    ink = _jitter(_INKS["black"] if rng.random() < 0.7 else (30, 36, 70), rng, 8)
    warm = rng.uniform(-0.04, 0.04)
    return Look(paper=tuple(paper), paper_texture=rng.uniform(0.008, 0.02), ink=tuple(ink),
                ink_opacity=rng.uniform(0.92, 0.99), ink_blotch=rng.uniform(0.03, 0.1),
                thickness=rng.uniform(0.75, 1.3), gradient=rng.uniform(0.0, 0.08),
                light=(1 + warm, 1.0, 1 - warm), exposure=rng.uniform(0.82, 1.0),
                blur=rng.uniform(0.3, 0.7), noise=rng.uniform(0.004, 0.012),
                contrast=rng.uniform(0.0, 0.06))


def _fx_uneven_light(look: Look, rng: np.random.Generator) -> None:
    look.gradient = rng.uniform(0.2, 0.5)


def _fx_shadow(look: Look, rng: np.random.Generator) -> None:
    look.shadow = rng.uniform(0.3, 0.6)


def _fx_vignette(look: Look, rng: np.random.Generator) -> None:
    look.vignette = rng.uniform(0.25, 0.5)


def _fx_grain_noise(look: Look, rng: np.random.Generator) -> None:
    look.paper_texture = rng.uniform(0.04, 0.08)
    look.noise = rng.uniform(0.04, 0.1)


def _fx_jpeg(look: Look, rng: np.random.Generator) -> None:
    look.jpeg = int(rng.integers(25, 61))


def _fx_blur(look: Look, rng: np.random.Generator) -> None:
    look.blur = rng.uniform(1.0, 2.5)


def _fx_colour_ink(look: Look, rng: np.random.Generator) -> None:
    name = ("blue", "blue", "red", "green", "violet")[rng.integers(5)]
    look.ink = tuple(_jitter(_INKS[name], rng, 12))
    look.ink_opacity = rng.uniform(0.9, 0.99)


def _fx_pencil(look: Look, rng: np.random.Generator) -> None:
    graphite = rng.uniform(20, 60)
    look.ink = tuple(_lin((graphite, graphite, graphite + 4)))
    # darkens the paper's pixels by 25-50% where it marks fully (the tooth breaks it up)
    look.ink_opacity = (1 - float(_dim(rng.uniform(0.25, 0.5)))) / (1 - look.ink[0])
    look.ink_grain = rng.uniform(0.45, 0.85)
    look.ink_blotch = rng.uniform(0.1, 0.3)
    look.thickness = rng.uniform(0.6, 1.2)


def _fx_thin_pen(look: Look, rng: np.random.Generator) -> None:
    look.thickness = rng.uniform(0.3, 0.5)


def _fx_thick_marker(look: Look, rng: np.random.Generator) -> None:
    look.thickness = rng.uniform(2.0, 2.8)
    look.ink_opacity = rng.uniform(0.95, 1.0)
    look.ink_blotch = rng.uniform(0.0, 0.06)


def _fx_ruled(look: Look, rng: np.random.Generator) -> None:
    look.lines = "ruled"
    look.margin = rng.random() < 0.5


def _fx_squared(look: Look, rng: np.random.Generator) -> None:
    look.lines = "squared"


def _fx_specks(look: Look, rng: np.random.Generator) -> None:
    look.specks = True


def _fx_page_edge(look: Look, rng: np.random.Generator) -> None:
    look.page_edge = True


def _fx_finger(look: Look, rng: np.random.Generator) -> None:
    look.finger = True


def _fx_touches_border(look: Look, rng: np.random.Generator) -> None:
    look.placement = "border"


def _fx_small_in_large(look: Look, rng: np.random.Generator) -> None:
    look.placement = "small"


def _fx_rotated(look: Look, rng: np.random.Generator) -> None:
    look.rotate = rng.uniform(-15, 15)


def _fx_light_on_dark(look: Look, rng: np.random.Generator) -> None:
    board = ((38, 62, 52), (44, 70, 60), (32, 34, 38), (24, 24, 26), (30, 36, 72), (54, 38, 30))
    look.paper = tuple(_jitter(board[rng.integers(len(board))], rng, 6))
    look.paper_texture = rng.uniform(0.03, 0.07)
    look.opaque_ink = True
    if rng.random() < 0.7:  # chalk
        look.ink = tuple(_jitter((236, 236, 228), rng, 8))
        look.ink_opacity = rng.uniform(0.7, 0.95)
        look.ink_grain = rng.uniform(0.4, 0.8)
        look.chalk_dust = rng.uniform(0.01, 0.05)
        look.thickness = rng.uniform(1.0, 1.8)
    else:  # white gel pen or paint marker
        look.ink = tuple(_jitter((240, 240, 240), rng, 6))
        look.ink_opacity = rng.uniform(0.8, 0.97)
        look.thickness = rng.uniform(0.8, 1.6)
    look.gradient = rng.uniform(0.2, 0.4)
    look.glare = rng.uniform(0.05, 0.25) if rng.random() < 0.5 else 0.0


_EFFECTS: dict[str, Callable[[Look, np.random.Generator], None]] = {
    "uneven_light": _fx_uneven_light, "shadow": _fx_shadow, "vignette": _fx_vignette,
    "grain_noise": _fx_grain_noise, "jpeg": _fx_jpeg, "blur": _fx_blur,
    "colour_ink": _fx_colour_ink, "pencil": _fx_pencil, "thin_pen": _fx_thin_pen,
    "thick_marker": _fx_thick_marker, "ruled": _fx_ruled, "squared": _fx_squared,
    "specks": _fx_specks, "page_edge": _fx_page_edge, "finger": _fx_finger,
    "touches_border": _fx_touches_border, "small_in_large": _fx_small_in_large,
    "rotated": _fx_rotated, "light_on_dark": _fx_light_on_dark,
}
#: Effects phone_photo draws from, with their weights; one of each group at most.
_PHONE_POOL = {"uneven_light": 3, "shadow": 2, "vignette": 2, "grain_noise": 2, "blur": 2,
               "colour_ink": 2, "pencil": 1, "thin_pen": 1, "thick_marker": 1, "ruled": 1.5,
               "squared": 1, "specks": 1.5, "page_edge": 2, "finger": 1, "rotated": 2,
               "light_on_dark": 0.5}
_EXCLUSIVE = ({"colour_ink", "pencil", "light_on_dark"}, {"thin_pen", "thick_marker"},
              {"ruled", "squared", "light_on_dark"}, {"pencil", "thick_marker"})


def _phone_photo(look: Look, rng: np.random.Generator) -> None:
    """Several effects at once, as a quick photo with a phone gives them."""
    names, weights = list(_PHONE_POOL), np.array(list(_PHONE_POOL.values()), np.float64)
    chosen: list[str] = []
    for _ in range(int(rng.integers(2, 6))):
        allowed = np.array([n not in chosen and not any(n in g and set(chosen) & g
                                                        for g in _EXCLUSIVE) for n in names])
        if not allowed.any():
            break
        p = weights * allowed
        name = names[rng.choice(len(names), p=p / p.sum())]
        chosen.append(name)
        _EFFECTS[name](look, rng)
    warm = rng.uniform(-0.12, 0.12)  # indoor lamps or shade: white balance is never perfect
    look.light = (1 + warm, 1 + rng.uniform(-0.03, 0.03), 1 - warm)
    look.exposure = rng.uniform(0.7, 1.05)
    look.noise = max(look.noise, rng.uniform(0.01, 0.03))
    look.blur = max(look.blur, rng.uniform(0.4, 1.2))
    look.sharpen = rng.uniform(0.2, 0.8)
    look.contrast = rng.uniform(0.05, 0.2)
    look.jpeg = look.jpeg or int(rng.integers(60, 93))


def _look(condition: str, rng: np.random.Generator) -> Look:
    """The look of one picture of ``condition``."""
    if condition == "clean":
        return Look()
    look = _baseline(rng)
    if condition == "phone_photo":
        _phone_photo(look, rng)
    elif condition != "paper":
        if condition not in _EFFECTS:
            raise KeyError(f"unknown condition {condition!r}; known: {', '.join(CONDITIONS)}")
        _EFFECTS[condition](look, rng)
    return look


# --------------------------------------------------------------------------- layout

def _aspect(rng: np.random.Generator, weights: tuple[float, float, float]) -> float:
    """Width over height: 4:3, 3:4 or square."""
    return (4 / 3, 3 / 4, 1.0)[rng.choice(3, p=np.asarray(weights) / sum(weights))]


def _pick_frame(look: Look, rng: np.random.Generator) -> tuple[int, int, float]:
    """Frame ``(H, W)`` and the digit's height in it, for one digit."""
    a = _aspect(rng, (0.4, 0.4, 0.2))
    if look.placement == "small":
        long = rng.uniform(1600, 1900)
        digit_h = rng.uniform(40, 80)
    else:
        long = math.exp(rng.uniform(math.log(200), math.log(1200)))
        digit_h = 0.0
    h, w = (long / a, long) if a >= 1 else (long, long * a)
    if look.placement != "small":
        digit_h = rng.uniform(0.3, 0.7) * h
    return 2 * int(round(h / 2)), 2 * int(round(w / 2)), digit_h


def _rotate(ink: np.ndarray, labels: np.ndarray | None,
            angle: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Rotate counter-clockwise by ``angle`` degrees, growing the map to hold it all."""
    out = np.asarray(Image.fromarray(ink).rotate(angle, _BICUBIC, expand=True), np.float32)
    if labels is not None:
        labels = np.asarray(Image.fromarray(labels).rotate(angle, _NEAREST, expand=True))
    return np.clip(out, 0, 1), labels


def _position(shape: tuple[int, int], frame: tuple[int, int], look: Look,
              rng: np.random.Generator) -> tuple[int, int]:
    """Where the ink's top-left corner goes."""
    h, w = shape
    fh, fw = frame
    margin = 0.03 * min(fh, fw)

    def free(size: int, room: int) -> int:
        lo, hi = margin, room - size - margin
        return int(round(rng.uniform(lo, hi))) if hi > lo else (room - size) // 2

    top, left = free(h, fh), free(w, fw)
    if look.placement == "border":
        side = int(rng.integers(4))
        size = h if side in (0, 1) else w
        over = 0 if rng.random() < 0.4 else int(round(rng.uniform(0.03, 0.18) * size))
        over = min(over, int(look.max_cut * size))
        if side == 0:
            top = -over
        elif side == 1:
            top = fh - h + over
        elif side == 2:
            left = -over
        else:
            left = fw - w + over
    elif look.placement == "small":
        for _ in range(50):  # off centre: not within 15% of the frame's centre
            top, left = free(h, fh), free(w, fw)
            cy, cx = (top + h / 2) / fh - 0.5, (left + w / 2) / fw - 0.5
            if max(abs(cy), abs(cx)) > 0.15:
                break
    return top, left


# --------------------------------------------------------------------------- the scene

def _paper(look: Look, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Paper reflectance (H, W, 3): tint times mottling and fibre grain."""
    base = np.asarray(look.paper, np.float32)
    if look.paper_texture <= 0:
        return np.broadcast_to(base, (*shape, 3)).copy()
    t = look.paper_texture
    tex = 0.6 * _fractal(shape, rng, max(shape) / 5, 4) + 0.8 * _noise(shape, rng, 1.6)
    tex = 1 + np.float32(t) * tex
    return tex[..., None] * base


def _lines(albedo: np.ndarray, look: Look, rng: np.random.Generator, digit_h: float,
           scale: float) -> None:
    """Print ruled lines (with a margin) or a squared grid across the whole page, in place."""
    shape = albedo.shape[:2]
    y, x = _grid(shape)
    tilt = math.radians(rng.uniform(-2.0, 2.0))
    u = y * np.float32(math.cos(tilt)) - x * np.float32(math.sin(tilt))
    v = x * np.float32(math.cos(tilt)) + y * np.float32(math.sin(tilt))

    def pattern(coord: np.ndarray, spacing: float, width: float) -> np.ndarray:
        r = np.mod(coord - np.float32(rng.uniform(0, spacing)), np.float32(spacing))
        d = np.minimum(r, spacing - r)
        return np.clip(np.float32(width / 2 + 0.5) - d, 0, 1)

    if look.lines == "ruled":
        spacing = max(8.0, digit_h * rng.uniform(0.7, 1.5))
        width = max(1.0, spacing * rng.uniform(0.012, 0.03))
        colour = _jitter((130, 175, 228), rng, 15)
        cov = pattern(u, spacing, width) * np.float32(rng.uniform(0.5, 0.85))
        cov *= 1 - 0.15 * np.clip(_noise(shape, rng, 40 * scale), -1, 1)  # uneven printing
        albedo *= 1 - cov[..., None] * (1 - colour)
        if look.margin:
            colour = _jitter((226, 110, 122), rng, 15)
            at = rng.uniform(0.06, 0.22) * shape[1]
            if rng.random() < 0.3:
                at = shape[1] - at
            d = np.abs(v - np.float32(at))
            if rng.random() < 0.4:  # a double margin line
                d = np.minimum(d, np.abs(v - np.float32(at + 3 * width + 2)))
            cov = np.clip(np.float32(width / 2 + 0.5) - d, 0, 1) * np.float32(rng.uniform(0.4, 0.8))
            albedo *= 1 - cov[..., None] * (1 - colour)
    else:
        spacing = max(6.0, digit_h * rng.uniform(0.3, 0.7))
        width = max(0.8, spacing * rng.uniform(0.01, 0.025))
        colour = _jitter((150, 172, 205), rng, 20)
        cov = np.maximum(pattern(u, spacing, width), pattern(v, spacing, width))
        cov *= np.float32(rng.uniform(0.25, 0.5))
        albedo *= 1 - cov[..., None] * (1 - colour)


def _ink(albedo: np.ndarray, ink: np.ndarray, top: int, left: int, look: Look,
         rng: np.random.Generator, digit_h: float) -> None:
    """Put the ink coverage ``ink`` on the paper at ``(top, left)`` (clipped), in place."""
    fh, fw = albedo.shape[:2]
    t, l_ = max(top, 0), max(left, 0)
    b, r = min(top + ink.shape[0], fh), min(left + ink.shape[1], fw)
    if b <= t or r <= l_:
        return
    a = ink[t - top:b - top, l_ - left:r - left] * np.float32(look.ink_opacity)
    shape = a.shape
    if look.ink_blotch > 0:
        blotch = np.clip(0.5 + 0.5 * _noise(shape, rng, max(4.0, digit_h / 4)), 0, 1)
        a = a * (1 - np.float32(look.ink_blotch) * blotch)
    if look.ink_grain > 0:  # pencil and chalk only mark the tops of the paper's tooth
        tooth = _noise(shape, rng, max(1.3, digit_h / 150))
        grain = np.clip(0.55 + 0.6 * tooth, 0, 1)
        g = np.float32(look.ink_grain)
        a = a * ((1 - g) + g * grain)
    colour = np.asarray(look.ink, np.float32)
    region = albedo[t:b, l_:r]
    if look.opaque_ink:
        region += a[..., None] * (colour - region)
    else:
        region *= 1 - a[..., None] * (1 - colour)


def _chalk_dust(albedo: np.ndarray, look: Look, rng: np.random.Generator, scale: float) -> None:
    """The haze of wiped chalk on a board, with the streaks of the wipe, in place."""
    shape = albedo.shape[:2]
    fh, fw = shape
    horizontal = rng.random() < 0.7
    cells = (6, 60) if horizontal else (60, 6)  # streaks along the wiping direction
    grid = rng.standard_normal((max(2, int(fh / (cells[0] * scale)) + 2),
                                max(2, int(fw / (cells[1] * scale)) + 2)), dtype=np.float32)
    streaks = np.clip(0.5 + 0.35 * _resize(grid, shape, _BICUBIC), 0, 1)
    haze = np.clip(0.6 + 0.4 * _fractal(shape, rng, max(shape) / 3, 2), 0, 1)
    amount = (0.5 * haze + 0.5 * streaks * haze) * np.float32(look.chalk_dust)
    albedo += amount[..., None] * (np.asarray(look.ink, np.float32) - albedo)


def _specks(albedo: np.ndarray, look: Look, rng: np.random.Generator, scale: float,
            ink_box: Box) -> None:
    """Dust, small dots and a few specks of ink, in place."""
    fh, fw = albedo.shape[:2]
    dark = Image.new("F", (fw, fh), 0.0)
    draw = ImageDraw.Draw(dark)
    n = int(rng.integers(40, 250) * max(0.3, fh * fw / 480000))
    for _ in range(n):
        cx, cy = rng.uniform(0, fw), rng.uniform(0, fh)
        rad = rng.uniform(0.4, 2.2) * max(1.0, scale)
        draw.ellipse((cx - rad, cy - rad, cx + rad, cy + rad), fill=float(rng.uniform(0.1, 0.55)))
    for _ in range(int(rng.integers(0, 4))):  # fibres or hairs
        cx, cy = rng.uniform(0, fw), rng.uniform(0, fh)
        pts = [(cx, cy)]
        ang = rng.uniform(0, 2 * math.pi)
        for _ in range(8):
            ang += rng.normal(0, 0.4)
            step = rng.uniform(2, 6) * scale
            cx, cy = cx + step * math.cos(ang), cy + step * math.sin(ang)
            pts.append((cx, cy))
        draw.line(pts, fill=float(rng.uniform(0.15, 0.45)), width=max(1, int(round(scale))))
    amount = np.asarray(dark, np.float32)
    albedo *= 1 - amount[..., None]
    ink = Image.new("F", (fw, fh), 0.0)
    draw = ImageDraw.Draw(ink)
    t, b, l_, r = ink_box
    for _ in range(int(rng.integers(1, 6))):  # specks of ink, often near the writing
        if rng.random() < 0.6:
            cx = rng.uniform(l_ - 0.3 * (r - l_), r + 0.3 * (r - l_))
            cy = rng.uniform(t - 0.3 * (b - t), b + 0.3 * (b - t))
        else:
            cx, cy = rng.uniform(0, fw), rng.uniform(0, fh)
        rad = rng.uniform(1.0, 5.0) * max(1.0, scale)
        draw.ellipse((cx - rad, cy - rad * rng.uniform(0.6, 1.0), cx + rad, cy + rad),
                     fill=float(rng.uniform(0.6, 0.95)))
    amount = np.asarray(ink, np.float32)
    colour = np.asarray(look.ink, np.float32)
    if look.opaque_ink:
        albedo += amount[..., None] * (colour - albedo)
    else:
        albedo *= 1 - amount[..., None] * (1 - colour)


def _inward(side: int, frame: tuple[int, int], depth: float,
            along: float) -> tuple[np.ndarray, np.ndarray]:
    """A point ``depth`` pixels inside frame side ``side`` (0 top, 1 bottom, 2 left, 3 right)
    at ``along`` pixels along it, and the inward unit normal of that side, as (x, y)."""
    fh, fw = frame
    if side == 0:
        return np.array([along, depth]), np.array([0.0, 1.0])
    if side == 1:
        return np.array([along, fh - depth]), np.array([0.0, -1.0])
    if side == 2:
        return np.array([depth, along]), np.array([1.0, 0.0])
    return np.array([fw - depth, along]), np.array([-1.0, 0.0])


def _gaps(frame: tuple[int, int], box: Box) -> np.ndarray:
    """Free space between the ink's box and each frame side (top, bottom, left, right)."""
    fh, fw = frame
    t, b, l_, r = box
    return np.array([t, fh - b, l_, fw - r], np.float64)


def _pick_side(gaps: np.ndarray, rng: np.random.Generator) -> int:
    """A side, more likely the ones with more free space."""
    w = np.maximum(gaps, 0) ** 2 + 1e-9
    return int(rng.choice(4, p=w / w.sum()))


def _corners(box: Box, grow: float) -> np.ndarray:
    t, b, l_, r = box
    return np.array([[l_ - grow, t - grow], [r + grow, t - grow], [l_ - grow, b + grow],
                     [r + grow, b + grow]], np.float64)


def _page(albedo: np.ndarray, rng: np.random.Generator, ink_box: Box, scale: float) -> None:
    """Let the page cover only part of the frame: a table beyond one or two slanted edges."""
    shape = albedo.shape[:2]
    fh, fw = shape
    margin = 0.03 * min(fh, fw)
    gaps = _gaps(shape, ink_box)
    first = _pick_side(gaps, rng)
    sides = [first]
    if rng.random() < 0.35:
        sides.append(int(rng.choice([2, 3] if first < 2 else [0, 1])))
    y, x = _grid(shape)
    inside = None
    for side in sides:
        length = fw if side < 2 else fh
        room = min(gaps[side] - margin, 0.35 * (fh if side < 2 else fw))  # mostly page
        depth = rng.uniform(0.25, 0.9) * room if room > 4 else rng.uniform(1, 3)
        point, normal = _inward(side, shape, depth, rng.uniform(0.2, 0.8) * length)
        tilt = math.radians(rng.uniform(-20, 20))
        for _ in range(5):
            c, s = math.cos(tilt), math.sin(tilt)
            n = np.array([c * normal[0] - s * normal[1], s * normal[0] + c * normal[1]])
            if np.all((_corners(ink_box, margin) - point) @ n >= 0) or room <= 4:
                break
            tilt /= 2
        else:
            n = normal
        d = (x - np.float32(point[0])) * np.float32(n[0]) + (y - np.float32(point[1])) * np.float32(
            n[1])
        inside = d if inside is None else np.minimum(inside, d)
    page = _soft(inside, 1.5)[..., None]
    table = _table(shape, rng, scale)
    contact = np.exp(np.minimum(inside, 0) / np.float32(rng.uniform(3, 12) * scale))
    table *= (1 - np.float32(rng.uniform(0.3, 0.6)) * contact)[..., None]
    albedo *= page
    albedo += (1 - page) * table


def _table(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
    """What lies beyond the page: wood, a dark desk, a grey surface or fabric."""
    kind = int(rng.integers(4))
    if kind == 0:  # wood: stripes of grain along a random direction
        base = _jitter((rng.uniform(110, 175), rng.uniform(70, 115), rng.uniform(40, 75)), rng, 5)
        y, x = _grid(shape)
        ang = rng.uniform(0, math.pi)
        u = x * np.float32(math.cos(ang)) + y * np.float32(math.sin(ang))
        warp = 5 * _noise(shape, rng, max(shape) / 3)
        period = np.float32(rng.uniform(6, 25) * scale)
        grain = np.sin(2 * np.float32(math.pi) * u / period + warp)
        tex = 1 + 0.12 * grain + 0.05 * _noise(shape, rng, 2)
    elif kind == 1:
        base = _jitter((rng.uniform(18, 45),) * 3, rng, 4)
        tex = 1 + 0.06 * _fractal(shape, rng, 50 * scale, 3)
    elif kind == 2:
        base = _jitter((rng.uniform(90, 150),) * 3, rng, 10)
        tex = 1 + 0.04 * _fractal(shape, rng, 80 * scale, 3)
    else:
        grey = rng.uniform(50, 160)
        base = _lin(tuple(np.clip(grey + rng.uniform(-40, 40, 3), 0, 255)))
        tex = 1 + 0.1 * _noise(shape, rng, 1.5) + 0.05 * _fractal(shape, rng, 30 * scale, 2)
    return tex[..., None] * base


def _shadow_mask(shape: tuple[int, int], rng: np.random.Generator, ink_box: Box) -> np.ndarray:
    """Where a shadow falls (1 in full shadow): a straight edge or a blob, crossing the digit."""
    fh, fw = shape
    y, x = _grid(shape)
    t, b, l_, r = ink_box
    hard = rng.random() < 0.4
    width = rng.uniform(1.5, 4) * max(1.0, min(shape) / 600) if hard else \
        rng.uniform(0.02, 0.1) * min(shape)
    if rng.random() < 0.6:  # the straight shadow edge of a wall, a box, a book
        if rng.random() < 0.75:
            py, px = rng.uniform(t, b), rng.uniform(l_, r)
        else:
            py, px = rng.uniform(0, fh), rng.uniform(0, fw)
        ang = rng.uniform(0, 2 * math.pi)
        d = (x - np.float32(px)) * np.float32(math.cos(ang)) + \
            (y - np.float32(py)) * np.float32(math.sin(ang))
        if hard and rng.random() < 0.5:  # a corner: two edges
            ang2 = ang + rng.uniform(0.4, 1.6)
            d2 = (x - np.float32(px)) * np.float32(math.cos(ang2)) + \
                (y - np.float32(py)) * np.float32(math.sin(ang2))
            d = np.minimum(d, d2)
    else:  # the shadow of a hand or the phone: a large rounded blob
        a = rng.uniform(0.45, 0.9) * max(shape)
        bb = a * rng.uniform(0.35, 0.7)
        ang = rng.uniform(0, 2 * math.pi)
        dist = rng.uniform(0.7, 1.0) * bb  # its edge passes near the digit
        cx = rng.uniform(l_, r) + dist * math.cos(ang)
        cy = rng.uniform(t, b) + dist * math.sin(ang)
        rot = rng.uniform(0, math.pi)
        xr = (x - np.float32(cx)) * np.float32(math.cos(rot)) + \
            (y - np.float32(cy)) * np.float32(math.sin(rot))
        yr = (y - np.float32(cy)) * np.float32(math.cos(rot)) - \
            (x - np.float32(cx)) * np.float32(math.sin(rot))
        q = np.sqrt((xr / np.float32(a)) ** 2 + (yr / np.float32(bb)) ** 2)
        d = (1 - q) * np.float32(bb)
    return _soft(d, width)


def _illumination(look: Look, rng: np.random.Generator, shape: tuple[int, int],
                  ink_box: Box) -> np.ndarray:
    """Light falling on each pixel: gradient, unevenness, vignette, shadow.

    Returns (H, W), or (H, W, 3) when a (bluish) shadow falls. The smooth
    parts are computed on a coarse grid and enlarged; the light's colour is
    applied by the camera (:func:`_camera`).
    """
    fh, fw = shape
    k = max(1, min(shape) // 160)
    small = (max(2, -(-fh // k)), max(2, -(-fw // k)))
    y, x = _grid(small)
    y, x = y * np.float32(k), x * np.float32(k)
    light = np.ones(small, np.float32)
    if look.gradient > 0:
        ang = rng.uniform(0, 2 * math.pi)
        u = (x / np.float32(fw) - 0.5) * np.float32(math.cos(ang)) + \
            (y / np.float32(fh) - 0.5) * np.float32(math.sin(ang))
        u = (u - u.min()) / max(float(u.max() - u.min()), 1e-6)
        if rng.random() < 0.3:  # a lamp: light falls off faster near it
            u = u ** np.float32(rng.uniform(0.5, 2.0))
        light = light * _dim(np.float32(look.gradient) * u)
    if look.paper_texture > 0:  # the light is never quite even
        light = light * (1 + 0.02 * _noise(small, rng, max(small) / 2))
    if look.vignette > 0:
        cy, cx = rng.uniform(0.4, 0.6) * fh, rng.uniform(0.4, 0.6) * fw
        r2 = ((x - np.float32(cx)) / np.float32(fw / 2)) ** 2 + \
            ((y - np.float32(cy)) / np.float32(fh / 2)) ** 2
        light = light * _dim(np.clip(np.float32(look.vignette) * r2 / 2, 0, 0.9))
    light = np.broadcast_to(light, small).astype(np.float32)
    if k > 1:
        light = _resize(light, shape, _BILINEAR)
    if look.shadow > 0:  # lit by the sky only: darker, and a little bluer
        mask = _shadow_mask(shape, rng, ink_box)
        tint = np.array([1.0, 0.97, 0.88], np.float32)
        return light[..., None] * _dim(np.float32(look.shadow) * mask[..., None] * tint)
    return light


def _finger(image: np.ndarray, rng: np.random.Generator, ink_box: Box,
            light: float) -> None:
    """A finger close to the lens, far out of focus, entering from one edge, in place.

    Its shape is a slightly tapering strip with a rounded tip, coming in at
    up to 35 degrees from the edge's normal; the tip stops short of the
    digit's box.
    """
    shape = image.shape[:2]
    soft = rng.uniform(0.015, 0.04) * min(shape) + 2
    gaps = _gaps(shape, ink_box)
    side = _pick_side(gaps, rng)
    room = gaps[side] - soft - 0.02 * min(shape)
    reach = rng.uniform(0.35, 0.95) * room if room > 0.06 * min(shape) else max(room, 3.0)
    a = rng.uniform(0.08, 0.16) * (shape[0] + shape[1]) / 2  # half width at the tip
    tip = a * rng.uniform(1.1, 1.6)  # the tip is a half ellipse this long
    phi = math.radians(rng.uniform(-35, 35))
    length = shape[1] if side < 2 else shape[0]
    point, normal = _inward(side, shape, reach, rng.uniform(0.1, 0.9) * length)
    axis = np.array([math.cos(phi) * normal[0] - math.sin(phi) * normal[1],
                     math.sin(phi) * normal[0] + math.cos(phi) * normal[1]])
    extent = math.sqrt((tip * math.cos(phi)) ** 2 + (a * math.sin(phi)) ** 2)
    centre = point - normal * extent  # the tip's deepest point along the normal is at reach
    y, x = _grid(shape)
    dx, dy = x - np.float32(centre[0]), y - np.float32(centre[1])
    along = dx * np.float32(axis[0]) + dy * np.float32(axis[1])  # > 0 towards the tip
    across = dx * np.float32(-axis[1]) + dy * np.float32(axis[0])
    half = np.float32(a) * (1 + np.float32(0.12) * np.maximum(-along, 0) / np.float32(a))
    q = np.sqrt((across / half) ** 2 + (np.maximum(along, 0) / np.float32(tip)) ** 2)
    mask = _soft((1 - q) * half, soft)
    if not mask.any():
        return
    skin = _jitter(_SKIN[rng.integers(len(_SKIN))], rng, 8)
    c = np.clip(across / half, -1, 1)
    roundness = np.sqrt(1 - c * c)
    shade = (0.5 + 0.5 * roundness) * (1 + np.float32(rng.uniform(-0.25, 0.25)) * c)
    shade *= np.float32(light * rng.uniform(0.45, 0.9))
    colour = shade[..., None] * skin
    colour[..., 0] *= 1 + 0.1 * (1 - roundness)  # redder at the sides (blood under thin skin)
    image *= 1 - mask[..., None]
    image += mask[..., None] * colour


def _glare(image: np.ndarray, look: Look, rng: np.random.Generator) -> None:
    """A soft specular reflection of a lamp or a window, in place."""
    shape = image.shape[:2]
    y, x = _grid(shape)
    cy, cx = rng.uniform(0.1, 0.9) * shape[0], rng.uniform(0.1, 0.9) * shape[1]
    sy, sx = rng.uniform(0.08, 0.3) * shape[0], rng.uniform(0.08, 0.3) * shape[1]
    blob = np.exp(-(((y - np.float32(cy)) / np.float32(sy)) ** 2 +
                    ((x - np.float32(cx)) / np.float32(sx)) ** 2) / 2)
    image += np.float32(look.glare) * blob[..., None]


_TONE_LEVELS = 16384


@functools.lru_cache(maxsize=32)
def _tone_lut(contrast: float) -> np.ndarray:
    """Linear light (quantised to :data:`_TONE_LEVELS`) to 8-bit sRGB with extra contrast."""
    c = np.linspace(0, 1, _TONE_LEVELS)
    s = np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)
    s = s + contrast * s * (1 - s) * (2 * s - 1) * 2  # S-curve, fixed ends
    return np.clip(np.round(s * 255), 0, 255).astype(np.uint8)


def _camera(image: np.ndarray, look: Look, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise, sharpening, tone curve, 8 bits, JPEG: linear light to uint8 sRGB.

    Works in place on ``image`` (H, W, 3) float32, already blurred by the lens.
    """
    shape = image.shape[:2]
    px = max(1.0, max(shape) / 640)
    image *= np.float32(look.exposure) * np.asarray(look.light, np.float32)
    if look.noise > 0:  # shot noise grows with the signal, read noise does not
        level = np.sqrt(np.clip(image[..., 1], 0, 1) * np.float32(0.85) + np.float32(0.15))
        level *= np.float32(look.noise)
        luma = rng.standard_normal(shape, dtype=np.float32)
        if look.sharpen > 0:  # demosaicing and denoising correlate neighbours
            luma = ndimage.gaussian_filter(luma, 0.7) * np.float32(2.0)
        luma *= level
        image += luma[..., None]
        # chroma noise is blotchy after demosaicing: made at half resolution
        h2, w2 = shape[0] // 2, shape[1] // 2
        chroma = rng.standard_normal((h2, w2, 3), dtype=np.float32) * np.float32(0.6)
        chroma *= level[:2 * h2:2, :2 * w2:2, None]
        if shape[0] % 2 == 0 and shape[1] % 2 == 0:
            image.reshape(h2, 2, w2, 2, 3)[...] += chroma[:, None, :, None, :]
        else:
            image[:2 * h2, :2 * w2] += chroma.repeat(2, axis=0).repeat(2, axis=1)
    if look.sharpen > 0:
        soft = ndimage.gaussian_filter(image, (1.2 * px, 1.2 * px, 0), truncate=2.5)
        image += np.float32(look.sharpen) * (image - soft)
    np.clip(image, 0, 1, out=image)
    image *= np.float32(_TONE_LEVELS - 1)
    image += np.float32(0.5)
    out = _tone_lut(round(look.contrast, 3))[image.astype(np.uint16)]
    if look.jpeg:
        buffer = io.BytesIO()
        Image.fromarray(out).save(buffer, "JPEG", quality=int(look.jpeg))
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            out = np.asarray(decoded.convert("RGB"))
    return out


def _render(ink: np.ndarray, look: Look, rng: np.random.Generator,
            frame: tuple[int, int] | None = None, labels: np.ndarray | None = None,
            ) -> tuple[np.ndarray, Box, list[Box]]:
    """Compose an ink coverage map into a photo.

    Parameters
    ----------
    ink : numpy.ndarray
        float32 (h, w) coverage in [0, 1].
    look : Look
    rng : numpy.random.Generator
    frame : (int, int), optional
        ``(H, W)`` of the photo; when ``None`` it is chosen and the ink resized
        to a digit's height in it.
    labels : numpy.ndarray, optional
        uint8 (h, w): which of several glyphs each ink pixel belongs to (1, 2...).

    Returns
    -------
    image : numpy.ndarray
        uint8 (H, W, 3) sRGB.
    box : Box
        The ink's box in the photo (clipped to it).
    boxes : list of Box
        The box of each labelled glyph (empty without ``labels``).
    """
    ink = np.asarray(ink, np.float32)
    if look.rotate:
        ink, labels = _rotate(ink, labels, look.rotate)
    box = _bbox(ink > 0.02)
    if box is not None:
        ink = ink[box[0]:box[1], box[2]:box[3]]
        labels = None if labels is None else labels[box[0]:box[1], box[2]:box[3]]
    if frame is None:
        fh, fw, digit_h = _pick_frame(look, rng)
        scale = digit_h / ink.shape[0]
    else:
        fh, fw = frame
        scale = 1.0
    limit = 0.94 if look.placement != "border" else 1.0
    scale = min(scale, limit * fh / ink.shape[0], limit * fw / ink.shape[1])
    if abs(scale - 1) > 0.01:
        size = (max(1, round(ink.shape[0] * scale)), max(1, round(ink.shape[1] * scale)))
        ink = np.clip(_resize(ink, size, _BICUBIC), 0, 1)
        if labels is not None:
            labels = np.asarray(Image.fromarray(labels).resize(size[::-1], _NEAREST))
    full = (int(fh), int(fw))
    top, left = _position(ink.shape, full, look, rng)
    ink_box = (max(top, 0), min(top + ink.shape[0], fh), max(left, 0),
               min(left + ink.shape[1], fw))
    # Big photos: the scene (band-limited by the lens anyway) is made at 1/k of the
    # resolution and enlarged; the sensor's noise is then added at full resolution.
    k = 1 if max(full) <= 1000 else 2 if max(full) <= 2400 else 3
    shape = (-(-full[0] // k), -(-full[1] // k))
    work_ink, work_top, work_left, work_box = ink, top, left, ink_box
    if k > 1:
        work_ink = np.clip(_resize(ink, (max(1, round(ink.shape[0] / k)),
                                         max(1, round(ink.shape[1] / k))), _BICUBIC), 0, 1)
        work_top, work_left = int(math.floor(top / k)), int(math.floor(left / k))
        work_box = tuple(int(v // k) for v in ink_box)
    scale_px = min(shape) / 600
    digit_h = float(work_ink.shape[0])

    albedo = _paper(look, rng, shape)
    if look.chalk_dust > 0:
        _chalk_dust(albedo, look, rng, scale_px)
    if look.lines:
        _lines(albedo, look, rng, digit_h, scale_px)
    if box is not None:
        _ink(albedo, work_ink, work_top, work_left, look, rng, digit_h)
    if look.specks:
        _specks(albedo, look, rng, scale_px, work_box)
    if look.page_edge:
        _page(albedo, rng, work_box, scale_px)
    light = _illumination(look, rng, shape, work_box)
    image = albedo
    image *= light[..., None] if light.ndim == 2 else light
    del light
    if look.glare > 0:
        _glare(image, look, rng)
    if look.finger:
        _finger(image, rng, work_box, float(np.mean(look.light)))
    if look.blur > 0:  # defocus
        sigma = look.blur * max(1.0, max(full) / 640) / k
        image = ndimage.gaussian_filter(image, (sigma, sigma, 0), truncate=3.0)
    if k > 1:
        image = np.stack([_resize(image[..., c], full, _BICUBIC) for c in range(3)], axis=2)
    out = _camera(image, look, rng)

    boxes: list[Box] = []
    if labels is not None:
        for k in range(1, int(labels.max(initial=0)) + 1):
            b = _bbox((labels == k) & (ink > 0.5))
            if b is None:
                continue
            t, bo, l_, r = b[0] + top, b[1] + top, b[2] + left, b[3] + left
            boxes.append((max(t, 0), min(bo, fh), max(l_, 0), min(r, fw)))
    if box is None:
        ink_box = (0, 0, 0, 0)
    return out, ink_box, boxes


# --------------------------------------------------------------------------- public renderers

def render_digit(digit28: np.ndarray, rng: np.random.Generator, condition: str = "clean",
                 frame: tuple[int, int] | None = None) -> tuple[np.ndarray, Box]:
    """A photo of one MNIST digit written on paper under ``condition``.

    The digit is drawn with :func:`digit_ink` at the height the layout asks
    for and the pen of the condition (so ``"thin_pen"`` and
    ``"thick_marker"`` draw it thin or thick from the start).

    Parameters
    ----------
    digit28 : numpy.ndarray
        (28, 28) uint8 MNIST digit.
    rng : numpy.random.Generator
    condition : str
        A key of :data:`CONDITIONS`.
    frame : (int, int), optional
        ``(H, W)`` of the photo (e.g. ``(3000, 4000)`` for 12 megapixels);
        the digit is then 30-70% of its height. Chosen at random when ``None``.

    Returns
    -------
    image : numpy.ndarray
        uint8 (H, W, 3) sRGB.
    box : Box
        ``(top, bottom, left, right)`` of the ink in the photo.
    """
    look = _look(condition, rng)
    if frame is None:
        fh, fw, digit_h = _pick_frame(look, rng)
    else:
        fh, fw = frame
        digit_h = rng.uniform(0.3, 0.7) * fh if look.placement != "small" else \
            rng.uniform(40, 80)
    ink = digit_ink(digit28, int(round(digit_h)), look.thickness, rng)
    image, box, _ = _render(ink, look, rng, frame=(fh, fw))
    return image, box


def _condition(name: str, ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``CONDITIONS[name]``: compose the coverage map ``ink`` into a photo."""
    look = _look(name, rng)
    if name in ("thin_pen", "thick_marker"):
        ink = _restroke(np.asarray(ink, np.float32), look.thickness, rng)
    return _render(ink, look, rng)[0]


_CONDITION_NAMES = ("clean", "paper", "uneven_light", "shadow", "vignette", "grain_noise",
                    "jpeg", "blur", "colour_ink", "pencil", "thin_pen", "thick_marker", "ruled",
                    "squared", "specks", "page_edge", "finger", "touches_border",
                    "small_in_large", "rotated", "light_on_dark", "phone_photo")

#: Photo conditions: name -> ``f(ink_coverage, rng) -> uint8 RGB (H, W, 3)``. The frame
#: and the digit's place are chosen at random and ``ink_coverage`` (e.g. from
#: :func:`digit_ink`) is resized to the digit's height in it; ``"thin_pen"`` and
#: ``"thick_marker"`` redraw it with their pen. :func:`render_digit` is the better entry
#: point for an MNIST digit (it draws the digit at the right size and pen at once).
CONDITIONS: OrderedDict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = \
    OrderedDict((name, functools.partial(_condition, name)) for name in _CONDITION_NAMES)


def _row(digits28: list[np.ndarray], rng: np.random.Generator, height: float,
         thickness: float) -> tuple[np.ndarray, np.ndarray]:
    """A row of handwritten digits: coverage and the label map (1 for the first digit...)."""
    inks = [digit_ink(d, int(round(height * rng.uniform(0.92, 1.08))), thickness, rng)
            for d in digits28]
    gaps = []
    for _ in range(len(inks) - 1):
        u = rng.random()
        if u < 0.04:  # touching: the strokes overlap a little
            gaps.append(rng.uniform(-0.04, 0.0) * height)
        elif u < 0.24:  # close together
            gaps.append(rng.uniform(0.01, 0.05) * height)
        else:
            gaps.append(rng.uniform(0.08, 0.45) * height)
    drops = [rng.uniform(-0.04, 0.04) * height for _ in inks]
    slope = rng.uniform(-0.03, 0.03)  # a row is rarely quite level
    lefts, x = [], 0.0
    for i, ink in enumerate(inks):
        lefts.append(int(round(x)))
        x += ink.shape[1] + (gaps[i] if i < len(gaps) else 0)
    bottoms = [int(round(1.2 * height + drops[i] + slope * lefts[i])) for i in range(len(inks))]
    offset = -min(b - ink.shape[0] for b, ink in zip(bottoms, inks, strict=True))
    h = max(bottoms) + offset + 2
    w = max(left + ink.shape[1] for left, ink in zip(lefts, inks, strict=True)) + 2
    cov = np.zeros((h, w), np.float32)
    best = np.zeros((h, w), np.float32)
    labels = np.zeros((h, w), np.uint8)
    for k, (ink, left, bottom) in enumerate(zip(inks, lefts, bottoms, strict=True), start=1):
        t = bottom + offset - ink.shape[0]
        region = (slice(t, t + ink.shape[0]), slice(left, left + ink.shape[1]))
        np.maximum(cov[region], ink, out=cov[region])
        win = ink > best[region]
        labels[region][win] = k
        best[region][win] = ink[win]
    labels[cov <= 0.02] = 0
    return cov, labels


def render_number(digits28: list[np.ndarray], rng: np.random.Generator,
                  condition: str = "clean") -> tuple[np.ndarray, list[Box]]:
    """A photo of a row of handwritten digits, as on an envelope or a house number.

    The digits get similar heights (each within 8% of the row's), a jittered
    baseline on a slightly sloping row, and gaps of 8-45% of the height; one
    gap in five is close (1-5%) and one in 25 is touching (the strokes
    overlap by up to 4%). Then ``condition`` is applied to the whole picture;
    ``"touches_border"`` lets the row touch an edge without cutting a digit off.

    Parameters
    ----------
    digits28 : list of numpy.ndarray
        2 to 12 MNIST digits (28x28 uint8), left to right.
    rng : numpy.random.Generator
    condition : str
        A key of :data:`CONDITIONS`.

    Returns
    -------
    image : numpy.ndarray
        uint8 (H, W, 3) sRGB.
    boxes : list of Box
        ``(top, bottom, left, right)`` of each digit in the photo, left to right.
    """
    look = _look(condition, rng)
    n = len(digits28)
    a = (4 / 3, 3 / 4, 1.0)[rng.choice(3, p=[0.6, 0.2, 0.2])]
    if look.placement == "small":
        long, height = rng.uniform(1600, 1900), rng.uniform(40, 80)
    else:
        long = math.exp(rng.uniform(math.log(300), math.log(1600)))
        height = 0.0
    fh, fw = (long / a, long) if a >= 1 else (long, long * a)
    if look.placement != "small":
        height = rng.uniform(0.12, 0.45) * fh
        height = min(height, 0.85 * fw / (n * 0.95))
        if height < 28:  # too small to be written: a larger photo
            grow = 28 / height
            fh, fw, height = fh * grow, fw * grow, 28.0
    cov, labels = _row(digits28, rng, height, look.thickness)
    if look.placement == "border":
        look.max_cut = 0.01  # touch the edge, do not cut a digit off
    image, _, boxes = _render(cov, look, rng, frame=(2 * round(fh / 2), 2 * round(fw / 2)),
                              labels=labels)
    return image, boxes


# --------------------------------------------------------------------------- non-digits

@functools.lru_cache(maxsize=16)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_FONT_DIR / name), size)


@functools.lru_cache(maxsize=16)
def _covers(name: str, text: str) -> bool:
    """Whether font file ``name`` has a glyph for every character of ``text``."""
    from matplotlib.ft2font import FT2Font

    font = FT2Font(str(_FONT_DIR / name))
    return all(font.get_char_index(ord(c)) != 0 for c in text)


def _text_mask(text: str, rng: np.random.Generator, squeeze: float = 1.0) -> np.ndarray:
    """``text`` in a random DejaVu font (Sans 3 times in 4), letters moved ``squeeze`` closer.

    A font without a glyph for some character (DejaVu Serif has no stars or check
    marks) is replaced by DejaVu Sans, rather than drawing its empty-box glyph.
    """
    name = _FONTS[rng.integers(4) if rng.random() < 0.75 else rng.integers(4, 8)]
    font = _font(name if _covers(name, text) else _FONTS[0], 120)
    advances = [font.getlength(c) for c in text]
    width = int(sum(advances) + 240)
    image = Image.new("L", (width, 260), 0)
    draw = ImageDraw.Draw(image)
    x = 60.0
    for c, adv in zip(text, advances, strict=True):
        draw.text((x, 60), c, fill=255, font=font)
        x += adv * squeeze
    return np.asarray(image, np.float32) / 255.0


def _distort(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random affine distortion (rotation, shear, uneven scale) of a float mask."""
    angle = math.radians(rng.uniform(-12, 12))
    shear = rng.uniform(-0.3, 0.3)
    sx, sy = rng.uniform(0.8, 1.2), rng.uniform(0.85, 1.15)
    m = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]) @ \
        np.array([[sx, shear], [0, sy]])
    h, w = mask.shape
    inv = np.linalg.inv(m)
    centre = np.array([w / 2, h / 2])
    offset = centre - inv @ centre
    image = Image.fromarray(mask)
    coeffs = (inv[0, 0], inv[0, 1], offset[0], inv[1, 0], inv[1, 1], offset[1])
    return np.asarray(image.transform((w, h), Image.Transform.AFFINE, coeffs, _BILINEAR),
                      np.float32)


def _handwrite(mask: np.ndarray, height: float, thickness: float,
               rng: np.random.Generator) -> np.ndarray:
    """A glyph mask redrawn with a pen: distorted, thinned to its centre line, pen-stroked."""
    mask = _distort(mask, rng)
    skel, work_h, half = _smooth_shape(mask, height, rng, level=0.5)
    # serifs and the ends of bold strokes are spurs, not strokes: prune them hard
    return _stroke_shape(skel, work_h, height, thickness, rng, prune=int(round(2.5 * half)))


def _polylines(paths: list[np.ndarray], height: float, thickness: float,
               rng: np.random.Generator, closed: bool = False) -> np.ndarray:
    """Pen strokes along ``paths`` (arrays of (x, y) points in any units), ``height`` tall."""
    pts = np.concatenate(paths)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    work_h = min(float(height), WORK_HEIGHT)
    s = work_h / max(hi[1] - lo[1], 1e-6 + 0.15 * (hi[0] - lo[0]))
    radius = 0.5 * NORMAL_WIDTH * thickness * work_h
    pad = radius * 1.3 + 4
    w = int((hi[0] - lo[0]) * s + 2 * pad) + 1
    h = int((hi[1] - lo[1]) * s + 2 * pad) + 1
    image = Image.new("1", (w, h), 0)
    draw = ImageDraw.Draw(image)
    for p in paths:
        q = (p - lo) * s + pad
        draw.line([tuple(v) for v in q], fill=1, width=1)
    skel = np.asarray(image, bool)
    return _finish(_pen(skel, radius, rng), height)


def _filled(polygon_mask: np.ndarray, height: float) -> np.ndarray:
    """A filled shape (boolean mask) with an anti-aliased edge, ``height`` tall."""
    d_in = ndimage.distance_transform_edt(polygon_mask)
    d_out = ndimage.distance_transform_edt(~polygon_mask)
    cov = np.clip(0.5 + (d_in - d_out).astype(np.float32), 0, 1)
    return _finish(np.pad(cov, 2), height)


def _wobble(points: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """A polyline resampled densely and bent by a smooth random wobble (a hand, not a ruler)."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    t = np.concatenate([[0], np.cumsum(seg)])
    n = max(2, int(t[-1] / (amount + 1e-9) * 4) + 2, 60)
    s = np.linspace(0, t[-1], n)
    dense = np.stack([np.interp(s, t, points[:, 0]), np.interp(s, t, points[:, 1])], axis=1)
    k = np.arange(1, 4)
    phase = rng.uniform(0, 2 * np.pi, (2, 3))
    amp = rng.normal(0, amount, (2, 3)) / k
    u = s / max(t[-1], 1e-9) * 2 * np.pi
    wob = np.stack([(amp[i] * np.sin(np.outer(u, k) + phase[i])).sum(axis=1) for i in range(2)],
                   axis=1)
    return dense + wob


def _letter_ink(rng: np.random.Generator, height: float, thickness: float) -> np.ndarray:
    letter = LETTERS[rng.integers(len(LETTERS))]
    return _handwrite(_text_mask(letter, rng), height, thickness, rng)


def _word_ink(rng: np.random.Generator, height: float, thickness: float) -> np.ndarray:
    n = int(rng.integers(2, 5))
    lower = [c for c in LETTERS if c.islower()]
    upper = [c for c in LETTERS if c.isupper()]
    style = rng.random()
    if style < 0.5:
        word = "".join(lower[i] for i in rng.integers(len(lower), size=n))
    elif style < 0.75:
        word = "".join(upper[i] for i in rng.integers(len(upper), size=n))
    else:
        word = upper[rng.integers(len(upper))] + "".join(
            lower[i] for i in rng.integers(len(lower), size=n - 1))
    return _handwrite(_text_mask(word, rng, squeeze=rng.uniform(0.78, 0.95)), height,
                      thickness, rng)


_GLYPH_SYMBOLS = "+=#*%&@?!$/\\" + "\u2190\u2192\u2191\u2193\u21c4\u263a\u2713\u2717\u2606"
_FILLED_SYMBOLS = "\u2665\u2605\u2666\u2663"


def _symbol_ink(rng: np.random.Generator, height: float, thickness: float) -> np.ndarray:
    kind = rng.random()
    if kind < 0.45:
        c = _GLYPH_SYMBOLS[rng.integers(len(_GLYPH_SYMBOLS))]
        return _handwrite(_text_mask(c, rng), height, thickness, rng)
    if kind < 0.55:  # a filled heart, star... as coloured in with a felt pen
        c = _FILLED_SYMBOLS[rng.integers(len(_FILLED_SYMBOLS))]
        mask = _distort(_text_mask(c, rng), rng) > 0.5
        t, b, l_, r = _bbox(mask) or (0, 1, 0, 1)
        return _filled(mask[t:b, l_:r], height)
    t = np.linspace(0, 2 * np.pi, 200)
    wob = 0.03
    which = int(rng.integers(4))
    if which == 0:  # heart outline
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        paths = [_wobble(np.stack([x, y], 1) / 16, rng, wob)]
    elif which == 1:  # five-pointed star, drawn in one stroke
        k = np.arange(6) * 4 * np.pi / 5 - np.pi / 2
        paths = [_wobble(np.stack([np.cos(k), np.sin(k)], 1), rng, wob)]
    elif which == 2:  # smiley
        face = np.stack([np.cos(t), np.sin(t)], 1)
        eye = np.stack([0.08 * np.cos(t[:40]), 0.08 * np.sin(t[:40])], 1)
        a = np.linspace(0.2 * np.pi, 0.8 * np.pi, 40)
        smile = np.stack([0.55 * np.cos(a), 0.55 * np.sin(a)], 1)
        paths = [_wobble(face, rng, wob), eye + [-0.35, -0.3], eye + [0.35, -0.3],
                 _wobble(smile, rng, wob)]
    else:  # an arrow with a curved shaft
        bend = rng.uniform(-0.3, 0.3)
        s = np.linspace(0, 1, 50)
        shaft = np.stack([s * 2, bend * np.sin(np.pi * s)], 1)
        head = np.array([[1.7, -0.3], [2.0, 0.0], [1.7, 0.3]])
        paths = [_wobble(shaft, rng, wob), head]
        ang = rng.uniform(0, 2 * np.pi)
        rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
        paths = [p @ rot.T for p in paths]
    return _polylines(paths, height, thickness, rng)


def _scribble_ink(rng: np.random.Generator, height: float, thickness: float) -> np.ndarray:
    """A smooth random scribble with several loops."""
    t = np.linspace(0, 1, 600)
    if rng.random() < 0.5:  # a coil drifting sideways, like cursive loops
        loops = rng.integers(3, 8)
        r = rng.uniform(0.4, 0.8)
        x = t * loops * rng.uniform(0.5, 1.0) + r * np.cos(2 * np.pi * loops * t)
        y = r * rng.uniform(0.8, 1.6) * np.sin(2 * np.pi * loops * t)
    else:  # a random Fourier curve: tangled loops
        x = np.zeros_like(t)
        y = np.zeros_like(t)
        turns = rng.uniform(1.5, 3.0)
        for k in range(1, 7):
            amp = rng.normal(0, 1, 2) / k ** 1.1
            ph = rng.uniform(0, 2 * np.pi, 2)
            x += amp[0] * np.cos(2 * np.pi * k * turns * t + ph[0])
            y += amp[1] * np.sin(2 * np.pi * k * turns * t + ph[1])
    return _polylines([np.stack([x, y], 1)], height, thickness, rng)


def _shape_ink(rng: np.random.Generator, height: float, thickness: float) -> np.ndarray:
    """A filled circle, a square, a triangle, a cross or hatching."""
    which = int(rng.integers(5))
    wob = 0.025
    if which == 0:  # a filled disc or ellipse, coloured in
        size = 200
        yy, xx = np.mgrid[0:size, 0:int(size * rng.uniform(0.8, 1.4))]
        ry, rx = size / 2 - 2, xx.shape[1] / 2 - 2
        mask = ((yy - size / 2) / ry) ** 2 + ((xx - xx.shape[1] / 2) / rx) ** 2 <= 1
        return _filled(mask, height)
    if which == 1:  # square or rectangle
        w = rng.uniform(0.8, 1.5)
        pts = np.array([[0, 0], [w, 0], [w, 1], [0, 1], [0, -0.05]], float)
        paths = [_wobble(pts, rng, wob)]
    elif which == 2:  # triangle
        pts = np.array([[0, 1], [0.5 + rng.uniform(-0.2, 0.2), 0], [1, 1], [-0.03, 1]], float)
        paths = [_wobble(pts, rng, wob)]
    elif which == 3:  # a cross (X)
        paths = [_wobble(np.array([[0, 0], [1, 1]], float), rng, wob),
                 _wobble(np.array([[1, 0], [0, 1]], float), rng, wob)]
    else:  # hatching, sometimes crossed
        n = int(rng.integers(5, 11))
        ang = rng.uniform(0.2, 1.2)
        paths = []
        for i in range(n):
            c = i / (n - 1)
            paths.append(_wobble(np.array([[c - 0.3 * ang, 0], [c + 0.3 * ang, 1]]), rng, 0.01))
        if rng.random() < 0.5:
            for i in range(n):
                c = i / (n - 1)
                paths.append(_wobble(np.array([[c + 0.3, 0], [c - 0.3, 1]]), rng, 0.01))
    ang = math.radians(rng.uniform(-15, 15))
    rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    return _polylines([p @ rot.T for p in paths], height, thickness, rng)


def _blank_ink(rng: np.random.Generator, height: float, thickness: float) -> np.ndarray:
    side = max(4, int(round(height)))
    return np.zeros((side, side), np.float32)


def _non_digit(make: Callable[[np.random.Generator, float, float], np.ndarray],
               rng: np.random.Generator) -> np.ndarray:
    """A photo of something that is not a digit, under a random photo condition."""
    condition = _CONDITION_NAMES[int(rng.integers(len(_CONDITION_NAMES)))]
    look = _look(condition, rng)
    fh, fw, height = _pick_frame(look, rng)
    ink = make(rng, height, look.thickness)
    return _render(ink, look, rng, frame=(fh, fw))[0]


#: Pictures that are not digits: kind -> ``f(rng) -> uint8 RGB (H, W, 3)``, each under a
#: photo condition drawn at random from :data:`CONDITIONS`.
#:
#: - ``"letter"``: one capital or small letter of a DejaVu font (Sans or Serif, upright,
#:   oblique, bold), distorted by a random affine map and redrawn with a pen. Letters a
#:   person could read as a digit are never used: O o D Q I l i j L T t Z z S s B b g q G J
#:   y Y U u (:data:`EXCLUDED_LETTERS`), which leaves A C E F H K M N P R V W X a c d e f h
#:   k m n p r v w x (:data:`LETTERS`).
#: - ``"word"``: 2 to 4 of those letters, close enough to touch.
#: - ``"symbol"``: + = # * % & @ ? ! $ / \\ arrows, check marks, a smiley, stars and hearts
#:   (font glyphs redrawn with a pen, filled glyphs, or drawn as wobbly polylines).
#: - ``"scribble"``: smooth random pen scribbles with several loops.
#: - ``"shape"``: a filled disc, a square, a triangle, a cross, hatching.
#: - ``"blank"``: paper with no ink at all (but its texture, light, lines, specks...).
NON_DIGITS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "letter": functools.partial(_non_digit, _letter_ink),
    "symbol": functools.partial(_non_digit, _symbol_ink),
    "scribble": functools.partial(_non_digit, _scribble_ink),
    "shape": functools.partial(_non_digit, _shape_ink),
    "blank": functools.partial(_non_digit, _blank_ink),
    "word": functools.partial(_non_digit, _word_ink),
}
