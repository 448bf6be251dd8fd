"""The one identifier rule for T-SQL → PostgreSQL names.

Rule (applied everywhere: tables, columns, constraints, indexes, routines, parameters' targets):
1. Strip T-SQL quoting: [Order Details] and "Order Details" become Order Details.
2. Fold to lower case — PostgreSQL's own folding — so users can keep typing names unquoted:
   [Sales].[SalesOrderHeader] → sales.salesorderheader.
3. Quote only when needed: a name that is not a plain lower-case identifier (spaces, other characters, a leading
   digit, longer than 63 bytes is truncated by PostgreSQL, so it is left as is) or that is a PostgreSQL keyword
   that cannot stand as a column/table name ("order", "user", "table", "position", ...).
4. Names that collide after folding inside one scope (two columns "Name" and "NAME" of a case-sensitive database)
   keep their case, quoted; the caller reports an action item (see fold_all()).
Schemas: dbo → public; every other schema follows the same rule (Sales → sales).
"""

from __future__ import annotations

import re

# PostgreSQL 15 keywords that are reserved, or cannot be a column/type/function name without quotes
# (reserved + type_func_name + col_name categories of the PostgreSQL keyword appendix).
_KEYWORDS_TEXT = """
    all analyse analyze and any array as asc asymmetric authorization between bigint binary bit boolean both
    case cast char character check coalesce collate collation column concurrently constraint create cross
    current_catalog current_date current_role current_schema current_time current_timestamp current_user dec
    decimal default deferrable desc distinct do else end except exists extract false fetch float for foreign
    freeze from full grant greatest group grouping having ilike in initially inner inout int integer intersect
    interval into is isnull join lateral leading least left like limit localtime localtimestamp national natural
    nchar none normalize not notnull null nullif numeric offset on only or order out outer overlaps overlay
    placing position precision primary real references returning right row select session_user setof similar
    smallint some substring symmetric system_user table tablesample then time timestamp to trailing treat trim
    true union unique user using values varchar variadic verbose when where window with xmlattributes xmlconcat
    xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable
"""
PG_KEYWORDS = frozenset(_KEYWORDS_TEXT.split())

_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")


def unquote(name: str) -> str:
    """[x]/"x" → x (with ]] / "" unescaped); other text unchanged apart from surrounding blanks."""
    name = name.strip()
    if len(name) >= 2 and name[0] == "[" and name[-1] == "]":
        return name[1:-1].replace("]]", "]")
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        return name[1:-1].replace('""', '"')
    return name


def quote_if_needed(text: str) -> str:
    """PostgreSQL identifier text for an already-decided name (case kept as given)."""
    if _PLAIN.match(text) and text not in PG_KEYWORDS:
        return text
    return '"' + text.replace('"', '""') + '"'


def fold(name: str) -> str:
    """The PostgreSQL name (unquoted text) of a T-SQL name."""
    return unquote(name).lower()


def ident(name: str) -> str:
    """A T-SQL identifier (bracketed, quoted or bare) → PostgreSQL identifier text, quoted only when needed."""
    return quote_if_needed(fold(name))


def schema(name: str) -> str:
    """T-SQL schema → PostgreSQL schema identifier: dbo (or no schema) → public, others folded by the rule."""
    folded = fold(name) if name else "dbo"
    return "public" if folded in ("dbo", "") else quote_if_needed(folded)


def qualified(schema_name: str, name: str) -> str:
    """schema.name in PostgreSQL text, e.g. ("dbo", "Order Details") → public."order details"."""
    return f"{schema(schema_name)}.{ident(name)}"


def fold_all(names: list[str]) -> tuple[dict[str, str], list[str]]:
    """Names of one scope (e.g. a table's columns) → (T-SQL name → PostgreSQL text, names that collided).

    Colliding names keep their original case, quoted, so both survive; the caller notes them.
    """
    seen: dict[str, int] = {}
    for name in names:
        key = fold(name)
        seen[key] = seen.get(key, 0) + 1
    out: dict[str, str] = {}
    collided: list[str] = []
    for name in names:
        raw = unquote(name)
        if seen[raw.lower()] > 1:
            out[name] = '"' + raw.replace('"', '""') + '"'
            collided.append(raw)
        else:
            out[name] = ident(raw)
    return out, collided


def split_qualified(text: str) -> list[str]:
    """'[db].[Sales].[T]' / 'Sales.T' / '"a.b".c' → ['db', 'Sales', 'T'] with quoting removed."""
    parts: list[str] = []
    i, n = 0, len(text)
    cur = ""
    while i < n:
        ch = text[i]
        if ch == "[":
            j = i + 1
            while j < n:
                if text[j] == "]" and text[j + 1 : j + 2] == "]":
                    j += 2
                    continue
                if text[j] == "]":
                    break
                j += 1
            cur += text[i + 1 : j].replace("]]", "]")
            i = j + 1
        elif ch == '"':
            j = text.find('"', i + 1)
            j = n if j < 0 else j
            cur += text[i + 1 : j]
            i = j + 1
        elif ch == ".":
            parts.append(cur.strip())
            cur = ""
            i += 1
        else:
            cur += ch
            i += 1
    parts.append(cur.strip())
    return parts


def split_schema_name(text: str, default_schema: str = "dbo") -> tuple[str, str]:
    """'[Sales].[T]' → ('Sales', 'T'); 'T' → (default_schema, 'T'); db.schema.name keeps schema and name."""
    parts = split_qualified(text)
    if len(parts) == 1:
        return default_schema, parts[0]
    return (parts[-2] or default_schema), parts[-1]


def index_name(table: str, index: str) -> str:
    """PostgreSQL index identifier for a T-SQL index (or PK/UNIQUE constraint) name.

    T-SQL index names are unique per table, PostgreSQL's per schema (shared with tables and views): Northwind has
    an index "PostalCode" on two tables and one called "Region" beside the table Region. So an index name that does
    not already contain its table's name is prefixed with it: Customers.PostalCode → customers_postalcode;
    IX_Address_City on Address stays ix_address_city.
    """
    folded_table, folded_index = fold(table), fold(index)
    if folded_table.replace(" ", "") in folded_index.replace(" ", "").replace("_", ""):
        return quote_if_needed(folded_index)
    if folded_table in folded_index:
        return quote_if_needed(folded_index)
    return quote_if_needed(f"{folded_table}_{folded_index}"[:63])
