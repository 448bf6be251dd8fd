"""Glue load job: the transformed chunks of a category into stage.<category> in Aurora PostgreSQL.

It runs the local engine's load.import_chunks: each chunk COPYed in one transaction together with its
'import' checkpoint, several chunks at once on separate connections, chunks already imported skipped,
so a retried or concurrent job run never loads a chunk twice. No Spark is needed: the work is COPY
into PostgreSQL, bound by the database, so the driver does it (the job may be a Python shell job).

Arguments as the other jobs (see dbshift.datamove.glue): --MIGRATION_PARAMETER,
--SERVER_MAPPINGS_PARAMETER, --RAW_AREA, --TRANSFORMED_AREA, --SOURCE_SECRET, --TARGET_DSN_SECRET;
optional --CATEGORY, --AWS_ENDPOINT_URL and --FINISH (true: run the stage → final procedure once
every chunk is in).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from dbshift.aws.clients import AwsConfig
from dbshift.datamove import checkpoints, load
from dbshift.datamove.area import Area
from dbshift.datamove.model import Category, Chunk, StageRecord
from dbshift.errors import DbshiftError

log = logging.getLogger(__name__)


def run_load(
    dsn: str,
    category: Category,
    chunks: Sequence[Chunk],
    transformed_location: str,
    *,
    aws: AwsConfig | None = None,
    parallelism: int = 2,
    checkpoint_schema: str = checkpoints.SCHEMA,
) -> list[StageRecord]:
    """Import every chunk not yet imported; returns the records of the chunks this run loaded."""
    area = Area(transformed_location, aws)
    return load.import_chunks(dsn, category, chunks, area, parallelism=parallelism, checkpoint_schema=checkpoint_schema)


def main(argv: Sequence[str]) -> int:
    import psycopg

    from dbshift.datamove import finish
    from dbshift.datamove.glue import COMMON_ARGS, OPTIONAL_ARGS, prepare_category, start_job

    job = start_job(argv, COMMON_ARGS, (*OPTIONAL_ARGS, "FINISH"))
    args, aws, config, login, dsn = job.args, job.aws, job.config, job.login, job.dsn
    finish_after = str(args.get("FINISH") or "false").lower()
    if finish_after not in ("true", "false"):
        raise DbshiftError(f"--FINISH {args.get('FINISH')!r}: use true or false")
    for name in job.categories:
        with psycopg.connect(dsn) as conn:
            category, chunks = prepare_category(conn, config, name, login, "import")
            transformed = checkpoints.done_map(conn, category.name, "transform")
        missing = [c.chunk_id for c in chunks if c.chunk_id not in transformed]
        if missing:
            raise DbshiftError(
                f"category {name}: {len(missing)} chunk(s) not transformed yet (first: {missing[0]}); "
                "run the transform job first"
            )
        records = run_load(
            dsn, category, chunks, config.runtime.transformed_area, aws=aws, parallelism=config.runtime.parallelism
        )
        log.info("category %s: imported %d chunks, %d rows", name, len(records), sum(r.rows for r in records))
        if finish_after == "true":
            with psycopg.connect(dsn) as conn:
                result = finish.finish(conn, name)
            log.info("category %s: public.%s rebuilt from stage, %d rows", name, name, result.rows)
    return 0


if __name__ == "__main__":
    from dbshift.datamove.glue import run_main

    run_main(main)
