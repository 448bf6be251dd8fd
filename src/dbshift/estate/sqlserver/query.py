"""User-table SQL of the emulator: T-SQL translated to SQLite with sqlglot, with change logging.

Name mapping (one consistent rule): dbo.T -> "T"; schema.T -> "schema.T"; a 3-part name in another
database is that database's file ATTACHed to the session connection. System views and msdb history
tables become TEMP tables filled from the catalog just before the statement runs; table-valued
functions registered on the instance become TEMP tables holding their result.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from dbshift.estate.sqlserver import catalogviews, messages, sysviews, userdb
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


@dataclass
class QueryCursor:
    """A query's open SQLite cursor, handed to a streaming consumer (the TDS listener) instead of a ResultSet."""

    columns: list[str]
    declared: list[tuple[str | None, bool]]  # (declared T-SQL type or None, nullable) per result column
    cursor: sqlite3.Cursor
    targets: list[Mapped]


StreamFn = Callable[[QueryCursor], int]
_TEMPORAL = ("DATETIME2", "DATETIME", "SMALLDATETIME", "TIMESTAMP", "DATE")
_DATETIME_TEXT = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?$")


def canonical_temporal(text: str, decl: str) -> str | None:
    """The stored form of a date/time literal for a column declared `decl` (None: not a date/time text).

    The emulator keeps DATETIME2/DATETIME values as 'YYYY-MM-DD HH:MM:SS[.f]' (no trailing zeros) and DATE
    values as 'YYYY-MM-DD', so that SQLite's text comparison orders them as SQL Server orders the values and
    a predicate like measured_at >= '2026-11-01T00:00:00.000000' still uses the column's index.
    """
    m = _DATETIME_TEXT.match(text.strip())
    if not m:
        return None
    day, hh, mm, ss, frac = m.groups()
    if decl.upper().startswith("DATE") and not decl.upper().startswith("DATETIME"):
        return day
    frac = (frac or "").rstrip("0")
    return f"{day} {hh or '00'}:{mm or '00'}:{ss or '00'}" + (f".{frac}" if frac else "")


