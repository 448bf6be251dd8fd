"""Storage of one emulated user database: a SQLite file holding the data AND its transaction log.

Every data change is a log record in table __dbshift_log (lsn, kind, payload), written in the same
SQLite transaction as the change, so data and log commit together. Records are replayable:
- "DDL":  {"sql": [statements]}            schema changes as SQLite SQL (from sqlite_master)
- "DML":  {"ops": [...]}                   row images, captured by per-table triggers:
          {"t": table, "del": [rowid, ...]} and {"t": table, "cols": [...], "rows": [[rowid, v...]]}
- "CKPT": {}                               the checkpoint a full backup writes
Row images (not statements) make replay exact even for NEWID()/GETDATE() defaults.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dbshift.estate.sqlserver.lsn import FIRST_LSN, next_block, next_slot

LOG = "__dbshift_log"
META = "__dbshift_meta"
CHANGES = "__dbshift_changes"
INTERNAL_PREFIX = "__dbshift_"

_INIT = f"""
CREATE TABLE IF NOT EXISTS {LOG} (lsn INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS {CHANGES} (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, rid INTEGER);
"""


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


DIVISOR_FUNCTION = "TSQL_DIVISOR"  # wraps every divisor of user SQL (query.Translator)


def _utcnow_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _checksum(*args: Any) -> int:
    return zlib.crc32(repr(args).encode()) - 2**31


_divide_by_zero = threading.local()


def _divisor(v: Any) -> Any:
    # SQL Server raises Msg 8134 (ARITHABORT/ANSI_WARNINGS are on by default) where SQLite's x / 0 is NULL.
    # sqlite3 reports only "user-defined function raised exception": the flag tells which function it was.
    if isinstance(v, int | float) and v == 0:
        _divide_by_zero.raised = True
        raise ZeroDivisionError
    return v


def took_divide_by_zero() -> bool:
    """True (once) when the last statement on this thread failed in TSQL_DIVISOR."""
    raised = getattr(_divide_by_zero, "raised", False)
    _divide_by_zero.raised = False
    return raised


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the T-SQL built-ins the translated SQL may call."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for name in ("UUID", "NEWID", "NEWSEQUENTIALID"):
        conn.create_function(name, 0, lambda: str(uuid.uuid4()).upper())
    for name in ("GETDATE", "GETUTCDATE", "SYSDATETIME", "SYSUTCDATETIME", "SYSDATETIMEOFFSET"):
        conn.create_function(name, 0, _utcnow_text)
    conn.create_function("CHECKSUM", -1, _checksum, deterministic=True)
    conn.create_function("BINARY_CHECKSUM", -1, _checksum, deterministic=True)
    conn.create_function(DIVISOR_FUNCTION, 1, _divisor, deterministic=True)
    return conn


def create_file(path: Path) -> None:
    """A new, empty database file (tmp + rename so that a crash leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".creating")
    tmp.unlink(missing_ok=True)
    conn = connect(tmp)
    conn.executescript(_INIT)
    conn.execute(f"INSERT INTO {META} VALUES ('next_lsn', ?)", (FIRST_LSN,))
    conn.close()
    os.replace(tmp, path)


def write_image(path: Path, image: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".restoring")
    tmp.write_bytes(image)
    os.replace(tmp, path)


def snapshot(conn: sqlite3.Connection) -> bytes:
    return conn.serialize()


def next_lsn(conn: sqlite3.Connection, schema: str = "main") -> int:
    row = conn.execute(f"SELECT value FROM {q(schema)}.{META} WHERE key = 'next_lsn'").fetchone()
    return int(row[0]) if row else FIRST_LSN


def set_next_lsn(conn: sqlite3.Connection, lsn: int, schema: str = "main") -> None:
    conn.execute(f"INSERT OR REPLACE INTO {q(schema)}.{META} VALUES ('next_lsn', ?)", (lsn,))


def append(conn: sqlite3.Connection, records: list[tuple[str, dict[str, Any]]], schema: str = "main") -> list[int]:
    """Write one statement's log records; they get consecutive slots of one log block."""
    if not records:
        return []
    lsn, lsns = next_lsn(conn, schema), []
    for kind, payload in records:
        conn.execute(f"INSERT INTO {q(schema)}.{LOG} VALUES (?, ?, ?)", (lsn, kind, json.dumps(payload)))
        lsns.append(lsn)
        lsn = next_slot(lsn)
    set_next_lsn(conn, next_block(lsns[-1]), schema)
    return lsns


def records_between(conn: sqlite3.Connection, first: int, last: int) -> list[list[Any]]:
    return [
        list(r)
        for r in conn.execute(
            f"SELECT lsn, kind, payload FROM {LOG} WHERE lsn >= ? AND lsn < ? ORDER BY lsn", (first, last)
        )
    ]


def truncate_log(conn: sqlite3.Connection, before: int) -> None:
    conn.execute(f"DELETE FROM {LOG} WHERE lsn < ?", (before,))


# -- change capture --------------------------------------------------------------------------------
def trigger_sql(table: str, schema: str | None = None) -> list[str]:
    pre = f"{q(schema)}." if schema else ""
    t = q(table)
    lit = "'" + table.replace("'", "''") + "'"
    ins = f"INSERT INTO {CHANGES}(tbl, rid) VALUES ({lit}, "
    return [
        f"CREATE TRIGGER IF NOT EXISTS {pre}{q('__dbshift_i_' + table)} AFTER INSERT ON {t} BEGIN {ins}NEW.rowid); END",
        f"CREATE TRIGGER IF NOT EXISTS {pre}{q('__dbshift_d_' + table)} AFTER DELETE ON {t} BEGIN {ins}OLD.rowid); END",
        f"CREATE TRIGGER IF NOT EXISTS {pre}{q('__dbshift_u_' + table)} AFTER UPDATE ON {t} "
        f"BEGIN {ins}OLD.rowid); {ins}NEW.rowid); END",
    ]


def table_ddl(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[str]:
    """CREATE TABLE (as SQLite stored it) plus the capture triggers, replayable on another file."""
    row = conn.execute(
        f"SELECT sql FROM {q(schema)}.sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return [row[0], *trigger_sql(table)] if row else []


def _encode(v: Any) -> Any:
    return {"$b": v.hex()} if isinstance(v, bytes) else v


def _decode(v: Any) -> Any:
    return bytes.fromhex(v["$b"]) if isinstance(v, dict) else v


def _rowid_alias(conn: sqlite3.Connection, table: str, schema: str) -> str | None:
    cols = conn.execute(f"PRAGMA {q(schema)}.table_info({q(table)})").fetchall()
    pks = [c for c in cols if c[5]]
    if len(pks) == 1 and str(pks[0][2]).upper() == "INTEGER":
        return str(pks[0][1])
    return None


def capture(conn: sqlite3.Connection, schema: str = "main") -> list[dict[str, Any]]:
    """Net row changes since the last capture, as replayable ops; clears the change table."""
    rows = conn.execute(f"SELECT tbl, rid FROM {q(schema)}.{CHANGES} ORDER BY seq").fetchall()
    if not rows:
        return []
    conn.execute(f"DELETE FROM {q(schema)}.{CHANGES}")
    touched: dict[str, dict[int, None]] = {}
    for tbl, rid in rows:
        touched.setdefault(tbl, {})[rid] = None
    ops: list[dict[str, Any]] = []
    for tbl, rids in touched.items():
        exists = conn.execute(
            f"SELECT 1 FROM {q(schema)}.sqlite_master WHERE type='table' AND name=?", (tbl,)
        ).fetchone()
        if not exists:
            continue
        present: dict[int, list[Any]] = {}
        cols: list[str] = []
        ids = list(rids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            cur = conn.execute(
                f"SELECT rowid AS __rid, * FROM {q(schema)}.{q(tbl)} WHERE rowid IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            cols = [d[0] for d in cur.description][1:]
            for r in cur:
                present[r[0]] = [_encode(v) for v in r]
        gone = [r for r in ids if r not in present]
        if gone:
            ops.append({"t": tbl, "del": gone})
        if present:
            ops.append({"t": tbl, "cols": cols, "rows": list(present.values())})
    return ops


def replay(conn: sqlite3.Connection, records: list[list[Any]]) -> None:
    """Apply log records (lsn, kind, payload) and keep them in this file's own log."""
    for lsn, kind, payload in records:
        body = json.loads(payload) if isinstance(payload, str) else payload
        if kind == "DDL":
            for stmt in body["sql"]:
                conn.execute(stmt)
        elif kind == "DML":
            for op in body["ops"]:
                t = q(op["t"])
                if "del" in op:
                    conn.executemany(f"DELETE FROM {t} WHERE rowid = ?", [(r,) for r in op["del"]])
                else:
                    alias = _rowid_alias(conn, op["t"], "main")
                    cols = [q(c) for c in op["cols"]]
                    if alias is None:
                        names, rows = ["rowid", *cols], [[_decode(v) for v in r] for r in op["rows"]]
                    else:
                        names, rows = cols, [[_decode(v) for v in r[1:]] for r in op["rows"]]
                    ph = ",".join("?" * len(names))
                    conn.executemany(f"INSERT OR REPLACE INTO {t} ({','.join(names)}) VALUES ({ph})", rows)
        conn.execute(f"INSERT OR IGNORE INTO {LOG} VALUES (?, ?, ?)", (lsn, kind, json.dumps(body)))
    conn.execute(f"DELETE FROM {CHANGES}")


def user_tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            f"SELECT name FROM {q(schema)}.sqlite_master WHERE type='table' "
            f"AND name NOT LIKE '{INTERNAL_PREFIX}%' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
