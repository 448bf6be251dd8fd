"""A live SQL Server source for `dbshift convert`: schema made through pymssql on the SQL Server EMULATOR's TDS
endpoint, read back from its catalog views (live.read_live), compared with the same T-SQL read from files, and
converted + verified on PostgreSQL through the CLI with an mssql:// SOURCE."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from dbshift.convert import source as src
from dbshift.convert.live import read_live
from dbshift.estate.sqlserver import InstanceConfig, SqlServerEmulator
from dbshift.estate.sqlserver.tds_server import TdsListener
from dbshift.tsql.result import SqlError
from dbshift.tsql.tds import connect_tds

pytestmark = [pytest.mark.slow]

LOGIN = "migration_reader"
DATABASE = "LiveShop"

# Written the way SSMS "Script as CREATE" writes them (file groups, index options and collations off), so the
# scripted-back text of tables, constraints and indexes must equal it; modules come back verbatim.
SCHEMA = """\
CREATE SCHEMA [Sales]
GO
CREATE TYPE [dbo].[Flag] FROM [bit] NOT NULL
GO
CREATE SEQUENCE [dbo].[OrderNumbers] \n AS [int]
 START WITH 1000
 INCREMENT BY 1
 MINVALUE 1
 MAXVALUE 2147483647
 NO CACHE \n
GO
CREATE TABLE [dbo].[Customers](
\t[CustomerID] [int] IDENTITY(1,1) NOT NULL,
\t[Name] [nvarchar](100) NOT NULL,
\t[Email] [varchar](200) NULL,
\t[Created] [datetime2](3) NOT NULL,
\t[Credit] [decimal](10, 2) NULL,
\t[Active] [dbo].[Flag] NOT NULL,
\t[Token] [uniqueidentifier] ROWGUIDCOL  NOT NULL,
 CONSTRAINT [PK_Customers] PRIMARY KEY CLUSTERED \n(
\t[CustomerID] ASC
),
 CONSTRAINT [UQ_Customers_Email] UNIQUE NONCLUSTERED \n(
\t[Email] ASC
)
)
GO
CREATE TABLE [Sales].[Orders](
\t[OrderID] [int] NOT NULL,
\t[CustomerID] [int] NOT NULL,
\t[Qty] [int] NOT NULL,
\t[Price] [money] NOT NULL,
\t[Note] [nvarchar](max) NULL,
\t[Total]  AS ([Qty]*[Price]) PERSISTED,
 CONSTRAINT [PK_Orders] PRIMARY KEY CLUSTERED \n(
\t[OrderID] ASC
)
)
GO
ALTER TABLE [dbo].[Customers] ADD  CONSTRAINT [DF_Customers_Created]  DEFAULT (sysutcdatetime()) FOR [Created]
GO
ALTER TABLE [dbo].[Customers] ADD  CONSTRAINT [DF_Customers_Active]  DEFAULT ((1)) FOR [Active]
GO
ALTER TABLE [dbo].[Customers] ADD  CONSTRAINT [DF_Customers_Token]  DEFAULT (newid()) FOR [Token]
GO
ALTER TABLE [Sales].[Orders] ADD  CONSTRAINT [DF_Orders_OrderID]  DEFAULT (NEXT VALUE FOR [dbo].[OrderNumbers]) \
FOR [OrderID]
GO
ALTER TABLE [Sales].[Orders]  WITH CHECK ADD  CONSTRAINT [FK_Orders_Customers] FOREIGN KEY([CustomerID])
REFERENCES [dbo].[Customers] ([CustomerID])
ON DELETE CASCADE
GO
ALTER TABLE [Sales].[Orders]  WITH CHECK ADD  CONSTRAINT [CK_Orders_Qty] CHECK  (([Qty]>(0)))
GO
CREATE NONCLUSTERED INDEX [IX_Orders_Customer] ON [Sales].[Orders]
(
\t[CustomerID] ASC,
\t[OrderID] DESC
)
INCLUDE([Qty])
WHERE ([Qty]>(1))
GO
CREATE UNIQUE NONCLUSTERED INDEX [UX_Customers_Name] ON [dbo].[Customers]
(
\t[Name] ASC
)
GO
/* orders of more than ten items */
CREATE VIEW [Sales].[BigOrders] AS
SELECT o.OrderID, c.Name, o.Qty FROM Sales.Orders AS o JOIN dbo.Customers AS c ON c.CustomerID = o.CustomerID
WHERE o.Qty > 10
GO
CREATE FUNCTION dbo.OrderCount(@CustomerID int) RETURNS int
AS
BEGIN
  DECLARE @n int;
  SELECT @n = COUNT(*) FROM Sales.Orders WHERE CustomerID = @CustomerID;
  RETURN ISNULL(@n, 0);
