"""Write the migration's parameters, start the migration and wait for it — idempotently.

What the Ansible modules data_migration_parameters and data_migration do (they only adapt):

- put_parameter: the two SSM parameters as JSON (String or SecureString). The current value is compared
  as JSON (key order and spacing do not count), so an unchanged document is not rewritten.
- launch: runs the migration with one of three engines and reports whether it started one:
    local  Migration.run in this process (the emulated estate, or a controller that reaches everything);
    ecs    RunTask of the orchestrator task definition (`dbshift migrate` in Fargate);
    glue   StartJobRun of the export, transform and load jobs, in that order.
  A run already completed for the same configuration digest (MigrationConfig.digest) and stages is
  not started again unless job_mode is fresh; a run in progress is waited for, never doubled:
    local  the checkpoints in the target: the last run completed with this digest, and every stage
           asked for is done for every planned chunk (finish: the final table holds the imported rows;
           validate: every chunk validated clean after its import);
    ecs    tasks started with startedBy "dbshift-<12 hex digits of the digest and stages>" (also tagged
           with the full digest); completed = a STOPPED task whose container exited 0. ECS forgets
           stopped tasks about an hour after they stop: after that a rerun starts a task again, and the
           engine's own checkpoints make it a no-op that skips every chunk;
    glue   per job, a run whose Arguments carry --CONFIG_DIGEST=<digest> (we pass it) in SUCCEEDED.
Secrets (the target DSN, the source password) travel in MigrationConfig's Secret values; nothing here
prints or returns them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbshift.aws import AwsConfig, client
from dbshift.datamove import config as cfg
from dbshift.errors import ConfigError, DbshiftError

ENGINES = ("local", "ecs", "glue")
STAGES = ("export", "transform", "import", "finish", "validate")
GLUE_STAGES = ("export", "transform", "import", "finish")  # the Glue jobs have no validate stage
PARAMETER_TYPES = ("String", "SecureString")
DIGEST_ARGUMENT = "--CONFIG_DIGEST"
ECS_TAG_DIGEST = "dbshift:config-digest"
ECS_TAG_STAGES = "dbshift:stages"
ECS_TAG_JOB_MODE = "dbshift:job-mode"
EXIT_DIFFERENCES = 4  # `dbshift migrate`: validation found differences
_GLUE_ACTIVE = ("STARTING", "RUNNING", "STOPPING", "WAITING")
_GLUE_FAILED = ("STOPPED", "FAILED", "TIMEOUT", "ERROR", "EXPIRED")
_HIDDEN = "********"


class LaunchError(DbshiftError):
    """The migration (task, job run or local run) failed, or did not finish in time."""


# ------------------------------------------------------------------------------------------ parameters


@dataclass(frozen=True)
class ParameterChange:
    name: str
    changed: bool
    created: bool
    parameter_type: str
    before: dict[str, Any] | None  # the current document (None: absent, or not JSON)
    after: dict[str, Any]

    def diff(self) -> dict[str, Any]:
        """before/after for Ansible's diff mode; a SecureString's values are hidden, its keys shown."""

        def shown(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if doc is None or self.parameter_type != "SecureString":
                return doc
            return {k: _HIDDEN for k in doc}

        return {
            "before_header": self.name,
            "after_header": self.name,
            "before": json.dumps(shown(self.before), indent=2, sort_keys=True) + "\n" if self.before else "",
            "after": json.dumps(shown(self.after), indent=2, sort_keys=True) + "\n",
        }


def parameter_text(value: Mapping[str, Any]) -> str:
    """The stored JSON: compact, keys sorted (Standard parameters hold at most 4 KB)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def put_parameter(
    aws: AwsConfig | None,
    name: str,
    value: Mapping[str, Any],
    *,
    parameter_type: str = "SecureString",
    kms_key_id: str | None = None,
    tier: str = "Standard",
    description: str | None = None,
    check_mode: bool = False,
    ssm: Any = None,
) -> ParameterChange:
    """Create or update one JSON parameter; unchanged when its JSON, type (and key, if given) are equal."""
    if parameter_type not in PARAMETER_TYPES:
        raise ConfigError(f"parameter {name}: type {parameter_type!r}: use String or SecureString")
    if not isinstance(value, Mapping):
        raise ConfigError(f"parameter {name}: the value must be a mapping (a JSON object)")
    ssm = ssm or client("ssm", aws)
    after = json.loads(parameter_text(value))  # what a reader will parse back
    before, current_type, current_key = None, None, None
    try:
        got = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        current_type = got["Type"]
        try:
            before = json.loads(got["Value"])
        except json.JSONDecodeError:
            before = None  # not JSON: rewritten
        if kms_key_id and current_type == "SecureString":
            meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
            current_key = meta[0].get("KeyId") if meta else None
    except ssm.exceptions.ParameterNotFound:
        pass
    except Exception as e:  # access denied, endpoint down: name the parameter, never the value
        raise DbshiftError(
            f"cannot read SSM parameter {name}: {type(e).__name__}: {e}; check the name, region and permissions"
        ) from None
    created = current_type is None
    changed = (
        created
        or before != after
        or current_type != parameter_type
        or bool(kms_key_id and parameter_type == "SecureString" and current_key != kms_key_id)
    )
    if changed and not check_mode:
        args: dict[str, Any] = {
            "Name": name,
            "Value": parameter_text(value),
            "Type": parameter_type,
            "Tier": tier,
            "Overwrite": not created,
        }
        if description:
            args["Description"] = description
        if parameter_type == "SecureString" and kms_key_id:
            args["KeyId"] = kms_key_id
        try:
            ssm.put_parameter(**args)
        except Exception as e:
            raise DbshiftError(
                f"cannot write SSM parameter {name}: {type(e).__name__}: {e}; check the permissions "
                "(ssm:PutParameter, kms:Encrypt for a SecureString) and the size (Standard: 4 KB)"
            ) from None
    return ParameterChange(name, changed, created, parameter_type, before, after)


