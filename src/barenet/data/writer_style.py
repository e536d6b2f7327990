"""Replayed digits written at the user's slant: a few samples teach a whole hand.

One way a hand differs from MNIST's is its slant, and the slant is the same in
every digit its writer writes. Fine-tuning on a few samples of each digit
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
from .non_digits import INK_LEVEL, tight

#: The samples' median slant must differ from the replay's by this much (MNIST's own
#: digits spread from -0.49 to 0.22 between their 10th and 90th percentiles).
SLANT_GAP = 0.2
#: How many slanted copies to add, as a fraction of the replayed digits. (Measured with
#: bench_finetune.py at 10 samples per digit: the `cnn`'s writer error fell to 0.42 of its
#: value with 0.25, 0.38 with 0.5; before the `mlp` was left out, 0.25 cost it 0.22 points
#: of MNIST accuracy and 0.5 cost 0.34.)
STYLED_SHARE = 0.25
#: Digits sheared at a time: 1,500 at once peaked at 321 MB of temporaries.
CHUNK = 256


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
    images = np.asarray(images)
    images = images.reshape(len(images), -1, images.shape[-1])
    y, x = np.mgrid[:images.shape[1], :images.shape[2]].astype(np.float64)
    basis = np.stack([np.ones_like(x), x, y, x * y, y * y], axis=-1).reshape(-1, 5)
    sums = np.concatenate([images[k:k + CHUNK].reshape(-1, basis.shape[0]).astype(np.float64)
                           @ basis for k in range(0, len(images), CHUNK)]).reshape(-1, 5)
    mass = np.maximum(sums[:, 0], 1e-12)
    mx, my = sums[:, 1] / mass, sums[:, 2] / mass
    mu11 = sums[:, 3] / mass - mx * my  # central moments from the raw ones
    mu02 = sums[:, 4] / mass - my * my
    return np.where(mu02 > 1e-12, mu11 / np.maximum(mu02, 1e-12), 0.0)


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
    none = np.zeros(0, np.int64), np.zeros((0, *replay.shape[1:]), np.float32)
    if len(samples) == 0:
        return none
    target = float(np.median(slant(samples)))
    own = slant(replay)
    if abs(target - float(np.median(own))) < SLANT_GAP:
        return none
    index = np.sort(rng.choice(len(replay), int(STYLED_SHARE * len(replay)), replace=False))
    shear = (target - own[index]).astype(np.float32)
    copies = np.zeros((len(index), *replay.shape[1:]), np.float32)
    for start in range(0, len(index), CHUNK):
        part = slice(start, start + CHUNK)
        copies[part] = _sheared(replay[index[part]], shear[part])
    return index, copies


def _sheared(digits: np.ndarray, shear: np.ndarray) -> np.ndarray:
    """Each of ``digits`` (n, 28, 28) with its slant grown by ``shear`` (n,), normalised by
    ``to_glyph``; a digit too faint to find stays as it was."""
    margin = digits.shape[-1] // 2  # room for the sheared ink
    framed = np.pad(digits, ((0, 0), (margin, margin), (margin, margin)))
    height = framed.shape[1]
    rows = np.arange(height, dtype=np.float32) - np.float32((height - 1) / 2)
    # output pixel (y, x) reads the digit at x - shear * y: its slant grows by ``shear``
    displacement = np.zeros((len(digits), 2, height, framed.shape[2]), np.float32)
    displacement[:, 1] = -shear[:, None, None] * rows[None, :, None]
    out = np.array(digits, np.float32)
    for k, picture in enumerate(np.clip(warp_images(framed, displacement=displacement), 0, 1)):
        picture = tight(picture)
        if float(picture.max(initial=0.0)) >= INK_LEVEL:
            out[k] = to_glyph(picture, stroke_width(picture >= 0.5))
    return out
