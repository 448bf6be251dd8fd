"""ElastiCache (Redis OSS / Valkey) cross-Region recovery: Global Datastore failover, or backup → export → copy → seed.

global_failover: promote the secondary replication group in the target Region (FailoverGlobalReplicationGroup);
only the target Region is called, the source Region may be the impaired one.

backup_seed: a manual backup of the source replication group → export to a secured bucket in the source Region
(CopySnapshot with TargetBucket: one "<name>-<node group>.rdb" object per shard) → server-side copy of the .rdb
objects to a target-Region bucket → a new replication group seeded from them (SnapshotArns), encrypted at rest
with the target Region's KMS key and in transit. Every name is derived from the new group's id, so a rerun finds
each earlier result (backup, export objects, copies, group) and makes no second one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from dbshift.dr import Clients, error_code, kms_errors, listed, parity, tag_value, tags
from dbshift.dr.waits import wait_until
from dbshift.errors import ConfigError, DbshiftError

FAILED_GROUP_STATES = frozenset({"create-failed", "deleting", "deleted"})
FAILED_SNAPSHOT_STATES = frozenset({"failed", "deleting", "deleted"})
FAILED_GLOBAL_STATES = frozenset({"create-failed", "deleting", "deleted"})
# "Grant ElastiCache access to your Amazon S3 bucket" (ElastiCache User Guide): the Region's service principal.
SNAPSHOT_SERVICE = "{region}.elasticache-snapshot.amazonaws.com"
EXPORT_ACTIONS = (
    "s3:PutObject",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:GetBucketAcl",
    "s3:ListMultipartUploadParts",
    "s3:ListBucketMultipartUploads",
)
SEED_ACTIONS = ("s3:GetObject", "s3:ListBucket", "s3:GetBucketAcl")
EXPORT_SID, SEED_SID = "DbshiftElastiCacheSnapshotExport", "DbshiftElastiCacheSnapshotSeed"
_ID = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class TargetSettings:
    """The new replication group (backup_seed): always encrypted at rest (target key) and in transit."""

    node_type: str | None = None
    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()
    num_cache_clusters: int = 2  # nodes per shard: a primary and replicas
    multi_az: bool = True
    snapshot_retention_days: int = 7
    engine_version: str | None = None

    def check(self) -> None:
        """Refuse settings ElastiCache would refuse, before anything is created."""
        if self.num_cache_clusters < 1 or self.snapshot_retention_days < 0:
            raise ConfigError(
                f"num_cache_clusters {self.num_cache_clusters} / snapshot_retention_days "
                f"{self.snapshot_retention_days}: need at least 1 node per shard and 0 or more days"
            )
        if self.multi_az and self.num_cache_clusters < 2:
            raise ConfigError(
                "multi_az needs a replica to fail over to: set num_cache_clusters to 2 or more, or multi_az to false"
            )


@dataclass
class EcResult:
    changed: bool
    method: str
    region: str
    replication_group_id: str
    arn: str
    status: str
    endpoint: str | None
    port: int | None
    engine: str
    at_rest_encryption: bool
    transit_encryption: bool
    kms_key_id: str | None
    source: str
    global_replication_group_id: str | None = None
    snapshot_name: str | None = None
    export_objects: list[str] = field(default_factory=list)
    seed_arns: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Secondary:
    """A Global Datastore holding the source group, and its member in the target Region."""

    global_id: str
    member_id: str
    role: str  # PRIMARY after a failover, SECONDARY before


# ---------------------------------------------------------------- helpers


def check_id(value: str, what: str) -> None:
    if not _ID.match(value) or value.endswith("-") or "--" in value:
        raise ConfigError(
            f"{what} {value!r} is not a valid replication group id: 1-40 lower-case letters, digits or hyphens, "
            "starting with a letter, no trailing or double hyphen"
        )


def backup_name(new_group_id: str) -> str:
    return f"{new_group_id}-dr-backup"


def export_name(new_group_id: str) -> str:
    return f"{new_group_id}-dr-export"


def describe_group(ec: Any, group_id: str) -> dict[str, Any] | None:
    found = listed(
        lambda: ec.describe_replication_groups(ReplicationGroupId=group_id),
        "ReplicationGroups",
        ("ReplicationGroupNotFoundFault", "ReplicationGroupNotFound"),
    )
    return found[0] if found else None


def describe_snapshot(ec: Any, name: str) -> dict[str, Any] | None:
    found = listed(
        lambda: ec.describe_snapshots(SnapshotName=name), "Snapshots", ("SnapshotNotFoundFault", "SnapshotNotFound")
    )
    return found[0] if found else None


def group_tags(ec: Any, group: dict[str, Any]) -> list[dict[str, str]]:
    return ec.list_tags_for_resource(ResourceName=group["ARN"]).get("TagList", [])


def endpoint_of(group: dict[str, Any]) -> tuple[str | None, int | None]:
    """The address applications use: the configuration endpoint (cluster mode) or the primary endpoint."""
    ep = group.get("ConfigurationEndpoint") or next(
        (ng.get("PrimaryEndpoint") for ng in group.get("NodeGroups", []) if ng.get("PrimaryEndpoint")), None
    )
    return (ep.get("Address"), ep.get("Port")) if ep else (None, None)


def wait_group(
    ec: Any,
    group_id: str,
    region: str,
    what: str,
    timeout: float,
    poll: float,
    extra: Callable[[dict], bool] | None = None,
) -> dict[str, Any]:
    def describe() -> dict[str, Any]:
        found = describe_group(ec, group_id)
        if found is None:
            raise DbshiftError(f"replication group {group_id} in {region} ({what}) disappeared while waiting for it")
        return found

    return wait_until(
        describe,
        lambda g: g.get("Status") == "available" and (extra is None or extra(g)),
        lambda g: (
            f"{g.get('Status')!r} ({what}): see its events (aws elasticache describe-events --source-identifier "
            f"{group_id} --source-type replication-group --region {region})"
            if g.get("Status") in FAILED_GROUP_STATES
            else None
        ),
        f"replication group {group_id} in {region}",
        timeout,
        poll,
        state=lambda g: str(g.get("Status")),
    )


def _result(method: str, region: str, group: dict[str, Any], changed: bool, source: str, **more: Any) -> EcResult:
    address, port = endpoint_of(group)
    return EcResult(
        changed=changed,
        method=method,
        region=region,
        replication_group_id=group["ReplicationGroupId"],
        arn=group.get("ARN", ""),
        status=str(group.get("Status")),
        endpoint=address,
        port=port,
        engine=str(group.get("Engine") or "redis"),
        at_rest_encryption=bool(group.get("AtRestEncryptionEnabled")),
        transit_encryption=bool(group.get("TransitEncryptionEnabled")),
        kms_key_id=group.get("KmsKeyId"),
        source=source,
        **more,
    )


def resolve_target_key(clients: Clients, key: str, region: str) -> str:
    """The ARN of `key` after checking it is a usable key of `region`, before anything is created."""
    kms_errors.require_key_in_region(key, region)
    kms = clients.kms(region)
    findings = kms_errors.inspect_key(kms, key, region)
    if findings:
        raise kms_errors.KmsProblem(
            f"KMS key {key} cannot encrypt the new replication group in {region}. Check:\n"
            + kms_errors.checks(key, region, findings)
        )
    return kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]


# ---------------------------------------------------------------- security parity


def elasticache_shortfalls(source: dict[str, Any], target: dict[str, Any]) -> list[parity.Shortfall]:
    """Compare two DescribeReplicationGroups entries. At-rest and in-transit encryption are required whatever the
    source had; Multi-AZ, automatic failover and snapshot retention must be at least the source's."""
    out: list[parity.Shortfall] = []
    tid = target.get("ReplicationGroupId", "target")
    if not target.get("AtRestEncryptionEnabled"):
        out.append(parity.Shortfall("storage_encrypted", f"{tid} is not encrypted at rest"))
    if not target.get("TransitEncryptionEnabled"):
        out.append(parity.Shortfall("transit_encryption", f"{tid} has no in-transit encryption (TLS)"))
    for key, label in (("MultiAZ", "Multi-AZ"), ("AutomaticFailover", "automatic failover")):
        if source.get(key) == "enabled" and target.get(key) != "enabled":
            out.append(parity.Shortfall("multi_az", f"source has {label} enabled, {tid} has {target.get(key)!r}"))
    src_days, tgt_days = int(source.get("SnapshotRetentionLimit") or 0), int(target.get("SnapshotRetentionLimit") or 0)
    if tgt_days < src_days or tgt_days == 0:
        out.append(parity.Shortfall("backup_retention", f"{tid} keeps backups {tgt_days} days, source {src_days}"))
    return out


