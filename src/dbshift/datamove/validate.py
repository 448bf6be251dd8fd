"""Validate: the final table against the transformed chunks, by row count and content hash, per chunk.

Target side: (count, sum of row hashes) computed inside PostgreSQL over the chunk's predicate; no
row travels to Python for it. Expected side: the chunk's transform checkpoint (the hash DuckDB or
Spark computed over the transformed file it wrote), else its manifest.

A chunk that differs is bisected by key range, as data-diff does: over the key columns after
server_name/database_name (composite, any type), split at the median key of the larger side, hash
both sides per half (DuckDB over the transformed Parquet, PostgreSQL over the target), descend into
the halves that differ, and below `bisect_leaf_rows` rows diff (key, row hash) pairs. Each differing
key is reported as missing (expected, absent in the target), extra (in the target only) or changed.
Ranges are row-value comparisons, (a, b) >= (x, y), which PostgreSQL and DuckDB evaluate alike;
text keys compare bytewise (COLLATE "C" in PostgreSQL, DuckDB's default), so both engines put a row
on the same side of every split.

Also checked: rows of the target that no planned chunk selects (a day or server never planned).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from dbshift.datamove import checkpoints, checksum
from dbshift.datamove.model import Category, Chunk, ColumnSpec, sql_ident, sql_literal
from dbshift.errors import DbshiftError

FINAL_SCHEMA = "public"
KEY_PREFIX = ("server_name", "database_name")
OUTSIDE_PLAN = "(outside the plan)"  # chunk_id under which rows outside every planned chunk are recorded
DEFAULT_MAX_DIFFS = 1000  # per chunk: a chunk wholly wrong would otherwise list every row

Key = tuple[Any, ...]
NH = tuple[int, int]  # (rows, sum of row hashes)


@dataclass
class Difference:
    chunk_id: str
    kind: str  # missing | extra | changed
    key: dict[str, Any]  # key column -> JSON-safe value (timestamps as ISO text)

    def as_json(self) -> dict[str, Any]:
        return {"chunk_id": self.chunk_id, "kind": self.kind, "key": self.key}


@dataclass
class ChunkResult:
    chunk_id: str
    expected_rows: int | None
    target_rows: int | None
    expected_hash: str | None
    target_hash: str | None
    expected_from: str  # "transform checkpoint" | "manifest" | "transformed file" | "" (unavailable)
    ok: bool
    differences: list[Difference] = field(default_factory=list)
    truncated: bool = False  # more differences exist than were listed (max_diffs)
    error: str | None = None
    seconds: float = 0.0
    ranges_hashed: int = 0  # sub-ranges the bisection hashed


@dataclass
class ValidationReport:
    category: str
    table: str
    checked_at: dt.datetime
    chunks: list[ChunkResult]
    outside_rows: int = 0  # target rows no planned chunk selects
    outside: list[Difference] = field(default_factory=list)  # their keys (up to max_diffs)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.chunks) and self.outside_rows == 0

    @property
    def differences(self) -> list[Difference]:
        return [d for c in self.chunks for d in c.differences] + self.outside

    @property
    def expected_rows(self) -> int:
        return sum(c.expected_rows or 0 for c in self.chunks)

    @property
    def target_rows(self) -> int:
        return sum(c.target_rows or 0 for c in self.chunks) + self.outside_rows

    def as_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "table": self.table,
            "checked_at": self.checked_at.isoformat(),
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "expected_rows": self.expected_rows,
            "target_rows": self.target_rows,
            "outside_rows": self.outside_rows,
            "outside": [d.as_json() for d in self.outside],
            "chunks": [
                {
                    "chunk_id": c.chunk_id,
                    "ok": c.ok,
                    "expected_rows": c.expected_rows,
                    "target_rows": c.target_rows,
                    "expected_hash": c.expected_hash,
                    "target_hash": c.target_hash,
                    "expected_from": c.expected_from,
                    "error": c.error,
                    "truncated": c.truncated,
                    "differences": [d.as_json() for d in c.differences],
                }
                for c in self.chunks
            ],
        }


def _json_value(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


class _Side:
    """One side of a chunk's comparison: hashes, median keys and leaf rows over key ranges."""

    def __init__(self, dialect: str, source: str, base_where: str | None, cols: Sequence[ColumnSpec], keys: list[str]):
        self.dialect, self.source, self.base_where = dialect, source, base_where
        self.cols, self.keys = cols, keys
        kinds = {c.name: c.kind for c in cols}
        collate = ' COLLATE "C"' if dialect == "postgres" else ""
        # Bytewise text order in PostgreSQL, whatever the database's collation, to match DuckDB.
        self.key_exprs = [sql_ident(k) + (collate if kinds.get(k) == "text" else "") for k in keys]

    def _where(self, lo: Key | None, hi: Key | None) -> str | None:
        parts = [f"({self.base_where})"] if self.base_where else []
        if lo is not None:
            parts.append(self._compare(">=", lo))
        if hi is not None:
            parts.append(self._compare("<", hi))
        return " AND ".join(parts) or None

    def _compare(self, op: str, values: Key) -> str:
        """keys `op` values in row-value order: (a, b) >= (x, y)."""
        lits = [sql_literal(v) for v in values]
        if self.dialect == "postgres":  # a row comparison PostgreSQL answers from the primary key index
            return f"({', '.join(self.key_exprs)}) {op} ({', '.join(lits)})"
        # DuckDB rewrites a pair of row comparisons into a BETWEEN it cannot evaluate on rows:
        # spelled out lexicographically instead (same meaning).
        strict = op[0]  # '>' or '<'
        terms = []
        for i, (k, v) in enumerate(zip(self.key_exprs, lits, strict=True)):
            last = i == len(lits) - 1
            prefix = [f"{pk} = {pv}" for pk, pv in zip(self.key_exprs[:i], lits[:i], strict=True)]
            terms.append("(" + " AND ".join([*prefix, f"{k} {op if last else strict} {v}"]) + ")")
        return "(" + " OR ".join(terms) + ")"

    def hash_sql(self, lo: Key | None, hi: Key | None) -> str:
        return checksum.chunk_hash_sql(self.cols, self.dialect, self.source, where=self._where(lo, hi))  # type: ignore[arg-type]

    def median_sql(self, lo: Key | None, hi: Key | None, offset: int) -> str:
        where = self._where(lo, hi)
        return (
            f"SELECT {', '.join(sql_ident(k) for k in self.keys)} FROM {self.source}"
            + (f" WHERE {where}" if where else "")
            + f" ORDER BY {', '.join(self.key_exprs)} LIMIT 1 OFFSET {int(offset)}"
        )

    def leaf_sql(self, lo: Key | None, hi: Key | None) -> str:
        where = self._where(lo, hi)
        h = checksum.row_hash_sql(self.cols, self.dialect)  # type: ignore[arg-type]
        return f"SELECT {', '.join(sql_ident(k) for k in self.keys)}, {h} FROM {self.source}" + (
            f" WHERE {where}" if where else ""
        )


