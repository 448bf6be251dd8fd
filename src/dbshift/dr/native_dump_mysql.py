"""DR option D, native dump, for MySQL and MariaDB: mysqldump --single-transaction through native_dump_core.

Dump: `mysqldump --single-transaction --routines --triggers --events --hex-blob` of one database, read as
a stream (never staged on disk) by native_dump_core: zstd → AES-256-GCM under a target-region KMS data
key → S3 multipart upload. The manifest's per-table checks (row count and an order-independent hash:
the sum of the 60-bit md5 prefixes of each row's QUOTE()d columns, computed by the server) are taken in
a START TRANSACTION WITH CONSISTENT SNAPSHOT session. MySQL cannot share that snapshot with mysqldump's
own (there is no pg_export_snapshot), so the checks are taken again once the dump has ended: a table
that changed in between fails the dump ("stop writes and run again") instead of making a manifest that
no restore could match.

Restore: MySQL has no RENAME DATABASE (RENAME TABLE moves tables but not views' definers, routines or
events, and refuses tables with triggers across databases). So the restore goes into the target name
itself, and only when that database does not exist or is empty: it is (re)created with the source's
character set and collation, marked incomplete by the table `__dbshift_restore_incomplete`, restored
with the mysql client, verified by the same in-server checks, and the marker dropped. Any failure
drops the database, so the name is either absent or holds a verified copy; a database still carrying
the marker (an interrupted run) is taken as empty and restored again. A non-empty target that differs
from the dump is refused even with overwrite (it could only be dropped before the copy is verified).

DSN: mysql://USER:PASSWORD@HOST:PORT (mariadb:// too; the port defaults to 3306; a path names the
database when `database` is not given). Query parameters are client options, e.g.
?ssl-ca=/etc/rds-ca.pem&ssl-verify-server-cert=1. The options, password included, reach the client
tools through a pipe (--defaults-extra-file=/dev/fd/N): not on a command line, not in a file.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

from dbshift.aws.clients import AwsConfig
from dbshift.dr import native_dump_core as core
from dbshift.dr.native_dump_core import (
    PART,
    DumpPlan,
    DumpResult,
    Manifest,
    NativeDumpError,
    RestorePlan,
    RestoreResult,
    SourceState,
    TableCheck,
    Tool,
)
from dbshift.errors import ConfigError

SCHEMES = ("mysql", "mariadb")
MARKER = "__dbshift_restore_incomplete"
DEFAULT_PORT = 3306


# ---------------------------------------------------------------------------------------------- connection


@dataclass(frozen=True)
class MySqlDsn:
    host: str
    port: int
    user: str
    password: str | None = field(repr=False)
    database: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, dsn: str) -> MySqlDsn:
        parts = urlsplit(dsn)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ConfigError(
                "MySQL DSN is not of the form mysql://USER:PASSWORD@HOST:PORT[/DATABASE][?client-option=value] "
                f"(scheme {parts.scheme or 'missing'!r})"
            )
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ConfigError("MySQL DSN: the port is not a number; use mysql://USER:PASSWORD@HOST:3306") from None
        if not parts.username:
            raise ConfigError("MySQL DSN names no user: use mysql://USER:PASSWORD@HOST:PORT")
        options = tuple(parse_qsl(parts.query, keep_blank_values=True))
        for name, _ in options:
            if not re.fullmatch(r"[a-z][a-z0-9_-]*", name) or name in ("password", "user", "host", "port"):
                raise ConfigError(f"MySQL DSN option {name!r}: pass client options such as ssl-ca=PATH")
        return cls(
            host=parts.hostname,
            port=port,
            user=unquote(parts.username),
            password=unquote(parts.password) if parts.password is not None else None,
            database=unquote(parts.path.lstrip("/")) or None,
            options=options,
        )

    def option_file(self) -> bytes:
        """The [client] option group the mysql/mysqldump tools read (--defaults-extra-file)."""

        def value(text: str) -> str:
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

        lines = ["[client]", f"host={value(self.host)}", f"port={self.port}", f"user={value(self.user)}"]
        if self.password is not None:
            lines.append(f"password={value(self.password)}")
        lines += [f"{name}={value(v)}" if v else name for name, v in self.options]
        return ("\n".join(lines) + "\n").encode()


def _tool_path(names: tuple[str, ...], what: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError(
        f"{what} not found on PATH (looked for {', '.join(names)}): install the MySQL or MariaDB client "
        "(e.g. `apt-get install mariadb-client` or `default-mysql-client`)"
    )


def dump_tool() -> str:
    return _tool_path(("mariadb-dump", "mysqldump"), "mysqldump")


def client_tool() -> str:
    return _tool_path(("mariadb", "mysql"), "the mysql client")


@contextlib.contextmanager
def _options_fd(dsn: MySqlDsn) -> Iterator[int]:
    """A pipe's read end holding the option file: the child reads it as /dev/fd/N; nothing touches disk."""
    data = dsn.option_file()
    if len(data) > 60_000:  # must fit the pipe's buffer: it is written before the child starts reading
        raise ConfigError("MySQL DSN: the client options are too long")
    read, write = os.pipe()
    try:
        os.write(write, data)
        os.close(write)
        write = -1
        yield read
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)