# ---------------------------------------------------------------- Global Datastore failover


def find_secondary(
    clients: Clients, source_region: str, source_group_id: str, target_region: str, global_id: str | None = None
) -> Secondary | None:
    """The Global Datastore member in `target_region` of the datastore holding the source group; target Region only.

    Only groups whose GlobalReplicationGroupInfo names a datastore are looked up (or `global_id` when given).
    """
    ec = clients.get("elasticache", target_region)
    candidates: set[str] = {global_id} if global_id else set()
    if not global_id:
        for page in ec.get_paginator("describe_replication_groups").paginate():
            for group in page.get("ReplicationGroups", []):
                gid = (group.get("GlobalReplicationGroupInfo") or {}).get("GlobalReplicationGroupId")
                if gid:
                    candidates.add(gid)
    for gid in sorted(candidates):
        try:
            found = ec.describe_global_replication_groups(GlobalReplicationGroupId=gid, ShowMemberInfo=True)
        except ClientError as exc:
            if error_code(exc) in ("GlobalReplicationGroupNotFoundFault", "GlobalReplicationGroupNotFound"):
                continue
            raise
        for glob in found.get("GlobalReplicationGroups", []):
            members = glob.get("Members", [])
            has_source = any(
                m.get("ReplicationGroupId") == source_group_id and m.get("ReplicationGroupRegion") == source_region
                for m in members
            )
            mine = [m for m in members if m.get("ReplicationGroupRegion") == target_region]
            if has_source and mine:
                return Secondary(gid, mine[0]["ReplicationGroupId"], str(mine[0].get("Role")))
    return None


