"""``barenet``: argparse subcommands, each in its own module, imported only when run.

Each subcommand module defines ``add_arguments(parser)`` and ``run(args) -> int``.
Heavy imports (matplotlib, Tk, the training loop) live inside those modules, so
``barenet --help`` is instant and the core never imports a GUI.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys

from ..errors import EXIT_USER_ERROR, BarenetError
from ..io.files import printable
from ..io.memory import memory_budget
from ..version import __version__

#: subcommand -> (module under barenet.cli, one-line help)
COMMANDS = {
    "train": ("train", "train a model from a TOML config (default: configs/mlp.toml on MNIST)"),
    "finetune": ("finetune", "teach a trained model your handwriting from a folder of samples"),
    "evaluate": ("evaluate", "test accuracy, per-class precision/recall/F1, confusion matrix"),
    "report": ("report", "write the plots of a run folder as PNG files"),
    "predict": ("predict", "classify image files (PNG, JPEG, BMP, GIF)"),
    "draw": ("draw", "open the draw-a-digit app"),
    "export": ("export", "write a model as ONNX, for onnxruntime, the web or a phone"),
    "gradcheck": ("gradcheck", "check every layer's and loss's gradients by finite differences"),
    "xor": ("xor", "train a tiny network on XOR: the smallest sanity check"),
}



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="barenet", description="Neural networks from scratch "
                                     "in NumPy: train, evaluate, predict, draw, finetune.")
    parser.add_argument("--version", action="version", version=f"barenet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(module=module, parser=command)
        _module(module).add_arguments(command)
    return parser


def unknown_flags(command: argparse.ArgumentParser, unknown: list[str]) -> str:
    """argparse's "unrecognized arguments", with the command's nearest flag for each
    mistyped one (``--optimiser``: did you mean ``--optimizer``?)."""
    flags = [flag for flag in command._option_string_actions if flag.startswith("--")]
    hints = []
    for given in unknown:
        close = difflib.get_close_matches(given.split("=")[0], flags, n=1, cutoff=0.75)
        if given.startswith("-") and close:
            hints.append(f"{given}: did you mean {close[0]}?")
    return f"unrecognized arguments: {' '.join(unknown)}" + "".join(f"; {h}" for h in hints)


def _module(name: str):
    return importlib.import_module(f"barenet.cli.{name}")


def check_environment() -> None:
    """Refuse a bad ``$BARENET_MAX_MEMORY`` or ``$BARENET_THREADS`` before any work, in a line
    naming the variable (later, a bad setting would look like a bad model file)."""
    from ..nn.kernels.parallel import default_threads

    memory_budget()
    default_threads()


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a strict terminal never ends a run
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        (getattr(args, "parser", None) or parser).error(unknown_flags(
            getattr(args, "parser", parser), unknown))
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        check_environment()
        return int(_module(args.module).run(args) or 0)
    except BarenetError as exc:
        print(f"barenet: error: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("barenet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `barenet evaluate | head`: the reader left, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's exit flush must not fail again
        return 0


if __name__ == "__main__":
    sys.exit(main())
