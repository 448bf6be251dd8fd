"""Export: one source table's rows of one chunk → a Parquet file in the raw area, with its hash.

Rows stream from SQL Server in batches; each batch becomes one Arrow record batch (filled by the ODBC
driver through arrow-odbc when one is installed, else built from pymssql's tuples by pyarrow), is
written as a Parquet row group and hashed by DuckDB over that same Arrow data. So the hash in the
manifest is the hash of exactly the rows read, and no more than one batch is alive at a time.
Hashes are sums, so per-batch (rows, sum) add up to the chunk's.
"""

from __future__ import annotations

import json
import os
import queue
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from dbshift.datamove import checksum
from dbshift.datamove.area import Area
from dbshift.datamove.model import Chunk, ColumnSpec, StageRecord, tsql_literal
from dbshift.errors import DbshiftError

DEFAULT_BATCH_ROWS = 50_000
DEFAULT_COMPRESSION = "zstd"
Progress = Callable[[int, int], None]  # (rows, bytes) read since the last call


class TdsConnection(Protocol):
    """The part of dbshift.tsql.tds.TdsConnection export uses."""

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def stream(self, sql: str, batch_rows: int = ...) -> Iterator[list[tuple[Any, ...]]]: ...

    # optional: stream_arrow(sql, schema, batch_rows) -> Iterator[pa.RecordBatch] | None (see _read_batches)

    def columns(self, sql: str) -> list[tuple[str, str]]: ...


class ExportError(DbshiftError):
    pass


# T-SQL type name -> model kind. Types without a lossless kind (datetimeoffset, time, binary, xml,
# sql_variant, geography...) are refused rather than exported as something else.
_TSQL_KINDS = {
    "tinyint": "int",
    "smallint": "int",
    "int": "int",
    "bigint": "int",
    "real": "float",
    "float": "float",
    "char": "text",
    "varchar": "text",
    "nchar": "text",
    "nvarchar": "text",
    "text": "text",
    "ntext": "text",
    "sysname": "text",
    "uniqueidentifier": "text",
    "datetime2": "timestamp",
    "datetime": "timestamp",
    "smalldatetime": "timestamp",
    "date": "date",
    "decimal": "decimal",
    "numeric": "decimal",
    "money": "decimal",
    "smallmoney": "decimal",
    "bit": "bool",
}
_FIXED_SCALE = {"money": 4, "smallmoney": 4}
_TYPE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(\s*([0-9A-Za-z]+)\s*(?:,\s*([0-9]+)\s*)?\))?\s*$")


def quote_ident(name: str) -> str:
    return "[" + name.replace("]", "]]") + "]"


def table_ref(table: str) -> str:
    return f"dbo.{quote_ident(table)}"


def tsql_kind(type_name: str, table: str, column: str) -> ColumnSpec | None:
    """The model column of a T-SQL type ("decimal(12,2)", "int"...); None when a decimal's scale is not given."""
    m = _TYPE.match(type_name or "")
    base = m.group(1).lower() if m else ""
    kind = _TSQL_KINDS.get(base)
    if kind is None:
        known = ", ".join(sorted(_TSQL_KINDS))
        raise ExportError(
            f"source table dbo.{table}, column {column}: T-SQL type {type_name!r} has no export mapping "
            f"(supported: {known}); CAST it in a view or leave the column out of the category"
        )
    if kind != "decimal":
        return ColumnSpec(column, kind)  # type: ignore[arg-type]
    if base in _FIXED_SCALE:
        return ColumnSpec(column, "decimal", _FIXED_SCALE[base])
    if m and m.group(3) is not None:
        return ColumnSpec(column, "decimal", int(m.group(3)))
    return None


def source_columns(conn: TdsConnection, table: str) -> list[ColumnSpec]:
    """The columns of dbo.<table> as model columns, in table order."""
    described = conn.columns(f"SELECT TOP 0 * FROM {table_ref(table)}")
    if not described:
        raise ExportError(f"source table dbo.{table} has no columns (or does not exist); check the category's tables")
    specs = [tsql_kind(t, table, name) for name, t in described]
    missing = [name for (name, _), s in zip(described, specs, strict=True) if s is None]
    scales = _decimal_scales(conn, table, missing) if missing else {}
    out = []
    for (name, _t), spec in zip(described, specs, strict=True):
        out.append(spec if spec is not None else ColumnSpec(name, "decimal", scales[name]))
    return out


