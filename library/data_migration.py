#!/usr/bin/python
"""Ansible module data_migration: a thin adapter over dbshift.datamove.launch.launch."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: data_migration
short_description: Run the SQL Server to PostgreSQL data migration (local engine, ECS task or Glue jobs) and wait
description:
  - Runs the data migration (export, transform, import, finish, validate) with one of three engines and
    waits for it with a timeout.
  - V(local) runs the dbshift engine in the module's process (the emulated estate, or a controller that
    reaches the sources and the target). V(ecs) starts the orchestrator task (C(dbshift migrate) on
    Fargate, C(terraform/modules/ecs_orchestrator)). V(glue) starts the export, transform and load Glue jobs
    in that order, each after the previous one succeeded (C(terraform/modules/glue_migration)).
  - Idempotent. A run is identified by the configuration's digest (the settings that decide which rows
    land where) and the stages. With O(job_mode=resume) a completed run is not started again and the
    module returns C(changed=false); a run in progress is waited for, never started twice.
    V(local) reads the checkpoints in the target PostgreSQL (the last run completed with this digest and
    every stage asked for is done for every chunk). V(ecs) looks for tasks started by
    C(dbshift-<12 hex digits>) (also tagged with the full digest); a STOPPED task whose container exited 0
    is a completed run. ECS forgets stopped tasks about an hour after they stop; after that a rerun starts
    a task again, and the engine's own checkpoints make it a no-op that skips every chunk. V(glue) looks
    for job runs whose arguments carry C(--CONFIG_DIGEST=<digest>) (passed when starting) in SUCCEEDED.
  - O(job_mode=fresh) starts over (the checkpoints of the stages run are reset) even when a completed run
    exists.
  - Validation differences fail the module, naming the report.
  - The work is done by the dbshift library (C(dbshift.datamove.launch)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the run state (checkpoints, ECS tasks, Glue job runs) and reports C(changed=true) when a run would
        be started; starts nothing and moves no data.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  engine:
    description:
      - Where the migration runs.
    type: str
    default: local
    choices: [local, ecs, glue]
  name:
    description:
      - Name of the migration, for example C(netperf). V(glue) runs the jobs C(<name>-export), C(<name>-transform)
        and C(<name>-load) unless O(glue_job_names) is given; V(ecs) runs the task family
        C(<name>-orchestrator) unless O(ecs_task_definition) is given.
    type: str
  migration:
    description:
      - The migration parameter's document (job_mode, log_level, input_partition, partition_col_date,
        C(source_filter_<table>)), as written by M(data_migration_parameters). Give it with O(server_mappings);
        or give O(config_file); or O(migration_parameter) and O(server_mappings_parameter).
      - For V(ecs) and V(glue) the configuration only names the run (its digest); the task and the jobs read
        the SSM parameters themselves, so write them first with the same documents.
    type: dict
  server_mappings:
    description:
      - The server mappings parameter's document (server_mappings, databases, categories).
    type: dict
  config_file:
    description:
      - A local YAML file with the C(migration) and C(server_mappings) sections (and optionally C(runtime)),
        as C(dbshift migrate --config) reads it. Its own C(runtime) section wins over the runtime options below.
    type: path
  migration_parameter:
    description:
      - Read the configuration from this SSM parameter (and O(server_mappings_parameter)).
    type: str
  server_mappings_parameter:
    description:
      - The server mappings SSM parameter, with O(migration_parameter).
    type: str
  stages:
    description:
      - The stages to run, in the engine's order whatever the order given; V(all) runs every stage. The Glue
        jobs have no validate stage (V(all) means export, transform, import, finish there; import and finish
        are the load job, finish with C(--FINISH true)).
    type: list
    elements: str
    default: [all]
    choices: [all, export, transform, import, finish, validate]
  job_mode:
    description:
      - V(resume) continues from the checkpoints and does not start a completed run again; V(fresh) starts the
        stages over. For V(glue) it must equal the job_mode of the migration parameter (the jobs read it there).
    type: str
    default: resume
    choices: [resume, fresh]
  wait:
    description:
      - Wait for the run to end. With V(false) (V(ecs), V(glue)) the module returns once the task or the next
        Glue job is started; run it again to wait (nothing is started twice). V(local) always waits.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait before failing. The ECS task or Glue job keeps running; a rerun waits for it. The local
        engine checks the deadline between stages (a stage in progress finishes; checkpoints make any stop safe).
    type: int
    default: 3600
  poll_interval:
    description:
      - Seconds between two reads of the task or job run state.
    type: float
    default: 15.0
  raw_area:
    description:
      - V(local) - The raw area, a local directory or C(s3://bucket/prefix).
    type: str
  transformed_area:
    description:
      - V(local) - The transformed area, a local directory or C(s3://bucket/prefix).
    type: str
  target_dsn:
    description:
      - V(local) - The target PostgreSQL DSN (it holds the checkpoints too). Never logged or returned.
    type: str
  source_user:
    description:
      - V(local) - The SQL Server login that reads the sources, with O(source_password).
    type: str
  source_password:
    description:
      - V(local) - Password of O(source_user). Never logged or returned.
    type: str
  source_secret:
    description:
      - V(local) - Secrets Manager name or ARN holding the source login as JSON C({"username", "password"}),
        instead of O(source_user) and O(source_password).
    type: str
  transforms_dir:
    description:
      - V(local) - Directory of C(<category>.sql) and C(<category>.postgres.sql); the ones shipped with dbshift
        when omitted.
    type: path
  parallelism:
    description:
      - V(local) - Chunks worked on at once.
    type: int
  splits_per_day:
    description:
      - Key ranges per server, database and day. It enters the configuration's digest, so for V(ecs) give the
        task's C(DBSHIFT_SPLITS_PER_DAY) if it sets one (Glue uses the default, 4).
    type: int
  split_col:
    description:
      - Split column per category, overriding the derived one (enters the digest).
    type: dict
  report_dir:
    description:
      - V(local) - Directory receiving the HTML validation report C(<category>-validation.html).
    type: path
  ecs_cluster:
    description:
      - V(ecs) - Cluster name or ARN (C(cluster_arn) of the ecs_orchestrator module).
    type: str
  ecs_task_definition:
    description:
      - V(ecs) - Task definition family (latest revision) or ARN; C(<name>-orchestrator) when omitted.
    type: str
  ecs_subnets:
    description:
      - V(ecs) - Subnets of the task (awsvpc), which must reach the sources, the target and the AWS APIs.
    type: list
    elements: str
  ecs_security_groups:
    description:
      - V(ecs) - Security groups of the task.
    type: list
    elements: str
  ecs_assign_public_ip:
    description:
      - V(ecs) - Give the task a public IP (only for subnets without a NAT gateway).
    type: bool
    default: false
  ecs_container_name:
    description:
      - V(ecs) - The orchestrator container's name (its command gets the stages and job_mode).
    type: str
    default: orchestrator
  glue_job_names:
    description:
      - V(glue) - Job names by stage C(export), C(transform), C(load) (C(job_names) of the glue_migration module).
    type: dict
  endpoint_url:
    description:
      - AWS endpoint URL. Omit it for real AWS; the emulated estate sets it to its AWS emulator.
        When omitted, E(AWS_ENDPOINT_URL) is honoured.
    type: str
  region:
    description:
      - AWS region. When omitted, E(AWS_REGION) or E(AWS_DEFAULT_REGION).
    type: str
notes:
  - Runs on the controller with the Python environment that has dbshift installed. V(local) needs the sources
    (TDS) and the target (PostgreSQL) reachable from it; V(ecs) and V(glue) need the AWS APIs only.
  - Against dbshift's emulated estate the SQL Server sources are an emulator of the documented behaviour.
seealso:
  - module: data_migration_parameters
requirements:
  - python >= 3.11 on the controller, with the dbshift package installed
"""

