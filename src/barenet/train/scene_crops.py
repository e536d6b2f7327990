"""What the picture reader extracts from generated pages, as training pictures.

The classifier learnt its digits from MNIST, where nothing but the digit is in the
28x28. On an everyday page the reader's crop often holds more: what is left of a form
box's edge, a ruled or grid line, an underline, a neighbouring digit. To teach the
classifier to read the digit and ignore the rest, :func:`scene_crops` makes random pages
with one MNIST training digit each (:func:`barenet.data.scenes.make_scene`), runs
:func:`barenet.vision.extract` on every picture exactly as ``barenet predict`` does, and
keeps the 28x28 the network would see with the page's label. The trainer mixes a share of
them into every batch (``scene_crops`` in the config).

Sometimes the reader crops something else: a line, a shadow, a printed label or a
neighbour instead of the digit. Such a crop holds less than :data:`MIN_HELD` of the
digit's ink; its label would be a lie, so it is trained as no digit at all, like the
generated non-digits (:data:`barenet.nn.losses.cross_entropy.NO_CLASS`, the uniform target).

With a learned ink finder (``finder``, :mod:`barenet.vision.ink_finder`; ``scene_finder`` in
the config) the crops are what ``extract(picture, finder=finder)`` takes, so that a
classifier meant to read through the finder learns from, and fits its "not sure" bar
beside, the finder's crops. Without one, the plain pipeline's, as before.

Only the training part of MNIST's training split is drawn: the last ``validation_size``
images, which calibrate the model and choose its "not sure" bar, never appear on a page.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.datasets import Dataset
from ..data.scenes import make_scene, training_digits
from ..data.split import DEFAULT_VAL_SIZE, validation_split
from ..io.progress import progress_bar
from ..nn.losses.cross_entropy import NO_CLASS
from ..vision import EmptyDrawingError, extract

if TYPE_CHECKING:
    from ..vision.ink_finder import InkFinder

#: A crop is of the digit when at least this share of the digit's ink lies inside the box
#: the reader found (half: more of the digit is in the crop than out of it).
MIN_HELD = 0.5
#: Processes that make the pages (the machines barenet is measured on have two cores).
WORKERS = 2
#: Pages one task of a worker makes: several tasks per worker, so neither idles at the end.
TASK = 200

#: The training digits, their labels, the options of the pages and the ink finder (or None)
#: inside a worker process (set once per process by :func:`_share`, so that they are not
#: sent with every task).
_SHARED: tuple[np.ndarray, np.ndarray, dict[str, Any], InkFinder | None] | None = None


@dataclass(frozen=True)
class SceneCrops:
    """The 28x28 crops the reader extracted from generated pages, with their labels.

    Attributes
    ----------
    glyphs : ndarray uint8 (n, 28, 28)
        What the network would see, 0-255 as MNIST stores its images.
    labels : ndarray int64 (n,)
        The class of the digit on each page, 0-9.
    held : ndarray float32 (n,)
        The share of the digit's ink inside the box the reader found, in [0, 1].
    scenes : int
        Pages made: ``n`` crops and ``skipped``.
    skipped : int
        Pages on which the reader found no ink (:class:`~barenet.vision.EmptyDrawingError`).
    seconds : float
        Wall-clock time taken to make the pages and extract the crops.
    """

    glyphs: np.ndarray
    labels: np.ndarray
    held: np.ndarray
    scenes: int
    skipped: int
    seconds: float

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def targets(self) -> np.ndarray:
        """Training targets (n,) int64: the label, or ``NO_CLASS`` for a crop of something
        else (less than :data:`MIN_HELD` of the digit's ink held)."""
        return np.where(self.held >= MIN_HELD, self.labels, NO_CLASS).astype(np.int64)

    @property
    def seconds_per_crop(self) -> float:
        """Wall-clock seconds per page made."""
        return self.seconds / max(self.scenes, 1)


def _crops(digits: np.ndarray, labels: np.ndarray, options: dict[str, Any],
           finder: InkFinder | None, seed: int, start: int,
           stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Pages ``start`` to ``stop - 1`` of the series ``seed`` and what the reader extracts.

    Page ``i`` is made with ``numpy.random.default_rng([seed, i])`` and ``options`` (as
    :func:`barenet.data.scenes.make_scenes` makes it), so that any split of the series
    among workers gives the same crops. ``finder``: the ink finder ``extract`` uses (None:
    the plain pipeline).

    Returns
    -------
    glyphs : ndarray uint8 (m, 28, 28)
    labels : ndarray int64 (m,)
    held : ndarray float32 (m,)
    skipped : int
        ``stop - start - m``: pages with no ink found.
    """
    glyphs, classes, held = [], [], []
    for i in range(start, stop):
        scene = make_scene(digits, labels, np.random.default_rng([seed, i]), **options)
        try:
            found = extract(scene.picture) if finder is None else \
                extract(scene.picture, finder=finder)
        except EmptyDrawingError:
            continue
        top, bottom, left, right = found.box
        mask = scene.digit_mask
        glyphs.append(np.round(found.glyph * 255).astype(np.uint8))
        classes.append(scene.label)
        held.append(float(mask[top:bottom, left:right].sum()) / max(float(mask.sum()), 1e-12))
    return (np.array(glyphs, np.uint8).reshape(-1, 28, 28), np.array(classes, np.int64),
            np.array(held, np.float32), stop - start - len(classes))


def _share(digits: np.ndarray, labels: np.ndarray, options: dict[str, Any],
           finder: InkFinder | None) -> None:
    """Keep the training digits (and the finder) in this worker process for
    :func:`_crops_in_worker`."""
    global _SHARED
    _SHARED = (digits, labels, options, finder)


def _crops_in_worker(seed: int, start: int,
                     stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """:func:`_crops` on the digits :func:`_share` left in this worker process."""
    assert _SHARED is not None
    return _crops(*_SHARED, seed, start, stop)


def scene_crops(dataset: Dataset, count: int, seed: int, *,
                validation_size: int = DEFAULT_VAL_SIZE, validation: bool = False,
                workers: int = WORKERS, finder: InkFinder | None = None,
                **options: Any) -> SceneCrops:
    """Make ``count`` random pages of training digits and extract the reader's crop of each.

    Parameters
    ----------
    dataset : Dataset
        A loaded digit data set; only its training split is drawn
        (:func:`barenet.data.scenes.training_digits`).
    count : int
        Pages to make (crops come back for those on which the reader found ink).
    seed : int
        The series: page ``i`` is made with ``numpy.random.default_rng([seed, i])``;
        the same seed gives the same crops, however many workers make them.
    validation_size : int
        The last ``validation_size`` training images are the validation split
        (:func:`barenet.data.split.validation_split`).
    validation : bool
        Draw the digits from the validation split instead of the training part (pages
        to choose settings on, never trained on).
    workers : int
        Processes making the pages; 1 makes them in this process.
    finder : InkFinder, optional
        A learned ink finder (:func:`barenet.vision.ink_finder.load_finder`): the crops are
        what ``extract(picture, finder=finder)`` takes. None: the plain pipeline's.
    **options
        ``size``, ``force`` and ``exclude`` of :func:`barenet.data.scenes.make_scene`, for
        every page (by default none: pages of every kind and size).

    Returns
    -------
    SceneCrops
    """
    started = time.perf_counter()
    x_train, y_train, x_val, y_val = validation_split(*training_digits(dataset),
                                                      validation_size)
    digits, labels = (x_val, y_val) if validation else (x_train, y_train)
    digits, labels = np.ascontiguousarray(digits), np.ascontiguousarray(labels)
    ranges = [(start, min(start + TASK, count)) for start in range(0, count, TASK)]
    parts = []
    with contextlib.ExitStack() as stack:
        results: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray, int]]
        if workers <= 1 or len(ranges) <= 1:
            results = (_crops(digits, labels, options, finder, seed, a, b)
                       for a, b in ranges)
        else:
            pool = stack.enter_context(ProcessPoolExecutor(
                workers, initializer=_share, initargs=(digits, labels, options, finder)))
            results = pool.map(_crops_in_worker, [seed] * len(ranges),
                               [a for a, _ in ranges], [b for _, b in ranges])
        bar = stack.enter_context(progress_bar(count, "pages", unit="page"))  # on a terminal
        for part, (start, stop) in zip(results, ranges, strict=True):
            parts.append(part)
            bar.update(stop - start)
    glyphs, classes, held, skipped = zip(*parts, strict=True) if parts else ((), (), (), ())
    return SceneCrops(np.concatenate([np.zeros((0, 28, 28), np.uint8), *glyphs]),
                      np.concatenate([np.zeros(0, np.int64), *classes]),
                      np.concatenate([np.zeros(0, np.float32), *held]),
                      count, int(sum(skipped)), time.perf_counter() - started)
