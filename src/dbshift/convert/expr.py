"""T-SQL expressions and DML statements → PostgreSQL 15 text: the shared piece of ddl.py and the routines.

sqlglot (read="tsql") parses; we then
1. collect the statement's tables (alias → catalog columns) so operand types are known,
2. fold every identifier by names.py's rule (dbo → public, lower case, quoted when needed),
3. rewrite bottom-up what sqlglot's postgres output gets wrong or lacks (string + → ||, BIT 0/1 → false/true,
   DATEDIFF boundary counting, DATEPART, LEN, STUFF, TOP … PERCENT, OUTPUT → RETURNING, MERGE … BY SOURCE,
   FOR XML PATH('') → string_agg, UPDATE/DELETE … FROM joins, @variables via ctx.variables, GROUP BY … WITH
   ROLLUP/CUBE → ROLLUP/CUBE (…) for views and routines alike, CAST(decimal AS int) truncating, ...; built-ins
   without a namesake in expr_funcs.py),
4. generate postgres. Whatever stays unconverted is reported through ctx.note().

Text-level forms sqlglot cannot read are cut out first: DELETE/UPDATE TOP (n) (→ WHERE ctid IN (SELECT … LIMIT n)),
SET c += x (→ c = c + (x)), OUTPUT in a DELETE. OUTPUT deleted.c of an UPDATE joins the old row back by ctid from a
snapshot of the target taken by the same statement (RETURNING sees only new values in PostgreSQL 15).

Temporary tables #t are spelled t (the routines create them as TEMP tables of that name).
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError

from dbshift.convert import expr_funcs, expr_pivot, expr_xml, names, types
from dbshift.convert.model import Column, Context


class ConvertError(ValueError):
    """T-SQL text that could not be parsed; the message carries sqlglot's reason and the text."""


class Raw(exp.Expression):
    """Finished PostgreSQL text embedded in the tree (our rewrites build text, not sqlglot nodes)."""

    arg_types = {"this": True}


class PG(Postgres):
    class Generator(Postgres.Generator):
        TRANSFORMS = {**Postgres.Generator.TRANSFORMS, Raw: lambda self, e: e.this}


def sql_of(node: exp.Expression) -> str:
    return node.sql(dialect=PG)


def raw(text: str) -> Raw:
    return Raw(this=text)


# ---------------------------------------------------------------- public API


def convert_expression(sql: str, ctx: Context, columns: dict[str, Column] | None = None) -> str:
    """One T-SQL scalar or boolean expression → PostgreSQL text.

    columns: the columns in scope without a table qualifier (a table's own columns for CHECK/DEFAULT/computed).
    """
    text = sql.strip()
    try:
        # parenthesised, or T-SQL reads "SELECT @a = 0" as an assignment (and "SELECT a = 1" as an alias); the
        # newline keeps a trailing -- comment from swallowing the closing parenthesis
        tree = sqlglot.parse_one(f"SELECT ({text}\n)", read="tsql")
    except ParseError as err:
        raise ConvertError(f"cannot parse T-SQL expression {text[:200]!r}: {_first_error(err)}") from err
    if not isinstance(tree, exp.Select) or len(tree.expressions) != 1:
        raise ConvertError(f"not one expression: {text[:200]!r}")
    _text_notes(text, ctx)
    conv = _Converter(ctx, columns)
    tree = conv.run(tree)
    result = tree.expressions[0]
    if isinstance(result, exp.Paren):
        result = result.this
    return sql_of(result)


def expression_kind(sql: str, ctx: Context, columns: dict[str, Column] | None = None) -> str | None:
    """ "string", "bit", "other" or None: what a T-SQL expression yields, judged from its operands' types."""
    try:
        tree = sqlglot.parse_one(f"SELECT ({sql.strip()}\n)", read="tsql")
    except ParseError:
        return None
    conv = _Converter(ctx, columns)
    tree = conv.run(tree)
    return conv.kind(tree.expressions[0])


def convert_statement(sql: str, ctx: Context) -> str:
    """One T-SQL statement (SELECT/INSERT/UPDATE/DELETE/MERGE, with CTEs) → PostgreSQL text (may be 2 statements
    separated by ';' when a form must be split, e.g. MERGE … WHEN NOT MATCHED BY SOURCE)."""
    text = sql.strip().lstrip(";").strip().rstrip(";").strip()
    text, top = _extract_dml_top(text)
    text = _compound_set(text)
    text, output = _extract_output(text, force=False)
    try:
        tree = sqlglot.parse_one(text, read="tsql")
    except ParseError as err:
        cut, output = _extract_output(text, force=True)  # sqlglot cannot read some OUTPUT … INTO forms
        try:
            tree = sqlglot.parse_one(cut, read="tsql") if output is not None else None
        except ParseError:
            tree = None
        if tree is None:
            raise ConvertError(f"cannot parse T-SQL statement {text[:200]!r}: {_first_error(err)}") from err
    if isinstance(tree, exp.Command):
        raise ConvertError(f"statement not understood by the T-SQL parser: {text[:120]!r}")
    _text_notes(text, ctx)
    conv = _Converter(ctx, None)
    if output is not None:
        tree.set("returning", output)
    pre: list[str] = []
    if isinstance(tree, exp.Merge):
        returning = tree.args.get("returning")
        tree.set("returning", None)
        pre = conv.merge_by_source(tree)
        if isinstance(returning, exp.Returning):
            from dbshift.convert.expr_merge import merge_with_output

            conv._collect_scope(tree)
            if pre:
                ctx.note(
                    "warning",
                    "MERGE … BY SOURCE rows are changed by a separate statement: they are not in the OUTPUT rows",
                    "merge-output",
                )
            return ";\n".join([*pre, merge_with_output(conv, tree, returning)])
    conv.dml_top = top
    tree = conv.run(tree)
    out = conv.select_into_table(tree)
    if conv.returning_into is not None:
        out = conv.wrap_output_into(out)
    return ";\n".join([*pre, out])


def _text_notes(text: str, ctx: Context) -> None:
    """Constructs sqlglot rewrites silently into something close but not equal: say so."""
    if re.search(r"\bFORMAT\s*\(", text, re.I):
        ctx.note("warning", "FORMAT() uses .NET format strings: check the to_char pattern it became", "format")
    for func in re.findall(
        r"\b(OPENJSON|OPENXML|OPENQUERY|OPENROWSET|OPENDATASOURCE|DECOMPRESS|COMPRESS)\s*\(", text, re.I
    ):
        ctx.note(
            "error",
            f"{func.upper()} has no PostgreSQL equivalent: rewrite (json_to_recordset/jsonb_array_"
            "elements for OPENJSON, postgres_fdw for remote data)",
            func.lower(),
        )
    if re.search(r"\bOPTION\s*\(|\bWITH\s*\(\s*(NOLOCK|READPAST|UPDLOCK|ROWLOCK|TABLOCK|HOLDLOCK|INDEX)", text, re.I):
        ctx.note(
            "info", "table/query hints (WITH (NOLOCK), OPTION (…)) dropped: PostgreSQL plans without hints", "hints"
        )
    spatial = re.search(
        r"\]?\s*\.\s*(Lat|Long|ST[A-Z]\w*|GetAncestor|GetLevel|IsDescendantOf|GetDescendant|GetRoot)\b", text
    )
    if spatial:
        ctx.note(
            "error",
            f"method/property .{spatial.group(1)} of a geography/geometry/hierarchyid value: rewrite "
            "with PostGIS or ltree functions",
            "clr-type-methods",
        )
    if re.search(r"\bDATENAME\s*\(", text, re.I):
        ctx.note("info", "DATENAME → to_char: names follow lc_time, not the T-SQL session language", "datename")


def _first_error(err: ParseError) -> str:
    if err.errors:
        first = err.errors[0]
        return f"{first.get('description')} at line {first.get('line')}, col {first.get('col')}"
    return str(err)


# ---------------------------------------------------------------- DML forms sqlglot cannot read

_DML_TOP = re.compile(r"^(DELETE|UPDATE)\s+TOP\s*\(", re.I)


def _extract_dml_top(text: str) -> tuple[str, tuple[str, bool] | None]:
    """DELETE/UPDATE TOP (n) [PERCENT] …: cut the TOP out (PostgreSQL has no LIMIT on DML; limit_dml() restricts
    the statement to the first n rows by ctid instead). Returns the text and (n as T-SQL, percent)."""
    m = _DML_TOP.match(text)
    if m is None:
        return text, None
    depth, k = 1, m.end()
    while k < len(text) and depth:
        depth += text[k] == "("
        depth -= text[k] == ")"
        k += 1
    count = text[m.end() : k - 1].strip()
    rest = text[k:]
    percent = re.match(r"\s*PERCENT\b", rest, re.I)
    if percent:
        rest = rest[percent.end() :]
    return f"{m.group(1)} {rest.lstrip()}", (count, percent is not None)


