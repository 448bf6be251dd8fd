"""The RDS-side state of the EMULATED Amazon RDS for SQL Server, kept under <instance state_dir>/rds.

What RDS keeps outside the SQL Server engine: the task list behind msdb.dbo.rds_task_status, the
instance-level settings of rdsadmin.dbo.rds_show_configuration, and the automated transaction-log
backups that msdb.dbo.rds_fn_list_tlog_backup_metadata lists. Everything is JSON plus one blob per
log backup, written to a temporary name and renamed, so it survives a restart of the emulator.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ACTIVE_LIFECYCLES = ("CREATED", "IN_PROGRESS", "CANCEL_REQUESTED")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def iso(dt: datetime) -> str:
    """datetime as the ISO 8601 text the emulator's result sets carry (millisecond precision)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


@dataclass
class Task:
    """One row of msdb.dbo.rds_task_status (plus the inputs needed to re-run it after a restart)."""

    task_id: int
    task_type: str
    database_name: str | None
    lifecycle: str
    percent_complete: int
    task_info: str
    created_at: str
    last_updated: str
    s3_object_arn: str | None = None
    overwrite_s3_backup_file: int | None = None
    kms_master_key_arn: str | None = None
    filepath: str | None = None
    overwrite_file: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.lifecycle in ACTIVE_LIFECYCLES


@dataclass
class TlogBackup:
    """One automated log backup RDS took, as rds_fn_list_tlog_backup_metadata reports it."""

    db_name: str
    db_id: int
    family_guid: str
    rds_backup_seq_id: int
    backup_file_epoch: int
    starting_lsn: int
    ending_lsn: int
    is_log_chain_broken: bool
    file_size_bytes: int
    file: str  # blob path relative to the store root

    @property
    def backup_file_time_utc(self) -> datetime:
        return datetime.fromtimestamp(self.backup_file_epoch, UTC).replace(tzinfo=None)


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


class RdsStore:
    """Thread-safe persistent store; every method takes its own lock and never calls the engine."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "tlog").mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._config_path = root / "config.json"
        self._tasks_path = root / "tasks.json"
        self._tlog_path = root / "tlog" / "index.json"
        self._config: dict[str, str] = (
            json.loads(self._config_path.read_text("utf-8")) if self._config_path.exists() else {}
        )
        tasks = json.loads(self._tasks_path.read_text("utf-8")) if self._tasks_path.exists() else {}
        self._next_task_id: int = tasks.get("next_task_id", 1)
        self._tasks: dict[int, Task] = {t["task_id"]: _from_dict(Task, t) for t in tasks.get("tasks", [])}
        tlog = json.loads(self._tlog_path.read_text("utf-8")) if self._tlog_path.exists() else {}
        self._next_seq_id: int = tlog.get("next_seq_id", 1)
        self._tlogs: list[TlogBackup] = [_from_dict(TlogBackup, b) for b in tlog.get("backups", [])]

    # ---- instance settings (rds_show_configuration)

    def config(self) -> dict[str, str]:
        with self._lock:
            return dict(self._config)

    def set_config(self, name: str, value: str) -> None:
        with self._lock:
            self._config[name] = value
            _write_json(self._config_path, self._config)

    # ---- tasks (rds_task_status)

    def new_task(self, task_type: str, database_name: str | None, **columns: Any) -> Task:
        with self._lock:
            now = iso(utcnow())
            task = Task(
                task_id=self._next_task_id,
                task_type=task_type,
                database_name=database_name,
                lifecycle="CREATED",
                percent_complete=0,
                task_info="",
                created_at=now,
                last_updated=now,
                **columns,
            )
            self._next_task_id += 1
            self._tasks[task.task_id] = task
            self._save_tasks()
            return Task(**asdict(task))

    def update_task(self, task_id: int, *, info_line: str | None = None, **changes: Any) -> Task:
        """Change columns of a task; `info_line` is appended to task_info with a timestamp, as RDS does."""
        with self._lock:
            task = self._tasks[task_id]
            now = utcnow()
            for name, value in changes.items():
                setattr(task, name, value)
            if info_line:
                stamp = f"[{now.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}] {info_line}"
                task.task_info = f"{task.task_info}\n{stamp}" if task.task_info else stamp
            task.last_updated = iso(now)
            self._save_tasks()
            return Task(**asdict(task))

    def task(self, task_id: int) -> Task | None:
        with self._lock:
            task = self._tasks.get(task_id)
            return Task(**asdict(task)) if task else None

    def tasks(self) -> list[Task]:
        with self._lock:
            return [Task(**asdict(t)) for _, t in sorted(self._tasks.items())]

    def _save_tasks(self) -> None:
        _write_json(
            self._tasks_path,
            {"next_task_id": self._next_task_id, "tasks": [asdict(t) for t in self._tasks.values()]},
        )

    # ---- automated log backups (rds_fn_list_tlog_backup_metadata)

    def add_tlog(
        self,
        *,
        db_name: str,
        db_id: int,
        family_guid: str,
        backup_file_epoch: int,
        starting_lsn: int,
        ending_lsn: int,
        blob: bytes,
    ) -> TlogBackup:
        """Keep one log backup; the chain is broken when it does not start where the previous one ended."""
        with self._lock:
            previous = [b for b in self._tlogs if b.db_name.lower() == db_name.lower()]
            last = max(previous, key=lambda b: b.rds_backup_seq_id) if previous else None
            broken = bool(last and last.family_guid == family_guid and last.ending_lsn != starting_lsn)
            seq = self._next_seq_id
            rel = f"tlog/{seq}.trn"
            tmp = self.root / (rel + ".tmp")
            tmp.write_bytes(blob)
            os.replace(tmp, self.root / rel)
            backup = TlogBackup(
                db_name=db_name,
                db_id=db_id,
                family_guid=family_guid,
                rds_backup_seq_id=seq,
                backup_file_epoch=backup_file_epoch,
                starting_lsn=starting_lsn,
                ending_lsn=ending_lsn,
                is_log_chain_broken=broken,
                file_size_bytes=len(blob),
                file=rel,
            )
            self._next_seq_id += 1
            self._tlogs.append(backup)
            _write_json(
                self._tlog_path,
                {"next_seq_id": self._next_seq_id, "backups": [asdict(b) for b in self._tlogs]},
            )
            return backup

    def tlogs(self, db_name: str) -> list[TlogBackup]:
        """Log backups of `db_name` (case-insensitive, as SQL Server compares names), oldest first."""
        with self._lock:
            return sorted(
                (TlogBackup(**asdict(b)) for b in self._tlogs if b.db_name.lower() == db_name.lower()),
                key=lambda b: b.rds_backup_seq_id,
            )

    def tlog_blob(self, backup: TlogBackup) -> bytes:
        return (self.root / backup.file).read_bytes()
