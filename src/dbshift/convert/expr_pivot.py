"""PIVOT → conditional aggregation (PostgreSQL has no PIVOT):

    FROM (SELECT a, yr, amt FROM s) AS src PIVOT (SUM(amt) FOR yr IN ([2020], [2021])) AS p
    → FROM (SELECT a, SUM(amt) FILTER (WHERE yr = 2020) AS "2020", SUM(amt) FILTER (WHERE yr = 2021) AS "2021"
            FROM (SELECT a, yr, amt FROM s) AS src GROUP BY a) AS p

PIVOT groups by every source column other than the aggregated one and the FOR column, so the source's columns must
be known: a derived table with named columns, or a table of the catalog. UNPIVOT is reported, not converted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

if TYPE_CHECKING:
    from dbshift.convert.expr import _Converter


def rewrite_pivots(conv: _Converter, tree: exp.Expression) -> None:
    for source in list(tree.find_all(exp.Subquery, exp.Table)):
        pivots = source.args.get("pivots")
        if not pivots:
            continue
        pivot = pivots[0]
        if pivot.args.get("unpivot") or len(pivots) > 1:
            conv.ctx.note("error", "UNPIVOT / several PIVOTs: rewrite with a LATERAL VALUES list by hand", "pivot")
            continue
        columns = _source_columns(conv, source)
        aggregates = pivot.expressions
        fields = pivot.args.get("fields") or []
        if columns is None or len(aggregates) != 1 or len(fields) != 1 or not isinstance(fields[0], exp.In):
            conv.ctx.note(
                "error",
                "PIVOT over a source whose columns are unknown: rewrite with SUM(…) FILTER (WHERE …) by hand",
                "pivot",
            )
            continue
        aggregate, field = aggregates[0], fields[0]
        used = {c.name.lower() for c in aggregate.find_all(exp.Column)} | {field.this.name.lower()}
        group = [c for c in columns if c.lower() not in used]
        select_list: list[exp.Expression] = [exp.column(c, quoted=True) for c in group]
        for value in field.expressions:
            name = value.name
            literal = exp.Literal.number(name) if _is_number(name) else exp.Literal.string(name)
            condition = exp.Where(this=exp.EQ(this=field.this.copy(), expression=literal))
            filtered = exp.Filter(this=aggregate.copy(), expression=condition)
            select_list.append(exp.alias_(filtered, exp.to_identifier(name, quoted=True)))
        inner_source = source.copy()
        inner_source.set("pivots", None)
        if not inner_source.alias:
            inner_source.set("alias", exp.TableAlias(this=exp.to_identifier("pivot_source")))
        inner = exp.Select(expressions=select_list).from_(inner_source)
        if group:
            inner = inner.group_by(*[exp.column(c, quoted=True) for c in group])
        replacement = exp.Subquery(this=inner, alias=exp.TableAlias(this=pivot.args["alias"].this.copy()))
        source.replace(replacement)
        conv.ctx.note("info", "PIVOT → aggregate FILTER (WHERE …) grouped by the other source columns", "pivot")


def _source_columns(conv: _Converter, source: exp.Expression) -> list[str] | None:
    if isinstance(source, exp.Subquery) and isinstance(source.this, exp.Select):
        names = []
        for item in source.this.expressions:
            if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
                return None
            if not item.alias_or_name:
                return None
            names.append(item.alias_or_name)
        return names
    if isinstance(source, exp.Table):
        columns = conv._table_columns(source)
        return [c.name for c in columns.values()] if columns else None
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
