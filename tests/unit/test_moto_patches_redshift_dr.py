"""Redshift DR patches (dbshift.estate.moto_patches_redshift_dr), over HTTP against a moto server from aws_server.py.

Each test asserts Redshift behaviour a patch supplies; each fails against unpatched moto 5.2.5 (no KmsKeyId on
grants or snapshots, no copy in the destination Region, "Clusters" from ModifySnapshotCopyRetentionPeriod, restore
ignoring Encrypted/KmsKeyId and keeping the source Region's zone, ModifyCluster ignoring AvailabilityZone).
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dbshift.aws.clients import AwsConfig, client

SOURCE, DEST = "us-east-1", "us-west-2"


def _client(endpoint: str, service: str, region: str) -> Any:
    return client(service, AwsConfig(region=region, endpoint_url=endpoint))


def _key(endpoint: str, region: str) -> str:
    return _client(endpoint, "kms", region).create_key(Description="redshift dr patch test")["KeyMetadata"]["Arn"]


def _cluster(redshift: Any, encrypted_with: str | None = None) -> str:
    identifier = f"rs-dr-{secrets.token_hex(3)}"
    extra: dict[str, Any] = {"Encrypted": True, "KmsKeyId": encrypted_with} if encrypted_with else {}
    redshift.create_cluster(
        ClusterIdentifier=identifier,
        NodeType="ra3.xlplus",
        ClusterType="single-node",
        MasterUsername="admin",
        MasterUserPassword="A1" + secrets.token_hex(8),
        **extra,
    )
    return identifier


def _copies(redshift_dest: Any, cluster: str) -> list[dict[str, Any]]:
    snaps = redshift_dest.describe_cluster_snapshots()["Snapshots"]
    return [s for s in snaps if s["ClusterIdentifier"] == cluster]


def _encrypted_with_copy(endpoint: str) -> tuple[Any, Any, str, str, str]:
    """An encrypted cluster in SOURCE copying to DEST through a grant for a DEST key."""
    east, west = _client(endpoint, "redshift", SOURCE), _client(endpoint, "redshift", DEST)
    source_key, dest_key = _key(endpoint, SOURCE), _key(endpoint, DEST)
    cluster = _cluster(east, source_key)
    grant = f"grant-{cluster}"
    west.create_snapshot_copy_grant(SnapshotCopyGrantName=grant, KmsKeyId=dest_key)
    east.enable_snapshot_copy(
        ClusterIdentifier=cluster,
        DestinationRegion=DEST,
        SnapshotCopyGrantName=grant,
        RetentionPeriod=3,
        ManualSnapshotRetentionPeriod=30,
    )
    return east, west, cluster, source_key, dest_key


def test_snapshot_copy_grant_describes_its_key_and_tags(aws_endpoint_url: str) -> None:
    west = _client(aws_endpoint_url, "redshift", DEST)
    key = _key(aws_endpoint_url, DEST)
    name = f"grant-{secrets.token_hex(3)}"
    west.create_snapshot_copy_grant(SnapshotCopyGrantName=name, KmsKeyId=key, Tags=[{"Key": "team", "Value": "dr"}])
    grant = west.describe_snapshot_copy_grants(SnapshotCopyGrantName=name)["SnapshotCopyGrants"][0]
    assert grant["KmsKeyId"] == key
    assert grant["Tags"] == [{"Key": "team", "Value": "dr"}]


def test_enable_snapshot_copy_keeps_both_retentions_and_modify_changes_one(aws_endpoint_url: str) -> None:
    east, _, cluster, _, _ = _encrypted_with_copy(aws_endpoint_url)
    status = east.describe_clusters(ClusterIdentifier=cluster)["Clusters"][0]["ClusterSnapshotCopyStatus"]
    assert (status["RetentionPeriod"], status["ManualSnapshotRetentionPeriod"]) == (3, 30)

    changed = east.modify_snapshot_copy_retention_period(ClusterIdentifier=cluster, RetentionPeriod=10, Manual=True)
    assert changed["Cluster"]["ClusterSnapshotCopyStatus"]["ManualSnapshotRetentionPeriod"] == 10
    assert changed["Cluster"]["ClusterSnapshotCopyStatus"]["RetentionPeriod"] == 3
    changed = east.modify_snapshot_copy_retention_period(ClusterIdentifier=cluster, RetentionPeriod=5)
    assert changed["Cluster"]["ClusterSnapshotCopyStatus"]["RetentionPeriod"] == 5


def test_a_grant_that_is_not_in_the_destination_region_is_refused(aws_endpoint_url: str) -> None:
    east = _client(aws_endpoint_url, "redshift", SOURCE)
    cluster = _cluster(east, _key(aws_endpoint_url, SOURCE))
    grant = f"grant-{cluster}"
    east.create_snapshot_copy_grant(SnapshotCopyGrantName=grant, KmsKeyId=_key(aws_endpoint_url, SOURCE))
    with pytest.raises(ClientError) as err:
        east.enable_snapshot_copy(ClusterIdentifier=cluster, DestinationRegion=DEST, SnapshotCopyGrantName=grant)
    assert err.value.response["Error"]["Code"] == "SnapshotCopyGrantNotFoundFault"
    assert "ClusterSnapshotCopyStatus" not in east.describe_clusters(ClusterIdentifier=cluster)["Clusters"][0]


def test_a_new_snapshot_is_copied_to_the_destination_encrypted_with_the_grant_key(aws_endpoint_url: str) -> None:
    east, west, cluster, source_key, dest_key = _encrypted_with_copy(aws_endpoint_url)
    assert _copies(west, cluster) == []  # the automated snapshot at creation predates copy

    made = east.create_cluster_snapshot(ClusterIdentifier=cluster, SnapshotIdentifier=f"{cluster}-m1")["Snapshot"]
    assert (made["Encrypted"], made["KmsKeyId"], made.get("SourceRegion")) == (True, source_key, None)
    copies = _copies(west, cluster)
    assert [c["SnapshotIdentifier"] for c in copies] == [f"{cluster}-m1"]
    copy = copies[0]
    assert copy["SnapshotType"] == "manual" and copy["Status"] == "available"
    assert copy["SourceRegion"] == SOURCE and copy["Encrypted"] is True and copy["KmsKeyId"] == dest_key
    assert copy["ManualSnapshotRetentionPeriod"] == 30
    assert copy["SnapshotArn"].split(":")[3] == DEST

    # An unencrypted cluster's copies stay unencrypted (no grant needed); a snapshot taken before copy was
    # enabled is not copied.
    plain = _cluster(east)
    east.create_cluster_snapshot(ClusterIdentifier=plain, SnapshotIdentifier=f"{plain}-before")
    east.enable_snapshot_copy(ClusterIdentifier=plain, DestinationRegion=DEST)
    east.create_cluster_snapshot(ClusterIdentifier=plain, SnapshotIdentifier=f"{plain}-m1")
    (plain_copy,) = _copies(west, plain)
    assert plain_copy["SnapshotIdentifier"] == f"{plain}-m1"
    assert plain_copy["Encrypted"] is False and not plain_copy.get("KmsKeyId") and plain_copy["SourceRegion"] == SOURCE


def test_restore_from_a_copy_uses_its_key_or_the_given_one_and_a_zone_of_its_region(aws_endpoint_url: str) -> None:
    east, west, cluster, _, dest_key = _encrypted_with_copy(aws_endpoint_url)
    east.create_cluster_snapshot(ClusterIdentifier=cluster, SnapshotIdentifier=f"{cluster}-m1")
    restored = west.restore_from_cluster_snapshot(
        ClusterIdentifier=f"{cluster}-dr", SnapshotIdentifier=f"{cluster}-m1", AvailabilityZoneRelocation=True
    )["Cluster"]
    assert restored["Encrypted"] is True and restored["KmsKeyId"] == dest_key
    assert restored["AvailabilityZone"].startswith(DEST)
    assert restored["AvailabilityZoneRelocationStatus"] == "enabled"

    plain = _cluster(east)
    east.enable_snapshot_copy(ClusterIdentifier=plain, DestinationRegion=DEST)
    east.create_cluster_snapshot(ClusterIdentifier=plain, SnapshotIdentifier=f"{plain}-m1")
    other_key = _key(aws_endpoint_url, DEST)
    encrypted = west.restore_from_cluster_snapshot(
        ClusterIdentifier=f"{plain}-dr", SnapshotIdentifier=f"{plain}-m1", Encrypted=True, KmsKeyId=other_key
    )["Cluster"]
    assert encrypted["Encrypted"] is True and encrypted["KmsKeyId"] == other_key
    described = west.describe_clusters(ClusterIdentifier=f"{plain}-dr")["Clusters"][0]
    assert (described["Encrypted"], described["KmsKeyId"]) == (True, other_key)


def test_modify_cluster_availability_zone_relocates_the_cluster(aws_endpoint_url: str) -> None:
    east = _client(aws_endpoint_url, "redshift", SOURCE)
    cluster = _cluster(east)
    east.modify_cluster(ClusterIdentifier=cluster, AvailabilityZoneRelocation=True)
    moved = east.modify_cluster(ClusterIdentifier=cluster, AvailabilityZone=f"{SOURCE}c")["Cluster"]
    assert moved["AvailabilityZone"] == f"{SOURCE}c"
    described = east.describe_clusters(ClusterIdentifier=cluster)["Clusters"][0]
    assert described["AvailabilityZone"] == f"{SOURCE}c" and described["AvailabilityZoneRelocationStatus"] == "enabled"


def test_applying_twice_changes_nothing() -> None:
    from moto.redshift.models import RedshiftBackend
    from moto.redshift.responses import RedshiftResponse

    from dbshift.estate import moto_patches_redshift_dr as patches

    patches.apply()
    before = (RedshiftBackend.create_cluster_snapshot, RedshiftResponse.modify_cluster)
    patches.apply()
    assert (RedshiftBackend.create_cluster_snapshot, RedshiftResponse.modify_cluster) == before
