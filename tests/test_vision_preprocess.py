"""Each preprocessing step on images built here, then the whole chain."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from barenet import BarenetError
from barenet.vision import (
    EmptyDrawingError,
    center_by_mass,
    center_of_mass,
    crop,
    extract,
    harden,
    ink_is_dark,
    ink_levels,
    ink_mask,
    ink_strength,
    paper_background,
    paste_center,
    preprocess,
    resize_longer_side,
    row_atoms,
    shift,
    stroke_width,
    thicken,
    to_grayscale,
)
from barenet.vision.ink import components, frame_joint
from barenet.vision.number import Atom, RowAtoms, candidate_cuts, groupings, is_dash


def bbox_of(image: np.ndarray, level: float = 0.0) -> tuple[int, int, int, int]:
    rows = np.flatnonzero((image > level).any(axis=1))
    cols = np.flatnonzero((image > level).any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def seven(size: int = 280, top: int = 30, left: int = 60, scale: float = 1.0,
          width: int = 18) -> np.ndarray:
    """A '7' of thick strokes: uneven mass, so its centre of mass is off its box centre."""
    img = np.zeros((size, size), np.uint8)
    h, w = int(200 * scale), int(140 * scale)
    img[top:top + width, left:left + w] = 255
    for i in range(h):
        x = left + w - width - int(i * (w - 2 * width) / h)
        img[top + i, x:x + width] = 255
    return img


# -- to_grayscale -----------------------------------------------------------------

def test_grayscale_scales_each_integer_type_to_unit_range():
    assert to_grayscale(np.array([[0, 255]], np.uint8)).tolist() == [[0.0, 1.0]]
    assert to_grayscale(np.array([[0, 65535]], np.uint16)).tolist() == [[0.0, 1.0]]
    assert to_grayscale(np.array([[False, True]])).tolist() == [[0.0, 1.0]]
    assert to_grayscale(np.array([[0, 255]], np.int64)).tolist() == [[0.0, 1.0]]
    assert to_grayscale(np.array([[0, 1000]], np.int32))[0, 1] == pytest.approx(1000 / 65535)
    out = to_grayscale(np.array([[0.25]], np.float64))
    assert out.dtype == np.float32 and out[0, 0] == 0.25


def test_grayscale_uses_bt601_luma_for_colour():
    rgb = np.zeros((1, 3, 3), np.uint8)
    rgb[0, 0, 0] = rgb[0, 1, 1] = rgb[0, 2, 2] = 255
    assert to_grayscale(rgb)[0] == pytest.approx([0.299, 0.587, 0.114], abs=1e-6)
    assert to_grayscale(np.full((2, 2, 1), 255, np.uint8)).tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_alpha_dark_ink_on_transparent_is_composited_onto_white():
    rgba = np.zeros((4, 4, 4), np.uint8)  # black everywhere, visible only where the ink is
    rgba[1:3, 1:3, 3] = 255
    gray = to_grayscale(rgba)
    assert gray[0, 0] == 1.0 and gray[1, 1] == 0.0


def test_alpha_light_ink_on_transparent_is_composited_onto_black():
    la = np.zeros((4, 4, 2), np.uint8)
    la[..., 0] = 255  # white everywhere, visible only where the ink is
    la[1:3, 1:3, 1] = 255
    gray = to_grayscale(la)
    assert gray[0, 0] == 0.0 and gray[1, 1] == 1.0


@pytest.mark.parametrize("bad, words", [
    (np.zeros((2, 2, 5), np.uint8), "shape"),
    (np.zeros((2,), np.uint8), "shape"),
    (np.zeros((0, 3), np.uint8), "shape"),
    (np.array([[0.0, 255.0]]), "divide"),
    (np.array([[0.0, np.nan]]), "NaN"),
    (np.array([[-1, 3]]), "0..65535"),
    (np.array([["a"]]), "numeric"),
])
def test_grayscale_rejects_what_is_not_an_image(bad, words):
    with pytest.raises(BarenetError, match=words):
        to_grayscale(bad)


# -- polarity, background, ink ----------------------------------------------------------

def _ink(image: np.ndarray, window: int = 15) -> tuple[np.ndarray, float]:
    paper = np.asarray(image, np.float32)
    return ink_strength(paper, paper_background(paper, window))


def test_dark_ink_and_light_ink_are_told_apart():
    page = np.full((50, 40), 0.8, np.float32)  # grey paper
    page[10:40, 15:20] = 0.1  # dark pen
    assert ink_is_dark(page)
    assert not ink_is_dark(1 - page)


def test_ink_touching_the_edge_does_not_flip_the_decision():
    drawing = np.zeros((40, 40), np.float32)
    drawing[:, 18:22] = 1.0  # a stroke from the top edge to the bottom edge
    assert not ink_is_dark(drawing)


def test_dark_ink_on_a_dark_page_is_still_dark_ink():
    page = np.full((60, 60), 0.35, np.float32)  # grey paper in bad light: below half
    page[10:50, 28:32] = 0.05
    assert ink_is_dark(page)


def _note_on_a_desk() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A light note, turned 25 degrees, on a darker desk that is most of the picture, and
    a dark "7" on it; and the 7's box."""
    rng = np.random.default_rng(0)
    picture = Image.new("L", (360, 360), 70)  # the desk
    note = Image.new("L", (170, 170), 225)
    picture.paste(note.rotate(25, expand=True, fillcolor=0), (70, 70),
                  note.rotate(25, expand=True, fillcolor=0).point(lambda v: 255 * (v > 0)))
    image = np.asarray(picture, np.float32) / 255
    image[130:140, 140:220] = 0.15  # the 7's bar...
    for row in range(140, 230):  # ...and its slanting stem
        column = 214 - (row - 140) // 3
        image[row, column - 5:column + 5] = 0.15
    image += rng.normal(0, 0.01, image.shape).astype(np.float32)
    return np.clip(image, 0, 1), (130, 230, 140, 220)


