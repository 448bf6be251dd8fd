#!/usr/bin/python
"""Ansible module dr_rds: a thin adapter over dbshift.dr (rds, choose, parity, native_dump)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dr_rds
short_description: Recover an RDS DB instance in another AWS Region (replica, replicated backups, snapshot copy, dump)
description:
  - Runs one option of the cross-Region migration guide for RDS, or picks one with O(dr_option=auto).
  - V(promote_replica) (A) promotes the cross-Region read replica O(replica_id) in O(target_region).
  - V(pitr_replicated_backup) (B) restores O(target_instance_id) to a point in time from the source's automated
    backups replicated into O(target_region).
  - V(snapshot_copy) (C) copies the newest (or the named O(snapshot_id)) snapshot into O(target_region)
    re-encrypted with O(kms_key_arn), a key of that Region (an unencrypted source is encrypted by the copy),
    and restores O(target_instance_id) from it with the target settings, never publicly accessible.
  - V(native_dump) (D) - the control plane is down, the database answers - dumps the source database natively, by
    the scheme of O(source_dsn) - PostgreSQL (pg_dump in an exported snapshot), MySQL/MariaDB (mysqldump
    --single-transaction) or RDS for SQL Server (rds_backup_database to O(source_dump_bucket), copied to
    O(dump_bucket) re-encrypted with O(kms_key_arn), rds_restore_database on the target). PostgreSQL and MySQL
    dumps are compressed and encrypted before they leave the host and streamed to O(dump_bucket) in
    O(target_region) over TLS. The dump is restored into O(target_dsn) (the same engine) and row counts and
    checksums are verified; RV(engine) says which engine it was.
  - V(auto) inspects what exists (a replica, replicated backups, a recent snapshot, whether the source Region's
    API answers, whether the database answers) and runs the first feasible option in the order A, B, C, D,
    returning the reasons. A target made by an earlier run (found by dbshift's C(dbshift:dr-*) tags) is reported
    again, unchanged, whatever exists now.
  - A KMS key of another Region is refused before anything is created, naming the key and the fix.
  - Every step waits for its result (snapshot available, instance available) up to O(wait_timeout) and stops
    with a message naming the resource and its state. A rerun finds its own results and reports C(changed=false).
  - Security parity - the new instance must be encrypted, not publicly accessible, and at least as Multi-AZ,
    deletion-protected and backed up as the source. A shortfall fails the module unless waived by name in
    O(parity_waive).
  - The work is done by the dbshift library (C(dbshift.dr)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - dr_runbook
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads both Regions (and for V(auto) makes the choice) and reports C(changed=true) when an instance would
        be promoted or restored; creates, copies and promotes nothing. V(native_dump) reads the source (in a
        read-only snapshot), the dump's manifest in S3 and the target, and reports a change only when a run would
        dump or restore; it writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  dr_option:
    description:
      - The guide's option to run, or V(auto) to pick the first feasible one.
    type: str
    default: auto
    choices: [auto, promote_replica, pitr_replicated_backup, snapshot_copy, native_dump]
  source_region:
    description:
      - The Region of the source DB instance (the impaired one).
    type: str
    required: true
  source_instance_id:
    description:
      - The source DB instance identifier.
    type: str
    required: true
  source_arn:
    description:
      - ARN of the source instance. Needed for V(pitr_replicated_backup) when the source Region does not answer
        (it cannot be looked up there); looked up otherwise.
    type: str
  target_region:
    description:
      - The Region to recover into.
    type: str
    required: true
  target_instance_id:
    description:
      - Identifier of the new instance (options B and C). Option A keeps the replica's identifier.
    type: str
  replica_id:
    description:
      - The read replica to promote (option A). V(auto) finds the source's replica in O(target_region) itself.
    type: str
  snapshot_id:
    description:
      - Option C - the source snapshot to copy; the newest available one of O(source_instance_id) when omitted.
    type: str
  restore_time:
    description:
      - Option B - the point in time (ISO 8601, e.g. C(2026-11-20T10:00:00+00:00)); the latest restorable time
        when omitted.
    type: str
  kms_key_arn:
    description:
      - ARN of a KMS key in O(target_region) that encrypts the snapshot copy (option C) or the dump (option D; for
        SQL Server the copy of the C(.bak) in O(dump_bucket)). A key of another Region is refused before anything
        is created.
    type: str
  subnet_group:
    description:
      - DB subnet group of the new instance in O(target_region).
    type: str
  security_group_ids:
    description:
      - VPC security groups of the new instance.
    type: list
    elements: str
    default: []
  instance_class:
    description:
      - Instance class of the new instance; the snapshot's when omitted.
    type: str
  multi_az:
    description:
      - Make the new instance Multi-AZ.
    type: bool
    default: false
  deletion_protection:
    description:
      - Turn deletion protection on for the new instance.
    type: bool
    default: true
  backup_retention_days:
    description:
      - Backup retention of the new (or promoted) instance, in days.
    type: int
  option_group:
    description:
      - Option group of the new instance in O(target_region). SQL Server and Oracle option groups are not copied
        across Regions; options the source has and this group lacks are returned in RV(missing_options).
    type: str
  parity_waive:
    description:
      - Security-parity shortfalls to accept, by name. Anything not named fails the module.
    type: list
    elements: str
    default: []
    choices: [storage_encrypted, publicly_accessible, multi_az, deletion_protection, backup_retention,
              bucket_tls_only, bucket_public_access_block]
  infeasible_options:
    description:
      - V(auto) - options ruled out for the affected Region, by name or letter (A-D).
    type: list
    elements: str
    default: []
  snapshot_max_age_hours:
    description:
      - V(auto) - a snapshot older than this is not recent enough for option C.
    type: int
    default: 24
  source_dsn:
    description:
      - Option D - the source database server; its scheme chooses the engine (V(auto) probes it in O(database)).
      - PostgreSQL - C(postgresql://USER:PASSWORD@HOST:PORT) or a libpq key=value string (C(host=... user=...)).
      - MySQL or MariaDB - C(mysql://USER:PASSWORD@HOST:PORT[?option=value]) (C(mariadb://) too; options are
        mysql client options such as C(ssl-ca=/path/ca.pem)).
      - RDS for SQL Server - C(mssql://LOGIN:PASSWORD@HOST:PORT) (C(sqlserver://) too), over TDS.
      - Percent-encode special characters of a URL's user and password. Never logged or returned.
    type: str
  database:
    description:
      - Option D - the source database to dump.
    type: str
  dump_bucket:
    description:
      - Option D - a bucket in O(target_region) receiving the encrypted dump (TLS-only, public access blocked).
    type: str
  dump_key:
    description:
      - Option D - object key of the dump; when omitted C(<source_instance_id>/<database>) with the engine's suffix
        - C(.dump) (PostgreSQL), C(.sql) (MySQL/MariaDB) or C(.bak) (SQL Server). For SQL Server the same key is
        used in O(source_dump_bucket).
    type: str
  target_dsn:
    description:
      - Option D - the target database server, in the forms of O(source_dsn) and of the same engine (a dump is
        restored into the engine it came from). Never logged or returned.
    type: str
  target_database:
    description:
      - Option D - database to restore into; O(database) when omitted.
      - PostgreSQL - created if missing.
      - MySQL/MariaDB - only into an absent (created) or empty database, or one an earlier run restored with the
        same data; a database holding other data is refused (MySQL cannot rename databases, so no swap).
      - SQL Server - must not exist (rds_restore_database creates it), or already hold the same data (a rerun).
    type: str
  source_dump_bucket:
    description:
      - Option D for SQL Server only - a bucket in O(source_region) that rds_backup_database writes the C(.bak)
        to (the source instance's option group needs SQLSERVER_BACKUP_RESTORE with access to it); the backup is
        then copied to O(dump_bucket).
    type: str
  source_kms_key_arn:
    description:
      - Option D for SQL Server only - ARN of a KMS key in O(source_region) that rds_backup_database encrypts the
        backup with (C(@kms_master_key_arn)).
    type: str
notes:
  - Runs on the controller with the Python environment that has dbshift installed.
  - Only the target Region is called for option A; option C reads the snapshot from the source Region.
seealso:
  - name: Copying a DB snapshot for Amazon RDS
    description: Cross-Region copies and KMS keys (keys are Region-specific).
    link: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_CopySnapshot.html
  - name: Replicating automated backups to another AWS Region
    link: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReplicateBackups.html
requirements:
  - python >= 3.11 on the controller, with the dbshift package installed
"""

