"""Redshift patches in dbshift.estate.moto_patches, checked over HTTP against a moto server started by aws_server.py.

The first two tests assert the Redshift behaviour a patch restores (each fails against unpatched moto 5.2.5);
the last pins snapshot copy behaviour moto 5.2.5 already gets right, so no patch.
"""

from __future__ import annotations

import secrets
from typing import Any

from dbshift.aws.clients import AwsConfig, client

REGION = "us-east-1"


def _redshift(endpoint: str, region: str = REGION) -> Any:
    return client("redshift", AwsConfig(region=region, endpoint_url=endpoint))


def _create(redshift: Any, identifier: str, **extra: Any) -> dict[str, Any]:
    return redshift.create_cluster(
        ClusterIdentifier=identifier,
        NodeType="ra3.xlplus",
        ClusterType="single-node",
        MasterUsername="admin",
        MasterUserPassword="A1" + secrets.token_hex(8),
        Encrypted=True,
        **extra,
    )["Cluster"]


def _describe(redshift: Any, identifier: str) -> dict[str, Any]:
    return redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"][0]


def test_redshift_cluster_availability_status_follows_cluster_status(aws_endpoint_url: str) -> None:
    redshift = _redshift(aws_endpoint_url)
    identifier = f"rs-avail-{secrets.token_hex(3)}"

    created = _create(redshift, identifier)
    assert (created["ClusterStatus"], created["ClusterAvailabilityStatus"]) == ("creating", "Modifying")
    cluster = _describe(redshift, identifier)
    assert (cluster["ClusterStatus"], cluster["ClusterAvailabilityStatus"]) == ("available", "Available")

    redshift.pause_cluster(ClusterIdentifier=identifier)
    cluster = _describe(redshift, identifier)
    assert (cluster["ClusterStatus"], cluster["ClusterAvailabilityStatus"]) == ("paused", "Unavailable")
    redshift.resume_cluster(ClusterIdentifier=identifier)
    assert _describe(redshift, identifier)["ClusterAvailabilityStatus"] == "Available"


def test_redshift_cluster_describes_the_settings_it_was_created_with(aws_endpoint_url: str) -> None:
    redshift = _redshift(aws_endpoint_url)
    suffix = secrets.token_hex(3)

    _create(redshift, f"rs-defaults-{suffix}", PreferredMaintenanceWindow="Sun:05:00-Sun:05:30")
    defaults = _describe(redshift, f"rs-defaults-{suffix}")
    assert defaults["AvailabilityZoneRelocationStatus"] == "disabled"
    assert defaults["MultiAZ"] == "disabled"
    assert defaults["ManualSnapshotRetentionPeriod"] == -1
    assert defaults["MaintenanceTrackName"] == "current"
    assert defaults["PreferredMaintenanceWindow"] == "sun:05:00-sun:05:30"

    _create(
        redshift,
        f"rs-asked-{suffix}",
        AvailabilityZoneRelocation=True,
        MultiAZ=True,
        ManualSnapshotRetentionPeriod=7,
        MaintenanceTrackName="trailing",
    )
    asked = _describe(redshift, f"rs-asked-{suffix}")
    assert (asked["AvailabilityZoneRelocationStatus"], asked["MultiAZ"]) == ("enabled", "enabled")
    assert (asked["ManualSnapshotRetentionPeriod"], asked["MaintenanceTrackName"]) == (7, "trailing")

    redshift.modify_cluster(ClusterIdentifier=f"rs-asked-{suffix}", AvailabilityZoneRelocation=False)
    assert _describe(redshift, f"rs-asked-{suffix}")["AvailabilityZoneRelocationStatus"] == "disabled"


def test_redshift_snapshot_copy_grant_and_cross_region_copy(aws_endpoint_url: str) -> None:
    # Not a gap in moto 5.2.5: pinned so an upgrade that breaks it is noticed.
    redshift = _redshift(aws_endpoint_url)
    suffix = secrets.token_hex(3)
    identifier, grant = f"rs-copy-{suffix}", f"grant-{suffix}"
    _create(redshift, identifier)

    # The grant lives in the destination Region, with that Region's key.
    west = _redshift(aws_endpoint_url, "us-west-2")
    west.create_snapshot_copy_grant(SnapshotCopyGrantName=grant)
    listed = west.describe_snapshot_copy_grants(SnapshotCopyGrantName=grant)["SnapshotCopyGrants"]
    assert [g["SnapshotCopyGrantName"] for g in listed] == [grant]

    redshift.enable_snapshot_copy(
        ClusterIdentifier=identifier, DestinationRegion="us-west-2", RetentionPeriod=7, SnapshotCopyGrantName=grant
    )
    status = _describe(redshift, identifier)["ClusterSnapshotCopyStatus"]
    assert (status["DestinationRegion"], status["RetentionPeriod"], status["SnapshotCopyGrantName"]) == (
        "us-west-2",
        7,
        grant,
    )
    redshift.modify_snapshot_copy_retention_period(ClusterIdentifier=identifier, RetentionPeriod=3)
    assert _describe(redshift, identifier)["ClusterSnapshotCopyStatus"]["RetentionPeriod"] == 3
    redshift.disable_snapshot_copy(ClusterIdentifier=identifier)
    assert "ClusterSnapshotCopyStatus" not in _describe(redshift, identifier)
