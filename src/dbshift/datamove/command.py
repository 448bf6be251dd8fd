"""`dbshift migrate`: the data migration from the command line (and the ECS Fargate task's entrypoint).

Configuration from a local YAML file (--config) or SSM Parameter Store (--ssm-parameter, or the
MIGRATION_PARAMETER / SERVER_MAPPINGS_PARAMETER environment variables the ECS task definition sets).
Exit codes: 0 done (validation clean when it ran), 4 validation found differences, 2 error (one line on stderr).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dbshift.errors import DbshiftError

EXIT_DIFFERENCES = 4


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "migrate",
        help="data migration SQL Server -> PostgreSQL: export, transform, import, finish, validate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--config", help="local YAML file with the `migration` and `server_mappings` keys")
    src.add_argument("--ssm-parameter", help="SSM parameter holding the migration settings (env MIGRATION_PARAMETER)")
    p.add_argument(
        "--server-mappings-parameter",
        help="SSM parameter holding server_mappings/databases/categories (env SERVER_MAPPINGS_PARAMETER; "
        "default: the migration parameter's path ending in server-mappings, as Terraform names it)",
    )
    p.add_argument(
        "--stage",
        action="append",
        choices=["export", "transform", "import", "finish", "validate", "all"],
        help="stage(s) to run (repeatable); default all",
    )
    p.add_argument("--job-mode", choices=["fresh", "resume"], help="override the configuration's job_mode")
    p.add_argument("--report-dir", default=".", help="where the HTML validation report is written (default .)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_migrate)


def load_config(args: argparse.Namespace):
    from dbshift.aws import AwsConfig
    from dbshift.datamove import config as cfg

    if args.config:
        return cfg.load_from_yaml(args.config), None
    name = args.ssm_parameter or os.environ.get("MIGRATION_PARAMETER")
    if not name:
        raise DbshiftError("no configuration: give --config FILE or --ssm-parameter NAME (or set MIGRATION_PARAMETER)")
    mappings = args.server_mappings_parameter or os.environ.get("SERVER_MAPPINGS_PARAMETER")
    if not mappings:
        mappings = name.rsplit("/", 1)[0] + "/server-mappings" if "/" in name else "server-mappings"
    aws = AwsConfig()  # region, endpoint and credentials from the environment (the task role on ECS)
    return cfg.load_from_ssm(name, mappings, aws), aws


def cmd_migrate(args: argparse.Namespace) -> int:
    import dataclasses

    from dbshift.datamove.runner import STAGES, Migration, format_report

    config, aws = load_config(args)
    if args.job_mode:
        config = dataclasses.replace(config, job_mode=args.job_mode)
    stages = list(STAGES) if not args.stage or "all" in args.stage else args.stage
    migration = Migration(config, aws, progress=None if args.quiet else sys.stderr, report_dir=Path(args.report_dir))
    report = migration.run(stages)
    print(format_report(report))
    return 0 if report.ok else EXIT_DIFFERENCES
