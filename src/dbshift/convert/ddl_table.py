"""CREATE TABLE / ALTER TABLE / CREATE INDEX → PostgreSQL (parsing with ddl_lex, expressions through expr.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from dbshift.convert import expr, names, types
from dbshift.convert.ddl_lex import DdlSyntaxError, Stream, split_top
from dbshift.convert.model import Catalog, Column, Context

T = TypeVar("T")

_COLUMN_STOP = {
    "CONSTRAINT",
    "NOT",
    "NULL",
    "PRIMARY",
    "UNIQUE",
    "CHECK",
    "REFERENCES",
    "FOREIGN",
    "IDENTITY",
    "COLLATE",
    "ROWGUIDCOL",
    "SPARSE",
    "DEFAULT",
    "PERSISTED",
    "FILESTREAM",
    "GENERATED",
    "MASKED",
    "ENCRYPTED",
    "HIDDEN",
    "WITH",
    "ON",
    "INDEX",
}
_TABLE_ELEMENT_WORDS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "INDEX", "PERIOD"}
# Functions PostgreSQL marks STABLE/VOLATILE (time, locale, DateStyle): not allowed in a generated column.
_NON_IMMUTABLE = re.compile(
    r"\b(LOCALTIMESTAMP|now\(\)|gen_random_uuid|CURRENT_TIMESTAMP|to_char|to_timestamp|to_date|random\(\)|"
    r"AS (timestamp|date|time)\b[^)]*\)\s*$)",
    re.I,
)


@dataclass
class ColumnDef:
    name: str
    tsql_type: str | None  # None for a computed column
    pg: str = ""
    nullable: bool | None = None
    identity: tuple[str, str] | None = None
    default: str | None = None  # T-SQL expression text
    default_name: str | None = None
    computed: str | None = None  # T-SQL expression text
    persisted: bool = False
    constraints: list[str] = field(default_factory=list)  # T-SQL inline constraint texts, normalised later
    period: str | None = None  # ROW START / ROW END of a temporal table
    offset: int = 0  # where the column starts in the statement text (for action items' lines)


@dataclass
class TableDef:
    schema: str
    name: str
    columns: list[ColumnDef] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)  # T-SQL texts of table constraints
    indexes: list[str] = field(default_factory=list)  # inline INDEX definitions (T-SQL text)
    tail: str = ""  # ON [PRIMARY] TEXTIMAGE_ON … WITH (…)
    period: str | None = None
    constraint_offsets: list[int] = field(default_factory=list)


def parse_type(s: Stream) -> str:
    """A (possibly qualified, possibly multi-word) type with optional (args) → T-SQL text."""
    parts = s.qualified_name()
    text = ".".join(f"[{p}]" for p in parts) if len(parts) > 1 else parts[0]
    while s.up() in ("PRECISION", "VARYING") or (text.upper() in ("NATIONAL", "NATIONAL CHAR") and s.up()):
        text += " " + s.next().text
    if s.peek() is not None and s.peek().text == "(":
        a, b = s.group()
        text += f"({s.text[a:b].strip()})"
    return text


def parse_column(text: str) -> ColumnDef:
    s = Stream(text)
    name = s.next().name
    if s.accept("AS"):
        a, b = s.skip_until({"PERSISTED", "CONSTRAINT", "NOT", "NULL", "PRIMARY", "UNIQUE", "CHECK", "REFERENCES"})
        col = ColumnDef(name, None, computed=text[a:b].strip())
        _column_options(s, col)
        return col
    col = ColumnDef(name, parse_type(s))
    _column_options(s, col)
    return col


def _column_options(s: Stream, col: ColumnDef) -> None:
    pending_name: str | None = None
    while not s.at_end():
        start = s.peek().start
        if s.accept("NOT", "NULL"):
            col.nullable = False
        elif s.accept("NULL"):
            col.nullable = True
        elif s.accept("PERSISTED"):
            col.persisted = True
        elif s.accept("IDENTITY"):
            seed, inc = "1", "1"
            if s.peek() is not None and s.peek().text == "(":
                a, b = s.group()
                parts = [p.strip() for p in s.text[a:b].split(",")]
                seed, inc = parts[0], parts[1] if len(parts) > 1 else "1"
            col.identity = (seed, inc)
            s.accept("NOT", "FOR", "REPLICATION")
        elif s.accept("CONSTRAINT"):
            pending_name = s.next().name
            continue
        elif s.accept("DEFAULT"):
            a, b = s.skip_until(_COLUMN_STOP - {"NULL", "NOT"} | {"NOT"})
            default = s.text[a:b].strip()
            m = re.match(r"^(.*\S)\s+NULL$", default, re.I | re.S)  # DEFAULT (0) NULL: the NULL is nullability
            if m and not default.upper().endswith("IS NULL"):
                default, col.nullable = m.group(1), True
            col.default, col.default_name = default, pending_name
        elif s.up() in ("PRIMARY", "UNIQUE", "CHECK", "REFERENCES", "FOREIGN"):
            head = s.up()
            s.next()
            if head == "CHECK":
                s.accept("NOT", "FOR", "REPLICATION")
                a, b = s.group()
                body = f"CHECK ({s.text[a:b]})"
            elif head in ("PRIMARY", "UNIQUE"):
                s.accept("KEY")
                a, b = s.skip_until(_COLUMN_STOP - {"WITH", "ON"} | {"CONSTRAINT"})
                extra = s.text[a:b]
                cols = f"([{col.name}])" if "(" not in extra else ""
                body = f"{'PRIMARY KEY' if head == 'PRIMARY' else 'UNIQUE'} {extra} {cols}"
            else:
                s.accept("KEY")
                a, b = s.skip_until(_COLUMN_STOP - {"ON", "NOT"} | {"CONSTRAINT"})
                rest = s.text[a:b]
                while s.up() == "ON" or (s.up() == "NOT" and s.up(1) == "FOR"):
                    a2, b2 = s.skip_until({"CONSTRAINT", "DEFAULT", "PRIMARY", "UNIQUE", "CHECK", "NULL"} - {"ON"})
                    rest += " " + s.text[a2:b2]
                    if a2 == b2:
                        s.next()
                if not rest.upper().lstrip().startswith("REFERENCES"):
                    rest = "REFERENCES " + rest
                body = f"FOREIGN KEY ([{col.name}]) {rest}"
            col.constraints.append((f"CONSTRAINT [{pending_name}] " if pending_name else "") + body)
        elif s.accept("GENERATED", "ALWAYS", "AS", "ROW"):
            col.period = s.next().up  # START / END
            s.accept("HIDDEN")
        elif s.accept("COLLATE") or s.up() in ("ROWGUIDCOL", "SPARSE", "FILESTREAM", "HIDDEN"):
            s.next()
        elif s.up() in ("MASKED", "ENCRYPTED"):
            s.next()
            s.accept("WITH")
            if s.peek() is not None and s.peek().text == "(":
                s.group()
        else:
            raise DdlSyntaxError(f"column {col.name}: unexpected {s.text[start : start + 40]!r}")
        pending_name = None


def parse_create_table(text: str) -> TableDef:
    s = Stream(text)
    s.expect("CREATE")
    s.expect("TABLE")
    parts = s.qualified_name()
    schema, name = (parts[-2] if len(parts) > 1 else "dbo"), parts[-1]
    table = TableDef(schema, name)
    if s.accept("AS", "FILETABLE"):
        raise UnsupportedObject(f"table {name}: FILETABLE has no PostgreSQL equivalent (store files in bytea or S3)")
    a, b = s.group()
    body = text[a:b]
    for start, end in split_top(body):
        element = body[start:end].strip()
        offset = a + start + len(body[start:end]) - len(body[start:end].lstrip())
        first = Stream(element)
        head = first.up()
        if head in _TABLE_ELEMENT_WORDS and first.peek().kind == "word":
            if head == "INDEX":
                table.indexes.append(element)
            elif head == "PERIOD":
                table.period = element
            else:
                table.constraints.append(element)
                table.constraint_offsets.append(offset)
        else:
            column = parse_column(element)
            column.offset = offset
            table.columns.append(column)
    table.tail = text[b + 1 :].strip()
    return table


def register_table(text: str, catalog: Catalog, key: str) -> None:
    table = parse_create_table(text)
    cols: dict[str, Column] = {}
    for col in table.columns:
        tsql_type = col.tsql_type or _computed_type_guess(col, table, catalog)
        cols[col.name.lower()] = Column(
            col.name, tsql_type, "", col.nullable is not False, bool(col.identity), col.computed is not None
        )
    catalog.tables[key] = cols


def _computed_type_guess(col: ColumnDef, table: TableDef, catalog: Catalog) -> str:
    """T-SQL type of a computed column, guessed from its expression (PostgreSQL needs one)."""
    text = col.computed or ""
    m = re.match(r"^[\s(]*(?:CONVERT|TRY_CONVERT)\s*\(\s*(\[?\w+\]?\s*(?:\(\s*\w+\s*(?:,\s*\d+\s*)?\))?)", text, re.I)
    if m is None:
        m = re.search(r"\bthen\s+CONVERT\s*\(\s*(\[?\w+\]?\s*(?:\(\s*\w+\s*(?:,\s*\d+\s*)?\))?)", text, re.I)
    if m is not None:
        return names.unquote(m.group(1).split("(")[0].strip()) + (
            "(" + m.group(1).split("(", 1)[1] if "(" in m.group(1) else ""
        )
    kind = expr.expression_kind(
        text,
        Context(catalog=catalog),
        {c.name.lower(): Column(c.name, c.tsql_type, "") for c in table.columns if c.tsql_type},
    )
    if kind == "string":
        return "nvarchar(max)"
    if kind == "bit":
        return "bit"
    if re.search(r"'|\bCONVERT\s*\(\s*\[?n?varchar|\bCAST\b.*\bAS\s+\[?n?(var)?char", text, re.I):
        return "nvarchar(max)"
    referenced = [c for c in table.columns if c.tsql_type and re.search(rf"\[?\b{re.escape(c.name)}\b\]?", text, re.I)]
    bases = {types.base_name(c.tsql_type, catalog) for c in referenced if c.tsql_type}
    if bases & {"datetime", "datetime2", "date", "smalldatetime"} and not re.search(r"datediff|datepart", text, re.I):
        return "datetime2"
    if bases and bases <= {"int", "smallint", "tinyint", "bigint"} and "/" not in text and "." not in text:
        return "bigint"
    if re.search(r"\bdatediff\b|\bdatepart\b|\byear\s*\(|\bmonth\s*\(", text, re.I):
        return "int"
    return "decimal(38,6)"


class TableConverter:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.deps: set[str] = set()
        self.base = 0  # offset of the parsed statement inside SourceObject.text
        self.offset = 0  # offset of the element being converted inside the statement

    def note(self, severity: str, message: str, construct: str) -> None:
        self.ctx.note(severity, message, construct, offset=self.base + self.offset)  # type: ignore[arg-type]

    def at(self, offset: int, convert: Callable[[], T]) -> T:
        """Run convert() for the element at offset; action items it (or expr.py) adds get that element's line."""
        self.offset = offset
        first = len(self.ctx.items)
        try:
            return convert()
        finally:
            if self.ctx.obj is not None:
                for item in self.ctx.items[first:]:
                    item.line = self.ctx.obj.line_of(self.base + offset)

    def column_sql(self, col: ColumnDef, table: TableDef, own: dict[str, Column], colnames: dict[str, str]) -> str:
        name = colnames[col.name]
        catalog = self.ctx.catalog
        if col.computed is not None:
            return self._computed(col, table, own, name)
        assert col.tsql_type is not None
        pg = types.pg_type(col.tsql_type, catalog)
        base = types.base_name(col.tsql_type, catalog)
        schema, tname, _ = types.parse(col.tsql_type)
        alias_key = f"{schema or 'dbo'}.{tname}".lower()
        if alias_key in catalog.alias_types:
            self.deps.add(f"type:{alias_key}")
        if base in types.LOSSY:
            construct, message = types.LOSSY[base]
            self.note("info" if base == "tinyint" else "warning", f"column {col.name}: {message}", construct)
        if base == "datetime2" and "(7)" in col.tsql_type.replace(" ", ""):
            pass  # PostgreSQL keeps microseconds: the 7th digit (100 ns) is lost, as in every migration
        if col.identity and pg not in ("smallint", "integer", "bigint"):
            self.note(
                "info",
                f"column {col.name}: IDENTITY on {col.tsql_type} → bigint (PostgreSQL identity columns "
                "are integer types)",
                "identity-type",
            )
            pg = "bigint"
        out = f"{name} {pg}"
        if col.identity:
            seed, inc = col.identity
            out += f" GENERATED BY DEFAULT AS IDENTITY (START WITH {seed} INCREMENT BY {inc})"
        if col.period:
            self.note(
                "warning",
                f"column {col.name}: GENERATED ALWAYS AS ROW {col.period} (system-versioned "
                "temporal table) → plain timestamp with a default; maintain history with a trigger",
                "temporal",
            )
            default = "LOCALTIMESTAMP" if col.period == "START" else "'9999-12-31 23:59:59.999999'"
            out += f" DEFAULT {default}"
        if col.default is not None:
            out += " DEFAULT " + self.default_sql(col.default, col.tsql_type, own)
        nullable = col.nullable
        if nullable is None and col.identity is None:
            alias = catalog.alias_types.get(alias_key)
            if alias is not None and alias.upper().endswith("NOT NULL"):
                nullable = False
        if nullable is False or col.identity:
            out += " NOT NULL"
        return out

    def default_sql(self, text: str, tsql_type: str, own: dict[str, Column]) -> str:
        inner = text
        m = re.match(r"^\s*NEXT\s+VALUE\s+FOR\s+(.+?)\s*$", _strip_parens(text), re.I | re.S)
        if m:
            schema, seq = names.split_schema_name(m.group(1))
            self.deps.add(f"sequence:{schema}.{seq}".lower())
            qualified = names.qualified(schema, seq)
            return f"nextval('{qualified.replace(chr(39), chr(39) * 2)}')"
        if types.is_bit(tsql_type, self.ctx.catalog):
            inner = f"CAST({text} AS bit)"
        return expr.convert_expression(inner, self.ctx, own)

    def _computed(self, col: ColumnDef, table: TableDef, own: dict[str, Column], name: str) -> str:
        assert col.computed is not None
        tsql_type = own[col.name.lower()].tsql_type
        pg = types.pg_type(tsql_type, self.ctx.catalog)
        converted = expr.convert_expression(col.computed, self.ctx, own)
        other_computed = [c.name for c in table.columns if c.computed is not None and c is not col]
        uses_computed = [n for n in other_computed if re.search(rf"\b{re.escape(n)}\b", col.computed, re.I)]
        user_function = re.search(r"\[?\w+\]?\s*\.\s*\[?\w+\]?\s*\(", col.computed) is not None
        reason = ""
        if user_function:
            reason = "calls a user function (PostgreSQL needs an IMMUTABLE expression)"
        elif uses_computed:
            reason = f"uses computed column(s) {', '.join(uses_computed)} (not allowed in a generated column)"
        elif _NON_IMMUTABLE.search(converted):
            reason = "is not immutable (time, random or locale-dependent functions)"
        if reason:
            self.note(
                "warning",
                f"computed column {col.name} {reason}: created as a plain {pg} column; fill it "
                f"with a trigger or expose it in a view. T-SQL: {col.computed}",
                "computed-column",
            )
            return f"{name} {pg}"
        self.note(
            "info",
            f"computed column {col.name} → stored generated column of type {pg} (type inferred)",
            "computed-column",
        )
        if not col.persisted:
            pass  # PostgreSQL 15 has only STORED generated columns: a virtual T-SQL column becomes stored
        return f"{name} {pg} GENERATED ALWAYS AS ({converted}) STORED"

    def constraint_sql(
        self, text: str, table_schema: str, table_name: str, own: dict[str, Column], nocheck: bool = False
    ) -> tuple[str, str | None]:
        """One table constraint (T-SQL text) → (PostgreSQL constraint text, ALTER-only statement or None)."""
        s = Stream(text)
        cname = None
        if s.accept("CONSTRAINT"):
            cname = s.next().name
        prefix = f"CONSTRAINT {names.ident(cname)} " if cname else ""
        head = s.up()
        if s.accept("PRIMARY", "KEY") or s.accept("UNIQUE"):
            kind = "PRIMARY KEY" if head == "PRIMARY" else "UNIQUE"
            while s.up() in ("CLUSTERED", "NONCLUSTERED", "HASH"):
                if s.next().up == "HASH":
                    self.note("info", f"{kind} {cname or ''}: HASH (memory-optimized) → B-tree", "hash-index")
            a, b = s.group()
            cols = self._index_columns(text[a:b], own, drop_order=True)
            self._storage(s, f"{kind} {cname or ''}".strip())
            return f"{prefix}{kind} ({cols})", None
        if s.accept("FOREIGN", "KEY"):
            a, b = s.group()
            cols = self._index_columns(text[a:b], own, drop_order=True)
            s.expect("REFERENCES")
            parts = s.qualified_name()
            rschema, rname = (parts[-2] if len(parts) > 1 else table_schema), parts[-1]
            self.deps.add(f"table:{rschema}.{rname}".lower())
            ref = names.qualified(rschema, rname)
            if s.peek() is not None and s.peek().text == "(":
                a, b = s.group()
                ref += f" ({self._index_columns(text[a:b], {}, drop_order=True)})"
            actions = ""
            while s.accept("ON"):
                event = s.next().up
                if s.accept("NO", "ACTION"):
                    action = "NO ACTION"
                elif s.accept("SET", "NULL"):
                    action = "SET NULL"
                elif s.accept("SET", "DEFAULT"):
                    action = "SET DEFAULT"
                else:
                    action = s.next().up
                actions += f" ON {event} {action}"
            if s.accept("NOT", "FOR", "REPLICATION"):
                self.note("info", f"foreign key {cname}: NOT FOR REPLICATION dropped", "not-for-replication")
            return f"{prefix}FOREIGN KEY ({cols}) REFERENCES {ref}{actions}{' NOT VALID' if nocheck else ''}", None
        if s.accept("CHECK"):
            if s.accept("NOT", "FOR", "REPLICATION"):
                self.note("info", f"check {cname}: NOT FOR REPLICATION dropped", "not-for-replication")
            a, b = s.group()
            body = expr.convert_expression(text[a:b], self.ctx, own)
            return f"{prefix}CHECK ({body}){' NOT VALID' if nocheck else ''}", None
        if s.accept("DEFAULT"):
            a, b = s.skip_until({"FOR"})
            default_text = text[a:b]
            s.expect("FOR")
            col = s.next().name
            col_type = own[col.lower()].tsql_type if col.lower() in own else "sql_variant"
            value = self.default_sql(default_text, col_type, own)
            return "", f"ALTER COLUMN {names.ident(col)} SET DEFAULT {value}"
        raise DdlSyntaxError(f"constraint not understood: {text[:80]!r}")

    def _storage(self, s: Stream, what: str) -> None:
        """Drop WITH (…) / ON filegroup after a key or index, with a note."""
        dropped = []
        while not s.at_end():
            if s.accept("WITH"):
                a, b = s.group()
                dropped.append(f"WITH ({s.text[a:b].strip()})")
            elif s.accept("ON"):
                start = s.next()
                part = start.text
                if s.peek() is not None and s.peek().text == "(":
                    a, b = s.group()
                    part += f"({s.text[a:b]})"
                dropped.append(f"ON {part}")
            elif s.accept("TEXTIMAGE_ON") or s.accept("FILESTREAM_ON"):
                dropped.append(f"TEXTIMAGE/FILESTREAM_ON {s.next().text}")
            else:
                break
        if dropped:
            self.note("info", f"{what}: storage options dropped ({'; '.join(dropped)[:200]})", "storage")

    def _index_columns(self, text: str, own: dict[str, Column], drop_order: bool = False) -> str:
        out = []
        for a, b in split_top(text):
            s = Stream(text[a:b])
            name = names.ident(s.next().name)
            order = s.up()
            if order in ("ASC", "DESC") and not drop_order:
                name += " " + order
            out.append(name)
        return ", ".join(out)

    # -- CREATE TABLE

    def create_table(self, text: str, schema: str) -> str:
        table = parse_create_table(text)
        own = self.ctx.catalog.tables.get(f"{table.schema}.{table.name}".lower())
        if own is None:
            register_table(text, self.ctx.catalog, f"{table.schema}.{table.name}".lower())
            own = self.ctx.catalog.tables[f"{table.schema}.{table.name}".lower()]
        colnames, collided = names.fold_all([c.name for c in table.columns])
        for name in collided:
            self.note(
                "warning",
                f"column {name} collides with another after case folding: kept quoted with its case",
                "name-collision",
            )
        lines = [self.at(c.offset, lambda c=c: self.column_sql(c, table, own, colnames)) for c in table.columns]
        extra: list[str] = []
        for c in table.columns:
            for constraint in c.constraints:
                lines.append(
                    self.at(c.offset, lambda k=constraint: self.constraint_sql(k, table.schema, table.name, own))[0]
                )
        for constraint, offset in zip(table.constraints, table.constraint_offsets, strict=True):
            body, alter = self.at(offset, lambda k=constraint: self.constraint_sql(k, table.schema, table.name, own))
            if body:
                lines.append(body)
            if alter:
                extra.append(f"ALTER TABLE {names.qualified(table.schema, table.name)} {alter}")
        for index in table.indexes:
            created = self.create_index("CREATE " + index, table)
            if created:
                extra.append(created)
        if table.period:
            self.note(
                "warning",
                f"table {table.name}: {table.period} — system-versioned temporal tables have no "
                "PostgreSQL equivalent; keep history with triggers (e.g. the temporal_tables pattern)",
                "temporal",
            )
        tail = Stream(table.tail)
        self._table_tail(tail, table.name)
        qualified = names.qualified(table.schema, table.name)
        sql = f"CREATE TABLE {qualified} (\n    " + ",\n    ".join(lines) + "\n)"
        return ";\n".join([sql, *extra])

    def _table_tail(self, s: Stream, name: str) -> None:
        dropped = []
        while not s.at_end():
            if s.accept("WITH"):
                a, b = s.group()
                options = s.text[a:b]
                if re.search(r"SYSTEM_VERSIONING\s*=\s*ON", options, re.I):
                    self.note(
                        "warning",
                        f"table {name}: SYSTEM_VERSIONING (temporal table) not converted; history "
                        "table and period must be maintained by triggers",
                        "temporal",
                    )
                if re.search(r"MEMORY_OPTIMIZED\s*=\s*ON", options, re.I):
                    self.note(
                        "warning",
                        f"table {name}: MEMORY_OPTIMIZED dropped: an ordinary table is created",
                        "memory-optimized",
                    )
                dropped.append(f"WITH ({options.strip()})")
            elif s.accept("ON") or s.accept("TEXTIMAGE_ON") or s.accept("FILESTREAM_ON"):
                part = s.next().text
                if s.peek() is not None and s.peek().text == "(":
                    a, b = s.group()
                    part += f"({s.text[a:b]})"
                dropped.append(part)
            elif s.peek().text == ";":
                s.next()
            else:
                raise DdlSyntaxError(f"table {name}: unexpected {s.text[s.peek().start :][:60]!r} after the columns")
        if dropped:
            self.note("info", f"table {name}: storage clauses dropped ({'; '.join(dropped)[:200]})", "storage")

    # -- CREATE INDEX

    def create_index(self, text: str, table: TableDef | None = None) -> str:
        s = Stream(text)
        s.expect("CREATE")
        unique = s.accept("UNIQUE")
        kind = ""
        while s.up() in ("CLUSTERED", "NONCLUSTERED", "COLUMNSTORE", "XML", "PRIMARY", "SPATIAL", "FULLTEXT"):
            kind += s.next().up + " "
        s.expect("INDEX")
        iname = s.next().name
        while table is not None and s.up() in ("CLUSTERED", "NONCLUSTERED", "COLUMNSTORE", "HASH"):
            kind += s.next().up + " "
        if "HASH" in kind:
            self.note("info", f"index {iname}: HASH (memory-optimized) → B-tree index", "hash-index")
            kind = kind.replace("HASH ", "")
        if table is None:
            s.expect("ON")
            parts = s.qualified_name()
            tschema, tname = (parts[-2] if len(parts) > 1 else "dbo"), parts[-1]
        else:
            tschema, tname = table.schema, table.name
        if "COLUMNSTORE" in kind and table is not None:
            self.note(
                "warning",
                f"columnstore index {iname} on {tname} dropped: no PostgreSQL equivalent "
                "(consider BRIN indexes or a columnar extension)",
                "columnstore",
            )
            return ""
        if "COLUMNSTORE" in kind or "XML" in kind or "SPATIAL" in kind or "FULLTEXT" in kind:
            raise UnsupportedObject(
                f"{kind.strip()} index {iname}: no PostgreSQL equivalent (consider GIN/BRIN or "
                "a PostGIS/xml index by hand)"
            )
        self.deps.add(f"table:{tschema}.{tname}".lower())
        own = self.ctx.catalog.tables.get(f"{tschema}.{tname}".lower(), {})
        if f"{tschema}.{tname}".lower() in self.ctx.catalog.tables and not own:  # views register no columns
            raise UnsupportedObject(
                f"index {iname} on view {tname} (indexed view): PostgreSQL cannot index a view; "
                "use a materialized view with this index and REFRESH it"
            )
        a, b = s.group()
        cols = self._index_columns(text[a:b], own)
        include = where = ""
        while not s.at_end():
            if s.accept("INCLUDE"):
                a, b = s.group()
                include = f" INCLUDE ({self._index_columns(text[a:b], own, drop_order=True)})"
            elif s.accept("WHERE"):
                a, b = s.skip_until({"WITH", "ON"})
                where = " WHERE " + expr.convert_expression(text[a:b], self.ctx, own)
            elif s.up() in ("WITH", "ON", "TEXTIMAGE_ON", "FILESTREAM_ON"):
                self._storage(s, f"index {iname}")
            elif s.peek().text == ";":
                s.next()
            else:
                raise DdlSyntaxError(f"index {iname}: unexpected {s.text[s.peek().start :][:60]!r}")
        if "CLUSTERED" in kind and "NONCLUSTERED" not in kind:
            self.note(
                "info",
                f"index {iname}: CLUSTERED dropped (PostgreSQL tables are heaps; CLUSTER {tname} USING "
                f"{iname} reorders once)",
                "clustered",
            )
        if where:
            self.note("info", f"index {iname}: filtered index → partial index", "filtered-index")
        qualified = names.qualified(tschema, tname)
        index = names.index_name(tname, iname)
        return f"CREATE {'UNIQUE ' if unique else ''}INDEX {index} ON {qualified} ({cols}){include}{where}"

    # -- ALTER TABLE

    def alter_table(self, text: str) -> str | None:
        s = Stream(text)
        s.expect("ALTER")
        s.expect("TABLE")
        parts = s.qualified_name()
        tschema, tname = (parts[-2] if len(parts) > 1 else "dbo"), parts[-1]
        self.deps.add(f"table:{tschema}.{tname}".lower())
        qualified = names.qualified(tschema, tname)
        own = self.ctx.catalog.tables.get(f"{tschema}.{tname}".lower(), {})
        nocheck = False
        if s.accept("WITH", "NOCHECK"):
            nocheck = True
        else:
            s.accept("WITH", "CHECK")
        rest_start = s.peek().start if s.peek() else len(text)
        if s.accept("ADD"):
            body = text[s.peek().start :] if s.peek() else ""
            actions: list[str] = []
            statements: list[str] = []
            for a, b in split_top(body):
                element = body[a:b].strip().rstrip(";")
                head = Stream(element).up()
                if head in ("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "DEFAULT"):
                    clause, alter = self.constraint_sql(element, tschema, tname, own, nocheck)
                    if clause:
                        actions.append(f"ADD {clause}")
                    if alter:
                        actions.append(alter)
                elif head == "PERIOD":
                    self.note("warning", f"table {tname}: PERIOD FOR SYSTEM_TIME not converted", "temporal")
                else:
                    col = parse_column(element)
                    own.setdefault(col.name.lower(), Column(col.name, col.tsql_type or "sql_variant", ""))
                    table = TableDef(tschema, tname, [col])
                    colnames, _ = names.fold_all([col.name])
                    actions.append("ADD COLUMN " + self.column_sql(col, table, own, colnames))
                    for constraint in col.constraints:
                        actions.append("ADD " + self.constraint_sql(constraint, tschema, tname, own)[0])
            if nocheck:
                self.note(
                    "info",
                    f"WITH NOCHECK → NOT VALID on {tname}: existing rows are not checked "
                    "(run ALTER TABLE … VALIDATE CONSTRAINT later)",
                    "nocheck",
                )
            if not actions:
                return None
            statements.append(f"ALTER TABLE {qualified} " + ", ".join(actions))
            return ";\n".join(statements)
        if s.up() in ("CHECK", "NOCHECK") and s.up(1) == "CONSTRAINT":
            enable = s.next().up == "CHECK"
            s.next()
            target = s.next().name
            if target.upper() == "ALL":
                # The data-load idiom (NOCHECK ALL … load … CHECK ALL): PostgreSQL's equivalent switches off the
                # foreign-key triggers, as pg_restore --disable-triggers does.
                self.note(
                    "warning",
                    f"{'CHECK' if enable else 'NOCHECK'} CONSTRAINT ALL on {tname} → "
                    f"{'ENABLE' if enable else 'DISABLE'} TRIGGER ALL: affects foreign keys (not CHECK "
                    "constraints) and user triggers too, and needs superuser",
                    "nocheck",
                )
                return f"ALTER TABLE {qualified} {'ENABLE' if enable else 'DISABLE'} TRIGGER ALL"
            if not enable:
                raise UnsupportedObject(
                    f"NOCHECK CONSTRAINT {target} on {tname}: PostgreSQL cannot disable a "
                    "constraint; drop it and re-add it NOT VALID if you must"
                )
            if nocheck is False and re.search(r"\bWITH\s+CHECK\b", text[:rest_start], re.I):
                return f"ALTER TABLE {qualified} VALIDATE CONSTRAINT {names.ident(target)}"
            self.note(
                "info",
                f"CHECK CONSTRAINT {target}: PostgreSQL constraints are always enabled; the converted "
                "statement only checks that the constraint exists",
                "check-constraint",
            )
            literal = names.ident(target).strip('"').replace("'", "''")
            return (
                f"DO $dbshift$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = "
                f"'{qualified.replace(chr(39), chr(39) * 2)}'::regclass AND conname = '{literal}') THEN "
                f"RAISE EXCEPTION 'constraint {literal} missing'; END IF; END $dbshift$"
            )
        if s.accept("ALTER", "COLUMN"):
            col = parse_column(text[s.peek().start :])
            pg = types.pg_type(col.tsql_type or "sql_variant", self.ctx.catalog)
            name = names.ident(col.name)
            out = f"ALTER TABLE {qualified} ALTER COLUMN {name} TYPE {pg}"
            if col.nullable is False:
                out += f", ALTER COLUMN {name} SET NOT NULL"
            elif col.nullable is True:
                out += f", ALTER COLUMN {name} DROP NOT NULL"
            return out
        if s.accept("DROP"):
            rest = text[s.peek().start :].strip().rstrip(";") if s.peek() else ""
            m = re.match(r"^(CONSTRAINT|COLUMN)?\s*(IF\s+EXISTS\s+)?(.+)$", rest, re.I | re.S)
            if m:
                kind = (m.group(1) or "CONSTRAINT").upper()
                targets = ", ".join(
                    f"DROP {kind} {m.group(2) or ''}{names.ident(n.strip())}" for n in m.group(3).split(",")
                )
                return f"ALTER TABLE {qualified} {targets}"
        if s.up() in ("ENABLE", "DISABLE") and s.up(1) == "TRIGGER":
            action = s.next().up
            s.next()
            target = s.next().name
            trig = "ALL" if target.upper() == "ALL" else names.ident(target)
            return f"ALTER TABLE {qualified} {action} TRIGGER {trig}"
        if s.accept("SET"):
            raise UnsupportedObject(
                f"ALTER TABLE {tname} SET {text[s.peek().start :][:80] if s.peek() else ''}: "
                "table options (SYSTEM_VERSIONING, LOCK_ESCALATION, ...) have no equivalent"
            )
        raise DdlSyntaxError(f"ALTER TABLE form not converted: {text[rest_start : rest_start + 80]!r}")


class UnsupportedObject(Exception):
    """A valid T-SQL object with no PostgreSQL equivalent: reported as an action item, nothing executed."""


def _strip_parens(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0
