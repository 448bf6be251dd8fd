"""Bad configuration is refused before any data moves: `dbshift migrate` against the estate exits with
an error naming the key, and leaves no raw file, no checkpoint and no target rows behind."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest
import yaml
from dm_helpers import write_config

pytestmark = [pytest.mark.estate, pytest.mark.slow]


def _break(body: dict, case: str) -> dict:
    m, s = body["migration"], body["server_mappings"]
    if case == "unknown server":
        s["databases"] = {"src1": ["NetPerf01"], "src9": ["NetPerf01"]}
    elif case == "filter on a missing column":
        m["source_filter_ue_statistics_data"] = "no_such_column > 3"
    elif case == "malformed date":
        m["input_partition"] = "2026-11-31"
    elif case == "empty category":
        s["categories"]["cell_perf_stats"] = []
    elif case == "unreachable server":
        s["server_mappings"]["src2"] = "127.0.0.1:1"
    return body


EXPECTED = {
    "unknown server": ("server_mappings.databases.src9", "unknown server"),
    "filter on a missing column": ("source_filter_ue_statistics_data", "no_such_column"),
    "malformed date": ("input_partition", "2026-11-31"),
    "empty category": ("server_mappings.categories.cell_perf_stats", "empty"),
    "unreachable server": ("src2", "127.0.0.1:1"),
}


def _count(dsn: str, sql: str) -> int:
    with psycopg.connect(dsn) as conn:
        try:
            return conn.execute(sql).fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return 0


@pytest.mark.parametrize("case", list(EXPECTED))
def test_bad_configuration_moves_nothing(estate, tmp_path, migration_env, case):
    path = write_config(estate, tmp_path)
    path.write_text(yaml.safe_dump(_break(yaml.safe_load(path.read_text()), case), sort_keys=False))
    checkpoints_before = _count(estate.postgres_dsn, "SELECT count(*) FROM dbshift_migration.chunk_stages")
    runs_before = _count(estate.postgres_dsn, "SELECT count(*) FROM dbshift_migration.runs")
    run = subprocess.run(
        [sys.executable, "-m", "dbshift.cli", "migrate", "--config", str(path), "--quiet"],
        env=migration_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    key, detail = EXPECTED[case]
    assert key in run.stderr and detail.lower() in run.stderr.lower(), run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").rglob("*.parquet"))
    assert _count(estate.postgres_dsn, "SELECT count(*) FROM dbshift_migration.chunk_stages") == checkpoints_before
    assert _count(estate.postgres_dsn, "SELECT count(*) FROM dbshift_migration.runs") == runs_before
