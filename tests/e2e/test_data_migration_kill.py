"""The migration killed (SIGKILL, a real process) at 20 random points and resumed each time.

Each kill lands at a random delay after a chosen stage begins (export, transform, import, finish,
validate), drawn inside that stage's duration as measured by one uninterrupted run first, so points
mid-chunk and between a chunk's work and its checkpoint are hit. After every
cycle the resumed run must finish with validation clean, the target equal to the sources, and no
chunk loaded twice.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from dm_helpers import source_expected, target_hash, write_config

pytestmark = [pytest.mark.estate, pytest.mark.slow]

STAGES = ("export", "transform", "import", "finish", "validate")
CYCLES = 4  # x 5 stages = 20 kills


def _start(config_path, env):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dbshift.cli",
            "migrate",
            "--config",
            str(config_path),
            "--report-dir",
            str(config_path.parent),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_in_stage(proc: subprocess.Popen, stage: str, delay: float) -> str:
    """SIGKILL `proc` `delay` seconds after it announces `stage`; returns what it printed."""
    seen: list[str] = []
    begun = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            seen.append(line)
            if f" {stage}: begin" in line:
                begun.set()

    t = threading.Thread(target=read, daemon=True)
    t.start()
    begun.wait(timeout=120)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    t.join(timeout=10)
    return "".join(seen)


def _stage_seconds(config_path, env) -> dict[str, float]:
    """How long each stage runs here, from one uninterrupted run: kill delays are drawn inside them, so
    that a kill lands mid-stage on a fast or a slow machine alike."""
    proc = _start(config_path, env)
    begun: dict[str, float] = {}
    for line in proc.stderr:
        for stage in STAGES:
            if f" {stage}: begin" in line:
                begun.setdefault(stage, time.monotonic())
    assert proc.wait(timeout=600) == 0
    ends = [*(begun[s] for s in STAGES[1:]), time.monotonic()]
    return {s: end - begun[s] for s, end in zip(STAGES, ends, strict=True)}


def test_killed_at_20_random_points_resumes_to_a_clean_target(estate, tmp_path, migration_env):
    rng = random.Random(int(os.environ.get("DBSHIFT_KILL_SEED", "20261122")))
    expected = source_expected(estate)
    env = {**migration_env, "PYTHONPATH": os.pathsep.join(sys.path)}
    seconds = _stage_seconds(write_config(estate, tmp_path, "fresh"), env)
    kills = []
    for cycle in range(CYCLES):
        fresh = write_config(estate, tmp_path, "fresh")
        proc = _start(fresh, env)
        for i, stage in enumerate(STAGES):
            delay = rng.uniform(0.05, 0.8) * seconds[stage]
            out = _kill_in_stage(proc, stage, delay)
            kills.append((cycle, stage, round(delay, 3), proc.returncode))
            assert f" {stage}: begin" in out, f"cycle {cycle}: the run never reached {stage}:\n{out}"
            if i + 1 < len(STAGES):
                proc = _start(write_config(estate, tmp_path, "resume"), env)
        final = subprocess.run(
            [
                sys.executable,
                "-m",
                "dbshift.cli",
                "migrate",
                "--config",
                str(write_config(estate, tmp_path, "resume")),
                "--report-dir",
                str(tmp_path),
                "--quiet",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert final.returncode == 0, final.stdout + final.stderr
        assert "validation: clean" in final.stdout
        assert target_hash(estate.postgres_dsn) == expected
        with psycopg.connect(estate.postgres_dsn) as conn:
            plan = conn.execute(
                "SELECT count(*) FROM dbshift_migration.chunks WHERE category = 'cell_perf_stats'"
            ).fetchone()[0]
            imports, imported_rows = conn.execute(
                "SELECT count(*), sum(rows) FROM dbshift_migration.chunk_stages "
                "WHERE category = 'cell_perf_stats' AND stage = 'import'"
            ).fetchone()
            staged, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT (server_name, database_name, cell_id, measured_at)) "
                "FROM stage.cell_perf_stats"
            ).fetchone()
        # no chunk loaded twice: every staged row is accounted for by exactly one import checkpoint
        assert imports == plan
        assert staged == distinct == imported_rows == expected[0]
    killed = [k for k in kills if k[3] == -signal.SIGKILL]
    # Nearly all kills land while the stage runs (20 of 20 here; a noisy machine may end one early).
    assert len(killed) >= 16, kills
    assert {k[1] for k in killed} >= {"export", "transform", "import"}, kills
