"""Plain data shared by the SQL Server emulator's parts (see .team/EMULATOR_CONTRACT.md).

Everything here describes the emulator's view of SQL Server: configs, catalog rows and the
BackupHeader of the emulator's own backup file format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dbshift.tsql.result import ResultSet, SqlError, SqlErrorDetail, SqlResult

if TYPE_CHECKING:
    from dbshift.estate.sqlserver.instance import Instance


@dataclass
class RdsConfig:
    db_instance_identifier: str
    dbi_resource_id: str
    region: str
    aws_endpoint_url: str | None
    account_id: str = "123456789012"
    tlog_backup_interval_seconds: float = 300.0
    task_step_seconds: float = 0.2

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RdsConfig:
        return cls(**d)


@dataclass
class InstanceConfig:
    name: str
    server_names: list[str]
    kind: str  # "rds" | "ec2"
    sql_login: str | None = None
    sql_password: str | None = None
    rds: RdsConfig | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("rds", "ec2"):
            raise ValueError(f"InstanceConfig {self.name!r}: kind must be 'rds' or 'ec2', not {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["rds"] = self.rds.to_json() if self.rds else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> InstanceConfig:
        d = dict(d)
        rds = d.pop("rds", None)
        return cls(**d, rds=RdsConfig.from_json(rds) if rds else None)


@dataclass
class DatabaseInfo:
    name: str
    database_id: int
    state_desc: str  # "ONLINE" | "RESTORING"
    recovery_model_desc: str
    family_guid: str
    is_encrypted: bool
    encryptor_thumbprint: str | None


@dataclass
class BackupHeader:
    database_name: str
    backup_type: int  # 1 = database, 2 = log
    first_lsn: int
    last_lsn: int
    checkpoint_lsn: int
    database_backup_lsn: int
    backup_start_date: datetime
    backup_finish_date: datetime
    family_guid: str
    is_encrypted_tde: bool
    encryptor_thumbprint: str | None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["backup_start_date"] = self.backup_start_date.isoformat()
        d["backup_finish_date"] = self.backup_finish_date.isoformat()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BackupHeader:
        d = {k: d[k] for k in cls.__dataclass_fields__}
        d["backup_start_date"] = datetime.fromisoformat(d["backup_start_date"])
        d["backup_finish_date"] = datetime.fromisoformat(d["backup_finish_date"])
        return cls(**d)


@dataclass
class CertificateInfo:
    name: str
    thumbprint: str  # "0x" + 40 upper-case hex digits
    subject: str
    expiry_date: datetime
    start_date: datetime


@dataclass
class ProcArgs:
    named: dict[str, Any] = field(default_factory=dict)
    positional: list[Any] = field(default_factory=list)
    database: str = "master"
    login: str | None = None

    def get(self, name: str, default: Any = None) -> Any:
        return self.named.get(name.lower().lstrip("@"), default)


ProcFn = Callable[["Instance", ProcArgs], SqlResult]
TvfFn = Callable[["Instance", list[Any]], ResultSet]


def sql_error(number: int, message: str, severity: int = 16, state: int = 1, *more: SqlErrorDetail) -> SqlError:
    """One SQL Server error (optionally followed by more, e.g. the 3013 that ends a RESTORE)."""
    return SqlError([SqlErrorDetail(number, message, severity, state), *more])


def detail(number: int, message: str, severity: int = 16, state: int = 1) -> SqlErrorDetail:
    return SqlErrorDetail(number, message, severity, state)


def terminating(statement: str) -> SqlErrorDetail:
    """Msg 3013: the trailer SQL Server adds after every failed BACKUP/RESTORE."""
    return SqlErrorDetail(3013, f"{statement} is terminating abnormally.", 16, 1)
