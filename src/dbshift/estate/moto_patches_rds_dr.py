"""moto patches for RDS cross-Region DR (automated-backup replication, read-replica promotion).

Same rules as dbshift.estate.moto_patches: one function per gap, small and faithful to the AWS
documentation, each wrapping moto's own code and marked so that applying twice changes nothing.

What moto 5.2.5 lacks, and what each patch restores:
- PromoteReadReplica leaves the promoted instance naming its source (ReadReplicaSourceDBInstanceIdentifier)
  and the source still listing it (ReadReplicaDBInstanceIdentifiers); a cross-Region replica cannot even be
  deleted (moto removes it from the source by identifier while it listed the ARN). A replica also keeps the
  source's DbiResourceId, where RDS gives every instance its own.
- StartDBInstanceAutomatedBackupsReplication / StopDBInstanceAutomatedBackupsReplication do not exist,
  DescribeDBInstanceAutomatedBackups knows no replicated backups, and RestoreDBInstanceToPointInTime
  accepts only a SourceDBInstanceIdentifier of its own Region.
"""

from __future__ import annotations

import functools
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_MARK = "_dbshift_patched"

# Status of replicated automated backups in the destination Region: "replicating" while the source's
# backups and transaction logs are copied, "retained" after replication is stopped (kept for their retention).
REPLICATING, RETAINED = "replicating", "retained"
# RDS's default retention of replicated automated backups when StartDBInstanceAutomatedBackupsReplication
# names none.
DEFAULT_REPLICATED_RETENTION_DAYS = 7
# RestoreDBInstanceToPointInTime parameters that choose the backup and time, not the new instance's settings.
_RESTORE_ONLY = frozenset(
    {
        "source_db_instance_identifier",
        "source_dbi_resource_id",
        "source_db_instance_automated_backups_arn",
        "target_db_instance_identifier",
        "restore_time",
        "use_latest_restorable_time",
    }
)
_ID_ALPHABET = string.ascii_lowercase + string.digits


def _is_patched(fn: Callable[..., Any]) -> bool:
    return getattr(fn, _MARK, False)


def _mark(fn: Callable[..., Any]) -> Callable[..., Any]:
    setattr(fn, _MARK, True)
    return fn


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- read replicas


def _replica_entry(primary: Any, replica: Any) -> str:
    """How the source lists `replica`: its ARN when it is in another Region (as moto's add_replica does)."""
    return replica.db_instance_arn if primary.region != replica.region else replica.db_instance_identifier


def _detach_from_source(backend: Any, replica: Any) -> None:
    from moto.rds.exceptions import DBInstanceNotFoundError

    try:
        primary = backend.find_db_from_id(replica.source_db_instance_identifier)
    except DBInstanceNotFoundError:  # the source is gone (deleted, or its Region's backend was reset)
        return
    entry = _replica_entry(primary, replica)
    if entry in primary.replicas:
        primary.replicas.remove(entry)


def patch_rds_promote_read_replica() -> None:
    """PromoteReadReplica makes the replica a standalone instance, in the same or another Region.

    RDS: the promoted instance no longer has ReadReplicaSourceDBInstanceIdentifier and the source no longer
    lists it in ReadReplicaDBInstanceIdentifiers. moto only clears its internal is_replica flag.
    Also: deleting a cross-Region replica takes it off its source's list (moto looked for the identifier
    where it had stored the ARN, and failed).
    """
    from moto.rds.models import DBInstance, RDSBackend

    original = RDSBackend.promote_read_replica
    if _is_patched(original):
        return

    @functools.wraps(original)
    def promote_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        database = self.describe_db_instances(db_kwargs["db_instance_identifier"])[0]
        was_replica = database.is_replica and database.source_db_instance_identifier
        promoted = original(self, db_kwargs)
        if was_replica:
            _detach_from_source(self, promoted)
            promoted.source_db_instance_identifier = None
        return promoted

    def remove_replica(self: Any, replica: Any) -> None:
        entry = _replica_entry(self, replica)
        if entry in self.replicas:
            self.replicas.remove(entry)

    RDSBackend.promote_read_replica = _mark(promote_read_replica)  # type: ignore[method-assign]
    DBInstance.remove_replica = _mark(remove_replica)  # type: ignore[method-assign]


