"""T-SQL procedural text → a small statement tree (tokens kept), for plpgsql.py to emit.

T-SQL needs no semicolons, so statement ends are found from the keyword that starts the next statement, with the
few places where such a keyword belongs to the current one (INSERT … SELECT/EXEC, UPDATE … SET, UNION SELECT,
CTE … main statement, MERGE … THEN UPDATE/INSERT/DELETE, CASE … END, DROP TABLE IF EXISTS, OFFSET … FETCH).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<lc>--[^\n]*)
    |(?P<bc>/\*)
    |(?P<str>N?'(?:[^']|'')*')
    |(?P<qid>\[(?:[^\]]|\]\])*\]|"(?:[^"]|"")*")
    |(?P<num>0x[0-9a-fA-F]*|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<var>@@?[\w#$@]+)
    |(?P<word>[\w#$]+)
    |(?P<op>\+=|-=|\*=|/=|%=|&=|\|=|\^=|<>|!=|>=|<=|!<|!>|::|.)""",
    re.VERBOSE | re.DOTALL,
)


@dataclass
class Tok:
    kind: str  # word var str qid num op
    text: str
    start: int
    end: int

    @property
    def kw(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


def tokenize(text: str) -> list[Tok]:
    """Tokens of T-SQL text; comments dropped (nested /* */ handled as T-SQL does)."""
    out: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        m = _TOKEN.match(text, i)
        if not m:  # unreachable: the op group matches any character
            break
        kind = m.lastgroup or "op"
        if kind == "bc":
            depth, j = 1, m.end()
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            i = j
            continue
        if kind not in ("ws", "lc"):
            out.append(Tok(kind, m.group(), m.start(), m.end()))
        i = m.end()
    return out


# -- the tree ------------------------------------------------------------------------------------------------


@dataclass
class Simple:
    verb: str  # first keyword, upper case ("SELECT", "SET", "BEGIN TRAN", ...), "" when unknown
    toks: list[Tok]

    @property
    def start(self) -> int:
        return self.toks[0].start if self.toks else 0


@dataclass
class Block:
    stmts: list[Node] = field(default_factory=list)
    start: int = 0


@dataclass
class If:
    cond: list[Tok]
    then: Node
    else_: Node | None
    start: int = 0


@dataclass
class While:
    cond: list[Tok]
    body: Node
    start: int = 0


@dataclass
class Try:
    body: Block
    catch: Block
    start: int = 0


Node = Simple | Block | If | While | Try

STATEMENT_START = {
    "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "SET", "DECLARE", "IF", "WHILE", "BEGIN", "RETURN",
    "PRINT", "RAISERROR", "THROW", "EXEC", "EXECUTE", "OPEN", "FETCH", "CLOSE", "DEALLOCATE", "BREAK", "CONTINUE",
    "COMMIT", "ROLLBACK", "TRUNCATE", "DROP", "CREATE", "GOTO", "WAITFOR", "SAVE", "ALTER", "END", "ELSE",
    "REVERT", "USE", "GRANT", "DENY", "REVOKE", "DBCC", "BACKUP", "RESTORE", "KILL", "CHECKPOINT", "RECONFIGURE",
    "READTEXT", "WRITETEXT", "UPDATETEXT", "SETUSER",
}  # fmt: skip
_ALWAYS_ENDS = STATEMENT_START - {"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "SET", "EXEC", "EXECUTE",
                                  "FETCH", "IF", "END", "ELSE"}  # fmt: skip
_DML = {"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"}


class ParseError(ValueError):
    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


class Parser:
    def __init__(self, toks: list[Tok]):
        self.toks = toks
        self.i = 0

    def peek(self, k: int = 0) -> Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def kw(self, k: int = 0) -> str:
        t = self.peek(k)
        return t.kw if t else ""

    def parse_all(self) -> Block:
        block = Block(start=self.toks[0].start if self.toks else 0)
        while self.peek() is not None:
            if self.peek().text == ";":
                self.i += 1
                continue
            if self.kw() == "END":
                raise ParseError("END without BEGIN", self.peek().start)
            block.stmts.append(self.statement())
        return block

    def block_until_end(self, start: int, closer: str = "") -> Block:
        """Statements up to the matching END (consumed, with `closer` e.g. TRY after it)."""
        block = Block(start=start)
        while True:
            t = self.peek()
            if t is None:
                raise ParseError("BEGIN without END", start)
            if t.text == ";":
                self.i += 1
                continue
            if t.kw == "END" and (not closer or self.kw(1) == closer):
                self.i += 2 if closer else 1
                return block
            block.stmts.append(self.statement())

    def statement(self) -> Node:
        t = self.peek()
        kw = t.kw
        if kw == "BEGIN":
            nxt = self.kw(1)
            if nxt == "TRY":
                self.i += 2
                body = self.block_until_end(t.start, "TRY")
                if self.kw() != "BEGIN" or self.kw(1) != "CATCH":
                    raise ParseError("END TRY not followed by BEGIN CATCH", t.start)
                self.i += 2
                catch = self.block_until_end(t.start, "CATCH")
                return Try(body, catch, t.start)
            if nxt in ("TRAN", "TRANSACTION", "DISTRIBUTED"):
                return self.simple("BEGIN TRAN")
            self.i += 1
            return self.block_until_end(t.start)
        if kw in ("IF", "WHILE"):
            self.i += 1
            cond = self.condition()
            if self.peek() is None:
                raise ParseError(f"{kw} without a statement", t.start)
            body = self.statement()
            if kw == "WHILE":
                return While(cond, body, t.start)
            while self.peek() is not None and self.peek().text == ";":
                self.i += 1
            else_ = None
            if self.kw() == "ELSE":
                self.i += 1
                else_ = self.statement()
            return If(cond, body, else_, t.start)
        if kw == "ELSE":
            raise ParseError("ELSE without IF", t.start)
        if t.kind == "word" and self.peek(1) is not None and self.peek(1).text == ":" and kw not in STATEMENT_START:
            self.i += 2
            return Simple("LABEL", [t])
        return self.simple(kw if kw in STATEMENT_START else "")

    def condition(self) -> list[Tok]:
        """An IF/WHILE condition: tokens up to the first statement keyword at depth 0."""
        out: list[Tok] = []
        depth = case = 0
        while (t := self.peek()) is not None:
            kw = t.kw
            if depth == 0 and case == 0 and kw in STATEMENT_START:
                nxt = self.peek(1)
                if not (kw == "UPDATE" and nxt is not None and nxt.text == "("):  # UPDATE(col) test
                    break
            if t.text == "(":
                depth += 1
            elif t.text == ")":
                depth -= 1
            elif kw == "CASE":
                case += 1
            elif kw == "END" and case:
                case -= 1
            out.append(t)
            self.i += 1
        if not out:
            raise ParseError("IF/WHILE without a condition", self.peek().start if self.peek() else 0)
        return out

    def simple(self, verb: str) -> Simple:
        toks: list[Tok] = [self.peek()]
        self.i += 1
        if verb == "BEGIN TRAN" or verb in ("COMMIT", "ROLLBACK", "SAVE"):
            # BEGIN TRAN [name], COMMIT [TRAN [name]], ROLLBACK [TRAN [name]]
            while self.kw() in ("TRAN", "TRANSACTION", "WORK", "DISTRIBUTED") or (
                self.peek() is not None
                and self.peek().kind in ("word", "var")
                and self.kw() not in STATEMENT_START
                and toks[-1].kw in ("TRAN", "TRANSACTION")
            ):
                toks.append(self.peek())
                self.i += 1
            if self.peek() is not None and self.peek().text == ";":
                self.i += 1
            return Simple(verb, toks)
        if verb in ("BREAK", "CONTINUE"):
            if self.peek() is not None and self.peek().text == ";":
                self.i += 1
            return Simple(verb, toks)
        main = verb if verb != "WITH" else ""
        depth = case = 0
        seen_set = seen_select = False
        if verb == "SELECT":
            seen_select = True
        while (t := self.peek()) is not None:
            kw = t.kw
            prev = toks[-1]
            if depth == 0 and case == 0:
                if t.text == ";":
                    self.i += 1
                    break
                nxt = self.peek(1)
                if t.kind == "word" and nxt is not None and nxt.text == ":" and kw not in STATEMENT_START:
                    break  # a label starts the next statement
                if kw in _ALWAYS_ENDS:
                    break
                if kw == "IF" and not (main == "DROP" and prev.kw in ("TABLE", "VIEW", "PROCEDURE", "FUNCTION")):
                    break
                if kw in ("END", "ELSE"):
                    break
                if kw == "SELECT":
                    if not (
                        prev.kw in ("UNION", "ALL", "EXCEPT", "INTERSECT", "FOR", "AS")
                        or (main == "INSERT" and not seen_select)
                        or (verb == "WITH" and not main)
                    ):
                        break
                    seen_select = True
                    main = main or "SELECT"
                elif kw in ("INSERT", "UPDATE", "DELETE", "MERGE"):
                    if verb == "WITH" and not main:
                        main = kw
                    elif not (prev.kw in ("THEN", "FOR") or (main == "MERGE" and prev.kw == "NOT")):
                        break
                elif kw == "SET":
                    if main == "UPDATE" and not seen_set:
                        seen_set = True
                    elif prev.kw != "UPDATE":
                        break
                elif kw in ("EXEC", "EXECUTE"):
                    if not (main == "INSERT" and not seen_select):
                        break
                    seen_select = True
                elif kw == "VALUES" and main == "INSERT":
                    seen_select = True
                elif kw == "FETCH":
                    if prev.kw not in ("ROW", "ROWS"):
                        break
                elif kw == "WITH":
                    n1, n2 = self.peek(1), self.peek(2)
                    if (
                        n1 is not None
                        and n1.kind in ("word", "qid")
                        and n2 is not None
                        and (n2.kw == "AS" or n2.text == "(")
                        and n1.kw not in ("ROLLUP", "CUBE", "TIES", "CHECK")
                    ):
                        break
            if t.text == "(":
                depth += 1
            elif t.text == ")":
                depth -= 1
            elif kw == "CASE":
                case += 1
            elif kw == "END" and case:
                case -= 1
            toks.append(t)
            self.i += 1
        return Simple(verb, toks)


def parse(text: str) -> Block:
    return Parser(tokenize(text)).parse_all()


def split_top(toks: list[Tok], sep: str = ",") -> list[list[Tok]]:
    """Split tokens at `sep` outside parentheses and CASE."""
    parts: list[list[Tok]] = [[]]
    depth = case = 0
    for t in toks:
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
        elif t.kw == "CASE":
            case += 1
        elif t.kw == "END" and case:
            case -= 1
        if depth == 0 and case == 0 and t.text == sep:
            parts.append([])
            continue
        parts[-1].append(t)
    return parts


def find_top(toks: list[Tok], *kws: str, start: int = 0) -> int:
    """Index of the first keyword in `kws` outside parentheses, or -1."""
    depth = 0
    for i in range(start, len(toks)):
        t = toks[i]
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
        elif depth == 0 and t.kw in kws:
            return i
    return -1
