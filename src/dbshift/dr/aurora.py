"""Aurora cross-Region recovery: global database failover/switchover, or restore from a copied snapshot.

- global_promote: make the global database's secondary cluster in the target Region its primary, by
  FailoverGlobalCluster with AllowDataLoss (unplanned: the primary Region is impaired) or
  SwitchoverGlobalCluster (planned: no data loss, both Regions healthy). Only the target Region is
  called.
- snapshot_restore: without a global database, copy the newest (or the named) cluster snapshot into the
  target Region re-encrypted with a key of that Region (an unencrypted source is encrypted by the copy),
  restore a cluster from the copy, then add the writer and reader instances with the requested class.

Both are idempotent: a rerun finds the promoted secondary (it is the writer) or the restored cluster (by
name and the dbshift:dr-copy tag) and its instances (by their deterministic names), and reports
changed=False. Every step verifies its result and waits with a timeout naming the resource and state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from dbshift.dr import Clients, kms_errors, listed, parity, rds, tag_value, tags
from dbshift.dr.waits import wait_until
from dbshift.errors import ConfigError, DbshiftError

GLOBAL_OPTIONS = ("global_failover", "global_switchover")
# DB cluster states it does not leave by itself (RDS "Viewing DB cluster status").
FAILED_CLUSTER_STATES = frozenset(
    {
        "failed",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "incompatible-network",
        "incompatible-parameters",
        "incompatible-restore",
        "migration-failed",
        "deleting",
    }
)
KMS_CLUSTER_STATES = frozenset(
    {"inaccessible-encryption-credentials", "inaccessible-encryption-credentials-recoverable"}
)


@dataclass(frozen=True)
class ClusterSettings:
    """How the restored cluster and its instances are built; instances are never publicly accessible."""

    instance_class: str
    reader_count: int = 1
    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()
    deletion_protection: bool = True
    backup_retention_days: int | None = None

    def restore_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"DeletionProtection": self.deletion_protection}
        if self.subnet_group:
            args["DBSubnetGroupName"] = self.subnet_group
        if self.security_group_ids:
            args["VpcSecurityGroupIds"] = list(self.security_group_ids)
        if self.backup_retention_days is not None:
            args["BackupRetentionPeriod"] = self.backup_retention_days
        return args


@dataclass
class AuroraResult:
    changed: bool
    option: str
    region: str
    cluster_id: str
    cluster_arn: str
    status: str
    endpoint: str | None
    reader_endpoint: str | None
    port: int | None
    engine: str | None
    storage_encrypted: bool
    kms_key_id: str | None
    source: str
    global_cluster_id: str | None = None
    snapshot_copy_id: str | None = None
    instances: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- reads


def describe_cluster(rds_client: Any, cluster_id: str) -> dict[str, Any] | None:
    found = listed(
        lambda: rds_client.describe_db_clusters(DBClusterIdentifier=cluster_id),
        "DBClusters",
        ("DBClusterNotFoundFault", "DBClusterNotFound"),
    )
    return found[0] if found else None


def describe_global(rds_client: Any, global_id: str) -> dict[str, Any] | None:
    """The global cluster `global_id` (global clusters belong to no Region: any Region's API describes them)."""
    found = listed(
        lambda: rds_client.describe_global_clusters(GlobalClusterIdentifier=global_id),
        "GlobalClusters",
        ("GlobalClusterNotFoundFault", "GlobalClusterNotFound"),
    )
    # Filter here too: the answer is a list, and an emulator may ignore the identifier.
    return next((g for g in found if g.get("GlobalClusterIdentifier", "").lower() == global_id.lower()), None)


def describe_cluster_snapshot(rds_client: Any, snapshot_id: str) -> dict[str, Any] | None:
    found = listed(
        lambda: rds_client.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snapshot_id),
        "DBClusterSnapshots",
        ("DBClusterSnapshotNotFoundFault", "DBClusterSnapshotNotFound"),
    )
    return found[0] if found else None


