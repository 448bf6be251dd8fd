#!/usr/bin/python
"""Ansible module dr_redshift: a thin adapter over dbshift.dr (redshift, redshift_runbook, parity)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dr_redshift
short_description: Cross-Region DR for Redshift (snapshot copy, pre-cutover snapshot, restore, AZ relocation)
description:
  - Runs the Redshift part of the cross-Region migration guide. O(actions) names the steps; they always run in the
    order V(enable_copy), V(snapshot), V(relocate), V(restore).
  - V(enable_copy) turns on cross-Region snapshot copy of O(source_cluster_id) to O(target_region) with
    O(retention_days) for copied automated snapshots and O(manual_retention_days) for copied manual ones; a later run
    with other retentions changes them (ModifySnapshotCopyRetentionPeriod). A KMS-encrypted cluster needs a snapshot
    copy grant in O(target_region) - O(snapshot_copy_grant_name), created for O(kms_key_arn) when it does not exist.
  - V(snapshot) takes the tagged manual snapshot O(snapshot_id) before the cutover, waits until it is available and,
    with copy enabled, until its copy in the destination Region is available (encrypted with the grant's key).
  - V(restore) restores O(target_cluster_id) in O(target_region) from the newest snapshot copied there (or
    O(restore_snapshot_id)) with subnet group, security groups and node type, encrypted (with O(kms_key_arn) when
    given), never publicly accessible. Only the target Region is called, apart from reading the source for the
    parity check when it answers.
  - V(relocate) moves O(source_cluster_id) to O(relocate_availability_zone) of O(source_region) (RA3 node types),
    enabling AZ relocation first when it is off.
  - A KMS key of another Region, a missing cluster or snapshot are refused before anything is created, naming the
    resource and the fix. KMS failures are translated into the checks to make.
  - Every step waits for its result up to O(wait_timeout) and stops with a message naming the resource and its
    state. A rerun finds its own results (by identifier and C(dbshift:dr-*) tags) and reports C(changed=false).
  - Security parity - the restored or relocated cluster must be encrypted, not publicly accessible, and at least as
    Multi-AZ and keep automated snapshots at least as long as the source. A shortfall fails the module unless waived
    by name in O(parity_waive).
  - The work is done by the dbshift library (C(dbshift.dr.redshift)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - dr_runbook
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the Regions and reports C(changed=true) for each action that would change something; creates,
        enables, snapshots, restores and relocates nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  actions:
    description:
      - The steps to run; they run in the order V(enable_copy), V(snapshot), V(relocate), V(restore).
    type: list
    elements: str
    required: true
    choices: [enable_copy, snapshot, relocate, restore]
  source_region:
    description:
      - The Region of the source cluster (the impaired one for V(restore)).
    type: str
    required: true
  source_cluster_id:
    description:
      - The source cluster identifier.
    type: str
    required: true
  target_region:
    description:
      - The destination Region of the snapshot copies and of the restore.
    type: str
  target_cluster_id:
    description:
      - V(restore) - identifier of the new cluster in O(target_region).
    type: str
  retention_days:
    description:
      - V(enable_copy) - days copied automated snapshots are kept in O(target_region) (1-35).
    type: int
    default: 7
  manual_retention_days:
    description:
      - Days copied manual snapshots are kept in O(target_region) (C(-1) for ever, or 1-3653); also the retention
        of the V(snapshot) action's snapshot and of the restored cluster's manual snapshots when not C(-1).
    type: int
    default: -1
  snapshot_copy_grant_name:
    description:
      - V(enable_copy) - the snapshot copy grant in O(target_region) that lets Redshift encrypt copies of a
        KMS-encrypted cluster; created for O(kms_key_arn) when missing.
    type: str
  kms_key_arn:
    description:
      - ARN of a KMS key in O(target_region) - the snapshot copy grant's key, and the key the restored cluster is
        encrypted with. A key of another Region is refused before anything is created.
    type: str
  snapshot_id:
    description:
      - V(snapshot) - identifier of the manual snapshot; C(<source_cluster_id>-dr-pre-cutover) when omitted.
    type: str
  restore_snapshot_id:
    description:
      - V(restore) - the snapshot in O(target_region) to restore; the newest one copied from the source when omitted.
    type: str
  node_type:
    description:
      - V(restore) - node type of the new cluster; the snapshot's when omitted.
    type: str
  number_of_nodes:
    description:
      - V(restore) - number of nodes of the new cluster; the snapshot's when omitted.
    type: int
  subnet_group:
    description:
      - V(restore) - cluster subnet group in O(target_region).
    type: str
  security_group_ids:
    description:
      - V(restore) - VPC security groups of the new cluster.
    type: list
    elements: str
    default: []
  availability_zone:
    description:
      - V(restore) - Availability Zone of the new cluster; Redshift picks one when omitted.
    type: str
  automated_snapshot_retention_days:
    description:
      - V(restore) - days the new cluster keeps automated snapshots (parity wants at least the source's).
    type: int
  availability_zone_relocation:
    description:
      - V(restore) - enable AZ relocation on the new cluster (RA3 node types).
    type: bool
    default: false
  relocate_availability_zone:
    description:
      - V(relocate) - the Availability Zone of O(source_region) to move the cluster to.
    type: str
  parity_waive:
    description:
      - Security-parity shortfalls to accept, by name. Anything not named fails the module.
    type: list
    elements: str
    default: []
    choices: [storage_encrypted, publicly_accessible, multi_az, backup_retention]
notes:
  - Runs on the controller with the Python environment that has dbshift installed.
  - Redshift copies only snapshots taken after cross-Region copy was enabled; run V(enable_copy) (and V(snapshot))
    while the source Region answers.
seealso:
  - name: Copying a snapshot to another AWS Region
    link: https://docs.aws.amazon.com/redshift/latest/mgmt/cross-region-snapshot-copy.html
  - name: Relocating a cluster
    link: https://docs.aws.amazon.com/redshift/latest/mgmt/managing-cluster-recovery.html
requirements:
  - python >= 3.11 on the controller, with the dbshift package installed
"""

