"""Export: chunk rows → Parquet + manifest + hash, against a SQL Server stand-in and the estate's sources.

The stand-in (SQLite behind the TdsConnection methods) runs the T-SQL export sends (bracketed names,
dbo schema, ISO datetime literals compare as text), so the edge cases (decimals, NULLs, filters, the
key-range bounds) can be seeded exactly; the estate tests read the emulated SQL Server over TDS.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from dbshift.datamove import checksum, export
from dbshift.datamove.area import Area
from dbshift.datamove.model import SOURCE_TABLES, Chunk, ColumnSpec

DAY = dt.date(2026, 3, 1)


class SqliteSource:
    """A stand-in for SQL Server with the contract's TdsConnection methods (for tests only)."""

    def __init__(self, tables: dict[str, list[tuple[str, str]]], rows: dict[str, list[tuple]]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute("ATTACH ':memory:' AS dbo")
        self.types = tables
        self.queries: list[str] = []
        for t, cols in tables.items():
            self.db.execute(f"CREATE TABLE dbo.[{t}] ({', '.join(f'[{n}]' for n, _ in cols)})")
            ph = ", ".join("?" for _ in cols)
            self.db.executemany(f"INSERT INTO dbo.[{t}] VALUES ({ph})", [self._store(r) for r in rows.get(t, [])])

    @staticmethod
    def _store(row: tuple) -> tuple:
        out = []
        for v in row:
            if isinstance(v, dt.datetime):
                v = v.isoformat(sep="T", timespec="microseconds")
            elif isinstance(v, dt.date | Decimal):
                v = str(v)
            out.append(v)
        return tuple(out)

    def _load(self, sql: str, rows: list[tuple]) -> list[tuple]:
        table = re.search(r"FROM dbo\.\[(\w+)\]", sql).group(1)
        names = [n.strip("[]") for n in re.match(r"SELECT (.*?) FROM", sql).group(1).split(", ")]
        kinds = dict(self.types[table])
        conv = []
        for n in names:
            t = kinds.get(n, "int")
            if t.startswith("datetime"):
                conv.append(lambda v: dt.datetime.fromisoformat(v))
            elif t.startswith("decimal"):
                conv.append(lambda v: Decimal(v))
            elif t == "bit":
                conv.append(lambda v: bool(v))
            elif t == "date":
                conv.append(lambda v: dt.date.fromisoformat(v))
            else:
                conv.append(lambda v: v)
        return [tuple(None if v is None else c(v) for v, c in zip(r, conv, strict=True)) for r in rows]

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        self.queries.append(sql)
        cur = self.db.execute(sql)
        rows = cur.fetchall()
        return [d[0] for d in cur.description], self._load(
            sql, rows
        ) if "FROM dbo.[" in sql and "MIN(" not in sql else rows

    def stream(self, sql: str, batch_rows: int = 50_000) -> Iterator[list[tuple]]:
        self.queries.append(sql)
        cur = self.db.execute(sql)
        while rows := cur.fetchmany(batch_rows):
            yield self._load(sql, rows)

    def columns(self, sql: str) -> list[tuple[str, str]]:
        table = re.search(r"FROM dbo\.\[(\w+)\]", sql).group(1)
        return list(self.types[table])

    def close(self) -> None:
        self.db.close()


CELL_TYPES = [
    ("cell_id", "int"),
    ("measured_at", "datetime2"),
    ("site_code", "varchar(16)"),
    ("throughput_mbps", "float"),
    ("latency_ms", "float"),
    ("dropped_calls", "int"),
]


def cell_rows(n: int, seed: int = 1) -> list[tuple]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        ts = dt.datetime.combine(DAY, dt.time()) + dt.timedelta(seconds=rng.randint(-3600, 86400 + 3600))
        site = rng.choice([None, "", f"S{rng.randint(0, 99):02d}", "é'x"])
        tp = None if rng.random() < 0.1 else round(rng.uniform(0, 1000), 3)
        rows.append((i % 40, ts + dt.timedelta(microseconds=i), site, tp, rng.random() * 50, rng.randint(0, 9)))
    return rows


def in_chunk(row: tuple, chunk: Chunk, cols: list[str], filt=None) -> bool:
    ts, cid = row[cols.index("measured_at")], row[cols.index("cell_id")]
    lo = dt.datetime.combine(chunk.day, dt.time())
    ok = lo <= ts < lo + dt.timedelta(days=1)
    ok = ok and (chunk.split_lo is None or cid >= chunk.split_lo) and (chunk.split_hi is None or cid < chunk.split_hi)
    return ok and (filt is None or filt(row))


@pytest.fixture
def source() -> Iterator[SqliteSource]:
    src = SqliteSource(
        {"cell_performance_data": CELL_TYPES},
        {"cell_performance_data": cell_rows(3000)},
    )
    yield src
    src.close()


def test_source_columns_maps_types(source: SqliteSource) -> None:
    cols = export.source_columns(source, "cell_performance_data")
    assert cols == list(SOURCE_TABLES["cell_performance_data"])
    assert source.queries == [] or "TOP 0" in source.queries[0]


@pytest.mark.parametrize(
    ("type_name", "expected"),
    [
        ("decimal(12,2)", ColumnSpec("c", "decimal", 2)),
        ("NUMERIC(38, 0)", ColumnSpec("c", "decimal", 0)),
        ("money", ColumnSpec("c", "decimal", 4)),
        ("bit", ColumnSpec("c", "bool")),
        ("nvarchar(max)", ColumnSpec("c", "text")),
        ("smalldatetime", ColumnSpec("c", "timestamp")),
        ("date", ColumnSpec("c", "date")),
        ("bigint", ColumnSpec("c", "int")),
        ("real", ColumnSpec("c", "float")),
    ],
)
def test_tsql_kinds(type_name: str, expected: ColumnSpec) -> None:
    assert export.tsql_kind(type_name, "t", "c") == expected


def test_unknown_type_names_table_and_column() -> None:
    src = SqliteSource({"t": [("id", "int"), ("at", "datetimeoffset")]}, {})
    with pytest.raises(export.ExportError, match=r"dbo\.t, column at: T-SQL type 'datetimeoffset'"):
        export.source_columns(src, "t")


def test_decimal_scale_from_catalog_when_metadata_lacks_it() -> None:
    src = SqliteSource({"t": [("id", "int"), ("amount", "decimal")]}, {})
    src.db.execute("CREATE TABLE INFORMATION_SCHEMA_COLUMNS (TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, NUMERIC_SCALE)")
    src.db.execute("INSERT INTO INFORMATION_SCHEMA_COLUMNS VALUES ('dbo', 't', 'amount', 3)")
    orig = src.query
    src.query = lambda sql: orig(
        sql.replace("INFORMATION_SCHEMA.COLUMNS", "INFORMATION_SCHEMA_COLUMNS").replace("N'", "'")
    )
    assert export.source_columns(src, "t") == [ColumnSpec("id", "int"), ColumnSpec("amount", "decimal", 3)]


@pytest.mark.parametrize(("lo", "hi"), [(None, 10), (10, 25), (25, None), (None, None)])
def test_export_chunk_writes_exact_rows_hash_and_manifest(source: SqliteSource, tmp_path: Path, lo, hi) -> None:
    table = "cell_performance_data"
    cols = export.source_columns(source, table)
    chunk = Chunk("cell_perf_stats", "src1", "NetPerf01", DAY, 1, lo, hi)
    raw = Area(tmp_path / "raw")
    seen: list[tuple[int, int]] = []
    rec = export.export_chunk(
        source, chunk, table, cols, None, "measured_at", "cell_id", raw, lambda r, b: seen.append((r, b)), batch_rows=97
    )
    names = [c.name for c in cols]
    expected = [r for r in cell_rows(3000) if in_chunk(r, chunk, names)]
    assert 0 < len(expected) < 3000 or (lo, hi) == (None, None)

    got = pq.read_table(raw.local_path(f"{chunk.rel_dir()}/{table}.parquet")).to_pylist()
    assert sorted((tuple(r.values()) for r in got), key=repr) == sorted(expected, key=repr)
    n, h = checksum.chunk_hash_py(expected, cols)
    assert (rec.rows, rec.hash) == (n, h)
    assert rec.stage == f"export:{table}" and rec.chunk_id == chunk.chunk_id
    assert rec.bytes == raw.local_path(f"{chunk.rel_dir()}/{table}.parquet").stat().st_size
    man = json.loads(raw.get_bytes(f"{chunk.rel_dir()}/{table}.manifest.json"))
    assert man == {
        "chunk_id": chunk.chunk_id,
        "table": table,
        "rows": n,
        "hash": h,
        "bytes": rec.bytes,
        "columns": [{"name": c.name, "kind": c.kind, "scale": c.scale} for c in cols],
    }
    assert sum(r for r, _ in seen) == n and all(r <= 97 for r, _ in seen)
    assert raw.list() == sorted([f"{chunk.rel_dir()}/{table}.parquet", f"{chunk.rel_dir()}/{table}.manifest.json"])


def test_export_applies_only_its_own_filter_and_drift_check(source: SqliteSource, tmp_path: Path) -> None:
    table = "cell_performance_data"
    cols = export.source_columns(source, table)
    chunk = Chunk("cell_perf_stats", "src1", "NetPerf01", DAY, 0)
    rec = export.export_chunk(
        source, chunk, table, cols, "[dropped_calls] > 4", "measured_at", "cell_id", Area(tmp_path)
    )
    expected = [r for r in cell_rows(3000) if in_chunk(r, chunk, [c.name for c in cols], lambda r: r[5] > 4)]
    assert (rec.rows, rec.hash) == checksum.chunk_hash_py(expected, cols)
    assert "([dropped_calls] > 4)" in source.queries[-1]

    # the drift check re-reads the source: equal now, different after a source row changes
    assert export.source_chunk_hash(source, chunk, table, cols, "[dropped_calls] > 4", "measured_at", "cell_id") == (
        rec.rows,
        rec.hash,
    )
    source.db.execute("UPDATE dbo.[cell_performance_data] SET latency_ms = latency_ms + 1 WHERE dropped_calls = 9")
    rows, h = export.source_chunk_hash(source, chunk, table, cols, "[dropped_calls] > 4", "measured_at", "cell_id")
    assert rows == rec.rows and h != rec.hash


def test_empty_chunk_writes_an_empty_typed_file(source: SqliteSource, tmp_path: Path) -> None:
    table = "cell_performance_data"
    cols = export.source_columns(source, table)
    chunk = Chunk("cell_perf_stats", "src1", "NetPerf01", DAY + dt.timedelta(days=30), 0)
    raw = Area(tmp_path)
    rec = export.export_chunk(source, chunk, table, cols, None, "measured_at", "cell_id", raw)
    assert (rec.rows, rec.hash) == (0, "0")
    t = pq.read_table(raw.local_path(f"{chunk.rel_dir()}/{table}.parquet"))
    assert t.num_rows == 0 and t.schema == export.arrow_schema(cols)


def test_decimal_date_bool_kinds_round_trip(tmp_path: Path) -> None:
    types = [("id", "int"), ("at", "datetime2"), ("d", "date"), ("m", "decimal(12,2)"), ("b", "bit"), ("r", "real")]
    rows = [
        (1, dt.datetime(2026, 3, 1, 1), dt.date(2024, 2, 29), Decimal("-1.05"), 1, 0.5),
        (2, dt.datetime(2026, 3, 1, 2), None, Decimal("12345.60"), 0, None),
        (3, dt.datetime(2026, 3, 1, 3), dt.date(1, 1, 1), None, None, -2.25),
    ]
    src = SqliteSource({"t": types}, {"t": rows})
    cols = export.source_columns(src, "t")
    chunk = Chunk("c", "s", "d", DAY, 0)
    raw = Area(tmp_path)
    rec = export.export_chunk(src, chunk, "t", cols, None, "at", "id", raw)
    expected = [(i, a, d, m, None if b is None else bool(b), r) for i, a, d, m, b, r in rows]
    assert (rec.rows, rec.hash) == checksum.chunk_hash_py(expected, cols)
    got = [tuple(r.values()) for r in pq.read_table(raw.local_path(f"{chunk.rel_dir()}/t.parquet")).to_pylist()]
    assert got == expected


def test_missing_date_column_is_a_clear_error(source: SqliteSource, tmp_path: Path) -> None:
    cols = export.source_columns(source, "cell_performance_data")
    chunk = Chunk("c", "s", "d", DAY, 0)
    with pytest.raises(export.ExportError, match="no date column 'day_at'"):
        export.export_chunk(source, chunk, "cell_performance_data", cols, None, "day_at", "cell_id", Area(tmp_path))
    assert Area(tmp_path).list() == []


def test_failed_export_leaves_no_file(source: SqliteSource, tmp_path: Path) -> None:
    cols = export.source_columns(source, "cell_performance_data")
    chunk = Chunk("c", "s", "d", DAY, 0)

    class Broken(SqliteSource):
        def stream(self, sql: str, batch_rows: int = 50_000) -> Iterator[list[tuple]]:
            it = super().stream(sql, batch_rows)
            yield next(it)
            raise ConnectionResetError("connection lost mid-chunk")

    broken = Broken({"cell_performance_data": CELL_TYPES}, {"cell_performance_data": cell_rows(500)})
    raw = Area(tmp_path)
    with pytest.raises(ConnectionResetError):
        export.export_chunk(
            broken, chunk, "cell_performance_data", cols, None, "measured_at", "cell_id", raw, batch_rows=50
        )
    assert raw.list() == []
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


def test_split_bounds(source: SqliteSource) -> None:
    assert export.split_bounds(source, "cell_performance_data", "cell_id", "measured_at", DAY, DAY) == (0, 39)
    far = DAY + dt.timedelta(days=100)
    assert export.split_bounds(source, "cell_performance_data", "cell_id", "measured_at", far, far) is None


# ------------------------------------------------------------------ against the estate's SQL Server sources

ESTATE_DAY = dt.date(2026, 11, 1)  # dbshift.estate.seed.SAMPLE_START


@pytest.fixture
def src1(estate) -> Iterator[Any]:
    from dbshift.tsql.tds import connect_tds

    conn = connect_tds(estate.tds_endpoints["src1"], estate.source_login, estate.source_password, "NetPerf01")
    yield conn
    conn.close()


@pytest.mark.estate
def test_estate_source_columns(src1) -> None:
    for table, expected in SOURCE_TABLES.items():
        assert export.source_columns(src1, table) == list(expected)


@pytest.mark.estate
@pytest.mark.parametrize("flt", [None, "[site_code] <> '' AND [dropped_calls] IS NOT NULL"])
def test_estate_export_hash_equals_rows_read_independently(src1, tmp_path: Path, flt) -> None:
    table = "cell_performance_data"
    cols = export.source_columns(src1, table)
    lo, hi = export.split_bounds(src1, table, "cell_id", "measured_at", ESTATE_DAY, ESTATE_DAY)
    mid = (lo + hi) // 2
    raw = Area(tmp_path)
    total = 0
    for part, (a, b) in enumerate([(None, mid), (mid, None)]):
        chunk = Chunk("cell_perf_stats", "src1", "NetPerf01", ESTATE_DAY, part, a, b)
        rec = export.export_chunk(src1, chunk, table, cols, flt, "measured_at", "cell_id", raw, batch_rows=300)
        # the same rows fetched in one plain query, hashed in Python: an independent path
        _, rows = src1.query(export.select_sql(table, cols, chunk, flt, "measured_at", "cell_id"))
        assert (rec.rows, rec.hash) == checksum.chunk_hash_py(rows, cols)
        got = [tuple(r.values()) for r in pq.read_table(raw.local_path(export.raw_rel(chunk, table))).to_pylist()]
        assert sorted(got, key=repr) == sorted(rows, key=repr)
        assert export.source_chunk_hash(src1, chunk, table, cols, flt, "measured_at", "cell_id") == (rec.rows, rec.hash)
        total += rec.rows
    _, ((n_day,),) = src1.query(
        f"SELECT COUNT(*) FROM dbo.{table} WHERE measured_at >= '2026-11-01' AND measured_at < '2026-11-02'"
        + (f" AND ({flt})" if flt else "")
    )
    assert total == n_day > 0  # the two key ranges cover the day exactly once