def cluster_instances(rds_client: Any, cluster: dict[str, Any]) -> list[dict[str, Any]]:
    """DescribeDBInstances of every member of `cluster`."""
    out = []
    for member in cluster.get("DBClusterMembers", []):
        inst = rds.describe_instance(rds_client, member["DBInstanceIdentifier"])
        if inst is not None:
            out.append(inst)
    return out


def arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def arn_name(arn: str) -> str:
    return arn.split(":")[-1]


def wait_cluster(rds_client: Any, cluster_id: str, region: str, what: str, timeout: float, poll: float) -> dict:
    """Wait until cluster `cluster_id` is available; its description."""

    def describe() -> dict[str, Any]:
        found = describe_cluster(rds_client, cluster_id)
        if found is None:
            raise DbshiftError(f"DB cluster {cluster_id} in {region} ({what}) disappeared while waiting for it")
        return found

    def failed(cluster: dict[str, Any]) -> str | None:
        status = cluster.get("Status")
        if status in KMS_CLUSTER_STATES:
            key = cluster.get("KmsKeyId") or "(its KMS key)"
            return f"{status!r} ({what}): Aurora cannot use its KMS key. Check:\n{kms_errors.checks(key, region)}"
        if status in FAILED_CLUSTER_STATES:
            return f"{status!r} ({what}): see its events (aws rds describe-events --source-identifier {cluster_id})"
        return None

    return wait_until(
        describe,
        lambda c: c.get("Status") == "available",
        failed,
        f"DB cluster {cluster_id} in {region}",
        timeout,
        poll,
        state=lambda c: str(c.get("Status")),
    )


def _result(option: str, region: str, cluster: dict[str, Any], changed: bool, source: str, **more: Any) -> AuroraResult:
    return AuroraResult(
        changed=changed,
        option=option,
        region=region,
        cluster_id=cluster["DBClusterIdentifier"],
        cluster_arn=cluster.get("DBClusterArn", ""),
        status=str(cluster.get("Status")),
        endpoint=cluster.get("Endpoint"),
        reader_endpoint=cluster.get("ReaderEndpoint"),
        port=cluster.get("Port"),
        engine=cluster.get("Engine"),
        storage_encrypted=bool(cluster.get("StorageEncrypted")),
        kms_key_id=cluster.get("KmsKeyId"),
        source=source,
        instances=[m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])],
        **more,
    )


# ---------------------------------------------------------------- global database failover / switchover


@dataclass(frozen=True)
class GlobalPlan:
    """What global_promote would do, from reads only (check mode uses it as is)."""

    global_cluster: dict[str, Any]
    target_arn: str
    primary_arn: str | None
    in_progress: bool

    @property
    def target_id(self) -> str:
        return arn_name(self.target_arn)

    @property
    def done(self) -> bool:
        return self.primary_arn == self.target_arn


