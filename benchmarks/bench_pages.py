"""How well does barenet read a handwritten digit on an everyday page?

MNIST *test* digits are written, in software, on the pages of
``benchmarks/pages.py`` (a form's box, a circled digit, a sticky note, a
notebook page, graph paper, a whiteboard, a chalkboard, a tilted or shaken
camera...), one kind of page per condition. Each picture is encoded as a file
in memory (PNG, or JPEG for phone photos at the quality the page gives),
decoded with :func:`barenet.vision.images.load_image` and read exactly as
``barenet predict`` does: ``extract(picture)``, then ``read_digit(model,
picture, found)`` per model (``read_number`` for numbers, as ``predict
--number``). A BarenetError (no digit found...) counts as wrong and as flagged;
any other exception too, and is listed as a CRASH. The same random subset of
test digits is used in every condition; every picture is determined by
``--seed``, the condition and its index.

Sections, as markdown tables per model:

1. **Pages**: per condition, % read right, % "not sure" (including no digit
   found), % wrong and *not* flagged (the issue's target: at most 5%), beside
   ``clean`` (black ink on white: the reference) and the model's accuracy on
   the same 28x28 test digits; how often the digit's box was found (the box
   read overlaps the true one by IoU >= 0.5), overall and among the failures.
   Conditions the learned reader's training generator never makes
   (:data:`pages.HELD_OUT`) are marked "held out".
2. **Numbers on a sticky note**: rows of 3-8 digits (a phone number with a
   dash, a price with a point, or plain), per-digit and whole-number accuracy.
3. **Clean files**: MNIST test digits saved as PNG files (28x28 white on
   black; dark on white enlarged 4x) read through the picture path: the share
   of RIGHT answers flagged "not sure" (the issue's target: at most 2%),
   beside the same share through arrays (``model.predict_proba`` and the
   model's rule, :func:`barenet.model.calibration.is_unsure`, as
   ``barenet evaluate`` applies it).
4. **Tiny and blurry**: digits shrunk to 8x8 like scikit-learn's digits and
   enlarged to 64x64; "the picture is nearly blank" must never be the answer.

Usage::

    python benchmarks/bench_pages.py --model /tmp/bench-mlp/best.npz --count 100
    python benchmarks/bench_pages.py --model a.npz --model b.npz --json out.json \\
        --save-examples /tmp/pages
    python benchmarks/bench_pages.py --model a.npz --finder ink-finder.npz  # the learned finder
"""

from __future__ import annotations

import argparse
import collections
import datetime
import io
import json
import os
import shlex
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pages  # noqa: E402  (benchmarks/pages.py, next to this file)
from bench_photos import (  # noqa: E402
    cpu_name,
    default_models,
    describe,
    edit_distance,
    png_bytes,
    table,
)

from barenet.data import load_dataset  # noqa: E402
from barenet.model.calibration import is_unsure  # noqa: E402
from barenet.model.classifier import Sequential  # noqa: E402
from barenet.model.load import load  # noqa: E402
from barenet.vision import extract  # noqa: E402
from barenet.vision.images import load_image  # noqa: E402
from barenet.vision.ink_finder import load_finder  # noqa: E402
from barenet.vision.reading import read_digit, read_number  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
#: Pictures per condition written by --save-examples (and as many failures of the first model).
EXAMPLES = 3
#: The reader "found" the digit when its box overlaps the true one by at least this IoU.
FOUND_IOU = 0.5
#: The answer tiny_blurry must never give.
NEARLY_BLANK = "nearly blank"
#: The issue's targets.
TARGET_SURE_WRONG = 0.05
TARGET_RIGHT_FLAGGED = 0.02