def put_parameters(
    aws: AwsConfig | None, parameters: Mapping[str, Mapping[str, Any]], **kwargs: Any
) -> list[ParameterChange]:
    """put_parameter for each name -> document, with the same options; one client."""
    ssm = kwargs.pop("ssm", None) or client("ssm", aws)
    return [put_parameter(aws, name, doc, ssm=ssm, **kwargs) for name, doc in parameters.items()]


def parameter_names(name: str) -> tuple[str, str]:
    """The default names terraform/modules/migration_config gives the two parameters."""
    return f"/dbshift/{name}/migration", f"/dbshift/{name}/server-mappings"


# ------------------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class RuntimeOptions:
    """Runtime settings of the local engine (the areas, target and source login), as module options.

    For ecs and glue only splits_per_day and split_col matter here (they enter the digest); the rest
    get stand-ins, since the configuration is built there only to compute the digest.
    """

    raw_area: str | None = None
    transformed_area: str | None = None
    target_dsn: cfg.Secret | None = None
    source_user: str | None = None
    source_password: cfg.Secret | None = None
    source_secret: str | None = None
    transforms_dir: str | None = None
    parallelism: int | None = None
    splits_per_day: int | None = None
    split_col: Mapping[str, str] = field(default_factory=dict)

    def environ(self, digest_only: bool = False) -> dict[str, str]:
        """The DBSHIFT_* variables config.load_* reads; stand-ins where digest_only and unset."""

        def area(value: str | None, what: str) -> str:
            if value:
                return value if value.startswith("s3://") else os.path.abspath(os.path.expanduser(value))
            return f"s3://dbshift-digest-only/{what}" if digest_only else ""

        env = {
            cfg.ENV_RAW_AREA: area(self.raw_area, "raw"),
            cfg.ENV_TRANSFORMED_AREA: area(self.transformed_area, "transformed"),
            cfg.ENV_TARGET_DSN: self.target_dsn.reveal() if self.target_dsn else ("digest-only" if digest_only else ""),
        }
        if self.source_secret or (digest_only and not (self.source_user and self.source_password)):
            env[cfg.ENV_SOURCE_SECRET] = self.source_secret or "digest-only"
        else:
            env[cfg.ENV_SOURCE_USER] = self.source_user or ""
            env[cfg.ENV_SOURCE_PASSWORD] = self.source_password.reveal() if self.source_password else ""
        if self.transforms_dir:
            env[cfg.ENV_TRANSFORMS_DIR] = os.path.abspath(os.path.expanduser(self.transforms_dir))
        if self.parallelism is not None:
            env[cfg.ENV_PARALLELISM] = str(self.parallelism)
        if self.splits_per_day is not None:
            env[cfg.ENV_SPLITS_PER_DAY] = str(self.splits_per_day)
        if self.split_col:
            env[cfg.ENV_SPLIT_COL] = ",".join(f"{k}={v}" for k, v in self.split_col.items())
        return {k: v for k, v in env.items() if v}


