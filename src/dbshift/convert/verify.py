"""Run every converted object on a real PostgreSQL: an object is `verified` only if its SQL executed.

How: a fresh scratch database per run (dbshift_verify_<random>) on the server of the given DSN; one transaction
in it; the objects in dependency order, each inside its own SAVEPOINT (a failure is rolled back to the savepoint
and its PostgreSQL error kept); then passes over the failed ones repeated while a pass makes progress (retries
for order that could not be inferred). `RESET search_path` before each object, so that every object runs as it
would first in deploy.sql. At the end the transaction is ROLLED BACK and the scratch database dropped: nothing is
left behind, not even the cluster-wide roles that converted CREATE ROLE statements made.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql as pgsql

from dbshift.convert.model import ActionItem, Converted
from dbshift.errors import DbshiftError

STATEMENT_TIMEOUT = "30s"  # per object: an empty database makes any legitimate DDL fast


@dataclass
class VerifyResult:
    server_version: str
    database: str  # the scratch database (dropped again)
    passes: int
    seconds: float
    verified: int
    failed: int
    errors: dict[str, str] = field(default_factory=dict)  # object key → PostgreSQL error


def _with_database(dsn: str, database: str) -> str:
    """The DSN (URL or key=value) pointing at `database`."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))
    cleaned = re.sub(r"\bdbname\s*=\s*(?:'[^']*'|\S+)", "", dsn)
    return f"{cleaned} dbname={database}".strip()


def _admin_dsn(dsn: str) -> str:
    """Where CREATE DATABASE runs: the DSN's own database, else `postgres`."""
    if "://" in dsn:
        return dsn if urlsplit(dsn).path.strip("/") else _with_database(dsn, "postgres")
    return dsn if re.search(r"\bdbname\s*=", dsn) else f"{dsn} dbname=postgres"


def _error_text(err: psycopg.Error) -> str:
    diag = err.diag
    message = diag.message_primary or str(err).strip()
    text = f"{diag.severity or 'ERROR'}: {message}"
    if diag.sqlstate:
        text += f" (SQLSTATE {diag.sqlstate})"
    if diag.message_detail:
        text += f"; DETAIL: {diag.message_detail}"
    if diag.message_hint:
        text += f"; HINT: {diag.message_hint}"
    if diag.statement_position:
        text += f"; at character {diag.statement_position}"
    return text


def verify(
    items: list[Converted],
    dsn: str,
    *,
    progress: Callable[[str], None] | None = None,
    statement_timeout: str = STATEMENT_TIMEOUT,
    prelude: str | None = None,
) -> VerifyResult:
    """Execute `items` (already in dependency order) and set each one's status and error in place.

    Objects without SQL, skipped objects and generated-only failures keep their status; every object with SQL
    ends `verified` or `needs-work` (with PostgreSQL's error). `prelude` is SQL run first in the scratch database
    (the baseline uses it to give plain sqlglot the schemas its output names)."""
    started = time.monotonic()
    scratch = f"dbshift_verify_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(_admin_dsn(dsn), autocommit=True, connect_timeout=10)
    except psycopg.Error as err:
        raise DbshiftError(
            f"cannot connect to the verification PostgreSQL ({_redact(dsn)}): {str(err).strip()}; "
            "check --verify-dsn (postgresql://user:password@host:port[/database])"
        ) from err
    with admin:
        admin.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(scratch)))
        try:
            with psycopg.connect(_with_database(dsn, scratch), connect_timeout=10) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
                conn.execute(pgsql.SQL("SET statement_timeout = {}").format(pgsql.Literal(statement_timeout)))
                if prelude:
                    conn.execute(prelude)
                passes, errors = _run(conn, items, progress)
                conn.rollback()  # leave nothing behind (roles are cluster-wide)
        finally:
            admin.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(scratch)))
    verified = sum(1 for c in items if c.status == "verified")
    return VerifyResult(version, scratch, passes, time.monotonic() - started, verified, len(errors), errors)


