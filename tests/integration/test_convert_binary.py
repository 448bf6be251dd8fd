"""DECOMPRESS (GZIP) and CAST(<binary> AS nvarchar) (UTF-16LE) → PL/pgSQL support functions (expr_binary.py), run
on the real PostgreSQL 15 against GZIP data made by Python's gzip module (RFC 1952/1951, the format T-SQL documents
for COMPRESS/DECOMPRESS: learn.microsoft.com/sql/t-sql/functions/decompress-transact-sql).

Before the fix DECOMPRESS stayed a call to a function that does not exist (the WideWorldImporters view
Website.VehicleTemperatures failed verification)."""

from __future__ import annotations

import gzip
import io
import random
import zlib
from collections.abc import Iterator

import psycopg
import pytest
from pg_scratch import scratch_database

from dbshift.convert import expr_binary, rules
from dbshift.convert.model import Catalog, SourceObject

DB = "convert_binary_test"


@pytest.fixture(scope="module")
def conn(postgres_dsn: str) -> Iterator[psycopg.Connection]:
    with scratch_database(postgres_dsn, DB, expr_binary.DECOMPRESS_SQL + ";\n" + expr_binary.UTF16LE_SQL) as connection:
        yield connection


def _samples() -> list[tuple[str, bytes]]:
    rnd = random.Random(6)
    text = ",".join(f'{{"t":{rnd.random():.2f},"s":"sensor {i % 7}"}}' for i in range(200)).encode("utf-16-le")
    return [
        ("empty", b""),
        ("one-byte", b"a"),
        ("repeats", b"abc" * 400),  # long back-references
        ("random", bytes(rnd.randrange(256) for _ in range(4000))),  # incompressible: stored blocks
        ("utf16-json", text),  # dynamic Huffman codes
    ]


@pytest.mark.parametrize("level", [0, 1, 9])
@pytest.mark.parametrize(("name", "data"), _samples(), ids=[s[0] for s in _samples()])
def test_decompress_inverts_gzip(conn, name: str, data: bytes, level: int) -> None:
    packed = gzip.compress(data, compresslevel=level)
    assert conn.execute("SELECT public.dbshift_decompress(%s)", (packed,)).fetchone()[0] == data


def test_decompress_reads_optional_gzip_header_fields_and_rejects_other_data(conn) -> None:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="sensor.json", mode="wb", fileobj=buffer, mtime=0) as f:  # FNAME set
        f.write(b"named member")
    row = conn.execute(
        "SELECT public.dbshift_decompress(%s), public.dbshift_decompress('\\x1234'::bytea), "
        "public.dbshift_decompress(%s), public.dbshift_decompress(NULL)",
        (buffer.getvalue(), gzip.compress(b"abcdef")[:-4] + b"\x00\x00\x00\x00"),  # wrong ISIZE
    ).fetchone()
    assert row == (b"named member", None, None, None)


def test_utf16le_bytes_to_text(conn) -> None:
    text = "Kühl \u22122.5 °C 𝄞"  # a non-BMP character is a surrogate pair in UTF-16
    assert conn.execute("SELECT public.dbshift_utf16le_text(%s)", (text.encode("utf-16-le"),)).fetchone()[0] == text


def test_view_with_cast_decompress_as_nvarchar(conn) -> None:
    # the WideWorldImporters view Website.VehicleTemperatures, on a table of the same shape
    objs = [
        SourceObject(
            "tests",
            "dbo",
            "Temps",
            "table",
            "CREATE TABLE dbo.Temps (ID bigint NOT NULL, IsCompressed bit NOT NULL, FullSensorData nvarchar(1000) "
            "NULL, CompressedSensorData varbinary(max) NULL)",
            "t.sql",
            1,
        ),
        SourceObject(
            "tests",
            "dbo",
            "vTemps",
            "view",
            """CREATE VIEW dbo.vTemps AS
SELECT t.ID,
       CASE WHEN t.IsCompressed <> 0 THEN CAST(DECOMPRESS(t.CompressedSensorData) AS nvarchar(1000))
            ELSE t.FullSensorData END AS FullSensorData
FROM dbo.Temps AS t""",
            "v.sql",
            1,
        ),
    ]
    catalog = Catalog()
    for obj in objs:
        rules.register(obj, catalog)
    table, view = (rules.convert_object(obj, catalog) for obj in objs)
    assert view.sql and "public.dbshift_utf16le_text(public.dbshift_decompress(" in view.sql
    assert not [i for i in view.items if i.severity != "info"], view.items
    sensor = '{"Recordings":[{"type":"Feature","properties":{"temperature":3.96}}]} °C'
    with conn.transaction(force_rollback=True):
        conn.execute("DROP FUNCTION public.dbshift_decompress(bytea), public.dbshift_utf16le_text(bytea)")
        conn.execute(table.sql)
        conn.execute(view.sql)  # creates the support functions itself
        conn.execute(
            "INSERT INTO temps VALUES (1, true, NULL, %s), (2, false, 'plain', NULL)",
            (gzip.compress(sensor.encode("utf-16-le")),),
        )
        rows = conn.execute("SELECT id, fullsensordata FROM vtemps ORDER BY id").fetchall()
    assert rows == [(1, sensor), (2, "plain")]


