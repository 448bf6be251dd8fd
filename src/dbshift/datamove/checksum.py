"""Order-independent content hashes of rows, computed inside each engine that holds them.

Row hash: the first 15 hex digits (60 bits) of md5 over the row's canonical text. A set of rows is
summarised by (count, sum of row hashes): order does not matter, one changed row changes the sum.
The same canonical text is built by DuckDB (export, transform, and the Glue jobs' Parquet files) and
PostgreSQL (the target), so hashes computed where the rows live can be compared without moving rows.
There is no Spark SQL form on purpose: Java's %e rounds from the double's shortest decimal, not its
exact value, and disagrees with C on ties (0.7647603421099475 -> ...48e-01 vs ...47e-01).

Canonical text: fields joined by chr(31), NULL as chr(30); int as decimal; float as C's %.14e
(15 significant digits; SQL Server FLOAT has no NaN/Infinity); timestamp
"YYYY-MM-DD HH:MM:SS.ffffff"; date "YYYY-MM-DD"; decimal at its scale; bool "1"/"0".
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from dbshift.datamove.model import ColumnSpec, sql_ident

Dialect = Literal["duckdb", "postgres"]
DIALECTS: tuple[str, ...] = ("duckdb", "postgres")
SEP, NULL = "\x1f", "\x1e"


def _field_sql(col: ColumnSpec, dialect: Dialect, alias: str | None) -> str:
    x = (f"{alias}." if alias else "") + sql_ident(col.name)
    text = "VARCHAR" if dialect == "duckdb" else "text"
    k = col.kind
    if k in ("int", "text"):
        e = f"CAST({x} AS {text})"
    elif k == "float":
        # 15 significant digits in C's %.14e, the one float text all three engines print alike
        # (DuckDB's double -> decimal cast is not exact); + 0.0 folds -0 into 0.
        e = {
            "postgres": f"btrim(to_char({x} + 0.0::float8, '9.99999999999999EEEE'))",
            "duckdb": f"printf('%.14e', {x} + 0.0)",
        }[dialect]
    elif k == "decimal":
        if dialect == "postgres":
            e = f"round({x}, {col.scale})::text"
        else:
            e = f"CAST(CAST({x} AS DECIMAL(38, {col.scale})) AS {text})"
    elif k == "timestamp":
        e = {
            "postgres": f"to_char({x}, 'YYYY-MM-DD HH24:MI:SS.US')",
            "duckdb": f"strftime({x}, '%Y-%m-%d %H:%M:%S.%f')",
        }[dialect]
    elif k == "date":
        e = {
            "postgres": f"to_char({x}, 'YYYY-MM-DD')",
            "duckdb": f"strftime({x}, '%Y-%m-%d')",
        }[dialect]
    else:  # bool
        e = f"CASE WHEN {x} THEN '1' WHEN NOT {x} THEN '0' END"
    return f"coalesce({e}, chr(30))"


def canonical_sql(columns: Sequence[ColumnSpec], dialect: Dialect, alias: str | None = None) -> str:
    if dialect not in DIALECTS:
        raise ValueError(f"dialect {dialect!r} is not one of {', '.join(DIALECTS)}")
    if not columns:
        raise ValueError("a row hash needs at least one column")
    return f"concat_ws(chr(31), {', '.join(_field_sql(c, dialect, alias) for c in columns)})"


def row_hash_sql(columns: Sequence[ColumnSpec], dialect: Dialect, alias: str | None = None) -> str:
    """SQL expression: the row's 60-bit hash as a BIGINT."""
    digest = f"substr(md5({canonical_sql(columns, dialect, alias)}), 1, 15)"
    if dialect == "postgres":
        return f"('x' || {digest})::bit(60)::bigint"
    return f"CAST('0x' || {digest} AS BIGINT)"


def chunk_hash_sql(
    columns: Sequence[ColumnSpec], dialect: Dialect, source: str, where: str | None = None, alias: str | None = None
) -> str:
    """SQL selecting (rows, hash) over `source` (a table name or parenthesised query), hash as DECIMAL(38,0)."""
    h = row_hash_sql(columns, dialect, alias)
    # Summed as DECIMAL: 60-bit hashes overflow a 64-bit integer sum after 16 rows.
    sql = f"SELECT count(*) AS n, coalesce(sum(CAST({h} AS DECIMAL(38, 0))), 0) AS h FROM {source}"
    if alias:
        sql += f" {alias}"
    return sql + (f" WHERE {where}" if where else "")


# --- The same canonical form in Python: an independent implementation the tests hold the SQL to ----------


def _field_py(v: Any, col: ColumnSpec) -> str:
    if v is None:
        return NULL
    k = col.kind
    if k == "int":
        return str(int(v))
    if k == "text":
        return str(v)
    if k == "float":
        return f"{float(v) + 0.0:.14e}"
    if k == "decimal":
        # + 0 folds -0.00 into 0.00 as the databases do
        return str(Decimal(v).quantize(Decimal(1).scaleb(-col.scale), rounding=ROUND_HALF_UP) + 0)
    if k == "timestamp":
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if k == "date":
        return (v.date() if isinstance(v, dt.datetime) else v).isoformat()
    return "1" if v else "0"


def row_hash_py(values: Sequence[Any], columns: Sequence[ColumnSpec]) -> int:
    text = SEP.join(_field_py(v, c) for v, c in zip(values, columns, strict=True))
    return int(hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:15], 16)


def chunk_hash_py(rows: Iterable[Sequence[Any]], columns: Sequence[ColumnSpec]) -> tuple[int, str]:
    n = total = 0
    for r in rows:
        n += 1
        total += row_hash_py(r, columns)
    return n, str(total)


def normalize(h: Any) -> str:
    """A hash from any engine (Decimal, int, str, HUGEINT) as the canonical decimal string."""
    return str(int(Decimal(str(h))))
