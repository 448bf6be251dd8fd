"""names.py (the one identifier rule) and types.py (T-SQL → PostgreSQL types). The types are also executed on
PostgreSQL by tests/integration/test_convert_ddl.py (case all-mapped-types)."""

from __future__ import annotations

import pytest

from dbshift.convert import names, types
from dbshift.convert.model import Catalog, Column


@pytest.mark.parametrize(
    ("tsql", "pg"),
    [
        ("[SalesOrderHeader]", "salesorderheader"),
        ('"CustomerID"', "customerid"),
        ("Name", "name"),
        ("[Order Details]", '"order details"'),
        ("[Order]", '"order"'),  # reserved word
        ("[User]", '"user"'),
        ("[Position]", '"position"'),  # col_name keyword
        ("[RowCount]", "rowcount"),  # not a PostgreSQL keyword
        ("[1stQuarter]", '"1stquarter"'),
        ("[a]]b]", '"a]b"'),  # escaped bracket
        ("[Ünïcode]", '"ünïcode"'),
        ('[say "hi"]', '"say ""hi"""'),
    ],
)
def test_ident_folds_and_quotes_only_when_needed(tsql: str, pg: str) -> None:
    assert names.ident(tsql) == pg


@pytest.mark.parametrize(
    ("schema", "pg"),
    [
        ("dbo", "public"),
        ("[dbo]", "public"),
        ("DBO", "public"),
        ("", "public"),
        ("Sales", "sales"),
        ("[Human Resources]", '"human resources"'),
    ],
)
def test_schema_rule(schema: str, pg: str) -> None:
    assert names.schema(schema) == pg


def test_qualified_and_split() -> None:
    assert names.qualified("dbo", "Order Details") == 'public."order details"'
    assert names.qualified("Sales", "[Order]") == 'sales."order"'
    assert names.split_qualified("[db].[Sales].[T.x]") == ["db", "Sales", "T.x"]
    assert names.split_schema_name("T") == ("dbo", "T")
    assert names.split_schema_name('"Sales"."T"', "x") == ("Sales", "T")


def test_fold_all_keeps_case_of_colliding_names() -> None:
    mapped, collided = names.fold_all(["Name", "NAME", "Id"])
    assert mapped == {"Name": '"Name"', "NAME": '"NAME"', "Id": "id"}
    assert collided == ["Name", "NAME"]


@pytest.mark.parametrize(
    ("table", "index", "pg"),
    [
        ("Customers", "PostalCode", "customers_postalcode"),  # index names are per schema in PostgreSQL
        ("Address", "IX_Address_City", "ix_address_city"),
        ("Order Details", "PK_Order_Details", "pk_order_details"),
        ("T", "x" * 70, "t_" + "x" * 61),
    ],
)
def test_index_name_unique_per_schema(table: str, index: str, pg: str) -> None:
    assert names.index_name(table, index) == pg


@pytest.mark.parametrize(
    ("tsql", "pg"),
    [
        ("int", "integer"),
        ("[int]", "integer"),
        ("tinyint", "smallint"),
        ("bit", "boolean"),
        ("money", "numeric(19,4)"),
        ("smallmoney", "numeric(10,4)"),
        ("datetime", "timestamp(3)"),
        ("datetime2", "timestamp(6)"),
        ("datetime2(7)", "timestamp(6)"),
        ("datetime2(2)", "timestamp(2)"),
        ("smalldatetime", "timestamp(0)"),
        ("datetimeoffset(7)", "timestamptz(6)"),
        ("uniqueidentifier", "uuid"),
        ("nvarchar(max)", "text"),
        ("nvarchar (50)", "varchar(50)"),
        ("varchar(MAX)", "text"),
        ("nchar(10)", "char(10)"),
        ("varbinary(max)", "bytea"),
        ("binary(16)", "bytea"),
        ("image", "bytea"),
        ("text", "text"),
        ("ntext", "text"),
        ("xml", "xml"),
        ("rowversion", "bytea"),
        ("timestamp", "bytea"),  # T-SQL timestamp is rowversion, not a date type
        ("hierarchyid", "varchar(4000)"),
        ("sysname", "varchar(128)"),
        ("decimal(18, 2)", "numeric(18,2)"),
        ("numeric", "numeric(18,0)"),
        ("float", "double precision"),
        ("float(24)", "real"),
        ("float(53)", "double precision"),
        ("real", "real"),
        ("time(7)", "time(6)"),
        ("date", "date"),
        ("sql_variant", "text"),
        ("geography", "text"),
    ],
)
def test_pg_type(tsql: str, pg: str) -> None:
    assert types.pg_type(tsql, Catalog()) == pg


def test_alias_types_become_qualified_domains() -> None:
    catalog = Catalog(alias_types={"dbo.name": "nvarchar(50)", "dbo.flag": "bit NOT NULL", "sales.code": "char(3)"})
    assert types.pg_type("[dbo].[Name]", catalog) == "public.name"  # never bare: pg_catalog.name would win
    assert types.pg_type("Name", catalog) == "public.name"
    assert types.pg_type("Sales.Code", catalog) == "sales.code"
    assert types.base_name("dbo.Flag", catalog) == "bit"
    assert types.is_bit("Flag", catalog)
    assert types.is_string("dbo.Name", catalog)
    assert not types.is_string("int", catalog)


def test_table_types_and_unknown_schema_types() -> None:
    catalog = Catalog(table_types={"dbo.orderlist": {"id": Column("id", "int", "integer")}})
    assert types.pg_type("dbo.OrderList", catalog) == "public.orderlist"
    assert types.pg_type("Custom.Thing", catalog) == "custom.thing"


def test_lossy_types_have_a_reason() -> None:
    for name in ("tinyint", "rowversion", "hierarchyid", "datetimeoffset", "sql_variant"):
        construct, message = types.LOSSY[name]
        assert construct.startswith("type-") and name.split("_")[0] in message


def test_parse_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="cannot read T-SQL type"):
        types.parse("")
