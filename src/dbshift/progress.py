"""Progress of long work on a text stream: done/total units, rows, MB, rate and ETA.

Redrawn in place on a terminal, a line every few seconds otherwise (CI logs, AWX job output).
Thread-safe: parallel workers report into one bar.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO


class Progress:
    def __init__(
        self, stream: TextIO | None, label: str, units: int, unit_name: str = "chunks", total_rows: int | None = None
    ) -> None:
        self.stream, self.label = stream, label
        self.units, self.unit_name, self.total_rows = units, unit_name, total_rows
        self.done_units = self.rows = self.bytes = 0
        self.start = self._last = time.monotonic()
        self._tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self._every = 0.5 if self._tty else 5.0
        self._lock = threading.Lock()

    def add(self, rows: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self.rows += rows
            self.bytes += nbytes
            self._maybe_draw()

    def unit_done(self, rows: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self.done_units += 1
            self.rows += rows
            self.bytes += nbytes
            self._maybe_draw()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-6)
        rate = self.rows / elapsed
        if self.total_rows:
            left = max(self.total_rows - self.rows, 0) / rate if rate > 0 else 0.0
        else:  # no row total known: estimate from the units done so far
            per_unit = elapsed / self.done_units if self.done_units else 0.0
            left = per_unit * (self.units - self.done_units)
        return (
            f"{self.label}: {self.done_units}/{self.units} {self.unit_name}, {self.rows:,} rows, "
            f"{self.bytes / 1e6:.1f} MB, {rate:,.0f} rows/s, ETA {left:.0f}s"
        )

    def _maybe_draw(self) -> None:
        now = time.monotonic()
        if self.stream is None or now - self._last < self._every:
            return
        self._last = now
        self.stream.write(("\r" + self.line()) if self._tty else self.line() + "\n")
        self.stream.flush()

    def close(self, note: str = "") -> float:
        """Print the closing line; returns the elapsed seconds."""
        elapsed = time.monotonic() - self.start
        if self.stream is not None:
            end = "\r" if self._tty else ""
            rate = self.rows / elapsed if elapsed > 0 else 0.0
            self.stream.write(
                f"{end}{self.label}: {self.done_units}/{self.units} {self.unit_name}, {self.rows:,} rows, "
                f"{self.bytes / 1e6:.1f} MB in {elapsed:.1f}s ({rate:,.0f} rows/s){note}\n"
            )
            self.stream.flush()
        return elapsed
