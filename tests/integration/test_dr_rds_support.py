"""Helpers for the DR tests: a Stubber for chosen operations only, and source fixtures in moto.

Stubber checks every stubbed request and response against the real RDS service model; operations
not named go to the moto server as usual. Used only where moto lacks the behaviour (see README).
"""

from __future__ import annotations

import uuid
from typing import Any

from botocore.stub import Stubber

SOURCE_REGION = "us-east-1"
TARGET_REGION = "us-west-2"


class PartialStubber(Stubber):
    """botocore's Stubber, hooked on the named operations of the client only."""

    def __init__(self, client: Any, operations: set[str]) -> None:
        super().__init__(client)
        self.operations = set(operations)
        self._sid = client.meta.service_model.service_id.hyphenize()

    def activate(self) -> None:
        for op in self.operations:
            self.client.meta.events.register_first(
                f"before-parameter-build.{self._sid}.{op}", self._assert_expected_params, unique_id=f"p-{id(self)}-{op}"
            )
            self.client.meta.events.register(
                f"before-call.{self._sid}.{op}", self._get_response_handler, unique_id=f"c-{id(self)}-{op}"
            )

    def deactivate(self) -> None:
        for op in self.operations:
            self.client.meta.events.unregister(
                f"before-parameter-build.{self._sid}.{op}", unique_id=f"p-{id(self)}-{op}"
            )
            self.client.meta.events.unregister(f"before-call.{self._sid}.{op}", unique_id=f"c-{id(self)}-{op}")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_source(rds: Any, instance_id: str, **extra: Any) -> dict[str, Any]:
    args = {
        "DBInstanceIdentifier": instance_id,
        "Engine": "postgres",
        "DBInstanceClass": "db.t3.micro",
        "MasterUsername": "dbadmin",
        "MasterUserPassword": "not-a-secret-1",
        "AllocatedStorage": 20,
        "BackupRetentionPeriod": 7,
        "PubliclyAccessible": False,
        "MultiAZ": False,
        **extra,
    }
    return rds.create_db_instance(**args)["DBInstance"]


def model_instance(inst: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A DescribeDBInstances entry fit for Stubber (no ResponseMetadata), with `changes` (None deletes)."""
    out = {k: v for k, v in inst.items() if v is not None}
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out
