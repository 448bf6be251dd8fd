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

Also: SELECT @v = … FROM … keeps @v when no row is found (as T-SQL does; PL/pgSQL would assign NULL); a simple
assignment sets @@ROWCOUNT to 1; a trigger does not fire itself again through its own statements (T-SQL's default
RECURSIVE_TRIGGERS OFF), using a transaction-local setting dbshift.trg_<function> as the guard.
Temporary tables (#t, table variables, a TVF's @table) are dropped if present and created again at each call.

The statements are emitted by mixins of Emitter, one module each: plpgsql_control (dispatch, control flow, errors),
plpgsql_declare (DECLARE, table variables, #temp tables), plpgsql_cursors, plpgsql_dml (SET, SELECT, DML, result
sets), plpgsql_txn (transactions), plpgsql_exec (EXEC); plpgsql_host declares what they use of one another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dbshift.convert import expr, names, types
from dbshift.convert.model import Column, Context
from dbshift.convert.plpgsql_control import ControlMixin
from dbshift.convert.plpgsql_cursors import CursorMixin
from dbshift.convert.plpgsql_declare import DeclareMixin
from dbshift.convert.plpgsql_dml import DmlMixin
from dbshift.convert.plpgsql_exec import ExecMixin
from dbshift.convert.plpgsql_parse import Block, Tok
from dbshift.convert.plpgsql_tokens import Unconverted, drop_default_args, drop_temp, param_pg_name
from dbshift.convert.plpgsql_txn import TransactionMixin

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
class Emitter(ControlMixin, DeclareMixin, CursorMixin, DmlMixin, TransactionMixin, ExecMixin):
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


__all__ = ["Body", "Emitter", "TriggerInfo", "Unconverted", "drop_temp", "param_pg_name"]
