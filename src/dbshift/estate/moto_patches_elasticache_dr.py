"""moto patches for ElastiCache DR (backup export to S3, seeding a replication group from .rdb files).

Same rules as dbshift.estate.moto_patches: one function per gap, small and faithful to the AWS
documentation, each wrapping moto's own code and marked so that applying twice changes nothing.

Global datastores (DescribeGlobalReplicationGroups, FailoverGlobalReplicationGroup) are not emulated:
moto 5.2 has no global replication groups at all, and the runbook's calls are covered with botocore's
Stubber in tests/integration/test_dr_elasticache.py instead.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
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


PATCHES: list[Callable[[], Any]] = [patch_elasticache_copy_snapshot, patch_elasticache_seed_from_s3]


def apply() -> None:
    for patch in PATCHES:
        patch()
