"""T-SQL procedural statements → PL/pgSQL (the body of a procedure, function or trigger function).

Naming (cannot collide with column names, so PL/pgSQL never meets an ambiguous name):
- parameter @Name → par_name, local variable @Name → var_name (lower case, AWS SCT's convention);
- table variable @T → temporary table tv_t; #temp table #T → temporary table t (expr.py's spelling);
- cursor C → refcursor variable cur_c; generated state lives in sys_* variables (sys_rowcount, sys_fetch_status,
  sys_identity, sys_trancount, sys_err_*); result-set cursors are result_set, result_set_2, ...; a procedure's
  RETURN n goes to the INOUT parameter return_status.
Every body starts with `#variable_conflict use_column` as a second guard.

Result sets: a procedure's SELECT without assignment opens an `INOUT result_set refcursor` parameter (the N-th
result set → result_set_N, numbered along each control path, so IF/ELSE branches share numbers). The caller does
`CALL p(...)` and `FETCH ALL FROM "<name returned>"` in the same transaction; Routine.returns_table is set.

Errors (TRY/CATCH → BEGIN … EXCEPTION WHEN OTHERS THEN): the handler first runs GET STACKED DIAGNOSTICS into
sys_err_message/state/detail/context, and
- ERROR_MESSAGE() → sys_err_message (SQLERRM);
- ERROR_NUMBER() → the number given to THROW/RAISERROR (carried in the error's DETAIL), else from SQLSTATE:
  23505→2627, 23503/23514→547, 23502→515, 22012→8134, 22003→8115, 22001→8152, 40P01→1205, 22P02/22007/22008→245,
  anything else → 50000;
- ERROR_SEVERITY() → 16, ERROR_STATE() → 1, ERROR_LINE() → the PL/pgSQL line from PG_EXCEPTION_CONTEXT,
  ERROR_PROCEDURE() → the PL/pgSQL function name from PG_EXCEPTION_CONTEXT. Outside a CATCH block they are NULL.
- THROW n, msg, s / RAISERROR(msg, sev ≥ 11, …) → RAISE EXCEPTION (ERRCODE P0001, DETAIL n, 50000 for
  RAISERROR with a text); RAISERROR with severity ≤ 10 → RAISE NOTICE; THROW; → RAISE;
Also: SELECT @v = … FROM … keeps @v when no row is found (as T-SQL does; PL/pgSQL would assign NULL); a simple
assignment sets @@ROWCOUNT to 1; a trigger does not fire itself again through its own statements (T-SQL's default
RECURSIVE_TRIGGERS OFF), using a transaction-local setting dbshift.trg_<function> as the guard.
Transactions (procedures only): BEGIN TRAN only counts @@TRANCOUNT (sys_trancount; a CALL runs in a transaction
already); COMMIT/ROLLBACK → COMMIT/ROLLBACK (legal when CALLed outside a transaction block), except inside a TRY
block, where PostgreSQL forbids them (an EXCEPTION block is a subtransaction): there COMMIT is deferred to just
after the block (sys_commit_pending) and ROLLBACK raises error 3903 so the block's work is undone and CATCH runs —
both with an action item. In a CATCH handler ROLLBACK is legal and rolls back the whole transaction, as in T-SQL.
In a trigger, ROLLBACK raises error 3609 ("The transaction ended in the trigger"), which aborts the statement.
Temporary tables (#t, table variables, a TVF's @table) are dropped if present and created again at each call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dbshift.convert import expr, names, types
from dbshift.convert.model import Column, Context
from dbshift.convert.plpgsql_exec import ExecMixin
from dbshift.convert.plpgsql_parse import Block, If, Node, Simple, Tok, Try, While, find_top, split_top
from dbshift.convert.plpgsql_tokens import (
    Unconverted,
    balanced,
    drop_default_args,
    drop_temp,
    param_pg_name,
    unqualify_set_targets,
)

ERR_NUMBER = (
    "CASE WHEN sys_err_state = 'P0001' AND sys_err_detail ~ '^-?[0-9]+$' THEN sys_err_detail::integer"
    " WHEN sys_err_state = '23505' THEN 2627 WHEN sys_err_state IN ('23503', '23514') THEN 547"
    " WHEN sys_err_state = '23502' THEN 515 WHEN sys_err_state = '22012' THEN 8134"
    " WHEN sys_err_state = '22003' THEN 8115 WHEN sys_err_state = '22001' THEN 8152"
    " WHEN sys_err_state = '40P01' THEN 1205 WHEN sys_err_state IN ('22P02', '22007', '22008') THEN 245"
    " WHEN sys_err_state IS NULL THEN NULL ELSE 50000 END"
)
_ERR_FUNCS = {
    "ERROR_MESSAGE": "@sys_err_message",
    "ERROR_NUMBER": "@sys_err_number",
    "ERROR_SEVERITY": "@sys_err_severity",
    "ERROR_STATE": "@sys_err_statenum",
    "ERROR_LINE": "@sys_err_line",
    "ERROR_PROCEDURE": "@sys_err_procedure",
}
_SYS_VARS = {  # pseudo-variable → (pg name, pg type, T-SQL type)
    "@sys_rowcount": ("sys_rowcount", "bigint", "bigint"),
    "@sys_fetch_status": ("sys_fetch_status", "integer", "int"),
    "@sys_identity": ("sys_identity", "bigint", "bigint"),
    "@sys_trancount": ("sys_trancount", "integer", "int"),
    "@sys_error": ("sys_error", "integer", "int"),
    "@sys_err_message": ("sys_err_message", "text", "nvarchar(4000)"),
    "@sys_err_number": ("sys_err_number", "integer", "int"),
    "@sys_err_severity": ("sys_err_severity", "integer", "int"),
    "@sys_err_statenum": ("sys_err_statenum", "integer", "int"),
    "@sys_err_line": ("sys_err_line", "integer", "int"),
    "@sys_err_procedure": ("sys_err_procedure", "text", "nvarchar(128)"),
}
_DROPPED_SET = {
    "NOCOUNT", "ANSI_NULLS", "QUOTED_IDENTIFIER", "ANSI_WARNINGS", "ANSI_PADDING", "ANSI_NULL_DFLT_ON",
    "ARITHABORT", "CONCAT_NULL_YIELDS_NULL", "NUMERIC_ROUNDABORT", "STATISTICS", "FMTONLY", "NOEXEC",
    "XACT_ABORT", "IMPLICIT_TRANSACTIONS", "ANSI_DEFAULTS", "ARITHIGNORE", "CURSOR_CLOSE_ON_COMMIT",
}  # fmt: skip


_TYPE_METHODS = {
    **dict.fromkeys(("MODIFY", "EXIST", "VALUE", "NODES", "QUERY"), "XML"),
    **dict.fromkeys(
        ("GETANCESTOR", "GETDESCENDANT", "GETLEVEL", "ISDESCENDANTOF", "GETREPARENTEDVALUE", "TOSTRING", "GETROOT"),
        "hierarchyid",
    ),
    **dict.fromkeys(("STDISTANCE", "STASTEXT", "STINTERSECTS", "LAT", "LONG"), "spatial"),
}


@dataclass
class TriggerInfo:
    table_pg: str  # qualified PostgreSQL table/view name
    table_key: str  # catalog key "schema.name"
    event: str  # INSERT / UPDATE / DELETE (one event per trigger function)
    row_level: bool  # FOR EACH ROW (INSTEAD OF) vs FOR EACH STATEMENT with transition tables
    return_text: str  # what RETURN becomes, e.g. "RETURN NULL"


@dataclass
class Body:
    """What an emitted body needs around it."""

    declarations: list[str]
    statements: list[str]
    result_sets: int = 0
    return_status: bool = False
    transaction_control: bool = False
    depends_on: set[str] = field(default_factory=set)


@dataclass
class Emitter(ExecMixin):
    ctx: Context
    kind: str  # procedure / function / tvf / trigger
    src: str  # the object's full T-SQL text (token offsets point into it)
    schema: str  # T-SQL schema of the routine (unqualified names resolve here, then dbo)
    trigger: TriggerInfo | None = None
    tvf_table: str | None = None  # temp table of a multi-statement TVF's @return table
    decls: dict[str, str] = field(default_factory=dict)
    out: list[str] = field(default_factory=list)
    table_vars: dict[str, str] = field(default_factory=dict)  # "@t" → temp table name
    cursors: dict[str, tuple[list[Tok], bool]] = field(default_factory=dict)
    result_sets: int = 0
    max_result_sets: int = 0
    return_status: bool = False
    transaction_control: bool = False
    try_depth: int = 0
    catch_depth: int = 0
    commit_pending: bool = False
    rowcount_limit: str | None = None
    last_insert: int | None = None  # index in out of the last INSERT … VALUES, for SCOPE_IDENTITY
    last_insert_table: str = ""
    uses_rowcount: bool = False
    temp_tables: dict[str, dict[str, Column] | None] = field(default_factory=dict)  # catalog entries to restore
    returns_bit: bool = False  # a scalar function RETURNS bit (→ boolean)
    depends_on: set[str] = field(default_factory=set)

    # -- entry

    def body(self, block: Block) -> Body:
        text_upper = self.src.upper()
        self.uses_rowcount = "@@ROWCOUNT" in text_upper
        for key, (pg, _pg_type, tsql_type) in _SYS_VARS.items():
            self.ctx.variables[key] = pg
            self.ctx.variable_types[key] = tsql_type
        if self.trigger is not None and self.uses_rowcount:
            table = "deleted" if self.trigger.event == "DELETE" else "inserted"
            if self.trigger.row_level:
                self.out.append("sys_rowcount := 1;")
            else:
                self.out.append(f"sys_rowcount := (SELECT count(*) FROM {table});")
        try:
            self.block(block, 0)
        finally:
            for key, previous in self.temp_tables.items():  # the temp tables' columns were for this routine only
                if previous is None:
                    self.ctx.catalog.tables.pop(key, None)
                else:
                    self.ctx.catalog.tables[key] = previous
        for key, (pg, pg_type, _t) in _SYS_VARS.items():
            if any(pg in line for line in self.out):
                init = {"sys_trancount": " := 0", "sys_fetch_status": " := -1", "sys_error": " := 0"}.get(pg, "")
                self.decls.setdefault(pg, pg_type + init)
            self.ctx.variables.pop(key, None)
        if any("sys_commit_pending" in line for line in self.out):
            self.decls["sys_commit_pending"] = "boolean := false"
        declarations = [f"{name} {decl};" for name, decl in self.decls.items()]
        return Body(
            declarations, self.out, self.max_result_sets, self.return_status, self.transaction_control, self.depends_on
        )

    # -- helpers

    def note(self, severity: str, message: str, construct: str, offset: int) -> None:
        self.ctx.note(severity, message, construct, offset)  # type: ignore[arg-type]

    def emit(self, ind: int, line: str) -> None:
        # one entry, continuation lines left as they are: they may be inside a multi-line string literal
        self.out.append("    " * ind + line)

    def render(self, toks: list[Tok]) -> str:
        """T-SQL text of tokens with the pseudo-variables/functions replaced (for expr.py to convert)."""
        toks = drop_default_args(toks)
        parts: list[str] = []
        i, n = 0, len(toks)
        prev_end = toks[0].start if toks else 0
        while i < n:
            t = toks[i]
            gap = self.src[prev_end : t.start] if prev_end >= 0 and t.start >= 0 else " "
            parts.append(gap if not gap.strip() else ("\n" if "\n" in gap else " "))
            text, i = self.replace(toks, i)
            parts.append(text)
            prev_end = toks[i - 1].end
        return "".join(parts).strip()

    def replace(self, toks: list[Tok], i: int) -> tuple[str, int]:
        t = toks[i]
        up = t.text.upper()
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        nxt2 = toks[i + 2] if i + 2 < len(toks) else None
        empty_call = nxt is not None and nxt.text == "(" and nxt2 is not None and nxt2.text == ")"
        if t.kind == "var":
            if up == "@@ROWCOUNT":
                return "@sys_rowcount", i + 1
            if up == "@@FETCH_STATUS":
                return "@sys_fetch_status", i + 1
            if up == "@@IDENTITY":
                return self.identity(t), i + 1
            if up == "@@TRANCOUNT":
                return ("1" if self.trigger else "@sys_trancount"), i + 1
            if up == "@@ERROR":
                self.note("warning", "@@ERROR is always 0 here: errors jump to the EXCEPTION block", "error", t.start)
                return "@sys_error", i + 1
            if t.text.lower() in self.table_vars:
                return self.table_vars[t.text.lower()], i + 1
            return t.text, i + 1
        if t.kind == "word":
            prev = toks[i - 1] if i else None
            if prev is not None and prev.text == "." and up in _TYPE_METHODS and nxt is not None and nxt.text == "(":
                raise Unconverted(f"{_TYPE_METHODS[up]} method {t.text}(): no PostgreSQL equivalent", "type-method")
            if up == "SCOPE_IDENTITY" and empty_call:
                return self.identity(t), i + 3
            if up in _ERR_FUNCS and empty_call:
                if not self.catch_depth:
                    self.note(
                        "warning",
                        f"{up}() outside a CATCH block is NULL in PostgreSQL (a called routine does not see the "
                        "caller's error): pass the values as parameters",
                        "error-functions",
                        t.start,
                    )
                return _ERR_FUNCS[up], i + 3
            if up == "XACT_STATE" and empty_call:
                inner = "1" if self.trigger else "@sys_trancount"
                return f"(CASE WHEN {inner} > 0 THEN 1 ELSE 0 END)", i + 3
            if up == "UPDATE" and self.trigger is not None and nxt is not None and nxt.text == "(":
                close = i + 2
                while close < len(toks) and toks[close].text != ")":
                    close += 1
                column = "".join(x.text for x in toks[i + 2 : close])
                return self.update_test(column, t), close + 1
            if up == "COLUMNS_UPDATED" and empty_call:
                raise Unconverted("COLUMNS_UPDATED() has no PostgreSQL equivalent: test columns one by one", "trigger")
            if t.text.startswith("#"):
                return names.ident(t.text.lstrip("#")), i + 1
            if self.trigger is not None and up in ("INSERTED", "DELETED"):
                prev = toks[i - 1] if i else None
                table_position = prev is not None and (prev.kw in ("FROM", "JOIN") or prev.text == ",")
                if table_position and (nxt is None or nxt.text != ".") and self.missing_pseudo(up):
                    return f"(SELECT * FROM {self.trigger.table_pg} WHERE 1 = 0) AS {up.lower()}", i + 1
        return t.text, i + 1

    def missing_pseudo(self, name: str) -> bool:
        """In a statement-level trigger for one event, the transition table the event lacks (empty in T-SQL)."""
        assert self.trigger is not None
        if self.trigger.row_level:
            return False
        ev = self.trigger.event
        return (name == "INSERTED" and ev == "DELETE") or (name == "DELETED" and ev == "INSERT")

    def update_test(self, column: str, t: Tok) -> str:
        assert self.trigger is not None
        ev = self.trigger.event
        col = names.ident(column)
        if ev == "INSERT" and not self.trigger.row_level:
            return "(1 = 1)"
        if ev == "DELETE" and not self.trigger.row_level:
            return "(1 = 0)"
        self.note(
            "info",
            f"UPDATE({names.unquote(column)}) → true when some row's value changed (T-SQL: column in the SET list)",
            "trigger-update-test",
            t.start,
        )
        if self.trigger.row_level:
            return f"(TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.{col} IS DISTINCT FROM OLD.{col}))"
        return (
            f"(EXISTS (SELECT {col} FROM inserted EXCEPT ALL SELECT {col} FROM deleted)"
            f" OR EXISTS (SELECT {col} FROM deleted EXCEPT ALL SELECT {col} FROM inserted))"
        )

    def identity(self, t: Tok) -> str:
        """SCOPE_IDENTITY()/@@IDENTITY → RETURNING <identity column> INTO sys_identity on the last INSERT."""
        if self.last_insert is not None:
            column = self.identity_column(self.last_insert_table)
            if column:
                line = self.out[self.last_insert]
                if " RETURNING " not in line.upper():
                    self.out[self.last_insert] = (
                        line.rstrip(";") + f" RETURNING {names.ident(column)} INTO sys_identity;"
                    )
                return "@sys_identity"
        self.note(
            "warning",
            "SCOPE_IDENTITY()/@@IDENTITY without a preceding INSERT into a table with a known identity column: "
            "lastval() used (the session's last sequence value)",
            "identity",
            t.start,
        )
        return "lastval()"

    def identity_column(self, table: str) -> str | None:
        columns = self.ctx.catalog.tables.get(table, {})
        for col in columns.values():
            if col.identity:
                return col.name
        return None

    def sql(self, toks: list[Tok]) -> str:
        return expr.convert_statement(self.render(toks), self.ctx)

    def expression(self, toks: list[Tok], bit: bool = False) -> str:
        """bit: the value goes to a bit (boolean) variable/result; PL/pgSQL has no integer → boolean assignment
        cast, so 0/1 (and CASE … THEN 1 ELSE 0) become false/true and anything else is cast as T-SQL converts
        to bit (non-zero → 1)."""
        text = self.render(toks)
        if bit:
            text = f"CAST(({text}) AS bit)"
        return expr.convert_expression(text, self.ctx)

    def is_bit_variable(self, tsql_name: str) -> bool:
        return types.is_bit(self.ctx.variable_types.get(tsql_name.lower(), ""), self.ctx.catalog)

    def var_name(self, tsql: str) -> str:
        key = tsql.lower()
        if key not in self.ctx.variables:
            raise Unconverted(f"variable {tsql} is not declared", "variable")
        return self.ctx.variables[key]

    def table_key(self, toks: list[Tok]) -> str:
        schema, name = names.split_schema_name("".join(t.text for t in toks), self.schema)
        key = f"{schema}.{name}".lower()
        if key not in self.ctx.catalog.tables and f"dbo.{name}".lower() in self.ctx.catalog.tables:
            key = f"dbo.{name}".lower()
        return key

    # -- statements

    def block(self, block: Block, ind: int) -> None:
        for stmt in block.stmts:
            self.stmt(stmt, ind)

    def stmt(self, node: Node, ind: int) -> None:
        if isinstance(node, Block):
            self.block(node, ind)
        elif isinstance(node, If):
            self.if_(node, ind, "IF")
        elif isinstance(node, While):
            cond = self.guarded_condition(node.cond, node.start)
            self.emit(ind, f"WHILE {cond} LOOP")
            before = self.result_sets
            self.stmt(node.body, ind + 1)
            if self.result_sets != before:
                self.note(
                    "warning", "result set inside a loop: only one cursor per result set", "result-set", node.start
                )
            self.emit(ind, "END LOOP;")
        elif isinstance(node, Try):
            self.try_(node, ind)
        else:
            try:
                self.simple(node, ind)
            except (Unconverted, expr.ConvertError, ValueError) as err:
                construct = getattr(err, "construct", "statement")
                severity = getattr(err, "severity", "error")
                self.note(severity, f"{err}: convert by hand", construct, node.start)
                first = self.src[node.toks[0].start : node.toks[-1].end].splitlines()[0] if node.toks else ""
                self.emit(ind, f"-- [dbshift] not converted ({construct}): {first[:150]}")

    def guarded_condition(self, cond: list[Tok], offset: int) -> str:
        try:
            # parenthesised: "SELECT @a = 0" would be an assignment to expr.py, "SELECT (@a = 0)" a comparison
            text = expr.convert_expression("(" + self.render(cond) + ")", self.ctx)
            # kept in parentheses when a CASE inside would show PL/pgSQL's IF a THEN of its own
            strip = text.startswith("(") and text.endswith(")") and balanced(text[1:-1]) and "CASE" not in text
            return text[1:-1] if strip else text
        except (Unconverted, expr.ConvertError, ValueError) as err:
            self.note("error", f"condition not converted ({err}): convert by hand", "condition", offset)
            return "false /* [dbshift] condition not converted */"

    def if_(self, node: If, ind: int, word: str) -> None:
        cond = self.guarded_condition(node.cond, node.start)
        self.emit(ind, f"{word} {cond} THEN")
        before = self.result_sets
        self.stmt(node.then, ind + 1)
        after_then = self.result_sets
        if isinstance(node.else_, If):
            self.result_sets = before
            self.if_(node.else_, ind, "ELSIF")
            self.result_sets = max(self.result_sets, after_then)
            return
        if node.else_ is not None:
            self.result_sets = before
            self.emit(ind, "ELSE")
            self.stmt(node.else_, ind + 1)
            self.result_sets = max(self.result_sets, after_then)
        self.emit(ind, "END IF;")

    def try_(self, node: Try, ind: int) -> None:
        self.emit(ind, "BEGIN")
        self.try_depth += 1
        outer_pending = self.commit_pending
        self.block(node.body, ind + 1)
        self.try_depth -= 1
        self.emit(ind, "EXCEPTION WHEN OTHERS THEN")
        self.emit(
            ind + 1,
            "GET STACKED DIAGNOSTICS sys_err_message = MESSAGE_TEXT, sys_err_state = RETURNED_SQLSTATE,\n"
            "    sys_err_detail = PG_EXCEPTION_DETAIL, sys_err_context = PG_EXCEPTION_CONTEXT;",
        )
        self.emit(ind + 1, f"sys_err_number := {ERR_NUMBER};")
        self.emit(ind + 1, "sys_err_severity := 16; sys_err_statenum := 1;")
        self.emit(ind + 1, "sys_err_line := (regexp_match(sys_err_context, 'line ([0-9]+)'))[1]::integer;")
        self.emit(ind + 1, "sys_err_procedure := (regexp_match(sys_err_context, 'function ([^ (]+)'))[1];")
        for name, decl in (
            ("sys_err_message", "text"),
            ("sys_err_state", "text"),
            ("sys_err_detail", "text"),
            ("sys_err_context", "text"),
            ("sys_err_number", "integer"),
            ("sys_err_severity", "integer"),
            ("sys_err_statenum", "integer"),
            ("sys_err_line", "integer"),
            ("sys_err_procedure", "text"),
        ):
            self.decls.setdefault(name, decl)
        self.catch_depth += 1
        self.block(node.catch, ind + 1)
        self.catch_depth -= 1
        self.emit(ind, "END;")
        if self.commit_pending and not self.try_depth and not outer_pending:
            self.emit(ind, "IF sys_commit_pending THEN")
            self.emit(ind + 1, "sys_commit_pending := false;")
            self.emit(ind + 1, "COMMIT;")
            self.emit(ind, "END IF;")
            self.commit_pending = False

    def simple(self, node: Simple, ind: int) -> None:
        verb = node.verb
        toks = node.toks
        handler = {
            "DECLARE": self.declare,
            "SET": self.set_,
            "SELECT": self.select,
            "WITH": self.with_,
            "INSERT": self.dml,
            "UPDATE": self.dml,
            "DELETE": self.dml,
            "MERGE": self.dml,
            "TRUNCATE": self.dml,
            "RETURN": self.return_,
            "PRINT": self.print_,
            "RAISERROR": self.raiserror,
            "THROW": self.throw,
            "EXEC": self.exec_,
            "EXECUTE": self.exec_,
            "OPEN": self.open_,
            "FETCH": self.fetch,
            "CLOSE": self.close,
            "DEALLOCATE": self.deallocate,
            "BREAK": lambda toks, ind: self.emit(ind, "EXIT;"),
            "CONTINUE": lambda toks, ind: self.emit(ind, "CONTINUE;"),
            "BEGIN TRAN": self.begin_tran,
            "COMMIT": self.commit,
            "ROLLBACK": self.rollback,
            "SAVE": self.save,
            "CREATE": self.create,
            "DROP": self.drop,
            "WAITFOR": self.waitfor,
        }.get(verb)
        if handler is None:
            raise Unconverted(f"statement {toks[0].text.upper()} has no PL/pgSQL conversion", "statement")
        handler(toks, ind)

    def declare(self, toks: list[Tok], ind: int) -> None:
        if len(toks) > 2 and toks[1].kind != "var" and find_top(toks, "CURSOR") > 0:
            self.declare_cursor(toks)
            return
        for item in split_top(toks[1:]):
            if not item:
                continue
            var = item[0]
            rest = item[1:]
            if rest and rest[0].kw == "AS":
                rest = rest[1:]
            if var.kind != "var":
                raise Unconverted(f"DECLARE of {var.text!r} not understood", "declare")
            key = var.text.lower()
            if rest and rest[0].kw == "TABLE":
                self.table_variable(key, rest[1:], ind, var.start)
                continue
            if rest and rest[0].kw == "CURSOR":
                raise Unconverted(f"cursor variable {var.text}: use a named cursor (DECLARE c CURSOR FOR …)", "cursor")
            eq = next((k for k, t in enumerate(rest) if t.text == "="), len(rest))
            tsql_type = "".join(t.text if t.kind != "word" else " " + t.text for t in rest[:eq]).strip()
            pg = names.quote_if_needed("var_" + key[1:])
            self.ctx.variables[key] = pg
            self.ctx.variable_types[key] = tsql_type
            self.decls[pg] = types.pg_type(tsql_type, self.ctx.catalog)
            if eq < len(rest):
                self.emit(ind, f"{pg} := {self.expression(rest[eq + 1 :], self.is_bit_variable(key))};")

    def table_variable(self, key: str, coldefs: list[Tok], ind: int, offset: int) -> None:
        name = names.quote_if_needed("tv_" + key[1:])
        self.table_vars[key] = name
        self.ctx.variables[key] = name
        self.emit(ind, drop_temp(name))
        self.emit(ind, f"CREATE TEMP TABLE {name} ({self.column_defs(coldefs, offset, name.strip(chr(34)))});")

    def register_temp(self, name: str, columns: dict[str, Column]) -> None:
        """A #temp table / table variable's columns, so expr.py knows their types (string +, bit = 1) in this
        routine. PostgreSQL resolves pg_temp first, so the temp table also hides a real table of that name here;
        body() restores the catalog afterwards."""
        for schema in {self.schema.lower(), "dbo"}:
            key = f"{schema}.{name}".lower()
            if key not in self.temp_tables:
                self.temp_tables[key] = self.ctx.catalog.tables.get(key)
            self.ctx.catalog.tables[key] = columns

    def column_defs(self, toks: list[Tok], offset: int, table: str | None = None) -> str:
        """(col type [NULL|NOT NULL|PRIMARY KEY|IDENTITY|DEFAULT …], …) of a temp table/table variable → PG.
        table: the name expr.py sees it by (registered with its columns)."""
        if not toks or toks[0].text != "(":
            raise Unconverted("table definition without a column list", "temp-table")
        inner = toks[1:-1] if toks[-1].text == ")" else toks[1:]
        out: list[str] = []
        columns: dict[str, Column] = {}
        if table is not None:
            self.register_temp(table, columns)
        for part in split_top(inner):
            if not part:
                continue
            if part[0].kw in ("PRIMARY", "UNIQUE", "CHECK", "CONSTRAINT"):
                if part[0].kw == "CONSTRAINT":
                    part = part[2:]
                out.append(self.render(part).replace("CLUSTERED", "").replace("NONCLUSTERED", ""))
                continue
            if part[0].kw == "INDEX":
                self.note("info", "inline INDEX of a table variable dropped", "temp-table", offset)
                continue
            col = names.ident(part[0].text)
            k = 1
            type_toks: list[Tok] = []
            depth = 0
            while k < len(part):
                t = part[k]
                if depth == 0 and t.kw in ("NULL", "NOT", "PRIMARY", "UNIQUE", "IDENTITY", "DEFAULT", "CHECK",
                                           "COLLATE", "CONSTRAINT", "INDEX", "ROWGUIDCOL"):  # fmt: skip
                    break
                depth += t.text == "("
                depth -= t.text == ")"
                type_toks.append(t)
                k += 1
            tsql_type = "".join(t.text if t.kind != "word" else " " + t.text for t in type_toks).strip()
            pieces = [col, types.pg_type(tsql_type, self.ctx.catalog)]
            rest = part[k:]
            columns[names.unquote(part[0].text).lower()] = Column(
                names.unquote(part[0].text), tsql_type, pieces[1], identity=any(t.kw == "IDENTITY" for t in rest)
            )
            j = 0
            while j < len(rest):
                w = rest[j].kw
                if w == "IDENTITY":
                    pieces.append("GENERATED BY DEFAULT AS IDENTITY")
                    if j + 1 < len(rest) and rest[j + 1].text == "(":
                        while j < len(rest) and rest[j].text != ")":
                            j += 1
                elif w == "DEFAULT":
                    end = j + 1
                    depth = 0
                    while end < len(rest) and (depth or rest[end].kw not in ("NULL", "NOT", "PRIMARY", "UNIQUE")):
                        depth += rest[end].text == "("
                        depth -= rest[end].text == ")"
                        end += 1
                    pieces.append(
                        "DEFAULT " + self.expression(rest[j + 1 : end], types.is_bit(tsql_type, self.ctx.catalog))
                    )
                    j = end - 1
                elif w == "COLLATE":
                    j += 1
                elif w in ("CLUSTERED", "NONCLUSTERED", "ROWGUIDCOL"):
                    pass
                elif w == "KEY" or w in ("NULL", "NOT", "PRIMARY", "UNIQUE"):
                    pieces.append(w)
                elif w == "CONSTRAINT":
                    j += 1
                else:
                    pieces.append(rest[j].text)
                j += 1
            out.append(" ".join(pieces))
        return ", ".join(out)

    def declare_cursor(self, toks: list[Tok]) -> None:
        name = toks[1].text
        cur = find_top(toks, "CURSOR")
        options = {t.kw for t in toks[2:cur]} | set()
        for_at = find_top(toks, "FOR", start=cur + 1)
        if for_at < 0:
            raise Unconverted(f"cursor {name} without FOR query", "cursor")
        options |= {t.kw for t in toks[cur + 1 : for_at]}
        query = toks[for_at + 1 :]
        end = find_top(query, "FOR")
        if end >= 0:  # FOR UPDATE [OF …] / FOR READ ONLY
            if query[end + 1].kw == "UPDATE":
                self.note(
                    "info", f"cursor {name} FOR UPDATE: PostgreSQL locks rows with FOR UPDATE", "cursor", toks[0].start
                )
                query = query  # keep FOR UPDATE: PostgreSQL accepts it
            else:
                query = query[:end]
        scroll = (
            bool(options & {"SCROLL", "STATIC", "KEYSET", "DYNAMIC", "INSENSITIVE"}) and "FORWARD_ONLY" not in options
        )
        pg = names.quote_if_needed("cur_" + name.lower())
        self.decls[pg] = "refcursor"
        self.cursors[name.lower()] = (query, scroll)

    def cursor_name(self, tok: Tok) -> str:
        name = tok.text.lower()
        if tok.kw == "GLOBAL":
            raise Unconverted("GLOBAL cursor name", "cursor")
        if name not in self.cursors:
            raise Unconverted(f"cursor {tok.text} is not declared in this routine", "cursor")
        return names.quote_if_needed("cur_" + name)

    def open_(self, toks: list[Tok], ind: int) -> None:
        pg = self.cursor_name(toks[-1])
        query, scroll = self.cursors[toks[-1].text.lower()]
        self.emit(ind, f"OPEN {pg}{' SCROLL' if scroll else ''} FOR {self.sql(query)};")

    def fetch(self, toks: list[Tok], ind: int) -> None:
        into = find_top(toks, "INTO")
        if into < 0:
            raise Unconverted("FETCH without INTO returns a row to the client: not supported", "cursor")
        head = toks[1:into]
        if head and head[-1].kw == "FROM":
            head = head[:-1]
        cursor_tok = head[-1]
        direction = " ".join(t.text.upper() for t in head[:-1] if t.kw != "FROM") or "NEXT"
        if direction.split()[0] not in ("NEXT", "PRIOR", "FIRST", "LAST", "ABSOLUTE", "RELATIVE"):
            raise Unconverted(f"FETCH {direction} not understood", "cursor")
        pg = self.cursor_name(cursor_tok)
        targets = [self.var_name(p[0].text) for p in split_top(toks[into + 1 :]) if p]
        self.emit(ind, f"FETCH {direction} FROM {pg} INTO {', '.join(targets)};")
        self.emit(ind, "sys_fetch_status := CASE WHEN FOUND THEN 0 ELSE -1 END;")

    def close(self, toks: list[Tok], ind: int) -> None:
        self.emit(ind, f"CLOSE {self.cursor_name(toks[-1])};")

    def deallocate(self, toks: list[Tok], ind: int) -> None:
        self.cursor_name(toks[-1])
        self.emit(ind, f"-- DEALLOCATE {toks[-1].text}: a PL/pgSQL cursor variable needs no deallocation")

    def set_(self, toks: list[Tok], ind: int) -> None:
        if len(toks) > 1 and toks[1].kind == "var":
            target = self.var_name(toks[1].text)
            op = toks[2].text if len(toks) > 2 else ""
            value = toks[3:]
            if value and value[0].kw == "CURSOR":
                raise Unconverted("cursor variable assignment: use a named cursor", "cursor")
            if op == "=":
                self.emit(ind, f"{target} := {self.expression(value, self.is_bit_variable(toks[1].text))};")
            elif len(op) == 2 and op[1] == "=":
                text = f"{toks[1].text} {op[0]} ({self.render(value)})"
                self.emit(ind, f"{target} := {expr.convert_expression(text, self.ctx)};")
            else:
                raise Unconverted(f"SET {toks[1].text} {op}: not understood", "set")
            if self.uses_rowcount:
                self.emit(ind, "sys_rowcount := 1;  -- a simple assignment sets @@ROWCOUNT to 1")
            return
        option = toks[1].kw if len(toks) > 1 else ""
        if option in _DROPPED_SET:
            if option == "XACT_ABORT":
                self.note(
                    "info",
                    "SET XACT_ABORT dropped: PostgreSQL always aborts the transaction on error",
                    "set",
                    toks[0].start,
                )
            return
        if option == "ROWCOUNT" and len(toks) > 2:
            value = self.render(toks[2:])
            self.rowcount_limit = None if value == "0" else self.expression(toks[2:])
            self.note("info", "SET ROWCOUNT → LIMIT on the following result sets", "set-rowcount", toks[0].start)
            return
        if option == "TRANSACTION":
            self.note(
                "warning",
                "SET TRANSACTION ISOLATION LEVEL dropped: set it on the caller's transaction",
                "set",
                toks[0].start,
            )
            return
        self.note("warning", f"SET {option} dropped: no PostgreSQL equivalent inside a routine", "set", toks[0].start)

    def select(self, toks: list[Tok], ind: int) -> None:
        into = find_top(toks, "INTO")
        from_at = find_top(toks, "FROM")
        if into > 0 and (from_at < 0 or into < from_at):  # SELECT … INTO #t FROM …
            target = toks[into + 1]
            table = names.ident(target.text.lstrip("#")) if target.text.startswith("#") else self.render([target])
            if target.kind == "var":
                raise Unconverted("SELECT … INTO @table_variable is not T-SQL", "select-into")
            rest = toks[:into] + toks[into + 2 :]
            if target.text.startswith("#"):
                self.emit(ind, drop_temp(table))
                self.emit(ind, f"CREATE TEMP TABLE {table} AS {self.sql(rest)};")
            else:
                self.emit(ind, f"CREATE TABLE {names.ident(target.text)} AS {self.sql(rest)};")
            self.after_dml(ind)
            return
        k = 1
        while k < len(toks) and toks[k].kw in ("DISTINCT", "ALL", "TOP", "PERCENT", "WITH", "TIES"):
            if toks[k].kw == "TOP":
                k += 1
                if toks[k].text == "(":
                    depth = 0
                    while True:
                        depth += toks[k].text == "("
                        depth -= toks[k].text == ")"
                        k += 1
                        if depth == 0:
                            break
                    continue
            k += 1
        assigns = k < len(toks) and toks[k].kind == "var" and k + 1 < len(toks) and toks[k + 1].text.endswith("=")
        if assigns:
            self.select_assign(toks, ind)
            return
        self.result_set(toks, ind)

    def select_assign(self, toks: list[Tok], ind: int) -> None:
        """SELECT @a = x … FROM … → SELECT x INTO a …; with a FROM, variables keep their values when no row
        is found (T-SQL assigns nothing, PL/pgSQL would assign NULL)."""
        text = self.sql(toks)
        at = next(k for k, t in enumerate(toks) if t.kw == "SELECT" and self._depth_at(toks, k) == 0)
        end = find_top(toks, "FROM", start=at)
        targets: list[str] = []
        if end > 0:
            for item in split_top(toks[at + 1 : end]):
                var = next((t for t in item if t.kind == "var"), None)
                if var is None or var.text.lower() not in self.ctx.variables:
                    continue
                pg = self.ctx.variables[var.text.lower()]
                targets.append(pg)
                if any(t.kind == "var" and t.text.lower() == var.text.lower() for t in item[item.index(var) + 2 :]):
                    self.note("warning", f"SELECT {var.text} = … {var.text} … FROM: T-SQL accumulates over all rows, "
                              "PL/pgSQL assigns from the first row: use string_agg/sum", "select-assign",
                              toks[0].start)  # fmt: skip
        saved: list[tuple[str, str]] = []
        for pg in targets:
            var_type = self.type_of(pg)
            if var_type is None:
                continue
            save = f"sys_keep_{len(self.decls)}"
            self.decls[save] = var_type
            saved.append((pg, save))
            self.emit(ind, f"{save} := {pg};")
        self.emit(ind, text + ";")
        self.after_dml(ind)
        if saved:
            restore = " ".join(f"{pg} := {save};" for pg, save in saved)
            self.emit(ind, f"IF NOT FOUND THEN {restore} END IF;")

    def type_of(self, pg: str) -> str | None:
        """The PostgreSQL type of a variable or parameter by its PostgreSQL name."""
        if pg in self.decls:
            return self.decls[pg]
        for key, name in self.ctx.variables.items():
            if name == pg and key in self.ctx.variable_types and not key.startswith("@sys_"):
                return types.pg_type(self.ctx.variable_types[key], self.ctx.catalog)
        return None

    def result_set(self, toks: list[Tok], ind: int) -> None:
        self.open_result(self.sql(toks), ind, toks[0].start)

    def open_result(self, text: str, ind: int, offset: int) -> None:
        if self.rowcount_limit is not None:
            text = f"SELECT * FROM ({text}) AS limited LIMIT {self.rowcount_limit}"
        if self.kind != "procedure":
            self.note("warning", f"rows returned to the client from a {self.kind}: dropped", "result-set",
                      offset)  # fmt: skip
            self.emit(ind, f"-- [dbshift] result set dropped: {text[:150]}")
            return
        self.result_sets += 1
        self.max_result_sets = max(self.max_result_sets, self.result_sets)
        name = "result_set" if self.result_sets == 1 else f"result_set_{self.result_sets}"
        self.emit(ind, f"OPEN {name} FOR {text};")

    def with_(self, toks: list[Tok], ind: int) -> None:
        depth = 0
        main = ""
        for t in toks[1:]:
            depth += t.text == "("
            depth -= t.text == ")"
            if depth == 0 and t.kw in ("SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"):
                main = t.kw
                break
        if main == "SELECT":
            at = next(k for k, t in enumerate(toks) if t.kw == "SELECT" and self._depth_at(toks, k) == 0)
            nxt = toks[at + 1] if at + 1 < len(toks) else None
            if nxt is not None and nxt.kind == "var":
                self.select_assign(toks, ind)
            else:
                self.result_set(toks, ind)
            return
        self.dml(toks, ind)

    @staticmethod
    def _depth_at(toks: list[Tok], k: int) -> int:
        depth = 0
        for t in toks[:k]:
            depth += t.text == "("
            depth -= t.text == ")"
        return depth

    def dml(self, toks: list[Tok], ind: int) -> None:
        if toks[0].kw == "INSERT" and find_top(toks, "EXEC", "EXECUTE") > 0:
            raise Unconverted("INSERT … EXEC: call the routine as a function returning a table", "insert-exec")
        if toks[0].kw == "UPDATE":
            toks = unqualify_set_targets(toks)
        text = self.sql(toks)
        out_at = find_top(toks, "OUTPUT")
        if out_at > 0 and find_top(toks, "INTO", start=out_at) < 0:
            # OUTPUT without INTO returns the rows: keep them in a temp table, return them as a result set
            table = f"sys_output_{len(self.out)}"
            self.emit(ind, drop_temp(table))
            self.emit(ind, f"CREATE TEMP TABLE {table} AS WITH output_rows AS ({text}) SELECT * FROM output_rows;")
            self.after_dml(ind)
            self.open_result(f"SELECT * FROM pg_temp.{table}", ind, toks[0].start)
            return
        self.emit(ind, text + ";")
        if toks[0].kw == "INSERT":
            k = 2 if len(toks) > 2 and toks[1].kw == "INTO" else 1
            end = k
            while end < len(toks) and ((toks[end].kind in ("word", "qid") and toks[end].kw not in ("VALUES", "SELECT",
                                       "DEFAULT", "OUTPUT", "EXEC", "WITH")) or toks[end].text == "."):  # fmt: skip
                end += 1
            self.last_insert = len(self.out) - 1 if ";" not in text.rstrip(";") else None
            self.last_insert_table = self.table_key(toks[k:end])
        self.after_dml(ind)

    def after_dml(self, ind: int) -> None:
        if self.uses_rowcount:
            self.emit(ind, "GET DIAGNOSTICS sys_rowcount = ROW_COUNT;")

    def return_(self, toks: list[Tok], ind: int) -> None:
        value = toks[1:]
        if self.kind == "trigger":
            assert self.trigger is not None
            self.emit(ind, self.trigger.return_text)
        elif self.kind == "procedure":
            if value:
                self.return_status = True
                self.emit(ind, f"return_status := {self.expression(value)};")
            self.emit(ind, "RETURN;")
        elif self.kind == "tvf":
            self.emit(ind, f"RETURN QUERY SELECT * FROM {self.tvf_table};")
            self.emit(ind, "RETURN;")
        else:
            if not value:
                raise Unconverted("RETURN without a value in a scalar function", "return")
            self.emit(ind, f"RETURN {self.expression(value, self.returns_bit)};")

    def print_(self, toks: list[Tok], ind: int) -> None:
        self.emit(ind, f"RAISE NOTICE '%', {self.expression(toks[1:])};")

    def raise_args(self, message: list[Tok], args: list[list[Tok]]) -> tuple[str, list[str]]:
        """(format literal, argument expressions) of a RAISERROR/THROW message for RAISE."""
        if len(message) == 1 and message[0].kind == "str":
            lit = message[0].text
            body = lit[2:-1] if lit[:1] in "Nn" and lit[1:2] == "'" else lit[1:-1]
            body = body.replace("%%", "\x00")
            body = re.sub(r"%[-+ 0#]*(\d+|\*)?(\.\d+)?(h|l|I64)?[disuoxXcS]", "\x01", body)
            body = body.replace("%", "%%").replace("\x01", "%").replace("\x00", "%%")
            return "'" + body + "'", [self.expression(a) for a in args]
        if len(message) == 1 and message[0].kind == "num":
            return f"'error {message[0].text} (message text from sys.messages)'", []
        return "'%'", [self.expression(message)]

    def raiserror(self, toks: list[Tok], ind: int) -> None:
        if len(toks) < 2 or toks[1].text != "(":
            raise Unconverted("old-style RAISERROR without parentheses", "raiserror")
        depth, close = 0, 1
        for close in range(1, len(toks)):
            depth += toks[close].text == "("
            depth -= toks[close].text == ")"
            if depth == 0:
                break
        parts = split_top(toks[2:close])
        if len(parts) < 3:
            raise Unconverted("RAISERROR needs message, severity and state", "raiserror")
        severity_text = self.render(parts[1])
        number = parts[0][0].text if len(parts[0]) == 1 and parts[0][0].kind == "num" else "50000"
        fmt, args = self.raise_args(parts[0], parts[3:])
        arg_text = "".join(", " + a for a in args)
        if severity_text.isdigit() and int(severity_text) <= 10:
            self.emit(ind, f"RAISE NOTICE {fmt}{arg_text};")
            return
        if not severity_text.isdigit():
            self.note("warning", "RAISERROR severity is not a constant: raised as an error", "raiserror", toks[0].start)
        self.emit(ind, f"RAISE EXCEPTION {fmt}{arg_text} USING ERRCODE = 'P0001', DETAIL = '{number}';")

    def throw(self, toks: list[Tok], ind: int) -> None:
        if len(toks) == 1:
            if not self.catch_depth:
                raise Unconverted("THROW without arguments outside a CATCH block", "throw")
            self.emit(ind, "RAISE;")
            return
        parts = split_top(toks[1:])
        if len(parts) != 3:
            raise Unconverted("THROW needs number, message and state", "throw")
        number = self.expression(parts[0])
        message = self.expression(parts[1])
        self.emit(ind, f"RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = {message}, DETAIL = ({number})::text;")

    # -- transactions

    def begin_tran(self, toks: list[Tok], ind: int) -> None:
        if self.kind != "procedure":
            raise Unconverted(f"BEGIN TRANSACTION in a {self.kind}", "transaction")
        self.emit(ind, "sys_trancount := sys_trancount + 1;  -- BEGIN TRAN: CALL already runs in a transaction")

    def commit(self, toks: list[Tok], ind: int) -> None:
        if self.kind != "procedure":
            raise Unconverted(f"COMMIT in a {self.kind}", "transaction")
        self.emit(ind, "sys_trancount := greatest(sys_trancount - 1, 0);")
        if self.try_depth:
            self.commit_pending = True
            self.note(
                "warning",
                "COMMIT inside TRY: PostgreSQL cannot commit inside an EXCEPTION block; committed after the block",
                "transaction",
                toks[0].start,
            )
            self.emit(ind, "sys_commit_pending := true;")
            return
        self.transaction_control = True
        self.emit(ind, "IF sys_trancount = 0 THEN COMMIT; END IF;")

    def rollback(self, toks: list[Tok], ind: int) -> None:
        if self.kind == "trigger":
            assert self.trigger is not None
            self.emit(ind, "RAISE EXCEPTION 'The transaction ended in the trigger. The batch has been aborted.' "
                           "USING ERRCODE = 'P0001', DETAIL = '3609';")  # fmt: skip
            return
        if self.kind != "procedure":
            raise Unconverted(f"ROLLBACK in a {self.kind}", "transaction")
        if len(toks) > 2 and toks[1].kw in ("TRAN", "TRANSACTION") and self.savepoint(toks[2]):
            raise Unconverted("ROLLBACK to a savepoint: use a nested BEGIN … EXCEPTION block", "transaction")
        if self.try_depth:
            self.note(
                "warning",
                "ROLLBACK inside TRY: PostgreSQL cannot roll back inside an EXCEPTION block; raised as an error so "
                "the block's work is undone",
                "transaction",
                toks[0].start,
            )
            self.emit(ind, "sys_trancount := 0;")
            self.emit(ind, "RAISE EXCEPTION 'ROLLBACK inside TRY' USING ERRCODE = 'P0001', DETAIL = '3903';")
            return
        self.transaction_control = True
        self.emit(ind, "sys_trancount := 0;")
        self.emit(ind, "ROLLBACK;")

    @staticmethod
    def savepoint(tok: Tok) -> bool:
        return tok.kind in ("word", "qid") and tok.kw not in ("TRAN", "TRANSACTION")

    def save(self, toks: list[Tok], ind: int) -> None:
        raise Unconverted("SAVE TRANSACTION: use a nested BEGIN … EXCEPTION block", "transaction")

    # -- DDL inside bodies

    def create(self, toks: list[Tok], ind: int) -> None:
        if len(toks) > 3 and toks[1].kw == "TABLE" and toks[2].text.startswith("#"):
            name = names.ident(toks[2].text.lstrip("#"))
            self.emit(ind, drop_temp(name))
            self.ctx.variables[toks[2].text.lower()] = name  # "#t" → t: expr.py keeps it unqualified (OUTPUT INTO)
            columns = self.column_defs(toks[3:], toks[0].start, toks[2].text.lstrip("#"))
            self.emit(ind, f"CREATE TEMP TABLE {name} ({columns});")
            return
        raise Unconverted("CREATE inside a routine (other than a #temp table)", "ddl")

    def drop(self, toks: list[Tok], ind: int) -> None:
        if len(toks) >= 3 and toks[1].kw == "TABLE":
            targets = [t for t in toks[2:] if t.kind in ("word", "qid") and t.kw not in ("IF", "EXISTS")]
            if all(t.text.startswith("#") for t in targets):
                for t in targets:
                    self.emit(ind, drop_temp(names.ident(t.text.lstrip("#"))))
                return
        raise Unconverted("DROP inside a routine (other than a #temp table)", "ddl")

    def waitfor(self, toks: list[Tok], ind: int) -> None:
        if len(toks) == 3 and toks[1].kw == "DELAY":
            delay = self.expression(toks[2:])
            self.emit(ind, f"PERFORM pg_sleep(extract(epoch FROM ({delay})::interval));")
            return
        raise Unconverted("WAITFOR other than DELAY", "waitfor")


__all__ = ["Body", "Emitter", "TriggerInfo", "Unconverted", "drop_temp", "param_pg_name"]
