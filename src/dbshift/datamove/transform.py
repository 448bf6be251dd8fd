"""Transform: a category's SQL over one chunk's raw Parquet → the chunk's transformed Parquet, in DuckDB.

Each source table's raw file of the chunk is a view named after the table; the category's SQL file (one
SELECT, shared with the Glue job's Spark SQL) runs over those views. The engine puts server_name and
database_name first (literals: the chunk's) and casts every column to the category's kind, in the
category's column order, so both engines write the same schema. The hash is computed over the file
written, the way the export hashes what it read.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from dbshift.datamove import checksum
from dbshift.datamove.area import Area
from dbshift.datamove.export import manifest_json, raw_manifest_rel, raw_rel, read_manifest
from dbshift.datamove.model import Category, Chunk, ColumnSpec, StageRecord, sql_ident, sql_literal
from dbshift.errors import DbshiftError

LITERAL_COLUMNS = ("server_name", "database_name")  # filled by the engine from the chunk, not by the SQL file
DEFAULT_COMPRESSION = "zstd"


class TransformError(DbshiftError):
    pass


def load_transform_sql(transforms_dir: str | Path, category: Category | str) -> str:
    """The text of <transforms_dir>/<category>.sql."""
    name = category.name if isinstance(category, Category) else category
    path = Path(transforms_dir) / f"{name}.sql"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TransformError(
            f"category {name}: transform SQL {path} does not exist; write one SELECT over the source tables "
            f"there (or set transforms_dir)"
        ) from None


def transformed_manifest_rel(chunk: Chunk) -> str:
    return chunk.transformed_rel().removesuffix(".parquet") + ".manifest.json"


def strip_sql(sql_text: str) -> str:
    """The SELECT without trailing semicolons, so it can be wrapped as a subquery."""
    s = sql_text.strip()
    while s.endswith(";"):
        s = s[:-1].rstrip()
    return s


_TYPES = {
    "duckdb": {
        "int": "BIGINT",
        "float": "DOUBLE",
        "text": "VARCHAR",
        "timestamp": "TIMESTAMP",
        "date": "DATE",
        "bool": "BOOLEAN",
    },
    # TIMESTAMP_NTZ: wall-clock time as the source holds it, written to Parquet as DuckDB does
    "spark": {
        "int": "BIGINT",
        "float": "DOUBLE",
        "text": "STRING",
        "timestamp": "TIMESTAMP_NTZ",
        "date": "DATE",
        "bool": "BOOLEAN",
    },
}


def _sql_type(col: ColumnSpec, dialect: str) -> str:
    return f"DECIMAL(38, {col.scale})" if col.kind == "decimal" else _TYPES[dialect][col.kind]


def _q(name: str, dialect: str) -> str:
    return f"`{name}`" if dialect == "spark" else sql_ident(name)


def check_output_columns(category: Category, produced: Sequence[str], sql_name: str) -> None:
    """The SQL file must produce exactly the category's data columns but the literal ones."""
    expected = [c.name for c in category.data_columns if c.name not in LITERAL_COLUMNS]
    problems = []
    lower = {p.lower(): p for p in produced}
    for name in expected:
        if name not in produced:
            hint = f" (it has {lower[name.lower()]!r}: names must match exactly)" if name.lower() in lower else ""
            problems.append(f"column {name!r} is missing{hint}")
    for name in produced:
        if name in LITERAL_COLUMNS:
            problems.append(f"column {name!r} is added by the engine; remove it from the SELECT")
        elif name not in expected and name.lower() not in {e.lower() for e in expected}:
            problems.append(f"column {name!r} is not a column of {category.name}; remove or rename it")
    if len(set(produced)) != len(produced):
        problems.append("some output columns have the same name; alias them")
    if problems:
        raise TransformError(f"transform SQL {sql_name} for category {category.name}: " + "; ".join(problems))


def output_sql(category: Category, chunk: Chunk, sql_text: str, dialect: str) -> str:
    """The category's SELECT wrapped: literal server/database first, every column cast, category order."""
    parts = []
    for col in category.data_columns:
        if col.name == "server_name":
            value = sql_literal(chunk.server)
        elif col.name == "database_name":
            value = sql_literal(chunk.database)
        else:
            value = f"q.{_q(col.name, dialect)}"
        parts.append(f"CAST({value} AS {_sql_type(col, dialect)}) AS {_q(col.name, dialect)}")
    return f"SELECT {', '.join(parts)} FROM (\n{strip_sql(sql_text)}\n) AS q"


