"""The data migration configuration of the emulated estate: its two SQL Server emulator sources
(SRC1, SRC2 over TDS) x NetPerf01/NetPerf02 -> cell_perf_stats in the estate's PostgreSQL.

Secrets are not written: the config names the environment variables DBSHIFT_TARGET_DSN and
DBSHIFT_SOURCE_PASSWORD (estate_migration_env gives their values to a process that runs it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from dbshift.estate.manager import EstateInfo

DATABASES = ("NetPerf01", "NetPerf02")


def estate_migration_config(
    info: EstateInfo,
    work_dir: Path,
    first_day: str = "2026-11-01",
    last_day: str = "2026-11-02",
    job_mode: str = "fresh",
    filters: dict[str, str] | None = None,
    **runtime: Any,
) -> dict[str, Any]:
    """The YAML body (Parameter Store shapes + runtime) for the estate; areas under work_dir."""
    migration: dict[str, Any] = {
        "job_mode": job_mode,
        "log_level": "INFO",
        "input_partition": f"{first_day}..{last_day}",
        "partition_col_date": "measured_at",
    }
    migration.update({f"source_filter_{t}": f for t, f in (filters or {}).items()})
    return {
        "migration": migration,
        "server_mappings": {
            "server_mappings": {name: info.tds_endpoints[name] for name in ("src1", "src2")},
            "databases": list(DATABASES),
            "categories": {"cell_perf_stats": ["cell_performance_data", "ue_statistics_data"]},
        },
        "runtime": {
            "raw_area": str(Path(work_dir) / "raw"),
            "transformed_area": str(Path(work_dir) / "transformed"),
            "target_dsn_env": "DBSHIFT_TARGET_DSN",
            "source_user": info.source_login,
            "source_password_env": "DBSHIFT_SOURCE_PASSWORD",
            "parallelism": 2,
            "splits_per_day": 2,
            **runtime,
        },
    }


def write_estate_migration_config(path: Path, info: EstateInfo, **kwargs: Any) -> Path:
    body = estate_migration_config(info, Path(path).parent, **kwargs)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(body, sort_keys=False))
    tmp.replace(path)
    return path


def estate_migration_env(info: EstateInfo) -> dict[str, str]:
    """The secrets the estate's migration config names, for the environment of the process that runs it."""
    return {"DBSHIFT_TARGET_DSN": info.postgres_dsn, "DBSHIFT_SOURCE_PASSWORD": info.source_password}