def plan_global(
    clients: Clients, global_id: str, target_region: str, target_cluster_id: str | None = None
) -> GlobalPlan:
    """Find the global cluster and its secondary in `target_region`; refuse what cannot work, changing nothing."""
    rds_client = clients.rds(target_region)
    found = describe_global(rds_client, global_id)
    if found is None:
        raise DbshiftError(
            f"global cluster {global_id} does not exist (asked in {target_region}): check global_cluster_id, or "
            "choose dr_option snapshot_restore"
        )
    members = found.get("GlobalClusterMembers", [])
    here = [m for m in members if arn_region(m["DBClusterArn"]) == target_region]
    if target_cluster_id:
        here = [
            m
            for m in here
            if target_cluster_id.lower() in (m["DBClusterArn"].lower(), arn_name(m["DBClusterArn"]).lower())
        ]
    if not here:
        regions = sorted({arn_region(m["DBClusterArn"]) for m in members})
        which = f"cluster {target_cluster_id} " if target_cluster_id else ""
        raise DbshiftError(
            f"global cluster {global_id} has no secondary {which}in {target_region} (its members are in "
            f"{', '.join(regions) or 'no Region'}): add one (aws rds create-db-cluster --global-cluster-identifier "
            f"{global_id} --region {target_region} …, then a DB instance in it), or choose dr_option snapshot_restore"
        )
    if len(here) > 1:
        names = ", ".join(arn_name(m["DBClusterArn"]) for m in here)
        raise ConfigError(
            f"global cluster {global_id} has several members in {target_region} ({names}): set target_cluster_id"
        )
    target_arn = here[0]["DBClusterArn"]
    primary = next((m["DBClusterArn"] for m in members if m.get("IsWriter")), None)
    state = found.get("FailoverState") or {}
    in_progress = (
        found.get("Status") in ("failing-over", "switching-over") and state.get("ToDbClusterArn") == target_arn
    )
    if primary != target_arn and not in_progress:
        cluster = describe_cluster(rds_client, arn_name(target_arn))
        if cluster is None:
            raise DbshiftError(f"secondary DB cluster {target_arn} of {global_id} not found in {target_region}")
        if not cluster.get("DBClusterMembers"):
            raise DbshiftError(
                f"secondary DB cluster {cluster['DBClusterIdentifier']} in {target_region} has no DB instance "
                "(a headless secondary cannot take writes): add one (aws rds create-db-instance "
                f"--db-cluster-identifier {cluster['DBClusterIdentifier']} --region {target_region} …) and run again"
            )
    return GlobalPlan(found, target_arn, primary, in_progress)


def settings_changes(
    cluster: dict[str, Any], deletion_protection: bool | None, backup_retention_days: int | None
) -> dict[str, Any]:
    """ModifyDBCluster arguments that bring `cluster` to the asked settings; {} when it has them."""
    out: dict[str, Any] = {}
    if deletion_protection is not None and bool(cluster.get("DeletionProtection")) != deletion_protection:
        out["DeletionProtection"] = deletion_protection
    if backup_retention_days is not None and cluster.get("BackupRetentionPeriod") != backup_retention_days:
        out["BackupRetentionPeriod"] = backup_retention_days
    return out


