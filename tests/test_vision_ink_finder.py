"""The learned ink finder: shapes, gradients, files, determinism, and that it learns."""

import numpy as np
import pytest

import barenet as bn
from barenet.train.ink_finder import SceneArrays, masked_bce, predict_cells, scores_of, train_finder
from barenet.vision import extract
from barenet.vision.ink_finder import (
    SIDE,
    InkFinder,
    cell_target,
    finder_input,
    group_cells,
    load_finder,
    working_shape,
)


def test_shapes():
    finder = InkFinder(4, seed=0, levels=1)
    x = np.random.default_rng(0).standard_normal((3, 2, 32, 48)).astype(np.float32)
    assert finder.forward(x).shape == (3, 16, 24)
    with pytest.raises(ValueError, match="multiples of 8"):
        finder.forward(x[:, :, :30])
    gray = np.random.default_rng(1).random((300, 451)).astype(np.float32)
    assert finder.side == SIDE == 128
    assert finder_input(gray, True, SIDE).shape == (2, *working_shape(gray.shape, SIDE)) \
        == (2, 85, SIDE)
    assert finder.cells(gray, True).shape == (43, 64)  # 85 x 128, a cell per 2 x 2
    prob = finder.probability(gray, True)
    assert prob.shape == gray.shape and 0 <= prob.min() and prob.max() <= 1
    assert cell_target(np.ones((300, 451), np.float32), (85, 128)).shape == (48, 64)
    deeper = InkFinder(4, seed=0)  # two levels by default
    assert deeper.forward(x).shape == (3, 16, 24)
    assert deeper.cells(gray, True).shape == (43, 64)
    with pytest.raises(ValueError, match="multiples of 16"):
        deeper.forward(x[:, :, :24])


@pytest.mark.parametrize("levels", [1, 2])
def test_gradients_match_finite_differences(levels):
    finder = InkFinder(3, seed=1, levels=levels).train(True)
    for part in finder.parts:
        part.astype(np.float64)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 32, 48))
    target = (rng.random((2, 16, 24)) > 0.8).astype(np.float64)
    valid = np.ones_like(target)
    valid[:, :, -2:] = 0  # padding carries no loss
    for part in finder.parts:  # a weight of each part: the glue between them too
        finder.train(True)
        for p in finder.parameters():
            p.grad[...] = 0
        _, grad = masked_bce(finder, x, target, valid)
        finder.backward(grad)
        weight = part.parameters()[0]
        index = (1, 0, 1, 0)
        analytic = weight.grad[index]
        w0, eps = weight.data[index], 1e-5
        weight.data[index] = w0 + eps
        up, _ = masked_bce(finder, x, target, valid)
        weight.data[index] = w0 - eps
        down, _ = masked_bce(finder, x, target, valid)
        weight.data[index] = w0
        assert analytic == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("levels", [1, 2])
def test_file_round_trip_and_refusal(tmp_path, levels):
    finder = InkFinder(4, seed=3, threshold=0.4, levels=levels)
    x = np.random.default_rng(4).standard_normal((1, 2, 32, 16)).astype(np.float32)
    finder.save(tmp_path / "finder.npz")
    again = load_finder(tmp_path / "finder.npz")
    assert again.threshold == 0.4 and again.width == 4 and again.levels == levels
    np.testing.assert_array_equal(again.logits(x), finder.logits(x))
    bn.Sequential([bn.layers.Linear(4, 2)]).save(tmp_path / "plain.npz")
    with pytest.raises(bn.BarenetError, match="not an ink finder"):
        load_finder(tmp_path / "plain.npz")


def test_the_working_side_is_the_finders_own(tmp_path):
    finder = InkFinder(4, seed=3, side=192)
    finder.save(tmp_path / "finder.npz")
    again = load_finder(tmp_path / "finder.npz")
    assert again.side == 192
    gray = np.random.default_rng(5).random((300, 451)).astype(np.float32)
    assert again.cells(gray, True).shape == (64, 96)  # 128 x 192, a cell per 2 x 2
    np.testing.assert_array_equal(again.cells(gray, True), finder.cells(gray, True))
    prob = again.probability(gray, True)
    assert prob.shape == gray.shape and 0 <= prob.min() and prob.max() <= 1


