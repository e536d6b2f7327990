"""``barenet train``: config + flags -> a run folder with models, history and plots."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..io.memory import parse_bytes
from ..io.paths import CONFIGS_DIR
from .arguments import thread_count

#: command-line flag -> dotted config key it overrides
FLAG_KEYS = {"epochs": "epochs", "lr": "optimizer.lr", "batch_size": "batch_size",
             "optimizer": "optimizer.name", "seed": "seed", "dataset": "dataset"}

EXIT_INTERRUPTED = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    shipped = ", ".join(sorted(p.stem for p in CONFIGS_DIR.glob("*.toml")))
    parser.add_argument("--config", default="mlp",
                        help=f"TOML config file, or a shipped one by name: {shipped} "
                             "(default: mlp)")
    parser.add_argument("--epochs", type=int, help="number of epochs")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--batch-size", type=int, help="mini-batch size")
    parser.add_argument("--optimizer", help="sgd, adam, adamw or rmsprop")
    parser.add_argument("--seed", type=int, help="random seed (same seed, same run)")
    parser.add_argument("--dataset", help="mnist or fashion-mnist")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. --set schedule.name=cosine "
                             "(repeatable; values are TOML)")
    parser.add_argument("--data-dir", type=Path,
                        help="folder holding the four dataset files (else $BARENET_DATA, the "
                             "cache, or a download)")
    parser.add_argument("--out", type=Path, help="run folder (default: runs/<name>-<time>)")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR",
                        help="continue an interrupted run from its checkpoint")
    parser.add_argument("--threads", type=thread_count, default=0, metavar="N",
                        help="threads for the layers' work, matrix products included "
                             "(default 0: one per core; 1 = one thread)")
    parser.add_argument("--no-plots", action="store_true", help="skip writing the PNG plots")
    parser.add_argument("--max-memory", metavar="SIZE",
                        help="memory the model may need, e.g. 8G (default: what the machine "
                             "has available; also $BARENET_MAX_MEMORY)")


def _overrides(args: argparse.Namespace) -> dict:
    from ..errors import BarenetError
    from ..train.config import parse_value

    overrides = {key: getattr(args, flag) for flag, key in FLAG_KEYS.items()
                 if getattr(args, flag) is not None}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BarenetError(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = parse_value(value.strip())
    if overrides.get("dataset", "mnist") != "mnist" and "non_digits" not in overrides:
        # a digit config (non_digits on) trained on clothes: the non-digits would be wrong
        overrides["non_digits"] = 0.0
        print(f"non_digits = 0: {overrides['dataset']} holds no digits, so no generated "
              "non-digits are added")
    return overrides


def run(args: argparse.Namespace) -> int:
    from ..errors import BarenetError
    from ..model.views import tta_description
    from ..nn.kernels.parallel import default_threads, training_threads
    from ..train import config as configs
    from ..train.session import train_from_config
    from ..train.trainer import Interrupted

    if args.resume is not None:
        ignored = [flag for flag in FLAG_KEYS if getattr(args, flag) is not None]
        ignored += ["set"] * bool(args.set) + ["config"] * (args.config != "mlp")
        if ignored:
            raise BarenetError(f"--resume continues a run with its own config.toml; drop "
                               f"--{ignored[0].replace('_', '-')} (start a new run to change it)")
        config_path = Path(args.resume) / "config.toml"
        if not config_path.is_file():
            raise BarenetError(f"{config_path} not found: is {args.resume} a run folder "
                               "written by `barenet train`?")

    max_memory = parse_bytes(args.max_memory) if args.max_memory is not None else None
    if args.resume is not None:
        config = configs.load(str(config_path), max_memory=max_memory)
    else:
        config = configs.load(args.config, _overrides(args), max_memory=max_memory)
    try:
        with training_threads(args.threads or default_threads()):
            result = train_from_config(config, data_dir=args.data_dir,
                                       out=args.resume or args.out,
                                       resume=args.resume is not None, plots=not args.no_plots)
    except Interrupted as exc:
        print(f"barenet: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    chosen = ("no validation split: the last epoch's model" if not config.validation_size
              else "the last epoch's model (keep = \"last\")" if config.keep == "last"
              else "best model by validation accuracy")
    print(f"test accuracy: {result.test_accuracy:.2%} ({result.dataset}, {chosen}, "
          f"epoch {result.best_epoch})")
    if result.tta_accuracy is not None:
        flags = " ".join(f"--{name}" for name, on in result.tta_views.items() if on)
        print(f"test accuracy with test-time augmentation, each image's outputs averaged "
              f"with {tta_description(**result.tta_views)} (`barenet evaluate {flags}`): "
              f"{result.tta_accuracy:.2%}")
    print(f"trained in {time.strftime('%H:%M:%S', time.gmtime(result.seconds))} "
          f"({result.seconds:.1f} s); run folder: {result.run_dir}")
    return 0
