"""Schema objects of an emulated user database: tables' metadata, constraints, indexes, sequences, schemas
and modules (views, procedures, functions, triggers). Part of the SQL Server EMULATOR, not SQL Server.

SQL Server keeps this metadata inside the database, so the emulator does too: two internal tables in the
database's SQLite file (__dbshift_objects, __dbshift_schemas), changed only through DDL log records, so a
BACKUP/RESTORE or a log restore carries them like the data. The catalog views (catalogviews.py) read them.

What is modelled, and what is EMULATOR-ONLY behaviour:
- Modules are STORED, NOT EXECUTED: CREATE VIEW/PROCEDURE/FUNCTION/TRIGGER must be the first statement of
  its batch (error 111 otherwise) and takes the rest of the batch, and sys.sql_modules.definition holds the
  whole batch as SQL Server stores it (comments before and after included; ALTER stored as CREATE; the words
  OR ALTER of CREATE OR ALTER removed). The body is not checked, compiled or run: EXEC of a stored procedure
  still says 2812, SELECT from a view says 208, triggers never fire.
- Tables: the data side is unchanged (SQLite tables, see query.py); when the T-SQL translation cannot build a
  table (IDENTITY on a column that is not the key, named DEFAULTs, computed columns, ROWGUIDCOL, ...) the
  emulator builds it from the parsed columns with PRIMARY KEY/UNIQUE enforced and DEFAULT/CHECK/FOREIGN KEY
  recorded only. Constraints added by ALTER TABLE: PRIMARY KEY/UNIQUE are enforced with a unique index;
  FOREIGN KEY, CHECK and DEFAULT are recorded in the catalog, not enforced.
- Indexes are recorded (key and included columns, filter) and built in SQLite on the key columns.
- A table created in a schema no CREATE SCHEMA made gets that schema implicitly (SQL Server raises 2760).
- Names resolve to dbo when unqualified (every login's default schema is dbo here).
"""

from __future__ import annotations

import json
import re
import sqlite3
import zlib
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from dbshift.estate.sqlserver import ddlparse, messages, userdb
from dbshift.estate.sqlserver.ddlparse import ColumnSpec, ConstraintSpec, Cursor
from dbshift.estate.sqlserver.lexer import Token
from dbshift.estate.sqlserver.model import SqlError, sql_error

if TYPE_CHECKING:
    from dbshift.estate.sqlserver.batch import Session

OBJECTS = "__dbshift_objects"
SCHEMAS = "__dbshift_schemas"
_ENSURE = [
    f"CREATE TABLE IF NOT EXISTS {OBJECTS} (object_id INTEGER PRIMARY KEY, schema_id INTEGER NOT NULL, "
    "name TEXT NOT NULL, type TEXT NOT NULL, parent_object_id INTEGER NOT NULL DEFAULT 0, create_date TEXT NOT NULL, "
    "modify_date TEXT NOT NULL, definition TEXT, meta TEXT NOT NULL DEFAULT '{}')",
    f"CREATE TABLE IF NOT EXISTS {SCHEMAS} (schema_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE)",
]
# Schemas every database has (sys.schemas), with their documented ids.
BUILTIN_SCHEMAS = {1: "dbo", 2: "guest", 3: "INFORMATION_SCHEMA", 4: "sys"}
ROLE_SCHEMAS = {
    16384: "db_owner",
    16385: "db_accessadmin",
    16386: "db_securityadmin",
    16387: "db_ddladmin",
    16389: "db_backupoperator",
    16390: "db_datareader",
    16391: "db_datawriter",
    16392: "db_denydatareader",
    16393: "db_denydatawriter",
}
FIRST_OBJECT_ID = 581577110  # SQL Server's user object ids are large; any positive int is valid
MODULE_TYPES = {"V", "P", "FN", "IF", "TF", "TR"}
_MODULE_KINDS = {"VIEW", "PROC", "PROCEDURE", "FUNCTION", "TRIGGER"}


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def lit(v: Any) -> str:
    """A value as a SQLite literal (DDL log records are SQL text, replayed as is)."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def sqlite_table_name(schema: str, name: str) -> str:
    """The one name rule of query.py: dbo.T → "T", S.T → "S.T"."""
    return name if schema.lower() == "dbo" else f"{schema}.{name}"


# ------------------------------------------------------------------------------------------------- store


class Store:
    """A read of one database's schema metadata (connection schema `alias`: main or an attached database)."""

    def __init__(self, conn: sqlite3.Connection, alias: str = "main") -> None:
        self.conn, self.alias = conn, alias
        pre = userdb.q(alias)
        have = {
            r[0]
            for r in conn.execute(
                f"SELECT name FROM {pre}.sqlite_master WHERE type = 'table' AND name IN (?, ?)", (OBJECTS, SCHEMAS)
            )
        }
        self.objects: list[dict[str, Any]] = []
        self.user_schemas: dict[int, str] = {}
        if OBJECTS in have:
            cur = conn.execute(f"SELECT * FROM {pre}.{OBJECTS} ORDER BY object_id")
            names = [d[0] for d in cur.description]
            for r in cur:
                row = dict(zip(names, r, strict=True))
                row["meta"] = json.loads(row["meta"] or "{}")
                self.objects.append(row)
        if SCHEMAS in have:
            self.user_schemas = dict(conn.execute(f"SELECT schema_id, name FROM {pre}.{SCHEMAS} ORDER BY schema_id"))

    def schemas(self) -> dict[int, str]:
        return {**BUILTIN_SCHEMAS, **self.user_schemas, **ROLE_SCHEMAS}

    def schema_id(self, name: str) -> int | None:
        for sid, sname in self.schemas().items():
            if sname.lower() == name.lower():
                return sid
        return None

    def next_schema_id(self) -> int:
        return max([4, *self.user_schemas]) + 1

    def next_object_id(self, taken: int = 0) -> int:
        return max([FIRST_OBJECT_ID, *(o["object_id"] for o in self.objects)]) + 16 * (taken + 1)

    def find(self, schema: str, name: str, types: set[str] | None = None) -> dict[str, Any] | None:
        """A schema-scoped object (tables, views, modules, constraints, sequences share one namespace)."""
        sid = self.schema_id(schema)
        for o in self.objects:
            same = o["schema_id"] == sid and o["name"].lower() == name.lower()
            if same and (o["type"] in types if types is not None else o["type"] not in ("$IX", "$TY")):
                return o
        return None

    def children(self, object_id: int) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["parent_object_id"] == object_id]

    def sqlite_tables(self) -> list[str]:
        return userdb.user_tables(self.conn, self.alias)

    def table_exists(self, schema: str, name: str) -> bool:
        want = sqlite_table_name(schema, name).lower()
        return any(t.lower() == want for t in self.sqlite_tables()) or self.find(schema, name, {"U"}) is not None


