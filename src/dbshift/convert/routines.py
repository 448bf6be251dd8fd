"""T-SQL procedures, functions and triggers → PostgreSQL 15 (register in pass one, convert in pass two).

- Procedure → CREATE PROCEDURE … LANGUAGE plpgsql. Parameters @Name → par_name (tinyint/smallint parameters are
  integer, so that callers' integer arguments resolve the routine); OUTPUT → INOUT (T-SQL OUTPUT
  parameters are read-write); result sets → INOUT result_set[_N] refcursor DEFAULT NULL; a RETURN n → INOUT
  return_status integer DEFAULT 0. A parameter without a default after one with a default gets DEFAULT NULL.
- Scalar function → FUNCTION … RETURNS type LANGUAGE plpgsql. Inline TVF → LANGUAGE sql RETURNS TABLE (…) with the
  column types taken from the catalog (text when unknown, with an action item); multi-statement TVF → plpgsql
  RETURNS TABLE (…) whose @table is a temporary table returned by RETURN QUERY.
- Trigger (AFTER/FOR) → one trigger function per event, FOR EACH STATEMENT with transition tables
  REFERENCING NEW TABLE AS inserted / OLD TABLE AS deleted (PostgreSQL allows transition tables only on
  single-event triggers). INSTEAD OF → FOR EACH ROW: INSTEAD OF on a view, BEFORE … RETURN NULL on a table
  (PostgreSQL has no INSTEAD OF on tables; decided when deployed), inserted/deleted as temp tables from NEW/OLD.
- WITH EXECUTE AS OWNER/SELF/'user' → SECURITY DEFINER; CALLER → default; SCHEMABINDING, ENCRYPTION, RECOMPILE,
  NATIVE_COMPILATION, INLINE, NOT FOR REPLICATION dropped with an info item; RETURNS NULL ON NULL INPUT → STRICT.
- Routines outside dbo carry SET search_path = <schema>, public (not procedures that COMMIT/ROLLBACK: PostgreSQL
  forbids transaction control in a procedure with SET; those get an info item).
See plpgsql.py for the statement rules (naming, result sets, errors, transactions).
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from dbshift.convert import expr, names, types
from dbshift.convert.model import Context, Converted, Routine, SourceObject
from dbshift.convert.plpgsql import Emitter, TriggerInfo, Unconverted, drop_temp, param_pg_name
from dbshift.convert.plpgsql_parse import Block, ParseError, Parser, Tok, split_top, tokenize

_COLUMN_STOP = {"NULL", "NOT", "PRIMARY", "UNIQUE", "IDENTITY", "DEFAULT", "CHECK", "COLLATE", "CONSTRAINT", "INDEX",
                "ROWGUIDCOL"}  # fmt: skip
_DROPPED_OPTIONS = {"SCHEMABINDING", "ENCRYPTION", "RECOMPILE", "NATIVE_COMPILATION", "INLINE", "VIEW_METADATA"}


class HeaderError(ValueError):
    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.offset = offset


class Header:
    """The parsed CREATE line of a routine: name, parameters, returns, options, where the body starts."""

    def __init__(self, obj: SourceObject):
        self.obj = obj
        self.toks = tokenize(obj.text)
        self.i = 0
        self.kind = ""  # procedure / function / trigger
        self.schema = obj.schema or "dbo"
        self.name = obj.name
        self.params: list[dict] = []  # name, type, default (toks), output, readonly
        self.returns: list[Tok] = []  # scalar type tokens
        self.returns_table = False  # RETURNS TABLE (inline)
        self.table_var: str | None = None  # RETURNS @t TABLE
        self.table_defs: list[Tok] = []
        self.options: list[str] = []
        self.body: list[Tok] = []
        # triggers
        self.target: list[Tok] = []
        self.timing = ""
        self.events: list[str] = []
        self.ddl_trigger = False
        self.parse()

    def kw(self, k: int = 0) -> str:
        j = self.i + k
        return self.toks[j].kw if j < len(self.toks) else ""

    def tok(self) -> Tok:
        if self.i >= len(self.toks):
            raise HeaderError("unexpected end of the CREATE statement", len(self.obj.text))
        return self.toks[self.i]

    def expect(self, *words: str) -> Tok:
        t = self.tok()
        if t.kw not in words:
            raise HeaderError(f"expected {' or '.join(words)}, found {t.text!r}", t.start)
        self.i += 1
        return t

    def qualified_name(self) -> list[Tok]:
        out = [self.tok()]
        self.i += 1
        while self.i < len(self.toks) and self.toks[self.i].text == ".":
            out.extend(self.toks[self.i : self.i + 2])
            self.i += 2
        return out

    def parse(self) -> None:
        self.expect("CREATE", "ALTER")
        if self.kw() == "OR":
            self.i += 2
        word = self.expect("PROC", "PROCEDURE", "FUNCTION", "TRIGGER").kw
        self.kind = {"PROC": "procedure", "PROCEDURE": "procedure"}.get(word, word.lower())
        parts = names.split_qualified("".join(t.text for t in self.qualified_name()))
        self.name = parts[-1]
        self.qualified = len(parts) > 1 and bool(parts[-2])
        if self.qualified:
            self.schema = parts[-2]
        if self.kind == "trigger":
            self.parse_trigger()
            if self.ddl_trigger:
                return
        else:
            if self.kind == "procedure" and self.i < len(self.toks) and self.tok().text == ";":
                raise HeaderError("numbered procedures (name;n) are not supported", self.tok().start)
            self.parse_params()
            if self.kind == "function":
                self.parse_returns()
            self.parse_options()
            if self.kind == "procedure" and self.kw() == "FOR":  # FOR REPLICATION
                self.i += 2
                self.options.append("FOR REPLICATION")
        self.expect("AS")
        self.body = self.toks[self.i :]

    def parse_params(self) -> None:
        paren = self.tok().text == "("
        if paren:
            self.i += 1
        depth = 0
        start = self.i
        while self.i < len(self.toks):
            t = self.toks[self.i]
            if depth == 0 and ((paren and t.text == ")") or (not paren and t.kw in ("AS", "WITH", "FOR", "RETURNS"))):
                break
            depth += t.text == "("
            depth -= t.text == ")"
            self.i += 1
        raw = self.toks[start : self.i]
        if paren:
            self.i += 1
        for part in split_top(raw):
            if not part:
                continue
            if part[0].kind != "var":
                raise HeaderError(f"parameter expected, found {part[0].text!r}", part[0].start)
            rest = part[1:]
            if rest and rest[0].kw == "AS":
                rest = rest[1:]
            flags = set()
            while rest and rest[-1].kw in ("OUTPUT", "OUT", "READONLY", "VARYING"):
                flags.add(rest[-1].kw)
                rest = rest[:-1]
            eq = next((k for k, t in enumerate(rest) if t.text == "="), len(rest))
            self.params.append(
                {
                    "name": part[0].text,
                    "type": _type_text(rest[:eq]),
                    "default": rest[eq + 1 :] if eq < len(rest) else None,
                    "output": bool(flags & {"OUTPUT", "OUT"}),
                    "readonly": "READONLY" in flags,
                    "offset": part[0].start,
                }
            )

    def parse_returns(self) -> None:
        self.expect("RETURNS")
        t = self.tok()
        if t.kw == "TABLE":
            self.returns_table = True
            self.i += 1
            return
        if t.kind == "var":
            self.table_var = t.text.lower()
            self.i += 1
            self.expect("TABLE")
            start = self.i
            depth = 0
            while self.i < len(self.toks):
                depth += self.toks[self.i].text == "("
                depth -= self.toks[self.i].text == ")"
                self.i += 1
                if depth == 0:
                    break
            self.table_defs = self.toks[start : self.i]
            return
        start = self.i
        depth = 0
        while self.i < len(self.toks):
            t = self.toks[self.i]
            if depth == 0 and t.kw in ("AS", "WITH"):
                break
            depth += t.text == "("
            depth -= t.text == ")"
            self.i += 1
        self.returns = self.toks[start : self.i]

    def parse_options(self) -> None:
        if self.kw() != "WITH":
            return
        self.i += 1
        while True:
            t = self.tok()
            if t.kw == "EXECUTE":
                self.i += 2  # EXECUTE AS
                who = self.tok()
                self.options.append("EXECUTE AS " + who.text.upper())
                self.i += 1
            elif t.kw == "RETURNS":  # RETURNS NULL ON NULL INPUT
                self.options.append("RETURNS NULL ON NULL INPUT")
                self.i += 5
            elif t.kw == "CALLED":  # CALLED ON NULL INPUT
                self.i += 4
            elif t.kw in ("INLINE",):
                self.i += 3
                self.options.append("INLINE")
            else:
                self.options.append(t.kw or t.text)
                self.i += 1
            if self.i < len(self.toks) and self.tok().text == ",":
                self.i += 1
                continue
            break

    def parse_trigger(self) -> None:
        self.expect("ON")
        if self.kw() in ("DATABASE", "ALL"):
            self.ddl_trigger = True
            return
        self.target = self.qualified_name()
        self.parse_options()
        t = self.expect("FOR", "AFTER", "INSTEAD")
        if t.kw == "INSTEAD":
            self.expect("OF")
            self.timing = "INSTEAD OF"
        else:
            self.timing = "AFTER"
        while self.kw() in ("INSERT", "UPDATE", "DELETE") or self.tok().text == ",":
            if self.tok().text != ",":
                self.events.append(self.kw())
            self.i += 1
        if self.kw() == "WITH":  # WITH APPEND
            self.i += 2
        if self.kw() == "NOT":  # NOT FOR REPLICATION
            self.i += 3
            self.options.append("NOT FOR REPLICATION")


def _type_text(toks: list[Tok]) -> str:
    out = ""
    for t in toks:
        out += (" " + t.text) if t.kind in ("word", "qid") and out and out[-1] not in "(.," else t.text
    return out.strip()


def _pg_name(schema: str, name: str) -> str:
    return names.qualified(schema, name)


# -- pass one ------------------------------------------------------------------------------------------------


def register(obj: SourceObject, catalog) -> None:
    """Record the routine's PostgreSQL signature (so that EXEC and calls elsewhere convert correctly)."""
    if obj.type == "trigger":
        return
    try:
        header = Header(obj)
    except HeaderError:
        return
    key = f"{header.schema}.{header.name}".lower()
    scratch = Context(catalog=catalog, obj=obj)
    try:
        routine = _signature(header, scratch)
    except Exception:
        return
    catalog.routines[key] = routine


