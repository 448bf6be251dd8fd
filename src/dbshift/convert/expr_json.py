"""FOR JSON PATH subqueries → the same JSON text built with string functions (PostgreSQL has no FOR JSON):

    (SELECT 'Feature' AS type, c.name AS [properties.Name] FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
    → (SELECT string_agg(for_json.j, ',') FROM (
         SELECT '{' || concat_ws(',', '"type":' || <JSON of 'Feature'>,
                                 '"properties":' || NULLIF('{' || concat_ws(',', '"Name":' || <JSON of c.name>) || '}',
                                                           '{}')) || '}' AS j) AS for_json)

As SQL Server documents FOR JSON PATH (learn.microsoft.com/sql/relational-databases/json/format-query-results-as-
json-with-for-json-sql-server and the pages it links):
- one object per row, the rows in an array ([…]; WITHOUT_ARRAY_WRAPPER leaves the brackets out); no rows → NULL;
- the property names are the column aliases (names) as written, in select-list order; a dotted alias a.b nests b in
  the object a, consecutive columns with the same prefix share that object;
- a NULL value leaves its property out (INCLUDE_NULL_VALUES writes null instead), and a nested object whose values
  are all NULL is left out too (format-nested-json-output-with-path-mode-sql-server, example A: Id 3 has no "Info");
- no whitespace between tokens;
- strings are escaped as "How FOR JSON escapes special characters" lists: \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\u00XX
  for the other control characters (PostgreSQL's to_json escapes the same set except the slash);
- numbers are JSON numbers, bit values true/false, and JSON_QUERY(…) / nested FOR JSON values are inserted as JSON,
  not as strings.
Handled only where the text is certain: string, bit, integer/decimal and JSON values. Other types (dates, binary,
float, money, …) are written by PostgreSQL's to_json with a warning; ROOT('…'), FOR JSON AUTO, and FOR JSON queries
with DISTINCT or TOP stay reported as errors. The select (with its WHERE, GROUP BY, HAVING) becomes a derived table
of one JSON object per row, aggregated in the ORDER BY order.
"""

from __future__ import annotations

from sqlglot import exp

from dbshift.convert.expr_base import raw, sql_of


def remember_keys(tree: exp.Expression) -> None:
    """Before identifiers are folded: the property names of every FOR JSON select, as written in T-SQL."""
    for select in tree.find_all(exp.Select):
        clause = select.args.get("for_")
        if not isinstance(clause, exp.ForClause) or str(clause.args.get("kind", "")).upper() != "JSON":
            continue
        keys: list[str | None] = []
        for e in select.expressions:
            if isinstance(e, exp.Alias):
                keys.append(e.alias)
            elif isinstance(e, exp.Column):
                keys.append(e.name)
            else:
                keys.append(None)  # SQL Server: error 13605 (a column without a name)
        select.meta["json_keys"] = keys


def _options(clause: exp.ForClause) -> list[str] | None:
    out = []
    for option in clause.expressions:
        inner = option.this if isinstance(option, exp.QueryOption) else option
        if not isinstance(inner, exp.Var):
            return None  # ROOT('…')
        out.append(inner.name.upper())
    return out


def _json_string(value: str) -> str:
    """A T-SQL string key as FOR JSON writes it (same escaping as values), as a SQL literal."""
    escaped = []
    for ch in value:
        if ch in '"\\/':
            escaped.append("\\" + ch)
        elif ch in "\b\f\n\r\t":
            escaped.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif ord(ch) < 32:
            escaped.append(f"\\u{ord(ch):04x}")
        else:
            escaped.append(ch)
    return "'" + ('"' + "".join(escaped) + '"').replace("'", "''") + "'"


