"""T-SQL DDL parsing for the SQL Server EMULATOR's schema catalog (not Microsoft SQL Server's parser).

Reads CREATE TABLE column and constraint definitions, ALTER TABLE ... ADD constraints, CREATE INDEX and
CREATE SEQUENCE from the emulator's tokens into plain data. Expressions (defaults, CHECK, computed
columns, index filters) are kept as their source text, sliced from the batch by token offsets, so the
catalog can show them as SQL Server does (sys.default_constraints.definition and friends).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dbshift.estate.sqlserver import messages
from dbshift.estate.sqlserver.lexer import Token
from dbshift.estate.sqlserver.model import sql_error


@dataclass
class ColumnSpec:
    name: str
    type_schema: str = "sys"  # "sys" for a system type, else the alias type's schema
    type_name: str = ""  # lower case, e.g. "nvarchar"; "" for a computed column
    args: list[str] = field(default_factory=list)  # ["50"], ["max"], ["10", "2"]
    nullable: bool | None = None  # None: not said (SQL Server's default: NULL allowed)
    identity: tuple[int, int] | None = None  # (seed, increment)
    computed: str | None = None  # the expression text of a computed column
    persisted: bool = False
    collation: str | None = None
    rowguidcol: bool = False


@dataclass
class ConstraintSpec:
    kind: str  # "PK", "UQ", "F", "C", "D"
    name: str | None = None  # None: system-named
    columns: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    clustered: bool | None = None  # None: not said
    ref_schema: str = "dbo"
    ref_table: str = ""
    ref_columns: list[str] = field(default_factory=list)
    on_delete: str = "NO_ACTION"
    on_update: str = "NO_ACTION"
    definition: str | None = None  # CHECK / DEFAULT expression text
    column: str | None = None  # the column a DEFAULT (or a column-level CHECK) belongs to
    not_for_replication: bool = False


@dataclass
class IndexSpec:
    name: str
    schema: str
    table: str
    unique: bool = False
    clustered: bool = False
    columns: list[tuple[str, bool]] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    filter: str | None = None


@dataclass
class SequenceSpec:
    schema: str
    name: str
    type_name: str = "bigint"
    args: list[str] = field(default_factory=list)
    start: int | None = None
    increment: int = 1
    minimum: int | None = None
    maximum: int | None = None
    cycle: bool = False
    cache: int | None = None  # None: CACHE default; 0: NO CACHE


class Cursor:
    """A position in a statement's tokens, with the batch text for slicing expressions."""

    def __init__(self, toks: list[Token], text: str, i: int = 0) -> None:
        self.toks, self.text, self.i = toks, text, i

    def peek(self, k: int = 0) -> Token | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def at_end(self) -> bool:
        return self.i >= len(self.toks)

    def next(self) -> Token:
        t = self.peek()
        if t is None:
            raise messages.syntax(self.toks[-1].text if self.toks else ";")
        self.i += 1
        return t

    def kw(self, *words: str) -> bool:
        t = self.peek()
        if t is not None and t.is_kw(*words):
            self.i += 1
            return True
        return False

    def expect(self, *words: str) -> str:
        t = self.next()
        if not t.is_kw(*words):
            raise messages.syntax(t.text)
        return t.value

    def is_op(self, text: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t.kind == "op" and t.text == text

    def op(self, text: str) -> bool:
        if self.is_op(text):
            self.i += 1
            return True
        return False

    def expect_op(self, text: str) -> None:
        t = self.next()
        if t.kind != "op" or t.text != text:
            raise messages.syntax(t.text)

    def ident(self) -> str:
        t = self.next()
        if t.kind in ("word", "qident"):
            return t.name
        raise messages.syntax(t.text)

    def multipart(self) -> list[str]:
        parts = [self.ident()]
        while self.op("."):
            parts.append(self.ident())
        return parts

    def balanced(self) -> tuple[int, int]:
        """Consume '( ... )'; return the token index range of what is inside."""
        self.expect_op("(")
        start, depth = self.i, 1
        while True:
            t = self.next()
            if t.kind == "op" and t.text == "(":
                depth += 1
            elif t.kind == "op" and t.text == ")":
                depth -= 1
                if depth == 0:
                    return start, self.i - 1

    def source(self, a: int, b: int) -> str:
        """The batch text of tokens a..b-1 (comments and spacing as written)."""
        if a >= b:
            return ""
        return self.text[self.toks[a].start : self.toks[b - 1].end]

    def until(self, stops: set[str]) -> tuple[int, int]:
        """Tokens up to (not including) a word in `stops` or ',' / ')' at depth 0."""
        start, depth = self.i, 0
        while not self.at_end():
            t = self.toks[self.i]
            if t.kind == "op" and t.text == "(":
                depth += 1
            elif t.kind == "op" and t.text == ")":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and ((t.kind == "op" and t.text == ",") or t.is_kw(*stops)):
                break
            self.i += 1
        return start, self.i


def schema_name(parts: list[str], default: str = "dbo") -> tuple[str, str]:
    """[db.]schema.name / name → (schema, name); unqualified names belong to the user's default schema dbo."""
    if len(parts) >= 4:
        raise sql_error(
            50000,
            "dbshift SQL Server emulator: create schema objects in the current database (USE it first); "
            f"name '{'.'.join(parts)}' is not supported.",
        )
    if len(parts) >= 2:
        return parts[-2] or default, parts[-1]
    return default, parts[-1]


def ddl_names(c: Cursor) -> list[str]:
    """name [, name ...] to the end of the statement (ALL as the word ALL)."""
    names = [c.ident()]
    while c.op(","):
        names.append(c.ident())
    if not c.at_end():
        raise messages.syntax(c.next().text)
    return names


def _int(c: Cursor) -> int:
    neg = c.op("-")
    t = c.next()
    if t.kind != "num":
        raise messages.syntax(t.text)
    return -int(float(t.text)) if neg else int(float(t.text))


def _skip_with_options(c: Cursor) -> None:
    """WITH (PAD_INDEX = OFF, ...), ON [PRIMARY] / ON ps(col), TEXTIMAGE_ON fg: storage, not modelled."""
    while True:
        if c.peek() is not None and c.peek().is_kw("WITH") and c.is_op("(", 1):  # type: ignore[union-attr]
            c.next()
            c.balanced()
        elif c.kw("ON", "TEXTIMAGE_ON", "FILESTREAM_ON"):
            c.ident()
            if c.is_op("("):
                c.balanced()
        else:
            return


def _key_columns(c: Cursor) -> list[tuple[str, bool]]:
    c.expect_op("(")
    cols = []
    while True:
        name = c.ident()
        desc = c.kw("DESC")
        if not desc:
            c.kw("ASC")
        cols.append((name, desc))
        if c.op(")"):
            return cols
        c.expect_op(",")


def _name_list(c: Cursor) -> list[str]:
    c.expect_op("(")
    names = [c.ident()]
    while c.op(","):
        names.append(c.ident())
    c.expect_op(")")
    return names


def _action(c: Cursor) -> str:
    if c.kw("CASCADE"):
        return "CASCADE"
    if c.kw("NO"):
        c.expect("ACTION")
        return "NO_ACTION"
    c.expect("SET")
    return "SET_" + c.expect("NULL", "DEFAULT")


def _references(c: Cursor, spec: ConstraintSpec) -> None:
    spec.ref_schema, spec.ref_table = schema_name(c.multipart())
    if c.is_op("("):
        spec.ref_columns = _name_list(c)
    while True:
        if c.kw("ON"):
            which = c.expect("DELETE", "UPDATE")
            if which == "DELETE":
                spec.on_delete = _action(c)
            else:
                spec.on_update = _action(c)
        elif c.kw("NOT"):
            c.expect("FOR")
            c.expect("REPLICATION")
            spec.not_for_replication = True
        else:
            return


def _expression_in_parens(c: Cursor) -> str:
    a, b = c.balanced()
    return "(" + c.source(a, b) + ")"


def parse_constraint(c: Cursor, name: str | None, column: str | None) -> ConstraintSpec:
    """After [CONSTRAINT name]: PRIMARY KEY / UNIQUE / FOREIGN KEY / REFERENCES / CHECK / DEFAULT."""
    if c.kw("PRIMARY"):
        c.expect("KEY")
        spec = ConstraintSpec("PK", name)
    elif c.kw("UNIQUE"):
        spec = ConstraintSpec("UQ", name)
    elif c.kw("FOREIGN"):
        c.expect("KEY")
        spec = ConstraintSpec("F", name, [(n, False) for n in _name_list(c)])
        c.expect("REFERENCES")
        _references(c, spec)
        return spec
    elif c.kw("REFERENCES"):
        spec = ConstraintSpec("F", name, [(column or "", False)])
        _references(c, spec)
        return spec
    elif c.kw("CHECK"):
        spec = ConstraintSpec("C", name, column=column)
        if c.kw("NOT"):
            c.expect("FOR")
            c.expect("REPLICATION")
            spec.not_for_replication = True
        spec.definition = _expression_in_parens(c)
        return spec
    elif c.kw("DEFAULT"):
        spec = ConstraintSpec("D", name, column=column)
        if c.is_op("("):
            spec.definition = _expression_in_parens(c)
        else:
            a, b = c.until({"FOR", "CONSTRAINT", "NOT", "NULL", "PRIMARY", "UNIQUE", "CHECK", "REFERENCES", "WITH"})
            spec.definition = "(" + c.source(a, b) + ")"
        if c.kw("FOR"):
            spec.column = c.ident()
        if c.kw("WITH"):
            c.expect("VALUES")
        return spec
    else:
        t = c.next()
        raise messages.syntax(t.text)
    if c.kw("CLUSTERED"):
        spec.clustered = True
    elif c.kw("NONCLUSTERED"):
        spec.clustered = False
    if c.is_op("("):
        spec.columns = _key_columns(c)
    elif column is not None:
        spec.columns = [(column, False)]
    _skip_with_options(c)
    return spec


def parse_type(c: Cursor, col: ColumnSpec) -> None:
    parts = c.multipart()
    col.type_schema = parts[-2].lower() if len(parts) > 1 else "sys"
    col.type_name = parts[-1].lower()
    if col.type_schema == "sys":
        col.type_schema = "sys"
    if c.is_op("("):
        a, b = c.balanced()
        col.args = [c.source(x, x + 1).lower() for x in range(a, b) if c.toks[x].kind != "op"]
    if col.type_name in ("double",) and c.kw("PRECISION"):
        col.type_name = "float"


def parse_column(c: Cursor, constraints: list[ConstraintSpec]) -> ColumnSpec:
    col = ColumnSpec(c.ident())
    if c.kw("AS"):
        a, b = c.until({"PERSISTED", "CONSTRAINT", "NOT", "NULL", "PRIMARY", "UNIQUE", "CHECK", "REFERENCES"})
        text = c.source(a, b)
        col.computed = text if text.startswith("(") and text.endswith(")") else f"({text})"
    else:
        parse_type(c, col)
    while not c.at_end() and not c.is_op(",") and not c.is_op(")"):
        if c.kw("PERSISTED"):
            col.persisted = True
        elif c.kw("IDENTITY"):
            seed, inc = 1, 1
            if c.op("("):
                seed = _int(c)
                c.expect_op(",")
                inc = _int(c)
                c.expect_op(")")
            col.identity = (seed, inc)
        elif c.kw("NOT"):
            if c.kw("NULL"):
                col.nullable = False
            else:
                c.expect("FOR")
                c.expect("REPLICATION")
        elif c.kw("NULL"):
            col.nullable = True
        elif c.kw("COLLATE"):
            col.collation = c.ident()
        elif c.kw("ROWGUIDCOL"):
            col.rowguidcol = True
        elif c.kw("SPARSE", "FILESTREAM"):
            continue
        elif c.kw("CONSTRAINT"):
            constraints.append(parse_constraint(c, c.ident(), col.name))
        elif c.peek() is not None and c.peek().is_kw(  # type: ignore[union-attr]
            "PRIMARY", "UNIQUE", "FOREIGN", "REFERENCES", "CHECK", "DEFAULT"
        ):
            constraints.append(parse_constraint(c, None, col.name))
        else:
            raise messages.syntax(c.next().text)
    return col


def parse_create_table(toks: list[Token], text: str) -> tuple[str, str, list[ColumnSpec], list[ConstraintSpec]]:
    """CREATE TABLE name ( column | constraint , ... ) [storage] → (schema, name, columns, constraints)."""
    c = Cursor(toks, text)
    c.expect("CREATE")
    c.expect("TABLE")
    schema, name = schema_name(c.multipart())
    c.expect_op("(")
    columns: list[ColumnSpec] = []
    constraints: list[ConstraintSpec] = []
    while True:
        if c.kw("CONSTRAINT"):
            constraints.append(parse_constraint(c, c.ident(), None))
        elif c.peek() is not None and c.peek().is_kw("PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):  # type: ignore[union-attr]
            constraints.append(parse_constraint(c, None, None))
        elif c.peek() is not None and c.peek().is_kw("INDEX"):  # type: ignore[union-attr]
            raise sql_error(
                50000, "dbshift SQL Server emulator: inline INDEX in CREATE TABLE is not supported; use CREATE INDEX."
            )
        else:
            columns.append(parse_column(c, constraints))
        if c.op(")"):
            break
        c.expect_op(",")
    _skip_with_options(c)
    if not c.at_end():
        raise messages.syntax(c.next().text)
    return schema, name, columns, constraints


def parse_index(toks: list[Token], text: str) -> IndexSpec:
    """CREATE [UNIQUE] [CLUSTERED|NONCLUSTERED] INDEX name ON table (cols) [INCLUDE (..)] [WHERE ..] [WITH ..]."""
    c = Cursor(toks, text)
    c.expect("CREATE")
    unique = c.kw("UNIQUE")
    clustered = c.kw("CLUSTERED")
    if not clustered:
        c.kw("NONCLUSTERED")
    c.expect("INDEX")
    name = c.ident()
    c.expect("ON")
    schema, table = schema_name(c.multipart())
    spec = IndexSpec(name, schema, table, unique, clustered, _key_columns(c))
    if c.kw("INCLUDE"):
        spec.include = _name_list(c)
    if c.kw("WHERE"):
        a, b = c.until({"WITH", "ON"})
        spec.filter = "(" + c.source(a, b) + ")"
    _skip_with_options(c)
    if not c.at_end():
        raise messages.syntax(c.next().text)
    return spec


def parse_sequence(toks: list[Token], text: str) -> SequenceSpec:
    c = Cursor(toks, text)
    c.expect("CREATE")
    c.expect("SEQUENCE")
    schema, name = schema_name(c.multipart())
    spec = SequenceSpec(schema, name)
    while not c.at_end():
        if c.kw("AS"):
            col = ColumnSpec("")
            parse_type(c, col)
            spec.type_name, spec.args = col.type_name, col.args
        elif c.kw("START"):
            c.expect("WITH")
            spec.start = _int(c)
        elif c.kw("INCREMENT"):
            c.expect("BY")
            spec.increment = _int(c)
        elif c.kw("MINVALUE"):
            spec.minimum = _int(c)
        elif c.kw("MAXVALUE"):
            spec.maximum = _int(c)
        elif c.kw("CYCLE"):
            spec.cycle = True
        elif c.kw("CACHE"):
            spec.cache = _int(c) if c.peek() is not None and c.peek().kind == "num" else None  # type: ignore[union-attr]
        elif c.kw("NO"):
            what = c.expect("MINVALUE", "MAXVALUE", "CYCLE", "CACHE")
            if what == "CACHE":
                spec.cache = 0
        else:
            raise messages.syntax(c.next().text)
    return spec
