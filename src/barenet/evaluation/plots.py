"""PNG plots of a trained model and its run: curves, confusion, mistakes, weights, feature maps.

The only module of barenet that imports matplotlib. It draws on ``Figure``
objects directly (Agg canvas) rather than through pyplot, so it needs no
display, changes no global backend, and nothing leaks between calls.
Every PNG is rendered into memory and then written with
:func:`barenet.io.files.write_bytes`, so a crash never leaves half a file.
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.patches
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from ..errors import BarenetError
from ..io.files import write_beside, write_bytes
from ..model.classifier import Sequential
from ..nn.module import Module
from .metrics import confusion_matrix

#: The folder of a run that :func:`write_report` writes into.
PLOTS_DIR = "plots"
#: Fewest epochs that make a loss or accuracy curve (the speedrun trains one).
MIN_CURVE_EPOCHS = 2
DPI = 100
#: Diverging colormap for weights: red positive, blue negative, white zero.
WEIGHT_CMAP = matplotlib.colormaps["RdBu_r"].with_extremes(bad="white")
FEATURE_CMAP = matplotlib.colormaps["viridis"].with_extremes(bad="white")
IMAGE_CMAP = matplotlib.colormaps["gray"].with_extremes(bad="white")


def _save(fig: Figure, path: str | os.PathLike, new: bool = False) -> Path:
    """Render ``fig`` to PNG in memory, then write it atomically to ``path``; with ``new``,
    to a free name beside it (``<stem>-2.png``...) if ``path`` exists. Returns the path."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    if new:
        path = Path(path)
        return write_beside(path.parent, path.stem, path.suffix, buffer.getvalue())
    write_bytes(path, buffer.getvalue())
    return Path(path)


def _as_images(images: np.ndarray) -> np.ndarray:
    """Images as (N, H, W) from (N, H, W), (N, 1, H, W) or (N, D) with D a square."""
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 3:
        return x
    if x.ndim == 2 and math.isqrt(x.shape[1]) ** 2 == x.shape[1]:
        side = math.isqrt(x.shape[1])
        return x.reshape(len(x), side, side)
    raise BarenetError(f"cannot show images of shape {x.shape}; expected (N, H, W), "
                       "(N, 1, H, W) or (N, D) with D a square number")


