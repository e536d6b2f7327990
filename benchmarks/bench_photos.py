"""How well does barenet read photos and scans of handwritten digits?

MNIST test digits are redrawn as pen strokes and photographed, in software,
under one condition at a time (``benchmarks/scenes.py``: uneven light,
shadows, ruled paper, pencil, JPEG, a finger in the frame...). Each picture is
encoded as a file in memory (PNG, or JPEG for the ``jpeg`` and ``phone_photo``
conditions, quality 90 as a phone saves it), decoded with
:func:`barenet.vision.images.load_image` and read with :func:`barenet.vision.reading.read_digit`,
exactly as ``barenet predict`` does (the ``jpeg`` and ``phone_photo`` pictures
were already JPEG-compressed once by the scene, at the condition's quality: saved
twice, as a forwarded photo is). The same random subset of test digits is
used in every condition, and every picture is determined by ``--seed``, the
condition and its index. Four sections are printed as markdown tables, per model:

1. **Digits**: accuracy per condition next to the model's plain accuracy on the
   same MNIST test digits, the fraction answered "not sure", and the time per picture;
2. **Numbers**: rows of 2 to 12 digits (:func:`barenet.vision.reading.read_number`), digit
   by digit and whole;
3. **Not sure**: how often pictures that are *not* digits (letters, symbols,
   scribbles, shapes, blank paper, words) are flagged, and how often right answers
   on plain and photo digits are;
4. with ``--big``, the time and memory to read one 12-megapixel JPEG.

A picture on which reading raises (no digit found) counts as wrong, and as flagged.

Usage::

    python benchmarks/bench_photos.py --model runs/mlp0/best.npz --count 50 --numbers 20
    python benchmarks/bench_photos.py --save-examples /tmp/photos --big
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import resource
import shlex
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenes  # noqa: E402  (benchmarks/scenes.py, next to this file)

from barenet.data import load_dataset  # noqa: E402
from barenet.errors import BarenetError  # noqa: E402
from barenet.model.calibration import is_unsure  # noqa: E402
from barenet.model.classifier import Sequential  # noqa: E402
from barenet.model.load import load  # noqa: E402
from barenet.vision.images import load_image  # noqa: E402
from barenet.vision.reading import read_digit, read_number  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
#: Conditions whose pictures are stored as JPEG (the others as PNG).
JPEG_CONDITIONS = {"jpeg", "phone_photo"}
#: Quality of that JPEG (a phone camera's usual setting).
JPEG_QUALITY = 90
#: Pictures per condition (and numbers, non-digits per kind) written by --save-examples.
EXAMPLES = 3


# --------------------------------------------------------------------------- helpers

def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, and the number of CPUs."""
    name = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} CPUs)"


def default_models() -> list[Path]:
    """``runs/*/best.npz`` of the runs trained with the ``mlp`` and ``cnn`` configs."""
    found: dict[str, list[Path]] = {"mlp": [], "cnn": []}
    for config in sorted((REPO / "runs").glob("*/config.toml")):
        best = config.parent / "best.npz"
        if not best.exists():
            continue
        for line in config.read_text().splitlines():
            if line.strip().startswith("name"):
                name = line.split("=", 1)[1].strip().strip("\"'")
                if name in found:
                    found[name].append(best)
                break
    return found["mlp"] + found["cnn"]


def png_bytes(image: np.ndarray, level: int = 0) -> bytes:
    """A PNG file of an 8-bit RGB (or grey) image, written directly (no row filters).

    Pillow's PNG encoder tries every row filter even when not compressing,
    which costs more than rendering a big photo; the pixels are the same.
    """
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = image.shape[:2]
    colour = 2 if image.ndim == 3 else 0
    rows = np.zeros((h, 1 + image[0].size), np.uint8)  # filter byte 0 ("none") per row
    rows[:, 1:] = image.reshape(h, -1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + \
            struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + \
        chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) + chunk(b"IEND", b"")