EXAMPLES = r"""
- name: Before a disaster - copy snapshots of the KMS-encrypted cluster to us-west-2, take a snapshot
  dr_redshift:
    actions: [enable_copy, snapshot]
    source_region: us-east-1
    source_cluster_id: analytics
    target_region: us-west-2
    snapshot_copy_grant_name: analytics-dr
    kms_key_arn: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    retention_days: 7
    manual_retention_days: 35

- name: us-east-1 is impaired - restore the newest copy in us-west-2
  dr_redshift:
    actions: [restore]
    source_region: us-east-1
    source_cluster_id: analytics
    target_region: us-west-2
    target_cluster_id: analytics-dr
    kms_key_arn: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    subnet_group: analytics-dr
    security_group_ids: [sg-0123456789abcdef0]
    node_type: ra3.xlplus
    automated_snapshot_retention_days: 7
  register: analytics_dr

- name: An Availability Zone is impaired - relocate the cluster within us-east-1
  dr_redshift:
    actions: [relocate]
    source_region: us-east-1
    source_cluster_id: analytics
    relocate_availability_zone: us-east-1c
"""

RETURN = r"""
changed:
  description: Whether any action changed something (or, in check mode, would).
  returned: always
  type: bool
  sample: true
actions:
  description: The actions run, in the order they ran.
  returned: success
  type: list
  elements: str
  sample: [enable_copy, snapshot, restore]
results:
  description: One entry per action - changed, action, region, cluster_id, status, endpoint, port, encrypted,
    kms_key_id, availability_zone, snapshot_id, copy_status, steps.
  returned: success
  type: list
  elements: dict
recovered:
  description: The cluster that serves after this run (the restored one, the relocated one, else the source), as
    the shared C(dr_recovered) fact - service, region, resource_id, endpoint, port, engine.
  returned: success
  type: dict
  sample: {"service": "redshift", "region": "us-west-2", "resource_id": "analytics-dr",
           "endpoint": "analytics-dr.abc123.us-west-2.redshift.amazonaws.com", "port": 5439, "engine": "redshift"}
cluster_id:
  description: The cluster of the last action (the restored or relocated one when those ran).
  returned: success
  type: str
  sample: analytics-dr
region:
  description: Its Region.
  returned: success
  type: str
  sample: us-west-2
status:
  description: Its ClusterStatus (V(would_restore) in check mode before a restore).
  returned: success
  type: str
  sample: available
endpoint:
  description: Its endpoint address.
  returned: success
  type: str
  sample: analytics-dr.abc123.us-west-2.redshift.amazonaws.com
port:
  description: Its port.
  returned: success
  type: int
  sample: 5439
encrypted:
  description: Whether it is encrypted at rest.
  returned: success
  type: bool
  sample: true
kms_key_id:
  description: The KMS key encrypting it.
  returned: success
  type: str
  sample: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
availability_zone:
  description: Its Availability Zone.
  returned: success
  type: str
  sample: us-west-2a
snapshot_id:
  description: The snapshot taken (V(snapshot)) or restored from (V(restore)).
  returned: success
  type: str
  sample: analytics-dr-pre-cutover
copy_status:
  description: The cluster's ClusterSnapshotCopyStatus (DestinationRegion, RetentionPeriod,
    ManualSnapshotRetentionPeriod, SnapshotCopyGrantName).
  returned: success
  type: dict
steps:
  description: What was done or found, step by step, prefixed with the action.
  returned: success
  type: list
  elements: str
  sample: ["enable_copy: EnableSnapshotCopy → us-west-2", "restore: RestoreFromClusterSnapshot → analytics-dr"]
parity_waived:
  description: The security-parity shortfalls accepted through O(parity_waive), as C(name - detail).
  returned: success
  type: list
  elements: str
  sample: ["multi_az: source is Multi-AZ, analytics-dr is Single-AZ"]
"""