EXAMPLES = r"""
- name: Migrate with the local engine (the emulated estate)
  data_migration:
    engine: local
    migration: "{{ netperf_migration }}"
    server_mappings: "{{ netperf_server_mappings }}"
    raw_area: /srv/dbshift/raw
    transformed_area: /srv/dbshift/transformed
    target_dsn: "{{ lookup('ansible.builtin.file', '/etc/dbshift/aurora_dsn') }}"
    source_user: migration_reader
    source_password: "{{ vault_source_password }}"
    report_dir: /srv/dbshift/reports
  register: migration

- name: Start the orchestrator task on ECS Fargate and wait up to 6 hours
  data_migration:
    engine: ecs
    name: netperf
    migration: "{{ netperf_migration }}"
    server_mappings: "{{ netperf_server_mappings }}"
    ecs_cluster: netperf-migration
    ecs_subnets: [subnet-0a1b2c3d4e5f60718]
    ecs_security_groups: [sg-0123456789abcdef0]
    wait_timeout: 21600
    poll_interval: 60

- name: Run the Glue jobs (export, transform, load + finish); the parameters name the configuration
  data_migration:
    engine: glue
    name: netperf
    migration_parameter: /dbshift/netperf/migration
    server_mappings_parameter: /dbshift/netperf/server-mappings
    wait_timeout: 21600
"""

