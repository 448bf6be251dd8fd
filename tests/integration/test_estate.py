"""`dbshift estate up | down | status` through the real CLI: one estate, and nothing left after down."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dbshift.estate import process

pytestmark = [pytest.mark.estate, pytest.mark.slow]


def dbshift(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbshift.cli", *args], capture_output=True, text=True, check=False, timeout=300
    )


def status(root: Path) -> dict:
    return json.loads(dbshift("estate", "status", "--root", str(root), "--no-config", "--json").stdout)


def test_up_twice_starts_one_estate_and_down_leaves_nothing(tmp_path: Path) -> None:
    root = tmp_path / "estate"
    first = dbshift("estate", "up", "--root", str(root), "--no-config")
    assert first.returncode == 0, first.stderr
    assert "estate started" in first.stdout
    before = status(root)
    assert before["running"] is True
    pids = json.loads((root / "estate.json").read_text())["pids"]
    assert set(pids) == {"aws", "postgres", "winrm"}  # the TDS listeners live in the WinRM host process
    assert "tds_endpoints" in first.stdout and "source_login" in first.stdout

    second = dbshift("estate", "up", "--root", str(root), "--no-config")
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stdout
    assert json.loads((root / "estate.json").read_text())["pids"] == pids
    # Same endpoints printed both times, and no password in either output.
    assert first.stdout.splitlines()[1:] == second.stdout.splitlines()[1:]
    for secret in ("winrm_password", "rds_password", "postgres_password", "source_password"):
        value = (root / "secrets" / secret).read_text().strip()
        assert value not in first.stdout + second.stdout

    everything = [p for pid in pids.values() for p in (pid, *process.descendants(pid))]
    assert all(process.pid_alive(p) for p in pids.values())

    down = dbshift("estate", "down", "--root", str(root), "--no-config")
    assert down.returncode == 0, down.stderr
    assert [p for p in everything if process.pid_alive(p)] == []
    assert status(root)["running"] is False
    assert dbshift("estate", "status", "--root", str(root), "--no-config").returncode == 3


def test_the_rds_source_is_seeded_through_winrm(estate) -> None:
    """The estate seeds its RDS source with a plain and a TDE sample database."""
    from dbshift.tsql.winrm import WinRMSqlSession

    with WinRMSqlSession(
        estate.winrm_endpoint,
        estate.winrm_username,
        estate.winrm_password,
        estate.rds_server,
        transport="basic",
        server_cert_validation="ignore",
        sql_username=estate.rds_login,
        sql_password=estate.rds_password,
    ) as session:
        names = {r["name"] for r in session.execute("SELECT name FROM sys.databases").rows}
        assert {"SalesDb", "PayrollDb"} <= names
        # Other tests add rows to the shared estate's SalesDb; the seed's are ids 1..250.
        seeded = "SELECT COUNT(*) AS n FROM dbo.Orders WHERE order_id BETWEEN 1 AND 250"
        assert session.execute(seeded, database="SalesDb").rows[0]["n"] == 250
        tde = session.execute(
            "SELECT d.name FROM sys.dm_database_encryption_keys k JOIN sys.databases d "
            "ON d.database_id = k.database_id WHERE k.encryption_state = 3"
        ).rows
        # tempdb is encrypted as soon as any database uses TDE, as on SQL Server.
        assert sorted(r["name"] for r in tde) == ["PayrollDb", "tempdb"]
