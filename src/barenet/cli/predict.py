"""``barenet predict``: classify image files of handwritten digits (or other MNIST-like classes).

Each file is decoded (:mod:`barenet.vision.images`), its ink found and turned into the
28x28 image the network expects (:mod:`barenet.vision`, the same code the
drawing app uses) and read (:mod:`barenet.vision.reading`): one digit, or with
``--number`` a row of digits. An answer the model is not sure of is printed as
``?``. A file that cannot be read or holds no digit gets a one-line error on
stderr; the others are still classified, and the exit status is 2, as for any bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import EXIT_USER_ERROR, BarenetError
from ..io.files import ensure_writable_dir, printable, shown
from .arguments import positive_int
from .evaluate import resolve_model_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register IMAGE..., --model, --top-k, --number, --show and --json."""
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image files: PNG, JPEG, BMP, GIF, any size, colour or grey, "
                             "light or dark background; drawings, scans or phone photos")
    parser.add_argument("--model", type=Path,
                        help="model file or run folder (default: the newest model under runs/)")
    parser.add_argument("--top-k", type=positive_int, default=3, metavar="K",
                        help="how many of the most likely classes to show (default 3)")
    parser.add_argument("--number", action="store_true",
                        help="each picture holds a row of 2 to 12 digits (a house number, a "
                             "postcode): read them all, left to right")
    parser.add_argument("--show", type=Path, metavar="DIR",
                        help="write DIR/<image>.seen.png for each picture (a free name: no "
                             "file is replaced): the original, the ink found with the crop "
                             "box, the 28x28 the network received, and which of its pixels "
                             "pushed the answer towards its class or away; DIR must not be a "
                             "folder that holds the pictures")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON list with a result or an error per file")


def _percent(p: float) -> str:
    return f"{100 * p:.0f}%"


def _digit_json(reading: Any, k: int) -> dict[str, Any]:
    return {"class": reading.label, "probability": round(reading.probability, 6),
            "unsure": reading.unsure, "box": list(reading.box),
            "top": [{"class": name, "probability": round(p, 6)} for name, p in reading.top[:k]]}


def _line_digit(reading: Any, k: int) -> str:
    """``7  98.1%  1 1.2% ...`` or ``? (not sure: 4 41%, 9 38%)``."""
    if reading.unsure:
        best = ", ".join(f"{name} {_percent(p)}" for name, p in reading.top[:max(k, 2)])
        return f"? (not sure: {best})"
    return "  ".join(f"{name} {100 * p:5.1f}%" for name, p in reading.top[:k])


def _line_number(result: Any) -> str:
    """``4096  (4 99%, 0 97%, 9 88%, 6 99%)``, with ``?`` for unsure digits."""
    shown = "".join("?" if d.unsure else d.label for d in result.digits)
    parts = ", ".join(f"{d.label} {_percent(d.probability)}" + (" ?" if d.unsure else "")
                      for d in result.digits)
    notes = "".join(f"; {note}" for note in result.notes)
    return f"{shown}  ({parts}){' not sure' if result.unsure else ''}{notes}"


def run(args: argparse.Namespace) -> int:
    """Classify every file; 0 if all were classified, 2 (bad input) if any failed."""
    from ..model.load import load
    from ..vision import check_input_size, extract
    from ..vision.images import load_image
    from ..vision.number import marks_beside
    from ..vision.reading import read_digit, read_number

    model_path = resolve_model_path(args.model)
    model = load(model_path)
    check_input_size(model, model_path)
    if args.show is not None:
        check_show_folder(args.show, args.images)

    results: list[dict[str, Any]] = []
    failed = 0
    for image in args.images:
        try:
            picture = load_image(image)
            found = extract(picture)
            if args.number:
                number = read_number(model, picture, found)
                result = {"file": image, "number": number.number,
                          "digits": [_digit_json(d, args.top_k) for d in number.digits],
                          "unsure": number.unsure, "notes": number.notes}
                line = _line_number(number)
                readings = number.digits
            else:
                reading = read_digit(model, picture, found)
                beside = marks_beside(found)
                notes = [f"the picture holds {beside + 1} digit-sized marks in a row: to read "
                         "them all, add --number"] if beside else []
                result = {"file": image, "class": reading.label,
                          "probability": round(reading.probability, 6),
                          "unsure": reading.unsure, "box": list(reading.box),
                          "predictions": [{"class": name, "probability": round(p, 6)}
                                          for name, p in reading.top[:args.top_k]],
                          "notes": notes}
                line = _line_digit(reading, args.top_k) + "".join(f"; {n}" for n in notes)
                readings = [reading]
            if args.show is not None:
                from ..evaluation.plots import plot_reading

                stem = f"{Path(image).stem or 'image'}.seen"
                result["show"] = str(plot_reading(picture, found, readings,
                                                  args.show / f"{stem}.png", model))
                line += f"\n  what the network saw: {shown(result['show'])}"
        except BarenetError as exc:
            failed += 1
            message = str(exc) if str(exc).startswith(str(image)) else f"{image}: {exc}"
            print(f"barenet: error: {printable(message)}", file=sys.stderr)
            results.append({"file": image, "error": message})
            continue
        results.append(result)
        if not args.json:
            print(f"{shown(image)}: {line}")
    if args.json:
        print(json.dumps(results, indent=2, allow_nan=False))
    return EXIT_USER_ERROR if failed else 0


def check_show_folder(folder: Path, images: list[str]) -> None:
    """Refuse a ``--show`` folder that holds any of the pictures read, then make sure it can
    be written.

    The pictures shown are written under free names, so no file is replaced;
    refusing the pictures' own folder also keeps the plots out from among them.

    Raises
    ------
    BarenetError
        The folder holds an input picture, or cannot be written.
    """
    target = os.path.abspath(folder)
    for image in images:
        parent = os.path.dirname(os.path.abspath(image))
        same = parent == target
        if not same and os.path.isdir(target):
            with contextlib.suppress(OSError):
                same = os.path.samefile(parent, target)
        if same:
            raise BarenetError(f"--show {shown(folder)} holds the picture {shown(image)}; "
                               "give --show a folder of its own (for example "
                               f"{shown(Path(folder) / 'seen')})")
    ensure_writable_dir(folder, "--show folder", "choose another folder")