def encode(image: np.ndarray, jpeg: bool) -> bytes:
    """``image`` as the bytes of a PNG (lossless) or JPEG file."""
    if not jpeg:
        return png_bytes(image)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def decode(data: bytes) -> tuple[np.ndarray, float]:
    """The picture as ``barenet predict`` decodes it, and the seconds it took."""
    start = time.perf_counter()
    image = load_image(io.BytesIO(data))
    return image, time.perf_counter() - start


def save_example(folder: Path, name: str, data: bytes, jpeg: bool,
                 seen: np.ndarray | None = None) -> list[Path]:
    """Write a picture as read (PNGs recompressed: the same pixels) and what the net saw."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{'jpg' if jpeg else 'png'}"
    if jpeg:
        path.write_bytes(data)
    else:
        with Image.open(io.BytesIO(data)) as image:
            image.save(path, "PNG", compress_level=6)
    written = [path]
    if seen is not None:
        big = Image.fromarray(np.round(np.clip(seen, 0, 1) * 255).astype(np.uint8))
        seen_path = folder / f"{name}_seen.png"
        big.resize((112, 112), Image.Resampling.NEAREST).save(seen_path)
        written.append(seen_path)
    return written


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- results

@dataclass
class Tally:
    """Answers of one model on a group of pictures."""

    n: int = 0
    right: int = 0
    unsure: int = 0
    errors: int = 0
    sure_wrong: int = 0
    seconds: float = 0.0
    right_unsure: int = 0
    wrong_unsure: int = 0
    answers: collections.Counter = field(default_factory=collections.Counter)

    def add(self, right: bool, unsure: bool, error: bool, seconds: float,
            answer: str = "") -> None:
        self.n += 1
        self.right += right
        self.unsure += unsure or error
        self.errors += error
        self.sure_wrong += not right and not unsure and not error
        self.right_unsure += right and unsure
        self.wrong_unsure += not right and (unsure or error)
        self.seconds += seconds
        if answer:
            self.answers[answer] += 1

    def accuracy(self) -> float:
        return self.right / max(self.n, 1)


def describe(exc: Exception) -> str:
    """An exception raised by reading, as one line; ``CRASH`` unless it is a BarenetError."""
    kind = "" if isinstance(exc, BarenetError) else "CRASH "
    return f"{kind}{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


@dataclass
class Answer:
    """What reading one picture gave."""

    label: str = ""
    unsure: bool = True
    error: str | None = None
    seconds: float = 0.0
    seen: np.ndarray | None = None
    warned: list[str] = field(default_factory=list)


def attempt(read: Callable[[Sequential, np.ndarray], object], model: Sequential,
            image: np.ndarray) -> tuple[object | None, Answer]:
    """Call ``read(model, image)``, catching every exception and warning it raises.

    An EmptyDrawingError means "no digit found"; an exception that is not a
    BarenetError is a crash of the reading code (:func:`describe`).
    """
    answer = Answer()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = read(model, image)
        except Exception as exc:  # noqa: BLE001 - every failure is a result to report
            result, answer.error = None, describe(exc)
    answer.seconds = time.perf_counter() - start
    answer.warned = sorted({f"WARNING {w.category.__name__}: {w.message}" for w in caught})
    return result, answer


def read_one(model: Sequential, image: np.ndarray) -> Answer:
    """:func:`barenet.vision.reading.read_digit` on one picture."""
    r, answer = attempt(read_digit, model, image)
    if r is not None:
        answer.label, answer.unsure, answer.seen = r.label, bool(r.unsure), r.seen
    return answer


# --------------------------------------------------------------------------- sections

def bench_digits(models: dict[str, Sequential], images: np.ndarray, labels: np.ndarray,
                 conditions: list[str], args: argparse.Namespace,
                 problems: list[tuple[str, str, str, str]]) -> dict[str, dict[str, Tally]]:
    """Every condition on the same MNIST test digits; returns tallies[model][condition]."""
    tallies: dict[str, dict[str, Tally]] = {m: {} for m in models}
    order = list(scenes.CONDITIONS)
    failures: dict[str, int] = {}  # examples of wrong or unsure answers saved, per condition
    for condition in conditions:
        jpeg = condition in JPEG_CONDITIONS
        start = time.perf_counter()
        render_s = 0.0
        for m in models:
            tallies[m][condition] = Tally()
        for i, (digit, label) in enumerate(zip(images, labels, strict=True)):
            rng = np.random.default_rng([args.seed, 1, order.index(condition), i])
            t0 = time.perf_counter()
            picture, _ = scenes.render_digit(digit, rng, condition)
            data = encode(picture, jpeg)
            render_s += time.perf_counter() - t0
            image, decode_s = decode(data)
            for k, (m, model) in enumerate(models.items()):
                a = read_one(model, image)
                right = a.label == str(label)
                tallies[m][condition].add(right, a.unsure, a.error is not None,
                                          decode_s + a.seconds, a.label)
                name = f"{condition}_{i:03d}_true{label}_read{a.label or 'none'}"
                for trouble in ([a.error] if a.error else []) + a.warned:
                    if k == 0 or not trouble.startswith("EmptyDrawingError"):
                        problems.append((condition, trouble, m, f"digit #{i} (true {label})"))
                if args.save_examples and k == 0:
                    if i < EXAMPLES:
                        save_example(args.save_examples / "digits", name, data, jpeg, a.seen)
                    elif (not right or a.unsure) and failures.get(condition, 0) < EXAMPLES:
                        failures[condition] = failures.get(condition, 0) + 1
                        save_example(args.save_examples / "digits_wrong_or_unsure", name, data,
                                     jpeg, a.seen)
        progress(f"  digits {condition}: {len(images)} pictures in "
                 f"{time.perf_counter() - start:.1f} s (rendering {render_s:.1f} s)")
    return tallies


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest digits inserted, deleted or changed to turn a into b."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (x != y))
    return row[-1]


@dataclass
class NumberTally:
    """Answers of one model on pictures of numbers."""

    n: int = 0
    whole: int = 0
    digits: int = 0
    digits_right: int = 0
    edits: int = 0
    wrong_count: int = 0
    unsure: int = 0
    errors: int = 0
    seconds: float = 0.0
    plain_right: int = 0  # the same digits' 28x28 MNIST images, read right
    single_right: int = 0  # the same digits, one per photo of the same condition, read right


def bench_numbers(models: dict[str, Sequential], images: np.ndarray, labels: np.ndarray,
                  plain: dict[str, np.ndarray], args: argparse.Namespace,
                  problems: list[tuple[str, str, str, str]]
                  ) -> dict[str, dict[str, NumberTally]]:
    """Rows of 2-12 MNIST test digits under random conditions; tallies[model][length group].

    ``plain[m]`` says which of ``images`` model ``m`` reads right as plain 28x28 images.
    """
    groups = {"2-4 digits": range(2, 5), "5-8 digits": range(5, 9), "9-12 digits": range(9, 13)}
    tallies = {m: {g: NumberTally() for g in [*groups, "all"]} for m in models}
    names = list(scenes.CONDITIONS)
    start = time.perf_counter()
    for i in range(args.numbers):
        rng = np.random.default_rng([args.seed, 2, i])
        length = int(rng.integers(2, 13))
        picks = rng.choice(len(images), length, replace=False)
        condition = names[int(rng.integers(len(names)))]
        truth = "".join(str(labels[p]) for p in picks)
        picture, _ = scenes.render_number([images[p] for p in picks], rng, condition)
        jpeg = condition in JPEG_CONDITIONS
        data = encode(picture, jpeg)
        image, decode_s = decode(data)
        group = next(g for g, r in groups.items() if length in r)
        singles = []  # each digit of the row alone, photographed under the row's condition
        for d, p in enumerate(picks):
            alone, _ = scenes.render_digit(images[p], np.random.default_rng([args.seed, 5, i, d]),
                                           condition)
            singles.append(decode(encode(alone, jpeg))[0])
        for k, (m, model) in enumerate(models.items()):
            plain_right = int(plain[m][picks].sum())
            single_right = sum(read_one(model, alone).label == str(labels[p])
                               for alone, p in zip(singles, picks, strict=True))
            n, a = attempt(read_number, model, image)
            found, unsure, error = (n.number, bool(n.unsure), None) if n is not None else \
                ("", True, a.error)
            seconds = decode_s + a.seconds
            right_digits = sum(a == b for a, b in zip(found, truth, strict=True)) \
                if len(found) == len(truth) else 0
            for g in (group, "all"):
                t = tallies[m][g]
                t.n += 1
                t.whole += found == truth
                t.digits += length
                t.digits_right += right_digits
                t.edits += min(edit_distance(found, truth), length)
                t.wrong_count += len(found) != len(truth)
                t.unsure += unsure
                t.errors += error is not None
                t.seconds += seconds
                t.plain_right += plain_right
                t.single_right += single_right
            for trouble in ([error] if error else []) + a.warned:
                if k == 0 or not trouble.startswith("EmptyDrawingError"):
                    problems.append((f"numbers/{condition}", trouble, m, f"number #{i} {truth}"))
            if args.save_examples and k == 0 and i < 2 * EXAMPLES:
                save_example(args.save_examples / "numbers",
                             f"number_{i:03d}_{condition}_true{truth}_read{found or 'none'}",
                             data, jpeg)
    progress(f"  numbers: {args.numbers} pictures in {time.perf_counter() - start:.1f} s")
    return tallies


def bench_non_digits(models: dict[str, Sequential], args: argparse.Namespace,
                     problems: list[tuple[str, str, str, str]]) -> dict[str, dict[str, Tally]]:
    """Pictures that are not digits; a flag (unsure or no digit found) is the right answer.

    Each is stored as PNG, or (three times in ten) as JPEG.
    """
    tallies: dict[str, dict[str, Tally]] = {m: {} for m in models}
    start = time.perf_counter()
    for kind_index, (kind, make) in enumerate(scenes.NON_DIGITS.items()):
        for m in models:
            tallies[m][kind] = Tally()
        for i in range(args.non_digits):
            rng = np.random.default_rng([args.seed, 3, kind_index, i])
            picture = make(rng)
            jpeg = bool(rng.random() < 0.3)
            data = encode(picture, jpeg)
            image, decode_s = decode(data)
            for k, (m, model) in enumerate(models.items()):
                a = read_one(model, image)
                tallies[m][kind].add(False, a.unsure, a.error is not None, decode_s + a.seconds,
                                     "" if a.unsure else a.label)
                for trouble in ([a.error] if a.error else []) + a.warned:
                    if not trouble.startswith("EmptyDrawingError"):
                        problems.append((f"non-digit/{kind}", trouble, m, f"picture #{i}"))
                if args.save_examples and k == 0 and i < EXAMPLES:
                    flag = "none" if a.error else ("unsure" + a.label if a.unsure else a.label)
                    save_example(args.save_examples / "non_digits",
                                 f"{kind}_{i:03d}_read{flag}", data, jpeg, a.seen)
    progress(f"  non-digits: {args.non_digits * len(scenes.NON_DIGITS)} pictures in "
             f"{time.perf_counter() - start:.1f} s")
    return tallies


def _status_kb(field_name: str) -> int | None:
    """A ``VmRSS``/``VmHWM``-style field of /proc/self/status, in kB (None if unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def big_child(path: str, model_path: str) -> int:
    """(Child process of --big.) Read one file and print its time and memory as JSON.

    The peak is the resident set's high-water mark during load_image + read_digit
    (reset first through /proc/self/clear_refs where Linux allows it, else
    ``getrusage``'s lifetime maximum) minus the resident set just before.
    """
    model = load(model_path)
    try:  # reset VmHWM to the current RSS, so the peak is the reading's own
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    before = _status_kb("VmRSS") if reset else None
    before_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    image = load_image(path)
    decoded = time.perf_counter()
    try:
        answer = read_digit(model, image).label
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        answer = describe(exc)
    done = time.perf_counter()
    peak = _status_kb("VmHWM") if reset else None
    if before is not None and peak is not None:
        rss_delta, how = (peak - before) / 1024, "VmHWM - VmRSS"
    else:
        rss_delta = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_max) / 1024
        how = "ru_maxrss delta"
    del image
    tracemalloc.start()  # a second run, traced: the peak of numpy and Python allocations
    try:
        read_digit(model, load_image(path))
    except Exception:  # noqa: BLE001, S110 - already reported above
        pass
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({"decode_s": decoded - start, "total_s": done - start,
                      "rss_delta_mb": rss_delta, "rss_how": how,
                      "traced_peak_mb": traced / 2**20,
                      "shape": [int(v) for v in np.shape(load_image(path))], "answer": answer}))
    return 0


