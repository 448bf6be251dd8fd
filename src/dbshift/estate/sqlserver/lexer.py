"""T-SQL tokenizer, GO batch splitter and statement splitter for the SQL Server emulator.

The tokenizer knows 'strings' (N'..', '' escapes), [bracketed] and "quoted" identifiers,
@variables, numbers, -- and /* */ (nested) comments. Statements are split on ';' and where a
statement-starting keyword begins a new statement at parenthesis depth 0, the way SQL Server
accepts scripts without semicolons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dbshift.estate.sqlserver.model import sql_error


@dataclass
class Token:
    kind: str  # "word" | "qident" | "str" | "var" | "num" | "op"
    text: str  # source text
    value: str  # identifier / string contents without quotes; upper-cased keyword for "word"
    start: int
    end: int
    line: int

    def is_kw(self, *words: str) -> bool:
        return self.kind == "word" and self.value in words

    @property
    def name(self) -> str:
        """Identifier value as written (without brackets), for words and quoted identifiers."""
        return self.text if self.kind == "word" else self.value


_NUM = re.compile(r"0x[0-9A-Fa-f]*|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_#\u0080-\uffff][\w#$\u0080-\uffff]*")
_VAR = re.compile(r"@@?[\w#$]+")
_OPS = ("<>", "!=", ">=", "<=", "::", "+=", "-=", "*=", "/=", "||")


def tokenize(sql: str, line_offset: int = 0) -> list[Token]:
    toks: list[Token] = []
    i, n, line = 0, len(sql), 1 + line_offset
    while i < n:
        c = sql[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j
        elif sql.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if sql.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif sql.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise sql_error(113, "Missing end comment mark '*/'.", 15)
            line += sql.count("\n", i, j)
            i = j
        elif c == "'" or (c in "Nn" and i + 1 < n and sql[i + 1] == "'"):
            q = i + (1 if c != "'" else 0)
            j, buf = q + 1, []
            while True:
                k = sql.find("'", j)
                if k < 0:
                    raise sql_error(105, f"Unclosed quotation mark after the character string '{sql[q + 1 :]}'.", 15)
                buf.append(sql[j:k])
                if k + 1 < n and sql[k + 1] == "'":
                    buf.append("'")
                    j = k + 2
                    continue
                j = k + 1
                break
            toks.append(Token("str", sql[i:j], "".join(buf), i, j, line))
            line += sql.count("\n", i, j)
            i = j
        elif c == "[":
            j, buf = i + 1, []
            while True:
                k = sql.find("]", j)
                if k < 0:
                    raise sql_error(105, f"Unclosed quotation mark after the character string '{sql[i:]}'.", 15)
                buf.append(sql[j:k])
                if k + 1 < n and sql[k + 1] == "]":
                    buf.append("]")
                    j = k + 2
                    continue
                j = k + 1
                break
            toks.append(Token("qident", sql[i:j], "".join(buf), i, j, line))
            i = j
        elif c == '"':
            k = sql.find('"', i + 1)
            if k < 0:
                raise sql_error(105, f"Unclosed quotation mark after the character string '{sql[i:]}'.", 15)
            toks.append(Token("qident", sql[i : k + 1], sql[i + 1 : k], i, k + 1, line))
            i = k + 1
        elif c == "@":
            m = _VAR.match(sql, i)
            if not m:
                raise sql_error(102, "Incorrect syntax near '@'.", 15)
            toks.append(Token("var", m.group(), m.group().lower(), i, m.end(), line))
            i = m.end()
        elif c.isdigit() or (c == "." and i + 1 < n and sql[i + 1].isdigit()):
            m = _NUM.match(sql, i)
            assert m
            toks.append(Token("num", m.group(), m.group(), i, m.end(), line))
            i = m.end()
        else:
            m = _WORD.match(sql, i)
            if m:
                toks.append(Token("word", m.group(), m.group().upper(), i, m.end(), line))
                i = m.end()
                continue
            op = next((o for o in _OPS if sql.startswith(o, i)), c)
            toks.append(Token("op", op, op, i, i + len(op), line))
            i += len(op)
    return toks


_GO = re.compile(r"^[ \t]*GO(?:[ \t]+(\d+))?[ \t]*(?:--.*)?$", re.IGNORECASE)


def split_batches(script: str) -> list[tuple[str, int]]:
    """(batch text, line offset) for each batch; a line holding only GO [count] ends a batch."""
    batches: list[tuple[str, int]] = []
    cur: list[str] = []
    start = 0
    in_comment = False
    for no, line in enumerate(script.split("\n")):
        m = None if in_comment else _GO.match(line.rstrip("\r"))
        if m:
            text = "\n".join(cur)
            batches.extend([(text, start)] * int(m.group(1) or 1))
            cur, start = [], no + 1
            continue
        cur.append(line)
        # Track /* */ so that a GO inside a block comment does not split.
        stripped = re.sub(r"'[^']*'", "", line)
        opens, closes = stripped.count("/*"), stripped.count("*/")
        if opens > closes:
            in_comment = True
        elif closes > opens:
            in_comment = False
    text = "\n".join(cur)
    if text.strip():
        batches.append((text, start))
    return [(t, s) for t, s in batches if t.strip()]


_ALWAYS = {
    "USE",
    "DECLARE",
    "PRINT",
    "BACKUP",
    "RESTORE",
    "COMMIT",
    "ROLLBACK",
    "TRUNCATE",
    "CREATE",
    "ALTER",
    "RAISERROR",
    "THROW",
    "IF",
    "WHILE",
    "RETURN",
    "GRANT",
    "REVOKE",
    "DENY",
}


def split_statements(toks: list[Token]) -> list[list[Token]]:
    """Split one batch's tokens into statements."""
    stmts: list[list[Token]] = []
    cur: list[Token] = []
    depth = 0

    def flush() -> None:
        nonlocal cur
        if cur:
            stmts.append(cur)
        cur = []

    for i, t in enumerate(toks):
        if t.kind == "op":
            if t.text == ";" and depth == 0:
                flush()
                continue
            if t.text == "(":
                depth += 1
            elif t.text == ")":
                depth = max(0, depth - 1)
        elif t.kind == "word" and depth == 0 and cur and _starts_statement(t, cur, toks[i - 1]):
            flush()
        cur.append(t)
    flush()
    return stmts


