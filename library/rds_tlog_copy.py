#!/usr/bin/python
"""Ansible module rds_tlog_copy: a thin adapter over dbshift.fallforward.sync.tlog_copy."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_tlog_copy
short_description: Copy the RDS log backups the EC2 target still needs to S3
description:
  - Reads the target database's redo_start_lsn, sets up C(msdb.dbo.rds_tlog_copy_setup) with
    O(tlog_s3_prefix) only if the instance is not configured yet, lists the source's automated log
    backups with C(msdb.dbo.rds_fn_list_tlog_backup_metadata) whose ending LSN is past redo_start_lsn,
    checks that they continue the target's LSN chain, and runs C(msdb.dbo.rds_tlog_backup_copy_to_S3)
    for the seq-id range not yet in S3, encrypted with O(kms_key_arn); then waits for the task.
  - A gap in the chain fails the module before anything is copied, naming the missing LSN range.
  - RDS allows one copy task per database and two per instance; a running task is waited for instead
    of failing.
  - Returns the logs to apply in order and the seq ids to fetch for M(rds_tlog_fetch).
  - The work is done by the dbshift library (C(dbshift.fallforward.sync.tlog_copy)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - dbshift
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads both instances and S3 and reports C(changed=true) when logs would be copied; starts no task.
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
      - The database on the EC2 target, RESTORING (see M(mssql_restore_database)).
    type: str
    required: true
  tlog_s3_prefix:
    description:
      - Where RDS copies log backups, as C(s3://BUCKET/PREFIX/). RDS writes each database's logs under
        C(<db_id>.<family_guid>/) below it. The instance keeps one such target; an instance already set up
        with a different one fails the module naming both.
    type: str
    required: true
  kms_key_arn:
    description:
      - ARN of the customer-managed KMS key RDS encrypts the copies with.
    type: str
    required: true
  task_timeout:
    description:
      - Seconds to wait for the copy task (and for a running one to finish) before failing.
    type: int
    default: 3600
  poll_interval:
    description:
      - Seconds between two reads of C(msdb.dbo.rds_task_status).
    type: float
    default: 5.0
seealso:
  - module: rds_tlog_fetch
  - module: mssql_restore_log
  - name: Access to transaction log backups with RDS for SQL Server
    description: rds_tlog_copy_setup, rds_fn_list_tlog_backup_metadata and rds_tlog_backup_copy_to_S3.
    link: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER.SQLServer.AddlFeat.TransactionLogAccess.html
"""

EXAMPLES = r"""
- name: Copy the log backups SalesDb_ff still needs to S3
  rds_tlog_copy:
    winrm_endpoint: "{{ dbshift_winrm_endpoint }}"
    winrm_username: "{{ dbshift_winrm_username }}"
    winrm_password: "{{ dbshift_winrm_password }}"
    source_server: "{{ dbshift_rds_server }}"
    source_login: "{{ dbshift_rds_login }}"
    source_password: "{{ dbshift_rds_password }}"
    target_server: "{{ dbshift_ec2_server }}"
    source_database: SalesDb
    target_database: SalesDb_ff
    tlog_s3_prefix: s3://sales-fall-forward/tlogs/
    kms_key_arn: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
  register: sales_copy
"""

RETURN = r"""
redo_start_lsn:
  description: The target's redo_start_lsn the range was chosen from.
  returned: always
  type: int
  sample: 36000000012800001
logs:
  description: The log backups to apply, in LSN order, each with seq, first_lsn, last_lsn, key and backup_time.
  returned: always
  type: list
  elements: dict
  sample: [{"seq": 12, "first_lsn": 36000000012800001, "last_lsn": 36000000020800001, "key": null,
            "backup_time": "2026-11-20T10:05:00"}]
start_seq:
  description: The first seq id to fetch; null when there is nothing to apply.
  returned: always
  type: int
  sample: 12
end_seq:
  description: The last seq id to fetch; null when there is nothing to apply.
  returned: always
  type: int
  sample: 14
seqs:
  description:
    - The seq ids of this database's log backups from RV(start_seq) to RV(end_seq), the ones to fetch (give
      them to M(rds_tlog_fetch) as O(rds_tlog_fetch#module:seqs)); empty when there is nothing to apply.
    - The list can have holes, because RDS may number log backups per instance rather than per database
      (other databases' backups take the numbers in between).
  returned: always
  type: list
  elements: int
  sample: [12, 13, 15]
s3_prefix:
  description: Where this database's log copies are, C(s3://BUCKET/PREFIX/<db_id>.<family_guid>/).
  returned: always
  type: str
  sample: s3://sales-fall-forward/tlogs/db-ABCDEFGHIJKL.0a1b2c3d-0000-4000-8000-000000000001/
newest_backup_time:
  description: Time of the newest automated log backup on the source.
  returned: always
  type: str
  sample: "2026-11-20T10:15:00"
"""

from ansible.module_utils.dbshift_import import DbshiftImport  # noqa: E402

DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import WAIT_ARGUMENT_SPEC, argument_spec, check_positive, run_step
    from dbshift.fallforward.sync import tlog_copy

    ARGUMENT_SPEC = argument_spec(
        WAIT_ARGUMENT_SPEC,
        source_database={"type": "str", "required": True},
        target_database={"type": "str", "required": True},
        tlog_s3_prefix={"type": "str", "required": True},
        kms_key_arn={"type": "str", "required": True},
    )


def main() -> None:
    module = DBSHIFT.module(lambda: ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    check_positive(module, task_timeout=p["task_timeout"], poll_interval=p["poll_interval"])
    run_step(
        module,
        f"log backup copy of {p['source_database']} for {p['target_database']}",
        lambda ep: tlog_copy(
            ep,
            p["source_database"],
            p["target_database"],
            p["tlog_s3_prefix"],
            p["kms_key_arn"],
            task_timeout=p["task_timeout"],
            poll_interval=p["poll_interval"],
            check_mode=module.check_mode,
        ),
    )


if __name__ == "__main__":
    main()
