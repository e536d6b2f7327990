"""Train the learned ink finder on generated scenes and measure its masks.

Three series of generated scenes (:mod:`barenet.data.scenes`, MNIST *training* digits
only), each from its own seed: ``--seed`` to train on, ``--seed + 1`` to choose the
threshold on, ``--seed + 2`` to measure on (never trained or tuned on). Printed: the
loss per epoch, then precision, recall and IoU of the marked cells (the finder's grid,
one cell per 2x2 pixels of its working picture: ``--side`` pixels on the longer side,
128 by default; a finder measured with ``--evaluate`` keeps its own) against the cells
at least half covered by the digit, and the share of pictures whose marked box overlaps
the digit's by IoU >= 0.5; then, through ``extract`` on ``--boxes`` of the measured scenes,
plain and with the finder, the share of boxes found, and with ``--model`` the shares
read right and wrong without "not sure" (the model saw these training digits: compare
the two readers, not the figure with MNIST's test set).

Usage::

    BARENET_THREADS=1 python benchmarks/train_ink_finder.py --data-dir ../shared/data/mnist \\
        --train 10000 --epochs 8 --out /tmp/ink-finder.npz --cache /tmp/finder-cache
    python benchmarks/train_ink_finder.py --evaluate /tmp/ink-finder.npz --model RUN/best.npz \\
        --time-picture

The cache keeps each series of scenes under its seed, count and working side.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import barenet as bn
from barenet.data import load_dataset
from barenet.data.scenes import make_scenes, training_digits
from barenet.train.ink_finder import (
    SceneArrays,
    choose_threshold,
    make_scene_arrays,
    score,
    train_finder,
)
from barenet.vision import extract
from barenet.vision.ink_finder import SIDE, check_side, load_finder
from barenet.vision.reading import read_digit

REPO = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(message, flush=True)


def arrays(data_dir: str, count: int, seed: int, side: int, cache: Path | None
           ) -> SceneArrays:
    """Scene arrays of ``count`` scenes of ``seed`` at working side ``side``, from
    ``cache`` if made before."""
    path = cache / f"scenes-{seed}-{count}-side{side}.npz" if cache else None
    if path is not None and path.exists():
        with np.load(path) as f:
            return SceneArrays(*(f[k] for k in ("inputs", "targets", "valid", "boxes",
                                                 "shapes")))
    start = time.perf_counter()

    def progress(i: int) -> None:
        if i % 500 == 0:
            print(f"  {i}/{count} scenes ({time.perf_counter() - start:.0f} s)",
                  file=sys.stderr, flush=True)
    data = make_scene_arrays(data_dir, count, seed, side, progress)
    log(f"made {count} scenes of seed {seed} in {time.perf_counter() - start:.0f} s")  # wall
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, inputs=data.inputs, targets=data.targets, valid=data.valid,
                 boxes=data.boxes, shapes=data.shapes)
    return data


def through_extract(finder, model, data_dir: str, count: int, seed: int) -> str:
    """Of ``count`` scenes of ``seed``, the share whose box ``extract`` finds (IoU >= 0.5
    with the digit's), plain (``finder`` None) or with the finder; with a ``model``, also
    the shares read right and read wrong without "not sure" (no digit found: flagged)."""
    digits, labels = training_digits(load_dataset("mnist", data_dir))
    found = right = sure_wrong = 0
    for scene in make_scenes(digits, labels, count, seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                extraction = extract(scene.picture, finder=finder)
                reading = read_digit(model, scene.picture, extraction) if model else None
            except bn.BarenetError:  # no digit found: not found, and flagged
                continue
        found += _iou(extraction.box, scene.box) >= 0.5
        if reading is not None:
            right += reading.label == str(scene.label)
            sure_wrong += reading.label != str(scene.label) and not reading.unsure
    text = f"box found {found / count:.1%}"
    if model is not None:
        text += f", read right {right / count:.1%}, wrong and not flagged {sure_wrong / count:.1%}"
    return text


def _iou(a, b) -> float:
    h = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    w = max(0, min(a[3], b[3]) - max(a[2], b[2]))
    inter = h * w
    union = (a[1] - a[0]) * (a[3] - a[2]) + (b[1] - b[0]) * (b[3] - b[2]) - inter
    return inter / union if union > 0 else 0.0


def time_picture(finder, repeat: int = 3) -> None:
    """Seconds of ``extract`` on a 12-megapixel photo (4000 x 3000), plain and with the
    finder, and of the finder's own step; the best of ``repeat``."""
    digits, labels = training_digits(load_dataset("mnist", ARGS.data_dir))
    scene = next(make_scenes(digits, labels, 1, 99, size=(3000, 4000)))
    picture = scene.picture
    for name, kwargs in (("plain", {}), ("finder", {"finder": finder})):
        best = min(_timed(lambda k=kwargs: extract(picture, **k)) for _ in range(repeat))
        log(f"12-megapixel picture (3000 x 4000), extract {name}: {best:.2f} s")
    from barenet.vision.gray import to_grayscale
    from barenet.vision.ink import ink_is_dark, to_working_size
    work = to_working_size(to_grayscale(picture))
    dark = ink_is_dark(work)
    best = min(_timed(lambda: finder.cells(work, dark)) for _ in range(repeat))
    log(f"  of which the finder's network on its {finder.side}-pixel picture: {best:.3f} s")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def report(finder, test: SceneArrays, args) -> None:
    s = score(finder, test)
    log(f"mask on {len(test)} scenes of seed {args.seed + 2} (never trained or tuned on), "
        f"threshold {finder.threshold}: precision {s.precision:.3f}, recall {s.recall:.3f}, "
        f"IoU {s.iou:.3f}, box found (cells) {s.box_found:.1%}, loss {s.loss:.4f}")
    if args.boxes:
        model = bn.load(args.model) if args.model else None
        for name, used in (("plain", None), ("with the finder", finder)):
            log(f"through extract, {args.boxes} scenes of seed {args.seed + 2}, {name}: "
                f"{through_extract(used, model, args.data_dir, args.boxes, args.seed + 2)}")


def main(argv: list[str] | None = None) -> int:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--train", type=int, default=6000, help="training scenes")
    parser.add_argument("--tune", type=int, default=300, help="scenes to choose the threshold")
    parser.add_argument("--test", type=int, default=500, help="scenes to measure on")
    parser.add_argument("--boxes", type=int, default=200,
                        help="scenes to measure the box through extract on (0: none)")
    parser.add_argument("--model", help="a digit classifier (.npz) to read the --boxes scenes "
                        "with (MNIST training digits: it saw them; compare plain and finder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--levels", type=int, default=2, choices=(1, 2),
                        help="context levels (an eighth, and a sixteenth of the size)")
    parser.add_argument("--side", type=int, help="the working side: pictures scaled to this "
                        f"many pixels on their longer side (default {SIDE}; --evaluate: the "
                        "finder's own)")
    parser.add_argument("--out", type=Path, help="where to save the finder (.npz)")
    parser.add_argument("--cache", type=Path, help="folder to keep the scene arrays in")
    parser.add_argument("--evaluate", type=Path, help="measure this finder, do not train")
    parser.add_argument("--time-picture", action="store_true",
                        help="also time extract on a 12-megapixel picture")
    args = ARGS = parser.parse_args(argv)
    log(f"command: `{' '.join(shlex.quote(a) for a in ['python', *sys.argv])}`")
    log(f"date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    if args.evaluate:
        finder = load_finder(args.evaluate)
        if args.side not in (None, finder.side):
            parser.error(f"--side {args.side}: {args.evaluate} works at {finder.side}")
        test = arrays(args.data_dir, args.test, args.seed + 2, finder.side, args.cache)
    else:
        side = SIDE if args.side is None else args.side
        try:
            check_side(side)
        except ValueError as error:
            parser.error(f"--side: {error}")
        test = arrays(args.data_dir, args.test, args.seed + 2, side, args.cache)
        train = arrays(args.data_dir, args.train, args.seed, side, args.cache)
        tune = arrays(args.data_dir, args.tune, args.seed + 1, side, args.cache)
        start, cpu = time.perf_counter(), time.process_time()
        finder = train_finder(train, args.epochs, args.batch, args.lr, args.width, args.seed,
                              log, args.levels)
        log(f"trained in {time.perf_counter() - start:.0f} s, CPU "
            f"{time.process_time() - cpu:.0f} s "
            f"({sum(p.data.size for p in finder.parameters()):,} weights)")
        finder.threshold = choose_threshold(finder, tune)
        log(f"threshold {finder.threshold} (best IoU on {args.tune} scenes of seed "
            f"{args.seed + 1})")
        finder.metadata = {"trained_on": f"{args.train} generated scenes of seed {args.seed}",
                           "epochs": args.epochs}
        if args.out:
            finder.save(args.out)
            log(f"saved {args.out}")
    report(finder, test, args)
    if args.time_picture:
        time_picture(finder)
    return 0


ARGS: argparse.Namespace


if __name__ == "__main__":
    sys.exit(main())
