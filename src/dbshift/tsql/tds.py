"""SQL Server over TDS for the data migration: pymssql (FreeTDS, the C client) with rows streamed in batches.

    conn = connect_tds("127.0.0.1:14330", "migration_reader", password, "NetPerf01")
    cols, rows = conn.query("SELECT COUNT(*) AS n FROM dbo.cell_performance_data")
    for batch in conn.stream("SELECT * FROM dbo.cell_performance_data", batch_rows=50_000): ...
    conn.columns("SELECT * FROM dbo.cell_performance_data")  # [("cell_id", "int"), ...]

SQL is T-SQL text with literals inlined (no parameters). Server errors surface as
dbshift.tsql.result.SqlError with SQL Server's number and message; connection failures too (the number
FreeTDS reports, e.g. 18456 for a rejected login, 20009 when nothing answers).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dbshift.errors import ConfigError
from dbshift.tsql.result import SqlError, SqlErrorDetail

TDS_VERSION = "7.4"  # DATETIME2 and DATE arrive as datetime/date only from TDS 7.3 on


def _split(host_port: str) -> tuple[str, str]:
    host, sep, port = host_port.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"TDS endpoint {host_port!r} is not HOST:PORT (e.g. 127.0.0.1:1433)")
    return host, port


def _error(exc: BaseException, where: str, login: str | None = None) -> SqlError:
    """pymssql's exception as SqlError: (number, message) from FreeTDS, SQL Server's text without DB-Lib noise."""
    number, text = 0, str(exc)
    args = getattr(exc, "args", ())
    if len(args) == 1 and isinstance(args[0], tuple):  # connect errors nest (number, message) one level down
        args = args[0]
    if len(args) >= 2 and isinstance(args[0], int):
        number = args[0]
        raw = args[1]
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    text = re.split(r"DB-Lib error message \d+", text)[0].strip() or text.strip()
    if number == 18456 and login is not None and "Login failed" not in text:
        # FreeTDS keeps one "last message" per process for logins: after other connections it may hand back only
        # its own DB-Lib text. The number is SQL Server's, and so is this text (its message 18456).
        text = f"Login failed for user '{login}'. {text}"
    severity = 14 if number == 18456 else 16
    return SqlError([SqlErrorDetail(number or 50000, text, severity)], server=where)


def _drain(cur: Any) -> None:
    """Read the batch's remaining results: an error raised by a later statement surfaces here."""
    while cur.nextset():
        if cur.description is not None:
            cur.fetchall()


class TdsConnection:
    """An open TDS connection (autocommit: each batch commits by itself, as the source is only read)."""

    def __init__(self, conn: Any, where: str) -> None:
        self._conn = conn
        self.where = where

    def _cursor(self) -> Any:
        return self._conn.cursor()

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """(column names, rows) of a small result; ([], []) when the batch returns no result set."""
        import pymssql

        cur = self._cursor()
        try:
            cur.execute(sql)
            columns, rows = [], []
            while cur.description is None and cur.nextset():
                pass
            if cur.description is not None:
                columns, rows = [d[0] for d in cur.description], list(cur.fetchall())
            _drain(cur)
            return columns, rows
        except pymssql.Error as e:
            raise _error(e, self.where) from None
        finally:
            cur.close()

    def stream(self, sql: str, batch_rows: int = 50_000) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of a big result in lists of at most batch_rows, fetched as they arrive.

        Leaving the loop early cancels the rest of the result on the server (an ATTENTION), so the
        connection stays usable."""
        import pymssql

        if batch_rows < 1:
            raise ValueError(f"batch_rows must be at least 1, not {batch_rows}")
        cur = self._cursor()
        finished = False
        try:
            cur.execute(sql)
            if cur.description is None:
                finished = True
                return
            while True:
                rows = cur.fetchmany(batch_rows)
                if not rows:
                    _drain(cur)
                    finished = True
                    return
                yield rows
        except pymssql.Error as e:
            finished = True
            raise _error(e, self.where) from None
        finally:
            if not finished:
                self._conn._conn.cancel()  # ATTENTION: the server stops sending and answers DONE_ATTN
            cur.close()

    def columns(self, sql: str) -> list[tuple[str, str]]:
        """(name, T-SQL type name) of each column of the query's result, as SQL Server describes it."""
        text = sql.replace("'", "''")
        _, rows = self.query(
            "SELECT name, system_type_name FROM sys.dm_exec_describe_first_result_set("
            f"N'{text}', NULL, 0) ORDER BY column_ordinal"
        )
        return [(str(name or ""), str(tname)) for name, tname in rows]

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> TdsConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect_tds(host_port: str, user: str, password: str, database: str, timeout: float = 30) -> TdsConnection:
    """Log in to SQL Server at host_port with SQL authentication and open `database`."""
    import pymssql

    host, port = _split(host_port)
    try:
        conn = pymssql.connect(
            server=host,
            port=port,
            user=user,
            password=password,
            database=database,
            login_timeout=max(1, int(timeout)),
            autocommit=True,
            tds_version=TDS_VERSION,
            conn_properties="SET ANSI_NULLS ON; SET QUOTED_IDENTIFIER ON; SET TEXTSIZE 2147483647;",
            appname="dbshift",
        )
    except pymssql.Error as e:
        raise _error(e, host_port, login=user) from None
    return TdsConnection(conn, host_port)
