"""RDS cross-Region DR patches (dbshift.estate.moto_patches_rds_dr), over HTTP against the moto server.

Each test fails against unpatched moto 5.2.5: a promoted cross-Region replica still names its source, a
cross-Region replica cannot be deleted, and automated backup replication does not exist (500 / no restore).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dbshift.aws.clients import AwsConfig, client

SOURCE, TARGET = "us-east-1", "us-west-2"


def _rds(endpoint: str, region: str) -> Any:
    return client("rds", AwsConfig(region=region, endpoint_url=endpoint))


def _key(endpoint: str, region: str) -> str:
    return client("kms", AwsConfig(region=region, endpoint_url=endpoint)).create_key()["KeyMetadata"]["Arn"]


def _source(rds: Any, **extra: Any) -> dict[str, Any]:
    return rds.create_db_instance(
        DBInstanceIdentifier=f"src-{uuid.uuid4().hex[:8]}",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
        **{"BackupRetentionPeriod": 7, **extra},
    )["DBInstance"]


def _describe(rds: Any, instance_id: str) -> dict[str, Any]:
    return rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return err.value.response["Error"]["Code"]


# ---------------------------------------------------------------- read replicas


def test_promoting_a_cross_region_replica_makes_it_standalone(aws_endpoint_url: str) -> None:
    east, west = _rds(aws_endpoint_url, SOURCE), _rds(aws_endpoint_url, TARGET)
    src = _source(east)
    replica_id = f"rep-{uuid.uuid4().hex[:8]}"
    replica = west.create_db_instance_read_replica(
        DBInstanceIdentifier=replica_id, SourceDBInstanceIdentifier=src["DBInstanceArn"], SourceRegion=SOURCE
    )["DBInstance"]
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == src["DBInstanceArn"]
    assert replica["DbiResourceId"] != src["DbiResourceId"]  # an instance of its own
    assert _describe(east, src["DBInstanceIdentifier"])["ReadReplicaDBInstanceIdentifiers"] == [
        replica["DBInstanceArn"]
    ]

    promoted = west.promote_read_replica(DBInstanceIdentifier=replica_id, BackupRetentionPeriod=3)["DBInstance"]
    assert "ReadReplicaSourceDBInstanceIdentifier" not in promoted
    after = _describe(west, replica_id)
    assert "ReadReplicaSourceDBInstanceIdentifier" not in after and after["BackupRetentionPeriod"] == 3
    assert after["DBInstanceArn"].split(":")[3] == TARGET and after["DBInstanceStatus"] == "available"
    assert _describe(east, src["DBInstanceIdentifier"]).get("ReadReplicaDBInstanceIdentifiers", []) == []

    west.delete_db_instance(DBInstanceIdentifier=replica_id, SkipFinalSnapshot=True)
    assert _describe(east, src["DBInstanceIdentifier"])["DBInstanceStatus"] == "available"


def test_deleting_a_cross_region_replica_takes_it_off_the_source(aws_endpoint_url: str) -> None:
    east, west = _rds(aws_endpoint_url, SOURCE), _rds(aws_endpoint_url, TARGET)
    src = _source(east)
    replica_id = f"rep-{uuid.uuid4().hex[:8]}"
    west.create_db_instance_read_replica(
        DBInstanceIdentifier=replica_id, SourceDBInstanceIdentifier=src["DBInstanceArn"], SourceRegion=SOURCE
    )
    west.delete_db_instance(DBInstanceIdentifier=replica_id, SkipFinalSnapshot=True)
    assert _describe(east, src["DBInstanceIdentifier"]).get("ReadReplicaDBInstanceIdentifiers", []) == []


# ---------------------------------------------------------------- automated backup replication


def test_replicated_backups_are_described_in_the_destination_and_restorable_there(aws_endpoint_url: str) -> None:
    east, west = _rds(aws_endpoint_url, SOURCE), _rds(aws_endpoint_url, TARGET)
    src = _source(east, StorageEncrypted=True)
    key = _key(aws_endpoint_url, TARGET)
    before = datetime.now(UTC) - timedelta(seconds=1)

    started = west.start_db_instance_automated_backups_replication(
        SourceDBInstanceArn=src["DBInstanceArn"], KmsKeyId=key, BackupRetentionPeriod=5, SourceRegion=SOURCE
    )["DBInstanceAutomatedBackup"]
    backup_arn = started["DBInstanceAutomatedBackupsArn"]
    assert backup_arn.startswith(f"arn:aws:rds:{TARGET}:") and ":auto-backup:ab-" in backup_arn
    assert _describe(east, src["DBInstanceIdentifier"])["DBInstanceAutomatedBackupsReplications"] == [
        {"DBInstanceAutomatedBackupsArn": backup_arn}
    ]

    found = west.describe_db_instance_automated_backups(DbiResourceId=src["DbiResourceId"])[
        "DBInstanceAutomatedBackups"
    ]
    assert len(found) == 1
    backup = found[0]
    assert backup["DBInstanceArn"] == src["DBInstanceArn"] and backup["Region"] == SOURCE
    assert backup["DBInstanceIdentifier"] == src["DBInstanceIdentifier"] and backup["Engine"] == "postgres"
    assert (backup["Status"], backup["Encrypted"], backup["KmsKeyId"]) == ("replicating", True, key)
    assert backup["BackupRetentionPeriod"] == 5 and backup["DBInstanceAutomatedBackupsArn"] == backup_arn
    window = backup["RestoreWindow"]
    assert before <= window["EarliestTime"] <= window["LatestTime"] <= datetime.now(UTC) + timedelta(seconds=1)
    by_arn = west.describe_db_instance_automated_backups(DBInstanceAutomatedBackupsArn=backup_arn)
    assert [b["DBInstanceArn"] for b in by_arn["DBInstanceAutomatedBackups"]] == [src["DBInstanceArn"]]
    # The source Region has no replicated backups of its own instance.
    assert backup_arn not in str(east.describe_db_instance_automated_backups()["DBInstanceAutomatedBackups"])

    # A point-in-time restore in the destination Region, with the settings the request gives.
    new_id = f"pitr-{uuid.uuid4().hex[:8]}"
    restored = west.restore_db_instance_to_point_in_time(
        SourceDBInstanceAutomatedBackupsArn=backup_arn,
        TargetDBInstanceIdentifier=new_id,
        RestoreTime=window["EarliestTime"],
        DBInstanceClass="db.t3.small",
        PubliclyAccessible=False,
        MultiAZ=True,
        Tags=[{"Key": "purpose", "Value": "dr"}],
    )["DBInstance"]
    assert restored["DBInstanceArn"] == f"arn:aws:rds:{TARGET}:123456789012:db:{new_id}"
    inst = _describe(west, new_id)
    assert (inst["StorageEncrypted"], inst["KmsKeyId"]) == (True, key)
    assert (inst["Engine"], inst["DBInstanceClass"], inst["MultiAZ"], inst["PubliclyAccessible"]) == (
        "postgres",
        "db.t3.small",
        True,
        False,
    )
    assert {"Key": "purpose", "Value": "dr"} in inst["TagList"]

    # A time outside the window is refused; nothing is created.
    with pytest.raises(ClientError) as err:
        west.restore_db_instance_to_point_in_time(
            SourceDBInstanceAutomatedBackupsArn=backup_arn,
            TargetDBInstanceIdentifier=f"{new_id}-old",
            RestoreTime=window["EarliestTime"] - timedelta(days=1),
        )
    assert _code(err) == "InvalidParameterValue" and "outside the restorable window" in str(err.value)

    # Stopped: the source lists no replication; the backups stay, retained, and still restore.
    stopped = west.stop_db_instance_automated_backups_replication(SourceDBInstanceArn=src["DBInstanceArn"])
    assert stopped["DBInstanceAutomatedBackup"]["Status"] == "retained"
    assert not _describe(east, src["DBInstanceIdentifier"]).get("DBInstanceAutomatedBackupsReplications")
    latest = west.restore_db_instance_to_point_in_time(
        SourceDBInstanceAutomatedBackupsArn=backup_arn,
        TargetDBInstanceIdentifier=f"{new_id}-latest",
        UseLatestRestorableTime=True,
    )["DBInstance"]
    assert latest["DBInstanceArn"].split(":")[3] == TARGET and latest["KmsKeyId"] == key


def test_restore_needs_nothing_from_the_source_region(aws_endpoint_url: str) -> None:
    east, west = _rds(aws_endpoint_url, SOURCE), _rds(aws_endpoint_url, TARGET)
    src = _source(east)
    backup = west.start_db_instance_automated_backups_replication(SourceDBInstanceArn=src["DBInstanceArn"])[
        "DBInstanceAutomatedBackup"
    ]
    assert backup["Encrypted"] is False and "KmsKeyId" not in backup
    east.delete_db_instance(DBInstanceIdentifier=src["DBInstanceIdentifier"], SkipFinalSnapshot=True)
    new_id = f"pitr-{uuid.uuid4().hex[:8]}"
    west.restore_db_instance_to_point_in_time(
        SourceDBInstanceAutomatedBackupsArn=backup["DBInstanceAutomatedBackupsArn"],
        TargetDBInstanceIdentifier=new_id,
        UseLatestRestorableTime=True,
    )
    assert _describe(west, new_id)["AllocatedStorage"] == 20


def test_replication_refuses_what_rds_refuses(aws_endpoint_url: str) -> None:
    east, west = _rds(aws_endpoint_url, SOURCE), _rds(aws_endpoint_url, TARGET)
    encrypted = _source(east, StorageEncrypted=True)
    arn = encrypted["DBInstanceArn"]
    with pytest.raises(ClientError) as err:  # an encrypted source needs a destination key
        west.start_db_instance_automated_backups_replication(SourceDBInstanceArn=arn)
    assert "Encrypted instances require a valid KMS key ID" in str(err.value)
    with pytest.raises(ClientError) as err:  # a key of the source Region is not usable in the destination
        west.start_db_instance_automated_backups_replication(
            SourceDBInstanceArn=arn, KmsKeyId=_key(aws_endpoint_url, SOURCE)
        )
    assert _code(err) == "KMSKeyNotAccessibleFault"
    with pytest.raises(ClientError) as err:  # replication goes to another Region
        east.start_db_instance_automated_backups_replication(SourceDBInstanceArn=arn)
    assert _code(err) == "InvalidParameterValue"
    no_backups = _source(east, BackupRetentionPeriod=0)
    with pytest.raises(ClientError) as err:
        west.start_db_instance_automated_backups_replication(SourceDBInstanceArn=no_backups["DBInstanceArn"])
    assert _code(err) == "InvalidDBInstanceState"
    missing = f"arn:aws:rds:{SOURCE}:123456789012:db:nope-{uuid.uuid4().hex[:6]}"
    with pytest.raises(ClientError) as err:
        west.start_db_instance_automated_backups_replication(SourceDBInstanceArn=missing)
    assert _code(err) == "DBInstanceNotFound"
    with pytest.raises(ClientError) as err:
        west.stop_db_instance_automated_backups_replication(SourceDBInstanceArn=arn)
    assert _code(err) == "InvalidDBInstanceState"
    with pytest.raises(ClientError) as err:
        west.restore_db_instance_to_point_in_time(
            SourceDBInstanceAutomatedBackupsArn=f"arn:aws:rds:{TARGET}:123456789012:auto-backup:ab-nope",
            TargetDBInstanceIdentifier="never-made",
            UseLatestRestorableTime=True,
        )
    assert _code(err) == "DBInstanceAutomatedBackupNotFound"
    assert (
        west.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": ["never-made"]}])["DBInstances"] == []
    )
