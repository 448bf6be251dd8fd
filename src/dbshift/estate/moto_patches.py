"""Patches for gaps in moto's server mode that dbshift's runbooks or Terraform depend on.

One function per gap, each naming the behaviour it corrects; apply() installs them all. Every
patch wraps moto's own method and marks the wrapper, so applying twice changes nothing.
"""

from __future__ import annotations

import functools
import json
import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

_MARK = "_dbshift_patched"

# KMS accepts automatic-rotation periods from 90 to 2560 days; 365 when none is given.
KMS_ROTATION_PERIOD_DEFAULT_DAYS = 365
KMS_ROTATION_PERIOD_MIN_DAYS = 90
KMS_ROTATION_PERIOD_MAX_DAYS = 2560

# SQL Server 2022 (16.00) is an RDS major version; moto's option-group check stops at 15.00.
SQLSERVER_ENGINES = ("sqlserver-ee", "sqlserver-se", "sqlserver-ex", "sqlserver-web")
SQLSERVER_MAJOR_VERSIONS_MISSING_IN_MOTO = ("16.00",)

_RESOURCE_ID_ALPHABET = string.ascii_uppercase + string.digits

# The subnet group DMS describes for a replication instance created without one.
DMS_DEFAULT_SUBNET_GROUP = "default"

# CreateCluster/ModifyCluster booleans Redshift describes as "enabled"/"disabled", and the Cluster attribute
# moto's serialiser reads each from (AvailabilityZoneRelocationStatus, MultiAZ).
REDSHIFT_ENABLED_FLAGS = {
    "AvailabilityZoneRelocation": "availability_zone_relocation_status",
    "MultiAZ": "multi_az",
}
# Manual snapshots are kept for ever (-1), and a cluster follows the "current" maintenance track, unless
# CreateCluster says otherwise.
REDSHIFT_MANUAL_SNAPSHOT_RETENTION_DEFAULT = -1
REDSHIFT_MAINTENANCE_TRACK_DEFAULT = "current"

# Redshift's ClusterAvailabilityStatus (what the AWS provider waits on) for each ClusterStatus; statuses not
# named here are "Unavailable" (paused, deleting, final-snapshot, ...).
REDSHIFT_AVAILABILITY_BY_STATUS = {
    "available": "Available",
    "available, prep-for-resize": "Available",
    "available, resize-cleanup": "Available",
    "creating": "Modifying",
    "modifying": "Modifying",
    "rebooting": "Modifying",
    "renaming": "Modifying",
    "resizing": "Modifying",
    "rotating-keys": "Modifying",
    "updating-hsm": "Modifying",
    "cancelling-resize": "Modifying",
    "hardware-failure": "Failed",
    "incompatible-hsm": "Failed",
    "incompatible-network": "Failed",
    "incompatible-parameters": "Failed",
    "incompatible-restore": "Failed",
    "storage-full": "Failed",
}


def _is_patched(fn: Callable[..., Any]) -> bool:
    return getattr(fn, _MARK, False)


def _mark(fn: Callable[..., Any]) -> Callable[..., Any]:
    setattr(fn, _MARK, True)
    return fn


def new_dbi_resource_id() -> str:
    """An RDS-shaped DbiResourceId: "db-" and 26 upper-case letters or digits."""
    return "db-" + "".join(secrets.choice(_RESOURCE_ID_ALPHABET) for _ in range(26))


def patch_rds_unique_dbi_resource_id() -> None:
    """moto gives every DB instance the same DbiResourceId ("db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U").

    RDS gives each instance its own, fixed for the instance's life (a rename keeps it; a restore
    or replica is a new instance with a new id). RDS writes it into S3 key names of transaction
    log copies, so two emulated instances must not share one.
    """
    from moto.rds.models import DBInstance

    original = DBInstance.__init__
    if _is_patched(original):
        return

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.dbi_resource_id = new_dbi_resource_id()

    DBInstance.__init__ = _mark(__init__)  # type: ignore[method-assign]


