"""Augmentation: exact geometry on known images, determinism, range, shape and dtype."""

import numpy as np
import pytest

from barenet.data.augment import Augment, elastic_displacement, gaussian_matrix, warp_images
from barenet.errors import BarenetError
from barenet.model.views import ONE_PIXEL_SHIFTS, shift_images, tta_description, tta_views


def _centre_of_mass(image):
    rows, cols = np.indices(image.shape)
    return np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()


@pytest.fixture
def digits(rng):
    """Eight 28x28 float32 'digits': random strokes away from the border, values in [0, 1]."""
    images = np.zeros((8, 28, 28), np.float32)
    images[:, 6:22, 8:20] = rng.random((8, 16, 12))
    return images


def test_off_is_identity(digits, rng):
    for augment in (Augment(), Augment(max_shift=3, probability=0.0)):
        assert not augment.enabled and augment(digits, rng) is digits
    np.testing.assert_array_equal(warp_images(digits), digits)
    assert Augment(scale=(0.9, 1.0)).enabled


def test_integer_and_fractional_shift_move_the_centre_of_mass(digits):
    for dy, dx in [(2, -3), (1.5, 0.25)]:
        moved = warp_images(digits, shift=(dy, dx))
        for before, after in zip(digits, moved, strict=True):
            np.testing.assert_allclose(_centre_of_mass(after) - _centre_of_mass(before),
                                       [dy, dx], atol=1e-4)
            assert after.sum() == pytest.approx(before.sum(), rel=1e-5)  # nothing cut off
    np.testing.assert_array_equal(warp_images(digits, shift=(2, -3))[:, 8:24, 5:17],
                                  digits[:, 6:22, 8:20])


def test_random_shifts_stay_within_max_shift(digits, rng):
    moved = Augment(max_shift=2.0)(digits, rng)
    steps = np.array([_centre_of_mass(b) - _centre_of_mass(a) for a, b in zip(digits, moved,
                                                                               strict=True)])
    assert np.all(np.abs(steps) <= 2.0 + 1e-4) and np.abs(steps).max() > 0.5


@pytest.mark.parametrize("angle, k", [(90, 1), (-90, -1), (180, 2)])
def test_right_angle_rotation_matches_rot90(rng, angle, k):
    images = rng.random((3, 28, 28))
    rotated = warp_images(images, angle=angle)
    expected = np.rot90(images, k, axes=(1, 2))
    np.testing.assert_allclose(rotated[:, 1:-1, 1:-1], expected[:, 1:-1, 1:-1], atol=1e-9)


def test_scaling_spreads_mass_about_the_centre():
    rows, cols = np.indices((28, 28)) - 13.5
    blob = np.exp(-(rows**2 + cols**2) / (2 * 2.0**2))[None]
    spread = [np.sqrt((warp_images(blob, scale=s)[0] * (rows**2 + cols**2)).sum()
                      / warp_images(blob, scale=s)[0].sum()) for s in (1.0, 2.0)]
    assert spread[1] / spread[0] == pytest.approx(2.0, rel=0.05)


def test_same_seed_same_output_and_channel_layout(digits):
    augment = Augment(max_shift=2, max_rotation=15, scale=(0.9, 1.1), elastic_alpha=34,
                      elastic_sigma=4, probability=0.75)
    a = augment(digits, np.random.default_rng(1))
    b = augment(digits, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, augment(digits, np.random.default_rng(2)))
    c = augment(digits[:, None], np.random.default_rng(1))
    assert c.shape == (8, 1, 28, 28)
    np.testing.assert_array_equal(c[:, 0], a)
    # The constructor's generator is used when the call passes none.
    seeded = Augment(**augment.config(), rng=np.random.default_rng(1))
    np.testing.assert_array_equal(seeded(digits), a)


def test_range_shape_dtype_and_fill(digits, rng):
    augment = Augment(max_shift=3, max_rotation=30, scale=(0.8, 1.2), elastic_alpha=34)
    for dtype in (np.float32, np.float64):
        out = augment(digits.astype(dtype), rng)
        assert out.dtype == dtype and out.shape == digits.shape
        assert out.min() >= 0 and out.max() <= 1
        assert out is not digits and not np.shares_memory(out, digits)
    filled = warp_images(np.zeros((1, 28, 28)), shift=(0, 5), fill=-0.5)
    assert np.all(filled[0, :, :5] == -0.5) and np.all(filled[0, :, 5:] == 0)


def test_probability_leaves_some_images_untouched(digits, rng):
    out = Augment(max_rotation=20, probability=0.5)(np.repeat(digits, 4, axis=0), rng)
    same = [np.array_equal(o, d) for o, d in zip(out, np.repeat(digits, 4, axis=0),
                                                   strict=True)]
    assert 0 < sum(same) < len(same)


def test_gaussian_matrix_is_a_reflecting_blur():
    matrix = gaussian_matrix(28, 4.0)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    signal = np.random.default_rng(0).random(28)
    radius = 16
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / 4.0) ** 2)
    direct = np.convolve(np.pad(signal, radius, mode="symmetric"), kernel / kernel.sum(),
                         mode="valid")
    np.testing.assert_allclose(matrix @ signal, direct)


def test_elastic_displacement_is_smooth_and_scales_with_alpha():
    field = elastic_displacement(np.random.default_rng(3), 4, 28, 28, alpha=1.0, sigma=4.0)
    double = elastic_displacement(np.random.default_rng(3), 4, 28, 28, alpha=2.0, sigma=4.0)
    assert field.shape == (4, 2, 28, 28) and field.dtype == np.float32
    np.testing.assert_allclose(double, 2 * field, rtol=1e-5, atol=1e-7)
    noise_step = 2 / np.sqrt(6)  # std of the difference of two U(-1, 1) draws
    assert np.abs(np.diff(field, axis=-1)).mean() < 0.1 * noise_step


