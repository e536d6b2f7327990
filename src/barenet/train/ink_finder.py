"""Training the learned ink finder (:mod:`barenet.vision.ink_finder`) on generated pages.

The pages come from :mod:`barenet.data.scenes` (MNIST *training* digits only), each with
its digit's true ink coverage: :func:`make_scene_arrays` turns them into what the finder
sees and the coverage of each of its cells, :func:`train_finder` fits it (per-cell binary
cross-entropy, padding carrying no loss, Adam), and :func:`score` measures its marks
against the truth on pages it never saw. ``benchmarks/train_ink_finder.py`` is the
command that runs them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ..data import load_dataset
from ..data.scenes import make_scenes, training_digits
from ..nn.losses import BCEWithLogits
from ..nn.optim import Adam
from ..vision.gray import to_grayscale
from ..vision.ink import ink_is_dark, to_working_size
from ..vision.ink_finder import (
    SIDE,
    STRIDE,
    InkFinder,
    cell_target,
    check_side,
    finder_input,
    group_cells,
)


@dataclass
class SceneArrays:
    """Generated scenes as a finder of working side ``side`` sees them, each padded to
    ``side x side``.

    Attributes
    ----------
    inputs : ndarray float32 (N, 2, side, side)
    targets : ndarray float32 (N, side/2, side/2)
        The digit's coverage per cell.
    valid : ndarray float32 (N, side/2, side/2)
        1 for the cells of the picture, 0 for padding.
    boxes : ndarray int (N, 4)
        The digit's box at the working size, ``(top, bottom, left, right)``.
    shapes : ndarray int (N, 2)
        Each picture's working size before padding.
    """

    inputs: np.ndarray
    targets: np.ndarray
    valid: np.ndarray
    boxes: np.ndarray
    shapes: np.ndarray

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def side(self) -> int:
        """The working side the scenes were made for (the padded square's)."""
        return int(self.inputs.shape[-1])


def scene_arrays(scenes: Iterable, side: int = SIDE,
                 progress: Callable[[int], None] | None = None) -> SceneArrays:
    """The inputs and targets of a finder of working side ``side`` (:func:`check_side`)
    for ``scenes`` (:class:`barenet.data.scenes.Scene`), each picture read as
    :func:`finder_extraction` reads one: grey, at most 1024 pixels, the ink's polarity
    decided by :func:`ink_is_dark`."""
    side = check_side(side)
    inputs, targets, valid, boxes, shapes = [], [], [], [], []
    for i, scene in enumerate(scenes):
        work = to_working_size(to_grayscale(scene.picture))
        x = finder_input(work, ink_is_dark(work), side)
        h, w = x.shape[1:]
        padded = np.pad(x, ((0, 0), (0, side - h), (0, side - w)), mode="edge")
        inputs.append(padded)
        target = cell_target(scene.digit_mask, (h, w))
        full = np.zeros((side // STRIDE, side // STRIDE), np.float32)
        full[:target.shape[0], :target.shape[1]] = target
        targets.append(full)
        cells = np.zeros_like(full)
        cells[:math.ceil(h / STRIDE), :math.ceil(w / STRIDE)] = 1
        valid.append(cells)
        sy, sx = h / scene.picture.shape[0], w / scene.picture.shape[1]
        top, bottom, left, right = scene.box
        boxes.append((int(top * sy), math.ceil(bottom * sy), int(left * sx), math.ceil(right * sx)))
        shapes.append((h, w))
        if progress is not None:
            progress(i + 1)
    return SceneArrays(np.stack(inputs), np.stack(targets), np.stack(valid),
                       np.array(boxes, np.int64), np.array(shapes, np.int64))


def make_scene_arrays(data_dir: str | None, count: int, seed: int, side: int = SIDE,
                      progress: Callable[[int], None] | None = None) -> SceneArrays:
    """``count`` generated scenes of MNIST's training digits (``make_scenes(..., seed)``),
    as :func:`scene_arrays`: each scaled to ``side`` pixels on its longer side, padded to
    a square. ``data_dir``: MNIST's folder (None: where barenet looks by default)."""
    digits, labels = training_digits(load_dataset("mnist", data_dir))
    return scene_arrays(make_scenes(digits, labels, count, seed), side, progress)


# --------------------------------------------------------------------------- training

def masked_bce(finder: InkFinder, x: np.ndarray, target: np.ndarray,
               valid: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean binary cross-entropy over the valid cells, and its gradient at the logits.

    ``BCEWithLogits`` over every cell, its gradient scaled so that the padding
    carries none and the mean is over the picture's cells.
    """
    logits = finder.forward(x)
    loss = BCEWithLogits()
    loss.forward(logits * valid, target * valid)  # padding: logit 0, target 0
    grad = loss.backward() * valid * (valid.size / max(float(valid.sum()), 1.0))
    z, t = logits[valid > 0].astype(np.float64), target[valid > 0]
    value = float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))
    return value, grad.astype(logits.dtype)


@dataclass
class MaskScores:
    """How well marked cells match the digit's (coverage >= 0.5 per cell)."""

    precision: float
    recall: float
    iou: float
    box_found: float  # share of pictures whose marked box overlaps the true one by IoU >= 0.5
    loss: float


def _box_iou(a: tuple, b: tuple) -> float:
    h = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    w = max(0, min(a[3], b[3]) - max(a[2], b[2]))
    inter = h * w
    union = (a[1] - a[0]) * (a[3] - a[2]) + (b[1] - b[0]) * (b[3] - b[2]) - inter
    return inter / union if union > 0 else 0.0


def predict_cells(finder: InkFinder, data: SceneArrays, batch: int = 32) -> np.ndarray:
    """Probabilities (N, side/2, side/2) of every scene's cells, in eval mode."""
    finder.train(False)
    out = [1 / (1 + np.exp(-finder.forward(data.inputs[i:i + batch]).astype(np.float64)))
           for i in range(0, len(data), batch)]
    return np.concatenate(out)


def marked_box(marked: np.ndarray) -> tuple[int, int, int, int] | None:
    """Box ``(top, bottom, left, right)`` in working pixels of the largest group of
    marked cells (:func:`group_cells`), or None."""
    group = group_cells(marked)
    if group is None:
        return None
    rows, cols = np.flatnonzero(group.any(axis=1)), np.flatnonzero(group.any(axis=0))
    return (int(rows[0]) * STRIDE, (int(rows[-1]) + 1) * STRIDE,
            int(cols[0]) * STRIDE, (int(cols[-1]) + 1) * STRIDE)


def score(finder: InkFinder, data: SceneArrays, threshold: float | None = None) -> MaskScores:
    """Precision, recall and IoU of the marked cells (probability >= ``threshold``,
    default the finder's) against cells half covered by the digit, over all valid
    cells of ``data``; and the share of boxes found."""
    threshold = finder.threshold if threshold is None else threshold
    prob = predict_cells(finder, data)
    return scores_of(prob, data, threshold)


def scores_of(prob: np.ndarray, data: SceneArrays, threshold: float) -> MaskScores:
    """:func:`score` from the probabilities already computed."""
    valid = data.valid > 0
    marked = (prob >= threshold) & valid
    truth = (data.targets >= 0.5) & valid
    tp = float((marked & truth).sum())
    precision = tp / max(float(marked.sum()), 1.0)
    recall = tp / max(float(truth.sum()), 1.0)
    iou = tp / max(float((marked | truth).sum()), 1.0)
    found = 0
    for i in range(len(data)):
        box = marked_box(marked[i])
        found += box is not None and _box_iou(box, tuple(data.boxes[i])) >= 0.5
    p = np.clip(prob[valid], 1e-7, 1 - 1e-7)
    t = data.targets[valid]
    loss = float(np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p))))
    return MaskScores(precision, recall, iou, found / max(len(data), 1), loss)


def train_finder(data: SceneArrays, epochs: int = 4, batch: int = 16, lr: float = 3e-3,
                 width: int = 16, seed: int = 0,
                 log: Callable[[str], None] | None = None, levels: int = 2) -> InkFinder:
    """An :class:`InkFinder` trained on ``data`` (:func:`make_scene_arrays`), working at
    the side the scenes were made for (:attr:`SceneArrays.side`).

    Adam with a cosine schedule from ``lr`` to 0 over all steps; the batches drawn in a
    random order from ``seed`` each epoch, each picture shifted by up to 8 working pixels
    (a multiple of the cell, wrapped around: the padding moves with it). The same
    arguments give the same finder, bit for bit, on the same machine.
    """
    rng = np.random.default_rng([seed, 1])
    finder = InkFinder(width, seed, levels=levels, side=data.side)
    params = finder.parameters()
    optimizer = Adam(params, lr=lr)
    steps = epochs * (len(data) // batch)
    step, start, cpu = 0, time.perf_counter(), time.process_time()
    finder.train(True)
    for epoch in range(epochs):
        order = rng.permutation(len(data))
        total, seen = 0.0, 0
        for b in range(len(data) // batch):
            pick = np.sort(order[b * batch:(b + 1) * batch])
            dy, dx = (rng.integers(-4, 5, 2) * STRIDE).tolist()
            x = np.roll(data.inputs[pick], (dy, dx), axis=(2, 3))
            t = np.roll(data.targets[pick], (dy // STRIDE, dx // STRIDE), axis=(1, 2))
            v = np.roll(data.valid[pick], (dy // STRIDE, dx // STRIDE), axis=(1, 2))
            optimizer.lr = 0.5 * lr * (1 + math.cos(math.pi * step / max(steps, 1)))
            optimizer.zero_grad()
            value, grad = masked_bce(finder, x, t, v)
            finder.backward(grad)
            optimizer.step()
            total, seen, step = total + value, seen + 1, step + 1
            if log is not None and (b + 1) % 50 == 0:
                log(f"epoch {epoch + 1} step {b + 1}: loss {total / seen:.4f} "
                    f"({time.perf_counter() - start:.0f} s)")
        if log is not None:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / max(seen, 1):.4f} "
                f"({time.perf_counter() - start:.0f} s, CPU {time.process_time() - cpu:.0f} s)")
    return finder.train(False)


def choose_threshold(finder: InkFinder, data: SceneArrays,
                     candidates: Iterable[float] = (0.3, 0.4, 0.5, 0.6, 0.7)) -> float:
    """The threshold of ``candidates`` with the highest IoU of marked cells on ``data``
    (generated scenes the finder was not trained on)."""
    prob = predict_cells(finder, data)
    best = max(candidates, key=lambda t: scores_of(prob, data, t).iou)
    return float(best)
