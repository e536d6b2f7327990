"""``barenet finetune``: teach a trained model your handwriting from a folder of samples."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ..io import paths
from .arguments import positive_int, seed, thread_count
from .evaluate import resolve_model_path
from .train import EXIT_INTERRUPTED


def finetune_epochs() -> int:
    """The default number of passes (kept with the recipe, in train/finetune.py)."""
    from ..train.finetune import EPOCHS

    return EPOCHS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, help="model file or run folder to start from "
                        "(default: the newest model under runs/)")
    parser.add_argument("--samples", type=Path, default=None, metavar="DIR",
                        help="folder of <label>/<name>.png pictures (default: the app's "
                             f"samples, {paths.samples_dir()})")
    parser.add_argument("--out", type=Path, metavar="RUN_DIR",
                        help="run folder to write (default: runs/finetune-<time>)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="passes over the mixed samples and replay (default "
                             f"{finetune_epochs()})")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="folder with the model's training data, for replay (default: "
                             "the folder its run was trained on, else the usual search)")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR",
                        help="continue an interrupted fine-tuning run")
    parser.add_argument("--threads", type=thread_count, default=0, metavar="N",
                        help="threads for the layers' work (default 0: one per core)")


def run(args: argparse.Namespace) -> int:
    from ..errors import BarenetError
    from ..nn.kernels.parallel import default_threads, training_threads
    from ..train.config import load as load_config
    from ..train.finetune import finetune
    from ..train.trainer import Interrupted

    if args.resume is not None:
        config = load_config(str(Path(args.resume) / "config.toml")).finetune
        if not (config.parent and config.samples):
            raise BarenetError(f"{args.resume} is not a fine-tuning run; resume it with "
                               "barenet train --resume")
        model_path, samples = Path(config.parent), Path(config.samples)
    else:
        model_path = resolve_model_path(args.model)
        samples = args.samples if args.samples is not None else paths.samples_dir()
    try:
        with training_threads(args.threads or default_threads()):
            epochs = args.epochs if args.epochs is not None else finetune_epochs()
            result = finetune(model_path, samples, args.resume or args.out, epochs,
                              args.seed, args.data_dir, resume=args.resume is not None)
    except Interrupted as exc:
        print(f"barenet: {exc.args[0].replace('barenet train', 'barenet finetune')}",
              file=sys.stderr)
        return EXIT_INTERRUPTED

    def pct(x: float) -> str:
        return "n/a" if math.isnan(x) else f"{x:.2%}"

    print(f"your held-out samples ({result.held_out}): {pct(result.held_out_before)} before, "
          f"{pct(result.held_out_after)} after"
          + ("  (few samples per digit: this figure is noisy)" if result.noisy else ""))
    print(f"MNIST test accuracy: {pct(result.test_before)} before, {pct(result.test_after)} after")
    print(f"fine-tuned in {result.seconds:.1f} s; run folder: {result.run_dir} "
          f"(use it with --model, e.g. barenet draw --model {result.run_dir})")
    return 0
