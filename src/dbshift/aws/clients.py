"""The one factory for boto3 clients.

The only switch between real AWS and the emulated estate is the endpoint: an explicit
`endpoint_url` wins, then the DBSHIFT_AWS_ENDPOINT_URL / AWS_ENDPOINT_URL environment variables,
then boto3's own resolution. Ansible modules pass their `endpoint_url` option straight through.

Every client still gets its own session (credentials and profile resolved as before), but all
sessions share one botocore data loader: the parsed service models and endpoint data are read-only,
and parsing them again per client (JSON for S3 alone is ~60 ms) was most of a short command's start-up.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import replace
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.loaders import Loader

from dbshift.aws.config import AwsConfig

__all__ = ["AwsConfig", "client"]

_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=10, read_timeout=120)
_LOCK = threading.Lock()


class _UniquePaths(list[str]):
    """A loader search path that ignores repeats: every boto3 Session appends its data directory."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader(data_path: str | None) -> Loader:
    """One loader per AWS_DATA_PATH value, built as botocore's create_loader builds it."""
    extra = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)] if data_path else []
    return Loader(extra_search_paths=_UniquePaths(extra))


def client(service: str, config: AwsConfig | None = None, **overrides: Any) -> Any:
    """A boto3 client for `service`, honouring the endpoint override.

    `overrides` takes any AwsConfig field to tweak one call without building an AwsConfig
    (e.g. region= for cross-region work).
    """
    cfg = replace(config or AwsConfig(), **overrides)
    kwargs: dict[str, Any] = {"region_name": cfg.resolved_region(), "config": _RETRIES}
    endpoint = cfg.resolved_endpoint()
    if endpoint:
        kwargs["endpoint_url"] = endpoint
        if service == "s3":
            # Path-style addressing: emulators and VPC endpoints answer on one host name.
            kwargs["config"] = _RETRIES.merge(Config(s3={"addressing_style": "path"}))
    core = botocore.session.get_session()
    # Sessions are not thread-safe and the shared loader fills its cache on first use: one client at a time.
    with _LOCK:
        core.register_component("data_loader", _shared_loader(core.get_config_variable("data_path")))
        session = boto3.session.Session(
            botocore_session=core,
            profile_name=cfg.profile,
            aws_access_key_id=cfg.access_key_id,
            aws_secret_access_key=cfg.secret_access_key,
        )
        return session.client(service, **kwargs)