def _describe_global(ec: Any, gid: str) -> dict[str, Any]:
    return ec.describe_global_replication_groups(GlobalReplicationGroupId=gid, ShowMemberInfo=True)[
        "GlobalReplicationGroups"
    ][0]


def _member(glob: dict[str, Any], group_id: str) -> dict[str, Any]:
    return next((m for m in glob.get("Members", []) if m.get("ReplicationGroupId") == group_id), {})


def no_secondary(source: str, target_region: str, global_id: str | None) -> DbshiftError:
    where = f"Global Datastore {global_id} does not hold" if global_id else "no Global Datastore holds"
    return DbshiftError(
        f"{where} replication group {source} with a secondary in {target_region}: check "
        "source_replication_group_id / global_replication_group_id, or choose method backup_seed"
    )


def global_failover(
    clients: Clients,
    source_region: str,
    source_group_id: str,
    target_region: str,
    global_id: str | None = None,
    timeout: float = 3600,
    poll: float = 30,
) -> EcResult:
    """Make the Global Datastore's secondary in `target_region` the primary. Only the target Region is called."""
    ec = clients.get("elasticache", target_region)
    source = f"{source_region}/{source_group_id}"
    found = find_secondary(clients, source_region, source_group_id, target_region, global_id)
    if found is None:
        raise no_secondary(source, target_region, global_id)
    what = f"Global Datastore {found.global_id}"
    steps = [f"{what}: {found.member_id} in {target_region} is {found.role}"]

    def state(g: dict[str, Any]) -> str:
        return f"{g.get('Status')}, {found.member_id} {_member(g, found.member_id).get('Role')}"

    def failed(g: dict[str, Any]) -> str | None:
        return f"{g.get('Status')!r}" if g.get("Status") in FAILED_GLOBAL_STATES else None

    if found.role.upper() == "PRIMARY":
        changed = False
        steps.append("already the primary (failed over before)")
    else:
        # FailoverGlobalReplicationGroup needs an available datastore (not modifying after an earlier change).
        wait_until(
            lambda: _describe_global(ec, found.global_id),
            lambda g: g.get("Status") == "available",
            failed,
            f"{what} before failover",
            timeout,
            poll,
            state=state,
        )
        ec.failover_global_replication_group(
            GlobalReplicationGroupId=found.global_id,
            PrimaryRegion=target_region,
            PrimaryReplicationGroupId=found.member_id,
        )
        changed = True
        steps.append(f"FailoverGlobalReplicationGroup → {found.member_id} in {target_region}")
    wait_until(
        lambda: _describe_global(ec, found.global_id),
        lambda g: g.get("Status") == "available" and _member(g, found.member_id).get("Role", "").upper() == "PRIMARY",
        failed,
        what,
        timeout,
        poll,
        state=state,
    )
    group = wait_group(ec, found.member_id, target_region, "new primary", timeout, poll)
    steps.append(f"{found.member_id} is the primary and available")
    return _result(
        "global_failover",
        target_region,
        group,
        changed,
        source,
        global_replication_group_id=found.global_id,
        steps=steps,
    )


