"""Seed the EC2 target: the RDS native backup onto the host, RESTORE DATABASE … WITH NORECOVERY."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from dbshift.errors import DbshiftError
from dbshift.fallforward.endpoints import Endpoints, S3Url, host_path, run_on_host, sql_name, sql_str
from dbshift.tsql.result import SqlError
from dbshift.tsql.session import SqlSession


@dataclass
class RestoreResult:
    changed: bool
    action: str  # "present" | "restored"
    target_database: str
    redo_start_lsn: int | None = None
    host_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TargetState:
    exists: bool
    state: str | None = None  # ONLINE | RESTORING | ...
    redo_start_lsn: int | None = None


def target_state(target: SqlSession, database: str) -> TargetState:
    """The target database's state and redo_start_lsn (sys.master_files, primary data file)."""
    rows = target.execute(
        "SELECT d.state_desc AS state_desc, f.redo_start_lsn AS redo_start_lsn FROM sys.databases d "
        "JOIN sys.master_files f ON f.database_id = d.database_id "
        f"WHERE d.name = {sql_str(database)} AND f.file_id = 1;"
    ).rows
    if not rows:
        return TargetState(exists=False)
    redo = rows[0]["redo_start_lsn"]
    return TargetState(True, str(rows[0]["state_desc"]), int(redo) if redo is not None else None)


def last_full_restore(target: SqlSession, database: str) -> dict[str, Any] | None:
    """The newest full restore into `database` from msdb: family_guid, checkpoint_lsn, device."""
    rows = target.execute(
        "SELECT TOP (1) b.family_guid AS family_guid, b.checkpoint_lsn AS checkpoint_lsn, "
        "m.physical_device_name AS physical_device_name FROM msdb.dbo.restorehistory h "
        "JOIN msdb.dbo.backupset b ON b.backup_set_id = h.backup_set_id "
        "JOIN msdb.dbo.backupmediafamily m ON m.media_set_id = b.media_set_id "
        f"WHERE h.destination_database_name = {sql_str(database)} AND h.restore_type = 'D' "
        "ORDER BY h.restore_history_id DESC;"
    ).rows
    return rows[0] if rows else None


def _header(target: SqlSession, path: str) -> dict[str, Any] | None:
    """RESTORE HEADERONLY of a file on the host (None when it cannot be read, e.g. not there yet)."""
    try:
        rows = target.execute(f"RESTORE HEADERONLY FROM DISK = {sql_str(path)};").rows
    except SqlError:
        return None
    return rows[0] if rows else None


def _same_backup(history: dict[str, Any] | None, header: dict[str, Any] | None) -> bool:
    if history is None or header is None:
        return False
    return str(history["family_guid"]).upper() == str(header["FamilyGUID"]).upper() and int(
        history["checkpoint_lsn"]
    ) == int(header["CheckpointLSN"])


def _default_dirs(target: SqlSession) -> tuple[str, str]:
    """(data dir, log dir) for files without a MOVE: the instance defaults, else model's directory."""
    row = target.execute(
        "SELECT SERVERPROPERTY('InstanceDefaultDataPath') AS d, SERVERPROPERTY('InstanceDefaultLogPath') AS l;"
    ).rows[0]
    data, log = row.get("d"), row.get("l")
    if not data or not log:
        files = target.execute(
            "SELECT type, physical_name FROM sys.master_files WHERE database_id = DB_ID(N'model');"
        ).rows
        dirs = {int(f["type"]): str(f["physical_name"]).rsplit("\\", 1)[0] for f in files}
        data = data or dirs.get(0)
        log = log or dirs.get(1, data)
    if not data:
        raise DbshiftError(
            f"cannot find the default data directory of {target.server_instance}: pass `move` for every file"
        )
    return str(data), str(log or data)


