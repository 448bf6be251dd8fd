#!/usr/bin/python
"""Ansible module dr_elasticache: a thin adapter over dbshift.dr (elasticache, elasticache_runbook, parity)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dr_elasticache
short_description: Recover an ElastiCache (Redis OSS) replication group in another AWS Region
description:
  - Runs one method of the cross-Region migration guide for ElastiCache, or picks one with O(method=auto).
  - V(global_failover) fails the Global Datastore holding O(source_replication_group_id) over to its secondary in
    O(target_region) (FailoverGlobalReplicationGroup). Only the target Region is called.
  - V(backup_seed) takes a manual backup of the source replication group, exports it to O(source_bucket) in the
    source Region (one C(.rdb) object per shard), copies the objects server-side to O(target_bucket) in
    O(target_region), and creates O(target_replication_group_id) seeded from them, encrypted at rest with
    O(kms_key_arn) (a key of the target Region) and in transit. Both buckets must deny requests without TLS and
    block all public access; the module adds the bucket-policy statement AWS documents that lets ElastiCache
    write the export (source) and read the C(.rdb) objects (target), keeping every other statement.
  - V(auto) runs V(global_failover) when the target Region holds a Global Datastore secondary of the source (or
    the target group an earlier V(backup_seed) run made), V(backup_seed) otherwise, returning the reasons.
  - A KMS key of another Region, a missing source replication group or secondary, a bucket in the wrong Region
    and an insecure bucket are refused before anything is created, naming the resource and the fix.
  - Every step waits for its result (backup available, export written, group available, datastore failed over)
    up to O(wait_timeout) and stops with a message naming the resource and its state. A rerun finds the backup,
    the exported and copied objects and the group an earlier run made and reports C(changed=false).
  - Security parity - the recovered group must be encrypted at rest and in transit, and at least as Multi-AZ,
    automatically failing over and backed up (snapshot retention) as the source. A shortfall fails the module
    unless waived by name in O(parity_waive).
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
      - Reads both Regions, makes the choice, refuses what the real run would refuse, and reports C(changed=true)
        when a failover, backup, export, copy, bucket grant or group would be made; changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  method:
    description:
      - The guide's method to run, or V(auto) to pick one.
    type: str
    default: auto
    choices: [auto, global_failover, backup_seed]
  source_region:
    description:
      - The Region of the source replication group (the impaired one).
    type: str
    required: true
  source_replication_group_id:
    description:
      - The source replication group.
    type: str
    required: true
  target_region:
    description:
      - The Region to recover into.
    type: str
    required: true
  global_replication_group_id:
    description:
      - V(global_failover) - the Global Datastore (e.g. C(ldgnf-sessions)); found from the target Region's
        replication groups when omitted.
    type: str
  target_replication_group_id:
    description:
      - V(backup_seed) - identifier of the new replication group in O(target_region). Also names the backup
        (C(<id>-dr-backup)) and the export (C(<id>-dr-export-0001.rdb), ...).
    type: str
  kms_key_arn:
    description:
      - V(backup_seed) - ARN of a KMS key in O(target_region) that encrypts the new group at rest. A key of another
        Region is refused before anything is created.
    type: str
  source_bucket:
    description:
      - V(backup_seed) - a bucket in O(source_region) receiving the export (TLS-only, public access blocked).
    type: str
  target_bucket:
    description:
      - V(backup_seed) - a bucket in O(target_region) receiving the copies the new group is seeded from (TLS-only,
        public access blocked).
    type: str
  target_prefix:
    description:
      - V(backup_seed) - key prefix of the copies in O(target_bucket), e.g. C(elasticache/).
    type: str
    default: ''
  node_type:
    description:
      - V(backup_seed) - cache node type of the new group (e.g. C(cache.r7g.large)); the service default when
        omitted.
    type: str
  engine_version:
    description:
      - V(backup_seed) - Redis OSS engine version of the new group; the service default when omitted.
    type: str
  subnet_group:
    description:
      - V(backup_seed) - cache subnet group of the new group in O(target_region).
    type: str
  security_group_ids:
    description:
      - V(backup_seed) - VPC security groups of the new group.
    type: list
    elements: str
    default: []
  num_cache_clusters:
    description:
      - V(backup_seed) - nodes per shard (a primary and replicas).
    type: int
    default: 2
  multi_az:
    description:
      - V(backup_seed) - turn Multi-AZ (and automatic failover) on for the new group.
    type: bool
    default: true
  snapshot_retention_days:
    description:
      - V(backup_seed) - automatic backup retention of the new group, in days.
    type: int
    default: 7
  parity_waive:
    description:
      - Security-parity shortfalls to accept, by name. Anything not named fails the module.
    type: list
    elements: str
    default: []
    choices: [storage_encrypted, transit_encryption, multi_az, backup_retention, bucket_tls_only,
              bucket_public_access_block]
notes:
  - Runs on the controller with the Python environment that has dbshift installed.
  - V(global_failover) calls only the target Region. V(backup_seed) needs the source Region until the copies are in
    the target bucket; a rerun after that reads the target Region only.
  - The export bucket grant is the bucket-policy statement of the ElastiCache User Guide (service principal
    C(<region>.elasticache-snapshot.amazonaws.com)); buckets that use the older ACL grant keep working.
seealso:
  - name: Exporting a backup
    link: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/backups-exporting.html
  - name: Seeding a new cluster with an externally created backup
    link: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/backups-seeding-redis.html
  - name: Failing over to a secondary cluster (Global Datastore)
    link: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Redis-Global-Datastores-Console.html
requirements:
  - python >= 3.11 on the controller, with the dbshift package installed
"""

