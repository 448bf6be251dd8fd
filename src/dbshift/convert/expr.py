"""T-SQL expressions and DML statements → PostgreSQL 15 text: the shared piece of ddl.py and the routines.

sqlglot (read="tsql") parses; we then
1. collect the statement's tables (alias → catalog columns) so operand types are known,
2. fold every identifier by names.py's rule (dbo → public, lower case, quoted when needed),
3. rewrite bottom-up what sqlglot's postgres output gets wrong or lacks (string + → ||, BIT 0/1 → false/true,
   DATEDIFF boundary counting, DATEPART, LEN, STUFF, TOP … PERCENT, OUTPUT → RETURNING, MERGE … BY SOURCE,
   FOR XML PATH('') → string_agg, FOR JSON PATH subqueries → the same JSON text (expr_json.py), UPDATE/DELETE …
   FROM joins, @variables via ctx.variables, GROUP BY … WITH ROLLUP/CUBE → ROLLUP/CUBE (…) for views and routines
   alike, CAST(decimal AS int) truncating, ...; built-ins without a namesake in expr_funcs.py),
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
from sqlglot.errors import ParseError

from dbshift.convert import names
from dbshift.convert.expr_base import PG, ConvertError, Raw, _first_error, raw, sql_of
from dbshift.convert.expr_builtins import BuiltinRewrites
from dbshift.convert.expr_dates import DateRewrites
from dbshift.convert.expr_dml_text import _compound_set, _extract_dml_top, _extract_output
from dbshift.convert.expr_json import JsonRewrites
from dbshift.convert.expr_merge import MergeRewrites
from dbshift.convert.expr_operators import OperatorRewrites
from dbshift.convert.expr_output import OutputRewrites
from dbshift.convert.expr_statements import StatementRewrites
from dbshift.convert.expr_typing import OperandTyping
from dbshift.convert.expr_walk import TreeWalk
from dbshift.convert.expr_xml_methods import XmlRewrites
from dbshift.convert.model import Column, Context

__all__ = ["PG", "ConvertError", "Raw", "convert_expression", "convert_statement", "expression_kind", "raw", "sql_of"]


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
    for func in re.findall(r"\b(OPENJSON|OPENXML|OPENQUERY|OPENROWSET|OPENDATASOURCE|COMPRESS)\s*\(", text, re.I):
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


class _Converter(
    TreeWalk,
    OperandTyping,
    OperatorRewrites,
    BuiltinRewrites,
    DateRewrites,
    XmlRewrites,
    JsonRewrites,
    StatementRewrites,
    OutputRewrites,
    MergeRewrites,
):
    """One conversion run; the rewrites live in the expr_* mixins. The two methods here need this module's
    convert_expression / _Converter itself."""

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

    def _merge_sql(self, node: exp.Expression) -> str:
        sub = _Converter(self.ctx, None)
        sub.aliases = self.aliases
        sub._fold_identifiers(node)
        return sql_of(sub._walk(node))