def _mosaic(tiles: np.ndarray, columns: int | None = None, pad: int = 1,
            top: int = 0) -> np.ndarray:
    """Tile (n, h, w) images into one 2-D array, NaN between them.

    Each of the ``rows x columns`` cells is ``top`` NaN rows (room for a label),
    the tile, then ``pad`` NaN rows and columns; the last row and column of
    padding are cut off. Returns shape
    (rows * (top + h + pad) - pad, columns * (w + pad) - pad).
    """
    n, h, w = tiles.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    cell_h, cell_w = top + h + pad, w + pad
    canvas = np.full((rows * cell_h - pad, columns * cell_w - pad), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        canvas[r * cell_h + top:r * cell_h + top + h, c * cell_w:c * cell_w + w] = tile
    return canvas


#: What a history's values can be: an epoch is a count, an accuracy or a label smoothing a
#: fraction, a loss non-negative. A value outside its range (a history.json edited or from
#: elsewhere) is left out of the plots, as a missing one is.
HISTORY_RANGES = {"epoch": (1, 1e9), "acc": (0.0, 1.0), "loss": (0.0, 1e9),
                  "label_smoothing": (0.0, 1.0), "non_digits": (0.0, 10.0)}


def _number(value: Any, quantity: str) -> float | None:
    """``value`` as a float within the range of ``quantity`` (:data:`HISTORY_RANGES`), or
    None when it is missing, not a number or out of range."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    low, high = HISTORY_RANGES[quantity]
    return float(value) if low <= value <= high else None  # NaN compares False


def _plot_curves(history: Sequence[Mapping[str, Any]], key: str, quantity: str,
                 path: str | os.PathLike, fraction: bool) -> Path:
    """Train and validation ``<split>_<key>`` against the epoch number."""
    if not history:
        raise BarenetError("the training history has no epochs to plot")
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    train_label, note = "train", training_loss_note(history[-1]) if key == "loss" else None
    if note:
        train_label = f"train ({note[0]})"
    for split, label in (("train", train_label), ("val", "validation")):
        points = [(_number(row.get("epoch", i + 1), "epoch"),
                   _number(row.get(f"{split}_{key}"), key)) for i, row in enumerate(history)]
        points = [(e, v) for e, v in points if e is not None and v is not None]
        if points:
            epochs, values = zip(*points, strict=True)
            ax.plot(epochs, values, marker="o" if len(points) <= 30 else None,
                    markersize=3, label=label)
    if not ax.lines:
        raise BarenetError(f"the training history has no train_{key} or val_{key} values")
    ax.set(title=f"{quantity.capitalize()} per epoch", xlabel="epoch", ylabel=quantity)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if fraction:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=None))
    ax.grid(alpha=0.3)
    ax.legend()
    if note:
        fig.supxlabel(textwrap.fill(note[1], 115), fontsize=7, color="0.35", x=0.02,
                      ha="left")
    return _save(fig, path)


def training_loss_note(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why the training loss stays above the validation loss, for a history row: its label
    smoothing and its share of non-digits (whose target is the uniform distribution, so
    their loss never falls below ln K). A short label and a sentence; None for neither."""
    smoothing = _number(row.get("label_smoothing"), "label_smoothing")
    non_digits = _number(row.get("non_digits"), "non_digits")
    parts = ([f"label smoothing {smoothing:g}"] if smoothing else []) + (
        [f"{non_digits:.0%} non-digits"] if non_digits else [])
    if not parts:
        return None
    reasons = ([f"targets smoothed by {smoothing:g}"] if smoothing else []) + (
        [f"generated non-digits ({non_digits:.0%} as many as the digits) trained towards "
         "equal probabilities, whose loss cannot fall below ln 10 = 2.30"]
        if non_digits else [])
    return (", ".join(parts),
            f"The training loss stays above the validation loss by design: it includes "
            f"{' and '.join(reasons)}. The validation loss is plain cross-entropy on digits.")


def plot_loss(history: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Train and validation loss per epoch.

    Parameters
    ----------
    history : sequence of dict
        One dict per epoch with keys ``epoch``, ``train_loss``, ``val_loss``
        (the ``"epochs"`` list of a run's ``history.json``); missing or
        ``None`` values are left out. A ``label_smoothing`` or ``non_digits``
        above 0 is said on the plot (:func:`training_loss_note`): the training
        loss includes them, the validation loss does not.
    path : path-like
        The PNG file to write.

    Returns
    -------
    Path
        ``path``.
    """
    return _plot_curves(history, "loss", "loss", path, fraction=False)


def plot_accuracy(history: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Train and validation accuracy (fractions in [0, 1], shown as %) per epoch.

    Parameters
    ----------
    history : sequence of dict
        One dict per epoch with keys ``epoch``, ``train_acc``, ``val_acc``.
    path : path-like

    Returns
    -------
    Path
    """
    return _plot_curves(history, "acc", "accuracy", path, fraction=True)


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str],
                   path: str | os.PathLike) -> Path:
    """Heat map of a confusion matrix, each cell annotated with its count.

    Cells are coloured by the share of their row (the fraction of the true
    class predicted as each class), so mistakes stand out even for rare classes.

    Parameters
    ----------
    matrix : ndarray of int, shape (K, K)
        Rows true class, columns predicted class.
    class_names : sequence of str, length K
    path : path-like

    Returns
    -------
    Path
    """
    matrix = np.asarray(matrix)
    k = len(class_names)
    if matrix.shape != (k, k):
        raise BarenetError(f"confusion matrix of shape {matrix.shape} does not match "
                           f"{k} class names")
    totals = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals != 0)
    side = 2.5 + 0.55 * k
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of the true class")
    if k <= 30:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if shares[i, j] > 0.5 else "black")
    ticks = np.arange(k)
    ax.set_xticks(ticks, [str(n) for n in class_names], rotation=45, ha="right")
    ax.set_yticks(ticks, [str(n) for n in class_names])
    total = int(matrix.sum())
    share = np.trace(matrix) / total if total else 0.0
    ax.set(xlabel="predicted class", ylabel="true class",
           title=f"Confusion matrix: {share:.2%} of {total} correct")
    return _save(fig, path)


