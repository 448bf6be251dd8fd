"""Rewrites of built-in function calls sqlglot parses: NEXT VALUE FOR, NEWID, LEN, STUFF, CHARINDEX, JSON_VALUE/
JSON_QUERY, CONCAT, and the unparsed (Anonymous) calls — the rest of those go to expr_funcs.py."""

from __future__ import annotations

import re

from sqlglot import exp

from dbshift.convert import expr_funcs, names
from dbshift.convert.expr_base import raw, sql_of


class BuiltinRewrites:
    """Built-in function rewrites (a part of expr._Converter)."""

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
        if isinstance(node, exp.JSONExtract) and path == "{}":
            # JSON_QUERY(x) / JSON_QUERY(x, '$'): x itself when it holds an object or an array, NULL for a scalar
            # (lax mode), an error for invalid JSON (learn.microsoft.com/sql/t-sql/functions/json-query-transact-sql);
            # the text is returned as written, not re-formatted as jsonb would
            x = sql_of(node.this)
            r = raw(f"(CASE WHEN json_typeof(CAST({x} AS json)) IN ('object', 'array') THEN CAST({x} AS text) END)")
            r.meta["kind"] = "string"
            r.meta["json"] = True
            return r
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
