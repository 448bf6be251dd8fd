"""Keep the EC2 target in sync: copy RDS log backups to S3, fetch them onto the host, RESTORE LOG in order.

tlog_copy plans the chain from RDS's metadata before anything is copied, so a gap stops the run
before any change; restore_logs plans it again from the files' own headers before applying, then
applies in LSN order, several RESTORE LOG statements per WinRM round trip, and reacts to SQL
Server's errors by number (4326 skip, 4305 stop, 4319 RESTART, 3101 sessions, 3117 stop).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dbshift.aws import client
from dbshift.errors import DbshiftError
from dbshift.fallforward.chain import ChainGapError, LogBackup, plan_chain
from dbshift.fallforward.endpoints import Endpoints, S3Url, run_on_host, sql_name, sql_str
from dbshift.fallforward.full_restore import last_full_restore, target_state
from dbshift.fallforward.rds import active_tasks, submitted_task_id, wait_task
from dbshift.fallforward.tlog_fetch import check_selection, format_seqs
from dbshift.tsql.result import SqlError
from dbshift.tsql.session import SqlSession

TARGET_S3_ARN = "target_s3_arn_for_tlog_copy"
HEADER_BATCH = 50  # RESTORE HEADERONLY statements per round trip (reads only)


# ---------------------------------------------------------------------------- results
@dataclass
class CopyResult:
    changed: bool
    redo_start_lsn: int
    logs: list[LogBackup] = field(default_factory=list)  # to apply, in order
    start_seq: int | None = None
    end_seq: int | None = None
    seqs: list[int] = field(default_factory=list)  # this database's logs in [start_seq, end_seq]: to fetch
    s3_prefix: str | None = None  # s3://bucket/prefix/<db_id>.<family_guid>/
    newest_backup_time: datetime | None = None
    copied_seqs: list[int] = field(default_factory=list)
    task_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["logs"] = [b.to_dict() for b in self.logs]
        data["newest_backup_time"] = _iso(self.newest_backup_time)
        return data


@dataclass
class FetchResult:
    changed: bool
    files: list[str] = field(default_factory=list)  # host paths, apply order

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RestoreLogResult:
    changed: bool
    applied: list[dict[str, Any]] = field(default_factory=list)  # {file, first_lsn, last_lsn}; check mode: would
    skipped: list[str] = field(default_factory=list)
    lsn_reached: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncStatus:
    source_database: str
    target_database: str
    state: str | None
    redo_start_lsn: int | None
    newest_backup_time: datetime | None
    lag_seconds: float | None
    pending_logs: int

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["newest_backup_time"] = _iso(self.newest_backup_time)
        return data


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------- shared reads
def _require_restoring(target: SqlSession, database: str) -> int:
    st = target_state(target, database)
    if not st.exists:
        raise DbshiftError(
            f"target database {database!r} does not exist on {target.server_instance}: run fall_forward_setup first"
        )
    if st.state != "RESTORING" or st.redo_start_lsn is None:
        raise DbshiftError(
            f"target database {database!r} is {st.state}, not RESTORING (error 3117: no files are ready to roll "
            "forward): it was recovered (cut over?); seed it again with fall_forward_setup and replace: true"
        )
    return st.redo_start_lsn


@dataclass
class _RdsLog:
    log: LogBackup
    db_id: int
    family_guid: str
    epoch: int


def list_rds_logs(source: SqlSession, database: str, family_guid: str | None = None) -> list[_RdsLog]:
    """msdb.dbo.rds_fn_list_tlog_backup_metadata, optionally only one database family (fork)."""
    rows = source.execute(
        f"SELECT * FROM msdb.dbo.rds_fn_list_tlog_backup_metadata({sql_str(database)}) ORDER BY rds_backup_seq_id;"
    ).rows
    out = []
    for r in rows:
        if r.get("Error"):
            raise DbshiftError(f"rds_fn_list_tlog_backup_metadata({database!r}): {r['Error']}")
        if family_guid and str(r["family_guid"]).upper() != family_guid.upper():
            continue
        folder = f"{r['db_id']}.{r['family_guid']}"
        seq, epoch = int(r["rds_backup_seq_id"]), int(r["backup_file_epoch"])
        log = LogBackup(
            seq=seq,
            first_lsn=int(r["starting_lsn"]),
            last_lsn=int(r["ending_lsn"]),
            key=f"{folder}/{folder}.{seq}.{epoch}",
            backup_time=_time(r.get("backup_file_time_utc")),
        )
        out.append(_RdsLog(log, int(r["db_id"]), str(r["family_guid"]), epoch))
    return out


def _family(target: SqlSession, database: str) -> str | None:
    history = last_full_restore(target, database)
    return str(history["family_guid"]) if history else None


def _s3_keys(ep: Endpoints, bucket: str, prefix: str) -> set[str]:
    keys: set[str] = set()
    try:
        pages = client("s3", ep.aws).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            keys.update(o["Key"] for o in page.get("Contents", []))
    except (ClientError, BotoCoreError) as exc:
        raise DbshiftError(f"cannot list s3://{bucket}/{prefix}: {exc}") from None
    return keys


# ---------------------------------------------------------------------------- tlog_copy
def _ensure_copy_setup(ep: Endpoints, arn: str, timeout: float, poll: float, check_mode: bool) -> bool:
    rows = ep.source.execute(f"EXEC rdsadmin.dbo.rds_show_configuration @name = {sql_str(TARGET_S3_ARN)};").rows
    current = str(rows[0]["value"]).rstrip("/") if rows and rows[0].get("value") else None
    if current == arn.rstrip("/"):
        return False
    if current:
        # One setting per instance: changing it would move every database's copies.
        raise DbshiftError(
            f"the RDS instance copies log backups to {current}, not to {arn}: set tlog_s3_prefix to that "
            "location, or change it yourself with msdb.dbo.rds_tlog_copy_setup"
        )
    if check_mode:
        return True
    deadline = time.monotonic() + timeout
    while True:
        try:
            ep.source.execute(f"EXEC msdb.dbo.rds_tlog_copy_setup @target_s3_arn = {sql_str(arn)};")
            return True
        except SqlError as exc:
            if "pending tasks" not in str(exc) or time.monotonic() >= deadline:
                raise DbshiftError(f"rds_tlog_copy_setup to {arn} failed: {exc}") from exc
            time.sleep(poll)  # RDS refuses setup while any task runs: wait for them


def _copy_task_of(tasks: list[dict[str, Any]], database: str) -> dict[str, Any] | None:
    for t in tasks:
        kind = str(t.get("task_type") or "").upper()
        if str(t.get("database_name") or "").lower() == database.lower() and "TLOG" in kind:
            return t
    return None


def tlog_copy(
    ep: Endpoints,
    source_database: str,
    target_database: str,
    tlog_s3_prefix: str,
    kms_key_arn: str,
    task_timeout: float = 3600,
    poll_interval: float = 5.0,
    check_mode: bool = False,
) -> CopyResult:
    """Copy to S3 the RDS log backups the target still needs (a gap fails here, before anything changes)."""
    prefix = S3Url.parse(tlog_s3_prefix, "tlog_s3_prefix")
    redo = _require_restoring(ep.target, target_database)
    rds_logs = list_rds_logs(ep.source, source_database, _family(ep.target, target_database))
    plan = plan_chain(redo, [r.log for r in rds_logs])  # ChainGapError: nothing copied, nothing applied
    newest = max((r.log.backup_time for r in rds_logs if r.log.backup_time), default=None)
    changed = _ensure_copy_setup(ep, prefix.arn.rstrip("/"), task_timeout, poll_interval, check_mode)
    result = CopyResult(changed=changed, redo_start_lsn=redo, newest_backup_time=newest)
    if not plan.to_apply:
        return result
    first = next(r for r in rds_logs if r.log is plan.to_apply[0])
    folder = prefix.child(f"{first.db_id}.{first.family_guid}/")
    result.logs = [replace(b, key=prefix.child(str(b.key)).key) for b in plan.to_apply]
    result.start_seq, result.end_seq = plan.to_apply[0].seq, plan.to_apply[-1].seq
    result.s3_prefix = folder.url

    # Every log of this database in the range, empty ones too. The seqs may have holes (RDS may number
    # log backups per instance, not per database), so the fetch gets this list, not the range.
    in_range = [r for r in rds_logs if result.start_seq <= r.log.seq <= result.end_seq]
    result.seqs = [r.log.seq for r in in_range]
    needed = [prefix.child(str(r.log.key)).key for r in in_range]
    seq_of = {prefix.child(str(r.log.key)).key: r.log.seq for r in rds_logs}

    def missing() -> list[int]:
        present = _s3_keys(ep, folder.bucket, folder.key)
        return sorted(seq_of[k] for k in needed if k not in present)

    todo = missing()
    if not todo:
        return result
    result.changed = True
    result.copied_seqs = todo
    if check_mode:
        return result
    deadline = time.monotonic() + task_timeout
    while todo:
        tasks = active_tasks(ep.source)
        mine = _copy_task_of(tasks, source_database)
        if mine is not None:
            # RDS allows one copy task per database: wait for the running one, then see what is left.
            wait_task(ep.source, int(mine["task_id"]), max(0.0, deadline - time.monotonic()), poll_interval)
        elif len(tasks) < 2:
            try:
                rows = ep.source.execute(
                    "EXEC msdb.dbo.rds_tlog_backup_copy_to_S3 "
                    f"@db_name={sql_str(source_database)}, @kms_key_arn={sql_str(kms_key_arn)}, "
                    f"@rds_backup_starting_seq_id={todo[0]}, @rds_backup_ending_seq_id={todo[-1]};"
                ).rows
            except SqlError as exc:
                text = str(exc)
                if "already been issued" not in text and "concurrent tasks" not in text:
                    raise DbshiftError(f"rds_tlog_backup_copy_to_S3 of {source_database!r} failed: {exc}") from exc
            else:
                task_id = submitted_task_id(rows, "rds_tlog_backup_copy_to_S3")
                result.task_id = task_id
                wait_task(ep.source, task_id, max(0.0, deadline - time.monotonic()), poll_interval)
        if time.monotonic() >= deadline:
            raise DbshiftError(
                f"log backups of {source_database!r} not copied after {task_timeout:g} s: raise task_timeout"
            )
        todo = missing()
        if todo and (mine is not None or len(tasks) >= 2):
            time.sleep(poll_interval)  # instance busy: two tasks run at most
    return result


# ---------------------------------------------------------------------------- tlog_fetch
def tlog_fetch(
    ep: Endpoints,
    s3_prefix: str | None,
    start_seq: int | None,
    end_seq: int | None,
    host_dir: str,
    parallel: int = 4,
    check_mode: bool = False,
    seqs: Sequence[int] | None = None,
) -> FetchResult:
    """Download and decrypt the copied logs onto the host with `dbshift tlog fetch` (re-entrant there):
    the seq range from start_seq, or exactly `seqs` (CopyResult.seqs) instead."""
    if s3_prefix is None or (start_seq is None and not seqs):
        return FetchResult(changed=False)
    check_selection(start_seq, end_seq, seqs)
    if check_mode:
        return FetchResult(changed=True)
    argv = ["tlog", "fetch", s3_prefix]
    if seqs:
        argv += ["--seqs", format_seqs(seqs)]
    else:
        argv += ["--start-seq", str(start_seq)]
        if end_seq is not None:
            argv += ["--end-seq", str(end_seq)]
    argv += ["--dest", host_dir, "--parallel", str(parallel)]
    files = run_on_host(ep, argv)
    return FetchResult(changed=bool(files), files=files)


# ---------------------------------------------------------------------------- restore_logs
def _headers(target: SqlSession, files: Sequence[str]) -> list[LogBackup]:
    logs: list[LogBackup] = []
    for start in range(0, len(files), HEADER_BATCH):
        chunk = list(files[start : start + HEADER_BATCH])
        sql = "\n".join(f"RESTORE HEADERONLY FROM DISK = {sql_str(f)};" for f in chunk)
        try:
            sets = target.execute(sql).result_sets
        except SqlError as exc:
            bad = chunk[min(len(exc.partial.result_sets), len(chunk) - 1)]
            raise DbshiftError(
                f"cannot read the log backup {bad} on the target (error {exc.number}: {exc.errors[0].message}); "
                "nothing was applied: fetch it again"
            ) from exc
        for path, rs in zip(chunk, sets, strict=False):
            row = rs.dicts()[0] if rs.rows else None
            if row is None or int(row["BackupType"]) != 2:
                raise DbshiftError(f"{path} is not a transaction log backup; nothing was applied")
            logs.append(
                LogBackup(
                    seq=len(logs),  # position in `files`: headers carry no RDS seq
                    first_lsn=int(row["FirstLSN"]),
                    last_lsn=int(row["LastLSN"]),
                    key=path,
                    backup_time=_time(row.get("BackupFinishDate")),
                )
            )
    return logs


def _sessions(target: SqlSession, database: str) -> str:
    try:
        rows = target.execute(
            "SELECT session_id, login_name, host_name, program_name FROM sys.dm_exec_sessions "
            f"WHERE database_id = DB_ID({sql_str(database)});"
        ).rows
    except SqlError as exc:
        return f"(cannot list them: sys.dm_exec_sessions error {exc.number})"
    return (
        "; ".join(
            f"session {r['session_id']} {r.get('login_name')} from {r.get('host_name')} ({r.get('program_name')})"
            for r in rows
        )
        or "(none listed now)"
    )


def _applied_entry(log: LogBackup) -> dict[str, Any]:
    """One log in RestoreLogResult.applied: its host file and LSN range."""
    return {"file": log.key, "first_lsn": log.first_lsn, "last_lsn": log.last_lsn}


def restore_logs(
    ep: Endpoints, target_database: str, files: Sequence[str], batch_size: int = 20, check_mode: bool = False
) -> RestoreLogResult:
    """Apply log backup files (host paths) to the RESTORING target in LSN order, WITH NORECOVERY."""
    if batch_size < 1:
        raise DbshiftError(f"batch_size must be at least 1, got {batch_size}")
    redo = _require_restoring(ep.target, target_database)
    if not files:
        return RestoreLogResult(changed=False, lsn_reached=redo)
    logs = _headers(ep.target, files)
    try:
        plan = plan_chain(redo, logs)
    except ChainGapError as exc:
        raise ChainGapError(f"{exc} Nothing was applied.", exc.from_lsn, exc.to_lsn, exc.log) from None
    skipped = [str(b.key) for b in plan.already_applied + plan.empty]
    if check_mode:
        would = [_applied_entry(b) for b in plan.to_apply]
        return RestoreLogResult(bool(would), would, skipped, plan.lsn_reached or redo)

    applied: list[dict[str, Any]] = []
    pending = list(plan.to_apply)
    restart: set[str] = set()  # files to retry WITH RESTART after 4319
    db = sql_name(target_database)
    while pending:
        batch = pending[:batch_size]
        sql = "\n".join(
            f"RESTORE LOG {db} FROM DISK = {sql_str(str(b.key))} WITH NORECOVERY"
            + (", RESTART" if b.key in restart else "")
            + ";"
            for b in batch
        )
        try:
            ep.target.execute(sql, database="master")
        except SqlError as exc:
            st = target_state(ep.target, target_database)
            now = st.redo_start_lsn if st.redo_start_lsn is not None else redo
            done = [b for b in batch if b.last_lsn <= now]
            applied += [_applied_entry(b) for b in done]
            pending = [b for b in pending if b.last_lsn > now]
            failing = pending[0] if pending else None
            where = f"after applying {len(applied)} log(s); the database is at LSN {now}"
            numbers = exc.numbers
            if st.state != "RESTORING" or 3117 in numbers:
                raise DbshiftError(
                    f"{target_database!r} is {st.state}, not RESTORING (error 3117) {where}: stopped"
                ) from exc
            if failing is None:
                continue
            if 4326 in numbers:  # already applied (by someone else): skip it, go on
                skipped.append(str(failing.key))
                pending = pending[1:]
                continue
            if 4319 in numbers and failing.key not in restart:
                restart.add(str(failing.key))  # an interrupted restore of this log: redo it WITH RESTART
                continue
            if 4305 in numbers:
                raise ChainGapError(
                    f"log chain gap at {failing.key}: it begins at LSN {failing.first_lsn} but the database needs "
                    f"LSN {now}; the log backups covering LSN {now} to {failing.first_lsn} are missing ({where})",
                    now,
                    failing.first_lsn,
                    failing,
                ) from exc
            if 3101 in numbers:
                raise DbshiftError(
                    f"RESTORE LOG {target_database!r} needs exclusive access (error 3101); sessions using it: "
                    f"{_sessions(ep.target, target_database)} ({where})"
                ) from exc
            raise DbshiftError(f"RESTORE LOG of {failing.key} into {target_database!r} failed {where}: {exc}") from exc
        applied += [_applied_entry(b) for b in batch]
        pending = pending[len(batch) :]
    final = target_state(ep.target, target_database).redo_start_lsn
    return RestoreLogResult(changed=bool(applied), applied=applied, skipped=skipped, lsn_reached=final)


# ---------------------------------------------------------------------------- status
def status(ep: Endpoints, source_database: str, target_database: str) -> SyncStatus:
    """Read-only: where the target stands and how far behind the newest RDS log backup it is."""
    st = target_state(ep.target, target_database)
    family = _family(ep.target, target_database) if st.exists else None
    logs = [r.log for r in list_rds_logs(ep.source, source_database, family)]
    newest = max((b.backup_time for b in logs if b.backup_time), default=None)
    lag = None
    pending = 0
    if st.state == "RESTORING" and st.redo_start_lsn is not None:
        r = st.redo_start_lsn
        pending = sum(1 for b in logs if not b.empty and b.last_lsn > r)
        # The target holds everything up to the newest log that ends at or before R.
        reached = [b.backup_time for b in logs if b.last_lsn <= r and b.backup_time]
        if newest is not None and reached:
            lag = max(0.0, (newest - max(reached)).total_seconds())
    return SyncStatus(source_database, target_database, st.state, st.redo_start_lsn, newest, lag, pending)
