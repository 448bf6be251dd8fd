"""Aurora DR (dbshift.dr.aurora and aurora_runbook) against the moto server: us-east-1 source, us-west-2 target.

moto has no FailoverGlobalCluster/SwitchoverGlobalCluster: dbshift.estate.moto_patches_aurora_dr adds them (tested in
tests/unit/test_moto_patches_aurora_dr.py). Covered with botocore's Stubber (request and response checked against
the RDS model) where moto cannot show the state: a snapshot copy that never becomes available, a KMS failure of the
copy, and a global cluster still failing over.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_dr_rds_support import SOURCE_REGION, TARGET_REGION, PartialStubber, unique

from dbshift.aws.clients import AwsConfig
from dbshift.dr import Clients, aurora, aurora_runbook, parity
from dbshift.dr.kms_errors import KmsProblem
from dbshift.dr.waits import WaitTimeout
from dbshift.errors import ConfigError, DbshiftError

SETTINGS = aurora.ClusterSettings(instance_class="db.r6g.large", reader_count=2, backup_retention_days=7)
DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port: an impaired Region


@pytest.fixture()
def clients(aws_endpoint_url: str) -> Clients:
    return Clients(AwsConfig(endpoint_url=aws_endpoint_url))


@pytest.fixture(scope="module")
def target_key(aws_endpoint_url: str) -> str:
    c = Clients(AwsConfig(endpoint_url=aws_endpoint_url))
    return c.kms(TARGET_REGION).create_key(Description="aurora dr target")["KeyMetadata"]["Arn"]


def make_cluster(rds: Any, cluster_id: str, instances: int = 1, **extra: Any) -> dict[str, Any]:
    args = {
        "DBClusterIdentifier": cluster_id,
        "Engine": "aurora-postgresql",
        "MasterUsername": "dbadmin",
        "MasterUserPassword": "not-a-secret-1",
        "BackupRetentionPeriod": 7,
        "DeletionProtection": True,
        **extra,
    }
    if "GlobalClusterIdentifier" in args:  # a secondary takes its user from the primary
        args.pop("MasterUsername"), args.pop("MasterUserPassword")
    cluster = rds.create_db_cluster(**args)["DBCluster"]
    for n in range(1, instances + 1):
        rds.create_db_instance(
            DBInstanceIdentifier=f"{cluster_id}-{n}",
            DBClusterIdentifier=cluster_id,
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
            PubliclyAccessible=False,
        )
    return cluster


def copies_in_target(clients: Clients, source_cluster: str) -> list[str]:
    snaps = clients.rds(TARGET_REGION).describe_db_cluster_snapshots(DBClusterIdentifier=source_cluster)
    return [s["DBClusterSnapshotIdentifier"] for s in snaps["DBClusterSnapshots"]]


def global_database(clients: Clients, key: str, secondary_instances: int = 1) -> tuple[str, str, str]:
    """(global id, primary id in us-east-1, secondary id in us-west-2)."""
    gid, primary, secondary = unique("glob"), unique("prim"), unique("sec")
    arn = make_cluster(clients.rds(SOURCE_REGION), primary)["DBClusterArn"]
    clients.rds(SOURCE_REGION).create_global_cluster(GlobalClusterIdentifier=gid, SourceDBClusterIdentifier=arn)
    make_cluster(
        clients.rds(TARGET_REGION),
        secondary,
        instances=secondary_instances,
        GlobalClusterIdentifier=gid,
        StorageEncrypted=True,
        KmsKeyId=key,
        BackupRetentionPeriod=1,
        DeletionProtection=False,
    )
    return gid, primary, secondary


def writer_of(clients: Clients, gid: str) -> str:
    glob = aurora.describe_global(clients.rds(TARGET_REGION), gid)
    assert glob is not None
    (writer,) = [m["DBClusterArn"] for m in glob["GlobalClusterMembers"] if m["IsWriter"]]
    return writer


# ---------------------------------------------------------------- snapshot restore


def test_snapshot_restore_encrypts_with_the_target_key_adds_instances_and_reruns_unchanged(clients, target_key):
    src, new = unique("src"), unique("dr")
    make_cluster(clients.rds(SOURCE_REGION), src)  # unencrypted source
    first = aurora.snapshot_restore(
        clients, SOURCE_REGION, TARGET_REGION, target_key, new, SETTINGS, source_cluster_id=src, poll=0.1, timeout=30
    )
    assert first.changed and first.region == TARGET_REGION and first.status == "available"
    west = clients.rds(TARGET_REGION)
    cluster = west.describe_db_clusters(DBClusterIdentifier=new)["DBClusters"][0]
    assert cluster["DBClusterArn"].split(":")[3] == TARGET_REGION
    assert cluster["StorageEncrypted"] is True and cluster["KmsKeyId"] == target_key
    assert cluster["DeletionProtection"] is True and cluster["BackupRetentionPeriod"] == 7
    copy = west.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=aurora.copy_id_for(new))
    assert copy["DBClusterSnapshots"][0]["KmsKeyId"] == target_key
    assert copy["DBClusterSnapshots"][0]["StorageEncrypted"] is True
    members = {m["DBInstanceIdentifier"]: m["IsClusterWriter"] for m in cluster["DBClusterMembers"]}
    assert members == {f"{new}-1": True, f"{new}-2": False, f"{new}-3": False}
    for inst_id in members:
        inst = west.describe_db_instances(DBInstanceIdentifier=inst_id)["DBInstances"][0]
        assert inst["DBInstanceClass"] == "db.r6g.large" and inst["PubliclyAccessible"] is False
        assert inst["DBInstanceStatus"] == "available"
    assert first.endpoint == cluster["Endpoint"] and first.port == 5432 and first.engine == "aurora-postgresql"
    assert first.source.startswith(f"arn:aws:rds:{SOURCE_REGION}:") and src in first.source

    again = aurora.snapshot_restore(
        clients, SOURCE_REGION, TARGET_REGION, target_key, new, SETTINGS, source_cluster_id=src, poll=0.1, timeout=30
    )
    assert again.changed is False and again.cluster_arn == first.cluster_arn
    assert copies_in_target(clients, src) == [aurora.copy_id_for(new)]
    assert sorted(again.instances) == sorted(members)


def test_a_missing_instance_is_added_on_the_next_run(clients, target_key):
    src, new = unique("src"), unique("dr")
    make_cluster(clients.rds(SOURCE_REGION), src)
    one = aurora.ClusterSettings(instance_class="db.r6g.large", reader_count=0, backup_retention_days=7)
    aurora.snapshot_restore(
        clients, SOURCE_REGION, TARGET_REGION, target_key, new, one, source_cluster_id=src, poll=0.1
    )
    more = aurora.snapshot_restore(
        clients, SOURCE_REGION, TARGET_REGION, target_key, new, SETTINGS, source_cluster_id=src, poll=0.1
    )
    assert more.changed is True and sorted(more.instances) == [f"{new}-1", f"{new}-2", f"{new}-3"]
    assert f"CreateDBInstance {new}-2 (reader, db.r6g.large)" in more.steps
    assert copies_in_target(clients, src) == [aurora.copy_id_for(new)]


def test_snapshot_restore_of_a_named_snapshot(clients, target_key):
    src, new = unique("src"), unique("dr")
    make_cluster(clients.rds(SOURCE_REGION), src)
    arn = clients.rds(SOURCE_REGION).create_db_cluster_snapshot(
        DBClusterIdentifier=src, DBClusterSnapshotIdentifier=f"{src}-before-cutover"
    )["DBClusterSnapshot"]["DBClusterSnapshotArn"]
    done = aurora.snapshot_restore(
        clients, SOURCE_REGION, TARGET_REGION, target_key, new, SETTINGS, snapshot_id=f"{src}-before-cutover", poll=0.1
    )
    assert done.source == arn and done.kms_key_id == target_key


def nothing_made(clients: Clients, new: str) -> None:
    west = clients.rds(TARGET_REGION)
    assert aurora.describe_cluster(west, new) is None
    assert aurora.describe_cluster_snapshot(west, aurora.copy_id_for(new)) is None


def test_a_key_of_another_region_is_refused_before_anything_is_created(clients):
    src, new = unique("src"), unique("dr")
    make_cluster(clients.rds(SOURCE_REGION), src)
    wrong = clients.kms(SOURCE_REGION).create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(ConfigError) as err:
        aurora.snapshot_restore(clients, SOURCE_REGION, TARGET_REGION, wrong, new, SETTINGS, source_cluster_id=src)
    assert wrong in str(err.value) and f"is a key in {SOURCE_REGION}" in str(err.value)
    nothing_made(clients, new)


def test_a_missing_snapshot_is_refused_before_anything_is_created(clients, target_key):
    new = unique("dr")
    with pytest.raises(DbshiftError, match=rf"DB cluster snapshot nope-{new} not found in {SOURCE_REGION}"):
        aurora.snapshot_restore(
            clients, SOURCE_REGION, TARGET_REGION, target_key, new, SETTINGS, snapshot_id=f"nope-{new}"
        )
    with pytest.raises(DbshiftError, match=r"no available snapshot of DB cluster .* take one"):
        aurora.snapshot_restore(
            clients, SOURCE_REGION, TARGET_REGION, target_key, new, SETTINGS, source_cluster_id=f"none-{new}"
        )
    nothing_made(clients, new)


def test_settings_are_checked_before_anything_is_created(clients, target_key):
    new = unique("dr")
    no_class = aurora.ClusterSettings(instance_class="")
    with pytest.raises(ConfigError, match="needs instance_class"):
        aurora.snapshot_restore(clients, SOURCE_REGION, TARGET_REGION, target_key, new, no_class, source_cluster_id="x")
    with pytest.raises(ConfigError, match=r"source_cluster_id .* or snapshot_id"):
        aurora.snapshot_restore(clients, SOURCE_REGION, TARGET_REGION, target_key, new, SETTINGS)
    nothing_made(clients, new)


def test_a_cluster_not_made_by_dbshift_is_not_taken_over(clients, target_key):
    src, taken = unique("src"), unique("dr")
    make_cluster(clients.rds(SOURCE_REGION), src)
    make_cluster(clients.rds(TARGET_REGION), taken, instances=0)
    with pytest.raises(
        DbshiftError, match=rf"{taken} already exists in {TARGET_REGION} but was not restored by dbshift"
    ):
        aurora.snapshot_restore(
            clients, SOURCE_REGION, TARGET_REGION, target_key, taken, SETTINGS, source_cluster_id=src
        )
    assert aurora.describe_cluster_snapshot(clients.rds(TARGET_REGION), aurora.copy_id_for(taken)) is None


def _copy(snapshot_id: str, status: str, key: str) -> dict[str, Any]:
    return {
        "DBClusterSnapshots": [
            {
                "DBClusterSnapshotIdentifier": snapshot_id,
                "DBClusterIdentifier": "src",
                "Engine": "aurora-postgresql",
                "Status": status,
                "PercentProgress": 35,
                "StorageEncrypted": True,
                "KmsKeyId": key,
                "DBClusterSnapshotArn": f"arn:aws:rds:{TARGET_REGION}:123456789012:cluster-snapshot:{snapshot_id}",
            }
        ]
    }


def test_a_copy_that_never_becomes_available_stops_naming_it(clients, target_key):
    new = unique("dr")
    copy_id = aurora.copy_id_for(new)
    with PartialStubber(clients.rds(TARGET_REGION), {"DescribeDBClusters", "DescribeDBClusterSnapshots"}) as stub:
        stub.add_client_error("describe_db_clusters", "DBClusterNotFoundFault", http_status_code=404)
        for _ in range(4):  # an earlier run's copy, still creating
            stub.add_response("describe_db_cluster_snapshots", _copy(copy_id, "creating", target_key))
        with pytest.raises(WaitTimeout) as err:
            aurora.snapshot_restore(
                clients, SOURCE_REGION, TARGET_REGION, target_key, new, SETTINGS, snapshot_id="s", poll=0.2, timeout=0.3
            )
    text = str(err.value)
    assert f"DB cluster snapshot {copy_id} in {TARGET_REGION} is still 'creating (35%)'" in text
    assert "raise the wait timeout, or run again later" in text


def test_a_failed_copy_names_the_kms_checks(clients, target_key):
    new = unique("dr")
    copy_id = aurora.copy_id_for(new)
    with PartialStubber(clients.rds(TARGET_REGION), {"DescribeDBClusters", "DescribeDBClusterSnapshots"}) as stub:
        stub.add_client_error("describe_db_clusters", "DBClusterNotFoundFault", http_status_code=404)
        stub.add_response("describe_db_cluster_snapshots", _copy(copy_id, "failed", target_key))
        stub.add_response("describe_db_cluster_snapshots", _copy(copy_id, "failed", target_key))
        with pytest.raises(DbshiftError) as err:
            aurora.snapshot_restore(
                clients, SOURCE_REGION, TARGET_REGION, target_key, new, SETTINGS, snapshot_id="s", poll=0.1
            )
    text = str(err.value)
    assert f"{copy_id} in {TARGET_REGION} is 'failed' (snapshot copy has failed)" in text
    assert "kms:CreateGrant" in text and target_key in text


def test_a_kms_error_of_the_copy_is_translated_into_the_checks(clients, target_key):
    src, new = unique("src"), unique("dr")
    make_cluster(clients.rds(SOURCE_REGION), src)
    with PartialStubber(clients.rds(TARGET_REGION), {"CopyDBClusterSnapshot"}) as stub:
        stub.add_client_error(
            "copy_db_cluster_snapshot",
            "KMSKeyNotAccessibleFault",
            "The caller is not authorized to perform kms:CreateGrant on the key",
        )
        with pytest.raises(KmsProblem) as err:
            aurora.snapshot_restore(
                clients, SOURCE_REGION, TARGET_REGION, target_key, new, SETTINGS, source_cluster_id=src, poll=0.1
            )
    text = str(err.value)
    assert f"CopyDBClusterSnapshot of rds:{src}" in text or f"CopyDBClusterSnapshot of {src}" in text
    assert "1. the key is in the target Region" in text and "3. the key policy" in text
    nothing_made(clients, new)


# ---------------------------------------------------------------- global database


@pytest.mark.parametrize("mode", ["global_failover", "global_switchover"])
def test_global_promote_makes_the_secondary_the_writer_and_reruns_unchanged(clients, target_key, mode):
    gid, _, secondary = global_database(clients, target_key)
    done = aurora.global_promote(
        clients, gid, TARGET_REGION, mode=mode, deletion_protection=True, backup_retention_days=7, poll=0.1, timeout=10
    )
    assert done.changed and done.cluster_id == secondary and done.global_cluster_id == gid and done.option == mode
    assert writer_of(clients, gid) == done.cluster_arn
    cluster = aurora.describe_cluster(clients.rds(TARGET_REGION), secondary)
    assert cluster["DeletionProtection"] is True and cluster["BackupRetentionPeriod"] == 7
    api = "FailoverGlobalCluster (AllowDataLoss)" if mode == "global_failover" else "SwitchoverGlobalCluster"
    assert any(s.startswith(api) for s in done.steps), done.steps
    assert done.endpoint == cluster["Endpoint"] and done.storage_encrypted and done.kms_key_id == target_key

    again = aurora.global_promote(
        clients, gid, TARGET_REGION, mode=mode, deletion_protection=True, backup_retention_days=7, poll=0.1
    )
    assert again.changed is False and again.steps[0] == f"{secondary} is already the primary of {gid}"


def test_global_failover_calls_only_the_target_region(aws_endpoint_url, clients, target_key):
    gid, _, secondary = global_database(clients, target_key)
    impaired = Clients(AwsConfig(endpoint_url=aws_endpoint_url), endpoints={SOURCE_REGION: DEAD})
    done = aurora.global_promote(impaired, gid, TARGET_REGION, poll=0.1, timeout=10)
    assert done.cluster_id == secondary and writer_of(clients, gid) == done.cluster_arn
    assert {region for (_, region) in impaired._made} == {TARGET_REGION}


def test_global_refusals_change_nothing(clients, target_key):
    gid, _, secondary = global_database(clients, target_key)
    primary_arn = writer_of(clients, gid)
    with pytest.raises(DbshiftError, match=rf"global cluster {gid}-x does not exist .* snapshot_restore"):
        aurora.global_promote(clients, gid + "-x", TARGET_REGION)
    with pytest.raises(DbshiftError, match=rf"{gid} has no secondary in eu-west-1 \(its members are in"):
        aurora.global_promote(clients, gid, "eu-west-1")
    with pytest.raises(DbshiftError, match=rf"has no secondary cluster other-{secondary} in {TARGET_REGION}"):
        aurora.global_promote(clients, gid, TARGET_REGION, target_cluster_id=f"other-{secondary}")
    assert writer_of(clients, gid) == primary_arn


def test_a_headless_secondary_is_refused(clients, target_key):
    gid, _, secondary = global_database(clients, target_key, secondary_instances=0)
    primary_arn = writer_of(clients, gid)
    with pytest.raises(DbshiftError, match=rf"secondary DB cluster {secondary} in {TARGET_REGION} has no DB instance"):
        aurora.global_promote(clients, gid, TARGET_REGION)
    assert writer_of(clients, gid) == primary_arn


def test_a_failover_that_does_not_finish_stops_naming_the_global_cluster(clients):
    gid = unique("glob")
    to = f"arn:aws:rds:{TARGET_REGION}:123456789012:cluster:sec"
    frm = f"arn:aws:rds:{SOURCE_REGION}:123456789012:cluster:prim"
    failing = {
        "GlobalClusters": [
            {
                "GlobalClusterIdentifier": gid,
                "Status": "failing-over",
                "GlobalClusterMembers": [
                    {"DBClusterArn": frm, "IsWriter": True},
                    {"DBClusterArn": to, "IsWriter": False},
                ],
                "FailoverState": {"Status": "failing-over", "FromDbClusterArn": frm, "ToDbClusterArn": to},
            }
        ]
    }
    with PartialStubber(clients.rds(TARGET_REGION), {"DescribeGlobalClusters"}) as stub:
        for _ in range(4):
            stub.add_response("describe_global_clusters", failing)
        with pytest.raises(WaitTimeout) as err:
            aurora.global_promote(clients, gid, TARGET_REGION, poll=0.2, timeout=0.3)
    # An earlier run's failover in progress is waited for, not requested again (no FailoverGlobalCluster stubbed).
    assert f"global cluster {gid} (global_failover to sec) is still 'failing-over, writer {frm}'" in str(err.value)


# ---------------------------------------------------------------- parity and the runbook


def test_aurora_shortfalls():
    source = {"MultiAZ": True, "DeletionProtection": True, "BackupRetentionPeriod": 7, "StorageEncrypted": False}
    target = {"DBClusterIdentifier": "t", "MultiAZ": False, "DeletionProtection": False, "BackupRetentionPeriod": 3}
    found = aurora.aurora_shortfalls(source, target, [{"DBInstanceIdentifier": "t-1", "PubliclyAccessible": True}])
    assert [s.name for s in found] == [
        "storage_encrypted",
        "publicly_accessible",
        "multi_az",
        "deletion_protection",
        "backup_retention",
    ]
    assert {s.name for s in found} <= set(parity.CHECKS)
    good = {
        "DBClusterIdentifier": "t",
        "StorageEncrypted": True,
        "BackupRetentionPeriod": 7,
        "DeletionProtection": True,
    }
    assert aurora.aurora_shortfalls({}, good, [{"DBInstanceIdentifier": "t-1", "PubliclyAccessible": False}]) == []
    # An instance that does not say it is private is not taken as private.
    assert [s.name for s in aurora.aurora_shortfalls({}, good, [{"DBInstanceIdentifier": "t-1"}])] == [
        "publicly_accessible"
    ]


def params(**values: Any) -> dict[str, Any]:
    base = {
        "dr_option": "auto",
        "source_region": SOURCE_REGION,
        "source_cluster_id": None,
        "global_cluster_id": None,
        "target_region": TARGET_REGION,
        "target_cluster_id": None,
        "snapshot_id": None,
        "kms_key_arn": None,
        "instance_class": "db.r6g.large",
        "reader_count": 1,
        "subnet_group": None,
        "security_group_ids": [],
        "deletion_protection": True,
        "backup_retention_days": 7,
        "parity_waive": [],
        "api_timeout": 3.0,
        "wait_timeout": 30,
        "poll_interval": 0.1,
        "endpoint_url": None,
    }
    return {**base, **values}


def test_auto_chooses_global_failover_when_a_secondary_exists(aws_endpoint_url, clients, target_key):
    gid, primary, secondary = global_database(clients, target_key)
    p = params(global_cluster_id=gid, endpoint_url=aws_endpoint_url)
    planned = aurora_runbook.run_runbook(p, check_mode=True)
    assert planned["option"] == "global_failover" and planned["changed"] and planned["status"] == "would_failover"
    assert planned["reasons"] == [f"global_failover chosen: global cluster {gid} has {secondary} in {TARGET_REGION}"]
    assert writer_of(clients, gid).endswith(f":cluster:{primary}")  # check mode changed nothing

    done = aurora_runbook.run_runbook(p, check_mode=False)
    assert done["changed"] and done["cluster_id"] == secondary and done["parity_waived"] == []
    assert writer_of(clients, gid) == done["cluster_arn"]
    for check in (True, False):
        again = aurora_runbook.run_runbook(p, check_mode=check)
        assert again["changed"] is False and again["cluster_id"] == secondary


def test_auto_falls_back_to_snapshot_restore_and_says_why(aws_endpoint_url, clients, target_key):
    src, new = unique("src"), unique("dr")
    make_cluster(clients.rds(SOURCE_REGION), src)
    p = params(
        source_cluster_id=src,
        global_cluster_id=unique("none"),
        target_cluster_id=new,
        kms_key_arn=target_key,
        endpoint_url=aws_endpoint_url,
    )
    planned = aurora_runbook.run_runbook(p, check_mode=True)
    assert planned["option"] == "snapshot_restore" and planned["status"] == "would_create"
    assert planned["reasons"][0] == f"global_failover skipped: global cluster {p['global_cluster_id']} does not exist"
    nothing_made(clients, new)
    done = aurora_runbook.run_runbook(p, check_mode=False)
    assert done["changed"] and done["instances"] == [f"{new}-1", f"{new}-2"]
    again = aurora_runbook.run_runbook(p, check_mode=False)
    assert again["changed"] is False
    assert again["reasons"] == [f"snapshot_restore chosen: {new} in {TARGET_REGION} was restored by an earlier run"]


def test_parity_fails_a_public_instance_unless_waived(aws_endpoint_url, clients, target_key):
    src, new = unique("src"), unique("dr")
    make_cluster(clients.rds(SOURCE_REGION), src)
    p = params(
        dr_option="snapshot_restore",
        source_cluster_id=src,
        target_cluster_id=new,
        kms_key_arn=target_key,
        reader_count=0,
        endpoint_url=aws_endpoint_url,
    )
    aurora_runbook.run_runbook(p, check_mode=False)
    clients.rds(TARGET_REGION).modify_db_instance(
        DBInstanceIdentifier=f"{new}-1", PubliclyAccessible=True, ApplyImmediately=True
    )
    for check in (True, False):
        with pytest.raises(parity.ParityError, match=rf"publicly_accessible: {new}-1 PubliclyAccessible is True"):
            aurora_runbook.run_runbook(p, check_mode=check)
    waived = aurora_runbook.run_runbook({**p, "parity_waive": ["publicly_accessible"]}, check_mode=False)
    assert waived["changed"] is False and waived["parity_waived"] == [
        f"publicly_accessible: {new}-1 PubliclyAccessible is True"
    ]


def test_parity_with_the_source_region_down_uses_the_absolute_rules(aws_endpoint_url, clients, target_key):
    gid, _, _ = global_database(clients, target_key)
    p = params(dr_option="global_failover", global_cluster_id=gid, endpoint_url=aws_endpoint_url, api_timeout=2.0)
    impaired = Clients(AwsConfig(endpoint_url=aws_endpoint_url), endpoints={SOURCE_REGION: DEAD})
    result = aurora_runbook.run(impaired, p, "global_failover")
    assert aurora_runbook.parity_check(impaired, p, result) == []
    assert result["steps"][-1] == "parity: source not readable, absolute rules only"