def _starts_statement(t: Token, cur: list[Token], prev: Token) -> bool:
    first = cur[0].value if cur[0].kind == "word" else ""
    words = {x.value for x in cur if x.kind == "word"}
    kw = t.value
    if first == "BEGIN" and len(cur) == 1:
        return False
    if kw in _ALWAYS:
        if kw == "IF" and first == "DROP" and len(cur) == 2:  # DROP TABLE/VIEW/... IF EXISTS
            return False
        if kw == "CREATE" and first == "BACKUP":
            return False
        return not (kw == "ALTER" and first == "CREATE") and not (prev.is_kw("WITH") and kw == "CREATE")
    if kw in ("SELECT", "WITH"):
        if prev.is_kw("UNION", "ALL", "EXCEPT", "INTERSECT", "AS") or (prev.kind == "op" and prev.text != ")"):
            return False
        if kw == "WITH":
            return False
        if first == "INSERT":
            return bool(words & {"VALUES", "SELECT", "EXEC", "EXECUTE"})
        return first != "WITH"
    if kw == "SET":
        if first in ("UPDATE", "ALTER") and "SET" not in words:
            return False
        return not prev.is_kw("ON", "DELETE", "UPDATE")
    if kw in ("INSERT", "UPDATE", "DELETE"):
        return not (prev.is_kw("ON", "FOR", "AFTER", "GRANT", "DENY", "REVOKE", "INSTEAD") or prev.text == ",")
    if kw in ("EXEC", "EXECUTE"):
        if first == "INSERT":
            return bool(words & {"VALUES", "SELECT", "EXEC", "EXECUTE"})
        return not prev.is_kw("AS", "WITH", "GRANT")
    if kw == "DROP":
        return first != "ALTER"
    if kw == "BEGIN":
        return True
    if kw == "END":
        return False
    return False
