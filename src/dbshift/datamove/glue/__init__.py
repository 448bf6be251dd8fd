"""Glue job scripts of the data migration (Glue 5.0: Spark 3.5, Python 3.11).

export_job and transform_job run dbshift's own stage code under Spark, so Glue and the local engine
share one implementation: the export job distributes the chunk list over Spark tasks, each running
export.export_chunk; the transform job runs the category's SQL file in Spark SQL. Glue needs dbshift
on the workers (--additional-python-modules with the dbshift wheel). The per-job logic lives in
importable functions (run_export, run_transform) that tests call with a local SparkSession.

Arguments: --MIGRATION_PARAMETER, --SERVER_MAPPINGS_PARAMETER (SSM parameter names), --RAW_AREA,
--TRANSFORMED_AREA (s3://bucket/prefix), --SOURCE_SECRET (Secrets Manager: the SQL Server login),
--TARGET_DSN_SECRET (Secrets Manager: the target DSN, for the checkpoints); optional --CATEGORY,
--AWS_ENDPOINT_URL (the emulated estate). Read with awsglue's getResolvedOptions when awsglue is
importable (inside Glue), else with argparse under the same names.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dbshift.aws.clients import AwsConfig, client
from dbshift.datamove import config as cfg
from dbshift.errors import ConfigError

log = logging.getLogger(__name__)

COMMON_ARGS = (
    "MIGRATION_PARAMETER",
    "SERVER_MAPPINGS_PARAMETER",
    "RAW_AREA",
    "TRANSFORMED_AREA",
    "SOURCE_SECRET",
    "TARGET_DSN_SECRET",
)
OPTIONAL_ARGS = ("CATEGORY", "AWS_ENDPOINT_URL", "PARTITIONS")


def job_args(
    argv: Sequence[str], required: Sequence[str] = COMMON_ARGS, optional: Sequence[str] = OPTIONAL_ARGS
) -> dict[str, str | None]:
    """The job's --NAME value arguments: through awsglue inside Glue, argparse elsewhere (same names)."""
    argv = list(argv)
    present = [n for n in optional if f"--{n}" in argv]
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
    except ImportError:
        parser = argparse.ArgumentParser(prog=os.path.basename(argv[0]) if argv else "glue-job")
        for name in required:
            parser.add_argument(f"--{name}", required=True)
        for name in optional:
            parser.add_argument(f"--{name}")
        known, _unknown = parser.parse_known_args(argv[1:])  # Glue adds its own (--JOB_NAME, --job-bookmark-option ...)
        return vars(known)
    resolved = getResolvedOptions(argv, [*required, *present])
    return {n: resolved.get(n) for n in [*required, *optional]}


def read_secret(secret_id: str, aws: AwsConfig | None) -> str:
    """A Secrets Manager secret's string; the error names the secret, never its value."""
    try:
        return client("secretsmanager", aws).get_secret_value(SecretId=secret_id)["SecretString"]
    except Exception as e:
        raise ConfigError(
            f"cannot read secret {secret_id}: {type(e).__name__}; check the name/ARN, region and the job role"
        ) from None


def load_job_config(args: Mapping[str, str | None], aws: AwsConfig | None) -> cfg.MigrationConfig:
    """The migration configuration from SSM, with the runtime settings taken from the job arguments."""
    env = {
        cfg.ENV_RAW_AREA: args["RAW_AREA"] or "",
        cfg.ENV_TRANSFORMED_AREA: args["TRANSFORMED_AREA"] or "",
        cfg.ENV_SOURCE_SECRET: args["SOURCE_SECRET"] or "",
        cfg.ENV_TARGET_DSN: read_secret(str(args["TARGET_DSN_SECRET"]), aws),
    }
    return cfg.load_from_ssm(str(args["MIGRATION_PARAMETER"]), str(args["SERVER_MAPPINGS_PARAMETER"]), aws, env)


def aws_from_args(args: Mapping[str, str | None]) -> AwsConfig:
    return AwsConfig(endpoint_url=args.get("AWS_ENDPOINT_URL") or None)


@dataclass
class JobStart:
    """What every job reads first: its arguments, the configuration, the source login and the target DSN."""

    args: dict[str, str | None]
    aws: AwsConfig
    config: cfg.MigrationConfig
    login: cfg.SourceCredentials
    dsn: str  # holds a password: never logged
    categories: list[str]  # --CATEGORY, or every configured one


def start_job(
    argv: Sequence[str], required: Sequence[str] = COMMON_ARGS, optional: Sequence[str] = OPTIONAL_ARGS
) -> JobStart:
    args = job_args(argv, required, optional)
    aws = aws_from_args(args)
    config = load_job_config(args, aws)
    names = [str(args["CATEGORY"])] if args.get("CATEGORY") else list(config.categories)
    return JobStart(
        args, aws, config, config.runtime.source_credentials(aws), config.runtime.target_dsn.reveal(), names
    )


def spark_session(app_name: str) -> Any:
    """The job's SparkSession: Glue's when running in Glue, a plain one elsewhere; UTC session time zone
    (timestamps are wall-clock values of the source; no zone may shift them)."""
    try:
        from awsglue.context import GlueContext  # type: ignore[import-not-found]
        from pyspark.context import SparkContext

        spark = GlueContext(SparkContext.getOrCreate()).spark_session
    except ImportError:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.appName(app_name).getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    return spark


def run_main(main: Any) -> None:
    """Entry point wrapper: one line on stderr and exit 1 on a dbshift error."""
    from dbshift.errors import DbshiftError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sys.exit(main(sys.argv))
    except DbshiftError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


def prepare_category(
    conn: Any,
    config: cfg.MigrationConfig,
    name: str,
    login: cfg.SourceCredentials,
    stage: str,
    connect: Any = None,
) -> tuple[Any, list[Any]]:
    """(Category, chunks) for a Glue job, prepared as the local engine does: target DDL applied, the
    configuration checked against the sources, the category derived from the target tables,
    job_mode=fresh honoured for `stage` and the stages after it, and the plan loaded from the
    checkpoints (or made from the sources' split-column bounds and saved). Commits.
    `connect(host_port, database, login)` defaults to a TDS connection.
    """
    from dbshift.datamove.glue.export_job import tds_connect
    from dbshift.datamove.prepare import describe_sources
    from dbshift.datamove.prepare import prepare_category as prepare

    conns: dict[tuple[str, str], Any] = {}

    def source(server: str, database: str) -> Any:
        if (server, database) not in conns:
            conns[(server, database)] = (connect or tds_connect)(config.servers[server], database, login)
        return conns[(server, database)]

    try:
        source_columns = cfg.validate_against_sources(config, describe_sources(source))
        return prepare(conn, config, name, source_columns, source, stage)
    finally:
        for c in conns.values():
            c.close()
