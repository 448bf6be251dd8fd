"""SqlServerEmulator: the emulated SQL Server instances of the estate (see the package docstring)."""

from __future__ import annotations

import importlib
from pathlib import Path

from dbshift.estate.sqlserver.instance import Instance
from dbshift.estate.sqlserver.model import (
    BackupHeader,
    CertificateInfo,
    DatabaseInfo,
    InstanceConfig,
    ProcArgs,
    ProcFn,
    RdsConfig,
    TvfFn,
    sql_error,
)
from dbshift.tsql.result import SqlError, SqlResult

__all__ = [
    "BackupHeader",
    "CertificateInfo",
    "DatabaseInfo",
    "Instance",
    "InstanceConfig",
    "ProcArgs",
    "ProcFn",
    "RdsConfig",
    "SqlServerEmulator",
    "TvfFn",
]


def _network_error() -> SqlError:
    return sql_error(
        53,
        "A network-related or instance-specific error occurred while establishing a connection to SQL Server. The "
        "server was not found or was not accessible. Verify that the instance name is correct and that SQL Server is "
        "configured to allow remote connections. (provider: Named Pipes Provider, error: 40 - Could not open a "
        "connection to SQL Server)",
        20,
        0,
    )


class SqlServerEmulator:
    """Emulated SQL Server instances whose state lives under root/<instance name>/ and survives restarts."""

    def __init__(self, root: Path, instances: list[InstanceConfig]) -> None:
        self.root = Path(root)
        self.instances: dict[str, Instance] = {}
        for cfg in instances:
            if cfg.name.lower() in self.instances:
                raise ValueError(f"instance name {cfg.name!r} is used twice; give every instance its own name")
            inst = Instance(cfg, self.root)
            self.instances[cfg.name.lower()] = inst
            if cfg.kind == "rds":
                _install_rds(inst)

    def instance(self, name_or_server: str) -> Instance:
        key = name_or_server.strip().lower()
        for inst in self.instances.values():
            names = [inst.config.name, *inst.config.server_names]
            if key in (n.lower() for n in names) or key.split(",")[0] in (n.lower() for n in names):
                return inst
        raise _network_error()

    def execute(
        self,
        server_instance: str,
        sql: str,
        database: str | None = None,
        login: str | None = None,
        password: str | None = None,
    ) -> SqlResult:
        inst = self.instance(server_instance)
        cfg = inst.config
        if cfg.sql_login is not None and (login != cfg.sql_login or password != cfg.sql_password):
            raise sql_error(18456, f"Login failed for user '{login or ''}'.", 14, 1)
        try:
            return inst.execute(sql, database, login)
        except SqlError as e:
            e.server = server_instance
            raise

    def close(self) -> None:
        for inst in self.instances.values():
            stop = getattr(inst, "stop_background", None)
            if callable(stop):
                stop()
            inst.close()


def _install_rds(inst: Instance) -> None:
    """Install the RDS procedures when dbshift.estate.sqlserver.rds exists (it is another engineer's module)."""
    try:
        rds = importlib.import_module("dbshift.estate.sqlserver.rds")
    except ModuleNotFoundError as e:
        if e.name != "dbshift.estate.sqlserver.rds":
            raise
        return
    rds.install(inst)
