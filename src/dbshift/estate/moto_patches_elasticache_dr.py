"""moto patches for ElastiCache DR (backup export to S3, seeding a replication group from .rdb files).

Same rules as dbshift.estate.moto_patches: one function per gap, small and faithful to the AWS
documentation, each wrapping moto's own code and marked so that applying twice changes nothing.

moto 5.2 has no Global Datastores at all (every global replication group action answers HTTP 500):
patch_elasticache_global_datastores adds the ones the runbook and its tests need.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_MARK = "_dbshift_patched"

# "Grant ElastiCache access to your Amazon S3 bucket" (ElastiCache User Guide, Exporting a backup): a bucket
# policy statement for the service principal of the bucket's Region, or (older Regions) an ACL grant to
# ElastiCache's canonical user.
SNAPSHOT_SERVICE = "{region}.elasticache-snapshot.amazonaws.com"
ELASTICACHE_CANONICAL_ID = "540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353"
RDB_VERSION = b"REDIS0011"


def _is_patched(fn: Callable[..., Any]) -> bool:
    return getattr(fn, _MARK, False)


def _mark(fn: Callable[..., Any]) -> Callable[..., Any]:
    setattr(fn, _MARK, True)
    return fn


def export_object_names(target_snapshot_name: str, node_groups: int) -> list[str]:
    """The objects an export writes: ElastiCache adds the node group id and ".rdb" ("my-backup-0001.rdb")."""
    return [f"{target_snapshot_name}-{i:04d}.rdb" for i in range(1, max(1, node_groups) + 1)]


def _rdb_string(value: bytes) -> bytes:
    # RDB length encoding: 6-bit (< 64) or 14-bit (< 16384) lengths.
    if len(value) < 64:
        return bytes([len(value)]) + value
    return bytes([0x40 | (len(value) >> 8), len(value) & 0xFF]) + value


def rdb_body(snapshot_arn: str, node_group: str) -> bytes:
    """A minimal, well-formed RDB file: header, two aux fields naming where it came from, EOF, no checksum."""
    aux = b"".join(
        b"\xfa" + _rdb_string(k) + _rdb_string(v)
        for k, v in ((b"dbshift-source-snapshot", snapshot_arn.encode()), (b"dbshift-node-group", node_group.encode()))
    )
    return RDB_VERSION + aux + b"\xff" + b"\x00" * 8


def _grants(bucket: Any, region: str, action: str, acl_permission: str) -> bool:
    """Does the bucket let ElastiCache (of `region`) do `action`: by bucket policy or by ACL grant?"""
    service = SNAPSHOT_SERVICE.format(region=region)
    try:
        policy = json.loads(bucket.policy) if bucket.policy else {}
    except (TypeError, ValueError):
        policy = {}
    statements = policy.get("Statement", [])
    for st in [statements] if isinstance(statements, dict) else statements:
        principal = st.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if st.get("Effect") == "Allow" and service in services and (action in actions or "s3:*" in actions):
            return True
    for grant in getattr(bucket.acl, "grants", None) or []:
        ids = {getattr(g, "id", "") for g in grant.grantees}
        if ELASTICACHE_CANONICAL_ID in ids and {acl_permission, "FULL_CONTROL"} & set(grant.permissions):
            return True
    return False


def _s3_backend(account_id: str, region: str) -> Any:
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    return s3_backends[account_id][get_partition(region)]


def patch_elasticache_copy_snapshot() -> None:
    """ElastiCache CopySnapshot is missing from moto 5.2: no copies, and no export to S3 (TargetBucket).

    AWS: without TargetBucket, CopySnapshot makes a snapshot TargetSnapshotName in the same Region. With
    TargetBucket it exports the backup: the bucket must exist, be in the snapshot's Region, and grant
    ElastiCache write access; ElastiCache writes one "<TargetSnapshotName>-<node group>.rdb" object per
    node group and refuses to overwrite an existing object. The error texts are the API reference's.
    """
    from moto.elasticache.exceptions import (
        InvalidParameterValueException,
        SnapshotAlreadyExists,
        SnapshotNotFound,
    )
    from moto.elasticache.models import ElastiCacheBackend, Snapshot
    from moto.elasticache.responses import ElastiCacheResponse
    from moto.s3.exceptions import MissingBucket

    if _is_patched(getattr(ElastiCacheBackend, "copy_snapshot", lambda: None)):
        return

    def copy_snapshot(
        self: Any, source_snapshot_name: str, target_snapshot_name: str, target_bucket: str | None, kms_key_id: Any
    ) -> Any:
        source = self.snapshots.get(source_snapshot_name)
        if source is None:
            raise SnapshotNotFound(source_snapshot_name)
        if not target_bucket:
            if target_snapshot_name in self.snapshots:
                raise SnapshotAlreadyExists(target_snapshot_name)
            copy = Snapshot.__new__(Snapshot)
            copy.__dict__.update(source.__dict__)
            copy.snapshot_name = target_snapshot_name
            copy.arn = source.arn.rsplit(":", 1)[0] + ":" + target_snapshot_name
            copy.snapshot_source = "manual"
            copy.kms_key_id = kms_key_id or source.kms_key_id
            self.snapshots[target_snapshot_name] = copy
            return copy
        s3 = _s3_backend(self.account_id, self.region_name)
        try:
            bucket = s3.get_bucket(target_bucket)
        except MissingBucket:
            raise InvalidParameterValueException(f"The S3 bucket {target_bucket} does not exist.") from None
        if bucket.region_name != self.region_name:
            raise InvalidParameterValueException(f"The S3 bucket {target_bucket} is outside of the region.")
        if not _grants(bucket, self.region_name, "s3:PutObject", "WRITE"):
            raise InvalidParameterValueException(
                f"ElastiCache has not been granted WRITE permissions {target_bucket} on the S3 Bucket."
            )
        names = export_object_names(target_snapshot_name, int(source.num_node_groups or 1))
        for name in names:
            if name in bucket.keys:
                raise InvalidParameterValueException(
                    f"The S3 bucket {target_bucket} already contains an object with name {name}."
                )
        for i, name in enumerate(names, start=1):
            s3.put_object(target_bucket, name, rdb_body(source.arn, f"{i:04d}"))
        return source

    def copy_snapshot_action(self: Any) -> Any:
        from moto.core.responses import ActionResult

        snapshot = self.elasticache_backend.copy_snapshot(
            source_snapshot_name=self._get_param("SourceSnapshotName"),
            target_snapshot_name=self._get_param("TargetSnapshotName"),
            target_bucket=self._get_param("TargetBucket"),
            kms_key_id=self._get_param("KmsKeyId"),
        )
        return ActionResult({"Snapshot": snapshot})

    ElastiCacheBackend.copy_snapshot = _mark(copy_snapshot)  # type: ignore[attr-defined]
    ElastiCacheResponse.copy_snapshot = _mark(copy_snapshot_action)  # type: ignore[attr-defined]


def patch_elasticache_seed_from_s3() -> None:
    """CreateReplicationGroup with SnapshotArns: moto accepts any ARN; AWS seeds from the .rdb objects named.

    AWS ("Seeding a new cluster with an externally created backup"): each SnapshotArns entry is an S3 object
    ARN (arn:aws:s3:::bucket/key of an .rdb file), the bucket in the new group's Region, readable by ElastiCache
    (s3:GetObject granted to the Region's elasticache-snapshot service principal, or ACL READ to ElastiCache).
    moto keeps SnapshotArns on the group; this refuses ARNs AWS would refuse, before the group exists.
    """
    from moto.elasticache.exceptions import InvalidParameterValueException
    from moto.elasticache.models import ElastiCacheBackend
    from moto.s3.exceptions import MissingBucket

    original = ElastiCacheBackend.create_replication_group
    if getattr(original, "_dbshift_seed", False):
        return

    @functools.wraps(original)
    def create_replication_group(self: Any, *args: Any, **kwargs: Any) -> Any:
        import inspect

        bound = inspect.signature(original).bind(self, *args, **kwargs).arguments
        for arn in bound.get("snapshot_arns") or []:
            bucket_name, _, key = str(arn).removeprefix("arn:aws:s3:::").partition("/")
            if not str(arn).startswith("arn:aws:s3:::") or not key:
                raise InvalidParameterValueException(
                    f"Invalid snapshot ARN {arn}: expected arn:aws:s3:::<bucket>/<object>.rdb"
                )
            try:
                bucket = _s3_backend(self.account_id, self.region_name).get_bucket(bucket_name)
            except MissingBucket:
                raise InvalidParameterValueException(f"The S3 bucket {bucket_name} does not exist.") from None
            if bucket.region_name != self.region_name:
                raise InvalidParameterValueException(f"The S3 bucket {bucket_name} is outside of the region.")
            if key not in bucket.keys:
                raise InvalidParameterValueException(f"No such S3 object: {arn}")
            if not _grants(bucket, self.region_name, "s3:GetObject", "READ"):
                raise InvalidParameterValueException(
                    f"ElastiCache has not been granted READ permissions {bucket_name} on the S3 Bucket."
                )
        return original(**bound)

    create_replication_group._dbshift_seed = True  # type: ignore[attr-defined]
    ElastiCacheBackend.create_replication_group = create_replication_group  # type: ignore[method-assign]


# ---------------------------------------------------------------- Global Datastores

# "Using global datastores (CLI)" (ElastiCache User Guide): the prefix ElastiCache puts before
# GlobalReplicationGroupIdSuffix, by the Region the global datastore is created in.
GLOBAL_ID_PREFIXES = {
    "us-east-2": "fpkhr",
    "us-east-1": "ldgnf",
    "us-west-1": "virxk",
    "us-west-2": "sgaui",
    "ca-central-1": "bxodz",
    "ap-south-1": "erpgt",
    "ap-northeast-1": "quwsw",
    "ap-northeast-2": "lfqnh",
    "ap-northeast-3": "nlapn",
    "ap-southeast-1": "vlqxn",
    "ap-southeast-2": "vbgxd",
    "eu-central-1": "iudkw",
    "eu-west-1": "gxeiz",
    "eu-west-2": "okuqm",
    "eu-west-3": "fgjhi",
    "sa-east-1": "juxlw",
    "cn-north-1": "emvgo",
    "cn-northwest-1": "ckbem",
    "ap-east-1": "knjmp",
}
# "Prerequisites and limitations": a primary replicates to secondaries in up to two other Regions.
GLOBAL_MAX_SECONDARIES = 2
PRIMARY, SECONDARY = "PRIMARY", "SECONDARY"


def global_id_prefix(region: str) -> str:
    """The Region's prefix; for a Region the guide's table does not list, a fixed one derived from its name."""
    known = GLOBAL_ID_PREFIXES.get(region)
    if known:
        return known
    digest = hashlib.sha256(region.encode()).digest()
    return "".join(chr(ord("a") + b % 26) for b in digest[:5])


@dataclass
class GlobalMember:
    replication_group_id: str
    region: str
    role: str
    automatic_failover: str

    def to_api(self) -> dict[str, Any]:
        return {
            "ReplicationGroupId": self.replication_group_id,
            "ReplicationGroupRegion": self.region,
            "Role": self.role,
            "AutomaticFailover": self.automatic_failover,
            "Status": "associated",
        }


@dataclass
class GlobalDatastore:
    """A Global Datastore: settings taken from the primary when it was created, and its members."""

    global_id: str
    description: str
    arn: str
    engine: str
    engine_version: str | None
    cache_node_type: str
    cluster_enabled: bool
    auth_token_enabled: bool
    transit_encryption_enabled: bool
    at_rest_encryption_enabled: bool
    members: list[GlobalMember] = field(default_factory=list)

    @property
    def status(self) -> str:
        # Without a secondary a datastore is "primary-only" (the state FailoverGlobalReplicationGroup refuses).
        # AWS passes through "creating"/"modifying" first; like the rest of moto this is done at once.
        return "available" if len(self.members) > 1 else "primary-only"

    def member(self, group_id: str, region: str) -> GlobalMember | None:
        return next((m for m in self.members if (m.replication_group_id, m.region) == (group_id, region)), None)

    def to_api(self, show_members: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "GlobalReplicationGroupId": self.global_id,
            "GlobalReplicationGroupDescription": self.description,
            "Status": self.status,
            "CacheNodeType": self.cache_node_type,
            "Engine": self.engine,
            "ClusterEnabled": self.cluster_enabled,
            "AuthTokenEnabled": self.auth_token_enabled,
            "TransitEncryptionEnabled": self.transit_encryption_enabled,
            "AtRestEncryptionEnabled": self.at_rest_encryption_enabled,
            "ARN": self.arn,
        }
        if self.engine_version:
            out["EngineVersion"] = self.engine_version
        if show_members:
            out["Members"] = [m.to_api() for m in self.members]
        return out


def _ec_error(code: str, message: str) -> Exception:
    # The HTTP status comes from the ElastiCache model's error shape for `code` (404 for the NotFound faults).
    from moto.elasticache.exceptions import ElastiCacheException

    return ElastiCacheException(code, message)


def _ec_backend(account_id: str, region: str) -> Any:
    from moto.elasticache.models import elasticache_backends

    return elasticache_backends[account_id][region]


def _datastores(account_id: str) -> dict[str, GlobalDatastore]:
    """The account's Global Datastores. They belong to no one Region (their ARN has none): kept on the us-east-1
    backend, so that moto's reset clears them with everything else."""
    home = _ec_backend(account_id, "us-east-1")
    if not hasattr(home, "_dbshift_global_datastores"):
        home._dbshift_global_datastores = {}
    return home._dbshift_global_datastores


def _datastore(account_id: str, global_id: str) -> GlobalDatastore:
    found = _datastores(account_id).get(global_id)
    if found is None:
        raise _ec_error("GlobalReplicationGroupNotFoundFault", f"Global replication group {global_id} not found.")
    return found


def _set_role(account_id: str, member: GlobalMember, role: str) -> None:
    member.role = role
    group = _ec_backend(account_id, member.region).replication_groups.get(member.replication_group_id)
    if group is not None:
        group.global_replication_group_member_role = role


def secondary_settings(datastore: GlobalDatastore, requested: dict[str, Any]) -> dict[str, Any]:
    """The create_replication_group arguments a secondary takes from its Global Datastore.

    AWS: all members have the same engine, engine version, node type and number of shards, the datastore's
    encryption settings, and a secondary inherits the primary's Multi-AZ and automatic failover. A request that
    asks for something else is refused; one that leaves them out gets the datastore's.
    """
    wanted: dict[str, Any] = {
        "engine": datastore.engine,
        "engine_version": datastore.engine_version,
        "cache_node_type": datastore.cache_node_type,
        "at_rest_encryption_enabled": datastore.at_rest_encryption_enabled,
        "transit_encryption_enabled": datastore.transit_encryption_enabled,
        "cluster_mode": "enabled" if datastore.cluster_enabled else "disabled",
    }
    for name, value in wanted.items():
        given = requested.get(name)
        if value is not None and given is not None and str(given).lower() != str(value).lower():
            raise _ec_error(
                "InvalidParameterCombination",
                f"{name} {given} differs from Global replication group {datastore.global_id}'s {value}: a secondary "
                "replication group takes its settings from the Global datastore; leave it out.",
            )
    return {k: v for k, v in wanted.items() if v is not None}


def patch_elasticache_global_datastores() -> None:
    """Global Datastores: CreateGlobalReplicationGroup, CreateReplicationGroup with GlobalReplicationGroupId,
    DescribeGlobalReplicationGroups and FailoverGlobalReplicationGroup, all missing from moto 5.2.

    AWS (API reference and "Replication across AWS Regions using global datastores"):
    - CreateGlobalReplicationGroup makes the existing, available PrimaryReplicationGroupId (a group in no other
      datastore) the primary; the id is the Region's prefix, "-", GlobalReplicationGroupIdSuffix.
    - CreateReplicationGroup with GlobalReplicationGroupId adds a secondary in another Region (one per Region, at
      most two), with the datastore's engine, version, node type, shards and encryption.
    - DescribeGlobalReplicationGroups lists Members (group, Region, Role PRIMARY/SECONDARY) only with ShowMemberInfo;
      each member's DescribeReplicationGroups names the datastore and its role (GlobalReplicationGroupInfo).
    - FailoverGlobalReplicationGroup makes the secondary PrimaryReplicationGroupId in PrimaryRegion the primary and
      every other member a secondary; refused unless the datastore is available (not primary-only).
    The failover's "modifying" phase is collapsed: the datastore is available with the new roles at once.
    """
    from moto.core.responses import ActionResult
    from moto.elasticache.exceptions import ReplicationGroupNotFound
    from moto.elasticache.models import ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse

    original_create = ElastiCacheBackend.create_replication_group
    if getattr(original_create, "_dbshift_global", False):
        return

    def create_global_replication_group(self: Any, suffix: str, description: str | None, primary_id: str) -> Any:
        primary_id = (primary_id or "").lower()  # "stored as a lowercase string"
        group = self.replication_groups.get(primary_id)
        if group is None:
            raise ReplicationGroupNotFound(primary_id)
        if group.global_replication_group_id:
            raise _ec_error(
                "InvalidReplicationGroupState",
                f"Replication group {primary_id} is already a member of Global replication group "
                f"{group.global_replication_group_id}.",
            )
        if group.status != "available":
            raise _ec_error("InvalidReplicationGroupState", f"Replication group {primary_id} is not available.")
        global_id = f"{global_id_prefix(self.region_name)}-{suffix}"
        store = _datastores(self.account_id)
        if global_id in store:
            raise _ec_error(
                "GlobalReplicationGroupAlreadyExistsFault", f"Global replication group {global_id} already exists."
            )
        datastore = GlobalDatastore(
            global_id=global_id,
            description=description or "",
            arn=f"arn:aws:elasticache::{self.account_id}:globalreplicationgroup:{global_id}",
            engine=group.engine,
            engine_version=group.engine_version,
            cache_node_type=group.cache_node_type,
            cluster_enabled=bool(group.cluster_enabled),
            auth_token_enabled=bool(group.auth_token_enabled),
            transit_encryption_enabled=bool(group.transit_encryption_enabled),
            at_rest_encryption_enabled=bool(group.at_rest_encryption_enabled),
            members=[GlobalMember(primary_id, self.region_name, PRIMARY, group.automatic_failover)],
        )
        store[global_id] = datastore
        group.global_replication_group_id = global_id
        group.global_replication_group_member_role = PRIMARY
        return datastore

    @functools.wraps(original_create)
    def create_replication_group(self: Any, *args: Any, **kwargs: Any) -> Any:
        import inspect

        bound = inspect.signature(original_create).bind(self, *args, **kwargs).arguments
        global_id = bound.get("global_replication_group_id")
        if not global_id:
            return original_create(**bound)
        datastore = _datastore(self.account_id, global_id)
        here = [m for m in datastore.members if m.region == self.region_name]
        if here:
            raise _ec_error(
                "InvalidParameterValue",
                f"Global replication group {global_id} already has a member in {self.region_name} "
                f"({here[0].replication_group_id}): a secondary must be in another Region.",
            )
        if len(datastore.members) - 1 >= GLOBAL_MAX_SECONDARIES:
            raise _ec_error(
                "InvalidParameterValue",
                f"Global replication group {global_id} already has {GLOBAL_MAX_SECONDARIES} secondary Regions.",
            )
        primary = next(m for m in datastore.members if m.role == PRIMARY)
        source = _ec_backend(self.account_id, primary.region).replication_groups[primary.replication_group_id]
        bound.update(secondary_settings(datastore, bound))
        bound["num_node_groups"] = len(source.node_groups)
        bound["multi_az_enabled"] = source.multi_az == "enabled"
        bound["automatic_failover_enabled"] = source.automatic_failover == "enabled"
        group = original_create(**bound)
        group.global_replication_group_id = global_id
        group.global_replication_group_member_role = SECONDARY
        datastore.members.append(
            GlobalMember(group.replication_group_id, self.region_name, SECONDARY, group.automatic_failover)
        )
        return group

    create_replication_group._dbshift_global = True  # type: ignore[attr-defined]

    def describe_global_replication_groups(self: Any, global_id: str | None) -> list[GlobalDatastore]:
        if global_id:
            return [_datastore(self.account_id, global_id)]
        return sorted(_datastores(self.account_id).values(), key=lambda d: d.global_id)

    def failover_global_replication_group(self: Any, global_id: str, primary_region: str, primary_id: str) -> Any:
        datastore = _datastore(self.account_id, global_id)
        if datastore.status != "available":
            raise _ec_error(
                "InvalidGlobalReplicationGroupState",
                f"Global replication group {global_id} is {datastore.status}: it needs a secondary to fail over to.",
            )
        new_primary = datastore.member((primary_id or "").lower(), primary_region)
        if new_primary is None:
            raise _ec_error(
                "InvalidParameterValue",
                f"Replication group {primary_id} in {primary_region} is not a member of Global replication group "
                f"{global_id}.",
            )
        if new_primary.role == PRIMARY:
            raise _ec_error(
                "InvalidParameterValue",
                f"Replication group {primary_id} in {primary_region} is already the primary of {global_id}.",
            )
        for member in datastore.members:
            _set_role(self.account_id, member, PRIMARY if member is new_primary else SECONDARY)
        return datastore

    def create_action(self: Any) -> Any:
        datastore = self.elasticache_backend.create_global_replication_group(
            suffix=self._get_param("GlobalReplicationGroupIdSuffix"),
            description=self._get_param("GlobalReplicationGroupDescription"),
            primary_id=self._get_param("PrimaryReplicationGroupId"),
        )
        return ActionResult({"GlobalReplicationGroup": datastore.to_api(show_members=True)})

    def describe_action(self: Any) -> Any:
        found = self.elasticache_backend.describe_global_replication_groups(self._get_param("GlobalReplicationGroupId"))
        show = bool(self._get_bool_param("ShowMemberInfo"))
        return ActionResult({"GlobalReplicationGroups": [d.to_api(show_members=show) for d in found]})

    def failover_action(self: Any) -> Any:
        datastore = self.elasticache_backend.failover_global_replication_group(
            global_id=self._get_param("GlobalReplicationGroupId"),
            primary_region=self._get_param("PrimaryRegion"),
            primary_id=self._get_param("PrimaryReplicationGroupId"),
        )
        return ActionResult({"GlobalReplicationGroup": datastore.to_api(show_members=True)})

    ElastiCacheBackend.create_replication_group = create_replication_group  # type: ignore[method-assign]
    ElastiCacheBackend.create_global_replication_group = _mark(create_global_replication_group)  # type: ignore[attr-defined]
    ElastiCacheBackend.describe_global_replication_groups = _mark(describe_global_replication_groups)  # type: ignore[attr-defined]
    ElastiCacheBackend.failover_global_replication_group = _mark(failover_global_replication_group)  # type: ignore[attr-defined]
    ElastiCacheResponse.create_global_replication_group = _mark(create_action)  # type: ignore[attr-defined]
    ElastiCacheResponse.describe_global_replication_groups = _mark(describe_action)  # type: ignore[attr-defined]
    ElastiCacheResponse.failover_global_replication_group = _mark(failover_action)  # type: ignore[attr-defined]


PATCHES: list[Callable[[], Any]] = [
    patch_elasticache_copy_snapshot,
    patch_elasticache_seed_from_s3,
    patch_elasticache_global_datastores,
]


def apply() -> None:
    for patch in PATCHES:
        patch()