EXAMPLES = r"""
- name: Copy the newest snapshot to us-west-2 re-encrypted with the Region's key, restore it
  dr_rds:
    dr_option: snapshot_copy
    source_region: us-east-1
    source_instance_id: sales-db
    target_region: us-west-2
    target_instance_id: sales-db-dr
    kms_key_arn: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    subnet_group: sales-dr
    security_group_ids: [sg-0123456789abcdef0]
    instance_class: db.r6i.large
    multi_az: true
    backup_retention_days: 7
  register: sales_dr

- name: Let the runbook choose (replica, replicated backups, snapshot, dump), accepting a Single-AZ target
  dr_rds:
    dr_option: auto
    source_region: us-east-1
    source_instance_id: sales-db
    target_region: us-west-2
    target_instance_id: sales-db-dr
    kms_key_arn: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    infeasible_options: [A]
    parity_waive: [multi_az]

- name: The RDS API of us-east-1 is down but the MySQL database answers - dump it and restore it in us-west-2
  dr_rds:
    dr_option: native_dump
    source_region: us-east-1
    source_instance_id: shop-db
    target_region: us-west-2
    # mysql://USER:PASSWORD@HOST:3306, from a vault
    source_dsn: "{{ vault_shop_dsn }}"
    target_dsn: "{{ vault_shop_dr_dsn }}"
    database: shop
    dump_bucket: shop-dr-dumps-us-west-2
    kms_key_arn: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab

- name: The same for RDS for SQL Server - native backup in the source Region, copied, restored in the target
  dr_rds:
    dr_option: native_dump
    source_region: us-east-1
    source_instance_id: erp-db
    target_region: us-west-2
    # mssql://LOGIN:PASSWORD@HOST:1433, from a vault
    source_dsn: "{{ vault_erp_dsn }}"
    target_dsn: "{{ vault_erp_dr_dsn }}"
    database: ERP
    source_dump_bucket: erp-backups-us-east-1
    source_kms_key_arn: arn:aws:kms:us-east-1:123456789012:key/0987dcba-09ab-87cd-65ef-0987654321ba
    dump_bucket: erp-dr-dumps-us-west-2
    kms_key_arn: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
"""

