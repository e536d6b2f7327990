"""A learned ink finder: a small fully-convolutional network that marks a digit's ink.

The hand-set stages of :mod:`barenet.vision.ink` find *all* ink darker than its paper
and then guess, by rules, which of it is the digit; a box's edge, a grid, a circle or the
page's edge falls between the rules (issue 31). The finder learns that decision instead,
from pages made at random (:mod:`barenet.data.scenes`, MNIST *training* digits only),
each coming with the digit's true ink coverage.

What the finder sees
--------------------
Two hand-set steps only, each principled: the grey picture is turned so that ink is dark
(:func:`barenet.vision.ink.ink_is_dark` decides, as for the plain pipeline) and scaled to
:attr:`InkFinder.side` pixels on its longer side (the finder's working size, :data:`SIDE`
by default, stored in its file). Its two input channels are the grey picture (minus its
median, over its 1st-99th percentile range: paper near 0, ink negative) and the
relative darkness under the local paper (``(background - grey) / background`` with the
paper's brightness from :func:`barenet.vision.ink.paper_background`), which takes uneven
light out.

The network
-----------
:class:`barenet.Sequential` parts of barenet's own ``Conv2d``, ``BatchNorm2d``, ``ReLU``
and ``MaxPool2d``:

- ``encoder``: two 3x3 convolutions at half size (the first with stride 2), two at a
  quarter size (the first with stride 2);
- ``contexts`` (``levels`` of them, 2 by default): each a 2x2 max pooling and two 3x3
  convolutions, at an eighth and a sixteenth of the size: a view of about half, then
  all, of the working picture (a ruled line is long, a stroke is not);
- ``head``: the deepest context enlarged (each value repeated 2x2) and added to the
  level above it, up to the encoder's features at a quarter size; one 3x3
  convolution, and a 1x1 convolution to 4 channels: the logits of the 2x2 cells of
  the half-size grid each quarter-size position covers (a "pixel shuffle").

So the finder marks one logit per 2x2 pixels of its working picture; the probability
map is enlarged to whatever size is asked. 63,396 weights with two levels and width 16
(44,772 with one).

Training (:func:`barenet.train.ink_finder.train_finder`): per-pixel binary
cross-entropy (``BCEWithLogits``) between the logits and the digit's coverage averaged
over each 2x2 cell, on generated scenes padded to a square (padding carries no loss),
Adam, a cosine schedule.

Using it: :func:`barenet.vision.extract` with ``finder=``
(:func:`barenet.vision.preprocess.finder_extraction`: the ink the plain pipeline
measures, where the finder marks the digit), or
:meth:`InkFinder.probability` on a grey picture.
"""

from __future__ import annotations

import math
import os

import numpy as np
from PIL import Image

from ..errors import BarenetError
from ..model.file import save
from ..model.load import load
from ..nn import Sequential
from ..nn.layers import BatchNorm2d, Conv2d, MaxPool2d, ReLU
from .ink import odd_window, paper_background

#: A new finder works on pictures with this many pixels on their longer side.
SIDE = 128
#: The working sides a finder may have (multiples of :data:`MULTIPLE`).
MIN_SIDE, MAX_SIDE = 64, 512
#: It marks one cell per STRIDE x STRIDE pixels of its working picture.
STRIDE = 2
#: Training pictures are padded to a multiple of this (two strides of 2, two poolings).
MULTIPLE = 16
#: The paper-background window of the second input channel, as a share of the longer side
#: (wider than a marker's stroke at the working size).
BACKGROUND_SHARE = 0.15
#: Marked: probability at least this (replaced by the value stored with a trained finder).
THRESHOLD = 0.5
#: What a finder file's metadata says it is.
KIND = "barenet-ink-finder"


# --------------------------------------------------------------------------- input

