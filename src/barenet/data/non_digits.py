"""Pictures that are not digits, made from digits: the training half of "not sure".

A network trained on digits alone gives every picture to some digit, often
with high confidence: a letter, a smudge, two digits squeezed into one box.
*Outlier exposure* (Hendrycks, Mazeika & Dietterich, 2019) adds pictures of
no class to training, with the uniform distribution as their target, so that
the network learns to spread its probability over the classes on what is not
a digit, and its confidence becomes a usable "not sure" signal.

The pictures are made from the training digits themselves, so no other data
set is needed and the strokes look like the digits' own. Each kind is a
transformation that turns a digit into something that is no digit:

- ``turned``: a digit turned a quarter (never a 0, which stays a 0);
- ``mirrored``: a digit mirrored left-right (3 4 6 7 9) or upside down
  (4 6 7 9): the classes whose mirror image is no digit;
- ``pair``: two digits side by side, touching or overlapping (the box of a
  row that was not split);
- ``overlay``: two different digits drawn over one another, offset;
- ``jumble``: three or four patches of different digits' strokes, scattered.

(Blots of ink, digits thickened until no stroke is left, were tried and dropped: the
model learnt that thick strokes are no digit, and read blurred or marker digits as
"not sure".)

Each picture then goes through :func:`barenet.vision.glyph.to_glyph`, the
very normalisation ``barenet predict`` applies to the ink it finds (cropped,
scaled to 20 pixels, centred by mass), so the network meets these pictures in
training as it would meet such ink in a photo.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..io.progress import progress_bar
from ..model.scaling import Standardization
from ..vision.glyph import to_glyph
from ..vision.ink import stroke_width

#: The kinds of non-digit pictures, in the order :func:`make_non_digits` cycles through.
KINDS = ("turned", "mirrored", "pair", "overlay", "jumble")
#: Classes whose left-right mirror image is no digit (0 1 8 are symmetric enough; a
#: mirrored 2 or 5 is an S, which a person may well read as a 5 or a 2).
MIRROR_LR = (3, 4, 6, 7, 9)
#: Classes whose upside-down mirror image is no digit (3 and 8 stay; 2 and 5 come close
#: to a 5 and a 2).
MIRROR_UD = (4, 6, 7, 9)
#: A pixel at least this bright belongs to the picture's box.
INK_LEVEL = 0.1


def pool_size(fraction: float, digits: int) -> int:
    """How many non-digit pictures are made for ``digits`` training digits (none for 0)."""
    return max(1, round(fraction * digits)) if fraction and digits else 0


def per_batch(batch_size: int, fraction: float) -> int:
    """How many non-digit pictures join a batch of ``batch_size`` digits."""
    return round(fraction * batch_size)


def _turned(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    (i,) = _pick(labels, rng, lambda y: y != 0)
    return np.rot90(digits[i], int(rng.choice([1, 3])))


def _mirrored(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.6:
        (i,) = _pick(labels, rng, lambda y: np.isin(y, MIRROR_LR))
        return digits[i][:, ::-1]
    (i,) = _pick(labels, rng, lambda y: np.isin(y, MIRROR_UD))
    return digits[i][::-1, :]


def _pair(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    a, b = (tight(digits[i]) for i in _pick(labels, rng, count=2))
    gap = int(rng.integers(-4, 3))  # overlapping by up to 4 pixels, or up to 2 apart
    height = max(a.shape[0], b.shape[0])
    width = a.shape[1] + max(gap, 0) + b.shape[1]
    canvas = np.zeros((height, width + 1), np.float32)
    top_a, top_b = (int(rng.integers(0, height - d.shape[0] + 1)) for d in (a, b))
    canvas[top_a:top_a + a.shape[0], :a.shape[1]] = a
    left = max(a.shape[1] + gap, 1)
    region = canvas[top_b:top_b + b.shape[0], left:left + b.shape[1]]
    np.maximum(region, b[:, :region.shape[1]], out=region)
    return canvas


def _overlay(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    i, j = _pick(labels, rng, count=2, different=True)
    dy, dx = rng.integers(3, 8, 2) * rng.choice([-1, 1], 2)
    moved = ndimage.shift(digits[j], (int(dy), int(dx)), order=0)
    return np.maximum(digits[i], moved)


def _jumble(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    canvas = np.zeros((28, 28), np.float32)
    for i in _pick(labels, rng, count=int(rng.integers(3, 5))):
        top, left = rng.integers(4, 14, 2)
        patch = digits[i][top:top + 10, left:left + 10]
        y, x = rng.integers(0, 19, 2)
        np.maximum(canvas[y:y + 10, x:x + 10], patch, out=canvas[y:y + 10, x:x + 10])
    return canvas


_MAKERS = {"turned": _turned, "mirrored": _mirrored, "pair": _pair, "overlay": _overlay,
           "jumble": _jumble}


def _pick(labels: np.ndarray, rng: np.random.Generator, allowed=None, count: int = 1,
          different: bool = False) -> np.ndarray:
    """Indices of ``count`` random digits whose labels are ``allowed`` (a predicate)."""
    for _ in range(100):
        index = rng.integers(0, len(labels), count)
        ok = allowed is None or bool(np.all(allowed(labels[index])))
        if ok and (not different or len(set(labels[index].tolist())) == count):
            return index
    return index  # a data set without such digits: any will do


def tight(image: np.ndarray) -> np.ndarray:
    """``image`` cropped to the box of its pixels at least :data:`INK_LEVEL` bright."""
    rows = np.flatnonzero((image >= INK_LEVEL).any(axis=1))
    cols = np.flatnonzero((image >= INK_LEVEL).any(axis=0))
    if rows.size == 0:
        return image
    return image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


class _Unstandardized:
    """``digits[i]`` back in [0, 1]: one picked digit at a time, not a copy of the set."""

    def __init__(self, digits: np.ndarray, standardization: Standardization) -> None:
        self.digits, self.std, self.mean = digits, standardization.std, standardization.mean

    def __getitem__(self, i: int) -> np.ndarray:
        return self.digits[i] * np.float32(self.std) + np.float32(self.mean)


def make_non_digits(digits: np.ndarray, labels: np.ndarray, count: int,
                    rng: np.random.Generator,
                    standardization: Standardization | None = None) -> np.ndarray:
    """``count`` pictures of no digit, made from ``digits``, normalised as predict does.

    Parameters
    ----------
    digits : ndarray (N, 28, 28)
        Digit images in [0, 1], bright ink on black (MNIST's training images), or
        standardised by ``standardization``, which is then undone on each digit used.
    labels : ndarray of int (N,)
        Their classes 0-9 (which transformations apply depends on them).
    count : int
        How many pictures to make; the kinds of :data:`KINDS` take turns.
    rng : numpy.random.Generator
        Every choice is drawn from it: the same generator state, the same pictures.

    Returns
    -------
    ndarray float32 (count, 28, 28)
        In [0, 1], each with its ink's longer side 20 pixels and its centre of mass
        in the middle, like the 28x28 ``barenet predict`` hands the network.
    """
    digits = np.asarray(digits, np.float32).reshape(len(digits), 28, 28)
    if standardization is not None:
        digits = _Unstandardized(digits, standardization)
    labels = np.asarray(labels).astype(np.int64)
    out = np.zeros((count, 28, 28), np.float32)
    with progress_bar(count, "non-digits", unit="picture") as bar:  # on a terminal only
        for n in range(count):
            bar.update()
            picture = tight(_MAKERS[KINDS[n % len(KINDS)]](digits, labels, rng))
            if float(picture.max(initial=0.0)) < INK_LEVEL:
                continue  # nothing left to draw: a blank picture (also no digit)
            picture = np.clip(picture, 0, 1).astype(np.float32)
            out[n] = to_glyph(picture, stroke_width(picture >= 0.5))
    return out
