"""Glue export job: every (chunk, source table) pending export, distributed over Spark tasks.

Each task runs dbshift.datamove.export.export_chunk — the local engine's code — so a day is read by
as many parallel key-range queries as it has chunks (the published job read a day with one JDBC
query). A Spark partition keeps one TDS connection per (server, database) for all its tasks. The
driver records each returned StageRecord as a checkpoint; files are complete before that, so a
killed job redoes only chunks without a checkpoint.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dbshift.aws.clients import AwsConfig
from dbshift.datamove import export
from dbshift.datamove.area import Area
from dbshift.datamove.config import MigrationConfig, SourceCredentials
from dbshift.datamove.model import Category, Chunk, ColumnSpec, StageRecord

log = logging.getLogger(__name__)

# (host_port, database, credentials) -> a connection with the TdsConnection methods (and close()).
Connect = Callable[[str, str, SourceCredentials], Any]


@dataclass(frozen=True)
class ExportTask:
    chunk: Chunk
    table: str
    host_port: str
    source_filter: str | None  # this table's own filter only
    date_col: str
    split_col: str


def export_tasks(
    config: MigrationConfig, category: Category, chunks: Sequence[Chunk], done: Mapping[str, Iterable[str]] = {}
) -> list[ExportTask]:
    """The (chunk, table) pairs to export; `done` maps 'export:<table>' to the chunk ids already checkpointed."""
    tasks = []
    for table in category.source_tables:
        skip = set(done.get(f"export:{table}", ()))
        flt = config.source_filter(table)
        for chunk in chunks:
            if chunk.chunk_id not in skip:
                tasks.append(
                    ExportTask(chunk, table, config.servers[chunk.server], flt, category.date_col, category.split_col)
                )
    return tasks


def tds_connect(host_port: str, database: str, login: SourceCredentials) -> Any:
    from dbshift.tsql.tds import connect_tds

    return connect_tds(host_port, login.user, login.password.reveal(), database)


def _export_partition(
    raw: Area,
    login: SourceCredentials,
    connect: Connect,
    batch_rows: int,
    tasks: Iterable[ExportTask],
) -> Iterator[StageRecord]:
    conns: dict[tuple[str, str], Any] = {}
    columns: dict[tuple[str, str, str], list[ColumnSpec]] = {}
    try:
        for t in tasks:
            key = (t.host_port, t.chunk.database)
            if key not in conns:
                conns[key] = connect(t.host_port, t.chunk.database, login)
            conn = conns[key]
            ckey = (*key, t.table)
            if ckey not in columns:
                columns[ckey] = export.source_columns(conn, t.table)
            yield export.export_chunk(
                conn,
                t.chunk,
                t.table,
                columns[ckey],
                t.source_filter,
                t.date_col,
                t.split_col,
                raw,
                batch_rows=batch_rows,
            )
    finally:
        for c in conns.values():
            c.close()


def run_export(
    spark: Any,
    tasks: Sequence[ExportTask],
    raw_location: str,
    login: SourceCredentials,
    *,
    aws: AwsConfig | None = None,
    partitions: int | None = None,
    connect: Connect = tds_connect,
    batch_rows: int = export.DEFAULT_BATCH_ROWS,
) -> list[StageRecord]:
    """Export every task on Spark's executors; returns their StageRecords (stage 'export:<table>').

    The login travels to the executors inside the task closure (a Secret: never in repr or logs).
    """
    if not tasks:
        return []
    sc = spark.sparkContext
    n = partitions or min(len(tasks), max(1, sc.defaultParallelism) * 2)
    raw = Area(raw_location, aws)
    work = functools.partial(_export_partition, raw, login, connect, batch_rows)
    return sc.parallelize(list(tasks), n).mapPartitions(work).collect()


# ------------------------------------------------------------------------------------------ the job


def main(argv: Sequence[str]) -> int:
    import psycopg

    from dbshift.datamove import checkpoints
    from dbshift.datamove.glue import prepare_category, spark_session, start_job

    job = start_job(argv)
    args, aws, config, login, dsn = job.args, job.aws, job.config, job.login, job.dsn
    spark = spark_session("dbshift-export")
    for name in job.categories:
        with psycopg.connect(dsn) as conn:
            category, chunks = prepare_category(conn, config, str(name), login, "export")
            done = {
                f"export:{t}": checkpoints.done_map(conn, category.name, f"export:{t}").keys()
                for t in category.source_tables
            }
        tasks = export_tasks(config, category, chunks, done)
        log.info("category %s: %d chunks, %d exports pending", category.name, len(chunks), len(tasks))
        parts = int(args["PARTITIONS"]) if args.get("PARTITIONS") else None
        records = run_export(spark, tasks, config.runtime.raw_area, login, aws=aws, partitions=parts)
        with psycopg.connect(dsn) as conn:
            for rec in records:
                checkpoints.mark_done(conn, category.name, rec.chunk_id, rec.stage, rec.rows, rec.hash, rec.bytes)
            conn.commit()
        log.info("category %s: exported %d files, %d rows", name, len(records), sum(r.rows for r in records))
    return 0


if __name__ == "__main__":
    from dbshift.datamove.glue import run_main

    run_main(main)
