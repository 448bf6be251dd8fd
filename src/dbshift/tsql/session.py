"""The SqlSession protocol: every transport (WinRM today) runs T-SQL through this one shape."""

from __future__ import annotations

from typing import Protocol

from dbshift.tsql.result import SqlResult


class SqlSession(Protocol):
    """Runs a T-SQL batch on one SQL Server instance.

    `execute` returns every result set and PRINT message, or raises SqlError carrying SQL Server's
    error numbers. `timeout` is the statement timeout in seconds; None means no limit (long
    RESTOREs must not be cut off by a default).
    """

    server_instance: str

    def execute(self, sql: str, database: str | None = None, timeout: int | None = None) -> SqlResult: ...
