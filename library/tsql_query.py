#!/usr/bin/python
"""Ansible module tsql_query: a thin adapter over dbshift's WinRM SQL session."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tsql_query
short_description: Run a T-SQL batch on a SQL Server instance over WinRM and return its rows
description:
  - Sends one T-SQL batch to a SQL Server instance through a Windows host's WinRM endpoint, the
    way C(Invoke-Sqlcmd -ServerInstance) would run it on that host, and returns every result set,
    the PRINT/informational messages and the row count.
  - The work is done by the dbshift library (C(dbshift.tsql.connect.session_from_params)); this
    module only maps options to it and the outcome to C(changed) and the result.
  - "How C(changed) is reported: a batch declared O(read_only=true) never reports C(changed) and
    runs in check mode as well. Any other batch may change the server: it reports C(changed=true)
    when it runs, and in check mode it is not sent at all and reports C(changed=true) with
    RV(executed=false) (it would run). To make a writing step idempotent, probe the state with a
    read-only batch first and guard the write with C(when:) (see EXAMPLES); the probe also runs in
    check mode, so check mode predicts exactly which writes a real run would make."
  - The module does not parse the batch to verify a O(read_only=true) claim, because procedures
    (EXEC) cannot be classified from their text; the claim is the caller's.
  - Against dbshift's emulated estate the SQL Server behind WinRM is an emulator of the documented
    behaviour, not SQL Server itself.
author:
  - dbshift contributors
requirements:
  - python >= 3.11 on the host that runs the module (the controller, with the dbshift package installed)
  - pywinrm (a dependency of dbshift)
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Read-only batches run in check mode. Other batches are not sent and report C(changed=true).
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  server_instance:
    description:
      - The SQL Server instance to connect to, as C(-ServerInstance) takes it, for example
        C(mydb.abc123.us-east-1.rds.amazonaws.com) for RDS or C(EC2AMAZ-1234\SQL2019) for a named
        instance on EC2.
    type: str
    required: true
  query:
    description:
      - The T-SQL batch. It may hold several statements and return several result sets.
      - Do not use C(GO) separators; send separate batches as separate tasks.
      - "The batch text is logged like any module option. Put secrets in it only from a task with
        C(no_log: true)."
    type: str
    required: true
  database:
    description:
      - The database the batch starts in. When omitted, the login's default database.
    type: str
  timeout:
    description:
      - Statement timeout in seconds. When omitted there is no limit, so a long
        C(RESTORE) or C(BACKUP) is never cut off by a default.
    type: int
  read_only:
    description:
      - Declare that the batch only reads. It then never reports C(changed) and also runs in check
        mode. See the description for how C(changed) is reported otherwise.
    type: bool
    default: false
  winrm_endpoint:
    description:
      - The WS-Management URL of the Windows host that can reach the instance, for example
        C(https://sqlhost.example.com:5986/wsman).
    type: str
    required: true
  winrm_username:
    description:
      - The Windows account for WinRM. With O(sql_username) omitted SQL Server sees this account
        (Windows authentication).
    type: str
    required: true
  winrm_password:
    description:
      - Password of O(winrm_username). Never logged or returned.
    type: str
    required: true
  winrm_transport:
    description:
      - The WinRM authentication transport.
    type: str
    default: ntlm
    choices: [basic, ntlm, kerberos, credssp, certificate, plaintext, ssl]
  winrm_server_cert_validation:
    description:
      - Whether to validate the WinRM endpoint's TLS certificate. Use V(ignore) only for
        self-signed test hosts.
    type: str
    default: validate
    choices: [validate, ignore]
  sql_username:
    description:
      - A SQL Server login (SQL authentication), for example the RDS master user. Omit it to use
        Windows authentication as O(winrm_username).
    type: str
  sql_password:
    description:
      - Password of O(sql_username). Never logged or returned.
    type: str
seealso:
  - name: Invoke-Sqlcmd
    description: The PowerShell cmdlet whose behaviour the WinRM session follows.
    link: https://learn.microsoft.com/powershell/module/sqlserver/invoke-sqlcmd
notes:
  - Runs on the controller (C(ansible_connection=local)); the SQL Server host is reached through
    WinRM by the dbshift library, not through an Ansible connection.
"""