def _run(conn: psycopg.Connection, items: list[Converted], progress) -> tuple[int, dict[str, str]]:
    pending = [c for c in items if c.sql and c.sql.strip() and c.status != "skipped"]
    errors: dict[str, str] = {}
    passes = 0
    while pending:
        passes += 1
        failed: list[Converted] = []
        for c in pending:
            error = _execute(conn, c.sql or "")
            if error is None:
                c.status, c.error = "verified", None
                errors.pop(c.obj.key, None)
            else:
                c.status, c.error = "needs-work", error
                errors[c.obj.key] = error
                failed.append(c)
        if progress:
            progress(f"verify pass {passes}: {len(pending) - len(failed)} of {len(pending)} executed")
        if len(failed) == len(pending):
            break  # no progress: what is left fails for a reason of its own
        pending = failed
    for c in items:  # the failure is an action item too: the report lists it with the source line
        if c.obj.key in errors and c.status == "needs-work":
            message = f"PostgreSQL rejected the converted object: {errors[c.obj.key]}; fix it by hand"
            c.items.append(ActionItem("error", c.obj.line, message, "verify-failed"))
    return passes, errors


_PG_SKIP = re.compile(
    r"--[^\n]*|/\*.*?\*/|[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(\$\w*\$)(?:.|\n)*?\1", re.DOTALL
)
_ATOMIC = re.compile(r"\bBEGIN\s+ATOMIC\b.*?\bEND\b", re.IGNORECASE | re.DOTALL)  # SQL-standard function bodies
_TRANSACTION_CONTROL = {"COMMIT", "ROLLBACK", "END", "ABORT", "BEGIN", "START", "SAVEPOINT", "RELEASE", "PREPARE"}


def transaction_control(sql: str) -> str | None:
    """The first top-level transaction-control statement (COMMIT, BEGIN, ...) in PostgreSQL text, if any.

    Such a statement would end the verification's transaction (and deploy.sql's): comments, strings and
    dollar-quoted bodies (where PL/pgSQL's BEGIN/END live) are skipped."""
    bare = _ATOMIC.sub(" ", _PG_SKIP.sub(" ", sql))
    opened = False  # a BEGIN inside an earlier statement: its END closes a (non-PostgreSQL) block, not ours
    for statement in bare.split(";"):
        words = statement.split(None, 1)
        first = words[0].upper() if words else ""
        if first in _TRANSACTION_CONTROL and not (first == "END" and opened):
            return first
        opened = opened or bool(re.search(r"\bBEGIN\b", statement, re.IGNORECASE))
    return None


def _execute(conn: psycopg.Connection, sql: str) -> str | None:
    """Run one object's SQL in a savepoint; None when it executed, else PostgreSQL's error."""
    control = transaction_control(sql)
    if control:
        return f"ERROR: the object ends the transaction (top-level {control}): remove it, deploy.sql runs in one"
    with conn.cursor() as cur:
        cur.execute("SAVEPOINT dbshift_object")
        try:
            cur.execute("RESET search_path")
            cur.execute(sql)
        except psycopg.Error as err:
            if conn.closed or conn.broken:
                raise DbshiftError(f"lost the connection to the verification PostgreSQL: {err}") from err
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                cur.execute("ROLLBACK TO SAVEPOINT dbshift_object")
            return _error_text(err)
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
            # the object ended our transaction (COMMIT/ROLLBACK at top level): it cannot run inside deploy.sql's
            # transaction either; start over in a new one so the next objects still run
            conn.rollback()
            return "ERROR: the object ends the transaction (top-level COMMIT/ROLLBACK): remove it"
        cur.execute("RELEASE SAVEPOINT dbshift_object")
    return None


def _redact(dsn: str) -> str:
    """The DSN without its password, for messages."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        return dsn
    return re.sub(r"\bpassword\s*=\s*(?:'[^']*'|\S+)", "password=***", dsn)