EXAMPLES = r"""
- name: Seed a new group in us-west-2 from an exported backup, encrypted with the Region's key
  dr_elasticache:
    method: backup_seed
    source_region: us-east-1
    source_replication_group_id: sessions
    target_region: us-west-2
    target_replication_group_id: sessions-dr
    kms_key_arn: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    source_bucket: dr-exports-us-east-1
    target_bucket: dr-exports-us-west-2
    node_type: cache.r7g.large
    subnet_group: sessions-dr
    security_group_ids: [sg-0123456789abcdef0]
  register: sessions_dr

- name: Fail the Global Datastore over to us-west-2 if it has a secondary there, else seed from a backup
  dr_elasticache:
    method: auto
    source_region: us-east-1
    source_replication_group_id: sessions
    target_region: us-west-2
    target_replication_group_id: sessions-dr
    kms_key_arn: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    source_bucket: dr-exports-us-east-1
    target_bucket: dr-exports-us-west-2
    parity_waive: [backup_retention]
"""

RETURN = r"""
changed:
  description: Whether a failover, backup, export, copy, bucket grant or group was made (or, in check mode, would be).
  returned: always
  type: bool
  sample: true
method:
  description: The method run (the chosen one for V(auto)).
  returned: always
  type: str
  sample: backup_seed
reasons:
  description: V(auto) - why the method was chosen; empty otherwise.
  returned: always
  type: list
  elements: str
  sample: ["global_failover skipped: no Global Datastore secondary of sessions in us-west-2"]
region:
  description: The Region of the recovered replication group.
  returned: success
  type: str
  sample: us-west-2
replication_group_id:
  description: The recovered replication group.
  returned: success
  type: str
  sample: sessions-dr
arn:
  description: Its ARN.
  returned: success
  type: str
  sample: arn:aws:elasticache:us-west-2:123456789012:replicationgroup:sessions-dr
status:
  description: Its status (V(would_create) or V(would_failover) in check mode).
  returned: success
  type: str
  sample: available
endpoint:
  description: The address applications use (configuration endpoint in cluster mode, else the primary endpoint).
  returned: success
  type: str
  sample: master.sessions-dr.abcdef.usw2.cache.amazonaws.com
port:
  description: Its port.
  returned: success
  type: int
  sample: 6379
engine:
  description: Its engine.
  returned: success
  type: str
  sample: redis
at_rest_encryption:
  description: Whether it is encrypted at rest.
  returned: success
  type: bool
  sample: true
transit_encryption:
  description: Whether in-transit encryption (TLS) is on.
  returned: success
  type: bool
  sample: true
kms_key_id:
  description: The KMS key encrypting it at rest.
  returned: success
  type: str
  sample: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
source:
  description: The source, as Region/replication group.
  returned: success
  type: str
  sample: us-east-1/sessions
global_replication_group_id:
  description: V(global_failover) - the Global Datastore failed over.
  returned: success
  type: str
  sample: ldgnf-sessions
snapshot_name:
  description: V(backup_seed) - the manual backup of the source.
  returned: success
  type: str
  sample: sessions-dr-dr-backup
export_objects:
  description: V(backup_seed) - the exported .rdb objects in O(source_bucket).
  returned: success
  type: list
  elements: str
  sample: [sessions-dr-dr-export-0001.rdb]
seed_arns:
  description: V(backup_seed) - the S3 objects the new group was seeded from.
  returned: success
  type: list
  elements: str
  sample: ["arn:aws:s3:::dr-exports-us-west-2/sessions-dr-dr-export-0001.rdb"]
steps:
  description: What was done or found, step by step.
  returned: success
  type: list
  elements: str
  sample: ["CreateSnapshot sessions-dr-dr-backup of us-east-1/sessions"]
parity_waived:
  description: The security-parity shortfalls accepted through O(parity_waive), as C(name - detail).
  returned: success
  type: list
  elements: str
  sample: ["backup_retention: sessions-dr keeps backups 1 days, source 7"]
"""