# ---------------------------------------------------------------- buckets


def bucket_region(s3: Any, bucket: str) -> str:
    try:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    except ClientError as exc:
        if error_code(exc) in ("NoSuchBucket", "404"):
            raise DbshiftError(f"bucket {bucket} does not exist: create it (the dr_target module's bucket)") from exc
        raise
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


def check_bucket(s3: Any, bucket: str, region: str, role: str) -> list[parity.Shortfall]:
    """Refuse a bucket outside `region`; its security shortfalls (TLS-only, public access blocked)."""
    found = bucket_region(s3, bucket)
    if found != region:
        raise ConfigError(
            f"{role} bucket {bucket} is in {found}, not {region}: ElastiCache exports to (and seeds from) buckets in "
            f"its own Region only; pass a bucket of {region}"
        )
    return parity.bucket_shortfalls(s3, bucket)


def _policy(s3: Any, bucket: str) -> dict[str, Any]:
    try:
        return json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as exc:
        if error_code(exc) in ("NoSuchBucketPolicy",):
            return {"Version": "2012-10-17", "Statement": []}
        raise


def grant_statement(bucket: str, region: str, sid: str, actions: tuple[str, ...]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": SNAPSHOT_SERVICE.format(region=region)},
        "Action": list(actions),
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
    }


def grant_missing(s3: Any, bucket: str, region: str, sid: str, actions: tuple[str, ...]) -> bool:
    wanted = grant_statement(bucket, region, sid, actions)
    statements = _policy(s3, bucket).get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    return wanted not in statements


def ensure_grant(s3: Any, bucket: str, region: str, sid: str, actions: tuple[str, ...]) -> bool:
    """Add (or correct) dbshift's statement granting ElastiCache access, keeping every other statement."""
    policy = _policy(s3, bucket)
    statements = policy.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    wanted = grant_statement(bucket, region, sid, actions)
    if wanted in statements:
        return False
    policy["Statement"] = [s for s in statements if s.get("Sid") != sid] + [wanted]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return True


def rdb_objects(s3: Any, bucket: str, prefix: str) -> dict[str, int]:
    """Key → size of the .rdb objects under `prefix` (an export name followed by "-")."""
    out: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".rdb"):
                out[obj["Key"]] = int(obj["Size"])
    return out


# ---------------------------------------------------------------- backup → export → copy → seed


@dataclass(frozen=True)
class SeedPlan:
    source_region: str
    source_group_id: str
    target_region: str
    new_group_id: str
    source_bucket: str
    target_bucket: str
    target_prefix: str = ""

    @property
    def source(self) -> str:
        return f"{self.source_region}/{self.source_group_id}"

    def seed_arn(self, key: str) -> str:
        return f"arn:aws:s3:::{self.target_bucket}/{self.target_prefix}{key}"


def existing_target(clients: Clients, plan: SeedPlan) -> dict[str, Any] | None:
    """The new group if an earlier run made it from the same source; refuses a group dbshift did not make."""
    ec = clients.get("elasticache", plan.target_region)
    group = describe_group(ec, plan.new_group_id)
    if group is None:
        return None
    marker = tag_value(group_tags(ec, group), "source")
    if marker != plan.source:
        raise DbshiftError(
            f"replication group {plan.new_group_id} already exists in {plan.target_region} but was not seeded by "
            f"dbshift from {plan.source} (tag dbshift:dr-source is {marker!r}): choose another target "
            "replication group id, or delete it"
        )
    return group


def check_buckets(clients: Clients, plan: SeedPlan, waive: frozenset[str]) -> list[str]:
    """Refuse a bucket in the wrong Region or an insecure one (unless waived), before anything is created."""
    shortfalls = check_bucket(clients.get("s3", plan.source_region), plan.source_bucket, plan.source_region, "export")
    shortfalls += check_bucket(clients.get("s3", plan.target_region), plan.target_bucket, plan.target_region, "seed")
    return [str(s) for s in parity.check(shortfalls, waive)]


def verify_key(found: str | None, wanted: str, what: str) -> None:
    if found != wanted:
        raise DbshiftError(
            f"{what} is encrypted with {found or 'no key (unencrypted)'}, not the target key {wanted}: delete it and "
            "run again, or check the key given as kms_key_arn"
        )


