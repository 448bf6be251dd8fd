"""playbooks/data_migration.yml against the emulated estate with the local engine (inventories/local's
data_migration.yml: 2 SQL Server emulator sources x 2 databases -> cell_perf_stats): check mode, real run,
check mode again, real run again; job_mode=fresh reruns. Plus the estate inventory giving the role its inputs.
(Modules' docs, role spec and playbook syntax: tests/ansible/test_module_and_role_docs.py.)"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import psycopg
import pytest
import yaml
from ansible_helpers import REPO, Run, RunAnsible, write_estate_inventory
from dm_helpers import source_expected, target_hash

from dbshift.aws import AwsConfig, client

RUN_TASK = "TASK [data_migration : Run the data migration (local)]"
PARAMS_TASK = "TASK [data_migration : Write the migration and server mappings parameters]"


def task_status(run: Run, header: str) -> str:
    """'changed', 'ok', 'skipping' or 'fatal' of the task whose header line starts with `header`."""
    after = run.stdout.split(header, 1)
    assert len(after) == 2, f"no {header} in:\n{run.stdout[-4000:]}"
    m = re.search(r"^(changed|ok|fatal|skipping):", after[1], re.MULTILINE)
    assert m, after[1][:2000]
    return m.group(1)


# ------------------------------------------------------------------------------------------ the runbook


@pytest.fixture
def dm_inventory(estate, tmp_path: Path) -> Path:
    """The estate's inventory as `dbshift estate up` writes it, plus the committed data_migration.yml."""
    inv = write_estate_inventory(estate, tmp_path / "inventory")
    shutil.copy(
        REPO / "inventories" / "local" / "group_vars" / "all" / "data_migration.yml",
        inv / "group_vars" / "all" / "data_migration.yml",
    )
    return inv


@pytest.fixture
def clean_target(estate) -> None:
    """Start from a target without this category (another test of the session may have migrated it)."""
    with psycopg.connect(estate.postgres_dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS dbshift_migration CASCADE")
        conn.execute("DROP TABLE IF EXISTS public.cell_perf_stats")
        conn.execute("DROP TABLE IF EXISTS stage.cell_perf_stats")


def runs_recorded(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        exists = conn.execute("SELECT to_regclass('dbshift_migration.runs') IS NOT NULL").fetchone()[0]
        return conn.execute("SELECT count(*) FROM dbshift_migration.runs").fetchone()[0] if exists else 0


@pytest.mark.estate
@pytest.mark.slow
def test_data_migration_playbook_four_steps_and_fresh(
    run_ansible: RunAnsible, estate, dm_inventory: Path, clean_target, tmp_path: Path
) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(
        json.dumps(
            {
                "data_migration_raw_area": str(tmp_path / "raw"),
                "data_migration_transformed_area": str(tmp_path / "transformed"),
                "data_migration_report_dir": str(tmp_path / "reports"),
                "data_migration_poll_interval": 0.5,
            }
        )
    )

    def playbook(*args: str) -> Run:
        return run_ansible(
            "ansible-playbook", "-v", "-i", str(dm_inventory), "-e", f"@{extra}", *args, "playbooks/data_migration.yml"
        )

    ssm = client("ssm", AwsConfig(region=estate.region, endpoint_url=estate.aws_endpoint_url))
    runs: list[Run] = []
    expected = source_expected(estate)
    assert expected[0] > 1000

    # 1. Check mode: would change; no parameter written, nothing moved, no run recorded.
    check = playbook("--check")
    runs.append(check)
    assert check.rc == 0, check.output[-8000:]
    assert task_status(check, PARAMS_TASK) == "changed" and task_status(check, RUN_TASK) == "changed"
    assert "would_start" in check.stdout
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name="/dbshift/netperf/migration")
    assert runs_recorded(estate.postgres_dsn) == 0
    assert not (tmp_path / "raw").exists()

    # 2. Real run: parameters written, data moved, validation clean, target equal to the sources.
    real = playbook()
    runs.append(real)
    assert real.rc == 0, real.output[-8000:]
    assert task_status(real, RUN_TASK) == "changed"
    assert "validation clean" in real.stdout
    got = json.loads(ssm.get_parameter(Name="/dbshift/netperf/migration", WithDecryption=True)["Parameter"]["Value"])
    assert got["job_mode"] == "resume" and got["input_partition"] == "2026-11-01..2026-11-02"
    mappings = ssm.get_parameter(Name="/dbshift/netperf/server-mappings", WithDecryption=True)["Parameter"]
    assert mappings["Type"] == "SecureString"
    assert json.loads(mappings["Value"])["server_mappings"]["src1"] == estate.tds_endpoints["src1"]
    assert target_hash(estate.postgres_dsn) == expected
    assert (tmp_path / "reports" / "cell_perf_stats-validation.html").exists()
    first_runs = runs_recorded(estate.postgres_dsn)
    assert first_runs >= 1

    # 3 and 4. Check mode again and a real run again: nothing changes, nothing starts.
    for args in (("--check",), ()):
        again = playbook(*args)
        runs.append(again)
        assert again.rc == 0, again.output[-8000:]
        assert again.recap()["changed"] == 0, again.stdout[-6000:]
        assert "a completed run exists" in again.stdout
    assert runs_recorded(estate.postgres_dsn) == first_runs
    assert target_hash(estate.postgres_dsn) == expected

    # job_mode=fresh reruns (and rewrites the parameter); the target is the same again.
    fresh = playbook("-e", "data_migration_job_mode=fresh")
    runs.append(fresh)
    assert fresh.rc == 0, fresh.output[-8000:]
    assert task_status(fresh, RUN_TASK) == "changed" and task_status(fresh, PARAMS_TASK) == "changed"
    assert runs_recorded(estate.postgres_dsn) > first_runs
    assert target_hash(estate.postgres_dsn) == expected
    # Back to resume: the parameter changes back, but the completed (fresh) run is not started again.
    back = playbook()
    runs.append(back)
    assert back.rc == 0, back.output[-8000:]
    assert task_status(back, PARAMS_TASK) == "changed" and task_status(back, RUN_TASK) == "ok"

    # No secret in any output.
    pg_password = estate.postgres_dsn.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    for secret in (estate.source_password, pg_password):
        assert len(secret) >= 8
        for run in runs:
            assert secret not in run.output


# ------------------------------------------------------------------------------------------ the role's inputs


def test_the_estate_inventory_gives_every_required_input(estate, run_ansible: RunAnsible, dm_inventory: Path) -> None:
    role = REPO / "roles" / "data_migration"
    options = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    run = run_ansible("ansible-inventory", "-i", str(dm_inventory), "--list")
    assert run.rc == 0, run.output
    hv = json.loads(run.stdout)["_meta"]["hostvars"]["localhost"]
    required = {n for n, o in options.items() if o.get("required")}
    assert required <= set(hv), sorted(required - set(hv))
    for name, opt in options.items():  # secrets are lookups, never literal values
        if opt.get("no_log") and name in hv:
            assert "{{" in hv[name], name
    assert "lookup('ansible.builtin.file'" in hv["dbshift_source_password"]
    assert hv["dbshift_tds_endpoints"] == estate.tds_endpoints
    assert hv["dbshift_source_login"] == estate.source_login