from ansible.module_utils.dbshift_dr import RUNBOOK_AWS_SPEC  # noqa: E402
from ansible.module_utils.dbshift_import import DbshiftImport, run_and_exit  # noqa: E402

METHODS = ["auto", "global_failover", "backup_seed"]
# The parity.CHECKS names that apply to ElastiCache (a test keeps them in parity.CHECKS); static so the spec
# exists without dbshift. publicly_accessible and deletion_protection have no ElastiCache setting.
PARITY_NAMES = [
    "storage_encrypted",
    "transit_encryption",
    "multi_az",
    "backup_retention",
    "bucket_tls_only",
    "bucket_public_access_block",
]
ARGUMENT_SPEC = {
    "method": {"type": "str", "default": "auto", "choices": METHODS},
    "source_region": {"type": "str", "required": True},
    "source_replication_group_id": {"type": "str", "required": True},
    "target_region": {"type": "str", "required": True},
    "global_replication_group_id": {"type": "str"},
    "target_replication_group_id": {"type": "str"},
    "kms_key_arn": {"type": "str"},
    "source_bucket": {"type": "str"},
    "target_bucket": {"type": "str"},
    "target_prefix": {"type": "str", "default": ""},
    "node_type": {"type": "str"},
    "engine_version": {"type": "str"},
    "subnet_group": {"type": "str"},
    "security_group_ids": {"type": "list", "elements": "str", "default": []},
    "num_cache_clusters": {"type": "int", "default": 2},
    "multi_az": {"type": "bool", "default": True},
    "snapshot_retention_days": {"type": "int", "default": 7},
    "parity_waive": {"type": "list", "elements": "str", "default": [], "choices": PARITY_NAMES},
    **RUNBOOK_AWS_SPEC,
}
DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.ansible_support import check_positive
    from dbshift.dr.elasticache_runbook import run_runbook


def main() -> None:
    module = DBSHIFT.module(ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    check_positive(module, **{n: p[n] for n in ("wait_timeout", "poll_interval", "api_timeout", "num_cache_clusters")})
    if p["snapshot_retention_days"] < 0:
        module.fail_json(msg="snapshot_retention_days must be 0 or more; set it to the days of backups to keep.")
    what = f"dr_elasticache {p['source_region']}/{p['source_replication_group_id']} → {p['target_region']}"
    method = p["method"]
    run_and_exit(module, lambda: run_runbook(p, module.check_mode), f"{what} ({method})", method=method, reasons=[])


if __name__ == "__main__":
    main()
