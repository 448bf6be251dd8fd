"""dbshift.datamove.launch against a moto server over HTTP: the SSM parameters written once and compared as
JSON; ECS RunTask and Glue StartJobRun started, waited for, and not started again for a completed run.

A server of this module's own: the tests set moto's state-manager transitions (how many describes a task
or job run takes to finish), which hold for the whole server.

moto gaps worked around here (see also tests/unit/test_datamove_launch.py, which stubs the rest):
- RunTask of an awsvpc (Fargate) task definition fails inside moto (its NetworkInterface lacks
  private_dns_name), so the task definition here uses bridge networking (EC2 compatibility) while RunTask
  still says launchType FARGATE; RunTask also needs container-level cpu/memory in moto.
- A task moto moves to STOPPED keeps desiredStatus RUNNING; launch lists both desired statuses anyway.
- moto's containers always exit 0: failed tasks and failed job runs are unit-tested with botocore's Stubber.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
import requests

from dbshift.aws import AwsConfig, client
from dbshift.datamove import launch
from dbshift.datamove.config import Secret
from dbshift.estate import process

MIGRATION = {
    "job_mode": "resume",
    "log_level": "INFO",
    "input_partition": "2026-11-01..2026-11-02",
    "partition_col_date": "measured_at",
    "source_filter_cell_performance_data": "cell_id >= 0",
}
MAPPINGS = {
    "server_mappings": {"src1": "10.0.0.5:1433", "src2": "10.0.0.6:1433"},
    "databases": ["NetPerf01", "NetPerf02"],
    "categories": {"cell_perf_stats": ["cell_performance_data", "ue_statistics_data"]},
}


class FakeClock:
    """time.monotonic/time.sleep stand-ins: the wait loops run at once, and their timeouts are exact."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds


def waiting(clock: FakeClock, timeout: float = 600, wait: bool = True) -> launch.Waiting:
    return launch.Waiting(wait=wait, timeout=timeout, poll_interval=5, clock=clock.clock, sleep=clock.sleep)


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("launch_aws") / "moto.log"
    port = process.free_port()
    pid = process.start([sys.executable, "-m", "dbshift.estate.aws_server", "--port", str(port)], log)
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_until(lambda: process.http_answers(url + "/moto-api/"), "moto server", 60, log)
        yield url
    finally:
        process.stop(pid)


@pytest.fixture(scope="module")
def aws(moto_url: str) -> AwsConfig:
    return AwsConfig(region="us-east-1", endpoint_url=moto_url)


def transition(moto_url: str, model: str, times: int) -> None:
    """Each task/job run needs `times` describes per state step (moto's manual progression)."""
    resp = requests.post(
        f"{moto_url}/moto-api/state-manager/set-transition",
        data=json.dumps({"model_name": model, "transition": {"progression": "manual", "times": times}}),
        timeout=10,
    )
    resp.raise_for_status()


def digest() -> str:
    return launch.build_config(
        launch.RuntimeOptions(), migration=MIGRATION, server_mappings=MAPPINGS, digest_only=True
    ).digest()


# ------------------------------------------------------------------------------------------ SSM


