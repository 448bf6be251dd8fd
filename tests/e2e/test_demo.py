"""`make demo` (= `dbshift demo`), the main job, end to end on the emulated estate (SQL Server is the
emulator), twice on one kept estate: the second run meets the first one's databases, rows, buckets and
Terraform state, and must still succeed, change nothing it should not, and end with the estate down."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dbshift.estate.manager import Estate

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "terraform"))
from tf_helpers import terraform_cli_config  # noqa: E402 - tests/terraform is no package, on purpose

DBSHIFT = Path(sys.executable).with_name("dbshift")

pytestmark = pytest.mark.slow


def _demo(root: Path, *extra: str) -> str:
    env = dict(os.environ)
    cli_config = terraform_cli_config(root.parent)  # `make demo` exports it; pytest run by hand may not
    if cli_config:
        env["TF_CLI_CONFIG_FILE"] = cli_config
    run = subprocess.run(
        [str(DBSHIFT), "demo", "--root", str(root), *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:])
    return run.stdout


def _summary(out: str) -> dict[str, list[str]]:
    """The summary's values by key, for the keys the test reads (printed as f"  {key:34} {value}")."""
    lines = out.split("dbshift demo: summary", 1)[1].splitlines()
    found = {
        key: [line[len(f"  {key:34} ") :] for line in lines if line.startswith(f"  {key:34} ")]
        for key in ("rows after cutover", "cutover", "sync report")
    }
    found["smoke"] = [line for line in lines if line.startswith("  playbook smoke.yml on ")]
    return found


def test_demo_runs_twice_on_one_kept_estate(tmp_path: Path) -> None:
    root = tmp_path / "estate"
    try:
        first = _summary(_demo(root, "--keep"))
        assert Estate(root).status().get("running"), "--keep must leave the estate running"
        second_out = _demo(root)
        second = _summary(second_out)
    finally:
        Estate(root).down()
    for summary in (first, second):
        (rows,) = summary["rows after cutover"]
        assert rows.endswith(": equal"), rows
        (cutover,) = summary["cutover"]
        assert cutover.endswith("is ONLINE"), cutover
        assert len(summary["sync report"]) == 2, summary
        assert summary["smoke"] and all("failed=0" in line for line in summary["smoke"]), summary["smoke"]
    # The kept estate already holds the first run's database: the second cuts over to a new one, and the
    # source holds the rows of both runs (new order ids after the newest).
    first_db, second_db = (s["cutover"][0].split(" on ")[0] for s in (first, second))
    assert first_db != second_db
    n_first, n_second = (int(s["rows after cutover"][0].split(" on RDS")[0]) for s in (first, second))
    assert n_second > n_first
    assert "==> dbshift estate down: stopped" in second_out
    assert not Estate(root).status().get("running")
