"""Validation against the estate's PostgreSQL: clean → zero differences; altered, deleted and added rows
are found by bisection and reported with their keys, for integer/timestamp and text/timestamp keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dbshift.datamove import checkpoints, checksum, finish, load, report, validate
from dbshift.datamove.area import Area
from dbshift.datamove.model import CELL_PERF_STATS, Category, Chunk, ColumnSpec

pytestmark = pytest.mark.estate

SHIPPED_DDL = Path(load.__file__).parent / "sql" / "cell_perf_stats.postgres.sql"
DAY = dt.date(2026, 11, 1)
TYPES = {"text": pa.string(), "int": pa.int32(), "float": pa.float64(), "timestamp": pa.timestamp("us")}


@dataclasses.dataclass
class Env:
    dsn: str
    category: Category
    schema: str
    area: Area
    chunks: list[Chunk]

    def conn(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn)

    def sql(self, q: str, params: tuple = ()) -> None:
        with self.conn() as c:
            c.execute(q, params)
            c.commit()

    def validate(self, leaf: int = 4) -> validate.ValidationReport:
        return validate.validate(
            self.dsn, self.category, self.chunks, self.area, bisect_leaf_rows=leaf, checkpoint_schema=self.schema
        )


def write_chunk(area: Area, category: Category, chunk: Chunk, rows: list[tuple]) -> tuple[int, str]:
    buf = io.BytesIO()
    cols = category.data_columns
    table = pa.table({c.name: pa.array([r[i] for r in rows], TYPES[c.kind]) for i, c in enumerate(cols)})
    pq.write_table(table, buf)
    n, h = checksum.chunk_hash_py(rows, cols)
    area.put_bytes(chunk.transformed_rel(), buf.getvalue())
    doc = {"chunk_id": chunk.chunk_id, "table": None, "rows": n, "hash": h, "bytes": buf.tell(), "columns": []}
    area.put_bytes(load.manifest_rel(chunk), json.dumps(doc).encode())
    return n, h


PER_CELL = 50


def perf_ts(cell: int, s: int) -> dt.datetime:
    """measured_at of the s-th row of a cell (microseconds make every row's timestamp distinct)."""
    return dt.datetime.combine(DAY, dt.time()) + dt.timedelta(minutes=s * 5, microseconds=(cell * PER_CELL + s) % 997)


def perf_rows(chunk: Chunk) -> list[tuple]:
    rows = []
    for cell in range(chunk.split_lo, chunk.split_hi):
        for s in range(PER_CELL):
            i = cell * PER_CELL + s
            ts = perf_ts(cell, s)
            measures = (
                f"site-{cell:03d}",
                i * 0.5,
                None if i % 9 == 0 else 1.25,
                i % 7,
                i % 100,
                round(i / 3, 6),
                i % 3,
            )
            rows.append((chunk.server, chunk.database, cell, ts, *measures))
    return rows


@pytest.fixture
def perf(estate, tmp_path: Path) -> Iterator[Env]:
    """cell_perf_stats under a random name: 2 servers x 2 chunks imported, transform-checkpointed, finished."""
    name = f"t_val_{uuid.uuid4().hex[:8]}"
    schema = f"t_val_ckpt_{uuid.uuid4().hex[:8]}"
    tdir = tmp_path / "transforms"
    tdir.mkdir()
    (tdir / f"{name}.postgres.sql").write_text(SHIPPED_DDL.read_text().replace("cell_perf_stats", name))
    category = dataclasses.replace(CELL_PERF_STATS, name=name)
    area = Area(tmp_path / "transformed")
    chunks = [
        Chunk(name, server, "NetPerf01", DAY, part, lo, hi)
        for server in ("SRC1", "SRC2")
        for part, (lo, hi) in enumerate([(None, 20), (20, None)])
    ]
    sums = {}
    for c in chunks:
        lo, hi = (0 if c.split_lo is None else c.split_lo), (40 if c.split_hi is None else c.split_hi)
        sums[c.chunk_id] = write_chunk(area, category, c, perf_rows(dataclasses.replace(c, split_lo=lo, split_hi=hi)))
    with psycopg.connect(estate.postgres_dsn) as conn:
        checkpoints.ensure_schema(conn, schema=schema)
        load.apply_target_ddl(conn, tdir, category)
        checkpoints.save_plan(conn, name, chunks, schema=schema)
        for c in chunks:
            checkpoints.mark_done(conn, name, c.chunk_id, "transform", *sums[c.chunk_id], schema=schema)
        conn.commit()
    try:
        load.import_chunks(estate.postgres_dsn, category, chunks, area, checkpoint_schema=schema)
        with psycopg.connect(estate.postgres_dsn) as conn:
            finish.finish(conn, name, checkpoint_schema=schema)
        yield Env(estate.postgres_dsn, category, schema, area, chunks)
    finally:
        with psycopg.connect(estate.postgres_dsn, autocommit=True) as c:
            c.execute(f"DROP TABLE IF EXISTS stage.{name}, public.{name}, public.{name}_new")
            c.execute(f"DROP PROCEDURE IF EXISTS stage.stage_ctas_null_upd_{name}()")
            c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_clean_target_has_zero_differences_and_is_recorded(perf: Env) -> None:
    rep = perf.validate()

    assert rep.ok and rep.differences == [] and rep.outside_rows == 0
    assert [c.expected_from for c in rep.chunks] == ["transform checkpoint"] * 4
    assert rep.target_rows == rep.expected_rows == 4 * 20 * PER_CELL
    assert all(c.ranges_hashed == 0 for c in rep.chunks)  # equal hashes: no bisection, no Parquet read
    with perf.conn() as c:
        recorded = checkpoints.last_validations(c, perf.category.name, schema=perf.schema)
    assert set(recorded) == {ch.chunk_id for ch in perf.chunks} and all(v.ok for v in recorded.values())


def test_altered_deleted_added_rows_are_reported_with_their_keys(perf: Env, tmp_path: Path) -> None:
    t = f"public.{perf.category.name}"
    changed, deleted = perf_ts(27, 20), perf_ts(33, 24)
    # Three changes in one chunk (SRC1, cells >= 20) and one row on a day no chunk covers.
    perf.sql(
        f"UPDATE {t} SET latency_ms = latency_ms + 1e-9 "
        "WHERE server_name = 'SRC1' AND cell_id = 27 AND measured_at = %s",
        (changed,),
    )
    perf.sql(f"DELETE FROM {t} WHERE server_name = 'SRC1' AND cell_id = 33 AND measured_at = %s", (deleted,))
    perf.sql(f"INSERT INTO {t} (server_name, database_name, cell_id, measured_at, site_code) "
             "VALUES ('SRC1', 'NetPerf01', 25, '2026-11-01 23:59:59.5', 'new')")  # fmt: skip
    perf.sql(f"INSERT INTO {t} (server_name, database_name, cell_id, measured_at) "
             "VALUES ('SRC2', 'NetPerf01', 3, '2026-11-05 10:00:00')")  # fmt: skip

    rep = perf.validate(leaf=4)  # 1,000 rows per chunk, leaves of 4: about eight levels of bisection

    assert not rep.ok
    bad = [c for c in rep.chunks if not c.ok]
    assert [c.chunk_id for c in bad] == ["SRC1/NetPerf01/2026-11-01/p1"]
    assert bad[0].ranges_hashed >= 8
    found = {(d.kind, d.key["cell_id"], d.key["measured_at"]) for d in bad[0].differences}
    assert found == {
        ("changed", 27, changed.isoformat(sep=" ")),
        ("missing", 33, deleted.isoformat(sep=" ")),
        ("extra", 25, "2026-11-01 23:59:59.500000"),
    }
    assert rep.outside_rows == 1
    assert rep.outside[0].key == {
        "server_name": "SRC2",
        "database_name": "NetPerf01",
        "cell_id": 3,
        "measured_at": "2026-11-05 10:00:00",
    }
    with perf.conn() as c:
        recorded = checkpoints.last_validations(c, perf.category.name, schema=perf.schema)
    assert not recorded["SRC1/NetPerf01/2026-11-01/p1"].ok
    assert {d["kind"] for d in recorded["SRC1/NetPerf01/2026-11-01/p1"].diffs} == {"changed", "missing", "extra"}
    assert not recorded[validate.OUTSIDE_PLAN].ok

    html = Path(report.write_report(rep, tmp_path / "r.html")).read_text()
    assert changed.isoformat(sep=" ") in html and "2026-11-05 10:00:00" in html
    assert json.loads((tmp_path / "r.json").read_text())["ok"] is False


TEXT_CATEGORY_COLS = (
    ColumnSpec("server_name", "text"),
    ColumnSpec("database_name", "text"),
    ColumnSpec("tag", "text"),
    ColumnSpec("ts", "timestamp"),
    ColumnSpec("cell_id", "int"),
    ColumnSpec("v", "float"),
)
# Orders that differ between bytewise and linguistic collations, quotes, non-ASCII.
TAGS = ["B", "a", "b", "_x", "Z", "é", "ab c", "O'Brien", "a b", "ß", "A", "zz", "%", "1", "10", "9"]


@pytest.fixture
def text_keyed(estate, tmp_path: Path) -> Iterator[Env]:
    """A category keyed (server, database, tag text, ts timestamp), loaded straight into its final table;
    no transform checkpoints, so validation takes the expected side from the manifests."""
    name = f"t_valtxt_{uuid.uuid4().hex[:8]}"
    schema = f"t_valtxt_ckpt_{uuid.uuid4().hex[:8]}"
    category = Category(
        name, ("src",), TEXT_CATEGORY_COLS, ("server_name", "database_name", "tag", "ts"), "cell_id", "ts"
    )
    area = Area(tmp_path / "transformed")
    chunk = Chunk(name, "SRC1", "NetPerf02", DAY, 0)
    rows = [
        ("SRC1", "NetPerf02", tag, dt.datetime(2026, 11, 1, h, m), i, i / 7)
        for i, (tag, h, m) in enumerate((tag, h, m) for tag in TAGS for h in range(0, 24, 3) for m in (0, 30))
    ]
    write_chunk(area, category, chunk, rows)
    with psycopg.connect(estate.postgres_dsn) as c:
        checkpoints.ensure_schema(c, schema=schema)
        checkpoints.save_plan(c, name, [chunk], schema=schema)
        c.execute(
            f"CREATE TABLE public.{name} (server_name text, database_name text, tag text, ts timestamp, "
            "cell_id integer, v double precision, migrated_at timestamptz, "
            "PRIMARY KEY (server_name, database_name, tag, ts))"
        )
        with c.cursor().copy(f"COPY public.{name} (server_name, database_name, tag, ts, cell_id, v) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        c.commit()
    try:
        yield Env(estate.postgres_dsn, category, schema, area, [chunk])
    finally:
        with psycopg.connect(estate.postgres_dsn, autocommit=True) as c:
            c.execute(f"DROP TABLE IF EXISTS public.{name}")
            c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_text_and_timestamp_key_bisects_to_the_exact_keys(text_keyed: Env) -> None:
    t = f"public.{text_keyed.category.name}"
    clean = text_keyed.validate(leaf=3)
    assert clean.ok and clean.chunks[0].expected_from == "manifest"

    text_keyed.sql(f"DELETE FROM {t} WHERE tag = 'O''Brien' AND ts = '2026-11-01 09:30'")
    text_keyed.sql(f"UPDATE {t} SET v = -1 WHERE tag = 'é' AND ts = '2026-11-01 21:00'")
    text_keyed.sql(f"UPDATE {t} SET cell_id = 999 WHERE tag = 'B' AND ts = '2026-11-01 00:00'")
    text_keyed.sql(
        f"INSERT INTO {t} (server_name, database_name, tag, ts, cell_id, v) "
        "VALUES ('SRC1', 'NetPerf02', 'a', '2026-11-01 12:15', 1, 1), "
        "('SRC1', 'NetPerf02', 'ab', '2026-11-01 00:00', 1, 1)"
    )

    rep = text_keyed.validate(leaf=3)

    found = {(d.kind, d.key["tag"], d.key["ts"]) for d in rep.differences}
    assert found == {
        ("missing", "O'Brien", "2026-11-01 09:30:00"),
        ("changed", "é", "2026-11-01 21:00:00"),
        ("changed", "B", "2026-11-01 00:00:00"),
        ("extra", "a", "2026-11-01 12:15:00"),
        ("extra", "ab", "2026-11-01 00:00:00"),
    }
    assert rep.chunks[0].target_rows == rep.chunks[0].expected_rows + 1
    assert rep.chunks[0].ranges_hashed >= 5  # 256 rows, leaves of 3: found by bisection, not one leaf


def test_missing_final_table_is_a_clear_error(perf: Env) -> None:
    other = dataclasses.replace(perf.category, name="t_val_no_such_table")
    with pytest.raises(Exception, match="run the finish stage"):
        validate.validate(perf.dsn, other, [], perf.area, checkpoint_schema=perf.schema)
