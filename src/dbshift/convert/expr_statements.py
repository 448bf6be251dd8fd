"""Statement-level rewrites: TOP … WITH TIES / PERCENT, GROUP BY … WITH ROLLUP/CUBE, SELECT … INTO a table,
INSERT of bit values, UPDATE/DELETE … FROM with the target in the FROM list (→ FROM/USING + WHERE)."""

from __future__ import annotations

from sqlglot import exp

from dbshift.convert import types
from dbshift.convert.expr_base import Raw, raw, sql_of


class StatementRewrites:
    """Statement-level rewrites (a part of expr._Converter)."""

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
        clause = node.args.get("for_")
        if clause is not None and not isinstance(node.parent, exp.Subquery):  # subqueries: expr_xml_methods/json
            self.ctx.note(
                "error",
                f"{clause.sql('tsql')} on a query that is not a subquery returns XML/JSON text in T-SQL; "
                "PostgreSQL would return the rows: rewrite",
                "for-xml",
            )
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

    def select_into_table(self, tree: exp.Expression) -> str:
        """SELECT … INTO #t / INTO t (creates a table in T-SQL) → CREATE [TEMP] TABLE t AS SELECT … (in PL/pgSQL
        SELECT … INTO assigns variables)."""
        into = tree.args.get("into") if isinstance(tree, exp.Select) else None
        if not isinstance(into, exp.Into) or isinstance(into.this, Raw):
            return sql_of(tree)
        temporary = bool(into.args.get("temporary")) or into.this.name.startswith("#")
        tree.set("into", None)
        return f"CREATE {'TEMP ' if temporary else ''}TABLE {sql_of(into.this)} AS {sql_of(tree)}"

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

    def _r_update(self, node: exp.Update) -> exp.Expression:
        for eq in node.expressions:  # SET [s].[t].[c] = … → SET c = …: a SET target may only name the target
            if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
                for part in ("table", "db", "catalog"):
                    eq.this.set(part, None)
        self._dml_from(node)
        self._limit_dml(node)
        self._update_old_values(node)
        return node

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