def raw_manifest_rows(chunk: Chunk, table: str, raw: Area) -> int:
    """The row count in the chunk's raw manifest of `table`; an error when the table is not exported."""
    man_rel = raw_manifest_rel(chunk, table)
    if not raw.exists(man_rel):
        raise TransformError(
            f"chunk {chunk.chunk_id}: table {table} is not exported (no {raw.url(man_rel)}); run the export stage first"
        )
    return int(read_manifest(raw, man_rel)["rows"])


def check_raw_rows(chunk: Chunk, table: str, raw: Area, found: int, manifest_rows: int) -> None:
    if found != manifest_rows:
        raise TransformError(
            f"chunk {chunk.chunk_id}: {raw.url(raw_rel(chunk, table))} has {found} rows, its manifest says "
            f"{manifest_rows}; export the chunk again"
        )


def _view_raw(duck: duckdb.DuckDBPyConnection, chunk: Chunk, table: str, raw: Area) -> int:
    """Make the chunk's raw file of `table` a view named `table`; returns its row count."""
    rows = raw_manifest_rows(chunk, table, raw)
    rel = raw_rel(chunk, table)
    local = raw.local_path(rel)
    if local is not None:
        duck.execute(f'CREATE VIEW "{table}" AS SELECT * FROM read_parquet({sql_literal(str(local))})')
    else:
        data = pq.read_table(pa.BufferReader(raw.get_bytes(rel)))
        duck.register(f"_raw_{table}", data)
        duck.execute(f'CREATE VIEW "{table}" AS SELECT * FROM "_raw_{table}"')
    ((n,),) = duck.execute(f'SELECT count(*) FROM "{table}"').fetchall()
    check_raw_rows(chunk, table, raw, n, rows)
    return rows


def parquet_hash(columns: Sequence[ColumnSpec], area: Area, rel: str) -> tuple[int, str]:
    """(rows, hash) of a Parquet file in an area, computed by DuckDB (S3 files are read into memory)."""
    duck = duckdb.connect()
    try:
        local = area.local_path(rel)
        if local is not None:
            source = f"read_parquet({sql_literal(str(local))})"
        else:
            duck.register("_file", pq.read_table(pa.BufferReader(area.get_bytes(rel))))
            source = "_file"
        ((n, h),) = duck.execute(checksum.chunk_hash_sql(list(columns), "duckdb", source)).fetchall()
    finally:
        duck.close()
    return int(n), checksum.normalize(h)


def transform_chunk(
    category: Category,
    chunk: Chunk,
    sql_text: str,
    raw: Area,
    transformed: Area,
    *,
    sql_name: str | None = None,
    compression: str = DEFAULT_COMPRESSION,
) -> StageRecord:
    """Run the category's SQL over the chunk's raw files; write {category}/.../p{part}.parquet + manifest."""
    sql_name = sql_name or f"{category.name}.sql"
    started = time.monotonic()
    rel = chunk.transformed_rel()
    local = transformed.local_path(rel)
    tmp_dir = local.parent if local is not None else None
    if tmp_dir is not None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".p{chunk.part}.", suffix=".tmp", dir=tmp_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    duck = duckdb.connect()
    try:
        inputs = {t: _view_raw(duck, chunk, t, raw) for t in category.source_tables}
        try:
            produced = [
                d[0] for d in duck.execute(f"SELECT * FROM (\n{strip_sql(sql_text)}\n) AS q LIMIT 0").description
            ]
        except duckdb.Error as e:
            raise TransformError(f"transform SQL {sql_name} for category {category.name} failed in DuckDB: {e}") from e
        check_output_columns(category, produced, sql_name)
        select = output_sql(category, chunk, sql_text, "duckdb")
        try:
            duck.execute(
                f"COPY ({select}) TO {sql_literal(str(tmp))} (FORMAT parquet, COMPRESSION {compression})"
            ).fetchall()
        except duckdb.Error as e:
            raise TransformError(
                f"transform SQL {sql_name} for category {category.name}, chunk {chunk.chunk_id}: {e}"
            ) from e
        hash_sql = checksum.chunk_hash_sql(
            list(category.data_columns), "duckdb", f"read_parquet({sql_literal(str(tmp))})"
        )
        ((n, h),) = duck.execute(hash_sql).fetchall()
        size = tmp.stat().st_size
        transformed.put_file(rel, tmp, move=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        duck.close()
    record = StageRecord(
        chunk_id=chunk.chunk_id,
        stage="transform",
        rows=int(n),
        hash=checksum.normalize(h),
        bytes=size,
        detail={"file": transformed.url(rel), "inputs": inputs, "seconds": round(time.monotonic() - started, 3)},
    )
    transformed.put_bytes(
        transformed_manifest_rel(chunk), manifest_json(chunk.chunk_id, None, record, category.data_columns)
    )
    return record
