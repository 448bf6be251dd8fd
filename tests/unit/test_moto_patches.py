"""dbshift.estate.moto_patches, checked against a real moto server started by aws_server.py.

Each test asserts the AWS behaviour a patch restores; against unpatched moto 5.2.5 each one fails.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from dbshift.aws.clients import AwsConfig, client
from dbshift.estate import moto_patches

REGION = "us-east-1"
DBI_RESOURCE_ID = re.compile(r"^db-[A-Z0-9]{26}$")


def _aws(service: str, endpoint: str) -> Any:
    return client(service, AwsConfig(region=REGION, endpoint_url=endpoint))


def _create_sqlserver(rds: Any, identifier: str) -> dict[str, Any]:
    return rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine="sqlserver-se",
        EngineVersion="15.00.4365.2.v1",
        LicenseModel="license-included",
        DBInstanceClass="db.m5.xlarge",
        AllocatedStorage=100,
        MasterUsername="admin",
        MasterUserPassword=secrets.token_urlsafe(16),
    )["DBInstance"]


def test_each_db_instance_gets_its_own_stable_dbi_resource_id(aws_endpoint_url: str) -> None:
    rds = _aws("rds", aws_endpoint_url)
    suffix = secrets.token_hex(3)
    first = _create_sqlserver(rds, f"patch-a-{suffix}")["DbiResourceId"]
    second = _create_sqlserver(rds, f"patch-b-{suffix}")["DbiResourceId"]

    assert first != second
    assert DBI_RESOURCE_ID.match(first) and DBI_RESOURCE_ID.match(second)
    # Stable: describing returns the id given at creation, and a rename keeps it (as in RDS).
    described = rds.describe_db_instances(DBInstanceIdentifier=f"patch-a-{suffix}")["DBInstances"][0]
    assert described["DbiResourceId"] == first
    rds.modify_db_instance(
        DBInstanceIdentifier=f"patch-a-{suffix}", NewDBInstanceIdentifier=f"patch-c-{suffix}", ApplyImmediately=True
    )
    renamed = rds.describe_db_instances(DBInstanceIdentifier=f"patch-c-{suffix}")["DBInstances"][0]
    assert renamed["DbiResourceId"] == first
    # And the dbi-resource-id filter finds exactly that instance.
    found = rds.describe_db_instances(Filters=[{"Name": "dbi-resource-id", "Values": [second]}])["DBInstances"]
    assert [d["DBInstanceIdentifier"] for d in found] == [f"patch-b-{suffix}"]


def test_kms_rotation_period_is_stored_and_reported(aws_endpoint_url: str) -> None:
    kms = _aws("kms", aws_endpoint_url)
    key_id = kms.create_key(Description="rotation-period")["KeyMetadata"]["KeyId"]

    before = time.time()
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 180
    next_rotation = status["NextRotationDate"].timestamp()
    assert before + 179 * 86400 < next_rotation < time.time() + 181 * 86400


def test_kms_rotation_period_defaults_to_365_and_is_validated(aws_endpoint_url: str) -> None:
    kms = _aws("kms", aws_endpoint_url)
    key_id = kms.create_key(Description="rotation-default")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["RotationPeriodInDays"] == 365

    # botocore checks the range client-side too; switch that off to see what the server says.
    unchecked = boto3.session.Session().client(
        "kms", region_name=REGION, endpoint_url=aws_endpoint_url, config=Config(parameter_validation=False)
    )
    with pytest.raises(botocore.exceptions.ClientError) as err:
        unchecked.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=30)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "rotationPeriodInDays" in err.value.response["Error"]["Message"]

    kms.disable_key_rotation(KeyId=key_id)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is False
    assert "RotationPeriodInDays" not in status


def test_sqlserver_2022_option_groups(aws_endpoint_url: str) -> None:
    rds = _aws("rds", aws_endpoint_url)
    name = f"patch-sqlserver-2022-{secrets.token_hex(3)}"
    created = rds.create_option_group(
        OptionGroupName=name,
        EngineName="sqlserver-ee",
        MajorEngineVersion="16.00",
        OptionGroupDescription="SQL Server 2022",
    )["OptionGroup"]
    assert created["MajorEngineVersion"] == "16.00"
    (described,) = rds.describe_option_groups(OptionGroupName=name)["OptionGroupsList"]
    assert (described["EngineName"], described["MajorEngineVersion"]) == ("sqlserver-ee", "16.00")

    # Versions RDS does not have are still refused, as before the patch.
    with pytest.raises(botocore.exceptions.ClientError) as err:
        rds.create_option_group(
            OptionGroupName=f"{name}-x",
            EngineName="sqlserver-ee",
            MajorEngineVersion="17.00",
            OptionGroupDescription="no such version",
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterCombination"


def _installed() -> tuple[Any, ...]:
    from moto.dms.models import DatabaseMigrationServiceBackend, FakeReplicationInstance, FakeReplicationTask
    from moto.elasticache.models import ElastiCacheBackend
    from moto.kms.responses import KmsResponse
    from moto.rds.models import DBInstance, RDSBackend
    from moto.redshift.models import Cluster
    from moto.redshift.responses import RedshiftResponse

    return (
        DBInstance.__init__,
        KmsResponse.enable_key_rotation,
        RDSBackend.create_option_group,
        FakeReplicationInstance.to_dict,
        FakeReplicationTask.to_dict,
        DatabaseMigrationServiceBackend.describe_replication_tasks,
        DatabaseMigrationServiceBackend.create_replication_instance,
        Cluster.cluster_availability_status.fget,
        Cluster.__init__,
        RedshiftResponse.create_cluster,
        ElastiCacheBackend.create_replication_group,
        ElastiCacheBackend.delete_replication_group,
    )


def test_apply_is_idempotent() -> None:
    moto_patches.apply()
    installed = _installed()
    moto_patches.apply()
    assert _installed() == installed
    assert all(getattr(fn, "_dbshift_patched", False) for fn in installed)
