"""A dependency-free progress bar: training epochs and dataset downloads share it."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``epoch 3/10 [########......] 412/860  loss 0.1234  acc 96.50%  2.1s``.

    Redrawn in place at most every ``interval`` seconds when ``stream`` is a
    terminal; elsewhere (CI logs, files) only :meth:`close` prints, once.

    Parameters
    ----------
    total : int or None
        The count that fills the bar; None (a download of unknown size) shows
        the count alone.
    prefix : str
        What is in progress, shown first.
    stream : text stream, optional
        Where to draw; stderr by default.
    width : int
        Characters in the bar.
    interval : float
        Seconds between redraws.
    unit, scale : str, float
        Counts shown as ``done / scale`` with a percentage and ``unit``, e.g.
        ``unit="MB", scale=1e6`` for bytes: ``42% 4.2/9.9 MB``. By default the
        count itself: ``412/860``.
    """

    def __init__(self, total: int | None, prefix: str, stream: TextIO | None = None,
                 width: int = 28, interval: float = 0.1, unit: str = "",
                 scale: float = 1.0) -> None:
        self.total, self.prefix, self.width, self.interval = total, prefix, width, interval
        self.unit, self.scale = unit, scale
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = self.last = time.perf_counter()

    def _count(self, done: int) -> str:
        if not self.unit:
            return f"{done}/{self.total}" if self.total is not None else str(done)
        if not self.total:
            return f"{done / self.scale:.1f} {self.unit}"
        return (f"{done / self.total:4.0%} {done / self.scale:.1f}/{self.total / self.scale:.1f} "
                f"{self.unit}")

    def _line(self, done: int, stats: dict[str, float]) -> str:
        parts = [self.prefix]
        if self.total:
            filled = self.width * min(done, self.total) // self.total
            parts.append("[" + "#" * filled + "." * (self.width - filled) + "]")
        parts.append(self._count(done))
        line = " ".join(parts)
        shown = "  ".join(f"{k} {v:.4f}" if k == "loss" else f"{k} {v:.2%}" if k == "acc"
                          else f"{k} {v:.3g}" for k, v in stats.items())
        elapsed = time.perf_counter() - self.start
        return f"{line}  {shown + '  ' if shown else ''}{elapsed:.1f}s"

    def update(self, done: int, **stats: float) -> None:
        """Redraw for ``done`` of ``total`` (terminal only, at most every ``interval`` s)."""
        now = time.perf_counter()
        if self.live and (now - self.last >= self.interval or done == self.total):
            self.last = now
            self.stream.write("\r" + self._line(done, stats))
            self.stream.flush()

    def close(self, done: int, **stats: float) -> None:
        """The final line, ended by a newline: printed on any stream."""
        self.stream.write(("\r" if self.live else "") + self._line(done, stats) + "\n")
        self.stream.flush()