@pytest.mark.parametrize("side", [48, 100, 528, 128.0, "128", None])
def test_a_bad_side_is_refused(tmp_path, side):
    with pytest.raises(ValueError, match="multiple of 16 from 64 to 512"):
        InkFinder(4, side=side)
    finder = InkFinder(4)
    finder.side = side  # a file made by other means
    finder.save(tmp_path / "finder.npz")
    with pytest.raises(bn.BarenetError, match="working side is a multiple of 16") as error:
        load_finder(tmp_path / "finder.npz")
    assert "\n" not in str(error.value)


def _page(rng: np.random.Generator, size: int = 64):
    """A grey page with a ruled line across it and a ring (the "digit") off the line;
    the ring's coverage is the truth."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    page = np.full((size, size), rng.uniform(0.75, 0.95), np.float32)
    line = int(rng.integers(4, size - 4))
    page[line:line + 2] *= 0.45
    radius = rng.uniform(6, 12)
    cy = rng.uniform(radius + 2, size - radius - 2)
    while abs(cy - line) < radius + 3:
        cy = rng.uniform(radius + 2, size - radius - 2)
    cx = rng.uniform(radius + 2, size - radius - 2)
    ring = np.clip(1.5 - np.abs(np.hypot(yy - cy, xx - cx) - radius), 0, 1)
    page *= 1 - 0.7 * ring
    page += rng.normal(0, 0.01, page.shape).astype(np.float32)
    return page, ring, line


def _pages(count: int, seed: int) -> tuple[SceneArrays, list[int]]:
    rng = np.random.default_rng(seed)
    inputs, targets, lines = [], [], []
    for _ in range(count):
        page, ring, line = _page(rng)
        inputs.append(finder_input(page, True, side=64))
        targets.append(cell_target(ring, (64, 64)))
        lines.append(line)
    targets = np.stack(targets)
    boxes = np.zeros((count, 4), np.int64)
    shapes = np.full((count, 2), 64)
    return SceneArrays(np.stack(inputs), targets, np.ones_like(targets), boxes, shapes), lines


def test_learns_the_ring_not_the_line():
    train, _ = _pages(64, seed=5)
    finder = train_finder(train, epochs=20, batch=8, lr=5e-3, width=8, seed=0)
    assert finder.side == 64  # the side the scenes were made at
    test, lines = _pages(8, seed=6)
    prob = predict_cells(finder, test)
    on_ring = prob[test.targets >= 0.5].mean()
    on_line = np.mean([prob[i, line // 2][test.targets[i, line // 2] < 0.1].mean()
                       for i, line in enumerate(lines)])
    assert on_line < 0.2 and on_ring > on_line + 0.3
    assert scores_of(prob, test, 0.5).iou > 0.3


def test_training_is_determined_by_its_seed():
    train, _ = _pages(16, seed=8)
    one, two, other = (train_finder(train, epochs=2, batch=8, width=4, seed=seed)
                       for seed in (0, 0, 1))
    for a, b in zip(one.parameters(), two.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(one.parameters()[0].data, other.parameters()[0].data)


def test_group_cells_keeps_the_main_piece_and_its_near_pieces():
    marked = np.zeros((20, 20), bool)
    marked[5:12, 5:7] = True  # the main piece
    marked[5:7, 8:9] = True  # a bar beside it (within a quarter of its size)
    marked[18:20, 18:20] = True  # far off
    group = group_cells(marked)
    assert group[5:12, 5:7].all() and group[5:7, 8].all() and not group[18:, 18:].any()
    assert group_cells(np.zeros((4, 4), bool)) is None


@pytest.mark.parametrize("side", [128, 192])
def test_extract_with_a_finder_gives_a_glyph(side):
    rng = np.random.default_rng(7)
    page, ring, _ = _page(rng, 96)
    # untrained, at threshold 0: marks every cell, all ink is the digit
    finder = InkFinder(4, seed=0, threshold=0.0, side=side)
    found = extract(page, finder=finder)
    assert found.glyph.shape == (28, 28) and found.lines == []
    top, bottom, left, right = found.box
    assert 0 <= top < bottom <= 96 and 0 <= left < right <= 96
    plain = extract(page)  # no finder: the plain pipeline, as before
    assert plain.glyph.shape == (28, 28)
