"""T-SQL built-in functions without a PostgreSQL namesake, mapped to expressions of the same value (or reported):

- QUOTENAME(s [, q]) → the same T-SQL-quoted text ([s] by default); dynamic SQL for PostgreSQL wants quote_ident.
- PATINDEX('%pat%', s) → regexp_instr (PostgreSQL 15) with the LIKE pattern as a regular expression.
- STR(x [, len [, dec]]) → lpad(round(x, dec), len); STRING_ESCAPE(s, 'json') → to_json(s) without the quotes, / as \\/.
- DECOMPRESS(x) → public.dbshift_decompress(x), a GZIP support function (expr_binary.py).
- SESSION_CONTEXT(N'key') → current_setting('dbshift_session.key', true), set with set_config where T-SQL calls
  sp_set_session_context.
- CHECKSUM/BINARY_CHECKSUM(a, …) → hashtext over the values' text (other numbers than SQL Server's: flagged);
  CHECKSUM(*) and CHECKSUM_AGG reported.
- IS_ROLEMEMBER/IS_MEMBER(role [, principal]) → 1/0 from pg_has_role(…, 'MEMBER'), NULL when the role does not
  exist (as T-SQL); fixed database roles (db_owner, …) do not exist in PostgreSQL: flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from dbshift.convert import expr_binary, names

if TYPE_CHECKING:
    from dbshift.convert.expr import _Converter


@dataclass
class Mapped:
    text: str | None  # PostgreSQL text of the call; None: keep the call as it is (an action item says why)
    kind: str | None = None  # "string" / "other" for expr.py's type inference


def call(conv: _Converter, node: exp.Anonymous, name: str, args: list[str]) -> Mapped | None:
    """The mapping of one call (args already converted to PostgreSQL text), or None when not ours."""
    if name == "quotename" and 1 <= len(args) <= 2:
        return _quotename(conv, node, args)
    if name == "patindex" and len(args) == 2:
        return _patindex(conv, node, args)
    if name == "str" and 1 <= len(args) <= 3:
        length = args[1] if len(args) > 1 else "10"
        decimals = args[2] if len(args) > 2 else "0"
        conv.ctx.note("info", "STR() → lpad(round(…)): a value wider than the length gives the digits, not '**'", "str")
        return Mapped(f"lpad(CAST(round(CAST({args[0]} AS numeric), {decimals}) AS text), {length})", "string")
    if name == "string_escape" and len(args) == 2:
        # to_json escapes what STRING_ESCAPE does except the solidus, which T-SQL writes as \/
        # (learn.microsoft.com/sql/t-sql/functions/string-escape-transact-sql)
        json = f"replace(CAST(to_json(CAST({args[0]} AS text)) AS text), '/', '\\/')"
        return Mapped(f"substr({json}, 2, length({json}) - 2)", "string")  # the JSON string without its quotes
    if name == "decompress" and len(args) == 1:
        conv.ctx.note(
            "info",
            "DECOMPRESS → public.dbshift_decompress: a PL/pgSQL GZIP decoder created with this object",
            "decompress",
        )
        return Mapped(f"{expr_binary.use(conv.ctx, 'decompress')}({args[0]})", "binary")
    if name == "session_context" and len(args) == 1:
        return _session_context(conv, node, args)
    if name in ("checksum", "binary_checksum", "checksum_agg"):
        return _checksum(conv, node, name, args)
    if name in ("is_rolemember", "is_member") and 1 <= len(args) <= 2:
        return _is_rolemember(conv, node, name, args)
    return None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quotename(conv: _Converter, node: exp.Anonymous, args: list[str]) -> Mapped:
    quote_node = node.expressions[1] if len(args) == 2 else None
    if quote_node is not None and not isinstance(quote_node, exp.Literal):
        conv.ctx.note("error", "QUOTENAME with a non-literal quote character: rewrite by hand", "quotename")
        return Mapped(None)
    quote = quote_node.name if quote_node is not None else "["
    opening, closing = {"[": ("[", "]"), "]": ("[", "]"), "'": ("'", "'"), '"': ('"', '"')}.get(quote, ("", ""))
    if not opening:
        conv.ctx.note("error", f"QUOTENAME with quote character {quote!r}: rewrite by hand", "quotename")
        return Mapped(None)
    conv.ctx.note(
        "warning",
        "QUOTENAME() keeps T-SQL quoting ([name]); SQL built for PostgreSQL needs quote_ident() / format('%I')",
        "quotename",
    )
    text = f"({_literal(opening)} || replace({args[0]}, {_literal(closing)}, {_literal(closing * 2)}) || "
    return Mapped(text + f"{_literal(closing)})", "string")


def _patindex(conv: _Converter, node: exp.Anonymous, args: list[str]) -> Mapped:
    """The 1-based start of the first match of a LIKE pattern, 0 when none: leading/trailing % unanchor it."""
    pattern = node.expressions[0]
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        conv.ctx.note("error", "PATINDEX with a non-literal pattern: rewrite with regexp_instr", "patindex")
        return Mapped(None)
    text = pattern.name
    regex = "" if text.startswith("%") else "^"
    in_class = False
    for ch in text.strip("%"):
        if in_class:
            regex += ch
            in_class = ch != "]"
        elif ch == "[":
            regex += ch
            in_class = True
        elif ch == "%":
            regex += ".*?"
        elif ch == "_":
            regex += "."
        else:
            regex += re.escape(ch)
    regex += "" if text.endswith("%") and len(text) > 1 else "$"
    return Mapped(f"regexp_instr({args[1]}, {_literal(regex)})", "other")


def _session_context(conv: _Converter, node: exp.Anonymous, args: list[str]) -> Mapped:
    key = node.expressions[0]
    if isinstance(key, exp.Literal) and re.fullmatch(r"\w+", key.name):
        setting = _literal("dbshift_session." + key.name.lower())
    else:
        setting = f"'dbshift_session.' || lower({args[0]})"
    conv.ctx.note(
        "warning",
        f"SESSION_CONTEXT({args[0]}) → current_setting({setting}, true) (text): set it with "
        f"set_config({setting}, value, false) where T-SQL calls sp_set_session_context",
        "session-context",
    )
    return Mapped(f"current_setting({setting}, true)", "string")


def _checksum(conv: _Converter, node: exp.Anonymous, name: str, args: list[str]) -> Mapped:
    if name == "checksum_agg" or not args or any(isinstance(a, exp.Star) for a in node.expressions):
        conv.ctx.note(
            "error",
            f"{name.upper()}({', '.join(args)}) has no PostgreSQL equivalent: compute a hash of the columns "
            "(e.g. hashtext(CAST(t.* AS text)) or md5) and recompute any stored values",
            "checksum",
        )
        return Mapped(None)
    conv.ctx.note(
        "warning",
        f"{name.upper()}() → hashtext(): a hash of the same values, but not SQL Server's numbers; "
        "recompute checksums stored before the migration",
        "checksum",
    )
    parts = " || '|' || ".join(f"COALESCE(CAST({a} AS text), '')" for a in args)
    return Mapped(f"hashtext({parts})", "other")


def _is_rolemember(conv: _Converter, node: exp.Anonymous, name: str, args: list[str]) -> Mapped:
    """Role names follow names.py's rule, like the converted CREATE ROLE."""
    role_node = node.expressions[0]
    literal = isinstance(role_node, exp.Literal) and role_node.is_string
    role = _literal(names.fold(role_node.name)) if literal else f"lower({args[0]})"
    member = args[1] if len(args) == 2 else "current_user"
    if literal and role_node.name.lower().startswith("db_"):
        conv.ctx.note(
            "warning",
            f"{name.upper()}({role_node.name!r}): fixed database roles do not exist in PostgreSQL (the result "
            "is NULL); map the check to a role of your own or to pg_database_owner",
            "is-rolemember",
        )
    else:
        conv.ctx.note("info", f"{name.upper()}() → pg_has_role(…, 'MEMBER')", "is-rolemember")
    return Mapped(
        f"(SELECT CASE WHEN pg_has_role({member}, dbshift_role.oid, 'MEMBER') THEN 1 ELSE 0 END "
        f"FROM pg_roles AS dbshift_role WHERE dbshift_role.rolname = {role})",
        "other",
    )
