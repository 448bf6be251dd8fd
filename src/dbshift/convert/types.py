"""T-SQL data types → PostgreSQL 15 types, including user-defined alias types (→ domains).

Choices (why):
- bit → boolean: the natural PostgreSQL type; literals/comparisons 0/1 are rewritten to false/true by expr.py.
- tinyint → smallint (no unsigned byte type in PostgreSQL; the 0..255 range is lost, noted by ddl.py).
- money/smallmoney → numeric(19,4)/numeric(10,4): PostgreSQL's money depends on lc_monetary.
- datetime → timestamp(3), smalldatetime → timestamp(0), datetime2(n) → timestamp(n) (PostgreSQL keeps at most
  6 digits, 7 is capped), datetimeoffset(n) → timestamptz(n) (the offset itself is not kept, noted by ddl.py).
- uniqueidentifier → uuid; nvarchar(max)/varchar(max)/text/ntext → text; varbinary(max)/binary/image → bytea.
- rowversion/timestamp → bytea (no automatic row version in PostgreSQL; noted), hierarchyid → varchar(4000)
  (its methods do not exist; noted), sql_variant → text, geography/geometry → text unless PostGIS is used (noted).
- sysname → varchar(128).
- An alias type dbo.Name (CREATE TYPE dbo.Name FROM nvarchar(50)) → the domain public.name, always qualified
  (a bare `name` would resolve to pg_catalog.name first).
"""

from __future__ import annotations

import re

from dbshift.convert import names
from dbshift.convert.model import Catalog

# Types whose mapping loses something: the note ddl.py attaches (construct, message).
LOSSY: dict[str, tuple[str, str]] = {
    "tinyint": ("type-tinyint", "tinyint → smallint: add CHECK (col BETWEEN 0 AND 255) if the range matters"),
    "rowversion": (
        "type-rowversion",
        "rowversion → bytea: PostgreSQL has no automatic row version; use xmin or a trigger",
    ),
    "timestamp": ("type-rowversion", "timestamp (rowversion) → bytea: no automatic row version; use xmin or a trigger"),
    "hierarchyid": (
        "type-hierarchyid",
        "hierarchyid → varchar: its methods (GetAncestor, ...) need ltree or rewriting",
    ),
    "datetimeoffset": ("type-datetimeoffset", "datetimeoffset → timestamptz: the original offset is not stored"),
    "sql_variant": ("type-sql-variant", "sql_variant → text: the base type of each value is lost"),
    "geography": ("type-spatial", "geography → text: install PostGIS and use geography for spatial functions"),
    "geometry": ("type-spatial", "geometry → text: install PostGIS and use geometry for spatial functions"),
}

_SIMPLE = {
    "bigint": "bigint",
    "int": "integer",
    "integer": "integer",
    "smallint": "smallint",
    "tinyint": "smallint",
    "bit": "boolean",
    "money": "numeric(19,4)",
    "smallmoney": "numeric(10,4)",
    "real": "real",
    "date": "date",
    "datetime": "timestamp(3)",
    "smalldatetime": "timestamp(0)",
    "uniqueidentifier": "uuid",
    "text": "text",
    "ntext": "text",
    "image": "bytea",
    "xml": "xml",
    "rowversion": "bytea",
    "timestamp": "bytea",
    "hierarchyid": "varchar(4000)",
    "sysname": "varchar(128)",
    "sql_variant": "text",
    "geography": "text",
    "geometry": "text",
    "cursor": "refcursor",
}

_TYPE_RE = re.compile(r"^\s*(?P<name>.+?)\s*(?:\(\s*(?P<args>[^)]*)\))?\s*$", re.S)


def parse(tsql_type: str) -> tuple[str, str, list[str]]:
    """'[Sales].[Flag]' → ('Sales', 'Flag', []); 'nvarchar(50)' → ('', 'nvarchar', ['50']); schema '' = built-in."""
    tsql_type = re.sub(r"\s+(NOT\s+)?NULL\s*$", "", tsql_type.strip(), flags=re.I)  # alias nullability
    m = _TYPE_RE.match(tsql_type)
    if not m:
        raise ValueError(f"cannot read T-SQL type {tsql_type!r}: expected name or name(args)")
    parts = names.split_qualified(m.group("name"))
    args = [a.strip() for a in (m.group("args") or "").split(",") if a.strip()]
    base = re.sub(r"\s+", " ", parts[-1]).strip()
    return (parts[-2] if len(parts) > 1 else ""), base, args


def base_name(tsql_type: str, catalog: Catalog | None = None) -> str:
    """The built-in T-SQL type name behind tsql_type, alias types resolved: 'dbo.Flag' → 'bit'."""
    schema, name, _ = parse(tsql_type)
    alias = _alias(schema, name, catalog)
    if alias is not None:
        return base_name(alias, None)
    return name.lower()


def _alias(schema: str, name: str, catalog: Catalog | None) -> str | None:
    if catalog is None:
        return None
    key = f"{(schema or 'dbo')}.{name}".lower()
    return catalog.alias_types.get(key)


def pg_type(tsql_type: str, catalog: Catalog) -> str:
    """T-SQL type text → PostgreSQL type text; alias types → their domain (qualified); unknown names pass through."""
    schema, name, args = parse(tsql_type)
    low = name.lower()
    if _alias(schema, name, catalog) is not None:
        return names.qualified(schema or "dbo", name)
    key = f"{(schema or 'dbo')}.{name}".lower()
    if key in catalog.table_types:
        return names.qualified(schema or "dbo", name)
    if schema and schema.lower() not in ("sys",):
        return names.qualified(schema, name)
    if low in _SIMPLE and low not in ("datetime2", "time", "datetimeoffset"):
        return _SIMPLE[low]
    maxed = bool(args) and args[0].lower() == "max"
    if low in ("varchar", "nvarchar", "char varying", "national char varying", "character varying"):
        return "text" if maxed or not args else f"varchar({args[0]})"
    if low in ("char", "nchar", "character", "national char", "national character"):
        return f"char({args[0]})" if args else "char(1)"
    if low in ("varbinary", "binary", "binary varying"):
        return "bytea"
    if low in ("decimal", "numeric", "dec"):
        return f"numeric({','.join(args)})" if args else "numeric(18,0)"
    if low == "float":
        if args and args[0].isdigit() and int(args[0]) <= 24:
            return "real"
        return "double precision"
    if low == "double precision":
        return "double precision"
    if low in ("datetime2", "time", "datetimeoffset"):
        precision = min(int(args[0]), 6) if args and args[0].isdigit() else 6
        pg = {"datetime2": "timestamp", "time": "time", "datetimeoffset": "timestamptz"}[low]
        return f"{pg}({precision})"
    return low if not args else f"{low}({','.join(args)})"


def is_string(tsql_type: str, catalog: Catalog | None = None) -> bool:
    return base_name(tsql_type, catalog) in {
        "varchar",
        "nvarchar",
        "char",
        "nchar",
        "text",
        "ntext",
        "sysname",
    }


def is_bit(tsql_type: str, catalog: Catalog | None = None) -> bool:
    return base_name(tsql_type, catalog) == "bit"
