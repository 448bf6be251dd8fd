"""Import (COPY per chunk with its checkpoint in one transaction) and finish, against the estate's PostgreSQL.

Each test works on a category and a checkpoint schema of its own (random names), created from the
shipped sql/cell_perf_stats.postgres.sql with the table names replaced, and dropped afterwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dbshift.datamove import checkpoints, checksum, finish, load
from dbshift.datamove.area import Area
from dbshift.datamove.model import CELL_PERF_STATS, Category, Chunk

pytestmark = pytest.mark.estate

SHIPPED_DDL = Path(load.__file__).parent / "sql" / "cell_perf_stats.postgres.sql"
DAY = dt.date(2026, 11, 1)
SITES = ["", None, 'a,"b"', "line\nbreak", "é\x1f|", "\\N", "NULL", "plain"]
FLOATS = [None, 0.1 + 0.2, -0.0, 1e20, 123456.789, -1.5e-7, 42.0]


@dataclasses.dataclass
class Target:
    dsn: str
    category: Category
    schema: str  # checkpoint schema
    transforms_dir: Path
    area: Area

    def conn(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn)

    def save_plan(self, chunks: list[Chunk]) -> None:
        with self.conn() as c:
            checkpoints.save_plan(c, self.category.name, chunks, schema=self.schema)
            c.commit()

    def stage_rows(self, where: str = "true") -> int:
        with self.conn() as c:
            return c.execute(f"SELECT count(*) FROM stage.{self.category.name} WHERE {where}").fetchone()[0]

    def done(self) -> dict[str, object]:
        with self.conn() as c:
            return checkpoints.done_map(c, self.category.name, "import", schema=self.schema)

    def import_(self, chunks: list[Chunk], **kw) -> list:
        return load.import_chunks(self.dsn, self.category, chunks, self.area, checkpoint_schema=self.schema, **kw)


@pytest.fixture
def target(estate, tmp_path: Path) -> Iterator[Target]:
    name = f"t_load_{uuid.uuid4().hex[:8]}"
    schema = f"t_load_ckpt_{uuid.uuid4().hex[:8]}"
    tdir = tmp_path / "transforms"
    tdir.mkdir()
    (tdir / f"{name}.postgres.sql").write_text(SHIPPED_DDL.read_text().replace("cell_perf_stats", name))
    category = dataclasses.replace(CELL_PERF_STATS, name=name)
    with psycopg.connect(estate.postgres_dsn) as c:
        checkpoints.ensure_schema(c, schema=schema)
        load.apply_target_ddl(c, tdir, category)
    try:
        yield Target(estate.postgres_dsn, category, schema, tdir, Area(tmp_path / "transformed"))
    finally:
        with psycopg.connect(estate.postgres_dsn, autocommit=True) as c:
            c.execute(f"DROP TABLE IF EXISTS stage.{name}, public.{name}, public.{name}_new")
            c.execute(f"DROP PROCEDURE IF EXISTS stage.stage_ctas_null_upd_{name}()")
            c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def chunk_rows(chunk: Chunk, per_cell: int) -> list[tuple]:
    """Rows of the chunk (cells [split_lo, split_hi)) with awkward values: CSV quoting, NULL vs '', -0.0."""
    rows = []
    for cell in range(chunk.split_lo, chunk.split_hi):
        for s in range(per_cell):
            i = cell * per_cell + s
            rows.append(
                (
                    chunk.server,
                    chunk.database,
                    cell,
                    dt.datetime.combine(chunk.day, dt.time()) + dt.timedelta(seconds=s * 7, microseconds=i % 1000),
                    SITES[i % len(SITES)],
                    FLOATS[i % len(FLOATS)],
                    round(i * 0.001, 3),
                    None if i % 11 == 0 else i % 50,
                    i % 500,
                    FLOATS[(i + 3) % len(FLOATS)],
                    -(i % 20),
                )
            )
    return rows


def arrow_table(rows: list[tuple], category: Category) -> pa.Table:
    types = {"text": pa.string(), "int": pa.int32(), "float": pa.float64(), "timestamp": pa.timestamp("us")}
    cols = category.data_columns
    return pa.table(
        {c.name: pa.array([r[i] for r in rows], types[c.kind]) for i, c in enumerate(cols)},
    )


def write_chunk(
    area: Area, category: Category, chunk: Chunk, rows: list[tuple], row_group_size: int | None = None
) -> tuple[int, str]:
    """The chunk's transformed Parquet + manifest, as transform writes them; hash by checksum's Python form."""
    buf = io.BytesIO()
    pq.write_table(arrow_table(rows, category), buf, row_group_size=row_group_size)
    n, h = checksum.chunk_hash_py(rows, category.data_columns)
    area.put_bytes(chunk.transformed_rel(), buf.getvalue())
    doc = {"chunk_id": chunk.chunk_id, "table": None, "rows": n, "hash": h, "bytes": buf.tell(), "columns": []}
    area.put_bytes(load.manifest_rel(chunk), json.dumps(doc).encode())
    return n, h


def make_chunks(t: Target, n: int, cells: int = 10, per_cell: int = 20, server: str = "SRC1") -> dict[Chunk, tuple]:
    out = {}
    for part in range(n):
        c = Chunk(t.category.name, server, "NetPerf01", DAY, part, part * cells, (part + 1) * cells)
        out[c] = write_chunk(t.area, t.category, c, chunk_rows(c, per_cell))
    return out


def pg_hash(t: Target, table: str, chunk: Chunk) -> tuple[int, str]:
    q = checksum.chunk_hash_sql(
        t.category.data_columns, "postgres", table, where=chunk.target_predicate("measured_at", "cell_id")
    )
    with t.conn() as c:
        n, h = c.execute(q.encode()).fetchone()
    return n, checksum.normalize(h)


def test_import_twice_loads_each_chunk_once_with_exact_values(target: Target) -> None:
    chunks = make_chunks(target, 3)
    target.save_plan(list(chunks))
    units: list[tuple[int, int]] = []
    after: list[str] = []

    class Bar:
        def unit_done(self, rows: int = 0, nbytes: int = 0) -> None:
            units.append((rows, nbytes))

    recs = target.import_(list(chunks), progress=Bar(), after_chunk=after.append)

    assert sorted(r.chunk_id for r in recs) == sorted(c.chunk_id for c in chunks)
    assert sorted(after) == sorted(c.chunk_id for c in chunks)
    assert sum(u[0] for u in units) == sum(n for n, _ in chunks.values())
    done = target.done()
    for c, (n, h) in chunks.items():
        # PostgreSQL's hash of what landed equals the Python hash of what was written: the CSV path
        # kept NULL apart from '', quotes, newlines, -0.0 and microseconds exactly.
        assert pg_hash(target, f"stage.{target.category.name}", c) == (n, h)
        assert (done[c.chunk_id].rows, done[c.chunk_id].hash) == (n, h)

    total = target.stage_rows()
    assert target.import_(list(chunks)) == []  # all checkpointed: nothing loads again
    assert target.stage_rows() == total == sum(n for n, _ in chunks.values())


def _corrupt_row_group(data: bytes, rg: int) -> bytes:
    """Overwrite the page headers of row group `rg` so reading fails there, not at open."""
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    out = bytearray(data)
    for i in range(meta.num_columns):
        col = meta.row_group(rg).column(i)
        off = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
        out[off : off + 24] = b"\xff" * 24
    return bytes(out)


def test_corrupt_file_midway_leaves_neither_rows_nor_checkpoint(target: Target) -> None:
    good = Chunk(target.category.name, "SRC1", "NetPerf01", DAY, 0, 0, 10)
    bad = Chunk(target.category.name, "SRC1", "NetPerf01", DAY, 1, 1000, 1070)
    write_chunk(target.area, target.category, good, chunk_rows(good, 20))
    # More rows than one COPY batch, the first row group exactly one batch: the COPY has already
    # received a batch of the chunk when reading the second row group fails.
    bad_rows = chunk_rows(bad, 1000)
    n_bad, _ = write_chunk(target.area, target.category, bad, bad_rows, row_group_size=load.BATCH_ROWS)
    assert n_bad > load.BATCH_ROWS
    rel = bad.transformed_rel()
    intact = target.area.get_bytes(rel)
    target.area.put_bytes(rel, _corrupt_row_group(intact, 1))
    target.save_plan([good, bad])

    with pytest.raises(load.LoadError) as err:
        target.import_([good, bad])

    msg = str(err.value)
    assert bad.chunk_id in msg and "failed midway" in msg and good.chunk_id not in msg
    assert target.stage_rows("cell_id >= 1000") == 0
    assert set(target.done()) == {good.chunk_id}  # the good chunk committed on its own
    assert target.stage_rows() == 200

    target.area.put_bytes(rel, intact)  # transform re-run: the file is whole again
    recs = target.import_([good, bad])
    assert [r.chunk_id for r in recs] == [bad.chunk_id]
    assert target.stage_rows("cell_id >= 1000") == n_bad


def test_row_count_not_matching_manifest_rolls_back(target: Target) -> None:
    chunks = make_chunks(target, 2)
    target.save_plan(list(chunks))
    wrong = list(chunks)[1]
    rel = load.manifest_rel(wrong)
    doc = json.loads(target.area.get_bytes(rel))
    doc["rows"] += 1
    target.area.put_bytes(rel, json.dumps(doc).encode())

    with pytest.raises(load.LoadError) as err:
        target.import_(list(chunks), parallelism=1)

    assert wrong.chunk_id in str(err.value) and "manifest" in str(err.value)
    assert set(target.done()) == {next(iter(chunks)).chunk_id}
    assert target.stage_rows(f"cell_id >= {wrong.split_lo}") == 0


def test_two_importers_at_once_load_each_chunk_once(target: Target) -> None:
    chunks = make_chunks(target, 8, cells=5, per_cell=200)
    target.save_plan(list(chunks))
    start = threading.Barrier(2)
    results: list[list] = [[], []]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = target.import_(list(chunks), parallelism=2)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    assert not errors
    a, b = ({r.chunk_id for r in res} for res in results)
    assert not a & b  # no chunk loaded by both
    assert a | b == {c.chunk_id for c in chunks}
    total = sum(n for n, _ in chunks.values())
    with target.conn() as c:
        rows, keys = c.execute(
            f"SELECT count(*), count(DISTINCT (server_name, database_name, cell_id, measured_at)) "
            f"FROM stage.{target.category.name}"
        ).fetchone()
    assert rows == keys == total


def test_fresh_truncate_then_import_loads_again(target: Target) -> None:
    chunks = make_chunks(target, 2)
    target.save_plan(list(chunks))
    target.import_(list(chunks))
    with target.conn() as c:  # what job_mode=fresh does for the import stage, in one transaction
        checkpoints.reset(c, target.category.name, ["import"], schema=target.schema)
        load.truncate_stage(c, target.category)
        c.commit()
    assert target.stage_rows() == 0
    assert len(target.import_(list(chunks))) == 2
    assert target.stage_rows() == sum(n for n, _ in chunks.values())


def test_target_ddl_is_idempotent_and_missing_file_is_named(target: Target, tmp_path: Path) -> None:
    with target.conn() as c:
        load.apply_target_ddl(c, target.transforms_dir, target.category)  # second time: no error
        with pytest.raises(Exception, match=r"nope\.postgres\.sql"):
            load.apply_target_ddl(c, tmp_path, "nope")


def test_finish_refuses_until_every_chunk_is_imported_then_publishes(target: Target) -> None:
    chunks = make_chunks(target, 3)
    plan = list(chunks)
    target.save_plan(plan)
    target.import_(plan[:1])
    name = target.category.name

    with target.conn() as c, pytest.raises(Exception) as err:
        finish.finish(c, name, checkpoint_schema=target.schema)
    assert plan[1].chunk_id in str(err.value) and plan[2].chunk_id in str(err.value)
    with target.conn() as c:
        assert c.execute(f"SELECT count(*) FROM public.{name}").fetchone()[0] == 0

    target.import_(plan)
    with target.conn() as c:
        result = finish.finish(c, name, checkpoint_schema=target.schema)
    total = sum(n for n, _ in chunks.values())
    assert result.rows == total
    for ch, expected in chunks.items():
        assert pg_hash(target, f"public.{name}", ch) == expected
    with target.conn() as c:
        first = c.execute(
            f"SELECT min(migrated_at), max(migrated_at), count(migrated_at) FROM public.{name}"
        ).fetchone()
        pk = c.execute(
            "SELECT count(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE i.indisprimary AND t.relname = %s AND t.relnamespace = 'public'::regnamespace",
            (name,),
        ).fetchone()[0]
    assert first[2] == total and pk == 1

    with target.conn() as c:  # re-run: the same final table, rows keep their migrated_at
        assert finish.finish(c, name, checkpoint_schema=target.schema).rows == total
        again = c.execute(
            f"SELECT min(migrated_at), max(migrated_at), count(migrated_at) FROM public.{name}"
        ).fetchone()
    assert again == first


def test_finish_rolls_back_when_stage_holds_unaccounted_rows(target: Target) -> None:
    chunks = make_chunks(target, 1)
    target.save_plan(list(chunks))
    target.import_(list(chunks))
    name = target.category.name
    with target.conn() as c:  # a row no checkpoint accounts for (a stage not truncated for a fresh run)
        c.execute(
            f"INSERT INTO stage.{name} (server_name, database_name, cell_id, measured_at) "
            "VALUES ('SRC9', 'X', 1, '2026-11-01 00:00:00')"
        )
        c.commit()
        with pytest.raises(Exception, match="no checkpoint knows of"):
            finish.finish(c, name, checkpoint_schema=target.schema)
        assert c.execute(f"SELECT count(*) FROM public.{name}").fetchone()[0] == 0


def test_glue_load_job_imports_from_s3(target: Target, estate) -> None:
    from dbshift.aws.clients import AwsConfig, client
    from dbshift.datamove.glue import load_job

    aws = AwsConfig(endpoint_url=estate.aws_endpoint_url)
    bucket = f"t-load-{uuid.uuid4().hex[:8]}"
    client("s3", aws).create_bucket(Bucket=bucket)
    target.area = Area(f"s3://{bucket}/transformed", aws)
    chunks = make_chunks(target, 2)
    target.save_plan(list(chunks))

    recs = load_job.run_load(
        target.dsn,
        target.category,
        list(chunks),
        f"s3://{bucket}/transformed",
        aws=aws,
        checkpoint_schema=target.schema,
    )

    assert sorted((r.chunk_id, r.rows, r.hash) for r in recs) == sorted(
        (c.chunk_id, n, h) for c, (n, h) in chunks.items()
    )
    for c, expected in chunks.items():
        assert pg_hash(target, f"stage.{target.category.name}", c) == expected


def test_run_stopped_after_a_commit_resumes_without_reloading(target: Target) -> None:
    chunks = make_chunks(target, 3)
    target.save_plan(list(chunks))

    class Killed(Exception):
        pass

    def kill(chunk_id: str) -> None:
        raise Killed(chunk_id)

    with pytest.raises(Killed) as err:
        target.import_(list(chunks), parallelism=1, after_chunk=kill)

    first = str(err.value)
    assert set(target.done()) == {first}  # committed before the hook ran; nothing after it started
    recs = target.import_(list(chunks))
    assert sorted(r.chunk_id for r in recs) == sorted(c.chunk_id for c in chunks if c.chunk_id != first)
    assert target.stage_rows() == sum(n for n, _ in chunks.values())
