"""The plain data of schema conversion: source objects, what the catalog knows, converted objects, action items.

Every converter step speaks these types, so that reading sources, converting, verifying and reporting stay
independent modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Object types that count in the conversion rate (the "schema objects" of the issue).
SCHEMA_OBJECT_TYPES = (
    "schema",
    "type",
    "sequence",
    "table",
    "constraint",
    "index",
    "view",
    "function",
    "procedure",
    "trigger",
    "synonym",
)
# Converted and reported, but not counted in the rate: security and documentation.
OTHER_OBJECT_TYPES = ("role", "user", "grant", "comment")
# Script statements that are not schema (data loads, USE, SET options, PRINT, CREATE DATABASE, ...): reported
# as skipped with an info item, never executed.
SCRIPT = "script"
ObjectType = str  # one of SCHEMA_OBJECT_TYPES + OTHER_OBJECT_TYPES + (SCRIPT,)

Status = Literal["verified", "converted-unverified", "needs-work", "skipped"]
Severity = Literal["info", "warning", "error"]


@dataclass
class SourceObject:
    """One T-SQL object as found in the source: a CREATE/ALTER statement, with where it came from."""

    database: str  # the source's name for reports, e.g. "Northwind" or the SSDT project's folder
    schema: str  # as written in T-SQL, brackets removed, e.g. "Sales" ("dbo" when unqualified)
    name: str  # as written, brackets removed; for constraints/indexes/triggers their own name
    type: ObjectType
    text: str  # the T-SQL statement(s) of this object, without GO
    file: str  # path of the source file (relative to SOURCE where possible)
    line: int  # 1-based line in `file` where `text` starts
    parent: str | None = None  # "schema.name" of the table a constraint/index/trigger/comment belongs to

    @property
    def key(self) -> str:
        """Unique, case-insensitive key: type:schema.name (T-SQL names compare case-insensitively by default)."""
        return f"{self.type}:{self.schema}.{self.name}".lower()

    def line_of(self, offset: int) -> int:
        """The file line of character `offset` of `text`."""
        return self.line + self.text.count("\n", 0, max(0, offset))


@dataclass
class ActionItem:
    severity: Severity
    line: int  # line in the source file
    message: str  # what was found and what to do, e.g. "FOR XML with TYPE directive: rewrite with xmlagg"
    construct: str = ""  # short tag for grouping, e.g. "for-xml", "dynamic-sql", "parse-error"


@dataclass
class Column:
    name: str  # as written in T-SQL
    tsql_type: str  # e.g. "nvarchar(50)", "dbo.Flag", "int"
    pg_type: str  # e.g. "varchar(50)", "boolean"
    nullable: bool = True
    identity: bool = False
    computed: bool = False


@dataclass
class Routine:
    kind: Literal["procedure", "function", "tvf"]  # tvf: inline or multi-statement table-valued
    pg_name: str  # qualified PostgreSQL name
    params: list[tuple[str, str, str]] = field(default_factory=list)  # (T-SQL @name, pg type, mode IN/OUT/INOUT)
    returns: str | None = None  # pg type of a scalar function; None otherwise
    returns_table: bool = False  # a procedure that returns a result set, or a TVF


@dataclass
class Catalog:
    """What pass one learned from all objects, for conversions that need more than their own text.

    Keys are lower-case "schema.name" as written in T-SQL (e.g. "sales.customers").
    """

    tables: dict[str, dict[str, Column]] = field(default_factory=dict)  # table/view → lower column name → Column
    alias_types: dict[str, str] = field(default_factory=dict)  # "dbo.name" → base T-SQL type, e.g. "nvarchar(50)"
    table_types: dict[str, dict[str, Column]] = field(default_factory=dict)  # user-defined table types
    routines: dict[str, Routine] = field(default_factory=dict)
    sequences: set[str] = field(default_factory=set)
    synonyms: dict[str, str] = field(default_factory=dict)  # "schema.name" → target "schema.name"


@dataclass
class Context:
    """What a converter may consult while converting one object."""

    catalog: Catalog
    obj: SourceObject | None = None
    # Inside a routine: T-SQL variable (lower-case, with @) → PostgreSQL name, and its T-SQL type.
    variables: dict[str, str] = field(default_factory=dict)
    variable_types: dict[str, str] = field(default_factory=dict)
    # Inside a trigger: how inserted/deleted are spelled in PostgreSQL (transition tables or NEW/OLD).
    pseudo_tables: dict[str, str] = field(default_factory=dict)
    items: list[ActionItem] = field(default_factory=list)  # action items collected while converting
    # PL/pgSQL support functions the object needs (expr_binary.py): name → CREATE OR REPLACE FUNCTION text
    support: dict[str, str] = field(default_factory=dict)

    def note(self, severity: Severity, message: str, construct: str = "", offset: int = 0) -> None:
        line = self.obj.line_of(offset) if self.obj else 0
        self.items.append(ActionItem(severity, line, message, construct))


@dataclass
class Converted:
    obj: SourceObject
    sql: str | None  # the PostgreSQL text (one or more statements); None when nothing could be produced
    items: list[ActionItem] = field(default_factory=list)
    depends_on: set[str] = field(default_factory=set)  # SourceObject.key values this object needs first
    status: Status = "converted-unverified"
    error: str | None = None  # PostgreSQL's error when verification failed
    generated: bool = False  # made by the optional assisted pass: "generated, review required"
