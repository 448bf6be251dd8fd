"""The estate's SQL Server sources over TDS: pymssql (FreeTDS) against the emulator's TDS listener."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from dbshift.datamove.model import Chunk
from dbshift.tsql.result import SqlError
from dbshift.tsql.tds import connect_tds

pytestmark = [pytest.mark.estate, pytest.mark.slow]


def connect(estate, database: str = "master", server: str = "src1"):
    return connect_tds(estate.tds_endpoints[server], estate.source_login, estate.source_password, database)


@pytest.fixture(scope="module")
def scratch(estate):
    """A database of this module's own on SRC2."""
    name = f"TdsTest_{uuid.uuid4().hex[:8]}"
    with connect(estate, server="src2") as conn:
        conn.query(f"CREATE DATABASE [{name}]")
    return name


def test_a_wrong_password_is_login_failed_18456(estate) -> None:
    with pytest.raises(SqlError) as err:
        connect_tds(estate.tds_endpoints["src1"], estate.source_login, estate.source_password + "x", "master")
    assert err.value.number == 18456
    assert f"Login failed for user '{estate.source_login}'" in str(err.value)


def test_every_type_and_null_arrives_as_python_values(estate, scratch) -> None:
    with connect(estate, scratch, "src2") as conn:
        conn.query(
            "CREATE TABLE dbo.types (i INT NULL, b BIT NULL, f FLOAT NULL, d DECIMAL(12,3) NULL, "
            "v VARCHAR(10) NULL, nv NVARCHAR(20) NULL, d2 DATETIME2(3) NULL, da DATE NULL, dt DATETIME NULL, "
            "bi BIGINT NULL)"
        )
        conn.query(
            "INSERT INTO dbo.types VALUES (-7, 1, 1.25, -12.345, 'abc', N'h\u00e9llo \u20ac', "
            "'2026-11-01T10:11:12.345', '2026-11-02', '2026-11-03 01:02:03', 9000000000)"
        )
        conn.query("INSERT INTO dbo.types VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
        cols, rows = conn.query("SELECT * FROM dbo.types ORDER BY i DESC")
        assert cols == ["i", "b", "f", "d", "v", "nv", "d2", "da", "dt", "bi"]
        assert rows[0] == (
            -7,
            True,
            1.25,
            Decimal("-12.345"),
            "abc",
            "h\u00e9llo \u20ac",
            dt.datetime(2026, 11, 1, 10, 11, 12, 345000),
            dt.date(2026, 11, 2),
            dt.datetime(2026, 11, 3, 1, 2, 3),
            9000000000,
        )
        assert rows[1] == (None,) * 10
        assert conn.columns("SELECT * FROM dbo.types") == [
            ("i", "int"),
            ("b", "bit"),
            ("f", "float"),
            ("d", "decimal(12,3)"),
            ("v", "varchar(10)"),
            ("nv", "nvarchar(20)"),
            ("d2", "datetime2(3)"),
            ("da", "date"),
            ("dt", "datetime"),
            ("bi", "bigint"),
        ]


def test_describing_a_missing_table_raises_its_error(estate, scratch) -> None:
    with connect(estate, scratch, "src2") as conn:
        with pytest.raises(SqlError) as err:
            conn.columns("SELECT * FROM dbo.no_such_table")
        assert err.value.number == 208 and "no_such_table" in str(err.value)


def test_an_error_in_a_batch_surfaces_with_its_number(estate, scratch) -> None:
    with connect(estate, scratch, "src2") as conn:
        with pytest.raises(SqlError) as err:
            conn.query("SELECT 1 AS a; SELECT * FROM dbo.no_such_table")
        assert err.value.number == 208
        assert "Invalid object name 'dbo.no_such_table'" in str(err.value)
        assert conn.query("SELECT 2 AS a") == (["a"], [(2,)])  # the connection goes on


def test_a_200k_row_stream_arrives_complete_and_in_order(estate, scratch) -> None:
    n = 200_000
    with connect(estate, scratch, "src2") as conn:
        conn.query("CREATE TABLE dbo.big (k INT NOT NULL PRIMARY KEY, label NVARCHAR(20) NULL)")
        # 1000 rows, then doubled by INSERT ... SELECT
        values = ",".join(f"({k}, N'row {k}')" for k in range(1, 1001))
        conn.query(f"INSERT INTO dbo.big (k, label) VALUES {values}")
        for step in (1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000):
            conn.query(f"INSERT INTO dbo.big (k, label) SELECT k + {step}, label FROM dbo.big WHERE k + {step} <= {n}")
        seen = 0
        batches = 0
        for batch in conn.stream("SELECT k, label FROM dbo.big ORDER BY k", batch_rows=30_000):
            batches += 1
            assert len(batch) <= 30_000
            assert [r[0] for r in batch] == list(range(seen + 1, seen + len(batch) + 1))
            seen += len(batch)
        assert seen == n and batches == 7
        # leaving a stream early cancels the rest (ATTENTION) and the connection stays usable
        for batch in conn.stream("SELECT k FROM dbo.big ORDER BY k", batch_rows=1000):
            assert batch[0] == (1,)
            break
        assert conn.query("SELECT COUNT(*) AS n FROM dbo.big") == (["n"], [(n,)])


def test_the_sample_tables_exist_on_both_sources(estate) -> None:
    for server in ("src1", "src2"):
        for db in ("NetPerf01", "NetPerf02"):
            with connect(estate, db, server) as conn:
                _, [(cells, lo, hi)] = conn.query(
                    "SELECT COUNT(*), MIN(measured_at), MAX(measured_at) FROM dbo.cell_performance_data"
                )
                _, [(ue,)] = conn.query("SELECT COUNT(*) FROM dbo.ue_statistics_data")
                _, [(orphans,)] = conn.query(
                    "SELECT COUNT(*) FROM dbo.ue_statistics_data u LEFT JOIN dbo.cell_performance_data c "
                    "ON c.cell_id = u.cell_id AND c.measured_at = u.measured_at WHERE c.cell_id IS NULL"
                )
                assert cells == 2000
                assert 0.9 * cells < ue < cells and orphans == 0
                assert lo == dt.datetime(2026, 11, 1)
                assert hi < dt.datetime(2026, 11, 3)
                # a datamove chunk predicate (T-SQL literals with 'T' and microseconds) selects one day
                day = Chunk("cell_perf_stats", server, db, dt.date(2026, 11, 1), 0)
                _, [(in_day,)] = conn.query(
                    "SELECT COUNT(*) FROM dbo.cell_performance_data WHERE "
                    + day.source_predicate("measured_at", "cell_id")
                )
                _, [(direct,)] = conn.query(
                    "SELECT COUNT(*) FROM dbo.cell_performance_data WHERE measured_at < '2026-11-02'"
                )
                assert in_day == direct and 0 < in_day < cells
                _, [(nulls, blanks)] = conn.query(
                    "SELECT SUM(CASE WHEN throughput_mbps IS NULL THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN site_code = '' THEN 1 ELSE 0 END) FROM dbo.cell_performance_data"
                )
                assert nulls > 0 and blanks > 0


def test_the_generator_is_idempotent_and_deterministic(estate, scratch) -> None:
    call = (
        f"EXEC master.emulator.generate_netperf_sample @database = N'{scratch}', @rows_per_table = 5000, "
        "@start_date = '2026-11-01', @seed = 7, @days = 1"
    )
    digest = "SELECT COUNT(*), SUM(cell_id), SUM(throughput_mbps), SUM(dropped_calls) FROM dbo.cell_performance_data"
    with connect(estate, "master", "src2") as conn:
        _, first = conn.query(call)
        assert {(r[1], r[3]) for r in first} == {("dbo.cell_performance_data", 1), ("dbo.ue_statistics_data", 1)}
        with connect(estate, scratch, "src2") as db:
            before = db.query(digest)
        _, again = conn.query(call)
        assert [r[2] for r in again] == [r[2] for r in first] and {r[3] for r in again} == {0}
        with connect(estate, scratch, "src2") as db:
            assert db.query(digest) == before
            assert before[1][0][0] == 5000
