"""Data augmentation for image batches: random affine warps and elastic distortion.

Every image of a batch gets its own random rotation, scaling and shift, and
optionally an elastic distortion (Simard, Steinkraus & Platt, 2003: a random
displacement field, smoothed by a Gaussian and scaled by ``alpha``). All of it
is one sampling grid per image, then one bilinear interpolation for the whole
batch with flat NumPy indexing: no Python loop over images, no SciPy.

Coordinates: rows ``y`` grow downwards, columns ``x`` to the right, and the
centre of rotation and scaling is the image centre ``((H-1)/2, (W-1)/2)``. A
positive angle turns the image counter-clockwise as displayed (as ``np.rot90``
does), a scale above 1 enlarges it, a positive shift ``(dy, dx)`` moves it down
and to the right. Pixels sampled from outside the image take the value ``fill``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..errors import BarenetError
from ..model.views import check_images, mirror_images
from ..nn.options import Spec, check_options, flag, number, numbers


@functools.lru_cache(maxsize=16)
def gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """The (size, size) matrix of a 1-D Gaussian blur with mirrored borders.

    ``field @ gaussian_matrix(W, s).T`` blurs the last axis of ``field``, and
    ``gaussian_matrix(H, s) @ field`` the second-to-last one: a separable 2-D
    Gaussian blur as two small matrix products. Borders reflect like SciPy's
    ``mode="reflect"`` (``d c b a | a b c d | d c b a``), the kernel is cut at
    four sigma and each row sums to 1.

    Parameters
    ----------
    size : int
        Length of the blurred axis.
    sigma : float
        Standard deviation of the Gaussian, in pixels (> 0).

    Returns
    -------
    numpy.ndarray
        float64, shape (size, size), read-only.
    """
    radius = max(1, int(math.ceil(4.0 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    rows = np.repeat(np.arange(size), len(offsets))
    cols = (rows + np.tile(offsets, size)) % (2 * size)
    cols = np.where(cols >= size, 2 * size - 1 - cols, cols)
    matrix = np.zeros((size, size))
    np.add.at(matrix, (rows, cols), np.tile(kernel, size))
    matrix.setflags(write=False)
    return matrix


class _Scratch:
    """Work arrays for warping batches, reused from call to call.

    Allocating fresh (N, H, W) temporaries for every batch costs more than the
    arithmetic (the memory is handed back to the system and faulted in again
    each time), so they live here, grown to the largest batch seen; smaller
    batches use leading slices, which stay contiguous.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, n: int, height: int, width: int, dtype: np.dtype,
            elastic: bool = False) -> dict[str, np.ndarray]:
        """Views of shape (n, ...) of every work array, allocating on first need."""
        key = (height, width, dtype)
        capacity = self._arrays["index"].shape[0] if self._arrays else 0
        if key != self._key or n > capacity or (elastic and "noise" not in self._arrays):
            capacity = max(n, capacity if key == self._key else 0)
            grid = (capacity, height, width)
            arrays = {name: np.empty(grid, dtype) for name in
                      ("src_y", "src_x", "y0", "x0", "v00", "v01", "v10", "v11")}
            arrays["index"] = np.empty(grid, np.intp)
            arrays["index2"] = np.empty(grid, np.intp)
            arrays["padded"] = np.empty((capacity, height + 2, width + 2), dtype)
            arrays["offset"] = (np.arange(capacity) * (height + 2) * (width + 2)
                                + width + 3).reshape(capacity, 1, 1)
            if elastic or "noise" in self._arrays:
                for name in ("noise", "smooth", "displacement"):
                    arrays[name] = np.empty((capacity, 2, height, width), dtype)
            self._key, self._arrays = key, arrays
        return {name: array[:n] for name, array in self._arrays.items()}


#: ``[augment]`` options (``rng`` and ``fill`` are set by the trainer).
AUGMENT = Spec({
    "max_shift": number(0.0, high=14.0), "max_rotation": number(0.0, high=180.0),
    # below a quarter a digit is a few pixels, above 4 it leaves the picture: nothing to learn
    "scale": numbers((1.0, 1.0), 0.25, 4.0),
    "elastic_alpha": number(0.0, high=1000.0), "elastic_sigma": number(4.0, high=100.0,
                                                                       open_low=True),
    "flip": flag(False), "erase": number(0.0, high=1.0),
    "erase_area": numbers((0.02, 0.2), 0.0, 1.0, open_low=True),
    "probability": number(1.0, high=1.0),
})