def bench_big(model_paths: list[str], images: np.ndarray, labels: np.ndarray,
              args: argparse.Namespace) -> list[list[str]]:
    """One 4000x3000 JPEG phone photo, read by a fresh process per model."""
    rng = np.random.default_rng([args.seed, 4])
    index = int(rng.integers(len(images)))
    start = time.perf_counter()
    picture, _ = scenes.render_digit(images[index], rng, "phone_photo", frame=(3000, 4000))
    data = encode(picture, jpeg=True)
    progress(f"  big: rendered a {picture.shape[1]}x{picture.shape[0]} photo "
             f"({len(data) / 1e6:.1f} MB JPEG) in {time.perf_counter() - start:.1f} s")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.jpg"
        path.write_bytes(data)
        if args.save_examples:
            args.save_examples.mkdir(parents=True, exist_ok=True)
            (args.save_examples / f"big_true{labels[index]}.jpg").write_bytes(data)
        for model_path in model_paths:
            out = subprocess.run([sys.executable, __file__, "--big-child", str(path),
                                  "--model", model_path], capture_output=True, text=True,
                                 check=False)
            if out.returncode != 0:
                rows.append([model_path, "failed", "", "", "", out.stderr.strip()[-200:]])
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append([model_path, f"{r['total_s']:.2f}", f"{r['decode_s']:.2f}",
                         f"{r['rss_delta_mb']:.0f} ({r['rss_how']})",
                         f"{r['traced_peak_mb']:.0f}",
                         f"{r['answer']} (true {labels[index]}; decoded "
                         f"{r['shape'][1]}x{r['shape'][0]})"])
    return rows


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", default=None,
                        help="a trained MNIST model (.npz); repeat for several (default: "
                             "runs/*/best.npz of the mlp and cnn configs)")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist",
                        help="folder with the MNIST files")
    parser.add_argument("--count", type=int, default=40, help="digits per condition")
    parser.add_argument("--numbers", type=int, default=40, help="pictures of numbers")
    parser.add_argument("--non-digits", type=int, default=25,
                        help="pictures per kind of non-digit")
    parser.add_argument("--seed", type=int, default=0, help="random seed of everything")
    parser.add_argument("--conditions", help="comma-separated conditions (default: all): "
                        + ", ".join(scenes.CONDITIONS))
    parser.add_argument("--save-examples", type=Path, metavar="DIR",
                        help=f"write the first {EXAMPLES} pictures of each condition and kind "
                             f"(and up to {EXAMPLES} more the first model got wrong or was "
                             "unsure of), with what the network saw")
    parser.add_argument("--big", action="store_true",
                        help="also time reading one 12-megapixel JPEG, and its peak memory")
    parser.add_argument("--big-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.big_child:
        return big_child(args.big_child, args.model[0])

    model_paths = args.model or [os.path.relpath(p) for p in default_models()]
    if not model_paths:
        parser.error("no model: give --model PATH (no runs/*/best.npz of mlp or cnn found)")
    conditions = list(scenes.CONDITIONS) if not args.conditions else \
        [c.strip() for c in args.conditions.split(",") if c.strip()]
    unknown = [c for c in conditions if c not in scenes.CONDITIONS]
    if unknown:
        parser.error(f"unknown conditions {unknown}; known: {', '.join(scenes.CONDITIONS)}")

    ds = load_dataset("mnist", str(args.data_dir))
    test_images, test_labels = ds.test_images, np.asarray(ds.test_labels)
    pick = np.random.default_rng([args.seed, 0]).choice(len(test_images), args.count,
                                                        replace=False)
    images, labels = test_images[pick], test_labels[pick]
    models = {p: load(p) for p in model_paths}
    problems: list[tuple[str, str, str, str]] = []  # (condition, error, model, which)

    command = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
    print("# barenet: reading photos of handwritten digits\n")
    print(f"- command: `{command}`")
    print(f"- CPU: {cpu_name()}")
    print(f"- models: {', '.join(model_paths)}")
    print(f"- {args.count} MNIST test digits per condition (the same ones in every condition), "
          f"{args.numbers} numbers, {args.non_digits} pictures per non-digit kind, "
          f"seed {args.seed}\n")

    t0 = time.perf_counter()
    progress("rendering and reading:")
    digits = bench_digits(models, images, labels, conditions, args, problems)
    probs_of = {m: model.predict_proba(test_images) for m, model in models.items()}
    right_of = {m: p.argmax(axis=1) == test_labels for m, p in probs_of.items()}
    numbers = bench_numbers(models, test_images, test_labels, right_of, args, problems) \
        if args.numbers else None
    non_digits = bench_non_digits(models, args, problems) if args.non_digits else None
    big = bench_big(model_paths, test_images, test_labels, args) if args.big else None

    for m, model in models.items():
        plain_probs, plain_right = probs_of[m], right_of[m]
        plain_unsure = is_unsure(plain_probs, model.min_confidence)
        subset = plain_right[pick].mean()
        print(f"## {m}\n")
        print(f"### Digits: one digit per picture ({args.count} per condition)\n")
        rows = []
        for c, t in digits[m].items():
            acc = t.accuracy()
            rows.append([c, str(t.n), pct(acc), pct(subset), f"{100 * (acc - subset):+.1f}",
                         pct(t.unsure / max(t.n, 1)), pct(t.errors / max(t.n, 1)),
                         pct(t.sure_wrong / max(t.n, 1)), f"{t.seconds / max(t.n, 1):.3f}"])
        every = Tally()
        for t in digits[m].values():
            for name in ("n", "right", "unsure", "errors", "sure_wrong", "right_unsure",
                         "wrong_unsure"):
                setattr(every, name, getattr(every, name) + getattr(t, name))
            every.seconds += t.seconds
        acc = every.accuracy()
        rows.append(["**all**", str(every.n), pct(acc), pct(subset),
                     f"{100 * (acc - subset):+.1f}", pct(every.unsure / max(every.n, 1)),
                     pct(every.errors / max(every.n, 1)), pct(every.sure_wrong / max(every.n, 1)),
                     f"{every.seconds / max(every.n, 1):.3f}"])
        print(table(["condition", "pictures", "photo accuracy", "plain accuracy (same digits)",
                     "difference (points)", "not sure (incl. no digit)", "no digit found",
                     "sure and wrong", "s/picture"], rows))
        print("\nplain accuracy: `model.predict_proba` on the untouched 28x28 test images; "
              "s/picture: load_image + read_digit.\n")

        if numbers:
            single = digits[m].get("phone_photo")
            print(f"### Numbers: rows of 2-12 digits under random conditions "
                  f"({args.numbers} pictures)\n")
            rows = []
            for g, t in numbers[m].items():
                if not t.n:
                    continue
                rows.append([g, str(t.n), pct(1 - t.edits / max(t.digits, 1)),
                             pct(t.digits_right / max(t.digits, 1)),
                             pct(t.whole / t.n), pct(t.wrong_count / t.n), pct(t.unsure / t.n),
                             pct(t.errors / t.n), f"{t.seconds / t.n:.3f}",
                             pct(t.single_right / max(t.digits, 1)),
                             pct(t.plain_right / max(t.digits, 1))])
            print(table(["numbers", "pictures", "per-digit accuracy", "same, count must match",
                         "whole-number accuracy", "wrong count of digits", "not sure",
                         "no digit found", "s/picture", "same digits, one per photo",
                         "same digits, plain 28x28"], rows))
            print(f"\nper-digit accuracy: 1 - (digits inserted, deleted or changed to turn "
                  f"the reading into the truth) / digits, at least 0 per number (one minus "
                  f"the character error rate); 'count must match': position by position "
                  f"when the count of digits found is right, all wrong otherwise; 'same "
                  f"digits, one per photo': each digit of each row alone in a photo of the "
                  f"row's condition (read_digit), so that the cost of cutting a row into "
                  f"digits is the difference from per-digit accuracy. "
                  f"Single-digit photo accuracy for comparison: "
                  f"{pct(every.accuracy())} over the conditions above"
                  + (f", {pct(single.accuracy())} on phone_photo" if single else "") + ".\n")

        print("### Not sure: what gets flagged\n")
        rows = []
        if non_digits:
            for kind, t in non_digits[m].items():
                common = ", ".join(f"{a} ({n})" for a, n in t.answers.most_common(3))
                rows.append([f"not a digit: {kind}", str(t.n), pct(t.unsure / max(t.n, 1)),
                             pct(t.errors / max(t.n, 1)), common or "-"])
            for name, kinds in (("**all non-digits**", list(non_digits[m])),
                                ("**all but blank paper**",
                                 [k for k in non_digits[m] if k != "blank"])):
                n = sum(non_digits[m][k].n for k in kinds)
                rows.append([name, str(n),
                             pct(sum(non_digits[m][k].unsure for k in kinds) / max(n, 1)),
                             pct(sum(non_digits[m][k].errors for k in kinds) / max(n, 1)), "-"])
        right, wrong = plain_right, ~plain_right
        rows.append(["plain MNIST test, classified right", str(int(right.sum())),
                     pct(plain_unsure[right].mean()), "-", "-"])
        rows.append(["plain MNIST test, classified wrong", str(int(wrong.sum())),
                     pct(plain_unsure[wrong].mean()) if wrong.any() else "-", "-", "-"])
        rows.append(["photo digits, read right", str(every.right),
                     pct(every.right_unsure / max(every.right, 1)), "-", "-"])
        rows.append(["photo digits, read wrong", str(every.n - every.right),
                     pct(every.wrong_unsure / max(every.n - every.right, 1)),
                     pct(every.errors / max(every.n - every.right, 1)), "-"])
        print(table(["pictures", "n", "flagged (not sure or no digit)", "no digit found",
                     "answers when not flagged"], rows))
        print(f"\nplain MNIST: all {len(test_images)} test images through "
              f"`predict_proba` and `is_unsure` with the model's bar; plain accuracy "
              f"{pct(plain_right.mean())}.\n")

    if big:
        print("## 12-megapixel phone photo (4000x3000 JPEG, one digit)\n")
        print(table(["model", "load_image + read_digit (s)", "of which load_image (s)",
                     "peak RSS increase (MB)", "tracemalloc peak (MB)", "answer"], big))
        print("\nmeasured in a fresh process after loading the model: the resident set's "
              "peak during the read minus the resident set before it; tracemalloc in a "
              "second, traced run.\n")
    if problems:
        print("## Exceptions and warnings raised by reading\n")
        shown = collections.Counter((c, e if e.startswith(("CRASH", "WARNING")) else
                                     e.split(": ")[0], m) for c, e, m, _ in problems)
        rows = [[*key, str(n)] for key, n in sorted(shown.items())]
        print(table(["condition", "exception or warning", "model", "pictures"], rows))
        print("\nEmptyDrawingError (no digit found) is listed for the first model only; a CRASH "
              "is an exception that is not a BarenetError.")
        firsts = {}
        for condition, error, m, what in problems:
            if not error.startswith("EmptyDrawingError"):
                firsts.setdefault((condition, error, m), what)
        for (condition, error, m), what in sorted(firsts.items()):
            print(f"- first: {condition} {what}, {m}: {error}")
        print()
    print(f"total time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