def test_parameters_are_written_once_and_compared_as_json(aws: AwsConfig) -> None:
    ssm = client("ssm", aws)
    names = launch.parameter_names("launchtest")
    docs = {names[0]: MIGRATION, names[1]: MAPPINGS}

    first = launch.put_parameters(aws, docs, parameter_type="SecureString", check_mode=True)
    assert [c.changed for c in first] == [True, True] and all(c.created for c in first)
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=names[0])  # check mode wrote nothing

    written = launch.put_parameters(aws, docs, parameter_type="SecureString")
    assert [c.changed for c in written] == [True, True]
    got = ssm.get_parameter(Name=names[0], WithDecryption=True)["Parameter"]
    assert got["Type"] == "SecureString" and json.loads(got["Value"]) == MIGRATION

    # The same documents in another key order: nothing written (the version stays).
    reordered = {names[0]: dict(reversed(list(MIGRATION.items()))), names[1]: MAPPINGS}
    again = launch.put_parameters(aws, reordered, parameter_type="SecureString")
    assert [c.changed for c in again] == [False, False]
    assert ssm.get_parameter(Name=names[0])["Parameter"]["Version"] == got["Version"]

    # A changed value: check mode reports it and leaves the old value; the real run writes it.
    fresh = {**MIGRATION, "job_mode": "fresh"}
    predicted = launch.put_parameter(aws, names[0], fresh, check_mode=True)
    assert predicted.changed and not predicted.created and predicted.before == MIGRATION
    assert json.loads(ssm.get_parameter(Name=names[0], WithDecryption=True)["Parameter"]["Value"]) == MIGRATION
    assert launch.put_parameter(aws, names[0], fresh).changed
    assert json.loads(ssm.get_parameter(Name=names[0], WithDecryption=True)["Parameter"]["Value"]) == fresh
    diff = predicted.diff()
    assert "cell_id" not in diff["before"] + diff["after"] and '"job_mode": "********"' in diff["after"]

    # A type change alone is a change; String diffs show the values.
    to_string = launch.put_parameter(aws, names[1], MAPPINGS, parameter_type="String")
    assert to_string.changed and ssm.get_parameter(Name=names[1])["Parameter"]["Type"] == "String"
    assert not launch.put_parameter(aws, names[1], MAPPINGS, parameter_type="String").changed
    assert (
        "10.0.0.5:1433"
        in launch.put_parameter(
            aws, names[1], {**MAPPINGS, "databases": ["X"]}, parameter_type="String", check_mode=True
        ).diff()["before"]
    )

    # What the engine reads back from SSM names the same run as the documents themselves.
    from_ssm = launch.build_config(
        launch.RuntimeOptions(),
        migration_parameter=names[0],
        server_mappings_parameter=names[1],
        aws=aws,
        digest_only=True,
    )
    from_docs = launch.build_config(
        launch.RuntimeOptions(), migration=fresh, server_mappings=MAPPINGS, digest_only=True
    )
    assert from_ssm.digest() == from_docs.digest() and from_ssm.job_mode == "fresh"


# ------------------------------------------------------------------------------------------ ECS


@pytest.fixture(scope="module")
def ecs_target(aws: AwsConfig) -> launch.EcsTarget:
    ec2, ecs = client("ec2", aws), client("ecs", aws)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="dbshift-launch", Description="orchestrator", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="netperf-migration")
    ecs.register_task_definition(
        family="netperf-orchestrator",
        networkMode="bridge",  # moto gap: see the module docstring
        requiresCompatibilities=["EC2"],
        cpu="1024",
        memory="2048",
        containerDefinitions=[
            {
                "name": "orchestrator",
                "image": "dbshift-orchestrator:0.1.0",
                "essential": True,
                "cpu": 1024,
                "memory": 2048,
            }
        ],
    )
    return launch.EcsTarget(cluster="netperf-migration", task_definition="", subnets=(subnet,), security_groups=(sg,))