def insert_sql(row: dict[str, Any]) -> str:
    meta = json.dumps(row.get("meta") or {}, sort_keys=True)
    values = [
        row["object_id"],
        row["schema_id"],
        row["name"],
        row["type"],
        row.get("parent_object_id", 0),
        row["create_date"],
        row.get("modify_date") or row["create_date"],
        row.get("definition"),
        meta,
    ]
    return f"INSERT OR REPLACE INTO {OBJECTS} VALUES ({', '.join(lit(v) for v in values)})"


def apply(session: Session, stmts: list[str]) -> None:
    """Run DDL on the session's database and log it as one DDL record (replayed by RESTORE LOG)."""
    stmts = [*_ENSURE, *stmts]
    conn = session.connection()

    def run() -> int:
        for s in stmts:
            conn.execute(s)
        userdb.append(conn, [("DDL", {"sql": stmts})], "main")
        return 0

    session.write(run, [])


def _system_name(prefix: str, table: str, column: str | None, salt: int) -> str:
    """SQL Server's names for unnamed constraints: PK__Orders__3214EC07A1B2C3D4, DF__Orders__Qty__5EBF139D."""
    prefix = {"D": "DF", "F": "FK", "C": "CK"}.get(prefix, prefix)
    h = zlib.crc32(f"{table}|{column}|{salt}".encode())
    if prefix in ("PK", "UQ"):
        return f"{prefix}__{table[:16]}__{h:08X}{zlib.crc32(str(salt).encode()):08X}"
    return f"{prefix}__{table[:9]}__{(column or '')[:5]}__{h:08X}".replace("____", "__")


def _ensure_schema_sql(store: Store, schema: str) -> tuple[int, list[str]]:
    sid = store.schema_id(schema)
    if sid is not None:
        return sid, []
    sid = store.next_schema_id()
    store.user_schemas[sid] = schema  # so that a second lookup in the same statement finds it
    return sid, [f"INSERT INTO {SCHEMAS} VALUES ({sid}, {lit(schema)})"]


# ------------------------------------------------------------------------------------------------ tables


def columns_from_sqlite(store: Store, schema: str, name: str) -> list[dict[str, Any]]:
    """Metadata for a table the parser could not read: what SQLite declares."""
    info = store.conn.execute(
        f"PRAGMA {userdb.q(store.alias)}.table_info({userdb.q(sqlite_table_name(schema, name))})"
    ).fetchall()
    cols = []
    for _cid, cname, decl, notnull, _default, pk in info:
        spec = ColumnSpec(str(cname))
        m = re.match(r'^"?\s*([A-Za-z0-9_]+)\s*(?:\(([^)]*)\))?', str(decl or "sql_variant"))
        spec.type_name = (m.group(1) if m else "sql_variant").lower()
        spec.args = [a.strip().lower() for a in (m.group(2) or "").split(",") if a.strip()] if m else []
        if spec.type_name in ("integer",):
            spec.type_name = "int"
        spec.nullable = not (notnull or pk)
        cols.append(asdict(spec))
    return cols


