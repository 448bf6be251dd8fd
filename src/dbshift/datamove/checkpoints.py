"""Checkpoints of the data migration, kept in the target PostgreSQL (schema dbshift_migration).

Because they live beside the data, a stage's checkpoint commits in the same transaction as its
effect: import COPYs a chunk and calls mark_done(..., "import", ...) before one COMMIT, so a crash
either loses both or keeps both (the published procedure flagged a partition done before its import
committed, and a crash in between lost the partition silently).

Two processes resuming at once (READ COMMITTED, PostgreSQL's default):
1. claim(conn, category, chunk_id, stage) takes a transaction-scoped advisory lock on the
   (category, chunk, stage) and returns False at once if another transaction holds it: skip the chunk.
2. After a successful claim, stage_done(...) sees every commit made before the lock was granted,
   so a chunk the other process finished is seen as done: skip it.
3. Even without claim, mark_done is a plain INSERT on the primary key (category, chunk_id, stage):
   the second writer fails with ChunkAlreadyDone and must roll back, taking its COPY with it.
So a chunk's data is committed at most once per stage; the lock just spares the wasted work.

None of the functions commit, except ensure_schema: the caller owns the transaction.
Every function takes `schema=` (default dbshift_migration) so tests can work in a schema of their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from dbshift.datamove.model import Chunk, StageRecord
from dbshift.errors import ConfigError, DbshiftError

SCHEMA = "dbshift_migration"
RUN_STATUSES = ("running", "completed", "failed")
JOB_MODES = ("fresh", "resume")
_STAGE = re.compile(r"export:[A-Za-z_][A-Za-z0-9_]*|transform|import")
_HASH = re.compile(r"-?\d+")
# Advisory-lock namespace for DDL and plan writes (pg_advisory_xact_lock(int, int)); 'dbsh' in ASCII.
_LOCK_NS = 0x64627368

_DDL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.runs (
    run_id        bigserial PRIMARY KEY,
    category      text NOT NULL,
    job_mode      text NOT NULL CHECK (job_mode IN ('fresh', 'resume')),
    config_digest text NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz NULL,
    status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed'))
);
CREATE INDEX IF NOT EXISTS runs_category_idx ON {schema}.runs (category, run_id);
CREATE TABLE IF NOT EXISTS {schema}.chunks (
    category  text NOT NULL,
    chunk_id  text NOT NULL,
    server    text NOT NULL,
    database  text NOT NULL,
    day       date NOT NULL,
    part      int NOT NULL,
    split_lo  bigint NULL,
    split_hi  bigint NULL,
    PRIMARY KEY (category, chunk_id)
);
CREATE TABLE IF NOT EXISTS {schema}.chunk_stages (
    category  text NOT NULL,
    chunk_id  text NOT NULL,
    stage     text NOT NULL,
    rows      bigint NOT NULL,
    hash      numeric NOT NULL,
    bytes     bigint NOT NULL DEFAULT 0,
    detail    jsonb NOT NULL DEFAULT '{{}}',
    done_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (category, chunk_id, stage),
    -- a stage is done only for a chunk of the saved plan; dropping the plan drops its progress
    FOREIGN KEY (category, chunk_id) REFERENCES {schema}.chunks (category, chunk_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS {schema}.validations (
    category     text NOT NULL,
    chunk_id     text NOT NULL,
    checked_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    source_rows  bigint,
    target_rows  bigint,
    source_hash  numeric,
    target_hash  numeric,
    ok           bool NOT NULL,
    diffs        jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS validations_chunk_idx ON {schema}.validations (category, chunk_id, checked_at);
"""


class ChunkAlreadyDone(DbshiftError):
    """mark_done found the stage already recorded: another process did it; roll back this transaction."""


@dataclass(frozen=True)
class RunRecord:
    run_id: int
    category: str
    job_mode: str
    config_digest: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str


@dataclass(frozen=True)
class ValidationRecord:
    chunk_id: str
    checked_at: dt.datetime
    source_rows: int | None
    target_rows: int | None
    source_hash: str | None
    target_hash: str | None
    ok: bool
    diffs: Any


def _ident(schema: str) -> sql.Identifier:
    return sql.Identifier(schema)


