"""RDS for SQL Server tasks: native FULL backup to S3 and waiting on rds_task_status."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from dbshift.aws import client
from dbshift.errors import DbshiftError
from dbshift.fallforward.endpoints import Endpoints, S3Url, sql_str
from dbshift.tsql.result import SqlError
from dbshift.tsql.session import SqlSession

ACTIVE = ("CREATED", "IN_PROGRESS", "CANCEL_REQUESTED")


class TaskFailedError(DbshiftError):
    """An RDS task ended in ERROR or CANCELLED; the message carries its task_info."""


@dataclass
class BackupResult:
    changed: bool
    backup_s3_url: str
    task_id: int | None = None
    lifecycle: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def task_rows(session: SqlSession, db_name: str | None = None, task_id: int | None = None) -> list[dict[str, Any]]:
    """Rows of msdb.dbo.rds_task_status (all tasks, or one database's, or one task)."""
    args = []
    if db_name is not None:
        args.append(f"@db_name={sql_str(db_name)}")
    if task_id is not None:
        args.append(f"@task_id={int(task_id)}")
    return session.execute("EXEC msdb.dbo.rds_task_status " + ", ".join(args) + ";").rows


def active_tasks(session: SqlSession) -> list[dict[str, Any]]:
    return [t for t in task_rows(session) if t.get("lifecycle") in ACTIVE]


def wait_task(
    session: SqlSession, task_id: int, timeout: float, poll_interval: float, db_name: str | None = None
) -> dict[str, Any]:
    """Poll rds_task_status until task `task_id` ends; its row on SUCCESS.

    ERROR or CANCELLED → TaskFailedError with the task's task_info; still running after `timeout`
    seconds → DbshiftError naming task_timeout (the task keeps running on RDS).
    """
    deadline = time.monotonic() + timeout
    while True:
        rows = task_rows(session, db_name, task_id)
        row = next((r for r in rows if int(r["task_id"]) == int(task_id)), None)
        if row is None:
            raise DbshiftError(f"RDS task {task_id} is not listed by rds_task_status (db_name={db_name!r})")
        lifecycle = row.get("lifecycle")
        if lifecycle == "SUCCESS":
            return row
        if lifecycle in ("ERROR", "CANCELLED"):
            raise TaskFailedError(
                f"RDS task {task_id} ({row.get('task_type')}, database {row.get('database_name')}) ended in "
                f"{lifecycle}: {str(row.get('task_info') or '').strip()}"
            )
        if time.monotonic() >= deadline:
            raise DbshiftError(
                f"RDS task {task_id} ({row.get('task_type')}) is still {lifecycle} after {timeout:g} s: raise "
                "task_timeout, or run again later (the next run waits for the same task)"
            )
        time.sleep(max(0.0, min(poll_interval, deadline - time.monotonic())))


def s3_exists(ep: Endpoints, url: S3Url) -> bool:
    try:
        client("s3", ep.aws).head_object(Bucket=url.bucket, Key=url.key)
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise DbshiftError(f"cannot read {url.url}: {exc}") from None


def submitted_task_id(result_rows: list[dict[str, Any]], proc: str) -> int:
    if not result_rows or result_rows[0].get("task_id") is None:
        raise DbshiftError(f"{proc} returned no task_id; check the RDS instance's option group and permissions")
    return int(result_rows[0]["task_id"])


def native_backup(
    ep: Endpoints,
    source_database: str,
    backup_s3_url: str,
    kms_key_arn: str | None = None,
    overwrite: bool = False,
    task_timeout: float = 3600,
    poll_interval: float = 5.0,
    check_mode: bool = False,
) -> BackupResult:
    """msdb.dbo.rds_backup_database FULL to `backup_s3_url`, then wait for the task.

    Idempotent by object: when the object exists and not `overwrite`, nothing runs. A backup task of
    the same database to the same object that is still running (an earlier run was interrupted) is
    waited for instead of starting another.
    """
    url = S3Url.parse(backup_s3_url, "backup_s3_url")
    if not url.key or url.key.endswith("/"):
        raise DbshiftError(f"backup_s3_url {backup_s3_url!r} names a folder: give the object, e.g. s3://b/x.bak")
    if not overwrite and s3_exists(ep, url):
        return BackupResult(changed=False, backup_s3_url=url.url)
    running = [
        t
        for t in active_tasks(ep.source)
        if t.get("task_type") == "BACKUP_DB"
        and str(t.get("database_name") or "").lower() == source_database.lower()
        and t.get("S3_object_arn") == url.arn
    ]
    if check_mode:
        return BackupResult(changed=True, backup_s3_url=url.url, task_id=running[0]["task_id"] if running else None)
    if running:
        task_id = int(running[0]["task_id"])
    else:
        args = [
            f"@source_db_name={sql_str(source_database)}",
            f"@s3_arn_to_backup_to={sql_str(url.arn)}",
            f"@overwrite_s3_backup_file={1 if overwrite else 0}",
            "@type='FULL'",
        ]
        if kms_key_arn:
            args.append(f"@kms_master_key_arn={sql_str(kms_key_arn)}")
        try:
            rows = ep.source.execute("EXEC msdb.dbo.rds_backup_database " + ", ".join(args) + ";").rows
        except SqlError as exc:
            raise DbshiftError(f"rds_backup_database of {source_database!r} to {url.url} failed: {exc}") from exc
        task_id = submitted_task_id(rows, "rds_backup_database")
    row = wait_task(ep.source, task_id, task_timeout, poll_interval, db_name=source_database)
    return BackupResult(changed=True, backup_s3_url=url.url, task_id=task_id, lifecycle=row.get("lifecycle"))
