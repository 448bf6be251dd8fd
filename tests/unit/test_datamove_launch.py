"""dbshift.datamove.launch without a server: what moto cannot do (a task whose container exits non-zero, a
failed Glue job run, RunTask placement failures) through botocore's Stubber on real clients, and the pure
parts (run keys, stage plans, configuration sources, diffs)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from dbshift.aws import AwsConfig, client
from dbshift.datamove import launch
from dbshift.datamove.config import InvalidConfig, Secret
from dbshift.errors import ConfigError

AWS = AwsConfig(region="us-east-1", endpoint_url="http://127.0.0.1:9")  # never reached: stubbed
MIGRATION = {
    "job_mode": "resume",
    "input_partition": "2026-11-01",
    "partition_col_date": "measured_at",
}
MAPPINGS = {
    "server_mappings": {"src1": "10.0.0.5:1433"},
    "databases": ["NetPerf01"],
    "categories": {"cell_perf_stats": ["cell_performance_data", "ue_statistics_data"]},
}
TARGET = launch.EcsTarget(cluster="c", task_definition="netperf-orchestrator", subnets=("subnet-1",))
ARN = "arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef"
NO_WAIT = launch.Waiting(poll_interval=1, clock=lambda: 0.0, sleep=lambda s: None)


def task(status: str, exit_code: int | None, reason: str = "", created: int = 0, arn: str = ARN) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "orchestrator", "lastStatus": status}
    if exit_code is not None:
        container["exitCode"] = exit_code
    return {
        "taskArn": arn,
        "lastStatus": status,
        "stoppedReason": reason,
        "containers": [container],
        "createdAt": dt.datetime(2026, 11, 22, 9, created, tzinfo=dt.UTC),
        "tags": [{"key": launch.ECS_TAG_DIGEST, "value": "sha256:d"}],
    }


def stub_listing(stub: Stubber, running: list[dict], stopped: list[dict]) -> None:
    for desired, tasks in (("RUNNING", running), ("STOPPED", stopped)):
        stub.add_response(
            "list_tasks",
            {"taskArns": [t["taskArn"] for t in tasks]},
            {"cluster": "c", "startedBy": ANY, "desiredStatus": desired},
        )
    if running or stopped:
        stub.add_response(
            "describe_tasks", {"tasks": running + stopped}, {"cluster": "c", "tasks": ANY, "include": ["TAGS"]}
        )


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (1, "Essential container in task exited", r"the migration failed \(exit code 1, reason: Essential container"),
        (4, "Essential container in task exited", r"validation found differences \(exit code 4"),
        (None, "CannotPullContainerError: pull access denied", r"exit code None, reason: CannotPullContainerError"),
    ],
)
def test_ecs_task_that_stops_with_an_error_fails_naming_the_cause(code: int | None, reason: str, expected: str) -> None:
    ecs = client("ecs", AWS)
    with Stubber(ecs) as stub:
        stub_listing(stub, [], [])
        stub.add_response("run_task", {"tasks": [task("PROVISIONING", None)], "failures": []})
        stub.add_response("describe_tasks", {"tasks": [task("RUNNING", None)]})
        stub.add_response("describe_tasks", {"tasks": [task("STOPPED", code, reason)]})
        with pytest.raises(launch.LaunchError, match=expected):
            launch.run_ecs(ecs, TARGET, "sha256:d", ["export"], "resume", waiting=NO_WAIT)
        stub.assert_no_pending_responses()


def test_ecs_newest_task_failed_so_resume_starts_again() -> None:
    """An older task completed, but the newest (say, a fresh rerun) failed: the data is incomplete again."""
    ecs = client("ecs", AWS)
    old_ok = task("STOPPED", 0, created=1, arn=ARN + "1")
    new_failed = task("STOPPED", 1, created=2, arn=ARN + "2")
    with Stubber(ecs) as stub:
        stub_listing(stub, [], [new_failed, old_ok])
        result = launch.run_ecs(ecs, TARGET, "sha256:d", ["export"], "resume", waiting=NO_WAIT, check_mode=True)
        assert result.changed and result.status == "would_start"
    with Stubber(ecs) as stub:
        stub_listing(stub, [], [old_ok])
        result = launch.run_ecs(ecs, TARGET, "sha256:d", ["export"], "resume", waiting=NO_WAIT, check_mode=True)
        assert not result.changed and result.status == "completed"


def test_ecs_run_task_without_a_task_fails_with_the_failures() -> None:
    ecs = client("ecs", AWS)
    with Stubber(ecs) as stub:
        stub_listing(stub, [], [])
        stub.add_response("run_task", {"tasks": [], "failures": [{"arn": "subnet-1", "reason": "MISSING"}]})
        with pytest.raises(launch.LaunchError, match=r"started no task .subnet-1: MISSING"):
            launch.run_ecs(ecs, TARGET, "sha256:d", ["export"], "resume", waiting=NO_WAIT)


def test_glue_failed_run_fails_naming_the_job_and_its_error() -> None:
    glue = client("glue", AWS)
    with Stubber(glue) as stub:
        stub.add_response("get_job_runs", {"JobRuns": []}, {"JobName": "netperf-export"})
        stub.add_response(
            "start_job_run",
            {"JobRunId": "jr_1"},
            {"JobName": "netperf-export", "Arguments": {launch.DIGEST_ARGUMENT: "sha256:d"}},
        )
        stub.add_response("get_job_run", {"JobRun": {"Id": "jr_1", "JobRunState": "RUNNING"}})
        stub.add_response(
            "get_job_run",
            {"JobRun": {"Id": "jr_1", "JobRunState": "FAILED", "ErrorMessage": "ConfigError: migration.job_mode"}},
        )
        with pytest.raises(launch.LaunchError, match="netperf-export run jr_1 ended FAILED: ConfigError: migration"):
            launch.run_glue(
                glue, launch.glue_job_names("netperf"), "sha256:d", ["export", "transform"], "resume", waiting=NO_WAIT
            )
        stub.assert_no_pending_responses()  # transform was never started


def test_glue_runs_of_another_configuration_do_not_count() -> None:
    glue = client("glue", AWS)
    other = {"Id": "jr_0", "JobRunState": "SUCCEEDED", "Arguments": {launch.DIGEST_ARGUMENT: "sha256:other"}}
    with Stubber(glue) as stub:
        stub.add_response("get_job_runs", {"JobRuns": [other]}, {"JobName": "netperf-export"})
        result = launch.run_glue(
            glue, launch.glue_job_names("netperf"), "sha256:d", ["export"], "resume", waiting=NO_WAIT, check_mode=True
        )
    assert result.changed and result.runs == [
        {"job_name": "netperf-export", "job_run_id": None, "state": "would_start"}
    ]


def test_run_key_is_a_valid_started_by_and_names_configuration_and_stages() -> None:
    a = launch.ecs_started_by("sha256:" + "a" * 64, ["export"])
    assert re.fullmatch(r"[A-Za-z0-9_/-]{1,128}", a)
    assert a != launch.ecs_started_by("sha256:" + "a" * 64, ["export", "transform"])
    assert a != launch.ecs_started_by("sha256:" + "b" * 64, ["export"])


def test_stages_resolve_in_engine_order() -> None:
    assert launch.resolve_stages(["validate", "export"], "local") == ["export", "validate"]
    assert launch.resolve_stages(["all"], "glue") == ["export", "transform", "import", "finish"]
    with pytest.raises(ConfigError, match="no validate stage"):
        launch.resolve_stages(["validate"], "glue")
    with pytest.raises(ConfigError, match="unknown load"):
        launch.resolve_stages(["load"], "ecs")
    assert launch.glue_plan(["import"]) == [("load", {"--FINISH": "false"})]
    assert launch.glue_plan(["transform", "finish"]) == [("transform", {}), ("load", {"--FINISH": "true"})]


def test_configuration_from_documents_is_validated_and_names_them() -> None:
    runtime = launch.RuntimeOptions(
        raw_area="/tmp/raw",
        transformed_area="/tmp/t",
        target_dsn=Secret("postgresql://u:pw@h/db"),
        source_user="reader",
        source_password=Secret("pw"),
    )
    config = launch.build_config(runtime, migration=MIGRATION, server_mappings=MAPPINGS)
    assert config.runtime.target_dsn.reveal() == "postgresql://u:pw@h/db"
    assert (
        config.digest()
        == launch.build_config(
            launch.RuntimeOptions(), migration=MIGRATION, server_mappings=MAPPINGS, digest_only=True
        ).digest()
    )
    with pytest.raises(
        InvalidConfig, match=r"(?s)the migration and server_mappings documents.*migration.job_mode"
    ) as err:
        launch.build_config(runtime, migration={**MIGRATION, "job_mode": "again"}, server_mappings=MAPPINGS)
    assert "pw" not in str(err.value)
    with pytest.raises(ConfigError, match="give the configuration one way"):
        launch.build_config(runtime, migration=MIGRATION, server_mappings=MAPPINGS, config_file="x.yml")


def test_secure_string_diff_shows_keys_not_values() -> None:
    change = launch.ParameterChange("/p", True, False, "SecureString", {"a": "secret-a"}, {"a": "x", "b": "secret-b"})
    d = change.diff()
    assert "secret" not in d["before"] + d["after"] and '"b": "********"' in d["after"]
    plain = launch.ParameterChange("/p", True, False, "String", {"a": "1"}, {"a": "2"})
    assert '"a": "2"' in plain.diff()["after"]