EXAMPLES = r"""
- name: Ask the RDS instance who it is
  tsql_query:
    server_instance: "{{ dbshift_rds_server }}"
    sql_username: "{{ dbshift_rds_login }}"
    sql_password: "{{ dbshift_rds_password }}"
    winrm_endpoint: "{{ dbshift_winrm_endpoint }}"
    winrm_username: "{{ dbshift_winrm_username }}"
    winrm_password: "{{ dbshift_winrm_password }}"
    query: SELECT @@SERVERNAME AS server_name, @@VERSION AS version
    read_only: true
  register: rds_identity

# Idempotent write: probe read-only (runs in check mode too), write only when needed.
- name: Look for the scratch database
  tsql_query:
    server_instance: "{{ dbshift_ec2_server }}"
    winrm_endpoint: "{{ dbshift_winrm_endpoint }}"
    winrm_username: "{{ dbshift_winrm_username }}"
    winrm_password: "{{ dbshift_winrm_password }}"
    query: SELECT name FROM sys.databases WHERE name = N'scratch'
    read_only: true
  register: scratch_probe

- name: Create the scratch database
  tsql_query:
    server_instance: "{{ dbshift_ec2_server }}"
    winrm_endpoint: "{{ dbshift_winrm_endpoint }}"
    winrm_username: "{{ dbshift_winrm_username }}"
    winrm_password: "{{ dbshift_winrm_password }}"
    query: CREATE DATABASE [scratch]
  when: scratch_probe.row_count == 0

# A restore can take hours: give it an explicit limit instead of the default (none).
- name: Restore the full backup without recovery
  tsql_query:
    server_instance: "{{ dbshift_ec2_server }}"
    winrm_endpoint: "{{ dbshift_winrm_endpoint }}"
    winrm_username: "{{ dbshift_winrm_username }}"
    winrm_password: "{{ dbshift_winrm_password }}"
    query: RESTORE DATABASE [sales] FROM DISK = N'D:\backup\sales_full.bak' WITH NORECOVERY
    timeout: 14400
"""

RETURN = r"""
executed:
  description:
    - Whether the batch was sent (or its sending attempted). False only when check mode kept a batch
      that is not declared read-only from being sent.
  returned: always
  type: bool
  sample: true
server_instance:
  description: The instance the batch was (or would have been) sent to.
  returned: always
  type: str
  sample: EC2AMAZ-1234\SQL2019
result_sets:
  description: Every result set the batch returned, in order; each is a list of rows as column->value dicts.
  returned: always
  type: list
  elements: list
  sample: [[{"server_name": "EC2AMAZ-1234", "version": "Microsoft SQL Server 2019 ..."}]]
rows:
  description: The rows of the first result set (empty when the batch returned none).
  returned: always
  type: list
  elements: dict
  sample: [{"server_name": "EC2AMAZ-1234", "version": "Microsoft SQL Server 2019 ..."}]
row_count:
  description: The number of rows in RV(rows), that is in the first result set.
  returned: always
  type: int
  sample: 1
messages:
  description: PRINT output and informational messages, in order.
  returned: always
  type: list
  elements: str
  sample: ["Processed 328 pages for database 'sales', file 'sales' on file 1."]
error_number:
  description: The number of the first SQL Server error (as SqlException.Number), for example 4305.
  returned: when SQL Server raised an error
  type: int
  sample: 4305
error_numbers:
  description:
    - The numbers of all SQL Server errors, in order (a failed RESTORE gives two, e.g. 4305 then 3013).
  returned: when SQL Server raised an error
  type: list
  elements: int
  sample: [4305, 3013]
errors:
  description: Every SQL Server error with its number, message, severity, state, line and procedure.
  returned: when SQL Server raised an error
  type: list
  elements: dict
  sample: [{"number": 208, "message": "Invalid object name 'dbo.nope'.", "severity": 16, "state": 1,
            "line": 1, "procedure": ""}]
"""

