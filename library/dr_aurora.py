#!/usr/bin/python
"""Ansible module dr_aurora: a thin adapter over dbshift.dr (aurora, aurora_runbook, parity)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dr_aurora
short_description: Recover an Aurora DB cluster in another AWS Region (global database failover, or snapshot restore)
description:
  - Runs one option of the cross-Region migration guide for Aurora, or picks one with O(dr_option=auto).
  - V(global_failover) makes the Aurora Global Database's secondary cluster in O(target_region) its primary with
    FailoverGlobalCluster and AllowDataLoss - for an unplanned event, when the primary Region is impaired. Writes
    not yet replicated to the secondary may be lost. Only O(target_region) is called.
  - V(global_switchover) does the same with SwitchoverGlobalCluster - planned, no data loss, both Regions healthy;
    the old primary becomes a secondary.
  - After either, deletion protection and O(backup_retention_days) are applied to the new primary where it lacks
    them.
  - V(snapshot_restore) copies the newest (or the named O(snapshot_id)) snapshot of O(source_cluster_id) into
    O(target_region) re-encrypted with O(kms_key_arn), a key of that Region (an unencrypted source is encrypted by
    the copy), restores O(target_cluster_id) from the copy, then adds the writer and O(reader_count) reader
    instances of O(instance_class), never publicly accessible, and waits until all are available.
  - V(auto) runs V(global_failover) when O(global_cluster_id) has a secondary in O(target_region), else
    V(snapshot_restore), and returns the reasons. A cluster restored by an earlier run is reported again, unchanged.
  - Refused before anything is created, naming the resource and the fix - a KMS key of another Region, a missing
    snapshot, global cluster or secondary, a secondary without instances.
  - Every step waits for its result (snapshot copy, cluster, instances, the global cluster's new writer) up to
    O(wait_timeout) and stops with a message naming the resource and its state. A rerun reports C(changed=false).
  - Security parity - the recovered cluster must be encrypted, its instances not publicly accessible, and it must
    be at least as Multi-AZ, deletion-protected and backed up as the source cluster. A shortfall fails the module
    unless waived by name in O(parity_waive).
  - The work is done by the dbshift library (C(dbshift.dr.aurora)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - dr_runbook
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the Regions (and for V(auto) makes the choice), refuses what the run would refuse, and reports
        C(changed=true) when a failover, switchover, copy, restore, instance or setting would be made.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  dr_option:
    description:
      - The guide's option to run, or V(auto) to pick one.
    type: str
    default: auto
    choices: [auto, global_failover, global_switchover, snapshot_restore]
  source_region:
    description:
      - The Region of the source (primary) cluster, the impaired one.
    type: str
    required: true
  source_cluster_id:
    description:
      - The source DB cluster. V(snapshot_restore) copies its newest snapshot unless O(snapshot_id) is given; the
        security-parity check compares against it when its Region answers. For the global options it defaults to
        the global cluster's member in O(source_region).
    type: str
  global_cluster_id:
    description:
      - The Aurora Global Database (global cluster identifier) for V(global_failover) and V(global_switchover).
    type: str
  target_region:
    description:
      - The Region to recover into.
    type: str
    required: true
  target_cluster_id:
    description:
      - V(snapshot_restore) - identifier of the new cluster; its instances are named C(<target_cluster_id>-1)
        (the writer), C(-2), and so on.
      - Global options - the secondary cluster to promote; needed only when O(target_region) holds several members.
    type: str
  snapshot_id:
    description:
      - V(snapshot_restore) - the source cluster snapshot (identifier or ARN) to copy; the newest available one of
        O(source_cluster_id) when omitted.
    type: str
  kms_key_arn:
    description:
      - V(snapshot_restore) - ARN of a KMS key in O(target_region) that encrypts the snapshot copy and the cluster.
        A key of another Region is refused before anything is created.
    type: str
  instance_class:
    description:
      - V(snapshot_restore) - DB instance class of the writer and the readers, e.g. C(db.r6g.large).
    type: str
  reader_count:
    description:
      - V(snapshot_restore) - number of reader instances besides the writer, spread over the cluster's
        Availability Zones.
    type: int
    default: 1
  subnet_group:
    description:
      - V(snapshot_restore) - DB subnet group of the new cluster in O(target_region).
    type: str
  security_group_ids:
    description:
      - V(snapshot_restore) - VPC security groups of the new cluster.
    type: list
    elements: str
    default: []
  deletion_protection:
    description:
      - Deletion protection on the new cluster (V(snapshot_restore)) or the promoted one (global options).
    type: bool
    default: true
  backup_retention_days:
    description:
      - Backup retention of the new or promoted cluster, in days; the snapshot's (or the secondary's) when omitted.
    type: int
  parity_waive:
    description:
      - Security-parity shortfalls to accept, by name. Anything not named fails the module.
    type: list
    elements: str
    default: []
    choices: [storage_encrypted, publicly_accessible, multi_az, deletion_protection, backup_retention]
notes:
  - Runs on the controller with the Python environment that has dbshift installed.
  - The global options call only O(target_region) (and O(source_region) for the parity check, if it answers).
seealso:
  - name: Using switchover or failover in Amazon Aurora Global Database
    link: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html
  - name: Copying a DB cluster snapshot
    description: Cross-Region copies and KMS keys (keys are Region-specific).
    link: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-copy-snapshot.html
requirements:
  - python >= 3.11 on the controller, with the dbshift package installed
"""

