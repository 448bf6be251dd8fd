#!/usr/bin/python
"""Ansible module mssql_cutover: a thin adapter over dbshift.fallforward.cutover.cutover."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mssql_cutover
short_description: Bring the EC2 fall-forward database online (RESTORE DATABASE ... WITH RECOVERY)
description:
  - Runs C(RESTORE DATABASE ... WITH RECOVERY) on the RESTORING target database, which makes it ONLINE and
    ends the log chain; no further log backup can be applied after it.
  - Refuses unless O(confirm_cutover=true); then nothing is changed or even read.
  - Idempotent. A database already ONLINE is left alone (C(changed=false)).
  - Apply the last log backups first (M(rds_tlog_copy), M(rds_tlog_fetch), M(mssql_restore_log)); the
    C(fall_forward_cutover) role does.
  - The work is done by the dbshift library (C(dbshift.fallforward.cutover.cutover)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - dbshift
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the database's state and reports C(changed=true) when it would be recovered.
  diff_mode:
    support: full
    details:
      - The database's state before (RESTORING) and after (ONLINE).
  platform:
    platforms: posix
options:
  target_database:
    description:
      - The RESTORING database on the EC2 target.
    type: str
    required: true
  confirm_cutover:
    description:
      - Must be V(true) for anything to happen. Recovery cannot be undone, because the database stops
        following its RDS source.
    type: bool
    default: false
seealso:
  - module: mssql_restore_log
"""

EXAMPLES = r"""
- name: Cut over to SalesDb_ff
  mssql_cutover:
    winrm_endpoint: "{{ dbshift_winrm_endpoint }}"
    winrm_username: "{{ dbshift_winrm_username }}"
    winrm_password: "{{ dbshift_winrm_password }}"
    source_server: "{{ dbshift_rds_server }}"
    source_login: "{{ dbshift_rds_login }}"
    source_password: "{{ dbshift_rds_password }}"
    target_server: "{{ dbshift_ec2_server }}"
    target_database: SalesDb_ff
    confirm_cutover: true
"""

RETURN = r"""
state:
  description: The database's state after the run (in check mode, what it would be).
  returned: always
  type: str
  sample: ONLINE
"""

from ansible.module_utils.dbshift_import import DbshiftImport  # noqa: E402

DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import argument_spec, database_state, run_step
    from dbshift.fallforward.cutover import cutover

    ARGUMENT_SPEC = argument_spec(
        target_database={"type": "str", "required": True},
        confirm_cutover={"type": "bool", "default": False},
    )


def main() -> None:
    module = DBSHIFT.module(lambda: ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    db = p["target_database"]
    if not p["confirm_cutover"]:
        # Refuse before connecting: recovery ends the fall-forward chain and cannot be undone.
        module.fail_json(
            msg=f"refusing to recover {db}: cutover ends the log chain from RDS and cannot be undone; "
            "set confirm_cutover: true to cut over. Nothing was changed.",
            changed=False,
        )
    run_step(
        module,
        f"cutover of {db} on {p['target_server']}",
        lambda ep: cutover(ep, db, confirm=True, check_mode=module.check_mode),
        before=lambda ep: database_state(ep.target, db),
        diff=lambda before, r: {
            "before": {"database": db, "state": before},
            "after": {"database": db, "state": r.state},
        },
    )


if __name__ == "__main__":
    main()