def _resize(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``array`` (H, W) float resized to ``shape`` (h, w): pixel averaging when shrinking,
    bilinear when enlarging."""
    if array.shape == tuple(shape):
        return array.astype(np.float32, copy=False)
    image = Image.fromarray(np.ascontiguousarray(array, dtype=np.float32))
    shrink = shape[0] <= array.shape[0] and shape[1] <= array.shape[1]
    method = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    return np.asarray(image.resize((shape[1], shape[0]), method), dtype=np.float32)


def check_side(side: object) -> int:
    """``side`` as a finder's working side: a whole multiple of :data:`MULTIPLE` from
    :data:`MIN_SIDE` to :data:`MAX_SIDE`.

    Raises
    ------
    ValueError
        It is not.
    """
    if (isinstance(side, bool) or not isinstance(side, int | np.integer)
            or not MIN_SIDE <= side <= MAX_SIDE or side % MULTIPLE):
        raise ValueError(f"a finder's working side is a multiple of {MULTIPLE} from "
                         f"{MIN_SIDE} to {MAX_SIDE}, not {side!r}")
    return int(side)


def working_shape(shape: tuple[int, int], side: int) -> tuple[int, int]:
    """The finder's working size for a picture of ``shape``: longer side ``side``."""
    h, w = shape
    scale = side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def finder_input(gray: np.ndarray, dark: bool, side: int) -> np.ndarray:
    """The finder's two input channels for ``gray`` (H, W) in [0, 1].

    Parameters
    ----------
    gray : ndarray (H, W)
        The grey picture (any size).
    dark : bool
        Whether the ink is darker than the paper (else the picture is inverted first).
    side : int
        The longer side of the result (the finder's :attr:`InkFinder.side`).

    Returns
    -------
    ndarray float32 (2, h, w)
        ``h, w`` = :func:`working_shape` of ``gray.shape`` (not padded).
    """
    paper = _resize(gray, working_shape(gray.shape, side))
    if not dark:
        paper = 1 - paper
    lo, mid, hi = np.percentile(paper, [1, 50, 99])
    level = (paper - np.float32(mid)) / np.float32(max(hi - lo, 0.05))
    window = odd_window(max(BACKGROUND_SHARE * side, 3))
    background = paper_background(paper, window)
    darkness = (background - paper) / np.maximum(background, np.float32(0.05))
    return np.stack([level, darkness]).astype(np.float32)


def _pad(x: np.ndarray, multiple: int = MULTIPLE) -> np.ndarray:
    """``x`` (..., h, w) padded at the bottom and right (edge values) to a multiple."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if not ph and not pw:
        return x
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(0, ph), (0, pw)], mode="edge")


def cell_target(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The digit's coverage ``mask`` (picture size) at the finder's cells for a working
    picture of ``shape``: resized to ``shape``, then averaged over each STRIDE x STRIDE
    cell (the working size padded to :data:`MULTIPLE` first, the padding 0)."""
    small = np.clip(_resize(mask, shape), 0, 1)
    h, w = shape
    padded = np.zeros((h + (-h % MULTIPLE), w + (-w % MULTIPLE)), np.float32)
    padded[:h, :w] = small
    ph, pw = padded.shape
    return padded.reshape(ph // STRIDE, STRIDE, pw // STRIDE, STRIDE).mean(axis=(1, 3))


# --------------------------------------------------------------------------- network

def _up(x: np.ndarray) -> np.ndarray:
    """``x`` (N, C, h, w) enlarged to (N, C, 2h, 2w), each value repeated 2x2."""
    return x.repeat(2, axis=2).repeat(2, axis=3)


def _down(grad: np.ndarray) -> np.ndarray:
    """The gradient through :func:`_up`: each 2x2 block summed."""
    n, c, h, w = grad.shape
    return grad.reshape(n, c, h // 2, 2, w // 2, 2).sum(axis=(3, 5))


def _block(cin: int, cout: int, rng: np.random.Generator, stride: int = 1) -> list:
    return [Conv2d(cin, cout, 3, stride=stride, padding=1, rng=rng),
            BatchNorm2d(cout), ReLU()]


class InkFinder:
    """The network (:class:`barenet.Sequential` parts) and how to use it.

    Parameters
    ----------
    width : int
        Channels at half size; twice as many at a quarter size and below.
    seed : int
        The initial weights.
    threshold : float
        Probability from which a cell is marked as the digit's ink.
    levels : int
        Context levels: each a 2x2 max pooling and two 3x3 convolutions, at an eighth
        of the size, then (2) a sixteenth; each enlarged (values repeated 2x2) and
        added to the level above it on the way back up.
    side : int
        The working size: pictures are scaled to this many pixels on their longer side
        (:func:`check_side`: a multiple of :data:`MULTIPLE` from :data:`MIN_SIDE` to
        :data:`MAX_SIDE`). The weights do not depend on it; the scale they learn does.
    """

    def __init__(self, width: int = 16, seed: int = 0, threshold: float = THRESHOLD,
                 levels: int = 2, side: int = SIDE) -> None:
        if not 1 <= int(levels) <= 2:
            raise ValueError(f"levels is 1 or 2, not {levels}")
        self.side = check_side(side)
        rng = np.random.default_rng(seed)
        wide = 2 * width
        self.width, self.threshold, self.levels = int(width), float(threshold), int(levels)
        self.encoder = Sequential(_block(2, width, rng, 2) + _block(width, width, rng)
                                     + _block(width, wide, rng, 2) + _block(wide, wide, rng))
        self.contexts = [Sequential([MaxPool2d(2)] + _block(wide, wide, rng)
                                       + _block(wide, wide, rng)) for _ in range(self.levels)]
        self.head = Sequential(_block(wide, wide, rng)
                                  + [Conv2d(wide, STRIDE * STRIDE, 1, rng=rng)])
        self.metadata: dict = {}

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this (two strides of 2, a pooling per level)."""
        return 4 * 2 ** self.levels

    @property
    def parts(self) -> list[Sequential]:
        return [self.encoder, *self.contexts, self.head]

    def parameters(self) -> list:
        return [p for part in self.parts for p in part.parameters()]

    def train(self, mode: bool = True) -> InkFinder:
        for part in self.parts:
            part.train(mode)
        return self

    # -- the two passes ---------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits (N, H/2, W/2) of input (N, 2, H, W), H and W multiples of
        :attr:`multiple`."""
        if x.shape[-2] % self.multiple or x.shape[-1] % self.multiple:
            raise ValueError(f"the finder's input sides must be multiples of {self.multiple}, "
                             f"not {x.shape[-2:]}")
        features = self.encoder.forward(x)
        levels, below = [], features
        for context in self.contexts:
            below = context.forward(below)
            levels.append(below)
        top = levels[-1]
        for level in reversed(levels[:-1]):
            top = level + _up(top)
        cells = self.head.forward(features + _up(top))  # (N, 4, H/4, W/4)
        n, _, h, w = cells.shape
        return cells.reshape(n, STRIDE, STRIDE, h, w).transpose(0, 3, 1, 4, 2).reshape(
            n, STRIDE * h, STRIDE * w)

    def backward(self, grad: np.ndarray) -> None:
        """Gradients of every weight from ``dL/dlogits`` (N, H/2, W/2)."""
        n, h2, w2 = grad.shape
        h, w = h2 // STRIDE, w2 // STRIDE
        cells = np.ascontiguousarray(grad.reshape(n, h, STRIDE, w, STRIDE).transpose(
            0, 2, 4, 1, 3).reshape(n, STRIDE * STRIDE, h, w))
        d_features = self.head.backward(cells)
        d_levels = [_down(d_features)]  # the way back up: each level's sum passes its
        for _ in self.contexts[1:]:  # gradient, 2x2 blocks summed, to the level below it
            d_levels.append(_down(d_levels[-1]))
        for k in range(len(self.contexts) - 1, -1, -1):
            d_below = self.contexts[k].backward(d_levels[k])
            if k:
                d_levels[k - 1] = d_levels[k - 1] + d_below
            else:
                d_features = d_features + d_below
        self.encoder.backward(d_features, input_grad=False)

    # -- using it -----------------------------------------------------------
    def logits(self, x: np.ndarray) -> np.ndarray:
        """:meth:`forward` in eval mode (batch norm with its running statistics)."""
        self.train(False)
        return self.forward(x)

    def cells(self, gray: np.ndarray, dark: bool) -> np.ndarray:
        """Probability (h/2, w/2) that each cell of the working picture is the digit's ink,
        ``h, w`` = :func:`working_shape` of ``gray.shape`` at :attr:`side` (rounded up to
        halves)."""
        x = finder_input(gray, dark, self.side)
        h, w = x.shape[1:]
        logits = self.logits(_pad(x, self.multiple)[None])[0]
        logits = logits[:math.ceil(h / STRIDE), :math.ceil(w / STRIDE)]
        return 1 / (1 + np.exp(-logits.astype(np.float64)))

    def probability(self, gray: np.ndarray, dark: bool,
                    shape: tuple[int, int] | None = None) -> np.ndarray:
        """Probability (H, W) that each pixel is the digit's ink, at ``shape`` (default
        ``gray.shape``): :meth:`cells` enlarged bilinearly."""
        shape = gray.shape if shape is None else tuple(shape)
        return np.clip(_resize(self.cells(gray, dark).astype(np.float32), shape), 0, 1)

    # -- files --------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """One barenet model file: the parts' layers in order, and in its metadata how
        many layers each part has, the width, the threshold and the working side."""
        model = Sequential([layer for part in self.parts for layer in part.layers])
        meta = {**self.metadata, "kind": KIND, "width": self.width,
                "parts": [len(part.layers) for part in self.parts],
                "threshold": self.threshold, "side": self.side, "stride": STRIDE}
        save(model, path, meta)


def load_finder(path: str | os.PathLike) -> InkFinder:
    """An :class:`InkFinder` from a file :meth:`InkFinder.save` wrote.

    Raises
    ------
    barenet.BarenetError
        The file is no ink finder's (or damaged), or its working side is not one a finder
        may have (:func:`check_side`).
    """
    model = load(path)
    meta = dict(model.metadata)
    parts = meta.get("parts")
    if meta.get("kind") != KIND or not (isinstance(parts, list) and len(parts) in (3, 4)
                                         and all(isinstance(k, int) and k > 0 for k in parts)
                                         and sum(parts) == len(model.layers)):
        raise BarenetError(f"{path} is not an ink finder's file (train one with "
                              "benchmarks/train_ink_finder.py)")
    if meta.get("stride") != STRIDE:
        raise BarenetError(f"{path} was made for a stride {meta.get('stride')}, not {STRIDE}")
    try:
        side = check_side(meta.get("side"))
    except ValueError as error:
        raise BarenetError(f"{path}: {error}") from None
    finder = InkFinder(int(meta["width"]), threshold=float(meta["threshold"]),
                       levels=len(parts) - 2, side=side)
    layers, start, sequences = list(model.layers), 0, []
    for count in parts:
        sequences.append(Sequential(layers[start:start + count]))
        start += count
    finder.encoder, *finder.contexts, finder.head = sequences
    finder.metadata = {k: v for k, v in meta.items()
                       if k not in ("kind", "width", "parts", "threshold", "side", "stride")}
    return finder.train(False)


# --------------------------------------------------------------------------- reading

#: The picture holds one digit: if the finder marks no cell at its threshold, the cells
#: at least this share of its highest probability are taken (0: none, "no digit").
RELATIVE = 0.5
#: Cells connected to the marked group with at least this share of the threshold join it
#: (hysteresis, as :func:`barenet.vision.ink.ink_mask` grows faint ink from strong ink):
#: the parts of a stroke the finder is less sure of. 1: none. Chosen on 300 generated
#: scenes of seed 1 (training digits, the mlp reading them, the first finder): 1, 0.5
#: and 0.2 read 80.7%, 82.3% and 81.7% right, 6.0%, 4.7% and 6.7% wrong and not flagged.
GROW = 0.5


def marked_cells(finder: InkFinder, cells: np.ndarray) -> np.ndarray:
    """The cells taken as the digit's ink: probability at least the finder's threshold,
    or, if none is, at least :data:`RELATIVE` of the highest probability."""
    marked = cells >= finder.threshold
    if not marked.any() and RELATIVE > 0:
        marked = cells >= RELATIVE * float(cells.max())
    return marked


#: Marked pieces within this share of the main piece's size (of its box's longer side)
#: belong to the digit (a 5's bar, a broken stroke).
GROUP_SHARE = 0.25


def group_cells(marked: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray | None:
    """The marked cells of the digit: the connected piece with the most weight (default:
    cells) and every piece whose box comes within :data:`GROUP_SHARE` of its size."""
    from scipy import ndimage

    labels, count = ndimage.label(marked, structure=np.ones((3, 3)))
    if count == 0:
        return None
    weights = np.bincount(labels.ravel(), weights=None if weight is None else weight.ravel(),
                          minlength=count + 1)
    weights[0] = -1
    main = int(np.argmax(weights))
    slices = ndimage.find_objects(labels)
    ms = slices[main - 1]
    top, bottom, left, right = ms[0].start, ms[0].stop, ms[1].start, ms[1].stop
    margin = GROUP_SHARE * max(bottom - top, right - left)
    keep = [main]
    for k, s in enumerate(slices, start=1):
        if k == main or s is None:
            continue
        if (s[0].start < bottom + margin and s[0].stop > top - margin
                and s[1].start < right + margin and s[1].stop > left - margin):
            keep.append(k)
    return np.isin(labels, keep)


def digit_region(finder: InkFinder, work: np.ndarray, dark: bool) -> np.ndarray:
    """Which pixels of ``work`` (the grey picture at the pipeline's working size) may hold
    the digit's ink: the finder's group of marked cells (:func:`marked_cells`,
    :func:`group_cells` weighted by probability), grown by one cell where the
    probability is at least half the threshold (a stroke's edge, half covering a cell),
    enlarged to ``work``'s size.

    Raises
    ------
    EmptyDrawingError
        The finder marked no cell.
    """
    from scipy import ndimage

    from .ink import EmptyDrawingError

    cells = finder.cells(work, dark)
    marked = marked_cells(finder, cells)
    group = group_cells(marked, cells)
    if group is None or float(cells.max()) <= 0:
        raise EmptyDrawingError("the picture is nearly blank: the ink finder marked no "
                                "digit ink")
    level = min(finder.threshold, float(cells[group].min()))
    # hysteresis: cells connected to the group, down to GROW of its level
    joined, _ = ndimage.label(cells >= GROW * level, structure=np.ones((3, 3)))
    group = np.isin(joined, np.unique(joined[group]))
    grown = group | (ndimage.binary_dilation(group, np.ones((3, 3), bool))
                     & (cells >= level / 2))
    image = Image.fromarray(grown.astype(np.uint8) * 255)
    # the cells cover the working picture rounded up to a whole cell: crop, then resize
    h, w = working_shape(work.shape, finder.side)
    full = np.asarray(image.resize((STRIDE * grown.shape[1], STRIDE * grown.shape[0]),
                                   Image.Resampling.NEAREST))[:h, :w]
    return np.asarray(Image.fromarray(full).resize((work.shape[1], work.shape[0]),
                                                   Image.Resampling.NEAREST)) > 127
