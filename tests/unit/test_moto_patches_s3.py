"""moto patch: S3 bucket-policy statements with a Condition no longer deny every object request."""

from __future__ import annotations

import json
import uuid

import botocore.exceptions
import pytest

from dbshift.aws.clients import AwsConfig, client


def test_tls_only_policy_lets_objects_through_and_unconditional_deny_still_denies(aws_endpoint_url: str) -> None:
    s3 = client("s3", AwsConfig(region="us-east-1", endpoint_url=aws_endpoint_url))
    bucket = f"policy-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {  # AWS's TLS-only statement: applies only to requests without TLS.
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {  # No condition: always applies.
                "Sid": "DenyLocked",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/locked/*",
            },
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    s3.put_object(Bucket=bucket, Key="open/a.bak", Body=b"backup bytes")
    assert s3.head_object(Bucket=bucket, Key="open/a.bak")["ContentLength"] == 12
    assert s3.get_object(Bucket=bucket, Key="open/a.bak")["Body"].read() == b"backup bytes"

    with pytest.raises(botocore.exceptions.ClientError) as denied:
        s3.put_object(Bucket=bucket, Key="locked/b.bak", Body=b"x")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