def _signature(header: Header, ctx: Context) -> Routine:
    pg_name = _pg_name(header.schema, header.name)
    params = [(p["name"], _param_type(p, ctx), "INOUT" if p["output"] else "IN") for p in header.params]
    if header.kind == "procedure":
        body = _emit(header, ctx, "procedure")
        for n in range(1, body.result_sets + 1):
            params.append(("@result_set" if n == 1 else f"@result_set_{n}", "refcursor", "INOUT"))
        if body.return_status:
            params.append(("@return_status", "integer", "INOUT"))
        return Routine("procedure", pg_name, params, None, body.result_sets > 0)
    if header.returns_table or header.table_var:
        return Routine("tvf", pg_name, params, None, True)
    return Routine("function", pg_name, params, types.pg_type(_type_text(header.returns), ctx.catalog), False)


def _param_type(p: dict, ctx: Context) -> str:
    if p["readonly"]:
        raise Unconverted(f"table-valued parameter {p['name']} READONLY: pass an array or a temp table", "tvp")
    pg = types.pg_type(p["type"], ctx.catalog)
    # tinyint/smallint → integer: PostgreSQL has no implicit integer → smallint cast, so f(5) would find no function
    return "integer" if pg == "smallint" else pg


# -- pass two ------------------------------------------------------------------------------------------------