def build_config(
    runtime: RuntimeOptions,
    *,
    migration: Mapping[str, Any] | None = None,
    server_mappings: Mapping[str, Any] | None = None,
    config_file: str | Path | None = None,
    migration_parameter: str | None = None,
    server_mappings_parameter: str | None = None,
    aws: AwsConfig | None = None,
    digest_only: bool = False,
) -> cfg.MigrationConfig:
    """The configuration from the two documents, a YAML file, or the two SSM parameters (exactly one).

    The runtime settings come from `runtime` (a YAML file's own `runtime` section wins). Nothing secret
    is written anywhere: the documents hold names and filters only, the secrets go through a mapping.
    """
    given = [migration is not None or server_mappings is not None, config_file is not None, bool(migration_parameter)]
    if sum(given) != 1:
        raise ConfigError(
            "give the configuration one way: migration + server_mappings (the documents), config_file, "
            "or migration_parameter + server_mappings_parameter (SSM)"
        )
    env = runtime.environ(digest_only)
    if config_file is not None:
        return cfg.load_from_yaml(config_file, environ={**os.environ, **env})
    if migration_parameter:
        if not server_mappings_parameter:
            raise ConfigError("migration_parameter needs server_mappings_parameter (the second SSM parameter)")
        return cfg.load_from_ssm(migration_parameter, server_mappings_parameter, aws, environ=env)
    if migration is None or server_mappings is None:
        raise ConfigError("give both documents: migration and server_mappings")
    with tempfile.TemporaryDirectory(prefix="dbshift-config-") as tmp:
        path = Path(tmp) / "migration.yml"
        # JSON is YAML: the documents exactly as the parameters hold them (no secrets in either).
        path.write_text(json.dumps({"migration": dict(migration), "server_mappings": dict(server_mappings)}))
        try:
            return cfg.load_from_yaml(path, environ=env)
        except cfg.InvalidConfig as e:
            raise cfg.InvalidConfig("the migration and server_mappings documents", e.problems) from None


def resolve_stages(stages: Sequence[str] | None, engine: str) -> list[str]:
    """The stages in run order; 'all' (or none) = every stage the engine has."""
    every = GLUE_STAGES if engine == "glue" else STAGES
    if not stages or "all" in stages:
        return list(every)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"stages: unknown {', '.join(unknown)}; use {', '.join(STAGES)} or all")
    if engine == "glue" and "validate" in stages:
        raise ConfigError("stages: the Glue jobs have no validate stage; run validate with engine local or ecs")
    return [s for s in STAGES if s in stages]


# ------------------------------------------------------------------------------------------ results


@dataclass
class LaunchResult:
    engine: str
    changed: bool  # a run was started (or would be, in check mode)
    status: str  # completed | running | started | would_start
    config_digest: str
    job_mode: str
    stages: list[str]
    runs: list[dict[str, Any]] = field(default_factory=list)  # ECS tasks / Glue job runs: ids and states
    categories: list[dict[str, Any]] = field(default_factory=list)  # local: rows per stage, validation
    message: str = ""

    @property
    def validation_ok(self) -> bool | None:
        verdicts = [c.get("validation_ok") for c in self.categories if c.get("validation_ok") is not None]
        return all(verdicts) if verdicts else None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["validation_ok"] = self.validation_ok
        data["report_html"] = [c["report_html"] for c in self.categories if c.get("report_html")]
        return data


Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Waiting:
    wait: bool = True
    timeout: float = 3600.0
    poll_interval: float = 15.0
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep

    def __post_init__(self) -> None:
        for name in ("timeout", "poll_interval"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be a positive number of seconds, got {getattr(self, name)}")


# ------------------------------------------------------------------------------------------ local engine


def _category_state(conn: Any, config: cfg.MigrationConfig, name: str, stages: Sequence[str]) -> str | None:
    """None when `stages` are complete for category `name` under this configuration, else why not."""
    from dbshift.datamove import checkpoints

    last = checkpoints.last_run(conn, name)
    if last is None:
        return "no run yet"
    if last.config_digest != config.digest(name):
        return "the last run had another configuration"
    if last.status != "completed":
        return f"the last run is {last.status}"
    plan = checkpoints.load_plan(conn, name)
    if not plan:
        return "no plan saved"
    ids = {c.chunk_id for c in plan}
    keys = {"transform": ["transform"], "import": ["import"]}
    keys["export"] = [f"export:{t}" for t in config.categories[name]]
    for stage in stages:
        for key in keys.get(stage, []):
            if not ids <= set(checkpoints.done_map(conn, name, key)):
                return f"stage {key} is not done for every chunk"
    imported = checkpoints.done_map(conn, name, "import")
    if "finish" in stages:
        from psycopg import sql

        rows = conn.execute(sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(name))).fetchone()[0]
        if rows != sum(r.rows for c, r in imported.items() if c in ids):
            return f"public.{name} does not hold the imported rows (finish not run since the last import)"
    if "validate" in stages:
        checked = checkpoints.last_validations(conn, name)
        if not ids <= set(checked) or not all(checked[i].ok for i in ids):
            return "not every chunk validated clean"
        last_import = conn.execute(
            "SELECT max(done_at) FROM dbshift_migration.chunk_stages WHERE category = %s AND stage = 'import'",
            (name,),
        ).fetchone()[0]
        if last_import is not None and min(checked[i].checked_at for i in ids) < last_import:
            return "chunks were imported after their validation"
    return None