def ensure_schema(conn: psycopg.Connection, *, schema: str = SCHEMA) -> None:
    """Create the checkpoint tables if missing, and COMMIT (safe to run from many processes at once)."""
    with conn.transaction():
        # CREATE ... IF NOT EXISTS races on the catalog's unique indexes; serialize the DDL.
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCK_NS,))
        conn.execute(sql.SQL(_DDL).format(schema=_ident(schema)))
    if not conn.autocommit:
        conn.commit()


# ------------------------------------------------------------------------------------------ plan


def save_plan(conn: psycopg.Connection, category: str, chunks: Sequence[Chunk], *, schema: str = SCHEMA) -> bool:
    """Freeze the plan of `category`; True if written, False if the same plan was already saved.

    A different saved plan raises ConfigError: resuming with other chunk bounds would load some rows
    twice and miss others. Holds a lock on the category's plan until the caller's transaction ends.
    """
    ids = [c.chunk_id for c in chunks]
    if not chunks:
        raise DbshiftError(f"category {category}: the plan has no chunks; check servers, databases and dates")
    strays = sorted({c.category for c in chunks} - {category})
    if strays:
        raise DbshiftError(f"category {category}: the plan holds chunks of {', '.join(strays)}; plan one category")
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise DbshiftError(f"category {category}: chunk {dup} appears twice in the plan")
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_NS, category))
    saved = load_plan(conn, category, schema=schema)
    if saved is not None:
        if set(saved) == set(chunks):
            return False
        raise ConfigError(
            f"category {category}: the checkpoints hold a different plan ({_plan_diff(saved, chunks)}). "
            "Resuming with a changed plan would mix data: run with job_mode=fresh to start the category over, "
            "or restore the configuration of the first run"
        )
    with conn.cursor() as cur:
        cur.executemany(
            sql.SQL(
                "INSERT INTO {}.chunks (category, chunk_id, server, database, day, part, split_lo, split_hi) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            ).format(_ident(schema)),
            [(category, c.chunk_id, c.server, c.database, c.day, c.part, c.split_lo, c.split_hi) for c in chunks],
        )
    return True


def load_plan(conn: psycopg.Connection, category: str, *, schema: str = SCHEMA) -> list[Chunk] | None:
    """The saved plan (ordered by server, database, day, part, as plan.make_plan orders it), or None."""
    rows = conn.execute(
        sql.SQL("SELECT server, database, day, part, split_lo, split_hi FROM {}.chunks WHERE category = %s").format(
            _ident(schema)
        ),
        (category,),
    ).fetchall()
    if not rows:
        return None
    # Sorted here, not by ORDER BY: the database's collation may order text differently from Python.
    chunks = [Chunk(category, r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
    return sorted(chunks, key=lambda c: (c.server, c.database, c.day, c.part))


def _plan_diff(saved: Sequence[Chunk], new: Sequence[Chunk]) -> str:
    """The counts when they differ, then the first differing chunk (by chunk id)."""
    old_by_id = {c.chunk_id: c for c in saved}
    new_by_id = {c.chunk_id: c for c in new}
    counts = f"{len(saved)} saved vs {len(new)} new chunks; " if len(saved) != len(new) else ""
    for cid in sorted(set(old_by_id) | set(new_by_id)):
        a, b = old_by_id.get(cid), new_by_id.get(cid)
        if a is None:
            return f"{counts}chunk {cid} is new"
        if b is None:
            return f"{counts}chunk {cid} is no longer planned"
        if a != b:
            return f"{counts}chunk {cid}: saved range [{a.split_lo}, {a.split_hi}) vs new [{b.split_lo}, {b.split_hi})"
    return "same chunks"


# ------------------------------------------------------------------------------------------ stages


def claim(conn: psycopg.Connection, category: str, chunk_id: str, stage: str, *, schema: str = SCHEMA) -> bool:
    """Try to take (category, chunk, stage) for this transaction; False if another transaction has it.

    The lock is released when the caller's transaction commits or rolls back; check stage_done after
    a successful claim. Needs an open transaction (not autocommit), else the lock ends with the statement.
    """
    if conn.autocommit:
        raise DbshiftError("checkpoints.claim needs a transaction: the connection is in autocommit mode")
    key = _lock_key(schema, category, chunk_id, stage)
    return bool(conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (key,)).fetchone()[0])


def _lock_key(*parts: str) -> int:
    # 64 bits of a hash: distinct chunks practically never share a lock (hashtext's 32 bits could).
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def mark_done(
    conn: psycopg.Connection,
    category: str,
    chunk_id: str,
    stage: str,
    rows: int,
    hash: str | int,
    bytes: int = 0,
    detail: dict[str, Any] | None = None,
    *,
    schema: str = SCHEMA,
) -> None:
    """Record a stage as done for a chunk, in the caller's transaction (INSERT: a second one fails).

    Raises ChunkAlreadyDone when the stage is already recorded and DbshiftError when the chunk is not
    in the saved plan; either way the transaction is aborted (a COMMIT would roll back): roll back.
    """
    _check_stage(stage)
    hash_text = str(hash)
    if not _HASH.fullmatch(hash_text):
        raise DbshiftError(f"mark_done {category} {chunk_id} {stage}: hash {hash_text!r} is not a decimal integer")
    if rows < 0 or bytes < 0:
        raise DbshiftError(f"mark_done {category} {chunk_id} {stage}: rows and bytes must be >= 0")
    try:
        # No savepoint on purpose: a failed INSERT leaves the caller's transaction aborted, so its COPY
        # cannot be committed by mistake after the error is caught.
        conn.execute(
            sql.SQL(
                "INSERT INTO {}.chunk_stages (category, chunk_id, stage, rows, hash, bytes, detail) "
                "VALUES (%s, %s, %s, %s, %s::numeric, %s, %s)"
            ).format(_ident(schema)),
            (category, chunk_id, stage, rows, hash_text, bytes, Jsonb(detail or {})),
        )
    except psycopg.errors.UniqueViolation:
        raise ChunkAlreadyDone(
            f"category {category}, chunk {chunk_id}: stage {stage} is already done (another process did it); "
            "roll back this transaction and skip the chunk"
        ) from None
    except psycopg.errors.ForeignKeyViolation:
        raise DbshiftError(
            f"category {category}: chunk {chunk_id} is not in the saved plan; save_plan before marking stages"
        ) from None


def stage_done(
    conn: psycopg.Connection, category: str, chunk_id: str, stage: str, *, schema: str = SCHEMA
) -> StageRecord | None:
    rows = _stage_rows(conn, schema, "category = %s AND chunk_id = %s AND stage = %s", (category, chunk_id, stage))
    return rows[0] if rows else None


def done_map(conn: psycopg.Connection, category: str, stage: str, *, schema: str = SCHEMA) -> dict[str, StageRecord]:
    """chunk_id -> record of every chunk whose `stage` is done."""
    rows = _stage_rows(conn, schema, "category = %s AND stage = %s", (category, stage))
    return {r.chunk_id: r for r in rows}


def _stage_rows(conn: psycopg.Connection, schema: str, where: str, params: tuple[Any, ...]) -> list[StageRecord]:
    query = sql.SQL("SELECT chunk_id, stage, rows, hash, bytes, detail FROM {}.chunk_stages WHERE ").format(
        _ident(schema)
    ) + sql.SQL(where)  # `where` is one of this module's literals
    return [
        StageRecord(chunk_id=r[0], stage=r[1], rows=r[2], hash=_num(r[3]), bytes=r[4], detail=r[5] or {})
        for r in conn.execute(query, params).fetchall()
    ]


def _num(v: Decimal | None) -> str | None:
    return None if v is None else format(v, "f")


def _check_stage(stage: str) -> None:
    if not _STAGE.fullmatch(stage):
        raise DbshiftError(f"stage {stage!r} is not one of 'export:<table>', 'transform', 'import'")


def reset(conn: psycopg.Connection, category: str, stages: Iterable[str] | None = None, *, schema: str = SCHEMA) -> int:
    """Forget progress (job_mode=fresh). stages=None: the plan, every stage and the validations of the
    category; else only those stages ('export' stands for every 'export:<table>'). Returns rows deleted."""
    s = _ident(schema)
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_NS, category))
    if stages is None:
        n = conn.execute(sql.SQL("DELETE FROM {}.validations WHERE category = %s").format(s), (category,)).rowcount
        n += conn.execute(sql.SQL("DELETE FROM {}.chunk_stages WHERE category = %s").format(s), (category,)).rowcount
        n += conn.execute(sql.SQL("DELETE FROM {}.chunks WHERE category = %s").format(s), (category,)).rowcount
        return n
    n = 0
    for stage in stages:
        if stage == "export":
            cond, arg = "stage LIKE %s", "export:%"
        else:
            _check_stage(stage)
            cond, arg = "stage = %s", stage
        query = sql.SQL("DELETE FROM {}.chunk_stages WHERE category = %s AND ").format(s) + sql.SQL(cond)
        n += conn.execute(query, (category, arg)).rowcount
    return n


