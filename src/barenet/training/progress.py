"""A dependency-free progress bar for the training loop."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``epoch 3/10 [########......] 412/860  loss 0.1234  acc 96.50%  2.1s``.

    Redrawn in place at most every ``interval`` seconds when ``stream`` is a
    terminal; elsewhere (CI logs, files) only :meth:`close` prints, once.
    """

    def __init__(self, total: int, prefix: str, stream: TextIO | None = None,
                 width: int = 28, interval: float = 0.1) -> None:
        self.total, self.prefix, self.width, self.interval = total, prefix, width, interval
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = self.last = time.perf_counter()

    def _line(self, done: int, stats: dict[str, float]) -> str:
        filled = self.width * done // max(self.total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        shown = "  ".join(f"{k} {v:.4f}" if k == "loss" else f"{k} {v:.2%}" if k == "acc"
                          else f"{k} {v:.3g}" for k, v in stats.items())
        elapsed = time.perf_counter() - self.start
        return f"{self.prefix} [{bar}] {done}/{self.total}  {shown}  {elapsed:.1f}s"

    def update(self, done: int, **stats: float) -> None:
        now = time.perf_counter()
        if self.live and (now - self.last >= self.interval or done == self.total):
            self.last = now
            self.stream.write("\r" + self._line(done, stats))
            self.stream.flush()

    def close(self, done: int, **stats: float) -> None:
        self.stream.write(("\r" if self.live else "") + self._line(done, stats) + "\n")
        self.stream.flush()
