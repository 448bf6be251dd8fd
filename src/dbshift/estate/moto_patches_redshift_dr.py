"""moto patches for Redshift cross-Region DR (snapshot copy to the destination Region, restore, AZ relocation).

Same rules as dbshift.estate.moto_patches: one function per gap, small and faithful to the AWS
documentation, each wrapping moto's own code and marked so that applying twice changes nothing.
This module marks its wrappers with its own attribute: moto_patches already wraps (and marks)
RedshiftResponse.modify_cluster, and that mark must not make this module skip its own wrapper.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_MARK = "_dbshift_redshift_dr"

# EnableSnapshotCopy: copied manual snapshots are kept for ever (-1) unless ManualSnapshotRetentionPeriod says
# otherwise; copied automated snapshots 7 days (RetentionPeriod's documented default).
MANUAL_RETENTION_DEFAULT = -1
AUTOMATED_COPY_RETENTION_DEFAULT = 7


def _is_patched(fn: Any) -> bool:
    return getattr(fn, _MARK, False)


def _mark(fn: Callable[..., Any]) -> Callable[..., Any]:
    setattr(fn, _MARK, True)
    return fn


def patch_redshift_snapshot_copy_grant_key() -> None:
    """moto's snapshot copy grants forget their KMS key and tags.

    DescribeSnapshotCopyGrants returns each grant's KmsKeyId (the destination-Region key that
    encrypts copied snapshots) and Tags; moto keeps only the name, so a runbook cannot tell which
    key a grant uses. This stores the key and tags (and the account and Region, for the grant's ARN).
    """
    from moto.redshift.models import RedshiftBackend, TaggableResourceMixin
    from moto.redshift.responses import RedshiftResponse

    original = RedshiftResponse.create_snapshot_copy_grant
    if _is_patched(original):
        return

    @functools.wraps(original)
    def create_snapshot_copy_grant(self: Any) -> Any:
        result = original(self)
        backend: RedshiftBackend = self.redshift_backend
        grant = backend.snapshot_copy_grants[self._get_param("SnapshotCopyGrantName")]
        TaggableResourceMixin.__init__(grant, backend.account_id, backend.region_name, self._get_param("Tags", []))
        grant.kms_key_id = self._get_param("KmsKeyId")
        return result

    RedshiftResponse.create_snapshot_copy_grant = _mark(create_snapshot_copy_grant)  # type: ignore[method-assign]


def patch_redshift_snapshot_encryption() -> None:
    """moto's Redshift snapshots have no KmsKeyId, SourceRegion or ManualSnapshotRetentionPeriod.

    A snapshot of a KMS-encrypted cluster is encrypted with the cluster's key and says so in
    KmsKeyId; a copy made in another Region names that Region in SourceRegion; a manual snapshot
    carries its retention (-1, for ever, unless CreateClusterSnapshot sets it).
    """
    from moto.redshift.models import Snapshot
    from moto.redshift.responses import RedshiftResponse

    original_init = Snapshot.__init__
    original_create = RedshiftResponse.create_cluster_snapshot
    if _is_patched(original_init):
        return

    @functools.wraps(original_init)
    def __init__(self: Any, cluster: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, cluster, *args, **kwargs)
        self.kms_key_id = getattr(cluster, "kms_key_id", None) if self.encrypted else None
        self.source_region = None
        self.manual_snapshot_retention_period = MANUAL_RETENTION_DEFAULT if self.snapshot_type == "manual" else None
        self.cluster_create_time = getattr(cluster, "create_time", None)

    @functools.wraps(original_create)
    def create_cluster_snapshot(self: Any) -> Any:
        result = original_create(self)
        days = self._get_int_param("ManualSnapshotRetentionPeriod")
        if days is not None:
            self.redshift_backend.snapshots[
                self._get_param("SnapshotIdentifier")
            ].manual_snapshot_retention_period = days
        return result

    Snapshot.__init__ = _mark(__init__)  # type: ignore[method-assign]
    RedshiftResponse.create_cluster_snapshot = _mark(create_cluster_snapshot)  # type: ignore[method-assign]


def patch_redshift_snapshot_copy_settings() -> None:
    """moto drops EnableSnapshotCopy's ManualSnapshotRetentionPeriod and answers ModifySnapshotCopyRetentionPeriod
    with "Clusters" (ignoring Manual).

    Redshift describes ClusterSnapshotCopyStatus with RetentionPeriod (7 by default) and
    ManualSnapshotRetentionPeriod; ModifySnapshotCopyRetentionPeriod returns the Cluster and, with
    Manual=true, changes the manual retention instead of the automated one. A named snapshot copy grant must
    exist in the destination Region (it holds that Region's KMS key); moto looked in the source Region.
    """
    from moto.redshift.responses import RedshiftResponse

    original_enable = RedshiftResponse.enable_snapshot_copy
    if _is_patched(original_enable):
        return

    @functools.wraps(original_enable)
    def enable_snapshot_copy(self: Any) -> Any:
        from moto.redshift.exceptions import SnapshotCopyGrantNotFoundFaultError
        from moto.redshift.models import redshift_backends

        grant = self._get_param("SnapshotCopyGrantName")
        destination = self._get_param("DestinationRegion")
        if grant and grant not in redshift_backends[self.current_account][destination].snapshot_copy_grants:
            raise SnapshotCopyGrantNotFoundFaultError(grant)
        result = original_enable(self)
        status = self.redshift_backend.clusters[self._get_param("ClusterIdentifier")].cluster_snapshot_copy_status
        status["RetentionPeriod"] = self._get_int_param("RetentionPeriod", AUTOMATED_COPY_RETENTION_DEFAULT)
        status["ManualSnapshotRetentionPeriod"] = self._get_int_param(
            "ManualSnapshotRetentionPeriod", MANUAL_RETENTION_DEFAULT
        )
        return result

    def modify_snapshot_copy_retention_period(self: Any) -> Any:
        from moto.core.responses import ActionResult
        from moto.redshift.exceptions import SnapshotCopyDisabledFaultError

        identifier = self._get_param("ClusterIdentifier")
        cluster = self.redshift_backend.describe_clusters(identifier)[0]
        status = cluster.cluster_snapshot_copy_status
        if status is None:
            raise SnapshotCopyDisabledFaultError(identifier)
        key = "ManualSnapshotRetentionPeriod" if self._get_bool_param("Manual", False) else "RetentionPeriod"
        status[key] = self._get_int_param("RetentionPeriod")
        return ActionResult({"Cluster": cluster})

    RedshiftResponse.enable_snapshot_copy = _mark(enable_snapshot_copy)  # type: ignore[method-assign]
    RedshiftResponse.modify_snapshot_copy_retention_period = _mark(  # type: ignore[method-assign]
        modify_snapshot_copy_retention_period
    )


def patch_redshift_cross_region_snapshot_copy() -> None:
    """moto stores the cross-Region copy settings but never copies a snapshot to the destination Region.

    With cross-Region snapshot copy enabled, Redshift copies every new snapshot of the cluster,
    automated or manual, to the destination Region: same identifier and SnapshotType, SourceRegion
    the source Region, encrypted with the snapshot copy grant's destination-Region key when the
    cluster is KMS-encrypted, manual copies kept ManualSnapshotRetentionPeriod days. Snapshots taken
    before copy was enabled are not copied.
    """
    from moto.redshift.models import RedshiftBackend, Snapshot, redshift_backends

    original = RedshiftBackend.create_cluster_snapshot
    if _is_patched(original):
        return

    @functools.wraps(original)
    def create_cluster_snapshot(self: Any, cluster_identifier: str, snapshot_identifier: str, *args: Any, **kw: Any):
        snapshot = original(self, cluster_identifier, snapshot_identifier, *args, **kw)
        cluster = self.clusters[cluster_identifier]
        status = cluster.cluster_snapshot_copy_status
        if status is None:
            return snapshot
        destination = redshift_backends[self.account_id][status["DestinationRegion"]]
        if snapshot_identifier in destination.snapshots:
            return snapshot
        copy = Snapshot(
            cluster,
            snapshot_identifier,
            self.account_id,
            destination.region_name,
            [dict(t) for t in snapshot.tags],
            snapshot_type=snapshot.snapshot_type,
        )
        copy.source_region = self.region_name
        copy.availability_zone = snapshot.availability_zone
        if cluster.encrypted:
            grant = destination.snapshot_copy_grants.get(status.get("SnapshotCopyGrantName") or "")
            copy.kms_key_id = getattr(grant, "kms_key_id", None)
        if copy.snapshot_type == "manual":
            copy.manual_snapshot_retention_period = status.get(
                "ManualSnapshotRetentionPeriod", MANUAL_RETENTION_DEFAULT
            )
        destination.snapshots[snapshot_identifier] = copy
        return snapshot

    RedshiftBackend.create_cluster_snapshot = _mark(create_cluster_snapshot)  # type: ignore[method-assign]


def patch_redshift_restore_encryption_and_zone() -> None:
    """moto's RestoreFromClusterSnapshot ignores Encrypted, KmsKeyId and AvailabilityZoneRelocation, drops the
    snapshot's key, and keeps the snapshot's Availability Zone even in another Region.

    Redshift restores an encrypted snapshot with the snapshot's key, or with KmsKeyId when given;
    Encrypted=true with KmsKeyId encrypts a cluster restored from an unencrypted snapshot. Without
    AvailabilityZone, a cluster restored from a snapshot copied from another Region is placed in an
    Availability Zone of its own Region.
    """
    from moto.redshift.responses import RedshiftResponse

    original = RedshiftResponse.restore_from_cluster_snapshot
    if _is_patched(original):
        return

    @functools.wraps(original)
    def restore_from_cluster_snapshot(self: Any) -> Any:
        result = original(self)
        backend = self.redshift_backend
        cluster = backend.clusters[self._get_param("ClusterIdentifier")]
        snapshot = backend.snapshots[self._get_param("SnapshotIdentifier")]
        key = self._get_param("KmsKeyId")
        cluster.encrypted = bool(snapshot.encrypted or self._get_bool_param("Encrypted", False))
        cluster.kms_key_id = (key or getattr(snapshot, "kms_key_id", None)) if cluster.encrypted else None
        if not self._get_param("AvailabilityZone") and not cluster.availability_zone.startswith(backend.region_name):
            cluster.availability_zone = backend.region_name + "a"
        relocation = self._get_bool_param("AvailabilityZoneRelocation")
        if relocation is not None:
            cluster.availability_zone_relocation_status = "enabled" if relocation else "disabled"
        days = self._get_int_param("ManualSnapshotRetentionPeriod")
        if days is not None:
            cluster.manual_snapshot_retention_period = days
        return result

    RedshiftResponse.restore_from_cluster_snapshot = _mark(restore_from_cluster_snapshot)  # type: ignore[method-assign]


def patch_redshift_modify_cluster_availability_zone() -> None:
    """moto's ModifyCluster ignores AvailabilityZone, so an AZ relocation never moves the cluster.

    With AvailabilityZoneRelocation enabled, ModifyCluster's AvailabilityZone relocates the cluster
    to that Availability Zone of its Region (the endpoint stays the same).
    """
    from moto.redshift.responses import RedshiftResponse

    original = RedshiftResponse.modify_cluster
    if _is_patched(original):
        return

    @functools.wraps(original)
    def modify_cluster(self: Any) -> Any:
        result = original(self)
        zone = self._get_param("AvailabilityZone")
        if zone:
            identifier = self._get_param("NewClusterIdentifier") or self._get_param("ClusterIdentifier")
            self.redshift_backend.clusters[identifier].availability_zone = zone
        return result

    RedshiftResponse.modify_cluster = _mark(modify_cluster)  # type: ignore[method-assign]


PATCHES: list[Callable[[], Any]] = [
    patch_redshift_snapshot_copy_grant_key,
    patch_redshift_snapshot_encryption,
    patch_redshift_snapshot_copy_settings,
    patch_redshift_cross_region_snapshot_copy,
    patch_redshift_restore_encryption_and_zone,
    patch_redshift_modify_cluster_availability_zone,
]


def apply() -> None:
    for patch in PATCHES:
        patch()
