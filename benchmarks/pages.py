"""Everyday pages with a handwritten digit on them, built from MNIST test digits.

A benchmark, not training data: it is made independently of the training
scene generator (``src/barenet/data/scenes.py``, never read or imported
here), so that reading these pages is an honest test.

Each condition of :data:`CONDITIONS` puts one MNIST test digit on one kind of
page a person might photograph or scan. Like ``benchmarks/scenes.py`` (whose
pen, paper, light and camera this module reuses), a picture is made the way
light makes it, in linear-light RGB: the page's reflectance (paper, print,
ink), then the light on it, then the camera (defocus, sensor noise,
sharpening, tone curve, 8 bits); the runner saves it as PNG (scans and clean
pictures) or JPEG (phone photos, at the quality :attr:`Page.jpeg`).

- ``clean``: black ink on flat white paper, nothing else (the reference).
- ``form_box``: a printed form field (a box, or a row of cells, with a printed
  label such as "Qty" or "Room:" beside or above it, sometimes a tinted
  field, a ruled row line); the digit is written inside, in one picture in
  three large enough to touch or cross the box's top or bottom. Scanned or
  photographed.
- ``circled``: a hand-drawn loop around the digit (1 to 1.2 turns, or nearly
  closed), in the same pen or a teacher's red; it may touch the digit.
- ``sticky_note``: a yellow, pink or green square note on a darker desk (wood,
  dark, grey, fabric), turned up to 20 degrees, its lower edge curling (a
  shading across it) and casting a soft shadow; the digit in marker. A photo.
- ``notebook``: a notebook page: blue ruled lines (the digit sits on one), a
  red margin, and in most pictures the spiral edge: punched holes showing the
  desk, the wire coils and the page's edge.
- ``underlined``: one or two hand-drawn lines under the digit, a little
  wider than it, sometimes touching its foot.
- ``graph_paper``: a printed squared grid (squares of 0.3 to 1 digit height;
  engineering paper with a heavier line every 5 squares in 40%).
- ``perspective``: plain paper photographed with the camera tilted 20 to 35
  degrees (a true perspective: the page recedes; its far edge and the desk
  may show).
- ``motion_blur``: camera shake during the exposure: a straight or curved
  path 5-20% of the digit's height, at uneven speed.
- ``whiteboard``: dry-erase marker on a glossy white board: a bright
  reflection of the room's lights (which can wash out part of the digit),
  ghosts of erased writing, uneven light, sometimes the board's frame.
- ``chalkboard``: chalk (broken by the board's grain) on a dark green or black
  board with chalk dust and wiping streaks.
- ``washed_out``: faint low-contrast ink: a pen running dry, a light pencil,
  or an over-exposed photo (the paper clipped to white).
- ``felt_tip``: a felt-tip pen: strokes 2 to 3.2 times a normal pen, in
  bright colours, with a little bleeding into the paper.
- ``crumpled``: paper crumpled and smoothed out again: facets between
  creases lit at different angles, crease lines, and the writing slightly
  displaced with the facets. A photo.

:func:`render_number_note` writes a row of 3 to 8 digits on a sticky note, as
a phone number (a dash between groups) or a price (a decimal point), or
plain. :func:`mnist_file` and :func:`tiny_blurry` make the digit files the
``clean_files`` and ``tiny_blurry`` sections of ``bench_pages.py`` read.

The digit's box in the picture is returned with every picture (the test
checks it lies inside). All randomness comes from the ``rng`` given.
"""

from __future__ import annotations

import math
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage, signal

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import scenes  # noqa: E402  (benchmarks/scenes.py: the pen, paper, light and camera)
from scenes import (  # noqa: E402
    NORMAL_WIDTH,
    Box,
    Look,
    _baseline,
    _bbox,
    _camera,
    _chalk_dust,
    _dim,
    _font,
    _fractal,
    _grid,
    _illumination,
    _ink,
    _jitter,
    _lin,
    _noise,
    _paper,
    _pen,
    _resize,
    _soft,
    _table,
    digit_ink,
)

__all__ = ["CONDITIONS", "HELD_OUT", "Page", "render_page", "render_number_note",
           "mnist_file", "tiny_blurry", "MNIST_FILES"]

#: Conditions the learned reader's training generator never makes.
HELD_OUT = frozenset({"circled", "chalkboard", "sticky_note"})

_BILINEAR = Image.Resampling.BILINEAR
_BICUBIC = Image.Resampling.BICUBIC
_NEAREST = Image.Resampling.NEAREST


@dataclass
class Page:
    """One picture of a page.

    Attributes
    ----------
    image : numpy.ndarray
        uint8 (H, W, 3) sRGB.
    box : Box
        ``(top, bottom, left, right)`` of the digit's ink (of the whole row for a
        number), bottom and right exclusive.
    jpeg : int or None
        The JPEG quality the picture is saved with (a phone photo), or ``None``
        for PNG (a scan, a clean picture).
    """

    image: np.ndarray
    box: Box
    jpeg: int | None = None


# --------------------------------------------------------------------------- small tools

def _frame(rng: np.random.Generator, low: float = 320, high: float = 760) -> tuple[int, int]:
    """A frame ``(H, W)``, 4:3, 3:4 or square, its longer side log-uniform in [low, high]."""
    a = (4 / 3, 3 / 4, 1.0)[rng.choice(3, p=[0.45, 0.35, 0.2])]
    long = math.exp(rng.uniform(math.log(low), math.log(high)))
    h, w = (long / a, long) if a >= 1 else (long, long * a)
    return 2 * round(h / 2), 2 * round(w / 2)


def _free(size: int, lo: float, hi: float, rng: np.random.Generator) -> int:
    """A position in ``[lo, hi - size]`` (the middle when it does not fit)."""
    if hi - size > lo:
        return int(round(rng.uniform(lo, hi - size)))
    return int(round((lo + hi - size) / 2))


def _place(shape: tuple[int, int], frame: tuple[int, int],
           rng: np.random.Generator, margin: float = 0.05) -> tuple[int, int]:
    """Top-left corner for something of ``shape`` anywhere in ``frame``, ``margin`` clear."""
    m = margin * min(frame)
    return _free(shape[0], m, frame[0] - m, rng), _free(shape[1], m, frame[1] - m, rng)


def _stamp(layer: np.ndarray, cov: np.ndarray, top: int, left: int) -> None:
    """``layer = max(layer, cov)`` at ``(top, left)``, clipped to the layer, in place."""
    h, w = layer.shape
    t, l_ = max(top, 0), max(left, 0)
    b, r = min(top + cov.shape[0], h), min(left + cov.shape[1], w)
    if b > t and r > l_:
        region = layer[t:b, l_:r]
        np.maximum(region, cov[t - top:b - top, l_ - left:r - left], out=region)


def _print(albedo: np.ndarray, cov: np.ndarray, colour: np.ndarray) -> None:
    """Printing ink (a dye) of ``colour`` (linear RGB) with coverage ``cov``, in place."""
    albedo *= 1 - cov[..., None] * (1 - np.asarray(colour, np.float32))


def _stroke(points: np.ndarray, radius: float, rng: np.random.Generator,
            pressure: float = 0.12) -> tuple[np.ndarray, int, int]:
    """A pen stroke of ``radius`` pixels along a polyline of (x, y) points in pixels.

    Drawn at twice the resolution (a one-pixel centre line, then a round pen as
    :func:`scenes.digit_ink` draws), and halved. Returns the coverage and the
    top-left corner of its array in the points' coordinates.
    """
    pad = radius + 4
    lo = np.floor(points.min(axis=0) - pad)
    hi = np.ceil(points.max(axis=0) + pad)
    w, h = int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1
    image = Image.new("1", (2 * w, 2 * h), 0)
    ImageDraw.Draw(image).line([tuple(v) for v in (points - lo) * 2], fill=1, width=1)
    cov = _pen(np.asarray(image, bool), 2 * radius, rng, pressure)
    cov = np.clip(_resize(cov, (h, w), _BILINEAR), 0, 1)
    return cov, int(lo[1]), int(lo[0])