END
GO
CREATE FUNCTION dbo.CustomerOrders(@CustomerID int) RETURNS TABLE
AS RETURN (SELECT OrderID, Qty FROM Sales.Orders WHERE CustomerID = @CustomerID)
GO
CREATE PROCEDURE Sales.AddOrder @CustomerID int, @Qty int, @Price money, @OrderID int OUTPUT
AS
BEGIN
  SET NOCOUNT ON;
  SET @OrderID = NEXT VALUE FOR dbo.OrderNumbers;
  INSERT INTO Sales.Orders (OrderID, CustomerID, Qty, Price) VALUES (@OrderID, @CustomerID, @Qty, @Price);
END
GO
CREATE TRIGGER Sales.trg_Orders_Note ON Sales.Orders AFTER INSERT
AS
BEGIN
  SET NOCOUNT ON;
  UPDATE o SET Note = N'new' FROM Sales.Orders AS o JOIN inserted AS i ON i.OrderID = o.OrderID WHERE o.Note IS NULL;
END
GO
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """The emulator with one instance behind its TDS listener, the schema created through pymssql batch by batch."""
    password = secrets.token_urlsafe(12) + "aA1!"
    emulator = SqlServerEmulator(
        tmp_path_factory.mktemp("sqlserver"),
        [InstanceConfig("SRC", ["src-live"], "ec2", sql_login=LOGIN, sql_password=password)],
    )
    listener = TdsListener(emulator.instance("src-live")).start()
    try:
        with connect_tds(listener.endpoint, LOGIN, password, "master") as conn:
            conn.query(f"CREATE DATABASE [{DATABASE}]")
        with connect_tds(listener.endpoint, LOGIN, password, DATABASE) as conn:
            for batch, _line in _batches(SCHEMA):
                conn.query(batch)
        yield listener.endpoint, password
    finally:
        listener.stop()
        emulator.close()


def _batches(script: str) -> list[tuple[str, int]]:
    from dbshift.estate.sqlserver.lexer import split_batches

    return split_batches(script)


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("schema")
    (folder / "schema.sql").write_text(SCHEMA)
    return folder


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _facts(objects) -> dict[str, tuple]:
    return {o.key: (o.database, o.schema, o.name, o.type, o.parent, _norm(o.text)) for o in objects}


def test_live_objects_equal_the_same_tsql_read_from_files(server, schema_dir: Path) -> None:
    endpoint, password = server
    live = read_live(f"mssql://{LOGIN}@{endpoint}/{DATABASE}", password=password)
    files = src.read_source(schema_dir, DATABASE)
    assert {o.type for o in files} >= {
        "schema",
        "type",
        "sequence",
        "table",
        "constraint",
        "index",
        "view",
        "function",
        "procedure",
        "trigger",
    }
    assert _facts(live) == _facts(files)
    assert all(o.file.startswith(f"mssql://{endpoint}/{DATABASE}/") for o in live)
    view = next(o for o in live if o.key == "view:sales.bigorders")
    assert view.text.startswith("CREATE VIEW [Sales].[BigOrders] AS\nSELECT o.OrderID")  # verbatim, comment trimmed


def test_read_source_dispatches_mssql_urls_with_the_password_from_the_environment(server, monkeypatch) -> None:
    endpoint, password = server
    monkeypatch.setenv("DBSHIFT_SOURCE_PASSWORD", password)
    objects = src.read_source(f"mssql://{LOGIN}@{endpoint}/{DATABASE}", "Shop")
    assert {o.database for o in objects} == {"Shop"}
    assert "table:dbo.customers" in {o.key for o in objects}
    monkeypatch.setenv("DBSHIFT_SOURCE_PASSWORD", password + "x")
    with pytest.raises(SqlError) as err:
        src.read_source(f"mssql://{LOGIN}@{endpoint}/{DATABASE}")
    assert err.value.number == 18456
    assert password not in str(err.value)


