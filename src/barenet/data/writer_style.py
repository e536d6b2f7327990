"""Replayed digits written at the user's slant: a few samples teach a whole hand.

A writer's hand differs from MNIST's most of all in its slant, and the slant is
the same in every digit they write. Fine-tuning on a few samples of each digit
teaches it slowly: the network sees the slant in only those few shapes. So
:func:`in_writers_slant` measures the slant of the user's samples and, when it is
clearly not MNIST's, writes some replayed training digits at that slant too:
thousands of labelled digits in the user's slant, for the price of a shear.

The slant of a picture is its shear ``mu11 / mu02``, from its second moments
(the measure "deskewing" uses): how far the ink moves right, per pixel down,
on average. Leaning right (the top to the right) is negative, since rows grow
downwards. Each sheared digit then goes through
:func:`barenet.vision.glyph.to_glyph`, the normalisation the user's samples had.
"""

from __future__ import annotations

import numpy as np

from ..vision.glyph import to_glyph
from ..vision.ink import stroke_width
from .augment import warp_images

#: The samples' median slant must differ from the replay's by this much (MNIST's own
#: digits spread from -0.49 to 0.22 between their 10th and 90th percentiles).
SLANT_GAP = 0.2
#: How many slanted copies to add, as a fraction of the replayed digits. (Measured at
#: 10 samples per digit, a fraction 0.25 kept the `mlp`'s MNIST accuracy within 0.22
#: points; 0.5 cost it 0.34, and replacing half of the replay instead cost 0.49.)
STYLED_SHARE = 0.25
#: A pixel at least this bright belongs to a sheared digit's box.
INK_LEVEL = 0.1


def slant(images: np.ndarray) -> np.ndarray:
    """The slant of each picture: its ink's shear ``mu11 / mu02``.

    Parameters
    ----------
    images : ndarray (N, H, W)
        Bright ink on black.

    Returns
    -------
    ndarray float64 (N,)
        Columns the ink moves per row down: 0 upright, negative leaning right.
        A blank picture has slant 0.
    """
    images = np.asarray(images, np.float64)
    images = images.reshape(len(images), images.shape[-2], images.shape[-1])
    y, x = np.mgrid[:images.shape[1], :images.shape[2]]
    mass = np.maximum(images.sum(axis=(1, 2)), 1e-12)
    dy = y[None] - ((images * y).sum(axis=(1, 2)) / mass)[:, None, None]
    dx = x[None] - ((images * x).sum(axis=(1, 2)) / mass)[:, None, None]
    mu02 = (images * dy * dy).sum(axis=(1, 2))
    return (images * dx * dy).sum(axis=(1, 2)) / np.maximum(mu02, 1e-12)


def in_writers_slant(replay: np.ndarray, samples: np.ndarray,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Some of the ``replay`` digits sheared to the median slant of the user's ``samples``.

    Parameters
    ----------
    replay : ndarray (N, 28, 28)
        Training digits in [0, 1], bright ink on black.
    samples : ndarray (M, 28, 28)
        The user's samples, as ``barenet predict`` normalises them.
    rng : numpy.random.Generator
        Which digits are sheared.

    Returns
    -------
    index : ndarray of int (K,)
        Which replayed digits were sheared (their labels are the copies' labels).
    copies : ndarray float32 (K, 28, 28)
        Each at the samples' slant, normalised by ``to_glyph``. ``K`` is
        ``STYLED_SHARE * N``, or 0 when the samples slant like the replay (within
        :data:`SLANT_GAP`).
    """
    replay = np.asarray(replay, np.float32)
    target = float(np.median(slant(samples))) if len(samples) else 0.0
    own = slant(replay)
    if len(samples) == 0 or abs(target - float(np.median(own))) < SLANT_GAP:
        return np.zeros(0, np.int64), np.zeros((0, *replay.shape[1:]), np.float32)
    index = np.sort(rng.choice(len(replay), int(STYLED_SHARE * len(replay)), replace=False))
    margin = replay.shape[-1] // 2  # room for the sheared ink
    framed = np.pad(replay[index], ((0, 0), (margin, margin), (margin, margin)))
    height = framed.shape[1]
    rows = np.arange(height, dtype=np.float32) - np.float32((height - 1) / 2)
    # output pixel (y, x) reads the digit at x - shear * y: its slant grows by ``shear``
    shear = (target - own[index]).astype(np.float32)
    displacement = np.zeros((len(index), 2, height, framed.shape[2]), np.float32)
    displacement[:, 1] = -shear[:, None, None] * rows[None, :, None]
    sheared = np.clip(warp_images(framed, displacement=displacement), 0, 1)
    copies = np.zeros((len(index), *replay.shape[1:]), np.float32)
    for k, picture in enumerate(sheared):
        rows_in = np.flatnonzero((picture >= INK_LEVEL).any(axis=1))
        cols_in = np.flatnonzero((picture >= INK_LEVEL).any(axis=0))
        if rows_in.size == 0:
            copies[k] = replay[index[k]]  # too faint to shear: the digit as it was
            continue
        picture = picture[rows_in[0]:rows_in[-1] + 1, cols_in[0]:cols_in[-1] + 1]
        copies[k] = to_glyph(picture, stroke_width(picture >= 0.5))
    return index, copies