RETURN = r"""
engine:
  description: The engine that ran.
  returned: always
  type: str
  sample: local
status:
  description:
    - V(started) (a run was started and, when waiting, completed), V(completed) (a completed run exists;
      nothing started, or a run in progress was waited for), V(running) (in progress, not waited for),
      V(would_start) (check mode).
  returned: always
  type: str
  sample: started
config_digest:
  description: Digest of the configuration's data-defining settings, which names the run.
  returned: always
  type: str
  sample: sha256:5f1d2c0e8a9b...
job_mode:
  description: The job_mode the run used.
  returned: always
  type: str
  sample: resume
stages:
  description: The stages, in run order.
  returned: always
  type: list
  elements: str
  sample: [export, transform, import, finish, validate]
runs:
  description: V(ecs) - the task (task_arn, last_status, exit_code, stopped_reason); V(glue) - the job runs
    (job_name, job_run_id, state, error_message).
  returned: always
  type: list
  elements: dict
  sample: [{"job_name": "netperf-export", "job_run_id": "jr_0123", "state": "SUCCEEDED", "error_message": null}]
categories:
  description:
    - V(local) - per category, the chunks planned, rows per stage (chunks_done, chunks_skipped, rows, bytes,
      seconds), the validation verdict, the number of differences and the HTML report. When nothing was
      started the rows come from the checkpoints.
  returned: always
  type: list
  elements: dict
  sample: [{"category": "cell_perf_stats", "chunks": 16, "validation_ok": true, "differences": 0,
            "report_html": "/srv/dbshift/reports/cell_perf_stats-validation.html",
            "stages": [{"stage": "import", "chunks_done": 16, "chunks_skipped": 0, "rows": 8000,
                        "bytes": 412000, "seconds": 1.2}]}]
validation_ok:
  description: True when every category validated clean, null when validate did not run.
  returned: always
  type: bool
  sample: true
report_html:
  description: Paths of the HTML validation reports.
  returned: always
  type: list
  elements: str
  sample: [/srv/dbshift/reports/cell_perf_stats-validation.html]
message:
  description: Why a run was (not) started, in words.
  returned: always
  type: str
  sample: a completed run exists for this configuration and these stages; nothing started
"""

from ansible.module_utils.dbshift_import import DbshiftImport, run_and_exit  # noqa: E402

