"""ElastiCache DR (dbshift.dr.elasticache) against the moto server: us-east-1 (source) → us-west-2 (target).

backup_seed and global_failover run for real over HTTP (CopySnapshot export, SnapshotArns seeding and Global
Datastores come from dbshift.estate.moto_patches_elasticache_dr). States moto cannot show are covered with
botocore's Stubber, which checks every request and response against the ElastiCache model:
- a backup that never becomes available (a moto backup is "available" at once);
- a failover that does not finish (moto finishes FailoverGlobalReplicationGroup at once, never "modifying").
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber
from test_dr_rds_support import PartialStubber

from dbshift.aws.clients import AwsConfig
from dbshift.dr import Clients, elasticache, elasticache_runbook, parity
from dbshift.dr.kms_errors import KmsProblem
from dbshift.dr.waits import WaitTimeout
from dbshift.errors import ConfigError, DbshiftError

SOURCE, TARGET = "us-east-1", "us-west-2"
SETTINGS = elasticache.TargetSettings(node_type="cache.t3.small", num_cache_clusters=2, snapshot_retention_days=7)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def clients(aws_endpoint_url: str) -> Clients:
    return Clients(AwsConfig(endpoint_url=aws_endpoint_url))


@pytest.fixture(scope="module")
def target_key(aws_endpoint_url: str) -> str:
    c = Clients(AwsConfig(endpoint_url=aws_endpoint_url))
    return c.kms(TARGET).create_key(Description="dr target")["KeyMetadata"]["Arn"]


def make_bucket(clients: Clients, region: str, secure: bool = True) -> str:
    s3, name = clients.get("s3", region), unique("dr-ec")
    args = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **args)
    if secure:
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration=dict.fromkeys(
                ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
            ),
        )
        deny = {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    return name


def make_source(clients: Clients, **extra: Any) -> str:
    """A Multi-AZ, encrypted, 5-day-retention group in SOURCE (settings in `extra` replace these); its id."""
    group = unique("src")
    settings: dict[str, Any] = {
        "CacheNodeType": "cache.t3.small",
        "Engine": "redis",
        "NumCacheClusters": 2,
        "AutomaticFailoverEnabled": True,
        "MultiAZEnabled": True,
        "AtRestEncryptionEnabled": True,
        "TransitEncryptionEnabled": True,
        "SnapshotRetentionLimit": 5,
    }
    clients.get("elasticache", SOURCE).create_replication_group(
        ReplicationGroupId=group, ReplicationGroupDescription="sessions", **{**settings, **extra}
    )
    return group


def seed_plan(clients: Clients, source_group: str, secure: bool = True) -> elasticache.SeedPlan:
    return elasticache.SeedPlan(
        SOURCE,
        source_group,
        TARGET,
        unique("dr"),
        make_bucket(clients, SOURCE, secure),
        make_bucket(clients, TARGET),
        target_prefix="elasticache/",
    )


def backups_of(clients: Clients, group: str) -> list[str]:
    snaps = clients.get("elasticache", SOURCE).describe_snapshots(ReplicationGroupId=group)["Snapshots"]
    return [s["SnapshotName"] for s in snaps]


def keys(clients: Clients, region: str, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in clients.get("s3", region).list_objects_v2(Bucket=bucket).get("Contents", []))


def nothing_created(clients: Clients, plan: elasticache.SeedPlan) -> None:
    assert elasticache.describe_group(clients.get("elasticache", TARGET), plan.new_group_id) is None
    assert backups_of(clients, plan.source_group_id) == []
    assert keys(clients, SOURCE, plan.source_bucket) == [] and keys(clients, TARGET, plan.target_bucket) == []


# ---------------------------------------------------------------- backup → export → copy → seed


def test_backup_seed_end_to_end_and_rerun_makes_nothing_twice(clients, target_key):
    plan = seed_plan(clients, make_source(clients))
    first, waived = elasticache.backup_seed(clients, plan, target_key, SETTINGS, poll=0.1, timeout=30)
    assert first.changed and waived == [] and first.region == TARGET

    group = clients.get("elasticache", TARGET).describe_replication_groups(ReplicationGroupId=plan.new_group_id)
    group = group["ReplicationGroups"][0]
    assert group["ARN"].split(":")[3] == TARGET and group["Status"] == "available"
    assert group["AtRestEncryptionEnabled"] is True and group["KmsKeyId"] == target_key
    assert group["TransitEncryptionEnabled"] is True and group["MultiAZ"] == "enabled"
    assert group["AutomaticFailover"] == "enabled" and group["SnapshotRetentionLimit"] == 7
    assert group["CacheNodeType"] == "cache.t3.small" and len(group["MemberClusters"]) == 2
    export = elasticache.export_name(plan.new_group_id)
    assert keys(clients, SOURCE, plan.source_bucket) == [f"{export}-0001.rdb"]
    assert keys(clients, TARGET, plan.target_bucket) == [f"elasticache/{export}-0001.rdb"]
    assert first.seed_arns == [f"arn:aws:s3:::{plan.target_bucket}/elasticache/{export}-0001.rdb"]
    body = clients.get("s3", TARGET).get_object(Bucket=plan.target_bucket, Key=f"elasticache/{export}-0001.rdb")
    assert body["Body"].read().startswith(b"REDIS")  # the exported .rdb, copied byte for byte
    assert backups_of(clients, plan.source_group_id) == [elasticache.backup_name(plan.new_group_id)]
    assert first.endpoint and first.port == 6379 and first.kms_key_id == target_key

    # Both buckets keep their TLS-only statement and gained ElastiCache's grant for their own Region.
    for region, bucket, sid in (
        (SOURCE, plan.source_bucket, elasticache.EXPORT_SID),
        (TARGET, plan.target_bucket, elasticache.SEED_SID),
    ):
        policy = json.loads(clients.get("s3", region).get_bucket_policy(Bucket=bucket)["Policy"])
        sids = {s.get("Sid"): s for s in policy["Statement"]}
        assert "DenyInsecureTransport" in sids
        assert sids[sid]["Principal"] == {"Service": f"{region}.elasticache-snapshot.amazonaws.com"}
        assert parity.bucket_shortfalls(clients.get("s3", region), bucket) == []

    again, _ = elasticache.backup_seed(clients, plan, target_key, SETTINGS, poll=0.1, timeout=30)
    assert not again.changed and again.steps == ["found from an earlier run"]
    assert backups_of(clients, plan.source_group_id) == [elasticache.backup_name(plan.new_group_id)]
    assert keys(clients, TARGET, plan.target_bucket) == [f"elasticache/{export}-0001.rdb"]


def test_rerun_after_the_source_region_went_down_reads_only_the_target(aws_endpoint_url, target_key):
    up = Clients(AwsConfig(endpoint_url=aws_endpoint_url))
    plan = seed_plan(up, make_source(up))
    elasticache.backup_seed(up, plan, target_key, SETTINGS, poll=0.1, timeout=30)
    down = Clients(AwsConfig(endpoint_url=aws_endpoint_url), endpoints={SOURCE: "http://127.0.0.1:9"})
    again, _ = elasticache.backup_seed(down, plan, target_key, SETTINGS, poll=0.1, timeout=30)
    assert not again.changed and again.replication_group_id == plan.new_group_id
    assert not [k for k in down._made if k[1] == SOURCE]  # no client for the impaired Region was even made


def test_a_rerun_resumes_after_the_export_without_a_second_export(clients, target_key):
    plan = seed_plan(clients, make_source(clients))
    steps: list[str] = []
    elasticache.backup_and_export(clients, plan, 30, 0.1, steps)  # a run that stopped after the export
    assert any(s.startswith("CopySnapshot") for s in steps)
    # A second CopySnapshot to the same name would fail ("already contains an object"): the rerun must skip it.
    result, _ = elasticache.backup_seed(clients, plan, target_key, SETTINGS, poll=0.1, timeout=30)
    assert result.changed
    assert f"backup {elasticache.backup_name(plan.new_group_id)} found from an earlier run" in result.steps
    assert any("found in" in s and "from an earlier run" in s for s in result.steps)
    assert not any(s.startswith("CopySnapshot") for s in result.steps)


def test_a_cluster_mode_source_seeds_one_shard_per_rdb(clients, target_key):
    source = unique("src")
    clients.get("elasticache", SOURCE).create_replication_group(
        ReplicationGroupId=source,
        ReplicationGroupDescription="sharded",
        CacheNodeType="cache.t3.small",
        ClusterMode="enabled",
        NumNodeGroups=3,
        ReplicasPerNodeGroup=1,
        AtRestEncryptionEnabled=True,
        TransitEncryptionEnabled=True,
    )
    plan = seed_plan(clients, source)
    result, _ = elasticache.backup_seed(clients, plan, target_key, SETTINGS, poll=0.1, timeout=30)
    assert len(result.seed_arns) == 3 and [a[-9:] for a in result.seed_arns] == ["-0001.rdb", "-0002.rdb", "-0003.rdb"]
    group = elasticache.describe_group(clients.get("elasticache", TARGET), plan.new_group_id)
    assert group and group["ClusterEnabled"] is True and len(group["NodeGroups"]) == 3


# ---------------------------------------------------------------- refusals before anything is created


def test_a_key_of_another_region_is_refused_before_anything_is_created(clients):
    plan = seed_plan(clients, make_source(clients))
    wrong = clients.kms(SOURCE).create_key(Description="wrong Region")["KeyMetadata"]["Arn"]
    with pytest.raises(ConfigError) as err:
        elasticache.backup_seed(clients, plan, wrong, SETTINGS, poll=0.1)
    assert wrong in str(err.value) and f"is a key in {SOURCE}" in str(err.value)
    nothing_created(clients, plan)


def test_a_key_that_does_not_exist_is_refused_with_the_kms_checks(clients):
    plan = seed_plan(clients, make_source(clients))
    missing = f"arn:aws:kms:{TARGET}:123456789012:key/00000000-0000-4000-8000-000000000000"
    with pytest.raises(KmsProblem) as err:
        elasticache.backup_seed(clients, plan, missing, SETTINGS, poll=0.1)
    assert f"DescribeKey on {missing} in {TARGET} failed" in str(err.value) and "2. the key is enabled" in str(
        err.value
    )
    nothing_created(clients, plan)


def test_an_insecure_bucket_is_refused_unless_waived(clients, target_key):
    plan = seed_plan(clients, make_source(clients), secure=False)
    with pytest.raises(parity.ParityError) as err:
        elasticache.backup_seed(clients, plan, target_key, SETTINGS, poll=0.1)
    text = str(err.value)
    assert f"bucket {plan.source_bucket} has no Deny on aws:SecureTransport=false" in text
    assert "parity_waive: [bucket_public_access_block, bucket_tls_only]" in text
    nothing_created(clients, plan)
    waive = frozenset({"bucket_tls_only", "bucket_public_access_block"})
    result, waived = elasticache.backup_seed(clients, plan, target_key, SETTINGS, waive, poll=0.1, timeout=30)
    assert result.changed and sorted(w.split(":")[0] for w in waived) == sorted(waive)


def test_a_bucket_in_the_wrong_region_is_refused(clients, target_key):
    plan = seed_plan(clients, make_source(clients))
    plan = elasticache.SeedPlan(
        SOURCE, plan.source_group_id, TARGET, plan.new_group_id, plan.target_bucket, plan.target_bucket
    )
    with pytest.raises(ConfigError) as err:
        elasticache.backup_seed(clients, plan, target_key, SETTINGS, poll=0.1)
    assert f"export bucket {plan.source_bucket} is in {TARGET}, not {SOURCE}" in str(err.value)
    assert backups_of(clients, plan.source_group_id) == []


def test_multi_az_without_a_replica_is_refused(clients, target_key):
    plan = seed_plan(clients, make_source(clients))
    single = elasticache.TargetSettings(num_cache_clusters=1, multi_az=True)
    with pytest.raises(ConfigError) as err:
        elasticache.backup_seed(clients, plan, target_key, single, poll=0.1)
    assert "set num_cache_clusters to 2 or more, or multi_az to false" in str(err.value)
    nothing_created(clients, plan)


def test_a_missing_source_group_is_refused(clients, target_key):
    plan = seed_plan(clients, unique("missing"))
    with pytest.raises(DbshiftError) as err:
        elasticache.backup_seed(clients, plan, target_key, SETTINGS, poll=0.1)
    assert f"replication group {plan.source_group_id} not found in {SOURCE}" in str(err.value)
    assert "check source_replication_group_id" in str(err.value)
    assert elasticache.describe_group(clients.get("elasticache", TARGET), plan.new_group_id) is None


def test_a_target_group_not_made_by_dbshift_is_refused(clients, target_key):
    plan = seed_plan(clients, make_source(clients))
    clients.get("elasticache", TARGET).create_replication_group(
        ReplicationGroupId=plan.new_group_id,
        ReplicationGroupDescription="someone else's",
        CacheNodeType="cache.t3.small",
    )
    with pytest.raises(DbshiftError) as err:
        elasticache.backup_seed(clients, plan, target_key, SETTINGS, poll=0.1)
    assert f"{plan.new_group_id} already exists in {TARGET} but was not seeded by dbshift" in str(err.value)
    assert backups_of(clients, plan.source_group_id) == []


def test_a_backup_that_never_becomes_available_stops_before_the_export(clients, target_key):
    plan = seed_plan(clients, make_source(clients))
    name = elasticache.backup_name(plan.new_group_id)
    ec = clients.get("elasticache", SOURCE)
    with PartialStubber(ec, {"DescribeSnapshots"}) as stub:
        stub.add_client_error("describe_snapshots", "SnapshotNotFoundFault", http_status_code=404)
        stub.add_response(
            "describe_snapshots",
            {
                "Snapshots": [
                    {"SnapshotName": name, "SnapshotStatus": "creating", "ReplicationGroupId": plan.source_group_id}
                ]
            },
        )
        with pytest.raises(WaitTimeout) as err:
            elasticache.backup_seed(clients, plan, target_key, SETTINGS, timeout=0, poll=0.1)
        stub.assert_no_pending_responses()
    assert f"backup {name} in {SOURCE} (manual backup) is still 'creating'" in str(err.value)
    assert keys(clients, SOURCE, plan.source_bucket) == []
    assert elasticache.describe_group(clients.get("elasticache", TARGET), plan.new_group_id) is None


# ---------------------------------------------------------------- Global Datastore failover
# Real calls (Global Datastores from dbshift.estate.moto_patches_elasticache_dr); Stubber only for a state moto
# cannot show (a failover still "modifying").


def make_global(clients: Clients, secondary_region: str = TARGET, **source_extra: Any) -> tuple[str, str, str]:
    """A source group in SOURCE, a Global Datastore with it as primary, and a secondary in `secondary_region`:
    (source group, datastore id, secondary group)."""
    source = make_source(clients, **source_extra)
    gid = clients.get("elasticache", SOURCE).create_global_replication_group(
        GlobalReplicationGroupIdSuffix=unique("sessions"), PrimaryReplicationGroupId=source
    )["GlobalReplicationGroup"]["GlobalReplicationGroupId"]
    secondary = unique("west")
    clients.get("elasticache", secondary_region).create_replication_group(
        ReplicationGroupId=secondary,
        ReplicationGroupDescription="sessions secondary",
        GlobalReplicationGroupId=gid,
        NumCacheClusters=2,
        SnapshotRetentionLimit=7,
    )
    return source, gid, secondary


def roles(clients: Clients, gid: str) -> dict[str, str]:
    glob = clients.get("elasticache", TARGET).describe_global_replication_groups(
        GlobalReplicationGroupId=gid, ShowMemberInfo=True
    )["GlobalReplicationGroups"][0]
    return {f"{m['ReplicationGroupRegion']}/{m['ReplicationGroupId']}": m["Role"] for m in glob["Members"]}


def test_global_failover_promotes_the_secondary_calling_only_the_target_region(aws_endpoint_url):
    up = Clients(AwsConfig(endpoint_url=aws_endpoint_url))
    source, gid, secondary = make_global(up)
    # The source Region is impaired: its endpoint does not answer, and the failover must not need it.
    down = Clients(AwsConfig(endpoint_url=aws_endpoint_url), endpoints={SOURCE: "http://127.0.0.1:9"})
    result = elasticache.global_failover(down, SOURCE, source, TARGET, poll=0.05, timeout=5)
    assert result.changed and result.method == "global_failover" and result.global_replication_group_id == gid
    assert result.replication_group_id == secondary and result.region == TARGET and result.status == "available"
    assert result.endpoint and result.endpoint.startswith(f"master.{secondary}.") and result.port == 6379
    assert result.at_rest_encryption and result.transit_encryption  # inherited from the datastore
    assert roles(up, gid) == {f"{SOURCE}/{source}": "SECONDARY", f"{TARGET}/{secondary}": "PRIMARY"}
    assert list(down._made) == [("elasticache", TARGET)]

    # A rerun finds the target already primary: no second failover (which moto would refuse), nothing changes.
    again = elasticache.global_failover(down, SOURCE, source, TARGET, global_id=gid, poll=0.05, timeout=5)
    assert not again.changed and "already the primary (failed over before)" in again.steps
    assert roles(up, gid) == {f"{SOURCE}/{source}": "SECONDARY", f"{TARGET}/{secondary}": "PRIMARY"}


def test_no_secondary_in_the_target_region_is_refused_without_a_failover(clients):
    # A datastore whose only secondary is in a third Region, and a group in no datastore at all.
    source, gid, elsewhere = make_global(clients, secondary_region="us-west-1")
    plain = make_source(clients)
    for group, global_id, text in (
        (source, None, f"no Global Datastore holds replication group {SOURCE}/{source} with a secondary in {TARGET}"),
        (source, gid, f"Global Datastore {gid} does not hold replication group {SOURCE}/{source}"),
        (plain, None, f"no Global Datastore holds replication group {SOURCE}/{plain}"),
    ):
        with pytest.raises(DbshiftError) as err:
            elasticache.global_failover(clients, SOURCE, group, TARGET, global_id=global_id, poll=0.05, timeout=5)
        assert text in str(err.value) and "choose method backup_seed" in str(err.value)
    assert roles(clients, gid) == {f"{SOURCE}/{source}": "PRIMARY", f"us-west-1/{elsewhere}": "SECONDARY"}


# Stubbed: moto finishes a failover at once, so a datastore still "modifying" is shown with Stubber.

GID = "ldgnf-sessions"


def _global(source_group: str, target_group: str, target_role: str, status: str = "available") -> dict[str, Any]:
    source_role = "SECONDARY" if target_role == "PRIMARY" else "PRIMARY"
    return {
        "GlobalReplicationGroups": [
            {
                "GlobalReplicationGroupId": GID,
                "Status": status,
                "Engine": "redis",
                "Members": [
                    {
                        "ReplicationGroupId": source_group,
                        "ReplicationGroupRegion": SOURCE,
                        "Role": source_role,
                        "Status": "associated",
                    },
                    {
                        "ReplicationGroupId": target_group,
                        "ReplicationGroupRegion": TARGET,
                        "Role": target_role,
                        "Status": "associated",
                    },
                ],
            }
        ]
    }


def _group(group_id: str, role: str | None = "SECONDARY", status: str = "available") -> dict[str, Any]:
    group: dict[str, Any] = {
        "ReplicationGroupId": group_id,
        "Status": status,
        "ARN": f"arn:aws:elasticache:{TARGET}:123456789012:replicationgroup:{group_id}",
        "Engine": "redis",
        "NodeGroups": [
            {
                "NodeGroupId": "0001",
                "PrimaryEndpoint": {"Address": f"master.{group_id}.usw2.cache.amazonaws.com", "Port": 6379},
            }
        ],
        "AtRestEncryptionEnabled": True,
        "TransitEncryptionEnabled": True,
        "MultiAZ": "enabled",
        "AutomaticFailover": "enabled",
        "SnapshotRetentionLimit": 5,
        "ReplicationGroupCreateTime": datetime(2026, 11, 1, tzinfo=UTC),
    }
    if role:
        group["GlobalReplicationGroupInfo"] = {
            "GlobalReplicationGroupId": GID,
            "GlobalReplicationGroupMemberRole": role,
        }
    return group


def test_a_failover_that_does_not_finish_names_the_datastore_and_its_state():
    clients = Clients(AwsConfig(endpoint_url="http://127.0.0.1:9"))
    ec = clients.get("elasticache", TARGET)
    find = {"GlobalReplicationGroupId": GID, "ShowMemberInfo": True}
    with Stubber(ec) as stub:
        stub.add_response("describe_global_replication_groups", _global("sessions", "sessions-west", "SECONDARY"), find)
        stub.add_response("describe_global_replication_groups", _global("sessions", "sessions-west", "SECONDARY"), find)
        stub.add_response(
            "failover_global_replication_group", {"GlobalReplicationGroup": {"GlobalReplicationGroupId": GID}}, None
        )
        stub.add_response(
            "describe_global_replication_groups", _global("sessions", "sessions-west", "SECONDARY", "modifying"), find
        )
        with pytest.raises(WaitTimeout) as err:
            elasticache.global_failover(clients, SOURCE, "sessions", TARGET, global_id=GID, poll=0.05, timeout=0)
    assert f"Global Datastore {GID} is still 'modifying, sessions-west SECONDARY'" in str(err.value)


def params(**over: Any) -> dict[str, Any]:
    """The module's options with their defaults, as Ansible passes them to run_runbook."""
    p: dict[str, Any] = {
        "method": "auto",
        "source_region": SOURCE,
        "source_replication_group_id": "sessions",
        "target_region": TARGET,
        "global_replication_group_id": None,
        "target_replication_group_id": None,
        "kms_key_arn": None,
        "source_bucket": None,
        "target_bucket": None,
        "target_prefix": "",
        "node_type": None,
        "engine_version": None,
        "subnet_group": None,
        "security_group_ids": [],
        "num_cache_clusters": 2,
        "multi_az": True,
        "snapshot_retention_days": 7,
        "parity_waive": [],
        "api_timeout": 3.0,
        "wait_timeout": 5,
        "poll_interval": 0.05,
        "endpoint_url": None,
    }
    return {**p, **over}


