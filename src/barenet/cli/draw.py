"""``barenet draw``: draw a digit with the mouse and watch the network think."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import BarenetError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register --model."""
    parser.add_argument("--model", type=Path,
                        help="model file (default: the newest best.npz or model.npz under runs/)")


def run(args: argparse.Namespace) -> int:
    """Open the window; return 0 when it is closed."""
    try:
        from ..app.window import main
    except ImportError as exc:
        if "tkinter" not in str(exc):
            raise
        raise BarenetError("this Python has no Tk support (tkinter); install it, e.g. "
                           "`apt-get install python3-tk` or `brew install python-tk`") from None
    main(args.model)
    return 0