def _defaults(fd: int) -> str:
    return f"--defaults-extra-file=/dev/fd/{fd}"  # must be the first option


def _sql_str(text: str) -> str:
    """A string literal that no sql_mode or character set can misread: hex, converted to utf8mb4."""
    return f"CONVERT(X'{text.encode().hex()}' USING utf8mb4)"


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def query(dsn: MySqlDsn, sql: str, database: str | None = None, timeout: float | None = None) -> list[list[str]]:
    """Run `sql` with the mysql client; the rows of every result set (tab-separated, batch-escaped text)."""
    with _options_fd(dsn) as fd:
        argv = [client_tool(), _defaults(fd), "--batch", "--skip-column-names", "--default-character-set=utf8mb4"]
        if timeout is not None:
            argv.append(f"--connect-timeout={max(1, int(timeout))}")
        if database:
            argv.append(f"--database={database}")
        try:
            out = subprocess.run(
                argv, input=sql.encode(), capture_output=True, pass_fds=(fd,), timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise NativeDumpError(f"MySQL at {dsn.host}:{dsn.port} did not answer within {timeout:g} s") from None
    if out.returncode != 0:
        where = f"database {database!r}" if database else "the server"
        raise NativeDumpError(
            f"MySQL at {dsn.host}:{dsn.port}, {where}: {out.stderr.decode(errors='replace').strip()[-2000:]}"
        )
    return [line.split("\t") for line in out.stdout.decode().splitlines()]


def answers(dsn: str, database: str | None = None, timeout: float = 5) -> bool:
    """Does the database answer? (auto's probe for option D)"""
    try:
        parsed = MySqlDsn.parse(dsn)
        query(parsed, "SELECT 1", database or parsed.database, timeout=timeout)
        return True
    except Exception:  # any failure to connect means "does not answer" for the choice
        return False


# ---------------------------------------------------------------------------------------------- checks


def _tables(dsn: MySqlDsn, database: str) -> dict[str, list[str]]:
    """Base tables of `database` (not the restore marker) and their columns in order."""
    rows = query(
        dsn,
        "SELECT HEX(c.TABLE_NAME), HEX(c.COLUMN_NAME) FROM information_schema.COLUMNS c "
        "JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME "
        f"WHERE c.TABLE_SCHEMA = {_sql_str(database)} AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') "
        "ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
    )
    out: dict[str, list[str]] = {}
    for table_hex, column_hex in rows:
        name = bytes.fromhex(table_hex).decode()
        if name != MARKER:
            out.setdefault(name, []).append(bytes.fromhex(column_hex).decode())
    return out


def _check_sql(database: str, table: str, columns: list[str]) -> str:
    # QUOTE() renders every type as text (NULL as the bare word NULL, unlike the string 'NULL'); BINARY keeps
    # columns of different character sets from colliding in CONCAT_WS. Summing 60-bit prefixes of md5 is
    # order independent and cannot overflow (SUM of integers is DECIMAL).
    row = ", ".join(f"CAST(QUOTE({_ident(c)}) AS BINARY)" for c in columns)
    return (
        f"SELECT COUNT(*), COALESCE(SUM(CAST(CONV(SUBSTRING(MD5(CONCAT_WS(',', {row})), 1, 15), 16, 10) "
        f"AS UNSIGNED)), 0) FROM {_ident(database)}.{_ident(table)};"
    )


def table_checks(dsn: MySqlDsn, database: str) -> dict[str, TableCheck]:
    """Row count and content hash of every base table, all read in one consistent snapshot."""
    tables = _tables(dsn, database)
    if not tables:
        return {}
    script = "\n".join(
        [
            "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;",
            "START TRANSACTION WITH CONSISTENT SNAPSHOT;",
            *(_check_sql(database, t, cols) for t, cols in tables.items()),
            "COMMIT;",
        ]
    )
    rows = query(dsn, script, database)
    if len(rows) != len(tables):
        raise NativeDumpError(f"MySQL database {database!r}: expected {len(tables)} check rows, got {len(rows)}")
    return {t: TableCheck(int(r[0]), str(int(r[1]))) for t, r in zip(tables, rows, strict=True)}


# ---------------------------------------------------------------------------------------------- dump


@functools.cache
def _has_gtid_option(tool: str) -> bool:
    """MySQL's mysqldump only: without --set-gtid-purged=OFF it writes a GTID_PURGED line that fails on a
    target with GTIDs of its own (every RDS MySQL)."""
    return "--set-gtid-purged" in subprocess.run([tool, "--help"], capture_output=True, text=True, check=False).stdout


def _dump_flags(tool: str) -> list[str]:
    flags = [
        "--single-transaction",  # one consistent InnoDB snapshot, no table locks
        "--routines",
        "--triggers",
        "--events",
        "--hex-blob",  # binary columns as hex literals: safe through any client character set
        "--skip-dump-date",
        "--quick",
        "--default-character-set=utf8mb4",
        "--max-allowed-packet=1G",
        "--no-tablespaces",  # needs no PROCESS privilege (RDS master users lack it before 8.0.21)
    ]
    if _has_gtid_option(tool):
        flags.append("--set-gtid-purged=OFF")
    return flags


@dataclass
class MySqlDumper:
    dsn: str = field(repr=False)
    database: str
    engine: str = "mysql"
    dump_format: str = "mysqldump-sql"

    @property
    def _dsn(self) -> MySqlDsn:
        return MySqlDsn.parse(self.dsn)

    @contextlib.contextmanager
    def capture(self) -> Iterator[SourceState]:
        dsn = self._dsn
        try:
            meta = query(
                dsn,
                "SELECT VERSION(), DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
                f"WHERE SCHEMA_NAME = {_sql_str(self.database)}",
            )
        except NativeDumpError as exc:
            raise NativeDumpError(f"cannot connect to MySQL database {self.database!r}: {exc}") from None
        if not meta:
            raise NativeDumpError(
                f"cannot connect to MySQL database {self.database!r}: it does not exist at {dsn.host}:{dsn.port}"
            )
        version, charset, collation = meta[0]
        tables = table_checks(dsn, self.database)
        schema = hashlib.sha256()
        with self._tool(["--no-data", "--skip-comments"], "mysqldump --no-data") as out:
            for line in out:
                schema.update(line)
        yield SourceState(
            snapshot="",
            server_version=version,
            schema_sha256=schema.hexdigest(),
            tables=tables,
            properties={"charset": charset, "collation": collation},
        )

    @contextlib.contextmanager
    def open_dump(self, state: SourceState) -> Iterator[BinaryIO]:
        with self._tool([], "mysqldump") as out:
            yield out
        # Leaving here before the upload completes: a failure below aborts it.
        changed = core._differences(state.tables, table_checks(self._dsn, self.database))
        if changed:
            raise NativeDumpError(
                f"MySQL database {self.database!r} changed while it was dumped ({'; '.join(changed[:10])}): the "
                "manifest's checks and mysqldump's snapshot cannot be the same one; stop writes to it and run again"
            )

    @contextlib.contextmanager
    def _tool(self, args: list[str], what: str) -> Iterator[BinaryIO]:
        dsn = self._dsn
        tool_path = dump_tool()
        with _options_fd(dsn) as fd:
            argv = [tool_path, _defaults(fd), *_dump_flags(tool_path), *args, self.database]
            tool = Tool(argv, None, stdin=False, what=f"{what} of database {self.database!r}", pass_fds=(fd,))
        try:
            assert tool.proc.stdout is not None
            yield tool.proc.stdout  # type: ignore[misc]
            tool.wait()
        finally:
            tool.kill()


# ---------------------------------------------------------------------------------------------- restore

_DEFINER = re.compile(rb"DEFINER=`(?:[^`]|``)*`@`(?:[^`]|``)*`\s*")


class _DefinerFilter:
    """Drops DEFINER clauses from the dump's DDL lines (views, routines, triggers, events): the target's
    users differ, and creating objects for another definer needs SUPER/SET USER, which RDS does not grant.
    Row data (INSERT lines) passes untouched."""

    def __init__(self, sink: BinaryIO) -> None:
        self.sink = sink
        self._partial = b""

    def write(self, data: bytes) -> int:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        if lines:
            self.sink.write(b"\n".join(self._line(x) for x in lines) + b"\n")
        return len(data)

    def _line(self, line: bytes) -> bytes:
        return line if line.startswith(b"INSERT INTO ") else _DEFINER.sub(b"", line)

    def close(self) -> None:
        if self._partial:
            self.sink.write(self._line(self._partial))
            self._partial = b""


@dataclass
class MySqlRestorer:
    dsn: str = field(repr=False)
    database: str
    no_owner: bool = False  # strip DEFINER clauses: objects are created for the restoring user
    engine: str = "mysql"
    can_replace: bool = False  # no RENAME DATABASE: see the module's docstring

    @property
    def _dsn(self) -> MySqlDsn:
        return MySqlDsn.parse(self.dsn)

    def _objects(self) -> tuple[int, bool]:
        """(objects in the target other than the marker, marker present)"""
        name = _sql_str(self.database)
        rows = query(
            self._dsn,
            f"SELECT COUNT(*), COALESCE(SUM(TABLE_NAME = '{MARKER}'), 0) FROM information_schema.TABLES "
            f"WHERE TABLE_SCHEMA = {name};"
            f"SELECT (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = {name}) "
            f"+ (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = {name});",
        )
        tables, marker = int(rows[0][0]), int(rows[0][1])
        return tables - marker + int(rows[1][0]), bool(marker)

    def exists(self) -> bool:
        rows = query(
            self._dsn, f"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {_sql_str(self.database)}"
        )
        return rows[0][0] != "0"

    def is_empty(self) -> bool:
        count, marker = self._objects()
        return count == 0 or marker  # the marker: an interrupted restore of ours, to be redone

    def checks(self, database: str | None = None) -> dict[str, TableCheck]:
        return table_checks(self._dsn, database or self.database)

    def create_staging(self, manifest: Manifest, note: str) -> str:
        """The target itself, (re)created empty with the source's character set and marked incomplete."""
        props = manifest.properties
        charset, collation = props.get("charset") or "utf8mb4", props.get("collation")
        db = _ident(self.database)
        create = f"CREATE DATABASE {db} CHARACTER SET {_ident(charset)}"
        if collation:
            create += f" COLLATE {_ident(collation)}"
        try:
            query(
                self._dsn,
                f"DROP DATABASE IF EXISTS {db}; {create}; "
                f"CREATE TABLE {db}.{_ident(MARKER)} (note varchar(1024)) COMMENT 'dbshift restore in progress'; "
                f"INSERT INTO {db}.{_ident(MARKER)} VALUES ({_sql_str(note[:1024])});",
            )
        except NativeDumpError as exc:
            raise NativeDumpError(
                f"cannot create MySQL database {self.database!r} (character set {charset}, collation {collation}) "
                f"to restore into: {exc}; the restoring user needs CREATE and DROP on it"
            ) from None
        return self.database

    @contextlib.contextmanager
    def open_restore(self, staging: str) -> Iterator[BinaryIO]:
        dsn = self._dsn
        with _options_fd(dsn) as fd:
            argv = [
                client_tool(),
                _defaults(fd),
                "--binary-mode",  # the dump's bytes as they are: no \\-command parsing, NUL bytes allowed
                "--default-character-set=utf8mb4",
                "--max-allowed-packet=1G",
                f"--database={staging}",
            ]
            tool = Tool(argv, None, stdin=True, what=f"mysql restore into {staging!r}", pass_fds=(fd,))
        try:
            assert tool.proc.stdin is not None
            sink: BinaryIO = tool.proc.stdin  # type: ignore[assignment]
            filt = _DefinerFilter(sink) if self.no_owner else None
            try:
                yield filt if filt is not None else sink  # type: ignore[misc]
                if filt is not None:
                    filt.close()
                sink.close()
            except BrokenPipeError:
                tool.wait()  # the client stopped reading: its exit status and stderr say why
                raise
            tool.wait()
        finally:
            tool.kill()

    def promote(self, staging: str) -> None:
        """Verified: the marker goes, and the database is complete under the target's name."""
        query(self._dsn, f"DROP TABLE {_ident(staging)}.{_ident(MARKER)}")

    def drop_staging(self, staging: str) -> None:
        query(self._dsn, f"DROP DATABASE IF EXISTS {_ident(staging)}")


# ---------------------------------------------------------------------------------------------- entry points


def dump_to_s3(
    dsn: str,
    database: str,
    bucket: str,
    key: str,
    kms_key_id: str,
    aws: AwsConfig,
    compress: str = "zstd",
    progress: TextIO | None = None,
    part_size: int = PART,
) -> DumpResult:
    """mysqldump of `database` at `dsn` (mysql://…) to s3://bucket/key in aws.region, encrypted under
    `kms_key_id` (a key of that region). Re-running with the same data changes nothing."""
    return core.dump(MySqlDumper(dsn, database), bucket, key, kms_key_id, aws, compress, progress, part_size)


def restore_from_s3(
    bucket: str,
    key: str,
    target_dsn: str,
    target_database: str,
    aws: AwsConfig,
    create_database: bool = False,
    progress: TextIO | None = None,
    no_owner: bool = False,
) -> RestoreResult:
    """Restore the dump at s3://bucket/key into `target_database` at `target_dsn` (mysql://…), verified
    against the manifest before the restore counts as done; see the module's docstring for why the target
    must be absent or empty. `no_owner` drops DEFINER clauses (objects then belong to the restoring user)."""
    restorer = MySqlRestorer(target_dsn, target_database, no_owner=no_owner)
    return core.restore(restorer, bucket, key, aws, create_database, overwrite=False, progress=progress)


# ---------------------------------------------------------------------------------------------- plans (check mode)


def plan_dump_to_s3(
    dsn: str, database: str, bucket: str, key: str, kms_key_id: str, aws: AwsConfig, compress: str = "zstd"
) -> DumpPlan:
    """What dump_to_s3 would do, from reads only (the source's checks in a consistent snapshot, mysqldump
    --no-data for the schema, the manifest in S3)."""
    return core.plan_dump(MySqlDumper(dsn, database), bucket, key, kms_key_id, aws, compress)


def plan_restore_from_s3(
    bucket: str,
    key: str,
    target_dsn: str,
    target_database: str,
    aws: AwsConfig,
    create_database: bool = False,
    manifest: Manifest | None = None,
) -> RestorePlan:
    """What restore_from_s3 would do, from reads only; `manifest`: the one a pending dump would write."""
    restorer = MySqlRestorer(target_dsn, target_database)
    return core.plan_restore(restorer, bucket, key, aws, create_database, overwrite=False, manifest=manifest)


def plan_dump_and_restore(
    dsn: str,
    database: str,
    bucket: str,
    key: str,
    kms_key_id: str,
    aws: AwsConfig,
    target_dsn: str,
    target_database: str,
    compress: str = "zstd",
    create_database: bool = False,
) -> tuple[DumpPlan, RestorePlan]:
    """What dump_to_s3 then restore_from_s3 would do (check mode): nothing is written anywhere."""
    return core.plan_dump_restore(
        MySqlDumper(dsn, database), MySqlRestorer(target_dsn, target_database), bucket, key, kms_key_id, aws,
        compress, create_database, overwrite=False,
    )  # fmt: skip