def local_state(config: cfg.MigrationConfig, stages: Sequence[str]) -> dict[str, str | None]:
    """Per category: None when complete (see _category_state), else the reason. Reads only."""
    import psycopg

    out: dict[str, str | None] = {}
    with psycopg.connect(config.runtime.target_dsn.reveal()) as conn:
        exists = conn.execute("SELECT to_regclass('dbshift_migration.runs') IS NOT NULL").fetchone()[0]
        for name in config.categories:
            if not exists:
                out[name] = "no run yet"
                continue
            try:
                out[name] = _category_state(conn, config, name, stages)
            except psycopg.errors.UndefinedTable:
                conn.rollback()
                out[name] = "the target tables do not exist yet"
    return out


def checkpoint_summary(config: cfg.MigrationConfig, report_dir: Path | None = None) -> list[dict[str, Any]]:
    """Per category, from the checkpoints: chunks planned, rows per stage, the validation verdict."""
    import psycopg

    from dbshift.datamove import checkpoints

    out = []
    with psycopg.connect(config.runtime.target_dsn.reveal()) as conn:
        for name in config.categories:
            plan = checkpoints.load_plan(conn, name) or []
            stages = []
            for key in [*(f"export:{t}" for t in config.categories[name]), "transform", "import"]:
                done = checkpoints.done_map(conn, name, key)
                stages.append(_stage_dict(key, len(done), 0, sum(r.rows for r in done.values()), 0, 0.0))
            checked = checkpoints.last_validations(conn, name)
            ok = all(v.ok for v in checked.values()) if checked and len(checked) >= len(plan) else None
            html = report_dir / f"{name}-validation.html" if report_dir else None
            out.append(
                {
                    "category": name,
                    "chunks": len(plan),
                    "stages": stages,
                    "validation_ok": ok,
                    "differences": sum(len(v.diffs or []) for v in checked.values() if not v.ok),
                    "report_html": str(html) if html and html.exists() else None,
                }
            )
    return out


def _stage_dict(stage: str, done: int, skipped: int, rows: int, nbytes: int, seconds: float) -> dict[str, Any]:
    return {
        "stage": stage,
        "chunks_done": done,
        "chunks_skipped": skipped,
        "rows": rows,
        "bytes": nbytes,
        "seconds": round(seconds, 3),
    }


