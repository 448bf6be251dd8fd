"""RDS cross-region recovery, one function per option of the guide (A, B, C; D is native_dump.py).

Each function is idempotent: it finds its own earlier result by the target instance's name and the
dbshift:dr-* tags it writes, and then returns changed=False. Each step checks its result (snapshot
available and encrypted with the target key, instance available, replica no longer replicating)
before the next one, and waits with a timeout that names the resource and its state.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dbshift.dr import Clients, error_code, kms_errors, listed, tag_value, tags
from dbshift.dr.waits import wait_until
from dbshift.errors import ConfigError, DbshiftError

# States an instance or snapshot does not leave by itself (RDS "DB instance status" list).
FAILED_INSTANCE_STATES = frozenset(
    {
        "failed",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "incompatible-network",
        "incompatible-option-group",
        "incompatible-parameters",
        "incompatible-restore",
        "restore-error",
        "storage-full",
        "deleting",
    }
)
FAILED_SNAPSHOT_STATES = frozenset({"failed", "error", "incompatible-restore", "deleted"})
KMS_INSTANCE_STATES = frozenset(
    {"inaccessible-encryption-credentials", "inaccessible-encryption-credentials-recoverable"}
)
# Replicated automated backups a point-in-time restore can use.
USABLE_BACKUP_STATES = frozenset({"replicating", "active", "retained"})


@dataclass(frozen=True)
class TargetSettings:
    """How the new instance in the target Region is built; it is never publicly accessible."""

    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()
    instance_class: str | None = None
    multi_az: bool = False
    deletion_protection: bool = True
    backup_retention_days: int | None = None
    option_group: str | None = None

    def restore_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {
            "MultiAZ": self.multi_az,
            "PubliclyAccessible": False,
            "DeletionProtection": self.deletion_protection,
        }
        if self.subnet_group:
            args["DBSubnetGroupName"] = self.subnet_group
        if self.security_group_ids:
            args["VpcSecurityGroupIds"] = list(self.security_group_ids)
        if self.instance_class:
            args["DBInstanceClass"] = self.instance_class
        if self.backup_retention_days is not None:
            args["BackupRetentionPeriod"] = self.backup_retention_days
        if self.option_group:
            args["OptionGroupName"] = self.option_group
        return args


@dataclass
class DrResult:
    changed: bool
    option: str
    region: str
    instance_id: str
    instance_arn: str
    status: str
    endpoint: str | None
    storage_encrypted: bool
    kms_key_id: str | None
    source: str
    port: int | None = None
    engine: str | None = None
    snapshot_copy_id: str | None = None
    restore_time: str | None = None
    # Options of the source's option group the target's lacks (SQL Server/Oracle groups are not copied).
    missing_options: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- helpers


def describe_instance(rds: Any, instance_id: str) -> dict[str, Any] | None:
    found = listed(
        lambda: rds.describe_db_instances(DBInstanceIdentifier=instance_id),
        "DBInstances",
        ("DBInstanceNotFound", "DBInstanceNotFoundFault"),
    )
    return found[0] if found else None


def describe_snapshot(rds: Any, snapshot_id: str) -> dict[str, Any] | None:
    found = listed(
        lambda: rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id),
        "DBSnapshots",
        ("DBSnapshotNotFound", "DBSnapshotNotFoundFault"),
    )
    return found[0] if found else None


def _instance_tags(rds: Any, instance: dict[str, Any]) -> list[dict[str, str]]:
    if instance.get("TagList") is not None:
        return instance["TagList"]
    return rds.list_tags_for_resource(ResourceName=instance["DBInstanceArn"]).get("TagList", [])


def wait_instance(
    rds: Any,
    instance_id: str,
    region: str,
    what: str,
    timeout: float,
    poll: float,
    extra: Callable[[dict], bool] | None = None,
) -> dict[str, Any]:
    """Wait until `instance_id` is available (and `extra` holds); its description."""

    def describe() -> dict[str, Any]:
        found = describe_instance(rds, instance_id)
        if found is None:
            raise DbshiftError(f"DB instance {instance_id} in {region} ({what}) disappeared while waiting for it")
        return found

    def failed(inst: dict[str, Any]) -> str | None:
        status = inst.get("DBInstanceStatus")
        if status in KMS_INSTANCE_STATES:
            key = inst.get("KmsKeyId") or "(its KMS key)"
            return f"{status!r} ({what}): RDS cannot use its KMS key. Check:\n{kms_errors.checks(key, region)}"
        return (
            f"{status!r} ({what}): see its events (aws rds describe-events --source-identifier {instance_id})"
            if (status in FAILED_INSTANCE_STATES)
            else None
        )

    return wait_until(
        describe,
        lambda i: i.get("DBInstanceStatus") == "available" and (extra is None or extra(i)),
        failed,
        f"DB instance {instance_id} in {region}",
        timeout,
        poll,
        state=lambda i: str(i.get("DBInstanceStatus")),
    )


def _result(option: str, region: str, inst: dict[str, Any], changed: bool, source: str, **more: Any) -> DrResult:
    return DrResult(
        changed=changed,
        option=option,
        region=region,
        instance_id=inst["DBInstanceIdentifier"],
        instance_arn=inst.get("DBInstanceArn", ""),
        status=str(inst.get("DBInstanceStatus")),
        endpoint=(inst.get("Endpoint") or {}).get("Address"),
        storage_encrypted=bool(inst.get("StorageEncrypted")),
        kms_key_id=inst.get("KmsKeyId"),
        source=source,
        port=(inst.get("Endpoint") or {}).get("Port"),
        engine=inst.get("Engine"),
        **more,
    )


def same_db(reference: str | None, source_region: str, source_id: str) -> bool:
    """Does `reference` (an id or ARN, as ReadReplicaSourceDBInstanceIdentifier gives it) name the source?"""
    if not reference:
        return False
    if reference.startswith("arn:"):
        parts = reference.split(":")
        return len(parts) >= 7 and parts[3] == source_region and parts[5] == "db" and parts[6] == source_id
    return reference == source_id


def option_names(rds: Any, group: str | None) -> set[str] | None:
    """Option names of option group `group`; None when it cannot be read. Default groups carry no options."""
    if not group:
        return set()
    try:
        found = rds.describe_option_groups(OptionGroupName=group).get("OptionGroupsList", [])
    except ClientError as exc:
        if error_code(exc) in ("OptionGroupNotFoundFault", "OptionGroupNotFound") and group.startswith("default:"):
            return set()
        return None
    except BotoCoreError:
        return None
    return {o["OptionName"] for g in found for o in g.get("Options", [])}


def missing_options(
    source_rds: Any | None, source_group: str | None, target_rds: Any, target_inst: dict[str, Any]
) -> list[str]:
    """Options of the source's option group that the target instance's group lacks.

    A cross-Region snapshot copy does not bring a SQL Server (or Oracle) option group along; the
    runbook recreates or reports these. When the source cannot be read, one entry says so.
    """
    if source_rds is None or not source_group:
        return [] if not source_group else [f"(source option group {source_group} not readable: compare by hand)"]
    wanted = option_names(source_rds, source_group)
    if wanted is None:
        return [f"(source option group {source_group} not readable: compare by hand)"]
    have: set[str] = set()
    for membership in target_inst.get("OptionGroupMemberships", []):
        names = option_names(target_rds, membership.get("OptionGroupName"))
        have |= names or set()
    return sorted(wanted - have)


def _source_option_group(inst: dict[str, Any] | None) -> str | None:
    for membership in (inst or {}).get("OptionGroupMemberships", []):
        return membership.get("OptionGroupName")
    return None


_ID = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")


def _check_id(value: str, what: str) -> None:
    if not _ID.match(value) or value.endswith("-") or "--" in value:
        raise ConfigError(
            f"{what} {value!r} is not a valid RDS identifier: 1-63 letters, digits or hyphens, starting with a "
            "letter, no trailing or double hyphen"
        )


# ---------------------------------------------------------------- A: promote a cross-region read replica


def promote_replica(
    clients: Clients,
    source_region: str,
    source_id: str,
    target_region: str,
    replica_id: str,
    timeout: float = 3600,
    poll: float = 30,
    backup_retention_days: int | None = None,
) -> DrResult:
    """Option A: promote the read replica `replica_id` in `target_region` of `source_id` to a standalone instance.

    Only the target Region is called: the source Region may be the impaired one.
    """
    rds = clients.rds(target_region)
    source = f"{source_region}/{source_id}"
    inst = describe_instance(rds, replica_id)
    if inst is None:
        raise DbshiftError(
            f"read replica {replica_id} of {source} does not exist in {target_region}: check replica_id, or choose "
            "dr_option pitr_replicated_backup or snapshot_copy (or auto)"
        )
    replicates_from = inst.get("ReadReplicaSourceDBInstanceIdentifier")
    marker = tag_value(_instance_tags(rds, inst), "promoted-from")
    if not replicates_from:
        if marker is not None and marker != source:
            raise DbshiftError(
                f"DB instance {replica_id} in {target_region} was promoted from {marker}, not {source}: check "
                "source_instance_id / replica_id"
            )
        # Promoted before (by us, or by hand): finish waiting for it and report no change.
        inst = wait_instance(rds, replica_id, target_region, "promoted replica", timeout, poll)
        note = "already promoted" + ("" if marker else " (not by dbshift: no dbshift:dr-promoted-from tag)")
        return _result("promote_replica", target_region, inst, False, source, steps=[note])
    if not same_db(replicates_from, source_region, source_id):
        raise DbshiftError(
            f"DB instance {replica_id} in {target_region} replicates from {replicates_from}, not from {source}: "
            "check source_instance_id / replica_id"
        )
    steps = [f"{replica_id} in {target_region} replicates from {replicates_from}"]
    # PromoteReadReplica needs an available replica (a replica may be catching up or modifying).
    wait_instance(rds, replica_id, target_region, "replica before promotion", timeout, poll)
    args: dict[str, Any] = {"DBInstanceIdentifier": replica_id}
    if backup_retention_days is not None:
        args["BackupRetentionPeriod"] = backup_retention_days
    promoted = rds.promote_read_replica(**args)["DBInstance"]
    rds.add_tags_to_resource(ResourceName=promoted["DBInstanceArn"], Tags=tags(promoted_from=source, option="A"))
    steps.append("PromoteReadReplica requested")
    inst = wait_instance(
        rds,
        replica_id,
        target_region,
        "promotion",
        timeout,
        poll,
        extra=lambda i: not i.get("ReadReplicaSourceDBInstanceIdentifier"),
    )
    steps.append("promoted: available, no replication source")
    return _result("promote_replica", target_region, inst, True, source, steps=steps)


# ---------------------------------------------------------------- B: PITR from replicated automated backups


def replicated_backups(
    clients: Clients, source_arn: str, target_region: str, dbi_resource_id: str | None = None
) -> list[dict[str, Any]]:
    """The source's automated backups replicated into `target_region` (matched by source ARN or DbiResourceId)."""
    rds = clients.rds(target_region)
    args: dict[str, Any] = {"DbiResourceId": dbi_resource_id} if dbi_resource_id else {}
    found: list[dict[str, Any]] = []
    for page in rds.get_paginator("describe_db_instance_automated_backups").paginate(**args):
        for backup in page.get("DBInstanceAutomatedBackups", []):
            mine = backup.get("DBInstanceArn") == source_arn or (
                dbi_resource_id is not None and backup.get("DbiResourceId") == dbi_resource_id
            )
            # Replicated backups live in the target Region but name the source Region in Region.
            if mine and backup.get("Region") and backup["Region"] != target_region:
                found.append(backup)
    return found


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def pitr_replicated_backup(
    clients: Clients,
    source_arn: str,
    target_region: str,
    new_id: str,
    settings: TargetSettings,
    restore_time: datetime | None = None,
    dbi_resource_id: str | None = None,
    timeout: float = 7200,
    poll: float = 30,
) -> DrResult:
    """Option B: restore `new_id` in `target_region` from the source's replicated automated backups.

    `restore_time` None → the latest restorable time; otherwise it must lie in the backups' RestoreWindow.
    """
    _check_id(new_id, "new instance id")
    rds = clients.rds(target_region)
    source_region = source_arn.split(":")[3] if source_arn.startswith("arn:") else "?"
    existing = describe_instance(rds, new_id)
    if existing is not None:
        return _existing_result(
            clients, rds, existing, "pitr_replicated_backup", target_region, "source-arn", source_arn, timeout, poll
        )
    backups = replicated_backups(clients, source_arn, target_region, dbi_resource_id)
    usable = [b for b in backups if b.get("Status") in USABLE_BACKUP_STATES and b.get("RestoreWindow")]
    if not usable:
        states = ", ".join(f"{b.get('DBInstanceAutomatedBackupsArn')} is {b.get('Status')!r}" for b in backups)
        raise DbshiftError(
            f"no usable replicated automated backups of {source_arn} in {target_region}"
            + (f" ({states})" if states else "")
            + ": enable cross-Region automated backup replication (aws rds start-db-instance-automated-backups-"
            f"replication --source-db-instance-arn {source_arn} --region {target_region}), or choose dr_option "
            "snapshot_copy"
        )
    backup = usable[0]
    window = backup["RestoreWindow"]
    earliest, latest = window.get("EarliestTime"), window.get("LatestTime")
    args = {
        "SourceDBInstanceAutomatedBackupsArn": backup["DBInstanceAutomatedBackupsArn"],
        "TargetDBInstanceIdentifier": new_id,
        "Tags": tags(source_arn=source_arn, option="B"),
        **settings.restore_args(),
    }
    if restore_time is None:
        args["UseLatestRestorableTime"] = True
        chosen = f"latest restorable time ({latest})"
    else:
        when = _as_utc(restore_time)
        if (earliest and when < _as_utc(earliest)) or (latest and when > _as_utc(latest)):
            raise ConfigError(
                f"restore_time {when.isoformat()} is outside the restorable window of "
                f"{backup['DBInstanceAutomatedBackupsArn']} in {target_region} ({earliest} .. {latest}): pick a time "
                "inside it, or omit restore_time for the latest"
            )
        args["RestoreTime"] = when
        chosen = when.isoformat()
    try:
        rds.restore_db_instance_to_point_in_time(**args)
    except ClientError as exc:
        raise kms_errors.translate(
            exc,
            "restore from replicated backups",
            backup.get("KmsKeyId") or "(replication key)",
            target_region,
            clients.kms(target_region),
        ) from exc
    inst = wait_instance(rds, new_id, target_region, "point-in-time restore", timeout, poll)
    return _result(
        "pitr_replicated_backup",
        target_region,
        inst,
        True,
        source_arn,
        restore_time=chosen,
        missing_options=_options_report(clients, source_region, backup.get("OptionGroupName"), rds, inst),
        steps=[f"restored from {backup['DBInstanceAutomatedBackupsArn']} to {chosen}"],
    )