def convert(obj: SourceObject, ctx: Context) -> Converted:
    try:
        header = Header(obj)
    except HeaderError as err:
        ctx.note("error", f"cannot read the CREATE {obj.type.upper()} header: {err}", "parse-error", err.offset)
        return Converted(obj, None, list(ctx.items), status="needs-work")
    try:
        if header.kind == "trigger":
            sql, deps = _trigger(header, ctx)
        else:
            sql, deps = _routine(header, ctx)
    except ParseError as err:
        ctx.note("error", f"cannot parse the body: {err}", "parse-error", err.offset)
        return Converted(obj, None, list(ctx.items), status="needs-work")
    except (Unconverted, expr.ConvertError) as err:
        ctx.note("error", f"{err}: convert by hand", getattr(err, "construct", "routine"), 0)
        return Converted(obj, None, list(ctx.items), status="needs-work")
    if sql is None:
        return Converted(obj, None, list(ctx.items), status="needs-work")
    schema_pg = names.schema(header.schema)
    if schema_pg != "public":
        sql = f"SET search_path = {schema_pg}, public;\n" + sql
    return Converted(obj, sql, list(ctx.items), deps)


def _options(header: Header, ctx: Context) -> list[str]:
    out: list[str] = []
    for opt in header.options:
        if opt.startswith("EXECUTE AS"):
            who = opt.split(" ", 2)[2]
            if who != "CALLER":
                out.append("SECURITY DEFINER")
                ctx.note("info", f"WITH {opt} → SECURITY DEFINER (runs as the routine's owner)", "execute-as")
        elif opt == "RETURNS NULL ON NULL INPUT":
            out.append("STRICT")
        elif opt in _DROPPED_OPTIONS or opt in ("FOR REPLICATION", "NOT FOR REPLICATION"):
            ctx.note("info", f"WITH {opt} dropped: no PostgreSQL equivalent needed", "routine-option")
        else:
            ctx.note("warning", f"routine option {opt} dropped", "routine-option")
    return out


