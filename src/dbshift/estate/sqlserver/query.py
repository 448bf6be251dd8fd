"""User-table SQL of the emulator: T-SQL translated to SQLite with sqlglot, with change logging.

Name mapping (one consistent rule): dbo.T -> "T"; schema.T -> "schema.T"; a 3-part name in another
database is that database's file ATTACHed to the session connection. System views and msdb history
tables become TEMP tables filled from the catalog just before the statement runs; table-valued
functions registered on the instance become TEMP tables holding their result.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from dbshift.estate.sqlserver import messages, sysviews, userdb
from dbshift.estate.sqlserver.model import sql_error
from dbshift.tsql.result import ResultSet, SqlError

if TYPE_CHECKING:
    from dbshift.estate.sqlserver.batch import Session

_DDL = (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable)
_NO_ALIAS_PARENTS = (exp.Schema, exp.Insert, exp.Create, exp.Drop, exp.Alter, exp.TruncateTable, exp.Into)


@dataclass
class Mapped:
    db: str  # T-SQL database name
    schema: str  # SQLite schema alias ("main" or an attached alias)
    table: str  # SQLite table name
    display: str  # the name as written in T-SQL, for error messages


def parse(text: str) -> exp.Expression:
    try:
        trees = [t for t in sqlglot.parse(text, read="tsql") if t is not None]
    except (ParseError, TokenError) as e:
        near = _near(e, text)
        raise messages.syntax(near) from None
    if len(trees) != 1:
        raise messages.syntax(text.split()[0] if text.split() else ";")
    return trees[0]


def _near(e: Exception, text: str) -> str:
    errs = getattr(e, "errors", None)
    if errs:
        tok = errs[0].get("highlight") or ""
        if tok:
            return str(tok)
    return text.split()[-1] if text.split() else ""


class Translator:
    """Rewrites one parsed statement for the session's SQLite connection."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.tvf_count = 0
        self.targets: list[Mapped] = []

    def rewrite(self, tree: exp.Expression) -> exp.Expression:
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        if isinstance(tree, exp.TruncateTable):
            tables = tree.expressions
            if len(tables) != 1:
                raise messages.syntax("TRUNCATE")
            tree = exp.Delete(this=tables[0].copy())
        for t in list(tree.find_all(exp.Table)):
            self._table(t, tree, ctes)
        for add in reversed(list(tree.find_all(exp.Add))):  # innermost first
            if _stringy(add.left) or _stringy(add.right):  # T-SQL '+' on strings concatenates
                add.replace(exp.DPipe(this=add.left.copy(), expression=add.right.copy()))
        for c in tree.find_all(exp.Column):
            c.set("db", None)
            c.set("catalog", None)
        if isinstance(tree, exp.Drop) and tree.args.get("kind") == "INDEX":
            tree.set("cluster", None)
        if isinstance(tree, exp.Create):
            tree.set("clustered", None)
            for cons in tree.find_all(exp.DefaultColumnConstraint):
                if not isinstance(cons.this, (exp.Literal, exp.Null, exp.Paren, exp.Neg)):
                    cons.set("this", exp.Paren(this=cons.this.copy()))
        return tree

    def _table(self, t: exp.Table, tree: exp.Expression, ctes: set[str]) -> None:
        if isinstance(t.this, exp.Anonymous):
            self._tvf(t)
            return
        name, schema, catalog = t.name, t.db, t.catalog
        if not schema and not catalog and name.lower() in ctes:
            return
        db = catalog or self.s.db
        lname, lschema = name.lower(), schema.lower()
        temp: str | None = None
        if lschema == "sys" and lname in sysviews.SYS_VIEWS:
            temp = self.s.materialise_view(f"sys.{lname}", sysviews.SYS_VIEWS[lname], db)
        elif lschema == "sys" and lname == "tables":
            temp = self.s.materialise_tables(db)
        elif db.lower() == "msdb" and lschema in ("dbo", "") and lname in sysviews.MSDB_TABLES:
            temp = self.s.materialise_view(f"msdb.dbo.{lname}", sysviews.MSDB_TABLES[lname], db)
        elif lschema in ("sys", "information_schema"):
            raise messages.invalid_object(f"{schema}.{name}")
        if temp is not None:
            t.set("this", exp.to_identifier(temp, quoted=True))
            t.set("db", None)
            t.set("catalog", None)
            if not t.alias and not isinstance(t.parent, _NO_ALIAS_PARENTS):
                t.set("alias", exp.TableAlias(this=exp.to_identifier(name, quoted=True)))
            return
        sqlite_name = name if lschema in ("", "dbo") else f"{schema}.{name}"
        alias = self.s.schema_for(db)
        display = ".".join(p for p in (catalog, schema, name) if p)
        self.targets.append(Mapped(db, alias, sqlite_name, display))
        t.set("this", exp.to_identifier(sqlite_name, quoted=True))
        t.set("db", exp.to_identifier(alias, quoted=True) if alias != "main" else None)
        t.set("catalog", None)
        if not t.alias and sqlite_name != name and not isinstance(t.parent, _NO_ALIAS_PARENTS):
            t.set("alias", exp.TableAlias(this=exp.to_identifier(name, quoted=True)))

    def _tvf(self, t: exp.Table) -> None:
        fn: exp.Anonymous = t.this
        db = t.catalog or self.s.db
        schema = t.db or "dbo"
        key = f"{db}.{schema}.{fn.name}".lower()
        impl = self.s.inst.table_functions.get(key)
        if impl is None:
            raise messages.invalid_object(".".join(p for p in (t.catalog, t.db, fn.name) if p))
        args = [self.s.eval_expression(a) for a in fn.expressions]
        rs: ResultSet = impl(self.s.inst, args)
        self.tvf_count += 1
        name = f"__tvf_{self.tvf_count}"
        self.s.load_temp(name, rs.columns, rs.rows)
        alias = t.args.get("alias") or exp.TableAlias(this=exp.to_identifier(fn.name, quoted=True))
        t.set("this", exp.to_identifier(name, quoted=True))
        t.set("db", None)
        t.set("catalog", None)
        t.set("alias", alias)