def global_promote(
    clients: Clients,
    global_id: str,
    target_region: str,
    mode: str = "global_failover",
    target_cluster_id: str | None = None,
    deletion_protection: bool | None = None,
    backup_retention_days: int | None = None,
    timeout: float = 3600,
    poll: float = 30,
) -> AuroraResult:
    """Make the global database's secondary in `target_region` its primary; `mode` global_failover
    (FailoverGlobalCluster with AllowDataLoss: the primary Region is impaired) or global_switchover
    (SwitchoverGlobalCluster: planned, no data loss). Then turn on deletion protection and set the backup
    retention on the new primary where asked (a secondary's own settings may be weaker than the old primary's).
    """
    if mode not in GLOBAL_OPTIONS:
        raise ConfigError(f"mode {mode!r} is not one of {', '.join(GLOBAL_OPTIONS)}")
    rds_client = clients.rds(target_region)
    plan = plan_global(clients, global_id, target_region, target_cluster_id)
    source = f"global cluster {global_id}" + ("" if plan.done else f" (old primary {plan.primary_arn or 'none'})")
    steps: list[str] = []
    changed = False
    if plan.done:
        steps.append(f"{plan.target_id} is already the primary of {global_id}")
    elif plan.in_progress:
        steps.append(f"{global_id} is already {plan.global_cluster.get('Status')} to {plan.target_id} (earlier run)")
    else:
        if mode == "global_switchover" and plan.global_cluster.get("Status") != "available":
            raise DbshiftError(
                f"global cluster {global_id} is {plan.global_cluster.get('Status')!r}: a switchover needs every member "
                "healthy and the global cluster available; wait, or use dr_option global_failover"
            )
        try:
            if mode == "global_failover":
                rds_client.failover_global_cluster(
                    GlobalClusterIdentifier=global_id, TargetDbClusterIdentifier=plan.target_arn, AllowDataLoss=True
                )
                steps.append(f"FailoverGlobalCluster (AllowDataLoss) → {plan.target_arn}")
            else:
                rds_client.switchover_global_cluster(
                    GlobalClusterIdentifier=global_id, TargetDbClusterIdentifier=plan.target_arn
                )
                steps.append(f"SwitchoverGlobalCluster → {plan.target_arn}")
        except ClientError as exc:
            raise DbshiftError(
                f"{mode} of global cluster {global_id} to {plan.target_arn} was refused: {exc}. Check the global "
                f"cluster's state (aws rds describe-global-clusters --global-cluster-identifier {global_id})"
            ) from exc
        changed = True

    def describe() -> dict[str, Any]:
        return describe_global(rds_client, global_id) or {"Status": "deleted", "GlobalClusterMembers": []}

    def promoted(g: dict[str, Any]) -> bool:
        writer = next((m for m in g.get("GlobalClusterMembers", []) if m.get("IsWriter")), {})
        return g.get("Status") == "available" and writer.get("DBClusterArn") == plan.target_arn

    def state(g: dict[str, Any]) -> str:
        writer = next((m["DBClusterArn"] for m in g.get("GlobalClusterMembers", []) if m.get("IsWriter")), None)
        return f"{g.get('Status')}, writer {writer}"

    wait_until(
        describe,
        promoted,
        lambda g: "deleted" if g.get("Status") == "deleted" else None,
        f"global cluster {global_id} ({mode} to {plan.target_id})",
        timeout,
        poll,
        state=state,
    )
    cluster = wait_cluster(rds_client, plan.target_id, target_region, f"{mode} target", timeout, poll)
    modify = settings_changes(cluster, deletion_protection, backup_retention_days)
    if modify:
        rds_client.modify_db_cluster(DBClusterIdentifier=plan.target_id, ApplyImmediately=True, **modify)
        steps.append(f"ModifyDBCluster {plan.target_id}: {modify}")
        changed = True
        cluster = wait_cluster(rds_client, plan.target_id, target_region, "settings of the new primary", timeout, poll)
    for member in cluster.get("DBClusterMembers", []):
        rds.wait_instance(
            rds_client, member["DBInstanceIdentifier"], target_region, f"instance of {plan.target_id}", timeout, poll
        )
    steps.append(f"{plan.target_id} in {target_region} is the primary (writer) of {global_id}, available")
    return _result(mode, target_region, cluster, changed, source, global_cluster_id=global_id, steps=steps)


# ---------------------------------------------------------------- restore from a copied cluster snapshot


def copy_id_for(cluster_id: str) -> str:
    """The deterministic name of the target-Region snapshot copy made for cluster `cluster_id`."""
    return f"{cluster_id}-dr-copy"


def instance_ids(cluster_id: str, reader_count: int) -> list[str]:
    """The writer first, then the readers: <cluster>-1, <cluster>-2, … (a rerun finds them by name)."""
    return [f"{cluster_id}-{n}" for n in range(1, reader_count + 2)]


def newest_cluster_snapshot(rds_client: Any, cluster_id: str, region: str) -> dict[str, Any]:
    snaps: list[dict[str, Any]] = []
    for kind in ("automated", "manual"):
        pages = rds_client.get_paginator("describe_db_cluster_snapshots").paginate(
            DBClusterIdentifier=cluster_id, SnapshotType=kind
        )
        snaps += [s for p in pages for s in p.get("DBClusterSnapshots", []) if s.get("Status") == "available"]
    if not snaps:
        raise DbshiftError(
            f"no available snapshot of DB cluster {cluster_id} in {region}: take one (aws rds "
            "create-db-cluster-snapshot), or name one with snapshot_id"
        )
    return max(snaps, key=lambda s: s.get("SnapshotCreateTime") or datetime.min)


