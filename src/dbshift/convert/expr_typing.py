"""Operand typing for the converter: the tables in scope (alias → catalog columns) and what a (partly converted)
node yields — "string" (so + becomes ||), "bit" (so 0/1 become false/true), "number"/"other" — plus fractional
numerics and bit literals."""

from __future__ import annotations

from sqlglot import exp

from dbshift.convert import names, types
from dbshift.convert.expr_base import Raw
from dbshift.convert.model import Column

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
_FRACTIONAL_TYPES = (
    exp.DataType.Type.DECIMAL,
    exp.DataType.Type.DOUBLE,
    exp.DataType.Type.FLOAT,
    exp.DataType.Type.MONEY,
    exp.DataType.Type.SMALLMONEY,
)
_FRACTIONAL_TSQL = {"decimal", "numeric", "money", "smallmoney", "float", "real"}


class OperandTyping:
    """Scope and type inference (a part of expr._Converter)."""

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