def patch_rds_read_replica_own_resource_id() -> None:
    """A read replica is a DB instance of its own: its own DbiResourceId, no backup replication of the source.

    moto makes the replica as a shallow copy of the source, so it shares the source's DbiResourceId (which
    RDS uses to name the source of automated backups) and its backup replications.
    """
    from moto.rds.models import RDSBackend

    from dbshift.estate.moto_patches import new_dbi_resource_id

    original = RDSBackend.create_db_instance_read_replica
    if _is_patched(original):
        return

    @functools.wraps(original)
    def create_db_instance_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        replica = original(self, db_kwargs)
        replica.dbi_resource_id = new_dbi_resource_id()
        replica.db_instance_automated_backups_replications = []
        return replica

    RDSBackend.create_db_instance_read_replica = _mark(create_db_instance_read_replica)  # type: ignore[method-assign]


# ---------------------------------------------------------------- replicated automated backups


@dataclass
class ReplicatedBackup:
    """The destination Region's automated backups of one source instance (a DBInstanceAutomatedBackup).

    It holds the instance properties as they were when replication started, so a restore works while the
    source Region is impaired (RDS restores from the replicated snapshots and logs, not from the source).
    """

    arn: str
    source: dict[str, Any]  # source instance properties, moto attribute names
    source_region: str
    kms_key_id: str | None
    retention_days: int
    earliest: datetime = field(default_factory=_now)
    status: str = REPLICATING
    stopped: datetime | None = None

    def latest(self) -> datetime:
        # Logs are copied as they are written: the newest restorable time moves while replicating.
        return self.stopped or _now()

    def describe(self) -> dict[str, Any]:
        s = self.source
        return {
            "DBInstanceArn": s["db_instance_arn"],
            "DbiResourceId": s["dbi_resource_id"],
            "Region": self.source_region,
            "DBInstanceIdentifier": s["db_instance_identifier"],
            "RestoreWindow": {"EarliestTime": self.earliest, "LatestTime": self.latest()},
            "AllocatedStorage": s["allocated_storage"],
            "Status": self.status,
            "Port": s["port"],
            "InstanceCreateTime": s["instance_create_time"],
            "MasterUsername": s["master_username"],
            "Engine": s["engine"],
            "EngineVersion": s["engine_version"],
            "LicenseModel": s["license_model"],
            "Iops": s["iops"],
            "StorageType": s["storage_type"],
            "Encrypted": bool(s["storage_encrypted"]),
            "KmsKeyId": self.kms_key_id,
            "IAMDatabaseAuthenticationEnabled": bool(s["enable_iam_database_authentication"]),
            "BackupRetentionPeriod": self.retention_days,
            "DBInstanceAutomatedBackupsArn": self.arn,
        }


# Properties of the source a restore starts from (the request's settings override them).
_SOURCE_PROPS = (
    "db_instance_arn",
    "dbi_resource_id",
    "db_instance_identifier",
    "db_instance_class",
    "engine",
    "engine_version",
    "license_model",
    "port",
    "allocated_storage",
    "storage_type",
    "iops",
    "master_username",
    "db_name",
    "storage_encrypted",
    "enable_iam_database_authentication",
    "backup_retention_period",
    "instance_create_time",
)


def _replicated(backend: Any) -> dict[str, ReplicatedBackup]:
    """This Region's replicated backups by source instance ARN (kept on moto's per-Region backend)."""
    if not hasattr(backend, "_dbshift_replicated_backups"):
        backend._dbshift_replicated_backups = {}
    return backend._dbshift_replicated_backups