def find_source_snapshot(
    rds_client: Any, region: str, source_cluster_id: str | None, snapshot_id: str | None
) -> dict[str, Any]:
    """The named snapshot, or the newest available one of `source_cluster_id`; refuses when there is none."""
    if snapshot_id:
        snap = describe_cluster_snapshot(rds_client, snapshot_id)
        if snap is None:
            raise DbshiftError(
                f"DB cluster snapshot {snapshot_id} not found in {region}: check snapshot_id (and source_region)"
            )
        return snap
    if not source_cluster_id:
        raise ConfigError("snapshot_restore needs source_cluster_id (newest snapshot) or snapshot_id")
    return newest_cluster_snapshot(rds_client, source_cluster_id, region)


def _cluster_tags(rds_client: Any, cluster: dict[str, Any]) -> list[dict[str, str]]:
    if cluster.get("TagList") is not None:
        return cluster["TagList"]
    return rds_client.list_tags_for_resource(ResourceName=cluster["DBClusterArn"]).get("TagList", [])


def _verify_key(found: str | None, wanted: str, what: str) -> None:
    if found != wanted:
        raise DbshiftError(
            f"{what} is encrypted with {found or 'no key (unencrypted)'}, not the target key {wanted}: delete it and "
            "run again, or check the key given as kms_key_arn"
        )


def _wait_copy(clients: Clients, copy_id: str, region: str, key_arn: str, timeout: float, poll: float) -> dict:
    rds_client = clients.rds(region)

    def failed(snap: dict[str, Any]) -> str | None:
        status = snap.get("Status")
        if status not in rds.FAILED_SNAPSHOT_STATES:
            return None
        findings = kms_errors.inspect_key(clients.kms(region), key_arn, region)
        return f"{status!r} (snapshot copy has failed). Check:\n{kms_errors.checks(key_arn, region, findings)}"

    return wait_until(
        lambda: describe_cluster_snapshot(rds_client, copy_id) or {"Status": "deleted"},
        lambda s: s.get("Status") == "available",
        failed,
        f"DB cluster snapshot {copy_id} in {region}",
        timeout,
        poll,
        state=lambda s: f"{s.get('Status')} ({s.get('PercentProgress', 0)}%)",
    )


def _copy_snapshot(
    clients: Clients,
    source_region: str,
    target_region: str,
    key_arn: str,
    copy_id: str,
    source_cluster_id: str | None,
    snapshot_id: str | None,
    timeout: float,
    poll: float,
    steps: list[str],
) -> None:
    source_rds = clients.rds(source_region)
    snap = find_source_snapshot(source_rds, source_region, source_cluster_id, snapshot_id)
    name = snap["DBClusterSnapshotIdentifier"]
    snap = wait_until(
        lambda: describe_cluster_snapshot(source_rds, name) or {"Status": "deleted"},
        lambda s: s.get("Status") == "available",
        lambda s: repr(s.get("Status")) if s.get("Status") in rds.FAILED_SNAPSHOT_STATES else None,
        f"DB cluster snapshot {name} in {source_region} (copy source)",
        timeout,
        poll,
        state=lambda s: str(s.get("Status")),
    )
    arn = snap["DBClusterSnapshotArn"]
    steps.append(f"source snapshot {arn} ({'encrypted' if snap.get('StorageEncrypted') else 'unencrypted'})")
    try:
        clients.rds(target_region).copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=arn,
            TargetDBClusterSnapshotIdentifier=copy_id,
            KmsKeyId=key_arn,
            # boto3 turns SourceRegion into the PreSignedUrl a cross-Region copy of an encrypted snapshot needs.
            SourceRegion=source_region,
            Tags=tags(source_snapshot=arn, option="snapshot-restore"),
        )
    except ClientError as exc:
        raise kms_errors.translate(
            exc,
            f"CopyDBClusterSnapshot of {name} into {target_region}",
            key_arn,
            target_region,
            clients.kms(target_region),
        ) from exc
    steps.append(f"CopyDBClusterSnapshot → {copy_id} in {target_region}")


def _availability_zones(cluster: dict[str, Any], region: str) -> list[str]:
    return sorted(z for z in cluster.get("AvailabilityZones", []) if z.startswith(region))