def _decimal_scales(conn: TdsConnection, table: str, names: list[str]) -> dict[str, int]:
    # The result metadata named "decimal" without its scale: the catalog has it.
    sql = (
        "SELECT COLUMN_NAME, NUMERIC_SCALE FROM INFORMATION_SCHEMA.COLUMNS "
        f"WHERE TABLE_SCHEMA = N'dbo' AND TABLE_NAME = {tsql_literal(table)}"
    )
    try:
        _, rows = conn.query(sql)
    except Exception as e:
        raise ExportError(
            f"source table dbo.{table}: the scale of decimal column(s) {', '.join(names)} is unknown and "
            f"INFORMATION_SCHEMA.COLUMNS could not be read ({e}); grant VIEW DEFINITION on the table"
        ) from e
    scales = {str(r[0]): int(r[1]) for r in rows if r[1] is not None}
    lost = [n for n in names if n not in scales]
    if lost:
        raise ExportError(f"source table dbo.{table}: no NUMERIC_SCALE for decimal column(s) {', '.join(lost)}")
    return scales


# ------------------------------------------------------------------------------------------ Arrow

_ARROW = {
    "int": pa.int64(),
    "float": pa.float64(),
    "text": pa.string(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "bool": pa.bool_(),
}


def arrow_type(col: ColumnSpec) -> pa.DataType:
    return pa.decimal128(38, col.scale) if col.kind == "decimal" else _ARROW[col.kind]


def arrow_schema(columns: Sequence[ColumnSpec]) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c)) for c in columns])


