"""dbshift.aws.client: one factory, and the endpoint override is honoured in every form."""

from __future__ import annotations

import pytest

from dbshift.aws import AwsConfig, client


def test_explicit_endpoint_reaches_the_emulated_aws(aws_endpoint_url: str) -> None:
    s3 = client("s3", AwsConfig(region="us-east-1", endpoint_url=aws_endpoint_url))
    s3.create_bucket(Bucket="factory-explicit")
    assert "factory-explicit" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.meta.endpoint_url == aws_endpoint_url


@pytest.mark.parametrize("variable", ["DBSHIFT_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL"])
def test_environment_endpoint_is_used_when_none_is_given(
    aws_endpoint_url: str, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, aws_endpoint_url)
    kms = client("kms")
    key = kms.create_key(Description=f"from {variable}")["KeyMetadata"]["KeyId"]
    assert kms.meta.endpoint_url == aws_endpoint_url
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Description"] == f"from {variable}"


def test_explicit_endpoint_wins_over_the_environment(aws_endpoint_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBSHIFT_AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert client("sts", endpoint_url=aws_endpoint_url).meta.endpoint_url == aws_endpoint_url


def test_region_override_builds_a_client_for_another_region(aws_endpoint_url: str) -> None:
    cfg = AwsConfig(region="us-east-1", endpoint_url=aws_endpoint_url)
    assert client("rds", cfg, region="eu-west-1").meta.region_name == "eu-west-1"
    assert client("rds", cfg).meta.region_name == "us-east-1"


def test_clients_made_at_once_from_threads_all_work_and_share_one_loader(aws_endpoint_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from dbshift.aws.clients import _shared_loader

    cfg = AwsConfig(region="us-east-1", endpoint_url=aws_endpoint_url)
    with ThreadPoolExecutor(8) as pool:
        clients = list(pool.map(lambda i: client(("s3", "kms", "sts")[i % 3], cfg), range(24)))
    assert {c.meta.service_model.service_name for c in clients} == {"s3", "kms", "sts"}
    assert clients[0].list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert clients[1].list_keys()["ResponseMetadata"]["HTTPStatusCode"] == 200
    # every boto3 Session appends its data directory to the loader: the shared one must not grow with them
    paths = _shared_loader(None).search_paths
    assert len(paths) == len(set(paths))
