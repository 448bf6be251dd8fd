"""MERGE … OUTPUT → data-modifying CTEs (PostgreSQL 15 MERGE has no RETURNING).

Each WHEN clause becomes one UPDATE … FROM / DELETE … USING / INSERT … SELECT … WHERE NOT EXISTS with RETURNING,
in a WITH list; the OUTPUT rows are their UNION ALL. All CTEs see the snapshot taken before the statement, which is
MERGE's rule too (a row is matched or not as of the start). Clauses of the same kind are made disjoint the way MERGE
picks the first qualifying clause: clause k also requires NOT (condition of clauses 1..k-1).

OUTPUT columns: $action → the clause's literal; inserted.c → the new row (UPDATE/INSERT); deleted.c → the removed
row (DELETE) or, for an UPDATE, the old row joined back by ctid from a snapshot of the target taken by the same
statement (as expr.py does for UPDATE … OUTPUT deleted.c). Source columns in an INSERT's output are not available
from RETURNING: they become NULL with an error action item.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from dbshift.convert import names

if TYPE_CHECKING:
    from dbshift.convert.expr import _Converter


def merge_with_output(conv: _Converter, tree: exp.Merge, returning: exp.Returning) -> str:
    target = tree.this
    alias = names.ident(target.alias or target.name)
    target_sql = conv._merge_sql(target.copy())
    source_sql = conv._merge_sql(tree.args["using"].copy())
    on_sql = conv._merge_sql(tree.args["on"].copy())
    into = returning.args.get("into")
    bodies: list[str] = []
    earlier: dict[bool, list[str]] = {True: [], False: []}
    for when in tree.args["whens"].expressions:
        then = when.args.get("then")
        matched = bool(when.args.get("matched"))
        if isinstance(then, exp.Var) and then.name.upper() == "DO NOTHING":
            continue
        cond = when.args.get("condition")
        cond_sql = conv._merge_sql(cond.copy()) if cond is not None else None
        guards = [f"NOT ({c})" for c in earlier[matched]]
        earlier[matched].append(cond_sql or "TRUE")
        extra = "".join(f" AND {g}" for g in ([f"({cond_sql})"] if cond_sql else []) + guards)
        if matched and isinstance(then, exp.Update):
            sets = []
            for eq in then.expressions:
                column = eq.this.name if isinstance(eq.this, exp.Column) else eq.this.sql()
                sets.append(f"{names.ident(column)} = {conv._merge_sql(eq.expression.copy())}")
            old: list[str] = []
            out = _returning(conv, returning, "UPDATE", alias, old)
            source = source_sql
            if old:  # deleted.c of an UPDATE: the row before the change, by ctid from the statement's snapshot
                picked = ", ".join(f"{alias}.{c} AS {_old_name(c)}" for c in old)
                source += f", (SELECT {alias}.ctid AS dbshift_ctid, {picked} FROM {target_sql}) AS dbshift_old"
                extra += f" AND {alias}.ctid = dbshift_old.dbshift_ctid"
            bodies.append(
                f"UPDATE {target_sql} SET {', '.join(sets)} FROM {source} WHERE {on_sql}{extra} RETURNING {out}"
            )
        elif matched and isinstance(then, exp.Var) and then.name.upper() == "DELETE":
            out = _returning(conv, returning, "DELETE", alias)
            bodies.append(f"DELETE FROM {target_sql} USING {source_sql} WHERE {on_sql}{extra} RETURNING {out}")
        elif not matched and isinstance(then, exp.Insert):
            columns = then.this.expressions if isinstance(then.this, exp.Tuple) else []
            values = then.expression.expressions if isinstance(then.expression, exp.Tuple) else []
            cols = f" ({', '.join(names.ident(c.name) for c in columns)})" if columns else ""
            vals = ", ".join(conv._merge_sql(v.copy()) for v in values)
            out = _returning(conv, returning, "INSERT", alias)
            bodies.append(
                f"INSERT INTO {target_sql}{cols} SELECT {vals} FROM {source_sql} WHERE NOT EXISTS "
                f"(SELECT 1 FROM {target_sql} WHERE {on_sql}){extra} RETURNING {out}"
            )
        else:
            conv.ctx.note("error", f"MERGE clause {when.sql('tsql')[:80]!r} with OUTPUT not converted", "merge-output")
    conv.ctx.note("info", "MERGE … OUTPUT → one data-modifying CTE per WHEN clause with RETURNING", "merge-output")
    ctes = ", ".join(f"merge_{i} AS ({body})" for i, body in enumerate(bodies))
    union = " UNION ALL ".join(f"SELECT * FROM merge_{i}" for i in range(len(bodies)))
    if isinstance(into, exp.Expression):
        if isinstance(into, exp.Anonymous):  # INTO t (a, b) reads like a function call
            columns = ", ".join(names.ident(c.name) for c in into.expressions)
            target_rows = f"{names.ident(into.name)} ({columns})"
        else:
            target_rows = conv._merge_sql(into.copy())
        return f"WITH {ctes} INSERT INTO {target_rows} {union}"
    return f"WITH {ctes} {union}"


def _old_name(column: str) -> str:
    return names.ident("dbshift_old_" + column.strip('"'))


def _returning(
    conv: _Converter, returning: exp.Returning, action: str, alias: str, old: list[str] | None = None
) -> str:
    """The RETURNING list of one clause; old collects the columns whose pre-UPDATE values are needed."""
    out = []
    for i, item in enumerate(returning.expressions):
        node = item.this if isinstance(item, exp.Alias) else item
        name = item.alias if isinstance(item, exp.Alias) else (node.name if isinstance(node, exp.Column) else "")
        name = "action" if name.lower() == "$action" else name or f"column{i + 1}"
        if isinstance(node, exp.Column) and node.name.lower() == "$action":
            value = f"'{action}'"
        elif isinstance(node, exp.Column) and node.table.lower() in ("inserted", "deleted"):
            side = node.table.lower()
            available = (side == "inserted" and action != "DELETE") or (side == "deleted" and action == "DELETE")
            column = f"{alias}.{names.ident(node.name)}"
            if available:
                value = column
            elif side == "deleted" and action == "UPDATE" and old is not None:
                if names.ident(node.name) not in old:
                    old.append(names.ident(node.name))
                value = f"dbshift_old.{_old_name(names.ident(node.name))}"
            else:
                value = f"CASE WHEN false THEN {column} END"  # NULL of the column's type, for the UNION
                if not (side == "inserted" and action == "DELETE") and not (side == "deleted" and action == "INSERT"):
                    conv.ctx.note(
                        "error",
                        f"OUTPUT {side}.{node.name} of a MERGE {action}: old values are not "
                        "available from RETURNING; join a copy of the row by hand",
                        "merge-output",
                    )
        elif action == "INSERT":
            value = "NULL"
            conv.ctx.note(
                "error",
                f"OUTPUT {node.sql('tsql')} (a source column) for MERGE's INSERT: not available "
                "from INSERT … RETURNING; rewrite by hand",
                "merge-output",
            )
        else:
            value = conv._merge_sql(node.copy())
        out.append(f"{value} AS {names.ident(name)}")
    return ", ".join(out)


class MergeRewrites:
    """MERGE … WHEN NOT MATCHED BY SOURCE and SET targets of MERGE (a part of expr._Converter)."""

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

    def _r_merge(self, node: exp.Merge) -> exp.Expression:
        for when in node.args.get("whens").expressions if node.args.get("whens") else []:
            then = when.args.get("then")
            if isinstance(then, exp.Update):
                for eq in then.expressions:
                    if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
                        eq.this.set("table", None)
        return node
