"""Apply stacks/local against the emulated AWS (moto server with dbshift's patches), check what exists
with boto3, re-plan (no changes), then destroy and check it is gone.

The tests in this file run in order against one applied stack; the last one destroys it.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from tf_helpers import REPO, TerraformRun

from dbshift.aws.clients import AwsConfig, client

REGION = "us-east-1"
# The Glue job scripts the stack uploads (another engineer's files: the apply fails until they exist).
GLUE_SCRIPTS_DIR = REPO / "src" / "dbshift" / "datamove" / "glue"
GLUE_STAGES = {"export": "export_job.py", "transform": "transform_job.py", "load": "load_job.py"}
SOURCE_USERNAME = "dbshift_reader"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@dataclass
class LocalStack:
    path: Path
    var_file: Path
    name_prefix: str
    aws: AwsConfig
    outputs: dict[str, Any]
    source_password: str = field(repr=False)  # never in a failure report
    target_dsn: str = field(repr=False)  # put into the target secret out of band, as the estate does
    destroyed: bool = field(default=False)

    def client(self, service: str) -> Any:
        return client(service, self.aws)


@pytest.fixture(scope="module")
def local_stack(initialised, terraform: TerraformRun, aws_endpoint_url: str) -> Iterator[LocalStack]:
    path = initialised("stacks/local")
    # A name of our own: the estate may have applied the same stack to this server already.
    prefix = "tft-" + secrets.token_hex(3)
    source_password = secrets.token_urlsafe(16)  # emulated estate only; compared, never printed
    target_dsn = f"postgresql://dbshift:{secrets.token_urlsafe(16)}@127.0.0.1:5432/dbshift"
    var_file = path / "test.tfvars.json"
    tmp = var_file.with_suffix(".tmp")
    variables = {
        "aws_endpoint_url": aws_endpoint_url,
        "region": REGION,
        "name_prefix": prefix,
        "controller_role_arns": [controller_role_arn(prefix)],
        "glue_scripts_dir": str(GLUE_SCRIPTS_DIR),
        "migration_source_username": SOURCE_USERNAME,
        "migration_source_password": source_password,
        "migration_source_filters": {"cell_performance_data": "site_code <> 'TEST'"},
    }
    tmp.write_text(json.dumps(variables))
    os.replace(tmp, var_file)
    stack = LocalStack(
        path, var_file, prefix, AwsConfig(region=REGION, endpoint_url=aws_endpoint_url), {}, source_password, target_dsn
    )
    try:
        terraform(path, "apply", "-auto-approve", "-input=false", f"-var-file={var_file}", timeout=240)
        raw = json.loads(terraform(path, "output", "-json").stdout)
        stack.outputs = {name: value["value"] for name, value in raw.items()}
        yield stack
    finally:
        if not stack.destroyed:
            terraform(path, "destroy", "-auto-approve", "-input=false", f"-var-file={var_file}", check=False)


def controller_role_arn(prefix: str) -> str:
    return f"arn:aws:iam::123456789012:role/{prefix}-controller"


def _policy(document: str | dict[str, Any]) -> dict[str, Any]:
    return document if isinstance(document, dict) else json.loads(document)


def _statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    matches = [s for s in policy["Statement"] if s.get("Sid") == sid]
    assert len(matches) == 1, f"expected one statement {sid!r} in {json.dumps(policy, indent=2)}"
    return matches[0]


def _as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_outputs(local_stack: LocalStack) -> None:
    o = local_stack.outputs
    p = local_stack.name_prefix
    assert o["backup_bucket_name"] == f"{p}-backups-123456789012"
    assert o["backup_bucket_arn"] == f"arn:aws:s3:::{p}-backups-123456789012"
    assert o["backup_s3_prefix_url"] == f"s3://{p}-backups-123456789012/backups/"
    assert o["tlog_s3_prefix_url"] == f"s3://{p}-backups-123456789012/tlogs/"
    assert o["tlog_copy_target_s3_arn"] == f"arn:aws:s3:::{p}-backups-123456789012/tlogs"
    assert o["certificate_bucket_name"] == f"{p}-tde-certs-123456789012"
    assert o["certificate_bucket_arn"] == f"arn:aws:s3:::{p}-tde-certs-123456789012"
    assert o["certificate_s3_prefix_url"] == f"s3://{p}-tde-certs-123456789012/certificates/"
    assert o["kms_key_arn"].startswith(f"arn:aws:kms:{REGION}:123456789012:key/")
    assert o["kms_key_alias"] == f"alias/{p}-backups"
    assert o["rds_backup_restore_role_arn"] == f"arn:aws:iam::123456789012:role/{p}-sqlserver-rds-backup-restore"
    assert o["option_group_name"] == f"{p}-sqlserver"


def _buckets(local_stack: LocalStack) -> tuple[str, str, str]:
    o = local_stack.outputs
    return o["backup_bucket_name"], o["certificate_bucket_name"], o["log_bucket_name"]


def test_backup_bucket_sse_s3_because_of_tlog_copies(local_stack: LocalStack) -> None:
    s3 = local_stack.client("s3")
    rules = s3.get_bucket_encryption(Bucket=local_stack.outputs["backup_bucket_name"])[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    assert len(rules) == 1
    default = rules[0]["ApplyServerSideEncryptionByDefault"]
    # AWS does not support tlog copies into SSE-KMS buckets; RDS KMS-encrypts each tlog itself.
    assert default["SSEAlgorithm"] == "AES256"
    assert "KMSMasterKeyID" not in default


def test_certificate_bucket_encrypted_with_the_key(local_stack: LocalStack) -> None:
    s3 = local_stack.client("s3")
    rules = s3.get_bucket_encryption(Bucket=local_stack.outputs["certificate_bucket_name"])[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    assert len(rules) == 1
    default = rules[0]["ApplyServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert default["KMSMasterKeyID"] == local_stack.outputs["kms_key_arn"]
    assert rules[0]["BucketKeyEnabled"] is True


def test_public_access_blocked(local_stack: LocalStack) -> None:
    s3 = local_stack.client("s3")
    for bucket in _buckets(local_stack):
        config = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert config == {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }, bucket


def _assert_tls_only(policy: dict[str, Any], bucket_arn: str) -> None:
    tls = _statement(policy, "DenyInsecureTransport")
    assert tls["Effect"] == "Deny" and tls["Principal"] == "*" and tls["Action"] == "s3:*"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(_as_list(tls["Resource"])) == sorted([bucket_arn, f"{bucket_arn}/*"])
    old_tls = _statement(policy, "DenyOutdatedTls")
    assert old_tls["Effect"] == "Deny" and old_tls["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}


def test_backup_bucket_policy(local_stack: LocalStack) -> None:
    s3 = local_stack.client("s3")
    bucket_arn = local_stack.outputs["backup_bucket_arn"]
    policy = json.loads(s3.get_bucket_policy(Bucket=local_stack.outputs["backup_bucket_name"])["Policy"])
    _assert_tls_only(policy, bucket_arn)

    wrong_algorithm = _statement(policy, "DenyIncorrectEncryptionHeader")
    assert wrong_algorithm["Effect"] == "Deny" and wrong_algorithm["Action"] == "s3:PutObject"
    assert wrong_algorithm["Condition"]["StringNotEquals"] == {"s3:x-amz-server-side-encryption": "AES256"}
    assert not [s for s in policy["Statement"] if "s3:x-amz-server-side-encryption-aws-kms-key-id" in json.dumps(s)]

    # RDS copies tlogs as backups.rds.amazonaws.com, only under the tlog prefix, with the ACL
    # that hands the object to the bucket owner.
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "backups.rds.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == f"{bucket_arn}/tlogs/*"
    assert allow["Condition"]["StringEquals"] == {
        "s3:x-amz-acl": "bucket-owner-full-control",
        "aws:SourceAccount": "123456789012",
    }
    assert _as_list(allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == [f"arn:aws:rds:{REGION}:123456789012:db:*"]


def test_certificate_bucket_policy(local_stack: LocalStack) -> None:
    s3 = local_stack.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=local_stack.outputs["certificate_bucket_name"])["Policy"])
    _assert_tls_only(policy, local_stack.outputs["certificate_bucket_arn"])

    wrong_key = _statement(policy, "DenyIncorrectKmsKeySse")
    assert wrong_key["Effect"] == "Deny" and wrong_key["Action"] == "s3:PutObject"
    assert wrong_key["Condition"]["StringNotEquals"] == {
        "s3:x-amz-server-side-encryption-aws-kms-key-id": local_stack.outputs["kms_key_arn"]
    }
    # Only uploads that name a key are checked: RDS uploads carry no SSE header.
    assert wrong_key["Condition"]["Null"] == {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"}
    assert not [s for s in policy["Statement"] if s["Effect"] == "Allow"]


def test_versioning_ownership_and_logging(local_stack: LocalStack) -> None:
    s3 = local_stack.client("s3")
    backups, certificates, logs = _buckets(local_stack)
    for name in (backups, certificates, logs):
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled", name

    def ownership(name: str) -> str:
        return s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"][0]["ObjectOwnership"]

    assert ownership(backups) == "BucketOwnerPreferred"  # RDS tlog copies use bucket-owner-full-control
    assert ownership(certificates) == "BucketOwnerPreferred"
    assert ownership(logs) == "BucketOwnerEnforced"

    log_policy = json.loads(s3.get_bucket_policy(Bucket=logs)["Policy"])
    deliveries = [s for s in log_policy["Statement"] if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}]
    for bucket in (backups, certificates):
        logging = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
        assert logging["TargetBucket"] == logs, bucket
        assert logging["TargetPrefix"] == f"{bucket}/"
        # Each source may deliver only under its own prefix.
        (delivery,) = [
            s for s in deliveries if s["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}
        ]
        assert delivery["Resource"] == f"arn:aws:s3:::{logs}/{bucket}/*"

    log_encryption = s3.get_bucket_encryption(Bucket=logs)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert log_encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_kms_key(local_stack: LocalStack) -> None:
    kms = local_stack.client("kms")
    key_arn = local_stack.outputs["kms_key_arn"]
    meta = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    assert meta["Enabled"] is True and meta["KeyState"] == "Enabled"
    assert meta["KeySpec"] == "SYMMETRIC_DEFAULT" and meta["KeyUsage"] == "ENCRYPT_DECRYPT"

    rotation = kms.get_key_rotation_status(KeyId=key_arn)
    assert rotation["KeyRotationEnabled"] is True
    assert rotation["RotationPeriodInDays"] == 365

    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases(KeyId=key_arn)["Aliases"]}
    assert aliases == {local_stack.outputs["kms_key_alias"]: meta["KeyId"]}

    policy = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    usage = _statement(policy, "KeyUsage")
    assert _as_list(usage["Principal"]["AWS"]) == [local_stack.outputs["rds_backup_restore_role_arn"]]
    assert "kms:Decrypt" in usage["Action"] and "kms:GenerateDataKey*" in usage["Action"]
    # The runbook's controller reads what RDS encrypted; it never encrypts.
    decrypt = _statement(policy, "KeyDecryptOnly")
    assert _as_list(decrypt["Principal"]["AWS"]) == [controller_role_arn(local_stack.name_prefix)]
    assert sorted(_as_list(decrypt["Action"])) == ["kms:Decrypt", "kms:DescribeKey"]


def test_rds_backup_restore_role(local_stack: LocalStack) -> None:
    iam = local_stack.client("iam")
    role_name = local_stack.outputs["rds_backup_restore_role_arn"].rsplit("/", 1)[1]
    role = iam.get_role(RoleName=role_name)["Role"]
    trust = _policy(role["AssumeRolePolicyDocument"])
    (statement,) = trust["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "rds.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    option_group_arn = f"arn:aws:rds:{REGION}:123456789012:og:{local_stack.outputs['option_group_name']}"
    assert option_group_arn in _as_list(statement["Condition"]["ArnLike"]["aws:SourceArn"])

    permissions = _policy(iam.get_role_policy(RoleName=role_name, PolicyName="native-backup-restore")["PolicyDocument"])
    bucket_arns = [local_stack.outputs["backup_bucket_arn"], local_stack.outputs["certificate_bucket_arn"]]
    assert sorted(_as_list(_statement(permissions, "BucketAccess")["Resource"])) == sorted(bucket_arns)
    assert sorted(_as_list(_statement(permissions, "ObjectAccess")["Resource"])) == sorted(
        f"{a}/*" for a in bucket_arns
    )
    assert _statement(permissions, "KeyAccess")["Resource"] == [local_stack.outputs["kms_key_arn"]]
    assert sorted(_statement(permissions, "KeyAccess")["Action"]) == [
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    ]


def test_option_group(local_stack: LocalStack) -> None:
    rds = local_stack.client("rds")
    (group,) = rds.describe_option_groups(OptionGroupName=local_stack.outputs["option_group_name"])["OptionGroupsList"]
    assert group["EngineName"] == "sqlserver-se"
    assert group["MajorEngineVersion"] == "15.00"
    options = {o["OptionName"]: o for o in group["Options"]}
    assert set(options) == {"SQLSERVER_BACKUP_RESTORE", "TRANSPARENT_DATA_ENCRYPTION"}
    settings = {s["Name"]: s["Value"] for s in options["SQLSERVER_BACKUP_RESTORE"]["OptionSettings"]}
    assert settings == {"IAM_ROLE_ARN": local_stack.outputs["rds_backup_restore_role_arn"]}


def test_migration_parameters(local_stack: LocalStack) -> None:
    ssm = local_stack.client("ssm")
    o = local_stack.outputs
    p = local_stack.name_prefix
    assert o["migration_parameter_name"] == f"/dbshift/{p}/migration"
    assert o["server_mappings_parameter_name"] == f"/dbshift/{p}/server-mappings"

    migration = ssm.get_parameter(Name=o["migration_parameter_name"], WithDecryption=True)["Parameter"]
    assert migration["Type"] == "SecureString"
    assert json.loads(migration["Value"]) == {
        "job_mode": "resume",
        "log_level": "INFO",
        "input_partition": "2024-01-01",
        "partition_col_date": "measured_at",
        "source_filter_cell_performance_data": "site_code <> 'TEST'",
    }
    mappings = ssm.get_parameter(Name=o["server_mappings_parameter_name"], WithDecryption=True)["Parameter"]
    assert mappings["Type"] == "SecureString"
    assert json.loads(mappings["Value"]) == {
        "server_mappings": {"src1": "127.0.0.1:14331", "src2": "127.0.0.1:14332"},
        "databases": ["NetPerf01", "NetPerf02"],
        "categories": {"cell_perf_stats": ["cell_performance_data", "ue_statistics_data"]},
    }
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [o["migration_parameter_name"]]}])[
        "Parameters"
    ]
    assert [d["KeyId"] for d in described] == [o["migration_kms_key_arn"]]


def test_migration_secret(local_stack: LocalStack) -> None:
    sm = local_stack.client("secretsmanager")
    o = local_stack.outputs
    described = sm.describe_secret(SecretId=o["migration_secret_arn"])
    assert described["Name"] == f"dbshift/{local_stack.name_prefix}/source-credentials"
    assert described["KmsKeyId"] == o["migration_kms_key_arn"]
    value = json.loads(sm.get_secret_value(SecretId=o["migration_secret_arn"])["SecretString"])
    assert set(value) == {"username", "password"}
    assert value["username"] == SOURCE_USERNAME
    assert value["password"] == local_stack.source_password, "the secret does not hold the given password"
    # The password is in no output.
    assert local_stack.source_password not in json.dumps(o)


def test_migration_target_secret(local_stack: LocalStack) -> None:
    sm = local_stack.client("secretsmanager")
    o = local_stack.outputs
    arn = o["migration_target_secret_arn"]
    described = sm.describe_secret(SecretId=arn)
    assert described["Name"] == f"dbshift/{local_stack.name_prefix}/target-dsn"
    assert described["KmsKeyId"] == o["migration_kms_key_arn"]
    # Terraform creates the secret without a value: the DSN never enters the state.
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sm.get_secret_value(SecretId=arn)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # The estate puts the DSN out of band; the next plan must not see it as drift (test_second_plan_has_no_changes).
    sm.put_secret_value(SecretId=arn, SecretString=local_stack.target_dsn)
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == local_stack.target_dsn


def test_glue_jobs(local_stack: LocalStack) -> None:
    glue = local_stack.client("glue")
    o = local_stack.outputs
    p = local_stack.name_prefix
    assert o["glue_job_names"] == {stage: f"{p}-{stage}" for stage in GLUE_STAGES}
    stats_bucket = o["migration_bucket_names"]["stats"]
    for stage, script in GLUE_STAGES.items():
        job = glue.get_job(JobName=o["glue_job_names"][stage])["Job"]
        assert job["Role"] == o["glue_role_arn"]
        assert job["GlueVersion"] == "5.0"
        assert job["WorkerType"] == "G.1X" and job["NumberOfWorkers"] == 2
        assert job["Command"]["Name"] == "glueetl"
        assert job["Command"]["ScriptLocation"] == f"s3://{stats_bucket}/glue/scripts/{script}"
        assert job["SecurityConfiguration"] == p
        args = job["DefaultArguments"]
        assert args["--MIGRATION_PARAMETER"] == o["migration_parameter_name"]
        assert args["--SERVER_MAPPINGS_PARAMETER"] == o["server_mappings_parameter_name"]
        assert args["--SOURCE_SECRET"] == o["migration_secret_arn"]
        # The job scripts require it (dbshift.datamove.glue.COMMON_ARGS): the DSN's secret, by ARN.
        assert args["--TARGET_DSN_SECRET"] == o["migration_target_secret_arn"]
        assert args["--RAW_AREA"] == o["migration_areas"]["raw"]
        assert args["--TRANSFORMED_AREA"] == o["migration_areas"]["transformed"]
        assert args["--STATS_AREA"] == o["migration_areas"]["stats"]
        assert args["--STAGE"] == stage
        assert args["--additional-python-modules"] == "dbshift"
        assert not [k for k in args if "PASSWORD" in k.upper()]
        assert local_stack.target_dsn not in json.dumps(args)

    security = glue.get_security_configuration(Name=p)["SecurityConfiguration"]["EncryptionConfiguration"]
    assert security["S3Encryption"][0] == {"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": o["migration_kms_key_arn"]}
    assert security["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"
    assert security["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"


def test_glue_scripts_uploaded_as_in_the_repository(local_stack: LocalStack) -> None:
    s3 = local_stack.client("s3")
    for stage, script in GLUE_STAGES.items():
        url = local_stack.outputs["glue_script_locations"][stage]
        bucket, key = url.removeprefix("s3://").split("/", 1)
        obj = s3.get_object(Bucket=bucket, Key=key)
        assert obj["Body"].read() == (GLUE_SCRIPTS_DIR / script).read_bytes(), url
        assert obj["ServerSideEncryption"] == "aws:kms"
        assert obj["SSEKMSKeyId"] == local_stack.outputs["migration_kms_key_arn"]


def test_glue_connection(local_stack: LocalStack) -> None:
    glue = local_stack.client("glue")
    connection = glue.get_connection(Name=local_stack.outputs["glue_connection_name"], HidePassword=True)["Connection"]
    assert connection["ConnectionType"] == "JDBC"
    properties = connection["ConnectionProperties"]
    assert properties["SECRET_ID"] == local_stack.outputs["migration_secret_arn"]
    assert properties["JDBC_CONNECTION_URL"] == "jdbc:sqlserver://127.0.0.1:14331;databaseName=NetPerf01"
    assert "PASSWORD" not in properties


def test_migration_buckets(local_stack: LocalStack) -> None:
    s3 = local_stack.client("s3")
    names = local_stack.outputs["migration_bucket_names"]
    for area in ("raw", "transformed", "stats"):
        bucket = names[area]
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": local_stack.outputs["migration_kms_key_arn"],
        }, bucket
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled", bucket
        assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"]
        _assert_tls_only(json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]), f"arn:aws:s3:::{bucket}")
        assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetBucket"] == names["logs"]


def test_glue_role(local_stack: LocalStack) -> None:
    iam = local_stack.client("iam")
    o = local_stack.outputs
    role_name = o["glue_role_arn"].rsplit("/", 1)[1]
    trust = _policy(iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "glue.amazonaws.com"}]
    policy = _policy(iam.get_role_policy(RoleName=role_name, PolicyName="glue-migration")["PolicyDocument"])
    parameter_arn = f"arn:aws:ssm:{REGION}:123456789012:parameter"
    assert sorted(_statement(policy, "ReadParameters")["Resource"]) == sorted(
        [parameter_arn + o["migration_parameter_name"], parameter_arn + o["server_mappings_parameter_name"]]
    )
    assert _as_list(_statement(policy, "ReadSecrets")["Resource"]) == [
        o["migration_secret_arn"],
        o["migration_target_secret_arn"],
    ]
    assert _as_list(_statement(policy, "UseKeys")["Resource"]) == [o["migration_kms_key_arn"]]


def test_ecs_orchestrator(local_stack: LocalStack) -> None:
    ecs = local_stack.client("ecs")
    o = local_stack.outputs
    (cluster,) = ecs.describe_clusters(clusters=[o["ecs_cluster_arn"]], include=["SETTINGS"])["clusters"]
    assert cluster["status"] == "ACTIVE"
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]

    task = ecs.describe_task_definition(taskDefinition=o["ecs_task_definition_arn"])["taskDefinition"]
    assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
    assert task["taskRoleArn"] == o["ecs_task_role_arn"]
    assert task["executionRoleArn"] == o["ecs_execution_role_arn"]
    (container,) = task["containerDefinitions"]
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment["MIGRATION_PARAMETER"] == o["migration_parameter_name"]
    assert environment["SERVER_MAPPINGS_PARAMETER"] == o["server_mappings_parameter_name"]
    # The source login is named by its secret (read at run time with the task role), never a plain value.
    assert environment["DBSHIFT_SOURCE_SECRET"] == o["migration_secret_arn"]
    # The areas config.py reads (DBSHIFT_RAW_AREA / DBSHIFT_TRANSFORMED_AREA): the Glue module's buckets.
    assert environment["DBSHIFT_RAW_AREA"] == o["migration_areas"]["raw"]
    assert environment["DBSHIFT_TRANSFORMED_AREA"] == o["migration_areas"]["transformed"]
    # The target DSN is injected by ECS from its secret at start, never a plain environment value.
    assert "DBSHIFT_TARGET_DSN" not in environment
    assert container["secrets"] == [{"name": "DBSHIFT_TARGET_DSN", "valueFrom": o["migration_target_secret_arn"]}]
    assert local_stack.source_password not in json.dumps(task)
    assert local_stack.target_dsn not in json.dumps(task)
    assert container["logConfiguration"]["options"]["awslogs-group"] == o["ecs_log_group_name"]

    logs = local_stack.client("logs")
    (group,) = logs.describe_log_groups(logGroupNamePrefix=o["ecs_log_group_name"])["logGroups"]
    assert group["retentionInDays"] == 365
    assert group["kmsKeyId"].startswith(f"arn:aws:kms:{REGION}:123456789012:key/")

    iam = local_stack.client("iam")
    task_role = o["ecs_task_role_arn"].rsplit("/", 1)[1]
    policy = _policy(iam.get_role_policy(RoleName=task_role, PolicyName="orchestrator")["PolicyDocument"])
    assert sorted(_as_list(_statement(policy, "RunGlueJobs")["Resource"])) == sorted(
        f"arn:aws:glue:{REGION}:123456789012:job/{name}" for name in o["glue_job_names"].values()
    )
    assert _as_list(_statement(policy, "ReadSecrets")["Resource"]) == [o["migration_secret_arn"]]
    area_objects = _as_list(_statement(policy, "ReadWriteAreas")["Resource"])
    for area in ("raw", "transformed", "stats"):
        assert o["migration_areas"][area].replace("s3://", "arn:aws:s3:::") + "/*" in area_objects, area

    execution_role = o["ecs_execution_role_arn"].rsplit("/", 1)[1]
    execution = _policy(iam.get_role_policy(RoleName=execution_role, PolicyName="task-execution")["PolicyDocument"])
    assert _as_list(_statement(execution, "InjectSecrets")["Resource"]) == [o["migration_target_secret_arn"]]
    assert _as_list(_statement(execution, "DecryptSecrets")["Resource"]) == [o["migration_kms_key_arn"]]


def test_second_plan_has_no_changes(local_stack: LocalStack, terraform: TerraformRun) -> None:
    proc = terraform(
        local_stack.path, "plan", "-input=false", "-detailed-exitcode", f"-var-file={local_stack.var_file}", check=False
    )
    assert proc.returncode == 0, f"the emulated AWS drifted from the configuration:\n{proc.stdout}\n{proc.stderr}"


def test_destroy_removes_everything(local_stack: LocalStack, terraform: TerraformRun) -> None:
    terraform(
        local_stack.path, "destroy", "-auto-approve", "-input=false", f"-var-file={local_stack.var_file}", timeout=240
    )
    local_stack.destroyed = True
    o = local_stack.outputs

    s3 = local_stack.client("s3")
    for bucket in (o["backup_bucket_name"], o["certificate_bucket_name"], o["log_bucket_name"]):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            s3.head_bucket(Bucket=bucket)
        assert err.value.response["Error"]["Code"] in ("404", "NoSuchBucket"), bucket

    kms = local_stack.client("kms")
    assert kms.describe_key(KeyId=o["kms_key_arn"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert o["kms_key_alias"] not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}

    iam = local_stack.client("iam")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=o["rds_backup_restore_role_arn"].rsplit("/", 1)[1])

    rds = local_stack.client("rds")
    with pytest.raises(rds.exceptions.OptionGroupNotFoundFault):
        rds.describe_option_groups(OptionGroupName=o["option_group_name"])

    glue = local_stack.client("glue")
    for name in o["glue_job_names"].values():
        with pytest.raises(glue.exceptions.EntityNotFoundException):
            glue.get_job(JobName=name)
    ssm = local_stack.client("ssm")
    for name in (o["migration_parameter_name"], o["server_mappings_parameter_name"]):
        with pytest.raises(ssm.exceptions.ParameterNotFound):
            ssm.get_parameter(Name=name)
    sm = local_stack.client("secretsmanager")
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.describe_secret(SecretId=o["migration_secret_arn"])
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.describe_secret(SecretId=o["migration_target_secret_arn"])
    for bucket in o["migration_bucket_names"].values():
        with pytest.raises(botocore.exceptions.ClientError):
            s3.head_bucket(Bucket=bucket)
    ecs = local_stack.client("ecs")
    task = ecs.describe_task_definition(taskDefinition=o["ecs_task_definition_arn"])["taskDefinition"]
    assert task["status"] == "INACTIVE"
    assert local_stack.client("logs").describe_log_groups(logGroupNamePrefix=o["ecs_log_group_name"])["logGroups"] == []