def _params_sql(header: Header, ctx: Context, extra: list[str]) -> tuple[list[str], dict[str, str]]:
    """Parameter list text and T-SQL name → PostgreSQL name."""
    out: list[str] = []
    mapping: dict[str, str] = {}
    seen_default = False
    for p in header.params:
        pg = param_pg_name(p["name"])
        mapping[p["name"].lower()] = pg
        pg_type = _param_type(p, ctx)
        mode = "INOUT " if p["output"] and header.kind == "procedure" else ""
        text = f"{mode}{pg} {pg_type}"
        if p["default"] is not None:
            seen_default = True
            default = _default(p, pg_type, ctx)
            text += f" DEFAULT {default}"
        elif seen_default:
            text += " DEFAULT NULL"
            ctx.note("info", f"parameter {p['name']} follows a parameter with a default: DEFAULT NULL added "
                     "(PostgreSQL needs defaults to be trailing)", "parameter-default", p["offset"])  # fmt: skip
        out.append(text)
    return out + extra, mapping


def _default(p: dict, pg_type: str, ctx: Context) -> str:
    text = "".join(t.text for t in p["default"]).strip()
    if pg_type == "boolean" and text in ("0", "1"):
        return "true" if text == "1" else "false"
    if text.upper() == "NULL":
        return "NULL"
    return expr.convert_expression(text, ctx)