def test_a_light_note_on_a_darker_desk_is_paper_not_light_ink():
    # a local median over a third of the picture lies on the desk along the note's edges,
    # and took the note's corners for light ink: the note was read as a chalk mark
    image, (top, bottom, left, right) = _note_on_a_desk()
    assert ink_is_dark(image)
    found = extract(image)
    assert found.dark_ink
    t, b, lft, r = found.box
    assert abs(t - top) <= 3 and abs(b - bottom) <= 3 and abs(lft - left) <= 6 \
        and abs(r - right) <= 3


def test_chalk_on_a_dark_board_before_a_lighter_wall_is_light_ink():
    image, _ = _note_on_a_desk()
    assert not ink_is_dark(1 - image)


def test_a_wide_note_cut_into_strips_by_its_writing_is_paper_not_light_ink():
    # no square as wide as the opening's window fits on the note between the row of 7s
    # and its edges, so the opening did not grow the note back; the median, over a window
    # mostly of note, left only the note's rim as light marks, and they outweighed the
    # writing: the note was read as chalk
    rng = np.random.default_rng(0)
    page = np.full((300, 640), 0.25, np.float32) + rng.normal(0, 0.02, (300, 640))
    page[70:230, 30:610] = 0.85  # the note on the desk
    for k in range(8):  # a phone number's eight 7s, written close together
        left = 60 + 68 * k
        page[100:110, left:left + 56] = 0.15
        for row in range(110, 200):
            column = left + 52 - (row - 110) // 3
            page[row, column - 4:column + 4] = 0.15
    found = extract(np.clip(page, 0, 1).astype(np.float32))
    assert found.dark_ink
    assert len(row_atoms(found).atoms) == 8


def test_invert_can_be_forced():
    image = np.zeros((40, 40), np.uint8)
    image[10:30, 18:22] = 255
    assert extract(image, invert=False).box == (10, 30, 18, 22)
    with pytest.raises(EmptyDrawingError):  # read as dark ink, the white bar is paper
        extract(image, invert=True)


def test_background_follows_uneven_light_and_the_ink_is_relative():
    x = np.linspace(0.4, 1.0, 80, dtype=np.float32)
    page = np.tile(x, (60, 1))  # light from the left: 0.4 -> 1.0
    page[20:40, 10:13] *= 0.3  # the same ink in shade...
    page[20:40, 70:73] *= 0.3  # ...and in light
    ink, noise = _ink(page)
    assert noise < 1e-3
    assert ink[30, 11] == pytest.approx(0.7, abs=0.02)
    assert ink[30, 71] == pytest.approx(0.7, abs=0.02)
    assert ink[5].max() < 0.02  # the gradient itself is not ink


def test_a_shadow_edge_is_background_not_ink():
    page = np.full((80, 80), 0.9, np.float32)
    page[:, 40:] *= 0.5  # a hard shadow over the right half
    page[20:60, 20:23] = 0.1
    ink, _ = _ink(page)
    assert ink[:, 30:].max() < 0.05 and ink[40, 21] > 0.8


def test_noise_is_measured_and_left_out_of_the_ink(rng):
    page = np.clip(0.8 + rng.normal(0, 0.03, (100, 100)), 0, 1).astype(np.float32)
    page[30:70, 48:52] = 0.2
    ink, noise = _ink(page)
    low, high = ink_levels(ink, noise)
    mask = ink_mask(ink, low, high)
    assert 0.01 < noise < 0.1
    assert mask[30:70, 49:51].all() and mask.sum() < 1.2 * 40 * 4


@pytest.mark.parametrize("level", [0.0, 0.5, 1.0])
def test_uniform_picture_is_blank(level):
    with pytest.raises(EmptyDrawingError, match="blank"):
        extract(np.full((30, 30), level, np.float32))


def test_faint_smudge_is_blank():
    image = np.zeros((30, 30), np.float32)
    image[10:20, 10:20] = 0.05
    with pytest.raises(EmptyDrawingError):
        extract(image)


def test_a_faint_pencil_on_quiet_paper_is_not_blank():
    # 11% darker than clean paper, twenty times its grain: plainly visible, though under
    # MIN_CONTRAST; the same paper with nothing on it stays blank
    rng = np.random.default_rng(0)
    page = np.full((200, 200), 0.9, np.float32) + rng.normal(0, 0.005, (200, 200))
    with pytest.raises(EmptyDrawingError, match="blank"):
        extract(page.astype(np.float32))
    page[50:150, 97:103] = 0.8  # a faint "1"
    assert extract(page.astype(np.float32)).box == (50, 150, 97, 103)


def test_empty_drawing_error_is_a_barenet_error():
    assert issubclass(EmptyDrawingError, BarenetError)


# -- lines, specks, pieces -------------------------------------------------------------

def test_faint_ink_on_quiet_paper_is_found_beside_a_noisy_corner():
    # three quarters of the picture are noisy (a shadow's grain): measured over the whole
    # picture, the noise would put the threshold above the faint "1" on the quiet quarter
    rng = np.random.default_rng(0)
    page = np.full((240, 480), 0.8, np.float32)
    page[:, 120:] += rng.normal(0, 0.05, (240, 360)).astype(np.float32)
    page[:, :120] += rng.normal(0, 0.004, (240, 120)).astype(np.float32)
    page[60:180, 57:63] -= 0.12  # the faint "1": 15% darker than its paper
    found = extract(np.clip(page, 0, 1))
    top, bottom, left, right = found.box
    assert abs(top - 60) <= 3 and abs(bottom - 180) <= 3 and abs(left - 57) <= 3 \
        and abs(right - 63) <= 3


