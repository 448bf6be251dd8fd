"""Access to transaction log backups in the EMULATED Amazon RDS for SQL Server: pure logic.

The rules of msdb.dbo.rds_tlog_backup_copy_to_S3 (which parameter sets are valid, which backups a
range selects) and the rows of msdb.dbo.rds_fn_list_tlog_backup_metadata, as the RDS User Guide
("Access to transaction log backups with RDS for SQL Server") documents them. Error texts are RDS's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dbshift.estate.sqlserver.rds_store import TlogBackup, iso

SYSTEM_DATABASES = ("master", "model", "msdb", "tempdb", "rdsadmin")
RETENTION = timedelta(days=7)  # RDS lists and copies up to the last seven days of log backups

METADATA_COLUMNS = [
    "db_name",
    "db_id",
    "family_guid",
    "rds_backup_seq_id",
    "backup_file_epoch",
    "backup_file_time_utc",
    "starting_lsn",
    "ending_lsn",
    "is_log_chain_broken",
    "file_size_bytes",
    "Error",
]

_SETS = (
    "SET-1:(@backup_file_start_time, @backup_file_end_time) | SET-2:(@starting_lsn, @ending_lsn) | "
    "SET-3:(@rds_backup_starting_seq_id, @rds_backup_ending_seq_id)"
)
MSG_NO_SET = f"At least one of these three parameter sets must be provided. {_SETS}"
MSG_MANY_SETS = f"Only one of these three parameter sets can be provided. {_SETS}"
MSG_EMPTY_DB = "Database name for the input parameter @db_name can't be empty or null."
MSG_SYSTEM_DB = (
    "Cannot run the rds_tlog_backup_copy_to_S3 stored procedure for SQL Server system databases "
    "or the rdsadmin database."
)
MSG_NOT_SET_UP = (
    "You must run the rds_tlog_copy_setup stored procedure and set the @target_s3_arn, before running "
    "the rds_tlog_backup_copy_to_S3 stored procedure."
)
MSG_LSN_ORDER = "The LSN for the input parameter @starting_lsn must be less than @ending_lsn."
MSG_SEQ_ORDER = (
    "The sequence ID for the input parameter @rds_backup_starting_seq_id must be less than or equal "
    "to @rds_backup_ending_seq_id."
)
MSG_TIME_ORDER = (
    "The start time for the input parameter @backup_file_start_time must be less than @backup_file_end_time."
)
MSG_OUTSIDE_RETENTION = (
    "The provided parameters fall outside of the transaction backup log retention period. To list of "
    "available transaction log backup files, run the rds_fn_list_tlog_backup_metadata function."
)
MSG_PERMISSIONS = (
    "There was a permissions error in processing the request. Ensure the bucket is in the same Account "
    "and Region as the DB Instance, and confirm the S3 bucket policy permissions against the template in "
    "the public documentation."
)
MSG_NO_ACCESS = (
    "We were unable to process the request due to a lack of access. Please check your setup and "
    "permissions for the feature."
)


def msg_cannot_find_db(name: str) -> str:
    return f"Cannot find the given database {name}."


def msg_copy_pending(db_name: str, task_id: int) -> str:
    return (
        f"A T-log backup file copy task has already been issued for database: {db_name} with task Id: "
        f"{task_id}, please try again later."
    )


class CopyParamError(ValueError):
    """The parameters of rds_tlog_backup_copy_to_S3 are not a valid set; the message is RDS's."""


@dataclass(frozen=True)
class CopyRange:
    """Which log backups one rds_tlog_backup_copy_to_S3 call selects: one kind, either end optional."""

    kind: str  # "time" | "lsn" | "seq"
    start: Any
    end: Any

    def to_json(self) -> dict[str, Any]:
        def enc(v: Any) -> Any:
            return iso(v) if isinstance(v, datetime) else v

        return {"kind": self.kind, "start": enc(self.start), "end": enc(self.end)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CopyRange:
        def dec(v: Any) -> Any:
            return parse_datetime(v, "range") if data["kind"] == "time" and v is not None else v

        return cls(kind=data["kind"], start=dec(data["start"]), end=dec(data["end"]))

    def selects(self, backup: TlogBackup) -> bool:
        """True when `backup` lies inside the range (bounds inclusive, taken from the listing's columns)."""
        if self.kind == "time":
            lo, hi = backup.backup_file_time_utc, backup.backup_file_time_utc
        elif self.kind == "lsn":
            lo, hi = backup.starting_lsn, backup.ending_lsn
        else:
            lo, hi = backup.rds_backup_seq_id, backup.rds_backup_seq_id
        return (self.start is None or lo >= self.start) and (self.end is None or hi <= self.end)


def parse_datetime(value: Any, param: str) -> datetime:
    """A datetime from what T-SQL passed (datetime or text such as '2022-09-01 01:00:15')."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    text = str(value).strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise CopyParamError(f"Conversion failed when converting date and/or time from character string ({param}).")


def _int(value: Any, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise CopyParamError(f"Error converting data type varchar to numeric ({param} = {value!r}).") from None


def parse_copy_range(named: dict[str, Any]) -> CopyRange:
    """The one parameter set given to rds_tlog_backup_copy_to_S3; CopyParamError with RDS's text otherwise."""

    def given(name: str) -> Any:
        value = named.get(name)
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    sets = {
        "time": (given("backup_file_start_time"), given("backup_file_end_time")),
        "lsn": (given("starting_lsn"), given("ending_lsn")),
        "seq": (given("rds_backup_starting_seq_id"), given("rds_backup_ending_seq_id")),
    }
    provided = [kind for kind, (a, b) in sets.items() if a is not None or b is not None]
    if not provided:
        raise CopyParamError(MSG_NO_SET)
    if len(provided) > 1:
        raise CopyParamError(MSG_MANY_SETS)
    kind = provided[0]
    start, end = sets[kind]
    if kind == "time":
        start = parse_datetime(start, "@backup_file_start_time") if start is not None else None
        end = parse_datetime(end, "@backup_file_end_time") if end is not None else None
        if start is not None and end is not None and start >= end:
            raise CopyParamError(MSG_TIME_ORDER)
    elif kind == "lsn":
        start = _int(start, "@starting_lsn") if start is not None else None
        end = _int(end, "@ending_lsn") if end is not None else None
        if start is not None and end is not None and start >= end:
            raise CopyParamError(MSG_LSN_ORDER)
    else:
        start = _int(start, "@rds_backup_starting_seq_id") if start is not None else None
        end = _int(end, "@rds_backup_ending_seq_id") if end is not None else None
        if start is not None and end is not None and start > end:
            raise CopyParamError(MSG_SEQ_ORDER)
    return CopyRange(kind, start, end)


def within_retention(backups: list[TlogBackup], now: datetime) -> list[TlogBackup]:
    return [b for b in backups if b.backup_file_time_utc >= now - RETENTION]


def metadata_row(backup: TlogBackup) -> list[Any]:
    return [
        backup.db_name,
        backup.db_id,
        backup.family_guid,
        backup.rds_backup_seq_id,
        backup.backup_file_epoch,
        iso(backup.backup_file_time_utc),
        backup.starting_lsn,
        backup.ending_lsn,
        backup.is_log_chain_broken,
        backup.file_size_bytes,
        None,
    ]


def error_row(db_name: str | None, message: str) -> list[Any]:
    """The function cannot raise: RDS reports a failure as one row whose Error column says why."""
    return [db_name, None, None, None, None, None, None, None, None, None, message]