def _split_top_commas(text: str) -> list[str]:
    parts, depth, quote, start = [], 0, "", 0
    for k, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'[\"":
            quote = {"[": "]"}.get(ch, ch)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:k])
            start = k + 1
    parts.append(text[start:])
    return parts


_COMPOUND = re.compile(r"^(\s*)([^=<>!]+?)\s*([-+*/%&|^])=(?!=)(.*)$", re.S)


def _compound_set(text: str) -> str:
    """UPDATE … SET c += x (T-SQL's compound assignment) → SET c = c + (x)."""
    if not re.match(r"^UPDATE\b", text, re.I) or not re.search(r"[-+*/%&|^]=", text):
        return text
    set_m = _top_level(re.compile(r"\bSET\b", re.I), text, 0)
    if set_m is None:
        return text
    end_m = _top_level(re.compile(r"\b(FROM|WHERE|OUTPUT|OPTION)\b", re.I), text, set_m.end())
    end = end_m.start() if end_m else len(text)
    items = []
    for item in _split_top_commas(text[set_m.end() : end]):
        m = _COMPOUND.match(item)
        if m:
            ws, target, op, value = m.groups()
            item = f"{ws}{target} = {target} {op} ({value.strip()}) "
        items.append(item)
    return text[: set_m.end()] + ",".join(items) + text[end:]


# ---------------------------------------------------------------- OUTPUT clause (sqlglot cannot parse it in DELETE)

_OUTPUT_RE = re.compile(r"\bOUTPUT\b", re.I)
_CLAUSE_END = re.compile(r"\b(INTO|WHERE|FROM|VALUES|SELECT|DEFAULT|OPTION)\b", re.I)


def _extract_output(text: str, force: bool) -> tuple[str, exp.Returning | None]:
    """Cut a top-level OUTPUT … [INTO …] out of a DELETE (or any DML when force) and parse it as RETURNING."""
    if not force and not re.match(r"^\s*DELETE\b", text, re.I):
        return text, None
    m = _top_level(_OUTPUT_RE, text, 0)
    if m is None:
        return text, None
    end_m = _top_level(_CLAUSE_END, text, m.end())
    into = None
    if end_m is not None and end_m.group(1).upper() == "INTO":
        after = _top_level(_CLAUSE_END, text, end_m.end())
        while after is not None and after.group(1).upper() == "INTO":
            after = _top_level(_CLAUSE_END, text, after.end())
        stop = after.start() if after else len(text)
        into = text[end_m.end() : stop].strip()
        end = stop
        columns_text = text[m.end() : end_m.start()]
    else:
        end = end_m.start() if end_m else len(text)
        columns_text = text[m.end() : end]
    try:
        select = sqlglot.parse_one("SELECT " + columns_text, read="tsql")
    except ParseError as err:
        raise ConvertError(f"cannot parse OUTPUT list {columns_text[:120]!r}: {_first_error(err)}") from err
    returning = exp.Returning(expressions=select.expressions)
    if into:
        returning.set("into", raw(into))
    return text[: m.start()] + " " + text[end:], returning


def _top_level(pattern: re.Pattern[str], text: str, start: int) -> re.Match[str] | None:
    for m in pattern.finditer(text, start):
        prefix = text[: m.start()]
        if prefix.count("(") == prefix.count(")") and prefix.count("'") % 2 == 0:
            return m
    return None


# ---------------------------------------------------------------- the converter

_STRING_FUNCS = {
    "upper",
    "lower",
    "trim",
    "ltrim",
    "rtrim",
    "substring",
    "left",
    "right",
    "replace",
    "concat",
    "stuff",
    "repeat",
    "replicate",
    "space",
    "char",
    "nchar",
    "quotename",
    "format",
    "datename",
    "str",
    "reverse",
    "concat_ws",
    "string_agg",
    "groupconcat",
    "to_char",
    "translate",
    "lpad",
    "rpad",
    "pad",
    "dpipe",
    "initcap",
    "overlay",
    "chr",
    "national",
}
_DATE_UNITS = {
    "year": "year",
    "yy": "year",
    "yyyy": "year",
    "quarter": "quarter",
    "qq": "quarter",
    "q": "quarter",
    "month": "month",
    "mm": "month",
    "m": "month",
    "dayofyear": "dayofyear",
    "dy": "dayofyear",
    "y": "dayofyear",
    "day": "day",
    "dd": "day",
    "d": "day",
    "week": "week",
    "wk": "week",
    "ww": "week",
    "weekday": "weekday",
    "dw": "weekday",
    "w": "weekday",
    "hour": "hour",
    "hh": "hour",
    "minute": "minute",
    "mi": "minute",
    "n": "minute",
    "second": "second",
    "ss": "second",
    "s": "second",
    "millisecond": "millisecond",
    "ms": "millisecond",
    "microsecond": "microsecond",
    "mcs": "microsecond",
    "nanosecond": "nanosecond",
    "ns": "nanosecond",
    "iso_week": "isoweek",
    "isowk": "isoweek",
    "weekiso": "isoweek",  # sqlglot's name for iso_week
    "isoww": "isoweek",
    "dayofweek": "weekday",
    "tzoffset": "tzoffset",
}
_INTERVAL = {
    "year": "1 year",
    "quarter": "3 months",
    "month": "1 month",
    "dayofyear": "1 day",
    "day": "1 day",
    "weekday": "1 day",
    "week": "7 days",
    "hour": "1 hour",
    "minute": "1 minute",
    "second": "1 second",
    "millisecond": "1 millisecond",
    "microsecond": "1 microsecond",
}
# CONVERT(…, style) date styles → to_char/to_timestamp patterns.
_STYLES = {
    "1": "MM/DD/YY",
    "101": "MM/DD/YYYY",
    "2": "YY.MM.DD",
    "102": "YYYY.MM.DD",
    "3": "DD/MM/YY",
    "103": "DD/MM/YYYY",
    "4": "DD.MM.YY",
    "104": "DD.MM.YYYY",
    "5": "DD-MM-YY",
    "105": "DD-MM-YYYY",
    "106": "DD Mon YYYY",
    "107": "Mon DD, YYYY",
    "8": "HH24:MI:SS",
    "108": "HH24:MI:SS",
    "10": "MM-DD-YY",
    "110": "MM-DD-YYYY",
    "11": "YY/MM/DD",
    "111": "YYYY/MM/DD",
    "12": "YYMMDD",
    "112": "YYYYMMDD",
    "20": "YYYY-MM-DD HH24:MI:SS",
    "120": "YYYY-MM-DD HH24:MI:SS",
    "21": "YYYY-MM-DD HH24:MI:SS.MS",
    "121": "YYYY-MM-DD HH24:MI:SS.MS",
    "23": "YYYY-MM-DD",
    "126": 'YYYY-MM-DD"T"HH24:MI:SS.MS',
    "127": 'YYYY-MM-DD"T"HH24:MI:SS.MS',
}
_INTEGER_TYPES = (
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.TINYINT,
)
_FRACTIONAL_TYPES = (
    exp.DataType.Type.DECIMAL,
    exp.DataType.Type.DOUBLE,
    exp.DataType.Type.FLOAT,
    exp.DataType.Type.MONEY,
    exp.DataType.Type.SMALLMONEY,
)
_FRACTIONAL_TSQL = {"decimal", "numeric", "money", "smallmoney", "float", "real"}
# @@functions with a PostgreSQL equivalent (the rest are reported)
_SYSTEM_VARIABLES = {
    "version": "version()",
    "spid": "pg_backend_pid()",
    "datefirst": "7",  # us_english default; DATEPART(weekday) is converted for it
    "language": "'us_english'",
    "max_precision": "38",
    "servername": "current_setting('cluster_name')",
}
_EPOCH_UNITS = {"hour": 3600, "minute": 60, "second": 1, "millisecond": 0.001, "microsecond": 0.000001}
_TRUNC = {
    "hour": "hour",
    "minute": "minute",
    "second": "second",
    "millisecond": "milliseconds",
    "microsecond": "microseconds",
}


