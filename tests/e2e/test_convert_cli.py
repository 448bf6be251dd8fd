"""`dbshift convert` end to end on our own small source: files, deploy.sql applied by psql, report, exit codes."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

SHOP = """\
CREATE SCHEMA [Shop] AUTHORIZATION [dbo]
GO
CREATE TABLE [Shop].[Orders] (
    [OrderID] INT IDENTITY(1,1) NOT NULL CONSTRAINT [PK_Orders] PRIMARY KEY,
    [Customer] NVARCHAR(50) NOT NULL,
    [Placed] DATETIME NOT NULL CONSTRAINT [DF_Orders_Placed] DEFAULT (GETDATE()),
    [Paid] BIT NOT NULL DEFAULT 0
) ON [PRIMARY]
GO
CREATE TABLE [Shop].[Broken] ( [a] INT,, [b] )
GO
CREATE NONCLUSTERED INDEX [IX_Orders_Customer] ON [Shop].[Orders] ([Customer]) INCLUDE ([Placed])
GO
CREATE USER [reporter] WITH PASSWORD = 'Secr3t!pw'
GO
INSERT INTO Shop.Orders (Customer) VALUES (N'alice')
GO
"""
# A second file whose objects come first in file order but need the first file's: order.py must fix that.
VIEWS = """\
CREATE VIEW [Shop].[OpenOrders] AS
SELECT TOP 10 OrderID, ISNULL(Customer, N'?') AS Customer FROM Shop.Orders WHERE Paid = 0
GO
CREATE PROCEDURE [Shop].[CountOrders] @Customer NVARCHAR(50), @n INT OUTPUT AS
BEGIN
    SET NOCOUNT ON;
    SELECT @n = COUNT(*) FROM Shop.Orders WHERE Customer = @Customer;
END
GO
"""


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dbshift.cli", "convert", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "1_views.sql").write_text(VIEWS)
    (src / "2_shop.sql").write_text(SHOP)
    return src


def test_convert_verify_and_deploy(source: Path, tmp_path: Path, postgres_dsn: str) -> None:
    out = tmp_path / "out"
    run = run_cli(str(source), "--out", str(out), "--verify-dsn", postgres_dsn, "--quiet")
    assert run.returncode == 0, run.stderr
    report = json.loads((out / "report.json").read_text())
    objs = {(o["type"], o["name"]): o for o in report["objects"]}

    # statuses: everything verified on PostgreSQL but the malformed table, which carries its parse error and line
    for key in [("schema", "Shop"), ("table", "Orders"), ("index", "IX_Orders_Customer"), ("view", "OpenOrders"),
                ("procedure", "CountOrders")]:  # fmt: skip
        assert objs[key]["status"] == "verified", objs[key]
    broken = objs[("table", "Broken")]
    assert broken["status"] == "needs-work" and broken["file"] == "2_shop.sql" and broken["line"] == 10
    errors = [i for i in broken["items"] if i["severity"] == "error"]
    assert errors and all(i["line"] == 10 for i in errors), broken
    assert objs[("script", "insert into")]["status"] == "skipped"
    totals = report["totals"]
    assert totals["schema_objects"] == 6 and totals["verified"] == 5 and totals["needs_work"] == 1
    assert report["verified_on"].startswith("15")

    # one file per object, in dependency order: schema < table < index/view < procedure, whatever the file order
    files = sorted(p.name for p in out.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    assert [o["output_file"] for o in report["objects"] if o["output_file"]] == files
    position = {o["name"]: o["position"] for o in report["objects"]}
    assert position["Shop"] < position["Orders"] < position["IX_Orders_Customer"]
    assert position["Orders"] < position["OpenOrders"] and position["Orders"] < position["CountOrders"]
    deploy = (out / "deploy.sql").read_text()
    assert f"-- needs work, not applied: {broken['output_file']}" in deploy or broken["output_file"] is None

    # the password never reaches our files
    for f in out.iterdir():
        assert "Secr3t" not in f.read_text(), f

    # deploy.sql applies cleanly with psql in a fresh database, and the procedure works there
    db = f"deploy_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_dsn + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db}")
    psql = shutil.which("psql")
    assert psql, "psql not found"
    applied = subprocess.run(
        [psql, f"{postgres_dsn}/{db}", "-v", "ON_ERROR_STOP=1", "-q", "-f", "deploy.sql"],
        cwd=out, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    with psycopg.connect(f"{postgres_dsn}/{db}", autocommit=True) as conn:
        conn.execute("INSERT INTO shop.orders (customer) VALUES ('alice'), ('alice'), ('bob')")
        assert conn.execute("CALL shop.countorders('alice', NULL)").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM shop.openorders").fetchone()[0] == 3
    with psycopg.connect(postgres_dsn + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {db} WITH (FORCE)")


def test_strict_exit_code_and_unverified_run(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = run_cli(str(source), "--out", str(out), "--report", str(tmp_path / "r.html"))
    assert run.returncode == 0, run.stderr
    assert "schema objects: 6, verified 0" in run.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["verified_on"] is None
    assert {o["status"] for o in report["objects"] if o["counted"]} == {"converted-unverified", "needs-work"}
    assert (tmp_path / "r.html").exists() and not (out / "report.html").exists()

    strict = run_cli(str(source), "--out", str(out), "--strict", "--quiet")
    assert strict.returncode == 1, strict.stderr

    (source / "2_shop.sql").write_text(SHOP.replace("CREATE TABLE [Shop].[Broken] ( [a] INT,, [b] )\nGO\n", ""))
    clean = run_cli(str(source), "--out", str(out), "--strict", "--quiet")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    # the earlier run's file for the removed object is gone: DIR holds this run's objects only
    report = json.loads((out / "report.json").read_text())
    assert sorted(p.name for p in out.glob("0*.sql")) == sorted(
        o["output_file"] for o in report["objects"] if o["output_file"]
    )


def test_missing_source_is_one_line_error(tmp_path: Path) -> None:
    run = run_cli(str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert run.returncode == 2
    assert run.stderr.strip().startswith("dbshift: error: source") and "no such file" in run.stderr


def test_assisted_pass_output_is_marked_and_still_verified(source: Path, tmp_path: Path, postgres_dsn: str) -> None:
    """A plug-in hook (off by default) gets needs-work objects; what it returns is marked generated and verified."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "fixer.py").write_text(
        "def fix(converted):\n"
        "    if converted.obj.name == 'Broken':\n"
        "        assert converted.items, 'the hook sees why the object needs work'\n"
        "        return 'CREATE TABLE shop.broken (a integer, b text)'\n"
        "    return None\n"
    )
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(plugins)}
    run = subprocess.run(
        [sys.executable, "-m", "dbshift.cli", "convert", str(source), "--out", str(out), "--verify-dsn", postgres_dsn,
         "--assist", "fixer:fix", "--strict", "--quiet"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((out / "report.json").read_text())
    broken = next(o for o in report["objects"] if o["name"] == "Broken")
    assert broken["status"] == "verified" and broken["generated"] is True
    assert any("review required" in i["message"] for i in broken["items"])
    assert "generated, review required" in (out / "report.html").read_text()
    assert "(generated, review required)" in (out / broken["output_file"]).read_text()

    bad = run_cli(str(source), "--out", str(out), "--assist", "no_such_module:fix")
    assert bad.returncode == 2 and "cannot import no_such_module" in bad.stderr
