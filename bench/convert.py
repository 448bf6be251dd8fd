"""Benchmark: schema conversion of the corpus, dbshift against plain sqlglot, in the same run.

    .venv/bin/python bench/convert.py [--corpus /work/shared/corpus/sql-server-samples] [--dsn postgresql://...]

Reads Microsoft's four sample databases (AdventureWorks, Northwind, pubs, WideWorldImporters) into the same
SourceObjects once, then for each converter — dbshift (register + convert) and plain sqlglot
(transpile read=tsql write=postgres; its scratch database gets the schemas its output names) — times the
conversion (objects/s over all non-script statements, median of --rounds), orders the output by dependencies
and executes every object on a real PostgreSQL 15 (verify.py: scratch database, savepoints, retry passes).
Prints objects/s, the verified rate per database and per object type side by side, and the ratios
dbshift / sqlglot. Without --dsn it starts a PostgreSQL of its own on 127.0.0.1 (as the test suite does) and
stops it afterwards.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dbshift.convert.baseline import (
    DEFAULT_CORPUS,
    format_comparison,
    rates,
    read_corpus,
    sqlglot_convert_all,
    sqlglot_prelude,
)
from dbshift.convert.command import convert_objects
from dbshift.convert.model import SCRIPT, Converted, SourceObject
from dbshift.convert.order import order
from dbshift.convert.verify import verify

TARGET_RATE = 0.90  # issue 6: at least 90% of the corpus's schema objects verified


@contextmanager
def postgres(dsn: str | None) -> Iterator[str]:
    if dsn:
        yield dsn
        return
    from dbshift.estate.postgres import temporary_server

    with tempfile.TemporaryDirectory(prefix="dbshift-bench-convert-") as tmp, temporary_server(Path(tmp)) as started:
        yield started


def timed(convert: Callable[[list[SourceObject]], list[Converted]], objects: list[SourceObject], rounds: int):
    """(output of the last round, median seconds)."""
    times, out = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        out = convert(objects)
        times.append(time.perf_counter() - start)
    return out, statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--dsn", help="an existing PostgreSQL 15 (default: start one)")
    ap.add_argument("--rounds", type=int, default=3, help="conversion rounds timed (median); verification runs once")
    ap.add_argument("--skip-ours", action="store_true", help="plain sqlglot only (e.g. while converters are missing)")
    args = ap.parse_args()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # it logs every construct it cannot generate

    start = time.perf_counter()
    objects = read_corpus(args.corpus)
    read_s = time.perf_counter() - start
    statements = [o for o in objects if o.type != SCRIPT]
    print(f"read {len(objects)} statements ({len(statements)} objects) in {read_s:.2f}s")

    runs: dict[str, tuple[list[Converted], float, float]] = {}
    with postgres(args.dsn) as dsn:
        converters: list[tuple[str, Callable[[list[SourceObject]], list[Converted]]]] = [
            ("plain sqlglot", sqlglot_convert_all)
        ]
        if not args.skip_ours:
            converters.insert(0, ("dbshift", convert_objects))
        for label, convert in converters:
            out, conv_s = timed(convert, objects, args.rounds)
            ordered = order(out)
            result = verify(ordered, dsn, prelude=sqlglot_prelude(objects) if label == "plain sqlglot" else None)
            runs[label] = (ordered, conv_s, result.seconds)
            print(
                f"{label:14} convert {conv_s:6.2f}s {len(statements) / conv_s:8.0f} objects/s; "
                f"verify {result.seconds:6.2f}s in {result.passes} passes on PostgreSQL {result.server_version}"
            )
    if "dbshift" in runs:
        print(format_comparison(runs["dbshift"][0], runs["plain sqlglot"][0]))
        ours, theirs = rates(runs["dbshift"][0])["total"]["all"], rates(runs["plain sqlglot"][0])["total"]["all"]
        ours_rate, their_rate = ours[0] / ours[1], theirs[0] / theirs[1]
        speed = (len(statements) / runs["dbshift"][1]) / (len(statements) / runs["plain sqlglot"][1])
        print(f"verified rate: dbshift {100 * ours_rate:.1f}% vs plain sqlglot {100 * their_rate:.1f}%")
        print(f"dbshift / sqlglot verified objects = {ours[0] / max(1, theirs[0]):.1f}x; objects/s = {speed:.2f}x")
        print(f"target >= {100 * TARGET_RATE:.0f}% verified: {'met' if ours_rate >= TARGET_RATE else 'MISSED'}")
    else:
        print(format_comparison(runs["plain sqlglot"][0], runs["plain sqlglot"][0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
