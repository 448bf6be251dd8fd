"""Rewrites of xml data type methods (x.value/.nodes/.exist/.query → xpath(), via expr_xml.py) and of
FOR XML PATH('') subqueries (→ string_agg)."""

from __future__ import annotations

import re

from sqlglot import exp

from dbshift.convert import expr_xml, types
from dbshift.convert.expr_base import raw, sql_of


class XmlRewrites:
    """xml method and FOR XML rewrites (a part of expr._Converter)."""

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

    def _r_subquery(self, node: exp.Subquery) -> exp.Expression:
        select = node.this
        if isinstance(select, exp.Select) and select.args.get("for_"):
            if str(select.args["for_"].args.get("kind", "")).upper() == "JSON":
                return self._for_json(node, select)
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
