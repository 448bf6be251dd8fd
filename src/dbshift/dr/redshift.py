"""Redshift cross-Region recovery: snapshot copy to another Region, manual snapshots, restore, AZ relocation.

Each operation is idempotent: it reads what exists (the cluster's ClusterSnapshotCopyStatus, a
snapshot or cluster by its identifier and dbshift:dr-* tags) and returns changed=False when the
wanted state is there already; with check_mode=True it only reads and says what it would do. Each
step checks its result (copy settings read back, snapshot available and copied, cluster available,
encrypted with the expected key, in the wanted Availability Zone) and waits with a timeout.

The restore only calls the target Region: the source Region may be the impaired one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from dbshift.dr import Clients, kms_errors, listed, parity, tag_value, tags
from dbshift.dr.waits import wait_until
from dbshift.errors import ConfigError, DbshiftError

# Cluster states it does not leave by itself (Redshift "ClusterStatus" values).
FAILED_CLUSTER_STATES = frozenset(
    {
        "hardware-failure",
        "incompatible-hsm",
        "incompatible-network",
        "incompatible-parameters",
        "incompatible-restore",
        "storage-full",
        "deleting",
        "final-snapshot",
    }
)
FAILED_SNAPSHOT_STATES = frozenset({"failed", "deleted"})
# AZ relocation is offered for RA3 node types only (Redshift Management Guide, "Relocating a cluster").
RELOCATION_NODE_PREFIX = "ra3."


@dataclass
class RedshiftResult:
    """What one action did (or, in check mode, would do) and the cluster it leaves in service."""

    changed: bool
    action: str
    region: str
    cluster_id: str
    status: str
    endpoint: str | None = None
    port: int | None = None
    encrypted: bool | None = None
    kms_key_id: str | None = None
    availability_zone: str | None = None
    snapshot_id: str | None = None
    copy_status: dict[str, Any] | None = None
    steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RestoreSettings:
    """How the cluster is built in the target Region; it is never publicly accessible."""

    node_type: str | None = None
    number_of_nodes: int | None = None
    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()
    availability_zone: str | None = None
    automated_snapshot_retention_days: int | None = None
    manual_snapshot_retention_days: int | None = None
    availability_zone_relocation: bool = False

    def restore_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"PubliclyAccessible": False}
        optional = {
            "NodeType": self.node_type,
            "NumberOfNodes": self.number_of_nodes,
            "ClusterSubnetGroupName": self.subnet_group,
            "AvailabilityZone": self.availability_zone,
            "AutomatedSnapshotRetentionPeriod": self.automated_snapshot_retention_days,
            "ManualSnapshotRetentionPeriod": self.manual_snapshot_retention_days,
        }
        args.update({k: v for k, v in optional.items() if v is not None})
        if self.security_group_ids:
            args["VpcSecurityGroupIds"] = list(self.security_group_ids)
        if self.availability_zone_relocation:
            args["AvailabilityZoneRelocation"] = True
        return args


# ---------------------------------------------------------------- reads


def describe_cluster(redshift: Any, cluster_id: str) -> dict[str, Any] | None:
    found = listed(
        lambda: redshift.describe_clusters(ClusterIdentifier=cluster_id),
        "Clusters",
        ("ClusterNotFound", "ClusterNotFoundFault"),
    )
    return found[0] if found else None


def describe_snapshot(redshift: Any, snapshot_id: str) -> dict[str, Any] | None:
    found = listed(
        lambda: redshift.describe_cluster_snapshots(SnapshotIdentifier=snapshot_id),
        "Snapshots",
        ("ClusterSnapshotNotFound", "ClusterSnapshotNotFoundFault"),
    )
    return found[0] if found else None


def describe_grant(redshift: Any, name: str) -> dict[str, Any] | None:
    found = listed(
        lambda: redshift.describe_snapshot_copy_grants(SnapshotCopyGrantName=name),
        "SnapshotCopyGrants",
        ("SnapshotCopyGrantNotFoundFault", "SnapshotCopyGrantNotFound"),
    )
    return found[0] if found else None


def cluster_arn(region: str, account: str, cluster_id: str) -> str:
    return f"arn:aws:redshift:{region}:{account}:cluster:{cluster_id}"


def _account_of(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def require_cluster(clients: Clients, region: str, cluster_id: str) -> dict[str, Any]:
    found = describe_cluster(clients.get("redshift", region), cluster_id)
    if found is None:
        raise DbshiftError(
            f"Redshift cluster {cluster_id} not found in {region}: check source_cluster_id and source_region"
        )
    return found


def kms_checks(key: str, region: str, findings: list[str] | None = None) -> str:
    """The checks for a Redshift cross-Region copy or restore that could not use `key` in `region`."""
    lines = [
        f"1. the key is in the destination Region {region} (KMS keys are Region-specific): {key}",
        "2. the key is enabled (aws kms describe-key → KeyState Enabled); a disabled or pending-deletion key makes "
        "every snapshot copy fail",
        f"3. the snapshot copy grant in {region} names this key (aws redshift describe-snapshot-copy-grants "
        f"--region {region}); a grant cannot be changed: create a new one and enable copy with it",
        "4. the key policy lets the caller kms:CreateGrant and kms:DescribeKey, so Redshift can create its grant "
        f"(the grant is for the principal redshift.{region}.amazonaws.com)",
    ]
    found = "".join(f"\n   found: {f}" for f in findings or [])
    return "\n".join(lines) + found


def translate(error: BaseException, action: str, key: str | None, region: str, clients: Clients) -> BaseException:
    if not kms_errors.is_kms_error(error):
        return error
    shown = key or "(the snapshot copy grant's key)"
    findings = kms_errors.inspect_key(clients.kms(region), key, region) if key else []
    return kms_errors.KmsProblem(
        f"{action} could not use KMS key {shown} ({error}). Check:\n{kms_checks(shown, region, findings)}"
    )


def resolve_key(clients: Clients, key: str, region: str, what: str = "kms_key_arn") -> str:
    """The ARN of `key` after checking it is an enabled symmetric key of `region`, before anything is created."""
    kms_errors.require_key_in_region(key, region, what)
    kms = clients.kms(region)
    findings = kms_errors.inspect_key(kms, key, region)
    if findings:
        raise kms_errors.KmsProblem(
            f"{what} {key} cannot encrypt Redshift snapshots in {region}. Check:\n{kms_checks(key, region, findings)}"
        )
    return kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]


# ---------------------------------------------------------------- waits


def wait_cluster(
    redshift: Any, cluster_id: str, region: str, what: str, timeout: float, poll: float, extra: Any = None
) -> dict[str, Any]:
    """Wait until `cluster_id` is available (and `extra(cluster)` holds); its description."""

    def describe() -> dict[str, Any]:
        found = describe_cluster(redshift, cluster_id)
        if found is None:
            raise DbshiftError(f"Redshift cluster {cluster_id} in {region} ({what}) disappeared while waiting for it")
        return found

    def failed(c: dict[str, Any]) -> str | None:
        status = c.get("ClusterStatus")
        if status not in FAILED_CLUSTER_STATES:
            return None
        return f"{status!r} ({what}): see its events (aws redshift describe-events --source-identifier {cluster_id})"

    return wait_until(
        describe,
        lambda c: c.get("ClusterStatus") == "available" and (extra is None or extra(c)),
        failed,
        f"Redshift cluster {cluster_id} in {region}",
        timeout,
        poll,
        state=lambda c: f"{c.get('ClusterStatus')} in {c.get('AvailabilityZone')}",
    )


def wait_snapshot(
    clients: Clients, region: str, snapshot_id: str, what: str, timeout: float, poll: float, key: str | None = None
) -> dict[str, Any]:
    redshift = clients.get("redshift", region)

    def failed(s: dict[str, Any]) -> str | None:
        status = s.get("Status")
        if status not in FAILED_SNAPSHOT_STATES:
            return None
        shown = key or s.get("KmsKeyId") or "(its KMS key)"
        return f"{status!r} ({what}; a snapshot copy has failed). Check:\n{kms_checks(shown, region)}"

    return wait_until(
        lambda: describe_snapshot(redshift, snapshot_id) or {"Status": "deleted"},
        lambda s: s.get("Status") == "available",
        failed,
        f"snapshot {snapshot_id} in {region} ({what})",
        timeout,
        poll,
        state=lambda s: str(s.get("Status")),
    )


# ---------------------------------------------------------------- cross-Region snapshot copy


def ensure_copy_grant(
    clients: Clients, region: str, name: str, kms_key_arn: str | None, check_mode: bool = False
) -> tuple[bool, str]:
    """The snapshot copy grant `name` in the destination `region` for `kms_key_arn`: (changed, its key ARN).

    A grant cannot be modified, so an existing grant with another key is refused, not replaced.
    """
    redshift = clients.get("redshift", region)
    key_arn = resolve_key(clients, kms_key_arn, region) if kms_key_arn else None
    grant = describe_grant(redshift, name)
    if grant is not None:
        found = grant.get("KmsKeyId")
        if key_arn and found and found != key_arn:
            raise ConfigError(
                f"snapshot copy grant {name} in {region} uses KMS key {found}, not {key_arn}: grants cannot be "
                "changed; choose another snapshot_copy_grant_name, or delete the grant (aws redshift "
                f"delete-snapshot-copy-grant --region {region}) after disabling copy on the clusters using it"
            )
        return False, str(found or key_arn or "")
    if key_arn is None:
        raise ConfigError(
            f"snapshot copy grant {name} does not exist in {region}: set kms_key_arn (a key of {region}) so the "
            "runbook creates it, or create it (the dr_target Terraform module's snapshot copy grant)"
        )
    if check_mode:
        return True, key_arn
    try:
        redshift.create_snapshot_copy_grant(
            SnapshotCopyGrantName=name, KmsKeyId=key_arn, Tags=tags(purpose="snapshot-copy-grant")
        )
    except ClientError as exc:
        raise translate(exc, f"CreateSnapshotCopyGrant {name}", key_arn, region, clients) from exc
    made = describe_grant(redshift, name)
    if made is None or made.get("KmsKeyId") not in (None, key_arn):
        raise DbshiftError(f"snapshot copy grant {name} in {region} was not created with {key_arn}: found {made}")
    return True, key_arn


def enable_snapshot_copy(
    clients: Clients,
    source_region: str,
    cluster_id: str,
    destination_region: str,
    retention_days: int = 7,
    manual_retention_days: int = -1,
    grant_name: str | None = None,
    kms_key_arn: str | None = None,
    check_mode: bool = False,
) -> RedshiftResult:
    """Cross-Region snapshot copy of `cluster_id` to `destination_region` with these retentions.

    A KMS-encrypted cluster needs a snapshot copy grant in the destination Region for a key of that
    Region: with `kms_key_arn` the grant `grant_name` is created (or found) first.
    """
    if destination_region == source_region:
        raise ConfigError(f"target_region {destination_region} is the source Region: choose another Region")
    if not (1 <= retention_days <= 35):
        raise ConfigError(f"retention_days {retention_days} is out of range: Redshift keeps copies 1 to 35 days")
    if manual_retention_days != -1 and not (1 <= manual_retention_days <= 3653):
        raise ConfigError(f"manual_retention_days {manual_retention_days} must be -1 (for ever) or 1 to 3653")
    if kms_key_arn:
        kms_errors.require_key_in_region(kms_key_arn, destination_region)
    source = clients.get("redshift", source_region)
    cluster = require_cluster(clients, source_region, cluster_id)
    steps: list[str] = []
    changed = False
    status = cluster.get("ClusterSnapshotCopyStatus")
    if cluster.get("Encrypted"):
        if not grant_name:
            raise ConfigError(
                f"Redshift cluster {cluster_id} is KMS-encrypted: cross-Region copy needs a snapshot copy grant in "
                f"{destination_region}; set snapshot_copy_grant_name (and kms_key_arn to create it)"
            )
        made, key = ensure_copy_grant(clients, destination_region, grant_name, kms_key_arn, check_mode)
        changed |= made
        steps.append(
            f"snapshot copy grant {grant_name} in {destination_region} {'created' if made else 'found'}: {key}"
        )
    if status:
        if status.get("DestinationRegion") != destination_region or (
            cluster.get("Encrypted") and status.get("SnapshotCopyGrantName") != grant_name
        ):
            raise DbshiftError(
                f"Redshift cluster {cluster_id} already copies snapshots to {status.get('DestinationRegion')} with "
                f"grant {status.get('SnapshotCopyGrantName')!r}: a cluster copies to one Region with one grant; "
                f"disable it first (aws redshift disable-snapshot-copy --cluster-identifier {cluster_id}) if "
                f"{destination_region} / {grant_name!r} is meant"
            )
        wanted = {"RetentionPeriod": retention_days, "ManualSnapshotRetentionPeriod": manual_retention_days}
        for key_name, days in wanted.items():
            if int(status.get(key_name, -2)) == days:
                continue
            changed = True
            steps.append(f"{key_name} {status.get(key_name)} → {days}")
            if not check_mode:
                manual = key_name == "ManualSnapshotRetentionPeriod"
                source.modify_snapshot_copy_retention_period(
                    ClusterIdentifier=cluster_id, RetentionPeriod=days, Manual=manual
                )
        if not changed:
            steps.append(f"snapshot copy to {destination_region} already enabled as wanted")
    else:
        changed = True
        steps.append(f"EnableSnapshotCopy → {destination_region}")
        if not check_mode:
            args: dict[str, Any] = {
                "ClusterIdentifier": cluster_id,
                "DestinationRegion": destination_region,
                "RetentionPeriod": retention_days,
                "ManualSnapshotRetentionPeriod": manual_retention_days,
            }
            if cluster.get("Encrypted"):
                args["SnapshotCopyGrantName"] = grant_name
            try:
                source.enable_snapshot_copy(**args)
            except ClientError as exc:
                raise translate(
                    exc, f"EnableSnapshotCopy of {cluster_id}", kms_key_arn, destination_region, clients
                ) from exc
    if not check_mode:
        cluster = require_cluster(clients, source_region, cluster_id)
        _verify_copy_status(cluster, destination_region, retention_days, manual_retention_days)
    return _result("enable_copy", source_region, cluster, changed, steps=steps)


def _verify_copy_status(cluster: dict[str, Any], region: str, days: int, manual_days: int) -> None:
    status = cluster.get("ClusterSnapshotCopyStatus") or {}
    got = (status.get("DestinationRegion"), status.get("RetentionPeriod"), status.get("ManualSnapshotRetentionPeriod"))
    if got[0] != region or int(got[1] or 0) != days or int(got[2] if got[2] is not None else -1) != manual_days:
        raise DbshiftError(
            f"Redshift cluster {cluster['ClusterIdentifier']} reports snapshot copy {got} after the change, wanted "
            f"({region}, {days}, {manual_days}): look at the cluster's events and run again"
        )


# ---------------------------------------------------------------- manual snapshot before the cutover


def default_snapshot_id(cluster_id: str) -> str:
    return f"{cluster_id}-dr-pre-cutover"


def take_snapshot(
    clients: Clients,
    region: str,
    cluster_id: str,
    snapshot_id: str | None = None,
    manual_retention_days: int | None = None,
    timeout: float = 3600,
    poll: float = 30,
    check_mode: bool = False,
) -> RedshiftResult:
    """A tagged manual snapshot of `cluster_id`, waited for; with copy enabled, also waited for in the
    destination Region (encrypted with the grant's key for a KMS-encrypted cluster)."""
    snapshot_id = snapshot_id or default_snapshot_id(cluster_id)
    redshift = clients.get("redshift", region)
    cluster = require_cluster(clients, region, cluster_id)
    marker = f"{region}/{cluster_id}"
    existing = describe_snapshot(redshift, snapshot_id)
    steps: list[str] = []
    if existing is not None:
        if existing.get("ClusterIdentifier") != cluster_id:
            raise DbshiftError(
                f"snapshot {snapshot_id} in {region} is of cluster {existing.get('ClusterIdentifier')}, not "
                f"{cluster_id}: choose another snapshot_id"
            )
        changed = False
        steps.append(f"manual snapshot {snapshot_id} found from an earlier run")
    else:
        changed = True
        steps.append(f"CreateClusterSnapshot {snapshot_id}")
        if check_mode:
            return _result("snapshot", region, cluster, True, snapshot_id=snapshot_id, steps=steps)
        args: dict[str, Any] = {
            "ClusterIdentifier": cluster_id,
            "SnapshotIdentifier": snapshot_id,
            "Tags": tags(source_cluster=marker, purpose="pre-cutover"),
        }
        if manual_retention_days is not None:
            args["ManualSnapshotRetentionPeriod"] = manual_retention_days
        redshift.create_cluster_snapshot(**args)
    if not check_mode:
        wait_snapshot(clients, region, snapshot_id, f"manual snapshot of {cluster_id}", timeout, poll)
        steps.append(f"{snapshot_id} available")
    status = cluster.get("ClusterSnapshotCopyStatus")
    if status and not check_mode:
        dest = status["DestinationRegion"]
        if existing is not None and describe_snapshot(clients.get("redshift", dest), snapshot_id) is None:
            # Taken before copy was enabled: Redshift copies only snapshots taken after that.
            steps.append(
                f"{snapshot_id} has no copy in {dest} (taken before copy was enabled): use another snapshot_id"
            )
            return _result("snapshot", region, cluster, changed, snapshot_id=snapshot_id, steps=steps)
        copy = wait_snapshot(clients, dest, snapshot_id, f"cross-Region copy of {cluster_id}", timeout, poll)
        if cluster.get("Encrypted"):
            grant = describe_grant(clients.get("redshift", dest), status.get("SnapshotCopyGrantName") or "") or {}
            if grant.get("KmsKeyId") and copy.get("KmsKeyId") != grant["KmsKeyId"]:
                raise DbshiftError(
                    f"the copy of {snapshot_id} in {dest} is encrypted with {copy.get('KmsKeyId')}, not the snapshot "
                    f"copy grant's key {grant['KmsKeyId']}: check the grant {status.get('SnapshotCopyGrantName')}"
                )
        steps.append(f"copied to {dest}: {copy.get('SnapshotIdentifier')} available")
    return _result("snapshot", region, cluster, changed, snapshot_id=snapshot_id, steps=steps)


# ---------------------------------------------------------------- restore in the target Region


def copied_snapshots(redshift: Any, source_region: str, source_cluster_id: str) -> list[dict[str, Any]]:
    """Snapshots of `source_cluster_id` copied into the client's Region from `source_region`."""
    found: list[dict[str, Any]] = []
    for page in redshift.get_paginator("describe_cluster_snapshots").paginate(ClusterIdentifier=source_cluster_id):
        for snap in page.get("Snapshots", []):
            if snap.get("ClusterIdentifier") == source_cluster_id and snap.get("SourceRegion") == source_region:
                found.append(snap)
    return found


def newest_copied_snapshot(redshift: Any, source_region: str, source_cluster_id: str, region: str) -> dict[str, Any]:
    snaps = [s for s in copied_snapshots(redshift, source_region, source_cluster_id) if s.get("Status") == "available"]
    if not snaps:
        raise DbshiftError(
            f"no available snapshot of Redshift cluster {source_cluster_id} copied from {source_region} in {region}: "
            "enable cross-Region snapshot copy (action enable_copy) and take a snapshot (action snapshot) while the "
            "source Region answers, or name a snapshot with restore_snapshot_id"
        )
    return max(snaps, key=lambda s: s.get("SnapshotCreateTime") or datetime.min)


def restore(
    clients: Clients,
    source_region: str,
    source_cluster_id: str,
    target_region: str,
    new_cluster_id: str,
    settings: RestoreSettings,
    snapshot_id: str | None = None,
    kms_key_arn: str | None = None,
    allow_unencrypted: bool = False,
    timeout: float = 7200,
    poll: float = 30,
    check_mode: bool = False,
) -> RedshiftResult:
    """Restore `new_cluster_id` in `target_region` from the newest (or the named) copied snapshot.

    Encrypted with `kms_key_arn` (a target-Region key) when given, else with the copy's key; an
    unencrypted copy without a key is refused unless `allow_unencrypted`. Never publicly accessible.
    """
    key_arn = resolve_key(clients, kms_key_arn, target_region) if kms_key_arn else None
    redshift = clients.get("redshift", target_region)
    marker = f"{source_region}/{source_cluster_id}"
    existing = describe_cluster(redshift, new_cluster_id)
    if existing is not None:
        found = tag_value(existing.get("Tags"), "restored-from")
        if found != marker:
            raise DbshiftError(
                f"Redshift cluster {new_cluster_id} already exists in {target_region} but was not restored by dbshift "
                f"from {marker} (tag dbshift:dr-restored-from is {found!r}): choose another target_cluster_id, or — if "
                f"an earlier run stopped right after its restore — tag it (aws redshift create-tags --tags "
                f"Key=dbshift:dr-restored-from,Value={marker})"
            )
        if not check_mode:
            existing = wait_cluster(redshift, new_cluster_id, target_region, "restore", timeout, poll)
            _verify_encryption(existing, key_arn)
        return _result("restore", target_region, existing, False, steps=["restored cluster found from an earlier run"])

    if snapshot_id:
        snap = describe_snapshot(redshift, snapshot_id)
        if snap is None:
            raise DbshiftError(
                f"snapshot {snapshot_id} not found in {target_region}: check restore_snapshot_id (a snapshot copied "
                f"into {target_region}), or leave it empty for the newest copy of {source_cluster_id}"
            )
    else:
        snap = newest_copied_snapshot(redshift, source_region, source_cluster_id, target_region)
    name = snap["SnapshotIdentifier"]
    if not snap.get("Encrypted") and key_arn is None and not allow_unencrypted:
        raise ConfigError(
            f"snapshot {name} in {target_region} is not encrypted: set kms_key_arn (a key of {target_region}) so the "
            "restored cluster is encrypted, or waive storage_encrypted"
        )
    steps = [f"snapshot {name} ({'encrypted' if snap.get('Encrypted') else 'unencrypted'}, {snap.get('SnapshotType')})"]
    if check_mode:
        return RedshiftResult(
            True, "restore", target_region, new_cluster_id, "would_restore", snapshot_id=name, steps=steps
        )
    snap = wait_snapshot(clients, target_region, name, "restore source", timeout, poll, key_arn)
    args: dict[str, Any] = {
        "ClusterIdentifier": new_cluster_id,
        "SnapshotIdentifier": name,
        "SnapshotClusterIdentifier": snap.get("ClusterIdentifier") or source_cluster_id,
        **settings.restore_args(),
    }
    if key_arn:
        args.update(Encrypted=True, KmsKeyId=key_arn)
    try:
        redshift.restore_from_cluster_snapshot(**args)
    except ClientError as exc:
        raise translate(
            exc, f"RestoreFromClusterSnapshot of {name}", key_arn or snap.get("KmsKeyId"), target_region, clients
        ) from exc
    steps.append(f"RestoreFromClusterSnapshot → {new_cluster_id}")
    account = _account_of(snap.get("SnapshotArn")) or clients.get("sts", target_region).get_caller_identity()["Account"]
    redshift.create_tags(
        ResourceName=cluster_arn(target_region, account, new_cluster_id),
        Tags=tags(restored_from=marker, snapshot=name),
    )
    cluster = wait_cluster(redshift, new_cluster_id, target_region, "restore from snapshot copy", timeout, poll)
    _verify_encryption(cluster, key_arn or (snap.get("KmsKeyId") if snap.get("Encrypted") else None))
    steps.append(f"{new_cluster_id} available")
    return _result("restore", target_region, cluster, True, snapshot_id=name, steps=steps)


def _verify_encryption(cluster: dict[str, Any], key_arn: str | None) -> None:
    if key_arn is None:
        return
    found = cluster.get("KmsKeyId") if cluster.get("Encrypted") else None
    if found != key_arn:
        raise DbshiftError(
            f"Redshift cluster {cluster['ClusterIdentifier']} is encrypted with {found or 'no key (unencrypted)'}, not "
            f"{key_arn}: delete it and run again, or check kms_key_arn"
        )


# ---------------------------------------------------------------- AZ relocation within a Region


def relocate(
    clients: Clients,
    region: str,
    cluster_id: str,
    availability_zone: str,
    timeout: float = 3600,
    poll: float = 30,
    check_mode: bool = False,
) -> RedshiftResult:
    """Move `cluster_id` to `availability_zone` of its Region (enabling AZ relocation first if needed)."""
    if not availability_zone.startswith(region) or len(availability_zone) <= len(region):
        raise ConfigError(
            f"availability_zone {availability_zone!r} is not an Availability Zone of {region}: relocation stays in the "
            f"cluster's Region (e.g. {region}b); use the restore action to move to another Region"
        )
    redshift = clients.get("redshift", region)
    cluster = require_cluster(clients, region, cluster_id)
    if cluster.get("AvailabilityZone") == availability_zone:
        return _result("relocate", region, cluster, False, steps=[f"already in {availability_zone}"])
    if not str(cluster.get("NodeType", "")).startswith(RELOCATION_NODE_PREFIX):
        raise ConfigError(
            f"Redshift cluster {cluster_id} is {cluster.get('NodeType')}: AZ relocation needs an RA3 node type; resize "
            "it to RA3 first, or restore a snapshot into the wanted zone (action restore with availability_zone)"
        )
    steps: list[str] = []
    if cluster.get("AvailabilityZoneRelocationStatus") != "enabled":
        steps.append("ModifyCluster AvailabilityZoneRelocation=true")
        if not check_mode:
            redshift.modify_cluster(ClusterIdentifier=cluster_id, AvailabilityZoneRelocation=True)
            wait_cluster(
                redshift,
                cluster_id,
                region,
                "enabling AZ relocation",
                timeout,
                poll,
                extra=lambda c: c.get("AvailabilityZoneRelocationStatus") == "enabled",
            )
    steps.append(f"ModifyCluster AvailabilityZone {cluster.get('AvailabilityZone')} → {availability_zone}")
    if check_mode:
        return _result("relocate", region, cluster, True, steps=steps)
    redshift.modify_cluster(ClusterIdentifier=cluster_id, AvailabilityZone=availability_zone)
    cluster = wait_cluster(
        redshift,
        cluster_id,
        region,
        f"relocation to {availability_zone}",
        timeout,
        poll,
        extra=lambda c: c.get("AvailabilityZone") == availability_zone,
    )
    steps.append(f"{cluster_id} available in {availability_zone}")
    return _result("relocate", region, cluster, True, steps=steps)


# ---------------------------------------------------------------- security parity


def _enabled(value: Any) -> bool:
    return value is True or str(value).lower() in ("enabled", "true")


def redshift_shortfalls(source: dict[str, Any], target: dict[str, Any]) -> list[parity.Shortfall]:
    """Compare two DescribeClusters entries. The target must be encrypted and private whatever the source was."""
    out: list[parity.Shortfall] = []
    tid = target.get("ClusterIdentifier", "target")
    if not target.get("Encrypted"):
        out.append(parity.Shortfall("storage_encrypted", f"{tid} is not encrypted at rest"))
    if target.get("PubliclyAccessible") is not False:
        out.append(
            parity.Shortfall("publicly_accessible", f"{tid} PubliclyAccessible is {target.get('PubliclyAccessible')!r}")
        )
    if _enabled(source.get("MultiAZ")) and not _enabled(target.get("MultiAZ")):
        out.append(parity.Shortfall("multi_az", f"source is Multi-AZ, {tid} is Single-AZ"))
    src_days = int(source.get("AutomatedSnapshotRetentionPeriod") or 0)
    tgt_days = int(target.get("AutomatedSnapshotRetentionPeriod") or 0)
    if tgt_days < src_days or tgt_days == 0:
        out.append(
            parity.Shortfall("backup_retention", f"{tid} keeps automated snapshots {tgt_days} days, source {src_days}")
        )
    return out


# ---------------------------------------------------------------- results


def _result(action: str, region: str, cluster: dict[str, Any], changed: bool, **more: Any) -> RedshiftResult:
    endpoint = cluster.get("Endpoint") or {}
    return RedshiftResult(
        changed=changed,
        action=action,
        region=region,
        cluster_id=cluster["ClusterIdentifier"],
        status=str(cluster.get("ClusterStatus")),
        endpoint=endpoint.get("Address"),
        port=endpoint.get("Port"),
        encrypted=bool(cluster.get("Encrypted")),
        kms_key_id=cluster.get("KmsKeyId"),
        availability_zone=cluster.get("AvailabilityZone"),
        copy_status=cluster.get("ClusterSnapshotCopyStatus"),
        **more,
    )
