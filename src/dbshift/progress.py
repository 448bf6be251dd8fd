"""Progress of long work on a text stream: done/total units (chunks, files), rows, MB, rate and ETA.

Redrawn in place on a terminal, a line every few seconds otherwise (CI logs, AWX job output).
Thread-safe: parallel workers report into one bar.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO


class Progress:
    def __init__(
        self,
        stream: TextIO | None,
        label: str,
        units: int,
        unit_name: str = "chunks",
        total_rows: int | None = None,
        total_bytes: int | None = None,
    ) -> None:
        self.stream, self.label = stream, label
        self.units, self.unit_name = units, unit_name
        self.total_rows, self.total_bytes = total_rows, total_bytes
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

    def _rate(self, elapsed: float) -> str:
        """Rows per second where rows are counted (tables), else MB per second (files)."""
        if self.rows:
            return f"{self.rows / elapsed:,.0f} rows/s"
        return f"{self.bytes / 1e6 / elapsed:.1f} MB/s"

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-6)
        if self.total_rows and self.rows:
            left = max(self.total_rows - self.rows, 0) * elapsed / self.rows
        elif self.total_bytes and self.bytes:
            left = max(self.total_bytes - self.bytes, 0) * elapsed / self.bytes
        else:  # no total known: estimate from the units done so far
            per_unit = elapsed / self.done_units if self.done_units else 0.0
            left = per_unit * (self.units - self.done_units)
        rows = f", {self.rows:,} rows" if self.rows else ""
        total = f"/{self.total_bytes / 1e6:.1f}" if self.total_bytes else ""
        return (
            f"{self.label}: {self.done_units}/{self.units} {self.unit_name}{rows}, {self.bytes / 1e6:.1f}{total} MB, "
            f"{self._rate(elapsed)}, ETA {left:.0f}s"
        )

    def _maybe_draw(self) -> None:
        now = time.monotonic()
        if self.stream is None or now - self._last < self._every:
            return
        self._last = now
        self.stream.write(("\r" + self.line()) if self._tty else self.line() + "\n")
        self.stream.flush()

    def close(self, summary: str | None = None, note: str = "") -> float:
        """Print the closing line (`summary` replaces "done/total units, rows"); returns the elapsed seconds."""
        elapsed = time.monotonic() - self.start
        if self.stream is not None:
            end = "\r" if self._tty else ""
            rows = f", {self.rows:,} rows" if self.rows else ""
            head = summary or f"{self.done_units}/{self.units} {self.unit_name}{rows}"
            self.stream.write(
                f"{end}{self.label}: {head}, {self.bytes / 1e6:.1f} MB in {elapsed:.1f}s "
                f"({self._rate(max(elapsed, 1e-6))}){note}\n"
            )
            self.stream.flush()
        return elapsed
