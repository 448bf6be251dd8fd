"""winrm_host: the WinRM endpoint in front of the SQL Server emulator, run as its own process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from winrm.protocol import Protocol

from dbshift.errors import ConfigError
from dbshift.estate.winrm_host import load_config, make_runner
from dbshift.tsql.psscript import build_invocation, build_sql_script
from dbshift.tsql.result import SqlError
from dbshift.tsql.winrm import RemoteShellError, WinRMSqlSession

pytest.importorskip("dbshift.estate.sqlserver.server", reason="the SQL Server emulator engine is not there yet")

USER = "dbshift-winrm"
PASSWORD = "Winrm-Pw-42"
SQL_LOGIN, SQL_PASSWORD = "admin", "Rds-Master-Pw-7"


def test_other_commands_fail_naming_the_program() -> None:
    run = make_runner(emulator=None)  # never reached for commands the host refuses
    code, out, err = run("ipconfig /all", b"")
    assert (code, out) == (1, b"")
    assert b"'ipconfig'" in err and b"does not run" in err
    inv = build_invocation("Get-Process")
    code, _, err = run(inv.command_line, b"")
    assert code == 1 and b"not a dbshift SQL script" in err and b"Get-Process" in err


def test_config_reads_instance_passwords_from_files(tmp_path: Path) -> None:
    secret = tmp_path / "rds_password"
    secret.write_text(SQL_PASSWORD + "\n")
    cfg = tmp_path / "cfg.json"
    inst = {
        "name": "RDS",
        "server_names": ["rds.local"],
        "kind": "ec2",
        "sql_login": SQL_LOGIN,
        "sql_password": None,
        "sql_password_file": str(secret),
        "rds": None,
    }
    cfg.write_text(json.dumps({"root": str(tmp_path / "root"), "instances": [inst]}))
    root, instances = load_config(cfg)
    assert root == tmp_path / "root"
    assert instances[0].sql_password == SQL_PASSWORD and instances[0].sql_login == SQL_LOGIN
    secret.unlink()
    with pytest.raises(ConfigError, match="rds_password"):
        load_config(cfg)


@dataclass
class Host:
    url: str
    pid: int
    proc: subprocess.Popen


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    tmp = tmp_path_factory.mktemp("winrm_host")
    (tmp / "winrm_password").write_text(PASSWORD + "\n")
    (tmp / "sql_password").write_text(SQL_PASSWORD)
    os.chmod(tmp / "winrm_password", 0o600)
    instances = [
        {
            "name": "EC2",
            "server_names": ["EC2SQL01", "localhost"],
            "kind": "ec2",
            "sql_login": None,
            "sql_password": None,
            "rds": None,
        },
        {
            "name": "LOGIN",
            "server_names": ["LOGINSQL"],
            "kind": "ec2",
            "sql_login": SQL_LOGIN,
            "sql_password": None,
            "sql_password_file": str(tmp / "sql_password"),
            "rds": None,
        },
    ]
    (tmp / "cfg.json").write_text(json.dumps({"root": str(tmp / "root"), "instances": instances}))
    log = open(tmp / "host.log", "wb")  # noqa: SIM115 - stays open for the process's lifetime
    cmd = [
        sys.executable,
        "-m",
        "dbshift.estate.winrm_host",
        "--config",
        str(tmp / "cfg.json"),
        "--port",
        "0",
        "--username",
        USER,
        "--password-file",
        str(tmp / "winrm_password"),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+/wsman)\n", line)
        assert match, f"unexpected first line {line!r}; log: {(tmp / 'host.log').read_text()}"
        yield Host(match.group(1), proc.pid, proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def session(host: Host, server: str = "EC2SQL01", **kwargs) -> WinRMSqlSession:
    args = {"username": USER, "password": PASSWORD} | kwargs
    return WinRMSqlSession(host.url, args.pop("username"), args.pop("password"), server, transport="basic", **args)


def test_create_insert_select_round_trip(host: Host) -> None:
    with session(host) as s:
        s.execute("CREATE DATABASE WinrmShop")
        loaded = s.execute(
            "CREATE TABLE dbo.items (id int PRIMARY KEY, name nvarchar(50));"
            "INSERT INTO dbo.items (id, name) VALUES (1, N'caf\u00e9'), (2, N'it''s');"
            "PRINT 'loaded'",
            database="WinrmShop",
        )
        result = s.execute("SELECT id, name FROM dbo.items ORDER BY id", database="WinrmShop")
    assert result.result_sets[0].columns == ["id", "name"]
    assert result.rows == [{"id": 1, "name": "caf\u00e9"}, {"id": 2, "name": "it's"}]
    assert "loaded" in loaded.messages


def test_sql_error_surfaces_with_its_number(host: Host) -> None:
    with session(host) as s, pytest.raises(SqlError) as info:
        s.execute("SELECT * FROM dbo.no_such_table", database="master")
    assert info.value.number == 208
    assert info.value.server == "EC2SQL01"


def test_script_over_10kb_goes_over_stdin_and_comes_back_intact(host: Host) -> None:
    text = "".join(chr(0x41 + i % 26) for i in range(12000)) + " \u00fc'\""
    sql = "SELECT N'" + text.replace("'", "''") + "' AS v"
    assert len(sql) > 10_000 and build_invocation(build_sql_script("EC2SQL01", sql)).stdin is not None
    with session(host) as s:
        rows = s.execute(sql).rows
    assert rows == [{"v": text}]


def test_unknown_server_instance_is_error_53(host: Host) -> None:
    with session(host, server="NOSUCHHOST") as s, pytest.raises(SqlError) as info:
        s.execute("SELECT 1 AS one")
    assert info.value.number == 53


def test_sql_login_is_checked(host: Host) -> None:
    with session(host, server="LOGINSQL", sql_username=SQL_LOGIN, sql_password=SQL_PASSWORD) as s:
        assert s.execute("SELECT 1 AS one").rows == [{"one": 1}]
    wrong = session(host, server="LOGINSQL", sql_username=SQL_LOGIN, sql_password="wrong")
    with wrong, pytest.raises(SqlError) as info:
        wrong.execute("SELECT 1 AS one")
    assert info.value.number == 18456


def test_bad_winrm_password_is_a_clear_error(host: Host) -> None:
    with session(host, password="not-the-password") as s, pytest.raises(RemoteShellError) as info:
        s.execute("SELECT 1 AS one")
    assert USER in str(info.value) and "not-the-password" not in str(info.value)


def test_other_commands_fail_over_winrm(host: Host) -> None:
    protocol = Protocol(host.url, transport="basic", username=USER, password=PASSWORD, proxy=None, ca_trust_path=None)
    shell = protocol.open_shell()
    try:
        command = protocol.run_command(shell, "ipconfig", ["/all"])
        out, err, code = protocol.get_command_output(shell, command)
        protocol.cleanup_command(shell, command)
    finally:
        protocol.close_shell(shell)
    assert (code, out) == (1, b"")
    assert b"'ipconfig'" in err


def test_sigterm_stops_the_host_cleanly(host: Host) -> None:
    # Last test of the module: it ends the shared host.
    os.kill(host.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while host.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert host.proc.returncode == 0
