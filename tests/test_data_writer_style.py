"""Replayed digits at the user's slant (data/writer_style.py)."""

from __future__ import annotations

import numpy as np
import pytest

from barenet.data.writer_style import SLANT_GAP, STYLED_SHARE, in_writers_slant, slant


def bars(shears: list[float], length: int = 20) -> np.ndarray:
    """Strokes two pixels wide, one per shear: column = 14 + shear * (row - 14)."""
    images = np.zeros((len(shears), 28, 28), np.float32)
    rows = np.arange(14 - length // 2, 14 + length // 2)
    for n, s in enumerate(shears):
        cols = np.round(13.5 + s * (rows - 14)).astype(int)
        images[n, rows, cols] = images[n, rows, cols + 1] = 1.0
    return images


def hooks(count: int, rng: np.random.Generator) -> np.ndarray:
    """Upright 'digits' with a bar at the top of varying length (MNIST-like slants near 0)."""
    images = bars(list(rng.normal(0, 0.1, count)))
    for n in range(count):
        images[n, 4:6, 14:14 + int(rng.integers(3, 9))] = 1.0
    return images


@pytest.mark.parametrize("shear", [-0.8, -0.3, 0.0, 0.5])
def test_the_slant_of_a_sheared_stroke_is_its_shear(shear):
    assert slant(bars([shear]))[0] == pytest.approx(shear, abs=0.03)


def test_leaning_right_is_negative_and_a_blank_picture_is_upright():
    leaning_right = np.zeros((1, 28, 28), np.float32)
    for row in range(4, 24):  # the top of the stroke is further right
        leaning_right[0, row, 24 - row] = 1.0
    assert slant(leaning_right)[0] < -0.9
    assert slant(np.zeros((1, 28, 28)))[0] == 0.0


def test_copies_take_the_samples_slant_and_are_normalised_like_glyphs():
    rng = np.random.default_rng(0)
    replay = hooks(40, rng)
    samples = bars(list(-0.8 + rng.normal(0, 0.05, 12)))
    index, copies = in_writers_slant(replay, samples, np.random.default_rng(1))
    assert len(index) == len(copies) == int(STYLED_SHARE * len(replay))
    assert len(set(index.tolist())) == len(index) and index.max() < len(replay)
    assert copies.dtype == np.float32 and 0 <= copies.min() and copies.max() <= 1
    assert np.median(slant(copies)) == pytest.approx(-0.8, abs=0.1)
    assert np.median(slant(replay[index])) > -0.3  # they were nearly upright
    for picture in copies:  # as to_glyph makes them: longer side 20, centred by mass
        rows = np.flatnonzero(picture.max(axis=1) > 0.05)
        cols = np.flatnonzero(picture.max(axis=0) > 0.05)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in range(19, 24)
        total = picture.sum()
        assert abs((picture.sum(axis=1) @ np.arange(28)) / total - 14) < 1
        assert abs((picture.sum(axis=0) @ np.arange(28)) / total - 14) < 1


def test_samples_that_slant_like_the_replay_add_nothing():
    rng = np.random.default_rng(0)
    replay = hooks(40, rng)
    for samples in (bars([SLANT_GAP / 2] * 5), replay[:0]):
        index, copies = in_writers_slant(replay, samples, rng)
        assert index.shape == (0,) and copies.shape == (0, 28, 28)


def test_the_same_generator_shears_the_same_digits():
    rng = np.random.default_rng(0)
    replay, samples = hooks(40, rng), bars([0.6] * 5)
    a = in_writers_slant(replay, samples, np.random.default_rng(3))
    b = in_writers_slant(replay, samples, np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