def constraint_rows(
    store: Store, table: dict[str, Any], specs: list[ConstraintSpec], taken: int, when: str, trusted: bool = True
) -> list[dict[str, Any]]:
    """Catalog rows for constraints of `table` (object ids after `taken` ids already handed out)."""
    rows = []
    indexes = [o for o in store.children(table["object_id"]) if o["type"] in ("PK", "UQ", "$IX")]
    used_ids = [o["meta"].get("index_id", 0) for o in indexes]
    has_clustered = any(o["meta"].get("clustered") for o in indexes)
    columns = {c["name"].lower() for c in table["meta"].get("columns", [])}
    defaults = {(o["meta"].get("column") or "").lower() for o in store.children(table["object_id"]) if o["type"] == "D"}
    for spec in specs:
        object_id = store.next_object_id(taken + len(rows))
        for col, _desc in spec.columns:
            if col.lower() not in columns and columns:
                raise sql_error(1911, f"Column name '{col}' does not exist in the target table or view.")
        name = spec.name or _system_name(spec.kind, table["name"], spec.column, object_id)
        if store.find(store.schemas()[table["schema_id"]], name) is not None or any(
            r["name"].lower() == name.lower() for r in rows
        ):
            raise sql_error(2714, f"There is already an object named '{name}' in the database.")
        meta: dict[str, Any] = {"system_named": spec.name is None}
        if spec.kind in ("PK", "UQ"):
            clustered = spec.clustered if spec.clustered is not None else (spec.kind == "PK" and not has_clustered)
            if clustered and has_clustered:
                raise sql_error(
                    1902,
                    f"Cannot create more than one clustered index on table '{table['name']}'. Drop the existing "
                    "clustered index before creating another.",
                )
            has_clustered |= clustered
            index_id = 1 if clustered else max([1, *used_ids]) + 1
            used_ids.append(index_id)
            meta |= {"columns": spec.columns, "clustered": clustered, "index_id": index_id}
        elif spec.kind == "F":
            meta |= {
                "columns": [c for c, _ in spec.columns],
                "ref_schema": spec.ref_schema,
                "ref_table": spec.ref_table,
                "ref_columns": spec.ref_columns,
                "on_delete": spec.on_delete,
                "on_update": spec.on_update,
                "not_for_replication": spec.not_for_replication,
                "not_trusted": not trusted,
            }
        elif spec.kind == "C":
            meta |= {"column": spec.column, "not_for_replication": spec.not_for_replication, "not_trusted": not trusted}
        elif spec.kind == "D":
            if not spec.column:
                raise messages.syntax("DEFAULT")
            if spec.column.lower() in defaults:
                raise sql_error(1781, "Column already has a DEFAULT bound to it.")
            if columns and spec.column.lower() not in columns:
                raise sql_error(1911, f"Column name '{spec.column}' does not exist in the target table or view.")
            defaults.add(spec.column.lower())
            meta |= {"column": spec.column}
        rows.append(
            {
                "object_id": object_id,
                "schema_id": table["schema_id"],
                "name": name,
                "type": spec.kind,
                "parent_object_id": table["object_id"],
                "create_date": when,
                "definition": normalise_definition(spec.definition) if spec.definition else None,
                "meta": meta,
            }
        )
    return rows


def parenthesised(text: str) -> str:
    """One pair of parentheses around an expression, however many it was written with: ((a>1)) → (a>1)."""
    core = text.strip()
    while core.startswith("(") and core.endswith(")") and _balanced(core[1:-1]):
        core = core[1:-1].strip()
    return f"({core})"


def normalise_definition(text: str) -> str:
    """SQL Server keeps DEFAULT/CHECK expressions in parentheses, a bare constant in two: 0 → ((0)).

    (An approximation of SQL Server's normalised text: spacing and bracketing of names are kept as written.)"""
    core = text.strip()
    while core.startswith("(") and core.endswith(")") and _balanced(core[1:-1]):
        core = core[1:-1].strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", core):
        return f"(({core}))"
    return f"({core})"


def _balanced(text: str) -> bool:
    depth = 0
    for ch in re.sub(r"'(?:[^']|'')*'", "''", text):
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def _sqlite_expr(text: str) -> str | None:
    try:
        return sqlglot.transpile(text, read="tsql", write="sqlite")[0]
    except Exception:  # sqlglot raises several error types; the caller just leaves the expression out
        return None


def fallback_table_sql(schema: str, name: str, cols: list[ColumnSpec], specs: list[ConstraintSpec]) -> str:
    """A SQLite table for a T-SQL table the sqlglot translation cannot build: declared types kept, keys enforced."""
    pk = next((s for s in specs if s.kind == "PK"), None)
    pk_cols = [c.lower() for c, _ in pk.columns] if pk else []
    parts = []
    for col in cols:
        if col.computed is not None:
            continue  # EMULATOR-ONLY: computed columns are recorded, not stored
        decl = col.type_name.upper() + (f"({', '.join(col.args)})" if col.args else "")
        piece = f"{userdb.q(col.name)} {userdb.q(decl)}"
        if col.identity is not None and pk_cols == [col.name.lower()]:
            piece = f"{userdb.q(col.name)} INTEGER PRIMARY KEY AUTOINCREMENT"
        elif col.nullable is False or col.name.lower() in pk_cols:
            piece += " NOT NULL"
        default = next((s for s in specs if s.kind == "D" and (s.column or "").lower() == col.name.lower()), None)
        if default is not None and default.definition:
            expr = _sqlite_expr(default.definition)
            if expr is not None:
                piece += f" DEFAULT ({expr})"
        parts.append(piece)
    if pk is not None and not any(c.identity and pk_cols == [c.name.lower()] for c in cols):
        parts.append(f"PRIMARY KEY ({', '.join(userdb.q(c) for c, _ in pk.columns)})")
    for s in specs:
        if s.kind == "UQ":
            parts.append(f"UNIQUE ({', '.join(userdb.q(c) for c, _ in s.columns)})")
    return f"CREATE TABLE {userdb.q(sqlite_table_name(schema, name))} ({', '.join(parts)})"


