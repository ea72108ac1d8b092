"""A progress bar for long commands, drawn on a terminal only (a pipe or a log gets nothing)."""

import sys
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """``[#####.....]  45%  450000/1000000 rows  52000/s`` on one line of ``stream``, redrawn at
    most ten times a second so drawing never costs more than the work it reports."""

    def __init__(self, total: int, label: str = "rows", stream: TextIO | None = None, interval: float = 0.1):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = max(total, 0)
        self.label = label
        self.interval = interval
        self.started = time.monotonic()
        self.drawn_at = float("-inf")  # the first update draws
        self.done = 0

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if self.enabled and now - self.drawn_at >= self.interval:
            self.drawn_at = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        fraction = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(fraction * WIDTH)
        rate = self.done / max(now - self.started, 1e-6)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {fraction:4.0%}  "
            f"{self.done}/{self.total} {self.label}  {rate:,.0f}/s"
        )
        self.stream.flush()

    def finish(self) -> None:
        """Draw the final state and end the line, so the next message starts on its own."""
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