STAGE_CHOICES = ["all", "export", "transform", "import", "finish", "validate"]
ARGUMENT_SPEC = {
    "engine": {"type": "str", "default": "local", "choices": ["local", "ecs", "glue"]},
    "name": {"type": "str"},
    "migration": {"type": "dict"},
    "server_mappings": {"type": "dict"},
    "config_file": {"type": "path"},
    "migration_parameter": {"type": "str"},
    "server_mappings_parameter": {"type": "str"},
    "stages": {"type": "list", "elements": "str", "default": ["all"], "choices": STAGE_CHOICES},
    "job_mode": {"type": "str", "default": "resume", "choices": ["resume", "fresh"]},
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 3600},
    "poll_interval": {"type": "float", "default": 15.0},
    "raw_area": {"type": "str"},
    "transformed_area": {"type": "str"},
    "target_dsn": {"type": "str", "no_log": True},
    "source_user": {"type": "str"},
    "source_password": {"type": "str", "no_log": True},
    "source_secret": {"type": "str"},
    "transforms_dir": {"type": "path"},
    "parallelism": {"type": "int"},
    "splits_per_day": {"type": "int"},
    "split_col": {"type": "dict"},
    "report_dir": {"type": "path"},
    "ecs_cluster": {"type": "str"},
    "ecs_task_definition": {"type": "str"},
    "ecs_subnets": {"type": "list", "elements": "str"},
    "ecs_security_groups": {"type": "list", "elements": "str"},
    "ecs_assign_public_ip": {"type": "bool", "default": False},
    "ecs_container_name": {"type": "str", "default": "orchestrator"},
    "glue_job_names": {"type": "dict"},
    "endpoint_url": {"type": "str"},
    "region": {"type": "str"},
}

DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.aws import AwsConfig
    from dbshift.datamove import launch
    from dbshift.datamove.config import Secret


def request(p: dict, aws: AwsConfig) -> launch.LaunchRequest:
    ecs = None
    if p["engine"] == "ecs":
        ecs = launch.EcsTarget(
            cluster=p["ecs_cluster"] or "",
            task_definition=p["ecs_task_definition"] or "",
            subnets=tuple(p["ecs_subnets"] or ()),
            security_groups=tuple(p["ecs_security_groups"] or ()),
            assign_public_ip=p["ecs_assign_public_ip"],
            container_name=p["ecs_container_name"],
        )
    return launch.LaunchRequest(
        engine=p["engine"],
        source=launch.ConfigSource(
            migration=p["migration"],
            server_mappings=p["server_mappings"],
            config_file=p["config_file"],
            migration_parameter=p["migration_parameter"],
            server_mappings_parameter=p["server_mappings_parameter"],
        ),
        runtime=launch.RuntimeOptions(
            raw_area=p["raw_area"],
            transformed_area=p["transformed_area"],
            target_dsn=Secret(p["target_dsn"]) if p["target_dsn"] else None,
            source_user=p["source_user"],
            source_password=Secret(p["source_password"]) if p["source_password"] else None,
            source_secret=p["source_secret"],
            transforms_dir=p["transforms_dir"],
            parallelism=p["parallelism"],
            splits_per_day=p["splits_per_day"],
            split_col={str(k): str(v) for k, v in (p["split_col"] or {}).items()},
        ),
        stages=tuple(p["stages"]),
        job_mode=p["job_mode"],
        waiting=launch.Waiting(wait=p["wait"], timeout=p["wait_timeout"], poll_interval=p["poll_interval"]),
        name=p["name"],
        ecs=ecs,
        glue_jobs=p["glue_job_names"],
        report_dir=p["report_dir"],
        aws=aws,
    )


def main() -> None:
    module = DBSHIFT.module(
        ARGUMENT_SPEC,
        supports_check_mode=True,
        mutually_exclusive=[("migration", "config_file", "migration_parameter")],
        required_one_of=[("migration", "config_file", "migration_parameter")],
        required_together=[("migration", "server_mappings"), ("migration_parameter", "server_mappings_parameter")],
    )
    p = module.params
    aws = AwsConfig(region=p["region"], endpoint_url=p["endpoint_url"])
    run_and_exit(
        module,
        lambda: launch.launch(request(p, aws), check_mode=module.check_mode).to_dict(),
        f"data migration ({p['engine']})",
    )


if __name__ == "__main__":
    main()
