"""Redshift DR operations (dbshift.dr.redshift, redshift_runbook) against the moto server: us-east-1 → us-west-2.

moto (with dbshift.estate.moto_patches_redshift_dr) copies snapshots across Regions, restores and relocates.
What moto cannot show is covered with botocore's Stubber (requests and responses checked against the model):
- a snapshot copy that stays "creating" or ends "failed" (moto's snapshots are "available" at once);
- a KMS failure of RestoreFromClusterSnapshot (moto never checks keys).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import pytest
from test_dr_rds_support import PartialStubber

from dbshift.aws.clients import AwsConfig
from dbshift.dr import Clients, redshift, tag_value
from dbshift.dr import redshift_runbook as runbook
from dbshift.dr.kms_errors import KmsProblem
from dbshift.dr.parity import ParityError
from dbshift.dr.waits import ResourceFailed, WaitTimeout
from dbshift.errors import ConfigError, DbshiftError

SOURCE, TARGET = "us-east-1", "us-west-2"
FAST = {"timeout": 5, "poll": 0.1}


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@pytest.fixture()
def clients(aws_endpoint_url: str) -> Clients:
    return Clients(AwsConfig(endpoint_url=aws_endpoint_url))


def key(clients: Clients, region: str) -> str:
    return clients.kms(region).create_key(Description="redshift dr")["KeyMetadata"]["Arn"]


def make_cluster(clients: Clients, encrypted: bool = True, node_type: str = "ra3.xlplus", **extra: Any) -> str:
    cluster_id = unique("rs")
    args: dict[str, Any] = {"Encrypted": True, "KmsKeyId": key(clients, SOURCE)} if encrypted else {}
    clients.get("redshift", SOURCE).create_cluster(
        ClusterIdentifier=cluster_id,
        NodeType=node_type,
        ClusterType="single-node",
        MasterUsername="admin",
        MasterUserPassword="A1" + secrets.token_hex(8),
        AutomatedSnapshotRetentionPeriod=7,
        PubliclyAccessible=False,
        **args,
        **extra,
    )
    return cluster_id


def params(cluster_id: str, endpoint: str, **over: Any) -> dict[str, Any]:
    p = {
        "actions": ["enable_copy", "snapshot", "restore"],
        "source_region": SOURCE,
        "source_cluster_id": cluster_id,
        "target_region": TARGET,
        "target_cluster_id": f"{cluster_id}-dr",
        "retention_days": 7,
        "manual_retention_days": -1,
        "snapshot_copy_grant_name": f"{cluster_id}-grant",
        "kms_key_arn": None,
        "snapshot_id": None,
        "restore_snapshot_id": None,
        "node_type": None,
        "number_of_nodes": None,
        "subnet_group": None,
        "security_group_ids": [],
        "availability_zone": None,
        "automated_snapshot_retention_days": 7,
        "availability_zone_relocation": False,
        "relocate_availability_zone": None,
        "parity_waive": [],
        "api_timeout": 3.0,
        "wait_timeout": 5,
        "poll_interval": 0.1,
        "endpoint_url": endpoint,
    }
    p.update(over)
    return p


# ---------------------------------------------------------------- enable_copy


def test_enable_copy_creates_the_grant_and_is_idempotent(clients):
    cluster_id, target_key = make_cluster(clients), key(clients, TARGET)
    grant = f"{cluster_id}-grant"
    args = dict(grant_name=grant, kms_key_arn=target_key, retention_days=5, manual_retention_days=30)

    planned = redshift.enable_snapshot_copy(clients, SOURCE, cluster_id, TARGET, check_mode=True, **args)
    assert planned.changed and redshift.describe_grant(clients.get("redshift", TARGET), grant) is None
    assert planned.copy_status is None

    done = redshift.enable_snapshot_copy(clients, SOURCE, cluster_id, TARGET, **args)
    assert done.changed and done.copy_status == {
        "DestinationRegion": TARGET,
        "RetentionPeriod": 5,
        "ManualSnapshotRetentionPeriod": 30,
        "SnapshotCopyGrantName": grant,
    }
    assert redshift.describe_grant(clients.get("redshift", TARGET), grant)["KmsKeyId"] == target_key

    again = redshift.enable_snapshot_copy(clients, SOURCE, cluster_id, TARGET, **args)
    assert not again.changed and "already enabled as wanted" in again.steps[-1]

    # A retention change is a ModifySnapshotCopyRetentionPeriod, for automated and manual copies alone.
    changed = redshift.enable_snapshot_copy(
        clients, SOURCE, cluster_id, TARGET, **{**args, "manual_retention_days": 60}
    )
    assert changed.changed and changed.copy_status["ManualSnapshotRetentionPeriod"] == 60
    assert changed.copy_status["RetentionPeriod"] == 5
    assert "ManualSnapshotRetentionPeriod 30 → 60" in changed.steps


def test_enable_copy_refusals_create_nothing(clients):
    cluster_id, grant = make_cluster(clients), unique("grant")
    west = clients.get("redshift", TARGET)
    wrong = key(clients, SOURCE)
    with pytest.raises(ConfigError, match=f"is a key in {SOURCE}, but the copy is made in {TARGET}"):
        redshift.enable_snapshot_copy(clients, SOURCE, cluster_id, TARGET, grant_name=grant, kms_key_arn=wrong)
    with pytest.raises(ConfigError, match="is KMS-encrypted: cross-Region copy needs a snapshot copy grant"):
        redshift.enable_snapshot_copy(clients, SOURCE, cluster_id, TARGET)
    with pytest.raises(ConfigError, match=f"snapshot copy grant {grant} does not exist in {TARGET}"):
        redshift.enable_snapshot_copy(clients, SOURCE, cluster_id, TARGET, grant_name=grant)
    missing = unique("nocluster")
    with pytest.raises(DbshiftError, match=f"Redshift cluster {missing} not found in {SOURCE}"):
        redshift.enable_snapshot_copy(
            clients, SOURCE, missing, TARGET, grant_name=grant, kms_key_arn=key(clients, TARGET)
        )
    assert redshift.describe_grant(west, grant) is None
    assert (
        redshift.describe_cluster(clients.get("redshift", SOURCE), cluster_id).get("ClusterSnapshotCopyStatus") is None
    )

    # A grant cannot be changed: one with another key is refused, not replaced.
    west.create_snapshot_copy_grant(SnapshotCopyGrantName=grant, KmsKeyId=key(clients, TARGET))
    with pytest.raises(ConfigError, match=f"snapshot copy grant {grant} in {TARGET} uses KMS key"):
        redshift.enable_snapshot_copy(
            clients, SOURCE, cluster_id, TARGET, grant_name=grant, kms_key_arn=key(clients, TARGET)
        )

    # Copy to another Region than the one configured is refused with the fix.
    plain = make_cluster(clients, encrypted=False)
    redshift.enable_snapshot_copy(clients, SOURCE, plain, TARGET)
    with pytest.raises(DbshiftError, match="disable it first"):
        redshift.enable_snapshot_copy(clients, SOURCE, plain, "eu-west-1")


# ---------------------------------------------------------------- snapshot


def test_snapshot_is_tagged_copied_and_taken_once(clients):
    cluster_id, target_key = make_cluster(clients), key(clients, TARGET)
    redshift.enable_snapshot_copy(clients, SOURCE, cluster_id, TARGET, grant_name=unique("g"), kms_key_arn=target_key)
    planned = redshift.take_snapshot(clients, SOURCE, cluster_id, check_mode=True, **FAST)
    snap_id = redshift.default_snapshot_id(cluster_id)
    assert planned.changed and redshift.describe_snapshot(clients.get("redshift", SOURCE), snap_id) is None

    made = redshift.take_snapshot(clients, SOURCE, cluster_id, **FAST)
    assert made.changed and made.snapshot_id == snap_id
    snap = redshift.describe_snapshot(clients.get("redshift", SOURCE), snap_id)
    assert tag_value(snap["Tags"], "purpose") == "pre-cutover"
    assert tag_value(snap["Tags"], "source-cluster") == f"{SOURCE}/{cluster_id}"
    copy = redshift.describe_snapshot(clients.get("redshift", TARGET), snap_id)
    assert copy["KmsKeyId"] == target_key and copy["SourceRegion"] == SOURCE
    assert f"copied to {TARGET}: {snap_id} available" in made.steps

    again = redshift.take_snapshot(clients, SOURCE, cluster_id, **FAST)
    assert not again.changed
    snaps = clients.get("redshift", SOURCE).describe_cluster_snapshots(
        ClusterIdentifier=cluster_id, SnapshotType="manual"
    )
    assert [s["SnapshotIdentifier"] for s in snaps["Snapshots"]] == [snap_id]


def test_snapshot_copy_that_stays_creating_or_fails_stops_the_run(clients):
    cluster_id = make_cluster(clients)
    redshift.enable_snapshot_copy(
        clients, SOURCE, cluster_id, TARGET, grant_name=unique("g"), kms_key_arn=key(clients, TARGET)
    )
    snap_id = redshift.default_snapshot_id(cluster_id)
    west = clients.get("redshift", TARGET)

    def copy(status: str) -> dict[str, Any]:
        return {"Snapshots": [{"SnapshotIdentifier": snap_id, "ClusterIdentifier": cluster_id, "Status": status}]}

    with PartialStubber(west, {"DescribeClusterSnapshots"}) as stub:
        for _ in range(50):
            stub.add_response("describe_cluster_snapshots", copy("creating"), {"SnapshotIdentifier": snap_id})
        with pytest.raises(WaitTimeout) as err:
            redshift.take_snapshot(clients, SOURCE, cluster_id, timeout=0.3, poll=0.1)
    assert f"snapshot {snap_id} in {TARGET} (cross-Region copy of {cluster_id}) is still 'creating'" in str(err.value)

    with PartialStubber(west, {"DescribeClusterSnapshots"}) as stub:
        # The rerun finds its snapshot, looks for the copy, then waits for it.
        for _ in range(2):
            stub.add_response("describe_cluster_snapshots", copy("failed"), {"SnapshotIdentifier": snap_id})
        with pytest.raises(ResourceFailed) as failed:
            redshift.take_snapshot(clients, SOURCE, cluster_id, **FAST)
    text = str(failed.value)
    assert "'failed'" in text and "snapshot copy grant" in text and f"destination Region {TARGET}" in text


# ---------------------------------------------------------------- restore


def test_restore_from_the_newest_copy_only_calls_the_target_region(aws_endpoint_url, clients):
    cluster_id, target_key = make_cluster(clients), key(clients, TARGET)
    redshift.enable_snapshot_copy(clients, SOURCE, cluster_id, TARGET, grant_name=unique("g"), kms_key_arn=target_key)
    east = clients.get("redshift", SOURCE)
    east.create_cluster_snapshot(ClusterIdentifier=cluster_id, SnapshotIdentifier=f"{cluster_id}-old")
    east.create_cluster_snapshot(ClusterIdentifier=cluster_id, SnapshotIdentifier=f"{cluster_id}-new")

    # The source Region does not answer: nothing may call it.
    impaired = Clients(AwsConfig(endpoint_url=aws_endpoint_url), endpoints={SOURCE: "http://127.0.0.1:9"})
    settings = redshift.RestoreSettings(node_type="ra3.xlplus", automated_snapshot_retention_days=7)
    new_id = f"{cluster_id}-dr"
    planned = redshift.restore(impaired, SOURCE, cluster_id, TARGET, new_id, settings, check_mode=True, **FAST)
    assert planned.changed and planned.status == "would_restore"
    assert redshift.describe_cluster(clients.get("redshift", TARGET), new_id) is None

    done = redshift.restore(impaired, SOURCE, cluster_id, TARGET, new_id, settings, **FAST)
    assert done.changed and done.region == TARGET and done.status == "available"
    newest = max(
        redshift.copied_snapshots(clients.get("redshift", TARGET), SOURCE, cluster_id),
        key=lambda s: s.get("SnapshotCreateTime") or datetime.min.replace(tzinfo=UTC),
    )
    assert done.snapshot_id == newest["SnapshotIdentifier"] == f"{cluster_id}-new"
    cluster = redshift.describe_cluster(clients.get("redshift", TARGET), new_id)
    assert cluster["Encrypted"] is True and cluster["KmsKeyId"] == target_key
    assert cluster["PubliclyAccessible"] is False and cluster["AvailabilityZone"].startswith(TARGET)
    assert tag_value(cluster["Tags"], "restored-from") == f"{SOURCE}/{cluster_id}"
    assert ("redshift", SOURCE) not in impaired._made

    again = redshift.restore(impaired, SOURCE, cluster_id, TARGET, new_id, settings, **FAST)
    assert not again.changed
    clusters = clients.get("redshift", TARGET).describe_clusters()["Clusters"]
    assert [c["ClusterIdentifier"] for c in clusters].count(new_id) == 1


def test_restore_refusals_create_nothing(clients):
    west = clients.get("redshift", TARGET)
    cluster_id = make_cluster(clients, encrypted=False)
    settings = redshift.RestoreSettings()
    new_id = f"{cluster_id}-dr"
    with pytest.raises(DbshiftError, match=f"no available snapshot of Redshift cluster {cluster_id} copied from"):
        redshift.restore(clients, SOURCE, cluster_id, TARGET, new_id, settings, **FAST)
    with pytest.raises(DbshiftError, match=f"snapshot {cluster_id}-nope not found in {TARGET}"):
        redshift.restore(
            clients, SOURCE, cluster_id, TARGET, new_id, settings, snapshot_id=f"{cluster_id}-nope", **FAST
        )
    with pytest.raises(ConfigError, match=f"is a key in {SOURCE}"):
        redshift.restore(
            clients, SOURCE, cluster_id, TARGET, new_id, settings, kms_key_arn=key(clients, SOURCE), **FAST
        )

    redshift.enable_snapshot_copy(clients, SOURCE, cluster_id, TARGET)
    redshift.take_snapshot(clients, SOURCE, cluster_id, **FAST)
    with pytest.raises(ConfigError, match="is not encrypted: set kms_key_arn"):
        redshift.restore(clients, SOURCE, cluster_id, TARGET, new_id, settings, **FAST)
    assert redshift.describe_cluster(west, new_id) is None

    # An unencrypted copy restored with a target key: encrypted with that key.
    target_key = key(clients, TARGET)
    done = redshift.restore(clients, SOURCE, cluster_id, TARGET, new_id, settings, kms_key_arn=target_key, **FAST)
    assert (done.encrypted, done.kms_key_id) == (True, target_key)

    # A cluster of that name not made by dbshift from this source is not taken over.
    stranger = make_cluster(clients, encrypted=False)
    with pytest.raises(DbshiftError, match=f"already exists in {TARGET} but was not restored by dbshift"):
        redshift.restore(clients, SOURCE, stranger, TARGET, new_id, settings, kms_key_arn=target_key, **FAST)


def test_kms_failure_of_the_restore_is_translated(clients):
    cluster_id, target_key = make_cluster(clients), key(clients, TARGET)
    redshift.enable_snapshot_copy(clients, SOURCE, cluster_id, TARGET, grant_name=unique("g"), kms_key_arn=target_key)
    redshift.take_snapshot(clients, SOURCE, cluster_id, **FAST)
    west = clients.get("redshift", TARGET)
    with PartialStubber(west, {"RestoreFromClusterSnapshot"}) as stub:
        stub.add_client_error(
            "restore_from_cluster_snapshot",
            "InvalidClusterSnapshotStateFault",
            "The KMS key is not authorized for this operation",
        )
        with pytest.raises(KmsProblem) as err:
            redshift.restore(
                clients, SOURCE, cluster_id, TARGET, f"{cluster_id}-dr", redshift.RestoreSettings(), **FAST
            )
    text = str(err.value)
    assert "RestoreFromClusterSnapshot" in text and "1. the key is in the destination Region" in text
    assert "kms:CreateGrant" in text


# ---------------------------------------------------------------- relocate


def test_relocate_moves_the_cluster_within_its_region_once(clients):
    cluster_id = make_cluster(clients)
    east = clients.get("redshift", SOURCE)
    planned = redshift.relocate(clients, SOURCE, cluster_id, f"{SOURCE}c", check_mode=True, **FAST)
    assert planned.changed and redshift.describe_cluster(east, cluster_id)["AvailabilityZone"] != f"{SOURCE}c"
    done = redshift.relocate(clients, SOURCE, cluster_id, f"{SOURCE}c", **FAST)
    assert done.changed and done.availability_zone == f"{SOURCE}c"
    assert redshift.describe_cluster(east, cluster_id)["AvailabilityZoneRelocationStatus"] == "enabled"
    assert not redshift.relocate(clients, SOURCE, cluster_id, f"{SOURCE}c", **FAST).changed

    with pytest.raises(ConfigError, match=f"is not an Availability Zone of {SOURCE}"):
        redshift.relocate(clients, SOURCE, cluster_id, f"{TARGET}a", **FAST)
    old = make_cluster(clients, node_type="dc2.large")
    with pytest.raises(ConfigError, match="AZ relocation needs an RA3 node type"):
        redshift.relocate(clients, SOURCE, old, f"{SOURCE}c", **FAST)
    assert redshift.describe_cluster(east, old)["AvailabilityZoneRelocationStatus"] == "disabled"


# ---------------------------------------------------------------- runbook and parity


def test_shortfalls_name_each_weaker_setting():
    source = {
        "Encrypted": True,
        "PubliclyAccessible": False,
        "MultiAZ": "enabled",
        "AutomatedSnapshotRetentionPeriod": 7,
    }
    target = {
        "ClusterIdentifier": "t",
        "Encrypted": False,
        "PubliclyAccessible": True,
        "MultiAZ": "disabled",
        "AutomatedSnapshotRetentionPeriod": 1,
    }
    names = {s.name for s in redshift.redshift_shortfalls(source, target)}
    assert names == {"storage_encrypted", "publicly_accessible", "multi_az", "backup_retention"}
    same = {**source, "ClusterIdentifier": "t"}
    assert redshift.redshift_shortfalls(source, same) == []


def test_runbook_check_run_check_run_then_parity(aws_endpoint_url, clients):
    cluster_id = make_cluster(clients)
    p = params(cluster_id, aws_endpoint_url, kms_key_arn=key(clients, TARGET))
    first = runbook.run_runbook(p, check_mode=True)
    assert first["changed"] and first["status"] == "would_restore"
    assert redshift.describe_cluster(clients.get("redshift", TARGET), p["target_cluster_id"]) is None

    done = runbook.run_runbook(p, check_mode=False)
    assert done["changed"] and done["actions"] == ["enable_copy", "snapshot", "restore"]
    assert (
        done["recovered"]
        == {
            "service": "redshift",
            "region": TARGET,
            "resource_id": p["target_cluster_id"],
            "endpoint": done["endpoint"],
            "port": 5439,
            "engine": "redshift",
        }
        and done["endpoint"]
    )
    for check_mode in (True, False):
        assert runbook.run_runbook(p, check_mode)["changed"] is False

    clients.get("redshift", TARGET).modify_cluster(ClusterIdentifier=p["target_cluster_id"], PubliclyAccessible=True)
    with pytest.raises(ParityError, match=rf"publicly_accessible: {p['target_cluster_id']} PubliclyAccessible is True"):
        runbook.run_runbook(p, check_mode=False)
    waived = runbook.run_runbook({**p, "parity_waive": ["publicly_accessible"]}, check_mode=False)
    assert waived["parity_waived"] and not waived["changed"]


def test_runbook_refuses_a_wrong_region_key_before_any_action(aws_endpoint_url, clients):
    cluster_id = make_cluster(clients)
    p = params(cluster_id, aws_endpoint_url, kms_key_arn=key(clients, SOURCE))
    with pytest.raises(ConfigError, match=f"is a key in {SOURCE}"):
        runbook.run_runbook(p, check_mode=False)
    assert redshift.describe_grant(clients.get("redshift", TARGET), p["snapshot_copy_grant_name"]) is None
    cluster = redshift.describe_cluster(clients.get("redshift", SOURCE), cluster_id)
    assert cluster.get("ClusterSnapshotCopyStatus") is None
    with pytest.raises(ConfigError, match="action restore needs target_cluster_id"):
        runbook.run_runbook({**p, "kms_key_arn": None, "target_cluster_id": None}, check_mode=False)
