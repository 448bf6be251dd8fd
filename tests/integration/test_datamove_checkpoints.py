"""Checkpoints in the estate's PostgreSQL: durable, race-safe, plan frozen; categories from the real catalog.

Every test works in a schema of its own (checkpoints) or on tables with a unique name (categories),
and drops them, so the tests share the estate with others in any order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql

from dbshift.datamove import checkpoints as ck
from dbshift.datamove.categories import build_category
from dbshift.datamove.config import (
    ENV_RAW_AREA,
    ENV_SOURCE_PASSWORD,
    ENV_SOURCE_USER,
    ENV_TARGET_DSN,
    ENV_TRANSFORMED_AREA,
    InvalidConfig,
    MigrationConfig,
    load_from_yaml,
)
from dbshift.datamove.model import CELL_PERF_STATS, SOURCE_TABLES, Chunk
from dbshift.errors import ConfigError, DbshiftError

pytestmark = [pytest.mark.estate]


@pytest.fixture(scope="module")
def dsn(estate) -> str:
    return estate.postgres_dsn


@pytest.fixture
def schema(dsn: str) -> Iterator[str]:
    name = f"dbshift_ckpt_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn) as conn:
        ck.ensure_schema(conn, schema=name)
    yield name
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def plan(category: str, days: int = 2, parts: int = 3) -> list[Chunk]:
    edges = [None, *range(100, 100 * parts, 100), None]
    return [
        Chunk(category, server, database, dt.date(2024, 1, 1) + dt.timedelta(days=d), p, edges[p], edges[p + 1])
        for server in ("src1", "src2")
        for database in ("NetPerf01", "NetPerf02")
        for d in range(days)
        for p in range(parts)
    ]


# ------------------------------------------------------------------------------------------ schema


def test_ensure_schema_creates_the_contract_tables_and_is_concurrent_safe(dsn: str) -> None:
    name = f"dbshift_ckpt_{uuid.uuid4().hex[:10]}"
    errors: list[BaseException] = []

    def create() -> None:
        try:
            with psycopg.connect(dsn) as conn:
                ck.ensure_schema(conn, schema=name)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        with psycopg.connect(dsn) as conn:
            rows = conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s",
                (name,),
            ).fetchall()
        cols: dict[str, set[str]] = {}
        for table, col in rows:
            cols.setdefault(table, set()).add(col)
        assert cols == {
            "runs": {"run_id", "category", "job_mode", "config_digest", "started_at", "finished_at", "status"},
            "chunks": {"category", "chunk_id", "server", "database", "day", "part", "split_lo", "split_hi"},
            "chunk_stages": {"category", "chunk_id", "stage", "rows", "hash", "bytes", "detail", "done_at"},
            "validations": {
                "category",
                "chunk_id",
                "checked_at",
                "source_rows",
                "target_rows",
                "source_hash",
                "target_hash",
                "ok",
                "diffs",
            },
        }
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def test_default_schema_is_dbshift_migration(dsn: str) -> None:
    # Shared with the real runs: only idempotent DDL here, no rows written.
    with psycopg.connect(dsn) as conn:
        ck.ensure_schema(conn)
        ck.ensure_schema(conn)
        found = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'dbshift_migration'"
        ).fetchone()[0]
    assert found == 4


# ------------------------------------------------------------------------------------------ plan


def test_plan_is_saved_once_and_a_different_one_is_refused(dsn: str, schema: str) -> None:
    chunks = plan("cat_a")
    with psycopg.connect(dsn) as conn:
        assert ck.load_plan(conn, "cat_a", schema=schema) is None
        assert ck.save_plan(conn, "cat_a", chunks, schema=schema) is True
        conn.commit()
    with psycopg.connect(dsn) as conn:
        loaded = ck.load_plan(conn, "cat_a", schema=schema)
        assert loaded == sorted(chunks, key=lambda c: (c.server, c.database, c.day, c.part))
        assert ck.save_plan(conn, "cat_a", list(reversed(chunks)), schema=schema) is False  # same plan: no-op
        assert ck.load_plan(conn, "other", schema=schema) is None

        moved = [dataclasses.replace(c, split_hi=150) if c.part == 0 else c for c in chunks]
        with pytest.raises(ConfigError) as ei:
            ck.save_plan(conn, "cat_a", moved, schema=schema)
        msg = str(ei.value)
        assert "category cat_a: the checkpoints hold a different plan (chunk src1/NetPerf01/2024-01-01/p0" in msg
        assert "saved range [None, 100) vs new [None, 150)" in msg and "job_mode=fresh" in msg
        fewer = plan("cat_a", parts=2)
        first = "chunk src1/NetPerf01/2024-01-01/p1: saved range \\[100, 200\\) vs new \\[100, None\\)"
        with pytest.raises(ConfigError, match=rf"{len(chunks)} saved vs {len(fewer)} new chunks; {first}"):
            ck.save_plan(conn, "cat_a", fewer, schema=schema)
        conn.rollback()

        ck.reset(conn, "cat_a", schema=schema)  # job_mode=fresh
        assert ck.save_plan(conn, "cat_a", moved, schema=schema) is True
        conn.commit()
        assert ck.load_plan(conn, "cat_a", schema=schema) == sorted(
            moved, key=lambda c: (c.server, c.database, c.day, c.part)
        )


def test_bad_plans_are_refused(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn) as conn:
        with pytest.raises(DbshiftError, match="the plan holds chunks of cat_b"):
            ck.save_plan(conn, "cat_a", plan("cat_b"), schema=schema)
        with pytest.raises(DbshiftError, match="appears twice in the plan"):
            ck.save_plan(conn, "cat_a", plan("cat_a") + plan("cat_a")[:1], schema=schema)
        with pytest.raises(DbshiftError, match="the plan has no chunks"):
            ck.save_plan(conn, "cat_a", [], schema=schema)


# ------------------------------------------------------------------------------------------ stages


def test_mark_done_records_exactly_and_refuses_a_second_time(dsn: str, schema: str) -> None:
    chunks = plan("cat_a")
    big = str(2**60 * 5_000_000 + 12345)  # a sum of 60-bit row hashes: beyond bigint
    with psycopg.connect(dsn) as conn:
        ck.save_plan(conn, "cat_a", chunks, schema=schema)
        c0, c1 = chunks[0].chunk_id, chunks[1].chunk_id
        ck.mark_done(conn, "cat_a", c0, "import", 5_000_000, big, 123, {"file": "p0.parquet"}, schema=schema)
        ck.mark_done(conn, "cat_a", c0, "export:cell_performance_data", 7, 99, schema=schema)
        ck.mark_done(conn, "cat_a", c1, "import", 0, "0", schema=schema)
        conn.commit()

        rec = ck.stage_done(conn, "cat_a", c0, "import", schema=schema)
        assert rec is not None
        assert (rec.chunk_id, rec.stage, rec.rows, rec.hash, rec.bytes) == (c0, "import", 5_000_000, big, 123)
        assert rec.detail == {"file": "p0.parquet"}
        assert ck.stage_done(conn, "cat_a", chunks[2].chunk_id, "import", schema=schema) is None
        assert ck.stage_done(conn, "cat_a", c0, "transform", schema=schema) is None
        assert set(ck.done_map(conn, "cat_a", "import", schema=schema)) == {c0, c1}
        assert set(ck.done_map(conn, "cat_a", "export:cell_performance_data", schema=schema)) == {c0}

        with pytest.raises(ck.ChunkAlreadyDone, match=f"chunk {c0}: stage import is already done"):
            ck.mark_done(conn, "cat_a", c0, "import", 1, "1", schema=schema)
        # The transaction is aborted: a COMMIT cannot keep anything done in it.
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()

        with pytest.raises(DbshiftError, match="is not in the saved plan; save_plan before marking stages"):
            ck.mark_done(conn, "cat_a", "src9/X/2024-01-01/p0", "import", 1, "1", schema=schema)
        conn.rollback()
        for bad_stage in ("load", "export", "export:"):
            with pytest.raises(DbshiftError, match="is not one of 'export:<table>', 'transform', 'import'"):
                ck.mark_done(conn, "cat_a", c1, bad_stage, 1, "1", schema=schema)
        with pytest.raises(DbshiftError, match=r"hash '1\.5' is not a decimal integer"):
            ck.mark_done(conn, "cat_a", c1, "transform", 1, "1.5", schema=schema)


def test_reset_forgets_the_chosen_stages_or_everything(dsn: str, schema: str) -> None:
    chunks = plan("cat_a", days=1, parts=1)
    with psycopg.connect(dsn) as conn:
        ck.save_plan(conn, "cat_a", chunks, schema=schema)
        ck.save_plan(conn, "cat_b", plan("cat_b", days=1, parts=1), schema=schema)
        for c in chunks:
            for stage in ("export:t1", "export:t2", "transform", "import"):
                ck.mark_done(conn, "cat_a", c.chunk_id, stage, 1, "1", schema=schema)
        ck.mark_done(conn, "cat_b", plan("cat_b", days=1, parts=1)[0].chunk_id, "import", 1, "1", schema=schema)
        ck.record_validation(conn, "cat_a", chunks[0].chunk_id, 1, 1, "1", "1", True, schema=schema)
        conn.commit()

        assert ck.reset(conn, "cat_a", ["export"], schema=schema) == 2 * len(chunks)
        assert ck.done_map(conn, "cat_a", "export:t1", schema=schema) == {}
        assert len(ck.done_map(conn, "cat_a", "transform", schema=schema)) == len(chunks)
        ck.reset(conn, "cat_a", ["import"], schema=schema)
        assert ck.done_map(conn, "cat_a", "import", schema=schema) == {}
        assert len(ck.done_map(conn, "cat_a", "transform", schema=schema)) == len(chunks)

        ck.reset(conn, "cat_a", None, schema=schema)
        conn.commit()
        assert ck.load_plan(conn, "cat_a", schema=schema) is None
        assert ck.done_map(conn, "cat_a", "transform", schema=schema) == {}
        assert ck.last_validations(conn, "cat_a", schema=schema) == {}
        # Another category is untouched.
        assert ck.load_plan(conn, "cat_b", schema=schema) is not None
        assert len(ck.done_map(conn, "cat_b", "import", schema=schema)) == 1


CRASHER = """
import os, sys, psycopg
from dbshift.datamove import checkpoints as ck
conn = psycopg.connect(os.environ["CK_DSN"])
conn.execute(f"INSERT INTO {sys.argv[1]}.loaded VALUES (%s)", (sys.argv[3],))  # the chunk's COPY
ck.mark_done(conn, "cat_a", sys.argv[3], "import", 10, "77", schema=sys.argv[1])
if sys.argv[2] == "crash":
    os._exit(9)  # killed between mark_done and COMMIT