def _options_report(
    clients: Clients, source_region: str, source_group: str | None, target_rds: Any, inst: dict[str, Any]
) -> list[str]:
    source_rds = clients.rds(source_region) if source_region != "?" and source_group else None
    return missing_options(source_rds, source_group, target_rds, inst)


def _existing_result(
    clients: Clients,
    rds: Any,
    inst: dict[str, Any],
    option: str,
    region: str,
    tag: str,
    expected: str,
    timeout: float,
    poll: float,
) -> DrResult:
    """A rerun: the instance exists; accept it only if our tag says it came from the same source."""
    marker = tag_value(_instance_tags(rds, inst), tag)
    if marker != expected:
        raise DbshiftError(
            f"DB instance {inst['DBInstanceIdentifier']} already exists in {region} but was not restored by dbshift "
            f"from {expected} (tag dbshift:dr-{tag} is {marker!r}): choose another new instance id, or delete it"
        )
    inst = wait_instance(rds, inst["DBInstanceIdentifier"], region, f"{option} restore", timeout, poll)
    return _result(option, region, inst, False, expected, steps=["found from an earlier run"])


# ---------------------------------------------------------------- C: snapshot copy with KMS re-encryption + restore


def copy_id_for(new_id: str) -> str:
    """The deterministic name of the target-region copy made for instance `new_id`."""
    return f"{new_id}-dr-copy"