def _other_database(session: Session, toks: list[Token], at: int) -> bool:
    """Is the name at toks[at] 3-part in another database? (Such tables keep to the T-SQL translation.)"""
    parts = Cursor(toks, "", at).multipart()
    return len(parts) >= 3 and parts[-3] != "" and parts[-3].lower() != session.db.lower()


def create_table(session: Session, toks: list[Token], text: str, run_translated: Any) -> None:
    """CREATE TABLE: the data table (translated, else built from the parse) plus its catalog rows."""
    if _other_database(session, toks, 2):
        run_translated()
        return
    store = Store(session.connection())
    try:
        schema, name, cols, specs = ddlparse.parse_create_table(toks, text)
    except SqlError:  # the T-SQL translation may still accept it: the catalog then records what SQLite has
        schema = name = ""
        cols, specs = [], []
    when = now_text()
    rows: list[dict[str, Any]] = []
    stmts: list[str] = []
    if name:  # everything the catalog checks is checked before the table exists, so a failure leaves nothing
        if store.table_exists(schema, name) or store.find(schema, name) is not None:
            raise sql_error(2714, f"There is already an object named '{name}' in the database.")
        sid, stmts = _ensure_schema_sql(store, schema)
        table = _new_table_row(store, sid, name, [asdict(c) for c in cols], when)
        rows = [table, *constraint_rows(store, table, specs, 1, when)]
    try:
        run_translated()
    except SqlError as e:
        if not name or e.number not in (102, 50000):
            raise
        fallback = fallback_table_sql(schema, name, cols, specs)
        stmts = [fallback, *userdb.trigger_sql(sqlite_table_name(schema, name)), *stmts]
    if not name:
        parts = toks[2:]
        names = [t.name for t in parts[: next((i for i, t in enumerate(parts) if t.text == "("), len(parts))]]
        names = [n for n in names if n != "."]
        if not names:
            return
        schema, name = ddlparse.schema_name(names)
        store = Store(session.connection())
        sid, stmts = _ensure_schema_sql(store, schema)
        rows = [_new_table_row(store, sid, name, columns_from_sqlite(store, schema, name), when)]
    apply(session, [*stmts, *(insert_sql(r) for r in rows)])


def _new_table_row(store: Store, schema_id: int, name: str, columns: list[dict[str, Any]], when: str) -> dict:
    return {
        "object_id": store.next_object_id(),
        "schema_id": schema_id,
        "name": name,
        "type": "U",
        "parent_object_id": 0,
        "create_date": when,
        "meta": {"columns": columns},
    }


def _table_row(store: Store, schema: str, name: str, error: SqlError) -> dict[str, Any]:
    row = store.find(schema, name, {"U"})
    if row is not None:
        return row
    if store.table_exists(schema, name):  # a table from before the catalog existed: give it its row now
        return {
            "object_id": store.next_object_id(),
            "schema_id": store.schema_id(schema) or 1,
            "name": name,
            "type": "U",
            "parent_object_id": 0,
            "create_date": now_text(),
            "meta": {"columns": columns_from_sqlite(store, schema, name)},
            "new": True,
        }
    raise error


def _unique_index_sql(schema: str, table: str, index_name: str, cols: list[tuple[str, bool]], unique: bool) -> str:
    kind = "UNIQUE INDEX" if unique else "INDEX"
    return (
        f"CREATE {kind} {userdb.q('__dbshift_ix_' + sqlite_table_name(schema, table) + '_' + index_name)} "
        f"ON {userdb.q(sqlite_table_name(schema, table))} ({', '.join(userdb.q(c) for c, _ in cols)})"
    )


