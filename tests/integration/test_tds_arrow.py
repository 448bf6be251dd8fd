"""Bulk reads into Arrow (arrow-odbc over FreeTDS's ODBC driver) against the emulator's TDS listener,
held to the pymssql path: the same values, the same export hash, errors with SQL Server's numbers."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dbshift.datamove import export
from dbshift.datamove.area import Area
from dbshift.datamove.model import Chunk
from dbshift.tsql import tds
from dbshift.tsql.result import SqlError
from dbshift.tsql.tds import TdsConnection, connect_tds

pytestmark = [pytest.mark.estate, pytest.mark.slow]
LONG = "x\u00e9" * 2000  # 4,000 characters, 6,000 bytes of UTF-8


@pytest.fixture(autouse=True)
def _need_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tds.ODBC_DRIVER_ENV, raising=False)
    if tds.odbc_driver() is None:
        pytest.fail("no ODBC driver for SQL Server: install FreeTDS's (Debian: tdsodbc unixodbc); .ci/run does")


def connect(estate, database: str) -> TdsConnection:
    return connect_tds(estate.tds_endpoints["src2"], estate.source_login, estate.source_password, database)


@pytest.fixture(scope="module")
def scratch(estate) -> str:
    name = f"ArrowTest_{uuid.uuid4().hex[:8]}"
    with connect(estate, "master") as conn:
        conn.query(f"CREATE DATABASE [{name}]")
    with connect(estate, name) as conn:
        conn.query(
            "CREATE TABLE dbo.types (i INT NULL, b BIT NULL, f FLOAT NULL, r REAL NULL, d DECIMAL(12,3) NULL, "
            "m MONEY NULL, v VARCHAR(10) NULL, nv NVARCHAR(20) NULL, big NVARCHAR(4000) NULL, d2 DATETIME2(3) NULL, "
            "da DATE NULL, dt DATETIME NULL, bi BIGINT NULL, ti TINYINT NULL, d7 DATETIME2(7) NULL)"
        )
        conn.query(
            "INSERT INTO dbo.types VALUES (-7, 1, 1.25, 0.1, -12.345, 922337203685477.5807, 'abc', "
            f"N'h\u00e9llo \u20ac', N'{LONG}', '2026-11-01T10:11:12.345', '2026-11-02', "
            "'2026-11-03 01:02:03.997', 9000000000, 255, '2026-11-01T10:11:12.1234567')"
        )
        conn.query(f"INSERT INTO dbo.types VALUES ({', '.join(['NULL'] * 15)})")
        conn.query(
            "INSERT INTO dbo.types VALUES (0, 0, -0.0, -3.5, 0, -0.01, '', N'', N'', '0001-01-01', '9999-12-31', "
            "'1753-01-01', -9223372036854775808, 0, '2026-11-01T23:59:59.9999999')"
        )
    return name


def both_paths(conn: TdsConnection, sql: str, schema: pa.Schema, columns) -> tuple[pa.Table, pa.Table]:
    batches = conn.stream_arrow(sql, schema, batch_rows=2)
    assert batches is not None
    arrow = pa.Table.from_batches(list(batches), schema=schema)
    rows = [r for batch in conn.stream(sql) for r in batch]
    return arrow, pa.Table.from_batches([export._to_batch(rows, columns, schema)], schema=schema)


def test_every_type_and_null_equal_to_the_pymssql_path(estate, scratch) -> None:
    with connect(estate, scratch) as conn:
        columns = export.source_columns(conn, "types")
        schema = export.arrow_schema(columns)
        arrow, tuples = both_paths(conn, "SELECT * FROM dbo.types ORDER BY bi DESC", schema, columns)
        assert arrow.num_rows == 3
        assert arrow.to_pylist() == tuples.to_pylist()
        first = arrow.to_pylist()[0]
        assert first["nv"] == "h\u00e9llo \u20ac" and first["big"] == LONG  # past FreeTDS's 4 KiB default
        assert first["d2"] == dt.datetime(2026, 11, 1, 10, 11, 12, 345000)
        assert first["d7"] == dt.datetime(2026, 11, 1, 10, 11, 12, 123456)  # 100 ns ticks cut to Arrow's us
        assert arrow.to_pylist()[2] == dict.fromkeys(schema.names)  # NULLs sort last in DESC order


def test_export_hash_and_file_are_the_same_on_both_paths(
    estate, scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = dt.date(2026, 11, 1)
    chunk = Chunk("cell_perf_stats", "src2", "NetPerf01", day, 0)
    out = {}
    for label, driver in (("odbc", None), ("pymssql", "")):
        if driver is None:
            monkeypatch.delenv(tds.ODBC_DRIVER_ENV, raising=False)
        else:
            monkeypatch.setenv(tds.ODBC_DRIVER_ENV, driver)
        with connect(estate, "NetPerf01") as conn:
            assert (conn.stream_arrow("SELECT 1 AS one", None) is None) == (label == "pymssql")
            columns = export.source_columns(conn, "cell_performance_data")
            raw = Area(tmp_path / label)
            record = export.export_chunk(
                conn,
                chunk,
                "cell_performance_data",
                columns,
                "site_code <> 'S0003'",
                "measured_at",
                "cell_id",
                raw,
                batch_rows=300,
            )
            out[label] = (
                record.rows,
                record.hash,
                pq.read_table(raw.local_path(export.raw_rel(chunk, "cell_performance_data"))),
            )
    assert out["odbc"][0] > 300  # several batches
    assert out["odbc"][:2] == out["pymssql"][:2]
    assert out["odbc"][2].equals(out["pymssql"][2])


def test_a_server_error_has_its_number_and_the_connection_goes_on(estate, scratch) -> None:
    with connect(estate, scratch) as conn:
        with pytest.raises(SqlError) as err:
            list(conn.stream_arrow("SELECT * FROM dbo.no_such_table", None) or [])
        assert err.value.number == 208
        assert str(err.value).count("Invalid object name 'dbo.no_such_table'") == 1
        assert "[FreeTDS]" not in str(err.value)
        # leaving a read early, then reading again on the same connection
        first = next(iter(conn.stream_arrow("SELECT i FROM dbo.types", None, batch_rows=1) or []))
        assert first.num_rows == 1
        again = pa.Table.from_batches(list(conn.stream_arrow("SELECT i FROM dbo.types ORDER BY i", None) or []))
        assert again.column("i").to_pylist() == [None, -7, 0]


def test_a_wrong_password_on_the_odbc_login_is_18456(estate, scratch) -> None:
    with connect(estate, scratch) as conn:
        wrong = TdsConnection(conn._conn, conn.where, (estate.source_login, estate.source_password + "x", scratch))
        with pytest.raises(SqlError) as err:
            list(wrong.stream_arrow("SELECT 1 AS one", None) or [])
        assert err.value.number == 18456
        assert estate.source_password not in str(err.value)
        # a login FreeTDS would need ODBC's {braces} for is left to pymssql
        braced = TdsConnection(conn._conn, conn.where, (estate.source_login, estate.source_password + ";x", scratch))
        assert braced.stream_arrow("SELECT 1 AS one", None) is None


def test_the_driver_comes_from_odbcinst_or_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODBCSYSINI", str(tmp_path))
    assert tds.odbc_driver() is None  # no odbcinst.ini there
    (tmp_path / "odbcinst.ini").write_text("[FreeTDS]\nDriver=libtdsodbc.so\n")
    assert tds.odbc_driver() == "FreeTDS"
    monkeypatch.setenv(tds.ODBC_DRIVER_ENV, "ODBC Driver 18 for SQL Server")
    assert tds.odbc_driver() == "ODBC Driver 18 for SQL Server"
    monkeypatch.setenv(tds.ODBC_DRIVER_ENV, "")
    assert tds.odbc_driver() is None


def test_a_result_with_an_unbounded_column_goes_through_pymssql_whole(estate, scratch) -> None:
    # arrow-odbc would need a buffer limit for NVARCHAR(MAX) and cuts longer values silently: not used then
    long = "y" * (2 << 20)
    with connect(estate, scratch) as conn:
        conn.query("CREATE TABLE dbo.wide (k INT NOT NULL, doc NVARCHAR(MAX) NULL, x XML NULL, v VARCHAR(20) NULL)")
        conn.query(f"INSERT INTO dbo.wide VALUES (1, N'{long}', NULL, 'v')")
        assert conn.stream_arrow("SELECT k, doc FROM dbo.wide", None) is None
        assert conn.stream_arrow("SELECT k, x FROM dbo.wide", None) is None
        bounded = conn.stream_arrow("SELECT k, v FROM dbo.wide", None)
        assert bounded is not None and pa.Table.from_batches(list(bounded)).to_pylist() == [{"k": 1, "v": "v"}]
        # the export's reader takes the pymssql path for it and gets the whole value
        columns = [c for c in export.source_columns(conn, "wide") if c.name in ("k", "doc")]
        got: list[pa.RecordBatch] = []
        export._read_batches(conn, "SELECT k, doc FROM dbo.wide", columns, 10, got.append)
        assert pa.Table.from_batches(got).to_pylist() == [{"k": 1, "doc": long}]


def test_full_width_text_arrives_whole(estate, scratch) -> None:
    # nvarchar(n) counts UTF-16 code units; in UTF-8 a character takes up to 4 bytes: no value may be cut
    values = ["\u20ac" * 4, "\U0001f600" * 2, "\u00e9" * 4]  # 12, 8 and 8 bytes in 4 code units
    with connect(estate, scratch) as conn:
        conn.query("CREATE TABLE dbo.full_width (k INT NOT NULL, s NVARCHAR(4) NULL)")
        conn.query("INSERT INTO dbo.full_width VALUES " + ", ".join(f"({i}, N'{v}')" for i, v in enumerate(values)))
        batches = conn.stream_arrow("SELECT s FROM dbo.full_width ORDER BY k", pa.schema([("s", pa.string())]))
        assert batches is not None
        assert pa.Table.from_batches(list(batches)).column("s").to_pylist() == values
