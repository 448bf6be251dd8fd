"""session_from_params: the flat parameters the Ansible modules pass."""

from __future__ import annotations

import pytest

from dbshift.errors import ConfigError
from dbshift.estate.winrm_server import WsmanServer
from dbshift.tsql.connect import session_from_params
from dbshift.tsql.psscript import parse_command_line, parse_sql_script, render_outcome
from dbshift.tsql.result import ResultSet, SqlResult

BASE = {
    "winrm_endpoint": "http://127.0.0.1:5985/wsman",
    "winrm_username": "Administrator",
    "winrm_password": "pw",
    "server_instance": "EC2SQL01",
}


@pytest.mark.parametrize("key", sorted(BASE))
def test_missing_required_key_is_named(key: str) -> None:
    params = dict(BASE)
    del params[key]
    with pytest.raises(ConfigError, match=f"missing {key}"):
        session_from_params(params)
    with pytest.raises(ConfigError, match=f"missing {key}"):
        session_from_params(params | {key: None})  # Ansible passes unset options as None


def test_defaults() -> None:
    s = session_from_params(BASE | {"winrm_transport": None, "sql_username": None, "sql_password": None})
    assert s.transport == "ntlm"
    assert s.server_instance == "EC2SQL01"
    assert s._protocol.operation_timeout_sec == 20 and s._protocol.read_timeout_sec == 30
    assert s._protocol.transport.server_cert_validation == "validate"


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"winrm_transport": "telnet"}, "winrm_transport 'telnet'"),
        ({"winrm_server_cert_validation": "maybe"}, "winrm_server_cert_validation 'maybe'"),
        ({"sql_username": "sa"}, "missing sql_password"),
        ({"sql_password": "x"}, "missing sql_username"),
        ({"operation_timeout_sec": "soon"}, "operation_timeout_sec 'soon'"),
        ({"operation_timeout_sec": 0}, "at least 1"),
        ({"winrm_endpoint": "sqlhost:5985"}, "not a URL"),
    ],
)
def test_invalid_values_are_explained(extra: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        session_from_params(BASE | extra)


def _echo_login(command_line: str, stdin: bytes) -> tuple[int, bytes, bytes]:
    """Test SQL host: answers with the instance and login the script asked for."""
    req = parse_sql_script(parse_command_line(command_line, stdin))
    rows = [[req.server_instance, req.sql_username, req.sql_password]]
    return render_outcome(SqlResult([ResultSet(["server", "login", "password"], rows)]), None)


def test_the_session_built_from_params_works_end_to_end() -> None:
    with WsmanServer(_echo_login, "winrm", "wpw") as srv:
        params = {
            "winrm_endpoint": srv.url,
            "winrm_username": "winrm",
            "winrm_password": "wpw",
            "winrm_transport": "basic",
            "winrm_server_cert_validation": "ignore",
            "server_instance": "rds.example",
            "sql_username": "admin",
            "sql_password": "sqlpw",
            "operation_timeout_sec": "5",
        }
        with session_from_params(params) as s:
            assert s.execute("SELECT 1").rows == [{"server": "rds.example", "login": "admin", "password": "sqlpw"}]
            assert s._protocol.read_timeout_sec == 15
