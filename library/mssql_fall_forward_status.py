#!/usr/bin/python
"""Ansible module mssql_fall_forward_status: a thin adapter over dbshift.fallforward.sync.status."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mssql_fall_forward_status
short_description: Report how far the EC2 fall-forward target is behind its RDS source
description:
  - Reads, without changing anything, the target database's state and redo_start_lsn, the newest automated
    log backup RDS has taken of the source, the lag in seconds of the target behind it, and how many log
    backups are still to apply.
  - The work is done by the dbshift library (C(dbshift.fallforward.sync.status)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - dbshift
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Read-only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  source_database:
    description:
      - The database on the RDS source.
    type: str
    required: true
  target_database:
    description:
      - The database on the EC2 target.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: How far behind is SalesDb_ff?
  mssql_fall_forward_status:
    winrm_endpoint: "{{ dbshift_winrm_endpoint }}"
    winrm_username: "{{ dbshift_winrm_username }}"
    winrm_password: "{{ dbshift_winrm_password }}"
    source_server: "{{ dbshift_rds_server }}"
    source_login: "{{ dbshift_rds_login }}"
    source_password: "{{ dbshift_rds_password }}"
    target_server: "{{ dbshift_ec2_server }}"
    source_database: SalesDb
    target_database: SalesDb_ff
  register: sales_status
"""

RETURN = r"""
redo_start_lsn:
  description: The target's redo_start_lsn (null when it is not RESTORING).
  returned: always
  type: int
  sample: 36000000020800001
state:
  description: The target database's state (RESTORING, ONLINE, ...).
  returned: always
  type: str
  sample: RESTORING
newest_backup_time:
  description: Time of the newest automated log backup of the source.
  returned: always
  type: str
  sample: "2026-11-20T10:15:00"
lag_seconds:
  description: Seconds between the newest log backup and the backup of the log that ends at redo_start_lsn.
  returned: always
  type: float
  sample: 0
pending_logs:
  description: Log backups on the source not yet applied to the target.
  returned: always
  type: int
  sample: 0
"""

from ansible.module_utils.dbshift_import import DbshiftImport  # noqa: E402

DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import argument_spec, run_step
    from dbshift.fallforward.sync import status

    ARGUMENT_SPEC = argument_spec(
        source_database={"type": "str", "required": True},
        target_database={"type": "str", "required": True},
    )


def main() -> None:
    module = DBSHIFT.module(lambda: ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    run_step(
        module,
        f"fall-forward status of {p['target_database']}",
        lambda ep: status(ep, p["source_database"], p["target_database"]),
        never_changed=True,
    )


if __name__ == "__main__":
    main()
