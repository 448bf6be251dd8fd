"""EMULATOR ONLY: master.emulator.generate_netperf_sample fills the data migration's sample source tables.

    EXEC master.emulator.generate_netperf_sample @database = N'NetPerf01', @rows_per_table = 2000,
        @start_date = '2026-11-01', @seed = 1 [, @days = 2]

Creates dbo.cell_performance_data and dbo.ue_statistics_data (dbshift.datamove.model.SOURCE_DDL) when
missing and fills them deterministically: cells x 15-minute slots over @days consecutive days from
@start_date, exactly @rows_per_table rows in cell_performance_data (row i is slot i // cells, cell
i % cells), ue_statistics_data for about 95% of those rows, some NULL measures and some '' site codes.
Values come from integer hashes of (@seed, i), computed by SQLite in one INSERT ... SELECT over a
recursive CTE. The same arguments again change nothing; other arguments replace the rows.

Like a bulk load the rows are minimally logged (no row images in the emulated log): the database's
log backup chain is broken, so take a full backup before log backups, as after switching to SIMPLE.
"""

from __future__ import annotations

import json
import math
from datetime import date

from dbshift.estate.sqlserver import messages, userdb
from dbshift.estate.sqlserver.model import ProcArgs, sql_error
from dbshift.tsql.result import ResultSet, SqlResult

PROC = "generate_netperf_sample"
SLOTS_PER_DAY = 96
MARKER = "emulator.netperf_sample"
TABLES = ("cell_performance_data", "ue_statistics_data")
FIRST_CELL = 10001

# The grid is enumerated cell by cell (primary-key order: cheap index inserts); j = slot * cells + cell.
# h1, h2: 31- and 32-bit hashes of (seed, j); every product stays below 2^63, so SQLite keeps integers.
_GRID = """
WITH RECURSIVE seq(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM seq WHERE k + 1 < :cells * :slots),
grid(j) AS (SELECT (k % :slots) * :cells + k / :slots FROM seq)
"""
_HASHED = """
FROM (SELECT j % :cells AS c, j / :cells AS s,
             (j * 1103515245 + :seed * 2654435 + 12345) % 2147483648 AS h1,
             (((j * 1103515245 + :seed * 2654435 + 12345) % 2147483648) * 69069 + 12345) % 4294967296 AS h2
      FROM grid WHERE j < :rows)
"""


def _cell_sql() -> str:
    return (
        _GRID
        + """
INSERT INTO "cell_performance_data" (cell_id, measured_at, site_code, throughput_mbps, latency_ms, dropped_calls)
SELECT :first + c,
       datetime(:start, '+' || (s * 15) || ' minutes'),
       CASE WHEN c % 17 = 5 THEN '' ELSE 'S' || printf('%04d', (c * 7) % 500) END,
       CASE WHEN h2 % 53 = 0 THEN NULL ELSE ((h1 % 100000) / 100.0) END,
       CASE WHEN h1 % 61 = 7 THEN NULL ELSE 1 + (h2 % 20000) / 100.0 END,
       CASE WHEN (h1 / 128) % 43 = 0 THEN NULL ELSE (h2 / 256) % 9 END
"""
        + _HASHED
    )


def _ue_sql() -> str:
    return (
        _GRID
        + """
INSERT INTO "ue_statistics_data" (cell_id, measured_at, active_ues, avg_cqi, handover_failures)
SELECT :first + c,
       datetime(:start, '+' || (s * 15) || ' minutes'),
       CASE WHEN h2 % 47 = 3 THEN NULL ELSE h1 % 240 END,
       CASE WHEN h1 % 59 = 11 THEN NULL ELSE (h2 % 1500) / 100.0 END,
       CASE WHEN (h2 / 64) % 41 = 0 THEN NULL ELSE (h1 / 1024) % 6 END
"""
        + _HASHED
        + "WHERE (h1 / 65536) % 100 < 95\n"
    )


