"""playbooks/smoke.yml against the emulated estate: the four steps, errors, and secrets.

The four steps (STYLE.md): check mode, real run, check mode again (no change reported), real run
again (changed=false). Each run uses its own scratch database so the counts do not depend on what
other tests left in the session's estate.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml
from ansible_helpers import Run, RunAnsible

from dbshift.tsql.connect import session_from_params

pytestmark = [pytest.mark.estate, pytest.mark.slow]

# What the smoke role writes on a fresh estate: CREATE DATABASE, CREATE TABLE, INSERT.
WRITES = 3


def ec2_session(estate):
    return session_from_params(
        {
            "winrm_endpoint": estate.winrm_endpoint,
            "winrm_username": estate.winrm_username,
            "winrm_password": estate.winrm_password,
            "winrm_transport": "basic",
            "winrm_server_cert_validation": "ignore",
            "server_instance": estate.ec2_server,
        }
    )


def database_exists(estate, name: str) -> bool:
    session = ec2_session(estate)
    try:
        return bool(session.execute(f"SELECT name FROM sys.databases WHERE name = N'{name}'").rows)
    finally:
        session.close()


def smoke(run_ansible: RunAnsible, inventory: Path, database: str, *extra: str) -> Run:
    return run_ansible(
        "ansible-playbook", "-i", str(inventory), "-e", f"smoke_database={database}", *extra, "playbooks/smoke.yml"
    )


def test_smoke_four_steps(run_ansible: RunAnsible, estate_inventory: Path, estate) -> None:
    database = f"dbshift_smoke_{uuid.uuid4().hex[:8]}"

    check1 = smoke(run_ansible, estate_inventory, database, "--check")
    assert check1.rc == 0, check1.output[-6000:]
    assert check1.recap()["changed"] == WRITES, check1.output[-6000:]
    assert not database_exists(estate, database), "check mode wrote to the server"

    real1 = smoke(run_ansible, estate_inventory, database)
    assert real1.rc == 0, real1.output[-6000:]
    assert real1.recap()["changed"] == WRITES
    assert real1.recap()["failed"] == 0
    session = ec2_session(estate)
    try:
        rows = session.execute("SELECT id, note FROM dbo.smoke_check", database=database).rows
    finally:
        session.close()
    assert rows == [{"id": 1, "note": "dbshift smoke round trip"}]

    check2 = smoke(run_ansible, estate_inventory, database, "--check")
    assert check2.rc == 0, check2.output[-6000:]
    assert check2.recap()["changed"] == 0, check2.output[-6000:]

    real2 = smoke(run_ansible, estate_inventory, database)
    assert real2.rc == 0, real2.output[-6000:]
    assert real2.recap()["changed"] == 0, real2.output[-6000:]


def failing_playbook(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "result.json"
    play = [
        {
            "name": "A query SQL Server rejects",
            "hosts": "dbshift_controller",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Select from a table that does not exist",
                    "tsql_query": {
                        "server_instance": "{{ dbshift_rds_server }}",
                        "sql_username": "{{ dbshift_rds_login }}",
                        "sql_password": "{{ dbshift_rds_password }}",
                        "winrm_endpoint": "{{ dbshift_winrm_endpoint }}",
                        "winrm_username": "{{ dbshift_winrm_username }}",
                        "winrm_password": "{{ dbshift_winrm_password }}",
                        "winrm_transport": "{{ dbshift_winrm_transport }}",
                        "winrm_server_cert_validation": "{{ dbshift_winrm_server_cert_validation }}",
                        "query": "SELECT * FROM dbo.dbshift_no_such_table",
                        "read_only": True,
                    },
                    "register": "r",
                    "ignore_errors": True,
                },
                {
                    "name": "Save the result",
                    "ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(out), "mode": "0600"},
                },
            ],
        }
    ]
    path = tmp_path / "failing.yml"
    path.write_text(yaml.safe_dump(play))
    return path, out


def test_failing_query_surfaces_the_sql_server_error_number(
    run_ansible: RunAnsible, estate_inventory: Path, tmp_path: Path
) -> None:
    play, out = failing_playbook(tmp_path)
    run = run_ansible("ansible-playbook", "-i", str(estate_inventory), str(play))
    result = json.loads(out.read_text())
    assert result["failed"] is True
    # 208: "Invalid object name '%.*ls'." (sys.messages)
    assert result["error_number"] == 208, result
    assert result["error_numbers"][0] == 208
    assert "SQL Server error 208" in result["msg"]
    assert "dbshift_no_such_table" in result["msg"]
    assert "SQL Server error 208" in run.output


def test_no_password_in_verbose_output(run_ansible: RunAnsible, estate_inventory: Path, estate, tmp_path: Path) -> None:
    database = f"dbshift_smoke_{uuid.uuid4().hex[:8]}"
    runs = [smoke(run_ansible, estate_inventory, database, "-vvv")]
    play, out = failing_playbook(tmp_path)
    runs.append(run_ansible("ansible-playbook", "-vvv", "-i", str(estate_inventory), str(play)))
    assert runs[0].rc == 0, runs[0].output[-6000:]
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in runs[0].output  # the passwords were there, masked
    for secret in (estate.winrm_password, estate.rds_password):
        assert len(secret) >= 8
        for run in runs:
            assert secret not in run.output
        assert secret not in out.read_text()
