"""A category's model.Category, derived from the configuration and the target PostgreSQL catalog.

The target tables are the single definition of the columns: stage.<category> (created by
sql/<category>.postgres.sql) gives the data columns and their kinds, public.<category>'s primary key
gives the key. Names are matched exactly, as configured (PostgreSQL folds unquoted names to lower
case, so a category spelled with capitals needs quoted DDL; the error says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dbshift.datamove.config import InvalidConfig, MigrationConfig
from dbshift.datamove.model import Category, ColumnSpec

STAGE_SCHEMA = "stage"
FINAL_SCHEMA = "public"
SERVICE_COLUMNS = ("migrated_at",)  # set by the finish procedure, never validated against the source
KEY_PREFIX = ("server_name", "database_name")

# information_schema.columns.data_type -> model kind
_PG_KINDS = {
    "smallint": "int",
    "integer": "int",
    "bigint": "int",
    "real": "float",
    "double precision": "float",
    "numeric": "decimal",
    "text": "text",
    "character varying": "text",
    "character": "text",
    "timestamp without time zone": "timestamp",
    "date": "date",
    "boolean": "bool",
}


@dataclass(frozen=True)
class PgColumn:
    name: str
    data_type: str  # information_schema.columns.data_type
    numeric_scale: int | None = None


def pg_kind(col: PgColumn, table: str) -> ColumnSpec:
    """The model column of a PostgreSQL column, or ValueError naming the column and the fix."""
    kind = _PG_KINDS.get(col.data_type)
    if kind is None:
        if col.data_type == "timestamp with time zone":
            raise ValueError(
                f"{table}.{col.name}: timestamp with time zone renders per session time zone, so its hash "
                "would not match the source's; declare it timestamp (without time zone)"
            )
        raise ValueError(
            f"{table}.{col.name}: type {col.data_type!r} is not supported; use one of integer, bigint, smallint, "
            "real, double precision, numeric(p,s), text, varchar, char, timestamp, date, boolean"
        )
    if kind == "decimal":
        if col.numeric_scale is None:
            raise ValueError(f"{table}.{col.name}: numeric without a scale; declare numeric(p,s)")
        return ColumnSpec(col.name, "decimal", col.numeric_scale)
    return ColumnSpec(col.name, kind)  # type: ignore[arg-type]


def derive_category(
    config: MigrationConfig,
    name: str,
    stage_columns: Sequence[PgColumn] | None,
    final_columns: Sequence[PgColumn] | None,
    primary_key: Sequence[str],
    source_columns: Mapping[str, Sequence[str]],
    near_names: Sequence[str] = (),
) -> Category:
    """The Category from what the catalog holds (None = table missing) and the source tables' columns.

    source_columns: table -> columns it has everywhere (validate_against_sources returns it).
    near_names: stage table names equal to `name` but for case, for the hint.
    """
    tables = config.category_tables(name)
    key_ctx = f"server_mappings.categories.{name}"
    p: list[str] = []
    if stage_columns is None:
        hint = f" (the target has {', '.join(near_names)}: names are matched exactly)" if near_names else ""
        raise InvalidConfig(
            config.origin,
            [f"{key_ctx}: table {STAGE_SCHEMA}.{name} does not exist in the target{hint}; apply {name}.postgres.sql"],
        )
    data: list[ColumnSpec] = []
    for col in stage_columns:
        if col.name in SERVICE_COLUMNS:
            continue
        try:
            data.append(pg_kind(col, f"{STAGE_SCHEMA}.{name}"))
        except ValueError as e:
            p.append(f"{key_ctx}: {e}")
    names = [c.name for c in data]

    if final_columns is None:
        p.append(f"{key_ctx}: table {FINAL_SCHEMA}.{name} does not exist in the target; apply {name}.postgres.sql")
    else:
        final = {c.name: c for c in final_columns}
        for col in stage_columns:
            if col.name in SERVICE_COLUMNS:
                continue
            other = final.get(col.name)
            if other is None:
                p.append(f"{key_ctx}: {FINAL_SCHEMA}.{name} lacks stage column {col.name!r}; fix the DDL")
            elif (other.data_type, other.numeric_scale) != (col.data_type, col.numeric_scale):
                p.append(
                    f"{key_ctx}: {col.name!r} is {col.data_type} in {STAGE_SCHEMA}.{name} but {other.data_type} "
                    f"in {FINAL_SCHEMA}.{name}; give both the same type"
                )
        if not primary_key:
            p.append(f"{key_ctx}: {FINAL_SCHEMA}.{name} has no primary key; declare PRIMARY KEY (server_name, ...)")
        elif tuple(primary_key[:2]) != KEY_PREFIX:
            p.append(
                f"{key_ctx}: the primary key of {FINAL_SCHEMA}.{name} is ({', '.join(primary_key)}); it must begin "
                "with server_name, database_name (rows from many servers and databases meet in one table)"
            )
        for col in primary_key:
            if col not in names:
                p.append(f"{key_ctx}: key column {col!r} is not a column of {STAGE_SCHEMA}.{name}; fix the DDL")

    date_col = config.partition_col_date
    if date_col not in names:
        p.append(f"migration.partition_col_date: {date_col!r} is not a column of {STAGE_SCHEMA}.{name}; fix the DDL")
    elif next(c for c in data if c.name == date_col).kind not in ("timestamp", "date"):
        p.append(f"migration.partition_col_date: {STAGE_SCHEMA}.{name}.{date_col} must be a timestamp or date")

    split = _split_col(config, name, tables, data, primary_key, source_columns, p)
    if p:
        raise InvalidConfig(config.origin, p)
    return Category(
        name=name,
        source_tables=tables,
        data_columns=tuple(data),
        key=tuple(primary_key),
        split_col=split,
        date_col=date_col,
    )


def _split_col(
    config: MigrationConfig,
    name: str,
    tables: Sequence[str],
    data: Sequence[ColumnSpec],
    key: Sequence[str],
    source_columns: Mapping[str, Sequence[str]],
    p: list[str],
) -> str:
    missing = [t for t in tables if t not in source_columns]
    if missing:
        p.append(
            f"server_mappings.categories.{name}: no column list for source table(s) {', '.join(missing)}; "
            "pass validate_against_sources' result"
        )
        return ""
    in_all = [c for c in source_columns[tables[0]] if all(c in source_columns[t] for t in tables)]
    kinds = {c.name: c.kind for c in data}
    override = config.split_col_override(name)
    if override:
        if override not in in_all:
            p.append(f"runtime.split_col.{name}: {override!r} is not in every source table ({', '.join(tables)})")
        elif override in kinds and kinds[override] != "int":
            p.append(f"runtime.split_col.{name}: {override!r} is {kinds[override]}; the split column must be integer")
        return override
    for col in key:
        if col not in KEY_PREFIX and kinds.get(col) == "int" and col in in_all:
            return col
    p.append(
        f"runtime.split_col.{name}: no integer key column of {FINAL_SCHEMA}.{name} is in every source table; "
        "set runtime.split_col."
        f"{name} (env DBSHIFT_SPLIT_COL={name}=<column>) to an integer column every source table has"
    )
    return ""


def build_category(
    conn: Any, config: MigrationConfig, name: str, source_columns: Mapping[str, Sequence[str]]
) -> Category:
    """Read the target catalog (conn: psycopg.Connection, after <name>.postgres.sql ran) and derive."""
    config.category_tables(name)  # an unknown category fails here, naming the configured ones
    stage = _columns(conn, STAGE_SCHEMA, name)
    final = _columns(conn, FINAL_SCHEMA, name)
    near: list[str] = []
    if stage is None:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = %s AND lower(table_name) = lower(%s)",
            (STAGE_SCHEMA, name),
        ).fetchall()
        near = [r[0] for r in rows]
    pk = conn.execute(
        """
        SELECT a.attname
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
         WHERE i.indisprimary AND n.nspname = %s AND c.relname = %s
         ORDER BY k.ord
        """,
        (FINAL_SCHEMA, name),
    ).fetchall()
    return derive_category(config, name, stage, final, [r[0] for r in pk], source_columns, near)


def _columns(conn: Any, schema: str, table: str) -> list[PgColumn] | None:
    rows = conn.execute(
        """
        SELECT column_name, data_type, numeric_scale
          FROM information_schema.columns
         WHERE table_schema = %s AND table_name = %s
         ORDER BY ordinal_position
        """,
        (schema, table),
    ).fetchall()
    return [PgColumn(r[0], r[1], r[2]) for r in rows] if rows else None
