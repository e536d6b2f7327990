"""Does preprocessing make drawn digits look like MNIST to the network?

Each MNIST test digit is re-rendered the way a person's drawing arrives: a
thicker or thinner pen stroke at a random size and position on a 280x280
canvas, sometimes softened, and half of them dark on light (a scan or a paint
program) instead of light on dark (the drawing app). Every canvas goes through
:func:`barenet.vision.preprocess` and the model; the accuracy is printed
next to the model's plain accuracy on the untouched test images. Preprocessing
does its job when the two are within about one percentage point.

Usage::

    python benchmarks/bench_drawn_digits.py --model runs/<run>/best.npz
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from barenet import load
from barenet.data.idx import read_idx
from barenet.io.files import atomic_write
from barenet.vision import EmptyDrawingError, preprocess

REPO = Path(__file__).resolve().parent.parent
CANVAS = 280


def render(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One MNIST digit (28x28 uint8) as a drawing on a 280x280 uint8 canvas.

    The digit is enlarged by a random factor (its ink 100 to 250 pixels
    tall), hardened into a pen stroke (thresholded at half brightness, then
    made up to about 30% thicker or thinner), placed at a random position,
    optionally blurred, and in half the cases inverted to dark on light.
    """
    scale = rng.uniform(5.0, 12.5)
    size = round(28 * scale)
    big = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)
    stroke = big.point(lambda v: 255 if v >= 128 else 0)
    radius = int(round(rng.uniform(-0.3, 0.3) * scale))
    if radius > 0:
        stroke = stroke.filter(ImageFilter.MaxFilter(2 * radius + 1))
    elif radius < 0:
        stroke = stroke.filter(ImageFilter.MinFilter(-2 * radius + 1))
    ink = np.asarray(stroke)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:  # a stroke thinned away entirely: keep the plain enlargement
        ink = np.asarray(big)
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1][:CANVAS, :CANVAS]
    top = rng.integers(0, CANVAS - ink.shape[0] + 1)
    left = rng.integers(0, CANVAS - ink.shape[1] + 1)
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    canvas[top:top + ink.shape[0], left:left + ink.shape[1]] = ink
    blur = rng.uniform(0.0, 2.0)
    image = Image.fromarray(canvas)
    if blur > 0.3:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    out = np.asarray(image)
    return 255 - out if rng.random() < 0.5 else out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a trained MNIST model (.npz)")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist",
                        help="folder with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz")
    parser.add_argument("--limit", type=int, default=10000, help="test digits to use")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the rendering")
    parser.add_argument("--save-examples", type=Path,
                        help="write a PNG of the first few canvases and what the network saw")
    args = parser.parse_args(argv)

    images = read_idx(args.data_dir / "t10k-images-idx3-ubyte.gz")[:args.limit]
    labels = read_idx(args.data_dir / "t10k-labels-idx1-ubyte.gz")[:args.limit]
    model = load(args.model)
    rng = np.random.default_rng(args.seed)

    start = time.perf_counter()
    canvases = [render(digit, rng) for digit in images]
    render_s = time.perf_counter() - start
    start = time.perf_counter()
    seen, empty = np.zeros((len(images), 28, 28), np.float32), 0
    for i, canvas in enumerate(canvases):
        try:
            seen[i] = preprocess(canvas)
        except EmptyDrawingError:
            empty += 1  # left black: counted as a miss unless the model guesses right
    preprocess_s = time.perf_counter() - start

    plain = float((model.predict(images) == labels).mean())
    drawn = float((model.predict(seen) == labels).mean())
    n = len(images)
    print(f"test digits:          {n}")
    print(f"plain test accuracy:  {100 * plain:.2f}%")
    print(f"drawn-digit accuracy: {100 * drawn:.2f}%  ({100 * (drawn - plain):+.2f} points)")
    print(f"blank after drawing:  {empty}")
    print(f"time per digit:       render {1000 * render_s / n:.2f} ms, "
          f"preprocess {1000 * preprocess_s / n:.2f} ms")
    if args.save_examples:
        _save_examples(args.save_examples, canvases[:8], seen[:8])
    return 0


def _save_examples(path: Path, canvases: list[np.ndarray], seen: np.ndarray) -> None:
    """Two rows: the canvases, and the 28x28 images enlarged to the same size."""
    top = np.concatenate(canvases, axis=1)
    big = [np.asarray(Image.fromarray((s * 255).astype(np.uint8)).resize(
        (CANVAS, CANVAS), Image.Resampling.NEAREST)) for s in seen]
    with atomic_write(path) as handle:
        Image.fromarray(np.concatenate([top, np.concatenate(big, axis=1)])).save(handle, "PNG")
    print(f"examples:             {path}")


if __name__ == "__main__":
    sys.exit(main())