def ensure_instances(
    clients: Clients,
    region: str,
    cluster: dict[str, Any],
    settings: ClusterSettings,
    timeout: float,
    poll: float,
    steps: list[str],
) -> bool:
    """Create the writer and readers of `cluster` that do not exist yet (spread over its AZs); wait for all."""
    rds_client = clients.rds(region)
    cluster_id = cluster["DBClusterIdentifier"]
    zones = _availability_zones(cluster, region)
    created = False
    for n, inst_id in enumerate(instance_ids(cluster_id, settings.reader_count)):
        existing = rds.describe_instance(rds_client, inst_id)
        if existing is not None:
            if existing.get("DBClusterIdentifier") != cluster_id:
                raise DbshiftError(
                    f"DB instance {inst_id} in {region} exists but belongs to {existing.get('DBClusterIdentifier')!r}, "
                    f"not {cluster_id}: rename or delete it"
                )
            if existing.get("DBInstanceClass") != settings.instance_class:
                steps.append(f"{inst_id} is {existing.get('DBInstanceClass')}, not {settings.instance_class} (kept)")
            continue
        args: dict[str, Any] = {
            "DBInstanceIdentifier": inst_id,
            "DBClusterIdentifier": cluster_id,
            "Engine": cluster["Engine"],
            "DBInstanceClass": settings.instance_class,
            "PubliclyAccessible": False,
            "PromotionTier": 0 if n == 0 else 1,
            "Tags": tags(cluster=cluster_id),
        }
        if zones:
            args["AvailabilityZone"] = zones[n % len(zones)]
        try:
            rds_client.create_db_instance(**args)
        except ClientError as exc:
            key = cluster.get("KmsKeyId") or "(the cluster's key)"
            raise kms_errors.translate(exc, f"CreateDBInstance {inst_id}", key, region, clients.kms(region)) from exc
        steps.append(f"CreateDBInstance {inst_id} ({'writer' if n == 0 else 'reader'}, {settings.instance_class})")
        created = True
    for inst_id in instance_ids(cluster_id, settings.reader_count):
        rds.wait_instance(rds_client, inst_id, region, f"instance of {cluster_id}", timeout, poll)
    return created


