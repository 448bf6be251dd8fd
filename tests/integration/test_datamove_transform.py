"""Transform: the category SQL over a chunk's raw Parquet (DuckDB) gives the joined rows and their hash.

Raw files are made by the real export from a stand-in source (a list of tuples behind stream()); the
expected rows are built by an independent Python join, and the expected hash by checksum's Python form.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dbshift.aws.clients import AwsConfig, client
from dbshift.datamove import checksum, export, transform
from dbshift.datamove.area import Area
from dbshift.datamove.model import CELL_PERF_STATS, SOURCE_TABLES, Chunk

DAY = dt.date(2026, 3, 2)
CHUNK = Chunk("cell_perf_stats", "src1", "NetPerf01", DAY, 2, 100, 200)
SQL_DIR = Path(transform.__file__).parent / "sql"


class ListSource:
    """Stand-in for SQL Server: stream() returns the given rows (already the chunk's) in batches."""

    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows

    def stream(self, sql: str, batch_rows: int = 50_000) -> Iterator[list[tuple]]:
        for i in range(0, len(self.rows), batch_rows):
            yield self.rows[i : i + batch_rows]


def sample(n: int, seed: int = 3) -> tuple[list[tuple], list[tuple]]:
    rng = random.Random(seed)
    base = dt.datetime.combine(DAY, dt.time())
    cells, ues = [], []
    for i in range(n):
        key = (100 + i % 100, base + dt.timedelta(minutes=15 * (i // 100), microseconds=rng.choice([0, 1, 999999])))
        site = rng.choice([None, "", f"S{rng.randint(0, 9)}", "x'y"])
        tp = None if rng.random() < 0.1 else rng.uniform(0, 1e4)
        cells.append((*key, site, tp, rng.random() * 100, rng.choice([None, 0, 3])))
        if rng.random() < 0.8:  # some cells have no UE statistics: the LEFT JOIN keeps them
            ues.append(
                (*key, rng.randint(0, 500), None if rng.random() < 0.1 else rng.uniform(0, 15), rng.randint(0, 9))
            )
    ues.append((999, base, 1, 1.0, 1))  # a UE row without a cell row: dropped by the LEFT JOIN
    return cells, ues


def expected_rows(chunk: Chunk, cells: list[tuple], ues: list[tuple]) -> list[tuple]:
    by_key = {(u[0], u[1]): u[2:] for u in ues}
    out = []
    for cid, at, site, tp, lat, dropped in cells:
        u = by_key.get((cid, at), (None, None, None))
        out.append((chunk.server, chunk.database, cid, at, site or None, tp, lat, dropped, *u))
    return out


def types(schema: pa.Schema) -> list[tuple[str, pa.DataType]]:
    return [(f.name, f.type) for f in schema]


def export_raw(raw: Area, chunk: Chunk, cells: list[tuple], ues: list[tuple]) -> None:
    for table, rows in (("cell_performance_data", cells), ("ue_statistics_data", ues)):
        cols = list(SOURCE_TABLES[table])
        export.export_chunk(ListSource(rows), chunk, table, cols, None, "measured_at", "cell_id", raw, batch_rows=700)


def test_transform_joins_and_hashes(tmp_path: Path) -> None:
    cells, ues = sample(2500)
    raw, out = Area(tmp_path / "raw"), Area(tmp_path / "transformed")
    export_raw(raw, CHUNK, cells, ues)
    sql = transform.load_transform_sql(SQL_DIR, CELL_PERF_STATS)

    rec = transform.transform_chunk(CELL_PERF_STATS, CHUNK, sql, raw, out)

    expected = expected_rows(CHUNK, cells, ues)
    table = pq.read_table(out.local_path(CHUNK.transformed_rel()))
    assert types(table.schema) == types(export.arrow_schema(CELL_PERF_STATS.data_columns))
    got = [tuple(r.values()) for r in table.to_pylist()]
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    assert (rec.rows, rec.hash) == checksum.chunk_hash_py(expected, CELL_PERF_STATS.data_columns)
    assert rec.stage == "transform" and rec.detail["inputs"] == {
        "cell_performance_data": len(cells),
        "ue_statistics_data": len(ues),
    }
    man = json.loads(out.get_bytes("cell_perf_stats/src1/NetPerf01/2026-03-02/p2.manifest.json"))
    assert man["table"] is None and (man["rows"], man["hash"]) == (rec.rows, rec.hash)
    assert [c["name"] for c in man["columns"]] == [c.name for c in CELL_PERF_STATS.data_columns]
    assert out.list() == ["cell_perf_stats/src1/NetPerf01/2026-03-02/p2.manifest.json", CHUNK.transformed_rel()]


def test_transform_between_s3_areas(aws_endpoint_url: str, tmp_path: Path) -> None:
    aws = AwsConfig(region="us-east-1", endpoint_url=aws_endpoint_url)
    bucket = f"tx-{uuid.uuid4().hex[:8]}"
    client("s3", aws).create_bucket(Bucket=bucket)
    raw, out = Area(f"s3://{bucket}/raw", aws), Area(f"s3://{bucket}/transformed", aws)
    cells, ues = sample(300, seed=5)
    export_raw(raw, CHUNK, cells, ues)
    rec = transform.transform_chunk(
        CELL_PERF_STATS, CHUNK, transform.load_transform_sql(SQL_DIR, "cell_perf_stats"), raw, out
    )
    expected = expected_rows(CHUNK, cells, ues)
    assert (rec.rows, rec.hash) == checksum.chunk_hash_py(expected, CELL_PERF_STATS.data_columns)
    assert rec.detail["file"] == f"s3://{bucket}/transformed/{CHUNK.transformed_rel()}"
    (tmp_path / "p.parquet").write_bytes(out.get_bytes(CHUNK.transformed_rel()))
    assert pq.read_table(tmp_path / "p.parquet").num_rows == len(expected)


def test_empty_chunk(tmp_path: Path) -> None:
    raw, out = Area(tmp_path / "raw"), Area(tmp_path / "out")
    export_raw(raw, CHUNK, [], [])
    rec = transform.transform_chunk(
        CELL_PERF_STATS, CHUNK, transform.load_transform_sql(SQL_DIR, "cell_perf_stats"), raw, out
    )
    assert (rec.rows, rec.hash) == (0, "0")
    schema = pq.read_table(out.local_path(CHUNK.transformed_rel())).schema
    assert types(schema) == types(export.arrow_schema(CELL_PERF_STATS.data_columns))


def test_sql_missing_a_column_names_file_and_column(tmp_path: Path) -> None:
    raw, out = Area(tmp_path / "raw"), Area(tmp_path / "out")
    export_raw(raw, CHUNK, *sample(10))
    sql = transform.load_transform_sql(SQL_DIR, "cell_perf_stats").replace("u.avg_cqi,", "u.avg_cqi AS AVG_CQI,")
    with pytest.raises(transform.TransformError, match=r"my\.sql .*'avg_cqi' is missing \(it has 'AVG_CQI'"):
        transform.transform_chunk(CELL_PERF_STATS, CHUNK, sql, raw, out, sql_name="my.sql")
    sql = "SELECT 'x' AS server_name, c.* FROM cell_performance_data c"
    with pytest.raises(transform.TransformError, match="'server_name' is added by the engine"):
        transform.transform_chunk(CELL_PERF_STATS, CHUNK, sql, raw, out)
    assert out.list() == []
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []


def test_missing_sql_file_and_missing_export(tmp_path: Path) -> None:
    with pytest.raises(transform.TransformError, match=r"no_such\.sql does not exist"):
        transform.load_transform_sql(tmp_path, "no_such")
    raw, out = Area(tmp_path / "raw"), Area(tmp_path / "out")
    cols = list(SOURCE_TABLES["cell_performance_data"])
    export.export_chunk(ListSource([]), CHUNK, "cell_performance_data", cols, None, "measured_at", "cell_id", raw)
    with pytest.raises(transform.TransformError, match="table ue_statistics_data is not exported"):
        transform.transform_chunk(CELL_PERF_STATS, CHUNK, "SELECT 1", raw, out)


def test_raw_file_disagreeing_with_manifest_is_refused(tmp_path: Path) -> None:
    raw, out = Area(tmp_path / "raw"), Area(tmp_path / "out")
    cells, ues = sample(50)
    export_raw(raw, CHUNK, cells, ues)
    other = Chunk(CHUNK.category, CHUNK.server, CHUNK.database, DAY, 3)
    export_raw(raw, other, cells[:10], ues[:10])
    # a raw file replaced behind the manifest's back (e.g. a half-finished re-export)
    raw.put_bytes(
        export.raw_rel(CHUNK, "ue_statistics_data"), raw.get_bytes(export.raw_rel(other, "ue_statistics_data"))
    )
    with pytest.raises(transform.TransformError, match="has 10 rows, its manifest says"):
        transform.transform_chunk(
            CELL_PERF_STATS, CHUNK, transform.load_transform_sql(SQL_DIR, "cell_perf_stats"), raw, out
        )