Box = tuple[int, int, int, int]


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def encode(image: np.ndarray, jpeg: int | None) -> bytes:
    """``image`` as the bytes of a PNG file, or a JPEG file of quality ``jpeg``."""
    if jpeg is None:
        return png_bytes(image)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=int(jpeg))
    return buffer.getvalue()


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(top, bottom, left, right)`` boxes."""
    h = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    w = max(0, min(a[3], b[3]) - max(a[2], b[2]))
    inter = h * w
    union = (a[1] - a[0]) * (a[3] - a[2]) + (b[1] - b[0]) * (b[3] - b[2]) - inter
    return inter / union if union > 0 else 0.0


# --------------------------------------------------------------------------- reading

@dataclass
class Answer:
    """What one model read on one picture."""

    label: str = ""
    unsure: bool = True
    error: str | None = None
    box: Box | None = None
    seen: np.ndarray | None = None


def read_picture(data: bytes, models: dict[str, Sequential], number: bool = False,
                 finder: object | None = None
                 ) -> tuple[np.ndarray | None, dict[str, Answer], float]:
    """Decode and read one picture file as ``barenet predict`` (``--number``) does.

    The extraction is shared by the models (it does not depend on them). ``finder``, a
    learned ink finder (:mod:`barenet.vision.ink_finder`), picks the digit's ink
    instead of the plain pipeline's rules (one digit only: numbers are read without it).
    Returns the picture, each model's answer and the seconds taken.
    """
    start = time.perf_counter()
    answers = {m: Answer() for m in models}
    picture = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            picture = load_image(io.BytesIO(data))
            found = extract(picture) if finder is None or number else \
                extract(picture, finder=finder)
        except Exception as exc:  # noqa: BLE001 - every failure is a result
            for a in answers.values():
                a.error = describe(exc)
            return picture, answers, time.perf_counter() - start
        for m, model in models.items():
            a = answers[m]
            try:
                if number:
                    r = read_number(model, picture, found)
                    a.label, a.unsure = r.number, bool(r.unsure)
                else:
                    r = read_digit(model, picture, found)
                    a.label, a.unsure, a.box, a.seen = r.label, bool(r.unsure), r.box, r.seen
            except Exception as exc:  # noqa: BLE001
                a.error = describe(exc)
    return picture, answers, time.perf_counter() - start


@dataclass
class Tally:
    """Answers of one model on a group of one-digit pictures."""

    n: int = 0
    right: int = 0
    flagged: int = 0  # "not sure" or an error (no digit found...)
    errors: int = 0
    sure_wrong: int = 0
    right_flagged: int = 0
    box_found: int = 0
    failures: int = 0  # wrong or flagged
    failures_box_found: int = 0
    nearly_blank: int = 0
    seconds: float = 0.0
    error_kinds: collections.Counter = field(default_factory=collections.Counter)
    wrong_answers: collections.Counter = field(default_factory=collections.Counter)

    def add(self, a: Answer, truth: str, box: Box | None, seconds: float) -> None:
        right = a.error is None and a.label == truth
        flagged = a.error is not None or a.unsure
        self.n += 1
        self.right += right
        self.flagged += flagged
        self.errors += a.error is not None
        self.sure_wrong += not right and not flagged
        self.right_flagged += right and flagged
        self.seconds += seconds
        found = box is not None and a.box is not None and iou(a.box, box) >= FOUND_IOU
        self.box_found += found
        if not right or flagged:
            self.failures += 1
            self.failures_box_found += found
        if a.error is not None:
            self.error_kinds[a.error.split(":")[0] + ": " + _short(a.error)] += 1
            self.nearly_blank += NEARLY_BLANK in a.error
        elif not right:
            self.wrong_answers[f"{truth}->{a.label}"] += 1

    def share(self, name: str, of: str = "n") -> float:
        return getattr(self, name) / max(getattr(self, of), 1)

    def as_json(self) -> dict:
        d = asdict(self)
        d["error_kinds"] = dict(self.error_kinds)
        d["wrong_answers"] = dict(self.wrong_answers.most_common(10))
        return d


def _short(error: str) -> str:
    """The gist of an error message (its first clause)."""
    text = error.split(": ", 1)[1] if ": " in error else error
    return text.split(";")[0].split(" (")[0][:60]


# --------------------------------------------------------------------------- examples

def save_example(folder: Path, name: str, data: bytes, jpeg: int | None, true_box: Box | None,
                 answer: Answer | None) -> None:
    """The picture as read, and, if a model read it, the boxes and what the network saw.

    ``<name>_boxes.png``: the picture with the true digit box in green and the box
    read in red; ``<name>_seen.png``: the 28x28 the network received, enlarged.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{'jpg' if jpeg else 'png'}"
    path.write_bytes(data)
    if answer is None:
        return
    with Image.open(io.BytesIO(data)) as image:
        shown = image.convert("RGB")
    draw = ImageDraw.Draw(shown)
    width = max(2, max(shown.size) // 300)
    for box, colour in ((true_box, (0, 200, 0)), (answer.box, (230, 0, 0))):
        if box is not None:
            t, b, left, r = box
            draw.rectangle((left, t, r - 1, b - 1), outline=colour, width=width)
    shown.save(folder / f"{name}_boxes.png")
    if answer.seen is not None:
        seen = Image.fromarray(np.round(np.clip(answer.seen, 0, 1) * 255).astype(np.uint8))
        seen.resize((112, 112), Image.Resampling.NEAREST).save(folder / f"{name}_seen.png")


# --------------------------------------------------------------------------- sections

def bench_pages(models: dict[str, Sequential], images: np.ndarray, labels: np.ndarray,
                conditions: list[str], args: argparse.Namespace
                ) -> dict[str, dict[str, Tally]]:
    """Every condition on the same test digits; tallies[model][condition]."""
    tallies: dict[str, dict[str, Tally]] = {m: {} for m in models}
    order = list(pages.CONDITIONS)
    first = next(iter(models))
    for condition in conditions:
        start, render_s = time.perf_counter(), 0.0
        for m in models:
            tallies[m][condition] = Tally()
        failures = 0
        for i, (digit, label) in enumerate(zip(images, labels, strict=True)):
            rng = np.random.default_rng([args.seed, 1, order.index(condition), i])
            t0 = time.perf_counter()
            page = pages.render_page(digit, condition, rng)
            data = encode(page.image, page.jpeg)
            render_s += time.perf_counter() - t0
            _, answers, seconds = read_picture(data, models, finder=args.finder)
            for m in models:
                tallies[m][condition].add(answers[m], str(label), page.box, seconds)
            if args.save_examples:
                a = answers[first]
                flag = "none" if a.error else ("unsure" if a.unsure else "") + a.label
                name = f"{condition}_{i:03d}_true{label}_read{flag}"
                if i < EXAMPLES:
                    save_example(args.save_examples / "pages", name, data, page.jpeg,
                                 page.box, a)
                elif (a.label != str(label) or a.unsure or a.error) and failures < EXAMPLES:
                    failures += 1
                    save_example(args.save_examples / "pages_failed", name, data, page.jpeg,
                                 page.box, a)
        progress(f"  {condition}: {len(images)} pictures in {time.perf_counter() - start:.1f} s "
                 f"(rendering {render_s:.1f} s)")
    return tallies


@dataclass
class NumberTally:
    """Answers of one model on pictures of numbers."""

    n: int = 0
    digits: int = 0
    edits: int = 0
    whole: int = 0
    wrong_count: int = 0
    flagged: int = 0
    errors: int = 0
    sure_wrong: int = 0
    seconds: float = 0.0

    def add(self, a: Answer, truth: str, seconds: float) -> None:
        found = "" if a.error else a.label
        flagged = a.error is not None or a.unsure
        self.n += 1
        self.digits += len(truth)
        self.edits += min(edit_distance(found, truth), len(truth))
        self.whole += found == truth
        self.wrong_count += len(found) != len(truth)
        self.flagged += flagged
        self.errors += a.error is not None
        self.sure_wrong += found != truth and not flagged
        self.seconds += seconds


def number_layout(rng: np.random.Generator) -> tuple[int, tuple[int, str] | None, str]:
    """How many digits, and where a dash or point goes: a phone number, a price, or plain."""
    kind = ("phone", "price", "plain")[int(rng.integers(3))]
    if kind == "phone":
        n = int(rng.integers(5, 9))
        return n, (int(rng.integers(2, n - 1)), "-"), kind
    if kind == "price":
        n = int(rng.integers(3, 7))
        return n, (n - 2, "."), kind
    return int(rng.integers(3, 9)), None, kind


def bench_numbers(models: dict[str, Sequential], images: np.ndarray, labels: np.ndarray,
                  args: argparse.Namespace) -> dict[str, dict[str, NumberTally]]:
    """Rows of 3-8 test digits on sticky notes; tallies[model][kind]."""
    kinds = ["phone", "price", "plain", "all"]
    tallies = {m: {k: NumberTally() for k in kinds} for m in models}
    first = next(iter(models))
    start = time.perf_counter()
    for i in range(args.numbers):
        rng = np.random.default_rng([args.seed, 2, i])
        n, separator, kind = number_layout(rng)
        picks = rng.choice(len(images), n, replace=False)
        truth = "".join(str(labels[p]) for p in picks)
        page = pages.render_number_note([images[p] for p in picks], rng, separator)
        data = encode(page.image, page.jpeg)
        _, answers, seconds = read_picture(data, models, number=True)
        for m in models:
            for k in (kind, "all"):
                tallies[m][k].add(answers[m], truth, seconds)
        if args.save_examples and i < 2 * EXAMPLES:
            a = answers[first]
            shown = truth if separator is None else \
                truth[:separator[0]] + separator[1] + truth[separator[0]:]
            save_example(args.save_examples / "numbers",
                         f"number_{i:03d}_{kind}_true{shown}_read{a.label or 'none'}", data,
                         page.jpeg, None, None)
    progress(f"  numbers: {args.numbers} pictures in {time.perf_counter() - start:.1f} s")
    return tallies


def bench_files(models: dict[str, Sequential], images: np.ndarray, labels: np.ndarray,
                args: argparse.Namespace) -> tuple[dict[str, dict[str, Tally]],
                                                   dict[str, dict[str, float]]]:
    """MNIST test digits as PNG files through the picture path, and as arrays.

    Returns tallies[model][variant] and arrays[model] = {"n", "right", "right_flagged",
    "sure_wrong"} for the same digits through ``predict_proba`` and ``is_unsure``.
    """
    tallies: dict[str, dict[str, Tally]] = {m: {} for m in models}
    start = time.perf_counter()
    for variant in pages.MNIST_FILES:
        for m in models:
            tallies[m][variant] = Tally()
        for i, (digit, label) in enumerate(zip(images, labels, strict=True)):
            data = png_bytes(pages.mnist_file(digit, variant))
            _, answers, seconds = read_picture(data, models, finder=args.finder)
            for m in models:
                tallies[m][variant].add(answers[m], str(label), None, seconds)
            if args.save_examples and i < EXAMPLES:
                a = answers[next(iter(models))]
                save_example(args.save_examples / "clean_files",
                             f"{variant}_{i:03d}_true{label}_read{a.label or 'none'}", data,
                             None, None, None)
    arrays = {}
    for m, model in models.items():
        probs = model.predict_proba(images)
        right = probs.argmax(axis=1) == labels
        unsure = is_unsure(probs, model.min_confidence)
        arrays[m] = {"n": len(labels), "right": int(right.sum()),
                     "right_flagged": int((right & unsure).sum()),
                     "sure_wrong": int((~right & ~unsure).sum())}
    progress(f"  clean files: {len(images)} digits x {len(pages.MNIST_FILES)} files in "
             f"{time.perf_counter() - start:.1f} s")
    return tallies, arrays


def bench_tiny(models: dict[str, Sequential], images: np.ndarray, labels: np.ndarray,
               args: argparse.Namespace) -> dict[str, Tally]:
    """Digits shrunk to 8x8 and enlarged to 64x64; tallies[model]."""
    tallies = {m: Tally() for m in models}
    start = time.perf_counter()
    for i, (digit, label) in enumerate(zip(images, labels, strict=True)):
        rng = np.random.default_rng([args.seed, 4, i])
        data = png_bytes(pages.tiny_blurry(digit, rng))
        _, answers, seconds = read_picture(data, models, finder=args.finder)
        for m in models:
            tallies[m].add(answers[m], str(label), None, seconds)
        if args.save_examples and i < 2 * EXAMPLES:
            a = answers[next(iter(models))]
            flag = "none" if a.error else ("unsure" if a.unsure else "") + a.label
            save_example(args.save_examples / "tiny_blurry",
                         f"tiny_{i:03d}_true{label}_read{flag}", data, None, None, a)
    progress(f"  tiny and blurry: {len(images)} pictures in {time.perf_counter() - start:.1f} s")
    return tallies


# --------------------------------------------------------------------------- report

def report_pages(tallies: dict[str, Tally], plain: float) -> str:
    rows = []
    clean = tallies.get("clean")
    for c, t in tallies.items():
        mark = "held out" if c in pages.HELD_OUT else ("reference" if c == "clean" else "")
        diff = f"{100 * (t.share('right') - clean.share('right')):+.0f}" \
            if clean is not None and c != "clean" else "-"
        wrong = pct(t.share("sure_wrong")) + (" **!**" if t.share("sure_wrong") >
                                              TARGET_SURE_WRONG else "")
        common = ", ".join(f"{k} ({v})" for k, v in
                           (t.error_kinds + t.wrong_answers).most_common(2))
        rows.append([c, mark, str(t.n), pct(t.share("right")), diff, pct(t.share("flagged")),
                     pct(t.share("errors")), wrong, pct(t.share("box_found")),
                     pct(t.share("failures_box_found", "failures")) if t.failures else "-",
                     f"{t.seconds / max(t.n, 1):.2f}", common or "-"])
    every = Tally()
    for t in tallies.values():
        for name in ("n", "right", "flagged", "errors", "sure_wrong", "box_found", "failures",
                     "failures_box_found"):
            setattr(every, name, getattr(every, name) + getattr(t, name))
        every.seconds += t.seconds
    rows.append(["**all**", "", str(every.n), pct(every.share("right")), "-",
                 pct(every.share("flagged")), pct(every.share("errors")),
                 pct(every.share("sure_wrong")), pct(every.share("box_found")),
                 pct(every.share("failures_box_found", "failures")) if every.failures else "-",
                 f"{every.seconds / max(every.n, 1):.2f}", "-"])
    text = table(["condition", "", "pictures", "read right", "vs clean (points)",
                  "not sure (incl. no digit)", "no digit found",
                  f"wrong, not flagged (target <= {TARGET_SURE_WRONG:.0%})",
                  "box found", "box found, of the failures", "s/picture",
                  "commonest failures"], rows)
    return text + (f"\n\nThe same test digits as 28x28 arrays (`predict_proba`): {pct(plain)} "
                   f"right. 'box found': the box read overlaps the true digit box by IoU >= "
                   f"{FOUND_IOU}; 'of the failures': among the pictures read wrong or flagged "
                   "(a low share means the reader cropped the wrong thing; a high one, that it "
                   "found the digit and misread it). s/picture: decoding + extraction + "
                   "reading, shared by the models.")


def report_numbers(tallies: dict[str, NumberTally]) -> str:
    rows = []
    for kind, t in tallies.items():
        if not t.n:
            continue
        rows.append([kind, str(t.n), pct(1 - t.edits / max(t.digits, 1)), pct(t.whole / t.n),
                     pct(t.wrong_count / t.n), pct(t.flagged / t.n), pct(t.errors / t.n),
                     pct(t.sure_wrong / t.n), f"{t.seconds / t.n:.2f}"])
    return table(["numbers", "pictures", "per-digit accuracy", "whole number right",
                  "wrong count of digits", "not sure (incl. no digit)", "no digit found",
                  "wrong, not flagged", "s/picture"], rows) + \
        ("\n\nper-digit accuracy: 1 - (digits inserted, deleted or changed to turn the reading "
         "into the truth) / digits (at least 0 per number); phone: 5-8 digits with a dash; "
         "price: 3-6 digits with a decimal point before the last two; plain: 3-8 digits.")


def report_files(tallies: dict[str, Tally], arrays: dict[str, float], full: dict) -> str:
    rows = []
    for variant, t in tallies.items():
        flagged = t.share("right_flagged", "right")
        rows.append([f"{variant}: {pages.MNIST_FILES[variant]}", str(t.n),
                     pct(t.share("right")), pct(flagged) + (" **!**" if flagged >
                                                            TARGET_RIGHT_FLAGGED else ""),
                     pct(t.share("sure_wrong")), pct(t.share("errors"))])
    a = arrays
    rows.append(["the same digits as arrays (`predict_proba` + `is_unsure`)", str(a["n"]),
                 pct(a["right"] / a["n"]), pct(a["right_flagged"] / max(a["right"], 1)),
                 pct(a["sure_wrong"] / a["n"]), "-"])
    rows.append(["all 10,000 test digits as arrays", str(full["n"]), pct(full["right"] / full["n"]),
                 pct(full["right_flagged"] / max(full["right"], 1)),
                 pct(full["sure_wrong"] / full["n"]), "-"])
    return table(["files", "digits", "read right",
                  f"right answers flagged (target <= {TARGET_RIGHT_FLAGGED:.0%})",
                  "wrong, not flagged", "no digit found"], rows)


def report_tiny(t: Tally) -> str:
    blank = f"{t.nearly_blank}" + (" **!**" if t.nearly_blank else "")
    kinds = ", ".join(f"{k} ({v})" for k, v in t.error_kinds.most_common(3)) or "-"
    return table(["pictures", "read right", "not sure (incl. no digit)", "wrong, not flagged",
                  "'nearly blank' answers (must be 0)", "errors"],
                 [[str(t.n), pct(t.share("right")), pct(t.share("flagged")),
                   pct(t.share("sure_wrong")), blank, kinds]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", default=None,
                        help="a trained MNIST model (.npz); repeat for several (default: "
                             "runs/*/best.npz of the mlp and cnn configs)")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist",
                        help="folder with the MNIST files")
    parser.add_argument("--count", type=int, default=100, help="pictures per condition")
    parser.add_argument("--numbers", type=int, default=None,
                        help="pictures of numbers (default: --count)")
    parser.add_argument("--files", type=int, default=300,
                        help="MNIST test digits saved as files, per kind of file (default 300)")
    parser.add_argument("--tiny", type=int, default=None,
                        help="tiny blurry digits (default: --count)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of everything")
    parser.add_argument("--conditions", help="comma-separated page conditions (default: all): "
                        + ", ".join(pages.CONDITIONS))
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--save-examples", type=Path, metavar="DIR",
                        help=f"write the first {EXAMPLES} pictures of each condition and up to "
                             f"{EXAMPLES} the first model read wrong or flagged, with the true "
                             "box (green) and the box read (red), and what the network saw")
    parser.add_argument("--finder", type=Path, metavar="FILE",
                        help="read one-digit pictures with this learned ink finder "
                             "(benchmarks/train_ink_finder.py; numbers are read without it)")
    args = parser.parse_args(argv)
    args.numbers = args.count if args.numbers is None else args.numbers
    args.tiny = args.count if args.tiny is None else args.tiny

    model_paths = args.model or [os.path.relpath(p) for p in default_models()]
    if not model_paths:
        parser.error("no model: give --model PATH (no runs/*/best.npz of mlp or cnn found)")
    conditions = list(pages.CONDITIONS) if not args.conditions else \
        [c.strip() for c in args.conditions.split(",") if c.strip()]
    unknown = [c for c in conditions if c not in pages.CONDITIONS]
    if unknown:
        parser.error(f"unknown conditions {unknown}; known: {', '.join(pages.CONDITIONS)}")

    ds = load_dataset("mnist", str(args.data_dir))
    test_images, test_labels = ds.test_images, np.asarray(ds.test_labels)
    order = np.random.default_rng([args.seed, 0]).permutation(len(test_images))
    pick = order[:args.count]
    images, labels = test_images[pick], test_labels[pick]
    file_pick = order[:args.files]
    models = {p: load(p) for p in model_paths}
    finder_path = args.finder
    args.finder = load_finder(finder_path) if finder_path else None

    command = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    print("# barenet: reading digits on everyday pages\n")
    print(f"- command: `{command}`")
    print(f"- date: {now}; CPU: {cpu_name()}")
    print(f"- models: {', '.join(model_paths)}")
    print(f"- reader: {f'the learned ink finder {finder_path}' if finder_path else 'plain'}")
    print(f"- {args.count} MNIST test digits per condition (the same ones in every condition), "
          f"{args.numbers} numbers, {args.files} digits per kind of file, {args.tiny} tiny "
          f"digits; seed {args.seed}\n")

    t0 = time.perf_counter()
    progress("rendering and reading:")
    page_tallies = bench_pages(models, images, labels, conditions, args)
    numbers = bench_numbers(models, test_images, test_labels, args) if args.numbers else None
    files, arrays = bench_files(models, test_images[file_pick], test_labels[file_pick], args) \
        if args.files else (None, None)
    tiny = bench_tiny(models, images[:args.tiny] if args.tiny <= args.count else
                      test_images[order[:args.tiny]],
                      labels[:args.tiny] if args.tiny <= args.count else
                      test_labels[order[:args.tiny]], args) if args.tiny else None

    results: dict = {"command": command, "date": now, "cpu": cpu_name(), "seed": args.seed,
                     "count": args.count, "held_out": sorted(pages.HELD_OUT), "models": {}}
    for m, model in models.items():
        probs = model.predict_proba(test_images)
        right = probs.argmax(axis=1) == test_labels
        unsure = is_unsure(probs, model.min_confidence)
        full = {"n": len(test_labels), "right": int(right.sum()),
                "right_flagged": int((right & unsure).sum()),
                "sure_wrong": int((~right & ~unsure).sum())}
        print(f"## {m}\n")
        print(f"### Pages: one digit per picture ({args.count} per condition)\n")
        print(report_pages(page_tallies[m], float(right[pick].mean())) + "\n")
        entry: dict = {"pages": {c: t.as_json() for c, t in page_tallies[m].items()},
                       "plain_accuracy_same_digits": float(right[pick].mean()),
                       "test_arrays": full}
        if numbers:
            print(f"### Numbers on a sticky note, read with `read_number` ({args.numbers} "
                  "pictures)\n")
            print(report_numbers(numbers[m]) + "\n")
            entry["numbers"] = {k: asdict(t) for k, t in numbers[m].items()}
        if files:
            print(f"### Clean files: MNIST test digits saved as PNG ({args.files} per kind)\n")
            print(report_files(files[m], arrays[m], full) + "\n")
            entry["clean_files"] = {v: t.as_json() for v, t in files[m].items()}
            entry["clean_files_arrays"] = arrays[m]
        if tiny:
            print(f"### Tiny and blurry: 8x8 like scikit-learn's digits, enlarged to 64x64 "
                  f"({args.tiny} pictures)\n")
            print(report_tiny(tiny[m]) + "\n")
            entry["tiny_blurry"] = tiny[m].as_json()
        results["models"][m] = entry
    crashes = sorted({k for per in page_tallies.values() for t in per.values()
                      for k in t.error_kinds if k.startswith("CRASH")})
    if crashes:
        print("## Crashes (exceptions that are not a BarenetError)\n")
        for k in crashes:
            print(f"- {k}")
        print()
    elapsed = time.perf_counter() - t0
    print(f"total time {elapsed:.0f} s")
    results["seconds"] = elapsed
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
