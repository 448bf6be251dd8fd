"""Glue transform job: the category's SQL file in Spark SQL over each chunk's raw Parquet.

The same SQL file the local engine runs in DuckDB, wrapped the same way (transform.output_sql: the
chunk's server/database literals first, every column cast to the category's kind, TIMESTAMP_NTZ for
wall-clock timestamps). Per chunk: Spark writes one Parquet file to a staging prefix, the chunk hash
is computed over that written file (by DuckDB on the driver: see below), and the file is moved to
its final name ({category}/{server}/{database}/{day}/p{part}.parquet) before its manifest is written.
Chunks run concurrently from driver threads, each in its own Spark session (temporary views are per
session and every chunk has views with the same names).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dbshift.aws.clients import AwsConfig
from dbshift.datamove.area import Area
from dbshift.datamove.export import manifest_json, raw_rel
from dbshift.datamove.model import Category, Chunk, StageRecord
from dbshift.datamove.transform import (
    TransformError,
    check_output_columns,
    check_raw_rows,
    output_sql,
    parquet_hash,
    raw_manifest_rows,
    strip_sql,
    transformed_manifest_rel,
)

log = logging.getLogger(__name__)

STAGING = "_staging"  # prefix in the transformed area for Spark's output directories


def _session(spark: Any) -> Any:
    s = spark.newSession()
    s.conf.set("spark.sql.session.timeZone", "UTC")
    return s


def transform_chunk_spark(
    spark: Any,
    category: Category,
    chunk: Chunk,
    sql_text: str,
    raw: Area,
    transformed: Area,
    *,
    sql_name: str | None = None,
    compression: str = "zstd",
) -> StageRecord:
    """One chunk through Spark SQL: the same output file, manifest and StageRecord as transform.transform_chunk."""
    sql_name = sql_name or f"{category.name}.sql"
    started = time.monotonic()
    session = _session(spark)
    inputs = {}
    for table in category.source_tables:
        expected = raw_manifest_rows(chunk, table, raw)
        df = session.read.parquet(raw.url(raw_rel(chunk, table)))
        n = df.count()
        check_raw_rows(chunk, table, raw, n, expected)
        df.createOrReplaceTempView(table)
        inputs[table] = n
    try:
        produced = session.sql(strip_sql(sql_text)).columns
    except Exception as e:  # AnalysisException, ParseException
        raise TransformError(f"transform SQL {sql_name} for category {category.name} failed in Spark SQL: {e}") from e
    check_output_columns(category, produced, sql_name)

    staging = f"{STAGING}/{uuid.uuid4().hex}/{chunk.transformed_rel().removesuffix('.parquet')}"
    try:
        out = session.sql(output_sql(category, chunk, sql_text, "spark"))
        out.coalesce(1).write.mode("errorifexists").option("compression", compression).parquet(transformed.url(staging))
        parts = [r for r in transformed.list(staging + "/") if r.rsplit("/", 1)[-1].startswith("part-")]
        parts = [r for r in parts if r.endswith(".parquet")]
        if len(parts) != 1:
            raise TransformError(f"chunk {chunk.chunk_id}: Spark wrote {len(parts)} Parquet files, expected one")
        # The hash of the file written, as the loader will read it, computed by DuckDB on the driver:
        # Spark's format_string('%.14e') rounds from the shortest decimal form of a double, not from its
        # binary value, and disagrees with C (DuckDB, PostgreSQL) on ties such as 0.7647603421099475.
        n, h = parquet_hash(category.data_columns, transformed, parts[0])
        rel = chunk.transformed_rel()
        transformed.move(parts[0], rel)
    finally:
        transformed.delete_prefix(staging + "/")
    size = transformed.size(rel)
    record = StageRecord(
        chunk_id=chunk.chunk_id,
        stage="transform",
        rows=int(n),
        hash=h,
        bytes=size,
        detail={"file": transformed.url(rel), "inputs": inputs, "seconds": round(time.monotonic() - started, 3)},
    )
    transformed.put_bytes(
        transformed_manifest_rel(chunk), manifest_json(chunk.chunk_id, None, record, category.data_columns)
    )
    return record


def run_transform(
    spark: Any,
    category: Category,
    chunks: Sequence[Chunk],
    sql_text: str,
    raw_location: str,
    transformed_location: str,
    *,
    aws: AwsConfig | None = None,
    parallel: int = 2,
    sql_name: str | None = None,
    on_done: Any = None,
) -> list[StageRecord]:
    """Transform every chunk; `on_done(record)` (e.g. a checkpoint) runs as each chunk finishes."""
    raw, transformed = Area(raw_location, aws), Area(transformed_location, aws)

    def one(chunk: Chunk) -> StageRecord:
        rec = transform_chunk_spark(spark, category, chunk, sql_text, raw, transformed, sql_name=sql_name)
        if on_done is not None:
            on_done(rec)
        return rec

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(one, chunks))


# ------------------------------------------------------------------------------------------ the job


def main(argv: Sequence[str]) -> int:
    import threading

    import psycopg

    from dbshift.datamove import checkpoints, transform
    from dbshift.datamove.glue import prepare_category, spark_session, start_job

    job = start_job(argv)
    aws, config, login, dsn = job.aws, job.config, job.login, job.dsn
    spark = spark_session("dbshift-transform")
    for name in job.categories:
        with psycopg.connect(dsn) as conn:
            category, chunks = prepare_category(conn, config, str(name), login, "transform")
            done = checkpoints.done_map(conn, category.name, "transform")
            exported = [set(checkpoints.done_map(conn, category.name, f"export:{t}")) for t in category.source_tables]
        pending = [c for c in chunks if c.chunk_id not in done]
        missing = [c.chunk_id for c in pending if not all(c.chunk_id in e for e in exported)]
        if missing:
            raise TransformError(
                f"category {name}: {len(missing)} chunk(s) not exported yet (first: {missing[0]}); run the export job"
            )
        sql_text = transform.load_transform_sql(config.runtime.transforms_dir, category)
        lock = threading.Lock()
        target = psycopg.connect(dsn, autocommit=True)

        def checkpoint(rec: StageRecord, category: Category = category, target: Any = target, lock: Any = lock) -> None:
            with lock:  # one connection, one statement at a time: each checkpoint commits as its chunk ends
                checkpoints.mark_done(target, category.name, rec.chunk_id, "transform", rec.rows, rec.hash, rec.bytes)

        try:
            records = run_transform(
                spark,
                category,
                pending,
                sql_text,
                config.runtime.raw_area,
                config.runtime.transformed_area,
                aws=aws,
                parallel=config.runtime.parallelism,
                on_done=checkpoint,
            )
        finally:
            target.close()
        log.info("category %s: transformed %d chunks, %d rows", name, len(records), sum(r.rows for r in records))
    return 0


if __name__ == "__main__":
    from dbshift.datamove.glue import run_main

    run_main(main)
