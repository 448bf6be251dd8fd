"""Finish: stage.<category> → public.<category> by the category's procedure, once every chunk is imported.

The procedure (stage.stage_ctas_null_upd_<category>, shipped in sql/<category>.postgres.sql) rebuilds
the final table from the whole stage table, so running it before the last chunk is in would publish
a partial table: finish refuses, naming the chunks still missing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

from dbshift.datamove import checkpoints
from dbshift.datamove.model import Category
from dbshift.errors import DbshiftError

log = logging.getLogger(__name__)

STAGE_SCHEMA = "stage"
FINAL_SCHEMA = "public"
PROCEDURE_PREFIX = "stage_ctas_null_upd_"
_SHOWN = 10  # missing chunks named in the error


@dataclass(frozen=True)
class FinishResult:
    category: str
    rows: int  # rows of the final table after the swap
    seconds: float


def finish(
    conn: psycopg.Connection,
    category: Category | str,
    *,
    checkpoint_schema: str = checkpoints.SCHEMA,
    stage_schema: str = STAGE_SCHEMA,
    final_schema: str = FINAL_SCHEMA,
) -> FinishResult:
    """CALL stage.stage_ctas_null_upd_<category>() in one transaction, and COMMIT.

    Refuses unless every planned chunk has its 'import' checkpoint, and rolls back when the final
    table's row count differs from the rows the import checkpoints account for (the stage table holds
    rows no checkpoint knows of: a stage not truncated for a fresh run).
    """
    name = category if isinstance(category, str) else category.name
    plan = checkpoints.load_plan(conn, name, schema=checkpoint_schema)
    if plan is None:
        raise DbshiftError(f"category {name}: no saved plan in the checkpoints; run the import stage first")
    done = checkpoints.done_map(conn, name, "import", schema=checkpoint_schema)
    missing = [c.chunk_id for c in plan if c.chunk_id not in done]
    if missing:
        more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        raise DbshiftError(
            f"category {name}: finish needs every chunk imported; {len(missing)} of {len(plan)} are not: "
            f"{', '.join(missing[:_SHOWN])}{more}. Run the import stage (job_mode=resume) first"
        )
    expected_rows = sum(done[c.chunk_id].rows for c in plan)
    proc = sql.SQL("CALL {}.{}()").format(sql.Identifier(stage_schema), sql.Identifier(PROCEDURE_PREFIX + name))
    final = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(final_schema), sql.Identifier(name))
    start = time.monotonic()
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.commit()  # the reads above: the rebuild below is a transaction of its own
    try:
        with conn.transaction():
            conn.execute(proc)
            rows = int(conn.execute(final).fetchone()[0])
            if rows != expected_rows:
                raise DbshiftError(
                    f"category {name}: the rebuilt {final_schema}.{name} has {rows} rows but the import checkpoints "
                    f"account for {expected_rows}; {stage_schema}.{name} holds rows no checkpoint knows of. Rolled "
                    "back; run with job_mode=fresh to truncate the stage table and import again"
                )
    except psycopg.errors.UndefinedFunction:
        raise DbshiftError(
            f"category {name}: procedure {stage_schema}.{PROCEDURE_PREFIX}{name}() does not exist; "
            f"apply {name}.postgres.sql (load.apply_target_ddl) first"
        ) from None
    except psycopg.errors.UniqueViolation as e:
        raise DbshiftError(
            f"category {name}: {stage_schema}.{name} holds duplicate keys ({e.diag.message_detail}); nothing was "
            "published. The transform produced two rows for one key, or the stage table was loaded twice: "
            "run with job_mode=fresh"
        ) from None
    if not conn.autocommit:
        conn.commit()
    result = FinishResult(name, rows, time.monotonic() - start)
    log.info(
        "category %s: %s.%s rebuilt from the stage table, %d rows in %.1fs",
        name,
        final_schema,
        name,
        rows,
        result.seconds,
    )
    return result