def newest_snapshot(rds: Any, instance_id: str, region: str) -> dict[str, Any]:
    """The newest available automated or manual snapshot of `instance_id`."""
    snaps: list[dict[str, Any]] = []
    for kind in ("automated", "manual"):
        pages = rds.get_paginator("describe_db_snapshots").paginate(DBInstanceIdentifier=instance_id, SnapshotType=kind)
        snaps += [s for p in pages for s in p.get("DBSnapshots", []) if s.get("Status") == "available"]
    if not snaps:
        raise DbshiftError(
            f"no available snapshot of DB instance {instance_id} in {region}: take one (aws rds create-db-snapshot) or "
            "name one with snapshot_id, or choose another dr_option"
        )
    return max(snaps, key=lambda s: s.get("SnapshotCreateTime") or datetime.min)


def resolve_target_key(clients: Clients, key: str, region: str) -> str:
    """The ARN of `key` after checking it is a usable key of `region` — before anything is created."""
    kms_errors.require_key_in_region(key, region)
    kms = clients.kms(region)
    findings = kms_errors.inspect_key(kms, key, region)
    if findings:
        raise kms_errors.KmsProblem(
            f"KMS key {key} cannot encrypt the snapshot copy in {region}. Check:\n"
            + kms_errors.checks(key, region, findings)
        )
    return kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]