def snapshot_restore(
    clients: Clients,
    source_region: str,
    target_region: str,
    kms_key_arn: str,
    cluster_id: str,
    settings: ClusterSettings,
    source_cluster_id: str | None = None,
    snapshot_id: str | None = None,
    timeout: float = 7200,
    poll: float = 30,
) -> AuroraResult:
    """Copy the newest (or the named) cluster snapshot into `target_region` re-encrypted with `kms_key_arn`,
    restore `cluster_id` from the copy, add the writer and `settings.reader_count` readers, wait for all.
    """
    rds._check_id(cluster_id, "target cluster id")
    if not settings.instance_class:
        raise ConfigError("snapshot_restore needs instance_class (the class of the writer and reader instances)")
    if settings.reader_count < 0:
        raise ConfigError(f"reader_count must be 0 or more, got {settings.reader_count}")
    if not (source_cluster_id or snapshot_id):
        raise ConfigError("snapshot_restore needs source_cluster_id (newest snapshot) or snapshot_id")
    kms_errors.require_key_in_region(kms_key_arn, target_region)  # before any call
    key_arn = rds.resolve_target_key(clients, kms_key_arn, target_region)
    rds_client = clients.rds(target_region)
    copy_id = copy_id_for(cluster_id)
    steps: list[str] = []

    cluster = describe_cluster(rds_client, cluster_id)
    changed = False
    if cluster is not None:
        marker = tag_value(_cluster_tags(rds_client, cluster), "copy")
        if marker != copy_id:
            raise DbshiftError(
                f"DB cluster {cluster_id} already exists in {target_region} but was not restored by dbshift (tag "
                f"dbshift:dr-copy is {marker!r}, not {copy_id!r}): choose another target_cluster_id, or delete it"
            )
        steps.append(f"DB cluster {cluster_id} found from an earlier run")
    else:
        if describe_cluster_snapshot(rds_client, copy_id) is None:
            _copy_snapshot(
                clients,
                source_region,
                target_region,
                key_arn,
                copy_id,
                source_cluster_id,
                snapshot_id,
                timeout,
                poll,
                steps,
            )
        else:
            steps.append(f"snapshot copy {copy_id} found from an earlier run")
        copy = _wait_copy(clients, copy_id, target_region, key_arn, timeout, poll)
        _verify_key(
            copy.get("KmsKeyId") if copy.get("StorageEncrypted") else None,
            key_arn,
            f"DB cluster snapshot {copy_id} in {target_region}",
        )
        steps.append(f"{copy_id} available, encrypted with {key_arn}")
        try:
            rds_client.restore_db_cluster_from_snapshot(
                DBClusterIdentifier=cluster_id,
                SnapshotIdentifier=copy_id,
                Engine=copy["Engine"],
                KmsKeyId=key_arn,
                Tags=tags(copy=copy_id, option="snapshot-restore"),
                **settings.restore_args(),
            )
        except ClientError as exc:
            raise kms_errors.translate(
                exc, f"RestoreDBClusterFromSnapshot of {copy_id}", key_arn, target_region, clients.kms(target_region)
            ) from exc
        steps.append(f"RestoreDBClusterFromSnapshot → {cluster_id}")
        changed = True

    cluster = wait_cluster(rds_client, cluster_id, target_region, "restore from snapshot copy", timeout, poll)
    _verify_key(
        cluster.get("KmsKeyId") if cluster.get("StorageEncrypted") else None,
        key_arn,
        f"DB cluster {cluster_id} in {target_region}",
    )
    changed = ensure_instances(clients, target_region, cluster, settings, timeout, poll, steps) or changed
    cluster = wait_cluster(rds_client, cluster_id, target_region, "instances added", timeout, poll)
    steps.append(f"{cluster_id} available with {len(cluster.get('DBClusterMembers', []))} instance(s)")
    copy = describe_cluster_snapshot(rds_client, copy_id) or {}
    source = tag_value(copy.get("TagList"), "source-snapshot") or f"{source_region}/{source_cluster_id or snapshot_id}"
    return _result("snapshot_restore", target_region, cluster, changed, source, snapshot_copy_id=copy_id, steps=steps)


# ---------------------------------------------------------------- security parity


def aurora_shortfalls(
    source: dict[str, Any], target: dict[str, Any], target_instances: list[dict[str, Any]]
) -> list[parity.Shortfall]:
    """Compare two DescribeDBClusters entries (and the target's instances).

    The target must be encrypted and every instance private whatever the source was; Multi-AZ, deletion
    protection and backup retention at least the source's. `source` may be {} (source Region unreadable).
    """
    out: list[parity.Shortfall] = []
    tid = target.get("DBClusterIdentifier", "target")
    if not target.get("StorageEncrypted"):
        out.append(parity.Shortfall("storage_encrypted", f"DB cluster {tid} is not encrypted at rest"))
    for inst in target_instances:
        # AWS always reports PubliclyAccessible; a missing value is not proof of a private instance.
        if inst.get("PubliclyAccessible") is not False:
            out.append(
                parity.Shortfall(
                    "publicly_accessible",
                    f"{inst.get('DBInstanceIdentifier')} PubliclyAccessible is {inst.get('PubliclyAccessible')!r}",
                )
            )
    if source.get("MultiAZ") and not target.get("MultiAZ"):
        out.append(parity.Shortfall("multi_az", f"source is Multi-AZ, DB cluster {tid} is not"))
    if source.get("DeletionProtection") and not target.get("DeletionProtection"):
        out.append(parity.Shortfall("deletion_protection", f"source has deletion protection, {tid} has not"))
    src_days, tgt_days = int(source.get("BackupRetentionPeriod") or 0), int(target.get("BackupRetentionPeriod") or 0)
    if tgt_days < src_days or tgt_days == 0:
        out.append(parity.Shortfall("backup_retention", f"{tid} keeps backups {tgt_days} days, source {src_days}"))
    return out
