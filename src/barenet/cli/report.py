"""``barenet report``: write a run folder's plots (curves, confusion, mistakes, weights) as PNGs."""

from __future__ import annotations

import argparse
from pathlib import Path

from .evaluate import RUN_MODELS, load_test_split, model_in_run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                        help="a run folder written by `barenet train`")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="folder holding the dataset's IDX files (default: the folder the "
                             "run was trained on, else $BARENET_DATA, the cache, or a download)")
    parser.add_argument("--model", choices=sorted(RUN_MODELS), default=None,
                        help="which model of the run to plot: best.npz or model.npz "
                             "(default: best, else final)")


def run(args: argparse.Namespace) -> int:
    """Write the curves (they need no data), then the plots that need the test split."""
    from ..errors import BarenetError
    from ..evaluation.plots import MIN_CURVE_EPOCHS, history_epochs
    from ..model.load import load
    from ..train.runs import RunFolder

    model_path = model_in_run(args.run_dir, args.model)
    run_folder = RunFolder(args.run_dir)
    epochs = history_epochs(run_folder.read_history())  # checked before the data loads
    model = load(model_path)
    try:
        data = load_test_split(model, None, args.data_dir, model_path)
    except BarenetError as exc:
        written = run_folder.write_curves(epochs)
        for path in written:
            print(path)
        raise BarenetError(f"{exc} (the curves need no data and were written"
                           f"{'' if written else ': none, the run has fewer than two epochs'}; "
                           "the other plots need the test split)") from None
    written = run_folder.write_plots(model, data.test_images, data.test_labels,
                                     data.class_names, epochs)
    print(f"plots of {model_path} on the {data.name} test split:")
    for path in written:
        print(path)
    if len(epochs) < MIN_CURVE_EPOCHS:
        print(f"(no loss or accuracy curve: the run has {len(epochs)} epoch"
              f"{'' if len(epochs) == 1 else 's'})")
    return 0