def test_bad_input_and_options(digits, rng):
    augment = Augment(max_shift=1)
    with pytest.raises(BarenetError, match="float32 or float64 images, got uint8"):
        augment(digits.astype(np.uint8), rng)
    with pytest.raises(BarenetError, match=r"shape \(N, H, W\) or \(N, 1, H, W\)"):
        augment(digits[:, None, None], rng)
    with pytest.raises(ValueError, match="Generator"):
        augment(digits)
    for options, message in [({"max_shift": -1}, "max_shift"), ({"scale": (1.2, 1.1)}, "scale"),
                             ({"probability": 1.5}, "probability"),
                             ({"elastic_sigma": 0}, "elastic_sigma"), ({"erase": 2}, "erase"),
                             ({"erase_area": (0.3, 0.2)}, "erase_area"),
                             ({"erase_area": (0.1, 1.5)}, "erase_area")]:
        with pytest.raises(BarenetError, match=f"augmentation: {message}"):
            Augment(**options)
    with pytest.raises(BarenetError, match="scale factors must be positive"):
        warp_images(digits, scale=0)


def test_flip_mirrors_about_half_of_the_images_exactly():
    images = np.random.default_rng(0).random((400, 28, 28)).astype(np.float32)
    out = Augment(flip=True, rng=np.random.default_rng(1))(images)
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images, strict=True)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, images, strict=True)])
    assert np.all(mirrored | kept) and 150 < mirrored.sum() < 250
    assert Augment(flip=True).enabled and not Augment(flip=False).enabled


def test_erase_blanks_one_rectangle_of_the_asked_size_in_the_chosen_images():
    images = np.random.default_rng(0).uniform(0.5, 1.0, (400, 1, 28, 28)).astype(np.float32)
    augment = Augment(erase=0.5, erase_area=(0.05, 0.2), fill=-1.0, rng=np.random.default_rng(1))
    assert augment.enabled and not augment.moves
    out = augment(images)
    assert out.shape == images.shape and out.dtype == images.dtype
    blank = out[:, 0] == -1.0
    erased = blank.any(axis=(1, 2))
    assert 150 < erased.sum() < 250  # about half of them
    np.testing.assert_array_equal(out[~erased], images[~erased])  # the rest untouched
    for mask, before, after in zip(blank[erased], images[erased], out[erased], strict=True):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
        assert mask.sum() == box  # one solid rectangle
        assert 0.03 * 784 <= box <= 0.25 * 784  # the asked area, give or take rounding
        np.testing.assert_array_equal(after[0][~mask], before[0][~mask])


def test_erase_draws_nothing_when_off_so_older_runs_repeat_exactly(digits):
    shifted = Augment(max_shift=2.0, flip=True)
    with_erase_zero = Augment(max_shift=2.0, flip=True, erase=0.0)
    np.testing.assert_array_equal(shifted(digits, np.random.default_rng(5)),
                                  with_erase_zero(digits, np.random.default_rng(5)))
    config = Augment(erase=0.3, erase_area=(0.1, 0.3)).config()
    assert config["erase"] == 0.3 and Augment(**config).erase_area == (0.1, 0.3)


def test_shift_images_moves_every_pixel_and_repeats_the_edge():
    images = np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6)
    down_right = shift_images(images, 1, 2)
    np.testing.assert_array_equal(down_right[:, 1:, 2:], images[:, :-1, :-2])  # moved
    np.testing.assert_array_equal(down_right[:, 0, 2:], images[:, 0, :-2])  # edge row repeated
    np.testing.assert_array_equal(down_right[:, 1:, 0], images[:, :-1, 0])  # edge column too
    up_left = shift_images(images[:, None], -1, -1)[:, 0]  # (N, 1, H, W) as well
    np.testing.assert_array_equal(up_left[:, :-1, :-1], images[:, 1:, 1:])
    np.testing.assert_array_equal(up_left[:, -1, :-1], images[:, -1, 1:])
    # an affine change of the pixels (standardising) commutes with it: raw or prepared alike
    np.testing.assert_allclose(shift_images(3 * images - 7, 1, 2), 3 * down_right - 7)
    assert down_right.dtype == images.dtype and not np.shares_memory(down_right, images)


def test_shift_images_refuses_wrong_shapes_and_shifts_as_large_as_the_image():
    with pytest.raises(BarenetError, match=r"shifting expects images of shape \(N, H, W\)"):
        shift_images(np.zeros((3, 784)), 1, 0)
    with pytest.raises(BarenetError, match=r"a shift of \(0, 6\) pixels leaves nothing of a 5x6"):
        shift_images(np.zeros((1, 5, 6)), 0, 6)


def test_tta_views_are_the_image_its_shifts_and_their_mirror_images(digits):
    assert len(tta_views(digits)) == 1 and tta_views(digits)[0] is digits
    plain, *shifts = tta_views(digits, shift=True)
    expected = [shift_images(digits, dy, dx) for dy, dx in ONE_PIXEL_SHIFTS]
    for got, want in zip(shifts, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    both = tta_views(digits, mirror=True, shift=True)
    assert len(both) == 10
    for got, want in zip(both[5:], [digits, *expected], strict=True):
        np.testing.assert_array_equal(got, want[..., ::-1])
    assert tta_description(shift=True) == "its four one-pixel shifts"
    assert tta_description(mirror=True) == "its mirror image" and tta_description() == ""