def plot_misclassified(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray,
                       class_names: Sequence[str], path: str | os.PathLike,
                       max_images: int = 36) -> Path:
    """A grid of misclassified images, the most confident mistakes first.

    Parameters
    ----------
    images : ndarray, shape (N, H, W), (N, 1, H, W) or (N, H*W)
        Raw images, shown in grey.
    labels : ndarray of int, shape (N,)
        True classes.
    probabilities : ndarray of float, shape (N, K)
        The model's class probabilities; the prediction is the arg-max and the
        confidence its probability.
    class_names : sequence of str, length K
    path : path-like
    max_images : int
        At most this many images are shown.

    Returns
    -------
    Path
    """
    pictures = _as_images(images)
    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    if not len(pictures) == len(labels) == len(probabilities):
        raise BarenetError(f"{len(pictures)} images, {len(labels)} labels and "
                           f"{len(probabilities)} predictions: the counts must match")
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    shown = wrong[np.argsort(-confidence[wrong], kind="stable")][:max_images]
    if len(shown) == 0:
        fig = Figure(figsize=(5, 2), layout="constrained")
        fig.text(0.5, 0.5, f"All {len(labels)} test images are classified correctly.",
                 ha="center", va="center")
        return _save(fig, path)
    # one axes holding a mosaic with room for two label lines above each image:
    # 36 separate axes would take about a second to lay out and draw
    h, w = pictures.shape[1:]
    top, pad, columns = max(h // 3, 4), max(w // 7, 2), min(len(shown), 6)
    canvas = _mosaic(pictures[shown].astype(np.float64), columns, pad, top)
    inches_per_pixel = 1.6 / (w + pad)
    title_height = 0.45
    # at least 5 inches wide, so that the title fits above a single image
    fig = Figure(figsize=(max(canvas.shape[1] * inches_per_pixel, 5.0),
                          canvas.shape[0] * inches_per_pixel + title_height))
    ax = fig.add_axes((0, 0, 1, 1 - title_height / fig.get_figheight()))
    limits = (0, 255) if pictures.dtype == np.uint8 else (None, None)
    ax.imshow(canvas, cmap=IMAGE_CMAP, vmin=limits[0], vmax=limits[1], interpolation="nearest")
    for i, index in enumerate(shown):
        r, c = divmod(i, columns)
        ax.text(c * (w + pad) + w / 2, r * (top + h + pad) + top - 0.5,
                f"true: {class_names[labels[index]]}\n"
                f"pred: {class_names[predicted[index]]} {confidence[index]:.0%}",
                ha="center", va="bottom", fontsize=8, linespacing=1.1)
    ax.set_axis_off()
    fig.suptitle(f"{len(shown)} of {len(wrong)} misclassified test images "
                 "(most confident first)", y=1 - 0.08 / fig.get_figheight(), va="top")
    return _save(fig, path)


def plot_reliability(raw: np.ndarray, calibrated: np.ndarray, labels: np.ndarray,
                     path: str | os.PathLike, temperature: float = 1.0) -> Path:
    """Reliability diagram: accuracy against confidence, before and after calibration.

    Parameters
    ----------
    raw, calibrated : ndarray, shape (N, K)
        Probabilities with ``T = 1`` and with the model's temperature.
    labels : ndarray of int, shape (N,)
    temperature : float
        Shown in the legend.
    """
    from ..model.calibration import CALIBRATION_BINS, expected_calibration_error, reliability

    fig = Figure(figsize=(5, 5), dpi=DPI)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="perfectly calibrated")
    centres = (np.arange(CALIBRATION_BINS) + 0.5) / CALIBRATION_BINS
    curves = [(raw, "T = 1", "tab:red"), (calibrated, f"T = {temperature:.3g}", "tab:blue")]
    if temperature == 1.0:  # not calibrated: one curve, not two of the same said to differ
        curves = [(raw, "not calibrated (T = 1)", "tab:red")]
    for probabilities, name, colour in curves:
        confidence, accuracy, counts = reliability(probabilities, labels)
        ece = expected_calibration_error(probabilities, labels)
        used = counts > 0
        ax.plot(confidence[used], accuracy[used], marker="o", color=colour,
                label=f"{name}: ECE {ece:.2%}")
    ax.bar(centres, np.histogram(calibrated.max(axis=1), CALIBRATION_BINS, (0, 1))[0]
           / max(len(labels), 1), width=1 / CALIBRATION_BINS, color="tab:blue", alpha=0.15,
           label="share of answers" + (" (calibrated)" if temperature != 1.0 else ""))
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence (top-class probability)",
           ylabel="accuracy", title="Reliability on the test set")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def plot_reading(picture: np.ndarray, found: Any, readings: Sequence[Any],
                 path: str | os.PathLike, model: Sequential | None = None) -> Path:
    """What the network saw: the picture, the ink found with its boxes, each 28x28 and answer.

    Parameters
    ----------
    picture : ndarray
        The decoded picture, as :func:`barenet.vision.images.load_image` returns it.
    found : barenet.vision.Extraction
        The stages' results for it.
    readings : sequence of barenet.vision.reading.Reading
        One per digit read (one for a single digit), with ``seen`` and ``box``.
    model : Sequential, optional
        With it, each 28x28 also shows why: the pixels that pushed the answer
        towards its class (orange) and away (blue), :func:`barenet.vision.reading.why_overlay`.

    Returns
    -------
    Path
        Where the plot went: ``path``, or ``<stem>-2.png``... beside it if ``path``
        exists (the folder is the user's: no file in it is replaced).
    """
    from ..vision.reading import integrated_gradients, why_overlay

    columns = 2 + len(readings) * (2 if model is not None else 1)
    fig = Figure(figsize=(2.4 * columns, 2.9), dpi=DPI)
    axes = fig.subplots(1, columns, squeeze=False)[0]
    shown = picture if picture.ndim == 2 or picture.shape[2] in (3, 4) else picture[..., 0]
    if shown.ndim == 3 and shown.shape[2] == 4:
        shown = shown[..., :3]
    axes[0].imshow(shown, cmap="gray" if shown.ndim == 2 else None)
    axes[0].set_title("picture", fontsize=9)
    axes[1].imshow(found.ink, cmap="gray", vmin=0, vmax=max(float(found.ink.max()), 1e-6))
    axes[1].set_title(f"ink ({'dark' if found.dark_ink else 'light'} on "
                      f"{'light' if found.dark_ink else 'dark'})", fontsize=9)
    sy, sx = found.scale
    for reading in readings:
        for ax, (fy, fx) in ((axes[0], (1.0, 1.0)), (axes[1], (sy, sx))):
            top, bottom, left, right = reading.box
            ax.add_patch(matplotlib.patches.Rectangle(
                (left / fx - 0.5, top / fy - 0.5), (right - left) / fx, (bottom - top) / fy,
                fill=False, edgecolor="tab:red" if reading.unsure else "tab:green", linewidth=1.2))
    step = 2 if model is not None else 1
    for i, reading in enumerate(readings):
        ax = axes[2 + step * i]
        ax.imshow(reading.seen, cmap="gray", vmin=0, vmax=1)
        answer = "? not sure" if reading.unsure else reading.label
        ax.set_title(f"sees: {answer} ({reading.probability:.0%})", fontsize=9)
        if model is not None:
            gradient = integrated_gradients(model, reading.seen)
            axes[3 + step * i].imshow(why_overlay(reading.seen, gradient))
            axes[3 + step * i].set_title(f"why {reading.label}: for / against", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return _save(fig, path, new=True)


def plot_stages(picture: np.ndarray, path: str | os.PathLike) -> Path:
    """Every stage of :func:`barenet.vision.extract` on one picture, one panel each.

    The picture; its grey working copy; the paper background estimated under
    it; the ink's strength; the ink kept (paper lines found drawn in red, the
    digit's pieces in colour, specks and other marks grey); and the 28x28.
    """
    from ..vision.gray import to_grayscale
    from ..vision.ink import ink_strength, odd_window, paper_background
    from ..vision.preprocess import BACKGROUND_FRACTION, MIN_BACKGROUND_WINDOW, extract

    found = extract(picture)
    paper = found.gray if found.dark_ink else 1 - found.gray
    window = max(BACKGROUND_FRACTION * min(paper.shape), MIN_BACKGROUND_WINDOW)
    background = paper_background(paper, odd_window(window))
    ink, _ = ink_strength(paper, background)
    kept = np.zeros(found.mask.shape + (3,), np.float32)
    kept[found.mask] = 0.45
    palette = matplotlib.colormaps["tab10"]
    for i, piece in enumerate(found.digit):
        kept[found.labels == piece.label] = palette(i % 10)[:3]
    picture = np.asarray(picture)
    as_shot = (picture, None) if picture.ndim == 3 and picture.shape[2] >= 3 else \
        (to_grayscale(picture), "gray")  # a grey picture in grey, not in a colour map
    panels = [("1. picture", *as_shot), ("2. grey, working size", found.gray, "gray"),
              ("3. paper under the ink", background, "gray"), ("4. ink strength", ink, "gray"),
              ("5. ink kept, lines removed", kept, None), ("6. what the network sees",
                                                           found.glyph, "gray")]
    fig = Figure(figsize=(2.3 * len(panels), 2.7), dpi=DPI)
    axes = fig.subplots(1, len(panels))
    for ax, (title, image, cmap) in zip(axes, panels, strict=True):
        shown = image[..., :3] if image.ndim == 3 and image.shape[2] == 4 else image
        ax.imshow(shown, cmap=cmap, vmin=0 if cmap else None, vmax=1 if cmap else None)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    h, w = found.mask.shape
    ys, xs = np.array([0, h - 1], float), np.array([0, w - 1], float)
    for line in found.lines:
        c, s_ = math.cos(line.theta), math.sin(line.theta)
        if abs(s_) > 0.5:  # near horizontal: y from x
            axes[4].plot(xs, (line.rho - xs * c) / s_, color="red", linewidth=0.6)
        else:
            axes[4].plot((line.rho - ys * s_) / c, ys, color="red", linewidth=0.6)
    axes[4].set_xlim(-0.5, w - 0.5)
    axes[4].set_ylim(h - 0.5, -0.5)
    fig.tight_layout()
    return _save(fig, path)


def first_weight_layer(model: Sequential) -> Module | None:
    """The first layer of ``model`` with a 2-D (Linear) or 4-D (Conv2d) ``weight``, or None."""
    for layer in model.layers:
        weight = layer.params.get("weight")
        if weight is not None and weight.data.ndim in (2, 4):
            return layer
    return None


def weight_images(weight: np.ndarray, max_images: int = 64) -> np.ndarray | None:
    """A first layer's weights as small images, each scaled to [-1, 1] by its own max |w|.

    Parameters
    ----------
    weight : ndarray
        Shape (D, H) of a Linear layer, D a square number such as 784: each of
        the first ``max_images`` columns becomes a sqrt(D) x sqrt(D) image.
        Shape (C_out, C_in, kH, kW) of a Conv2d layer: each (output, input)
        channel pair becomes a kH x kW image.
    max_images : int

    Returns
    -------
    ndarray of shape (n, h, w), or None
        None when the weight cannot be shown as images (D not a square).
    """
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim == 2 and math.isqrt(w.shape[0]) ** 2 == w.shape[0]:
        side = math.isqrt(w.shape[0])
        tiles = w[:, :max_images].T.reshape(-1, side, side)
    elif w.ndim == 4:
        tiles = w.reshape(-1, *w.shape[2:])[:max_images]
    else:
        return None
    scale = np.abs(tiles).max(axis=(1, 2), keepdims=True)
    return tiles / np.where(scale > 0, scale, 1.0)


def plot_weights(weight: np.ndarray, path: str | os.PathLike, max_images: int = 64) -> Path:
    """The first layer's weights as images (diverging colormap, 0 is white).

    Parameters
    ----------
    weight : ndarray, shape (D, H) or (C_out, C_in, kH, kW)
        See :func:`weight_images`.
    path : path-like
    max_images : int

    Returns
    -------
    Path
    """
    tiles = weight_images(weight, max_images)
    if tiles is None:
        raise BarenetError(f"cannot show a weight of shape {np.shape(weight)} as images: "
                           "expected (D, H) with D a square number or (C_out, C_in, kH, kW)")
    shape = np.shape(weight)
    if len(shape) == 2:
        title = (f"First layer: input weights of {len(tiles)} of {shape[1]} units "
                 f"as {tiles.shape[1]}x{tiles.shape[2]} images")
    else:
        title = (f"First layer: {shape[0]} filters of {shape[2]}x{shape[3]} over {shape[1]} "
                 f"input channel(s), {len(tiles)} shown")
    columns = min(len(tiles), 8)
    rows = math.ceil(len(tiles) / columns)
    fig = Figure(figsize=(1.0 * columns + 0.4, 1.0 * rows + 0.8), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(_mosaic(tiles, columns), cmap=WEIGHT_CMAP, vmin=-1, vmax=1,
              interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"{title}\n(each scaled to its own max |w|: red +, blue -, white 0)",
                 fontsize=9)
    return _save(fig, path)


def _is_conv(layer: Module) -> bool:
    weight = layer.params.get("weight")
    return weight is not None and weight.data.ndim == 4


def feature_maps(model: Sequential, image: np.ndarray) -> tuple[np.ndarray, list[str]] | None:
    """One image's activations after the first convolution and the layers that follow it.

    The model runs in eval mode, layer by layer, through the first layer with
    a 4-D weight (a Conv2d) and on through every following layer that keeps
    the shape of its input (activation, batch norm, dropout), stopping before
    pooling, flattening or the next convolution.

    Parameters
    ----------
    model : Sequential
    image : ndarray
        One raw image, e.g. (28, 28) uint8, as :meth:`Sequential.prepare_input` accepts.

    Returns
    -------
    (maps, layer_names) or None
        ``maps`` of shape (C, H, W) and the names of the layers applied after
        the convolution's input; None when the model has no convolution.
    """
    first = next((i for i, layer in enumerate(model.layers) if _is_conv(layer)), None)
    if first is None:
        return None
    x = model.prepare_input(np.asarray(image)[None])
    applied: list[str] = []
    with model.evaluating():
        for i, layer in enumerate(model.layers):
            if i > first and _is_conv(layer):
                break
            y = layer.forward(x)
            if i > first and y.shape != x.shape:
                break
            x = y
            if i >= first:
                applied.append(type(layer).__name__)
    return x[0], applied


def plot_feature_maps(image: np.ndarray, maps: np.ndarray, path: str | os.PathLike,
                      layer_names: Sequence[str]) -> Path:
    """An input image beside its feature maps, each map scaled to its own range.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (1, H, W)
        The raw input image.
    maps : ndarray, shape (C, h, w)
        Activations of one convolutional block (see :func:`feature_maps`).
    path : path-like
    layer_names : sequence of str
        Names of the layers that produced ``maps``, for the title.

    Returns
    -------
    Path
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise BarenetError(f"feature maps must have shape (C, H, W), got {maps.shape}")
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    scaled = (maps - low) / np.where(span > 0, span, 1.0)
    columns = math.ceil(math.sqrt(len(maps)))
    rows = math.ceil(len(maps) / columns)
    # the input image as tall as the block of maps
    fig = Figure(figsize=(0.4 + 1.2 * (rows + columns), 0.7 + 1.2 * rows), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[rows, columns])
    left.imshow(_as_images(np.asarray(image)[None])[0], cmap=IMAGE_CMAP, interpolation="nearest")
    left.set_title("input", fontsize=9)
    right.imshow(_mosaic(scaled, columns), cmap=FEATURE_CMAP, vmin=0, vmax=1,
                 interpolation="nearest")
    right.set_title(f"{len(maps)} feature maps after {' -> '.join(layer_names)}\n"
                    "(each scaled to its own range)", fontsize=9)
    for ax in (left, right):
        ax.set_axis_off()
    return _save(fig, path)


def history_epochs(history: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
                   ) -> Sequence[Mapping[str, Any]]:
    """The per-epoch list of a training history.

    Parameters
    ----------
    history : dict, sequence of dict or None
        The contents of ``history.json`` (``{"epochs": [...], "test": ...}``),
        its ``"epochs"`` list, or None (no history: an empty list).

    Raises
    ------
    BarenetError
        ``"epochs"`` is not a list of objects.
    """
    epochs = history.get("epochs") if isinstance(history, Mapping) else history
    if epochs is None:
        return []
    if not isinstance(epochs, Sequence) or not all(isinstance(e, Mapping) for e in epochs):
        raise BarenetError("the training history has no list of per-epoch objects under "
                           '"epochs"; re-run the training to rewrite history.json')
    return epochs


def write_curves(run_dir: str | os.PathLike,
                 history: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> list[Path]:
    """``loss.png`` and ``accuracy.png`` into ``run_dir/plots`` (none with fewer than
    :data:`MIN_CURVE_EPOCHS` epochs: one point is no curve).

    They need only the run's history, no data.
    """
    folder = Path(run_dir) / PLOTS_DIR
    epochs = history_epochs(history)
    if len(epochs) < MIN_CURVE_EPOCHS:
        return []
    return [plot_loss(epochs, folder / "loss.png"), plot_accuracy(epochs, folder / "accuracy.png")]


def write_report(run_dir: str | os.PathLike, model: Sequential, test_images: np.ndarray,
                 test_labels: np.ndarray, class_names: Sequence[str],
                 history: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
                 ) -> list[Path]:
    """Write every plot that applies to ``model`` into ``run_dir/plots``.

    ``loss.png`` and ``accuracy.png`` (when ``history`` has epochs, see
    :func:`write_curves`), ``confusion.png``, ``misclassified.png``,
    ``reliability.png``, ``weights.png`` (when the first weighted layer can be
    shown as images) and ``feature_maps.png`` (for a model with a convolution, on
    the first test image).

    Parameters
    ----------
    run_dir : path-like
    model : Sequential
    test_images : ndarray, shape (N, 28, 28) uint8 (or any shape ``model.predict_proba`` accepts)
    test_labels : ndarray of int, shape (N,)
    class_names : sequence of str, length K (the model's number of outputs)
    history : dict or sequence of dict, optional
        The contents of ``history.json`` (``{"epochs": [...], "test": ...}``)
        or just its ``"epochs"`` list.

    Returns
    -------
    list of Path
        The files written, in the order above.
    """
    folder = Path(run_dir) / PLOTS_DIR
    labels = np.asarray(test_labels)
    if len(labels) == 0 or len(labels) != len(test_images):
        raise BarenetError(f"need a non-empty test set with one label per image, got "
                           f"{len(test_images)} images and {len(labels)} labels")
    written = write_curves(run_dir, history)
    logits = model.predict_logits(test_images)
    probabilities = model.probabilities(logits)
    if probabilities.shape[1] != len(class_names):
        raise BarenetError(f"the model has {probabilities.shape[1]} outputs but "
                           f"{len(class_names)} class names were given")
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted, len(class_names))
    written.append(plot_confusion(matrix, class_names, folder / "confusion.png"))
    written.append(plot_misclassified(test_images, labels, probabilities, class_names,
                                      folder / "misclassified.png"))
    written.append(plot_reliability(model.probabilities(logits, calibrated=False), probabilities,
                                    labels, folder / "reliability.png", model.temperature))
    layer = first_weight_layer(model)
    if layer is not None and weight_images(layer.params["weight"].data) is not None:
        written.append(plot_weights(layer.params["weight"].data, folder / "weights.png"))
    found = feature_maps(model, test_images[0])
    if found is not None:
        written.append(plot_feature_maps(test_images[0], found[0], folder / "feature_maps.png",
                                         found[1]))
    return written
