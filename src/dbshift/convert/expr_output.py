"""OUTPUT → RETURNING: inserted./deleted. qualifiers, OUTPUT … INTO (→ WITH output_rows AS (…) INSERT INTO …), and
deleted.c of an UPDATE (the old row joined back by ctid from a snapshot; PostgreSQL 15 RETURNING sees new values)."""

from __future__ import annotations

import re

from sqlglot import exp

from dbshift.convert import names
from dbshift.convert.expr_base import Raw, raw, sql_of


class OutputRewrites:
    """OUTPUT clause rewrites (a part of expr._Converter)."""

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
