#!/usr/bin/python
"""Ansible module mssql_restore_log: a thin adapter over dbshift.fallforward.sync.restore_logs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mssql_restore_log
short_description: Apply log backups to a RESTORING database on the EC2 target, in LSN order
description:
  - Reads the header of every file in O(files) (C(RESTORE HEADERONLY), batched), checks them against the
    target's current redo_start_lsn with the log-chain rules, and applies the ones still needed with
    C(RESTORE LOG ... WITH NORECOVERY) in LSN order, several per WinRM round trip.
  - "Chain rules: a log whose LastLSN is at or before redo_start_lsn is already applied and skipped; the
    first log applied must have FirstLSN <= redo_start_lsn < LastLSN; each next log's FirstLSN must equal
    the previous one's LastLSN; an empty log (FirstLSN = LastLSN) is skipped."
  - A gap fails the module before any log is applied, naming the missing LSN range. SQL Server errors are
    handled by number. 4326 (log too early) is skipped. 4305 (gap) stops, naming the range. 4319 (an
    interrupted restore) is retried WITH RESTART. 3101 (no exclusive access) names the sessions holding
    the database. 3117 (not RESTORING) stops.
  - Idempotent. Running it again with the same files applies nothing (C(changed=false)).
  - The work is done by the dbshift library (C(dbshift.fallforward.sync.restore_logs)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - dbshift
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the headers and the target's redo_start_lsn and reports what would be applied; applies nothing.
  diff_mode:
    support: full
    details:
      - The target's redo_start_lsn before and after the logs applied.
  platform:
    platforms: posix
options:
  target_database:
    description:
      - The RESTORING database on the EC2 target.
    type: str
    required: true
  files:
    description:
      - Decrypted log backups on the EC2 host (RV(rds_tlog_fetch#module:files)). Their order does not
        matter; the module orders them by LSN.
    type: list
    elements: str
    required: true
  batch_size:
    description:
      - The most C(RESTORE LOG) statements sent in one WinRM round trip.
    type: int
    default: 20
seealso:
  - module: rds_tlog_fetch
  - name: Apply transaction log backups (SQL Server)
    link: https://learn.microsoft.com/sql/relational-databases/backup-restore/apply-transaction-log-backups-sql-server
"""

EXAMPLES = r"""
- name: Apply the fetched log backups to SalesDb_ff
  mssql_restore_log:
    winrm_endpoint: "{{ dbshift_winrm_endpoint }}"
    winrm_username: "{{ dbshift_winrm_username }}"
    winrm_password: "{{ dbshift_winrm_password }}"
    source_server: "{{ dbshift_rds_server }}"
    source_login: "{{ dbshift_rds_login }}"
    source_password: "{{ dbshift_rds_password }}"
    target_server: "{{ dbshift_ec2_server }}"
    target_database: SalesDb_ff
    files: "{{ sales_fetch.files }}"
  register: sales_restore
"""

RETURN = r"""
applied:
  description: The logs applied (or, in check mode, to apply), in order, each with file, first_lsn and last_lsn.
  returned: always
  type: list
  elements: dict
  sample: [{"file": "D:\\dbshift\\SalesDb_ff\\tlogs\\x.12.trn.out", "first_lsn": 36000000012800001,
            "last_lsn": 36000000020800001}]
skipped:
  description: Files not applied because they were already applied or empty.
  returned: always
  type: list
  sample: []
lsn_reached:
  description: The target's redo_start_lsn after the run (in check mode, what it would be).
  returned: always
  type: int
  sample: 36000000020800001
"""

from ansible.module_utils.dbshift_import import DbshiftImport  # noqa: E402

DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import argument_spec, check_positive, redo_start_lsn, run_step
    from dbshift.fallforward.sync import restore_logs

    ARGUMENT_SPEC = argument_spec(
        target_database={"type": "str", "required": True},
        files={"type": "list", "elements": "str", "required": True},
        batch_size={"type": "int", "default": 20},
    )


def main() -> None:
    module = DBSHIFT.module(lambda: ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    db = p["target_database"]
    check_positive(module, batch_size=p["batch_size"])
    run_step(
        module,
        f"RESTORE LOG of {db} on {p['target_server']}",
        lambda ep: restore_logs(ep, db, p["files"], batch_size=p["batch_size"], check_mode=module.check_mode),
        before=lambda ep: redo_start_lsn(ep.target, db),
        diff=lambda before, r: {"before": {"redo_start_lsn": before}, "after": {"redo_start_lsn": r.lsn_reached}},
    )


if __name__ == "__main__":
    main()