def ensure_restoring(
    ep: Endpoints,
    backup_s3_url: str,
    target_database: str,
    host_dir: str,
    move: Mapping[str, str] | None = None,
    replace: bool = False,
    check_mode: bool = False,
) -> RestoreResult:
    """Make `target_database` RESTORING from the backup at `backup_s3_url` (WITH NORECOVERY).

    Skipped when it already is RESTORING from that backup (restore history: same family GUID and
    checkpoint LSN as the file's header). An ONLINE database is only replaced with `replace`.
    Files without a `move` entry (logical name → Windows path) go to the target's default
    directories as <target_database>_<logical name>.
    """
    url = S3Url.parse(backup_s3_url, "backup_s3_url")
    path = host_path(host_dir, url.name)
    state = target_state(ep.target, target_database)
    history = last_full_restore(ep.target, target_database) if state.exists else None

    if state.exists and state.state == "ONLINE" and not replace:
        raise DbshiftError(
            f"target database {target_database!r} exists and is ONLINE: set replace: true to overwrite it with "
            f"{url.url} (its data is lost), or choose another target_database"
        )
    if check_mode:
        # No download in check mode: compare with the copy already on the host, if any.
        if state.exists and state.state == "RESTORING" and _same_backup(history, _header(ep.target, path)):
            return RestoreResult(False, "present", target_database, state.redo_start_lsn, path)
        return RestoreResult(True, "restored", target_database, state.redo_start_lsn, path)

    # Re-entrant on the host: a verified copy is not downloaded again.
    path = run_on_host(ep, ["s3", "get", url.url, "--dest", host_dir])[-1]
    header = _header(ep.target, path)
    if header is None:
        raise DbshiftError(f"RESTORE HEADERONLY cannot read {path} (from {url.url}) on the target")
    if int(header["BackupType"]) != 1:
        raise DbshiftError(f"{url.url} is not a full database backup (BackupType {header['BackupType']})")
    if state.exists and state.state == "RESTORING" and _same_backup(history, header):
        return RestoreResult(False, "present", target_database, state.redo_start_lsn, path)

    files = ep.target.execute(f"RESTORE FILELISTONLY FROM DISK = {sql_str(path)};").rows
    moves = {k.lower(): v for k, v in (move or {}).items()}
    unknown = set(moves) - {str(f["LogicalName"]).lower() for f in files}
    if unknown:
        raise DbshiftError(
            f"move names logical files not in {url.url}: {', '.join(sorted(unknown))}; it holds "
            f"{', '.join(str(f['LogicalName']) for f in files)}"
        )
    data_dir, log_dir = _default_dirs(ep.target)
    clauses = ["NORECOVERY"]
    for f in files:
        logical = str(f["LogicalName"])
        ext = ".ldf" if f["Type"] == "L" else (".mdf" if int(f["FileId"]) == 1 else ".ndf")
        default = host_path(log_dir if f["Type"] == "L" else data_dir, f"{target_database}_{logical}{ext}")
        clauses.append(f"MOVE {sql_str(logical)} TO {sql_str(moves.get(logical.lower(), default))}")
    if replace:
        clauses.append("REPLACE")
    elif state.exists and history is not None and not _same_family(history, header):
        raise DbshiftError(
            f"target database {target_database!r} is RESTORING from another database's backup: set "
            "replace: true to overwrite it, or choose another target_database"
        )
    try:
        ep.target.execute(
            f"RESTORE DATABASE {sql_name(target_database)} FROM DISK = {sql_str(path)} WITH {', '.join(clauses)};",
            database="master",
        )
    except SqlError as exc:
        raise DbshiftError(f"RESTORE DATABASE {target_database!r} from {path} failed: {exc}") from exc
    after = target_state(ep.target, target_database)
    return RestoreResult(True, "restored", target_database, after.redo_start_lsn, path)


def _same_family(history: dict[str, Any], header: dict[str, Any]) -> bool:
    return str(history["family_guid"]).upper() == str(header["FamilyGUID"]).upper()
