"""SQL Server over TDS for the data migration: pymssql (FreeTDS, the C client) with rows streamed in batches,
and bulk reads straight into Arrow through an ODBC driver when one is installed.

    conn = connect_tds("127.0.0.1:14330", "migration_reader", password, "NetPerf01")
    cols, rows = conn.query("SELECT COUNT(*) AS n FROM dbo.cell_performance_data")
    for batch in conn.stream("SELECT * FROM dbo.cell_performance_data", batch_rows=50_000): ...
    batches = conn.stream_arrow("SELECT cell_id FROM dbo.cell_performance_data", schema)  # None: no driver
    conn.columns("SELECT * FROM dbo.cell_performance_data")  # [("cell_id", "int"), ...]

SQL is T-SQL text with literals inlined (no parameters). Server errors surface as
dbshift.tsql.result.SqlError with SQL Server's number and message; connection failures too (the number
FreeTDS reports, e.g. 18456 for a rejected login, 20009 when nothing answers).

Why two clients: pymssql builds a Python object per value (~1 µs each), which made the export CPU-bound
in the client. arrow-odbc binds column buffers and fills Arrow arrays in native code (about 30x less client
CPU when profiled; bench/migrate.py's (c)/(d) shows the read rate gained). It needs an ODBC driver for SQL
Server: FreeTDS's (Debian: tdsodbc) is found by itself; DBSHIFT_ODBC_DRIVER names another ("ODBC Driver 18
for SQL Server", with DBSHIFT_ODBC_OPTIONS for its own keywords, e.g. "Encrypt=yes"), or "" for pymssql only.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

from dbshift.errors import ConfigError
from dbshift.tsql.result import SqlError, SqlErrorDetail

TDS_VERSION = "7.4"  # DATETIME2 and DATE arrive as datetime/date only from TDS 7.3 on
SESSION_SETTINGS = "SET ANSI_NULLS ON; SET QUOTED_IDENTIFIER ON; SET TEXTSIZE 2147483647;"
ODBC_DRIVER_ENV, ODBC_OPTIONS_ENV = "DBSHIFT_ODBC_DRIVER", "DBSHIFT_ODBC_OPTIONS"
FREETDS = "FreeTDS"
# Types without a bound the driver can size a buffer by: arrow-odbc would need max_text_size and then cuts
# longer values without a word (seen with FreeTDS), so results with such a column go through pymssql.
_UNBOUNDED = re.compile(r"\(max\)\s*$|^\s*(text|ntext|image|xml|sql_variant|geography|geometry|hierarchyid)\b", re.I)
_ODBC_ERROR = re.compile(r"State: (?P<state>\w+), Native error: (?P<number>-?\d+), Message: (?P<text>.*)", re.S)


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


def _odbcinst_files() -> list[Path]:
    sysdir = os.environ.get("ODBCSYSINI")
    files = (
        [Path(sysdir) / "odbcinst.ini"] if sysdir else [Path("/etc/odbcinst.ini"), Path("/etc/unixODBC/odbcinst.ini")]
    )
    if os.environ.get("ODBCINSTINI"):
        files.append(Path(os.environ["ODBCINSTINI"]))
    return files


def odbc_driver() -> str | None:
    """The ODBC driver bulk reads use: $DBSHIFT_ODBC_DRIVER when set ("" = none), else FreeTDS when unixODBC
    has it registered and arrow-odbc is installed; None otherwise (pymssql then reads everything)."""
    named = os.environ.get(ODBC_DRIVER_ENV)
    if named is not None:
        return named.strip() or None
    try:
        import arrow_odbc  # noqa: F401
    except ImportError:
        return None
    ini = configparser.ConfigParser(interpolation=None, strict=False)
    for f in _odbcinst_files():
        try:
            ini.read(f)
        except (OSError, configparser.Error):
            continue
    return FREETDS if ini.has_section(FREETDS) else None


def _plain_odbc_value(v: str) -> bool:
    # FreeTDS refused a correct password in ODBC's {braces}: a login needing them reads through pymssql
    return not re.search(r"[;{}]", v) and v == v.strip()


def _odbc_error(exc: BaseException, where: str) -> SqlError:
    """arrow-odbc's error as SqlError: SQL Server's number (the ODBC native error) and message."""
    text = str(exc)
    records = list(_ODBC_ERROR.finditer(text))
    if not records:
        return SqlError([SqlErrorDetail(50000, text.strip(), 16)], server=where)
    m = records[-1]  # the last diagnostic record is the server's own
    number = int(m.group("number")) or 50000
    message = re.sub(r"^(\[[^\]]*\])+", "", m.group("text").strip())
    return SqlError([SqlErrorDetail(number, message, 14 if number == 18456 else 16)], server=where)


def _drain(cur: Any) -> None:
    """Read the batch's remaining results: an error raised by a later statement surfaces here."""
    while cur.nextset():
        if cur.description is not None:
            cur.fetchall()


