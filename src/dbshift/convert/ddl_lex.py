"""A small T-SQL tokenizer for DDL statements (sqlglot's T-SQL parser falls back to opaque commands for most of
them): words, [bracketed]/"quoted" identifiers, N'strings', numbers, @variables and punctuation, with offsets so
expressions can be cut out of the original text and handed to expr.py."""

from __future__ import annotations

from dataclasses import dataclass

from dbshift.convert import names


class DdlSyntaxError(ValueError):
    """T-SQL DDL the tokenizer/parser cannot follow; the message names the position and what was expected."""


@dataclass
class Tok:
    kind: str  # word | ident | string | number | var | op
    text: str
    start: int
    end: int

    @property
    def up(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def name(self) -> str:
        """Identifier value: brackets/quotes removed."""
        return names.unquote(self.text) if self.kind in ("ident", "word") else self.text


def tokenize(text: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            i = j
        elif ch == "[":
            j = i + 1
            while j < n and not (text[j] == "]" and text[j + 1 : j + 2] != "]"):
                j += 2 if text[j] == "]" else 1
            toks.append(Tok("ident", text[i : j + 1], i, j + 1))
            i = j + 1
        elif ch == '"':
            j = text.find('"', i + 1)
            j = n - 1 if j < 0 else j
            toks.append(Tok("ident", text[i : j + 1], i, j + 1))
            i = j + 1
        elif ch == "'" or (ch in "nN" and text[i + 1 : i + 2] == "'"):
            j = i + (2 if ch != "'" else 1)
            while j < n:
                if text[j] == "'" and text[j + 1 : j + 2] == "'":
                    j += 2
                elif text[j] == "'":
                    break
                else:
                    j += 1
            toks.append(Tok("string", text[i : j + 1], i, j + 1))
            i = j + 1
        elif ch.isdigit() or (ch == "." and text[i + 1 : i + 2].isdigit()):
            j = i
            while j < n and (text[j].isalnum() or text[j] == "."):
                j += 1
            toks.append(Tok("number", text[i:j], i, j))
            i = j
        elif ch == "@" or ch.isalpha() or ch in "_#$":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "_#$@"):
                j += 1
            toks.append(Tok("var" if ch == "@" else "word", text[i:j], i, j))
            i = j
        else:
            two = text[i : i + 2]
            if two in ("<=", ">=", "<>", "!=", "::"):
                toks.append(Tok("op", two, i, i + 2))
                i += 2
            else:
                toks.append(Tok("op", ch, i, i + 1))
                i += 1
    return toks


def string_value(tok: Tok) -> str:
    text = tok.text[1:] if tok.text[:1] in "nN" else tok.text
    return text[1:-1].replace("''", "'")


class Stream:
    """Cursor over tokens of one statement, with the source text for slicing."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    def peek(self, k: int = 0) -> Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def up(self, k: int = 0) -> str:
        t = self.peek(k)
        return t.up if t else ""

    def at_end(self) -> bool:
        return self.i >= len(self.toks)

    def next(self) -> Tok:
        if self.i >= len(self.toks):
            raise DdlSyntaxError(f"unexpected end of statement: {self.text[:80]!r}")
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def accept(self, *words: str) -> bool:
        """Consume the word sequence if it is next (case-insensitive)."""
        for k, w in enumerate(words):
            t = self.peek(k)
            if t is None or (t.up != w and t.text != w):
                return False
        self.i += len(words)
        return True

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            got = self.peek()
            where = f"at offset {got.start}: {self.text[got.start : got.start + 40]!r}" if got else "at the end"
            raise DdlSyntaxError(f"expected {' '.join(words)} {where}")

    def qualified_name(self) -> list[str]:
        """a.b.c (each part bracketed, quoted or bare) → parts without quoting."""
        parts = [self.next().name]
        while self.peek() is not None and self.peek().text == "." and self.peek(1) is not None:
            self.i += 1
            parts.append(self.next().name)
        return parts

    def group(self) -> tuple[int, int]:
        """Consume a parenthesised group; return (start, end) offsets of its inside."""
        open_tok = self.next()
        if open_tok.text != "(":
            raise DdlSyntaxError(f"expected '(' at offset {open_tok.start}: {self.text[open_tok.start :][:40]!r}")
        depth = 1
        while True:
            tok = self.next()
            if tok.text == "(":
                depth += 1
            elif tok.text == ")":
                depth -= 1
                if depth == 0:
                    return open_tok.end, tok.start

    def skip_until(self, stop: set[str]) -> tuple[int, int]:
        """Consume tokens up to (not including) a top-level stop word or ',' / ')'; return the span consumed."""
        start = self.peek().start if self.peek() else len(self.text)
        end = start
        depth = 0
        while not self.at_end():
            t = self.peek()
            if depth == 0 and (t.up in stop or (t.text in (",", ")") and depth == 0)):
                break
            if t.text == "(":
                depth += 1
            elif t.text == ")":
                depth -= 1
            end = t.end
            self.i += 1
        return start, end


def split_top(text: str) -> list[tuple[int, int]]:
    """Spans of the top-level comma-separated parts of text."""
    spans: list[tuple[int, int]] = []
    depth, start = 0, 0
    for tok in tokenize(text):
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
        elif tok.text == "," and depth == 0:
            spans.append((start, tok.start))
            start = tok.end
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans
