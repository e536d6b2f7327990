"""Test-time views: a model's outputs averaged over each image and copies of it moved a
pixel (and, for models trained on mirrored images, mirrored).

A model trained on shifted digits is unsure, at the margin, where a stroke falls; its
average over the four one-pixel shifts is steadier. These functions serve prediction
(:meth:`~barenet.model.classifier.Sequential.predict_logits`) and the trainer's
evaluation alike, and :mod:`barenet.data.augment` mirrors training images with them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import BarenetError


def check_images(images: np.ndarray) -> None:
    if images.dtype not in (np.float32, np.float64):
        raise BarenetError(f"augmentation expects float32 or float64 images, got "
                           f"{images.dtype}; scale the pixels to floats first")
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[1] == 1)):
        raise BarenetError(f"augmentation expects images of shape (N, H, W) or (N, 1, H, W), "
                           f"got {images.shape}")


def mirror_images(images: np.ndarray) -> np.ndarray:
    """Each image mirrored left to right: a view of ``images``.

    Parameters
    ----------
    images : ndarray, shape (N, H, W) or (N, 1, H, W)
        Any dtype (raw pixels or prepared floats).

    Returns
    -------
    ndarray, same shape
    """
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[1] == 1)):
        raise BarenetError(f"mirroring expects images of shape (N, H, W) or (N, 1, H, W), "
                           f"got {images.shape}")
    return images[..., ::-1]


#: The one-pixel shifts (dy, dx) that :func:`tta_views` adds: up, down, left, right.
ONE_PIXEL_SHIFTS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def shift_images(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Each image moved ``dy`` pixels down and ``dx`` to the right: a new array.

    The rows and columns that come in repeat the image's edge (NumPy's ``"edge"``
    padding), so the result is the same whether ``images`` are raw pixels or
    prepared (standardised) ones: on digits and clothes the edge is background.

    Parameters
    ----------
    images : ndarray, shape (N, H, W) or (N, 1, H, W)
        Any dtype.
    dy, dx : int
        Shifts in pixels, each smaller than the image in magnitude.

    Returns
    -------
    ndarray, same shape and dtype
    """
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[1] == 1)):
        raise BarenetError(f"shifting expects images of shape (N, H, W) or (N, 1, H, W), "
                           f"got {images.shape}")
    height, width = images.shape[-2:]
    if abs(dy) >= height or abs(dx) >= width:
        raise BarenetError(f"a shift of ({dy}, {dx}) pixels leaves nothing of a "
                           f"{height}x{width} image")
    py, px = abs(dy), abs(dx)
    padded = np.pad(images, [(0, 0)] * (images.ndim - 2) + [(py, py), (px, px)], mode="edge")
    return padded[..., py - dy:py - dy + height, px - dx:px - dx + width].copy()


def tta_views(images: np.ndarray, mirror: bool = False, shift: bool = False,
               ) -> list[np.ndarray]:
    """The images and the views of them that test-time augmentation averages over.

    ``[images]``, then with ``shift`` the four :data:`ONE_PIXEL_SHIFTS` of them
    (for models trained with ``augment.max_shift``: digits and clothes), then with
    ``mirror`` the mirror image of each of those (for models trained with
    ``augment.flip``: clothes, not digits).

    Parameters
    ----------
    images : ndarray, shape (N, H, W) or (N, 1, H, W)
    mirror, shift : bool

    Returns
    -------
    list of ndarray, each of the shape of ``images``: 1, 2, 5 or 10 of them
    """
    views = [images]
    if shift:
        views += [shift_images(images, dy, dx) for dy, dx in ONE_PIXEL_SHIFTS]
    if mirror:
        views += [mirror_images(view) for view in views]
    return views


def tta_mean(outputs_of: Callable[[np.ndarray], np.ndarray], images: np.ndarray,
             mirror: bool = False, shift: bool = False) -> np.ndarray:
    """``outputs_of(view)`` averaged over the :func:`tta_views` of ``images``, summed in
    the order of the views (``outputs_of(images)`` itself without ``mirror`` or ``shift``).
    """
    views = tta_views(images, mirror, shift)
    total = outputs_of(views[0])
    for view in views[1:]:
        total += outputs_of(view)
    if len(views) > 1:
        total /= len(views)
    return total


def tta_description(mirror: bool = False, shift: bool = False) -> str:
    """What :func:`tta_views` adds to each image, in words ("" for nothing)."""
    if shift and mirror:
        return "its four one-pixel shifts and the mirror images of all five"
    if shift:
        return "its four one-pixel shifts"
    return "its mirror image" if mirror else ""
