"""Where AWS calls go: Region, endpoint override, profile or static keys.

Kept apart from dbshift.aws.clients so that code which only needs the settings (the REST path of
`dbshift tlog fetch`) does not import boto3.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AwsConfig:
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    # Static keys, for the emulated estate (which accepts any); production uses the default chain.
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)

    def resolved_endpoint(self) -> str | None:
        return self.endpoint_url or os.environ.get("DBSHIFT_AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")

    def resolved_region(self) -> str:
        return self.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
