"""``barenet draw``: draw a digit with the mouse and watch the network think."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import BarenetError
from .evaluate import resolve_model_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register --model."""
    parser.add_argument("--model", type=Path,
                        help="model file or run folder (default: the newest best.npz or "
                             "model.npz under runs/)")


def run(args: argparse.Namespace) -> int:
    """Open the window; return 0 when it is closed."""
    try:
        from ..app.window import main
    except ImportError as exc:
        if "tkinter" not in str(exc):
            raise
        raise BarenetError("this Python has no Tk support (tkinter); install it, e.g. "
                           "`apt-get install python3-tk` or `brew install python-tk`") from None
    # A run folder means its model, as for evaluate and predict; with no --model the
    # window opens anyway and says how to train one.
    main(None if args.model is None else resolve_model_path(args.model))
    return 0
