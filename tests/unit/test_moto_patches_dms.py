"""DMS patches in dbshift.estate.moto_patches, checked over HTTP against a moto server started by aws_server.py.

Each test asserts the DMS behaviour a patch restores; against unpatched moto 5.2.5 each one fails.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from dbshift.aws.clients import AwsConfig, client

REGION = "us-east-1"
TABLE_MAPPINGS = json.dumps(
    {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "all-dbo",
                "object-locator": {"schema-name": "dbo", "table-name": "%"},
                "rule-action": "include",
            }
        ]
    }
)


def _dms(endpoint: str) -> Any:
    return client("dms", AwsConfig(region=REGION, endpoint_url=endpoint))


def _wire_bodies(dms: Any) -> list[dict[str, Any]]:
    """Every response body `dms` receives from now on, as sent (before botocore parses it)."""
    bodies: list[dict[str, Any]] = []
    dms.meta.events.register(
        "after-call.*.*", lambda http_response, **_: bodies.append(json.loads(http_response.content))
    )
    return bodies


def _migration(dms: Any, suffix: str) -> dict[str, str]:
    """A replication instance, a SQL Server source, a PostgreSQL target and a task between them; their ARNs."""
    instance = dms.create_replication_instance(
        ReplicationInstanceIdentifier=f"ri-{suffix}", ReplicationInstanceClass="dms.t3.medium", AllocatedStorage=50
    )["ReplicationInstance"]
    endpoints = {}
    for kind, engine, port in (("source", "sqlserver", 1433), ("target", "postgres", 5432)):
        endpoints[kind] = dms.create_endpoint(
            EndpointIdentifier=f"{kind}-{suffix}",
            EndpointType=kind,
            EngineName=engine,
            ServerName="db.example.internal",
            Port=port,
            DatabaseName="sales",
            Username="dms",
            Password=secrets.token_urlsafe(12),
        )["Endpoint"]
    task = dms.create_replication_task(
        ReplicationTaskIdentifier=f"task-{suffix}",
        SourceEndpointArn=endpoints["source"]["EndpointArn"],
        TargetEndpointArn=endpoints["target"]["EndpointArn"],
        ReplicationInstanceArn=instance["ReplicationInstanceArn"],
        MigrationType="full-load-and-cdc",
        TableMappings=TABLE_MAPPINGS,
    )["ReplicationTask"]
    return {
        "instance": instance["ReplicationInstanceArn"],
        "source": endpoints["source"]["EndpointArn"],
        "task": task["ReplicationTaskArn"],
        "task_status_at_create": task["Status"],
    }


def _task(dms: Any, suffix: str) -> dict[str, Any]:
    (task,) = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-id", "Values": [f"task-{suffix}"]}])[
        "ReplicationTasks"
    ]
    return task


def test_dms_timestamps_are_epoch_seconds_on_the_wire(aws_endpoint_url: str) -> None:
    # DMS speaks awsJson1_1: timestamps are JSON numbers. boto3 would parse an ISO string too, so look at the wire.
    dms = _dms(aws_endpoint_url)
    suffix = secrets.token_hex(3)
    before = time.time() - 1
    arns = _migration(dms, suffix)
    dms.start_replication_task(ReplicationTaskArn=arns["task"], StartReplicationTaskType="start-replication")
    after = time.time() + 1

    bodies = _wire_bodies(dms)
    described = dms.describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": [arns["instance"]]}]
    )["ReplicationInstances"][0]
    task = _task(dms, suffix)
    wire_instance = bodies[0]["ReplicationInstances"][0]
    wire_task = bodies[1]["ReplicationTasks"][0]

    created = wire_instance["InstanceCreateTime"]
    assert isinstance(created, int | float) and before <= created <= after
    for value in (
        wire_task["ReplicationTaskCreationDate"],
        wire_task["ReplicationTaskStartDate"],
        wire_task["ReplicationTaskStats"]["StartDate"],
        wire_task["ReplicationTaskStats"]["FullLoadStartDate"],
    ):
        assert isinstance(value, int | float) and before <= value <= after
    # The same instants, as UTC, after botocore's parsing.
    assert described["InstanceCreateTime"] == datetime.fromtimestamp(created, UTC)
    assert task["ReplicationTaskStartDate"] == datetime.fromtimestamp(wire_task["ReplicationTaskStartDate"], UTC)


def test_dms_task_moves_from_creating_to_ready_and_endpoints_become_active(aws_endpoint_url: str) -> None:
    dms = _dms(aws_endpoint_url)
    suffix = secrets.token_hex(3)
    arns = _migration(dms, suffix)

    assert arns["task_status_at_create"] == "creating"
    assert _task(dms, suffix)["Status"] == "ready"
    (instance,) = dms.describe_replication_instances(
        Filters=[{"Name": "replication-instance-id", "Values": [f"ri-{suffix}"]}]
    )["ReplicationInstances"]
    assert instance["ReplicationInstanceStatus"] == "available"
    (source,) = dms.describe_endpoints(Filters=[{"Name": "endpoint-arn", "Values": [arns["source"]]}])["Endpoints"]
    assert source["Status"] == "active"

    # A ready task starts, runs and stops as in DMS.
    started = dms.start_replication_task(ReplicationTaskArn=arns["task"], StartReplicationTaskType="start-replication")
    assert started["ReplicationTask"]["Status"] in ("starting", "running")
    by_arn = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arns["task"]]}])
    assert [t["Status"] for t in by_arn["ReplicationTasks"]] == ["running"]
    dms.stop_replication_task(ReplicationTaskArn=arns["task"])
    assert _task(dms, suffix)["Status"] == "stopped"


def test_dms_instance_without_subnet_group_is_in_the_default_one(aws_endpoint_url: str) -> None:
    dms = _dms(aws_endpoint_url)
    suffix = secrets.token_hex(3)
    dms.create_replication_instance(
        ReplicationInstanceIdentifier=f"ri-default-{suffix}", ReplicationInstanceClass="dms.t3.micro"
    )
    (instance,) = dms.describe_replication_instances(
        Filters=[{"Name": "replication-instance-id", "Values": [f"ri-default-{suffix}"]}]
    )["ReplicationInstances"]
    assert instance["ReplicationSubnetGroup"]["ReplicationSubnetGroupIdentifier"] == "default"
