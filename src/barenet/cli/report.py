"""``barenet report``: write a run folder's plots (curves, confusion, mistakes, weights) as PNGs."""

from __future__ import annotations

import argparse
from pathlib import Path

from .evaluate import RUN_MODELS, load_test_split, model_in_run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                        help="a run folder written by `barenet train`")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="folder holding the dataset's IDX files (default: found by "
                             "barenet.data: $BARENET_DATA, the cache, or a download)")
    parser.add_argument("--model", choices=sorted(RUN_MODELS), default=None,
                        help="which model of the run to plot: best.npz or model.npz "
                             "(default: best, else final)")


def run(args: argparse.Namespace) -> int:
    from ..plots import history_epochs, write_report
    from ..serialization import load
    from ..training.runs import RunFolder

    model_path = model_in_run(args.run_dir, args.model)
    run_folder = RunFolder(args.run_dir)
    epochs = history_epochs(run_folder.read_history())  # checked before the data loads
    model = load(model_path)
    data = load_test_split(model, None, args.data_dir)
    written = write_report(run_folder.path, model, data.test_images, data.test_labels,
                           data.class_names, epochs)
    print(f"plots of {model_path} on the {data.name} test split:")
    for path in written:
        print(path)
    return 0
