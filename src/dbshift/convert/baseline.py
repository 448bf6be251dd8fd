"""Plain sqlglot on the same SourceObjects, verified the same way: the yardstick our converter is measured against.

Each object's T-SQL goes through sqlglot.transpile(read="tsql", write="postgres") as it is (statement by
statement, joined with ";"); a parse error makes it needs-work. Then order.py and verify.py treat it exactly as
our own output. Also the corpus's layout (which file is which database) and the rate arithmetic shared by the
corpus test and the bench.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dbshift.convert.model import SCHEMA_OBJECT_TYPES, SCRIPT, ActionItem, Converted, SourceObject

# Microsoft's sample databases in ../shared/corpus: (path under sql-server-samples, database name)
CORPUS = (
    ("instawdb.sql", "AdventureWorks"),
    ("instnwnd.sql", "Northwind"),
    ("instpubs.sql", "pubs"),
    ("wwi-ssdt", "WideWorldImporters"),
)
DEFAULT_CORPUS = Path("/work/shared/corpus/sql-server-samples")


def read_corpus(root: Path = DEFAULT_CORPUS) -> list[SourceObject]:
    from dbshift.convert.source import read_source

    objects: list[SourceObject] = []
    for rel, database in CORPUS:
        found = read_source(root / rel, database)
        for obj in found:
            obj.database = database  # instawdb.sql says USE AdventureWorks; the others say nothing or pubs
        objects.extend(found)
    return objects


def sqlglot_convert(obj: SourceObject) -> Converted:
    """One object through plain sqlglot."""
    import sqlglot

    if obj.type == SCRIPT:
        return Converted(obj, None, [ActionItem("info", obj.line, "script statement", "script")], status="skipped")
    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)  # it warns about every unsupported construct
    try:
        statements = sqlglot.transpile(obj.text, read="tsql", write="postgres")
    except Exception as err:  # sqlglot raises ParseError, TokenError and, on odd input, others
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        item = ActionItem("error", obj.line, f"sqlglot: {first}", "parse-error")
        return Converted(obj, None, [item], status="needs-work", error=first)
    text = ";\n".join(s for s in statements if s.strip())
    if not text:
        return Converted(obj, None, [ActionItem("error", obj.line, "sqlglot produced nothing", "empty")], "needs-work")
    return Converted(obj, text + ";")


def sqlglot_convert_all(objects: list[SourceObject]) -> list[Converted]:
    return [sqlglot_convert(o) for o in objects]


def sqlglot_prelude(objects: list[SourceObject]) -> str:
    """SQL giving plain sqlglot's output the schemas it names ("dbo" and every source schema, case kept).

    sqlglot keeps T-SQL's schema names quoted and cannot convert CREATE SCHEMA ... AUTHORIZATION itself; without
    this every object would fail on a missing schema and the yardstick would measure nothing else."""
    from psycopg import sql as pgsql

    names = sorted({"dbo"} | {o.schema for o in objects if o.type != SCRIPT and o.schema})
    return "".join(f"CREATE SCHEMA IF NOT EXISTS {pgsql.Identifier(n).as_string(None)};" for n in names)


def rates(items: list[Converted]) -> dict[str, dict[str, tuple[int, int]]]:
    """{"database": {name: (verified, schema objects)}, "type": {...}, "total": {"all": (...)}} over schema objects."""
    out: dict[str, dict[str, tuple[int, int]]] = {"database": {}, "type": {}, "total": {}}
    for c in items:
        if c.obj.type not in SCHEMA_OBJECT_TYPES:
            continue
        ok = 1 if c.status == "verified" else 0
        for group, key in (("database", c.obj.database), ("type", c.obj.type), ("total", "all")):
            v, n = out[group].get(key, (0, 0))
            out[group][key] = (v + ok, n + 1)
    return out


def format_comparison(ours: list[Converted], theirs: list[Converted]) -> str:
    """The per-database and per-type table: our verified rate beside plain sqlglot's on the same objects."""
    a, b = rates(ours), rates(theirs)
    lines = [f"{'':28} {'dbshift':>18} {'plain sqlglot':>18}"]
    for group, title in (("database", "database"), ("type", "object type"), ("total", "total")):
        lines.append(f"-- {title}")
        for key in sorted(set(a[group]) | set(b[group])):
            lines.append(f"{key:28} {_cell(a[group].get(key)):>18} {_cell(b[group].get(key)):>18}")
    return "\n".join(lines)


def _cell(pair: tuple[int, int] | None) -> str:
    if not pair:
        return "-"
    v, n = pair
    return f"{v}/{n} {100 * v / n:5.1f}%" if n else "0/0"