def _emit(header: Header, ctx: Context, kind: str, trigger: TriggerInfo | None = None, tvf_table: str | None = None):
    for p in header.params:
        ctx.variables[p["name"].lower()] = param_pg_name(p["name"])
        ctx.variable_types[p["name"].lower()] = p["type"]
    emitter = Emitter(ctx, kind, header.obj.text, header.schema, trigger=trigger, tvf_table=tvf_table)
    emitter.returns_bit = kind == "function" and types.is_bit(_type_text(header.returns), ctx.catalog)
    body_toks = header.body
    block = Parser(body_toks).parse_all() if body_toks else Block()
    prologue: list[str] = []
    if tvf_table is not None:
        emitter.table_vars[header.table_var or ""] = tvf_table
        ctx.variables[header.table_var or ""] = tvf_table
        prologue = [
            drop_temp(tvf_table),
            f"CREATE TEMP TABLE {tvf_table} ({emitter.column_defs(header.table_defs, 0, tvf_table.strip(chr(34)))});",
        ]
    body = emitter.body(block)
    body.statements[:0] = prologue
    return body


def _plpgsql(declarations: list[str], statements: list[str], tail: list[str] | None = None) -> str:
    lines = ["$fn$", "#variable_conflict use_column"]
    if declarations:
        lines.append("DECLARE")
        lines.extend("    " + d for d in declarations)
    lines.append("BEGIN")
    lines.extend("    " + s for s in statements)
    lines.extend("    " + s for s in tail or [])
    lines.append("END")
    lines.append("$fn$")
    return "\n".join(lines)


def _search_path(header: Header, transaction_control: bool, ctx: Context) -> list[str]:
    schema_pg = names.schema(header.schema)
    if schema_pg == "public":
        return []
    if transaction_control:
        ctx.note("info", "no SET search_path on this procedure: PostgreSQL forbids COMMIT/ROLLBACK in a procedure "
                 "with SET; unqualified names resolve by the caller's search_path", "search-path")  # fmt: skip
        return []
    return [f"SET search_path = {schema_pg}, public"]


def _routine(header: Header, ctx: Context) -> tuple[str | None, set[str]]:
    pg_name = _pg_name(header.schema, header.name)
    options = _options(header, ctx)
    if header.kind == "procedure":
        body = _emit(header, ctx, "procedure")
        extra = [
            f"INOUT {'result_set' if n == 1 else f'result_set_{n}'} refcursor DEFAULT NULL"
            for n in range(1, body.result_sets + 1)
        ]
        if body.return_status:
            extra.append("INOUT return_status integer DEFAULT 0")
        params, _ = _params_sql(header, ctx, extra)
        clauses = ["LANGUAGE plpgsql", *options, *_search_path(header, body.transaction_control, ctx)]
        if body.transaction_control:
            options_secdef = "SECURITY DEFINER" in options
            if options_secdef:
                ctx.note("warning", "SECURITY DEFINER procedures cannot COMMIT/ROLLBACK: dropped", "execute-as")
                clauses.remove("SECURITY DEFINER")
            ctx.note("info", "COMMIT/ROLLBACK work only when the procedure is CALLed outside an explicit "
                     "transaction block", "transaction")  # fmt: skip
        sql = (
            f"CREATE OR REPLACE PROCEDURE {pg_name}({', '.join(params)})\n"
            + "\n".join(clauses)
            + "\nAS "
            + _plpgsql(body.declarations, body.statements)
            + ";"
        )
        return sql, body.depends_on
    if header.returns_table:
        return _inline_tvf(header, ctx, pg_name, options)
    if header.table_var:
        tvf_table = names.quote_if_needed("tv_" + header.table_var[1:])
        body = _emit(header, ctx, "tvf", tvf_table=tvf_table)
        columns = _table_columns(header, ctx)
        params, _ = _params_sql(header, ctx, [])
        clauses = ["LANGUAGE plpgsql", *options, *_search_path(header, False, ctx)]
        sql = (
            f"CREATE OR REPLACE FUNCTION {pg_name}({', '.join(params)})\nRETURNS TABLE ({columns})\n"
            + "\n".join(clauses)
            + "\nAS "
            + _plpgsql(body.declarations, body.statements)
            + ";"
        )
        return sql, body.depends_on
    returns = types.pg_type(_type_text(header.returns), ctx.catalog)
    body = _emit(header, ctx, "function")
    params, _ = _params_sql(header, ctx, [])
    clauses = ["LANGUAGE plpgsql", *options, *_search_path(header, False, ctx)]
    sql = (
        f"CREATE OR REPLACE FUNCTION {pg_name}({', '.join(params)})\nRETURNS {returns}\n"
        + "\n".join(clauses)
        + "\nAS "
        + _plpgsql(body.declarations, body.statements)
        + ";"
    )
    return sql, body.depends_on


