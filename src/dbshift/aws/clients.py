"""The one factory for boto3 clients.

The only switch between real AWS and the emulated estate is the endpoint: an explicit
`endpoint_url` wins, then the DBSHIFT_AWS_ENDPOINT_URL / AWS_ENDPOINT_URL environment variables,
then boto3's own resolution. Ansible modules pass their `endpoint_url` option straight through.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=10, read_timeout=120)


@dataclass(frozen=True)
class AwsConfig:
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None

    def resolved_endpoint(self) -> str | None:
        return self.endpoint_url or os.environ.get("DBSHIFT_AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")

    def resolved_region(self) -> str:
        return self.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def client(service: str, config: AwsConfig | None = None, **overrides: Any) -> Any:
    """A boto3 client for `service`, honouring the endpoint override.

    `overrides` accepts region / endpoint_url / profile to tweak one call without building an
    AwsConfig (e.g. a second region for cross-region work).
    """
    cfg = config or AwsConfig()
    if overrides:
        cfg = AwsConfig(
            region=overrides.get("region", cfg.region),
            endpoint_url=overrides.get("endpoint_url", cfg.endpoint_url),
            profile=overrides.get("profile", cfg.profile),
        )
    session = boto3.session.Session(profile_name=cfg.profile) if cfg.profile else boto3.session.Session()
    kwargs: dict[str, Any] = {"region_name": cfg.resolved_region(), "config": _RETRIES}
    endpoint = cfg.resolved_endpoint()
    if endpoint:
        kwargs["endpoint_url"] = endpoint
        if service == "s3":
            # Path-style addressing: emulators and VPC endpoints answer on one host name.
            kwargs["config"] = _RETRIES.merge(Config(s3={"addressing_style": "path"}))
    return session.client(service, **kwargs)
