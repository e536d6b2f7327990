"""Progress bars for training epochs and downloads: tqdm, set up once for both.

In a Jupyter notebook the bar is tqdm's widget (with ipywidgets installed; else
its text bar, which notebooks redraw in place too); on a terminal a redrawn
line; where nobody watches (a CI log, a file) it is off, and the per-epoch
summary line the trainer logs is what remains.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm as text_bar


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (IPython's ZMQ shell)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


def progress_bar(total: int | None, description: str, *, stream: TextIO | None = None,
                 enabled: bool | None = None, **options: Any) -> text_bar:
    """A tqdm bar of ``total`` steps (None: unknown) labelled ``description``.

    ``enabled=None`` shows it only on a terminal or in a notebook; ``options``
    go to tqdm (``unit="B", unit_scale=True`` for bytes, ``initial=`` to resume).
    """
    stream = stream or sys.stderr
    notebook = stream is sys.stderr and in_notebook()
    if enabled is None:
        enabled = notebook or (hasattr(stream, "isatty") and stream.isatty())
    bar_class = text_bar
    if notebook:
        try:
            import ipywidgets  # noqa: F401 - tqdm's widget needs it
            from tqdm.notebook import tqdm as bar_class
        except ImportError:
            pass
    return bar_class(total=total, desc=description, file=stream, leave=True,
                     disable=not enabled, dynamic_ncols=True, mininterval=0.1, **options)
