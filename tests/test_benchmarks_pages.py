"""benchmarks/pages.py renders every page: one quick picture per condition, checked."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

pages = pytest.importorskip("pages")


def _digit() -> np.ndarray:
    """A stand-in MNIST digit (a slanted 1 with a foot: bright ink on black), 28x28 uint8."""
    d = np.zeros((28, 28), np.uint8)
    for r in range(5, 23):
        c = 14 + (14 - r) // 4
        d[r, c - 1:c + 2] = 255
    d[21:23, 10:19] = 255
    return d


@pytest.mark.parametrize("condition", list(pages.CONDITIONS))
def test_every_condition_renders_a_picture_holding_the_digit(condition):
    page = pages.render_page(_digit(), condition, np.random.default_rng([7, len(condition)]))
    image = page.image
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    h, w = image.shape[:2]
    assert 200 <= min(h, w) and max(h, w) <= 2000
    top, bottom, left, right = page.box
    assert 0 < top < bottom < h and 0 < left < right < w  # inside, not cut by an edge
    assert bottom - top >= 16  # a digit, not a speck
    assert page.jpeg is None or 50 <= page.jpeg <= 100
    # the digit is drawn: its box differs from the page around it
    inside = image[top:bottom, left:right].astype(np.float64)
    assert inside.std() > 5


def test_renders_are_determined_by_the_generator():
    a = pages.render_page(_digit(), "sticky_note", np.random.default_rng(3))
    b = pages.render_page(_digit(), "sticky_note", np.random.default_rng(3))
    assert np.array_equal(a.image, b.image) and a.box == b.box


@pytest.mark.parametrize("separator", [None, (2, "-"), (2, ".")])
def test_number_note(separator):
    page = pages.render_number_note([_digit()] * 4, np.random.default_rng(5), separator)
    h, w = page.image.shape[:2]
    top, bottom, left, right = page.box
    assert page.image.dtype == np.uint8 and page.image.shape[2] == 3
    assert 0 <= top < bottom <= h and 0 <= left < right <= w
    assert right - left > 1.2 * (bottom - top)  # a row (turned up to 20 degrees)


def test_digit_files():
    d = _digit()
    assert np.array_equal(pages.mnist_file(d, "mnist_28"), d)
    for variant in pages.MNIST_FILES:
        f = pages.mnist_file(d, variant)
        assert f.dtype == np.uint8 and f.ndim == 2
    big = pages.mnist_file(d, "inverted_4x")
    assert big.shape == (112, 112) and big[0, 0] > 200  # dark on white
    tiny = pages.tiny_blurry(d, np.random.default_rng(0))
    assert tiny.shape == (64, 64) and tiny.dtype == np.uint8 and tiny.std() > 20