def test_catalog_views_answer_as_sql_server_documents(server) -> None:
    endpoint, password = server
    with connect_tds(endpoint, LOGIN, password, DATABASE) as conn:
        _, rows = conn.query(
            "SELECT o.name, o.type_desc FROM sys.objects AS o JOIN sys.schemas AS s ON s.schema_id = o.schema_id "
            "WHERE s.name = 'Sales' ORDER BY o.name"
        )
        assert rows == [
            ("AddOrder", "SQL_STORED_PROCEDURE"),
            ("BigOrders", "VIEW"),
            ("CK_Orders_Qty", "CHECK_CONSTRAINT"),
            ("DF_Orders_OrderID", "DEFAULT_CONSTRAINT"),
            ("FK_Orders_Customers", "FOREIGN_KEY_CONSTRAINT"),
            ("Orders", "USER_TABLE"),
            ("PK_Orders", "PRIMARY_KEY_CONSTRAINT"),
            ("trg_Orders_Note", "SQL_TRIGGER"),
        ]
        _, rows = conn.query(
            "SELECT c.name, t.name AS type_name, c.max_length, c.precision, c.scale, c.is_nullable FROM sys.columns "
            "AS c JOIN sys.types AS t ON t.user_type_id = c.user_type_id JOIN sys.tables AS tb "
            "ON tb.object_id = c.object_id WHERE tb.name = 'Customers' ORDER BY c.column_id"
        )
        assert rows == [
            ("CustomerID", "int", 4, 10, 0, False),
            ("Name", "nvarchar", 200, 0, 0, False),
            ("Email", "varchar", 200, 0, 0, True),
            ("Created", "datetime2", 7, 23, 3, False),
            ("Credit", "decimal", 9, 10, 2, True),
            ("Active", "Flag", 1, 1, 0, False),
            ("Token", "uniqueidentifier", 16, 0, 0, False),
        ]
        _, rows = conn.query("SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES ORDER BY 2")
        assert rows == [
            ("Sales", "BigOrders", "VIEW"),
            ("dbo", "Customers", "BASE TABLE"),
            ("Sales", "Orders", "BASE TABLE"),
        ]
        # A module is only accepted as the first statement of its batch (error 111), and names are unique.
        with pytest.raises(SqlError) as err:
            conn.query("SELECT 1\nCREATE VIEW dbo.V2 AS SELECT 1 AS x")
        assert err.value.number == 111
        with pytest.raises(SqlError) as err:
            conn.query("CREATE TABLE Sales.Orders (a int)")
        assert err.value.number == 2714
        # The data side still works: defaults and the primary key of a table built from the catalog parse.
        conn.query("INSERT INTO dbo.Customers (Name, Email) VALUES (N'Ann', 'ann@example.com')")
        _, rows = conn.query("SELECT CustomerID, Active FROM dbo.Customers")
        assert rows == [(1, True)]


def test_cli_converts_and_verifies_a_live_source(server, schema_dir: Path, postgres_dsn: str, tmp_path: Path) -> None:
    endpoint, password = server
    env = {**os.environ, "DBSHIFT_SOURCE_PASSWORD": password, "DBSHIFT_VERIFY_DSN": postgres_dsn + "/postgres"}
    live_out, file_out = tmp_path / "live", tmp_path / "files"
    url = f"mssql://{LOGIN}@{endpoint}/{DATABASE}"
    for source, out in ((url, live_out), (str(schema_dir), file_out)):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dbshift.cli",
                "convert",
                source,
                "--out",
                str(out),
                "--database",
                DATABASE,
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert password not in done.stdout + done.stderr
    live = json.loads((live_out / "report.json").read_text())
    files = json.loads((file_out / "report.json").read_text())
    assert password not in (live_out / "report.json").read_text()

    def statuses(rep: dict) -> dict[tuple[str, str, str], str]:
        return {(o["type"], o["schema"], o["name"]): o["status"] for o in rep["objects"]}

    assert statuses(live) == statuses(files)
    verified = [k for k, s in statuses(live).items() if s == "verified"]
    for kind in ("schema", "sequence", "table", "constraint", "index", "view"):
        assert any(k[0] == kind for k in verified), (kind, statuses(live))
    assert len(verified) >= len(statuses(live)) - 3, statuses(live)


@pytest.mark.estate
def test_a_winrm_source_reads_the_same_objects(estate, schema_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """winrm://: T-SQL through PowerShell over WinRM (the fall-forward runbooks' transport) to the estate's EC2
    instance (Windows authentication), read back like the TDS source."""
    from urllib.parse import quote, urlsplit

    from dbshift.tsql.winrm import WinRMSqlSession

    database = f"LiveWinrm_{secrets.token_hex(3)}"
    with WinRMSqlSession(
        estate.winrm_endpoint,
        estate.winrm_username,
        estate.winrm_password,
        estate.ec2_server,
        transport="basic",
        server_cert_validation="ignore",
    ) as session:
        session.execute(f"CREATE DATABASE [{database}]")
        session.execute(SCHEMA, database=database)
    endpoint = urlsplit(estate.winrm_endpoint)
    monkeypatch.setenv("DBSHIFT_WINRM_PASSWORD", estate.winrm_password)
    url = (
        f"winrm://{quote(estate.winrm_username, safe='')}@{endpoint.hostname}:{endpoint.port}/"
        f"{quote(estate.ec2_server, safe='')}/{database}?transport=basic&cert=ignore"
    )
    live = read_live(url)
    assert _facts(live) == _facts(src.read_source(schema_dir, database))