conn.commit()
"""


def test_a_crash_before_commit_loses_data_and_checkpoint_together(dsn: str, schema: str) -> None:
    chunks = plan("cat_a", days=1, parts=2)
    with psycopg.connect(dsn) as conn:
        ck.save_plan(conn, "cat_a", chunks, schema=schema)
        conn.execute(sql.SQL("CREATE TABLE {}.loaded (chunk_id text)").format(sql.Identifier(schema)))
        conn.commit()
    env = {**os.environ, "CK_DSN": dsn}  # the DSN holds a password: never on a command line
    for mode, chunk in (("crash", chunks[0].chunk_id), ("commit", chunks[1].chunk_id)):
        proc = subprocess.run(
            [sys.executable, "-c", CRASHER, schema, mode, chunk], env=env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == (9 if mode == "crash" else 0), proc.stderr
    with psycopg.connect(dsn) as conn:
        loaded = [r[0] for r in conn.execute(sql.SQL("SELECT chunk_id FROM {}.loaded").format(sql.Identifier(schema)))]
        assert loaded == [chunks[1].chunk_id]
        assert set(ck.done_map(conn, "cat_a", "import", schema=schema)) == {chunks[1].chunk_id}


def test_claim_is_exclusive_per_transaction(dsn: str, schema: str) -> None:
    chunks = plan("cat_a", days=1, parts=2)
    c0, c1 = chunks[0].chunk_id, chunks[1].chunk_id
    with psycopg.connect(dsn) as a, psycopg.connect(dsn) as b:
        ck.save_plan(a, "cat_a", chunks, schema=schema)
        a.commit()
        assert ck.claim(a, "cat_a", c0, "import", schema=schema) is True
        assert ck.claim(b, "cat_a", c0, "import", schema=schema) is False
        assert ck.claim(b, "cat_a", c1, "import", schema=schema) is True  # another chunk
        assert ck.claim(b, "cat_a", c0, "transform", schema=schema) is True  # another stage
        ck.mark_done(a, "cat_a", c0, "import", 1, "5", schema=schema)
        a.commit()  # releases a's lock
        assert ck.claim(b, "cat_a", c0, "import", schema=schema) is True
        # After the claim, b sees what a committed: the chunk is done, skip it.
        assert ck.stage_done(b, "cat_a", c0, "import", schema=schema) is not None
        b.rollback()
    with psycopg.connect(dsn, autocommit=True) as auto, pytest.raises(DbshiftError, match="needs a transaction"):
        ck.claim(auto, "cat_a", c0, "import", schema=schema)


@pytest.mark.parametrize("use_claim", [True, False], ids=["claim", "insert-conflict-only"])
def test_two_resuming_workers_never_load_a_chunk_twice(dsn: str, schema: str, use_claim: bool) -> None:
    chunks = plan("cat_a", days=2, parts=3)
    ident = sql.Identifier(schema)
    with psycopg.connect(dsn) as conn:
        ck.save_plan(conn, "cat_a", chunks, schema=schema)
        conn.execute(sql.SQL("CREATE TABLE {}.loaded (chunk_id text, worker int)").format(ident))
        # One chunk was done by an earlier run.
        ck.mark_done(conn, "cat_a", chunks[5].chunk_id, "import", 1, "1", schema=schema)
        conn.execute(sql.SQL("INSERT INTO {}.loaded VALUES (%s, 0)").format(ident), (chunks[5].chunk_id,))
        conn.commit()
    errors: list[BaseException] = []
    conflicts: list[str] = []
    busy: list[str] = []
    start = threading.Barrier(2)

    def worker(n: int) -> None:
        try:
            with psycopg.connect(dsn) as conn:
                start.wait()
                for c in chunks:
                    try:
                        with conn.transaction():
                            if use_claim and not ck.claim(conn, "cat_a", c.chunk_id, "import", schema=schema):
                                busy.append(c.chunk_id)
                                continue
                            if ck.stage_done(conn, "cat_a", c.chunk_id, "import", schema=schema):
                                continue
                            conn.execute(
                                sql.SQL("INSERT INTO {}.loaded VALUES (%s, %s)").format(ident), (c.chunk_id, n)
                            )
                            time.sleep(0.02)  # the COPY takes a while: the other worker gets there too
                            ck.mark_done(conn, "cat_a", c.chunk_id, "import", 1, "1", schema=schema)
                    except ck.ChunkAlreadyDone:
                        conflicts.append(c.chunk_id)  # the transaction block rolled back our COPY
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(sql.SQL("SELECT chunk_id, worker FROM {}.loaded").format(ident)).fetchall()
        ids = [r[0] for r in rows]
        assert sorted(ids) == sorted(c.chunk_id for c in chunks)  # every chunk loaded exactly once
        assert len(set(ck.done_map(conn, "cat_a", "import", schema=schema))) == len(chunks)
        assert {r[1] for r in rows if r[0] == chunks[5].chunk_id} == {0}
        workers = {r[1] for r in rows}
    if use_claim:
        assert busy and not conflicts  # the lock turned the other worker away before any wasted COPY
        assert workers == {0, 1, 2}  # and both workers loaded chunks: they shared the work
    else:
        assert conflicts  # the duplicate COPY happened, and mark_done's conflict rolled it back


# ------------------------------------------------------------------------------------------ runs, validations


def test_runs_and_the_resume_digest_check(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn) as conn:
        assert ck.last_run(conn, "cat_a", schema=schema) is None
        r1 = ck.start_run(conn, "cat_a", "fresh", "sha256:aaa", schema=schema)
        conn.commit()
        last = ck.last_run(conn, "cat_a", schema=schema)
        assert last is not None and (last.run_id, last.status, last.finished_at) == (r1, "running", None)
        ck.finish_run(conn, r1, "failed", schema=schema)
        r2 = ck.start_run(conn, "cat_a", "resume", "sha256:aaa", schema=schema)
        ck.finish_run(conn, r2, "completed", schema=schema)
        conn.commit()
        last = ck.last_run(conn, "cat_a", schema=schema)
        assert last is not None and (last.run_id, last.job_mode, last.status) == (r2, "resume", "completed")
        assert last.finished_at is not None and last.finished_at >= last.started_at
        with pytest.raises(
            ConfigError, match="job_mode=resume, but the configuration's data-defining settings changed"
        ):
            ck.start_run(conn, "cat_a", "resume", "sha256:bbb", schema=schema)
        r3 = ck.start_run(conn, "cat_a", "fresh", "sha256:bbb", schema=schema)
        assert r3 > r2
        assert ck.start_run(conn, "cat_b", "resume", "sha256:zzz", schema=schema) > r3  # no earlier run: fine
        with pytest.raises(DbshiftError, match="no run 999999"):
            ck.finish_run(conn, 999999, "completed", schema=schema)
        with pytest.raises(DbshiftError, match="status 'done' is not"):
            ck.finish_run(conn, r3, "done", schema=schema)


def test_validations_keep_history_and_return_the_latest(dsn: str, schema: str) -> None:
    chunks = plan("cat_a", days=1, parts=1)
    with psycopg.connect(dsn) as conn:
        ck.record_validation(conn, "cat_a", chunks[0].chunk_id, 3, 2, "30", "20", False, [{"key": [1]}], schema=schema)
        ck.record_validation(conn, "cat_a", chunks[0].chunk_id, 3, 3, 30, 30, True, schema=schema)
        conn.commit()
        latest = ck.last_validations(conn, "cat_a", schema=schema)
        v = latest[chunks[0].chunk_id]
        assert (v.ok, v.source_rows, v.target_rows, v.source_hash, v.target_hash, v.diffs) == (
            True,
            3,
            3,
            "30",
            "30",
            [],
        )
        n = conn.execute(sql.SQL("SELECT count(*) FROM {}.validations").format(sql.Identifier(schema))).fetchone()[0]
        assert n == 2


# ------------------------------------------------------------------------------------------ categories

PG_TYPE = {"int": "integer", "float": "double precision", "text": "varchar(64)", "timestamp": "timestamp"}


def sample_ddl(name: str) -> str:
    """The contract's target tables for the sample, under another name (cell_perf_stats is others')."""
    cols = ", ".join(f"{c.name} {PG_TYPE[c.kind]}" for c in CELL_PERF_STATS.data_columns)
    key = ", ".join(CELL_PERF_STATS.key)
    return (
        f"CREATE SCHEMA IF NOT EXISTS stage; "
        f"CREATE TABLE stage.{name} ({cols}); "
        f"CREATE TABLE public.{name} ({cols}, migrated_at timestamptz NULL, PRIMARY KEY ({key}))"
    )


def category_config(tmp_path: Path, name: str) -> MigrationConfig:
    doc = {
        "migration": {"job_mode": "fresh", "input_partition": "2024-01-01", "partition_col_date": "measured_at"},
        "server_mappings": {
            "server_mappings": {"src1": "127.0.0.1:1"},
            "databases": ["NetPerf01"],
            "categories": {name: list(CELL_PERF_STATS.source_tables)},
        },
    }
    path = tmp_path / "c.yml"
    path.write_text(yaml.safe_dump(doc))
    environ = {
        ENV_RAW_AREA: str(tmp_path),
        ENV_TRANSFORMED_AREA: str(tmp_path),
        ENV_TARGET_DSN: "postgresql://x@127.0.0.1/x",
        ENV_SOURCE_USER: "u",
        ENV_SOURCE_PASSWORD: "p",
    }
    return load_from_yaml(path, environ=environ)


@pytest.fixture
def sample_tables(dsn: str) -> Iterator[str]:
    name = f"cps_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            conn.execute("SELECT pg_advisory_lock(424242)")  # CREATE SCHEMA IF NOT EXISTS races with itself
            conn.execute(sample_ddl(name))
        finally:
            conn.execute("SELECT pg_advisory_unlock(424242)")
    yield name
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS stage.{name}; DROP TABLE IF EXISTS public.{name}")


def test_category_from_the_catalog_equals_the_model(dsn: str, tmp_path: Path, sample_tables: str) -> None:
    cfg = category_config(tmp_path, sample_tables)
    sources = {t: [c.name for c in cols] for t, cols in SOURCE_TABLES.items()}
    with psycopg.connect(dsn) as conn:
        cat = build_category(conn, cfg, sample_tables, sources)
    assert cat == dataclasses.replace(CELL_PERF_STATS, name=sample_tables)


def test_category_name_is_matched_exactly_in_the_catalog(dsn: str, tmp_path: Path, sample_tables: str) -> None:
    upper = sample_tables.upper()  # the DDL was unquoted: PostgreSQL stored it in lower case
    cfg = category_config(tmp_path, upper)
    sources = {t: [c.name for c in cols] for t, cols in SOURCE_TABLES.items()}
    with psycopg.connect(dsn) as conn, pytest.raises(InvalidConfig) as ei:
        build_category(conn, cfg, upper, sources)
    msg = str(ei.value)
    assert f"server_mappings.categories.{upper}: table stage.{upper} does not exist in the target" in msg
    assert f"(the target has {sample_tables}: names are matched exactly)" in msg
    with psycopg.connect(dsn) as conn, pytest.raises(ConfigError, match=r"no category 'nope'"):
        build_category(conn, cfg, "nope", sources)