def test_runbook_parity_fails_a_secondary_without_tls_unless_waived(clients):
    # A datastore without in-transit encryption: its secondary has none either (it takes the datastore's settings).
    source, gid, secondary = make_global(clients, TransitEncryptionEnabled=False)
    p = params(
        method="global_failover",
        source_replication_group_id=source,
        global_replication_group_id=gid,
        endpoint_url=clients.config.endpoint_url,
    )
    with pytest.raises(parity.ParityError) as err:
        elasticache_runbook.run_runbook(p, check_mode=False)
    assert f"transit_encryption: {secondary} has no in-transit encryption" in str(err.value)
    assert "parity_waive: [transit_encryption]" in str(err.value)
    # The failover happened (parity judges the result); a rerun with the shortfall waived changes nothing more.
    assert roles(clients, gid)[f"{TARGET}/{secondary}"] == "PRIMARY"
    done = elasticache_runbook.run_runbook({**p, "parity_waive": ["transit_encryption"]}, check_mode=False)
    assert not done["changed"] and done["replication_group_id"] == secondary
    assert done["parity_waived"] == [f"transit_encryption: {secondary} has no in-transit encryption (TLS)"]


# ---------------------------------------------------------------- parity


def test_parity_requires_encryption_and_at_least_the_sources_availability_and_retention():
    source = _group("src", None)
    weak = {
        **_group("dr", None),
        "AtRestEncryptionEnabled": False,
        "TransitEncryptionEnabled": False,
        "MultiAZ": "disabled",
        "AutomaticFailover": "disabled",
        "SnapshotRetentionLimit": 1,
    }
    names = [s.name for s in elasticache.elasticache_shortfalls(source, weak)]
    assert names == ["storage_encrypted", "transit_encryption", "multi_az", "multi_az", "backup_retention"]
    assert elasticache.elasticache_shortfalls(source, _group("dr", None)) == []
    # Unknown source (impaired Region): encryption and some retention are still required.
    assert [
        s.name for s in elasticache.elasticache_shortfalls({}, {**_group("dr", None), "SnapshotRetentionLimit": 0})
    ] == ["backup_retention"]
