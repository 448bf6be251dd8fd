"""ElastiCache DR patches (dbshift.estate.moto_patches_elasticache_dr), over HTTP against a moto server.

Against unpatched moto 5.2.5 CopySnapshot does not exist, SnapshotArns are never checked and there are no Global
Datastores (HTTP 500), so each test fails.
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


# ---------------------------------------------------------------- Global Datastores
# Against unpatched moto every global replication group action answers HTTP 500, so each test below fails.


def _primary(endpoint: str, region: str = REGION, **extra: Any) -> str:
    group = _name("primary")
    _c("elasticache", endpoint, region).create_replication_group(
        ReplicationGroupId=group,
        ReplicationGroupDescription="primary",
        CacheNodeType="cache.r6g.large",
        EngineVersion="7.1",
        NumCacheClusters=2,
        AutomaticFailoverEnabled=True,
        MultiAZEnabled=True,
        AtRestEncryptionEnabled=True,
        TransitEncryptionEnabled=True,
        **extra,
    )
    return group


def _datastore(endpoint: str, region: str = REGION) -> tuple[str, str, str]:
    """A primary in `region`, its Global Datastore and a secondary in OTHER: (primary, datastore id, secondary)."""
    primary, suffix = _primary(endpoint, region), _name("gds")
    ec = _c("elasticache", endpoint, region)
    gid = ec.create_global_replication_group(GlobalReplicationGroupIdSuffix=suffix, PrimaryReplicationGroupId=primary)[
        "GlobalReplicationGroup"
    ]["GlobalReplicationGroupId"]
    secondary = _name("secondary")
    _c("elasticache", endpoint, OTHER).create_replication_group(
        ReplicationGroupId=secondary, ReplicationGroupDescription="secondary", GlobalReplicationGroupId=gid
    )
    return primary, gid, secondary


def _roles(endpoint: str, gid: str, region: str = OTHER) -> dict[tuple[str, str], str]:
    glob = _c("elasticache", endpoint, region).describe_global_replication_groups(
        GlobalReplicationGroupId=gid, ShowMemberInfo=True
    )["GlobalReplicationGroups"][0]
    return {(m["ReplicationGroupRegion"], m["ReplicationGroupId"]): m["Role"] for m in glob["Members"]}


def _info(endpoint: str, region: str, group: str) -> dict[str, str] | None:
    found = _c("elasticache", endpoint, region).describe_replication_groups(ReplicationGroupId=group)
    return found["ReplicationGroups"][0].get("GlobalReplicationGroupInfo")


def test_global_datastore_id_is_the_regions_prefix_and_the_suffix_with_the_primary_as_member(
    aws_endpoint_url: str,
) -> None:
    for region, prefix in ((REGION, "ldgnf"), (OTHER, "sgaui")):
        primary, suffix = _primary(aws_endpoint_url, region), _name("gds")
        made = _c("elasticache", aws_endpoint_url, region).create_global_replication_group(
            GlobalReplicationGroupIdSuffix=suffix,
            PrimaryReplicationGroupId=primary,
            GlobalReplicationGroupDescription="d",
        )["GlobalReplicationGroup"]
        gid = f"{prefix}-{suffix}"
        assert (
            made["GlobalReplicationGroupId"] == gid
            and made["ARN"] == f"arn:aws:elasticache::123456789012:globalreplicationgroup:{gid}"
        )
        # Only a primary: "primary-only" until a secondary joins; settings come from the primary.
        assert made["Status"] == "primary-only" and made["CacheNodeType"] == "cache.r6g.large"
        assert made["AtRestEncryptionEnabled"] is True and made["TransitEncryptionEnabled"] is True
        assert made["Members"] == [
            {
                "ReplicationGroupId": primary,
                "ReplicationGroupRegion": region,
                "Role": "PRIMARY",
                "AutomaticFailover": "enabled",
                "Status": "associated",
            }
        ]
        assert _info(aws_endpoint_url, region, primary) == {
            "GlobalReplicationGroupId": gid,
            "GlobalReplicationGroupMemberRole": "PRIMARY",
        }


def test_a_secondary_in_another_region_inherits_the_datastores_settings(aws_endpoint_url: str) -> None:
    primary, gid, secondary = _datastore(aws_endpoint_url)
    group = _c("elasticache", aws_endpoint_url, OTHER).describe_replication_groups(ReplicationGroupId=secondary)[
        "ReplicationGroups"
    ][0]
    assert group["ARN"].split(":")[3] == OTHER and group["CacheNodeType"] == "cache.r6g.large"
    assert group["AtRestEncryptionEnabled"] is True and group["TransitEncryptionEnabled"] is True
    assert group["MultiAZ"] == "enabled" and group["AutomaticFailover"] == "enabled"
    assert group["GlobalReplicationGroupInfo"] == {
        "GlobalReplicationGroupId": gid,
        "GlobalReplicationGroupMemberRole": "SECONDARY",
    }
    ec = _c("elasticache", aws_endpoint_url, OTHER)
    plain = ec.describe_global_replication_groups(GlobalReplicationGroupId=gid)["GlobalReplicationGroups"][0]
    assert plain["Status"] == "available" and "Members" not in plain  # Members only with ShowMemberInfo
    assert _roles(aws_endpoint_url, gid) == {(REGION, primary): "PRIMARY", (OTHER, secondary): "SECONDARY"}
    listed = ec.describe_global_replication_groups()["GlobalReplicationGroups"]
    assert gid in {g["GlobalReplicationGroupId"] for g in listed}


def test_global_datastore_refusals(aws_endpoint_url: str) -> None:
    primary, gid, _ = _datastore(aws_endpoint_url)
    east, west = _c("elasticache", aws_endpoint_url), _c("elasticache", aws_endpoint_url, OTHER)
    cases = [
        (
            lambda: east.create_global_replication_group(
                GlobalReplicationGroupIdSuffix="x", PrimaryReplicationGroupId="no-such-group"
            ),
            "ReplicationGroupNotFoundFault",
            "no-such-group",
        ),
        (
            lambda: east.create_global_replication_group(
                GlobalReplicationGroupIdSuffix=_name("again"), PrimaryReplicationGroupId=primary
            ),
            "InvalidReplicationGroupState",
            f"already a member of Global replication group {gid}",
        ),
        (
            lambda: east.create_global_replication_group(
                GlobalReplicationGroupIdSuffix=gid.removeprefix("ldgnf-"),
                PrimaryReplicationGroupId=_primary(aws_endpoint_url),
            ),
            "GlobalReplicationGroupAlreadyExistsFault",
            gid,
        ),
        (  # one member per Region: the secondary must be elsewhere than the primary
            lambda: east.create_replication_group(
                ReplicationGroupId=_name("same"), ReplicationGroupDescription="s", GlobalReplicationGroupId=gid
            ),
            "InvalidParameterValue",
            f"already has a member in {REGION}",
        ),
        (
            lambda: _c("elasticache", aws_endpoint_url, "eu-west-1").create_replication_group(
                ReplicationGroupId=_name("other-node"),
                ReplicationGroupDescription="s",
                GlobalReplicationGroupId=gid,
                CacheNodeType="cache.t3.micro",
            ),
            "InvalidParameterCombination",
            "cache_node_type cache.t3.micro differs",
        ),
        (
            lambda: west.create_replication_group(
                ReplicationGroupId=_name("orphan"), ReplicationGroupDescription="s", GlobalReplicationGroupId="ldgnf-no"
            ),
            "GlobalReplicationGroupNotFoundFault",
            "ldgnf-no",
        ),
        (
            lambda: west.describe_global_replication_groups(GlobalReplicationGroupId="ldgnf-no"),
            "GlobalReplicationGroupNotFoundFault",
            "ldgnf-no",
        ),
    ]
    for call, code, text in cases:
        got_code, message = _code_and_message(call)
        assert (got_code, text in message) == (code, True), (got_code, message)
    # Up to two secondary Regions.
    _c("elasticache", aws_endpoint_url, "eu-west-1").create_replication_group(
        ReplicationGroupId=_name("third"), ReplicationGroupDescription="s", GlobalReplicationGroupId=gid
    )
    code, message = _code_and_message(
        lambda: _c("elasticache", aws_endpoint_url, "ap-south-1").create_replication_group(
            ReplicationGroupId=_name("fourth"), ReplicationGroupDescription="s", GlobalReplicationGroupId=gid
        )
    )
    assert code == "InvalidParameterValue" and "already has 2 secondary Regions" in message
    assert len(_roles(aws_endpoint_url, gid)) == 3


def test_failover_makes_the_named_secondary_the_primary_and_the_old_primary_a_secondary(aws_endpoint_url: str) -> None:
    primary, gid, secondary = _datastore(aws_endpoint_url)
    west = _c("elasticache", aws_endpoint_url, OTHER)  # called in the new primary's Region only
    answer = west.failover_global_replication_group(
        GlobalReplicationGroupId=gid, PrimaryRegion=OTHER, PrimaryReplicationGroupId=secondary
    )["GlobalReplicationGroup"]
    assert answer["GlobalReplicationGroupId"] == gid and answer["Status"] == "available"
    assert _roles(aws_endpoint_url, gid) == {(REGION, primary): "SECONDARY", (OTHER, secondary): "PRIMARY"}
    assert _info(aws_endpoint_url, OTHER, secondary) == {
        "GlobalReplicationGroupId": gid,
        "GlobalReplicationGroupMemberRole": "PRIMARY",
    }
    assert (_info(aws_endpoint_url, REGION, primary) or {}).get("GlobalReplicationGroupMemberRole") == "SECONDARY"
    for args, code, text in (
        ({"PrimaryRegion": OTHER, "PrimaryReplicationGroupId": secondary}, "InvalidParameterValue", "already the"),
        ({"PrimaryRegion": REGION, "PrimaryReplicationGroupId": secondary}, "InvalidParameterValue", "not a member"),
    ):
        got = _code_and_message(
            lambda a=args: west.failover_global_replication_group(GlobalReplicationGroupId=gid, **a)
        )
        assert got[0] == code and text in got[1], got
    # And back: the old primary can be promoted again.
    west.failover_global_replication_group(
        GlobalReplicationGroupId=gid, PrimaryRegion=REGION, PrimaryReplicationGroupId=primary
    )
    assert _roles(aws_endpoint_url, gid) == {(REGION, primary): "PRIMARY", (OTHER, secondary): "SECONDARY"}


def test_failover_needs_a_datastore_with_a_secondary(aws_endpoint_url: str) -> None:
    primary, suffix = _primary(aws_endpoint_url), _name("alone")
    ec = _c("elasticache", aws_endpoint_url)
    gid = ec.create_global_replication_group(GlobalReplicationGroupIdSuffix=suffix, PrimaryReplicationGroupId=primary)[
        "GlobalReplicationGroup"
    ]["GlobalReplicationGroupId"]
    code, message = _code_and_message(
        lambda: ec.failover_global_replication_group(
            GlobalReplicationGroupId=gid, PrimaryRegion=REGION, PrimaryReplicationGroupId=primary
        )
    )
    assert code == "InvalidGlobalReplicationGroupState" and "primary-only" in message
    code, _ = _code_and_message(
        lambda: ec.failover_global_replication_group(
            GlobalReplicationGroupId="ldgnf-no-such", PrimaryRegion=OTHER, PrimaryReplicationGroupId="x"
        )
    )
    assert code == "GlobalReplicationGroupNotFoundFault"