def run_local(
    config: cfg.MigrationConfig,
    stages: Sequence[str],
    *,
    job_mode: str,
    waiting: Waiting = Waiting(),
    report_dir: Path | None = None,
    check_mode: bool = False,
    aws: AwsConfig | None = None,
) -> LaunchResult:
    """Migration.run in this process, stage by stage: the deadline is checked between stages (a stage in
    progress is not interrupted; a later run resumes from the checkpoints either way)."""
    from dbshift.datamove.runner import Migration

    if not waiting.wait:
        raise ConfigError("wait: false is for engines ecs and glue; the local engine runs in this process")
    digest = config.digest()
    result = LaunchResult("local", False, "completed", digest, job_mode, list(stages))
    if job_mode == "resume":
        pending = {k: v for k, v in local_state(config, stages).items() if v is not None}
        if not pending:
            result.message = "a completed run exists for this configuration and these stages; nothing started"
            result.categories = checkpoint_summary(config, report_dir)
            return result
        result.message = "; ".join(f"{k}: {v}" for k, v in pending.items())
    result.changed = True
    if check_mode:
        result.status = "would_start"
        return result
    deadline = waiting.clock() + waiting.timeout
    reports: dict[str, dict[str, Any]] = {}
    mode = job_mode
    for i, stage in enumerate(stages):
        if i and waiting.clock() > deadline:
            raise LaunchError(
                f"local migration: not finished within timeout={waiting.timeout:g}s (done: {', '.join(stages[:i])}); "
                "the checkpoints are kept: run again with job_mode=resume to continue"
            )
        # fresh resets from the first stage on, once; the later stages continue that run.
        run_config = dataclasses.replace(config, job_mode=mode)
        report = Migration(run_config, aws, progress=None, report_dir=report_dir).run([stage])
        mode = "resume"
        for c in report.categories:
            entry = reports.setdefault(
                c.category,
                {
                    "category": c.category,
                    "chunks": c.chunks,
                    "stages": [],
                    "validation_ok": None,
                    "differences": 0,
                    "report_html": None,
                },
            )
            entry["stages"] += [
                _stage_dict(s.stage, s.chunks_done, s.chunks_skipped, s.rows, s.bytes, s.seconds) for s in c.stages
            ]
            if c.validation_ok is not None:
                entry["validation_ok"], entry["differences"] = c.validation_ok, c.differences
            if c.report_html:
                entry["report_html"] = str(c.report_html)
    result.status = "started"
    result.categories = list(reports.values())
    if result.validation_ok is False:
        bad = [
            f"{c['category']}: {c['differences']} difference(s)" for c in result.categories if not c["validation_ok"]
        ]
        raise LaunchError(
            f"validation found differences ({'; '.join(bad)}); see the report(s) "
            f"{', '.join(str(c['report_html']) for c in result.categories if c['report_html']) or '(no report_dir)'}"
        )
    return result


# ------------------------------------------------------------------------------------------ ECS


@dataclass(frozen=True)
class EcsTarget:
    cluster: str
    task_definition: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...] = ()
    assign_public_ip: bool = False
    container_name: str = "orchestrator"
    launch_type: str = "FARGATE"
    platform_version: str | None = None


def run_key(digest: str, stages: Sequence[str]) -> str:
    """12 hex digits naming (configuration, stages): ECS startedBy allows letters, digits, '-', '_' and '/'."""
    return hashlib.sha256(f"{digest}|{','.join(stages)}".encode()).hexdigest()[:12]


def ecs_started_by(digest: str, stages: Sequence[str]) -> str:
    return f"dbshift-{run_key(digest, stages)}"


def _ecs_tasks(ecs: Any, target: EcsTarget, started_by: str, digest: str) -> list[dict[str, Any]]:
    arns: list[str] = []
    for desired in ("RUNNING", "STOPPED"):  # ListTasks returns RUNNING only unless asked
        for page in ecs.get_paginator("list_tasks").paginate(
            cluster=target.cluster, startedBy=started_by, desiredStatus=desired
        ):
            arns += page.get("taskArns", [])
    tasks: list[dict[str, Any]] = []
    for i in range(0, len(arns), 100):
        tasks += ecs.describe_tasks(cluster=target.cluster, tasks=arns[i : i + 100], include=["TAGS"])["tasks"]
    mine = []
    for t in tasks:
        tags = {x["key"]: x["value"] for x in t.get("tags", [])}
        if tags.get(ECS_TAG_DIGEST, digest) == digest:  # guards against a 12-digit prefix collision
            mine.append(t)
    return sorted(mine, key=lambda t: str(t.get("createdAt", "")))


def _exit_code(task: Mapping[str, Any], container: str) -> int | None:
    for c in task.get("containers", []):
        if c.get("name") == container or len(task.get("containers", [])) == 1:
            return c.get("exitCode")
    return None


def _task_view(task: Mapping[str, Any], container: str) -> dict[str, Any]:
    return {
        "task_arn": task.get("taskArn"),
        "last_status": task.get("lastStatus"),
        "exit_code": _exit_code(task, container),
        "stopped_reason": task.get("stoppedReason"),
    }