# ------------------------------------------------------------------------------------------ runs


def start_run(
    conn: psycopg.Connection, category: str, job_mode: str, config_digest: str, *, schema: str = SCHEMA
) -> int:
    """Record a run as running; returns its run_id.

    A resume whose config_digest differs from the last run's raises ConfigError: it would continue
    chunks exported under one configuration with rows of another.
    """
    if job_mode not in JOB_MODES:
        raise DbshiftError(f"job_mode {job_mode!r} is not 'fresh' or 'resume'")
    if job_mode == "resume":
        last = last_run(conn, category, schema=schema)
        if last is not None and last.config_digest != config_digest:
            raise ConfigError(
                f"category {category}: job_mode=resume, but the configuration's data-defining settings changed "
                f"since run {last.run_id} (digest {last.config_digest[:19]}… now {config_digest[:19]}…); "
                "restore them, or run with job_mode=fresh to start the category over"
            )
    row = conn.execute(
        sql.SQL(
            "INSERT INTO {}.runs (category, job_mode, config_digest, status) VALUES (%s, %s, %s, 'running') "
            "RETURNING run_id"
        ).format(_ident(schema)),
        (category, job_mode, config_digest),
    ).fetchone()
    return int(row[0])


def finish_run(conn: psycopg.Connection, run_id: int, status: str, *, schema: str = SCHEMA) -> None:
    if status not in ("completed", "failed"):
        raise DbshiftError(f"finish_run: status {status!r} is not 'completed' or 'failed'")
    cur = conn.execute(
        sql.SQL("UPDATE {}.runs SET status = %s, finished_at = now() WHERE run_id = %s").format(_ident(schema)),
        (status, run_id),
    )
    if cur.rowcount != 1:
        raise DbshiftError(f"finish_run: no run {run_id} in {schema}.runs")