def _displacement(scratch: _Scratch, rng: np.random.Generator, n: int, height: int,
                  width: int, alpha: float, sigma: float, dtype: np.dtype) -> np.ndarray:
    work = scratch.get(n, height, width, dtype, elastic=True)
    noise = work["noise"]
    rng.random(out=noise, dtype=dtype)
    noise *= 2
    noise -= 1
    blur_h = gaussian_matrix(height, float(sigma)).astype(dtype)
    blur_w = gaussian_matrix(width, float(sigma)).astype(dtype) * dtype.type(alpha)
    # Many small products rather than one big one: BLAS keeps these on one
    # thread, which is steadier on a busy machine.
    np.matmul(noise, blur_w.T, out=work["smooth"])
    return np.matmul(blur_h, work["smooth"], out=work["displacement"])


def elastic_displacement(rng: np.random.Generator, n: int, height: int, width: int,
                         alpha: float, sigma: float,
                         dtype: DTypeLike = np.float32) -> np.ndarray:
    """Random smooth displacement fields, one pair per image (Simard et al. 2003).

    Each component starts as uniform noise in [-1, 1] per pixel, is blurred by
    a Gaussian of standard deviation ``sigma`` (two small matrix products, see
    :func:`gaussian_matrix`) and multiplied by ``alpha``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the noise.
    n, height, width : int
        Number and size of the fields.
    alpha : float
        Strength, in pixels before blurring (Simard et al. use 34 with sigma 4 on MNIST).
    sigma : float
        Smoothness, in pixels.
    dtype : dtype-like
        float32 or float64.

    Returns
    -------
    numpy.ndarray
        Shape (n, 2, height, width): per image, the displacement along y, then along x,
        in pixels.
    """
    return _displacement(_Scratch(), rng, n, height, width, alpha, sigma, np.dtype(dtype))


def _warp(scratch: _Scratch, images: np.ndarray, angle: ArrayLike, scale: ArrayLike,
          shift: ArrayLike, displacement: np.ndarray | None, fill: float) -> np.ndarray:
    batch = images.reshape(len(images), images.shape[-2], images.shape[-1])
    n, height, width = batch.shape
    dtype = batch.dtype
    angle = np.deg2rad(np.broadcast_to(np.asarray(angle, dtype=np.float64), (n,)))
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (n,))
    shift = np.broadcast_to(np.asarray(shift, dtype=np.float64), (n, 2))
    if np.any(scale <= 0):
        raise BarenetError("augmentation: scale factors must be positive")
    work = scratch.get(n, height, width, dtype)
    src_y, src_x = work["src_y"], work["src_x"]
    # Inverse map, output -> source, in coordinates centred on the image:
    # src_x = a*x - b*y + cx - a*tx + b*ty,  src_y = b*x + a*y + cy - b*tx - a*ty.
    cy, cx = (height - 1) / 2, (width - 1) / 2
    a, b = np.cos(angle)[:, None] / scale[:, None], np.sin(angle)[:, None] / scale[:, None]
    ty, tx = shift[:, :1], shift[:, 1:]
    ys = np.arange(height) - cy
    xs = np.arange(width) - cx
    np.add((a * xs).astype(dtype)[:, None, :], (-b * ys + (cx - a * tx + b * ty))
           .astype(dtype)[:, :, None], out=src_x)
    np.add((b * xs).astype(dtype)[:, None, :], (a * ys + (cy - b * tx - a * ty))
           .astype(dtype)[:, :, None], out=src_y)
    if displacement is not None:
        src_y += displacement[:, 0]
        src_x += displacement[:, 1]
    out = np.empty(images.shape, dtype)
    _bilinear(work, batch, fill, out.reshape(batch.shape))
    return out


def _bilinear(work: dict[str, np.ndarray], batch: np.ndarray, fill: float,
              out: np.ndarray) -> None:
    """Sample ``batch`` (N, H, W) at ``work["src_y"], work["src_x"]`` into ``out`` (N, H, W).

    The batch is copied into a frame one pixel wide of ``fill``, and the
    coordinates are clipped into that frame, so each of the four neighbours of
    a sample point is a valid flat index; points outside read ``fill``.
    """
    n, height, width = batch.shape
    row = width + 2
    padded = work["padded"]
    padded[:, 0, :] = fill
    padded[:, -1, :] = fill
    padded[:, :, 0] = fill
    padded[:, :, -1] = fill
    padded[:, 1:-1, 1:-1] = batch
    flat = padded.reshape(-1)
    src_y, src_x, y0, x0 = work["src_y"], work["src_x"], work["y0"], work["x0"]
    index, index2 = work["index"], work["index2"]
    for src, low, size in ((src_x, x0, width), (src_y, y0, height)):
        np.clip(src, -1, size, out=src)
        np.floor(src, out=low)
        np.minimum(low, size - 1, out=low)
        src -= low  # now the fractional part, in [0, 1]
    np.copyto(index, y0, casting="unsafe")
    index *= row
    np.copyto(index2, x0, casting="unsafe")
    index += index2
    index += work["offset"]
    corners = work["v00"], work["v01"], work["v10"], work["v11"]
    for corner, step in zip(corners, (0, 1, row, row + 1), strict=True):
        np.add(index, step, out=index2)
        flat.take(index2, out=corner, mode="clip")  # "clip" avoids a buffered copy
    top, top_right, bottom, bottom_right = corners
    top_right -= top
    top_right *= src_x
    top += top_right
    bottom_right -= bottom
    bottom_right *= src_x
    bottom += bottom_right
    bottom -= top
    bottom *= src_y
    np.add(top, bottom, out=out)


