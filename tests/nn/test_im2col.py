"""im2col, col2im and add_windows against slow loop references, and the adjoint identities."""

import numpy as np
import pytest

from barenet import BarenetError
from barenet.nn.kernels.im2col import (
    add_windows,
    add_windows_reference,
    as_pair,
    col2im,
    col2im_reference,
    im2col,
    im2col_reference,
    output_size,
    sliding_windows,
)

# (N, C, H, W), kernel, stride, padding; those with stride 1 and OW = W take the
# contiguous-runs path of im2col and col2im, the others the windows path.
GEOMETRIES = [
    ((2, 3, 7, 9), (3, 3), (1, 1), (0, 0)),
    ((2, 3, 7, 9), (3, 3), (1, 1), (1, 1)),
    ((3, 2, 7, 9), (5, 5), (1, 1), (2, 2)),
    ((2, 3, 6, 4), (3, 5), (1, 1), (0, 2)),
    ((2, 2, 5, 6), (2, 1), (1, 1), (1, 0)),
    ((2, 2, 1, 1), (3, 3), (1, 1), (1, 1)),
    ((1, 2, 3, 3), (1, 9), (1, 1), (0, 4)),  # side padding wider than the image
    ((2, 1, 2, 2), (7, 7), (1, 1), (3, 3)),
    ((0, 2, 5, 5), (3, 3), (1, 1), (1, 1)),  # an empty batch
    ((2, 3, 7, 9), (3, 3), (2, 2), (1, 1)),
    ((2, 2, 7, 9), (5, 5), (2, 2), (2, 2)),
    ((1, 2, 8, 8), (2, 2), (2, 2), (0, 0)),
    ((3, 1, 6, 5), (2, 3), (1, 2), (1, 0)),
    ((2, 2, 5, 5), (1, 1), (3, 3), (0, 0)),
    ((1, 1, 4, 4), (4, 4), (1, 1), (0, 0)),
]


@pytest.mark.parametrize("shape, kernel, stride, padding", GEOMETRIES)
def test_im2col_matches_loops(rng, shape, kernel, stride, padding):
    x = rng.standard_normal(shape)
    cols = im2col(x, kernel, stride, padding)
    np.testing.assert_array_equal(cols, im2col_reference(x, kernel, stride, padding))
    oh, ow = output_size(shape[2:], kernel, stride, padding)
    assert cols.shape == (shape[1] * kernel[0] * kernel[1], shape[0] * oh * ow)


@pytest.mark.parametrize("shape, kernel, stride, padding", GEOMETRIES)
def test_col2im_matches_loops_and_is_the_adjoint_of_im2col(rng, shape, kernel, stride, padding):
    x = rng.standard_normal(shape)
    cols = im2col(x, kernel, stride, padding)
    g = rng.standard_normal(cols.shape)
    dx = col2im(g.copy(), shape, kernel, stride, padding)  # col2im may zero entries of its input
    assert dx.shape == shape
    np.testing.assert_allclose(dx, col2im_reference(g, shape, kernel, stride, padding),
                               rtol=1e-13, atol=1e-13)
    # <im2col(x), g> == <x, col2im(g)>: col2im is the transpose of im2col
    np.testing.assert_allclose(np.sum(cols * g), np.sum(x * dx), rtol=1e-12)


@pytest.mark.parametrize("shape, kernel, stride, padding", GEOMETRIES)
def test_add_windows_matches_loops_and_is_the_adjoint(rng, shape, kernel, stride, padding):
    x = rng.standard_normal(shape)
    windows = sliding_windows(x, kernel, stride, padding)
    g = rng.standard_normal(windows.shape)
    dx = add_windows(g, shape[2:], stride, padding)
    np.testing.assert_allclose(dx, add_windows_reference(g, shape[2:], stride, padding),
                               rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(np.sum(windows * g), np.sum(x * dx), rtol=1e-12)


def test_sliding_windows_is_a_view_with_padding_value(rng):
    x = rng.standard_normal((1, 1, 4, 4))
    windows = sliding_windows(x, (2, 2), (2, 2), (0, 0))
    assert np.shares_memory(windows, x)
    assert windows[0, 0, 1, 0, 1, 1] == x[0, 0, 3, 2]  # tap (1, 0) of window (1, 1)
    padded = sliding_windows(x, (3, 3), (1, 1), (1, 1), pad_value=-np.inf)
    assert padded[0, 0, 0, 0, 0, 0] == -np.inf and padded[0, 0, 1, 1, 0, 0] == x[0, 0, 0, 0]


def test_im2col_reuses_a_matching_buffer(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    first = im2col(x, (3, 3), (1, 1), (1, 1))
    again = im2col(2 * x, (3, 3), (1, 1), (1, 1), out=first)
    assert again is first
    np.testing.assert_array_equal(again, im2col_reference(2 * x, (3, 3), (1, 1), (1, 1)))
    other = im2col(x[:1], (3, 3), (1, 1), (1, 1), out=first)  # wrong shape: new array
    assert other is not first and other.shape[1] == 36


def test_add_windows_accepts_broadcast_windows():
    g = np.broadcast_to(np.ones((1, 1, 1, 1, 1, 1)), (1, 1, 2, 2, 3, 3))
    dx = add_windows(g, (4, 4), (1, 1), (0, 0))
    np.testing.assert_array_equal(dx[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2],
                                             [1, 2, 2, 1]])


def test_as_pair():
    assert as_pair(3, "k", 1) == (3, 3)
    assert as_pair([2, 5], "k", 1) == (2, 5)
    assert as_pair(np.int64(0), "p", 0) == (0, 0)
    for bad in (0, (1, 2, 3), 2.0, True, (1, -1)):
        with pytest.raises(BarenetError, match="k must be"):
            as_pair(bad, "k", 1)
