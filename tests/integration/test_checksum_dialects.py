"""The row hash is the same whichever engine computes it: DuckDB, PostgreSQL and Python.

Validation compares hashes computed where the rows live (DuckDB over exported batches, PostgreSQL over
the target); if the engines disagreed on one canonical form, every chunk would mismatch.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import duckdb
import psycopg
import pytest

from dbshift.datamove import checksum
from dbshift.datamove.model import ColumnSpec

COLS = [
    ColumnSpec("a", "int"),
    ColumnSpec("f", "float"),
    ColumnSpec("t", "text"),
    ColumnSpec("ts", "timestamp"),
    ColumnSpec("d", "date"),
    ColumnSpec("m", "decimal", 2),
    ColumnSpec("b", "bool"),
]
PG_DDL = "a bigint, f double precision, t text, ts timestamp, d date, m numeric(12,2), b boolean"
DUCK_DDL = "a BIGINT, f DOUBLE, t VARCHAR, ts TIMESTAMP, d DATE, m DECIMAL(12,2), b BOOLEAN"


def _rows() -> list[tuple]:
    rng = random.Random(7)
    rows = [
        (1, 1.5, "x'y", dt.datetime(2026, 11, 1, 2, 3, 4, 5), dt.date(2026, 1, 2), Decimal("12.50"), True),
        (None, None, None, None, None, None, None),
        (-5, -0.0001235, "", dt.datetime(2026, 11, 1), dt.date(2026, 1, 2), Decimal("-1.05"), False),
        (
            2**40,
            123456.789,
            "é|ü\x1f",
            dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
            dt.date(1, 1, 1),
            Decimal(0),
            True,
        ),
        (0, 0.1 + 0.2, "NULL", dt.datetime(2026, 1, 1, 0, 0, 0, 1), dt.date(2024, 2, 29), Decimal("0.01"), None),
        (7, 1e20, "\\N", dt.datetime(2026, 1, 1), dt.date(2026, 12, 31), Decimal("-0.00"), False),
    ]
    for i in range(200):  # full-precision doubles, and sample-like measures with up to 3 decimals
        rows.append((i, rng.uniform(-1e6, 1e6) * 10 ** rng.randint(-20, 20), None, None, None, None, None))
    for i in range(200):
        rows.append(
            (
                i,
                round(rng.uniform(-1e6, 1e6), 3),
                f"site-{rng.randint(0, 999):03d}",
                dt.datetime(2026, 11, 1) + dt.timedelta(seconds=rng.randint(0, 10**7)),
                dt.date(2026, 11, 1) + dt.timedelta(days=rng.randint(0, 400)),
                Decimal(rng.randint(-99999, 99999)).scaleb(-2),
                rng.random() < 0.5,
            )
        )
    return rows


def _duckdb_hashes(rows: list[tuple]) -> tuple[list[int], tuple[int, str]]:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE r ({DUCK_DDL})")
    con.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    per_row = [
        r[0] for r in con.execute(f"SELECT {checksum.row_hash_sql(COLS, 'duckdb')} FROM r ORDER BY rowid").fetchall()
    ]
    n, h = con.execute(checksum.chunk_hash_sql(COLS, "duckdb", "r")).fetchone()
    return per_row, (n, checksum.normalize(h))


@pytest.mark.estate
def test_duckdb_postgres_python_agree_row_by_row(estate):
    rows = _rows()
    expected = [checksum.row_hash_py(r, COLS) for r in rows]
    duck_rows, duck_chunk = _duckdb_hashes(rows)
    with psycopg.connect(estate.postgres_dsn) as conn:
        conn.execute(f"CREATE TEMP TABLE r (i int, {PG_DDL})")
        with conn.cursor().copy("COPY r FROM STDIN") as cp:
            for i, r in enumerate(rows):
                cp.write_row((i, *r))
        pg_rows = [
            r[0] for r in conn.execute(f"SELECT {checksum.row_hash_sql(COLS, 'postgres', 'r')} FROM r ORDER BY i")
        ]
        n, h = conn.execute(checksum.chunk_hash_sql(COLS, "postgres", "r", alias="r")).fetchone()
    assert duck_rows == expected
    assert pg_rows == expected
    assert duck_chunk == (n, checksum.normalize(h)) == checksum.chunk_hash_py(rows, COLS)


def test_one_changed_field_changes_the_hash_and_order_does_not():
    rows = _rows()
    base = checksum.chunk_hash_py(rows, COLS)
    assert checksum.chunk_hash_py(list(reversed(rows)), COLS) == base
    changed = [*rows[:3], (rows[3][0], rows[3][1] + 0.001, *rows[3][2:]), *rows[4:]]
    assert checksum.chunk_hash_py(changed, COLS)[1] != base[1]
    # NULL and empty text are different values
    assert checksum.row_hash_py([None], COLS[2:3]) != checksum.row_hash_py([""], COLS[2:3])