def alter_table(session: Session, toks: list[Token], text: str, run_translated: Any) -> None:
    """ALTER TABLE t [WITH CHECK|NOCHECK] ADD constraint(s) / ADD column(s) / DROP CONSTRAINT / [NO]CHECK
    CONSTRAINT; anything else goes to the T-SQL translation unchanged."""
    if _other_database(session, toks, 2):
        run_translated()
        return
    c = Cursor(toks, text)
    c.expect("ALTER")
    c.expect("TABLE")
    schema, name = ddlparse.schema_name(c.multipart())
    store = Store(session.connection())
    missing = sql_error(
        4902, f'Cannot find the object "{schema}.{name}" because it does not exist or you do not have permissions.'
    )
    trusted = True
    if c.kw("WITH"):
        trusted = c.expect("CHECK", "NOCHECK") == "CHECK"
    start = c.i
    if c.kw("ADD"):
        is_constraint = c.peek() is not None and c.peek().is_kw(  # type: ignore[union-attr]
            "CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "DEFAULT"
        )
        table = _table_row(store, schema, name, missing)
        when = now_text()
        if is_constraint:
            specs = []
            while True:
                cname = c.ident() if c.kw("CONSTRAINT") else None
                specs.append(ddlparse.parse_constraint(c, cname, None))
                if not c.op(","):
                    break
            if not c.at_end():
                raise messages.syntax(c.next().text)
            rows = constraint_rows(store, table, specs, 1 if table.get("new") else 0, when, trusted)
            for r in rows:
                if r["type"] == "D":  # SQLite cannot add a default to a table: INSERTs get it (apply_defaults)
                    r["meta"]["by_alter"] = True
            stmts = [
                _unique_index_sql(schema, name, r["name"], r["meta"]["columns"], True)
                for r in rows
                if r["type"] in ("PK", "UQ")
            ]
            if table.pop("new", False):
                rows.insert(0, table)
            apply(session, [*stmts, *(insert_sql(r) for r in rows)])
            return
        run_translated()  # ADD column(s): the data table first
        c.i = start + 1
        new_cols: list[ColumnSpec] = []
        specs: list[ConstraintSpec] = []
        try:
            while True:
                new_cols.append(ddlparse.parse_column(c, specs))
                if not c.op(","):
                    break
        except SqlError:
            new_cols, specs = [], []
        store = Store(session.connection())
        table = _table_row(store, schema, name, missing)
        table.pop("new", None)
        known = {col["name"].lower() for col in table["meta"]["columns"]}
        table["meta"]["columns"] += [asdict(col) for col in new_cols if col.name.lower() not in known]
        table["modify_date"] = when
        rows = [table, *constraint_rows(store, table, specs, 0, when)]
        apply(session, [insert_sql(r) for r in rows])
        return
    if c.kw("DROP"):
        if c.kw("CONSTRAINT"):
            c.kw("IF") and c.expect("EXISTS")
            table = _table_row(store, schema, name, missing)
            stmts = []
            for item in ddlparse.ddl_names(c):
                row = next((o for o in store.children(table["object_id"]) if o["name"].lower() == item.lower()), None)
                if row is None:
                    raise sql_error(
                        3728,
                        f"'{item}' is not a constraint.",
                        16,
                        1,
                    )
                stmts.append(f"DELETE FROM {OBJECTS} WHERE object_id = {row['object_id']}")
                if row["type"] in ("PK", "UQ"):
                    ix = "__dbshift_ix_" + sqlite_table_name(schema, name) + "_" + row["name"]
                    stmts.append(f"DROP INDEX IF EXISTS {userdb.q(ix)}")
            apply(session, stmts)
            return
        run_translated()
        _refresh_columns(session, schema, name)
        return
    if (
        c.peek() is not None
        and c.peek().is_kw("CHECK", "NOCHECK")
        and c.peek(1) is not None
        and c.peek(1).is_kw(  # type: ignore[union-attr]
            "CONSTRAINT"
        )
    ):
        enable = c.next().value == "CHECK"
        c.expect("CONSTRAINT")
        table = _table_row(store, schema, name, missing)
        targets = ddlparse.ddl_names(c)
        stmts = []
        for o in store.children(table["object_id"]):
            every = [t.upper() for t in targets] == ["ALL"]
            if o["type"] in ("F", "C") and (every or o["name"].lower() in {t.lower() for t in targets}):
                o["meta"]["disabled"] = not enable
                if enable and not trusted:
                    o["meta"]["not_trusted"] = True
                if enable and trusted:
                    o["meta"]["not_trusted"] = False
                if not enable:
                    o["meta"]["not_trusted"] = True
                stmts.append(insert_sql(o))
        apply(session, stmts)
        return
    run_translated()
    _refresh_columns(session, schema, name)


def _refresh_columns(session: Session, schema: str, name: str) -> None:
    """After an ALTER the catalog cannot read (DROP COLUMN, ALTER COLUMN): columns as SQLite now declares them,
    keeping identity/computed/collation details of the columns still there."""
    store = Store(session.connection())
    row = store.find(schema, name, {"U"})
    if row is None:
        return
    current = {c["name"].lower(): c for c in row["meta"].get("columns", [])}
    fresh = columns_from_sqlite(store, schema, name)
    row["meta"]["columns"] = [current.get(c["name"].lower(), c) for c in fresh]
    row["modify_date"] = now_text()
    apply(session, [insert_sql(row)])


def drop_table_rows(session: Session, names: list[tuple[str, str]]) -> None:
    """After DROP TABLE: the table's catalog rows and everything that belongs to it (constraints, indexes,
    triggers) go too, as in SQL Server."""
    store = Store(session.connection())
    ids = []
    for schema, name in names:
        row = store.find(schema, name, {"U"})
        if row is not None:
            ids.append(row["object_id"])
            ids.extend(o["object_id"] for o in store.children(row["object_id"]))
    if ids:
        apply(session, [f"DELETE FROM {OBJECTS} WHERE object_id IN ({', '.join(map(str, ids))})"])


# --------------------------------------------------------------------------------- indexes, sequences, schemas


