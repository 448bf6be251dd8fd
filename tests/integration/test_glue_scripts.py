"""The Glue job scripts under pyspark local mode give the same files, rows and hashes as the local engine.

Export: run_export distributes (chunk, table) tasks over Spark tasks (separate Python worker processes)
that run export_chunk against the estate's SQL Server sources; the files and hashes must equal a local
export of the same chunks. Transform (raw files from a stand-in source with full-precision floats):
the SQL file in Spark SQL must give the rows and chunk hashes DuckDB gives.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dbshift.datamove import export, transform
from dbshift.datamove.area import Area
from dbshift.datamove.config import Secret, SourceCredentials
from dbshift.datamove.glue import export_job, job_args, transform_job
from dbshift.datamove.model import CELL_PERF_STATS, SOURCE_TABLES, Chunk

pytestmark = pytest.mark.slow

DAY = dt.date(2026, 4, 1)
SQL_DIR = Path(transform.__file__).parent / "sql"
SQL = transform.load_transform_sql(SQL_DIR, CELL_PERF_STATS)
CHUNKS = [
    Chunk("cell_perf_stats", srv, db, DAY, part, lo, hi)
    for srv, db in (("src1", "NetPerf01"), ("src2", "NetPerf02"))
    for part, (lo, hi) in enumerate([(None, 20), (20, 40), (40, None)])
]
HOSTS = {"src1": "127.0.0.1:1", "src2": "127.0.0.1:2"}


class GeneratedSource:
    """Stand-in for a SQL Server database: deterministic rows per (host, database, table), filtered by the
    chunk predicate export sends (date range and split-column range parsed from the T-SQL)."""

    def __init__(self, host_port: str, database: str) -> None:
        self.seed = f"{host_port}/{database}"
        self.closed = False

    def rows(self, table: str) -> list[tuple]:
        rng = random.Random(f"{self.seed}/{table}")
        base = dt.datetime.combine(DAY, dt.time())
        out = []
        for i in range(1500):
            key = (i % 60, base + dt.timedelta(minutes=15 * (i // 60) - 60))  # some rows the day before
            if table == "cell_performance_data":
                site = rng.choice([None, "", f"S{rng.randint(0, 9)}"])
                out.append((*key, site, rng.uniform(0, 1e3), rng.random(), rng.choice([None, 1, 2])))
            elif rng.random() < 0.9:
                out.append((*key, rng.randint(0, 300), rng.choice([None, rng.uniform(0, 15)]), rng.randint(0, 5)))
        return out

    def stream(self, sql: str, batch_rows: int = 50_000) -> Iterator[list[tuple]]:
        table = re.search(r"FROM dbo\.\[(\w+)\]", sql).group(1)
        lo = dt.datetime.fromisoformat(re.search(r"\[measured_at\] >= '([^']+)'", sql).group(1))
        hi = dt.datetime.fromisoformat(re.search(r"\[measured_at\] < '([^']+)'", sql).group(1))
        slo = re.search(r"\[cell_id\] >= (\d+)", sql)
        shi = re.search(r"\[cell_id\] < (\d+)", sql)
        rows = [
            r
            for r in self.rows(table)
            if lo <= r[1] < hi
            and (slo is None or r[0] >= int(slo.group(1)))
            and (shi is None or r[0] < int(shi.group(1)))
        ]
        for i in range(0, len(rows), batch_rows):
            yield rows[i : i + batch_rows]

    def columns(self, sql: str) -> list[tuple[str, str]]:
        table = re.search(r"FROM dbo\.\[(\w+)\]", sql).group(1)
        kinds = {"int": "int", "timestamp": "datetime2", "text": "varchar", "float": "float"}
        return [(c.name, kinds[c.kind]) for c in SOURCE_TABLES[table]]

    def close(self) -> None:
        self.closed = True


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # Spark's Python workers are fresh processes: run them with this interpreter (dbshift installed).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dbshift-glue-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    yield session
    session.stop()


def local_export(raw: Area) -> dict[str, tuple[int, str]]:
    out = {}
    for chunk in CHUNKS:
        for table in CELL_PERF_STATS.source_tables:
            conn = GeneratedSource(HOSTS[chunk.server], chunk.database)
            cols = export.source_columns(conn, table)
            rec = export.export_chunk(conn, chunk, table, cols, None, "measured_at", "cell_id", raw)
            out[f"{chunk.chunk_id}|{table}"] = (rec.rows, rec.hash)
    return out


def rows_of(area: Area, rel: str) -> list[tuple]:
    return sorted((tuple(r.values()) for r in pq.read_table(area.local_path(rel)).to_pylist()), key=repr)


@pytest.mark.estate
def test_export_job_matches_local_export(spark, estate, tmp_path: Path) -> None:
    from dbshift.tsql.tds import connect_tds

    day = dt.date(2026, 11, 1)  # the estate's sample data (dbshift.estate.seed)
    hosts = {"src1": estate.tds_endpoints["src1"], "src2": estate.tds_endpoints["src2"]}
    chunks = [
        Chunk("cell_perf_stats", srv, db, day, part, lo, hi)
        for srv, db in (("src1", "NetPerf01"), ("src2", "NetPerf02"))
        for part, (lo, hi) in enumerate([(None, 10004), (10004, 10007), (10007, None)])
    ]
    flt = {"cell_performance_data": "[site_code] <> ''", "ue_statistics_data": None}
    tasks = [
        export_job.ExportTask(c, t, hosts[c.server], flt[t], "measured_at", "cell_id")
        for t in CELL_PERF_STATS.source_tables
        for c in chunks
    ]
    local, glue = Area(tmp_path / "local"), Area(tmp_path / "glue")
    expected = {}
    for t in tasks:
        with connect_tds(t.host_port, estate.source_login, estate.source_password, t.chunk.database) as conn:
            cols = export.source_columns(conn, t.table)
            rec = export.export_chunk(conn, t.chunk, t.table, cols, t.source_filter, "measured_at", "cell_id", local)
        expected[(rec.chunk_id, rec.stage)] = (rec.rows, rec.hash)

    login = SourceCredentials(estate.source_login, Secret(estate.source_password))
    records = export_job.run_export(spark, tasks, str(tmp_path / "glue"), login, partitions=3)

    assert {(r.chunk_id, r.stage): (r.rows, r.hash) for r in records} == expected
    assert all(n > 0 for n, _ in expected.values())
    assert glue.list() == local.list()
    for rel in local.list():
        if rel.endswith(".parquet"):
            assert rows_of(glue, rel) == rows_of(local, rel)
        else:
            assert json.loads(glue.get_bytes(rel)) == json.loads(local.get_bytes(rel))


def test_export_tasks_skip_done_and_use_own_filter() -> None:
    from dbshift.datamove.config import MigrationConfig, Runtime

    config = MigrationConfig(
        job_mode="resume",
        log_level="INFO",
        input_partition=DAY.isoformat(),
        first_day=DAY,
        last_day=DAY,
        partition_col_date="measured_at",
        source_filters={"ue_statistics_data": "[active_ues] > 0"},
        servers=HOSTS,
        databases={"src1": ("NetPerf01",), "src2": ("NetPerf02",)},
        categories={"cell_perf_stats": CELL_PERF_STATS.source_tables},
        runtime=Runtime("/raw", "/transformed", Secret("dsn")),
    )
    done = {"export:cell_performance_data": [CHUNKS[0].chunk_id, CHUNKS[4].chunk_id]}
    tasks = export_job.export_tasks(config, CELL_PERF_STATS, CHUNKS, done)
    assert len(tasks) == 2 * len(CHUNKS) - 2
    assert {(t.table, t.source_filter) for t in tasks} == {
        ("cell_performance_data", None),
        ("ue_statistics_data", "[active_ues] > 0"),
    }
    assert {t.host_port for t in tasks if t.chunk.server == "src2"} == {HOSTS["src2"]}


def test_transform_job_matches_duckdb(spark, tmp_path: Path) -> None:
    raw, duck_out, spark_out = Area(tmp_path / "raw"), Area(tmp_path / "duck"), Area(tmp_path / "spark")
    local_export(raw)
    duck = {c.chunk_id: transform.transform_chunk(CELL_PERF_STATS, c, SQL, raw, duck_out) for c in CHUNKS}
    done: list[str] = []
    records = transform_job.run_transform(
        spark,
        CELL_PERF_STATS,
        CHUNKS,
        SQL,
        str(tmp_path / "raw"),
        str(tmp_path / "spark"),
        parallel=2,
        on_done=lambda r: done.append(r.chunk_id),
    )

    assert sorted(done) == sorted(c.chunk_id for c in CHUNKS)
    assert {r.chunk_id: (r.rows, r.hash) for r in records} == {k: (r.rows, r.hash) for k, r in duck.items()}
    assert sum(r.rows for r in records) > 0
    assert spark_out.list() == duck_out.list()  # staging removed, same names
    for c in CHUNKS:
        rel = c.transformed_rel()
        assert rows_of(spark_out, rel) == rows_of(duck_out, rel)
        s_schema = pq.read_schema(spark_out.local_path(rel))
        d_schema = pq.read_schema(duck_out.local_path(rel))
        assert [(f.name, f.type) for f in s_schema] == [(f.name, f.type) for f in d_schema]
        s_man = json.loads(spark_out.get_bytes(transform.transformed_manifest_rel(c)))
        d_man = json.loads(duck_out.get_bytes(transform.transformed_manifest_rel(c)))
        assert {**s_man, "bytes": 0} == {**d_man, "bytes": 0}


def test_transform_job_errors(spark, tmp_path: Path) -> None:
    raw, out = Area(tmp_path / "raw"), Area(tmp_path / "out")
    chunk = CHUNKS[1]
    with pytest.raises(transform.TransformError, match="table cell_performance_data is not exported"):
        transform_job.transform_chunk_spark(spark, CELL_PERF_STATS, chunk, SQL, raw, out)
    local_export(raw)
    bad = SQL.replace("u.handover_failures", "u.handover_failures AS failures")
    with pytest.raises(transform.TransformError, match=r"x\.sql .*'handover_failures' is missing"):
        transform_job.transform_chunk_spark(spark, CELL_PERF_STATS, chunk, bad, raw, out, sql_name="x.sql")
    assert out.list() == []


def test_job_args_without_awsglue() -> None:
    argv = ["job.py", "--JOB_NAME", "j", *[x for n in job_args.__defaults__[0] for x in (f"--{n}", n.lower())]]
    args = job_args([*argv, "--CATEGORY", "cell_perf_stats"])
    assert args["RAW_AREA"] == "raw_area" and args["CATEGORY"] == "cell_perf_stats" and args["PARTITIONS"] is None
    with pytest.raises(SystemExit):
        job_args(["job.py", "--RAW_AREA", "x"])


@pytest.mark.estate
def test_job_mains_against_the_estate(spark, estate, tmp_path: Path) -> None:
    """export_job.main then transform_job.main as Glue runs them: configuration from SSM, credentials
    from Secrets Manager, plan and checkpoints in the target PostgreSQL; a second run finds nothing to do."""
    import uuid

    import psycopg

    from dbshift.aws.clients import AwsConfig, client
    from dbshift.datamove import checkpoints
    from dbshift.estate.postgres import ensure_database

    aws = AwsConfig(region=estate.region, endpoint_url=estate.aws_endpoint_url)
    base, _, _db = estate.postgres_dsn.rpartition("/")
    dbname = f"glue_{uuid.uuid4().hex[:8]}"  # a target of its own: other tests use the same category
    ensure_database(base, dbname)
    dsn = f"{base}/{dbname}"
    tag = uuid.uuid4().hex[:8]
    ssm, sm = client("ssm", aws), client("secretsmanager", aws)
    migration = {
        "job_mode": "fresh",
        "input_partition": "2026-11-01..2026-11-02",
        "partition_col_date": "measured_at",
        "source_filter_cell_performance_data": "[dropped_calls] IS NOT NULL",
    }
    mappings = {
        "server_mappings": {"src1": estate.tds_endpoints["src1"], "src2": estate.tds_endpoints["src2"]},
        "databases": {"src1": ["NetPerf01"], "src2": ["NetPerf02"]},
        "categories": {"cell_perf_stats": ["cell_performance_data", "ue_statistics_data"]},
    }
    ssm.put_parameter(Name=f"/glue-{tag}/migration", Value=json.dumps(migration), Type="String")
    ssm.put_parameter(Name=f"/glue-{tag}/mappings", Value=json.dumps(mappings), Type="String")
    login = json.dumps({"username": estate.source_login, "password": estate.source_password})
    sm.create_secret(Name=f"glue-{tag}-source", SecretString=login)
    sm.create_secret(Name=f"glue-{tag}-dsn", SecretString=dsn)
    argv = [
        "job.py",
        "--JOB_NAME",
        "dbshift-test",
        *("--MIGRATION_PARAMETER", f"/glue-{tag}/migration", "--SERVER_MAPPINGS_PARAMETER", f"/glue-{tag}/mappings"),
        *("--RAW_AREA", str(tmp_path / "raw"), "--TRANSFORMED_AREA", str(tmp_path / "transformed")),
        *("--SOURCE_SECRET", f"glue-{tag}-source", "--TARGET_DSN_SECRET", f"glue-{tag}-dsn"),
        *("--AWS_ENDPOINT_URL", estate.aws_endpoint_url),
    ]
    assert export_job.main(argv) == 0
    assert transform_job.main(argv) == 0

    with psycopg.connect(dsn) as conn:
        chunks = checkpoints.load_plan(conn, "cell_perf_stats")
        assert chunks and {(c.server, c.database) for c in chunks} == {("src1", "NetPerf01"), ("src2", "NetPerf02")}
        assert {c.day for c in chunks} == {dt.date(2026, 11, 1), dt.date(2026, 11, 2)}
        ids = {c.chunk_id for c in chunks}
        for stage in ("export:cell_performance_data", "export:ue_statistics_data", "transform"):
            assert set(checkpoints.done_map(conn, "cell_perf_stats", stage)) == ids
        tx = checkpoints.done_map(conn, "cell_perf_stats", "transform")
    out = Area(tmp_path / "transformed")
    for c in chunks:
        man = json.loads(out.get_bytes(transform.transformed_manifest_rel(c)))
        assert (man["rows"], man["hash"]) == (tx[c.chunk_id].rows, tx[c.chunk_id].hash)
    assert sum(r.rows for r in tx.values()) > 0

    # resume: nothing is exported or transformed again (the files keep their modification times)
    ssm.put_parameter(
        Name=f"/glue-{tag}/migration", Value=json.dumps({**migration, "job_mode": "resume"}), Overwrite=True
    )
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.parquet")}
    assert export_job.main(argv) == 0
    assert transform_job.main(argv) == 0
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.parquet")} == before