class _ChunkCheck:
    """Bisects one chunk; `pg` is a psycopg connection, `duck` a DuckDB connection with view e."""

    def __init__(
        self,
        chunk_id: str,
        category: Category,
        keys: list[str],
        pg: psycopg.Connection,
        target: _Side,
        duck: duckdb.DuckDBPyConnection,
        expected: _Side,
        leaf_rows: int,
        max_diffs: int,
        fixed: dict[str, Any] | None = None,
    ) -> None:
        self.chunk_id, self.category, self.keys = chunk_id, category, keys
        # Key columns every row of the chunk shares (server_name, database_name): reported with each key.
        self.fixed = fixed or {}
        self.pg, self.target, self.duck, self.expected = pg, target, duck, expected
        self.leaf_rows, self.max_diffs = leaf_rows, max_diffs
        self.diffs: list[Difference] = []
        self.truncated = False
        self.ranges = 0

    def _pg(self, q: str) -> list[tuple[Any, ...]]:
        return self.pg.execute(q.encode()).fetchall()

    def _duck(self, q: str) -> list[tuple[Any, ...]]:
        return self.duck.execute(q).fetchall()

    def _nh(self, lo: Key | None, hi: Key | None) -> tuple[NH, NH]:
        self.ranges += 1
        ((ne, he),) = self._duck(self.expected.hash_sql(lo, hi))
        ((nt, ht),) = self._pg(self.target.hash_sql(lo, hi))
        return (int(ne), int(checksum.normalize(he))), (int(nt), int(checksum.normalize(ht)))

    def bisect(self, lo: Key | None, hi: Key | None, exp: NH, tgt: NH) -> None:
        if exp == tgt:
            return
        if len(self.diffs) >= self.max_diffs:
            self.truncated = True
            return
        if max(exp[0], tgt[0]) <= self.leaf_rows:
            self._leaf(lo, hi)
            return
        # Median of the larger side: each half then holds at most about half of its rows.
        if exp[0] >= tgt[0]:
            mid = tuple(self._duck(self.expected.median_sql(lo, hi, exp[0] // 2))[0])
        else:
            mid = tuple(self._pg(self.target.median_sql(lo, hi, tgt[0] // 2))[0])
        left_e, left_t = self._nh(lo, mid)
        # The halves are additive: the right half's (count, sum) is the whole minus the left's.
        right_e = (exp[0] - left_e[0], exp[1] - left_e[1])
        right_t = (tgt[0] - left_t[0], tgt[1] - left_t[1])
        self.bisect(lo, mid, left_e, left_t)
        self.bisect(mid, hi, right_e, right_t)

    def _leaf(self, lo: Key | None, hi: Key | None) -> None:
        n = len(self.keys)
        exp = {tuple(r[:n]): int(r[n]) for r in self._duck(self.expected.leaf_sql(lo, hi))}
        tgt = {tuple(r[:n]): int(r[n]) for r in self._pg(self.target.leaf_sql(lo, hi))}
        for key in sorted(set(exp) | set(tgt), key=_sort_key):
            if key in exp and key in tgt:
                if exp[key] == tgt[key]:
                    continue
                kind = "changed"
            else:
                kind = "missing" if key in exp else "extra"
            if len(self.diffs) >= self.max_diffs:
                self.truncated = True
                return
            self.diffs.append(Difference(self.chunk_id, kind, self._key_dict(key)))

    def _key_dict(self, key: Key) -> dict[str, Any]:
        return {**self.fixed, **{k: _json_value(v) for k, v in zip(self.keys, key, strict=True)}}


def _sort_key(key: Key) -> tuple[Any, ...]:
    # None never occurs in key columns; str() keeps mixed types (should they occur) from failing the sort.
    return tuple((0, v) if isinstance(v, int | float) else (1, str(v)) for v in key)


def validate(
    dsn: str,
    category: Category,
    chunks: Sequence[Chunk],
    transformed: Any,  # dbshift.datamove.area.Area
    bisect_leaf_rows: int = 256,
    *,
    parallelism: int = 2,
    max_diffs: int = DEFAULT_MAX_DIFFS,
    checkpoint_schema: str = checkpoints.SCHEMA,
    final_schema: str = FINAL_SCHEMA,
    record: bool = True,
) -> ValidationReport:
    """Compare public.<category> with the transformed chunks; record each chunk's result (and commit)."""
    if bisect_leaf_rows < 1:
        raise DbshiftError(f"bisect_leaf_rows {bisect_leaf_rows} must be at least 1")
    keys = [k for k in category.key if k not in KEY_PREFIX]
    if not keys:
        raise DbshiftError(
            f"category {category.name}: its key {category.key} has no column after server_name, database_name "
            "to bisect by; give public.<category> a primary key that identifies a row within a database"
        )
    table = f"{sql_ident(final_schema)}.{sql_ident(category.name)}"
    started, checked_at = time.monotonic(), dt.datetime.now(dt.UTC)
    with psycopg.connect(dsn) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
        if exists is None:
            raise DbshiftError(f"category {category.name}: {table} does not exist; run the finish stage first")
        expected = {
            cid: (rec.rows, rec.hash)
            for cid, rec in checkpoints.done_map(conn, category.name, "transform", schema=checkpoint_schema).items()
        }
    local = threading.local()
    opened: list[psycopg.Connection] = []
    lock = threading.Lock()

    def pg() -> psycopg.Connection:
        if getattr(local, "conn", None) is None:
            local.conn = psycopg.connect(dsn, autocommit=True)
            with lock:
                opened.append(local.conn)
        return local.conn

    def one(chunk: Chunk) -> ChunkResult:
        t0 = time.monotonic()
        res = _check_chunk(
            pg(), category, chunk, keys, table, transformed, expected.get(chunk.chunk_id), bisect_leaf_rows, max_diffs
        )
        res.seconds = time.monotonic() - t0
        return res

    try:
        with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
            # The whole-table scan for rows outside the plan runs beside the chunks, not after them.
            outside_f = pool.submit(lambda: _outside_plan(pg(), category, chunks, keys, table, max_diffs))
            results = list(pool.map(one, chunks))
            outside_rows, outside = outside_f.result()
    finally:
        for c in opened:
            c.close()
    report = ValidationReport(category.name, f"{final_schema}.{category.name}", checked_at, results)
    report.outside_rows, report.outside = outside_rows, outside
    report.seconds = time.monotonic() - started
    if record:
        _record(dsn, report, checkpoint_schema)
    return report


def _check_chunk(
    pg: psycopg.Connection,
    category: Category,
    chunk: Chunk,
    keys: list[str],
    table: str,
    transformed: Any,
    checkpoint: tuple[int, str] | None,
    leaf_rows: int,
    max_diffs: int,
) -> ChunkResult:
    cols = list(category.data_columns)
    where = chunk.target_predicate(category.date_col, category.split_col)
    target = _Side("postgres", table, where, cols, keys)
    ((nt, ht),) = pg.execute(target.hash_sql(None, None).encode()).fetchall()
    tgt: NH = (int(nt), int(checksum.normalize(ht)))
    res = ChunkResult(chunk.chunk_id, None, tgt[0], None, str(tgt[1]), "", False)
    if checkpoint is not None:
        res.expected_rows, res.expected_hash, res.expected_from = checkpoint[0], checkpoint[1], "transform checkpoint"
    else:
        try:
            from dbshift.datamove.transform import transformed_manifest_rel

            m = json.loads(transformed.get_bytes(transformed_manifest_rel(chunk)))
            res.expected_rows, res.expected_hash, res.expected_from = int(m["rows"]), str(m["hash"]), "manifest"
        except FileNotFoundError:
            pass  # hashed from the transformed file below
    if res.expected_hash is not None and (res.expected_rows, int(res.expected_hash)) == tgt:
        res.ok = True
        return res

    # A difference (or no recorded expectation): bisect against the transformed file itself.
    try:
        data = transformed.get_bytes(chunk.transformed_rel())
        arrow = pq.read_table(pa.BufferReader(data), columns=[c.name for c in cols])
    except (FileNotFoundError, pa.ArrowException, OSError) as e:
        res.error = f"transformed file {transformed.url(chunk.transformed_rel())} unreadable ({e}); re-run transform"
        return res
    duck = duckdb.connect()
    try:
        duck.register("e", arrow)
        expected = _Side("duckdb", "e", None, cols, keys)
        ((ne, he),) = duck.execute(expected.hash_sql(None, None)).fetchall()
        exp: NH = (int(ne), int(checksum.normalize(he)))
        if res.expected_hash is None:
            res.expected_rows, res.expected_hash, res.expected_from = exp[0], str(exp[1]), "transformed file"
        elif (res.expected_rows, int(res.expected_hash)) != exp:
            res.error = (
                f"the transformed file now hashes to ({exp[0]} rows, {exp[1]}), not the ({res.expected_rows} rows, "
                f"{res.expected_hash}) of its {res.expected_from}: it changed after transform; differences below "
                "are against the file as it is now"
            )
        fixed = {"server_name": chunk.server, "database_name": chunk.database}
        check = _ChunkCheck(chunk.chunk_id, category, keys, pg, target, duck, expected, leaf_rows, max_diffs, fixed)
        check.bisect(None, None, exp, tgt)
    finally:
        duck.close()
    res.differences, res.truncated, res.ranges_hashed = check.diffs, check.truncated, check.ranges
    res.ok = exp == tgt and res.error is None and (res.expected_rows, int(res.expected_hash)) == tgt
    return res


def _outside_plan(
    pg: psycopg.Connection, category: Category, chunks: Sequence[Chunk], keys: list[str], table: str, max_diffs: int
) -> tuple[int, list[Difference]]:
    """Rows of the target that no planned chunk selects: (count, the first max_diffs keys)."""
    all_keys = [*KEY_PREFIX, *keys]
    split, date = sql_ident(category.split_col), sql_ident(category.date_col)
    # Same bounds as Chunk.target_predicate: [day, day + 1) and [split_lo, split_hi), None = unbounded.
    q = f"""
        SELECT {", ".join("t." + sql_ident(k) for k in all_keys)}, count(*) OVER ()
          FROM {table} t
         WHERE NOT EXISTS (
               SELECT 1
                 FROM unnest(%s::text[], %s::text[], %s::date[], %s::bigint[], %s::bigint[]) AS p(s, d, day, lo, hi)
                WHERE p.s = t.server_name AND p.d = t.database_name AND p.day = CAST(t.{date} AS date)
                  AND (p.lo IS NULL OR t.{split} >= p.lo) AND (p.hi IS NULL OR t.{split} < p.hi))
         ORDER BY {", ".join("t." + sql_ident(k) for k in all_keys)}
         LIMIT %s
    """
    rows = pg.execute(
        q,
        (
            [c.server for c in chunks],
            [c.database for c in chunks],
            [c.day for c in chunks],
            [c.split_lo for c in chunks],
            [c.split_hi for c in chunks],
            max_diffs,
        ),
    ).fetchall()
    if not rows:
        return 0, []
    n = len(all_keys)
    diffs = [
        Difference(OUTSIDE_PLAN, "extra", {k: _json_value(v) for k, v in zip(all_keys, r[:n], strict=True)})
        for r in rows
    ]
    return int(rows[0][n]), diffs


def _record(dsn: str, report: ValidationReport, schema: str) -> None:
    with psycopg.connect(dsn) as conn:
        for c in report.chunks:
            diffs = [{"kind": d.kind, "key": d.key} for d in c.differences]
            if c.error:
                diffs.append({"kind": "error", "message": c.error})
            if c.truncated:
                diffs.append({"kind": "truncated", "message": f"more differences than the {len(c.differences)} listed"})
            checkpoints.record_validation(
                conn,
                report.category,
                c.chunk_id,
                c.expected_rows,
                c.target_rows,
                c.expected_hash,
                c.target_hash,
                c.ok,
                diffs,
                schema=schema,
            )
        if report.outside_rows:
            checkpoints.record_validation(
                conn,
                report.category,
                OUTSIDE_PLAN,
                0,
                report.outside_rows,
                None,
                None,
                False,
                [{"kind": d.kind, "key": d.key} for d in report.outside],
                schema=schema,
            )
        conn.commit()