def create_index(session: Session, toks: list[Token], text: str) -> None:
    spec = ddlparse.parse_index(toks, text)
    store = Store(session.connection())
    table = _table_row(
        store,
        spec.schema,
        spec.table,
        sql_error(
            1088,
            f'Cannot find the object "{spec.schema}.{spec.table}" because it does not exist or you do not have '
            "permissions.",
        ),
    )
    if any(o["name"].lower() == spec.name.lower() for o in store.children(table["object_id"]) if o["type"] != "D"):
        raise sql_error(
            1913,
            f"The operation failed because an index or statistics with name '{spec.name}' already exists on table "
            f"'{spec.schema}.{spec.table}'.",
        )
    kids = store.children(table["object_id"])
    if spec.clustered and any(o["meta"].get("clustered") for o in kids):
        raise sql_error(
            1902,
            f"Cannot create more than one clustered index on table '{spec.schema}.{spec.table}'. Drop the existing "
            "clustered index before creating another.",
        )
    columns = {c["name"].lower() for c in table["meta"].get("columns", [])}
    for col in [c for c, _ in spec.columns] + spec.include:
        if columns and col.lower() not in columns:
            raise sql_error(1911, f"Column name '{col}' does not exist in the target table or view.")
    used = [o["meta"].get("index_id", 0) for o in kids]
    index_id = 1 if spec.clustered else max([1, *used]) + 1
    rows = []
    if table.pop("new", False):
        rows.append(table)
    rows.append(
        {
            "object_id": store.next_object_id(len(rows)),
            "schema_id": table["schema_id"],
            "name": spec.name,
            "type": "$IX",  # internal: indexes are not objects (sys.indexes, not sys.objects)
            "parent_object_id": table["object_id"],
            "create_date": now_text(),
            "meta": {
                "index_id": index_id,
                "unique": spec.unique,
                "clustered": spec.clustered,
                "columns": spec.columns,
                "include": spec.include,
                "filter": parenthesised(spec.filter) if spec.filter else None,
            },
        }
    )
    sql = _unique_index_sql(spec.schema, spec.table, spec.name, spec.columns, spec.unique)
    if spec.filter:
        where = _sqlite_expr(spec.filter)
        sql = f"{sql} WHERE {where}" if where else ("" if spec.unique else sql)
    apply(session, [s for s in [sql] if s] + [insert_sql(r) for r in rows])


def create_sequence(session: Session, toks: list[Token], text: str) -> None:
    spec = ddlparse.parse_sequence(toks, text)
    store = Store(session.connection())
    if store.find(spec.schema, spec.name) is not None or store.table_exists(spec.schema, spec.name):
        raise sql_error(2714, f"There is already an object named '{spec.name}' in the database.")
    sid, stmts = _ensure_schema_sql(store, spec.schema)
    row = {
        "object_id": store.next_object_id(),
        "schema_id": sid,
        "name": spec.name,
        "type": "SO",
        "create_date": now_text(),
        "meta": asdict(spec),
    }
    apply(session, [*stmts, insert_sql(row)])


def create_type(session: Session, toks: list[Token], text: str) -> None:
    """CREATE TYPE [schema.]name FROM base_type [(n[, m])] [NULL | NOT NULL]: an alias type (sys.types)."""
    c = Cursor(toks, text)
    c.expect("CREATE")
    c.expect("TYPE")
    schema, name = ddlparse.schema_name(c.multipart())
    if not c.kw("FROM"):
        raise sql_error(
            50000, "dbshift SQL Server emulator: only alias types (CREATE TYPE ... FROM base_type) are supported."
        )
    base = ColumnSpec(name)
    ddlparse.parse_type(c, base)
    nullable = True
    if c.kw("NOT"):
        c.expect("NULL")
        nullable = False
    else:
        c.kw("NULL")
    if not c.at_end():
        raise messages.syntax(c.next().text)
    store = Store(session.connection())
    if any(
        o["type"] == "$TY" and o["name"].lower() == name.lower() and o["schema_id"] == store.schema_id(schema)
        for o in store.objects
    ):
        raise sql_error(219, f"The type '{schema}.{name}' already exists, or you do not have permission to create it.")
    sid, stmts = _ensure_schema_sql(store, schema)
    uid = max([256, *(o["meta"]["user_type_id"] for o in store.objects if o["type"] == "$TY")]) + 1
    row = {
        "object_id": store.next_object_id(),  # internal only: types are not objects
        "schema_id": sid,
        "name": name,
        "type": "$TY",
        "create_date": now_text(),
        "meta": {"base": base.type_name, "args": base.args, "nullable": nullable, "user_type_id": uid},
    }
    apply(session, [*stmts, insert_sql(row)])


def create_schema(session: Session, toks: list[Token], text: str) -> None:
    c = Cursor(toks, text)
    c.expect("CREATE")
    c.expect("SCHEMA")
    name = c.ident()
    if c.kw("AUTHORIZATION"):
        c.ident()
    if not c.at_end():
        raise sql_error(
            50000,
            "dbshift SQL Server emulator: CREATE SCHEMA with schema elements is not supported; create the objects "
            "in statements of their own.",
        )
    store = Store(session.connection())
    if store.schema_id(name) is not None:
        raise sql_error(2714, f"There is already an object named '{name}' in the database.")
    apply(session, [f"INSERT INTO {SCHEMAS} VALUES ({store.next_schema_id()}, {lit(name)})"])


# ------------------------------------------------------------------------------------------------- modules


def is_module_batch(toks: list[Token]) -> bool:
    """CREATE [OR ALTER] / ALTER VIEW|PROC|PROCEDURE|FUNCTION|TRIGGER: the statement is the whole batch."""
    return module_kind(toks) is not None