def patch_kms_rotation_period() -> None:
    """moto ignores EnableKeyRotation's RotationPeriodInDays and GetKeyRotationStatus omits it.

    The AWS provider sends rotation_period_in_days and waits until GetKeyRotationStatus reports
    the same period; without it every plan shows `rotation_period_in_days = 0 -> 365`. This
    stores the period (validated like KMS: 90-2560, default 365) and returns it together with
    NextRotationDate while rotation is enabled.
    """
    from moto.kms.exceptions import ValidationException
    from moto.kms.responses import KmsResponse

    original_enable = KmsResponse.enable_key_rotation
    original_status = KmsResponse.get_key_rotation_status
    if _is_patched(original_enable):
        return

    @functools.wraps(original_enable)
    def enable_key_rotation(self: Any) -> str:
        period = self._get_param("RotationPeriodInDays")
        if period is None:
            period = KMS_ROTATION_PERIOD_DEFAULT_DAYS
        if not isinstance(period, int) or not KMS_ROTATION_PERIOD_MIN_DAYS <= period <= KMS_ROTATION_PERIOD_MAX_DAYS:
            raise ValidationException(
                f"1 validation error detected: Value '{period}' at 'rotationPeriodInDays' failed to satisfy "
                f"constraint: Member must have value between {KMS_ROTATION_PERIOD_MIN_DAYS} and "
                f"{KMS_ROTATION_PERIOD_MAX_DAYS}"
            )
        result = original_enable(self)
        key = self.kms_backend.keys[self.kms_backend.get_key_id(self._get_param("KeyId"))]
        key.rotation_period_in_days = period
        key.rotation_enabled_at = datetime.now(UTC)
        return result

    @functools.wraps(original_status)
    def get_key_rotation_status(self: Any) -> str:
        body = json.loads(original_status(self))
        key = self.kms_backend.keys[self.kms_backend.get_key_id(self._get_param("KeyId"))]
        if body.get("KeyRotationEnabled"):
            period = getattr(key, "rotation_period_in_days", KMS_ROTATION_PERIOD_DEFAULT_DAYS)
            enabled_at = getattr(key, "rotation_enabled_at", datetime.now(UTC))
            body["KeyId"] = key.id
            body["RotationPeriodInDays"] = period
            body["NextRotationDate"] = (enabled_at + timedelta(days=period)).timestamp()
        return json.dumps(body)

    KmsResponse.enable_key_rotation = _mark(enable_key_rotation)  # type: ignore[method-assign]
    KmsResponse.get_key_rotation_status = _mark(get_key_rotation_status)  # type: ignore[method-assign]


def patch_rds_sqlserver_2022_option_groups() -> None:
    """moto rejects CreateOptionGroup for SQL Server 2022 (major version 16.00).

    RDS supports 16.00 for every SQL Server edition; moto's hard-coded list ends at 15.00 and
    answers "Cannot find major version 16.00 for sqlserver-se". This lets 16.00 through and
    leaves every other engine/version check as moto has it.
    """
    from moto.rds.models import RDSBackend

    original = RDSBackend.create_option_group
    if _is_patched(original):
        return

    @functools.wraps(original)
    def create_option_group(self: Any, option_group_kwargs: dict[str, Any]) -> Any:
        version = option_group_kwargs.get("major_engine_version")
        if (
            option_group_kwargs.get("engine_name") in SQLSERVER_ENGINES
            and version in SQLSERVER_MAJOR_VERSIONS_MISSING_IN_MOTO
        ):
            # Pass moto's version check with a version it knows, then record the real one.
            option_group = original(self, {**option_group_kwargs, "major_engine_version": "15.00"})
            option_group.major_engine_version = version
            return option_group
        return original(self, option_group_kwargs)

    RDSBackend.create_option_group = _mark(create_option_group)  # type: ignore[method-assign]


def _epoch_seconds(value: Any) -> Any:
    """An ISO-8601 string from moto (naive means UTC) as epoch seconds; anything else unchanged."""
    if not isinstance(value, str):
        return value
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _timestamps_as_epoch(value: Any, shape: Any) -> Any:
    """`value` (a moto to_dict() result) with every member botocore's `shape` types as timestamp in epoch seconds."""
    if value is None:
        return None
    if shape.type_name == "timestamp":
        return _epoch_seconds(value)
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: _timestamps_as_epoch(v, shape.members[k]) if k in shape.members else v for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_timestamps_as_epoch(v, shape.member) for v in value]
    return value