def test_cast_of_binary_to_varchar_stays_reported() -> None:
    objs = [
        SourceObject("tests", "dbo", "B", "table", "CREATE TABLE dbo.B (D varbinary(max))", "t.sql", 1),
        SourceObject(
            "tests", "dbo", "vB", "view",
            "CREATE VIEW dbo.vB AS SELECT CAST(DECOMPRESS(D) AS varchar(100)) AS s FROM dbo.B", "v.sql", 1,
        ),
    ]  # fmt: skip
    catalog = Catalog()
    for obj in objs:
        rules.register(obj, catalog)
    view = rules.convert_object(objs[1], catalog)
    assert any(i.severity == "error" and i.construct == "binary-to-text" for i in view.items), view.items


def test_computed_column_and_function_with_decompress(conn) -> None:
    # DECOMPRESS's documented example B (a computed column) needs an IMMUTABLE function; a function body gets the
    # support functions too (PL/pgSQL would only find a missing function when called)
    objs = [
        SourceObject(
            "tests",
            "dbo",
            "example_table",
            "table",
            "CREATE TABLE example_table (_id INT PRIMARY KEY IDENTITY, name NVARCHAR(MAX), info VARBINARY(MAX), "
            "info_json AS CAST(DECOMPRESS(info) AS NVARCHAR(MAX)))",
            "t.sql",
            1,
        ),
        SourceObject(
            "tests",
            "dbo",
            "fn_unpack",
            "function",
            "CREATE FUNCTION dbo.fn_unpack (@b varbinary(max)) RETURNS nvarchar(max) AS\n"
            "BEGIN\n    RETURN CAST(DECOMPRESS(@b) AS nvarchar(max));\nEND",
            "f.sql",
            1,
        ),
    ]
    catalog = Catalog()
    for obj in objs:
        rules.register(obj, catalog)
    converted = [rules.convert_object(obj, catalog) for obj in objs]
    packed = gzip.compress("héllo".encode("utf-16-le"))
    with conn.transaction(force_rollback=True):
        conn.execute("DROP FUNCTION public.dbshift_decompress(bytea), public.dbshift_utf16le_text(bytea)")
        for c in converted:
            assert c.sql, c.items
            conn.execute(c.sql)
            conn.execute("RESET search_path")
        conn.execute("INSERT INTO example_table (name, info) VALUES ('a', %s)", (packed,))
        assert conn.execute("SELECT info_json, fn_unpack(info) FROM example_table").fetchall() == [("héllo", "héllo")]


def test_decompress_agrees_with_gzip_on_damaged_data(conn) -> None:
    # damaged GZIP data (a bad code, length, NLEN, ISIZE or CRC32): NULL exactly where Python's gzip refuses it
    rnd = random.Random(3)
    members = [
        gzip.compress(("x" * rnd.randrange(1, 50) + "abc" * rnd.randrange(1, 90)).encode(), compresslevel=level)
        for level in (0, 1, 9)
        for _ in range(4)
    ]
    for _ in range(200):
        damaged = bytearray(rnd.choice(members))
        for _ in range(rnd.randrange(1, 4)):
            damaged[rnd.randrange(10, len(damaged))] = rnd.randrange(256)
        if rnd.random() < 0.3:
            damaged = damaged[: rnd.randrange(10, len(damaged))]
        try:
            expected: bytes | None = gzip.decompress(bytes(damaged))
        except (OSError, EOFError, zlib.error):
            expected = None
        got = conn.execute("SELECT public.dbshift_decompress(%s)", (bytes(damaged),)).fetchone()[0]
        assert got == expected, bytes(damaged).hex()