def warp_images(images: np.ndarray, *, angle: ArrayLike = 0.0, scale: ArrayLike = 1.0,
                shift: ArrayLike = (0.0, 0.0), displacement: np.ndarray | None = None,
                fill: float = 0.0) -> np.ndarray:
    """Rotate, scale, shift and displace each image, with bilinear interpolation.

    Parameters
    ----------
    images : numpy.ndarray
        Float images, shape (N, H, W) or (N, 1, H, W).
    angle : float or array_like
        Counter-clockwise rotation in degrees, scalar or shape (N,).
    scale : float or array_like
        Zoom factor (> 0), scalar or shape (N,).
    shift : array_like
        ``(dy, dx)`` in pixels, shape (2,) or (N, 2).
    displacement : numpy.ndarray or None
        Extra per-pixel sampling offsets, shape (N, 2, H, W) (see
        :func:`elastic_displacement`): output pixel ``(i, j)`` of image ``n`` is read
        from where the affine map sends it plus ``displacement[n, :, i, j]`` (dy, dx).
    fill : float
        Value of pixels sampled from outside the image.

    Returns
    -------
    numpy.ndarray
        New array with the shape and dtype of ``images``.
    """
    images = np.asarray(images)
    check_images(images)
    return _warp(_Scratch(), images, angle, scale, shift, displacement, fill)