EXAMPLES = r"""
- name: Fail the global database over to us-west-2 (the primary Region is down)
  dr_aurora:
    dr_option: global_failover
    source_region: us-east-1
    global_cluster_id: sales-global
    target_region: us-west-2
    backup_retention_days: 7
  register: sales_dr

- name: No global database - restore the newest snapshot in us-west-2 with two readers
  dr_aurora:
    dr_option: snapshot_restore
    source_region: us-east-1
    source_cluster_id: sales-aurora
    target_region: us-west-2
    target_cluster_id: sales-aurora-dr
    kms_key_arn: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    instance_class: db.r6g.large
    reader_count: 2
    subnet_group: sales-dr
    security_group_ids: [sg-0123456789abcdef0]
    backup_retention_days: 7
"""

RETURN = r"""
changed:
  description: Whether a failover, switchover, copy, restore, instance or setting was made (or would be).
  returned: always
  type: bool
  sample: true
option:
  description: The option run (the chosen one for V(auto)).
  returned: always
  type: str
  sample: global_failover
reasons:
  description: V(auto) - why the option was chosen; empty otherwise.
  returned: always
  type: list
  elements: str
  sample: ["global_failover chosen: global cluster sales-global has sales-west in us-west-2"]
region:
  description: The Region of the recovered cluster.
  returned: success
  type: str
  sample: us-west-2
cluster_id:
  description: Identifier of the recovered cluster.
  returned: success
  type: str
  sample: sales-aurora-dr
cluster_arn:
  description: ARN of the recovered cluster.
  returned: success
  type: str
  sample: arn:aws:rds:us-west-2:123456789012:cluster:sales-aurora-dr
status:
  description: Its Status (V(would_create), V(would_failover) or V(would_switchover) in check mode).
  returned: success
  type: str
  sample: available
endpoint:
  description: Its writer (cluster) endpoint, for the application's configuration or the DNS cutover.
  returned: success
  type: str
  sample: sales-aurora-dr.cluster-abcdefghijkl.us-west-2.rds.amazonaws.com
reader_endpoint:
  description: Its reader endpoint.
  returned: success
  type: str
  sample: sales-aurora-dr.cluster-ro-abcdefghijkl.us-west-2.rds.amazonaws.com
port:
  description: The port of its endpoints.
  returned: success
  type: int
  sample: 5432
engine:
  description: Its engine.
  returned: success
  type: str
  sample: aurora-postgresql
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
  description: What it was recovered from (the source snapshot ARN, or the global cluster and its old primary).
  returned: success
  type: str
  sample: arn:aws:rds:us-east-1:123456789012:cluster-snapshot:rds:sales-aurora-2026-11-20-10-00
global_cluster_id:
  description: Global options - the global cluster.
  returned: success
  type: str
  sample: sales-global
snapshot_copy_id:
  description: V(snapshot_restore) - the snapshot copy in the target Region.
  returned: success
  type: str
  sample: sales-aurora-dr-dr-copy
instances:
  description: The cluster's DB instances.
  returned: success
  type: list
  elements: str
  sample: [sales-aurora-dr-1, sales-aurora-dr-2, sales-aurora-dr-3]
steps:
  description: What was done or found, step by step.
  returned: success
  type: list
  elements: str
  sample: ["CopyDBClusterSnapshot → sales-aurora-dr-dr-copy in us-west-2",
           "RestoreDBClusterFromSnapshot → sales-aurora-dr"]
parity_waived:
  description: The security-parity shortfalls accepted through O(parity_waive), as C(name - detail).
  returned: success
  type: list
  elements: str
  sample: ["multi_az: source is Multi-AZ, DB cluster sales-aurora-dr is not"]
"""

from ansible.module_utils.dbshift_dr import RUNBOOK_AWS_SPEC  # noqa: E402
from ansible.module_utils.dbshift_import import DbshiftImport, run_and_exit  # noqa: E402

OPTIONS = ["auto", "global_failover", "global_switchover", "snapshot_restore"]
# The parity.CHECKS names that apply to Aurora (a test keeps them known); static so the spec exists without dbshift.
PARITY_NAMES = ["storage_encrypted", "publicly_accessible", "multi_az", "deletion_protection", "backup_retention"]
ARGUMENT_SPEC = {
    "dr_option": {"type": "str", "default": "auto", "choices": OPTIONS},
    "source_region": {"type": "str", "required": True},
    "source_cluster_id": {"type": "str"},
    "global_cluster_id": {"type": "str"},
    "target_region": {"type": "str", "required": True},
    "target_cluster_id": {"type": "str"},
    "snapshot_id": {"type": "str"},
    "kms_key_arn": {"type": "str"},
    "instance_class": {"type": "str"},
    "reader_count": {"type": "int", "default": 1},
    "subnet_group": {"type": "str"},
    "security_group_ids": {"type": "list", "elements": "str", "default": []},
    "deletion_protection": {"type": "bool", "default": True},
    "backup_retention_days": {"type": "int"},
    "parity_waive": {"type": "list", "elements": "str", "default": [], "choices": PARITY_NAMES},
    **RUNBOOK_AWS_SPEC,
}
DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import check_positive
    from dbshift.dr.aurora_runbook import run_runbook


def main() -> None:
    module = DBSHIFT.module(ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    check_positive(module, **{n: p[n] for n in ("wait_timeout", "poll_interval", "api_timeout")})
    if p["reader_count"] < 0:
        module.fail_json(msg=f"reader_count must be 0 or more, got {p['reader_count']}.")
    what = f"dr_aurora {p['source_region']} → {p['target_region']}"
    option = p["dr_option"]
    run_and_exit(module, lambda: run_runbook(p, module.check_mode), f"{what} ({option})", option=option, reasons=[])


if __name__ == "__main__":
    main()
