"""The converter's tree walk: setup of a run (recursive CTEs, PIVOT, scope, SELECT @a = x assignments), identifier
folding by names.py's rule, @variables and @@system variables, and the bottom-up dispatch to the _r_<node> rewrites."""

from __future__ import annotations

from sqlglot import exp

from dbshift.convert import expr_json, expr_pivot, names, types
from dbshift.convert.expr_base import raw
from dbshift.convert.model import Column, Context

# @@functions with a PostgreSQL equivalent (the rest are reported)
_SYSTEM_VARIABLES = {
    "version": "version()",
    "spid": "pg_backend_pid()",
    "datefirst": "7",  # us_english default; DATEPART(weekday) is converted for it
    "language": "'us_english'",
    "max_precision": "38",
    "servername": "current_setting('cluster_name')",
}


class TreeWalk:
    """Walk and dispatch (a part of expr._Converter)."""

    def __init__(self, ctx: Context, columns: dict[str, Column] | None) -> None:
        self.ctx = ctx
        self.own = {k.lower(): v for k, v in (columns or {}).items()}
        self.aliases: dict[str, dict[str, Column]] = {}
        self.returning_into: str | None = None
        self.dml_top: tuple[str, bool] | None = None  # DELETE/UPDATE TOP (n) [PERCENT] of the statement
        self.default_schema = ctx.obj.schema if ctx.obj else "dbo"

    def run(self, tree: exp.Expression) -> exp.Expression:
        self._recursive_ctes(tree)
        self._xml_node_columns(tree)
        expr_pivot.rewrite_pivots(self, tree)
        self._collect_scope(tree)
        self._select_assign(tree)
        expr_json.remember_keys(tree)
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
