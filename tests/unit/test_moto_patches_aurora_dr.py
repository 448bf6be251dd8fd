"""Aurora global database patches (dbshift.estate.moto_patches_aurora_dr), over HTTP against a moto server started by
aws_server.py. Each test fails against unpatched moto 5.2.5: the source of CreateGlobalCluster is no writer there,
FailoverGlobalCluster / SwitchoverGlobalCluster answer 500, and DescribeGlobalClusters ignores the identifier."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dbshift.aws.clients import AwsConfig, client

PRIMARY, SECONDARY = "us-east-1", "us-west-2"


def _rds(endpoint: str, region: str) -> Any:
    return client("rds", AwsConfig(region=region, endpoint_url=endpoint))


def _global_database(endpoint: str, encrypted: bool = True) -> tuple[str, str, str]:
    """A global cluster: primary in us-east-1, secondary in us-west-2; (global id, primary ARN, secondary ARN)."""
    east, west = _rds(endpoint, PRIMARY), _rds(endpoint, SECONDARY)
    tag = uuid.uuid4().hex[:8]
    gid, primary, secondary = f"glob-{tag}", f"prim-{tag}", f"sec-{tag}"
    p_arn = east.create_db_cluster(
        DBClusterIdentifier=primary,
        Engine="aurora-postgresql",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-secret-1",
        StorageEncrypted=encrypted,
    )["DBCluster"]["DBClusterArn"]
    east.create_global_cluster(GlobalClusterIdentifier=gid, SourceDBClusterIdentifier=p_arn)
    s_arn = west.create_db_cluster(
        DBClusterIdentifier=secondary, Engine="aurora-postgresql", GlobalClusterIdentifier=gid
    )["DBCluster"]["DBClusterArn"]
    return gid, p_arn, s_arn


def _members(endpoint: str, gid: str, region: str = SECONDARY) -> dict[str, bool]:
    found = _rds(endpoint, region).describe_global_clusters(GlobalClusterIdentifier=gid)["GlobalClusters"]
    (glob,) = [g for g in found if g["GlobalClusterIdentifier"] == gid]
    assert glob["Status"] == "available"
    return {m["DBClusterArn"]: m["IsWriter"] for m in glob["GlobalClusterMembers"]}


def test_the_source_of_create_global_cluster_is_its_primary(aws_endpoint_url: str) -> None:
    gid, p_arn, s_arn = _global_database(aws_endpoint_url)
    assert _members(aws_endpoint_url, gid) == {p_arn: True, s_arn: False}
    primary = _rds(aws_endpoint_url, PRIMARY).describe_db_clusters(DBClusterIdentifier=p_arn.split(":")[-1])
    assert primary["DBClusters"][0]["GlobalClusterIdentifier"] == gid
    glob = _rds(aws_endpoint_url, PRIMARY).describe_global_clusters(GlobalClusterIdentifier=gid)["GlobalClusters"]
    assert [g["StorageEncrypted"] for g in glob if g["GlobalClusterIdentifier"] == gid] == [True]


def test_failover_with_data_loss_makes_the_secondary_the_writer(aws_endpoint_url: str) -> None:
    gid, p_arn, s_arn = _global_database(aws_endpoint_url)
    west = _rds(aws_endpoint_url, SECONDARY)
    answer = west.failover_global_cluster(
        GlobalClusterIdentifier=gid, TargetDbClusterIdentifier=s_arn, AllowDataLoss=True
    )
    glob = answer["GlobalCluster"]
    assert glob["Status"] == "failing-over"
    assert glob["FailoverState"] == {
        "Status": "failing-over",
        "FromDbClusterArn": p_arn,
        "ToDbClusterArn": s_arn,
        "IsDataLossAllowed": True,
    }
    # Done: the secondary writes; the old primary stays in the topology as a secondary (its Region is back).
    assert _members(aws_endpoint_url, gid) == {p_arn: False, s_arn: True}


def test_switchover_and_switch_back(aws_endpoint_url: str) -> None:
    gid, p_arn, s_arn = _global_database(aws_endpoint_url, encrypted=False)
    west, east = _rds(aws_endpoint_url, SECONDARY), _rds(aws_endpoint_url, PRIMARY)
    glob = west.switchover_global_cluster(GlobalClusterIdentifier=gid, TargetDbClusterIdentifier=s_arn)["GlobalCluster"]
    assert glob["Status"] == "switching-over" and glob["FailoverState"]["IsDataLossAllowed"] is False
    assert _members(aws_endpoint_url, gid) == {p_arn: False, s_arn: True}
    # FailoverGlobalCluster without AllowDataLoss is a switchover too ("fall back to the original primary").
    glob = east.failover_global_cluster(GlobalClusterIdentifier=gid, TargetDbClusterIdentifier=p_arn)["GlobalCluster"]
    assert glob["Status"] == "switching-over"
    assert _members(aws_endpoint_url, gid, PRIMARY) == {p_arn: True, s_arn: False}


@pytest.mark.parametrize(
    "case, code",
    [
        ("unknown global", "GlobalClusterNotFoundFault"),
        ("not a member", "DBClusterNotFoundFault"),
        ("already primary", "InvalidGlobalClusterStateFault"),
    ],
)
def test_failover_refusals(aws_endpoint_url: str, case: str, code: str) -> None:
    gid, p_arn, s_arn = _global_database(aws_endpoint_url)
    west = _rds(aws_endpoint_url, SECONDARY)
    args = {
        "unknown global": {"GlobalClusterIdentifier": gid + "-x", "TargetDbClusterIdentifier": s_arn},
        "not a member": {"GlobalClusterIdentifier": gid, "TargetDbClusterIdentifier": s_arn + "-x"},
        "already primary": {"GlobalClusterIdentifier": gid, "TargetDbClusterIdentifier": p_arn},
    }[case]
    with pytest.raises(ClientError) as err:
        west.failover_global_cluster(AllowDataLoss=True, **args)
    assert err.value.response["Error"]["Code"] == code
    assert _members(aws_endpoint_url, gid) == {p_arn: True, s_arn: False}  # nothing changed


def test_describe_global_clusters_describes_the_named_one_only(aws_endpoint_url: str) -> None:
    first, _, _ = _global_database(aws_endpoint_url)
    second, _, _ = _global_database(aws_endpoint_url)
    west = _rds(aws_endpoint_url, SECONDARY)
    found = west.describe_global_clusters(GlobalClusterIdentifier=second.upper())["GlobalClusters"]
    assert [g["GlobalClusterIdentifier"] for g in found] == [second]
    listed = {g["GlobalClusterIdentifier"] for g in west.describe_global_clusters()["GlobalClusters"]}
    assert {first, second} <= listed
    with pytest.raises(ClientError) as err:
        west.describe_global_clusters(GlobalClusterIdentifier=first + "-gone")
    assert err.value.response["Error"]["Code"] == "GlobalClusterNotFoundFault"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