from ansible.module_utils.dbshift_dr import RUNBOOK_AWS_SPEC  # noqa: E402
from ansible.module_utils.dbshift_import import DbshiftImport, run_and_exit  # noqa: E402

ACTIONS = ["enable_copy", "snapshot", "relocate", "restore"]
# The parity.CHECKS names that apply to Redshift (a test keeps them in parity.CHECKS).
PARITY_NAMES = ["storage_encrypted", "publicly_accessible", "multi_az", "backup_retention"]
ARGUMENT_SPEC = {
    "actions": {"type": "list", "elements": "str", "required": True, "choices": ACTIONS},
    "source_region": {"type": "str", "required": True},
    "source_cluster_id": {"type": "str", "required": True},
    "target_region": {"type": "str"},
    "target_cluster_id": {"type": "str"},
    "retention_days": {"type": "int", "default": 7},
    "manual_retention_days": {"type": "int", "default": -1},
    "snapshot_copy_grant_name": {"type": "str"},
    "kms_key_arn": {"type": "str"},
    "snapshot_id": {"type": "str"},
    "restore_snapshot_id": {"type": "str"},
    "node_type": {"type": "str"},
    "number_of_nodes": {"type": "int"},
    "subnet_group": {"type": "str"},
    "security_group_ids": {"type": "list", "elements": "str", "default": []},
    "availability_zone": {"type": "str"},
    "automated_snapshot_retention_days": {"type": "int"},
    "availability_zone_relocation": {"type": "bool", "default": False},
    "relocate_availability_zone": {"type": "str"},
    "parity_waive": {"type": "list", "elements": "str", "default": [], "choices": PARITY_NAMES},
    **RUNBOOK_AWS_SPEC,
}
DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import check_positive
    from dbshift.dr.redshift_runbook import run_runbook


def main() -> None:
    module = DBSHIFT.module(ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    check_positive(module, **{n: p[n] for n in ("wait_timeout", "poll_interval", "api_timeout")})
    what = f"dr_redshift {p['source_region']}/{p['source_cluster_id']} ({', '.join(p['actions'])})"
    run_and_exit(module, lambda: run_runbook(p, module.check_mode), what)


if __name__ == "__main__":
    main()