def _to_batch(rows: list[tuple[Any, ...]], columns: Sequence[ColumnSpec], schema: pa.Schema) -> pa.RecordBatch:
    # zip(*rows) transposes in C; pa.array converts each column in C.
    cols = list(zip(*rows, strict=True))
    if len(cols) != len(columns):
        raise ExportError(f"the source returned {len(cols)} columns, expected {len(columns)}")
    arrays = []
    for values, col, field in zip(cols, columns, schema, strict=True):
        try:
            arrays.append(pa.array(values, type=field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
            raise ExportError(f"column {col.name} ({col.kind}): a value does not convert to {field.type}: {e}") from e
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# ------------------------------------------------------------------------------------------ export


def select_sql(
    table: str,
    columns: Sequence[ColumnSpec],
    chunk: Chunk,
    source_filter: str | None,
    date_col: str,
    split_col: str,
) -> str:
    """The chunk's SELECT on one source table: its own filter only (never another table's)."""
    cols = ", ".join(quote_ident(c.name) for c in columns)
    where = f"({chunk.source_predicate(date_col, split_col)})"
    if source_filter and source_filter.strip():
        where += f" AND ({source_filter})"
    return f"SELECT {cols} FROM {table_ref(table)} WHERE {where}"


def raw_rel(chunk: Chunk, table: str) -> str:
    return f"{chunk.rel_dir()}/{table}.parquet"


def raw_manifest_rel(chunk: Chunk, table: str) -> str:
    return f"{chunk.rel_dir()}/{table}.manifest.json"


class _Hasher:
    """Sums DuckDB's chunk hash over Arrow batches (hashes are sums, so batches add up)."""

    def __init__(self, columns: Sequence[ColumnSpec]) -> None:
        self._duck = duckdb.connect()
        self._sql = checksum.chunk_hash_sql(list(columns), "duckdb", "_batch")
        self.rows = 0
        self.total = 0

    def add(self, batch: pa.RecordBatch) -> None:
        _batch = pa.Table.from_batches([batch])
        self._duck.register("_batch", _batch)
        ((n, h),) = self._duck.execute(self._sql).fetchall()
        self._duck.unregister("_batch")
        self.rows += int(n)
        self.total += int(checksum.normalize(h))

    def close(self) -> None:
        self._duck.close()


_DONE = object()


class _Pipeline:
    """Runs `consume` on each Arrow batch in a worker thread, so Parquet writing and DuckDB hashing
    (both release the GIL) overlap with reading and converting the next batch. At most `depth`
    batches wait; an error in the worker is raised in the caller."""

    def __init__(self, consume: Callable[[pa.RecordBatch], None], depth: int = 2) -> None:
        self._consume = consume
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="export-sink", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _DONE:
            if self._error is None:
                try:
                    self._consume(item)
                except BaseException as e:
                    self._error = e

    def put(self, batch: pa.RecordBatch) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(batch)

    def close(self) -> None:
        """Wait for every batch to be consumed; raise the worker's error, if any."""
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _read_batches(
    conn: TdsConnection,
    sql: str,
    columns: Sequence[ColumnSpec],
    batch_rows: int,
    sink: Callable[[pa.RecordBatch], None],
) -> None:
    schema = arrow_schema(columns)
    # Arrow straight from the driver when the connection can (no Python object per value), else tuples.
    stream_arrow = getattr(conn, "stream_arrow", None)
    batches = stream_arrow(sql, schema, batch_rows) if stream_arrow is not None else None
    if batches is not None:
        for batch in batches:
            if batch.num_rows:
                sink(batch)
        return
    for rows in conn.stream(sql, batch_rows):
        if rows:
            batch = _to_batch(rows, columns, schema)
            del rows  # one batch of Python tuples at a time
            sink(batch)


def _check_columns(table: str, columns: Sequence[ColumnSpec], date_col: str, split_col: str) -> None:
    names = {c.name for c in columns}
    for role, col in (("date column", date_col), ("split column", split_col)):
        if col not in names:
            raise ExportError(
                f"source table dbo.{table} has no {role} {col!r} (columns: {', '.join(sorted(names))}); "
                f"fix partition_col_date / the split column"
            )


def export_chunk(
    conn: TdsConnection,
    chunk: Chunk,
    table: str,
    columns: Sequence[ColumnSpec],
    source_filter: str | None,
    date_col: str,
    split_col: str,
    raw: Area,
    progress: Progress | None = None,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    compression: str = DEFAULT_COMPRESSION,
) -> StageRecord:
    """Read the chunk's rows of dbo.<table>, write {chunk dir}/{table}.parquet + manifest, return the record.

    The manifest is written after the Parquet file, so a manifest always describes a complete file.
    The caller records the returned StageRecord as stage 'export:<table>' in the checkpoints.
    progress(rows, bytes) is called per batch (Arrow bytes), from the thread that writes and hashes.
    """
    _check_columns(table, columns, date_col, split_col)
    started = time.monotonic()
    schema = arrow_schema(columns)
    sql = select_sql(table, columns, chunk, source_filter, date_col, split_col)
    rel = raw_rel(chunk, table)
    local = raw.local_path(rel)
    tmp_dir = local.parent if local is not None else None
    if tmp_dir is not None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{table}.", suffix=".tmp", dir=tmp_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    hasher = _Hasher(columns)
    try:
        with pq.ParquetWriter(tmp, schema, compression=compression) as writer:

            def consume(batch: pa.RecordBatch) -> None:
                writer.write_batch(batch)
                hasher.add(batch)
                if progress is not None:
                    progress(batch.num_rows, batch.nbytes)

            pipe = _Pipeline(consume)
            try:
                _read_batches(conn, sql, columns, batch_rows, pipe.put)
            finally:
                pipe.close()
        size = tmp.stat().st_size
        raw.put_file(rel, tmp, move=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        hasher.close()
    record = StageRecord(
        chunk_id=chunk.chunk_id,
        stage=f"export:{table}",
        rows=hasher.rows,
        hash=str(hasher.total),
        bytes=size,
        detail={"file": raw.url(rel), "seconds": round(time.monotonic() - started, 3)},
    )
    raw.put_bytes(raw_manifest_rel(chunk, table), manifest_json(chunk.chunk_id, table, record, columns))
    return record


def manifest_json(chunk_id: str, table: str | None, record: StageRecord, columns: Sequence[ColumnSpec]) -> bytes:
    doc = {
        "chunk_id": chunk_id,
        "table": table,
        "rows": record.rows,
        "hash": record.hash,
        "bytes": record.bytes,
        "columns": [{"name": c.name, "kind": c.kind, "scale": c.scale} for c in columns],
    }
    return (json.dumps(doc, indent=1) + "\n").encode()


def read_manifest(area: Area, rel: str) -> dict[str, Any]:
    return json.loads(area.get_bytes(rel))


def source_chunk_hash(
    conn: TdsConnection,
    chunk: Chunk,
    table: str,
    columns: Sequence[ColumnSpec],
    source_filter: str | None,
    date_col: str,
    split_col: str,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> tuple[int, str]:
    """(rows, hash) of the chunk's rows as the source holds them now, nothing written.

    Compared with the export checkpoint, a difference means the source changed after the export (drift).
    """
    _check_columns(table, columns, date_col, split_col)
    hasher = _Hasher(columns)
    try:
        pipe = _Pipeline(hasher.add)
        try:
            _read_batches(
                conn,
                select_sql(table, columns, chunk, source_filter, date_col, split_col),
                columns,
                batch_rows,
                pipe.put,
            )
        finally:
            pipe.close()
    finally:
        hasher.close()
    return hasher.rows, str(hasher.total)


def split_bounds(
    conn: TdsConnection,
    table: str,
    split_col: str,
    date_col: str,
    first_day: Any,
    last_day: Any,
    source_filter: str | None = None,
) -> tuple[int, int] | None:
    """(min, max) of the split column over the days [first_day, last_day] of dbo.<table>; None without rows."""
    import datetime as dt

    lo = dt.datetime.combine(first_day, dt.time())
    hi = dt.datetime.combine(last_day, dt.time()) + dt.timedelta(days=1)
    d, s = quote_ident(date_col), quote_ident(split_col)
    where = f"{d} >= {tsql_literal(lo)} AND {d} < {tsql_literal(hi)}"
    if source_filter and source_filter.strip():
        where += f" AND ({source_filter})"
    _, rows = conn.query(f"SELECT MIN({s}), MAX({s}) FROM {table_ref(table)} WHERE {where}")
    if not rows or rows[0][0] is None:
        return None
    return int(rows[0][0]), int(rows[0][1])
