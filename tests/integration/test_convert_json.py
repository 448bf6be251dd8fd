"""FOR JSON PATH subqueries, JSON_QUERY(x) and STRING_ESCAPE: converted, run on the real PostgreSQL 15 and compared
with the text SQL Server documents (learn.microsoft.com/sql/relational-databases/json/…: "Format nested JSON output
with PATH mode", "How FOR JSON escapes special characters and control characters", json-query-transact-sql).

Before the fix FOR JSON PATH was dropped by the PostgreSQL generator (the subquery returned its row, not JSON text)
and JSON_QUERY(x) re-formatted x as jsonb does (spaces, keys re-ordered)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from pg_scratch import scratch_database

from dbshift.convert import ddl, expr
from dbshift.convert.model import Catalog, Column, Context, SourceObject

DB = "convert_json_test"

SETUP = """
CREATE TABLE public.person (businessentityid integer PRIMARY KEY, firstname varchar(50) NOT NULL,
    lastname varchar(50) NOT NULL, title varchar(8), middlename varchar(50));
INSERT INTO public.person VALUES (1, 'Ken', 'Sanchez', NULL, 'J'), (2, 'Terri', 'Duffy', NULL, 'Lee'),
    (3, 'Roberto', 'Tamburello', NULL, NULL), (4, 'Rob', 'Walters', NULL, NULL), (5, 'Gail', 'Erickson', 'Ms.', 'A');
CREATE TABLE public.cities (cityid integer PRIMARY KEY, cityname varchar(50) NOT NULL, px numeric(9,4),
    py numeric(9,4), active boolean NOT NULL);
INSERT INTO public.cities VALUES (1, 'Bellevue', -122.1000, 47.6000, true), (2, 'A/B "x"', NULL, NULL, false);
"""


def _catalog() -> Catalog:
    catalog = Catalog()
    catalog.tables["dbo.person"] = {
        "businessentityid": Column("BusinessEntityID", "int", "integer"),
        "firstname": Column("FirstName", "nvarchar(50)", "varchar(50)"),
        "lastname": Column("LastName", "nvarchar(50)", "varchar(50)"),
        "title": Column("Title", "nvarchar(8)", "varchar(8)"),
        "middlename": Column("MiddleName", "nvarchar(50)", "varchar(50)"),
    }
    catalog.tables["dbo.cities"] = {
        "cityid": Column("CityID", "int", "integer"),
        "cityname": Column("CityName", "nvarchar(50)", "varchar(50)"),
        "px": Column("PX", "decimal(9,4)", "numeric(9,4)"),
        "py": Column("PY", "decimal(9,4)", "numeric(9,4)"),
        "active": Column("Active", "bit", "boolean"),
    }
    return catalog


@pytest.fixture(scope="module")
def conn(postgres_dsn: str) -> Iterator[psycopg.Connection]:
    with scratch_database(postgres_dsn, DB, SETUP) as connection:
        yield connection


def convert(tsql: str) -> tuple[str, Context]:
    ctx = Context(catalog=_catalog())
    return expr.convert_statement(tsql, ctx), ctx


def value(conn: psycopg.Connection, tsql: str) -> object:
    pg, ctx = convert(tsql)
    assert not [i for i in ctx.items if i.severity != "info"], ctx.items
    return conn.execute(pg).fetchone()[0]


def test_for_json_path_nests_dotted_aliases_and_leaves_nulls_out(conn) -> None:
    # "Format nested JSON output with PATH mode", example A (the same five rows): NULL values are left out, and
    # so is "Info" where both its values are NULL (Id 3 and 4); no whitespace in the text SQL Server returns.
    text = value(
        conn,
        """SELECT (SELECT BusinessEntityID As Id, FirstName, LastName, Title As 'Info.Title',
                          MiddleName As 'Info.MiddleName'
                   FROM Person ORDER BY BusinessEntityID FOR JSON PATH)""",
    )
    assert text == (
        '[{"Id":1,"FirstName":"Ken","LastName":"Sanchez","Info":{"MiddleName":"J"}},'
        '{"Id":2,"FirstName":"Terri","LastName":"Duffy","Info":{"MiddleName":"Lee"}},'
        '{"Id":3,"FirstName":"Roberto","LastName":"Tamburello"},'
        '{"Id":4,"FirstName":"Rob","LastName":"Walters"},'
        '{"Id":5,"FirstName":"Gail","LastName":"Erickson","Info":{"Title":"Ms.","MiddleName":"A"}}]'
    )


def test_for_json_path_order_include_null_values_and_no_rows(conn) -> None:
    text = value(
        conn,
        "SELECT (SELECT FirstName AS n, Title AS [x.t] FROM dbo.Person WHERE BusinessEntityID IN (1, 5) "
        "ORDER BY BusinessEntityID DESC FOR JSON PATH, INCLUDE_NULL_VALUES)",
    )
    assert text == '[{"n":"Gail","x":{"t":"Ms."}},{"n":"Ken","x":{"t":null}}]'
    # GROUP BY: one object per group
    text = value(
        conn,
        "SELECT (SELECT LastName AS l, COUNT(*) AS n FROM dbo.Person WHERE BusinessEntityID < 3 GROUP BY LastName "
        "ORDER BY LastName FOR JSON PATH)",
    )
    assert text == '[{"l":"Duffy","n":1},{"l":"Sanchez","n":1}]'
    # no rows: FOR JSON returns NULL
    assert value(conn, "SELECT (SELECT FirstName FROM dbo.Person WHERE BusinessEntityID = 99 FOR JSON PATH)") is None


def test_for_json_escapes_as_sql_server_documents(conn) -> None:
    # "How FOR JSON escapes special characters and control characters": " \ / and control characters, in names
    # and values (CHAR(0) left out: PostgreSQL text cannot hold it)
    text = value(conn, "SELECT (SELECT 'VALUE\\  /' + CHAR(10) + ' \"' AS [KEY\\/\"], CHAR(1) AS [1] FOR JSON PATH)")
    assert text == '[{"KEY\\\\\\/\\"":"VALUE\\\\  \\/\\n \\"","1":"\\u0001"}]'


def test_view_with_for_json_without_array_wrapper_per_row(conn) -> None:
    # the WideWorldImporters WebApi shape (a GeoJSON feature per row; here from numeric columns): the subquery
    # has no FROM and reads only the outer row, JSON_QUERY values are inserted as JSON, bit → true/false
    catalog = _catalog()
    obj = SourceObject(
        "tests",
        "dbo",
        "v_city_features",
        "view",
        """CREATE VIEW dbo.v_city_features AS
