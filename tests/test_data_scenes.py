"""The scene generator: reproducible, true to its digit, every kind reachable, the held-out
conditions never made, and only a data set's training split drawn.

The digits here are drawn shapes, not MNIST: a bar (label 1) and a ring (label 0), so that
which one a scene shows can be read from its mask, and no test needs the data files.
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from barenet.data import Dataset
from barenet.data.scenes import (
    CHANCES,
    HELD_OUT,
    INKS,
    KINDS,
    LETTERS,
    MIN_PAGE_SHARE,
    PAPERS,
    RULINGS,
    Scene,
    make_scene,
    make_scenes,
    training_digits,
)

#: Everything that adds marks or light to a page of one flat colour: left out, the
#: picture is the paper and the digit's ink alone (seen through rotation and tilt).
CLUTTER = (set(CHANCES) - {"rotation", "perspective"}) | set(RULINGS) | {"recycled"}


def drawn_digit(kind: str) -> np.ndarray:
    """A 28x28 uint8 picture, bright ink on black: a vertical ``"bar"`` or a ``"ring"``."""
    image = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(image)
    if kind == "bar":
        draw.line([(14, 4), (14, 23)], fill=255, width=3)
    else:
        draw.ellipse([(6, 4), (22, 23)], outline=255, width=3)
    return np.asarray(image)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """Six training digits: bars labelled 1, rings labelled 0."""
    images = np.stack([drawn_digit(kind) for kind in ("bar", "ring") * 3])
    return images, np.array([1, 0] * 3, np.uint8)


def scene(digits, seed, **options) -> Scene:
    return make_scene(*digits, np.random.default_rng(seed), **options)


def luminance(picture: np.ndarray) -> np.ndarray:
    return picture.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def test_a_scene_is_determined_by_its_seed(digits):
    first, again, other = scene(digits, 3), scene(digits, 3), scene(digits, 4)
    np.testing.assert_array_equal(first.picture, again.picture)
    np.testing.assert_array_equal(first.digit_mask, again.digit_mask)
    assert (first.label, first.box, first.kinds) == (again.label, again.box, again.kinds)
    assert first.picture.shape != other.picture.shape or \
        not np.array_equal(first.picture, other.picture)
    series = list(make_scenes(*digits, 3, seed=9, size=48))
    for i, made in enumerate(series):
        alone = scene(digits, [9, i], size=48)
        np.testing.assert_array_equal(made.picture, alone.picture)


def test_shapes_types_and_box(digits):
    shorts = []
    for made in make_scenes(*digits, 16, seed=1):
        height, width = made.picture.shape[:2]
        shorts.append(min(height, width))
        assert made.picture.dtype == np.uint8 and made.picture.shape == (height, width, 3)
        assert made.digit_mask.dtype == np.float32 and made.digit_mask.shape == (height, width)
        assert 0 <= made.digit_mask.min() and made.digit_mask.max() <= 1
        assert made.digit_mask.max() > 0.9  # the strokes' cores are fully inked
        top, bottom, left, right = made.box
        assert 0 <= top < bottom <= height and 0 <= left < right <= width
        inside = np.zeros_like(made.digit_mask, bool)
        inside[top:bottom, left:right] = True
        assert not made.digit_mask[~inside].any()  # the mask lies in its box...
        rows, cols = np.flatnonzero(made.digit_mask.any(1)), np.flatnonzero(made.digit_mask.any(0))
        assert (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1) == made.box  # ...which is tight
        assert made.picture.std() > 2  # not blank
        assert set(made.kinds) <= set(KINDS)
    assert 24 <= min(shorts) and max(shorts) <= 400
    assert scene(digits, 0, size=50).picture.shape == (50, 50, 3)
    assert scene(digits, 0, size=(40, 70)).digit_mask.shape == (40, 70)
    with pytest.raises(ValueError, match="16 pixels"):
        scene(digits, 0, size=10)
    with pytest.raises(ValueError, match="uint8"):
        make_scene(digits[0] / 255, digits[1], np.random.default_rng(0))


def test_the_mask_is_the_digits_ink(digits):
    """On a flat page with nothing else on it, every pixel off the mask is paper and the
    pixels under the mask are ink, darker than the paper."""
    for seed in range(8):
        made = scene(digits, seed, size=(72, 88), exclude=CLUTTER)
        light = luminance(made.picture)
        paper = np.median(light[made.digit_mask == 0])
        assert np.abs(light[made.digit_mask == 0] - paper).max() <= 3
        assert light[made.digit_mask > 0.5].mean() < 0.9 * paper
        assert made.page_share == 1.0


def test_the_label_is_the_digit_drawn(digits):
    """Seen straight on, a bar's ink is tall and narrow, a ring's box nearly square."""
    straight = CLUTTER | {"rotation", "perspective"}
    labels = set()
    for seed in range(10):
        made = scene(digits, seed, size=64, exclude=straight)
        top, bottom, left, right = made.box
        assert made.label == (0 if (right - left) > 0.5 * (bottom - top) else 1)
        labels.add(made.label)
    assert labels == {0, 1}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_can_be_forced(digits, kind):
    """Forcing a kind shows it (a desk or neighbours may find no room in a seed)."""
    assert any(kind in scene(digits, seed, size=96, force={kind}).kinds for seed in range(4))


def test_every_kind_comes_by_chance(digits):
    seen = set()
    for made in make_scenes(*digits, 150, seed=5, size=40):
        seen |= made.kinds
    assert seen == set(KINDS)


def test_one_paper_one_ink_at_most_one_ruling(digits):
    for made in make_scenes(*digits, 20, seed=2, size=40):
        assert len(made.kinds & set(PAPERS)) == 1 and len(made.kinds & set(INKS)) == 1
        assert len(made.kinds & set(RULINGS)) <= 1
    with pytest.raises(ValueError, match="only one"):
        scene(digits, 0, force={"grid", "ruled"})
    with pytest.raises(ValueError, match="unknown kind"):
        scene(digits, 0, force={"circle"})


def test_held_out_kinds_are_refused(digits):
    assert set(HELD_OUT) == {"circled", "chalkboard", "sticky_note"}
    assert not set(HELD_OUT) & set(KINDS)
    for name in HELD_OUT:
        with pytest.raises(ValueError, match="held out"):
            scene(digits, 0, force={name})
    assert not any(char.isdigit() for char in LETTERS)  # printed labels hold no digit


def test_never_chalkboard_the_ink_is_darker_than_its_paper(digits):
    for made in make_scenes(*digits, 30, seed=7):
        light = luminance(made.picture)
        top, bottom, left, right = made.box
        pad = max(2, (bottom - top) // 10)
        around = np.zeros(light.shape, bool)
        around[max(top - pad, 0):bottom + pad, max(left - pad, 0):right + pad] = True
        around &= made.digit_mask == 0
        assert light[made.digit_mask > 0.5].mean() < np.median(light[around])


def test_never_a_sticky_note(digits):
    """A desk shows only around neutral paper covering most of the picture; coloured
    paper fills it."""
    desks = 0
    for made in make_scenes(*digits, 20, seed=8, size=(80, 96), force={"desk"}):
        if "desk" in made.kinds:
            desks += 1
            assert "coloured" not in made.kinds
            assert MIN_PAGE_SHARE <= made.page_share < 1
        else:
            assert made.page_share == 1
    assert desks >= 10
    for made in make_scenes(*digits, 20, seed=8, size=64, force={"coloured"}):
        assert "desk" not in made.kinds and made.page_share == 1
    with pytest.raises(ValueError, match="sticky note"):
        scene(digits, 0, force={"desk", "coloured"})


def test_never_circled_hand_strokes_are_open(digits):
    """The handwritten strokes near the digit (underlines, strike-throughs) enclose no
    part of it: filling their holes covers none of the digit's ink."""
    for seed in range(12):
        made = scene(digits, seed, size=96, force={"underline", "strike"},
                     exclude=CLUTTER - {"underline", "strike"})
        light = luminance(made.picture)
        paper = np.median(light[made.digit_mask == 0])
        strokes = (light < paper - 20) & (made.digit_mask == 0)
        assert strokes.any()
        enclosed = ndimage.binary_fill_holes(strokes) & ~strokes
        assert not (enclosed & (made.digit_mask > 0.5)).any()


def fake_dataset(train_images: np.ndarray, test_images: np.ndarray) -> Dataset:
    return Dataset("mnist", train_images, np.ones(len(train_images), np.uint8), test_images,
                   np.zeros(len(test_images), np.uint8), tuple("0123456789"), Path("."))


def test_only_the_training_split_is_drawn(digits):
    bars = np.stack([drawn_digit("bar")] * 2)
    rings = np.stack([drawn_digit("ring")] * 2)
    data = fake_dataset(bars, rings)
    images, labels = training_digits(data)
    assert images is data.train_images and labels is data.train_labels
    for made in make_scenes(images, labels, 4, seed=0, size=48):
        assert made.label == 1
    for not_a_dataset in (data.test_images, (data.test_images, data.test_labels)):
        with pytest.raises(TypeError, match="training split"):
            training_digits(not_a_dataset)
