"""Helpers for the data-migration end-to-end tests: the estate's migration config, the expected rows
computed from the sources themselves, and the target's hash."""

from __future__ import annotations

from pathlib import Path

import psycopg

from dbshift.datamove import checksum
from dbshift.datamove.model import CELL_PERF_STATS
from dbshift.estate.migration import DATABASES, write_estate_migration_config
from dbshift.tsql.tds import connect_tds

DAYS = ("2026-11-01", "2026-11-02")


def write_config(estate, tmp: Path, job_mode: str = "fresh", **runtime) -> Path:
    return write_estate_migration_config(
        tmp / "migration.yml",
        estate,
        first_day=DAYS[0],
        last_day=DAYS[1],
        job_mode=job_mode,
        filters={"cell_performance_data": "cell_id >= 0"},
        **runtime,
    )


def source_expected(estate) -> tuple[int, str]:
    """(rows, hash) of cell_perf_stats computed from the sources themselves, independently of the engine:
    the join done by the source SQL Server (emulator), hashed in Python."""
    rows = []
    for server in ("src1", "src2"):
        for db in DATABASES:
            with connect_tds(estate.tds_endpoints[server], estate.source_login, estate.source_password, db) as conn:
                _, got = conn.query(
                    "SELECT c.cell_id, c.measured_at, NULLIF(c.site_code, '') AS site_code, c.throughput_mbps, "
                    "c.latency_ms, c.dropped_calls, u.active_ues, u.avg_cqi, u.handover_failures "
                    "FROM dbo.cell_performance_data c LEFT JOIN dbo.ue_statistics_data u "
                    "ON u.cell_id = c.cell_id AND u.measured_at = c.measured_at "
                    f"WHERE c.measured_at >= '{DAYS[0]}' AND c.measured_at < '2026-11-03' AND c.cell_id >= 0"
                )
            rows += [(server, db, *r) for r in got]
    return checksum.chunk_hash_py(rows, CELL_PERF_STATS.data_columns)


def target_hash(dsn: str) -> tuple[int, str]:
    with psycopg.connect(dsn) as conn:
        n, h = conn.execute(
            checksum.chunk_hash_sql(CELL_PERF_STATS.data_columns, "postgres", "public.cell_perf_stats")
        ).fetchone()
    return n, checksum.normalize(h)
