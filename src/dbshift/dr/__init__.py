"""Cross-region disaster recovery: per-service operations the dr_* runbooks call.

Every operation takes a `Clients`, which makes boto3 clients per region through the one factory
(dbshift.aws.clients.client) and keeps them, so a caller (or a test's botocore Stubber) sees the
very client an operation uses. `endpoints` overrides the endpoint of single regions, e.g. to point
an impaired region at an address that does not answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dbshift.aws.clients import AwsConfig, client

TAG_PREFIX = "dbshift:dr-"


@dataclass
class Clients:
    config: AwsConfig = field(default_factory=AwsConfig)
    endpoints: dict[str, str] = field(default_factory=dict)
    _made: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def get(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._made:
            endpoint = self.endpoints.get(region) or self.config.endpoint_url
            self._made[key] = client(service, self.config, region=region, endpoint_url=endpoint)
        return self._made[key]

    def rds(self, region: str) -> Any:
        return self.get("rds", region)

    def kms(self, region: str) -> Any:
        return self.get("kms", region)


def tags(**values: str) -> list[dict[str, str]]:
    """RDS Tags for dbshift's markers (dbshift:dr-<name>), by which a rerun finds its own results."""
    return [{"Key": TAG_PREFIX + k.replace("_", "-"), "Value": v} for k, v in values.items()]


def tag_value(tag_list: list[dict[str, str]] | None, name: str) -> str | None:
    for tag in tag_list or []:
        if tag.get("Key") == TAG_PREFIX + name.replace("_", "-"):
            return tag.get("Value")
    return None


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for any other exception)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def listed(call: Callable[[], dict[str, Any]], key: str, not_found: tuple[str, ...]) -> list[dict[str, Any]]:
    """The `key` list of a Describe call; [] when AWS answers with one of the `not_found` error codes."""
    from botocore.exceptions import ClientError

    try:
        return call()[key]
    except ClientError as exc:
        if error_code(exc) in not_found:
            return []
        raise
