"""Build a T-SQL session or a WinRM host from flat parameters (what the Ansible modules pass)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dbshift.errors import ConfigError
from dbshift.tsql.winrm import CERT_VALIDATION, TRANSPORTS, WinRMHost, WinRMSqlSession

_REQUIRED = {
    "winrm_endpoint": "the WinRM URL of the SQL Server host, e.g. http://sqlhost:5985/wsman",
    "winrm_username": "the Windows user WinRM logs in as",
    "winrm_password": "that user's password",
    "server_instance": "the SQL Server instance to connect to (HOST or HOST\\INSTANCE, or the RDS endpoint)",
}


def _present(params: Mapping[str, Any], key: str) -> bool:
    value = params.get(key)
    return value is not None and value != ""


def session_from_params(params: Mapping[str, Any]) -> WinRMSqlSession:
    """A WinRMSqlSession from `params` (keys: winrm_endpoint, winrm_username, winrm_password,
    winrm_transport, winrm_server_cert_validation, server_instance, sql_username, sql_password,
    operation_timeout_sec). Unset optional keys may be absent or None."""
    transport, validation, operation_timeout = _winrm_common(params, _REQUIRED)
    has_user, has_password = _present(params, "sql_username"), params.get("sql_password") is not None
    if has_user != has_password:
        missing = "sql_password" if has_user else "sql_username"
        raise ConfigError(f"missing {missing}: sql_username and sql_password go together (omit both for Windows auth)")
    return WinRMSqlSession(
        endpoint=str(params["winrm_endpoint"]),
        username=str(params["winrm_username"]),
        password=str(params["winrm_password"]),
        server_instance=str(params["server_instance"]),
        transport=transport,
        server_cert_validation=validation,
        sql_username=params.get("sql_username") or None,
        sql_password=params.get("sql_password") if has_user else None,
        operation_timeout_sec=operation_timeout,
        # The host may hold each Receive open for the operation timeout; give the HTTP read more.
        read_timeout_sec=operation_timeout + 10,
    )


def _winrm_common(params: Mapping[str, Any], required: dict[str, str]) -> tuple[str, str, int]:
    """(transport, cert validation, operation timeout) after checking `required` and the shared keys."""
    for key, what in required.items():
        if not _present(params, key):
            raise ConfigError(f"missing {key}: set it to {what}")
    transport = params.get("winrm_transport") or "ntlm"
    if transport not in TRANSPORTS:
        raise ConfigError(f"winrm_transport {transport!r} is not supported: use one of {', '.join(TRANSPORTS)}")
    validation = params.get("winrm_server_cert_validation") or "validate"
    if validation not in CERT_VALIDATION:
        raise ConfigError(f"winrm_server_cert_validation {validation!r} is invalid: use 'validate' or 'ignore'")
    raw_timeout = params.get("operation_timeout_sec")
    try:
        operation_timeout = 20 if raw_timeout is None else int(raw_timeout)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"operation_timeout_sec {raw_timeout!r} is not a whole number of seconds") from exc
    if operation_timeout < 1:
        raise ConfigError(f"operation_timeout_sec must be at least 1, got {operation_timeout}")
    return transport, validation, operation_timeout


def host_from_params(params: Mapping[str, Any]) -> WinRMHost:
    """A WinRMHost from `params` (keys: winrm_endpoint, winrm_username, winrm_password, winrm_transport,
    winrm_server_cert_validation, operation_timeout_sec, dbshift_exe). Unset optional keys may be absent or None."""
    required = {k: v for k, v in _REQUIRED.items() if k != "server_instance"}
    transport, validation, operation_timeout = _winrm_common(params, required)
    return WinRMHost(
        endpoint=str(params["winrm_endpoint"]),
        username=str(params["winrm_username"]),
        password=str(params["winrm_password"]),
        transport=transport,
        server_cert_validation=validation,
        operation_timeout_sec=operation_timeout,
        read_timeout_sec=operation_timeout + 10,
        dbshift_exe=str(params.get("dbshift_exe") or "dbshift.exe"),
    )