def snapshot_copy(
    clients: Clients,
    source_region: str,
    target_region: str,
    kms_key_arn: str,
    new_id: str,
    settings: TargetSettings,
    source_instance_id: str | None = None,
    snapshot_id: str | None = None,
    timeout: float = 7200,
    poll: float = 30,
) -> DrResult:
    """Option C: copy the newest (or the named) snapshot into `target_region` re-encrypted with `kms_key_arn`,
    then restore `new_id` from the copy. An unencrypted source is encrypted by the copy.
    """
    _check_id(new_id, "new instance id")
    if not (source_instance_id or snapshot_id):
        raise ConfigError("snapshot_copy needs source_instance_id (newest snapshot) or snapshot_id")
    kms_errors.require_key_in_region(kms_key_arn, target_region)  # before any call, as promised
    key_arn = resolve_target_key(clients, kms_key_arn, target_region)
    rds = clients.rds(target_region)
    source_rds = clients.rds(source_region)
    copy_id = copy_id_for(new_id)

    existing = describe_instance(rds, new_id)
    if existing is not None:
        done = _existing_result(clients, rds, existing, "snapshot_copy", target_region, "copy", copy_id, timeout, poll)
        done.snapshot_copy_id = copy_id
        _verify_key(done.kms_key_id, key_arn, f"DB instance {new_id} in {target_region}")
        return done

    steps: list[str] = []
    copy = describe_snapshot(rds, copy_id)
    if copy is None:
        if snapshot_id:
            source_snap = describe_snapshot(source_rds, snapshot_id)
            if source_snap is None:
                raise DbshiftError(f"snapshot {snapshot_id} not found in {source_region}: check snapshot_id")
        else:
            source_snap = newest_snapshot(source_rds, str(source_instance_id), source_region)
        snap_name = source_snap["DBSnapshotIdentifier"]
        source_snap = wait_until(
            lambda: describe_snapshot(source_rds, snap_name) or {"Status": "deleted"},
            lambda s: s.get("Status") == "available",
            lambda s: repr(s.get("Status")) if s.get("Status") in FAILED_SNAPSHOT_STATES else None,
            f"snapshot {snap_name} in {source_region} (copy source)",
            timeout,
            poll,
            state=lambda s: str(s.get("Status")),
        )
        encrypted = "encrypted" if source_snap.get("Encrypted") else "unencrypted"
        steps.append(f"source snapshot {source_snap['DBSnapshotArn']} ({encrypted})")
        args: dict[str, Any] = {
            "SourceDBSnapshotIdentifier": source_snap["DBSnapshotArn"],
            "TargetDBSnapshotIdentifier": copy_id,
            "KmsKeyId": key_arn,
            # boto3 turns SourceRegion into the PreSignedUrl a cross-Region copy needs.
            "SourceRegion": source_region,
            "Tags": tags(source_snapshot=source_snap["DBSnapshotArn"], option="C"),
        }
        if settings.option_group:
            args["OptionGroupName"] = settings.option_group
        try:
            rds.copy_db_snapshot(**args)
        except ClientError as exc:
            raise kms_errors.translate(
                exc,
                f"CopyDBSnapshot of {snap_name} into {target_region}",
                key_arn,
                target_region,
                clients.kms(target_region),
            ) from exc
        steps.append(f"CopyDBSnapshot → {copy_id} in {target_region}")
    else:
        steps.append(f"snapshot copy {copy_id} found from an earlier run")

    copy = _wait_copy(clients, rds, copy_id, target_region, key_arn, timeout, poll)
    _verify_key(
        copy.get("KmsKeyId") if copy.get("Encrypted") else None, key_arn, f"snapshot copy {copy_id} in {target_region}"
    )
    steps.append(f"{copy_id} available, encrypted with {key_arn}")

    try:
        rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier=new_id,
            DBSnapshotIdentifier=copy_id,
            Tags=tags(copy=copy_id, option="C"),
            **settings.restore_args(),
        )
    except ClientError as exc:
        raise kms_errors.translate(
            exc, f"RestoreDBInstanceFromDBSnapshot of {copy_id}", key_arn, target_region, clients.kms(target_region)
        ) from exc
    inst = wait_instance(rds, new_id, target_region, "restore from snapshot copy", timeout, poll)
    _verify_key(
        inst.get("KmsKeyId") if inst.get("StorageEncrypted") else None,
        key_arn,
        f"DB instance {new_id} in {target_region}",
    )
    steps.append(f"{new_id} available")
    source_inst = _describe_quietly(source_rds, source_instance_id or copy.get("DBInstanceIdentifier"))
    group = _source_option_group(source_inst) or copy.get("OptionGroupName")
    return _result(
        "snapshot_copy",
        target_region,
        inst,
        True,
        source_snap_arn(copy, source_region),
        snapshot_copy_id=copy_id,
        missing_options=missing_options(source_rds if source_inst else None, group, rds, inst),
        steps=steps,
    )