@functools.cache
def _dms_shape(name: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("dms").shape_for(name)


def patch_dms_timestamps_as_epoch_seconds() -> None:
    """moto's DMS answers put timestamps in JSON as ISO-8601 strings.

    DMS is an awsJson1_1 service: timestamps are epoch seconds (JSON numbers). The AWS SDK for Go
    (and so the Terraform AWS provider) rejects the strings: "expected TStamp to be a JSON Number,
    got string instead", and aws_dms_replication_instance / aws_dms_replication_task never get
    past CreateReplicationInstance / DescribeReplicationTasks. boto3 parses either form, which is
    why the gap goes unnoticed in Python. This re-serialises the replication instance's and task's
    timestamps (InstanceCreateTime, ReplicationTaskCreationDate, ReplicationTaskStartDate and the
    dates in ReplicationTaskStats) as epoch seconds, guided by botocore's DMS model.
    """
    from moto.dms.models import FakeReplicationInstance, FakeReplicationTask

    for model, shape_name in (
        (FakeReplicationInstance, "ReplicationInstance"),
        (FakeReplicationTask, "ReplicationTask"),
    ):
        original = model.to_dict
        if _is_patched(original):
            continue

        def to_dict(self: Any, _original: Callable[..., Any] = original, _shape: str = shape_name) -> dict[str, Any]:
            return _timestamps_as_epoch(_original(self), _dms_shape(_shape))

        model.to_dict = _mark(functools.wraps(original)(to_dict))  # type: ignore[method-assign]


def patch_dms_default_replication_subnet_group() -> None:
    """moto's DMS replication instances created without a subnet group have ReplicationSubnetGroup null.

    DMS puts an instance created without ReplicationSubnetGroupIdentifier in the default subnet
    group and always describes it. The AWS provider reads ReplicationSubnetGroup unguarded and
    crashes (nil pointer dereference in resourceReplicationInstanceRead) on moto's null. This
    names the default group "default" when none is given.
    """
    from moto.dms.models import DatabaseMigrationServiceBackend

    original = DatabaseMigrationServiceBackend.create_replication_instance
    if _is_patched(original):
        return

    @functools.wraps(original)
    def create_replication_instance(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("replication_subnet_group_identifier"):
            kwargs["replication_subnet_group_identifier"] = DMS_DEFAULT_SUBNET_GROUP
        return original(self, *args, **kwargs)

    backend = DatabaseMigrationServiceBackend
    backend.create_replication_instance = _mark(create_replication_instance)  # type: ignore[method-assign]


def patch_dms_task_and_endpoint_status() -> None:
    """moto leaves DMS replication tasks in "creating" and endpoints in "creating" for ever.

    In DMS a new task moves from "creating" to "ready" (the state StartReplicationTask requires,
    and the one aws_dms_replication_task waits for, timing out otherwise); a new endpoint is
    "active". As moto does for replication instances, the answer to the create call keeps
    "creating" and the next Describe shows the settled state.
    """
    from moto.dms.models import DatabaseMigrationServiceBackend

    original_tasks = DatabaseMigrationServiceBackend.describe_replication_tasks
    original_endpoints = DatabaseMigrationServiceBackend.describe_endpoints
    if _is_patched(original_tasks):
        return

    @functools.wraps(original_tasks)
    def describe_replication_tasks(self: Any, *args: Any, **kwargs: Any) -> Any:
        tasks = original_tasks(self, *args, **kwargs)
        for task in tasks:
            if task.status == "creating":
                task.ready()
        return tasks

    @functools.wraps(original_endpoints)
    def describe_endpoints(self: Any, *args: Any, **kwargs: Any) -> Any:
        endpoints = original_endpoints(self, *args, **kwargs)
        for endpoint in endpoints:
            if endpoint.status == "creating":
                endpoint.status = "active"
        return endpoints

    backend = DatabaseMigrationServiceBackend
    backend.describe_replication_tasks = _mark(describe_replication_tasks)  # type: ignore[method-assign]
    backend.describe_endpoints = _mark(describe_endpoints)  # type: ignore[method-assign]


def patch_redshift_cluster_availability_status() -> None:
    """moto's Redshift clusters have no ClusterAvailabilityStatus.

    Redshift reports it next to ClusterStatus (Available, Unavailable, Maintenance, Modifying,
    Failed), and aws_redshift_cluster waits for ClusterAvailabilityStatus = "Available" after
    create and modify: against moto it fails with "unexpected state '', wanted target
    'Available'". This derives it from the cluster's status; CreateCluster's answer, which moto
    gives ClusterStatus "creating", says "Modifying".
    """
    from moto.redshift.models import Cluster
    from moto.redshift.responses import RedshiftResponse

    existing = getattr(Cluster, "cluster_availability_status", None)
    if isinstance(existing, property) and _is_patched(existing.fget):
        return

    def cluster_availability_status(self: Any) -> str:
        return REDSHIFT_AVAILABILITY_BY_STATUS.get(self.status, "Unavailable")

    Cluster.cluster_availability_status = property(_mark(cluster_availability_status))  # type: ignore[attr-defined]
    for result in ("CreateClusterResult", "RestoreFromClusterSnapshotResult"):
        RedshiftResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER[f"{result}.Cluster.ClusterAvailabilityStatus"] = lambda _: (
            REDSHIFT_AVAILABILITY_BY_STATUS["creating"]
        )


def patch_redshift_cluster_settings_read_back() -> None:
    """moto drops cluster settings the AWS provider reads back, so its Redshift clusters never settle.

    Redshift describes AvailabilityZoneRelocationStatus and MultiAZ as "enabled"/"disabled" (as
    asked in CreateCluster/ModifyCluster, "disabled" by default), ManualSnapshotRetentionPeriod
    (-1, keep for ever, by default), MaintenanceTrackName ("current" by default) and
    PreferredMaintenanceWindow in lower case. moto ignores the first four and answers
    "Mon:03:00-Mon:03:30". aws_redshift_cluster then fails after create
    ("unexpected state '', wanted target 'enabled, disabled'"), cannot read the cluster
    ("unexpected AvailabilityZoneRelocationStatus value", "unexpected MultiAZ value"), so plan
    and destroy fail too, and once those pass every plan shows a change.
    """
    from moto.redshift.models import Cluster
    from moto.redshift.responses import RedshiftResponse

    original_init = Cluster.__init__
    original_create = RedshiftResponse.create_cluster
    original_modify = RedshiftResponse.modify_cluster
    if _is_patched(original_create):
        return

    def _record(response: Any, cluster_identifier: str) -> None:
        cluster = response.redshift_backend.clusters.get(cluster_identifier)
        if cluster is None:
            return
        for param in REDSHIFT_ENABLED_FLAGS:
            requested = response._get_bool_param(param)
            if requested is not None:
                setattr(cluster, REDSHIFT_ENABLED_FLAGS[param], "enabled" if requested else "disabled")
        retention = response._get_int_param("ManualSnapshotRetentionPeriod")
        if retention is not None:
            cluster.manual_snapshot_retention_period = retention
        track = response._get_param("MaintenanceTrackName")
        if track:
            cluster.maintenance_track_name = track

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.preferred_maintenance_window = self.preferred_maintenance_window.lower()
        self.manual_snapshot_retention_period = REDSHIFT_MANUAL_SNAPSHOT_RETENTION_DEFAULT
        self.maintenance_track_name = REDSHIFT_MAINTENANCE_TRACK_DEFAULT
        for attribute in REDSHIFT_ENABLED_FLAGS.values():
            setattr(self, attribute, "disabled")

    @functools.wraps(original_create)
    def create_cluster(self: Any) -> Any:
        result = original_create(self)
        _record(self, self._get_param("ClusterIdentifier"))
        return result

    @functools.wraps(original_modify)
    def modify_cluster(self: Any) -> Any:
        result = original_modify(self)
        _record(self, self._get_param("NewClusterIdentifier") or self._get_param("ClusterIdentifier"))
        return result

    Cluster.__init__ = _mark(__init__)  # type: ignore[method-assign]
    RedshiftResponse.create_cluster = _mark(create_cluster)  # type: ignore[method-assign]
    RedshiftResponse.modify_cluster = _mark(modify_cluster)  # type: ignore[method-assign]


def patch_elasticache_replication_group_members() -> None:
    """moto's ElastiCache replication groups have no member cache clusters, the wrong number of them, and never go.

    In ElastiCache a replication group with cluster mode disabled has NumCacheClusters members
    (primary "<id>-001", replicas "<id>-002", ...), each a cache cluster DescribeCacheClusters
    returns with its ReplicationGroupId; a deleted group is "deleting" and then gone, with its
    members (RetainPrimaryCluster keeps the primary as a cluster of its own). moto 5.2 ignores
    NumCacheClusters (one member unless ReplicasPerNodeGroup is given), creates no cache
    clusters and keeps deleted groups in "deleting" for ever. aws_elasticache_replication_group
    reads num_cache_clusters from MemberClusters and encryption settings from the first member's
    DescribeCacheClusters, so its create fails with "CacheClusterNotFound", and its destroy would
    wait for the group to disappear until it timed out. This passes NumCacheClusters to moto as
    the replica count it does read, creates each member as a cache cluster with the group's
    settings, and removes a deleted group and its members once the DeleteReplicationGroup answer
    (status "deleting") is built.
    """
    import inspect

    from moto.elasticache.models import ElastiCacheBackend

    original_create = ElastiCacheBackend.create_replication_group
    original_delete = ElastiCacheBackend.delete_replication_group
    if _is_patched(original_create):
        return
    cluster_params = [name for name in inspect.signature(ElastiCacheBackend.create_cache_cluster).parameters][1:]

    @functools.wraps(original_create)
    def create_replication_group(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = inspect.signature(original_create).bind(self, *args, **kwargs).arguments
        if (
            bound.get("cluster_mode") != "enabled"
            and bound.get("num_cache_clusters")
            and not bound.get("replicas_per_node_group")
        ):
            bound["replicas_per_node_group"] = int(bound["num_cache_clusters"]) - 1
        group = original_create(**bound)
        for node_group in group.node_groups:
            for member in node_group["node_group_members"]:
                if member["cache_cluster_id"] in self.cache_clusters:  # an existing cluster named as PrimaryClusterId
                    continue
                params: dict[str, Any] = dict.fromkeys(cluster_params)
                params.update(
                    cache_cluster_id=member["cache_cluster_id"],
                    replication_group_id=group.replication_group_id,
                    preferred_availability_zone=member.get("preferred_availability_zone"),
                    cache_node_type=group.cache_node_type,
                    engine=group.engine,
                    engine_version=group.engine_version,
                    cache_parameter_group_name=group.cache_parameter_group_name,
                    cache_subnet_group_name=group.cache_subnet_group_name,
                    cache_security_group_names=group.cache_security_group_names,
                    security_group_ids=group.security_group_ids,
                    transit_encryption_enabled=group.transit_encryption_enabled,
                    network_type=group.network_type,
                    ip_discovery=group.ip_discovery,
                    preferred_maintenance_window=group.preferred_maintenance_window,
                    port=group.port,
                    notification_topic_arn=group.notification_topic_arn,
                    auto_minor_version_upgrade=group.auto_minor_version_upgrade,
                    snapshot_retention_limit=group.snapshot_retention_limit,
                    snapshot_window=group.snapshot_window,
                    log_delivery_configurations=[],
                )
                cluster = self.create_cache_cluster(**params)
                # Members share the group's encryption and auth settings; moto's CacheCluster has no such inputs.
                cluster.at_rest_encryption_enabled = group.at_rest_encryption_enabled
                cluster.transit_encryption_mode = group.transit_encryption_mode
                cluster.auth_token_enabled = group.auth_token_enabled
        return group

    @functools.wraps(original_delete)
    def delete_replication_group(self: Any, replication_group_id: str, retain_primary_cluster: bool | None) -> Any:
        group = self.replication_groups.get(replication_group_id)
        members = [m for ng in group.node_groups for m in ng["node_group_members"]] if group else []
        deleted = original_delete(self, replication_group_id, retain_primary_cluster)
        for member in members:
            cluster = self.cache_clusters.get(member["cache_cluster_id"])
            if cluster is None:
                continue
            if retain_primary_cluster and member.get("current_role") == "primary":
                cluster.replication_group_id = None
            else:
                del self.cache_clusters[member["cache_cluster_id"]]
        del self.replication_groups[replication_group_id]
        return deleted

    ElastiCacheBackend.create_replication_group = _mark(create_replication_group)  # type: ignore[method-assign]
    ElastiCacheBackend.delete_replication_group = _mark(delete_replication_group)  # type: ignore[method-assign]


def patch_s3_bucket_policy_conditions() -> None:
    """S3: a bucket-policy statement whose Condition does not hold must not apply; moto denies instead.

    moto checks the bucket policy on every object request, and its IAMPolicyStatement answers DENIED when a
    statement's Condition does not hold, whatever the statement's Effect. It also passes no request context
    for S3, so no condition ever holds: a TLS-only policy ("Deny when aws:SecureTransport is false", as AWS
    recommends) then denies every GetObject/PutObject/HeadObject. AWS applies a statement only when its
    condition holds. moto cannot judge S3 conditions at all, so conditional statements are left out and the
    unconditional ones are evaluated by moto as before (an unconditional Deny still denies).
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    if _is_patched(FakeBucket.get_permission):
        return

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy)
        statements = document.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else statements
        unconditional = [st for st in statements if not st.get("Condition")]
        if not unconditional:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**document, "Statement": unconditional})).is_action_permitted(action, resource)

    FakeBucket.get_permission = _mark(get_permission)


def patch_glue_connection_delete_update() -> None:
    """Glue: DeleteConnection and UpdateConnection are missing, and GetConnection omits ConnectionType.

    The AWS provider deletes a connection on destroy and reads ConnectionType back after create (without
    it every plan shows drift and calls UpdateConnection). AWS keeps ConnectionType as given.
    """
    from moto.core.responses import EmptyResult
    from moto.glue.exceptions import EntityNotFoundException
    from moto.glue.models import FakeConnection
    from moto.glue.responses import GlueResponse

    if _is_patched(FakeConnection.as_dict):
        return
    as_dict = FakeConnection.as_dict

    def as_dict_with_type(self: Any, hide_password: bool = False) -> dict[str, Any]:
        return {**as_dict(self, hide_password), "ConnectionType": self.connection_input.get("ConnectionType")}

    def _connection(backend: Any, name: str) -> Any:
        if name not in backend.connections:
            raise EntityNotFoundException(f"Connection {name} not found")
        return backend.connections[name]

    def delete_connection(self: Any) -> Any:
        conn = _connection(self.glue_backend, self._get_param("ConnectionName"))
        del self.glue_backend.connections[conn.name]
        self.glue_backend.tagger.delete_all_tags_for_resource(conn.arn)
        return EmptyResult()

    def update_connection(self: Any) -> Any:
        conn = _connection(self.glue_backend, self._get_param("Name"))
        new = self._get_param("ConnectionInput")
        conn.connection_input = new
        conn.description = new.get("Description")
        conn.connection_properties = new.get("ConnectionProperties", {})
        conn.updated_time = datetime.now(UTC)
        return EmptyResult()

    FakeConnection.as_dict = _mark(as_dict_with_type)
    GlueResponse.delete_connection = delete_connection
    GlueResponse.update_connection = update_connection


_PATCHES: tuple[Callable[[], None], ...] = (
    patch_rds_unique_dbi_resource_id,
    patch_kms_rotation_period,
    patch_rds_sqlserver_2022_option_groups,
    patch_dms_timestamps_as_epoch_seconds,
    patch_dms_task_and_endpoint_status,
    patch_dms_default_replication_subnet_group,
    patch_redshift_cluster_availability_status,
    patch_redshift_cluster_settings_read_back,
    patch_elasticache_replication_group_members,
    patch_s3_bucket_policy_conditions,
    patch_glue_connection_delete_update,
)


# Per-runbook patch modules, each with its own apply() (kept apart so each stays small).
_MODULES = (
    "dbshift.estate.moto_patches_rds_dr",
    "dbshift.estate.moto_patches_aurora_dr",
    "dbshift.estate.moto_patches_redshift_dr",
    "dbshift.estate.moto_patches_elasticache_dr",
)


def apply() -> None:
    """Install every patch. Idempotent."""
    import importlib

    for patch in _PATCHES:
        patch()
    for name in _MODULES:
        importlib.import_module(name).apply()