class TdsConnection:
    """An open TDS connection (autocommit: each batch commits by itself, as the source is only read)."""

    def __init__(self, conn: Any, where: str, login: tuple[str, str, str] | None = None) -> None:
        self._conn = conn
        self.where = where
        self._login = login  # (user, password, database) for the ODBC connection bulk reads open
        self._odbc: Any = None

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

    def stream_arrow(
        self, sql: str, schema: pa.Schema | None, batch_rows: int = 50_000
    ) -> Iterator[pa.RecordBatch] | None:
        """The rows of a big result as Arrow record batches of `schema` (one field per result column, in
        order; the driver converts each value to its field's type; None: the types the driver reports),
        decoded in native code. None when no ODBC driver is available (module docstring), a result column
        has no length bound (varchar(max), xml...) or the login has ; { } in it: then use stream()."""
        driver = odbc_driver()
        if driver is None or self._login is None or not all(map(_plain_odbc_value, self._login)):
            return None
        if any(_UNBOUNDED.search(type_name) for _name, type_name in self.columns(sql)):
            return None
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be at least 1, not {batch_rows}")
        return self._arrow_batches(self._odbc_connection(driver), sql, schema, batch_rows)

    def _odbc_connection(self, driver: str) -> Any:
        if self._odbc is None:
            import arrow_odbc

            assert self._login is not None
            user, password, database = self._login
            host, port = _split(self.where)
            server = f"Server={host};Port={port};TDS_Version={TDS_VERSION};ClientCharset=UTF-8"
            if driver != FREETDS:
                server = f"Server=tcp:{host},{port}"
            parts = [f"Driver={{{driver}}}", server, f"Database={database}", f"UID={user}", f"PWD={password}"]
            extra = os.environ.get(ODBC_OPTIONS_ENV, "").strip().strip(";")
            try:
                conn = arrow_odbc.connect(";".join(parts + ([extra] if extra else [])), login_timeout_sec=30)
                conn.execute(SESSION_SETTINGS)
            except arrow_odbc.Error as e:
                raise _odbc_error(e, self.where) from None
            self._odbc = conn
        return self._odbc

    def _arrow_batches(
        self, conn: Any, sql: str, schema: pa.Schema | None, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        import arrow_odbc
        import pyarrow as pa

        finished = False
        try:
            reader = conn.read_arrow_batches(sql, batch_size=batch_rows, schema=schema, fetch_concurrently=True)
            for batch in reader:
                # the driver names the fields after the result's columns: hand back exactly `schema`
                yield batch if schema is None else pa.RecordBatch.from_arrays(batch.columns, schema=schema)
            finished = True
        except arrow_odbc.Error as e:
            raise _odbc_error(e, self.where) from None
        finally:
            if not finished:
                self._odbc = None  # left mid-result (error, or the caller stopped): a new connection next time

    def columns(self, sql: str) -> list[tuple[str, str]]:
        """(name, T-SQL type name) of each column of the query's result, as SQL Server describes it."""
        text = sql.replace("'", "''")
        _, rows = self.query(
            "SELECT name, system_type_name, error_number, error_message FROM sys.dm_exec_describe_first_result_set("
            f"N'{text}', NULL, 0) ORDER BY column_ordinal"
        )
        for _name, _tname, number, message in rows:
            if number is not None:  # the function describes an error in a row instead of raising it
                raise SqlError([SqlErrorDetail(int(number), str(message), 16)], server=self.where)
        return [(str(name or ""), str(tname)) for name, tname, _n, _m in rows]

    def close(self) -> None:
        self._odbc = None  # arrow-odbc disconnects when the connection object goes
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
            conn_properties=SESSION_SETTINGS,
            appname="dbshift",
        )
    except pymssql.Error as e:
        raise _error(e, host_port, login=user) from None
    return TdsConnection(conn, host_port, (user, password, database))
