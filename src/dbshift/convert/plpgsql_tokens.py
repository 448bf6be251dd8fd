"""Token-level T-SQL rewrites done before expr.py sees a statement, and the shared helpers of the PL/pgSQL
emitter (plpgsql.py, plpgsql_exec.py)."""

from __future__ import annotations

from dbshift.convert import names
from dbshift.convert.plpgsql_parse import Tok, find_top


class Unconverted(ValueError):
    """A statement that has no conversion: it becomes a comment in the body plus an action item."""

    def __init__(self, message: str, construct: str, severity: str = "error"):
        super().__init__(message)
        self.construct = construct
        self.severity = severity


def unqualify_set_targets(toks: list[Tok]) -> list[Tok]:
    """UPDATE t SET [s].[t].[c] = … → SET [c] = … (a SET target may only name the updated table; PostgreSQL
    reads a qualified target as a composite field)."""
    at = find_top(toks, "SET")
    if at < 0:
        return toks
    end = find_top(toks, "FROM", "WHERE", "OUTPUT", "OPTION", start=at + 1)
    end = len(toks) if end < 0 else end
    drop: set[int] = set()
    depth = 0
    item_start = at + 1
    for k in range(at + 1, end + 1):
        t = toks[k] if k < end else None
        if t is not None:
            depth += t.text == "("
            depth -= t.text == ")"
        if t is None or (depth == 0 and t.text == ","):
            eq = next((j for j in range(item_start, k) if toks[j].text in ("=", "+=", "-=", "*=", "/=")), None)
            if (
                eq is not None
                and eq - item_start > 1
                and all(toks[j].text == "." for j in range(item_start + 1, eq, 2))
            ):
                drop.update(range(item_start, eq - 1))
            item_start = k + 1
    return [t for k, t in enumerate(toks) if k not in drop]


def drop_default_args(toks: list[Tok]) -> list[Tok]:
    """f(a, DEFAULT) → f(a): T-SQL passes DEFAULT for a scalar function's defaulted parameter, PostgreSQL omits it."""
    if not any(t.kw == "DEFAULT" for t in toks):
        return toks
    out = list(toks)
    changed = True
    while changed:
        changed = False
        for k, t in enumerate(out):
            if t.kw != "DEFAULT" or k + 1 >= len(out) or out[k + 1].text != ")" or k == 0:
                continue
            if out[k - 1].text not in (",", "("):
                continue
            depth, j = 0, k
            while j >= 0:  # the opening parenthesis of this argument list
                depth += out[j].text == ")"
                depth -= out[j].text == "("
                if depth < 0:
                    break
                j -= 1
            if j <= 0 or out[j - 1].kind not in ("word", "qid") or out[j - 1].kw in ("VALUES", "IN", "AS"):
                continue
            del out[k - 1 if out[k - 1].text == "," else k : k + 1]
            changed = True
            break
    return out


def balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def drop_temp(name: str) -> str:
    """Drop a session temp table if present, without DROP … IF EXISTS's NOTICE on every call."""
    literal = ("pg_temp." + name).replace("'", "''")
    return f"IF to_regclass('{literal}') IS NOT NULL THEN DROP TABLE pg_temp.{name}; END IF;"


def param_pg_name(tsql_name: str) -> str:
    """The PostgreSQL name of a T-SQL parameter (@Name → par_name; the generated ones keep their names)."""
    if tsql_name.lower() == "@return_status":
        return "return_status"
    if tsql_name.lower().startswith("@result_set"):
        return tsql_name[1:].lower()
    return names.quote_if_needed("par_" + tsql_name.lstrip("@").lower())