def test_a_faint_digit_beside_a_dark_desk_is_found():
    # the desk beyond the page is nearly black: Otsu's level between it and the pens lies
    # above the faint pen's ink, which then never seeds the hysteresis
    rng = np.random.default_rng(0)
    h, w = 400, 500
    y, x = np.mgrid[:h, :w]
    page = np.full((h, w), 0.9, np.float32) + rng.normal(0, 0.01, (h, w)).astype(np.float32)
    desk = y < 100 - 0.15 * x  # beyond the page's slanting edge
    page[desk] = 0.08 + rng.normal(0, 0.03, desk.sum())
    page[220:320, 150:156] = 0.35  # a "1" in a dark pen...
    page[220:320, 300:306] = 0.6  # ...and one in a faint pen
    found = extract(np.clip(page, 0, 1))
    assert [a.box[2:] for a in row_atoms(found).atoms] == [(150, 156), (300, 306)]


def test_a_marker_digit_on_a_note_on_a_dark_noisy_desk_is_found_whole():
    # the desk's grain, divided by its little light, looked as strong as ink: it set the
    # noise and Otsu's level above the marker's grey, and a desk speck was read instead
    rng = np.random.default_rng(0)
    page = np.full((360, 480), 0.15, np.float32) + rng.normal(0, 0.04, (360, 480))
    page[60:300, 200:440] = 0.8 + rng.normal(0, 0.01, (240, 240))  # the note
    page[120:132, 330:420] = 0.45  # a "7" in a grey marker, near the note's edge
    for row in range(132, 250):
        column = 414 - (row - 132) // 3
        page[row, column - 6:column + 6] = 0.45
    found = extract(np.clip(page, 0, 1).astype(np.float32))
    assert found.box == (120, 250, 330, 420)


def test_ink_in_a_deep_shadow_is_still_ink_on_paper():
    # the shadow halves the paper's grey level (a fifth of its light): still paper
    page = np.full((300, 400), 0.9, np.float32)
    page[:, 200:] = 0.45
    page[100:220, 297:303] = 0.1  # a "1" in the shadow
    found = extract(page)
    assert found.box == (100, 220, 297, 303)


def test_ruled_lines_are_removed_and_the_digit_kept():
    page = np.full((200, 300), 0.9, np.float32)
    page[::25, :] = 0.6  # ruled lines across the page
    page[40:160, 140:146] = 0.1  # a "1" crossing five lines
    found = extract(page)
    assert len(found.lines) >= 7
    assert found.box == (40, 160, 140, 146)
    assert found.mask[40:160, 140:146].all()  # not cut where it crosses the lines


def test_lines_under_a_row_of_digits_as_wide_as_the_page_are_removed():
    page = np.full((200, 400), 0.9, np.float32)
    page[::25, :] = 0.6
    for k in range(8):  # eight "1"s from one side of the page nearly to the other
        page[60:110, 20 + 48 * k:26 + 48 * k] = 0.1
    found = extract(page)
    assert len(found.lines) >= 8
    assert len(row_atoms(found).atoms) == 8