def module_kind(toks: list[Token]) -> tuple[str, int] | None:
    """(kind keyword, index of the name's first token) of a module's CREATE/ALTER, else None."""
    if not toks or not toks[0].is_kw("CREATE", "ALTER"):
        return None
    i = 1
    if toks[0].is_kw("CREATE") and len(toks) > 2 and toks[1].is_kw("OR") and toks[2].is_kw("ALTER"):
        i = 3
    if len(toks) > i and toks[i].is_kw(*_MODULE_KINDS):
        return toks[i].value, i + 1
    return None


def module_definition(toks: list[Token], text: str) -> str:
    """The text SQL Server stores: the whole batch; ALTER becomes CREATE, CREATE OR ALTER loses OR ALTER."""
    first = toks[0]
    if first.is_kw("ALTER"):
        return text[: first.start] + "CREATE" + text[first.end :]
    if len(toks) > 2 and toks[1].is_kw("OR") and toks[2].is_kw("ALTER"):
        return text[: toks[1].start] + text[toks[1].end : toks[2].start] + text[toks[2].end :]
    return text


def _function_type(c: Cursor) -> str:
    """FN scalar, IF inline table-valued (RETURNS TABLE), TF multi-statement (RETURNS @t TABLE)."""
    depth = 0
    while not c.at_end():
        t = c.next()
        if t.kind == "op" and t.text == "(":
            depth += 1
        elif t.kind == "op" and t.text == ")":
            depth -= 1
        elif depth == 0 and t.is_kw("RETURNS"):
            nxt = c.peek()
            if nxt is not None and nxt.is_kw("TABLE"):
                return "IF"
            if nxt is not None and nxt.kind == "var":
                return "TF"
            return "FN"
    raise messages.syntax("RETURNS")


_TYPE_WORD = {"V": "VIEW", "P": "PROCEDURE", "FN": "FUNCTION", "IF": "FUNCTION", "TF": "FUNCTION", "TR": "TRIGGER"}


def create_module(session: Session, toks: list[Token], text: str) -> None:
    """CREATE/ALTER/CREATE OR ALTER of a view, procedure, function or trigger: stored, not executed."""
    kind, at = module_kind(toks) or ("", 0)
    c = Cursor(toks, text, at)
    parts = c.multipart()
    name_parts = len(parts)
    schema, name = ddlparse.schema_name(parts)
    store = Store(session.connection())
    typ, parent_id, meta = {"VIEW": "V", "PROC": "P", "PROCEDURE": "P", "TRIGGER": "TR"}.get(kind, ""), 0, {}
    if kind == "FUNCTION":
        typ = _function_type(c)
    if c.peek() is not None and c.peek().is_kw("ON") and kind == "TRIGGER":  # type: ignore[union-attr]
        c.next()
        if c.peek() is not None and c.peek().is_kw("DATABASE", "ALL"):  # type: ignore[union-attr]
            raise sql_error(
                50000, "dbshift SQL Server emulator: DDL triggers (ON DATABASE / ALL SERVER) are not supported."
            )
        tschema, tname = ddlparse.schema_name(c.multipart())
        target = store.find(tschema, tname, {"U", "V"})
        if target is None and store.table_exists(tschema, tname):
            target = _table_row(store, tschema, tname, messages.invalid_object(tname))
        if target is None:
            raise sql_error(8197, f"The object '{tschema}.{tname}' does not exist or is invalid for this operation.")
        if name_parts == 1:
            schema = tschema  # a DML trigger lives in its table's schema
        elif schema.lower() != tschema.lower():
            raise sql_error(2108, "Cannot create trigger on table in a different schema than the trigger's own schema.")
        parent_id = target["object_id"]
        meta = {"instead_of": any(t.is_kw("INSTEAD") for t in toks[c.i :][:4]), "disabled": False}
        pending = [target] if target.pop("new", False) else []
    else:
        pending = []
    existing = store.find(schema, name)
    creating = toks[0].is_kw("CREATE") and not (len(toks) > 2 and toks[1].is_kw("OR"))
    altering = toks[0].is_kw("ALTER")
    if existing is not None and (creating or existing["type"] not in MODULE_TYPES):
        raise sql_error(2714, f"There is already an object named '{name}' in the database.")
    if existing is None and altering:
        raise messages.invalid_object(name)
    if existing is not None and _TYPE_WORD.get(existing["type"]) != _TYPE_WORD.get(typ):
        raise sql_error(
            2010,
            f"Cannot perform alter on '{name}' because it is an incompatible object type.",
        )
    sid, stmts = _ensure_schema_sql(store, schema)
    when = now_text()
    row = {
        "object_id": existing["object_id"] if existing else store.next_object_id(len(pending)),
        "schema_id": sid,
        "name": name,
        "type": typ,
        "parent_object_id": parent_id,
        "create_date": existing["create_date"] if existing else when,
        "modify_date": when,
        "definition": module_definition(toks, text),
        "meta": meta,
    }
    apply(session, [*stmts, *(insert_sql(p) for p in pending), insert_sql(row)])


