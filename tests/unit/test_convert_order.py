"""order.py: dependency order from converters' depends_on and from names found in the T-SQL source."""

from __future__ import annotations

from dbshift.convert.model import Converted, SourceObject
from dbshift.convert.order import dependencies, order, references


def conv(typ: str, schema: str, name: str, text: str, parent: str | None = None, depends_on=()) -> Converted:
    obj = SourceObject("db", schema, name, typ, text, "t.sql", 1, parent)
    return Converted(obj, f"-- {name}", depends_on=set(depends_on))


def names(items: list[Converted]) -> list[str]:
    return [c.obj.name for c in items]


FK = "ALTER TABLE Sales.Orders ADD CONSTRAINT FK_O_C FOREIGN KEY (c) REFERENCES [dbo].[Customers] (id)"


def test_references_found_in_source_put_objects_after_what_they_name() -> None:
    items = [
        conv("view", "Sales", "vOrders", "CREATE VIEW Sales.vOrders AS SELECT * FROM Orders o JOIN dbo.Customers c"),
        conv("constraint", "Sales", "FK_O_C", FK, parent="Sales.Orders"),
        conv("table", "Sales", "Orders", "CREATE TABLE [Sales].[Orders] (id int, c int, f dbo.Flag)"),
        conv("table", "dbo", "Customers", "CREATE TABLE Customers (id int PRIMARY KEY)"),
        conv("type", "dbo", "Flag", "CREATE TYPE dbo.Flag FROM bit NOT NULL"),
        conv("schema", "Sales", "Sales", "CREATE SCHEMA Sales"),
    ]
    got = names(order(items))
    assert got.index("Sales") < got.index("Orders")
    assert got.index("Flag") < got.index("Orders")
    assert got.index("Orders") < got.index("FK_O_C") and got.index("Customers") < got.index("FK_O_C")
    assert got.index("Orders") < got.index("vOrders") and got.index("Customers") < got.index("vOrders")


def test_unqualified_names_resolve_in_own_schema_before_dbo() -> None:
    items = [
        conv("view", "Sales", "v", "CREATE VIEW Sales.v AS SELECT * FROM Orders"),
        conv("table", "dbo", "Orders", "CREATE TABLE dbo.Orders (a int)"),
        conv("table", "Sales", "Orders", "CREATE TABLE Sales.Orders (a int)"),
    ]
    deps = dependencies(items)
    assert deps[0] == {2}  # Sales.Orders, not dbo.Orders


def test_converter_depends_on_and_kind_rank_and_stable_source_order() -> None:
    items = [
        conv("function", "dbo", "f2", "CREATE FUNCTION f2() ...", depends_on={"function:dbo.f1"}),
        conv("function", "dbo", "f1", "CREATE FUNCTION f1() ..."),
        conv("table", "dbo", "t1", "CREATE TABLE t1 (a int)"),
        conv("table", "dbo", "t2", "CREATE TABLE t2 (a int)"),
        conv("constraint", "dbo", "fk", "ALTER TABLE t2 ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES t1 (a)", "dbo.t2"),
        conv("constraint", "dbo", "pk", "ALTER TABLE t1 ADD CONSTRAINT pk PRIMARY KEY (a)", "dbo.t1"),
    ]
    # tables first (source order kept), keys before foreign keys, routines after, f1 before f2
    assert names(order(items)) == ["t1", "t2", "pk", "fk", "f1", "f2"]


def test_cycles_are_broken_and_nothing_is_lost() -> None:
    items = [
        conv("view", "dbo", "a", "CREATE VIEW a AS SELECT * FROM b"),
        conv("view", "dbo", "b", "CREATE VIEW b AS SELECT * FROM a"),
        conv("view", "dbo", "c", "CREATE VIEW c AS SELECT * FROM a"),
    ]
    got = names(order(items))
    assert sorted(got) == ["a", "b", "c"]
    assert got.index("a") < got.index("c")


def test_references_reads_qualified_bracketed_and_string_names() -> None:
    obj = SourceObject(
        "db", "dbo", "x", "comment",
        "EXEC sp_addextendedproperty N'MS_Description', N'd', N'SCHEMA', N'Sales', N'TABLE', N'Orders'",
        "t.sql", 1,
    )  # fmt: skip
    assert (None, "orders") in references(obj)
    view = SourceObject("db", "dbo", "v", "view", "SELECT [a].[B C].d FROM x", "t.sql", 1)
    refs = references(view)
    assert ("a", "b c") in refs and ("b c", "d") in refs and (None, "x") in refs