def run_ecs(
    ecs: Any,
    target: EcsTarget,
    digest: str,
    stages: Sequence[str],
    job_mode: str,
    *,
    waiting: Waiting = Waiting(),
    check_mode: bool = False,
) -> LaunchResult:
    """RunTask of the orchestrator with `--stage ... --job-mode ...`, unless a run for this digest and these
    stages completed (resume) or is in progress; then wait for the task to stop."""
    started_by = ecs_started_by(digest, stages)
    result = LaunchResult("ecs", False, "completed", digest, job_mode, list(stages))
    tasks = _ecs_tasks(ecs, target, started_by, digest)
    running = [t for t in tasks if t.get("lastStatus") != "STOPPED"]
    # Only the newest task counts: a fresh rerun that failed leaves the data incomplete again.
    newest_ok = bool(tasks) and not running and _exit_code(tasks[-1], target.container_name) == 0
    if running:
        task = running[-1]
        result.status = "running"
        result.message = f"task {task['taskArn']} (startedBy {started_by}) is in progress; not starting another"
    elif newest_ok and job_mode == "resume":
        result.runs = [_task_view(tasks[-1], target.container_name)]
        result.message = f"task {tasks[-1]['taskArn']} completed this run (startedBy {started_by}); nothing started"
        return result
    else:
        result.changed = True
        if check_mode:
            result.status = "would_start"
            return result
        task = _ecs_start(ecs, target, started_by, digest, stages, job_mode)
        result.status = "started"
    result.runs = [_task_view(task, target.container_name)]
    if check_mode or not waiting.wait:
        return result
    task = _ecs_wait(ecs, target, task["taskArn"], waiting)
    result.runs = [_task_view(task, target.container_name)]
    code = _exit_code(task, target.container_name)
    if code != 0:
        what = "validation found differences" if code == EXIT_DIFFERENCES else "the migration failed"
        raise LaunchError(
            f"ECS task {task['taskArn']} stopped: {what} (exit code {code}, reason: "
            f"{task.get('stoppedReason') or 'none given'}); see its log group for the error, fix it and run again"
        )
    if result.status == "running":
        result.status = "completed"
    return result


def _ecs_start(
    ecs: Any, target: EcsTarget, started_by: str, digest: str, stages: Sequence[str], job_mode: str
) -> dict[str, Any]:
    command = [x for s in stages for x in ("--stage", s)] + ["--job-mode", job_mode]
    network: dict[str, Any] = {
        "subnets": list(target.subnets),
        "assignPublicIp": "ENABLED" if target.assign_public_ip else "DISABLED",
    }
    if target.security_groups:
        network["securityGroups"] = list(target.security_groups)
    args: dict[str, Any] = {
        "cluster": target.cluster,
        "taskDefinition": target.task_definition,
        "count": 1,
        "launchType": target.launch_type,
        "startedBy": started_by,
        "networkConfiguration": {"awsvpcConfiguration": network},
        "overrides": {"containerOverrides": [{"name": target.container_name, "command": command}]},
        "tags": [
            {"key": ECS_TAG_DIGEST, "value": digest},
            {"key": ECS_TAG_STAGES, "value": ",".join(stages)},
            {"key": ECS_TAG_JOB_MODE, "value": job_mode},
        ],
    }
    if target.platform_version:
        args["platformVersion"] = target.platform_version
    resp = ecs.run_task(**args)
    if not resp.get("tasks"):
        reasons = "; ".join(f"{f.get('arn', '')}: {f.get('reason', '')}" for f in resp.get("failures", []))
        raise LaunchError(
            f"ECS RunTask of {target.task_definition} on {target.cluster} started no task ({reasons or 'no reason'}); "
            "check the subnets, security groups and the cluster's capacity"
        )
    return resp["tasks"][0]


def _ecs_wait(ecs: Any, target: EcsTarget, arn: str, waiting: Waiting) -> dict[str, Any]:
    deadline = waiting.clock() + waiting.timeout
    while True:
        found = ecs.describe_tasks(cluster=target.cluster, tasks=[arn], include=["TAGS"])
        if not found.get("tasks"):
            raise LaunchError(f"ECS task {arn} is gone from {target.cluster} (stopped over an hour ago?); run again")
        task = found["tasks"][0]
        if task.get("lastStatus") == "STOPPED":
            return task
        if waiting.clock() >= deadline:
            raise LaunchError(
                f"ECS task {arn} still {task.get('lastStatus')} after timeout={waiting.timeout:g}s; it keeps running: "
                "run again to wait for it (no second task is started), or raise the timeout"
            )
        waiting.sleep(waiting.poll_interval)


