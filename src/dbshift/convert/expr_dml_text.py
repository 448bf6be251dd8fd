"""DML forms sqlglot cannot read, cut out of the statement text before parsing: DELETE/UPDATE TOP (n),
SET c += x, and a top-level OUTPUT … [INTO …] (parsed as RETURNING)."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from dbshift.convert.expr_base import ConvertError, _first_error, raw

_DML_TOP = re.compile(r"^(DELETE|UPDATE)\s+TOP\s*\(", re.I)


def _extract_dml_top(text: str) -> tuple[str, tuple[str, bool] | None]:
    """DELETE/UPDATE TOP (n) [PERCENT] …: cut the TOP out (PostgreSQL has no LIMIT on DML; limit_dml() restricts
    the statement to the first n rows by ctid instead). Returns the text and (n as T-SQL, percent)."""
    m = _DML_TOP.match(text)
    if m is None:
        return text, None
    depth, k = 1, m.end()
    while k < len(text) and depth:
        depth += text[k] == "("
        depth -= text[k] == ")"
        k += 1
    count = text[m.end() : k - 1].strip()
    rest = text[k:]
    percent = re.match(r"\s*PERCENT\b", rest, re.I)
    if percent:
        rest = rest[percent.end() :]
    return f"{m.group(1)} {rest.lstrip()}", (count, percent is not None)


def _split_top_commas(text: str) -> list[str]:
    parts, depth, quote, start = [], 0, "", 0
    for k, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'[\"":
            quote = {"[": "]"}.get(ch, ch)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:k])
            start = k + 1
    parts.append(text[start:])
    return parts


_COMPOUND = re.compile(r"^(\s*)([^=<>!]+?)\s*([-+*/%&|^])=(?!=)(.*)$", re.S)


def _compound_set(text: str) -> str:
    """UPDATE … SET c += x (T-SQL's compound assignment) → SET c = c + (x)."""
    if not re.match(r"^UPDATE\b", text, re.I) or not re.search(r"[-+*/%&|^]=", text):
        return text
    set_m = _top_level(re.compile(r"\bSET\b", re.I), text, 0)
    if set_m is None:
        return text
    end_m = _top_level(re.compile(r"\b(FROM|WHERE|OUTPUT|OPTION)\b", re.I), text, set_m.end())
    end = end_m.start() if end_m else len(text)
    items = []
    for item in _split_top_commas(text[set_m.end() : end]):
        m = _COMPOUND.match(item)
        if m:
            ws, target, op, value = m.groups()
            item = f"{ws}{target} = {target} {op} ({value.strip()}) "
        items.append(item)
    return text[: set_m.end()] + ",".join(items) + text[end:]


# ---------------------------------------------------------------- OUTPUT clause (sqlglot cannot parse it in DELETE)

_OUTPUT_RE = re.compile(r"\bOUTPUT\b", re.I)


_CLAUSE_END = re.compile(r"\b(INTO|WHERE|FROM|VALUES|SELECT|DEFAULT|OPTION)\b", re.I)


def _extract_output(text: str, force: bool) -> tuple[str, exp.Returning | None]:
    """Cut a top-level OUTPUT … [INTO …] out of a DELETE (or any DML when force) and parse it as RETURNING."""
    if not force and not re.match(r"^\s*DELETE\b", text, re.I):
        return text, None
    m = _top_level(_OUTPUT_RE, text, 0)
    if m is None:
        return text, None
    end_m = _top_level(_CLAUSE_END, text, m.end())
    into = None
    if end_m is not None and end_m.group(1).upper() == "INTO":
        after = _top_level(_CLAUSE_END, text, end_m.end())
        while after is not None and after.group(1).upper() == "INTO":
            after = _top_level(_CLAUSE_END, text, after.end())
        stop = after.start() if after else len(text)
        into = text[end_m.end() : stop].strip()
        end = stop
        columns_text = text[m.end() : end_m.start()]
    else:
        end = end_m.start() if end_m else len(text)
        columns_text = text[m.end() : end]
    try:
        select = sqlglot.parse_one("SELECT " + columns_text, read="tsql")
    except ParseError as err:
        raise ConvertError(f"cannot parse OUTPUT list {columns_text[:120]!r}: {_first_error(err)}") from err
    returning = exp.Returning(expressions=select.expressions)
    if into:
        returning.set("into", raw(into))
    return text[: m.start()] + " " + text[end:], returning


def _top_level(pattern: re.Pattern[str], text: str, start: int) -> re.Match[str] | None:
    for m in pattern.finditer(text, start):
        prefix = text[: m.start()]
        if prefix.count("(") == prefix.count(")") and prefix.count("'") % 2 == 0:
            return m
    return None
