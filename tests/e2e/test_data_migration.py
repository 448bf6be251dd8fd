"""Data migration end to end against the emulated estate (SQL Server emulator sources over TDS,
the estate's PostgreSQL as Aurora PostgreSQL): 2 servers x 2 databases -> cell_perf_stats."""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from dm_helpers import source_expected, target_hash, write_config

from dbshift.datamove.config import load_from_yaml
from dbshift.datamove.runner import Migration

pytestmark = [pytest.mark.estate, pytest.mark.slow]


def test_two_servers_two_databases_to_cell_perf_stats(estate, tmp_path, migration_env):
    config = load_from_yaml(write_config(estate, tmp_path))
    report = Migration(config, progress=None, report_dir=tmp_path).run()
    (cat,) = report.categories
    assert cat.validation_ok is True and cat.differences == 0
    expected = source_expected(estate)
    assert expected[0] > 1000
    assert target_hash(estate.postgres_dsn) == expected
    html = (tmp_path / "cell_perf_stats-validation.html").read_text()
    assert "cell_perf_stats" in html and "http://" not in html and "https://" not in html

    # A second run (resume) finds every chunk done and changes nothing.
    again = Migration(load_from_yaml(write_config(estate, tmp_path, "resume")), progress=None).run()
    stages = {s.stage: s for s in again.categories[0].stages}
    for name in ("export", "transform", "import"):
        assert stages[name].chunks_done == 0 and stages[name].chunks_skipped > 0, name
    assert target_hash(estate.postgres_dsn) == expected

    # Alter one target row, delete one, add one: each is reported with its key.
    with psycopg.connect(estate.postgres_dsn) as conn:
        keys = conn.execute(
            "SELECT server_name, database_name, cell_id, measured_at FROM public.cell_perf_stats "
            "ORDER BY server_name, database_name, cell_id, measured_at LIMIT 2"
        ).fetchall()
        conn.execute(
            "UPDATE public.cell_perf_stats SET latency_ms = coalesce(latency_ms, 0) + 1 "
            "WHERE (server_name, database_name, cell_id, measured_at) = (%s, %s, %s, %s)",
            keys[0],
        )
        conn.execute(
            "DELETE FROM public.cell_perf_stats WHERE (server_name, database_name, cell_id, measured_at) = "
            "(%s, %s, %s, %s)",
            keys[1],
        )
        added = ("src2", "NetPerf02", 999_999, dt.datetime(2026, 11, 2, 23, 45))
        conn.execute(
            "INSERT INTO public.cell_perf_stats (server_name, database_name, cell_id, measured_at) "
            "VALUES (%s, %s, %s, %s)",
            added,
        )
    config = load_from_yaml(write_config(estate, tmp_path, "resume"))
    result = Migration(config, progress=None, report_dir=tmp_path).run(["validate"])
    assert result.categories[0].validation_ok is False
    assert result.categories[0].differences == 3
    report = json.loads((tmp_path / "cell_perf_stats-validation.json").read_text())
    found = {(d["kind"], tuple(map(str, d["key"].values()))) for d in _all_diffs(report)}
    want = {
        ("changed", tuple(map(str, keys[0]))),
        ("missing", tuple(map(str, keys[1]))),
        ("extra", tuple(map(str, added))),
    }
    assert want <= found, found


def _all_diffs(report_json: dict) -> list[dict]:
    out = list(report_json.get("outside", []))
    for c in report_json["chunks"]:
        out += c.get("differences", [])
    return out