class _Converter:
    def __init__(self, ctx: Context, columns: dict[str, Column] | None) -> None:
        self.ctx = ctx
        self.own = {k.lower(): v for k, v in (columns or {}).items()}
        self.aliases: dict[str, dict[str, Column]] = {}
        self.returning_into: str | None = None
        self.dml_top: tuple[str, bool] | None = None  # DELETE/UPDATE TOP (n) [PERCENT] of the statement
        self.default_schema = ctx.obj.schema if ctx.obj else "dbo"

    # -- scope

    def _table_columns(self, table: exp.Table) -> dict[str, Column] | None:
        schema = table.db or self.default_schema
        for candidate in (f"{schema}.{table.name}", f"dbo.{table.name}"):
            key = candidate.lower()
            cols = self.ctx.catalog.tables.get(self.ctx.catalog.synonyms.get(key, key))  # a synonym: its target's
            if cols is not None:
                return cols
        return None

    def _collect_scope(self, tree: exp.Expression) -> None:
        for table in tree.find_all(exp.Table):
            cols = self._table_columns(table)
            if cols is None:
                continue
            self.aliases.setdefault(table.name.lower(), cols)
            if table.alias:
                self.aliases[table.alias.lower()] = cols

    def column_type(self, col: exp.Column) -> str | None:
        name = col.name.lower()
        if col.table:
            cols = self.aliases.get(col.table.lower())
            return cols[name].tsql_type if cols and name in cols else None
        if name in self.own:
            return self.own[name].tsql_type
        for cols in self.aliases.values():
            if name in cols:
                return cols[name].tsql_type
        return None

    # -- type inference on (partly converted) nodes: "string", "bit", "number", or None

    def kind(self, node: exp.Expression | None) -> str | None:
        if node is None:
            return None
        if isinstance(node, exp.Paren):
            return self.kind(node.this)
        if isinstance(node, exp.Literal):
            return "string" if node.is_string else "number"
        if isinstance(node, exp.Boolean):
            return "bit"
        if isinstance(node, (exp.National, exp.DPipe)):
            return "string"
        if isinstance(node, Raw):
            return node.meta.get("kind") if node.meta else None
        if isinstance(node, exp.Column):
            tsql_type = self.column_type(node)
            if tsql_type is None and node.meta.get("var_type"):
                tsql_type = node.meta["var_type"]
            if tsql_type is None:
                return None
            if types.is_bit(tsql_type, self.ctx.catalog):
                return "bit"
            return "string" if types.is_string(tsql_type, self.ctx.catalog) else "other"
        if isinstance(node, (exp.Cast, exp.TryCast)):
            to = node.args.get("to")
            if isinstance(to, exp.DataType):
                if to.is_type(*exp.DataType.TEXT_TYPES) or to.this in (exp.DataType.Type.CHAR, exp.DataType.Type.NCHAR):
                    return "string"
                if to.this == exp.DataType.Type.BOOLEAN:
                    return "bit"
            return "other"
        if isinstance(node, exp.Add):
            left, right = self.kind(node.this), self.kind(node.expression)
            return "string" if "string" in (left, right) else left or right
        if isinstance(node, (exp.Coalesce, exp.Case, exp.If)):
            for child in (
                [node.this, *node.expressions] if isinstance(node, exp.Coalesce) else node.find_all(exp.Expression)
            ):
                if child is node:
                    continue
                k = self.kind(child)
                if k:
                    return k
            return None
        if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Anonymous):  # schema.function(…)
            schema = node.this.name.lower()
            key = f"{'dbo' if schema == 'public' else schema}.{node.expression.name.lower()}"
            routine = self.ctx.catalog.routines.get(key)
            return self._pg_type_kind((routine.returns or "").lower() if routine else "")
        if isinstance(node, exp.Anonymous):
            return "string" if node.name.lower() in _STRING_FUNCS else None
        if isinstance(node, exp.Func):
            return "string" if node.key in _STRING_FUNCS else "other"
        return None

    def _pg_type_kind(self, pg: str) -> str | None:
        """The kind of a routine's PostgreSQL return type (a domain made from an alias type: its base type's)."""
        if not pg:
            return None
        if pg.startswith(("text", "varchar", "char", "character", "bpchar")):
            return "string"
        if pg == "boolean":
            return "bit"
        if "." in pg:  # a domain public.name ← alias type dbo.Name
            schema, name = pg.split(".", 1)
            for key, base in self.ctx.catalog.alias_types.items():
                alias_schema, alias_name = key.split(".", 1)
                if names.schema(alias_schema).strip('"') == schema.strip('"') and names.fold(alias_name) == name.strip(
                    '"'
                ):
                    if types.is_bit(base, self.ctx.catalog):
                        return "bit"
                    return "string" if types.is_string(base, self.ctx.catalog) else "other"
        return "other"

    # -- run

    def run(self, tree: exp.Expression) -> exp.Expression:
        self._recursive_ctes(tree)
        self._xml_node_columns(tree)
        expr_pivot.rewrite_pivots(self, tree)
        self._collect_scope(tree)
        self._select_assign(tree)
        self._fold_identifiers(tree)
        return self._walk(tree)

    def _walk(self, node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Parameter):  # @@ROWCOUNT and friends
            if node.this.name.lower() in _SYSTEM_VARIABLES:
                return raw(_SYSTEM_VARIABLES[node.this.name.lower()])
            self.ctx.note(
                "warning",
                f"@@{node.this.name}: no PostgreSQL equivalent in an expression (GET "
                "DIAGNOSTICS / RETURNING in PL/pgSQL): rewrite by hand",
                "system-variable",
            )
            return node
        for key, value in list(node.args.items()):
            if isinstance(value, exp.Expression):
                new = self._walk(value)
                if new is not value:
                    node.set(key, new)
            elif isinstance(value, list):
                node.set(key, [self._walk(v) if isinstance(v, exp.Expression) else v for v in value])
        return self.rewrite(node)

    def _fold_identifiers(self, tree: exp.Expression) -> None:
        for table in list(tree.find_all(exp.Table)):
            if table.args.get("catalog"):
                self.ctx.note(
                    "warning",
                    f"cross-database reference {table.sql('tsql')}: the database part is dropped; "
                    "use postgres_fdw or move the object into this database",
                    "cross-database",
                )
                table.set("catalog", None)
            db = table.args.get("db")
            if isinstance(db, exp.Identifier) and db.name.lower() == "sys":
                self.ctx.note(
                    "warning",
                    f"system catalog view sys.{table.name}: rewrite against pg_catalog or information_schema",
                    "system-catalog",
                )
                continue
            if isinstance(db, exp.Identifier):
                table.set(
                    "db",
                    exp.Identifier(this=names.schema(db.name).strip('"'), quoted=names.schema(db.name).startswith('"')),
                )
                db.meta["schema_done"] = True
            elif isinstance(table.this, exp.Identifier) and table.name.lower() in self.ctx.catalog.synonyms:
                pass
        for ident in list(tree.find_all(exp.Identifier)):
            if isinstance(ident.parent, exp.Table) and ident.arg_key == "db":
                continue
            text = ident.name.lstrip("#") if ident.name.startswith("#") else ident.name
            folded = names.fold(text)
            quoted = names.ident(folded).startswith('"')
            ident.set("this", folded)
            ident.set("quoted", quoted)
        for dot in list(tree.find_all(exp.Dot)):  # schema.function(...)
            if isinstance(dot.this, (exp.Identifier, exp.Var)) and isinstance(dot.expression, exp.Anonymous):
                schema = names.schema(dot.this.name)
                dot.set("this", exp.Identifier(this=schema.strip('"'), quoted=schema.startswith('"')))
        for anon in tree.find_all(exp.Anonymous):
            if isinstance(anon.parent, exp.Dot):
                anon.set("this", names.fold(anon.name))

    def _xml_node_columns(self, tree: exp.Expression) -> None:
        """Columns produced by CROSS/OUTER APPLY x.nodes(…) AS t(c): their .value() paths are node-relative."""
        self.xml_nodes: set[str] = set()
        for lateral in tree.find_all(exp.Lateral):
            call = lateral.this
            if isinstance(call, exp.Dot) and isinstance(call.expression, exp.Anonymous):
                alias = lateral.args.get("alias")
                if call.expression.name.lower() == "nodes" and alias is not None:
                    for column in alias.columns:
                        self.xml_nodes.update({f"{alias.name}.{column.name}".lower(), column.name.lower()})

    def _r_dot(self, node: exp.Dot) -> exp.Expression:
        method = node.expression
        if not isinstance(method, exp.Anonymous) or method.name.lower() not in (
            "value",
            "nodes",
            "exist",
            "query",
            "modify",
        ):
            return node
        args = method.expressions
        if not args or not isinstance(args[0], (exp.Literal, exp.National)):
            self.ctx.note(
                "error", f"xml method .{method.name}() with a non-literal XQuery: rewrite by hand", "xml-methods"
            )
            return node
        name = method.name.lower()
        subject = sql_of(node.this)
        namespaces, path = expr_xml.parse_xquery(args[0].name)
        if subject.lower() in self.xml_nodes:
            path = expr_xml.anchor(path)
        ns = expr_xml.ns_array(namespaces)
        if name == "value" and len(args) == 2:
            if not path.rstrip().endswith("text()") and "@" not in path.rsplit("/", 1)[-1]:
                path = f"{path}/text()"
            pg = types.pg_type(args[1].name, self.ctx.catalog)
            r = raw(f"CAST(CAST((xpath({expr_xml.literal(path)}, {subject}{ns}))[1] AS text) AS {pg})")
            r.meta["kind"] = "string" if types.is_string(args[1].name) else "other"
            return r
        if name == "nodes":
            return raw(f"unnest(xpath({expr_xml.literal(path)}, {subject}{ns}))")
        if name == "exist":
            r = raw(f"xpath_exists({expr_xml.literal(path)}, {subject}{ns})")
            r.meta["kind"] = "bit"
            return r
        if name == "query":
            self.ctx.note(
                "warning",
                ".query() → xmlagg over xpath(): the XQuery result is the concatenated nodes "
                "(XQuery constructors are not converted)",
                "xml-methods",
            )
            return raw(f"(SELECT xmlagg(n) FROM unnest(xpath({expr_xml.literal(path)}, {subject}{ns})) AS n)")
        self.ctx.note("error", f"xml method .{method.name}() (XML DML) has no PostgreSQL equivalent", "xml-methods")
        return node

    def _recursive_ctes(self, tree: exp.Expression) -> None:
        """T-SQL needs no RECURSIVE keyword; PostgreSQL does when a CTE reads itself."""
        for with_ in tree.find_all(exp.With):
            for cte in with_.expressions:
                alias = cte.alias.lower()
                if any(t.name.lower() == alias and not t.db for t in cte.this.find_all(exp.Table)):
                    with_.set("recursive", True)

    def _select_assign(self, tree: exp.Expression) -> None:
        """SELECT @a = x, @b = y FROM … → SELECT x, y INTO a, b FROM … (PL/pgSQL's row assignment)."""
        if not isinstance(tree, exp.Select) or not tree.expressions:
            return
        if not all(isinstance(e, exp.EQ) and isinstance(e.this, exp.Parameter) for e in tree.expressions):
            return
        targets = [self._variable(e.this) for e in tree.expressions]
        values = []
        for e in tree.expressions:  # a bit (boolean) variable: PL/pgSQL has no integer → boolean assignment cast
            var_type = self.ctx.variable_types.get("@" + e.this.name.lower(), "")
            bit = var_type and types.is_bit(var_type, self.ctx.catalog)
            values.append(
                exp.Cast(this=e.expression, to=exp.DataType.build("bit", dialect="tsql")) if bit else e.expression
            )
        tree.set("expressions", values)
        tree.set("into", exp.Into(this=raw(", ".join(targets))))

    def _variable(self, param: exp.Parameter) -> str:
        name = "@" + param.name.lower()
        if name in self.ctx.variables:
            return self.ctx.variables[name]
        message = f"variable {name} is not declared in this scope: spelled {name[1:]}"
        if not any(item.message == message for item in self.ctx.items):
            self.ctx.note("warning", message, "variable")
        return names.ident(name[1:])

    # -- rewrites of one node whose children are already converted

    def rewrite(self, node: exp.Expression) -> exp.Expression:
        handler = getattr(self, f"_r_{type(node).__name__.lower()}", None)
        return handler(node) if handler else node

    def _r_parameter(self, node: exp.Parameter) -> exp.Expression:
        if node.name.startswith("@"):
            return self._r_sessionparameter(node)
        col = exp.column(self._variable(node).strip('"'), quoted=self._variable(node).startswith('"'))
        var_type = self.ctx.variable_types.get("@" + node.name.lower())
        if var_type:
            col.meta["var_type"] = var_type
        return col

    def _r_sessionparameter(self, node: exp.Expression) -> exp.Expression:
        self.ctx.note(
            "warning", f"@@{node.name}: no PostgreSQL equivalent in an expression; rewrite by hand", "system-variable"
        )
        return node

    def _r_national(self, node: exp.National) -> exp.Expression:
        return exp.Literal.string(node.name)

    def _r_datatype(self, node: exp.DataType) -> exp.Expression:
        if isinstance(node.parent, (exp.Cast, exp.TryCast, exp.Convert, exp.ColumnDef)) or node.parent is None:
            tsql = node.sql("tsql")
            try:
                return exp.DataType.build(types.pg_type(tsql, self.ctx.catalog), dialect="postgres")
            except Exception:  # a domain or unusual type name: keep sqlglot's spelling
                return node
        return node

    def _r_add(self, node: exp.Add) -> exp.Expression:
        if "string" in (self.kind(node.this), self.kind(node.expression)):
            return exp.DPipe(this=node.this, expression=node.expression, safe=True)
        return self._r_sub(node)

    def _r_sub(self, node: exp.Binary) -> exp.Expression:
        """Arithmetic on a bit value (T-SQL: 0/1) → on the boolean cast to integer."""
        for side in ("this", "expression"):
            value = node.args.get(side)
            if value is not None and self.kind(value) == "bit":
                node.set(side, exp.Cast(this=value, to=exp.DataType.build("int")))
        return node

    _r_mul = _r_sub
    _r_div = _r_sub
    _r_mod = _r_sub

    def _bool_literal(self, node: exp.Expression) -> exp.Expression | None:
        inner = node
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.Literal) and not inner.is_string and inner.name in ("0", "1"):
            return exp.Boolean(this=inner.name == "1")
        if isinstance(inner, exp.Case):  # CASE … THEN 1 ELSE 0 END assigned to / compared with a bit
            branches = [w.args.get("true") for w in inner.args.get("ifs") or []] + [inner.args.get("default")]
            converted = [self._bool_literal(b) if b is not None else None for b in branches]
            if all(
                c is not None or b is None or isinstance(b, exp.Null) for b, c in zip(branches, converted, strict=True)
            ):
                case = inner.copy()
                for when, new in zip(case.args.get("ifs") or [], converted[:-1], strict=True):
                    if new is not None:
                        when.set("true", new)
                if converted[-1] is not None:
                    case.set("default", converted[-1])
                return case
        return None

    def _r_eq(self, node: exp.Binary) -> exp.Expression:
        for side, other in (("this", "expression"), ("expression", "this")):
            if self.kind(node.args[side]) == "bit":
                lit = self._bool_literal(node.args[other])
                if lit is not None:
                    node.set(other, lit)
        return node

    _r_neq = _r_eq

    def _r_cast(self, node: exp.Cast) -> exp.Expression:
        to = node.args.get("to")
        if isinstance(to, exp.DataType) and to.this == exp.DataType.Type.BOOLEAN:
            lit = self._bool_literal(node.this)
            if lit is not None:
                return lit
        if isinstance(to, exp.DataType) and to.is_type(*_INTEGER_TYPES) and self._fractional(node.this):
            node.set("this", raw(f"trunc({sql_of(node.this)})"))  # T-SQL truncates, PostgreSQL rounds
        return node

    def _fractional(self, node: exp.Expression) -> bool:
        """Whether a (converted) numeric expression may carry a fraction: decimal/float literals, columns,
        variables and casts, and arithmetic on them."""
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.Literal):
            return not node.is_string and any(c in node.name for c in ".eE")
        if isinstance(node, (exp.Cast, exp.TryCast)):
            to = node.args.get("to")
            return isinstance(to, exp.DataType) and to.is_type(*_FRACTIONAL_TYPES)
        if isinstance(node, exp.Column):
            tsql_type = self.column_type(node) or node.meta.get("var_type")
            return bool(tsql_type) and types.base_name(tsql_type, self.ctx.catalog) in _FRACTIONAL_TSQL
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg)):
            return any(self._fractional(child) for child in (node.this, node.args.get("expression")) if child)
        return False

    def _r_bitwiseand(self, node: exp.Binary) -> exp.Expression:
        """bit & bit / bit | bit / bit ^ bit: on booleans these are AND / OR / <> (PostgreSQL has no & on boolean)."""
        if self.kind(node.this) == "bit" and self.kind(node.expression) == "bit":
            op = {exp.BitwiseAnd: "AND", exp.BitwiseOr: "OR", exp.BitwiseXor: "<>"}[type(node)]
            r = raw(f"({sql_of(node.this)} {op} {sql_of(node.expression)})")
            r.meta["kind"] = "bit"
            return r
        return node

    _r_bitwiseor = _r_bitwiseand
    _r_bitwisexor = _r_bitwiseand

    def _r_nextvaluefor(self, node: exp.Expression) -> exp.Expression:
        """NEXT VALUE FOR s.seq → nextval('s.seq') (OVER (ORDER BY …) is not kept: reported)."""
        ref = node.this
        if not isinstance(ref, exp.Column):
            return node
        if node.args.get("order"):
            self.ctx.note("warning", "NEXT VALUE FOR … OVER (ORDER BY …): values are not assigned in that order", "seq")
        schema = ref.table or self.default_schema
        qualified = names.qualified(schema, ref.name).replace("'", "''")
        r = raw(f"nextval('{qualified}')")
        r.meta["kind"] = "other"
        return r

    def _r_coalesce(self, node: exp.Coalesce) -> exp.Expression:
        """ISNULL(bit_column, 0) / COALESCE(b, 1): the 0/1 fallbacks of a bit value are false/true."""
        values = [node.this, *node.expressions]
        if any(self.kind(v) == "bit" for v in values):
            converted = [self._bool_literal(v) or v for v in values]
            node.set("this", converted[0])
            node.set("expressions", converted[1:])
        return node

    def _r_currenttimestampltz(self, node: exp.Expression) -> exp.Expression:
        return raw("now()")  # SYSDATETIMEOFFSET(): the time with its zone

    def _r_trycast(self, node: exp.TryCast) -> exp.Expression:
        self.ctx.note(
            "warning", "TRY_CAST/TRY_CONVERT → CAST: PostgreSQL raises an error where T-SQL returns NULL", "try-cast"
        )
        return self._r_cast(exp.Cast(this=node.this, to=node.args.get("to")))

    def _r_convert(self, node: exp.Expression) -> exp.Expression:
        if node.args.get("safe"):
            self.ctx.note(
                "warning", "TRY_CONVERT → CAST: PostgreSQL raises an error where T-SQL returns NULL", "try-cast"
            )
        style = node.args.get("style")
        to = node.this
        if style is not None and isinstance(to, exp.DataType):
            fmt = _STYLES.get(style.name)
            value = sql_of(node.expression)
            if fmt is None:
                self.ctx.note("warning", f"CONVERT style {style.name} not mapped: plain CAST used", "convert-style")
            elif to.is_type(*exp.DataType.TEXT_TYPES) or to.this in (exp.DataType.Type.CHAR, exp.DataType.Type.NCHAR):
                r = raw(f"CAST(to_char({value}, '{fmt}') AS {sql_of(to)})")
                r.meta["kind"] = "string"
                return r
            elif to.this == exp.DataType.Type.DATE:
                return raw(f"to_date(CAST({value} AS text), '{fmt}')")
            elif to.is_type(*exp.DataType.TEMPORAL_TYPES):
                return raw(f"CAST(to_timestamp(CAST({value} AS text), '{fmt}') AS {sql_of(to)})")
        return self._r_cast(exp.Cast(this=node.expression, to=to))

    def _r_currenttimestamp(self, node: exp.Expression) -> exp.Expression:
        return raw("LOCALTIMESTAMP")  # GETDATE()/SYSDATETIME(): local time without a zone, like datetime

    def _r_uuid(self, node: exp.Expression) -> exp.Expression:
        return raw("gen_random_uuid()")

    def _r_anonymous(self, node: exp.Anonymous) -> exp.Expression:
        name = node.name.lower()
        args = [sql_of(a) for a in node.expressions]
        if name in ("sysutcdatetime", "getutcdate"):
            return raw("(now() AT TIME ZONE 'utc')")
        if name == "sysdatetimeoffset":
            return raw("now()")
        if name == "newsequentialid":
            self.ctx.note("info", "NEWSEQUENTIALID() → gen_random_uuid(): values are not sequential", "newid")
            return raw("gen_random_uuid()")
        if name == "datalength" and len(args) == 1:
            return raw(f"octet_length({args[0]})")
        if name in ("datediff", "datediff_big") and len(args) == 3:
            return self._datediff(node.expressions[0].name, node.expressions[1], node.expressions[2])
        if name == "choose" and len(args) >= 2:
            whens = " ".join(f"WHEN {i} THEN {v}" for i, v in enumerate(args[1:], start=1))
            return raw(f"(CASE {args[0]} {whens} END)")
        if name == "isnumeric" and len(args) == 1:
            self.ctx.note(
                "info",
                "ISNUMERIC → regular expression for decimal/float text (T-SQL also accepts "
                "currency signs and a few other forms)",
                "isnumeric",
            )
            return raw(
                f"(CASE WHEN CAST({args[0]} AS text) ~ '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)"
                f"([eE][-+]?[0-9]+)?\\s*$' THEN 1 ELSE 0 END)"
            )
        if name == "isjson" and len(args) == 1:
            self.ctx.note(
                "warning",
                "ISJSON(x) → (CAST(x AS jsonb) IS NOT NULL): invalid JSON raises an error "
                "instead of returning 0 (a CHECK constraint still rejects it)",
                "json",
            )
            return raw(f"CASE WHEN CAST({args[0]} AS jsonb) IS NOT NULL THEN 1 END")
        mapped = expr_funcs.call(self, node, name, args)
        if mapped is not None:
            if mapped.text is None:
                return node
            r = raw(mapped.text)
            r.meta["kind"] = mapped.kind
            return r
        if name == "error_message":
            return raw("SQLERRM")
        if name in (
            "scope_identity",
            "ident_current",
            "object_id",
            "object_name",
            "db_name",
            "suser_sname",
            "host_name",
            "app_name",
            "user_name",
            "original_login",
            "context_info",
        ):
            replacement = {
                "suser_sname": "session_user",
                "user_name": "current_user",
                "db_name": "current_database()",
                "original_login": "session_user",
                "app_name": "current_setting('application_name')",
            }
            if name in replacement and not args:
                return raw(replacement[name])
            self.ctx.note(
                "warning", f"{name.upper()}() has no direct PostgreSQL equivalent: rewrite by hand", "system-function"
            )
        return node

    def _ts(self, node: exp.Expression) -> str:
        inner = node.this if isinstance(node, (exp.TimeStrToTime, exp.TsOrDsToDate)) else node
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.Literal) and not inner.is_string:  # T-SQL: day number n after 1900-01-01
            return f"(TIMESTAMP '1900-01-01' + ({inner.name}) * INTERVAL '1 day')"
        if isinstance(inner, exp.Neg) and isinstance(inner.this, exp.Literal):
            return f"(TIMESTAMP '1900-01-01' - ({inner.this.name}) * INTERVAL '1 day')"
        return f"CAST({sql_of(inner)} AS timestamp)"

    def _datediff(self, unit_text: str, start: exp.Expression, end: exp.Expression) -> exp.Expression:
        """DATEDIFF counts unit boundaries crossed between start and end (not elapsed whole units)."""
        unit = _DATE_UNITS.get(unit_text.lower())
        a, b = self._ts(start), self._ts(end)
        if unit == "year":
            text = f"(CAST(EXTRACT(YEAR FROM {b}) AS integer) - CAST(EXTRACT(YEAR FROM {a}) AS integer))"
        elif unit == "quarter":
            text = (
                f"((CAST(EXTRACT(YEAR FROM {b}) AS integer) - CAST(EXTRACT(YEAR FROM {a}) AS integer)) * 4 + "
                f"CAST(EXTRACT(QUARTER FROM {b}) AS integer) - CAST(EXTRACT(QUARTER FROM {a}) AS integer))"
            )
        elif unit == "month":
            text = (
                f"((CAST(EXTRACT(YEAR FROM {b}) AS integer) - CAST(EXTRACT(YEAR FROM {a}) AS integer)) * 12 + "
                f"CAST(EXTRACT(MONTH FROM {b}) AS integer) - CAST(EXTRACT(MONTH FROM {a}) AS integer))"
            )
        elif unit in ("day", "dayofyear", "weekday"):
            text = f"(CAST({b} AS date) - CAST({a} AS date))"
        elif unit == "week":  # weeks start on Sunday for DATEDIFF whatever DATEFIRST says
            text = (
                f"((CAST(date_trunc('week', CAST({b} AS date) + 1) AS date) - "
                f"CAST(date_trunc('week', CAST({a} AS date) + 1) AS date)) / 7)"
            )
        elif unit in _TRUNC:
            per = {"hour": "3600", "minute": "60", "second": "1", "millisecond": "0.001", "microsecond": "0.000001"}
            text = (
                f"CAST(round(EXTRACT(EPOCH FROM date_trunc('{_TRUNC[unit]}', {b}) - "
                f"date_trunc('{_TRUNC[unit]}', {a})) / {per[unit]}) AS bigint)"
            )
        else:
            self.ctx.note("error", f"DATEDIFF unit {unit_text!r} not converted", "datediff")
            return raw(f"/* DATEDIFF({unit_text}) */ NULL")
        r = raw(text)
        r.meta["kind"] = "other"
        return r

    def _r_datediff(self, node: exp.DateDiff) -> exp.Expression:
        unit = node.args.get("unit")
        return self._datediff(unit.name if unit else "day", node.expression, node.this)

    def _r_dateadd(self, node: exp.DateAdd) -> exp.Expression:
        unit_node = node.args.get("unit")
        unit = _DATE_UNITS.get((unit_node.name if unit_node else "day").lower())
        if unit not in _INTERVAL:
            self.ctx.note("error", f"DATEADD unit {unit_node} not converted", "dateadd")
            return node
        base = node.this
        base_sql = (
            self._ts(base)
            if isinstance(base, (exp.Literal, exp.TimeStrToTime, exp.TsOrDsToDate, exp.Paren))
            else sql_of(base)
        )
        return raw(f"({base_sql} + ({sql_of(node.expression)}) * INTERVAL '{_INTERVAL[unit]}')")

    def _datepart(self, unit_text: str, value: exp.Expression) -> exp.Expression:
        unit = _DATE_UNITS.get(unit_text.lower())
        v = self._ts(value)
        simple = {
            "year": "YEAR",
            "quarter": "QUARTER",
            "month": "MONTH",
            "day": "DAY",
            "hour": "HOUR",
            "minute": "MINUTE",
            "dayofyear": "DOY",
            "isoweek": "WEEK",
        }
        if unit in simple:
            return raw(f"CAST(EXTRACT({simple[unit]} FROM {v}) AS integer)")
        if unit == "weekday":  # DATEFIRST 7 (us_english): Sunday = 1
            return raw(f"(CAST(EXTRACT(DOW FROM {v}) AS integer) + 1)")
        if unit == "week":  # week 1 holds January 1st, weeks start on Sunday
            return raw(
                f"((CAST(EXTRACT(DOY FROM {v}) AS integer) - 1 + "
                f"CAST(EXTRACT(DOW FROM date_trunc('year', {v})) AS integer)) / 7 + 1)"
            )
        if unit == "second":
            return raw(f"CAST(floor(EXTRACT(SECOND FROM {v})) AS integer)")
        if unit == "millisecond":
            return raw(f"(CAST(floor(EXTRACT(MILLISECONDS FROM {v})) AS integer) % 1000)")
        if unit == "microsecond":
            return raw(f"(CAST(EXTRACT(MICROSECONDS FROM {v}) AS integer) % 1000000)")
        self.ctx.note("error", f"DATEPART unit {unit_text!r} not converted", "datepart")
        return raw(f"/* DATEPART({unit_text}) */ NULL")

    def _r_extract(self, node: exp.Extract) -> exp.Expression:
        unit = node.this.name.lower()
        unit = {"dayofweek": "weekday", "dayofyear": "dayofyear"}.get(unit, unit)
        return self._datepart(unit, node.expression)

    def _r_year(self, node: exp.Expression) -> exp.Expression:
        return self._datepart(node.key, node.this)

    _r_month = _r_year
    _r_day = _r_year

    def _r_datefromparts(self, node: exp.Expression) -> exp.Expression:
        parts = [sql_of(node.args[k]) for k in ("year", "month", "day")]
        return raw(f"make_date({', '.join(parts)})")

    def _r_lastday(self, node: exp.LastDay) -> exp.Expression:
        v = self._ts(node.this)
        return raw(f"CAST(date_trunc('month', {v}) + INTERVAL '1 month - 1 day' AS date)")

    def _r_length(self, node: exp.Length) -> exp.Expression:
        inner = node.this
        if isinstance(inner, exp.Cast) and inner.to.is_type(exp.DataType.Type.TEXT):
            inner = inner.this
        r = raw(f"length(rtrim(CAST({sql_of(inner)} AS text), ' '))")  # LEN ignores trailing blanks
        r.meta["kind"] = "other"
        return r

    def _r_stuff(self, node: exp.Stuff) -> exp.Expression:
        s, start = sql_of(node.this), sql_of(node.args["start"])
        length, new = sql_of(node.args["length"]), sql_of(node.expression)
        r = raw(f"overlay({s} PLACING {new} FROM {start} FOR {length})")
        r.meta["kind"] = "string"
        return r

    def _r_strposition(self, node: exp.StrPosition) -> exp.Expression:
        s, sub = sql_of(node.this), sql_of(node.args["substr"])
        start = node.args.get("position")
        if start is None:
            return raw(f"strpos({s}, {sub})")
        st = sql_of(start)
        return raw(
            f"(CASE WHEN strpos(substr({s}, GREATEST({st}, 1)), {sub}) = 0 THEN 0 "
            f"ELSE strpos(substr({s}, GREATEST({st}, 1)), {sub}) + GREATEST({st}, 1) - 1 END)"
        )

    def _json_path(self, path: exp.Expression) -> str | None:
        if isinstance(path, exp.Literal) and path.is_string:
            text = re.sub(r"^\s*(lax|strict)\s+", "", path.name)
            if not text.startswith("$"):
                return None
            keys = re.findall(r"\.\s*\"([^\"]+)\"|\.([A-Za-z_][\w$]*)|\[(\d+)\]", text[1:])
            parts = [a or b or c for a, b, c in keys]
            return "{" + ",".join(f'"{p}"' if ("," in p or " " in p) else p.replace("'", "''") for p in parts) + "}"
        if not isinstance(path, exp.JSONPath):
            return None
        parts = []
        for part in path.expressions:
            if isinstance(part, exp.JSONPathRoot):
                continue
            if isinstance(part, (exp.JSONPathKey, exp.JSONPathSubscript)) and not isinstance(part.this, exp.Expression):
                parts.append(str(part.this).replace('"', '\\"').replace("'", "''"))
            else:
                return None
        return "{" + ",".join(f'"{p}"' if ("," in p or " " in p) else p for p in parts) + "}"

    def _r_jsonextractscalar(self, node: exp.Expression) -> exp.Expression:
        path = self._json_path(node.expression)
        if path is None:
            self.ctx.note("error", f"JSON path {node.expression.sql('tsql')} not converted", "json")
            return node
        op = "#>>" if isinstance(node, exp.JSONExtractScalar) else "#>"
        r = raw(f"(CAST({sql_of(node.this)} AS jsonb) {op} '{path}')")
        if op == "#>":
            r = raw(f"CAST({r.this} AS text)")
        r.meta["kind"] = "string"
        return r

    _r_jsonextract = _r_jsonextractscalar

    def _r_concat(self, node: exp.Concat) -> exp.Expression:
        """CONCAT treats NULL as ''; PostgreSQL's concat() is only STABLE, so || keeps generated columns legal."""
        parts = []
        for arg in node.expressions:
            text = sql_of(arg)
            if isinstance(arg, exp.Literal) and arg.is_string:
                parts.append(text)
            elif self.kind(arg) == "string":
                parts.append(f"COALESCE({text}, '')")
            else:
                parts.append(f"COALESCE(CAST({text} AS text), '')")
        r = raw("(" + " || ".join(parts or ["''"]) + ")")
        r.meta["kind"] = "string"
        return r

    def _r_like(self, node: exp.Like) -> exp.Expression:
        """LIKE with [a-z] / [^0-9] classes → SIMILAR TO (same wildcards % and _, and bracket classes)."""
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string and "[" in pattern.name):
            return node
        if node.args.get("escape") is not None:
            self.ctx.note("warning", f"LIKE {pattern.name!r} with ESCAPE and [...] classes: check by hand", "like")
            return node
        out, in_class = [], False
        for ch in pattern.name:
            if ch == "[" and not in_class:
                in_class = True
            elif ch == "]" and in_class:
                in_class = False
            elif not in_class and ch in "|*+?{}()\\":
                ch = "\\" + ch  # SIMILAR TO metacharacters are literal in LIKE
            out.append(ch)
        self.ctx.note("info", f"LIKE {pattern.name!r} with [...] classes → SIMILAR TO", "like-brackets")
        literal = "".join(out).replace("'", "''")
        negate = "NOT " if node.args.get("negate") else ""
        r = raw(f"{sql_of(node.this)} {negate}SIMILAR TO '{literal}'")
        r.meta["kind"] = "bit"
        return r

    def _r_subquery(self, node: exp.Subquery) -> exp.Expression:
        select = node.this
        if isinstance(select, exp.Select) and select.args.get("for_"):
            return self._for_xml(node, select)
        return node

    def _for_xml(self, node: exp.Subquery, select: exp.Select) -> exp.Expression:
        clause = select.args["for_"]
        text = clause.sql("tsql").upper()
        path_empty = re.search(r"PATH\s*\(\s*''\s*\)", text) is not None or "PATH" in text
        simple = len(select.expressions) == 1 and (
            not isinstance(select.expressions[0], exp.Alias)
            or select.expressions[0].alias.lower() in ("text()", "data()")
        )
        if not (path_empty and simple and re.search(r"PATH\s*\(\s*''\s*\)", text)):
            self.ctx.note("error", f"{clause.sql('tsql')} builds XML: rewrite with xmlagg/xmlelement", "for-xml")
            return node
        value = select.expressions[0]
        value = value.this if isinstance(value, exp.Alias) else value
        order = select.args.get("order")
        order_sql = " " + sql_of(order).strip() if order else ""
        select.set("order", None)
        select.set("for_", None)
        select.set("expressions", [raw(f"string_agg(CAST({sql_of(value)} AS text), ''{order_sql})")])
        if "TYPE" in text:
            self.ctx.note("info", "FOR XML PATH('') , TYPE → string_agg: XML entities are not produced", "for-xml")
        else:
            self.ctx.note(
                "info",
                "FOR XML PATH('') → string_agg: T-SQL escapes &, < and > as XML entities, string_agg does not",
                "for-xml",
            )
        wrapped = raw(f"({sql_of(select)})")
        wrapped.meta["kind"] = "string"
        return wrapped

    def _r_group(self, node: exp.Group) -> exp.Expression:
        """GROUP BY a, b WITH ROLLUP|CUBE (T-SQL's old form) → GROUP BY ROLLUP|CUBE (a, b): the ISO form, which
        PostgreSQL reads (and T-SQL too). The one rewrite for views and routines alike."""
        for key, cls in (("rollup", exp.Rollup), ("cube", exp.Cube)):
            marks = node.args.get(key) or []
            if any(isinstance(m, cls) and not m.expressions for m in marks) and node.expressions:
                node.set(key, None)
                node.set("expressions", [cls(expressions=list(node.expressions))])
        return node

    def _r_limit(self, node: exp.Limit) -> exp.Expression:
        options = node.args.get("limit_options")
        if options is not None and options.args.get("with_ties"):
            self.ctx.note("info", "TOP … WITH TIES → FETCH FIRST … ROWS WITH TIES", "top")
        return node

    def _r_select(self, node: exp.Select) -> exp.Expression:
        limit = node.args.get("limit")
        options = limit.args.get("limit_options") if isinstance(limit, exp.Limit) else None
        if options is not None and options.args.get("with_ties") and not options.args.get("percent"):
            node.set("limit", raw(f" FETCH FIRST ({sql_of(limit.expression)}) ROWS WITH TIES"))
            return node
        if options is not None and options.args.get("percent"):
            inner = node.copy()
            inner.set("limit", None)
            inner.set("order", None)
            pct = sql_of(limit.expression)
            node.set(
                "limit",
                exp.Limit(
                    expression=raw(
                        f"(SELECT CAST(ceil(count(*) * ({pct}) / 100.0) AS bigint) "
                        f"FROM ({sql_of(inner)}) AS top_percent)"
                    )
                ),
            )
            self.ctx.note(
                "info", "TOP … PERCENT → LIMIT (row count of the same query * percent / 100, rounded up)", "top-percent"
            )
        return node

    def _r_returning(self, node: exp.Returning) -> exp.Expression:
        into = node.args.get("into")
        parent = node.parent
        if isinstance(parent, exp.Update):
            self._update_returning(node, parent)
        # the target's own row: qualified by the target, since joined tables may have columns of the same name
        own = {exp.Update: "inserted", exp.Delete: "deleted"}.get(type(parent))
        target = parent.this if parent is not None else None
        if isinstance(parent, exp.Delete) and not isinstance(target, exp.Table):  # DELETE t WHERE … (no FROM)
            tables = parent.args.get("tables") or []
            target = tables[0] if len(tables) == 1 else None
        ref = (target.alias or target.name) if isinstance(target, exp.Table) else None
        for col in list(node.find_all(exp.Column)):
            qualifier = col.table.lower()
            if qualifier in ("inserted", "deleted"):
                qualified = qualifier == own and ref and (parent.args.get("from_") or parent.args.get("tables"))
                col.set("table", exp.to_identifier(ref) if qualified else None)
        if isinstance(into, exp.Expression):
            if isinstance(into, Raw):
                self.returning_into = into.name
            elif isinstance(into, exp.Func):  # INTO t (a, b) read as a call t(a, b) (LOG (a) even as LN): T-SQL text
                self.returning_into = into.sql(dialect="tsql")
            else:
                self.returning_into = "=" + sql_of(into)
            node.set("into", None)
        return node

    def _update_returning(self, node: exp.Returning, update: exp.Update) -> None:
        """deleted.c / deleted.* in an UPDATE's OUTPUT → dbshift_old.dbshift_old_c AS c (see _update_old_values);
        inserted.* → the target's columns (the snapshot joined in would add its own to a bare *)."""
        target = update.this
        known = self._table_columns_folded(target) if isinstance(target, exp.Table) else None
        all_columns = [names.ident(c.name) for c in known.values()] if known else None
        old: list[str] = update.meta.setdefault("old_columns", [])
        items: list[exp.Expression] = []
        for item in node.expressions:
            inner = item.this if isinstance(item, exp.Alias) else item
            qualifier = inner.table.lower() if isinstance(inner, exp.Column) else ""
            if (
                isinstance(inner, exp.Column)
                and isinstance(inner.this, exp.Star)
                and qualifier in ("inserted", "deleted")
            ):
                if all_columns is None:
                    self.ctx.note("error", f"OUTPUT {qualifier}.* of a table the catalog does not know", "output")
                    items.append(item)
                    continue
                for column in all_columns:
                    items.append(self._returning_column(qualifier, column, column, old))
                continue
            if isinstance(inner, exp.Column) and qualifier == "deleted":
                alias = item.alias if isinstance(item, exp.Alias) else inner.name
                items.append(self._returning_column("deleted", names.ident(inner.name), names.ident(alias), old))
                continue
            items.append(item)
        node.set("expressions", items)

    @staticmethod
    def _returning_column(qualifier: str, column: str, alias: str, old: list[str]) -> exp.Expression:
        if qualifier == "inserted":
            return exp.column(column.strip('"'), table="inserted", quoted=column.startswith('"'))
        if column not in old:
            old.append(column)
        return raw(f"dbshift_old.{names.ident('dbshift_old_' + column.strip(chr(34)))} AS {alias}")

    def _limit_dml(self, tree: exp.Update | exp.Delete) -> None:
        """DELETE/UPDATE TOP (n) → … WHERE t.ctid IN (SELECT t.ctid FROM t WHERE <same condition> LIMIT n): the
        same "any n qualifying rows" T-SQL deletes or updates (TOP in DML takes no ORDER BY)."""
        if self.dml_top is None or tree.parent is not None:
            return
        count, percent = self.dml_top
        self.dml_top = None
        target = tree.this
        joined = tree.args.get("from_") or tree.args.get("using")
        if not isinstance(tree, (exp.Update, exp.Delete)) or not isinstance(target, exp.Table) or joined:
            self.ctx.note("error", "TOP (n) in a DELETE/UPDATE with a join: rewrite by hand", "dml-top")
            return
        n = convert_expression(count, self.ctx)
        ref = names.ident(target.alias) if target.alias else names.ident(target.name)
        where = tree.args.get("where")
        condition = f" WHERE {sql_of(where.this)}" if where is not None else ""
        source = f"FROM {sql_of(target)}{condition}"
        limit = f"(SELECT CAST(ceil(count(*) * ({n}) / 100.0) AS bigint) {source})" if percent else n
        tree.set("where", exp.Where(this=raw(f"{ref}.ctid IN (SELECT {ref}.ctid {source} LIMIT {limit})")))
        tree.meta["limited"] = True
        self.ctx.note("info", "DELETE/UPDATE TOP (n) → WHERE ctid IN (SELECT … LIMIT n)", "dml-top")

    def select_into_table(self, tree: exp.Expression) -> str:
        """SELECT … INTO #t / INTO t (creates a table in T-SQL) → CREATE [TEMP] TABLE t AS SELECT … (in PL/pgSQL
        SELECT … INTO assigns variables)."""
        into = tree.args.get("into") if isinstance(tree, exp.Select) else None
        if not isinstance(into, exp.Into) or isinstance(into.this, Raw):
            return sql_of(tree)
        temporary = bool(into.args.get("temporary")) or into.this.name.startswith("#")
        tree.set("into", None)
        return f"CREATE {'TEMP ' if temporary else ''}TABLE {sql_of(into.this)} AS {sql_of(tree)}"

    def wrap_output_into(self, statement: str) -> str:
        """OUTPUT … INTO target → WITH r AS (<dml> RETURNING …) INSERT INTO target SELECT * FROM r."""
        target = self.returning_into or ""
        tsql_target = target.strip()
        if tsql_target.startswith("="):  # already converted by sqlglot's parse (a variable or table)
            tsql_target = tsql_target[1:]
        elif tsql_target.startswith("@"):
            name = self.ctx.variables.get(tsql_target.split("(")[0].strip().lower(), names.ident(tsql_target[1:]))
            rest = tsql_target[len(tsql_target.split("(")[0]) :]
            tsql_target = name + rest
        elif tsql_target:
            head = tsql_target.split("(")[0].strip()
            temporary = {v.lower() for v in self.ctx.variables.values()}
            if head.startswith("#") or head.lower() in temporary:  # a temp table / table variable
                tsql_target = names.ident(head.lstrip("#")) + tsql_target[len(head) :]
            else:
                schema, name = names.split_schema_name(head)
                tsql_target = names.qualified(schema, name) + tsql_target[len(head) :]
        tsql_target = re.sub(r"\[([^\]]+)\]", lambda m: names.ident(m.group(1)), tsql_target)
        return f"WITH output_rows AS ({statement}) INSERT INTO {tsql_target} SELECT * FROM output_rows"

    # -- UPDATE/DELETE … FROM with the target in the FROM list

    def _r_insert(self, node: exp.Insert) -> exp.Expression:
        """INSERT … VALUES (1) into a bit (boolean) column: PostgreSQL has no int → boolean assignment cast."""
        target = node.this
        table = target.this if isinstance(target, exp.Schema) else target
        columns = target.expressions if isinstance(target, exp.Schema) else []
        values = node.expression
        if isinstance(values, exp.Select):  # INSERT … SELECT 1, …: the select list is the one "row"
            owners: list[exp.Expression] = [values]
        elif isinstance(values, exp.Values):
            owners = [row for row in values.expressions if isinstance(row, exp.Tuple)]
        else:
            return node
        if not isinstance(table, exp.Table):
            return node
        known = self._table_columns_folded(table)
        if not known:
            return node
        names_in_order = [c.name.lower() for c in columns] if columns else list(known)
        bits = {
            i for i, n in enumerate(names_in_order) if n in known and types.is_bit(known[n].tsql_type, self.ctx.catalog)
        }
        for owner in owners:
            items = list(owner.expressions)
            for i in bits:
                if i < len(items):
                    lit = self._bool_literal(items[i])
                    if lit is not None:
                        items[i] = lit
            owner.set("expressions", items)
        return node

    def _table_columns_folded(self, table: exp.Table) -> dict[str, Column] | None:
        """Catalog columns of a table whose identifiers are already folded (dbo → public)."""
        schema = table.db if table.db and table.db != "public" else None
        for candidate in ([f"{schema}.{table.name}"] if schema else []) + [
            f"{self.default_schema}.{table.name}",
            f"dbo.{table.name}",
        ]:
            key = candidate.lower()
            cols = self.ctx.catalog.tables.get(self.ctx.catalog.synonyms.get(key, key))
            if cols is not None:
                return {k.lower(): v for k, v in cols.items()}
        return None

    def _r_update(self, node: exp.Update) -> exp.Expression:
        for eq in node.expressions:  # SET [s].[t].[c] = … → SET c = …: a SET target may only name the target
            if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
                for part in ("table", "db", "catalog"):
                    eq.this.set(part, None)
        self._dml_from(node)
        self._limit_dml(node)
        self._update_old_values(node)
        return node

    def _update_old_values(self, node: exp.Update) -> None:
        """OUTPUT deleted.c in an UPDATE: PostgreSQL 15's RETURNING sees only the new row, so the old row is joined
        in again by ctid from a snapshot of the target taken by the same statement (UPDATE … FROM (SELECT ctid,
        old columns …) WHERE t.ctid = old.ctid). Its columns are renamed so that unqualified names stay
        unambiguous."""
        old_columns: list[str] = node.meta.get("old_columns") or []
        if not old_columns:
            return
        target = node.this
        if not isinstance(target, exp.Table):
            self.ctx.note("error", "OUTPUT deleted.* in an UPDATE of this target: rewrite by hand", "output")
            return
        ref = names.ident(target.alias) if target.alias else names.ident(target.name)
        table_sql = sql_of(target)
        where = node.args.get("where")
        picked = ", ".join(f"{ref}.{c} AS {names.ident('dbshift_old_' + c.strip(chr(34)))}" for c in old_columns)
        snapshot = f"SELECT {ref}.ctid AS dbshift_ctid, {picked} FROM {table_sql}"
        from_ = node.args.get("from_")
        if where is not None and from_ is None:  # only the target in scope: read just the rows to be updated
            snapshot += f" WHERE {sql_of(where.this)}"
        old = exp.Subquery(this=raw(snapshot), alias=exp.TableAlias(this=exp.to_identifier("dbshift_old")))
        if from_ is None:
            node.set("from_", exp.From(this=old))
        else:
            head = from_.this
            head.set("joins", [*(head.args.get("joins") or []), exp.Join(this=old, kind="CROSS")])
        join = raw(f"{ref}.ctid = dbshift_old.dbshift_ctid")
        if where is None or node.meta.get("limited"):  # TOP's LIMIT is evaluated once, in the snapshot
            node.set("where", exp.Where(this=join))
        else:
            node.set("where", exp.Where(this=exp.and_(join, where.this)))
        self.ctx.note(
            "info",
            "OUTPUT deleted.* in an UPDATE → the old row joined back by ctid (UPDATE … FROM a snapshot of the "
            "target), since PostgreSQL 15 RETURNING sees only new values",
            "output",
        )

    def _r_delete(self, node: exp.Delete) -> exp.Expression:
        tables = node.args.get("tables") or []
        if not isinstance(node.this, exp.Table) and len(tables) == 1:  # DELETE t WHERE … (FROM is optional)
            node.set("this", tables[0])
            node.set("tables", None)
        self._dml_from(node)
        self._limit_dml(node)
        return node

    def _dml_from(self, node: exp.Expression) -> None:
        """T-SQL UPDATE a … FROM t a JOIN u … / DELETE a FROM t a JOIN u … → PostgreSQL FROM/USING + WHERE."""
        if isinstance(node, exp.Update):
            from_ = node.args.get("from_")
            first = from_.this if isinstance(from_, exp.From) else None
            target = node.this
        else:
            first = node.this
            target = (node.args.get("tables") or [node.this])[0]
        if not isinstance(first, exp.Table) or not isinstance(target, exp.Table):
            return
        key = target.name.lower()
        if first.name.lower() != key and (first.alias or "").lower() != key:
            return
        joins = first.args.get("joins") or []
        if any(j.side or (j.kind and j.kind.upper() not in ("INNER", "CROSS")) for j in joins):
            self.ctx.note("error", "UPDATE/DELETE … FROM with an outer join: rewrite by hand", "dml-from")
            return
        new_target = first.copy()
        new_target.set("joins", None)
        rest = [j.this for j in joins]
        conditions = [j.args["on"] for j in joins if j.args.get("on") is not None]
        node.set("this", new_target)
        if isinstance(node, exp.Update):
            if rest:
                head = rest[0]
                head.set("joins", [exp.Join(this=t, kind="CROSS") for t in rest[1:]] or None)
                node.set("from_", exp.From(this=head))
            else:
                node.set("from_", None)
        else:
            node.set("tables", None)
            node.set("using", rest or None)
        where = node.args.get("where")
        all_conds = conditions + ([where.this] if where is not None else [])
        if all_conds:
            node.set("where", exp.Where(this=exp.and_(*all_conds)))

    # -- MERGE

    def merge_by_source(self, tree: exp.Merge) -> list[str]:
        """WHEN NOT MATCHED BY SOURCE (absent in PostgreSQL 15) → a DELETE/UPDATE run before the MERGE."""
        whens = tree.args.get("whens")
        if whens is None:
            return []
        pre: list[str] = []
        keep = []
        target = tree.this
        using = tree.args.get("using")
        for when in whens.expressions:
            if not when.args.get("source"):
                keep.append(when)
                continue
            target_sql = self._merge_sql(target.copy())
            alias = target.alias or target.name
            using_sql = self._merge_sql(using.copy())
            on_sql = self._merge_sql(tree.args["on"].copy())
            cond = f"NOT EXISTS (SELECT 1 FROM {using_sql} WHERE {on_sql})"
            if when.args.get("condition") is not None:
                cond += f" AND ({self._merge_sql(when.args['condition'].copy())})"
            then = when.args.get("then")
            if isinstance(then, exp.Var) and then.name.upper() == "DELETE":
                pre.append(f"DELETE FROM {target_sql} WHERE {cond}")
            elif isinstance(then, exp.Update):
                sets = ", ".join(self._merge_sql(e.copy()) for e in then.expressions)
                sets = re.sub(rf"\b{re.escape(names.ident(alias))}\.", "", sets)
                pre.append(f"UPDATE {target_sql} SET {sets} WHERE {cond}")
            else:
                self.ctx.note("error", "MERGE … WHEN NOT MATCHED BY SOURCE: action not converted", "merge")
            self.ctx.note(
                "info",
                "MERGE … WHEN NOT MATCHED BY SOURCE → separate statement before the MERGE (PostgreSQL 15 lacks it)",
                "merge",
            )
        whens.set("expressions", keep)
        if not keep:
            self.ctx.note("info", "MERGE had only BY SOURCE actions; the MERGE keeps a no-op", "merge")
            keep.append(exp.When(matched=True, then=exp.Var(this="DO NOTHING")))
        return pre

    def _merge_sql(self, node: exp.Expression) -> str:
        sub = _Converter(self.ctx, None)
        sub.aliases = self.aliases
        sub._fold_identifiers(node)
        return sql_of(sub._walk(node))

    def _r_merge(self, node: exp.Merge) -> exp.Expression:
        for when in node.args.get("whens").expressions if node.args.get("whens") else []:
            then = when.args.get("then")
            if isinstance(then, exp.Update):
                for eq in then.expressions:
                    if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
                        eq.this.set("table", None)
        return node