RETURN = r"""
changed:
  description: Whether an instance was promoted or restored (or, in check mode, would be).
  returned: always
  type: bool
  sample: true
option:
  description: The option run (the chosen one for V(auto)).
  returned: always
  type: str
  sample: snapshot_copy
reasons:
  description: V(auto) - why the option was chosen and why each earlier one was skipped; empty otherwise.
  returned: always
  type: list
  elements: str
  sample: ["source Region us-east-1 RDS API: answers",
           "C snapshot_copy chosen: snapshot rds:sales-db-... is 42 min old"]
region:
  description: The Region of the recovered instance.
  returned: success
  type: str
  sample: us-west-2
instance_id:
  description: Identifier of the recovered instance (option D - the target database).
  returned: success
  type: str
  sample: sales-db-dr
instance_arn:
  description: ARN of the recovered instance.
  returned: success
  type: str
  sample: arn:aws:rds:us-west-2:123456789012:db:sales-db-dr
status:
  description: Its DBInstanceStatus (V(would_create) or V(would_promote) in check mode); for V(native_dump)
    V(restored), or V(would_dump) / V(would_restore) in check mode.
  returned: success
  type: str
  sample: available
endpoint:
  description: Its endpoint address, for the application's configuration or the DNS cutover.
  returned: success
  type: str
  sample: sales-db-dr.abcdefghijkl.us-west-2.rds.amazonaws.com
port:
  description: Its endpoint port.
  returned: success
  type: int
  sample: 5432
engine:
  description: Its database engine; for option D the engine of the dump - V(postgres), V(mysql) or V(sqlserver).
  returned: success
  type: str
  sample: postgres
storage_encrypted:
  description: Whether its storage is encrypted.
  returned: success
  type: bool
  sample: true
kms_key_id:
  description: The KMS key encrypting it.
  returned: success
  type: str
  sample: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
source:
  description: What it was recovered from (snapshot ARN, source ARN or Region/instance).
  returned: success
  type: str
  sample: arn:aws:rds:us-east-1:123456789012:snapshot:rds:sales-db-2026-11-20-10-00
snapshot_copy_id:
  description: Option C - the snapshot copy in the target Region.
  returned: success
  type: str
  sample: sales-db-dr-dr-copy
restore_time:
  description: Option B - the point in time restored to.
  returned: success
  type: str
  sample: latest restorable time (2026-11-20 10:05:00+00:00)
missing_options:
  description: Options of the source's option group the target's lacks (recreate them or accept the gap).
  returned: success
  type: list
  elements: str
  sample: [SQLSERVER_BACKUP_RESTORE]
steps:
  description: What was done or found, step by step.
  returned: success
  type: list
  elements: str
  sample: ["source snapshot arn:aws:rds:us-east-1:... (unencrypted)",
           "CopyDBSnapshot → sales-db-dr-dr-copy in us-west-2"]
parity_waived:
  description: The security-parity shortfalls accepted through O(parity_waive), as C(name - detail).
  returned: success
  type: list
  elements: str
  sample: ["multi_az: source is Multi-AZ, sales-db-dr is Single-AZ"]
rows:
  description: Option D - rows per table restored and verified.
  returned: success
  type: dict
  sample: {"public.orders": 1200}
"""