def _stringy(e: exp.Expression) -> bool:
    if isinstance(e, exp.Literal):
        return e.is_string
    if isinstance(e, exp.Cast):
        return e.to.is_type(*exp.DataType.TEXT_TYPES)
    if isinstance(e, (exp.DPipe, exp.Concat)):
        return True
    if isinstance(e, (exp.Add, exp.Paren)):
        return any(_stringy(x) for x in (e.args.get("this"), e.args.get("expression")) if x is not None)
    return False


def to_sqlite(tree: exp.Expression) -> str:
    sql = tree.sql(dialect="sqlite")
    return re.sub(r"\b(TEXT|BLOB)\(MAX\)", r"\1", sql, flags=re.IGNORECASE)


def result_columns(tree: exp.Expression, description: Any) -> list[str]:
    names = [d[0] for d in description]
    if isinstance(tree, exp.Select) and not any(isinstance(e, exp.Star) for e in tree.expressions):
        exprs = tree.expressions
        if len(exprs) == len(names):
            return [n if isinstance(e, (exp.Alias, exp.Column)) else "" for n, e in zip(names, exprs, strict=True)]
    return names


def out_value(v: Any) -> Any:
    if isinstance(v, bytes):
        return "0x" + v.hex().upper()
    return v


_SQLITE_ERRORS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"no such table: (?:\S+\.)?(.+)"), lambda m, d: messages.invalid_object(d.get(m.group(1), m.group(1)))),
    (
        re.compile(r"no such column: (.+)"),
        lambda m, d: sql_error(207, f"Invalid column name '{m.group(1).split('.')[-1]}'."),
    ),
    (
        re.compile(r"table (\S+) already exists"),
        lambda m, d: sql_error(
            2714, f"There is already an object named '{m.group(1).strip(chr(34))}' in the database."
        ),
    ),
    (
        re.compile(r"UNIQUE constraint failed: (\S+)\.(\S+)"),
        lambda m, d: sql_error(
            2627, f"Violation of PRIMARY KEY constraint. Cannot insert duplicate key in object 'dbo.{m.group(1)}'.", 14
        ),
    ),
    (
        re.compile(r"NOT NULL constraint failed: (\S+)\.(\S+)"),
        lambda m, d: sql_error(
            515,
            f"Cannot insert the value NULL into column '{m.group(2)}', table '{m.group(1)}'; "
            "column does not allow nulls. INSERT fails.",
        ),
    ),
    (re.compile(r"syntax error|near \"(.+)\""), lambda m, d: messages.syntax(m.group(1) or "")),
]


