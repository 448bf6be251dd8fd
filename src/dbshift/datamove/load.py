"""Import: transformed Parquet chunks → stage.<category> in PostgreSQL with COPY, each chunk exactly once.

Each chunk is one transaction: COPY its rows, check the row count against the chunk's manifest, and
record the 'import' checkpoint, then COMMIT. A crash anywhere leaves both or neither (the published
procedure flagged a partition done before its import committed, and a crash in between lost it).

Speed: Arrow's C++ CSV writer turns each Parquet record batch into CSV in memory and the bytes go
to COPY ... FROM STDIN (FORMAT csv) in large writes: no Python code runs per row, and PostgreSQL
parses the same CSV `psql \\copy` would send. Several chunks load at once on separate connections.

Two importers at once (two processes resuming, a retried Glue job): a worker takes the chunk's
advisory lock (checkpoints.claim) in its transaction before loading; a chunk locked elsewhere is
retried later, and once the lock is free the committed checkpoint makes it a skip. Even without the
lock, mark_done is an INSERT on the checkpoint's primary key, so a second load could never commit.
"""

from __future__ import annotations

import io
import json
import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from dbshift.datamove import checkpoints
from dbshift.datamove.model import Category, Chunk, StageRecord
from dbshift.errors import DbshiftError

STAGE_SCHEMA = "stage"
STAGE = "import"
# Rows per Arrow batch turned into CSV: large enough that per-batch Python overhead vanishes,
# small enough that the CSV of one batch stays a few MB.
BATCH_ROWS = 65_536
# How long a worker waits before retrying a chunk another importer holds.
RETRY_SECONDS = 0.2
_CSV = pacsv.WriteOptions(include_header=False, batch_size=BATCH_ROWS)
# Advisory-lock namespace for the target DDL (pg_advisory_xact_lock(int, int)).
_DDL_LOCK = 0x64646C31


class LoadError(DbshiftError):
    """A chunk could not be imported; its transaction was rolled back (no rows, no checkpoint)."""


class _HookError(Exception):
    """A callback failed after its chunk committed (not a load failure): stop and re-raise the cause."""


class UnitProgress(Protocol):
    def unit_done(self, rows: int = 0, nbytes: int = 0) -> None: ...


def _name(category: Category | str) -> str:
    return category if isinstance(category, str) else category.name


def ddl_path(transforms_dir: str | Path, category: Category | str) -> Path:
    return Path(transforms_dir) / f"{_name(category)}.postgres.sql"


def manifest_rel(chunk: Chunk) -> str:
    """Relative path of the chunk's transformed manifest (beside its Parquet file)."""
    rel = chunk.transformed_rel()
    return rel[: -len(".parquet")] + ".manifest.json"


def apply_target_ddl(conn: psycopg.Connection, transforms_dir: str | Path, category: Category | str) -> None:
    """Run <transforms_dir>/<category>.postgres.sql (idempotent DDL) in one transaction, and COMMIT."""
    path = ddl_path(transforms_dir, category)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DbshiftError(
            f"category {_name(category)}: no target DDL {path}; write {path.name} (stage table, final table and "
            f"procedure stage.stage_ctas_null_upd_{_name(category)}) next to the transform SQL"
        ) from None
    with conn.transaction():
        # CREATE ... IF NOT EXISTS / CREATE OR REPLACE race on the catalog: one process at a time.
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_DDL_LOCK, _name(category)))
        try:
            conn.execute(text.encode("utf-8"))  # bytes: run as one simple query, several statements allowed
        except psycopg.Error as e:
            raise DbshiftError(f"{path}: {e.diag.message_primary or e}; fix the DDL file") from None
    if not conn.autocommit:
        conn.commit()


def truncate_stage(conn: psycopg.Connection, category: Category | str, *, stage_schema: str = STAGE_SCHEMA) -> None:
    """Empty stage.<category> (job_mode=fresh only; the caller decides). Does not commit: reset the
    'import' checkpoints in the same transaction, so the stage table and the checkpoints agree."""
    conn.execute(sql.SQL("TRUNCATE {}.{}").format(sql.Identifier(stage_schema), sql.Identifier(_name(category))))


