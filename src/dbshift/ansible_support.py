"""What every fall-forward Ansible module shares: the connection options and the step runner.

A module is thin: its own options on top of CONNECTION_ARGUMENT_SPEC, then run_step() builds the
Endpoints from the connection options, runs one dbshift.fallforward step and turns the result (or the
error) into exit_json/fail_json. `module` is an AnsibleModule; this file does not import Ansible so
that the library stays importable (and testable) without it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from typing import Any, TypeVar

from dbshift.errors import DbshiftError
from dbshift.tsql.result import SqlError

T = TypeVar("T")

# Same names in every module; documented once in plugins/doc_fragments/dbshift.py.
CONNECTION_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "winrm_endpoint": {"type": "str", "required": True},
    "winrm_username": {"type": "str", "required": True},
    "winrm_password": {"type": "str", "required": True, "no_log": True},
    "winrm_transport": {
        "type": "str",
        "default": "ntlm",
        "choices": ["basic", "ntlm", "kerberos", "credssp", "certificate", "plaintext", "ssl"],
    },
    "winrm_server_cert_validation": {"type": "str", "default": "validate", "choices": ["validate", "ignore"]},
    # Every step opens all three connections (endpoints_from_params), so all are required.
    "source_server": {"type": "str", "required": True},
    "source_login": {"type": "str", "required": True},
    "source_password": {"type": "str", "required": True, "no_log": True},
    "target_server": {"type": "str", "required": True},
    "endpoint_url": {"type": "str"},
    "region": {"type": "str"},
}

# The RDS task waiters of rds_tde_certificate, rds_native_backup and rds_tlog_copy.
WAIT_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "task_timeout": {"type": "int", "default": 3600},
    "poll_interval": {"type": "float", "default": 5.0},
}

# A hint per SQL Server error number a runbook step can surface unhandled: what to fix.
_SQL_HINTS = {
    18456: "check source_login/source_password (RDS) or the Windows account winrm_username (EC2)",
    15151: "the certificate or object does not exist or the login lacks permission on it",
    3101: "close the sessions using the database on the target, then run again",
    3117: "the target database is not RESTORING; it was recovered, so restore it again (replace: true)",
    4305: "a log backup is missing from the chain; run the sync again after RDS has copied it",
    3201: "the backup file is not where SQL Server looks; check host_dir on the EC2 host",
}


def argument_spec(*parts: Mapping[str, dict[str, Any]], **own: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """CONNECTION_ARGUMENT_SPEC plus `parts` and the module's own options (a fresh dict)."""
    spec = {k: dict(v) for k, v in CONNECTION_ARGUMENT_SPEC.items()}
    for part in parts:
        spec.update({k: dict(v) for k, v in part.items()})
    spec.update(own)
    return spec


def connection_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The connection options endpoints_from_params takes, from a module's params."""
    return {k: params.get(k) for k in CONNECTION_ARGUMENT_SPEC}


def check_positive(module: Any, **values: float | None) -> None:
    """fail_json naming the option when a timeout/interval/count is not positive."""
    for name, value in values.items():
        if value is not None and value <= 0:
            module.fail_json(msg=f"{name} must be a positive number, got {value}; set {name} to a value above 0.")


def result_dict(result: Any) -> dict[str, Any]:
    """A step result as module return values (its to_dict(), or the dataclass's fields)."""
    data = result.to_dict() if hasattr(result, "to_dict") else asdict(result) if is_dataclass(result) else {}
    return dict(data)


def sql_error_message(err: SqlError) -> str:
    first = err.errors[0]
    hint = _SQL_HINTS.get(first.number)
    return f"SQL Server error {first.number}{f' on {err.server}' if err.server else ''}: {first.message}" + (
        f" ({hint})" if hint else ""
    )


def database_state(session: Any, database: str) -> str:
    """sys.databases.state_desc of `database` (RESTORING, ONLINE, ...), or "ABSENT"."""
    rows = session.execute(
        "SELECT state_desc FROM sys.databases WHERE name = N'" + database.replace("'", "''") + "'",
        database="master",
    ).rows
    return str(rows[0]["state_desc"]) if rows else "ABSENT"


def redo_start_lsn(session: Any, database: str) -> int | None:
    """The target's redo_start_lsn (where the next RESTORE LOG must start), None unless RESTORING."""
    rows = session.execute(
        "SELECT redo_start_lsn FROM sys.master_files WHERE database_id = DB_ID(N'"
        + database.replace("'", "''")
        + "') AND file_id = 1",
        database="master",
    ).rows
    value = rows[0]["redo_start_lsn"] if rows else None
    return int(value) if value is not None else None


def run_step(
    module: Any,
    what: str,
    step: Callable[[Any], T],
    before: Callable[[Any], Any] | None = None,
    diff: Callable[[Any, T], dict[str, Any]] | None = None,
    never_changed: bool = False,
) -> None:
    """Build the Endpoints, run `step(endpoints)`, exit_json with the result; fail_json on any error.

    `what` names the step and its object in failure messages ("restore of SalesDb on EC2AMAZ-1").
    `before(endpoints)` reads the state the diff starts from (only in diff mode); `diff(before, result)`
    returns {"before": ..., "after": ...}. `never_changed` is for read-only steps.
    """
    from dbshift.fallforward.endpoints import endpoints_from_params

    endpoints = None
    try:
        endpoints = endpoints_from_params(connection_params(module.params))
        prior = before(endpoints) if (before is not None and module._diff) else None
        result = step(endpoints)
        data = result_dict(result)
        data["changed"] = False if never_changed else bool(getattr(result, "changed", data.get("changed", False)))
        if diff is not None and module._diff and data["changed"]:
            data["diff"] = diff(prior, result)
    except SqlError as err:
        module.fail_json(
            msg=f"{what}: {sql_error_message(err)}",
            error_number=err.number,
            error_numbers=err.numbers,
            errors=[e.to_json() for e in err.errors],
        )
    except DbshiftError as err:
        # dbshift's messages already name the input and the fix.
        module.fail_json(msg=f"{what}: {err}")
    except Exception as err:
        # Transport failures (WinRM refused/auth, TLS, AWS credentials) carry their cause in the type name.
        module.fail_json(
            msg=f"{what} via {module.params.get('winrm_endpoint')}: {type(err).__name__}: {err}",
            exception=traceback.format_exc(),
        )
    finally:
        if endpoints is not None:
            endpoints.close()
    module.exit_json(**data)
