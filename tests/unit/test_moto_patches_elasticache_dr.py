"""ElastiCache DR patches (dbshift.estate.moto_patches_elasticache_dr), over HTTP against a moto server.

Against unpatched moto 5.2.5 CopySnapshot does not exist and SnapshotArns are never checked, so each test fails.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import botocore.exceptions
import pytest

from dbshift.aws.clients import AwsConfig, client
from dbshift.estate.moto_patches_elasticache_dr import ELASTICACHE_CANONICAL_ID, RDB_VERSION

REGION, OTHER = "us-east-1", "us-west-2"


def _c(service: str, endpoint: str, region: str = REGION) -> Any:
    return client(service, AwsConfig(region=region, endpoint_url=endpoint))


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _bucket(endpoint: str, region: str, grant: str | None = "policy") -> str:
    s3, name = _c("s3", endpoint, region), _name("ec-export")
    args = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **args)
    if grant == "policy":
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": f"{region}.elasticache-snapshot.amazonaws.com"},
            "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:GetBucketAcl"],
            "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
        }
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    elif grant == "acl":
        owner = s3.get_bucket_acl(Bucket=name)["Owner"]
        grants = [
            {"Grantee": {"Type": "CanonicalUser", "ID": ELASTICACHE_CANONICAL_ID}, "Permission": p}
            for p in ("READ", "WRITE", "READ_ACP")
        ]
        s3.put_bucket_acl(Bucket=name, AccessControlPolicy={"Owner": owner, "Grants": grants})
    return name


def _group_snapshot(endpoint: str, shards: int = 1) -> str:
    ec, group, snap = _c("elasticache", endpoint), _name("rg"), _name("snap")
    args: dict[str, Any] = (
        {"NumNodeGroups": shards, "ClusterMode": "enabled", "ReplicasPerNodeGroup": 1}
        if shards > 1
        else {"NumCacheClusters": 2}
    )
    ec.create_replication_group(
        ReplicationGroupId=group, ReplicationGroupDescription="src", CacheNodeType="cache.t3.micro", **args
    )
    ec.create_snapshot(ReplicationGroupId=group, SnapshotName=snap)
    return snap


def _code_and_message(call: Any) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


@pytest.mark.parametrize("grant", ["policy", "acl"])
def test_export_writes_one_rdb_object_per_node_group(aws_endpoint_url: str, grant: str) -> None:
    snap, bucket = _group_snapshot(aws_endpoint_url, shards=2), _bucket(aws_endpoint_url, REGION, grant)
    ec, s3 = _c("elasticache", aws_endpoint_url), _c("s3", aws_endpoint_url)
    answer = ec.copy_snapshot(SourceSnapshotName=snap, TargetSnapshotName="exported", TargetBucket=bucket)
    assert answer["Snapshot"]["SnapshotName"] == snap
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["exported-0001.rdb", "exported-0002.rdb"]
    body = s3.get_object(Bucket=bucket, Key="exported-0002.rdb")["Body"].read()
    assert body.startswith(RDB_VERSION) and snap.encode() in body and body[-9] == 0xFF
    # No overwrite: a second export of the same name is refused, naming the object.
    code, message = _code_and_message(
        lambda: ec.copy_snapshot(SourceSnapshotName=snap, TargetSnapshotName="exported", TargetBucket=bucket)
    )
    assert code == "InvalidParameterValue" and "already contains an object with name exported-0001.rdb" in message


def test_export_needs_a_granted_bucket_in_the_same_region(aws_endpoint_url: str) -> None:
    snap, ec = _group_snapshot(aws_endpoint_url), _c("elasticache", aws_endpoint_url)
    ungranted, elsewhere = _bucket(aws_endpoint_url, REGION, None), _bucket(aws_endpoint_url, OTHER)
    for bucket, text in (
        (ungranted, f"ElastiCache has not been granted WRITE permissions {ungranted}"),
        (elsewhere, f"The S3 bucket {elsewhere} is outside of the region."),
        ("no-such-bucket-dbshift", "The S3 bucket no-such-bucket-dbshift does not exist."),
    ):
        code, message = _code_and_message(
            lambda b=bucket: ec.copy_snapshot(SourceSnapshotName=snap, TargetSnapshotName="x", TargetBucket=b)
        )
        assert code == "InvalidParameterValue" and text in message
    assert _s3_keys(aws_endpoint_url, ungranted) == []
    code, _ = _code_and_message(lambda: ec.copy_snapshot(SourceSnapshotName="nope", TargetSnapshotName="x"))
    assert code == "SnapshotNotFoundFault"


def _s3_keys(endpoint: str, bucket: str) -> list[str]:
    return [o["Key"] for o in _c("s3", endpoint).list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_copy_without_bucket_makes_a_snapshot_in_the_region(aws_endpoint_url: str) -> None:
    snap, ec = _group_snapshot(aws_endpoint_url), _c("elasticache", aws_endpoint_url)
    copy = ec.copy_snapshot(SourceSnapshotName=snap, TargetSnapshotName=f"{snap}-copy")["Snapshot"]
    assert copy["SnapshotName"] == f"{snap}-copy" and copy["ARN"].endswith(f":snapshot:{snap}-copy")
    assert ec.describe_snapshots(SnapshotName=f"{snap}-copy")["Snapshots"][0]["SnapshotStatus"] == "available"
    assert _code_and_message(lambda: ec.copy_snapshot(SourceSnapshotName=snap, TargetSnapshotName=f"{snap}-copy"))[
        0
    ] == ("SnapshotAlreadyExistsFault")


def test_seeding_needs_an_existing_readable_rdb_in_the_region(aws_endpoint_url: str) -> None:
    ec, s3 = _c("elasticache", aws_endpoint_url, OTHER), _c("s3", aws_endpoint_url, OTHER)
    granted, ungranted = _bucket(aws_endpoint_url, OTHER), _bucket(aws_endpoint_url, OTHER, None)
    for bucket in (granted, ungranted):
        s3.put_object(Bucket=bucket, Key="seed/x-0001.rdb", Body=RDB_VERSION + b"\xff" + b"\x00" * 8)

    def create(arn: str) -> Any:
        return ec.create_replication_group(
            ReplicationGroupId=_name("seeded"),
            ReplicationGroupDescription="seeded",
            CacheNodeType="cache.t3.micro",
            SnapshotArns=[arn],
        )

    for arn, text in (
        (f"arn:aws:s3:::{granted}/seed/missing.rdb", f"No such S3 object: arn:aws:s3:::{granted}/seed/missing.rdb"),
        (f"arn:aws:s3:::{ungranted}/seed/x-0001.rdb", f"not been granted READ permissions {ungranted}"),
        ("s3://bucket/x.rdb", "Invalid snapshot ARN s3://bucket/x.rdb"),
    ):
        code, message = _code_and_message(lambda a=arn: create(a))
        assert code == "InvalidParameterValue" and text in message
    before = {g["ReplicationGroupId"] for g in ec.describe_replication_groups()["ReplicationGroups"]}
    made = create(f"arn:aws:s3:::{granted}/seed/x-0001.rdb")["ReplicationGroup"]
    assert made["Status"] == "available" and made["ReplicationGroupId"] not in before
