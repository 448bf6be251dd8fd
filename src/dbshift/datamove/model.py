"""Plain data of the data migration: columns, categories, chunks, and where their files live.

A chunk is the unit of every stage: one server, database, day and key range. Every source table of
a category is read with the same chunk bounds, so a chunk's rows join within the chunk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

Kind = Literal["int", "float", "text", "timestamp", "date", "decimal", "bool"]
KINDS: tuple[str, ...] = ("int", "float", "text", "timestamp", "date", "decimal", "bool")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: Kind
    scale: int = 0  # decimal only

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")


@dataclass(frozen=True)
class Category:
    """A target table fed by one or more source tables through one transform SQL file."""

    name: str
    source_tables: tuple[str, ...]
    data_columns: tuple[ColumnSpec, ...]  # target columns that carry data (validated), in table order
    key: tuple[str, ...]  # target primary key; begins with server_name, database_name
    split_col: str  # integer source column whose ranges split a day into parts (present in every source table)
    date_col: str  # the partition_col_date, present in every source table and in the target

    def column(self, name: str) -> ColumnSpec:
        for c in self.data_columns:
            if c.name == name:
                return c
        raise KeyError(f"category {self.name}: no column {name!r}")


@dataclass(frozen=True)
class Chunk:
    category: str
    server: str
    database: str
    day: dt.date
    part: int
    split_lo: int | None = None  # inclusive; None = unbounded
    split_hi: int | None = None  # exclusive; None = unbounded

    @property
    def chunk_id(self) -> str:
        return f"{self.server}/{self.database}/{self.day.isoformat()}/p{self.part}"

    def rel_dir(self) -> str:
        """Relative directory of the chunk's raw files (under the raw area)."""
        return f"{self.category}/{self.server}/{self.database}/{self.day.isoformat()}/p{self.part}"

    def transformed_rel(self) -> str:
        """Relative path of the chunk's transformed Parquet file (under the transformed area)."""
        return f"{self.category}/{self.server}/{self.database}/{self.day.isoformat()}/p{self.part}.parquet"

    def source_predicate(self, date_col: str, split_col: str) -> str:
        """T-SQL predicate selecting the chunk's rows in a source table (no server/database: the connection)."""
        lo = dt.datetime.combine(self.day, dt.time())
        hi = lo + dt.timedelta(days=1)
        parts = [f"[{date_col}] >= {tsql_literal(lo)}", f"[{date_col}] < {tsql_literal(hi)}"]
        parts += self._split_parts(f"[{split_col}]")
        return " AND ".join(parts)

    def target_predicate(self, date_col: str, split_col: str) -> str:
        """PostgreSQL/DuckDB predicate selecting the chunk's rows in the target (or transformed) table."""
        lo = dt.datetime.combine(self.day, dt.time())
        hi = lo + dt.timedelta(days=1)
        parts = [
            f"server_name = {sql_literal(self.server)}",
            f"database_name = {sql_literal(self.database)}",
            f"{date_col} >= TIMESTAMP '{lo.isoformat(sep=' ')}'",
            f"{date_col} < TIMESTAMP '{hi.isoformat(sep=' ')}'",
        ]
        parts += self._split_parts(split_col)
        return " AND ".join(parts)

    def _split_parts(self, col: str) -> list[str]:
        parts = []
        if self.split_lo is not None:
            parts.append(f"{col} >= {int(self.split_lo)}")
        if self.split_hi is not None:
            parts.append(f"{col} < {int(self.split_hi)}")
        return parts


@dataclass
class StageRecord:
    chunk_id: str
    stage: str
    rows: int
    hash: str  # decimal string of the sum of row hashes
    bytes: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


def tsql_literal(v: Any) -> str:
    """A T-SQL literal for v (for SQL text sent without parameters)."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int | Decimal):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dt.datetime):
        return f"'{v.isoformat(sep='T', timespec='microseconds')[:26]}'"
    if isinstance(v, dt.date):
        return f"'{v.isoformat()}'"
    return "N'" + str(v).replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """A standard-SQL (PostgreSQL, DuckDB) quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(v: Any) -> str:
    """A standard-SQL (PostgreSQL, DuckDB, Spark) literal for v."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int | Decimal | float):
        return repr(v) if isinstance(v, float) else str(v)
    if isinstance(v, dt.datetime):
        return f"TIMESTAMP '{v.isoformat(sep=' ')}'"
    if isinstance(v, dt.date):
        return f"DATE '{v.isoformat()}'"
    return "'" + str(v).replace("'", "''") + "'"


# --- The sample of the reference procedure: two source tables joined into cell_perf_stats -------------

SOURCE_TABLES: dict[str, tuple[ColumnSpec, ...]] = {
    "cell_performance_data": (
        ColumnSpec("cell_id", "int"),
        ColumnSpec("measured_at", "timestamp"),
        ColumnSpec("site_code", "text"),
        ColumnSpec("throughput_mbps", "float"),
        ColumnSpec("latency_ms", "float"),
        ColumnSpec("dropped_calls", "int"),
    ),
    "ue_statistics_data": (
        ColumnSpec("cell_id", "int"),
        ColumnSpec("measured_at", "timestamp"),
        ColumnSpec("active_ues", "int"),
        ColumnSpec("avg_cqi", "float"),
        ColumnSpec("handover_failures", "int"),
    ),
}
SOURCE_KEY = ("cell_id", "measured_at")
# T-SQL DDL of the sample source tables (the emulated sources and a real test server alike).
SOURCE_DDL: dict[str, str] = {
    "cell_performance_data": (
        "CREATE TABLE dbo.cell_performance_data (cell_id INT NOT NULL, measured_at DATETIME2(0) NOT NULL, "
        "site_code VARCHAR(16) NULL, throughput_mbps FLOAT NULL, latency_ms FLOAT NULL, dropped_calls INT NULL, "
        "PRIMARY KEY (cell_id, measured_at))"
    ),
    "ue_statistics_data": (
        "CREATE TABLE dbo.ue_statistics_data (cell_id INT NOT NULL, measured_at DATETIME2(0) NOT NULL, "
        "active_ues INT NULL, avg_cqi FLOAT NULL, handover_failures INT NULL, PRIMARY KEY (cell_id, measured_at))"
    ),
}

CELL_PERF_STATS = Category(
    name="cell_perf_stats",
    source_tables=("cell_performance_data", "ue_statistics_data"),
    data_columns=(
        ColumnSpec("server_name", "text"),
        ColumnSpec("database_name", "text"),
        ColumnSpec("cell_id", "int"),
        ColumnSpec("measured_at", "timestamp"),
        ColumnSpec("site_code", "text"),
        ColumnSpec("throughput_mbps", "float"),
        ColumnSpec("latency_ms", "float"),
        ColumnSpec("dropped_calls", "int"),
        ColumnSpec("active_ues", "int"),
        ColumnSpec("avg_cqi", "float"),
        ColumnSpec("handover_failures", "int"),
    ),
    key=("server_name", "database_name", "cell_id", "measured_at"),
    split_col="cell_id",
    date_col="measured_at",
)
