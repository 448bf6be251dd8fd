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
from tf_helpers import TerraformRun

from dbshift.aws.clients import AwsConfig, client

REGION = "us-east-1"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@dataclass
class LocalStack:
    path: Path
    var_file: Path
    name_prefix: str
    aws: AwsConfig
    outputs: dict[str, Any]
    destroyed: bool = field(default=False)

    def client(self, service: str) -> Any:
        return client(service, self.aws)


@pytest.fixture(scope="module")
def local_stack(initialised, terraform: TerraformRun, aws_endpoint_url: str) -> Iterator[LocalStack]:
    path = initialised("stacks/local")
    # A name of our own: the estate may have applied the same stack to this server already.
    prefix = "tft-" + secrets.token_hex(3)
    var_file = path / "test.tfvars.json"
    tmp = var_file.with_suffix(".tmp")
    variables = {
        "aws_endpoint_url": aws_endpoint_url,
        "region": REGION,
        "name_prefix": prefix,
        "controller_role_arns": [controller_role_arn(prefix)],
    }
    tmp.write_text(json.dumps(variables))
    os.replace(tmp, var_file)
    stack = LocalStack(path, var_file, prefix, AwsConfig(region=REGION, endpoint_url=aws_endpoint_url), {})
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