def tasks_started_by(aws: AwsConfig, cluster: str, started_by: str) -> list[dict]:
    ecs = client("ecs", aws)
    arns = []
    for desired in ("RUNNING", "STOPPED"):
        arns += ecs.list_tasks(cluster=cluster, startedBy=started_by, desiredStatus=desired)["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns, include=["TAGS"])["tasks"] if arns else []


def ecs_request(
    target: launch.EcsTarget, clock: FakeClock, job_mode: str = "resume", stages=("all",), aws=None, **kw
) -> launch.LaunchRequest:
    return launch.LaunchRequest(
        engine="ecs",
        source=launch.ConfigSource(migration=MIGRATION, server_mappings=MAPPINGS),
        runtime=launch.RuntimeOptions(source_password=Secret("never-used")),
        stages=tuple(stages),
        job_mode=job_mode,
        waiting=waiting(clock, **kw),
        name="netperf",
        ecs=target,
        aws=aws,
    )


def test_ecs_task_started_waited_for_and_not_started_again(moto_url: str, aws: AwsConfig, ecs_target) -> None:
    transition(moto_url, "ecs::task", 2)
    clock = FakeClock()
    stages = list(launch.STAGES)
    started_by = launch.ecs_started_by(digest(), stages)
    assert started_by.startswith("dbshift-") and len(started_by) == 20

    predicted = launch.launch(ecs_request(ecs_target, clock, aws=aws), check_mode=True)
    assert predicted.changed and predicted.status == "would_start"
    assert tasks_started_by(aws, ecs_target.cluster, started_by) == []

    result = launch.launch(ecs_request(ecs_target, clock, aws=aws))
    assert result.changed and result.status == "started" and clock.sleeps >= 3  # RUNNING -> ... -> STOPPED
    (task,) = tasks_started_by(aws, ecs_target.cluster, started_by)
    assert task["lastStatus"] == "STOPPED" and result.runs[0]["task_arn"] == task["taskArn"]
    assert result.runs[0]["exit_code"] == 0
    assert task["taskDefinitionArn"].split("/")[-1].startswith("netperf-orchestrator:")
    command = task["overrides"]["containerOverrides"][0]["command"]
    assert command == [x for s in stages for x in ("--stage", s)] + ["--job-mode", "resume"]
    tags = {t["key"]: t["value"] for t in task["tags"]}
    assert tags[launch.ECS_TAG_DIGEST] == digest() and tags[launch.ECS_TAG_STAGES] == ",".join(stages)

    # Check mode and a real run again: the completed task is found; nothing started.
    for check in (True, False):
        again = launch.launch(ecs_request(ecs_target, clock, aws=aws), check_mode=check)
        assert not again.changed and again.status == "completed", again
    assert len(tasks_started_by(aws, ecs_target.cluster, started_by)) == 1

    # Another host:port of a server is the same configuration; other stages or fresh start a task.
    moved = {**MAPPINGS, "server_mappings": {"src1": "10.9.9.9:1433", "src2": "10.0.0.6:1433"}}
    req = ecs_request(ecs_target, clock, aws=aws)
    same = launch.launch(
        launch.LaunchRequest(
            **{**req.__dict__, "source": launch.ConfigSource(migration=MIGRATION, server_mappings=moved)}
        )
    )
    assert not same.changed
    validate_only = launch.launch(ecs_request(ecs_target, clock, aws=aws, stages=["validate"]))
    assert validate_only.changed
    fresh = launch.launch(ecs_request(ecs_target, clock, aws=aws, job_mode="fresh"))
    assert fresh.changed and fresh.status == "started"
    runs = tasks_started_by(aws, ecs_target.cluster, started_by)
    assert len(runs) == 2
    assert any(r["overrides"]["containerOverrides"][0]["command"][-1] == "fresh" for r in runs)


def test_ecs_timeout_leaves_the_task_running_and_a_rerun_waits_for_it(
    moto_url: str, aws: AwsConfig, ecs_target
) -> None:
    transition(moto_url, "ecs::task", 1000)  # never stops within this test's waits
    clock = FakeClock()
    stages = ["export"]
    started_by = launch.ecs_started_by(digest(), stages)
    with pytest.raises(launch.LaunchError, match=r"still .* after timeout=30s; it keeps running"):
        launch.launch(ecs_request(ecs_target, clock, aws=aws, stages=stages, timeout=30))
    assert clock.now >= 30
    # wait=false: the task in progress is reported, no second one started.
    running = launch.launch(ecs_request(ecs_target, clock, aws=aws, stages=stages, wait=False))
    assert not running.changed and running.status == "running"
    # Let it finish: the rerun waits for the same task.
    transition(moto_url, "ecs::task", 1)
    done = launch.launch(ecs_request(ecs_target, clock, aws=aws, stages=stages))
    assert not done.changed and done.status == "completed"
    assert len(tasks_started_by(aws, ecs_target.cluster, started_by)) == 1


# ------------------------------------------------------------------------------------------ Glue


@pytest.fixture(scope="module")
def glue_jobs(aws: AwsConfig) -> dict[str, str]:
    glue = client("glue", aws)
    jobs = launch.glue_job_names("netperf")
    for stage, job in jobs.items():
        glue.create_job(
            Name=job,
            Role="arn:aws:iam::123456789012:role/netperf-glue",
            Command={"Name": "glueetl", "ScriptLocation": f"s3://netperf-stats/scripts/{stage}_job.py"},
            DefaultArguments={"--STAGE": stage},
        )
    return jobs


def glue_request(clock: FakeClock, job_mode: str = "resume", stages=("all",), aws=None, **kw) -> launch.LaunchRequest:
    return launch.LaunchRequest(
        engine="glue",
        source=launch.ConfigSource(migration={**MIGRATION, "job_mode": job_mode}, server_mappings=MAPPINGS),
        stages=tuple(stages),
        job_mode=job_mode,
        waiting=waiting(clock, **kw),
        name="netperf",
        aws=aws,
    )


def runs_of(aws: AwsConfig, job: str) -> list[dict]:
    return client("glue", aws).get_job_runs(JobName=job)["JobRuns"]


def test_glue_jobs_run_in_order_once_per_configuration(moto_url: str, aws: AwsConfig, glue_jobs) -> None:
    transition(moto_url, "glue::job_run", 2)
    clock = FakeClock()
    predicted = launch.launch(glue_request(clock, aws=aws), check_mode=True)
    assert predicted.changed and predicted.status == "would_start"
    assert all(runs_of(aws, j) == [] for j in glue_jobs.values())

    result = launch.launch(glue_request(clock, aws=aws))
    assert result.changed and result.status == "started"
    assert [r["job_name"] for r in result.runs] == ["netperf-export", "netperf-transform", "netperf-load"]
    assert all(r["state"] == "SUCCEEDED" for r in result.runs)
    for job in glue_jobs.values():
        (run,) = runs_of(aws, job)
        assert run["Arguments"][launch.DIGEST_ARGUMENT] == digest()
    assert runs_of(aws, "netperf-load")[0]["Arguments"]["--FINISH"] == "true"
    # Each job started only after the previous one succeeded.
    starts = [runs_of(aws, j)[0]["StartedOn"] for j in ("netperf-export", "netperf-transform", "netperf-load")]
    assert starts == sorted(starts)

    for check in (True, False):
        again = launch.launch(glue_request(clock, aws=aws), check_mode=check)
        assert not again.changed and again.status == "completed", again
    assert all(len(runs_of(aws, j)) == 1 for j in glue_jobs.values())

    # import without finish is another load run (--FINISH false); fresh reruns every job.
    load_only = launch.launch(glue_request(clock, aws=aws, stages=["import"]))
    assert load_only.changed and [r["job_name"] for r in load_only.runs] == ["netperf-load"]
    assert len(runs_of(aws, "netperf-export")) == 1
    fresh = launch.launch(glue_request(clock, aws=aws, job_mode="fresh"))
    assert fresh.changed and all(len(runs_of(aws, j)) == 2 for j in ("netperf-export", "netperf-transform"))


def test_glue_without_waiting_starts_one_job_per_call(moto_url: str, aws: AwsConfig, glue_jobs) -> None:
    transition(moto_url, "glue::job_run", 1000)
    clock = FakeClock()
    other = {**MIGRATION, "input_partition": "2026-11-03"}  # another configuration: no runs yet

    def request(wait: bool, timeout: float = 600) -> launch.LaunchRequest:
        req = glue_request(clock, aws=aws, wait=wait, timeout=timeout)
        return launch.LaunchRequest(
            **{**req.__dict__, "source": launch.ConfigSource(migration=other, server_mappings=MAPPINGS)}
        )

    export_runs = len(runs_of(aws, "netperf-export"))
    first = launch.launch(request(wait=False))
    assert first.changed and [r["job_name"] for r in first.runs] == ["netperf-export"]
    assert len(runs_of(aws, "netperf-export")) == export_runs + 1
    # In progress: neither started again nor the next job started; a short wait times out naming the run.
    second = launch.launch(request(wait=False))
    assert not second.changed and second.status == "running"
    with pytest.raises(launch.LaunchError, match=r"netperf-export run jr_.* still STARTING after timeout=20s"):
        launch.launch(request(wait=True, timeout=20))
    assert len(runs_of(aws, "netperf-export")) == export_runs + 1


def test_glue_job_mode_must_match_the_parameter(aws: AwsConfig, glue_jobs) -> None:
    req = glue_request(FakeClock(), aws=aws)
    mismatched = launch.LaunchRequest(**{**req.__dict__, "job_mode": "fresh"})
    with pytest.raises(Exception, match="the migration parameter says resume"):
        launch.launch(mismatched)