class JsonRewrites:
    """FOR JSON PATH rewrite (a part of expr._Converter)."""

    def _json_value(self, node: exp.Expression) -> str | None:
        """The JSON text of one column value (NULL when the value is NULL); None when not certain."""
        value = node.this if isinstance(node, exp.Alias) else node
        text = sql_of(value)
        meta = value.meta or {}
        if meta.get("json"):  # JSON_QUERY(…) or a nested FOR JSON: inserted as JSON
            return f"CAST({text} AS text)"
        if isinstance(value, exp.Null):
            return "CAST(NULL AS text)"
        kind = self.kind(value)
        if kind == "string":
            # to_json escapes ", \, \b \f \n \r \t and \u00XX; FOR JSON also escapes / as \/
            return f"replace(CAST(to_json(CAST({text} AS text)) AS text), '/', '\\/')"
        if kind == "bit":
            return f"CAST(to_json(CAST({text} AS boolean)) AS text)"
        if (isinstance(value, exp.Literal) and not value.is_string) or isinstance(value, exp.Count):  # COUNT: int
            return f"CAST(to_json({text}) AS text)"
        if isinstance(value, exp.Column):
            tsql_type = (self.column_type(value) or value.meta.get("var_type") or "").lower()
            base = tsql_type.split("(")[0].strip()
            if base in ("int", "bigint", "smallint", "tinyint", "decimal", "numeric"):
                return f"CAST(to_json({text}) AS text)"
        return None

    def _for_json(self, node: exp.Subquery, select: exp.Select) -> exp.Expression:
        clause = select.args["for_"]
        written = clause.sql("tsql")
        options = _options(clause)
        keys = select.meta.get("json_keys") or []
        if (
            options is None
            or "PATH" not in options
            or not set(options) <= {"PATH", "WITHOUT_ARRAY_WRAPPER", "INCLUDE_NULL_VALUES"}
            or select.args.get("distinct")
            or select.args.get("limit")
            or len(keys) != len(select.expressions)
            or any(k is None for k in keys)
        ):
            self.ctx.note("error", f"{written}: rewrite with json_build_object/json_agg", "for-json")
            return node
        include_nulls = "INCLUDE_NULL_VALUES" in options
        # the object tree: a list of (name, value SQL | subtree) in select-list order
        root: list = []
        open_path: list[str] = []  # the prefix of the previous column (consecutive columns share objects)
        for key, e in zip(keys, select.expressions, strict=True):
            value = self._json_value(e)
            if value is None:
                value = f"CAST(to_json({sql_of(e.this if isinstance(e, exp.Alias) else e)}) AS text)"
                self.ctx.note(
                    "warning",
                    f"FOR JSON value {key}: written by PostgreSQL's to_json (dates, binary, float and money values "
                    "may be formatted differently from SQL Server's FOR JSON): check",
                    "for-json",
                )
            parts = key.split(".")
            level = root
            for depth, part in enumerate(parts[:-1]):
                shared = open_path[: depth + 1] == parts[: depth + 1] and level and level[-1][0] == part
                if shared and isinstance(level[-1][1], list):
                    level = level[-1][1]
                elif any(name == part for name, _ in level):
                    # SQL Server: error 13601 (a property that conflicts with another column)
                    self.ctx.note("error", f"{written}: property {key} conflicts with another column", "for-json")
                    return node
                else:
                    child: list = []
                    level.append((part, child))
                    level = child
            if any(name == parts[-1] for name, _ in level):
                self.ctx.note("error", f"{written}: property {key} conflicts with another column", "for-json")
                return node
            level.append((parts[-1], value))
            open_path = parts[:-1]

        def obj(level: list, nested: bool = False) -> str:
            members = []
            for name, member in level:
                body = obj(member, nested=True) if isinstance(member, list) else member
                if include_nulls and not isinstance(member, list):
                    body = f"COALESCE({body}, 'null')"
                members.append(f"{_json_string(name)} || ':' || {body}")
            text = "('{' || concat_ws(',', " + ", ".join(members) + ") || '}')"
            # a nested object whose values are all NULL is left out, as the documented example (Id 3, no "Info")
            return f"NULLIF({text}, '{{}}')" if nested else text

        # The rows' objects come from a derived table, so that string_agg belongs to this query level even when
        # every value is an outer reference (PostgreSQL would otherwise aggregate over the outer query's rows).
        order = select.args.get("order")
        keys_sql, order_sql = [], []
        for i, item in enumerate(order.expressions if order else []):
            ordered = item if isinstance(item, exp.Ordered) else exp.Ordered(this=item)
            keys_sql.append(f"{sql_of(ordered.this)} AS k{i}")
            direction = " DESC" if ordered.args.get("desc") else ""
            nulls = " NULLS FIRST" if ordered.args.get("nulls_first") else " NULLS LAST"
            order_sql.append(f"k{i}{direction}{nulls}")
        select.set("order", None)
        select.set("for_", None)
        select.set("expressions", [raw(f"{obj(root)} AS j"), *(raw(k) for k in keys_sql)])
        rows = f"string_agg(for_json.j, ','{' ORDER BY ' + ', '.join(order_sql) if order_sql else ''})"
        if "WITHOUT_ARRAY_WRAPPER" not in options:
            rows = f"'[' || {rows} || ']'"
        outer = f"SELECT {rows} FROM ({sql_of(select)}) AS for_json"
        self.ctx.note("info", f"{written} → string_agg of the rows' JSON text (same text as SQL Server)", "for-json")
        wrapped = raw(f"({outer})")
        wrapped.meta["kind"] = "string"
        wrapped.meta["json"] = True
        return wrapped