def _temporal_decl(decl: str | None) -> str | None:
    if not decl:
        return None
    base = decl.strip('"').split("(")[0].strip().upper()
    return base if base in _TEMPORAL else None


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
        if isinstance(tree, exp.Insert):
            from dbshift.estate.sqlserver.schemaobj import apply_defaults

            apply_defaults(self.s, tree)
        for add in reversed(list(tree.find_all(exp.Add))):  # innermost first
            if _stringy(add.left) or _stringy(add.right):  # T-SQL '+' on strings concatenates
                add.replace(exp.DPipe(this=add.left.copy(), expression=add.right.copy()))
        for div in list(tree.find_all(exp.Div, exp.Mod)):
            d = div.expression
            if not (isinstance(d, exp.Literal) and d.is_number and float(d.this) != 0):
                div.set("expression", exp.Anonymous(this=userdb.DIVISOR_FUNCTION, expressions=[d.copy()]))
        self._temporal_literals(tree)
        for c in tree.find_all(exp.Column):
            c.set("db", None)
            c.set("catalog", None)
        if isinstance(tree, (exp.Create, exp.Alter)):
            _keep_tsql_types(tree)
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
        elif lschema == "sys" and lname in catalogviews.SYS:
            view = catalogviews.SYS[lname]
            temp = self.s.materialise_catalog(f"sys.{lname}", db, lambda m, _db: view(m))
        elif lschema == "information_schema" and lname in catalogviews.INFORMATION_SCHEMA:
            temp = self.s.materialise_catalog(f"information_schema.{lname}", db, catalogviews.INFORMATION_SCHEMA[lname])
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

    def column_decls(self) -> dict[str, tuple[str | None, bool]]:
        """Lower-case column name -> (declared type, nullable) over the statement's tables; a name two
        tables declare differently maps to (None, True)."""
        out: dict[str, tuple[str | None, bool]] = {}
        conn = self.s.connection()
        for m in self.targets:
            try:
                info = conn.execute(f"PRAGMA {userdb.q(m.schema)}.table_info({userdb.q(m.table)})").fetchall()
            except sqlite3.Error:
                continue
            for _cid, name, decl, notnull, _default, pk in info:
                key = str(name).lower()
                value = (str(decl) if decl else None, not (notnull or pk))
                if key in out and out[key][0] != value[0]:
                    value = (None, True)
                out[key] = value
        return out

    def _temporal_literals(self, tree: exp.Expression) -> None:
        """Write date/time literals compared with (or stored into) date/time columns in the stored form."""
        comparisons = list(tree.find_all(exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In))
        inserts = [tree] if isinstance(tree, exp.Insert) else []
        updates = [tree] if isinstance(tree, exp.Update) else []
        if not (comparisons or inserts or updates) or not self.targets:
            return
        decls = self.column_decls()

        def fix(lit: Any, column: str) -> None:
            decl = _temporal_decl(decls.get(column.lower(), (None, True))[0])
            if decl and isinstance(lit, exp.Literal) and lit.is_string:
                canon = canonical_temporal(lit.this, decl)
                if canon is not None:
                    lit.replace(exp.Literal.string(canon))

        for node in comparisons:
            if isinstance(node, exp.Between) and isinstance(node.this, exp.Column):
                fix(node.args.get("low"), node.this.name)
                fix(node.args.get("high"), node.this.name)
            elif isinstance(node, exp.In) and isinstance(node.this, exp.Column):
                for e in node.expressions:
                    fix(e, node.this.name)
            elif isinstance(node, exp.Binary):
                left, right = node.left, node.right
                if isinstance(left, exp.Column):
                    fix(right, left.name)
                elif isinstance(right, exp.Column):
                    fix(left, right.name)
        for ins in inserts:
            target = ins.this
            values = ins.args.get("expression")
            if isinstance(target, exp.Schema) and isinstance(values, exp.Values):
                cols = [c.name for c in target.expressions]
                for row in values.expressions:
                    for col, lit in zip(cols, row.expressions, strict=False):
                        fix(lit, col)
        for upd in updates:
            for e in upd.expressions:
                if isinstance(e, exp.EQ) and isinstance(e.left, exp.Column):
                    fix(e.right, e.left.name)

    def _tvf(self, t: exp.Table) -> None:
        fn: exp.Anonymous = t.this
        db = t.catalog or self.s.db
        schema = t.db or "dbo"
        key = f"{db}.{schema}.{fn.name}".lower()
        args = [self.s.eval_expression(a) for a in fn.expressions]
        if schema.lower() == "sys" and fn.name.lower() == "dm_exec_describe_first_result_set":
            rs: ResultSet = describe_first_result_set(self.s, str(args[0] if args else ""))
        else:
            impl = self.s.inst.table_functions.get(key)
            if impl is None:
                raise messages.invalid_object(".".join(p for p in (t.catalog, t.db, fn.name) if p))
            rs = impl(self.s.inst, args)
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


def _keep_tsql_types(tree: exp.Expression) -> None:
    """Declare columns with their T-SQL types so SQLite keeps them (PRAGMA table_info), for the TDS
    listener's column types. Identity columns stay INTEGER PRIMARY KEY AUTOINCREMENT (SQLite needs that)."""
    for cd in tree.find_all(exp.ColumnDef):
        kind = cd.args.get("kind")
        if not isinstance(kind, exp.DataType):
            continue
        constraints = [c.args.get("kind") for c in cd.args.get("constraints") or []]
        if any(
            isinstance(k, (exp.GeneratedAsIdentityColumnConstraint, exp.AutoIncrementColumnConstraint))
            for k in constraints
        ):
            continue
        text = kind.sql(dialect="tsql")
        if not re.fullmatch(r"[A-Za-z0-9_ ]+(\(\s*\d+\s*(,\s*\d+\s*)?\))?", text):
            text = '"' + text.replace('"', "") + '"'  # e.g. NVARCHAR(MAX): SQLite takes a quoted type name
        cd.set("kind", exp.DataType(this=exp.DataType.Type.USERDEFINED, kind=text))