def _table_columns(header: Header, ctx: Context) -> str:
    out = []
    inner = header.table_defs[1:-1]
    for part in split_top(inner):
        if not part or part[0].kw in ("PRIMARY", "UNIQUE", "CHECK", "CONSTRAINT", "INDEX"):
            continue
        k = 1
        while k < len(part) and part[k].kw not in _COLUMN_STOP:
            k += 1
        out.append(f"{names.ident(part[0].text)} {types.pg_type(_type_text(part[1:k]), ctx.catalog)}")
    return ", ".join(out)


# -- inline table-valued functions ---------------------------------------------------------------------------


def _inline_tvf(header: Header, ctx: Context, pg_name: str, options: list[str]) -> tuple[str, set[str]]:
    body = header.body
    if body and body[0].kw == "BEGIN":
        raise Unconverted("RETURNS TABLE with a BEGIN … END body", "tvf")
    if not body or body[0].kw != "RETURN":
        raise Unconverted("inline table-valued function without RETURN", "tvf")
    query = body[1:]
    while query and query[-1].text == ";":
        query = query[:-1]
    if query and query[0].text == "(" and query[-1].text == ")":
        query = query[1:-1]
    for p in header.params:
        ctx.variables[p["name"].lower()] = param_pg_name(p["name"])
        ctx.variable_types[p["name"].lower()] = p["type"]
    emitter = Emitter(ctx, "tvf", header.obj.text, header.schema)
    tsql = emitter.render(query)
    converted = expr.convert_statement(tsql, ctx)
    columns = _infer_columns(tsql, header, ctx)
    params, _ = _params_sql(header, ctx, [])
    col_defs = ", ".join(f"{names.ident(n)} {t}" for n, t in columns)
    aliases = ", ".join(f"c{k}" for k in range(1, len(columns) + 1))
    casts = ", ".join(f"q.c{k}::{t}" for k, (_n, t) in enumerate(columns, 1))
    clauses = ["LANGUAGE sql", "STABLE", *options, *_search_path(header, False, ctx)]
    sql = (
        f"CREATE OR REPLACE FUNCTION {pg_name}({', '.join(params)})\nRETURNS TABLE ({col_defs})\n"
        + "\n".join(clauses)
        + f"\nAS $fn$\nSELECT {casts} FROM (\n{converted}\n) AS q({aliases})\n$fn$;"
    )
    return sql, set()


def _infer_columns(tsql: str, header: Header, ctx: Context) -> list[tuple[str, str]]:
    """(name, PostgreSQL type) of each output column of an inline TVF's query, from the catalog."""
    tree = sqlglot.parse_one(tsql, read="tsql")
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    if isinstance(tree, exp.Union):
        select = tree.find(exp.Select)
    if select is None:
        raise Unconverted("inline table-valued function whose query is not a SELECT", "tvf")
    aliases: dict[str, str] = {}
    for table in select.find_all(exp.Table):
        if table.find_ancestor(exp.Select) is not select:
            continue
        schema = table.db or header.schema
        key = f"{schema}.{table.name}".lower()
        if key not in ctx.catalog.tables and f"dbo.{table.name}".lower() in ctx.catalog.tables:
            key = f"dbo.{table.name}".lower()
        aliases[(table.alias_or_name).lower()] = key
    out: list[tuple[str, str]] = []
    for k, proj in enumerate(select.expressions, 1):
        if isinstance(proj, exp.Star):
            raise Unconverted("SELECT * in an inline table-valued function: list the columns", "tvf")
        name = proj.alias_or_name or f"column{k}"
        out.append((name, _infer_type(proj.unalias(), aliases, header, ctx, name)))
    return out