from ansible.module_utils.dbshift_dr import RUNBOOK_AWS_SPEC  # noqa: E402
from ansible.module_utils.dbshift_import import DbshiftImport, run_and_exit  # noqa: E402

OPTIONS = ["auto", "promote_replica", "pitr_replicated_backup", "snapshot_copy", "native_dump"]
# parity.CHECKS's names (a test keeps them equal); static so the spec exists without dbshift.
PARITY_NAMES = [
    "storage_encrypted",
    "publicly_accessible",
    "multi_az",
    "deletion_protection",
    "backup_retention",
    "bucket_tls_only",
    "bucket_public_access_block",
]
ARGUMENT_SPEC = {
    "dr_option": {"type": "str", "default": "auto", "choices": OPTIONS},
    "source_region": {"type": "str", "required": True},
    "source_instance_id": {"type": "str", "required": True},
    "source_arn": {"type": "str"},
    "target_region": {"type": "str", "required": True},
    "target_instance_id": {"type": "str"},
    "replica_id": {"type": "str"},
    "snapshot_id": {"type": "str"},
    "restore_time": {"type": "str"},
    "kms_key_arn": {"type": "str"},
    "subnet_group": {"type": "str"},
    "security_group_ids": {"type": "list", "elements": "str", "default": []},
    "instance_class": {"type": "str"},
    "multi_az": {"type": "bool", "default": False},
    "deletion_protection": {"type": "bool", "default": True},
    "backup_retention_days": {"type": "int"},
    "option_group": {"type": "str"},
    "parity_waive": {"type": "list", "elements": "str", "default": [], "choices": PARITY_NAMES},
    "infeasible_options": {"type": "list", "elements": "str", "default": []},
    "snapshot_max_age_hours": {"type": "int", "default": 24},
    "source_dsn": {"type": "str", "no_log": True},
    "database": {"type": "str"},
    "dump_bucket": {"type": "str"},
    "dump_key": {"type": "str"},
    "target_dsn": {"type": "str", "no_log": True},
    "target_database": {"type": "str"},
    "source_dump_bucket": {"type": "str"},
    "source_kms_key_arn": {"type": "str"},
    **RUNBOOK_AWS_SPEC,
}
DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import check_positive
    from dbshift.dr.runbook import run_runbook


def main() -> None:
    module = DBSHIFT.module(ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    check_positive(
        module, **{n: p[n] for n in ("wait_timeout", "poll_interval", "api_timeout", "snapshot_max_age_hours")}
    )
    what = f"dr_rds {p['source_region']}/{p['source_instance_id']} → {p['target_region']}"
    option = p["dr_option"]
    run_and_exit(module, lambda: run_runbook(p, module.check_mode), f"{what} ({option})", option=option, reasons=[])


if __name__ == "__main__":
    main()
