"""``barenet report``: write a run folder's plots (curves, confusion, mistakes, weights) as PNGs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import BarenetError
from .evaluate import RUN_MODELS, load_test_split, model_in_run

HISTORY = "history.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                        help="a run folder written by `barenet train`")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="folder holding the dataset's IDX files (default: found by "
                             "barenet.data: $BARENET_DATA, the cache, or a download)")
    parser.add_argument("--model", choices=sorted(RUN_MODELS), default=None,
                        help="which model of the run to plot: best.npz or model.npz "
                             "(default: best, else final)")


def read_history(path: Path) -> list[dict[str, Any]]:
    """The ``"epochs"`` list of a run's ``history.json``.

    Raises
    ------
    BarenetError
        The file is missing, not JSON, or has no list of per-epoch objects.
    """
    if not path.is_file():
        raise BarenetError(f"{path}: missing; is {path.parent} a run folder written by "
                           "`barenet train`?")
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BarenetError(f"{path}: not a readable history file ({exc})") from None
    epochs = history.get("epochs") if isinstance(history, dict) else None
    if not isinstance(epochs, list) or not all(isinstance(e, dict) for e in epochs):
        raise BarenetError(f"{path}: has no \"epochs\" list of per-epoch objects; "
                           "re-run the training to rewrite it")
    return epochs


def run(args: argparse.Namespace) -> int:
    from ..plots import write_report
    from ..serialization import load

    model_path = model_in_run(args.run_dir, args.model)
    epochs = read_history(args.run_dir / HISTORY)
    model = load(model_path)
    data = load_test_split(model, None, args.data_dir)
    written = write_report(args.run_dir, model, data.test_images, data.test_labels,
                           data.class_names, epochs)
    print(f"plots of {model_path} on the {data.name} test split:")
    for path in written:
        print(path)
    return 0
