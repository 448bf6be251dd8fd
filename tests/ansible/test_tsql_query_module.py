"""tsql_query run by ansible-playbook, without the estate: check mode and transport failures."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import yaml
from ansible_helpers import RunAnsible

pytest.importorskip("dbshift.tsql.connect", reason="dbshift.tsql.connect (winrm helper) not written yet")

PASSWORD = "Pw-d0-not-print-7Qx!"


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_playbook(tmp_path: Path, module_args: dict, check_mode: bool) -> tuple[Path, Path]:
    out = tmp_path / "result.json"
    play = [
        {
            "name": "Run tsql_query once",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Query",
                    "tsql_query": module_args,
                    "register": "r",
                    "check_mode": check_mode,
                    "ignore_errors": True,
                },
                {
                    "name": "Save the result",
                    "ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(out), "mode": "0600"},
                    "check_mode": False,
                },
            ],
        }
    ]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play))
    return path, out


def base_args(port: int) -> dict:
    return {
        "server_instance": "EC2AMAZ-NOWHERE",
        "winrm_endpoint": f"http://127.0.0.1:{port}/wsman",
        "winrm_username": "someone",
        "winrm_password": PASSWORD,
        "winrm_transport": "basic",
        "winrm_server_cert_validation": "ignore",
    }


def test_check_mode_does_not_send_a_writing_batch(run_ansible: RunAnsible, tmp_path: Path) -> None:
    # Nothing listens on the endpoint: reporting success proves the batch was not sent.
    args = {**base_args(closed_port()), "query": "CREATE DATABASE [x]"}
    play, out = write_playbook(tmp_path, args, check_mode=True)
    run = run_ansible("ansible-playbook", "-i", "inventories/local/hosts.yml", str(play))
    assert run.rc == 0, run.output
    result = json.loads(out.read_text())
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert result["executed"] is False
    assert result["rows"] == [] and result["row_count"] == 0


def test_unreachable_endpoint_fails_cleanly_without_leaking_the_password(
    run_ansible: RunAnsible, tmp_path: Path
) -> None:
    port = closed_port()
    args = {**base_args(port), "query": "SELECT 1 AS one", "read_only": True, "sql_username": "sa"}
    args["sql_password"] = PASSWORD + "-sql"
    play, out = write_playbook(tmp_path, args, check_mode=False)
    run = run_ansible("ansible-playbook", "-vvv", "-i", "inventories/local/hosts.yml", str(play))
    result = json.loads(out.read_text())
    assert result["failed"] is True
    assert result["changed"] is False
    assert f"127.0.0.1:{port}" in result["msg"], result["msg"]
    assert "EC2AMAZ-NOWHERE" in result["msg"]
    assert PASSWORD not in run.output
    assert PASSWORD not in out.read_text()


def test_read_only_batch_runs_in_check_mode(run_ansible: RunAnsible, tmp_path: Path) -> None:
    # A read-only batch is sent even in check mode: against a closed port that shows as a failure.
    args = {**base_args(closed_port()), "query": "SELECT 1 AS one", "read_only": True}
    play, out = write_playbook(tmp_path, args, check_mode=True)
    run_ansible("ansible-playbook", "-i", "inventories/local/hosts.yml", str(play))
    result = json.loads(out.read_text())
    assert result["failed"] is True, result


def test_nonpositive_timeout_is_rejected_naming_the_option(run_ansible: RunAnsible, tmp_path: Path) -> None:
    args = {**base_args(closed_port()), "query": "SELECT 1 AS one", "read_only": True, "timeout": 0}
    play, out = write_playbook(tmp_path, args, check_mode=False)
    run_ansible("ansible-playbook", "-i", "inventories/local/hosts.yml", str(play))
    result = json.loads(out.read_text())
    assert result["failed"] is True
    assert "timeout" in result["msg"] and "omit it" in result["msg"]
