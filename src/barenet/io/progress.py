"""Progress bars for training epochs and downloads: tqdm, set up once for both.

``tqdm.auto`` draws a widget in a Jupyter notebook and a redrawn line in a
terminal; where neither is watching (a CI log, a file) the bar is off, and
the per-epoch summary line the trainer logs is what remains.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm.auto import tqdm


def progress_bar(total: int | None, description: str, *, stream: TextIO | None = None,
                 enabled: bool | None = None, **options: Any) -> tqdm:
    """A tqdm bar of ``total`` steps (None: unknown) labelled ``description``.

    ``enabled=None`` shows it only on a terminal or in a notebook; ``options``
    go to tqdm (``unit="B", unit_scale=True`` for bytes, ``initial=`` to resume).
    """
    return tqdm(total=total, desc=description, file=stream or sys.stderr, leave=True,
                disable=None if enabled is None else not enabled, dynamic_ncols=True,
                mininterval=0.1, **options)