def last_run(conn: psycopg.Connection, category: str, *, schema: str = SCHEMA) -> RunRecord | None:
    row = conn.execute(
        sql.SQL(
            "SELECT run_id, category, job_mode, config_digest, started_at, finished_at, status FROM {}.runs "
            "WHERE category = %s ORDER BY run_id DESC LIMIT 1"
        ).format(_ident(schema)),
        (category,),
    ).fetchone()
    return RunRecord(*row) if row else None


# ------------------------------------------------------------------------------------------ validations


def record_validation(
    conn: psycopg.Connection,
    category: str,
    chunk_id: str,
    source_rows: int | None,
    target_rows: int | None,
    source_hash: str | int | None,
    target_hash: str | int | None,
    ok: bool,
    diffs: Any = None,
    *,
    schema: str = SCHEMA,
) -> None:
    conn.execute(
        sql.SQL(
            "INSERT INTO {}.validations (category, chunk_id, source_rows, target_rows, source_hash, target_hash, "
            "ok, diffs) VALUES (%s, %s, %s, %s, %s::numeric, %s::numeric, %s, %s)"
        ).format(_ident(schema)),
        (
            category,
            chunk_id,
            source_rows,
            target_rows,
            None if source_hash is None else str(source_hash),
            None if target_hash is None else str(target_hash),
            ok,
            Jsonb(diffs if diffs is not None else []),
        ),
    )


def last_validations(conn: psycopg.Connection, category: str, *, schema: str = SCHEMA) -> dict[str, ValidationRecord]:
    """chunk_id -> its latest validation."""
    rows = conn.execute(
        sql.SQL(
            "SELECT DISTINCT ON (chunk_id) chunk_id, checked_at, source_rows, target_rows, source_hash, target_hash, "
            "ok, diffs FROM {}.validations WHERE category = %s ORDER BY chunk_id, checked_at DESC"
        ).format(_ident(schema)),
        (category,),
    ).fetchall()
    return {r[0]: ValidationRecord(r[0], r[1], r[2], r[3], _num(r[4]), _num(r[5]), r[6], r[7]) for r in rows}