def _error(code: str, message: str) -> Exception:
    from moto.rds.exceptions import RDSClientError

    return RDSClientError(code, message)


def start_replication(backend: Any, source_arn: str, kms_key_id: str | None, retention: int | None) -> ReplicatedBackup:
    """StartDBInstanceAutomatedBackupsReplication, called in the destination Region (`backend`)."""
    region = source_arn.split(":")[3] if source_arn.count(":") >= 6 else ""
    if region == backend.region_name:
        raise _error(
            "InvalidParameterValue",
            f"The source DB instance {source_arn} is in {region}: backups replicate to another AWS Region.",
        )
    source = backend.find_db_from_id(source_arn)  # DBInstanceNotFound when missing, as RDS
    if not source.backup_retention_period:
        raise _error(
            "InvalidDBInstanceState",
            f"Automated backups are not enabled for DB instance {source.db_instance_identifier} "
            "(backup retention period 0).",
        )
    existing = _replicated(backend).get(source.db_instance_arn)
    if existing is not None and existing.status == REPLICATING:
        raise _error(
            "InvalidDBInstanceState",
            f"Automated backups of DB instance {source.db_instance_identifier} are already replicated "
            f"to {backend.region_name}.",
        )
    key = None
    if source.storage_encrypted:
        if not kms_key_id:
            raise _error("InvalidParameterCombination", "Encrypted instances require a valid KMS key ID")
        key = backend._validate_kms_key(kms_key_id)  # KMSKeyNotAccessibleFault for another Region's key
    suffix = "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))
    record = ReplicatedBackup(
        arn=f"arn:aws:rds:{backend.region_name}:{backend.account_id}:auto-backup:ab-{suffix}",
        source={name: getattr(source, name, None) for name in _SOURCE_PROPS},
        source_region=source.region,
        kms_key_id=key,
        retention_days=retention or DEFAULT_REPLICATED_RETENTION_DAYS,
    )
    _replicated(backend)[source.db_instance_arn] = record
    # DescribeDBInstances of the source lists where its backups go.
    replications = [
        r
        for r in getattr(source, "db_instance_automated_backups_replications", None) or []
        if r["DBInstanceAutomatedBackupsArn"].split(":")[3] != backend.region_name
    ]
    source.db_instance_automated_backups_replications = [*replications, {"DBInstanceAutomatedBackupsArn": record.arn}]
    return record


def stop_replication(backend: Any, source_arn: str) -> ReplicatedBackup:
    """StopDBInstanceAutomatedBackupsReplication: the replicated backups stay, "retained"."""
    from moto.rds.exceptions import DBInstanceNotFoundError

    record = _replicated(backend).get(source_arn)
    if record is None or record.status != REPLICATING:
        raise _error(
            "InvalidDBInstanceState",
            f"Automated backups of DB instance {source_arn} are not replicated to {backend.region_name}.",
        )
    record.status, record.stopped = RETAINED, _now()
    try:
        source = backend.find_db_from_id(source_arn)
    except DBInstanceNotFoundError:
        return record
    source.db_instance_automated_backups_replications = [
        r
        for r in getattr(source, "db_instance_automated_backups_replications", None) or []
        if r != {"DBInstanceAutomatedBackupsArn": record.arn}
    ]
    return record


