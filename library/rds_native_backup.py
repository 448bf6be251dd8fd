#!/usr/bin/python
"""Ansible module rds_native_backup: a thin adapter over dbshift.fallforward.rds.native_backup."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_native_backup
short_description: Take a native FULL backup of an RDS for SQL Server database to S3, once
description:
  - Runs C(msdb.dbo.rds_backup_database) with C(@type='FULL') on the RDS source, writing the backup to
    O(backup_s3_url), optionally encrypted with the customer-managed KMS key O(kms_key_arn), and waits
    for the task in C(msdb.dbo.rds_task_status) until it succeeds, fails or O(task_timeout) passes.
  - Idempotent by object. When O(backup_s3_url) already exists and O(overwrite=false), no task is
    started and C(changed=false); give each database a fixed key so that a rerun finds its backup.
  - A task that ends in ERROR fails the module with the task's C(task_info).
  - The work is done by the dbshift library (C(dbshift.fallforward.rds.native_backup)); this module
    only maps options to it and its result to the return values.
author:
  - dbshift contributors
extends_documentation_fragment:
  - dbshift
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Looks for the object and reports C(changed=true) when a backup would be taken; starts no task.
  diff_mode:
    support: full
    details:
      - The backup object before (absent) and after (present) when a backup is taken.
  platform:
    platforms: posix
options:
  source_database:
    description:
      - The database on the RDS source to back up.
    type: str
    required: true
  backup_s3_url:
    description:
      - Where the backup goes, as C(s3://BUCKET/KEY.bak). The RDS instance's option group
        (SQLSERVER_BACKUP_RESTORE) role must be allowed to write there.
    type: str
    required: true
  kms_key_arn:
    description:
      - ARN of the customer-managed KMS key that encrypts the backup (C(@kms_master_key_arn)). Omit it for
        an unencrypted backup object.
    type: str
  overwrite:
    description:
      - Take a new backup over an existing O(backup_s3_url) (C(@overwrite_s3_backup_file=1)). With V(false)
        an existing object is kept and reported unchanged.
    type: bool
    default: false
  task_timeout:
    description:
      - Seconds to wait for the RDS task before failing. The task keeps running on RDS after a timeout;
        a rerun finds the object once it is written.
    type: int
    default: 3600
  poll_interval:
    description:
      - Seconds between two reads of C(msdb.dbo.rds_task_status).
    type: float
    default: 5.0
seealso:
  - name: RDS for SQL Server native backup and restore
    description: The procedures this module runs.
    link: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/SQLServer.Procedural.Importing.html
"""

EXAMPLES = r"""
- name: Back up SalesDb to S3, encrypted with the runbook's KMS key
  rds_native_backup:
    winrm_endpoint: "{{ dbshift_winrm_endpoint }}"
    winrm_username: "{{ dbshift_winrm_username }}"
    winrm_password: "{{ dbshift_winrm_password }}"
    target_server: "{{ dbshift_ec2_server }}"
    source_server: "{{ dbshift_rds_server }}"
    source_login: "{{ dbshift_rds_login }}"
    source_password: "{{ dbshift_rds_password }}"
    source_database: SalesDb
    backup_s3_url: s3://sales-fall-forward/backups/SalesDb/SalesDb.full.bak
    kms_key_arn: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    task_timeout: 7200
  register: sales_backup
"""

RETURN = r"""
backup_s3_url:
  description: The backup object.
  returned: always
  type: str
  sample: s3://sales-fall-forward/backups/SalesDb/SalesDb.full.bak
task_id:
  description: The RDS task that took the backup; null when none was started (the object existed, or check mode).
  returned: always
  type: int
  sample: 7
lifecycle:
  description: The task's final lifecycle (SUCCESS); null when no task was started.
  returned: always
  type: str
  sample: SUCCESS
"""

from ansible.module_utils.dbshift_import import DbshiftImport  # noqa: E402

DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import WAIT_ARGUMENT_SPEC, argument_spec, check_positive, run_step
    from dbshift.fallforward.rds import native_backup

    ARGUMENT_SPEC = argument_spec(
        WAIT_ARGUMENT_SPEC,
        source_database={"type": "str", "required": True},
        backup_s3_url={"type": "str", "required": True},
        kms_key_arn={"type": "str"},
        overwrite={"type": "bool", "default": False},
    )


def main() -> None:
    module = DBSHIFT.module(lambda: ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    check_positive(module, task_timeout=p["task_timeout"], poll_interval=p["poll_interval"])
    run_step(
        module,
        f"native backup of {p['source_database']} to {p['backup_s3_url']}",
        lambda ep: native_backup(
            ep,
            p["source_database"],
            p["backup_s3_url"],
            kms_key_arn=p["kms_key_arn"],
            overwrite=p["overwrite"],
            task_timeout=p["task_timeout"],
            poll_interval=p["poll_interval"],
            check_mode=module.check_mode,
        ),
        diff=lambda _before, r: {
            "before": {"backup_s3_url": p["backup_s3_url"], "object": "overwritten" if p["overwrite"] else "absent"},
            "after": {"backup_s3_url": r.backup_s3_url, "object": "present (new backup)"},
        },
    )


if __name__ == "__main__":
    main()
