"""What every engine does before a stage moves data: read the sources' columns, derive the category from
the target, honour job_mode=fresh, and load the frozen chunk plan or make and save it.

The local engine (runner.Migration) and the Glue jobs both call prepare_category, so a plan made by one
is the plan the other resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dbshift.datamove import categories, checkpoints, export, load, plan
from dbshift.datamove.config import Describe, MigrationConfig
from dbshift.datamove.model import Category, Chunk

STAGES = ("export", "transform", "import", "finish", "validate")

# (server, database) -> an open connection to that source database (cached by the caller).
Source = Callable[[str, str], Any]


def describe_sources(source: Source) -> Describe:
    """The describe callback of config.validate_against_sources, over TDS connections from `source`."""

    def describe(server: str, database: str, table: str) -> list[str] | None:
        try:
            return [c for c, _t in source(server, database).columns(f"SELECT TOP 0 * FROM {export.table_ref(table)}")]
        except Exception as e:
            if getattr(e, "number", None) == 208:  # Invalid object name: the validation names the table
                return None
            raise

    return describe


def split_bounds(config: MigrationConfig, category: Category, source: Source) -> plan.Bounds:
    """(min, max) of the split column over every source table of the category, per server and database."""

    def bounds(server: str, database: str) -> tuple[int, int] | None:
        conn = source(server, database)
        found = []
        for t in category.source_tables:
            b = export.split_bounds(conn, t, category.split_col, category.date_col, config.first_day, config.last_day)
            if b is not None:
                found.append(b)
        return (min(b[0] for b in found), max(b[1] for b in found)) if found else None

    return bounds


def reset_fresh(conn: Any, name: str, first_stage: str) -> None:
    """job_mode=fresh: forget the checkpoints of `first_stage` and every later stage (export: the plan too),
    and empty the stage table when the import is among them. Does not commit."""
    first = STAGES.index(first_stage)
    if first == 0:
        checkpoints.reset(conn, name)  # the plan too: it is rebuilt from the sources
    else:
        checkpoints.reset(conn, name, [s for s in ("transform", "import") if STAGES.index(s) >= first])
    if first <= STAGES.index("import"):
        load.truncate_stage(conn, name)


def prepare_category(
    conn: Any,
    config: MigrationConfig,
    name: str,
    source_columns: dict[str, tuple[str, ...]],
    source: Source,
    first_stage: str,
) -> tuple[Category, list[Chunk]]:
    """(Category, chunks): target DDL applied, category derived, fresh honoured, plan loaded or made. Commits.

    source_columns: what config.validate_against_sources returned (the check before any data moves)."""
    checkpoints.ensure_schema(conn)
    load.apply_target_ddl(conn, config.runtime.transforms_dir, name)
    category = categories.build_category(conn, config, name, source_columns)
    if config.job_mode == "fresh":
        reset_fresh(conn, name, first_stage)
    chunks = checkpoints.load_plan(conn, name)
    if chunks is None:
        chunks = plan.make_plan(config, category, split_bounds(config, category, source))
        checkpoints.save_plan(conn, name, chunks)
    conn.commit()
    return category, chunks