# Ansible's convention (checked by ansible-test validate-modules): imports follow the doc blocks.
import traceback  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible.module_utils.dbshift_import import DbshiftImport  # noqa: E402

DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.errors import DbshiftError
    from dbshift.tsql import SqlError
    from dbshift.tsql.connect import session_from_params

# Kept at module level so tests can compare it with DOCUMENTATION.
ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "server_instance": {"type": "str", "required": True},
    "query": {"type": "str", "required": True},
    "database": {"type": "str"},
    "timeout": {"type": "int"},
    "read_only": {"type": "bool", "default": False},
    "winrm_endpoint": {"type": "str", "required": True},
    "winrm_username": {"type": "str", "required": True},
    "winrm_password": {"type": "str", "required": True, "no_log": True},
    "winrm_transport": {
        "type": "str",
        "default": "ntlm",
        "choices": ["basic", "ntlm", "kerberos", "credssp", "certificate", "plaintext", "ssl"],
    },
    "winrm_server_cert_validation": {"type": "str", "default": "validate", "choices": ["validate", "ignore"]},
    "sql_username": {"type": "str"},
    "sql_password": {"type": "str", "no_log": True},
}

# The options session_from_params takes; everything else is about the batch.
SESSION_KEYS = (
    "winrm_endpoint",
    "winrm_username",
    "winrm_password",
    "winrm_transport",
    "winrm_server_cert_validation",
    "server_instance",
    "sql_username",
    "sql_password",
)


def empty_result(server_instance: str, executed: bool) -> dict[str, Any]:
    return {
        "executed": executed,
        "server_instance": server_instance,
        "result_sets": [],
        "rows": [],
        "row_count": 0,
        "messages": [],
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_together=[("sql_username", "sql_password")],
        supports_check_mode=True,
    )
    if DBSHIFT.error is not None:
        module.fail_json(
            msg=missing_required_lib("dbshift", reason="to run T-SQL over WinRM")
            + " Run the playbook with the Python environment that has dbshift installed"
            " (ansible_python_interpreter: '{{ ansible_playbook_python }}').",
            exception=DBSHIFT.error,
        )

    p = module.params
    if p["timeout"] is not None and p["timeout"] <= 0:
        module.fail_json(msg=f"timeout must be a positive number of seconds, got {p['timeout']}; omit it for no limit.")
    read_only: bool = p["read_only"]
    server: str = p["server_instance"]

    if module.check_mode and not read_only:
        # We cannot know what an arbitrary batch would change without running it: say it would run.
        module.exit_json(
            changed=True, msg="check mode: batch not sent (not declared read_only)", **empty_result(server, False)
        )

    result = empty_result(server, True)
    session = None
    try:
        session = session_from_params({k: p[k] for k in SESSION_KEYS})
        sql_result = session.execute(p["query"], database=p["database"], timeout=p["timeout"])
    except SqlError as err:
        first = err.errors[0]
        module.fail_json(
            msg=f"SQL Server error {first.number} on {server}: {first.message}",
            error_number=err.number,
            error_numbers=err.numbers,
            errors=[e.to_json() for e in err.errors],
            # A batch can fail after some statements ran; a write may have happened.
            changed=not read_only,
            **{**result, "messages": list(err.partial.messages)},
        )
    except DbshiftError as err:
        # dbshift's messages already name the endpoint and the fix.
        module.fail_json(msg=f"{server}: {err}", changed=False, **result)
    except Exception as err:
        # Transport failures (refused connection, TLS, WinRM auth) carry their cause in the type name.
        module.fail_json(
            msg=f"{server} via {p['winrm_endpoint']}: {type(err).__name__}: {err}",
            exception=traceback.format_exc(),
            changed=False,
            **result,
        )
    finally:
        if session is not None:
            session.close()

    result_sets = [rs.dicts() for rs in sql_result.result_sets]
    result.update(
        result_sets=result_sets,
        rows=result_sets[0] if result_sets else [],
        row_count=len(result_sets[0]) if result_sets else 0,
        messages=list(sql_result.messages),
    )
    module.exit_json(changed=not read_only, **result)


if __name__ == "__main__":
    main()