def _as_utc(value: Any) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def restore_from_replicated(backend: Any, params: Any) -> Any:
    """RestoreDBInstanceToPointInTime with SourceDBInstanceAutomatedBackupsArn, in the backups' Region."""
    arn = params.get("source_db_instance_automated_backups_arn")
    record = next((r for r in _replicated(backend).values() if r.arn == arn), None)
    if record is None:
        raise _error("DBInstanceAutomatedBackupNotFound", f"Automated backup {arn} not found.")
    restore_time, use_latest = params.get("restore_time"), params.get("use_latest_restorable_time")
    if restore_time is not None and use_latest:
        raise _error("InvalidParameterCombination", "Cannot specify both RestoreTime and UseLatestRestorableTime")
    if restore_time is not None:
        when = _as_utc(restore_time)
        if not record.earliest <= when <= record.latest():
            raise _error(
                "InvalidParameterValue",
                f"RestoreTime {when.isoformat()} is outside the restorable window of {arn} "
                f"({record.earliest.isoformat()} to {record.latest().isoformat()}).",
            )
    props = {
        k: v
        for k, v in record.source.items()
        if k not in ("db_instance_arn", "dbi_resource_id", "instance_create_time") and v is not None
    }
    # Encrypted replicated backups are encrypted with the destination key given when replication started.
    props["kms_key_id"] = record.kms_key_id
    props.update({k: v for k, v in params.items() if k not in _RESTORE_ONLY and v is not None})
    props["db_instance_identifier"] = params.get("target_db_instance_identifier")
    return backend.create_db_instance(props)


def patch_rds_automated_backups_replication() -> None:
    """Cross-Region automated backup replication: Start/Stop, Describe in the destination, and PITR from it.

    All three calls are made in the destination Region; restoring needs nothing from the source Region.
    """
    from moto.core.responses import ActionResult
    from moto.rds.responses import RDSResponse

    original_describe = RDSResponse.describe_db_instance_automated_backups
    if _is_patched(original_describe):
        return
    original_restore = RDSResponse.restore_db_instance_to_point_in_time

    def start_db_instance_automated_backups_replication(self: Any) -> Any:
        record = start_replication(
            self.backend,
            self.params.get("source_db_instance_arn"),
            self.params.get("kms_key_id"),
            self.params.get("backup_retention_period"),
        )
        return ActionResult({"DBInstanceAutomatedBackup": record.describe()})

    def stop_db_instance_automated_backups_replication(self: Any) -> Any:
        record = stop_replication(self.backend, self.params.get("source_db_instance_arn"))
        return ActionResult({"DBInstanceAutomatedBackup": record.describe()})

    @functools.wraps(original_describe)
    def describe_db_instance_automated_backups(self: Any) -> Any:
        p = self.params
        wanted = {
            "DBInstanceIdentifier": p.get("db_instance_identifier"),
            "DbiResourceId": p.get("dbi_resource_id"),
            "DBInstanceAutomatedBackupsArn": p.get("db_instance_automated_backups_arn"),
        }
        replicated = [
            b
            for b in (r.describe() for r in _replicated(self.backend).values())
            if all(v is None or b[k] == v for k, v in wanted.items())
        ]
        local = []
        if wanted["DBInstanceAutomatedBackupsArn"] is None and wanted["DbiResourceId"] is None:
            local = self.backend.describe_db_instance_automated_backups(**p)
        return ActionResult({"DBInstanceAutomatedBackups": [*local, *replicated]})

    @functools.wraps(original_restore)
    def restore_db_instance_to_point_in_time(self: Any) -> Any:
        if self.params.get("source_db_instance_automated_backups_arn") and not self.params.get(
            "source_db_instance_identifier"
        ):
            return ActionResult({"DBInstance": restore_from_replicated(self.backend, self.params)})
        return original_restore(self)

    RDSResponse.start_db_instance_automated_backups_replication = start_db_instance_automated_backups_replication
    RDSResponse.stop_db_instance_automated_backups_replication = stop_db_instance_automated_backups_replication
    RDSResponse.restore_db_instance_to_point_in_time = restore_db_instance_to_point_in_time
    RDSResponse.describe_db_instance_automated_backups = _mark(describe_db_instance_automated_backups)


PATCHES: list[Callable[[], Any]] = [
    patch_rds_promote_read_replica,
    patch_rds_read_replica_own_resource_id,
    patch_rds_automated_backups_replication,
]


def apply() -> None:
    for patch in PATCHES:
        patch()
