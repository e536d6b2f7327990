"""Pictures of many separate marks (dots, noise, halftone, stripes, mesh): the ink finder takes
near-linear time on them, and finds the same pieces, thicknesses and groups as measuring each
piece alone and growing a digit's group pass by pass did (issue 30, item 4); fine stripes,
dots and mesh read as something or are refused in one line (item 5)."""

from __future__ import annotations

import contextlib
import signal

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage.measure import label

from barenet.vision import EmptyDrawingError, extract
from barenet.vision.ink import (
    GROUP_MARGIN,
    Component,
    _spread,
    components,
    digit_components,
    main_piece,
    robust_spread,
    thicknesses,
    touches_border,
    union_box,
)
from barenet.vision.number import STACK_OVERLAP, columns
from barenet.vision.preprocess import glyph_from


class Slow(BaseException):
    """Raised by :func:`within`'s alarm (not an Exception: nothing on the way catches it)."""


@contextlib.contextmanager
def within(seconds: float):
    """Fail, rather than hang, when the block takes more than ``seconds``."""
    def ring(signum, frame):
        raise Slow(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- what the ink finder did piece by piece: the references ---------------------------------

def thickness_of_one_piece(labels: np.ndarray, k: int) -> float:
    """Piece ``k``'s thickness measured in its own box: the definition."""
    rows, cols = ndimage.find_objects(labels)[k - 1]
    piece = np.pad(labels[rows, cols] == k, 1)
    width = 2 * float(ndimage.distance_transform_edt(piece).max())
    holes, count = ndimage.label(ndimage.binary_fill_holes(piece) & ~piece)
    if count:
        small = np.bincount(holes.ravel())[1:] < max(1.0, width * width / 4)
        piece = piece | small[np.maximum(holes - 1, 0)] & (holes > 0)
    return 2 * float(ndimage.distance_transform_edt(piece).max())


def group_pass_by_pass(pieces: list[Component], shape: tuple[int, int]) -> list[Component]:
    """The digit's pieces, every candidate compared with the group's box after each pass."""
    main = main_piece(pieces, shape)
    margin = GROUP_MARGIN * max(main.height, main.width)
    group = [main]
    candidates = pieces if touches_border(main, shape) else [
        c for c in pieces if not touches_border(c, shape)]
    while True:
        top, bottom, left, right = union_box(group)
        near = [c for c in candidates if c not in group and c.box[0] < bottom + margin
                and c.box[1] > top - margin and c.box[2] < right + margin
                and c.box[3] > left - margin]
        if not near:
            return group
        group += near


def columns_comparing_every_group(pieces: list[Component]) -> list[list[Component]]:
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


def random_mask(rng: np.random.Generator, kind: int) -> np.ndarray:
    """Noise, blobs with holes, concentric rings, and thick blobs with specks in small holes
    (pieces nested in pieces, in holes filled or not)."""
    h, w = (int(v) for v in rng.integers(1, 60, 2))
    if kind == 0:
        return rng.random((h, w)) < rng.uniform(0.2, 0.8)
    if kind == 1:
        blobs = ndimage.binary_dilation(rng.random((h, w)) < 0.05,
                                        iterations=int(rng.integers(1, 4)))
        return blobs & ~(rng.random((h, w)) < rng.uniform(0, 0.3))
    if kind == 2:
        yy, xx = np.mgrid[:h, :w]
        rings = np.hypot(yy - h / 2, xx - w / 2).astype(int) % int(rng.integers(2, 6)) == 0
        return rings ^ (rng.random((h, w)) < 0.05)
    mask = np.zeros((h, w), bool)
    mask[h // 6:h - h // 6, w // 6:w - w // 6] = True
    holes = rng.random((h, w)) < 0.08
    return mask & ~ndimage.binary_dilation(holes) | holes & (rng.random((h, w)) < 0.5)


def random_pieces(rng: np.random.Generator) -> tuple[list[Component], tuple[int, int]]:
    shape = (int(rng.integers(10, 200)), int(rng.integers(10, 200)))
    pieces = []
    for k in range(int(rng.integers(1, 60))):
        h = int(rng.integers(1, max(2, shape[0] // int(rng.integers(1, 8)))))
        w = int(rng.integers(1, max(2, shape[1] // int(rng.integers(1, 8)))))
        top, left = int(rng.integers(0, shape[0] - h + 1)), int(rng.integers(0, shape[1] - w + 1))
        pieces.append(Component(k + 1, h * w, float(rng.integers(1, 5)),
                                (top, top + h, left, left + w)))
    return pieces, shape


# --- the same answers -----------------------------------------------------------------------

def test_thicknesses_are_those_of_each_piece_measured_alone():
    rng = np.random.default_rng(0)
    for trial in range(120):
        labels = label(random_mask(rng, trial % 4), connectivity=2)
        expected = [0.0] + [thickness_of_one_piece(labels, k)
                            for k in range(1, labels.max() + 1)]
        assert thicknesses(labels).tolist() == expected, trial


def test_a_speck_in_a_small_hole_is_measured_apart_from_the_blob_around_it():
    mask = np.zeros((40, 40), bool)
    mask[5:35, 5:35] = True
    mask[15:18, 15:18] = False  # a small hole, filled in the blob's thickness...
    mask[16, 16] = True  # ...holding a speck, one pixel thick
    mask[20:30, 20:30] = False  # a large hole holding a ring around a small hole
    mask[22:28, 22:28] = True
    mask[24:26, 24:26] = False
    labels = label(mask, connectivity=2)
    assert thicknesses(labels).tolist() == [0.0] + [thickness_of_one_piece(labels, k)
                                                    for k in (1, 2, 3)]
    assert thicknesses(labels)[2] == 2.0


def test_the_digit_groups_the_same_pieces_as_growing_it_pass_by_pass():
    rng = np.random.default_rng(1)
    for trial in range(400):
        pieces, shape = random_pieces(rng)
        expected = [c.label for c in group_pass_by_pass(pieces, shape)]
        assert [c.label for c in digit_components(pieces, shape)] == expected, trial


def test_columns_are_the_same_as_comparing_every_group():
    rng = np.random.default_rng(2)
    for trial in range(400):
        pieces, _ = random_pieces(rng)
        expected = [[c.label for c in g] for g in columns_comparing_every_group(pieces)]
        assert [[c.label for c in g] for g in columns(pieces)] == expected, trial


# --- in near-linear time --------------------------------------------------------------------

def test_a_digit_among_thousands_of_dots_is_grouped_in_near_linear_time():
    """A 5x5 piece in a 60x60 grid of dots 1 pixel apart: the group grew one ring of dots per
    pass, every pass comparing every dot with every dot of the group (minutes)."""
    pieces = [Component(1, 25, 100.0, (90, 95, 90, 95))]
    for y in range(3, 183, 3):
        for x in range(3, 183, 3):
            if not (90 <= y < 95 and 90 <= x < 95):
                pieces.append(Component(len(pieces) + 1, 4, 4.0, (y, y + 2, x, x + 2)))
    with within(5):
        digit = digit_components(pieces, (200, 200))
    assert len(digit) == len(pieces)


def test_the_pieces_of_a_noise_field_are_measured_in_near_linear_time():
    """17,000 pieces of noise, and long diagonal stripes whose boxes are most of the picture:
    each piece was measured in its own box (10 s and more)."""
    rng = np.random.default_rng(3)
    noise = rng.random((1024, 1024)) < 0.2
    yy, xx = np.mgrid[:1024, :1024]
    diagonals = (yy + xx) % 8 == 0
    for mask in (noise, diagonals):
        with within(5):
            _, pieces, _ = components(mask, mask.astype(np.float32), 1.0)
        assert pieces


def test_a_picture_of_random_noise_is_read_in_bounded_time():
    """1024x1024 pixels of noise, a fifth of them dark: 433 s before, for one picture."""
    rng = np.random.default_rng(1)
    picture = np.where(rng.random((1024, 1024)) < 0.2, 0, 255).astype(np.uint8)
    with within(10):
        try:
            extract(picture)
        except EmptyDrawingError:
            pass


def test_a_picture_of_nested_rings_is_read_in_bounded_time():
    """About 170 rings, each a frame round the next: every ring is looked into once, its
    box smaller each time."""
    y, x = np.mgrid[:1024, :1024]
    radius = np.hypot(y - 512, x - 512)
    picture = np.where((radius.astype(int) // 3) % 2 == 0, 0, 255).astype(np.uint8)
    picture[radius > 510] = 255
    with within(10):
        found = extract(picture)
    top, bottom, left, right = found.box
    assert bottom - top < 100 and right - left < 100  # the innermost rings, not the outermost


def test_hundreds_of_strokes_inside_a_circle_drawn_with_a_gap_are_read_in_bounded_time():
    """Whether a circle with a gap goes round a piece is asked of every piece in its box:
    each question looks at a bounded sample of the circle's pixels, not all of them."""
    rng = np.random.default_rng(0)
    page = Image.new("L", (1024, 1024), 235)
    draw = ImageDraw.Draw(page)
    draw.arc((20, 20, 1004, 1004), 60, 330, fill=20, width=8)
    for y in range(160, 860, 12):
        for x in range(160, 860, 52):  # strokes long enough not to be specks
            shift = int(rng.integers(-4, 5))
            draw.line((x, y + shift, x + 44, y + shift + int(rng.integers(-4, 5))), fill=20,
                      width=2)
    with within(10):
        found = extract(np.asarray(page))
    assert len(found.pieces) > 500


# --- fine dots, stripes and mesh ------------------------------------------------------------

def pattern(kind: str, period: int, size: int = 300) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    dark = {"stripes": yy % period == 0,
            "mesh": (yy % period == 0) | (xx % period == 0),
            "halftone": (yy % period < 2) & (xx % period < 2)}[kind]
    return np.where(dark, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind, period", [("stripes", 3), ("stripes", 4), ("halftone", 3),
                                          ("halftone", 4), ("mesh", 3)])
def test_fine_stripes_dots_and_mesh_read_as_something_or_are_refused(kind, period):
    """Stripes 3 and 4 pixels apart made a Hough peak whose fitted line ran between the
    stripes: the percentile of its (no) crossing runs raised IndexError."""
    with within(10):
        try:
            found = extract(pattern(kind, period, 200))
        except EmptyDrawingError as exc:
            assert "\n" not in str(exc)
        else:
            assert found.glyph.shape == (28, 28) and np.isfinite(found.glyph).all()


def test_statistics_of_no_pixels_are_zero_not_an_index_error():
    assert robust_spread(np.zeros((0, 5), np.float32)) == (0.0, 0.0)
    assert _spread(np.zeros(0, np.int64)) == 0.0


def test_ink_too_faint_for_a_box_is_nearly_blank():
    """Ink a millionth strong scaled to at most a thousandth: no pixel reaches the box's level,
    and the box's first row was looked up in an empty array."""
    ink = np.full((10, 10), 1e-9, np.float32)
    with pytest.raises(EmptyDrawingError, match="nearly blank"):
        glyph_from(ink, np.ones((10, 10), bool), (0, 10, 0, 10))
