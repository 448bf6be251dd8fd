"""playbooks/schema_assessment.yml on a small T-SQL source, verified on a PostgreSQL of the test's own:
check → run → check → run (the output folder is written once), a copy of the HTML report, strict failing on a
malformed object, and apply only when asked — once, in one transaction, recorded in the target."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest
from ansible_helpers import REPO, Run
from e2e_helpers import playbook_runner, task_status

TASK = "TASK [schema_assessment : Convert and verify"

SOURCE = """\
CREATE TABLE dbo.Customers (
    CustomerID int IDENTITY(1,1) NOT NULL CONSTRAINT PK_Customers PRIMARY KEY,
    Name nvarchar(100) NOT NULL,
    IsActive bit NOT NULL CONSTRAINT DF_Customers_IsActive DEFAULT (1),
    CreatedAt datetime NOT NULL CONSTRAINT DF_Customers_CreatedAt DEFAULT (GETDATE())
)
GO
CREATE TABLE dbo.Orders (
    OrderID int IDENTITY(1,1) NOT NULL PRIMARY KEY,
    CustomerID int NOT NULL CONSTRAINT FK_Orders_Customers REFERENCES dbo.Customers (CustomerID),
    Total money NOT NULL
)
GO
CREATE NONCLUSTERED INDEX IX_Orders_CustomerID ON dbo.Orders (CustomerID) INCLUDE (Total)
GO
CREATE VIEW dbo.ActiveCustomers AS
SELECT CustomerID, Name FROM dbo.Customers WHERE IsActive = 1
GO
"""
BROKEN = """\
CREATE VIEW dbo.Broken AS SELECT FROM WHERE ((
GO
"""


@pytest.fixture
def workspace(tmp_path: Path, postgres_dsn: str) -> dict:
    src = tmp_path / "schema"
    src.mkdir()
    (src / "sales.sql").write_text(SOURCE)
    inv = tmp_path / "inventory"
    inv.mkdir()
    shutil.copy(REPO / "inventories" / "local" / "hosts.yml", inv / "hosts.yml")
    target_db = f"assess_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_dsn + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {target_db}")
    return {
        "src": src,
        "out": tmp_path / "out",
        "inventory": inv,
        "verify_dsn": postgres_dsn + "/postgres",
        "target_dsn": f"{postgres_dsn}/{target_db}",
    }


def play(run_ansible, ws: dict, tmp_path: Path, *args: str, **variables) -> Run:
    defaults = {
        "schema_assessment_source": str(ws["src"]),
        "schema_assessment_out_dir": str(ws["out"]),
        "schema_assessment_verify_dsn": ws["verify_dsn"],
    }
    playbook = "playbooks/schema_assessment.yml"
    return playbook_runner(run_ansible, ws["inventory"], tmp_path, playbook, {**defaults, **variables})(*args)


def tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    return {r[0] for r in rows}


def test_four_steps_report_copy_and_no_secret(run_ansible, workspace, tmp_path) -> None:
    copy = tmp_path / "share" / "assessment.html"
    first = play(run_ansible, workspace, tmp_path, "--check", schema_assessment_report_path=str(copy))
    assert first.rc == 0, first.output[-4000:]
    assert task_status(first, TASK) == "changed"
    assert not workspace["out"].exists() and not copy.exists(), "check mode wrote files"

    run = play(run_ansible, workspace, tmp_path, schema_assessment_report_path=str(copy))
    assert run.rc == 0, run.output[-4000:]
    assert task_status(run, TASK) == "changed"
    report = json.loads((workspace["out"] / "report.json").read_text())
    assert report["verified_on"], "objects were not executed on PostgreSQL"
    statuses = {o["name"].lower(): o["status"] for o in report["objects"]}
    assert statuses["customers"] == statuses["orders"] == statuses["activecustomers"] == "verified", statuses
    assert (workspace["out"] / "deploy.sql").is_file()
    assert copy.read_text() == (workspace["out"] / "report.html").read_text()
    assert "100.0% verified" in run.stdout
    password = workspace["verify_dsn"].split(":")[2].split("@")[0]
    assert password not in run.output, "the verification DSN's password was printed"
    stamp = (workspace["out"] / "report.json").stat().st_mtime_ns

    for args in (("--check",), ()):
        again = play(run_ansible, workspace, tmp_path, *args, schema_assessment_report_path=str(copy))
        assert again.rc == 0, again.output[-4000:]
        assert task_status(again, TASK) == "ok", f"rerun {args} reported a change"
    assert (workspace["out"] / "report.json").stat().st_mtime_ns == stamp, "an unchanged rerun rewrote the output"

    # A changed source changes the output, and only then.
    (workspace["src"] / "broken.sql").write_text(BROKEN)
    changed = play(run_ansible, workspace, tmp_path)
    assert changed.rc == 0, changed.output[-4000:]
    assert task_status(changed, TASK) == "changed"
    broken = [o for o in json.loads((workspace["out"] / "report.json").read_text())["objects"] if o["name"] == "Broken"]
    assert broken and broken[0]["status"] == "needs-work" and broken[0]["items"], broken


def test_strict_fails_on_needs_work_after_writing_the_report(run_ansible, workspace, tmp_path) -> None:
    (workspace["src"] / "broken.sql").write_text(BROKEN)
    run = play(run_ansible, workspace, tmp_path, schema_assessment_strict=True)
    assert run.rc != 0
    assert task_status(run, TASK) == "fatal"
    assert "need work (strict)" in run.output
    assert (workspace["out"] / "report.html").is_file(), "strict must still leave the report to read"


def test_apply_only_when_asked_once_and_atomic(run_ansible, workspace, tmp_path) -> None:
    target = workspace["target_dsn"]
    plain = play(run_ansible, workspace, tmp_path, schema_assessment_target_dsn=target)
    assert plain.rc == 0, plain.output[-4000:]
    assert tables(target) == set(), "the assessment applied without schema_assessment_apply"

    check = play(run_ansible, workspace, tmp_path, "--check", schema_assessment_apply=True,
                 schema_assessment_target_dsn=target)  # fmt: skip
    assert check.rc == 0 and task_status(check, TASK) == "changed", check.output[-4000:]
    assert tables(target) == set(), "check mode applied"

    applied = play(run_ansible, workspace, tmp_path, schema_assessment_apply=True, schema_assessment_target_dsn=target)
    assert applied.rc == 0, applied.output[-4000:]
    assert task_status(applied, TASK) == "changed" and "applied to the target" in applied.stdout
    assert {"public.customers", "public.orders", "public.activecustomers", "dbshift_schema.applied_objects"} <= tables(
        target
    )
    with psycopg.connect(target) as conn:
        conn.execute("INSERT INTO customers (name) VALUES ('Ann')")
        assert conn.execute("SELECT isactive, createdat IS NOT NULL FROM customers").fetchone() == (True, True)

    again = play(run_ansible, workspace, tmp_path, schema_assessment_apply=True, schema_assessment_target_dsn=target)
    assert again.rc == 0 and task_status(again, TASK) == "ok", again.output[-4000:]

    # A new object: only it is applied. One whose name is taken in the target: the apply fails naming it and
    # leaves nothing behind.
    (workspace["src"] / "more.sql").write_text("CREATE TABLE dbo.Extra (ID int NOT NULL)\nGO\n")
    (workspace["src"] / "clash.sql").write_text("CREATE TABLE dbo.Clash (ID int NOT NULL)\nGO\n")
    with psycopg.connect(target) as conn:
        conn.execute("CREATE TABLE clash (other text)")
    failed = play(run_ansible, workspace, tmp_path, schema_assessment_apply=True, schema_assessment_target_dsn=target)
    assert failed.rc != 0 and task_status(failed, TASK) == "fatal"
    assert "Nothing was applied" in failed.output and "dbo.Clash" in failed.output
    assert "public.extra" not in tables(target)
    (workspace["src"] / "clash.sql").unlink()
    added = play(run_ansible, workspace, tmp_path, schema_assessment_apply=True, schema_assessment_target_dsn=target)
    assert added.rc == 0 and task_status(added, TASK) == "changed", added.output[-4000:]
    assert "public.extra" in tables(target)

    # A changed definition of an applied table is refused, never dropped and recreated.
    (workspace["src"] / "more.sql").write_text("CREATE TABLE dbo.Extra (ID bigint NOT NULL)\nGO\n")
    redefined = play(
        run_ansible, workspace, tmp_path, schema_assessment_apply=True, schema_assessment_target_dsn=target
    )
    assert redefined.rc != 0 and "another definition" in redefined.output and "dbo.Extra" in redefined.output
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 1, "the apply touched existing data"
