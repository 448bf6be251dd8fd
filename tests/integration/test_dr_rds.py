"""RDS DR options A, B, C against the moto server in us-east-1 (source) and us-west-2 (target).

moto gaps covered with botocore's Stubber (request and response checked against the RDS model):
- promotion: moto keeps ReadReplicaSourceDBInstanceIdentifier after PromoteReadReplica;
- replicated automated backups: no DescribeDBInstanceAutomatedBackups across Regions (no RestoreWindow,
  Region, ARN) and no RestoreDBInstanceToPointInTime with SourceDBInstanceAutomatedBackupsArn;
- snapshot states: a moto snapshot is "available" at once, so "never available"/"failed" are stubbed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import UnStubbedResponseError
from test_dr_rds_support import SOURCE_REGION, TARGET_REGION, PartialStubber, make_source, model_instance, unique

from dbshift.aws.clients import AwsConfig
from dbshift.dr import Clients, rds
from dbshift.dr.kms_errors import KmsProblem
from dbshift.dr.waits import ResourceFailed, WaitTimeout
from dbshift.errors import ConfigError, DbshiftError


@pytest.fixture()
def clients(aws_endpoint_url: str) -> Clients:
    return Clients(AwsConfig(endpoint_url=aws_endpoint_url))


@pytest.fixture(scope="module")
def target_key(aws_endpoint_url: str) -> str:
    c = Clients(AwsConfig(endpoint_url=aws_endpoint_url))
    return c.kms(TARGET_REGION).create_key(Description="dr target")["KeyMetadata"]["Arn"]


SETTINGS = rds.TargetSettings(instance_class="db.t3.small", multi_az=True, deletion_protection=True)


# ---------------------------------------------------------------- C: snapshot copy


def test_snapshot_copy_end_to_end_encrypts_with_target_key_and_rerun_changes_nothing(clients, target_key):
    src_id, new_id = unique("src"), unique("dr")
    make_source(clients.rds(SOURCE_REGION), src_id)  # unencrypted source
    clients.rds(SOURCE_REGION).create_db_snapshot(DBInstanceIdentifier=src_id, DBSnapshotIdentifier=f"{src_id}-man")

    first = rds.snapshot_copy(
        clients, SOURCE_REGION, TARGET_REGION, target_key, new_id, SETTINGS, source_instance_id=src_id, poll=0.1
    )
    assert first.changed and first.region == TARGET_REGION
    target = clients.rds(TARGET_REGION)
    inst = target.describe_db_instances(DBInstanceIdentifier=new_id)["DBInstances"][0]
    assert inst["DBInstanceArn"].split(":")[3] == TARGET_REGION
    assert inst["StorageEncrypted"] is True and inst["KmsKeyId"] == target_key
    assert inst["MultiAZ"] is True and inst["DBInstanceClass"] == "db.t3.small"
    copy = target.describe_db_snapshots(DBSnapshotIdentifier=rds.copy_id_for(new_id))["DBSnapshots"][0]
    assert copy["Encrypted"] is True and copy["KmsKeyId"] == target_key
    assert first.kms_key_id == target_key and first.snapshot_copy_id == rds.copy_id_for(new_id)

    again = rds.snapshot_copy(
        clients, SOURCE_REGION, TARGET_REGION, target_key, new_id, SETTINGS, source_instance_id=src_id, poll=0.1
    )
    assert again.changed is False and again.instance_arn == first.instance_arn
    copies = target.describe_db_snapshots(DBInstanceIdentifier=src_id)["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"] for s in copies if s["DBSnapshotArn"].split(":")[3] == TARGET_REGION] == [
        rds.copy_id_for(new_id)
    ]


def test_snapshot_copy_refuses_a_key_of_another_region_before_creating_anything(clients):
    src_id, new_id = unique("src"), unique("dr")
    make_source(clients.rds(SOURCE_REGION), src_id)
    wrong = clients.kms(SOURCE_REGION).create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(ConfigError) as err:
        rds.snapshot_copy(clients, SOURCE_REGION, TARGET_REGION, wrong, new_id, SETTINGS, source_instance_id=src_id)
    assert (
        wrong in str(err.value)
        and f"in {TARGET_REGION}" in str(err.value)
        and "specific to the Region" in str(err.value)
    )
    target = clients.rds(TARGET_REGION)
    assert rds.describe_snapshot(target, rds.copy_id_for(new_id)) is None
    assert rds.describe_instance(target, new_id) is None


def test_snapshot_copy_refuses_a_disabled_key_naming_the_check(clients):
    src_id, new_id = unique("src"), unique("dr")
    make_source(clients.rds(SOURCE_REGION), src_id)
    kms = clients.kms(TARGET_REGION)
    meta = kms.create_key()["KeyMetadata"]
    key = meta["Arn"]
    kms.disable_key(KeyId=meta["KeyId"])  # moto answers 500 to DisableKey by ARN
    with pytest.raises(KmsProblem, match="Disabled, not Enabled"):
        rds.snapshot_copy(clients, SOURCE_REGION, TARGET_REGION, key, new_id, SETTINGS, source_instance_id=src_id)
    assert rds.describe_snapshot(clients.rds(TARGET_REGION), rds.copy_id_for(new_id)) is None


def _copy_response(snapshot_id: str, status: str, key: str) -> dict:
    return {
        "DBSnapshots": [
            {
                "DBSnapshotIdentifier": snapshot_id,
                "Status": status,
                "PercentProgress": 40,
                "Encrypted": True,
                "KmsKeyId": key,
                "DBSnapshotArn": f"arn:aws:rds:{TARGET_REGION}:123456789012:snapshot:{snapshot_id}",
            }
        ]
    }


def test_snapshot_copy_that_never_becomes_available_stops_naming_it(clients, target_key):
    src_id, new_id = unique("src"), unique("dr")
    make_source(clients.rds(SOURCE_REGION), src_id)
    copy_id = rds.copy_id_for(new_id)
    target = clients.rds(TARGET_REGION)
    with PartialStubber(target, {"DescribeDBSnapshots"}) as stub:
        stub.add_client_error("describe_db_snapshots", "DBSnapshotNotFound", http_status_code=404)
        stub.add_response("describe_db_snapshots", _copy_response(copy_id, "creating", target_key))
        with pytest.raises(WaitTimeout) as err:
            rds.snapshot_copy(
                clients, SOURCE_REGION, TARGET_REGION, target_key, new_id, SETTINGS, src_id, timeout=0, poll=0.1
            )
        stub.assert_no_pending_responses()
    assert f"snapshot {copy_id} in {TARGET_REGION} is still 'creating (40%)'" in str(err.value)
    assert rds.describe_instance(target, new_id) is None  # no restore from an unfinished copy


def test_failed_snapshot_copy_names_the_kms_checks(clients, target_key):
    src_id, new_id = unique("src"), unique("dr")
    make_source(clients.rds(SOURCE_REGION), src_id)
    copy_id = rds.copy_id_for(new_id)
    target = clients.rds(TARGET_REGION)
    with PartialStubber(target, {"DescribeDBSnapshots"}) as stub:
        stub.add_client_error("describe_db_snapshots", "DBSnapshotNotFound", http_status_code=404)
        stub.add_response("describe_db_snapshots", _copy_response(copy_id, "failed", target_key))
        with pytest.raises(ResourceFailed) as err:
            rds.snapshot_copy(clients, SOURCE_REGION, TARGET_REGION, target_key, new_id, SETTINGS, src_id, poll=0.1)
    text = str(err.value)
    assert f"snapshot {copy_id} in {TARGET_REGION} is 'failed'" in text and "snapshot copy has failed" in text
    assert "kms:CreateGrant" in text and "enabled" in text and TARGET_REGION in text


def test_snapshot_copy_reports_sqlserver_options_the_target_lacks(clients, target_key):
    src_id, new_id, group = unique("sql"), unique("dr"), unique("og-src")
    east, west = clients.rds(SOURCE_REGION), clients.rds(TARGET_REGION)
    east.create_option_group(
        OptionGroupName=group, EngineName="sqlserver-se", MajorEngineVersion="15.00", OptionGroupDescription="src"
    )
    east.modify_option_group(
        OptionGroupName=group,
        OptionsToInclude=[{"OptionName": "SQLSERVER_BACKUP_RESTORE", "OptionSettings": []}],
        ApplyImmediately=True,
    )
    target_group = unique("og-dst")
    west.create_option_group(
        OptionGroupName=target_group, EngineName="sqlserver-se", MajorEngineVersion="15.00", OptionGroupDescription="t"
    )
    make_source(
        east,
        src_id,
        Engine="sqlserver-se",
        EngineVersion="15.00.4236.7.v1",
        OptionGroupName=group,
        LicenseModel="license-included",
    )
    east.create_db_snapshot(DBInstanceIdentifier=src_id, DBSnapshotIdentifier=f"{src_id}-man")
    settings = rds.TargetSettings(option_group=target_group)
    result = rds.snapshot_copy(clients, SOURCE_REGION, TARGET_REGION, target_key, new_id, settings, src_id, poll=0.1)
    assert result.missing_options == ["SQLSERVER_BACKUP_RESTORE"]


# ---------------------------------------------------------------- A: promote a replica


def test_promote_refuses_a_replica_that_does_not_exist(clients):
    with pytest.raises(DbshiftError, match=f"read replica nope-replica of {SOURCE_REGION}/db9 does not exist in"):
        rds.promote_replica(clients, SOURCE_REGION, "db9", TARGET_REGION, "nope-replica")


def test_promote_refuses_a_replica_of_another_source(clients):
    src_id, other = unique("src"), unique("other")
    arn = make_source(clients.rds(SOURCE_REGION), src_id)["DBInstanceArn"]
    replica = unique("rep")
    clients.rds(TARGET_REGION).create_db_instance_read_replica(
        DBInstanceIdentifier=replica, SourceDBInstanceIdentifier=arn, SourceRegion=SOURCE_REGION
    )
    with pytest.raises(DbshiftError, match=f"replicates from {arn}, not from {SOURCE_REGION}/{other}"):
        rds.promote_replica(clients, SOURCE_REGION, other, TARGET_REGION, replica)


def test_promote_replica_then_rerun_is_unchanged(clients):
    src_id, replica = unique("src"), unique("rep")
    arn = make_source(clients.rds(SOURCE_REGION), src_id)["DBInstanceArn"]
    target = clients.rds(TARGET_REGION)
    target.create_db_instance_read_replica(
        DBInstanceIdentifier=replica, SourceDBInstanceIdentifier=arn, SourceRegion=SOURCE_REGION
    )
    as_replica = target.describe_db_instances(DBInstanceIdentifier=replica)["DBInstances"][0]
    assert as_replica["ReadReplicaSourceDBInstanceIdentifier"] == arn  # moto: a real cross-region replica
    promoted = model_instance(as_replica, ReadReplicaSourceDBInstanceIdentifier=None)

    # moto keeps ReadReplicaSourceDBInstanceIdentifier after promotion: describe/promote are stubbed.
    with PartialStubber(target, {"DescribeDBInstances", "PromoteReadReplica"}) as stub:
        stub.add_response("describe_db_instances", {"DBInstances": [model_instance(as_replica)]})
        stub.add_response("describe_db_instances", {"DBInstances": [model_instance(as_replica)]})
        stub.add_response(
            "promote_read_replica",
            {"DBInstance": model_instance(as_replica, DBInstanceStatus="modifying")},
            {"DBInstanceIdentifier": replica},
        )
        stub.add_response("describe_db_instances", {"DBInstances": [promoted]})
        first = rds.promote_replica(clients, SOURCE_REGION, src_id, TARGET_REGION, replica, poll=0.1)
        stub.assert_no_pending_responses()
    assert first.changed is True and first.status == "available"
    tag_list = target.list_tags_for_resource(ResourceName=as_replica["DBInstanceArn"])["TagList"]
    assert {"Key": "dbshift:dr-promoted-from", "Value": f"{SOURCE_REGION}/{src_id}"} in tag_list  # real moto tag

    after = target.describe_db_instances(DBInstanceIdentifier=replica)["DBInstances"][0]
    with PartialStubber(target, {"DescribeDBInstances", "PromoteReadReplica"}) as stub:
        stub.add_response(
            "describe_db_instances",
            {"DBInstances": [model_instance(after, ReadReplicaSourceDBInstanceIdentifier=None)]},
        )
        stub.add_response(
            "describe_db_instances",
            {"DBInstances": [model_instance(after, ReadReplicaSourceDBInstanceIdentifier=None)]},
        )
        again = rds.promote_replica(clients, SOURCE_REGION, src_id, TARGET_REGION, replica, poll=0.1)
        stub.assert_no_pending_responses()  # and PromoteReadReplica would raise: nothing queued
    assert again.changed is False and again.steps == ["already promoted"]


# ---------------------------------------------------------------- B: PITR from replicated backups


def _backup(source_arn: str, earliest: datetime, latest: datetime, key: str) -> dict:
    return {
        "DBInstanceArn": source_arn,
        "DbiResourceId": "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "Region": SOURCE_REGION,
        "DBInstanceIdentifier": source_arn.rsplit(":", 1)[1],
        "Status": "replicating",
        "Encrypted": True,
        "KmsKeyId": key,
        "RestoreWindow": {"EarliestTime": earliest, "LatestTime": latest},
        "DBInstanceAutomatedBackupsArn": f"arn:aws:rds:{TARGET_REGION}:123456789012:auto-backup:ab-xyz",
    }


def _restored(new_id: str, key: str, source_arn: str) -> dict:
    return {
        "DBInstanceIdentifier": new_id,
        "DBInstanceArn": f"arn:aws:rds:{TARGET_REGION}:123456789012:db:{new_id}",
        "DBInstanceStatus": "available",
        "StorageEncrypted": True,
        "KmsKeyId": key,
        "PubliclyAccessible": False,
        "TagList": [{"Key": "dbshift:dr-source-arn", "Value": source_arn}, {"Key": "dbshift:dr-option", "Value": "B"}],
    }


def test_pitr_from_replicated_backups_then_rerun_is_unchanged(clients, target_key):
    source_arn = f"arn:aws:rds:{SOURCE_REGION}:123456789012:db:{unique('src')}"
    new_id = unique("dr")
    now = datetime.now(UTC).replace(microsecond=0)
    when = now - timedelta(hours=1)
    target = clients.rds(TARGET_REGION)
    ops = {"DescribeDBInstances", "DescribeDBInstanceAutomatedBackups", "RestoreDBInstanceToPointInTime"}
    with PartialStubber(target, ops) as stub:
        stub.add_client_error("describe_db_instances", "DBInstanceNotFound", http_status_code=404)
        stub.add_response(
            "describe_db_instance_automated_backups",
            {"DBInstanceAutomatedBackups": [_backup(source_arn, now - timedelta(days=3), now, target_key)]},
        )
        stub.add_response(
            "restore_db_instance_to_point_in_time",
            {"DBInstance": {**_restored(new_id, target_key, source_arn), "DBInstanceStatus": "creating"}},
            {
                "SourceDBInstanceAutomatedBackupsArn": f"arn:aws:rds:{TARGET_REGION}:123456789012:auto-backup:ab-xyz",
                "TargetDBInstanceIdentifier": new_id,
                "RestoreTime": when,
                "Tags": [
                    {"Key": "dbshift:dr-source-arn", "Value": source_arn},
                    {"Key": "dbshift:dr-option", "Value": "B"},
                ],
                "MultiAZ": True,
                "PubliclyAccessible": False,
                "DeletionProtection": True,
                "DBInstanceClass": "db.t3.small",
            },
        )
        stub.add_response("describe_db_instances", {"DBInstances": [_restored(new_id, target_key, source_arn)]})
        first = rds.pitr_replicated_backup(clients, source_arn, TARGET_REGION, new_id, SETTINGS, when, poll=0.1)
        stub.assert_no_pending_responses()

        stub.add_response("describe_db_instances", {"DBInstances": [_restored(new_id, target_key, source_arn)]})
        stub.add_response("describe_db_instances", {"DBInstances": [_restored(new_id, target_key, source_arn)]})
        again = rds.pitr_replicated_backup(clients, source_arn, TARGET_REGION, new_id, SETTINGS, when, poll=0.1)
        stub.assert_no_pending_responses()
    assert first.changed is True and first.restore_time == when.isoformat() and first.kms_key_id == target_key
    assert again.changed is False


def test_pitr_refuses_a_time_outside_the_restore_window(clients, target_key):
    source_arn = f"arn:aws:rds:{SOURCE_REGION}:123456789012:db:{unique('src')}"
    now = datetime.now(UTC).replace(microsecond=0)
    target = clients.rds(TARGET_REGION)
    with PartialStubber(target, {"DescribeDBInstances", "DescribeDBInstanceAutomatedBackups"}) as stub:
        stub.add_client_error("describe_db_instances", "DBInstanceNotFound", http_status_code=404)
        stub.add_response(
            "describe_db_instance_automated_backups",
            {"DBInstanceAutomatedBackups": [_backup(source_arn, now - timedelta(days=1), now, target_key)]},
        )
        with pytest.raises(ConfigError, match="outside the restorable window"):
            rds.pitr_replicated_backup(
                clients, source_arn, TARGET_REGION, unique("dr"), SETTINGS, now - timedelta(days=2)
            )


def test_pitr_without_replicated_backups_names_the_fix(clients):
    # moto answers DescribeDBInstanceAutomatedBackups with local backups only: none match the source.
    source_arn = f"arn:aws:rds:{SOURCE_REGION}:123456789012:db:{unique('src')}"
    with pytest.raises(DbshiftError, match="start-db-instance-automated-backups-replication"):
        rds.pitr_replicated_backup(clients, source_arn, TARGET_REGION, unique("dr"), SETTINGS)


def test_partial_stubber_refuses_unqueued_calls(clients):
    target = clients.rds(TARGET_REGION)
    with PartialStubber(target, {"PromoteReadReplica"}), pytest.raises(UnStubbedResponseError):
        target.promote_read_replica(DBInstanceIdentifier="x")