def _wait_snapshot(ec: Any, name: str, region: str, what: str, timeout: float, poll: float, done: Callable) -> dict:
    return wait_until(
        lambda: describe_snapshot(ec, name) or {"SnapshotStatus": "deleted"},
        done,
        lambda s: repr(s.get("SnapshotStatus")) if s.get("SnapshotStatus") in FAILED_SNAPSHOT_STATES else None,
        f"backup {name} in {region} ({what})",
        timeout,
        poll,
        state=lambda s: str(s.get("SnapshotStatus")),
    )


def backup_and_export(
    clients: Clients, plan: SeedPlan, timeout: float, poll: float, steps: list[str]
) -> tuple[str, dict[str, int]]:
    """Steps 1-2 in the source Region: manual backup (wait available) → export to the source bucket (wait)."""
    ec, s3 = clients.get("elasticache", plan.source_region), clients.get("s3", plan.source_region)
    name, export = backup_name(plan.new_group_id), export_name(plan.new_group_id)
    snap = describe_snapshot(ec, name)
    if snap is None:
        if describe_group(ec, plan.source_group_id) is None:
            raise DbshiftError(
                f"replication group {plan.source_group_id} not found in {plan.source_region}: check "
                "source_replication_group_id (a Global Datastore secondary needs method global_failover)"
            )
        ec.create_snapshot(
            ReplicationGroupId=plan.source_group_id, SnapshotName=name, Tags=tags(target=plan.new_group_id)
        )
        steps.append(f"CreateSnapshot {name} of {plan.source}")
    else:
        if snap.get("ReplicationGroupId") not in (None, plan.source_group_id):
            raise DbshiftError(
                f"backup {name} in {plan.source_region} is of {snap.get('ReplicationGroupId')}, not "
                f"{plan.source_group_id}: choose another target replication group id, or delete the backup"
            )
        steps.append(f"backup {name} found from an earlier run")
    snap = _wait_snapshot(ec, name, plan.source_region, "manual backup", timeout, poll, _available)
    shards = int(snap.get("NumNodeGroups") or len({n.get("NodeGroupId") for n in snap.get("NodeSnapshots", [])}) or 1)
    exported = rdb_objects(s3, plan.source_bucket, export + "-")
    if not exported:
        if ensure_grant(s3, plan.source_bucket, plan.source_region, EXPORT_SID, EXPORT_ACTIONS):
            steps.append(f"bucket policy of {plan.source_bucket}: ElastiCache may write the export")
        ec.copy_snapshot(SourceSnapshotName=name, TargetSnapshotName=export, TargetBucket=plan.source_bucket)
        steps.append(f"CopySnapshot {name} → s3://{plan.source_bucket}/{export}-*.rdb")
    else:
        steps.append(f"export {export} found in {plan.source_bucket} from an earlier run")
    # The backup is "exporting" until ElastiCache has written every shard's object.
    _wait_snapshot(ec, name, plan.source_region, "export", timeout, poll, _available)
    exported = wait_until(
        lambda: rdb_objects(s3, plan.source_bucket, export + "-"),
        lambda objs: len(objs) >= shards,
        lambda objs: None,
        f"export {export} of {name} in s3://{plan.source_bucket}",
        timeout,
        poll,
        state=lambda objs: f"{len(objs)} of {shards} .rdb objects",
    )
    return name, exported


def _available(snap: dict[str, Any]) -> bool:
    return snap.get("SnapshotStatus") == "available"


def copy_to_target(clients: Clients, plan: SeedPlan, exported: dict[str, int], steps: list[str]) -> list[str]:
    """Step 3: server-side copy of each .rdb object into the target-Region bucket; skip ones copied before."""
    src_s3, dst_s3 = clients.get("s3", plan.source_region), clients.get("s3", plan.target_region)
    present = rdb_objects(dst_s3, plan.target_bucket, plan.target_prefix + export_name(plan.new_group_id) + "-")
    keys: list[str] = []
    for key, size in sorted(exported.items()):
        dst_key = plan.target_prefix + key
        keys.append(dst_key)
        if present.get(dst_key) == size:
            continue
        # Managed copy: the bytes move inside S3 (UploadPartCopy above the multipart threshold), never via us.
        dst_s3.copy({"Bucket": plan.source_bucket, "Key": key}, plan.target_bucket, dst_key, SourceClient=src_s3)
        copied = dst_s3.head_object(Bucket=plan.target_bucket, Key=dst_key)["ContentLength"]
        if int(copied) != size:
            raise DbshiftError(
                f"copy of s3://{plan.source_bucket}/{key} to s3://{plan.target_bucket}/{dst_key} has {copied} bytes, "
                f"the export {size}: delete the copy and run again"
            )
        steps.append(f"copied {key} → s3://{plan.target_bucket}/{dst_key} ({size} bytes)")
    return keys