def _infer_type(node: exp.Expression, aliases: dict[str, str], header: Header, ctx: Context, name: str) -> str:
    if isinstance(node, exp.Column):
        tables = [aliases[node.table.lower()]] if node.table and node.table.lower() in aliases else aliases.values()
        for key in tables:
            col = ctx.catalog.tables.get(key, {}).get(node.name.lower())
            if col is not None:
                return col.pg_type
    if isinstance(node, exp.Parameter):
        for p in header.params:
            if p["name"].lower() == "@" + node.name.lower():
                return types.pg_type(p["type"], ctx.catalog)
    if isinstance(node, exp.Cast):
        return types.pg_type(node.to.sql("tsql"), ctx.catalog)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return "text"
        return "integer" if re.fullmatch(r"-?\d{1,9}", node.this) else "numeric"
    if isinstance(node, exp.Count):
        return "integer"
    if isinstance(node, (exp.Sum, exp.Avg)):
        return "numeric"
    if isinstance(node, (exp.Min, exp.Max)):
        return _infer_type(node.this, aliases, header, ctx, name)
    if isinstance(node, (exp.Paren, exp.Neg)):
        return _infer_type(node.this, aliases, header, ctx, name)
    ctx.note("warning", f"type of result column {name} not known from the catalog: text used", "tvf-column-type")
    return "text"


# -- triggers ------------------------------------------------------------------------------------------------


