"""AWS access: every boto3 client in dbshift comes from dbshift.aws.clients.

`client` is looked up lazily (PEP 562): importing dbshift.aws for AwsConfig alone must not cost a
short command boto3's import.
"""

from typing import Any

from dbshift.aws.config import AwsConfig

__all__ = ["AwsConfig", "client"]


def __getattr__(name: str) -> Any:
    if name == "client":
        from dbshift.aws.clients import client

        return client
    raise AttributeError(f"module 'dbshift.aws' has no attribute {name!r}")