def create_args(plan: SeedPlan, settings: TargetSettings, key_arn: str, seed_arns: list[str]) -> dict[str, Any]:
    nodes = max(1, settings.num_cache_clusters)
    failover = settings.multi_az or nodes > 1
    args: dict[str, Any] = {
        "ReplicationGroupId": plan.new_group_id,
        "ReplicationGroupDescription": f"dbshift DR of {plan.source}",
        "Engine": "redis",
        "SnapshotArns": seed_arns,
        "AtRestEncryptionEnabled": True,
        "KmsKeyId": key_arn,
        "TransitEncryptionEnabled": True,
        "AutomaticFailoverEnabled": failover,
        "MultiAZEnabled": settings.multi_az,
        "SnapshotRetentionLimit": settings.snapshot_retention_days,
        "Tags": tags(source=plan.source, method="backup_seed"),
    }
    if len(seed_arns) > 1:  # one .rdb per shard: a cluster-mode group with as many shards
        args.update(ClusterMode="enabled", NumNodeGroups=len(seed_arns), ReplicasPerNodeGroup=nodes - 1)
    else:
        args["NumCacheClusters"] = nodes
    if settings.node_type:
        args["CacheNodeType"] = settings.node_type
    if settings.engine_version:
        args["EngineVersion"] = settings.engine_version
    if settings.subnet_group:
        args["CacheSubnetGroupName"] = settings.subnet_group
    if settings.security_group_ids:
        args["SecurityGroupIds"] = list(settings.security_group_ids)
    return args


def backup_seed(
    clients: Clients,
    plan: SeedPlan,
    kms_key_arn: str,
    settings: TargetSettings,
    waive: frozenset[str] = frozenset(),
    timeout: float = 7200,
    poll: float = 30,
) -> tuple[EcResult, list[str]]:
    """Backup → export → copy → seed; the result and the bucket shortfalls waived. Refusals come first."""
    check_id(plan.new_group_id, "target replication group id")
    settings.check()
    key_arn = resolve_target_key(clients, kms_key_arn, plan.target_region)
    ec = clients.get("elasticache", plan.target_region)
    existing = existing_target(clients, plan)
    if existing is not None:
        group = wait_group(ec, plan.new_group_id, plan.target_region, "seeded group", timeout, poll)
        verify_key(group.get("KmsKeyId"), key_arn, f"replication group {plan.new_group_id} in {plan.target_region}")
        return _result(
            "backup_seed", plan.target_region, group, False, plan.source, steps=["found from an earlier run"]
        ), []
    waived = check_buckets(clients, plan, waive)
    steps: list[str] = []
    name, exported = backup_and_export(clients, plan, timeout, poll, steps)
    keys = copy_to_target(clients, plan, exported, steps)
    if ensure_grant(
        clients.get("s3", plan.target_region), plan.target_bucket, plan.target_region, SEED_SID, SEED_ACTIONS
    ):
        steps.append(f"bucket policy of {plan.target_bucket}: ElastiCache may read the .rdb objects")
    seed_arns = [f"arn:aws:s3:::{plan.target_bucket}/{k}" for k in keys]
    try:
        ec.create_replication_group(**create_args(plan, settings, key_arn, seed_arns))
    except ClientError as exc:
        raise kms_errors.translate(
            exc,
            f"CreateReplicationGroup {plan.new_group_id}",
            key_arn,
            plan.target_region,
            clients.kms(plan.target_region),
        ) from exc
    steps.append(f"CreateReplicationGroup {plan.new_group_id} seeded from {len(seed_arns)} .rdb object(s)")
    group = wait_group(ec, plan.new_group_id, plan.target_region, "seeding from .rdb", timeout, poll)
    verify_key(group.get("KmsKeyId"), key_arn, f"replication group {plan.new_group_id} in {plan.target_region}")
    steps.append(f"{plan.new_group_id} available, encrypted at rest with {key_arn} and in transit")
    result = _result(
        "backup_seed",
        plan.target_region,
        group,
        True,
        plan.source,
        snapshot_name=name,
        export_objects=sorted(exported),
        seed_arns=seed_arns,
        steps=steps,
    )
    return result, waived