def _trigger(header: Header, ctx: Context) -> tuple[str | None, set[str]]:
    if header.ddl_trigger:
        ctx.note("error", "DDL trigger (ON DATABASE/ALL SERVER): rewrite as a PostgreSQL event trigger", "ddl-trigger")
        return None, set()
    tschema, tname = names.split_schema_name("".join(t.text for t in header.target), header.schema)
    if not header.qualified:  # a DML trigger lives in its table's schema
        header.schema = tschema
    table_pg = _pg_name(tschema, tname)
    table_key = f"{tschema}.{tname}".lower()
    deps = {f"table:{table_key}", f"view:{table_key}"} if table_key else set()
    _options(header, ctx)  # notes only: a trigger function runs as the table's trigger
    trig = names.ident(header.name)
    fn_schema = names.schema(header.schema)
    path = "".join(p + "\n" for p in _search_path(header, False, ctx))
    pieces: list[str] = []
    if header.timing == "INSTEAD OF":
        events = header.events
        fn = f"{fn_schema}.{names.quote_if_needed(names.fold(header.name) + '_fn')}"
        proceed = "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW;"  # a nested call lets the row through
        enter, leave = _recursion_guard(fn, proceed)
        info = TriggerInfo(table_pg, table_key, "ANY", True, leave + "\n" + _instead_return(events))
        body = _emit(header, ctx, "trigger", trigger=info)
        prologue = enter + _row_pseudo_tables(header, table_pg, events)
        pieces.append(
            f"CREATE OR REPLACE FUNCTION {fn}()\nRETURNS trigger\nLANGUAGE plpgsql\n{path}AS "
            + _plpgsql(body.declarations, prologue + body.statements, info.return_text.split("\n"))
            + ";"
        )
        ev = " OR ".join(events)
        ctx.note("info", "INSTEAD OF trigger → FOR EACH ROW (INSTEAD OF on a view; on a table BEFORE … RETURN NULL, "
                 "which skips the row): the body runs once per row", "trigger-instead-of")  # fmt: skip
        view = f"CREATE OR REPLACE TRIGGER {trig} INSTEAD OF {ev} ON {table_pg} FOR EACH ROW EXECUTE FUNCTION {fn}()"
        table = f"CREATE OR REPLACE TRIGGER {trig} BEFORE {ev} ON {table_pg} FOR EACH ROW EXECUTE FUNCTION {fn}()"
        pieces.append(
            "DO $do$\nBEGIN\n"
            f"    IF (SELECT relkind FROM pg_class WHERE oid = '{table_pg.replace(chr(39), chr(39) * 2)}'::regclass)"
            " IN ('v') THEN\n"
            f"        EXECUTE {_lit(view)};\n    ELSE\n        EXECUTE {_lit(table)};\n    END IF;\nEND\n$do$;"
        )
        return "\n".join(pieces), body.depends_on | deps
    multi = len(header.events) > 1
    for event in header.events:
        suffix = f"_{event.lower()}" if multi else ""
        fn = f"{fn_schema}.{names.quote_if_needed(names.fold(header.name) + suffix + '_fn')}"
        enter, leave = _recursion_guard(fn, "RETURN NULL;")
        info = TriggerInfo(table_pg, table_key, event, False, leave + "\nRETURN NULL;")
        sub = Context(catalog=ctx.catalog, obj=ctx.obj)
        body = _emit(header, sub if multi and event != header.events[0] else ctx, "trigger", trigger=info)
        if multi and event != header.events[0]:
            ctx.items.extend(i for i in sub.items if i.severity != "info" and i not in ctx.items)
        pieces.append(
            f"CREATE OR REPLACE FUNCTION {fn}()\nRETURNS trigger\nLANGUAGE plpgsql\n{path}AS "
            + _plpgsql(body.declarations, enter + body.statements, info.return_text.split("\n"))
            + ";"
        )
        referencing = {
            "INSERT": "REFERENCING NEW TABLE AS inserted",
            "UPDATE": "REFERENCING NEW TABLE AS inserted OLD TABLE AS deleted",
            "DELETE": "REFERENCING OLD TABLE AS deleted",
        }[event]
        name = names.quote_if_needed(names.fold(header.name) + suffix)
        pieces.append(
            f"CREATE OR REPLACE TRIGGER {name} AFTER {event} ON {table_pg}\n{referencing}\n"
            f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}();"
        )
        deps |= body.depends_on
    return "\n".join(pieces), deps


def _recursion_guard(fn: str, proceed: str) -> tuple[list[str], str]:
    """(prologue, epilogue) so that a trigger's own statements do not fire it again — T-SQL's default
    RECURSIVE_TRIGGERS OFF; PostgreSQL would recurse. A transaction-local setting marks the trigger as running."""
    guc = "dbshift.trg_" + re.sub(r"\W+", "_", fn.replace('"', "")).lower()
    enter = [
        f"IF current_setting('{guc}', true) = 'on' THEN {proceed} END IF;",
        f"PERFORM set_config('{guc}', 'on', true);",
    ]
    return enter, f"PERFORM set_config('{guc}', 'off', true);"


def _instead_return(events: list[str]) -> str:
    return "IF TG_WHEN = 'BEFORE' THEN RETURN NULL; END IF;\nIF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\nRETURN NEW;"


def _row_pseudo_tables(header: Header, table_pg: str, events: list[str]) -> list[str]:
    text = header.obj.text.lower()
    out: list[str] = []
    for name, record, ops in (("inserted", "NEW", "'INSERT', 'UPDATE'"), ("deleted", "OLD", "'UPDATE', 'DELETE'")):
        if name not in text:
            continue
        out += [
            drop_temp(name),
            f"CREATE TEMP TABLE {name} AS SELECT * FROM {table_pg} WHERE false;",
            f"IF TG_OP IN ({ops}) THEN INSERT INTO {name} SELECT {record}.*; END IF;",
        ]
    return out


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


__all__ = ["Header", "convert", "register"]
