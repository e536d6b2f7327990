"""Teach a model one writer's hand: held-out accuracy and MNIST accuracy before and after.

The writer is simulated with a consistent style of this script's own: strongly
slanted (a shear of 0.8), thin strokes, and a 1 written with a flag and a
foot, a 7 with a bar across its stem. Digits come from MNIST's *training*
images (the test set stays unseen), drawn as the app's 280x280 canvas. For 5,
10 and 20 samples per digit it runs ``barenet finetune`` exactly as the
command line does and reports, on 30 other pictures per digit by the same
writer, accuracy before and after, MNIST test accuracy before and after, and
the wall time of the whole command.

    python benchmarks/bench_finetune.py --model runs/cnn0 --data-dir ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from barenet.cli.main import main as barenet
from barenet.data import load_dataset
from barenet.data.folder import add_sample, read_folder
from barenet.model.load import load


def writer_canvas(digit28: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray:
    """One digit as this writer draws it: 280x280, white ink on black, uint8."""
    big = np.asarray(Image.fromarray(digit28).resize((200, 200), Image.Resampling.BICUBIC))
    ink = ndimage.binary_erosion(big > 100, iterations=4)  # thin strokes
    picture = Image.fromarray((ink * 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    if label == 1:  # a flag at the top and a foot
        ys, xs = np.nonzero(ink)
        if ys.size:
            top, bottom = ys.min(), ys.max()
            x_top = int(xs[ys == top].mean())
            x_bottom = int(xs[ys == bottom].mean())
            draw.line([(x_top, top), (x_top - 35, top + 30)], fill=255, width=6)
            draw.line([(x_bottom - 30, bottom), (x_bottom + 30, bottom)], fill=255, width=6)
    elif label == 7:  # a bar across the stem
        ys, xs = np.nonzero(ink)
        if ys.size:
            mid = int(ys.mean()) + 10
            row = xs[np.abs(ys - mid) < 3]
            if row.size:
                x = int(row.mean())
                draw.line([(x - 35, mid), (x + 35, mid)], fill=255, width=6)
    shear = 0.8 + rng.normal(0, 0.05)
    picture = picture.transform((200, 200), Image.Transform.AFFINE,
                                (1, shear, -100 * shear, 0, 1, 0), Image.Resampling.BILINEAR)
    canvas = np.zeros((280, 280), np.uint8)
    canvas[40:240, 40:240] = np.asarray(picture)
    return canvas


def write_writer(folder: Path, dataset, per_digit: int, offset: int,
                 rng: np.random.Generator) -> None:
    for d in range(10):
        for i in np.flatnonzero(dataset.train_labels == d)[offset:offset + per_digit]:
            add_sample(folder, str(d), writer_canvas(dataset.train_images[i], d, rng))


def accuracy(model, pictures) -> float:
    return float((model.predict(pictures.images) == pictures.labels).mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="model file or run folder")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--samples", type=int, nargs="+", default=[5, 10, 20],
                        help="samples per digit to teach with (default 5 10 20)")
    parser.add_argument("--held-out", type=int, default=30, help="test pictures per digit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    dataset = load_dataset("mnist", args.data_dir)
    model_path = args.model / "best.npz" if args.model.is_dir() else args.model
    parent = load(model_path)
    rng = np.random.default_rng(args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-finetune-"))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    try:
        test = work / "writer-test"
        write_writer(test, dataset, args.held_out, 1000, rng)
        test_pictures = read_folder(test, parent.class_names)
        mnist_before = float((parent.predict(dataset.test_images) == dataset.test_labels).mean())
        writer_before = accuracy(parent, test_pictures)
        print(f"# bench_finetune: {model_path}, CPU {cpu}")
        print(f"# {' '.join(sys.argv)}")
        print("| samples per digit | writer before | writer after | error ratio | MNIST before "
              "| MNIST after | finetune wall time |")
        print("|---|---|---|---|---|---|---|")
        for per_digit in args.samples:
            samples = work / f"samples-{per_digit}"
            write_writer(samples, dataset, per_digit, 0, rng)
            out = work / f"run-{per_digit}"
            started = time.perf_counter()
            code = barenet(["finetune", "--model", str(model_path), "--samples", str(samples),
                            "--out", str(out), "--seed", str(args.seed),
                            "--data-dir", str(args.data_dir)])
            seconds = time.perf_counter() - started
            if code != 0:
                print(f"| {per_digit} | finetune failed with status {code} |")
                continue
            taught = load(out / "best.npz")
            writer_after = accuracy(taught, test_pictures)
            mnist_after = float((taught.predict(dataset.test_images)
                                 == dataset.test_labels).mean())
            ratio = (1 - writer_after) / max(1 - writer_before, 1e-9)
            print(f"| {per_digit} | {writer_before:.2%} | {writer_after:.2%} | {ratio:.2f} | "
                  f"{mnist_before:.2%} | {mnist_after:.2%} | {seconds:.1f} s |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