def source_snap_arn(copy: dict[str, Any], source_region: str) -> str:
    return tag_value(copy.get("TagList"), "source-snapshot") or copy.get("SourceDBSnapshotIdentifier") or source_region


def _describe_quietly(rds: Any, instance_id: str | None) -> dict[str, Any] | None:
    if not instance_id:
        return None
    try:
        return describe_instance(rds, instance_id)
    except (ClientError, BotoCoreError):
        return None


def _wait_copy(
    clients: Clients, rds: Any, copy_id: str, region: str, key_arn: str, timeout: float, poll: float
) -> dict:
    def failed(snap: dict[str, Any]) -> str | None:
        status = snap.get("Status")
        if status not in FAILED_SNAPSHOT_STATES:
            return None
        detail = snap.get("StatusMessage") or "snapshot copy has failed"
        findings = kms_errors.inspect_key(clients.kms(region), key_arn, region)
        return f"{status!r} (copy: {detail}). Check:\n{kms_errors.checks(key_arn, region, findings)}"

    return wait_until(
        lambda: describe_snapshot(rds, copy_id) or {"Status": "deleted"},
        lambda s: s.get("Status") == "available",
        failed,
        f"snapshot {copy_id} in {region}",
        timeout,
        poll,
        state=lambda s: f"{s.get('Status')} ({s.get('PercentProgress', 0)}%)",
    )


def _verify_key(found: str | None, wanted: str, what: str) -> None:
    if found != wanted:
        raise DbshiftError(
            f"{what} is encrypted with {found or 'no key (unencrypted)'}, not the target key {wanted}: delete it and "
            "run again, or check the key given as kms_key_arn"
        )