def _wobbly(points: np.ndarray, rng: np.random.Generator, amount: float,
            n: int = 200) -> np.ndarray:
    """A polyline resampled to ``n`` points and bent by a smooth hand tremor of ``amount`` px."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    t = np.concatenate([[0], np.cumsum(seg)])
    s = np.linspace(0, t[-1], n)
    dense = np.stack([np.interp(s, t, points[:, 0]), np.interp(s, t, points[:, 1])], axis=1)
    u = s / max(t[-1], 1e-9)
    for k in (1, 2, 3):
        phase = rng.uniform(0, 2 * np.pi, 2)
        amp = rng.normal(0, amount / k, 2)
        dense += np.stack([amp[0] * np.sin(2 * np.pi * k * u + phase[0]),
                           amp[1] * np.sin(2 * np.pi * k * u + phase[1])], axis=1)
    return dense


def _rect_distance(shape: tuple[int, int], t: float, b: float, l_: float,
                   r: float) -> np.ndarray:
    """Distance of each pixel centre to the outline of the rectangle (t, b, l, r)."""
    y, x = _grid(shape)
    ox = np.maximum(np.maximum(np.float32(l_) - x, x - np.float32(r)), 0)
    oy = np.maximum(np.maximum(np.float32(t) - y, y - np.float32(b)), 0)
    outside = np.sqrt(ox * ox + oy * oy)
    inside = np.minimum(np.minimum(x - np.float32(l_), np.float32(r) - x),
                        np.minimum(y - np.float32(t), np.float32(b) - y))
    return np.where(outside > 0, outside, np.maximum(inside, 0))


def _line_cov(d: np.ndarray, width: float) -> np.ndarray:
    """Coverage of a printed line ``width`` pixels wide at distance ``d`` from its centre."""
    return np.clip(np.float32(width / 2 + 0.5) - np.abs(d), 0, 1).astype(np.float32)


def _text_cov(text: str, size: float, font_name: str = "DejaVuSans.ttf") -> np.ndarray:
    """Printed ``text`` (anti-aliased) with capitals about ``size`` pixels tall, cropped."""
    font = _font(font_name, max(6, int(round(size / 0.73))))
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(image).text((2 - left, 2 - top), text, fill=255, font=font)
    return np.asarray(image, np.float32) / 255


def _phone(look: Look, rng: np.random.Generator) -> int:
    """Make ``look`` a quick phone photo (white balance, exposure, noise, sharpening...).

    Returns the JPEG quality it is saved with.
    """
    warm = rng.uniform(-0.08, 0.08)
    look.light = (1 + warm, 1 + rng.uniform(-0.02, 0.02), 1 - warm)
    look.exposure = rng.uniform(0.8, 1.0)
    look.noise = max(look.noise, rng.uniform(0.01, 0.025))
    look.blur = max(look.blur, rng.uniform(0.4, 1.0))
    look.sharpen = rng.uniform(0.2, 0.6)
    look.contrast = rng.uniform(0.04, 0.14)
    return int(rng.integers(80, 96))


def _scan(look: Look, rng: np.random.Generator) -> int | None:
    """Make ``look`` a flatbed scan: even light, little noise; saved as PNG or good JPEG."""
    look.gradient = rng.uniform(0.0, 0.03)
    look.light = (1.0, 1.0, 1.0)
    look.exposure = rng.uniform(0.92, 1.0)
    look.noise = rng.uniform(0.002, 0.008)
    look.blur = rng.uniform(0.3, 0.6)
    return None if rng.random() < 0.5 else int(rng.integers(85, 96))


def _develop(albedo: np.ndarray, look: Look, rng: np.random.Generator, box: Box,
             glare: Callable[[np.ndarray], None] | None = None) -> np.ndarray:
    """Light the page (:func:`scenes._illumination`), add glare, defocus, and take the photo."""
    light = _illumination(look, rng, albedo.shape[:2], box)
    image = albedo * (light[..., None] if light.ndim == 2 else light)
    if glare is not None:
        glare(image)
    return _lens_and_camera(image, look, rng)


def _lens_and_camera(image: np.ndarray, look: Look, rng: np.random.Generator) -> np.ndarray:
    if look.blur > 0:
        sigma = look.blur * max(1.0, max(image.shape[:2]) / 640)
        image = ndimage.gaussian_filter(image, (sigma, sigma, 0), truncate=3.0)
    return _camera(np.ascontiguousarray(image, np.float32), look, rng)


def _ink_box(layer: np.ndarray) -> Box:
    box = _bbox(layer > 0.5)
    if box is None:
        raise ValueError("the digit fell outside the picture")
    return box


def _digit(digit28: np.ndarray, height: float, thickness: float, rng: np.random.Generator,
           width: float | None = None) -> np.ndarray:
    """:func:`scenes.digit_ink` ``height`` tall, or smaller so it is at most ``width`` wide."""
    ink = digit_ink(digit28, max(16, int(round(height))), thickness, rng)
    if width is not None and ink.shape[1] > width:
        ink = digit_ink(digit28, max(16, int(round(height * width / ink.shape[1]))), thickness,
                        rng)
    return ink


def _write(albedo: np.ndarray, layer: np.ndarray | None, cov: np.ndarray, top: int, left: int,
           look: Look, rng: np.random.Generator, height: float) -> None:
    """Ink ``cov`` on the page at ``(top, left)`` (:func:`scenes._ink`), noted in ``layer``."""
    _ink(albedo, cov, top, left, look, rng, height)
    if layer is not None:
        _stamp(layer, cov, top, left)


# --------------------------------------------------------------------------- conditions

def _clean(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    fh, fw = _frame(rng)
    look = Look()
    ink = _digit(digit28, rng.uniform(0.3, 0.7) * fh, 1.0, rng, 0.9 * fw)
    albedo = np.ones((fh, fw, 3), np.float32)
    layer = np.zeros((fh, fw), np.float32)
    top, left = _place(ink.shape, (fh, fw), rng)
    _write(albedo, layer, ink, top, left, look, rng, ink.shape[0])
    return Page(_camera(albedo, look, rng), _ink_box(layer))


def _plain(digit28: np.ndarray, rng: np.random.Generator, thickness: float | None = None,
           frame: tuple[int, int] | None = None, height: tuple[float, float] = (0.3, 0.6),
           ) -> tuple[np.ndarray, np.ndarray, Look, np.ndarray, int, int]:
    """Baseline paper (:func:`scenes._baseline`) with the digit on it, not yet lit.

    Returns albedo, ink layer, look, the digit's coverage and its top-left corner.
    """
    fh, fw = frame or _frame(rng)
    look = _baseline(rng)
    if thickness is not None:
        look.thickness = thickness
    ink = _digit(digit28, rng.uniform(*height) * fh, look.thickness, rng, 0.75 * fw)
    albedo = _paper(look, rng, (fh, fw))
    layer = np.zeros((fh, fw), np.float32)
    top, left = _place(ink.shape, (fh, fw), rng, margin=0.12)
    _write(albedo, layer, ink, top, left, look, rng, ink.shape[0])
    return albedo, layer, look, ink, top, left


_LABELS = ("Qty", "No.", "Age", "Room", "Floor", "Grade", "Score", "Item", "Unit", "Size",
           "Day", "Month", "Seat", "Row", "Lane", "Table", "Box", "Code", "Class", "Group",
           "Level", "Rank", "Team", "Gate", "Dept.", "Ref.", "Copies", "Nights", "Adults")
_PRINT_COLOURS = {"black": (30, 30, 32), "grey": (90, 90, 95), "blue": (40, 90, 170),
                  "dropout red": (225, 95, 80), "orange": (235, 150, 70), "green": (50, 130, 90)}
_TINTS = ((236, 240, 250), (252, 246, 218), (236, 236, 236), (232, 246, 236))


def _form_box(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    fh, fw = _frame(rng)
    look = _baseline(rng)
    scanned = rng.random() < 0.5
    jpeg = _scan(look, rng) if scanned else _phone(look, rng)
    if scanned:
        look.paper = tuple(_jitter((248, 248, 246), rng, 3))
    albedo = _paper(look, rng, (fh, fw))
    layer = np.zeros((fh, fw), np.float32)

    # the field: one box, or a row of cells (a date, a code), the digit in one of them
    cells = 1 if rng.random() < 0.55 else int(rng.integers(2, 6))
    bh = rng.uniform(0.3, 0.55) * fh
    bw = bh * (rng.uniform(0.75, 1.0) if cells > 1 else rng.uniform(0.8, 1.8))
    label = _LABELS[rng.integers(len(_LABELS))] + (":" if rng.random() < 0.4 else "")
    beside = rng.random() < 0.6
    size = bh * (rng.uniform(0.18, 0.35) if beside else rng.uniform(0.14, 0.24))
    font = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf")[rng.integers(3)]
    text = _text_cov(label, size, font)
    gap = bh * rng.uniform(0.08, 0.25)
    width = (text.shape[1] + gap if beside else 0) + cells * bw
    height = bh + (0 if beside else text.shape[0] + gap)
    if width > 0.94 * fw or height > 0.94 * fh:  # shrink the field to fit the frame
        k = min(0.94 * fw / width, 0.94 * fh / height)
        bh, bw, size, gap = bh * k, bw * k, size * k, gap * k
        text = _text_cov(label, size, font)
        width = (text.shape[1] + gap if beside else 0) + cells * bw
        height = bh + (0 if beside else text.shape[0] + gap)
    top = _free(int(height), 0.03 * fh, 0.97 * fh, rng)
    left = _free(int(width), 0.03 * fw, 0.97 * fw, rng)
    bt = top + (0 if beside else text.shape[0] + gap)
    bl = left + (text.shape[1] + gap if beside else 0)

    colour = _PRINT_COLOURS[list(_PRINT_COLOURS)[rng.choice(6, p=[.35, .15, .2, .12, .1, .08])]]
    colour = _jitter(colour, rng, 8)
    line = max(1.0, bh * rng.uniform(0.01, 0.035))
    if rng.random() < 0.25:  # a tinted field
        tint = _jitter(_TINTS[rng.integers(len(_TINTS))], rng, 4)
        t0, l0 = int(bt), int(bl)
        albedo[t0:int(bt + bh), l0:int(bl + cells * bw)] *= tint / np.float32(1.0)
    cov = np.zeros((fh, fw), np.float32)
    for c in range(cells):
        d = _rect_distance((fh, fw), bt, bt + bh, bl + c * bw, bl + (c + 1) * bw)
        np.maximum(cov, _line_cov(d, line), out=cov)
    y, _ = _grid((fh, fw))
    if rng.random() < 0.5:  # the form's ruled rows run across the page (not through labels)
        for yy in (top - rng.uniform(0.2, 0.6) * bh, bt + bh + rng.uniform(0.2, 0.6) * bh):
            if rng.random() < 0.6:
                np.maximum(cov, _line_cov(y - np.float32(yy), max(1.0, 0.6 * line)), out=cov)
    _print(albedo, cov * np.float32(rng.uniform(0.85, 1.0)), colour)
    label_cov = np.zeros((fh, fw), np.float32)
    ty = int(bt + (bh - text.shape[0]) * rng.uniform(0.3, 0.7)) if beside else int(top)
    _stamp(label_cov, text, ty, int(left))
    _print(albedo, label_cov, _jitter((30, 30, 32), rng, 6))

    # the digit, written in one of the cells; in one picture in three touching the box
    cell = int(rng.integers(cells))
    cl, cr = bl + cell * bw, bl + (cell + 1) * bw
    touching = rng.random() < 0.35
    dh = bh * (rng.uniform(0.82, 1.05) if touching else rng.uniform(0.5, 0.8))
    ink = _digit(digit28, dh, look.thickness, rng)
    if ink.shape[1] > 0.92 * bw:  # a wide digit in a narrow cell: written smaller
        ink = _digit(digit28, dh * 0.92 * bw / ink.shape[1], look.thickness, rng)
    h = ink.shape[0]
    dl = _free(ink.shape[1], cl + 0.04 * bw, cr - 0.04 * bw, rng)
    if touching:  # its top or foot on, or across, the box's line
        over = rng.uniform(-0.02, 0.08) * h
        dt = int(round(bt - over)) if rng.random() < 0.4 else int(round(bt + bh + over - h))
    else:
        dt = _free(h, bt + 0.06 * bh, bt + 0.94 * bh, rng)
    dt = min(max(dt, 0), fh - h)
    _write(albedo, layer, ink, dt, dl, look, rng, h)
    box = _ink_box(layer)
    return Page(_develop(albedo, look, rng, box), box, jpeg)


def _circled(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    albedo, layer, look, ink, top, left = _plain(digit28, rng, height=(0.3, 0.5))
    h, w = ink.shape
    cy = top + h / 2 + rng.uniform(-0.06, 0.06) * h
    cx = left + w / 2 + rng.uniform(-0.08, 0.08) * h
    ry = h / 2 * rng.uniform(1.1, 1.45)
    rx = max(w / 2 * rng.uniform(1.15, 1.6), ry * rng.uniform(0.7, 1.0))
    turns = rng.uniform(1.0, 1.2) if rng.random() < 0.8 else rng.uniform(0.9, 1.0)
    start = rng.uniform(0, 2 * np.pi)
    direction = 1 if rng.random() < 0.35 else -1  # most people circle anticlockwise
    t = start + direction * np.linspace(0, 2 * np.pi * turns, 240)
    drift = 1 + rng.uniform(-0.1, 0.1) * np.linspace(0, 1, t.size)  # ends do not meet
    tilt = math.radians(rng.uniform(-20, 20))
    ex, ey = rx * np.cos(t) * drift, ry * np.sin(t) * drift
    pts = np.stack([cx + ex * math.cos(tilt) - ey * math.sin(tilt),
                    cy + ex * math.sin(tilt) + ey * math.cos(tilt)], axis=1)
    pts = _wobbly(pts, rng, 0.03 * h, 240)
    pen = replace(look)
    if rng.random() < 0.35:  # a teacher's red pen
        pen.ink = tuple(_jitter((180, 30, 36), rng, 12))
    radius = 0.5 * NORMAL_WIDTH * look.thickness * h * rng.uniform(0.8, 1.1)
    cov, t0, l0 = _stroke(pts, radius, rng)
    _write(albedo, None, cov, t0, l0, pen, rng, h)
    jpeg = _phone(look, rng) if rng.random() < 0.5 else None
    box = _ink_box(layer)
    return Page(_develop(albedo, look, rng, box), box, jpeg)


_NOTES = {"yellow": (250, 232, 110), "pink": (250, 160, 190), "green": (180, 232, 140)}
_MARKERS = {"black": (24, 24, 28), "blue": (24, 44, 140), "red": (170, 26, 34),
            "green": (20, 96, 50), "violet": (70, 36, 120)}


def _marker(look: Look, rng: np.random.Generator) -> None:
    name = list(_MARKERS)[rng.choice(5, p=[0.5, 0.25, 0.1, 0.08, 0.07])]
    look.ink = tuple(_jitter(_MARKERS[name], rng, 8))
    look.ink_opacity = rng.uniform(0.93, 1.0)
    look.ink_blotch = rng.uniform(0.0, 0.08)
    # a fine-point marker (1-1.5 mm) to a chisel tip (3-5 mm) on a digit 2-5 cm tall
    look.thickness = rng.uniform(0.7, 2.2)


def _note(rng: np.random.Generator, frame: tuple[int, int], side: tuple[float, float],
          cov: np.ndarray, look: Look) -> tuple[np.ndarray, np.ndarray, Box]:
    """A sticky note on a desk with ``cov`` (ink coverage) written on it, not yet lit.

    The note is ``side`` = (height, width) pixels, the writing in its middle
    part; it is turned, placed in the frame, its lower edge curls up (a shade
    across it) and it casts a soft shadow on the desk. Returns the albedo, the
    ink layer (the writing's coverage in the frame) and the note's box.
    """
    nh, nw = int(side[0]), int(side[1])
    angle = rng.uniform(-20, 20)
    a = math.radians(angle)
    extent = (nh * abs(math.cos(a)) + nw * abs(math.sin(a)),
              nw * abs(math.cos(a)) + nh * abs(math.sin(a)))
    # the photo is taken so that the turned note fits in it
    fh, fw = (max(int(frame[i]), 2 * math.ceil(extent[i] / 0.96 / 2)) for i in (0, 1))
    colour = _NOTES[list(_NOTES)[rng.integers(3)]]
    note_look = replace(look, paper=tuple(_jitter(colour, rng, 8)),
                        paper_texture=rng.uniform(0.01, 0.025))
    note = _paper(note_look, rng, (nh, nw))
    v = (np.arange(nh, dtype=np.float32) / nh)[:, None, None]
    glue = 0.12 * nh  # the glued strip lies flat; below it the note curls a little
    curl = np.clip((v * nh - glue) / (nh - glue), 0, 1) ** 2
    note *= 1 - np.float32(rng.uniform(-0.08, 0.15)) * curl
    layer = np.zeros((nh, nw), np.float32)
    top = _free(cov.shape[0], 0.2 * nh, 0.92 * nh, rng)
    left = _free(cov.shape[1], 0.08 * nw, 0.92 * nw, rng)
    _write(note, layer, cov, top, left, look, rng, cov.shape[0])
    planes = [Image.fromarray(np.ascontiguousarray(note[..., c])) for c in range(3)]
    planes.append(Image.fromarray(np.ones((nh, nw), np.float32)))
    planes.append(Image.fromarray(layer))
    turned = [np.asarray(p.rotate(angle, _BICUBIC, expand=True), np.float32) for p in planes]
    mask = np.clip(turned[3], 0, 1)
    th, tw = mask.shape
    nt = _free(th, 0.02 * fh, 0.98 * fh, rng)
    nl = _free(tw, 0.02 * fw, 0.98 * fw, rng)
    desk = _table((fh, fw), rng, min(fh, fw) / 600)
    full_mask = np.zeros((fh, fw), np.float32)
    _stamp(full_mask, mask, nt, nl)
    # the soft shadow the note casts on the desk, below and to one side
    shadow = ndimage.gaussian_filter(full_mask, 0.012 * max(nh, nw) + 1)
    shadow = ndimage.shift(shadow, (0.01 * nh + 1, rng.uniform(-0.01, 0.01) * nw), order=1)
    desk *= (1 - np.float32(rng.uniform(0.3, 0.55)) * shadow)[..., None]
    albedo = desk * (1 - full_mask[..., None])
    for c in range(3):
        plane = np.zeros((fh, fw), np.float32)
        _stamp(plane, turned[c] * mask, nt, nl)
        albedo[..., c] += plane
    ink_layer = np.zeros((fh, fw), np.float32)
    _stamp(ink_layer, turned[4], nt, nl)
    return albedo, ink_layer, (nt, nt + th, nl, nl + tw)


def _sticky_note(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    fh, fw = _frame(rng)
    look = _baseline(rng)
    _marker(look, rng)
    side = rng.uniform(0.5, 0.8) * min(fh, fw)
    ink = _digit(digit28, side * rng.uniform(0.45, 0.7), look.thickness, rng, 0.84 * side)
    albedo, layer, _ = _note(rng, (fh, fw), (side, side), ink, look)
    jpeg = _phone(look, rng)
    look.gradient = rng.uniform(0.05, 0.3)
    box = _ink_box(layer)
    return Page(_develop(albedo, look, rng, box), box, jpeg)


def _notebook(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    fh, fw = _frame(rng)
    look = _baseline(rng)
    look.paper = tuple(_jitter((248, 248, 244), rng, 4))
    jpeg = _phone(look, rng) if rng.random() < 0.7 else _scan(look, rng)
    spacing = rng.uniform(0.09, 0.16) * fh  # the frame holds 6 to 11 lines
    albedo = _paper(look, rng, (fh, fw))
    y, x = _grid((fh, fw))
    tilt = math.radians(rng.uniform(-1.5, 1.5))
    u = y * np.float32(math.cos(tilt)) - x * np.float32(math.sin(tilt))  # across the lines
    v = x * np.float32(math.cos(tilt)) + y * np.float32(math.sin(tilt))  # along them
    phase = rng.uniform(0, spacing)
    r = np.mod(u - np.float32(phase), np.float32(spacing))
    width = max(1.0, spacing * rng.uniform(0.015, 0.035))
    lines = _line_cov(np.minimum(r, spacing - r), width) * np.float32(rng.uniform(0.55, 0.85))
    _print(albedo, lines, _jitter((120, 165, 225), rng, 12))

    spiral = rng.random() < 0.75
    edge = rng.uniform(0.0, 0.1) * fw if spiral else -1.0  # the page's bound edge, at the left
    pitch = spacing * rng.uniform(0.6, 0.85)
    hole_x = edge + pitch * rng.uniform(0.55, 0.8)
    margin_x = hole_x + spacing * rng.uniform(2.2, 3.6) if spiral else \
        rng.uniform(0.08, 0.25) * fw
    d = np.abs(v - np.float32(margin_x))
    if rng.random() < 0.3:  # a double margin line
        d = np.minimum(d, np.abs(v - np.float32(margin_x + 3 * width + 2)))
    _print(albedo, _line_cov(d, width) * np.float32(rng.uniform(0.5, 0.8)),
           _jitter((225, 100, 115), rng, 12))

    # the digit, sitting on a ruled line, right of the margin
    dh = spacing * rng.uniform(0.65, 1.6)
    ink = _digit(digit28, dh, look.thickness, rng)
    h, w = ink.shape
    left = min(_free(w, margin_x + 0.3 * spacing, 0.95 * fw, rng), int(0.97 * fw) - w)
    first = math.ceil((h + 0.05 * fh - phase) / spacing)
    last = math.floor((0.95 * fh - phase) / spacing)
    k = int(rng.integers(first, max(first, last) + 1))
    bottom = phase + k * spacing + rng.uniform(-0.12, 0.05) * spacing
    top = int(round(min(max(bottom - h, 0.02 * fh), fh - h - 1)))
    layer = np.zeros((fh, fw), np.float32)
    _write(albedo, layer, ink, top, left, look, rng, h)

    if spiral:  # punched holes, the desk through them and beyond the edge, the wire coils
        desk = _table((fh, fw), rng, min(fh, fw) / 600)
        beyond = _soft(np.float32(edge) - x, 1.5)
        hole_r = pitch * rng.uniform(0.16, 0.24)
        cy = np.float32(rng.uniform(0, pitch))
        ry = np.mod(y - cy, np.float32(pitch))
        ry = np.minimum(ry, np.float32(pitch) - ry)
        dist = np.sqrt((x - np.float32(hole_x)) ** 2 + ry ** 2)
        holes = _soft(np.float32(hole_r) - dist, 1.2)
        through = np.maximum(beyond, holes)
        albedo *= 1 - through[..., None]
        albedo += through[..., None] * desk * np.float32(rng.uniform(0.5, 0.9))
        # each coil: a wire from its hole over the page's edge, seen from above, slanting
        wire = max(1.2, 0.07 * pitch)
        metal = _jitter((150, 150, 155) if rng.random() < 0.7 else (40, 40, 44), rng, 10)
        end = edge - pitch * rng.uniform(0.3, 0.8)
        lean = pitch * rng.uniform(-0.35, 0.35)
        bulge = pitch * rng.uniform(0.0, 0.15)
        s = np.linspace(0, 1, 40)
        coil = np.zeros((fh, fw), np.float32)
        for k in range(-1, int(fh / pitch) + 2):
            yc = float(cy) + k * pitch
            pts = np.stack([hole_x + (end - hole_x) * s,
                            yc + lean * s - bulge * np.sin(np.pi * s)], axis=1)
            c, t0, l0 = _stroke(pts, wire, rng, pressure=0.0)
            _stamp(coil, c, t0, l0)
        albedo *= 1 - coil[..., None]
        shade = 0.55 + 0.45 * _noise((fh, fw), rng, max(2.0, wire))
        albedo += coil[..., None] * metal * np.clip(shade, 0.2, 1.3)[..., None]
    box = _ink_box(layer)
    return Page(_develop(albedo, look, rng, box), box, jpeg)


def _underlined(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    albedo, layer, look, ink, top, left = _plain(digit28, rng, height=(0.3, 0.55))
    h, w = ink.shape
    n = 2 if rng.random() < 0.25 else 1
    for i in range(n):
        gap = rng.uniform(-0.04, 0.18) * h + i * rng.uniform(0.08, 0.14) * h
        extra = rng.uniform(0.1, 0.5) * w
        shift = rng.uniform(-0.3, 0.3) * extra
        x0, x1 = left - extra / 2 + shift, left + w + extra / 2 + shift
        yy = top + h + gap
        slope = math.tan(math.radians(rng.uniform(-5, 5)))
        pts = np.array([[x0, yy], [x1, yy + slope * (x1 - x0)]])
        bend = rng.uniform(-0.03, 0.03) * h
        pts = _wobbly(pts, rng, 0.008 * h, 80)
        pts[:, 1] += bend * np.sin(np.linspace(0, np.pi, len(pts)))
        radius = 0.5 * NORMAL_WIDTH * look.thickness * h * rng.uniform(0.8, 1.1)
        cov, t0, l0 = _stroke(pts, radius, rng)
        _write(albedo, None, cov, t0, l0, look, rng, h)
    jpeg = _phone(look, rng) if rng.random() < 0.5 else None
    box = _ink_box(layer)
    return Page(_develop(albedo, look, rng, box), box, jpeg)


def _graph_paper(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    fh, fw = _frame(rng)
    look = _baseline(rng)
    look.paper = tuple(_jitter((248, 248, 245), rng, 4))
    jpeg = _phone(look, rng) if rng.random() < 0.6 else _scan(look, rng)
    dh = rng.uniform(0.3, 0.6) * fh
    ink = _digit(digit28, dh, look.thickness, rng, 0.8 * fw)
    spacing = ink.shape[0] * rng.uniform(0.3, 1.0)
    albedo = _paper(look, rng, (fh, fw))
    y, x = _grid((fh, fw))
    tilt = math.radians(rng.uniform(-1.5, 1.5))
    u = y * np.float32(math.cos(tilt)) - x * np.float32(math.sin(tilt))
    v = x * np.float32(math.cos(tilt)) + y * np.float32(math.sin(tilt))
    width = max(0.8, spacing * rng.uniform(0.01, 0.03))
    major = 5 if rng.random() < 0.4 else 0
    colour = ((150, 175, 210), (160, 160, 165), (140, 195, 160))[rng.choice(3, p=[.6, .25, .15])]
    colour = _jitter(colour, rng, 10)
    strength = np.float32(rng.uniform(0.3, 0.6))
    cov = np.zeros((fh, fw), np.float32)
    for coord in (u, v):
        off = rng.uniform(0, spacing * (major or 1))
        r = np.mod(coord - np.float32(off), np.float32(spacing))
        np.maximum(cov, _line_cov(np.minimum(r, spacing - r), width), out=cov)
        if major:
            big = spacing * major
            r = np.mod(coord - np.float32(off), np.float32(big))
            np.maximum(cov, _line_cov(np.minimum(r, big - r), 2.2 * width) / strength * 0.8,
                       out=cov)
    _print(albedo, np.clip(cov * strength, 0, 1), colour)
    layer = np.zeros((fh, fw), np.float32)
    top, left = _place(ink.shape, (fh, fw), rng, margin=0.08)
    _write(albedo, layer, ink, top, left, look, rng, ink.shape[0])
    box = _ink_box(layer)
    return Page(_develop(albedo, look, rng, box), box, jpeg)


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues: the rotation by ``angle`` radians about the unit vector ``axis``."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


def _warp(planes: list[np.ndarray], inverse: np.ndarray, shape: tuple[int, int],
          resample=_BILINEAR) -> list[np.ndarray]:
    """Planes (2-D float32) seen through a homography: ``inverse`` maps output to input."""
    m = inverse / inverse[2, 2]
    coeffs = tuple(float(c) for c in m.ravel()[:8])
    size = (shape[1], shape[0])
    return [np.asarray(Image.fromarray(np.ascontiguousarray(p, np.float32)).transform(
        size, Image.Transform.PERSPECTIVE, coeffs, resample), np.float32) for p in planes]


def _perspective(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    fh, fw = _frame(rng, 320, 680)
    # the sheet, seen straight on, twice the frame; the digit near its middle
    sh, sw = int(2.2 * fh), int(2.2 * fw)
    look = _baseline(rng)
    jpeg = _phone(look, rng)
    want = rng.uniform(0.3, 0.55) * fh
    ink = _digit(digit28, want * 1.15, look.thickness, rng)
    albedo = _paper(look, rng, (sh, sw))
    layer = np.zeros((sh, sw), np.float32)
    top = _free(ink.shape[0], 0.35 * sh, 0.65 * sh, rng)
    left = _free(ink.shape[1], 0.35 * sw, 0.65 * sw, rng)
    _write(albedo, layer, ink, top, left, look, rng, ink.shape[0])
    light = _illumination(look, rng, (sh, sw), (top, top + ink.shape[0], left,
                                                 left + ink.shape[1]))
    lit = albedo * (light[..., None] if light.ndim == 2 else light)

    # the camera turned by the tilt about an axis in the page's plane, through its centre
    tilt = math.radians(rng.uniform(20, 35))
    phi = rng.uniform(0, 2 * math.pi)
    f = rng.uniform(0.75, 1.2) * max(fh, fw) * 1.15
    cy, cx = top + ink.shape[0] / 2, left + ink.shape[1] / 2
    k = np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])
    h0 = k @ _rotation(np.array([math.cos(phi), math.sin(phi), 0.0]), tilt) @ np.linalg.inv(k)
    corners = np.array([[left, top, 1], [left + ink.shape[1], top, 1],
                        [left, top + ink.shape[0], 1],
                        [left + ink.shape[1], top + ink.shape[0], 1]], np.float64).T
    p = h0 @ corners
    p = p[:2] / p[2]
    scale = want / max(p[1].max() - p[1].min(), 1.0)
    scale = min(scale, 0.8 * fw / max(p[0].max() - p[0].min(), 1.0))
    centre = p.mean(axis=1) * scale
    half = (p.max(axis=1) - p.min(axis=1)) * scale / 2
    ty = rng.uniform(0.1 * fh + half[1], 0.9 * fh - half[1]) if 0.8 * fh > 2 * half[1] \
        else fh / 2
    tx = rng.uniform(0.1 * fw + half[0], 0.9 * fw - half[0]) if 0.8 * fw > 2 * half[0] \
        else fw / 2
    s2 = np.array([[scale, 0, tx - centre[0]], [0, scale, ty - centre[1]], [0, 0, 1.0]])
    inverse = np.linalg.inv(s2 @ h0)
    planes = _warp([lit[..., 0], lit[..., 1], lit[..., 2], np.ones((sh, sw), np.float32),
                    layer], inverse, (fh, fw))
    sheet = np.clip(planes[3], 0, 1)[..., None]
    desk = _table((fh, fw), rng, min(fh, fw) / 600) * np.float32(rng.uniform(0.6, 1.0))
    image = np.stack(planes[:3], axis=2) + (1 - sheet) * desk
    box = _ink_box(planes[4])
    return Page(_lens_and_camera(image, look, rng), box, jpeg)


def _motion_kernel(length: float, rng: np.random.Generator) -> np.ndarray:
    """The path of a shaking camera during the exposure, as a normalised blur kernel."""
    n = 400
    t = np.linspace(0, 1, n)
    heading = rng.uniform(0, np.pi) + rng.uniform(-1.2, 1.2) * (t - 0.5)
    speed = np.clip(1 + 0.6 * np.interp(t, np.linspace(0, 1, 5), rng.standard_normal(5)),
                    0.2, None)
    xs = np.cumsum(np.cos(heading) * speed)
    ys = np.cumsum(np.sin(heading) * speed)
    path = np.stack([xs, ys], axis=1)
    path -= path.mean(axis=0)
    extent = np.linalg.norm(path[-1] - path[0])
    path *= length / max(extent, 1e-9)
    weights = 1 / speed  # the camera lingers where it moves slowly
    size = int(math.ceil(np.abs(path).max())) * 2 + 3
    kernel = np.zeros((size, size))
    c = size // 2
    px, py = path[:, 0] + c, path[:, 1] + c
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    fx, fy = px - x0, py - y0
    for dx, dy, wgt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                        (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (y0 + dy, x0 + dx), wgt * weights)
    return (kernel / kernel.sum()).astype(np.float32)


def _motion_blur(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    albedo, layer, look, ink, _, _ = _plain(digit28, rng)
    jpeg = _phone(look, rng)
    look.blur = rng.uniform(0.3, 0.6)  # sharp focus: the shake is the blur
    box = _ink_box(layer)
    light = _illumination(look, rng, albedo.shape[:2], box)
    image = albedo * (light[..., None] if light.ndim == 2 else light)
    kernel = _motion_kernel(rng.uniform(0.05, 0.2) * ink.shape[0], rng)
    pad = kernel.shape[0]
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    blurred = signal.fftconvolve(padded, kernel[..., None], mode="same", axes=(0, 1))
    image = np.clip(blurred[pad:-pad, pad:-pad], 0, None).astype(np.float32)
    return Page(_lens_and_camera(image, look, rng), box, jpeg)


def _whiteboard(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    fh, fw = _frame(rng)
    look = _baseline(rng)
    jpeg = _phone(look, rng)
    look.paper = tuple(_jitter((236, 238, 240), rng, 5))
    look.paper_texture = rng.uniform(0.003, 0.01)  # smooth enamel
    _marker(look, rng)
    look.ink_opacity = rng.uniform(0.85, 0.97)  # dry-erase ink is a little thin...
    look.ink_blotch = rng.uniform(0.05, 0.25)  # ...and streaky
    look.thickness = rng.uniform(0.8, 1.8)  # the digit is large: 5-15 cm
    look.gradient = rng.uniform(0.1, 0.35)
    albedo = _paper(look, rng, (fh, fw))
    scale = min(fh, fw) / 600
    dh = rng.uniform(0.3, 0.6) * fh
    # ghosts of erased writing: big faint smears
    for _ in range(int(rng.integers(1, 4))):
        ghost = scenes._scribble_ink(rng, rng.uniform(0.3, 0.8) * fh, 2.5) \
            if rng.random() < 0.5 else scenes._word_ink(rng, rng.uniform(0.2, 0.4) * fh, 2.5)
        ghost = ndimage.gaussian_filter(ghost, 2 * scale + 0.5)
        ghost_look = replace(look, ink_opacity=rng.uniform(0.03, 0.09), ink_blotch=0.5)
        gt, gl = rng.integers(-ghost.shape[0] // 2, fh), rng.integers(-ghost.shape[1] // 2, fw)
        _ink(albedo, ghost, int(gt), int(gl), ghost_look, rng, dh)
    ink = _digit(digit28, dh, look.thickness, rng, 0.8 * fw)
    layer = np.zeros((fh, fw), np.float32)
    top, left = _place(ink.shape, (fh, fw), rng, margin=0.08)
    _write(albedo, layer, ink, top, left, look, rng, ink.shape[0])
    if rng.random() < 0.4:  # the board's aluminium frame along one edge
        width = int(rng.uniform(0.03, 0.06) * min(fh, fw))
        side = int(rng.integers(4))
        metal = _jitter((175, 178, 182), rng, 10)
        box0 = _ink_box(layer)
        room = (box0[0], fh - box0[1], box0[2], fw - box0[3])[side]
        if room > width + 4:
            strips = ((slice(0, width), slice(None)), (slice(fh - width, fh), slice(None)),
                      (slice(None), slice(0, width)), (slice(None), slice(fw - width, fw)))
            albedo[strips[side]] = metal
    box = _ink_box(layer)

    def glare(image: np.ndarray) -> None:
        """The reflection of the room's lights: a tube (a band) or a lamp (a blob)."""
        y, x = _grid(image.shape[:2])
        for _ in range(int(rng.integers(1, 3))):
            if rng.random() < 0.6:  # near the digit, often over part of it
                gy = rng.uniform(box[0] - 0.3 * dh, box[1] + 0.3 * dh)
                gx = rng.uniform(box[2] - 0.3 * dh, box[3] + 0.3 * dh)
            else:
                gy, gx = rng.uniform(0, fh), rng.uniform(0, fw)
            ang = rng.uniform(0, np.pi)
            a = rng.uniform(0.05, 0.15) * min(fh, fw)
            b = a * (rng.uniform(3, 8) if rng.random() < 0.5 else rng.uniform(1, 1.6))
            du = (x - np.float32(gx)) * np.float32(math.cos(ang)) + \
                (y - np.float32(gy)) * np.float32(math.sin(ang))
            dv = (y - np.float32(gy)) * np.float32(math.cos(ang)) - \
                (x - np.float32(gx)) * np.float32(math.sin(ang))
            q = (du / np.float32(b)) ** 2 + (dv / np.float32(a)) ** 2
            core = np.exp(-q ** 1.5)  # a flat-topped highlight with soft edges
            halo = np.exp(-q / 6)
            strength = rng.uniform(0.3, 1.2)
            image += np.float32(strength) * (0.8 * core + 0.2 * halo)[..., None]

    return Page(_develop(albedo, look, rng, box, glare), box, jpeg)


def _chalkboard(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    fh, fw = _frame(rng)
    look = _baseline(rng)
    jpeg = _phone(look, rng)
    boards = ((36, 60, 50), (44, 70, 58), (30, 48, 40), (30, 32, 34), (22, 22, 24))
    look.paper = tuple(_jitter(boards[rng.choice(5, p=[.3, .2, .15, .2, .15])], rng, 5))
    look.paper_texture = rng.uniform(0.03, 0.07)
    look.opaque_ink = True
    look.ink = tuple(_jitter((236, 236, 228) if rng.random() < 0.85 else (240, 232, 170),
                             rng, 8))
    look.ink_opacity = rng.uniform(0.65, 0.95)
    look.ink_grain = rng.uniform(0.4, 0.8)
    look.ink_blotch = rng.uniform(0.05, 0.2)
    look.thickness = rng.uniform(1.0, 1.8)
    look.chalk_dust = rng.uniform(0.02, 0.08)
    look.gradient = rng.uniform(0.1, 0.35)
    albedo = _paper(look, rng, (fh, fw))
    scale = min(fh, fw) / 600
    _chalk_dust(albedo, look, rng, scale)
    dh = rng.uniform(0.3, 0.6) * fh
    for _ in range(int(rng.integers(0, 3))):  # half-wiped old writing
        ghost = scenes._word_ink(rng, rng.uniform(0.15, 0.35) * fh, 1.4)
        ghost = ndimage.gaussian_filter(ghost, 3 * scale + 1)
        ghost_look = replace(look, ink_opacity=rng.uniform(0.05, 0.15))
        gt, gl = rng.integers(-ghost.shape[0] // 2, fh), rng.integers(-ghost.shape[1] // 2, fw)
        _ink(albedo, ghost, int(gt), int(gl), ghost_look, rng, dh)
    ink = _digit(digit28, dh, look.thickness, rng, 0.8 * fw)
    layer = np.zeros((fh, fw), np.float32)
    top, left = _place(ink.shape, (fh, fw), rng, margin=0.08)
    _write(albedo, layer, ink, top, left, look, rng, ink.shape[0])
    box = _ink_box(layer)
    return Page(_develop(albedo, look, rng, box), box, jpeg)


def _washed_out(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    fh, fw = _frame(rng)
    look = _baseline(rng)
    kind = int(rng.integers(3))
    jpeg = _phone(look, rng) if kind == 2 or rng.random() < 0.5 else None
    if kind == 0:  # a ballpoint running dry: faint and skipping
        drop = rng.uniform(0.12, 0.3)
        look.ink_blotch = rng.uniform(0.2, 0.5)
    elif kind == 1:  # a hard, light pencil
        g = rng.uniform(60, 110)
        look.ink = tuple(_lin((g, g, g + 4)))
        drop = rng.uniform(0.1, 0.25)
        look.ink_grain = rng.uniform(0.4, 0.7)
        look.thickness = rng.uniform(0.6, 1.1)
    else:  # an over-exposed photo: the paper clipped to white, the ink pale
        drop = rng.uniform(0.3, 0.5)
        look.exposure = rng.uniform(1.25, 1.7)
        look.contrast = 0.0
    look.ink_opacity = float((1 - _dim(drop)) / (1 - np.mean(look.ink)))
    albedo = _paper(look, rng, (fh, fw))
    ink = _digit(digit28, rng.uniform(0.3, 0.6) * fh, look.thickness, rng, 0.8 * fw)
    layer = np.zeros((fh, fw), np.float32)
    top, left = _place(ink.shape, (fh, fw), rng, margin=0.08)
    _write(albedo, layer, ink, top, left, look, rng, ink.shape[0])
    box = _ink_box(layer)
    return Page(_develop(albedo, look, rng, box), box, jpeg)


_FELT = {"black": (26, 26, 30), "blue": (30, 60, 170), "red": (200, 40, 50),
         "green": (30, 130, 70), "violet": (110, 50, 150), "orange": (230, 110, 30)}


def _felt_tip(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    fh, fw = _frame(rng)
    look = _baseline(rng)
    jpeg = _phone(look, rng) if rng.random() < 0.5 else None
    name = list(_FELT)[rng.choice(6, p=[.35, .25, .15, .1, .1, .05])]
    look.ink = tuple(_jitter(_FELT[name], rng, 10))
    look.ink_opacity = rng.uniform(0.92, 1.0)
    look.ink_blotch = rng.uniform(0.0, 0.1)
    look.thickness = rng.uniform(2.0, 3.2)
    ink = _digit(digit28, rng.uniform(0.3, 0.6) * fh, look.thickness, rng, 0.8 * fw)
    bleed = NORMAL_WIDTH * look.thickness * ink.shape[0] * rng.uniform(0.03, 0.08)
    ink = np.clip(ndimage.gaussian_filter(ink, bleed) * 1.15, 0, 1)  # soaks into the fibres
    albedo = _paper(look, rng, (fh, fw))
    layer = np.zeros((fh, fw), np.float32)
    top, left = _place(ink.shape, (fh, fw), rng, margin=0.08)
    _write(albedo, layer, ink, top, left, look, rng, ink.shape[0])
    box = _ink_box(layer)
    return Page(_develop(albedo, look, rng, box), box, jpeg)


def _creases(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Height (pixels) of crumpled, smoothed-out paper: a sum of folds along random creases.

    Each crease is a segment; across it the paper bends by a small angle (a
    ridge or a valley), fading out towards the segment's ends, so the page is
    a patchwork of nearly flat facets.
    """
    fh, fw = shape
    y, x = _grid(shape)
    size = max(shape)
    height = np.zeros(shape, np.float32)
    for _ in range(int(rng.integers(8, 20))):
        px, py = rng.uniform(0, fw), rng.uniform(0, fh)
        ang = rng.uniform(0, np.pi)
        c, s = np.float32(math.cos(ang)), np.float32(math.sin(ang))
        across = (x - np.float32(px)) * -s + (y - np.float32(py)) * c
        along = (x - np.float32(px)) * c + (y - np.float32(py)) * s
        half = np.float32(rng.uniform(0.2, 0.8) * size)
        fade = np.clip(1.5 - np.abs(along) / half, 0, 1)
        slope = rng.normal(0, 0.07)
        height += np.float32(slope) * np.abs(across) * fade
    height += np.float32(0.4 * max(1.0, size / 600)) * _fractal(shape, rng, size / 20, 3)
    return height


def _crumpled(digit28: np.ndarray, rng: np.random.Generator) -> Page:
    fh, fw = _frame(rng)
    albedo, layer, look, ink, _, _ = _plain(digit28, rng, frame=(fh, fw))
    jpeg = _phone(look, rng)
    height = _creases((fh, fw), rng)
    gy, gx = np.gradient(height)
    # light from a lamp up to 60 degrees from overhead: each facet's brightness
    elevation = math.radians(rng.uniform(30, 70))
    azimuth = rng.uniform(0, 2 * math.pi)
    lx, ly = math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth)
    lz = math.sin(elevation)
    norm = np.sqrt(gx * gx + gy * gy + 1)
    shading = np.clip((-gx * np.float32(lx) - gy * np.float32(ly) + np.float32(lz)) /
                      (norm * np.float32(lz)), 0.05, None)
    # the broken fibres along a crease: a faint line where the height bends sharply
    curvature = np.abs(ndimage.laplace(ndimage.gaussian_filter(height, 1.0)))
    crease = np.clip(curvature / np.float32(np.quantile(curvature, 0.995) + 1e-6), 0, 1)
    albedo *= (1 - np.float32(rng.uniform(0.04, 0.12)) * crease)[..., None]
    # the writing follows the facets, seen a little obliquely
    tilt = rng.uniform(0.0, 0.12)
    ang = rng.uniform(0, 2 * math.pi)
    plane = height - height.mean()
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    a = np.stack([yy.ravel(), xx.ravel(), np.ones(fh * fw, np.float32)], axis=1)
    coef, *_ = np.linalg.lstsq(a[::97], plane.ravel()[::97], rcond=None)
    bumps = plane - (coef[0] * yy + coef[1] * xx + coef[2])
    sy = yy + np.float32(tilt * math.sin(ang)) * bumps
    sx = xx + np.float32(tilt * math.cos(ang)) * bumps
    planes = [ndimage.map_coordinates(p, (sy, sx), order=1, mode="nearest")
              for p in (albedo[..., 0], albedo[..., 1], albedo[..., 2], layer)]
    albedo = np.stack(planes[:3], axis=2) * shading[..., None]
    box = _ink_box(planes[3])
    return Page(_develop(albedo, look, rng, box), box, jpeg)


_MAKERS: dict[str, Callable[[np.ndarray, np.random.Generator], Page]] = {
    "clean": _clean, "form_box": _form_box, "circled": _circled, "sticky_note": _sticky_note,
    "notebook": _notebook, "underlined": _underlined, "graph_paper": _graph_paper,
    "perspective": _perspective, "motion_blur": _motion_blur, "whiteboard": _whiteboard,
    "chalkboard": _chalkboard, "washed_out": _washed_out, "felt_tip": _felt_tip,
    "crumpled": _crumpled,
}

#: Page conditions: name -> ``f(digit28, rng) -> Page`` (see the module's docstring).
CONDITIONS: OrderedDict[str, Callable[[np.ndarray, np.random.Generator], Page]] = \
    OrderedDict(_MAKERS)


def render_page(digit28: np.ndarray, condition: str, rng: np.random.Generator) -> Page:
    """One MNIST digit (28x28 uint8, ink bright) written on a page of ``condition``."""
    if condition not in CONDITIONS:
        raise KeyError(f"unknown condition {condition!r}; known: {', '.join(CONDITIONS)}")
    return CONDITIONS[condition](digit28, rng)


# --------------------------------------------------------------------------- numbers

def _row(digits28: list[np.ndarray], rng: np.random.Generator, height: float,
         thickness: float, separator: tuple[int, str] | None) -> np.ndarray:
    """A handwritten row of digits (their coverage), with a dash or a point.

    The digits get similar heights (each within 8% of ``height``), a jittered
    baseline on a slightly sloping row and gaps of 8-40% of the height (one in
    five close: 1-5%). ``separator`` is ``(k, "-")`` or ``(k, ".")``: a dash
    at mid-height or a decimal point on the baseline after the ``k``-th digit.
    """
    inks = [_digit(d, height * rng.uniform(0.92, 1.08), thickness, rng) for d in digits28]
    stroke = NORMAL_WIDTH * thickness * height
    slope = rng.uniform(-0.03, 0.03)
    places, extras = [], []
    x = 0.0
    for i, ink in enumerate(inks):
        bottom = 1.2 * height + rng.uniform(-0.04, 0.04) * height + slope * x
        places.append((int(round(bottom - ink.shape[0])), int(round(x))))
        x += ink.shape[1]
        u = rng.random()
        gap = rng.uniform(0.01, 0.05) if u < 0.2 else rng.uniform(0.08, 0.4)
        if separator and separator[0] == i + 1:
            base = 1.2 * height + slope * x
            if separator[1] == "-":
                length = height * rng.uniform(0.25, 0.45)
                x += height * rng.uniform(0.1, 0.25)
                yy = base - height * rng.uniform(0.4, 0.6)
                pts = np.array([[x, yy], [x + length, yy + rng.uniform(-0.05, 0.05) * length]])
                extras.append(_stroke(pts, stroke / 2, rng))
                x += length + height * rng.uniform(0.1, 0.25)
            else:
                x += height * rng.uniform(0.08, 0.2)
                r = stroke * rng.uniform(0.6, 0.9)
                pts = np.array([[x, base - r], [x + 0.3 * r, base - r * 1.2]])
                extras.append(_stroke(pts, r, rng, pressure=0))
                x += 2 * r + height * rng.uniform(0.08, 0.2)
            continue
        x += gap * height
    cover = [(t, l_, ink) for ink, (t, l_) in zip(inks, places, strict=True)]
    everything = cover + [(t, l_, c) for c, t, l_ in extras]
    t0 = min(t for t, _, _ in everything)
    l0 = min(l_ for _, l_, _ in everything)
    h = max(t + c.shape[0] for t, _, c in everything) - t0 + 2
    w = max(l_ + c.shape[1] for _, l_, c in everything) - l0 + 2
    row = np.zeros((h, w), np.float32)
    for t, l_, c in everything:
        _stamp(row, c, t - t0, l_ - l0)
    return row


def render_number_note(digits28: list[np.ndarray], rng: np.random.Generator,
                       separator: tuple[int, str] | None = None) -> Page:
    """A row of MNIST digits in marker on a sticky note on a desk, photographed.

    A phone number (``separator=(k, "-")``), a price (``(k, ".")``) or a plain
    row; a wide row gets a wider note (76x127 mm notes exist), the rest is as
    ``sticky_note``.
    """
    fh, fw = _frame(rng, 400, 760)
    if fh > fw:
        fh, fw = fw, fh  # a row is photographed in landscape
    look = _baseline(rng)
    _marker(look, rng)
    n = len(digits28)
    height = rng.uniform(0.18, 0.3) * fh
    height = min(height, 0.8 * fw / (n * 0.95 + 0.5))
    row = _row(digits28, rng, height, look.thickness, separator)
    nh = max(row.shape[0] / rng.uniform(0.35, 0.6), 0.5 * fh)
    nw = max(nh, row.shape[1] / rng.uniform(0.75, 0.9))
    if nw > 0.96 * fw or nh > 0.96 * fh:
        k = min(0.96 * fw / nw, 0.96 * fh / nh)
        nh, nw = nh * k, nw * k
        if row.shape[1] > 0.9 * nw:
            fw = int(row.shape[1] / 0.9 / 0.96) + 2
            nw = 0.96 * fw
    albedo, layer, note_box = _note(rng, (fh, fw), (nh, nw), row, look)
    jpeg = _phone(look, rng)
    look.gradient = rng.uniform(0.05, 0.3)
    box = _ink_box(layer)
    return Page(_develop(albedo, look, rng, box), box, jpeg)


# --------------------------------------------------------------------------- digit files

#: The files of the ``clean_files`` section: name -> what :func:`mnist_file` makes.
MNIST_FILES = {
    "mnist_28": "28x28, white on black, as MNIST stores it",
    "inverted_4x": "dark on white, enlarged 4x (112x112, bicubic)",
    "inverted_4x_nearest": "dark on white, enlarged 4x (112x112, nearest neighbour)",
}


def mnist_file(digit28: np.ndarray, variant: str) -> np.ndarray:
    """An MNIST digit as a picture file holds it: uint8 grey (H, W), see :data:`MNIST_FILES`."""
    d = np.asarray(digit28, np.uint8)
    if variant == "mnist_28":
        return d.copy()
    inverted = Image.fromarray(255 - d)
    if variant == "inverted_4x":
        return np.asarray(inverted.resize((112, 112), _BICUBIC))
    if variant == "inverted_4x_nearest":
        return np.asarray(inverted.resize((112, 112), _NEAREST))
    raise KeyError(f"unknown variant {variant!r}; known: {', '.join(MNIST_FILES)}")


def tiny_blurry(digit28: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit made like scikit-learn's 8x8 digits, then enlarged to 64x64.

    The ink is cropped to its box and centred in a square (scikit-learn's
    digits fill their 8x8 box), shrunk to 8x8 by averaging, quantised to
    scikit-learn's 17 levels (0-16), and enlarged to 64x64, bilinear or
    nearest neighbour (a coin toss), bright on dark or, as ``plt.imshow(...,
    cmap="gray_r")`` shows them, dark on bright (another). Returns uint8 (64, 64).
    """
    d = np.asarray(digit28, np.float32)
    box = _bbox(d > 0.1 * d.max())
    if box is None:
        raise ValueError("the digit is blank")
    t, b, l_, r = box
    side = max(b - t, r - l_) + 2
    square = np.zeros((side, side), np.float32)
    ot, ol = (side - (b - t)) // 2, (side - (r - l_)) // 2
    square[ot:ot + b - t, ol:ol + r - l_] = d[t:b, l_:r]
    small = np.asarray(Image.fromarray(square).resize((8, 8), Image.Resampling.BOX), np.float32)
    levels = np.round(small / max(float(small.max()), 1e-6) * 16)
    grey = levels / 16
    if rng.random() < 0.5:
        grey = 1 - grey
    resample = _BILINEAR if rng.random() < 0.5 else _NEAREST
    big = np.asarray(Image.fromarray(grey.astype(np.float32)).resize((64, 64), resample))
    return np.round(np.clip(big, 0, 1) * 255).astype(np.uint8)