def import_chunks(
    dsn: str,
    category: Category,
    chunks: Sequence[Chunk],
    transformed: Any,  # dbshift.datamove.area.Area
    parallelism: int = 2,
    progress: UnitProgress | None = None,
    after_chunk: Callable[[str], None] | None = None,
    *,
    checkpoint_schema: str = checkpoints.SCHEMA,
    stage_schema: str = STAGE_SCHEMA,
) -> list[StageRecord]:
    """Load every chunk whose 'import' checkpoint is missing; returns the records of the chunks this call loaded.

    Chunks already imported (by an earlier run or by a concurrent importer) are skipped. When some
    chunks fail, the others still load and commit; then LoadError lists the failed chunks and why.
    after_chunk(chunk_id) runs after each chunk's commit (a test hook).
    """
    if parallelism < 1:
        raise DbshiftError(f"import parallelism {parallelism} must be at least 1")
    loader = _Loader(dsn, category, transformed, progress, after_chunk, checkpoint_schema, stage_schema)
    with psycopg.connect(dsn) as conn:
        done = checkpoints.done_map(conn, category.name, STAGE, schema=checkpoint_schema)
    todo = [c for c in chunks if c.chunk_id not in done]
    if not todo:
        return []
    work: queue.Queue[Chunk] = queue.Queue()
    for c in todo:
        work.put(c)
    threads = [
        threading.Thread(target=loader.worker, args=(work,), name=f"import-{i}", daemon=True)
        for i in range(min(parallelism, len(todo)))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if loader.hook_error is not None:  # a progress/after_chunk callback failed: its chunk had committed
        raise loader.hook_error
    while not work.empty():  # left when every worker lost its connection
        chunk = work.get_nowait()
        loader.failures.setdefault(chunk.chunk_id, "not attempted: " + "; ".join(loader.worker_errors))
    if loader.failures:
        lines = [f"  {cid}: {msg}" for cid, msg in sorted(loader.failures.items())]
        raise LoadError(
            f"category {category.name}: {len(loader.failures)} of {len(todo)} chunk(s) failed to import and were "
            f"rolled back (no rows, no checkpoint); {len(loader.records)} loaded. Fix the cause and resume:\n"
            + "\n".join(lines)
        )
    return sorted(loader.records, key=lambda r: r.chunk_id)


class _Loader:
    def __init__(
        self,
        dsn: str,
        category: Category,
        transformed: Any,
        progress: UnitProgress | None,
        after_chunk: Callable[[str], None] | None,
        checkpoint_schema: str,
        stage_schema: str,
    ) -> None:
        self.dsn, self.category, self.area = dsn, category, transformed
        self.progress, self.after_chunk = progress, after_chunk
        self.cp_schema = checkpoint_schema
        self.columns = [c.name for c in category.data_columns]
        self.copy_sql = sql.SQL("COPY {}.{} ({}) FROM STDIN (FORMAT csv)").format(
            sql.Identifier(stage_schema),
            sql.Identifier(category.name),
            sql.SQL(", ").join(sql.Identifier(c) for c in self.columns),
        )
        self.records: list[StageRecord] = []
        self.failures: dict[str, str] = {}
        self.worker_errors: list[str] = []
        self.hook_error: BaseException | None = None  # stops every worker; import_chunks re-raises it
        self._lock = threading.Lock()

    def worker(self, work: queue.Queue[Chunk]) -> None:
        try:
            conn = psycopg.connect(self.dsn)
        except psycopg.Error as e:
            with self._lock:
                self.worker_errors.append(f"cannot connect to the target: {e}")
            return  # the other workers carry on; chunks nobody could take are reported by import_chunks
        try:
            while self.hook_error is None:
                try:
                    chunk = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    outcome = self._one(conn, chunk)
                except _HookError as e:
                    with self._lock:
                        self.hook_error = e.__cause__ or e
                    return
                except Exception as e:  # one chunk's failure must not stop the others
                    self._fail(chunk.chunk_id, e)
                    if conn.broken:
                        with self._lock:
                            self.worker_errors.append(f"the connection to the target broke ({e})")
                        return
                    continue
                if outcome == "busy":  # another importer holds it: come back to it later
                    work.put(chunk)
                    time.sleep(RETRY_SECONDS)
        finally:
            conn.close()

    def _one(self, conn: psycopg.Connection, chunk: Chunk) -> str:
        cat, cid = self.category.name, chunk.chunk_id
        try:
            if not checkpoints.claim(conn, cat, cid, STAGE, schema=self.cp_schema):
                conn.rollback()
                return "busy"
            if checkpoints.stage_done(conn, cat, cid, STAGE, schema=self.cp_schema) is not None:
                conn.rollback()
                return "skipped"
            manifest = self._manifest(chunk)
            data = self.area.get_bytes(chunk.transformed_rel())
            start = time.monotonic()
            rows = self._copy(conn, chunk, data)
            if rows != manifest["rows"]:
                raise LoadError(
                    f"chunk {cid}: COPY loaded {rows} rows but its manifest {manifest_rel(chunk)} says "
                    f"{manifest['rows']}; the transformed file and its manifest disagree: re-run transform for it"
                )
            seconds = time.monotonic() - start
            detail = {"seconds": round(seconds, 3), "source": self.area.url(chunk.transformed_rel())}
            try:
                checkpoints.mark_done(
                    conn, cat, cid, STAGE, rows, manifest["hash"], len(data), detail, schema=self.cp_schema
                )
            except checkpoints.ChunkAlreadyDone:
                conn.rollback()  # loaded elsewhere meanwhile: drop our copy of the rows
                return "skipped"
            conn.commit()
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise
        rec = StageRecord(cid, STAGE, rows, str(manifest["hash"]), len(data), detail)
        with self._lock:
            self.records.append(rec)
        try:
            if self.progress is not None:
                self.progress.unit_done(rows, len(data))
            if self.after_chunk is not None:
                self.after_chunk(cid)
        except BaseException as e:
            raise _HookError(cid) from e
        return "loaded"

    def _manifest(self, chunk: Chunk) -> dict[str, Any]:
        rel = manifest_rel(chunk)
        try:
            m = json.loads(self.area.get_bytes(rel))
        except FileNotFoundError:
            raise LoadError(
                f"chunk {chunk.chunk_id}: no transformed manifest {self.area.url(rel)}; run the transform stage"
            ) from None
        except ValueError as e:
            raise LoadError(f"chunk {chunk.chunk_id}: manifest {self.area.url(rel)} is not valid JSON ({e})") from None
        if not isinstance(m, dict) or not isinstance(m.get("rows"), int) or "hash" not in m:
            raise LoadError(f"chunk {chunk.chunk_id}: manifest {self.area.url(rel)} lacks integer 'rows' and 'hash'")
        return m

    def _copy(self, conn: psycopg.Connection, chunk: Chunk, data: bytes) -> int:
        """COPY the Parquet bytes into the stage table in the open transaction; returns rows loaded."""
        try:
            pf = pq.ParquetFile(pa.BufferReader(data))
        except (pa.ArrowException, OSError) as e:
            raise LoadError(
                f"chunk {chunk.chunk_id}: {self.area.url(chunk.transformed_rel())} is not readable Parquet ({e}); "
                "re-run transform for it"
            ) from None
        missing = [c for c in self.columns if c not in pf.schema_arrow.names]
        if missing:
            raise LoadError(
                f"chunk {chunk.chunk_id}: transformed file lacks column(s) {', '.join(missing)} of "
                f"{self.category.name}; check the transform SQL's select list"
            )
        with conn.cursor() as cur:
            # The queued writer sends from its own thread: the next batch's CSV is built while this one travels.
            with cur.copy(self.copy_sql, writer=QueuedLibpqWriter(cur)) as copy:
                try:
                    for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=self.columns):
                        buf = io.BytesIO()
                        pacsv.write_csv(batch, buf, _CSV)
                        copy.write(buf.getbuffer())
                except (pa.ArrowException, OSError) as e:
                    # Raised inside the COPY block: psycopg ends the COPY with an error, nothing stays.
                    raise LoadError(
                        f"chunk {chunk.chunk_id}: reading {self.area.url(chunk.transformed_rel())} failed midway "
                        f"({e}); re-run transform for it"
                    ) from None
            return cur.rowcount

    def _fail(self, chunk_id: str, e: BaseException) -> None:
        msg = str(e) if isinstance(e, DbshiftError) else f"{type(e).__name__}: {e}"
        with self._lock:
            self.failures[chunk_id] = msg
