"""source.py: T-SQL scripts, folders and SSDT projects → SourceObjects (batches, statements, types, lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbshift.convert.baseline import CORPUS, DEFAULT_CORPUS
from dbshift.convert.model import SCHEMA_OBJECT_TYPES
from dbshift.convert.source import count_by_type, read_source, read_text
from dbshift.errors import DbshiftError


def kinds(text: str) -> list[tuple[str, str, str, str | None]]:
    return [(o.type, o.schema, o.name, o.parent) for o in read_text(text, "t.sql", "db")]


def test_go_batches_and_several_statements_per_batch_without_semicolons() -> None:
    text = (
        "CREATE TABLE dbo.A (id int NOT NULL)\n"
        "CREATE TABLE [Sales].[B] (id int, CONSTRAINT pk_b PRIMARY KEY (id))\n"
        "go\n"
        "CREATE INDEX ix_a ON dbo.A (id);CREATE UNIQUE NONCLUSTERED INDEX ux_b ON Sales.B(id)\n"
        "GO 2\n"
        "GRANT SELECT, INSERT ON Sales.B TO app WITH GRANT OPTION\n"
        "GRANT EXECUTE ON SCHEMA::Sales TO app\n"
    )
    assert kinds(text) == [
        ("table", "dbo", "A", None),
        ("table", "Sales", "B", None),
        ("index", "dbo", "ix_a", "dbo.A"),
        ("index", "Sales", "ux_b", "Sales.B"),
        ("grant", "Sales", "GRANT SELECT, INSERT ON Sales.B TO app WITH GRANT OPTION", None),
        ("grant", "Sales", "GRANT EXECUTE ON SCHEMA::Sales TO app", None),
    ]


def test_routine_bodies_take_the_rest_of_the_batch() -> None:
    text = (
        "CREATE PROCEDURE dbo.p @x int AS\nBEGIN\n  SET NOCOUNT ON\n  UPDATE t SET a = 1\n"
        "  INSERT INTO t SELECT 1\n  IF @x > 0 CREATE TABLE #t (a int)\nEND\nGO\n"
        "CREATE OR ALTER VIEW v AS SELECT 1 AS one\nGO\n"
        "create function dbo.f() returns int as begin return 1 end\nGO\n"
        "CREATE TRIGGER trg ON Sales.Orders AFTER INSERT, UPDATE AS SELECT 1\nGO\n"
    )
    objs = read_text(text, "t.sql", "db")
    assert [(o.type, o.schema, o.name, o.parent) for o in objs] == [
        ("procedure", "dbo", "p", None),
        ("view", "dbo", "v", None),
        ("function", "dbo", "f", None),
        ("trigger", "Sales", "trg", "Sales.Orders"),  # a trigger lives in its table's schema
    ]
    assert objs[0].text.endswith("IF @x > 0 CREATE TABLE #t (a int)\nEND")
    assert objs[1].line == 9 and objs[3].line == 13


def test_alter_table_forms_are_constraints_of_their_table() -> None:
    text = (
        "ALTER TABLE [Person].[Address] WITH CHECK ADD CONSTRAINT [FK_A_B] FOREIGN KEY ([B]) REFERENCES [Person].[B] "
        "([Id]) ON DELETE SET NULL ON UPDATE CASCADE\n"
        "ALTER TABLE Orders NOCHECK CONSTRAINT ALL\n"
        "ALTER TABLE Orders ALTER COLUMN Note nvarchar(20) NULL\n"
        "ALTER TABLE Orders DROP CONSTRAINT df_x\n"
        "ALTER TABLE Orders ADD PRIMARY KEY (Id)\n"
    )
    assert kinds(text) == [
        ("constraint", "Person", "FK_A_B", "Person.Address"),
        ("constraint", "dbo", "Orders nocheck constraint", "dbo.Orders"),
        ("constraint", "dbo", "Orders alter column", "dbo.Orders"),
        ("constraint", "dbo", "df_x", "dbo.Orders"),
        ("constraint", "dbo", "Orders add primary", "dbo.Orders"),
    ]


def test_other_kinds_security_comments_and_scripts() -> None:
    text = (
        "CREATE SCHEMA [Sales] AUTHORIZATION [dbo]\nGO\n"
        "CREATE SEQUENCE Sales.OrderId AS int START WITH 1\n"
        "CREATE SYNONYM dbo.S FOR Sales.Orders\n"
        "CREATE TYPE dbo.Flag FROM bit NOT NULL\n"
        "CREATE ROLE reader\nCREATE USER app WITHOUT LOGIN\n"
        "DENY DELETE ON Sales.Orders TO reader\nREVOKE SELECT ON dbo.S FROM reader\n"
        "EXEC sys.sp_addextendedproperty @name = N'MS_Description', @value = N'Orders', @level0type = N'SCHEMA', "
        "@level0name = N'Sales', @level1type = N'TABLE', @level1name = N'Orders'\n"
        "EXECUTE sp_addtype id, 'varchar(11)', 'NOT NULL'\n"
        "INSERT INTO Sales.Orders VALUES (1)\nSET NOCOUNT ON\nPRINT 'x'\nUSE Shop\n"
        "BULK INSERT t FROM 'f.csv'\nEXEC sp_configure 'x', 1\nIF EXISTS (SELECT 1) DROP TABLE dbo.A\n"
    )
    got = kinds(text)
    assert got[:10] == [
        ("schema", "Sales", "Sales", None),
        ("sequence", "Sales", "OrderId", None),
        ("synonym", "dbo", "S", None),
        ("type", "dbo", "Flag", None),
        ("role", "dbo", "reader", None),
        ("user", "dbo", "app", None),
        ("grant", "Sales", "DENY DELETE ON Sales.Orders TO reader", None),
        ("grant", "dbo", "REVOKE SELECT ON dbo.S FROM reader", None),
        ("comment", "Sales", "Orders", "Sales.Orders"),
        ("type", "dbo", "id", None),  # sp_addtype defines an alias type (pubs uses it)
    ]
    assert [t for t, *_ in got[10:]] == ["script"] * 8


def test_comments_and_strings_hide_go_and_keywords() -> None:
    text = (
        "/* a comment\nGO\nCREATE TABLE nope (a int) /* nested */ still comment */\n"
        "CREATE TABLE t1 (a varchar(20) DEFAULT 'x; CREATE TABLE no2 (b int)\nGO on\n')\n"
        "-- CREATE TABLE no3 (a int)\n"
        "GO\n"
        "CREATE VIEW v1 AS SELECT 'GO' AS g -- GO\n"
    )
    objs = read_text(text, "t.sql", "db")
    assert [(o.type, o.name) for o in objs] == [("table", "t1"), ("view", "v1")]
    assert objs[0].line == 4 and "CREATE TABLE no2" in objs[0].text


def test_malformed_quote_spoils_one_batch_not_the_rest() -> None:
    text = "CREATE TABLE bad (a varchar(5) DEFAULT 'oops)\nGO\nCREATE TABLE good (a int)\nGO\n"
    objs = read_text(text, "t.sql", "db")
    assert [(o.type, o.name, o.line) for o in objs] == [("table", "bad", 1), ("table", "good", 3)]


def test_sqlcmd_setvar_and_use_name_the_database() -> None:
    text = ':setvar DatabaseName "Shop"\nGO\nUSE [master]\nGO\nCREATE DATABASE $(DatabaseName)\nGO\n'
    text += "USE $(DatabaseName)\nGO\nCREATE TABLE dbo.T (a int)\nGO\n"
    objs = read_text(text, "t.sql", "default")
    assert objs[0].type == "script" and objs[0].text.startswith(":setvar")
    table = next(o for o in objs if o.type == "table")
    assert table.database == "Shop" and table.line == 9
    assert {o.database for o in objs} == {"Shop"}


def test_duplicate_names_get_a_suffix_per_type() -> None:
    text = "CREATE INDEX ix ON a (x)\nCREATE INDEX ix ON b (x)\nCREATE TABLE ix (a int)\n"
    objs = read_text(text, "t.sql", "db")
    assert [o.key for o in objs] == ["index:dbo.ix", "index:dbo.ix~2", "table:dbo.ix"]


def test_files_folders_encodings_and_ssdt_projects(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "b.sql").write_bytes("\ufeffCREATE TABLE b (a int)\r\nGO\r\n".encode())
    (tmp_path / "plain" / "a.sql").write_bytes("CREATE TABLE a (é int)\nGO\n".encode("utf-16"))
    (tmp_path / "plain" / "bin").mkdir()
    (tmp_path / "plain" / "bin" / "x.sql").write_text("CREATE TABLE ignored (a int)")
    objs = read_source(tmp_path / "plain")
    assert [(o.name, o.file, o.database) for o in objs] == [("a", "a.sql", "plain"), ("b", "b.sql", "plain")]
    assert "é" in objs[0].text

    proj = tmp_path / "proj"
    (proj / "Tables").mkdir(parents=True)
    (proj / "Tables" / "T.sql").write_text("CREATE TABLE dbo.T (a int)")
    (proj / "Scratch.sql").write_text("CREATE TABLE not_in_project (a int)")
    (proj / "Shop.sqlproj").write_text(
        '<Project xmlns="http://schemas.microsoft.com/developer/msbuild/2003"><ItemGroup>'
        '<Build Include="Tables\\T.sql" /></ItemGroup></Project>'
    )
    objs = read_source(proj)
    assert [(o.name, o.file, o.database) for o in objs] == [("T", "Tables/T.sql", "Shop")]
    # a project inside a folder of scripts keeps its own name; the loose scripts take the folder's
    objs = read_source(tmp_path)
    assert [(o.name, o.file, o.database) for o in objs] == [
        ("a", "plain/a.sql", tmp_path.name),
        ("b", "plain/b.sql", tmp_path.name),
        ("T", "proj/Tables/T.sql", "Shop"),
    ]
    with pytest.raises(DbshiftError, match="no such file"):
        read_source(tmp_path / "missing")


@pytest.mark.skipif(not DEFAULT_CORPUS.exists(), reason="corpus not present")
def test_corpus_counts_by_database_and_type() -> None:
    """Printed for the record; Northwind's count is the corpus README's 88 (one object per schema statement)."""
    counts = {}
    for rel, name in CORPUS:
        objs = read_source(DEFAULT_CORPUS / rel, name)
        per = count_by_type(objs)
        merged: dict[str, int] = {}
        for p in per.values():
            for k, v in p.items():
                merged[k] = merged.get(k, 0) + v
        counts[name] = merged
        schema_objects = sum(v for k, v in merged.items() if k in SCHEMA_OBJECT_TYPES)
        print(f"{name:20} schema objects {schema_objects:4}  {dict(sorted(merged.items()))}")
    assert sum(v for k, v in counts["Northwind"].items() if k in SCHEMA_OBJECT_TYPES) == 88
    assert counts["pubs"]["table"] == 11 and counts["AdventureWorks"]["table"] == 71
    assert counts["WideWorldImporters"]["table"] == 54 and counts["WideWorldImporters"]["sequence"] == 26
    assert counts["AdventureWorks"]["procedure"] == 10 and counts["AdventureWorks"]["trigger"] == 11