class Augment:
    """Random per-image augmentation of a batch, configured by keyword options.

    With every option at its default the augmentation is off: calling it
    returns the batch unchanged. Use it on training batches only; for
    evaluation, don't call it (or build ``Augment()`` with no options).

    Parameters
    ----------
    max_shift : float
        Largest shift in pixels; dy and dx are each uniform in [-max_shift, max_shift].
    max_rotation : float
        Largest rotation in degrees; the angle is uniform in [-max_rotation, max_rotation].
    scale : tuple of float
        ``(low, high)``: the zoom factor is uniform in this range.
    elastic_alpha : float
        Strength of the elastic distortion (0 = none; Simard et al. use 34).
    elastic_sigma : float
        Smoothness of the elastic distortion in pixels (Simard et al. use 4).
    flip : bool
        Mirror each image left to right with probability 1/2 (after the other
        changes): right for clothes (Fashion-MNIST), wrong for digits.
    erase : float
        Chance that an image (after the other changes) gets one random rectangle
        set to the background: random erasing (Zhong et al., 2017), which makes a
        network use every part of an object. 0 = never.
    erase_area : tuple of float
        ``(low, high)``: the rectangle's area as a fraction of the image, uniform
        in this range; its aspect ratio is log-uniform in [0.3, 3.3]. A side
        longer than the image is cut to it (never with the defaults on 28x28).
    probability : float
        Chance that a given image is augmented at all; the rest pass unchanged.
    fill : float
        Value of pixels that come from outside the image: the background, 0
        for images scaled to [0, 1] (``PreparedData.background`` if standardised).
    rng : numpy.random.Generator or None
        Default source of the random choices, used when a call passes none;
        a trainer that checkpoints saves and restores ``augment.rng``'s state.

    Examples
    --------
    >>> augment = Augment(max_shift=2, max_rotation=10, scale=(0.9, 1.1),
    ...                   rng=np.random.default_rng(0))
    >>> x_aug = augment(np.zeros((128, 28, 28), np.float32))
    >>> x_aug.shape
    (128, 28, 28)
    """

    def __init__(self, *, max_shift: float = 0.0, max_rotation: float = 0.0,
                 scale: tuple[float, float] = (1.0, 1.0), elastic_alpha: float = 0.0,
                 elastic_sigma: float = 4.0, flip: bool = False, erase: float = 0.0,
                 erase_area: tuple[float, float] = (0.02, 0.2), probability: float = 1.0,
                 fill: float = 0.0, rng: np.random.Generator | None = None) -> None:
        check_options("augmentation", AUGMENT, {
     "max_shift": max_shift, "max_rotation": max_rotation, "scale": list(scale),
     "elastic_alpha": elastic_alpha, "elastic_sigma": elastic_sigma, "flip": flip,
     "erase": erase, "erase_area": list(erase_area), "probability": probability})
        low, high = (float(s) for s in scale)
        area_low, area_high = (float(a) for a in erase_area)
        self.max_shift = float(max_shift)
        self.max_rotation = float(max_rotation)
        self.scale = (low, high)
        self.elastic_alpha = float(elastic_alpha)
        self.elastic_sigma = float(elastic_sigma)
        self.flip = bool(flip)
        self.erase = float(erase)
        self.erase_area = (area_low, area_high)
        self.probability = float(probability)
        self.fill = float(fill)
        self.rng = rng
        self._scratch = _Scratch()

    @property
    def enabled(self) -> bool:
        """Whether calling it can change an image."""
        return (self.moves or self.flip or self.erase > 0) and self.probability > 0

    @property
    def moves(self) -> bool:
        """Whether the geometry changes: a shift, rotation, zoom or elastic distortion."""
        return (self.max_shift > 0 or self.max_rotation > 0 or self.scale != (1.0, 1.0)
                or self.elastic_alpha > 0)

    def config(self) -> dict:
        """The constructor arguments, for run records: ``Augment(**config())`` rebuilds it."""
        return {"max_shift": self.max_shift, "max_rotation": self.max_rotation,
                "scale": self.scale, "elastic_alpha": self.elastic_alpha,
                "elastic_sigma": self.elastic_sigma, "flip": self.flip,
                "erase": self.erase, "erase_area": self.erase_area,
                "probability": self.probability,
                "fill": self.fill}

    def __repr__(self) -> str:
        return "Augment(" + ", ".join(f"{k}={v!r}" for k, v in self.config().items()) + ")"

    def __call__(self, images: np.ndarray,
                 rng: np.random.Generator | None = None) -> np.ndarray:
        """Augment one batch.

        Parameters
        ----------
        images : numpy.ndarray
            Float images, shape (N, H, W) or (N, 1, H, W).
        rng : numpy.random.Generator or None
            Source of all random choices (the same generator state gives the same
            output); None uses the one given to the constructor.

        Returns
        -------
        numpy.ndarray
            A new array, same shape and dtype (``images`` itself when disabled).
            The instance keeps work arrays between calls: share it between threads
            only with a lock.
        """
        if not self.enabled:
            return images
        rng = rng if rng is not None else self.rng
        if rng is None:
            raise ValueError("Augment needs a numpy.random.Generator: pass rng= to the "
                             "constructor or to the call")
        images = np.asarray(images)
        check_images(images)
        n, height, width = len(images), images.shape[-2], images.shape[-1]
        chosen = rng.random(n) < self.probability
        angle = rng.uniform(-self.max_rotation, self.max_rotation, n)
        scale = rng.uniform(self.scale[0], self.scale[1], n)
        shift = rng.uniform(-self.max_shift, self.max_shift, (n, 2))
        if chosen.all():
            picked = images
        else:
            picked = images[chosen]
            angle, scale, shift = angle[chosen], scale[chosen], shift[chosen]
        displacement = None
        if self.elastic_alpha > 0:
            displacement = _displacement(self._scratch, rng, len(picked), height, width,
                                         self.elastic_alpha, self.elastic_sigma, picked.dtype)
        if self.moves:
            warped = _warp(self._scratch, picked, angle, scale, shift, displacement, self.fill)
        else:  # flipping or erasing only: the warp would copy every pixel unchanged
            warped = picked if picked is not images else images.copy()
        if picked is images:
            out = warped
        else:
            out = images.copy()
            out[chosen] = warped
        if self.flip:
            mirror = chosen & (rng.random(n) < 0.5)
            out[mirror] = mirror_images(out[mirror])
        if self.erase > 0:
            erased = chosen & (rng.random(n) < self.erase)
            out.reshape(n, height, width)[self._rectangles(rng, erased, height, width)] = self.fill
        return out

    def _rectangles(self, rng: np.random.Generator, which: np.ndarray, height: int,
                    width: int) -> np.ndarray:
        """A mask (N, H, W): one random rectangle in each image where ``which`` is True."""
        n = len(which)
        area = rng.uniform(*self.erase_area, n) * height * width
        aspect = np.exp(rng.uniform(math.log(0.3), math.log(3.3), n))  # height / width
        h = np.clip(np.rint(np.sqrt(area * aspect)), 1, height).astype(int)
        w = np.clip(np.rint(np.sqrt(area / aspect)), 1, width).astype(int)
        top = (rng.random(n) * (height - h + 1)).astype(int)
        left = (rng.random(n) * (width - w + 1)).astype(int)
        rows = np.arange(height)[None, :, None] - top[:, None, None]
        cols = np.arange(width)[None, None, :] - left[:, None, None]
        inside = ((rows >= 0) & (rows < h[:, None, None])
                  & (cols >= 0) & (cols < w[:, None, None]))
        return inside & which[:, None, None]