_DROP_TYPES = {
    "VIEW": {"V"},
    "PROC": {"P"},
    "PROCEDURE": {"P"},
    "FUNCTION": {"FN", "IF", "TF"},
    "TRIGGER": {"TR"},
    "SEQUENCE": {"SO"},
    "TYPE": {"$TY"},
}
_DROP_WORD = {
    "VIEW": "view",
    "PROC": "procedure",
    "PROCEDURE": "procedure",
    "FUNCTION": "function",
    "TRIGGER": "trigger",
    "SEQUENCE": "sequence",
    "TYPE": "type",
}


def drop_object(session: Session, toks: list[Token], text: str) -> None:
    """DROP VIEW|PROCEDURE|FUNCTION|TRIGGER|SEQUENCE [IF EXISTS] name [, ...]; DROP SCHEMA; DROP INDEX."""
    c = Cursor(toks, text, 1)
    kind = c.next().value
    if_exists = c.kw("IF") and c.expect("EXISTS") == "EXISTS"
    store = Store(session.connection())
    stmts: list[str] = []
    if kind == "SCHEMA":
        name = c.ident()
        sid = store.schema_id(name)
        if sid is None or sid not in store.user_schemas:
            if if_exists:
                return
            raise sql_error(
                3701, f"Cannot drop the schema '{name}', because it does not exist or you do not have permission.", 11
            )
        if any(o["schema_id"] == sid for o in store.objects) or any(
            t.lower().startswith(name.lower() + ".") for t in store.sqlite_tables()
        ):
            raise sql_error(3729, f"Cannot drop schema '{name}' because it is being referenced by object.")
        apply(session, [f"DELETE FROM {SCHEMAS} WHERE schema_id = {sid}"])
        return
    if kind == "INDEX":
        while True:
            parts = c.multipart()
            if c.kw("ON"):
                schema, table = ddlparse.schema_name(c.multipart())
                iname = parts[-1]
            else:
                schema, table = ddlparse.schema_name(parts[:-1])
                iname = parts[-1]
            trow = store.find(schema, table, {"U"})
            ix = next(
                (
                    o
                    for o in store.children(trow["object_id"])
                    if o["type"] == "$IX" and o["name"].lower() == iname.lower()
                )
                if trow
                else iter(()),
                None,
            )
            if ix is None:
                if not if_exists:
                    raise sql_error(
                        3701,
                        f"Cannot drop the index '{schema}.{table}.{iname}', because it does not exist or you do not "
                        "have permission.",
                        11,
                    )
            else:
                stmts.append(f"DELETE FROM {OBJECTS} WHERE object_id = {ix['object_id']}")
                sqlite_ix = "__dbshift_ix_" + sqlite_table_name(schema, table) + "_" + ix["name"]
                stmts.append(f"DROP INDEX IF EXISTS {userdb.q(sqlite_ix)}")
            if not c.op(","):
                break
        if stmts:
            apply(session, stmts)
        return
    types = _DROP_TYPES[kind]
    while True:
        schema, name = ddlparse.schema_name(c.multipart())
        row = store.find(schema, name, types)
        if row is None:
            if not if_exists:
                raise sql_error(
                    3701,
                    f"Cannot drop the {_DROP_WORD[kind]} '{name}', because it does not exist or you do not have "
                    "permission.",
                    11,
                )
        else:
            ids = [row["object_id"], *(o["object_id"] for o in store.children(row["object_id"]))]
            stmts.append(f"DELETE FROM {OBJECTS} WHERE object_id IN ({', '.join(map(str, ids))})")
        if not c.op(","):
            break
    if stmts:
        apply(session, stmts)


def apply_defaults(session: Session, tree: exp.Expression) -> None:
    """INSERT ... (cols) VALUES: add the columns left out that have a DEFAULT added by ALTER TABLE, with the
    default's expression (SQLite cannot add a default to an existing table; SQL Server applies it)."""
    target, values = tree.this, tree.args.get("expression")
    if (
        not isinstance(target, exp.Schema)
        or not isinstance(values, exp.Values)
        or not isinstance(target.this, exp.Table)
    ):
        return
    conn = session.connection()
    alias = target.this.db or "main"
    if not conn.execute(
        f"SELECT 1 FROM {userdb.q(alias)}.sqlite_master WHERE type = 'table' AND name = ?", (OBJECTS,)
    ).fetchone():
        return
    store = Store(conn, alias)
    sqlite_name = target.this.name.lower()
    table = next(
        (
            o
            for o in store.objects
            if o["type"] == "U"
            and sqlite_table_name(store.schemas().get(o["schema_id"], "dbo"), o["name"]).lower() == sqlite_name
        ),
        None,
    )
    if table is None:
        return
    listed = {c.name.lower() for c in target.expressions}
    for d in store.children(table["object_id"]):
        column = (d["meta"].get("column") or "").lower()
        if d["type"] != "D" or not d["meta"].get("by_alter") or column in listed or not d["definition"]:
            continue
        text = _sqlite_expr(d["definition"])
        if text is None or "NEXT VALUE" in text.upper():
            continue  # EMULATOR-ONLY: sequences do not hand out values
        expr = sqlglot.parse_one(text, read="sqlite")
        target.append("expressions", exp.to_identifier(d["meta"]["column"], quoted=True))
        for row in values.expressions:
            row.append("expressions", expr.copy())
