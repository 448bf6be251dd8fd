"""A T-SQL session of the SQL Server emulator: runs scripts batch by batch, statement by statement.

Administrative statements (USE, DECLARE/SET/PRINT, CREATE/ALTER/DROP DATABASE, BACKUP, RESTORE,
certificates, TDE, EXEC, transactions) are parsed here from tokens; user-table SQL goes to query.py.
A failed statement raises SqlError carrying the results produced so far; the rest of the batch
and script does not run and an open transaction is rolled back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from dbshift.estate.sqlserver import messages, query, schemaobj, userdb
from dbshift.estate.sqlserver.instance import RestoreOptions
from dbshift.estate.sqlserver.lexer import Token, split_batches, split_statements, tokenize
from dbshift.estate.sqlserver.model import ProcArgs, SqlError, sql_error
from dbshift.tsql.result import ResultSet, SqlResult

if TYPE_CHECKING:
    from dbshift.estate.sqlserver.instance import Instance

VERSION = (
    "Microsoft SQL Server 2019 (RTM-CU22) (KB5027702) - 15.0.4322.2 (X64) \n\tJul 27 2023 18:11:00 \n\t"
    "Copyright (C) 2019 Microsoft Corporation\n\t{edition} on Windows Server 2019 Datacenter 10.0 <X64> "
    "(Build 17763: ) (Hypervisor)\n\t-- dbshift SQL Server emulator, not Microsoft SQL Server"
)
_NOOP_SET = {
    "NOCOUNT",
    "XACT_ABORT",
    "ANSI_NULLS",
    "ANSI_PADDING",
    "ANSI_WARNINGS",
    "QUOTED_IDENTIFIER",
    "ARITHABORT",
    "CONCAT_NULL_YIELDS_NULL",
    "NUMERIC_ROUNDABORT",
    "STATISTICS",
    "LOCK_TIMEOUT",
    "DEADLOCK_PRIORITY",
    "TRANSACTION",
    "IDENTITY_INSERT",
    "DATEFORMAT",
    "LANGUAGE",
    "ROWCOUNT",
    "IMPLICIT_TRANSACTIONS",
    "TEXTSIZE",
    "ANSI_NULL_DFLT_ON",
    "ANSI_DEFAULTS",
    "CURSOR_CLOSE_ON_COMMIT",
    "NOEXEC",
}


class Session:
    def __init__(self, inst: Instance, database: str, login: str | None) -> None:
        self.inst = inst
        self.login = login
        self.result = SqlResult()
        self.vars: dict[str, Any] = {}
        self._types: dict[str, str] = {}  # declared type of each variable
        self.trancount = 0
        self.rowcount = 0
        self._conn: sqlite3.Connection | None = None
        self._attached: dict[str, str] = {}  # database name (lower) -> schema alias
        # A client that streams results (the TDS listener) sets `sink`: it is told after every statement and
        # takes SELECT results as open cursors. dml_count: rows the last INSERT/UPDATE/DELETE touched.
        self.sink: Any = None
        self.dml_count: int | None = None
        self.batch_text = ""  # the running batch: DDL keeps expressions and module definitions as written
        row = inst.catalog.db_row(database)
        if row is None:
            raise sql_error(4060, f'Cannot open database "{database}" requested by the login. The login failed.', 11)
        if row["state"] == "RESTORING":
            raise messages.db_restoring(row["name"])
        self.db: str = row["name"]

    # -- scripts and batches -------------------------------------------------------------------------
    def run_script(self, sql: str) -> SqlResult:
        try:
            for text, _offset in split_batches(sql):
                self.run_batch(text)
        finally:
            if self.trancount:
                self._rollback()
            self._close()
        return self.result

    def run_batch(self, text: str) -> None:
        self.vars, self._types = {}, {}
        self.batch_text = text
        try:
            stmts = self._statements(text)
        except SqlError as e:
            e.partial = self.result
            raise
        for toks in stmts:
            try:
                self.statement(toks)
                if self.sink is not None:
                    self.sink.statement_done(self)
            except SqlError as e:
                for d in e.errors:
                    d.line = toks[0].line
                if self.trancount:
                    self._rollback()
                e.partial = self.result
                raise

    def _statements(self, text: str) -> list[list[Token]]:
        """A batch's statements; CREATE/ALTER VIEW|PROCEDURE|FUNCTION|TRIGGER is the whole batch (T-SQL's rule)."""
        toks = tokenize(text)
        if schemaobj.is_module_batch(toks):
            return [toks]
        return split_statements(toks)

    # -- connection ---------------------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self.inst.connect(self.inst.catalog.db_row(self.db))
            self._conn.create_function("DB_NAME", -1, self._fn_db_name)
            self._conn.create_function("DB_ID", -1, self._fn_db_id)
            self._conn.create_function("SERVERPROPERTY", 1, self._fn_serverproperty)
            for name in ("SUSER_SNAME", "SUSER_NAME", "ORIGINAL_LOGIN", "USER_NAME", "CURRENT_USER"):
                self._conn.create_function(name, -1, lambda *a: self.login or "sa")
            self._conn.create_function("HOST_NAME", 0, lambda: self.inst.server_name)
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn, self._attached = None, {}

    def schema_for(self, db: str) -> str:
        """SQLite schema of a database in this session: main, or the database ATTACHed on demand."""
        if db.lower() == self.db.lower():
            return "main"
        alias = self._attached.get(db.lower())
        if alias is not None:
            return alias
        row = self.inst.catalog.db_row(db)
        if row is None:
            raise messages.db_missing(db)
        if row["state"] == "RESTORING":
            raise messages.db_restoring(row["name"])
        conn = self.connection()
        if conn.in_transaction:
            raise sql_error(
                50000,
                f"dbshift SQL Server emulator: reference database '{db}' before BEGIN TRANSACTION "
                "(cross-database names are attached outside transactions).",
            )
        alias = f"db_{row['database_id']}"
        path = self.inst.data_path(row)
        if not path.exists():
            userdb.create_file(path)
        conn.execute("ATTACH DATABASE ? AS " + userdb.q(alias), (str(path),))
        self._attached[db.lower()] = alias
        return alias

    def schemas(self) -> list[str]:
        return ["main", *self._attached.values()]

    def check_db_usable(self, db: str) -> None:
        row = self.inst.catalog.db_row(db)
        if row is None:
            raise messages.db_missing(db)
        if row["state"] == "RESTORING":
            raise messages.db_restoring(row["name"])

    def load_temp(self, name: str, columns: list[str], rows: list[list[Any]]) -> None:
        conn = self.connection()
        conn.execute(f"DROP TABLE IF EXISTS temp.{userdb.q(name)}")
        conn.execute(f"CREATE TEMP TABLE {userdb.q(name)} ({', '.join(userdb.q(c) for c in columns)})")
        if rows:
            ph = ",".join("?" * len(columns))
            conn.executemany(f"INSERT INTO temp.{userdb.q(name)} VALUES ({ph})", rows)

    def materialise_view(self, name: str, fn: Callable[[Instance, str], Any], db: str) -> str:
        cols, rows = fn(self.inst, db)
        key = name if db.lower() == self.db.lower() or name.startswith("msdb.") else f"{db}.{name}"
        self.load_temp(key, cols, rows)
        return key

    def materialise_catalog(self, name: str, db: str, fn: Callable[[Any, str], Any]) -> str:
        """A database-scoped catalog view (catalogviews.py) of `db` as a TEMP table named like the view."""
        from dbshift.estate.sqlserver.catalogviews import Model
        from dbshift.estate.sqlserver.schemaobj import Store

        alias = self.schema_for(db)
        row = self.inst.catalog.db_row(db)
        cols, rows = fn(Model(Store(self.connection(), alias)), row["name"] if row else db)
        key = name if db.lower() == self.db.lower() else f"{db}.{name}"
        self.load_temp(key, cols, rows)
        return key

    def write(self, fn: Callable[[], int], targets: list[query.Mapped]) -> None:
        """Run a write atomically: its own transaction, or a savepoint inside BEGIN TRAN."""
        conn = self.connection()
        try:
            if self.trancount:
                conn.execute("SAVEPOINT stmt")
                try:
                    self.rowcount = fn()
                except BaseException:
                    conn.execute("ROLLBACK TO stmt")
                    raise
                finally:
                    conn.execute("RELEASE stmt")
            else:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self.rowcount = fn()
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as e:
            raise query.map_sqlite_error(e, targets) from None

    def _rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self.trancount = 0

    # -- built-in functions --------------------------------------------------------------------------
    def _fn_db_name(self, *args: Any) -> str | None:
        if not args or args[0] is None:
            return self.db if not args else None
        row = self.inst.catalog.db_by_id(int(args[0]))
        return row["name"] if row else None

    def _fn_db_id(self, *args: Any) -> int | None:
        row = self.inst.catalog.db_row(str(args[0]) if args and args[0] is not None else self.db)
        return row["database_id"] if row else None

    def _fn_serverproperty(self, prop: str) -> Any:
        edition = "Standard Edition (64-bit)" if self.inst.config.kind == "rds" else "Developer Edition (64-bit)"
        props = {
            "productversion": "15.0.4322.2",
            "productlevel": "RTM",
            "productupdatelevel": "CU22",
            "productmajorversion": "15",
            "servername": self.inst.server_name,
            "machinename": self.inst.server_name.split("\\")[0],
            "instancename": None,
            "edition": edition,
            "engineedition": 2 if self.inst.config.kind == "rds" else 3,
            "collation": "SQL_Latin1_General_CP1_CI_AS",
            "isclustered": 0,
            "ishadrenabled": 0,
        }
        return props.get(str(prop).lower())

    def _global(self, name: str) -> Any:
        edition = self._fn_serverproperty("Edition")
        values = {
            "@@version": VERSION.format(edition=edition),
            "@@servername": self.inst.server_name,
            "@@servicename": "MSSQLSERVER",
            "@@spid": 52,
            "@@trancount": self.trancount,
            "@@rowcount": self.rowcount,
            "@@error": 0,
            "@@language": "us_english",
            "@@max_connections": 32767,
        }
        if name not in values:
            raise messages.syntax(name)
        return values[name]

    # -- tokens -> text ------------------------------------------------------------------------------
    def _value_of(self, t: Token) -> Any:
        if t.value.startswith("@@"):
            return self._global(t.value)
        if t.value not in self.vars:
            raise sql_error(137, f'Must declare the scalar variable "{t.text}".', 15, 2)
        return self.vars[t.value]

    def render(self, toks: list[Token]) -> str:
        """Statement text for sqlglot with variables substituted as literals."""
        out = []
        for t in toks:
            if t.kind == "var":
                out.append(literal(self._value_of(t)))
            elif t.kind == "str":
                out.append("'" + t.value.replace("'", "''") + "'")
            else:
                out.append(t.text)
        return " ".join(out)

    def eval_tokens(self, toks: list[Token]) -> Any:
        if len(toks) == 1:
            t = toks[0]
            if t.kind == "str":
                return t.value
            if t.kind == "var":
                return self._value_of(t)
            if t.kind == "num" and not t.text.lower().startswith("0x"):
                return _number(t.text)
            if t.is_kw("NULL"):
                return None
        rs = query.run(self, "SELECT " + self.render(toks))
        return rs.rows[0][0] if rs and rs.rows else None

    def eval_expression(self, e: exp.Expression) -> Any:
        if isinstance(e, exp.Literal):
            return e.this if e.is_string else _number(e.this)
        if isinstance(e, exp.Null):
            return None
        row = self.connection().execute("SELECT " + query.to_sqlite(e)).fetchone()
        return row[0] if row else None

    # -- dispatch -------------------------------------------------------------------------------------
    def statement(self, toks: list[Token]) -> None:
        first = toks[0]
        kw = first.value if first.kind == "word" else ""
        handler = {
            "USE": self._use,
            "SET": self._set,
            "DECLARE": self._declare,
            "PRINT": self._print,
            "SELECT": self._select,
            "EXEC": self._exec,
            "EXECUTE": self._exec,
            "BEGIN": self._begin,
            "COMMIT": self._commit,
            "ROLLBACK": self._rollback_stmt,
            "CREATE": self._create,
            "ALTER": self._alter,
            "DROP": self._drop,
            "BACKUP": self._backup,
            "RESTORE": self._restore,
            "CHECKPOINT": lambda t: None,
            "DBCC": lambda t: None,
            "RAISERROR": self._raiserror,
            "THROW": self._throw,
        }.get(kw)
        if handler is not None:
            handler(toks)
        elif kw in ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "WITH", "MERGE"):
            self._user_sql(toks)
        else:
            raise messages.syntax(first.text)

    def _user_sql(self, toks: list[Token]) -> None:
        rs = query.run(self, self.render(toks), stream=self.sink.stream if self.sink is not None else None)
        if rs is not None:
            self.result.result_sets.append(rs)
            self.rowcount = len(rs.rows)

    def _use(self, toks: list[Token]) -> None:
        p = Parser(toks[1:], self)
        name = p.name()
        p.end()
        row = self.inst.catalog.db_row(name)
        if row is None:
            raise messages.db_missing(name)
        if row["state"] == "RESTORING":
            raise messages.db_restoring(row["name"])
        if self.trancount:
            raise sql_error(50000, "dbshift SQL Server emulator: USE inside an open transaction is not supported.")
        self._close()
        self.db = row["name"]

    def _set(self, toks: list[Token]) -> None:
        if len(toks) > 1 and toks[1].kind == "var":
            name = toks[1].value
            self._value_of(toks[1])
            if len(toks) < 4 or toks[2].text not in ("=", "+=", "-="):
                raise messages.syntax(toks[-1].text)
            value = self.eval_tokens(toks[3:])
            if toks[2].text != "=":
                cur = self.vars[name]
                value = cur + value if toks[2].text == "+=" else cur - value
            self.vars[name] = _coerce(self._types.get(name, ""), value)
            return
        if len(toks) > 1 and toks[1].kind == "word" and toks[1].value in _NOOP_SET:
            return
        raise messages.syntax(toks[1].text if len(toks) > 1 else "SET")

    def _declare(self, toks: list[Token]) -> None:
        items = _split_commas(toks[1:])
        for item in items:
            if not item or item[0].kind != "var":
                raise messages.syntax(item[0].text if item else "DECLARE")
            name = item[0].value
            rest = item[1:]
            if rest and rest[0].is_kw("AS"):
                rest = rest[1:]
            eq = next((i for i, t in enumerate(rest) if t.text == "="), None)
            type_toks = rest if eq is None else rest[:eq]
            if type_toks and type_toks[0].is_kw("TABLE"):
                raise sql_error(50000, "dbshift SQL Server emulator: table variables are not supported.")
            type_name = " ".join(t.text for t in type_toks).upper()
            value = None if eq is None else self.eval_tokens(rest[eq + 1 :])
            self._types[name] = type_name
            self.vars[name] = _coerce(type_name, value)

    def _print(self, toks: list[Token]) -> None:
        v = self.eval_tokens(toks[1:])
        self.result.messages.append("" if v is None else _text(v))

    def _select(self, toks: list[Token]) -> None:
        assigns, rest = _select_assignments(toks)
        if not assigns:
            self._user_sql(toks)
            return
        rs = query.run(self, self.render(rest))
        if rs is None:
            return
        for row in rs.rows:
            for var, value in zip(assigns, row, strict=True):
                self._value_of(Token("var", var, var, 0, 0, 0))
                self.vars[var] = _coerce(self._types.get(var, ""), value)
        self.rowcount = len(rs.rows)

    def _raiserror(self, toks: list[Token]) -> None:
        inner = toks[1:]
        if inner and inner[0].text == "(":
            inner = inner[1:-1]
        parts = _split_commas(inner)
        msg = self.eval_tokens(parts[0]) if parts else ""
        sev = int(self.eval_tokens(parts[1])) if len(parts) > 1 else 16
        state = int(self.eval_tokens(parts[2])) if len(parts) > 2 else 1
        if sev <= 10:
            self.result.messages.append(str(msg))
            return
        raise sql_error(50000, str(msg), sev, state)

    def _throw(self, toks: list[Token]) -> None:
        parts = _split_commas(toks[1:])
        if len(parts) != 3:
            raise messages.syntax("THROW")
        raise sql_error(
            int(self.eval_tokens(parts[0])), str(self.eval_tokens(parts[1])), 16, int(self.eval_tokens(parts[2]))
        )

    # -- transactions --------------------------------------------------------------------------------
    def _begin(self, toks: list[Token]) -> None:
        if len(toks) >= 2 and toks[1].is_kw("TRAN", "TRANSACTION", "DISTRIBUTED"):
            if self.trancount == 0:
                conn = self.connection()
                conn.execute("BEGIN IMMEDIATE")
            self.trancount += 1
            return
        raise sql_error(50000, "dbshift SQL Server emulator: BEGIN ... END blocks and control flow are not supported.")

    def _commit(self, toks: list[Token]) -> None:
        if self.trancount == 0:
            raise sql_error(3902, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.")
        self.trancount -= 1
        if self.trancount == 0 and self._conn is not None:
            self._conn.execute("COMMIT")

    def _rollback_stmt(self, toks: list[Token]) -> None:
        if self.trancount == 0:
            raise sql_error(3903, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.")
        self._rollback()

    def _no_tran(self) -> None:
        if self.trancount:
            raise sql_error(3021, "Cannot perform a backup or restore operation within a transaction.")
        self._close()  # the engine may replace database files

    # -- EXEC ------------------------------------------------------------------------------------------
    def _exec(self, toks: list[Token]) -> None:
        rest = toks[1:]
        if rest and rest[0].text == "(":
            sql = self.eval_tokens(rest[1:-1])
            self._nested(str(sql))
            return
        ret_var = None
        if len(rest) > 2 and rest[0].kind == "var" and rest[1].text == "=":
            ret_var, rest = rest[0].value, rest[2:]
        p = Parser(rest, self)
        parts = p.multipart()
        args = ProcArgs(database=self.db, login=self.login)
        for item in _split_commas(p.rest()):
            if not item:
                continue
            if item[-1].is_kw("OUTPUT", "OUT"):
                item = item[:-1]
            if len(item) >= 3 and item[0].kind == "var" and item[1].text == "=":
                if item[2].is_kw("DEFAULT"):
                    continue
                args.named[item[0].value.lstrip("@")] = self._arg(item[2:])
            else:
                args.positional.append(self._arg(item))
        name = ".".join(parts)
        if parts[-1].lower() == "sp_executesql":
            sql = args.positional[0] if args.positional else args.get("stmt")
            self._nested(str(sql))
            return
        fn, _ = self._resolve_proc(parts)
        if fn is None:
            raise messages.proc_missing(name)
        self._no_tran_for_proc()
        try:
            res = fn(self.inst, args)
        except SqlError as e:
            for d in e.errors:
                d.procedure = d.procedure or parts[-1]
            raise
        if res is not None:
            self.result.result_sets.extend(res.result_sets)
            self.result.messages.extend(res.messages)
        if ret_var is not None:
            self.vars[ret_var] = 0

    def _no_tran_for_proc(self) -> None:
        if not self.trancount:
            self._close()

    def _arg(self, item: list[Token]) -> Any:
        if len(item) == 1 and item[0].kind == "word" and not item[0].is_kw("NULL"):
            return item[0].text  # SQL Server accepts bare words as string arguments
        return self.eval_tokens(item)

    def _resolve_proc(self, parts: list[str]) -> tuple[Any, str]:
        parts = [p.lower() for p in parts]
        if len(parts) == 1:
            cands = [f"{self.db.lower()}.dbo.{parts[0]}"]
            if parts[0].startswith("sp_"):
                cands.append(f"master.dbo.{parts[0]}")
        elif len(parts) == 2:
            cands = [f"{self.db.lower()}.{parts[0] or 'dbo'}.{parts[1]}"]
        else:
            cands = [f"{parts[-3]}.{parts[-2] or 'dbo'}.{parts[-1]}"]
        for c in cands:
            if c in self.inst.procedures:
                return self.inst.procedures[c], c
        return None, cands[0]

    def _nested(self, sql: str) -> None:
        saved, saved_text = self.vars, self.batch_text
        try:
            self.batch_text = sql
            for toks in self._statements(sql):
                self.statement(toks)
        finally:
            self.vars, self.batch_text = saved, saved_text

    # -- CREATE / ALTER / DROP ------------------------------------------------------------------------
    def _create(self, toks: list[Token]) -> None:
        kind = schemaobj.module_kind(toks)
        if kind is not None:
            if toks is not self._first_of_batch(toks):
                word = "CREATE" if toks[0].is_kw("CREATE") else "ALTER"
                what = "PROCEDURE" if kind[0] == "PROC" else kind[0]
                raise sql_error(111, f"'{word} {what}' must be the first statement in a query batch.", 15)
            schemaobj.create_module(self, toks, self.batch_text)
            return
        p = Parser(toks[1:], self)
        if p.peek_kw("TABLE") and len(toks) > 2 and not toks[2].text.startswith("#"):
            schemaobj.create_table(self, toks, self.batch_text, lambda: self._user_sql(toks))
            return
        if p.peek_kw("UNIQUE", "CLUSTERED", "NONCLUSTERED", "INDEX"):
            schemaobj.create_index(self, toks, self.batch_text)
            return
        if p.peek_kw("SEQUENCE"):
            schemaobj.create_sequence(self, toks, self.batch_text)
            return
        if p.peek_kw("SCHEMA"):
            schemaobj.create_schema(self, toks, self.batch_text)
            return
        if p.peek_kw("TYPE"):
            schemaobj.create_type(self, toks, self.batch_text)
            return
        if p.kw("DATABASE"):
            if p.kw("ENCRYPTION"):
                self._create_dek(p)
                return
            self._create_database(p)
        elif p.kw("CERTIFICATE"):
            self._create_certificate(p)
        elif p.kw("MASTER"):
            p.expect("KEY")
            self._require_master("CREATE MASTER KEY")
            self.inst.create_master_key()
        elif p.peek_kw("LOGIN", "USER", "ROLE"):
            what = p.next().value
            raise sql_error(50000, f"dbshift SQL Server emulator: CREATE {what} is not supported.")
        else:
            self._user_sql(toks)

    def _require_master(self, what: str) -> None:
        if self.db.lower() != "master":
            raise sql_error(
                50000,
                f"dbshift SQL Server emulator: run {what} in master (USE master); certificates and "
                "the master key are modelled in master only.",
            )

    def _create_database(self, p: Parser) -> None:
        self._no_tran()
        name = p.name()
        files: list[tuple[str, str]] = []
        if p.kw("ON"):
            p.kw("PRIMARY")
            files.extend(self._file_specs(p))
            if p.kw("LOG"):
                p.expect("ON")
                files.extend(self._file_specs(p))
        p.skip_rest_after("COLLATE", "WITH", "CONTAINMENT")
        self.inst.create_database(name, files or None)

    def _file_specs(self, p: Parser) -> list[tuple[str, str]]:
        out = []
        while p.op("("):
            opts = p.options_until(")")
            p.expect_op(")")
            if "FILENAME" not in opts:
                raise messages.syntax("FILENAME")
            out.append((str(opts.get("NAME") or ""), str(opts["FILENAME"])))
            if not p.op(","):
                break
        return out

    def _create_certificate(self, p: Parser) -> None:
        self._require_master("CREATE CERTIFICATE")
        name = p.name()
        p.kw("AUTHORIZATION") and p.name()
        if p.kw("FROM"):
            p.expect("FILE")
            p.expect_op("=")
            cer_path = str(p.value())
            pvk_path = password = None
            if p.kw("WITH"):
                p.expect("PRIVATE")
                p.expect("KEY")
                p.expect_op("(")
                opts = p.options_until(")")
                p.expect_op(")")
                pvk_path = opts.get("FILE")
                password = opts.get("DECRYPTION BY PASSWORD")
            cer = self._read_host_file(cer_path)
            pvk = self._read_host_file(str(pvk_path)) if pvk_path else None
            self.inst.import_certificate(name, cer, pvk, password)
            return
        if p.kw("ENCRYPTION"):
            raise sql_error(
                50000,
                "dbshift SQL Server emulator: certificates are protected by the master key; "
                "ENCRYPTION BY PASSWORD is not supported.",
            )
        p.expect("WITH")
        opts = p.options_until(None)
        subject = str(opts.get("SUBJECT") or "")
        expiry = _date(opts.get("EXPIRY_DATE"))
        start = _date(opts.get("START_DATE"))
        self.inst.create_certificate_sql(name, subject, expiry, start)

    def _read_host_file(self, path: str) -> bytes:
        try:
            local = self.inst.hostfs.local_path(path)
        except ValueError:
            local = None
        if local is None or not local.is_file():
            raise sql_error(
                15208,
                "The certificate, asymmetric key, or private key file is not valid or does not exist; "
                "or you do not have permissions for it.",
            )
        return local.read_bytes()

    def _create_dek(self, p: Parser) -> None:
        p.expect("KEY")
        p.expect("WITH")
        p.expect("ALGORITHM")
        p.expect_op("=")
        alg = p.next().value
        if alg not in ("AES_128", "AES_192", "AES_256", "TRIPLE_DES_3KEY"):
            raise messages.syntax(alg)
        p.expect("ENCRYPTION")
        p.expect("BY")
        p.expect("SERVER")
        p.expect("CERTIFICATE")
        cert = p.name()
        p.end()
        self.inst.create_dek(self.db, alg, cert)
        self.result.messages.append(
            "Warning: The certificate used for encrypting the database encryption key has not been backed up. You "
            "should immediately back up the certificate and the private key associated with the certificate. If the "
            "certificate ever becomes unavailable or if you must restore or attach the database on another server, you "
            "must have backups of both the certificate and the private key or you will not be able to open the "
            "database."
        )

    def _first_of_batch(self, toks: list[Token]) -> list[Token] | None:
        """The statement `toks` when it is its batch's only statement (how _statements hands out modules)."""
        first = tokenize(self.batch_text)
        return toks if first and toks and first[0].start == toks[0].start and len(first) == len(toks) else None

    def _alter(self, toks: list[Token]) -> None:
        if schemaobj.module_kind(toks) is not None:
            self._create(toks)
            return
        p = Parser(toks[1:], self)
        if p.peek_kw("TABLE"):
            schemaobj.alter_table(self, toks, self.batch_text, lambda: self._user_sql(toks))
            return
        if not p.kw("DATABASE"):
            self._user_sql(toks)
            return
        name = self.db if p.kw("CURRENT") else p.name()
        if p.kw("SET"):
            if p.kw("RECOVERY"):
                model = p.next().value
                if model not in ("FULL", "SIMPLE", "BULK_LOGGED"):
                    raise messages.syntax(model)
                self.inst.set_recovery(name, model)
            elif p.kw("ENCRYPTION"):
                on = p.next().value
                if on not in ("ON", "OFF"):
                    raise messages.syntax(on)
                self.inst.set_encryption(name, on == "ON")
            elif p.peek_kw(
                "SINGLE_USER",
                "MULTI_USER",
                "RESTRICTED_USER",
                "ONLINE",
                "COMPATIBILITY_LEVEL",
                "PAGE_VERIFY",
                "AUTO_CLOSE",
                "AUTO_SHRINK",
                "READ_COMMITTED_SNAPSHOT",
            ):
                self.inst.database(name)
            else:
                raise sql_error(
                    50000, f"dbshift SQL Server emulator: ALTER DATABASE SET {p.next().text} is not supported."
                )
            return
        raise sql_error(50000, "dbshift SQL Server emulator: only ALTER DATABASE ... SET is supported.")

    def _drop(self, toks: list[Token]) -> None:
        p = Parser(toks[1:], self)
        if p.kw("DATABASE"):
            if p.kw("ENCRYPTION"):
                p.expect("KEY")
                self.inst.drop_dek(self.db)
                return
            self._no_tran()
            if_exists = p.kw("IF") and p.expect("EXISTS")
            for item in _split_commas(p.rest()):
                name = Parser(item, self).name()
                if self.inst.catalog.db_row(name) is None and if_exists:
                    continue
                if name.lower() == self.db.lower():
                    raise sql_error(3702, f'Cannot drop database "{name}" because it is currently in use.')
                self.inst.drop_database(name)
        elif p.kw("CERTIFICATE"):
            self._require_master("DROP CERTIFICATE")
            self.inst.drop_certificate(p.name())
        elif p.peek_kw("VIEW", "PROC", "PROCEDURE", "FUNCTION", "TRIGGER", "SEQUENCE", "SCHEMA", "INDEX", "TYPE"):
            schemaobj.drop_object(self, toks, self.batch_text)
        elif p.kw("TABLE"):
            self._user_sql(toks)
            p.kw("IF") and p.kw("EXISTS")
            names = []
            for item in _split_commas(p.rest()):
                parts = [t.name for t in item if t.kind in ("word", "qident")]
                other_db = len(parts) > 2 and parts[-3].lower() != self.db.lower()
                if parts and not parts[-1].startswith("#") and not other_db:
                    names.append((parts[-2] if len(parts) > 1 else "dbo", parts[-1]))
            schemaobj.drop_table_rows(self, names)
        else:
            self._user_sql(toks)

    # -- BACKUP ----------------------------------------------------------------------------------------
    def _backup(self, toks: list[Token]) -> None:
        p = Parser(toks[1:], self)
        if p.kw("CERTIFICATE"):
            self._require_master("BACKUP CERTIFICATE")
            name = p.name()
            p.expect("TO")
            p.expect("FILE")
            p.expect_op("=")
            cer = str(p.value())
            pvk = password = None
            if p.kw("WITH"):
                p.expect("PRIVATE")
                p.expect("KEY")
                p.expect_op("(")
                opts = p.options_until(")")
                p.expect_op(")")
                pvk, password = opts.get("FILE"), opts.get("ENCRYPTION BY PASSWORD")
                if pvk is None or password is None:
                    raise messages.syntax(")")
            self.inst.write_certificate_files(name, cer, pvk and str(pvk), password and str(password))
            return
        self._no_tran()
        log = p.kw("LOG")
        if not log:
            p.expect("DATABASE")
        statement = "BACKUP LOG" if log else "BACKUP DATABASE"
        name = p.name()
        p.expect("TO")
        paths = []
        while True:
            if p.kw("URL"):
                raise sql_error(50000, "dbshift SQL Server emulator: BACKUP TO URL is not supported; use TO DISK.")
            p.expect("DISK")
            p.expect_op("=")
            paths.append(str(p.value()))
            if not p.op(","):
                break
        if len(paths) != 1:
            raise sql_error(50000, "dbshift SQL Server emulator: striped backups (several DISK =) are not supported.")
        opts = p.options_until(None) if p.kw("WITH") else {}
        p.end()
        init = "INIT" in opts or "FORMAT" in opts
        bset, _ = self.inst.backup_to_disk(name, paths[0], log, init, "COMPRESSION" in opts)
        if log and "NORECOVERY" in opts:  # tail-log backup: the database is left RESTORING
            self.inst.catalog.update_db(
                self.inst.database(name).database_id,
                state="RESTORING",
                redo_start_lsn=bset.header.last_lsn,
                log_chain_lsn=None,
            )
        self.result.messages.extend(_stats(opts))
        counted = [(f, max(1, f.size // 8192)) for f in bset.files if not log or f.type == "L"]
        for f, n in counted:
            self.result.messages.append(
                f"Processed {n} pages for database '{bset.header.database_name}', "
                f"file '{f.logical_name}' on file {bset.position}."
            )
        total = sum(n for _, n in counted)
        self.result.messages.append(
            f"{statement} successfully processed {total} pages in 0.010 seconds "
            f"({total * 8192 / 1048576 / 0.01:.3f} MB/sec)."
        )

    # -- RESTORE -----------------------------------------------------------------------------------
    def _restore(self, toks: list[Token]) -> None:
        p = Parser(toks[1:], self)
        if p.kw("HEADERONLY"):
            path, opts = self._restore_from(p)
            self.result.result_sets.append(headeronly(self.inst, path))
            return
        if p.kw("FILELISTONLY"):
            path, opts = self._restore_from(p)
            self.result.result_sets.append(filelistonly(self.inst, path, int(opts.get("FILE") or 1)))
            return
        if p.kw("VERIFYONLY"):
            path, opts = self._restore_from(p)
            bset = self.inst.media_set(path, int(opts.get("FILE") or 1), "VERIFY DATABASE")
            self.inst.open_payload(bset, "VERIFY DATABASE")
            self.result.messages.append(f"The backup set on file {bset.position} is valid.")
            return
        self._no_tran()
        log = p.kw("LOG")
        if not log:
            p.expect("DATABASE")
        name = p.name()
        if name.lower() == self.db.lower():
            raise messages.with_trailer(
                "RESTORE LOG" if log else "RESTORE DATABASE",
                (
                    3102,
                    f"RESTORE cannot process database '{name}' because it is in use by this session. It is "
                    "recommended that the master database be used when performing this operation.",
                    16,
                    1,
                ),
            )
        path = None
        if p.kw("FROM"):
            if p.kw("URL"):
                raise sql_error(50000, "dbshift SQL Server emulator: RESTORE FROM URL is not supported; use FROM DISK.")
            p.expect("DISK")
            p.expect_op("=")
            path = str(p.value())
        opts = p.options_until(None) if p.kw("WITH") else {}
        p.end()
        if "STOPAT" in opts or "STOPATMARK" in opts or "STANDBY" in opts:
            raise sql_error(50000, "dbshift SQL Server emulator: STOPAT/STOPATMARK/STANDBY are not supported.")
        ro = RestoreOptions(
            recovery="NORECOVERY" not in opts,
            replace="REPLACE" in opts,
            moves={k.lower(): v for k, v in opts.get("MOVE", [])},
            file=int(opts.get("FILE") or 1),
            stats=_stats_n(opts),
            restart="RESTART" in opts,
        )
        if path is None:
            if log or not ro.recovery:
                raise messages.syntax(name)
            self.result.messages.extend(self.inst.recover_database(name))
        elif log:
            self.result.messages.extend(self.inst.restore_log(name, path, ro))
        else:
            self.result.messages.extend(self.inst.restore_database(name, path, ro))

    def _restore_from(self, p: Parser) -> tuple[str, dict[str, Any]]:
        p.expect("FROM")
        p.expect("DISK")
        p.expect_op("=")
        path = str(p.value())
        opts = p.options_until(None) if p.kw("WITH") else {}
        p.end()
        return path, opts


# -- RESTORE HEADERONLY / FILELISTONLY -------------------------------------------------------------------
def headeronly(inst: Instance, path: str) -> ResultSet:
    sets = inst.read_media(path, "RESTORE HEADERONLY")
    cols = [
        "BackupName",
        "BackupDescription",
        "BackupType",
        "ExpirationDate",
        "Compressed",
        "Position",
        "DeviceType",
        "UserName",
        "ServerName",
        "DatabaseName",
        "DatabaseVersion",
        "DatabaseCreationDate",
        "BackupSize",
        "FirstLSN",
        "LastLSN",
        "CheckpointLSN",
        "DatabaseBackupLSN",
        "BackupStartDate",
        "BackupFinishDate",
        "SortOrder",
        "CodePage",
        "UnicodeLocaleId",
        "UnicodeComparisonStyle",
        "CompatibilityLevel",
        "SoftwareVendorId",
        "SoftwareVersionMajor",
        "SoftwareVersionMinor",
        "SoftwareVersionBuild",
        "MachineName",
        "Flags",
        "BindingID",
        "RecoveryForkID",
        "Collation",
        "FamilyGUID",
        "HasBulkLoggedData",
        "IsSnapshot",
        "IsReadOnly",
        "IsSingleUser",
        "HasBackupChecksums",
        "IsDamaged",
        "BeginsLogChain",
        "HasIncompleteMetaData",
        "IsForceOffline",
        "IsCopyOnly",
        "FirstRecoveryForkID",
        "ForkPointLSN",
        "RecoveryModel",
        "DifferentialBaseLSN",
        "DifferentialBaseGUID",
        "BackupTypeDescription",
        "BackupSetGUID",
        "CompressedBackupSize",
        "Containment",
        "KeyAlgorithm",
        "EncryptorThumbprint",
        "EncryptorType",
    ]
    rows = []
    for s in sets:
        h = s.header
        server = s.extra.get("server")
        rows.append(
            [
                None,
                None,
                h.backup_type,
                None,
                int(s.compressed),
                s.position,
                2,
                "sa",
                server,
                h.database_name,
                904,
                None,
                int(s.extra.get("size", 0)),
                h.first_lsn,
                h.last_lsn,
                h.checkpoint_lsn,
                h.database_backup_lsn,
                h.backup_start_date.isoformat(timespec="milliseconds"),
                h.backup_finish_date.isoformat(timespec="milliseconds"),
                52,
                0,
                1033,
                196609,
                150,
                4608,
                15,
                0,
                4322,
                server,
                512,
                None,
                None,
                "SQL_Latin1_General_CP1_CI_AS",
                h.family_guid,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                None,
                None,
                s.extra.get("recovery_model", "FULL"),
                None,
                None,
                "Database" if h.backup_type == 1 else "Transaction Log",
                None,
                len(s.payload),
                0,
                None,
                None,
                None,
            ]
        )
    return ResultSet(cols, rows)


def filelistonly(inst: Instance, path: str, file: int) -> ResultSet:
    bset = inst.media_set(path, file, "RESTORE FILELIST")
    inst.check_tde_cert(bset, "RESTORE FILELIST")
    cols = [
        "LogicalName",
        "PhysicalName",
        "Type",
        "FileGroupName",
        "Size",
        "MaxSize",
        "FileId",
        "CreateLSN",
        "DropLSN",
        "UniqueId",
        "ReadOnlyLSN",
        "ReadWriteLSN",
        "BackupSizeInBytes",
        "SourceBlockSize",
        "FileGroupId",
        "LogGroupGUID",
        "DifferentialBaseLSN",
        "DifferentialBaseGUID",
        "IsReadOnly",
        "IsPresent",
        "TDEThumbprint",
        "SnapshotUrl",
    ]
    thumb = bset.tde["thumbprint"] if bset.tde else None
    rows = [
        [
            f.logical_name,
            f.physical_name,
            f.type,
            "PRIMARY" if f.type == "D" else None,
            f.size,
            35184372080640,
            f.file_id,
            0,
            0,
            None,
            0,
            0,
            f.size,
            512,
            1 if f.type == "D" else 0,
            None,
            0,
            None,
            0,
            1,
            thumb,
            None,
        ]
        for f in bset.files
    ]
    return ResultSet(cols, rows)


# -- token parsing helpers -------------------------------------------------------------------------------
class Parser:
    """Cursor over a statement's tokens for the administrative statements."""

    def __init__(self, toks: list[Token], session: Session) -> None:
        self.toks, self.i, self.s = toks, 0, session

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> Token:
        t = self.peek()
        if t is None:
            raise messages.syntax(self.toks[-1].text if self.toks else ";")
        self.i += 1
        return t

    def peek_kw(self, *words: str) -> bool:
        t = self.peek()
        return t is not None and t.is_kw(*words)

    def kw(self, *words: str) -> bool:
        if self.peek_kw(*words):
            self.i += 1
            return True
        return False

    def expect(self, word: str) -> bool:
        t = self.next()
        if not t.is_kw(word):
            raise messages.syntax(t.text)
        return True

    def op(self, text: str) -> bool:
        t = self.peek()
        if t is not None and t.kind == "op" and t.text == text:
            self.i += 1
            return True
        return False

    def expect_op(self, text: str) -> None:
        t = self.next()
        if t.kind != "op" or t.text != text:
            raise messages.syntax(t.text)

    def name(self) -> str:
        t = self.next()
        if t.kind in ("word", "qident"):
            return t.name
        if t.kind in ("str", "var"):
            return str(self.s.eval_tokens([t]))
        raise messages.syntax(t.text)

    def multipart(self) -> list[str]:
        parts = [self.name()]
        while self.op("."):
            if self.op("."):
                parts.append("")
            parts.append(self.name())
        return [p for p in parts]

    def value(self) -> Any:
        t = self.next()
        if t.kind == "op" and t.text == "-":
            return -self.value()
        if t.kind in ("str", "num", "var") or t.is_kw("NULL"):
            return self.s.eval_tokens([t])
        if t.kind in ("word", "qident"):
            return t.name
        raise messages.syntax(t.text)

    def rest(self) -> list[Token]:
        out, self.i = self.toks[self.i :], len(self.toks)
        return out

    def end(self) -> None:
        t = self.peek()
        if t is not None:
            raise messages.syntax(t.text)

    def skip_rest_after(self, *words: str) -> None:
        if self.peek_kw(*words):
            self.i = len(self.toks)
        self.end()

    def options_until(self, closer: str | None) -> dict[str, Any]:
        """NAME [= value] [, ...]; MOVE 'a' TO 'b' collects into "MOVE"; BY-phrases join their words."""
        opts: dict[str, Any] = {}
        while True:
            t = self.peek()
            if t is None or (closer and t.kind == "op" and t.text == closer):
                return opts
            if t.kind == "op" and t.text == ",":
                self.i += 1
                continue
            words = [self.next().value]
            while self.peek_kw("BY", "PASSWORD", "KEY", "SERVER", "CERTIFICATE"):
                words.append(self.next().value)
            key = " ".join(words)
            if key == "MOVE":
                src = str(self.value())
                self.expect("TO")
                opts.setdefault("MOVE", []).append((src, str(self.value())))
            elif self.op("="):
                opts[key] = self.value()
            elif self.peek() is not None and self.peek().kind == "op" and self.peek().text == "(":  # type: ignore[union-attr]
                depth = 0
                while True:
                    x = self.next()
                    depth += x.text == "(" and x.kind == "op"
                    depth -= x.text == ")" and x.kind == "op"
                    if depth == 0:
                        break
                opts[key] = True
            else:
                opts[key] = True


def _split_commas(toks: list[Token]) -> list[list[Token]]:
    out: list[list[Token]] = [[]]
    depth = 0
    for t in toks:
        if t.kind == "op" and t.text == "(":
            depth += 1
        elif t.kind == "op" and t.text == ")":
            depth -= 1
        elif t.kind == "op" and t.text == "," and depth == 0:
            out.append([])
            continue
        out[-1].append(t)
    return out if out != [[]] else []


_CLAUSE = {"FROM", "WHERE", "GROUP", "ORDER", "HAVING", "UNION", "OPTION", "INTO", "EXCEPT", "INTERSECT"}


def _select_assignments(toks: list[Token]) -> tuple[list[str], list[Token]]:
    """SELECT @a = x, @b = y FROM ... -> (["@a", "@b"], tokens of SELECT x, y FROM ...)."""
    i, depth, end = 1, 0, len(toks)
    while i < len(toks) and toks[i].is_kw("TOP", "DISTINCT"):
        i += 2 if toks[i].is_kw("TOP") else 1
    start = i
    for j in range(start, len(toks)):
        t = toks[j]
        if t.kind == "op" and t.text == "(":
            depth += 1
        elif t.kind == "op" and t.text == ")":
            depth -= 1
        elif depth == 0 and t.kind == "word" and t.value in _CLAUSE:
            end = j
            break
    items = _split_commas(toks[start:end])
    if not items or not all(len(it) > 2 and it[0].kind == "var" and it[1].text == "=" for it in items):
        return [], toks
    comma = Token("op", ",", ",", 0, 0, 0)
    body: list[Token] = []
    for k, it in enumerate(items):
        if k:
            body.append(comma)
        body.extend(it[2:])
    return [it[0].value for it in items], [*toks[:start], *body, *toks[end:]]


def literal(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, bytes):
        return "0x" + v.hex()
    return "'" + str(v).replace("'", "''") + "'"


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _coerce(type_name: str, v: Any) -> Any:
    if v is None:
        return None
    t = type_name.upper()
    base = t.split("(")[0].strip()
    try:
        if base in ("INT", "BIGINT", "SMALLINT", "TINYINT", "BIT"):
            return int(v)
        if base in ("NUMERIC", "DECIMAL"):
            scale = t.split(",")[1].rstrip(") ") if "," in t else "0"
            return int(v) if scale.strip() == "0" else float(v)
        if base in ("FLOAT", "REAL", "MONEY"):
            return float(v)
        if base in ("VARCHAR", "NVARCHAR", "CHAR", "NCHAR", "SYSNAME", "TEXT", "NTEXT"):
            return _text(v)
    except (TypeError, ValueError):
        raise sql_error(
            245, f"Conversion failed when converting the value '{v}' to data type {base.lower()}."
        ) from None
    return v


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _date(v: Any) -> datetime | None:
    if v is None:
        return None
    try:
        return datetime.fromisoformat(str(v).replace("/", "-"))
    except ValueError:
        raise sql_error(241, "Conversion failed when converting date and/or time from character string.") from None


def _stats_n(opts: dict[str, Any]) -> int | None:
    if "STATS" not in opts:
        return None
    v = opts["STATS"]
    return 10 if v is True else int(v)


def _stats(opts: dict[str, Any]) -> list[str]:
    n = _stats_n(opts)
    return [f"{p} percent processed." for p in range(n, 101, n)] if n else []
