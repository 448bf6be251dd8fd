"""AWS access: every boto3 client in dbshift comes from dbshift.aws.clients."""

from dbshift.aws.clients import AwsConfig, client

__all__ = ["AwsConfig", "client"]