# ------------------------------------------------------------------------------------------ Glue


def glue_job_names(name: str) -> dict[str, str]:
    """The jobs terraform/modules/glue_migration creates: <name>-export, <name>-transform, <name>-load."""
    return {"export": f"{name}-export", "transform": f"{name}-transform", "load": f"{name}-load"}


def glue_plan(stages: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
    """(job stage, extra arguments) in order: import is the load job; finish is load with --FINISH true."""
    plan: list[tuple[str, dict[str, str]]] = []
    for s in ("export", "transform"):
        if s in stages:
            plan.append((s, {}))
    if "import" in stages or "finish" in stages:
        plan.append(("load", {"--FINISH": "true" if "finish" in stages else "false"}))
    return plan


def _glue_runs(glue: Any, job: str, digest: str, extra: Mapping[str, str]) -> list[dict[str, Any]]:
    """The job's runs for this digest (and these extra arguments), newest first."""
    runs = []
    for page in glue.get_paginator("get_job_runs").paginate(JobName=job):
        for r in page.get("JobRuns", []):
            args = r.get("Arguments") or {}
            if args.get(DIGEST_ARGUMENT) == digest and all(args.get(k) == v for k, v in extra.items()):
                runs.append(r)
    return sorted(runs, key=lambda r: r.get("StartedOn") or dt.datetime.min, reverse=True)


def _run_view(job: str, run: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "job_name": job,
        "job_run_id": run.get("Id"),
        "state": run.get("JobRunState"),
        "error_message": run.get("ErrorMessage"),
    }


def run_glue(
    glue: Any,
    jobs: Mapping[str, str],
    digest: str,
    stages: Sequence[str],
    job_mode: str,
    *,
    waiting: Waiting = Waiting(),
    check_mode: bool = False,
) -> LaunchResult:
    """StartJobRun of the export, transform and load jobs in order, each after the previous succeeded.

    resume skips a job with a SUCCEEDED run for this digest; a run in progress is waited for, never
    doubled. With wait false, the next job to run is started and the module returns: run again to go on.
    """
    result = LaunchResult("glue", False, "completed", digest, job_mode, list(stages))
    deadline = waiting.clock() + waiting.timeout
    for stage, extra in glue_plan(stages):
        job = jobs[stage]
        runs = _glue_runs(glue, job, digest, extra)
        active = [r for r in runs if r.get("JobRunState") in _GLUE_ACTIVE]
        if active:
            run_id = active[0]["Id"]
            if result.status == "completed":
                result.status = "running"
        elif runs and runs[0].get("JobRunState") == "SUCCEEDED" and job_mode == "resume":
            # Only the newest run counts: a fresh rerun that failed leaves the data incomplete again.
            result.runs.append(_run_view(job, runs[0]))
            continue
        else:
            result.changed = True
            if check_mode:
                result.status = "would_start"
                result.runs.append({"job_name": job, "job_run_id": None, "state": "would_start"})
                continue
            arguments = {DIGEST_ARGUMENT: digest, **extra}
            try:
                run_id = glue.start_job_run(JobName=job, Arguments=arguments)["JobRunId"]
            except glue.exceptions.ConcurrentRunsExceededException:
                raise LaunchError(
                    f"Glue job {job} is already running for another configuration (max concurrent runs reached); "
                    "wait for it to finish, then run again"
                ) from None
            result.status = "started"
        if check_mode:
            result.runs.append({"job_name": job, "job_run_id": run_id, "state": "RUNNING"})
            return result  # later jobs wait for this one
        if not waiting.wait:
            result.runs.append({"job_name": job, "job_run_id": run_id, "state": "RUNNING"})
            result.message = f"started {job}; run again to wait for it and start the next job"
            return result
        run = _glue_wait(glue, job, run_id, deadline, waiting)
        result.runs.append(_run_view(job, run))
    if not result.changed and result.status == "completed":
        result.message = "every job has a SUCCEEDED run for this configuration; nothing started"
    elif result.status == "running":
        result.status = "completed"
    return result


def _glue_wait(glue: Any, job: str, run_id: str, deadline: float, waiting: Waiting) -> dict[str, Any]:
    while True:
        run = glue.get_job_run(JobName=job, RunId=run_id, PredecessorsIncluded=False)["JobRun"]
        state = run.get("JobRunState")
        if state == "SUCCEEDED":
            return run
        if state in _GLUE_FAILED:
            raise LaunchError(
                f"Glue job {job} run {run_id} ended {state}: {run.get('ErrorMessage') or 'no message'}; see the "
                "job's CloudWatch logs, fix the cause and run again (resume continues from the checkpoints)"
            )
        if waiting.clock() >= deadline:
            raise LaunchError(
                f"Glue job {job} run {run_id} still {state} after timeout={waiting.timeout:g}s; it keeps running: "
                "run again to wait for it (no second run is started), or raise the timeout"
            )
        waiting.sleep(waiting.poll_interval)


# ------------------------------------------------------------------------------------------ one entry point


@dataclass(frozen=True)
class ConfigSource:
    """Where the configuration comes from: the two documents, a YAML file, or the two SSM parameters."""

    migration: Mapping[str, Any] | None = None
    server_mappings: Mapping[str, Any] | None = None
    config_file: str | None = None
    migration_parameter: str | None = None
    server_mappings_parameter: str | None = None


@dataclass(frozen=True)
class LaunchRequest:
    engine: str
    source: ConfigSource
    runtime: RuntimeOptions = RuntimeOptions()
    stages: tuple[str, ...] = ("all",)
    job_mode: str = "resume"
    waiting: Waiting = Waiting()
    name: str | None = None  # the migration's name: Glue jobs <name>-<stage>, ECS family <name>-orchestrator
    ecs: EcsTarget | None = None
    glue_jobs: Mapping[str, str] | None = None  # stage (export, transform, load) -> job name
    report_dir: str | None = None
    aws: AwsConfig | None = None


def launch(req: LaunchRequest, check_mode: bool = False) -> LaunchResult:
    """Run (or find completed) the migration `req` describes; see the module docstring."""
    if req.engine not in ENGINES:
        raise ConfigError(f"engine {req.engine!r}: use one of {', '.join(ENGINES)}")
    if req.job_mode not in cfg.JOB_MODES:
        raise ConfigError(f"job_mode {req.job_mode!r}: use fresh (start over) or resume")
    stages = resolve_stages(req.stages, req.engine)
    config = build_config(
        req.runtime,
        migration=req.source.migration,
        server_mappings=req.source.server_mappings,
        config_file=req.source.config_file,
        migration_parameter=req.source.migration_parameter,
        server_mappings_parameter=req.source.server_mappings_parameter,
        aws=req.aws,
        digest_only=req.engine != "local",
    )
    if req.engine == "local":
        report_dir = Path(req.report_dir).expanduser().resolve() if req.report_dir else None
        if report_dir is not None and not check_mode:
            report_dir.mkdir(parents=True, exist_ok=True)
        return run_local(
            config,
            stages,
            job_mode=req.job_mode,
            waiting=req.waiting,
            report_dir=report_dir,
            check_mode=check_mode,
            aws=req.aws,
        )
    if req.engine == "ecs":
        if req.ecs is None or not req.ecs.cluster or not req.ecs.subnets:
            raise ConfigError("engine ecs needs ecs_cluster and ecs_subnets (the task runs with awsvpc networking)")
        target = req.ecs
        if not target.task_definition:
            if not req.name:
                raise ConfigError("engine ecs needs ecs_task_definition, or name (family <name>-orchestrator)")
            target = dataclasses.replace(target, task_definition=f"{req.name}-orchestrator")
        return run_ecs(
            client("ecs", req.aws),
            target,
            config.digest(),
            stages,
            req.job_mode,
            waiting=req.waiting,
            check_mode=check_mode,
        )
    jobs = dict(req.glue_jobs or {})
    if not jobs:
        if not req.name:
            raise ConfigError("engine glue needs name (jobs <name>-export, -transform, -load) or glue_job_names")
        jobs = glue_job_names(req.name)
    missing = [s for s, _ in glue_plan(stages) if s not in jobs]
    if missing:
        raise ConfigError(f"glue_job_names: no job for {', '.join(missing)}; give export, transform and load")
    if config.job_mode != req.job_mode:
        # The Glue jobs read job_mode from the migration parameter; a mismatch would do something else.
        raise ConfigError(
            f"job_mode {req.job_mode} but the migration parameter says {config.job_mode}: the Glue jobs read it "
            "from the parameter, so write it first (data_migration_parameters) with the same job_mode"
        )
    return run_glue(
        client("glue", req.aws), jobs, config.digest(), stages, req.job_mode, waiting=req.waiting, check_mode=check_mode
    )