def declared_types(tree: exp.Expression, tr: Translator, description: Any) -> list[tuple[str | None, bool]]:
    """(declared T-SQL type, nullable) of each result column, where the query shows it: a column (or *),
    CAST(... AS type), COUNT, MIN/MAX of a column. Anything else: (None, True), the values decide."""
    names = [d[0] for d in description]
    unknown: tuple[str | None, bool] = (None, True)
    if not isinstance(tree, exp.Select):
        return [unknown] * len(names)
    decls = tr.column_decls()
    exprs = tree.expressions
    if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star)) for e in exprs):
        return [decls.get(n.lower(), unknown) for n in names]
    if len(exprs) != len(names):
        return [unknown] * len(names)
    out = []
    for e in exprs:
        inner = e.this if isinstance(e, exp.Alias) else e
        if isinstance(inner, exp.Column):
            out.append(decls.get(inner.name.lower(), unknown))
        elif isinstance(inner, exp.Cast):
            out.append((inner.to.sql(dialect="tsql"), True))
        elif isinstance(inner, exp.Count):
            out.append(("INT", False))
        elif isinstance(inner, (exp.Min, exp.Max)) and isinstance(inner.this, exp.Column):
            out.append((decls.get(inner.this.name.lower(), unknown)[0], True))
        else:
            out.append(unknown)
    return out


def describe_first_result_set(session: Session, text: str) -> ResultSet:
    """sys.dm_exec_describe_first_result_set(@tsql, NULL, 0): name and system_type_name of each column.
    The emulator runs the query and lets its first rows decide the types no declaration gives."""
    from dbshift.estate.sqlserver import tds_wire

    cols = ["is_hidden", "column_ordinal", "name", "is_nullable", "system_type_id", "system_type_name"]
    cols += ["error_number", "error_message"]
    tr = Translator(session)
    try:
        tree = parse(text)
        if not isinstance(tree, exp.Query):
            return ResultSet(cols, [])
        tree = tr.rewrite(tree)
        cur = session.connection().execute(to_sqlite(tree))
        try:
            sample = cur.fetchmany(1000)
            decl = declared_types(tree, tr, cur.description)
            names = result_columns(tree, cur.description)
        finally:
            cur.close()
    except (SqlError, sqlite3.Error) as e:
        # As documented: an error is not raised but described, in one row with the other columns NULL.
        err = e if isinstance(e, SqlError) else map_sqlite_error(e, tr.targets)
        return ResultSet(cols, [[None] * 6 + [err.number, err.errors[0].message]])
    rows = []
    for i, (name, (dtype, nullable)) in enumerate(zip(names, decl, strict=True)):
        wt = tds_wire.parse_tsql_type(dtype) or tds_wire.infer_type(r[i] for r in sample)
        rows.append([0, i + 1, name or None, int(nullable), 0, wt.tsql, None, None])
    return ResultSet(cols, rows)


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
    if userdb.took_divide_by_zero() and "user-defined function raised exception" in text:
        return sql_error(8134, "Divide by zero error encountered.")
    names = {m.table: m.display for m in targets}
    for pattern, make in _SQLITE_ERRORS:
        m = pattern.search(text)
        if m:
            return make(m, names)
    return sql_error(50000, f"dbshift SQL Server emulator could not run the statement: {text}")


def run(session: Session, text: str, stream: StreamFn | None = None) -> ResultSet | None:
    """Run one user SQL statement (query, DML or DDL); a query returns its ResultSet, or with `stream`
    hands its open cursor to stream() (which sends the rows and returns their count) and returns None."""
    tree = parse(text)
    userdb.took_divide_by_zero()  # a flag left by a statement that failed elsewhere is not this one's
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
            if stream is not None:
                qc = QueryCursor(
                    result_columns(tree, cur.description), declared_types(tree, tr, cur.description), cur, tr.targets
                )
                try:
                    session.rowcount = stream(qc)
                finally:
                    cur.close()
                return None
            rows = [[out_value(v) for v in r] for r in cur.fetchall()]
        except sqlite3.Error as e:
            raise map_sqlite_error(e, tr.targets) from None
        return ResultSet(result_columns(tree, cur.description), rows)
    session.write(lambda: _write(session, conn, tree, sql, tr), tr.targets)
    if isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
        session.dml_count = session.rowcount
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
