"""Live sources for `dbshift convert`: URL forms, scripting tables/constraints/indexes/sequences back to T-SQL from
catalog rows, and the SQL Server EMULATOR's catalog (in-process) read through the SqlSession path of read_live."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dbshift.convert.live import (
    QUERIES,
    LiveCatalog,
    column_type,
    is_live,
    parse_url,
    read_live,
    redact_url,
    script_catalog,
)
from dbshift.convert.source import read_text
from dbshift.errors import ConfigError
from dbshift.estate.sqlserver import InstanceConfig, SqlServerEmulator
from dbshift.tsql import SqlError

BK = "D:\\SQLBackup\\"


# ------------------------------------------------------------------------------------------------ URLs


def test_is_live_knows_the_live_schemes_and_not_paths() -> None:
    assert is_live("mssql://u@h/db") and is_live("SQLSERVER://u@h/db") and is_live("winrm://u@h/SQL/db")
    assert not is_live("/tmp/mssql/schema.sql") and not is_live("schema.sql")


def test_mssql_url_takes_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBSHIFT_SOURCE_PASSWORD", "from-env")
    src = parse_url("mssql://reader@sql.example.com/Northwind")
    assert (src.scheme, src.host, src.port, src.user, src.database) == (
        "mssql",
        "sql.example.com",
        1433,
        "reader",
        "Northwind",
    )
    assert src.password == "from-env"
    assert "from-env" not in repr(src)
    assert parse_url("mssql://reader:p%40ss@h:14330/db").password == "p@ss"


def test_winrm_url_names_instance_and_database() -> None:
    src = parse_url("winrm://Administrator:pw@winhost/SQLHOST%5CINST/Sales?transport=ntlm&sql_user=reader")
    assert (src.scheme, src.host, src.port, src.server_instance, src.database) == (
        "winrm",
        "winhost",
        5985,
        "SQLHOST\\INST",
        "Sales",
    )
    assert src.params["sql_user"] == "reader"
    assert parse_url("winrm://a:b@h/I/D?scheme=https").port == 5986


@pytest.mark.parametrize(
    "url, fix",
    [
        ("mssql://h/db", "no user"),
        ("mssql://u@h", "name one database"),
        ("mssql://u@h/a/b", "name one database"),
        ("winrm://u@h/db", "SERVER_INSTANCE/DATABASE"),
    ],
)
def test_bad_urls_say_what_to_write(url: str, fix: str) -> None:
    with pytest.raises(ConfigError, match=fix):
        parse_url(url)


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("mssql://u:s3cret@h:1/db") == "mssql://u:***@h:1/db"
    assert redact_url("mssql://u@h/db") == "mssql://u@h/db"


def test_missing_password_is_a_config_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBSHIFT_SOURCE_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="DBSHIFT_SOURCE_PASSWORD"):
        read_live("mssql://u@127.0.0.1:9/db")


# ------------------------------------------------------------------------------------ scripting back

TYPES = {
    uid: {
        "user_type_id": uid,
        "system_type_id": sys_id,
        "schema_id": schema,
        "name": name,
        "is_user_defined": uid > 256,
        "is_table_type": False,
        "max_length": length,
        "precision": precision,
        "scale": 0,
        "is_nullable": True,
    }
    for uid, sys_id, schema, name, length, precision in [
        (56, 56, 4, "int", 4, 10),
        (231, 231, 4, "nvarchar", 8000, 0),
        (167, 167, 4, "varchar", 8000, 0),
        (106, 106, 4, "decimal", 17, 38),
        (42, 42, 4, "datetime2", 8, 27),
        (62, 62, 4, "float", 8, 53),
        (104, 104, 4, "bit", 1, 1),
        (257, 104, 5, "Flag", 1, 1),
    ]
}


def col(user_type_id: int, max_length: int = 0, precision: int = 0, scale: int = 0) -> dict:
    return {"name": "c", "user_type_id": user_type_id, "max_length": max_length, "precision": precision, "scale": scale}


@pytest.mark.parametrize(
    "column, text",
    [
        (col(56, 4, 10), "[int]"),
        (col(231, 100), "[nvarchar](50)"),
        (col(231, -1), "[nvarchar](max)"),
        (col(167, 8000), "[varchar](8000)"),
        (col(106, 9, 10, 2), "[decimal](10, 2)"),
        (col(42, 7, 23, 3), "[datetime2](3)"),
        (col(62, 8, 53), "[float]"),
        (col(62, 8, 20), "[float](20)"),
        (col(257, 1, 1), "[Types].[Flag]"),
        (col(104, 1, 1), "[bit]"),
    ],
)
def test_column_types_are_written_as_ssms_writes_them(column: dict, text: str) -> None:
    assert column_type(column, TYPES, {4: "sys", 5: "Types"}) == text


def catalog(**views: list[dict]) -> LiveCatalog:
    return LiveCatalog("Shop", {key: views.get(key, []) for key in QUERIES})


def shop_catalog() -> LiveCatalog:
    """Two tables, keys, a default, a foreign key with actions, an untrusted check, a filtered index, a sequence."""
    obj = lambda oid, name, typ, parent=0, schema=1: {  # noqa: E731
        "object_id": oid,
        "name": name,
        "schema_id": schema,
        "parent_object_id": parent,
        "type": typ,
    }
    column = lambda oid, cid, name, tid, length, nullable, **kw: {  # noqa: E731
        "object_id": oid,
        "column_id": cid,
        "name": name,
        "user_type_id": tid,
        "max_length": length,
        "precision": kw.get("precision", 0),
        "scale": kw.get("scale", 0),
        "is_nullable": nullable,
        "is_identity": kw.get("identity", False),
        "is_computed": kw.get("computed", False),
        "is_rowguidcol": False,
    }
    return catalog(
        schemas=[
            {"schema_id": 1, "name": "dbo"},
            {"schema_id": 4, "name": "sys"},
            {"schema_id": 5, "name": "Sales"},
            {"schema_id": 16384, "name": "db_owner"},
        ],
        objects=[
            obj(10, "Customers", "U"),
            obj(11, "PK_Customers", "PK", 10),
            obj(20, "Orders", "U", schema=5),
            obj(21, "PK_Orders", "PK", 20, 5),
            obj(22, "FK_Orders_Customers", "F ", 20, 5),
            obj(23, "CK_Orders_Qty", "C ", 20, 5),
            obj(24, "DF_Orders_Qty", "D ", 20, 5),
            obj(30, "Numbers", "SO"),
            obj(40, "V", "V ", schema=5),
        ],
        modules=[{"object_id": 40, "definition": "-- lead\nCREATE VIEW Sales.V AS SELECT 1 AS x\n"}],
        types=list(TYPES.values()),
        columns=[
            column(10, 1, "CustomerID", 56, 4, False, precision=10, identity=True),
            column(10, 2, "Name", 231, 200, True),
            column(20, 1, "OrderID", 56, 4, False, precision=10),
            column(20, 2, "CustomerID", 56, 4, False, precision=10),
            column(20, 3, "Qty", 56, 4, False, precision=10),
            column(20, 4, "Double", 56, 4, True, computed=True),
        ],
        identity=[{"object_id": 10, "column_id": 1, "seed_value": 100, "increment_value": 5}],
        computed=[{"object_id": 20, "column_id": 4, "definition": "([Qty]*(2))", "is_persisted": True}],
        indexes=[
            {
                "object_id": 10,
                "index_id": 1,
                "name": "PK_Customers",
                "type": 1,
                "is_unique": True,
                "is_primary_key": True,
                "is_unique_constraint": False,
                "has_filter": False,
                "filter_definition": None,
            },
            {
                "object_id": 20,
                "index_id": 1,
                "name": "PK_Orders",
                "type": 1,
                "is_unique": True,
                "is_primary_key": True,
                "is_unique_constraint": False,
                "has_filter": False,
                "filter_definition": None,
            },
            {
                "object_id": 20,
                "index_id": 2,
                "name": "IX_Orders",
                "type": 2,
                "is_unique": False,
                "is_primary_key": False,
                "is_unique_constraint": False,
                "has_filter": True,
                "filter_definition": "([Qty]>(1))",
            },
        ],
        index_columns=[
            {
                "object_id": 10,
                "index_id": 1,
                "index_column_id": 1,
                "column_id": 1,
                "key_ordinal": 1,
                "is_descending_key": False,
                "is_included_column": False,
            },
            {
                "object_id": 20,
                "index_id": 1,
                "index_column_id": 1,
                "column_id": 1,
                "key_ordinal": 1,
                "is_descending_key": False,
                "is_included_column": False,
            },
            {
                "object_id": 20,
                "index_id": 2,
                "index_column_id": 1,
                "column_id": 2,
                "key_ordinal": 1,
                "is_descending_key": True,
                "is_included_column": False,
            },
            {
                "object_id": 20,
                "index_id": 2,
                "index_column_id": 2,
                "column_id": 3,
                "key_ordinal": 0,
                "is_descending_key": False,
                "is_included_column": True,
            },
        ],
        keys=[
            {"object_id": 11, "parent_object_id": 10, "name": "PK_Customers", "type": "PK", "unique_index_id": 1},
            {"object_id": 21, "parent_object_id": 20, "name": "PK_Orders", "type": "PK", "unique_index_id": 1},
        ],
        fks=[
            {
                "object_id": 22,
                "parent_object_id": 20,
                "referenced_object_id": 10,
                "name": "FK_Orders_Customers",
                "is_not_trusted": False,
                "is_not_for_replication": False,
                "delete_referential_action_desc": "CASCADE",
                "update_referential_action_desc": "SET_NULL",
            }
        ],
        fk_columns=[
            {"constraint_object_id": 22, "constraint_column_id": 1, "parent_column_id": 2, "referenced_column_id": 1}
        ],
        defaults=[
            {
                "object_id": 24,
                "parent_object_id": 20,
                "parent_column_id": 3,
                "name": "DF_Orders_Qty",
                "definition": "((1))",
            }
        ],
        checks=[
            {
                "object_id": 23,
                "parent_object_id": 20,
                "name": "CK_Orders_Qty",
                "definition": "([Qty]>(0))",
                "is_not_trusted": True,
                "is_not_for_replication": False,
            }
        ],
        sequences=[
            {
                "object_id": 30,
                "start_value": 1,
                "increment": 10,
                "minimum_value": 1,
                "maximum_value": 1000,
                "is_cycling": True,
                "is_cached": True,
                "cache_size": 50,
                "user_type_id": 56,
                "precision": 10,
                "scale": 0,
            }
        ],
    )


def scripted() -> dict[str, tuple[str, str]]:
    return {f"{typ}:{schema}.{name}": (typ, text) for typ, schema, name, text in script_catalog(shop_catalog())}


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_tables_are_scripted_with_keys_inside_identity_and_computed_columns() -> None:
    s = scripted()
    assert flat(s["table:dbo.Customers"][1]) == flat(
        "CREATE TABLE [dbo].[Customers]( [CustomerID] [int] IDENTITY(100,5) NOT NULL, [Name] [nvarchar](100) NULL, "
        "CONSTRAINT [PK_Customers] PRIMARY KEY CLUSTERED ( [CustomerID] ASC ) )"
    )
    assert "[Double]  AS ([Qty]*(2)) PERSISTED" in s["table:Sales.Orders"][1]


def test_constraints_are_alter_table_statements_with_trust_and_actions() -> None:
    s = scripted()
    assert flat(s["constraint:Sales.DF_Orders_Qty"][1]) == (
        "ALTER TABLE [Sales].[Orders] ADD CONSTRAINT [DF_Orders_Qty] DEFAULT ((1)) FOR [Qty]"
    )
    assert flat(s["constraint:Sales.FK_Orders_Customers"][1]) == (
        "ALTER TABLE [Sales].[Orders] WITH CHECK ADD CONSTRAINT [FK_Orders_Customers] FOREIGN KEY([CustomerID]) "
        "REFERENCES [dbo].[Customers] ([CustomerID]) ON DELETE CASCADE ON UPDATE SET NULL"
    )
    assert flat(s["constraint:Sales.CK_Orders_Qty"][1]) == (
        "ALTER TABLE [Sales].[Orders] WITH NOCHECK ADD CONSTRAINT [CK_Orders_Qty] CHECK (([Qty]>(0)))"
    )


def test_indexes_sequences_schemas_and_modules() -> None:
    s = scripted()
    assert flat(s["index:Sales.IX_Orders"][1]) == (
        "CREATE NONCLUSTERED INDEX [IX_Orders] ON [Sales].[Orders] ( [CustomerID] DESC ) INCLUDE([Qty]) "
        "WHERE ([Qty]>(1))"
    )
    assert flat(s["sequence:dbo.Numbers"][1]) == (
        "CREATE SEQUENCE [dbo].[Numbers] AS [int] START WITH 1 INCREMENT BY 10 MINVALUE 1 MAXVALUE 1000 CYCLE CACHE 50"
    )
    assert s["schema:Sales.Sales"] == ("schema", "CREATE SCHEMA [Sales]\n")
    assert s["type:Sales.Flag"] == ("type", "CREATE TYPE [Sales].[Flag] FROM [bit] NULL\n")
    assert "schema:db_owner.db_owner" not in s and "schema:sys.sys" not in s
    assert s["view:Sales.V"][1] == "-- lead\nCREATE VIEW Sales.V AS SELECT 1 AS x\n"  # verbatim
    order = [key.split(":")[0] for key in s]
    assert (
        order.index("schema")
        < order.index("type")
        < order.index("table")
        < order.index("constraint")
        < order.index("view")
    )


def test_every_scripted_statement_classifies_as_its_own_object_in_source_reader() -> None:
    for typ, schema, name, text in script_catalog(shop_catalog()):
        objs = read_text(text, "x.sql", "Shop")
        assert [(o.type, o.schema, o.name) for o in objs] == [(typ, schema, name)], text


def test_a_column_id_missing_from_sys_columns_names_the_table() -> None:
    cat = shop_catalog()
    cat.views["index_columns"][0]["column_id"] = 99
    with pytest.raises(Exception, match=r"\[dbo\]\.\[Customers\]: column_id 99"):
        script_catalog(cat)


# ------------------------------------------------------------------- the emulator's catalog, in-process


@pytest.fixture
def emu(tmp_path: Path):
    e = SqlServerEmulator(tmp_path, [InstanceConfig("SRC", ["src"], "ec2"), InstanceConfig("TGT", ["tgt"], "ec2")])
    e.execute("src", "CREATE DATABASE Shop")
    yield e
    e.close()


def test_module_definitions_are_stored_as_sql_server_stores_them(emu: SqlServerEmulator) -> None:
    emu.execute("src", "/* c */\nCrEaTe or/*Y*/ALTer PROCEDURE dbo.P AS SELECT 2;\n/*Z*/", "Shop")
    emu.execute("src", "-- again\nALteR PROCEDURE dbo.P AS SELECT 3;", "Shop")
    emu.execute("src", "CREATE FUNCTION dbo.F() RETURNS TABLE AS RETURN SELECT 1 AS one", "Shop")
    got = (
        emu.execute(
            "src",
            "SELECT o.name, o.type, m.definition FROM sys.sql_modules AS m JOIN sys.objects AS o "
            "ON o.object_id = m.object_id ORDER BY o.name",
            "Shop",
        )
        .result_sets[0]
        .rows
    )
    assert got == [
        ["F", "IF", "CREATE FUNCTION dbo.F() RETURNS TABLE AS RETURN SELECT 1 AS one"],
        ["P", "P ", "-- again\nCREATE PROCEDURE dbo.P AS SELECT 3;"],
    ]
    first = emu.execute("src", "/* c */\nCrEaTe or/*Y*/ALTer PROCEDURE dbo.Q AS SELECT 2;", "Shop")
    assert first.result_sets == []
    q = (
        emu.execute("src", "SELECT definition FROM sys.sql_modules WHERE object_id > 0 ORDER BY object_id DESC", "Shop")
        .result_sets[0]
        .rows[0][0]
    )
    assert q == "/* c */\nCrEaTe /*Y*/ PROCEDURE dbo.Q AS SELECT 2;"


@pytest.mark.parametrize(
    "sql, number",
    [
        ("CREATE PROCEDURE dbo.P AS SELECT 1", 2714),  # made by the setup statement below
        ("ALTER VIEW dbo.Nope AS SELECT 1", 208),
        ("CREATE TRIGGER t ON dbo.Nope AFTER INSERT AS SELECT 1", 8197),
        ("DROP FUNCTION dbo.Nope", 3701),
        ("CREATE INDEX IX ON dbo.Nope (a)", 1088),
        ("ALTER TABLE dbo.Nope ADD CONSTRAINT CK CHECK (a > 0)", 4902),
        ("CREATE INDEX IX_T ON dbo.T (a)", 1913),
        ("ALTER TABLE dbo.T ADD CONSTRAINT DF_T_b DEFAULT 1 FOR a", 1781),
        ("CREATE SCHEMA dbo", 2714),
        ("SELECT 1\nCREATE PROCEDURE dbo.P2 AS SELECT 1", 111),
    ],
)
def test_ddl_errors_carry_sql_servers_numbers(emu: SqlServerEmulator, sql: str, number: int) -> None:
    emu.execute("src", "CREATE PROCEDURE dbo.P AS SELECT 1", "Shop")
    emu.execute(
        "src", "CREATE TABLE dbo.T (a int NULL CONSTRAINT DF_T_a DEFAULT 0); CREATE INDEX IX_T ON dbo.T (a)", "Shop"
    )
    with pytest.raises(SqlError) as err:
        emu.execute("src", sql, "Shop")
    assert err.value.number == number


def test_drop_removes_objects_and_what_belongs_to_a_table(emu: SqlServerEmulator) -> None:
    emu.execute(
        "src",
        "CREATE TABLE dbo.T (a int NOT NULL CONSTRAINT PK_T PRIMARY KEY, b int NULL CHECK (b > 0));"
        "CREATE INDEX IX_T_b ON dbo.T (b);",
        "Shop",
    )
    emu.execute("src", "CREATE TRIGGER dbo.trg ON dbo.T AFTER INSERT AS SELECT 1", "Shop")
    emu.execute("src", "CREATE VIEW dbo.V AS SELECT a FROM dbo.T", "Shop")
    count = "SELECT COUNT(*) FROM sys.objects"
    assert emu.execute("src", count, "Shop").result_sets[0].rows == [[5]]  # T, PK_T, CK, trg, V
    emu.execute("src", "DROP INDEX IX_T_b ON dbo.T; DROP TABLE dbo.T", "Shop")
    assert emu.execute("src", "SELECT name FROM sys.objects", "Shop").result_sets[0].rows == [["V"]]
    assert emu.execute("src", "SELECT COUNT(*) FROM sys.indexes", "Shop").result_sets[0].rows == [[0]]
    emu.execute("src", "DROP VIEW IF EXISTS dbo.V, dbo.Nope", "Shop")
    assert emu.execute("src", count, "Shop").result_sets[0].rows == [[0]]


def test_catalog_travels_with_backup_and_log_restore(emu: SqlServerEmulator) -> None:
    """The schema metadata lives in the database: a full + log restore on another instance reads back the same."""
    emu.execute("src", "CREATE TABLE dbo.A (id int NOT NULL CONSTRAINT PK_A PRIMARY KEY, n nvarchar(20) NULL)", "Shop")
    emu.execute("src", f"BACKUP DATABASE Shop TO DISK = '{BK}shop.bak' WITH INIT", "master")
    emu.execute("src", "CREATE SCHEMA Ops", "Shop")
    emu.execute("src", "CREATE SEQUENCE Ops.S START WITH 5", "Shop")
    emu.execute("src", "ALTER TABLE dbo.A WITH NOCHECK ADD CONSTRAINT CK_A CHECK (id > 0)", "Shop")
    emu.execute("src", "CREATE VIEW Ops.V AS SELECT id FROM dbo.A", "Shop")
    emu.execute("src", f"BACKUP LOG Shop TO DISK = '{BK}shop.trn' WITH INIT", "master")
    src_bak = emu.instance("src").hostfs.local_path(f"{BK}shop.bak")
    tgt_dir = emu.instance("tgt").hostfs.local_path(BK)
    tgt_dir.mkdir(parents=True, exist_ok=True)
    for name in ("shop.bak", "shop.trn"):
        (tgt_dir / name).write_bytes((src_bak.parent / name).read_bytes())
    emu.execute("tgt", f"RESTORE DATABASE Shop FROM DISK = '{BK}shop.bak' WITH NORECOVERY", "master")
    emu.execute("tgt", f"RESTORE LOG Shop FROM DISK = '{BK}shop.trn' WITH RECOVERY", "master")
    source = read_live(emu.instance("src"), database="Shop")
    target = read_live(emu.instance("tgt"), database="Shop")
    assert [(o.key, o.text) for o in target] == [(o.key, o.text) for o in source]
    assert {o.key for o in target} == {
        "schema:ops.ops",
        "sequence:ops.s",
        "table:dbo.a",
        "constraint:dbo.ck_a",
        "view:ops.v",
    }
    check = next(o for o in target if o.type == "constraint")
    assert "WITH NOCHECK ADD  CONSTRAINT [CK_A] CHECK  ((id > 0))" in check.text


def test_a_create_table_the_catalog_rejects_leaves_no_table(emu: SqlServerEmulator) -> None:
    with pytest.raises(SqlError) as err:
        emu.execute("src", "CREATE TABLE dbo.Bad (a int NULL, CONSTRAINT PK_Bad PRIMARY KEY (nope))", "Shop")
    assert err.value.number == 1911
    emu.execute("src", "CREATE TABLE dbo.Bad (a int NOT NULL CONSTRAINT PK_Bad PRIMARY KEY)", "Shop")  # name free
    assert emu.execute("src", "SELECT name FROM sys.tables", "Shop").result_sets[0].rows == [["Bad"]]


def test_nocheck_constraint_all_disables_and_distrusts(emu: SqlServerEmulator) -> None:
    emu.execute(
        "src",
        "CREATE TABLE dbo.P (id int NOT NULL PRIMARY KEY); "
        "CREATE TABLE dbo.C (id int NULL, CONSTRAINT FK_C_P FOREIGN KEY (id) REFERENCES dbo.P (id), "
        "CONSTRAINT CK_C CHECK (id > 0)); ALTER TABLE dbo.C NOCHECK CONSTRAINT all",
        "Shop",
    )
    fk = emu.execute("src", "SELECT is_disabled, is_not_trusted FROM sys.foreign_keys", "Shop").result_sets[0].rows
    ck = emu.execute("src", "SELECT is_disabled, is_not_trusted FROM sys.check_constraints", "Shop")
    assert fk == [[1, 1]] and ck.result_sets[0].rows == [[1, 1]]
    emu.execute("src", "ALTER TABLE dbo.C WITH CHECK CHECK CONSTRAINT FK_C_P", "Shop")
    fk = emu.execute("src", "SELECT is_disabled, is_not_trusted FROM sys.foreign_keys", "Shop").result_sets[0].rows
    assert fk == [[0, 0]]


def test_tables_without_catalog_rows_are_described_from_their_declarations(emu: SqlServerEmulator) -> None:
    emu.execute(
        "src", "CREATE TABLE dbo.Src (a int NOT NULL, d decimal(12,3) NULL); INSERT INTO dbo.Src VALUES (1, 2)", "Shop"
    )
    emu.execute("src", "SELECT a, d INTO dbo.Copy FROM dbo.Src", "Shop")  # SELECT INTO records no catalog rows
    query = (
        "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE FROM INFORMATION_SCHEMA.COLUMNS "
        "ORDER BY TABLE_NAME, ORDINAL_POSITION"
    )
    got = emu.execute("src", query, "Shop").result_sets[0].rows
    assert got[2:] == [["Src", "a", "int", 10, 0], ["Src", "d", "decimal", 12, 3]]
    assert [r[:3] for r in got[:2]] == [["Copy", "a", "int"], ["Copy", "d", got[1][2]]]  # as SQLite declared it
    tables = emu.execute("src", "SELECT name FROM sys.tables ORDER BY name", "Shop").result_sets[0].rows
    assert tables == [["Copy"], ["Src"]]