def notebook_page(strip: bool) -> np.ndarray:
    """A ruled page with a spiral binding down its left edge and a thin "7" far right:
    each coil a dark hook and a ball; with ``strip``, the cover's dark edge beside them."""
    page = np.full((300, 400), 0.92, np.float32)
    page[15::30, :] = 0.7  # ten ruled lines
    for y in range(15, 300, 30):
        page[y - 3:y + 3, :30] = 0.05  # the coil's wire...
        page[y - 6:y + 6, 24:36] = 0.05  # ...and its ball
    if strip:
        page[:, :12] = 0.2
    page[130:136, 320:360] = 0.3  # the 7's bar, in a lighter pen than the binding
    for i in range(100):
        page[136 + i, 354 - i // 4:358 - i // 4] = 0.3
    return page


@pytest.mark.parametrize("strip", [False, True])
def test_a_notebook_binding_is_neither_the_digit_nor_keeps_the_lines(strip):
    # the coils along the edge span the page's height, so the lines seemed no longer than
    # the rest of the ink; joined by the cover's edge, they are one piece crossing the page
    found = extract(notebook_page(strip))
    assert len(found.lines) >= 10
    assert found.box == (130, 236, 320, 360)


def test_a_binding_that_stops_short_of_the_pictures_edge_still_crosses_it():
    # the cover's edge ends a few pixels above the picture's bottom edge
    page = notebook_page(strip=True)
    page[-5:, :12] = 0.92
    assert extract(page).box == (130, 236, 320, 360)


def test_a_margin_through_a_digit_beside_a_binding_is_a_line():
    # the coils' crumbs between the lines lie at the picture's edge: they do not make the
    # rest of the ink as tall as the margin, which would then seem part of the digit
    page = notebook_page(strip=True)
    page[:, 340:343] = 0.7  # the margin, through the 7's bar
    found = extract(page)
    assert found.box == (130, 236, 320, 360)


def test_a_small_digit_on_a_widely_ruled_page_is_read_without_the_ruling():
    # each line holds more ink than the thin digit, but no digit draws a ruling
    page = np.full((360, 280), 0.92, np.float32)
    page[20::40, :] = 0.7
    page[:, 60] = 0.75  # a margin
    page[300:330, 120:122] = 0.3  # a thin "1" between two lines
    found = extract(page)
    assert found.box == (300, 330, 120, 122)


def test_a_squared_papers_major_lines_as_wide_as_the_pen_are_lines():
    # the thin lines make the pen seem thin; measured without them, it is as wide as the
    # major lines, which fill the gaps of the thin lines' ruling
    page = np.full((400, 400), 0.92, np.float32)
    page[::20, :] = 0.75
    page[:, ::20] = 0.75
    for at in (100, 200, 300):
        page[at - 3:at + 3, :] = 0.6
        page[:, at - 3:at + 3] = 0.6
    page[120:280, 150:156] = 0.1  # a "1" across a major line
    assert extract(page).box == (120, 280, 150, 156)


def test_lines_drawn_under_a_digit_are_not_part_of_it():
    page = np.full((240, 240), 0.9, np.float32)
    page[40:52, 90:150] = 0.1  # a "7": its bar...
    for row in range(52, 160):  # ...and its slanting stem
        column = 144 - (row - 52) // 3
        page[row, column - 6:column] = 0.1
    page[175:181, 80:160] = 0.1  # a line under it
    assert extract(page).box == (40, 160, 90, 150)
    page[190:196, 85:165] = 0.1  # and a second
    assert extract(page).box == (40, 160, 90, 150)


def test_a_digit_crossing_a_tight_crop_keeps_its_separate_stroke():
    # the 1's stem runs from edge to edge; its flag, apart by a pixel, lies inside: the
    # stem is still the digit's main piece, and the flag joins it
    image = np.zeros((100, 60), np.uint8)
    image[:, 30:38] = 255
    image[10:16, 12:28] = 255
    assert extract(image).box == (0, 100, 12, 38)


def test_faint_tilted_squared_paper_as_faint_as_its_noise_is_removed():
    # a grid as faint as the paper's noise, turned by 0.7 degrees: thresholded, each line
    # is a dotted trail that joins the digits into one piece
    rng = np.random.default_rng(0)
    h, w = 300, 400
    y, x = np.mgrid[:h, :w].astype(np.float32)
    turn = np.float32(np.tan(np.radians(0.7)))
    across, down = (x + turn * y) % 14, (y - turn * x) % 14
    page = 0.9 - 0.04 * ((across < 1.5) | (down < 1.5)) + rng.normal(0, 0.012, (h, w))
    for k in range(8):  # eight "1"s across the page, crossing several lines
        page[150:200, 20 + 48 * k:24 + 48 * k] = 0.2
    found = extract(np.clip(page, 0, 1).astype(np.float32))
    assert len(found.lines) >= 40
    assert len(row_atoms(found).atoms) == 8


def test_a_low_piece_cut_off_a_digit_is_no_digit_alone_but_joins_its_neighbours():
    def atom(top: int, bottom: int, left: int, right: int) -> Atom:
        return Atom(np.ones((bottom - top, right - left), bool), (top, bottom, left, right))

    # a 5's body, its bar cut off to the right of it, and the next digit
    row = RowAtoms([atom(0, 50, 0, 30), atom(0, 8, 30, 45), atom(0, 50, 50, 80)], 50.0)
    runs = groupings(row)
    assert (1, 2) not in runs and {(0, 1), (0, 2), (1, 3), (2, 3)} <= set(runs)
    assert is_dash(row.atoms[1].box, row.height) and not is_dash(row.atoms[0].box, row.height)


def test_two_wide_digits_joined_by_a_thin_stroke_are_cut_where_they_join():
    # two wide 0s, 2.7 digit widths together: counted as three digits, the expected
    # boundaries fall inside the rings; counted as two, the join is found
    h, w = 50, 96
    y, x = np.mgrid[:h, :w]

    def ring(centre: float) -> np.ndarray:
        return np.abs(np.hypot((y - 24.5) / 24.5, (x - centre) / 22.5) - 1) < 0.09

    mask = ring(22.5) | ring(73.5)
    mask[23:26, 44:52] = True  # the pen did not lift between them
    assert any(47 <= cut <= 49 for cut in candidate_cuts(mask, float(h)))


def test_ink_of_one_level_but_for_rounding_has_its_levels():
    ink = np.zeros((100, 100), np.float32)
    ink[10:60, 10:20] = 0.8
    ink[10:60, 20:22] = np.nextafter(np.float32(0.8), np.float32(1))  # Otsu has no bins here
    low, high = ink_levels(ink, 0.0)
    assert low == pytest.approx(0.05) and high == pytest.approx(0.1)


def test_a_felt_pen_stem_in_a_large_photo_is_not_a_line():
    # a 7 whose stem, 40 pixels wide, leans by 11 degrees: inside it, the ink across any
    # line along it runs further than the search looks (LINE_REACH), which is no thin line
    h, w = 1000, 700
    y, x = np.mgrid[:h, :w].astype(np.float32)
    page = np.full((h, w), 0.9, np.float32)
    page[150:230, 150:550] = 0.1
    page[(np.abs(x - (530 - np.tan(np.radians(11)) * (y - 150))) < 20) & (y >= 150)
         & (y < 900)] = 0.1
    found = extract(page)
    assert found.lines == []
    assert found.mask[150:900].sum() > 0.95 * (page[150:900] < 0.5).sum()


def test_a_digit_bar_filling_a_tight_crop_is_not_a_line():
    found = extract(255 - seven())  # dark 7 on white: its bar is 140 of 280 pixels
    assert found.lines == [] and found.box == (30, 230, 60, 200)


def test_specks_are_dropped_and_a_separate_stroke_joins_the_digit():
    image = np.zeros((200, 200), np.uint8)
    image[50:150, 90:96] = 255  # body
    image[40:46, 80:110] = 255  # a separate bar just above it
    image[5:7, 5:7] = 255  # dust
    image[190:192, 150:152] = 255
    found = extract(image)
    assert len(found.digit) == 2 and found.box == (40, 150, 80, 110)


def test_a_thin_stroke_broken_into_short_pieces_is_no_speck():
    image = np.zeros((200, 300), np.uint8)
    y, x = np.mgrid[:200, :300]
    image[np.abs(np.hypot(y - 100, x - 90) - 60) < 2] = 255  # a large "0"
    for top in range(50, 150, 29):  # a "1" beside it, broken in four by a faint stretch
        image[top:top + 26, 220:222] = 255
    found = extract(image)
    one = [c for c in found.pieces if c.box[2] >= 200]
    assert len(one) == 4 and all(c.area < 0.04 * found.pieces[0].area for c in one)
    assert len(row_atoms(found).atoms) == 2


def test_bbox_is_tight_and_exclusive():
    ink = np.zeros((30, 40), np.float32)
    ink[5:12, 20:33] = 1.0
    assert extract(ink).box == (5, 12, 20, 33)
    assert crop(ink, (5, 12, 20, 33)).shape == (7, 13)
    assert crop(ink, (5, 12, 20, 33)).min() == 1.0


def test_a_speck_is_nearly_blank():
    ink = np.zeros((280, 280), np.float32)
    ink[100:102, 100:102] = 1.0
    with pytest.raises(EmptyDrawingError, match="nearly blank"):
        extract(ink)


def test_stroke_width_is_measured():
    mask = np.zeros((60, 60), bool)
    mask[10:50, 20:26] = True
    assert stroke_width(mask) == pytest.approx(6, abs=1.5)


def test_stroke_width_is_the_same_wherever_the_ink_lies_in_the_picture():
    # it is measured within the ink's box: the paper beyond changes nothing
    rng = np.random.default_rng(0)
    for _ in range(50):
        ink = ndimage.binary_dilation(rng.random((30, 40)) < 0.05,
                                      iterations=int(rng.integers(0, 3)))
        ink[:, 0] |= rng.random(30) < 0.5  # ink on the box's own edge too
        picture = np.zeros((200, 300), bool)
        picture[120:150, 7:47] = ink
        assert stroke_width(picture) == stroke_width(ink)


def test_the_soft_edges_of_bold_strokes_are_made_hard_and_thin_strokes_left_alone():
    x = np.arange(100, dtype=np.float32)
    soft = np.clip(1 - np.abs(x - 50) / 20, 0, 1)  # a blurred stroke 20 pixels wide
    bold = np.tile(soft, (100, 1))  # of a 100-pixel digit: MNIST's would be 12 wide
    hard = harden(bold, 20.0)
    assert hard.max() == 1.0 and ((hard > 0) & (hard < 1)).sum() < ((bold > 0) & (bold < 1)).sum()
    assert (hard[:, 50] == 1).all() and (hard[:, 40] == 0.5).all() and (hard[:, 31] == 0).all()
    assert harden(bold, 12.0) is bold


def test_a_stroke_fading_under_glare_is_drawn_as_strong_as_the_rest():
    page = np.full((240, 240), 0.9, np.float32)
    page[40:120, 114:126] = 0.1  # a "1", dark at the top...
    page[120:200, 114:126] = 0.7  # ...and faint where glare lies on it
    glyph = extract(page).glyph
    column = glyph[:, glyph.sum(axis=0).argmax()]
    inked = np.flatnonzero(column > 0.05)
    top, bottom = column[inked[:inked.size // 2]], column[inked[inked.size // 2:]]
    assert np.median(bottom) >= 0.9 * np.median(top)


def test_glare_on_a_board_joined_to_the_chalk_is_not_drawn_as_strong_as_it():
    # a faint patch wider than a stroke, with no board within a stroke's width of its
    # middle, is no faint stretch of stroke: brightened, it was drawn as a blob under the 1
    board = np.full((300, 300), 0.15, np.float32)
    rows, cols = np.mgrid[:300, :300]
    board += 0.12 * np.exp(-(((rows - 215) / 28.0) ** 2 + ((cols - 150) / 50.0) ** 2))
    board[60:200, 144:156] = 0.9  # a chalk "1" running into the glare
    board += np.random.default_rng(0).normal(0, 0.01, board.shape).astype(np.float32)
    glyph = extract(np.clip(board, 0, 1)).glyph
    beside = np.abs(np.arange(28) - glyph.sum(axis=0).argmax()) > 2
    assert glyph[:, beside].sum() < 0.1 * glyph.sum()  # 0.16 when brightened


def test_thin_strokes_are_thickened_before_shrinking():
    ink = np.zeros((200, 120), np.float32)
    ink[:, 58:61] = 1.0  # 3 pixels of 200: shrunk to 20 it would be 0.3 pixels
    thick = thicken(ink, 3.0)
    assert thick.shape[0] > 200 and (thick[100] > 0).sum() >= 0.6 * 0.12 * 200
    normal = np.zeros((200, 120), np.float32)
    normal[:, 50:74] = 1.0
    assert thicken(normal, 24.0) is normal


# -- resizing --------------------------------------------------------------------

@pytest.mark.parametrize("shape, expected", [
    ((100, 50), (20, 10)),
    ((50, 100), (10, 20)),
    ((280, 7), (20, 1)),
    ((7, 3), (20, 9)),
    ((20, 20), (20, 20)),
    ((1, 1), (20, 20)),
])
def test_resize_keeps_the_aspect_ratio_with_longer_side_20(shape, expected):
    out = resize_longer_side(np.ones(shape, np.float32))
    assert out.shape == expected
    assert out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1


def test_shrinking_is_anti_aliased():
    stripes = np.zeros((200, 200), np.float32)
    stripes[:, ::2] = 1.0  # one-pixel stripes: point sampling would give all 0 or all 1
    out = resize_longer_side(stripes)
    np.testing.assert_allclose(out, 0.5, atol=1e-5)


# -- canvas and centre of mass ------------------------------------------------------------

def test_paste_center_places_the_glyph_in_the_middle():
    canvas = paste_center(np.ones((20, 10), np.float32))
    assert canvas.shape == (28, 28)
    assert bbox_of(canvas) == (4, 24, 9, 19)
    with pytest.raises(BarenetError, match="does not fit"):
        paste_center(np.ones((30, 10), np.float32))


def test_center_of_mass_of_known_images():
    image = np.zeros((28, 28), np.float32)
    image[3, 5] = 1.0
    assert center_of_mass(image) == (3.0, 5.0)
    image[7, 9] = 3.0
    assert center_of_mass(image) == pytest.approx((6.0, 8.0))
    with pytest.raises(EmptyDrawingError):
        center_of_mass(np.zeros((28, 28), np.float32))


@pytest.mark.parametrize("dy, dx", [(0, 0), (2, -3), (0.5, 0.25), (-1.7, 2.3), (3.99, -0.01)])
def test_shift_moves_the_centre_of_mass_by_exactly_the_amount(dy, dx):
    image = np.zeros((28, 28), np.float32)
    image[10:16, 11:14] = 1.0
    image[12, 15] = 0.5
    before = center_of_mass(image)
    moved = shift(image, dy, dx)
    assert moved.shape == image.shape
    after = center_of_mass(moved)
    assert after == pytest.approx((before[0] + dy, before[1] + dx), abs=1e-5)
    assert moved.sum() == pytest.approx(image.sum(), rel=1e-6)


def test_shift_fills_with_black_and_drops_what_leaves():
    image = np.ones((5, 5), np.float32)
    moved = shift(image, 2, -1)
    assert moved[:2].sum() == 0 and moved[:, -1].sum() == 0
    assert moved.sum() == pytest.approx(3 * 4)
    assert shift(image, 10, 0).sum() == 0


def test_center_by_mass_puts_the_mass_at_14_14():
    canvas = paste_center(resize_longer_side(seven().astype(np.float32) / 255))
    assert abs(center_of_mass(canvas)[1] - 14) > 1  # the 7 is top- and right-heavy
    centred = center_by_mass(canvas)
    assert center_of_mass(centred) == pytest.approx((14, 14), abs=0.05)


# -- the whole chain ---------------------------------------------------------------------

def check_mnist_like(out: np.ndarray) -> None:
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1 and out.max() > 0.9
    cy, cx = center_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    top, bottom, left, right = bbox_of(out, 0.05)
    assert 19 <= max(bottom - top, right - left) <= 22


@pytest.mark.parametrize("top, left, scale", [(30, 60, 1.0), (0, 0, 0.5), (150, 160, 0.6),
                                              (40, 100, 1.2)])
def test_drawing_anywhere_at_any_size_gives_the_same_picture(top, left, scale):
    reference = preprocess(seven())
    out = preprocess(seven(top=top, left=left, scale=scale, width=max(4, int(18 * scale))))
    check_mnist_like(out)
    assert np.abs(out - reference).mean() < 0.06


def test_dark_on_light_colour_photo_gives_the_same_picture():
    drawing = seven()
    photo = np.empty((280, 280, 3), np.uint8)
    photo[...] = (235, 225, 200)  # cream paper
    photo[drawing > 0] = (20, 30, 90)  # dark blue pen
    reference = preprocess(drawing)
    out = preprocess(photo)
    check_mnist_like(out)
    np.testing.assert_allclose(out, reference, atol=1e-4)


def test_aspect_ratio_survives_to_the_output():
    bar = np.zeros((280, 280), np.uint8)
    bar[40:240, 120:160] = 255  # 200 tall, 40 wide: 20 x 4 after scaling
    out = preprocess(bar)
    check_mnist_like(out)
    assert out.sum(axis=0).max() == pytest.approx(20, abs=1e-4)  # ink 20 pixels tall
    assert out.sum(axis=1).max() == pytest.approx(4, abs=1e-4)  # and 4 wide


def test_a_tiny_image_is_scaled_up():
    small = np.zeros((10, 10), np.uint8)
    small[2:8, 4:6] = 255
    check_mnist_like(preprocess(small))


#: A 2 as scikit-learn's digits are stored: 8x8, levels 0-16 (made from an MNIST training 2).
TWO_8X8 = [[0, 1, 3, 6, 3, 0, 0, 0], [1, 9, 7, 5, 13, 0, 0, 0], [0, 4, 0, 1, 13, 1, 0, 0],
           [0, 0, 0, 1, 12, 3, 1, 0], [1, 2, 4, 7, 15, 10, 8, 5], [9, 11, 8, 11, 11, 0, 0, 0],
           [11, 6, 6, 13, 1, 0, 0, 0], [1, 6, 5, 1, 0, 0, 0, 0]]


@pytest.mark.parametrize("dark", [False, True])
@pytest.mark.parametrize("resample", [Image.Resampling.NEAREST, Image.Resampling.BILINEAR])
def test_a_digit_enlarged_from_8x8_that_fills_its_picture_is_read(dark, resample):
    # its strokes, an eighth of the picture wide, reach the edges, and its ink is too
    # much of the picture for the wide window's paper to be measured
    small = np.asarray(TWO_8X8, np.float32) / 16
    big = np.asarray(Image.fromarray(small).resize((64, 64), resample))
    out = preprocess(1 - big if dark else big)
    check_mnist_like(out)
    margin = preprocess(np.pad(big, 32) if not dark else 1 - np.pad(big, 32))
    assert np.corrcoef(out.ravel(), margin.ravel())[0, 1] > 0.8  # as with paper around it


#: A 3 at scikit-learn's 8x8 (made from an MNIST training 3): enlarged smoothly, dark on
#: light, no ink stands out over the paper of the wide window at all.
THREE_8X8 = [[0, 0, 1, 6, 11, 11, 7, 0], [0, 0, 9, 14, 6, 5, 16, 0], [0, 0, 0, 0, 0, 11, 9, 0],
             [0, 0, 0, 0, 10, 11, 1, 0], [0, 0, 0, 1, 8, 11, 0, 0], [2, 8, 0, 0, 1, 12, 0, 0],
             [1, 14, 6, 6, 14, 7, 0, 0], [0, 3, 9, 10, 4, 0, 0, 0]]


def test_when_the_wide_window_finds_no_ink_the_narrow_windows_reading_stands():
    small = 1 - np.asarray(THREE_8X8, np.float32) / 16
    big = np.asarray(Image.fromarray(small).resize((64, 64), Image.Resampling.BILINEAR))
    out = extract(big, invert=True).glyph  # was "nearly blank"
    check_mnist_like(out)
    margin = extract(np.pad(big, 32, constant_values=1), invert=True).glyph
    assert np.corrcoef(out.ravel(), margin.ravel())[0, 1] > 0.8


def test_mnist_like_digit_only_moves_its_centre_of_mass_to_14_14():
    digit = np.zeros((28, 28), np.float32)
    digit[4:24, 11:17] = 1.0  # 20 tall, centre of mass at (13.5, 13.5)
    np.testing.assert_allclose(preprocess(digit), shift(digit, 0.5, 0.5), atol=1e-6)


@pytest.mark.parametrize("image", [np.zeros((280, 280), np.uint8),
                                   np.full((280, 280), 255, np.uint8),
                                   np.full((50, 60, 3), 128, np.uint8)])
def test_blank_pictures_are_reported_not_classified(image):
    with pytest.raises(EmptyDrawingError):
        preprocess(image)


def test_nearly_blank_drawing_is_reported():
    image = np.zeros((280, 280), np.uint8)
    image[140, 140:142] = 255
    with pytest.raises(EmptyDrawingError, match="nearly blank"):
        preprocess(image)


def test_marks_that_form_no_row_are_no_number(recwarn):

    image = np.zeros((60, 30), np.uint8)
    image[2:12, 3:9] = 255  # one mark near the top...
    image[46:56, 18:24] = 255  # ...one near the bottom: the band between them holds neither
    with pytest.raises(EmptyDrawingError, match="no row of digits"):
        row_atoms(extract(image))
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_tilted_row_is_cut_whole():
    # the row rises 20 degrees: its ends lie outside a level band through its middle
    page = np.full((420, 640), 0.9, np.float32)
    for k in range(8):  # eight "1"s along the tilted row
        left = 40 + 72 * k
        top = 300 - int(0.36 * left)
        page[top:top + 50, left:left + 6] = 0.1
    atoms = row_atoms(extract(page)).atoms
    assert [a.box[2] for a in atoms] == [40 + 72 * k for k in range(8)]


def test_the_shadow_a_note_casts_on_the_desk_is_no_digit():
    # the soft shadow around the note is darker than the desk beside it, as ink is, and
    # narrower than the paper window: it was a piece around the whole row
    rng = np.random.default_rng(0)
    note = np.zeros((320, 600), np.float32)
    note[60:250, 100:500] = 1
    shadow = ndimage.shift(ndimage.gaussian_filter(note, 5), (5, 5), order=1)
    page = 0.55 * (1 - 0.5 * shadow) * (1 - note) + 0.9 * note  # a grey desk, lit as paper
    for k in range(4):
        page[100:200, 160 + 80 * k:167 + 80 * k] = 0.1
    page += rng.normal(0, 0.01, page.shape).astype(np.float32)
    atoms = row_atoms(extract(np.clip(page, 0, 1))).atoms
    assert [a.box[2] for a in atoms] == [160, 240, 320, 400]


def test_a_row_takes_no_piece_from_the_pictures_edge():
    # something at the picture's edge, at the row's height, is no digit of the number
    page = np.full((300, 500), 0.9, np.float32)
    page[100:200, :10] = 0.45  # a finger, or a desk beyond the page, at the picture's edge
    for k in range(4):
        page[110:190, 100 + 80 * k:107 + 80 * k] = 0.1
    atoms = row_atoms(extract(page)).atoms
    assert [a.box[2] for a in atoms] == [100, 180, 260, 340]


def test_a_noisy_dark_desk_at_the_edge_neither_becomes_the_digit_nor_hides_it():
    """Thresholded noise on a dark desk is one piece full of small holes: thick once they
    are filled, so it is dropped, and before the specks are measured against it (the digit
    holds under 4% of its pixels)."""
    rng = np.random.default_rng(0)
    image = np.full((300, 300), 0.85, np.float32)
    image[:, :120] = rng.uniform(0.05, 0.7, (300, 120))  # the desk beyond the page
    image[100:200, 200:206] = 0.2  # a thin "1"
    found = extract(image)
    assert found.box == (100, 200, 200, 206)


def _page_with_a_seven() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A 500x600 page with a pen's "7" in rows 96-204, columns 176-254."""
    page = Image.new("L", (500, 600), 235)
    draw = ImageDraw.Draw(page)
    draw.line((180, 100, 250, 100), fill=20, width=8)
    draw.line((250, 100, 200, 200), fill=20, width=8)
    return page, draw


def _near(box: tuple[int, int, int, int], expected: tuple[int, int, int, int]) -> bool:
    return all(abs(a - b) <= 4 for a, b in zip(box, expected, strict=True))


def test_a_digit_in_a_printed_box_is_read_without_the_box_and_its_label():
    # the box (its sides too short to be a ruled paper's lines) holds more ink than the 7
    # and was taken for the digit, with its label
    page, draw = _page_with_a_seven()
    draw.rectangle((100, 60, 330, 240), outline=60, width=3)  # the form's box...
    for x in (20, 40, 60):  # ...and its label, left of it
        draw.line((x, 135, x + 12, 165), fill=40, width=5)
    assert _near(extract(np.asarray(page)).box, (96, 204, 176, 254))


@pytest.mark.parametrize("width, grey", [(3, 60), (2, 100)])  # more ink than the 7, less
def test_the_walls_of_a_forms_row_of_cells_are_left_out_with_it(width, grey):
    # printed apart from the frame, the walls beside the 7 came within its reach
    page, draw = _page_with_a_seven()
    draw.rectangle((100, 60, 330, 240), outline=grey, width=width)
    for x in (160, 270):
        draw.line((x, 60 + 3 * width, x, 240 - 3 * width), fill=grey, width=width)
    assert _near(extract(np.asarray(page)).box, (96, 204, 176, 254))


@pytest.mark.parametrize("width, grey", [(8, 20), (2, 60)])  # more ink than the 7, less
def test_a_circle_drawn_round_a_digit_is_left_out(width, grey):
    page, draw = _page_with_a_seven()
    draw.ellipse((110, 50, 300, 250), outline=grey, width=width)
    assert _near(extract(np.asarray(page)).box, (96, 204, 176, 254))


@pytest.mark.parametrize("gap", [20, 70])  # degrees
def test_a_circle_drawn_with_a_gap_round_a_digit_is_left_out(gap):
    page, draw = _page_with_a_seven()
    draw.arc((110, 50, 300, 250), 100 + gap, 100 + 360, fill=20, width=8)
    assert _near(extract(np.asarray(page)).box, (96, 204, 176, 254))


def test_a_broken_zero_holding_a_scrap_is_read_whole():
    # the scrap's box lies in the arc's, but the arc goes only half way round it
    page = Image.new("L", (400, 300), 235)
    draw = ImageDraw.Draw(page)
    draw.arc((150, 80, 250, 220), 90, 270, fill=20, width=10)  # the 0's left half...
    draw.arc((150, 80, 250, 220), 280, 80, fill=20, width=10)  # ...its right half...
    draw.line((175, 110, 190, 190), fill=20, width=6)  # ...and a stray stroke inside it
    assert _near(extract(np.asarray(page)).box, (80, 220, 150, 250))


def test_a_circle_in_a_box_round_a_digit_are_both_left_out():
    page, draw = _page_with_a_seven()
    draw.ellipse((110, 50, 300, 250), outline=20, width=8)
    draw.rectangle((92, 32, 318, 268), outline=60, width=3)
    assert _near(extract(np.asarray(page)).box, (96, 204, 176, 254))


def test_a_circle_touching_the_digit_is_taken_apart_from_it_and_left_out():
    # the 7's bar runs on into the circle: one piece, whose holes hold no other
    page, draw = _page_with_a_seven()
    draw.ellipse((110, 50, 300, 250), outline=20, width=8)
    draw.line((250, 100, 292, 100), fill=20, width=8)
    top, bottom, left, right = extract(np.asarray(page)).box
    assert _near((top, bottom, left), (96, 204, 176)) and 254 <= right < 284


def test_nothing_joins_the_digit_through_the_line_drawn_under_it():
    # the line reached a word written beside it, and the word stayed with the 7 when the
    # line was left out
    page, draw = _page_with_a_seven()
    draw.line((120, 225, 270, 225), fill=20, width=6)  # the line under the 7...
    for x in (60, 85):  # ...running on below a word at its left end
        draw.line((x, 180, x + 15, 212), fill=20, width=6)
    assert _near(extract(np.asarray(page)).box, (96, 204, 176, 254))


def test_a_box_touching_the_digit_is_taken_apart_from_it_and_left_out():
    page, draw = _page_with_a_seven()
    draw.rectangle((100, 60, 330, 240), outline=60, width=3)
    draw.line((200, 200, 190, 240), fill=20, width=8)  # the 7's stem runs on to the box
    top, bottom, left, right = extract(np.asarray(page)).box
    assert _near((top, left, right), (96, 176, 254)) and 204 <= bottom < 238  # inside the box


@pytest.mark.parametrize("inside", [True, False])
def test_only_a_frame_inside_the_picture_is_taken_apart_from_the_digit(inside):
    # the same square round a touching stroke; at the picture's edge it goes on beyond
    # (a grid, a table, the page) and is no frame
    mask = np.zeros((120, 120), bool)
    at = 10 if inside else 0
    mask[at:110, at:110] = True
    mask[at + 4:106, at + 4:106] = False  # a square ring, 4 pixels thick
    mask[30:90, 58:63] = True  # a "1"...
    mask[88:106, 58:63] = True  # ...running on to the ring
    labels, pieces, _ = components(mask, mask.astype(np.float32))
    joint = frame_joint(labels, pieces[0])
    if inside:
        assert joint is not None and joint[:, 58:63].any() and not joint[30:90].any()
    else:
        assert joint is None


@pytest.mark.parametrize("digit", ["0", "8"])
def test_a_bold_digit_with_specks_of_paper_in_its_strokes_is_no_frame(digit):
    # a marker's stroke, thresholded, holds specks of paper: they are no loops, and the
    # loops' own ink is no digit held in a frame
    rng = np.random.default_rng(0)
    page = Image.new("L", (400, 400), 235)
    draw = ImageDraw.Draw(page)
    if digit == "0":
        draw.ellipse((120, 60, 280, 340), outline=20, width=34)
    else:
        draw.ellipse((140, 50, 260, 190), outline=20, width=30)
        draw.ellipse((120, 170, 280, 350), outline=20, width=30)
    image = np.asarray(page).copy()
    specks = (rng.random(image.shape) < 0.02) & (image < 128)
    image[specks] = 235
    found = extract(image)
    assert _near(found.box, (60, 340, 120, 280) if digit == "0" else (50, 350, 120, 280))


def test_a_zero_holding_a_scrap_of_its_own_ink_is_no_frame():
    page = Image.new("L", (400, 300), 235)
    draw = ImageDraw.Draw(page)
    draw.ellipse((150, 80, 250, 220), outline=20, width=10)  # a 0...
    draw.line((185, 150, 215, 170), fill=20, width=6)  # ...and a stray stroke inside it
    found = extract(np.asarray(page))
    assert _near(found.box, (80, 220, 150, 250)) and len(found.digit) == 2


def test_a_solid_mass_at_the_edge_is_not_part_of_the_digit():
    """A dark band along the picture's edge (the desk beyond the page, a finger), far
    thicker than the pen's strokes, is dropped rather than taken as the digit."""
    image = np.full((200, 200), 235, np.uint8)
    image[:, :30] = 20  # solid, 30 pixels thick, touching three edges
    image[40:160, 100:106] = 30  # a "1", 6 pixels thick
    found = extract(image)
    top, bottom, left, right = found.box
    assert left >= 95 and right <= 111 and top >= 35 and bottom <= 165
    assert all(c.box[2] > 0 for c in found.digit)
