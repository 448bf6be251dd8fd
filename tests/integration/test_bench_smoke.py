"""bench/tlog_fetch.py still runs end to end (tiny sizes). Timings are printed, never asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench" / "tlog_fetch.py"


def test_tlog_fetch_bench_runs_and_prints_both_ratios() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--logs", "3", "--mib", "1", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    # The bench checks dbshift's files against the script's byte for byte before printing this line.
    assert "outputs identical to the script's" in run.stdout
    assert "dbshift / (b) = " in run.stdout
    assert "(a) / dbshift = " in run.stdout


def test_migrate_bench_runs_and_prints_every_ratio() -> None:
    bench = BENCH.parent / "migrate.py"
    run = subprocess.run(
        [sys.executable, str(bench), "--rows", "20000", "--days", "1", "--insert-sample", "2000"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    # The bench refuses to print ratios for a run whose validation found differences.
    labels = ("import / (a)", "end to end / (a)", "end to end / (b)", "export / (c)", "end to end / ((c) then (a))")
    for label in labels:
        assert re.search(rf"^  {re.escape(label)} +[0-9.]+x \(target >= ", run.stdout, re.M), run.stdout
    assert "source reader: arrow-odbc over the FreeTDS ODBC driver" in run.stdout
    assert re.search(r"^\(c\) / \(d\) = [0-9.]+x: the ODBC reader against pymssql$", run.stdout, re.M), run.stdout


def test_convert_bench_runs_and_prints_both_converters(postgres_dsn: str) -> None:
    bench = BENCH.parent / "convert.py"
    run = subprocess.run(
        [sys.executable, str(bench), "--rounds", "1", "--dsn", postgres_dsn + "/postgres"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    for label in ("verified rate: dbshift ", "dbshift / sqlglot verified objects = ", "objects/s = "):
        assert label in run.stdout, run.stdout