SELECT c.CityID,
       Location = JSON_QUERY((SELECT [type] = 'Feature',
                                     [geometry.type] = 'Point',
                                     [geometry.coordinates] = JSON_QUERY(CONCAT('[', c.PX, ',', c.PY, ']')),
                                     [properties.Name] = c.CityName,
                                     [properties.Active] = c.Active
                              FOR JSON PATH, WITHOUT_ARRAY_WRAPPER))
FROM dbo.Cities AS c""",
        "v.sql",
        1,
    )
    ddl.register(obj, catalog)
    converted = ddl.convert(obj, Context(catalog=catalog, obj=obj))
    assert converted.sql and not [i for i in converted.items if i.severity != "info"], converted.items
    with conn.transaction(force_rollback=True):
        conn.execute(converted.sql)
        rows = conn.execute("SELECT cityid, location FROM v_city_features WHERE cityid = 1").fetchall()
    assert rows == [
        (
            1,
            '{"type":"Feature","geometry":{"type":"Point","coordinates":[-122.1000,47.6000]},'
            '"properties":{"Name":"Bellevue","Active":true}}',
        )
    ]
    # (city 2 has no coordinates: CONCAT gives '[,]', which is not JSON — JSON_QUERY fails on it in SQL Server too)


def test_json_query_returns_the_fragment_as_written(conn) -> None:
    # JSON_QUERY(x): x itself when it is an object or an array (not re-formatted), NULL for a scalar (lax mode)
    assert value(conn, """SELECT JSON_QUERY('{"b":2,"a" :[1,2]}')""") == '{"b":2,"a" :[1,2]}'
    assert value(conn, "SELECT JSON_QUERY('1')") is None


def test_string_escape_json_escapes_the_slash(conn) -> None:
    # STRING_ESCAPE(…, 'json') escapes the solidus as \/ (string-escape-transact-sql)
    assert value(conn, "SELECT STRING_ESCAPE('a/b\"c', 'json')") == 'a\\/b\\"c'


def test_unsupported_for_json_forms_stay_reported() -> None:
    for tsql in (
        "SELECT (SELECT FirstName FROM dbo.Person FOR JSON PATH, ROOT('people'))",
        "SELECT (SELECT FirstName FROM dbo.Person FOR JSON AUTO)",
        "SELECT FirstName FROM dbo.Person FOR JSON PATH",  # not a subquery: T-SQL returns one JSON text
    ):
        _pg, ctx = convert(tsql)
        assert any(i.severity == "error" for i in ctx.items), (tsql, ctx.items)
