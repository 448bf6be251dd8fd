"""ElastiCache patches in dbshift.estate.moto_patches, checked over HTTP against a moto server from aws_server.py.

Each test asserts the ElastiCache behaviour a patch restores; against unpatched moto 5.2.5 each one fails.
"""

from __future__ import annotations

import secrets
from typing import Any

import botocore.exceptions
import pytest

from dbshift.aws.clients import AwsConfig, client

REGION = "us-east-1"


def _elasticache(endpoint: str) -> Any:
    return client("elasticache", AwsConfig(region=REGION, endpoint_url=endpoint))


def _create_group(elasticache: Any, group_id: str, members: int) -> dict[str, Any]:
    return elasticache.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="dbshift cache",
        CacheNodeType="cache.t3.micro",
        Engine="redis",
        EngineVersion="7.1",
        NumCacheClusters=members,
        AutomaticFailoverEnabled=True,
        AtRestEncryptionEnabled=True,
    )["ReplicationGroup"]


def _error_code(call: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def test_replication_group_members_are_available_cache_clusters(aws_endpoint_url: str) -> None:
    elasticache = _elasticache(aws_endpoint_url)
    group_id = f"rg-{secrets.token_hex(3)}"
    _create_group(elasticache, group_id, members=3)

    (group,) = elasticache.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"]
    assert group["Status"] == "available"
    assert group["MemberClusters"] == [f"{group_id}-001", f"{group_id}-002", f"{group_id}-003"]
    roles = {m["CacheClusterId"]: m["CurrentRole"] for m in group["NodeGroups"][0]["NodeGroupMembers"]}
    assert roles == {f"{group_id}-001": "primary", f"{group_id}-002": "replica", f"{group_id}-003": "replica"}

    for member in group["MemberClusters"]:
        (cluster,) = elasticache.describe_cache_clusters(CacheClusterId=member, ShowCacheNodeInfo=True)["CacheClusters"]
        assert cluster["CacheClusterStatus"] == "available"
        assert cluster["ReplicationGroupId"] == group_id
        assert (cluster["Engine"], cluster["EngineVersion"], cluster["CacheNodeType"]) == (
            "redis",
            "7.1",
            "cache.t3.micro",
        )
        assert cluster["AtRestEncryptionEnabled"] is True


def test_deleted_replication_group_goes_with_its_members(aws_endpoint_url: str) -> None:
    elasticache = _elasticache(aws_endpoint_url)
    suffix = secrets.token_hex(3)
    gone, kept = f"rg-gone-{suffix}", f"rg-kept-{suffix}"
    _create_group(elasticache, gone, members=2)
    _create_group(elasticache, kept, members=2)

    deleted = elasticache.delete_replication_group(ReplicationGroupId=gone)["ReplicationGroup"]
    assert deleted["Status"] == "deleting"
    assert _error_code(lambda: elasticache.describe_replication_groups(ReplicationGroupId=gone)) == (
        "ReplicationGroupNotFoundFault"
    )
    for member in (f"{gone}-001", f"{gone}-002"):
        assert _error_code(lambda m=member: elasticache.describe_cache_clusters(CacheClusterId=m)) == (
            "CacheClusterNotFound"
        )

    # RetainPrimaryCluster keeps the primary as a cluster of its own; the replicas go.
    elasticache.delete_replication_group(ReplicationGroupId=kept, RetainPrimaryCluster=True)
    (primary,) = elasticache.describe_cache_clusters(CacheClusterId=f"{kept}-001")["CacheClusters"]
    assert "ReplicationGroupId" not in primary
    assert _error_code(lambda: elasticache.describe_cache_clusters(CacheClusterId=f"{kept}-002")) == (
        "CacheClusterNotFound"
    )