def _int_arg(args: ProcArgs, name: str, default: int | None, minimum: int) -> int:
    v = args.get(name, default)
    if v is None:
        raise messages.missing_parameter(PROC, name)
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise sql_error(8114, f"Error converting data type varchar to int (@{name} = {v!r}).") from None
    if n < minimum:
        raise sql_error(50000, f"{PROC}: @{name} must be at least {minimum}, not {n}.")
    return n


def generate_netperf_sample(inst, args: ProcArgs) -> SqlResult:  # inst: Instance
    database = args.get("database")
    if not database:
        raise messages.missing_parameter(PROC, "database")
    rows = _int_arg(args, "rows_per_table", None, 1)
    days = _int_arg(args, "days", 1, 1)
    seed = _int_arg(args, "seed", 1, 0)
    start_text = str(args.get("start_date") or "")
    try:
        start = date.fromisoformat(start_text[:10])
    except ValueError:
        raise sql_error(241, "Conversion failed when converting date and/or time from character string.") from None
    slots = days * SLOTS_PER_DAY
    cells = math.ceil(rows / slots)
    wanted = {"rows": rows, "days": days, "seed": seed, "start": start.isoformat(), "cells": cells}

    with inst.lock:
        row = inst.catalog.db_row(str(database))
        if row is None:
            raise messages.db_missing(str(database))
        _ensure_tables(inst, row["name"])
        conn = inst.connect(inst.catalog.db_row(row["name"]))
        try:
            have = conn.execute(f"SELECT value FROM {userdb.META} WHERE key = ?", (MARKER,)).fetchone()
            counts = _counts(conn)
            if have and json.loads(have[0]) == {**wanted, "counts": counts}:
                return _result(row["name"], counts, changed=False)
            params = {
                "cells": cells,
                "slots": slots,
                "rows": rows,
                "seed": seed,
                "first": FIRST_CELL,
                "start": start.isoformat(),
            }
            conn.execute("BEGIN IMMEDIATE")
            try:
                for table in TABLES:  # no row images for a bulk fill: without triggers, DELETE truncates
                    for name in ("i", "d", "u"):
                        conn.execute(f"DROP TRIGGER IF EXISTS {userdb.q(f'__dbshift_{name}_{table}')}")
                    conn.execute(f"DELETE FROM {userdb.q(table)}")
                conn.execute(_cell_sql(), params)
                conn.execute(_ue_sql(), params)
                for table in TABLES:
                    for stmt in userdb.trigger_sql(table):
                        conn.execute(stmt)
                counts = _counts(conn)
                conn.execute(
                    f"INSERT OR REPLACE INTO {userdb.META} VALUES (?, ?)",
                    (MARKER, json.dumps({**wanted, "counts": counts})),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()
        # minimally logged: the log backup chain needs a new full backup
        inst.catalog.update_db(row["database_id"], log_chain_lsn=None)
        return _result(row["name"], counts, changed=True)


def _counts(conn) -> dict[str, int]:
    return {t: conn.execute(f"SELECT COUNT(*) FROM {userdb.q(t)}").fetchone()[0] for t in TABLES}


def _ensure_tables(inst, database: str) -> None:
    from dbshift.datamove.model import SOURCE_DDL

    conn = inst.connect(inst.catalog.db_row(database))
    try:
        missing = [t for t in TABLES if t not in userdb.user_tables(conn)]
    finally:
        conn.close()
    if missing:  # through T-SQL, so the DDL is logged like any CREATE TABLE
        inst.execute(";\n".join(SOURCE_DDL[t] for t in missing), database)


def _result(database: str, counts: dict[str, int], changed: bool) -> SqlResult:
    rs = ResultSet(
        ["database_name", "table_name", "row_count", "generated"],
        [[database, f"dbo.{t}", n, int(changed)] for t, n in counts.items()],
    )
    return SqlResult(result_sets=[rs])