def map_sqlite_error(e: sqlite3.Error, targets: list[Mapped]) -> SqlError:
    text = str(e)
    names = {m.table: m.display for m in targets}
    for pattern, make in _SQLITE_ERRORS:
        m = pattern.search(text)
        if m:
            return make(m, names)
    return sql_error(50000, f"dbshift SQL Server emulator could not run the statement: {text}")


def run(session: Session, text: str) -> ResultSet | None:
    """Run one user SQL statement (query, DML or DDL); a query returns its ResultSet."""
    tree = parse(text)
    tr = Translator(session)
    tree = tr.rewrite(tree)
    sql = to_sqlite(tree)
    conn = session.connection()
    is_query = isinstance(tree, (exp.Query)) and not tree.args.get("into")
    for m in tr.targets:
        session.check_db_usable(m.db)
    if is_query:
        try:
            cur = conn.execute(sql)
            rows = [[out_value(v) for v in r] for r in cur.fetchall()]
        except sqlite3.Error as e:
            raise map_sqlite_error(e, tr.targets) from None
        return ResultSet(result_columns(tree, cur.description), rows)
    session.write(lambda: _write(session, conn, tree, sql, tr), tr.targets)
    return None


def _write(session: Session, conn: sqlite3.Connection, tree: exp.Expression, sql: str, tr: Translator) -> int:
    """Execute a write and append its log records to each touched database. Returns rows affected."""
    cur = conn.execute(sql)
    affected = max(cur.rowcount, 0)
    records: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    target = tr.targets[0] if tr.targets else None
    into = tree.args.get("into") if isinstance(tree, exp.Select) else None
    if isinstance(tree, exp.Create) or into is not None:
        kind = str(tree.args.get("kind") or "TABLE").upper()
        if target is None:
            raise messages.syntax("CREATE")
        if kind == "TABLE":
            for stmt in userdb.trigger_sql(target.table, target.schema):
                conn.execute(stmt)
            ddl = userdb.table_ddl(conn, target.table, target.schema)
            records.setdefault(target.schema, []).append(("DDL", {"sql": ddl}))
            if tree.args.get("expression") is not None or into is not None:  # CREATE TABLE AS / SELECT INTO
                conn.execute(
                    f"INSERT INTO {userdb.q(target.schema)}.{userdb.CHANGES}(tbl, rid) "
                    f"SELECT ?, rowid FROM {userdb.q(target.schema)}.{userdb.q(target.table)}",
                    (target.table,),
                )
        else:
            name = tree.this.name if isinstance(tree.this, exp.Table) else ""
            row = conn.execute(
                f"SELECT sql FROM {userdb.q(target.schema)}.sqlite_master WHERE name = ? AND sql IS NOT NULL",
                (name,),
            ).fetchone()
            local = row[0] if row else _local_sql(tree, target.schema)
            records.setdefault(target.schema, []).append(("DDL", {"sql": [local]}))
    elif isinstance(tree, (exp.Drop, exp.Alter)):
        schema = target.schema if target else "main"
        records.setdefault(schema, []).append(("DDL", {"sql": [_local_sql(tree, schema)]}))
    for schema in session.schemas():
        ops = userdb.capture(conn, schema)
        if ops:
            records.setdefault(schema, []).append(("DML", {"ops": ops}))
    for schema, recs in records.items():
        userdb.append(conn, recs, schema)
    return affected


def _local_sql(tree: exp.Expression, schema: str) -> str:
    local = tree.copy()
    for t in local.find_all(exp.Table):
        if t.db == schema:
            t.set("db", None)
    return to_sqlite(local)
