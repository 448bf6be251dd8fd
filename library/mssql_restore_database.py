#!/usr/bin/python
"""Ansible module mssql_restore_database: a thin adapter over dbshift.fallforward.full_restore."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mssql_restore_database
short_description: Restore a native backup from S3 on the EC2 target WITH NORECOVERY, once
description:
  - Gets the C(.bak) at O(backup_s3_url) onto the EC2 host under O(host_dir) (the dbshift CLI on the host
    downloads it, decrypting a KMS-encrypted native backup on the way; a file already there and complete
    is not fetched again), reads its header and runs C(RESTORE DATABASE ... WITH NORECOVERY) on the target,
    so that transaction log backups can be applied after it.
  - Idempotent. When the target database is already RESTORING from that backup (the target's restore
    history holds the same backup family and checkpoint LSN), nothing is done and C(changed=false).
  - Safe by default. An ONLINE target database is never replaced unless O(replace=true).
  - The work is done by the dbshift library (C(dbshift.fallforward.full_restore.ensure_restoring)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - dbshift
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the target's state and restore history and reports C(changed=true) when a restore would run;
        downloads nothing and restores nothing.
  diff_mode:
    support: full
    details:
      - The target database's state before (for example ABSENT) and after (RESTORING).
  platform:
    platforms: posix
options:
  backup_s3_url:
    description:
      - The native FULL backup, as C(s3://BUCKET/KEY.bak) (what M(rds_native_backup) wrote). The EC2 host's
        instance profile must be allowed to read it (and to decrypt it with its KMS key).
    type: str
    required: true
  target_database:
    description:
      - The database name on the target. It may differ from the source's (a restore under a new name).
    type: str
    required: true
  host_dir:
    description:
      - Directory on the EC2 host for the backup file, for example C(D:\dbshift\SalesDb).
    type: str
    required: true
  move:
    description:
      - Where each file of the backup goes on the target (C(WITH MOVE)), as logical file name to physical
        path (see EXAMPLES). Files not listed go to the target's default data and log directories as
        C(<target_database>_<logical name>.mdf/.ndf/.ldf).
    type: dict
  replace:
    description:
      - Replace an existing target database that is not RESTORING from this backup (C(WITH REPLACE)).
        Without it an ONLINE target database fails the module, naming this option.
    type: bool
    default: false
seealso:
  - module: rds_native_backup
  - name: RESTORE Statements (Transact-SQL)
    description: WITH NORECOVERY, MOVE and REPLACE.
    link: https://learn.microsoft.com/sql/t-sql/statements/restore-statements-transact-sql
"""

EXAMPLES = r"""
- name: Restore SalesDb on the EC2 target as SalesDb_ff, ready for log backups
  mssql_restore_database:
    winrm_endpoint: "{{ dbshift_winrm_endpoint }}"
    winrm_username: "{{ dbshift_winrm_username }}"
    winrm_password: "{{ dbshift_winrm_password }}"
    source_server: "{{ dbshift_rds_server }}"
    source_login: "{{ dbshift_rds_login }}"
    source_password: "{{ dbshift_rds_password }}"
    target_server: "{{ dbshift_ec2_server }}"
    backup_s3_url: s3://sales-fall-forward/backups/SalesDb/SalesDb.full.bak
    target_database: SalesDb_ff
    host_dir: D:\dbshift\SalesDb_ff
    move:
      SalesDb: E:\data\SalesDb_ff.mdf
      SalesDb_log: F:\log\SalesDb_ff_log.ldf
"""

RETURN = r"""
action:
  description: V(present) the target was already RESTORING from this backup; V(restored) it was (or would be) restored.
  returned: always
  type: str
  sample: restored
target_database:
  description: The target database.
  returned: always
  type: str
  sample: SalesDb_ff
redo_start_lsn:
  description: The target's redo_start_lsn after the restore, where the first log backup must start; null in check mode.
  returned: always
  type: int
  sample: 36000000012800001
host_path:
  description: The backup file on the EC2 host.
  returned: always
  type: str
  sample: D:\dbshift\SalesDb_ff\SalesDb.full.bak
"""

from ansible.module_utils.dbshift_import import DbshiftImport  # noqa: E402

DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import argument_spec, database_state, run_step
    from dbshift.fallforward.full_restore import ensure_restoring

    ARGUMENT_SPEC = argument_spec(
        backup_s3_url={"type": "str", "required": True},
        target_database={"type": "str", "required": True},
        host_dir={"type": "str", "required": True},
        move={"type": "dict"},
        replace={"type": "bool", "default": False},
    )


def main() -> None:
    module = DBSHIFT.module(lambda: ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    db = p["target_database"]
    move = {str(k): str(v) for k, v in (p["move"] or {}).items()} or None
    run_step(
        module,
        f"restore of {db} on {p['target_server']} from {p['backup_s3_url']}",
        lambda ep: ensure_restoring(
            ep,
            p["backup_s3_url"],
            db,
            p["host_dir"],
            move=move,
            replace=p["replace"],
            check_mode=module.check_mode,
        ),
        before=lambda ep: database_state(ep.target, db),
        diff=lambda before, _r: {
            "before": {"database": db, "state": before},
            "after": {"database": db, "state": "RESTORING"},
        },
    )


if __name__ == "__main__":
    main()
