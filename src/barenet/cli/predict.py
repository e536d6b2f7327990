"""``barenet predict``: classify image files of handwritten digits (or other MNIST-like classes).

Each file is decoded (:mod:`barenet.images`), turned into the 28x28 image the
network expects (:func:`barenet.preprocess.preprocess`, the same function the
drawing app uses) and classified. A file that cannot be read or holds no digit
gets a one-line error on stderr; the others are still classified, and the exit
status is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BarenetError
from .evaluate import positive_int, resolve_model_path

EXIT_SOME_FAILED = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register IMAGE..., --model, --top-k and --json."""
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image files: PNG, JPEG, BMP, GIF, any size, colour or grey, "
                             "light or dark background")
    parser.add_argument("--model", type=Path,
                        help="model file or run folder (default: the newest model under runs/)")
    parser.add_argument("--top-k", type=positive_int, default=3, metavar="K",
                        help="how many of the most likely classes to show (default 3)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON list with a result or an error per file")


def top_k(probabilities: np.ndarray, names: list[str], k: int) -> list[tuple[str, float]]:
    """The ``k`` most likely ``(class name, probability)`` pairs, most likely first."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(names[i] if i < len(names) else str(i), float(probabilities[i])) for i in order]


def run(args: argparse.Namespace) -> int:
    """Classify every file; 0 if all were classified, 1 if any failed."""
    from ..images import load_image
    from ..preprocess import check_input_size, preprocess
    from ..serialization import load

    model_path = resolve_model_path(args.model)
    model = load(model_path)
    check_input_size(model, model_path)
    names = model.class_names

    results: list[dict[str, Any]] = []
    failed = 0
    for image in args.images:
        try:
            seen = preprocess(load_image(image))
        except BarenetError as exc:
            failed += 1
            message = str(exc) if str(exc).startswith(str(image)) else f"{image}: {exc}"
            print(f"barenet: error: {message}", file=sys.stderr)
            results.append({"file": image, "error": message})
            continue
        best = top_k(model.predict_proba(seen[None])[0], names, args.top_k)
        results.append({"file": image, "predictions": [
            {"class": name, "probability": round(p, 6)} for name, p in best]})
        if not args.json:
            shown = "  ".join(f"{name} {100 * p:5.1f}%" for name, p in best)
            print(f"{image}: {shown}")
    if args.json:
        print(json.dumps(results, indent=2))
    return EXIT_SOME_FAILED if failed else 0
