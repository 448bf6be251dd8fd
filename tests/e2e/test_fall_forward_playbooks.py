"""The three fall-forward playbooks against the emulated estate, for a plain (SalesDb) and a TDE (PayrollDb)
database: setup, rows on RDS, sync, more rows, sync again, cutover; the four-step check of each playbook;
cutover refused without confirm_cutover; the TDE password in no output or file of the run; and a sync killed
between two RESTORE LOGs, then resumed."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from ansible_helpers import BIN, REPO, Run, RunAnsible, ansible_env
from ff_helpers import ec2_session, rds_session

pytestmark = [pytest.mark.estate, pytest.mark.slow]

COLUMNS = "order_id, customer, amount, ordered_at"


def playbook(run_ansible: RunAnsible, inventory: Path, vars_file: Path, stage: str, *extra: str) -> Run:
    return run_ansible(
        "ansible-playbook",
        "-vvv",
        "-i",
        str(inventory),
        "-e",
        f"@{vars_file}",
        *extra,
        f"playbooks/fall_forward_{stage}.yml",
    )


def four_steps(run_ansible: RunAnsible, inventory: Path, vars_file: Path, stage: str, *extra: str) -> list[Run]:
    """check mode, real run, check mode again (no change), real run again (changed=0)."""
    runs = []
    for check, expect_change in ((True, True), (False, True), (True, False), (False, False)):
        run = playbook(run_ansible, inventory, vars_file, stage, *extra, *(["--check"] if check else []))
        runs.append(run)
        assert run.rc == 0, f"{stage} check={check}:\n{run.output[-8000:]}"
        changed = run.recap()["changed"]
        assert (changed > 0) == expect_change, f"{stage} check={check} changed={changed}:\n{run.stdout[-6000:]}"
    return runs


def state(estate, database: str) -> str | None:
    with ec2_session(estate) as ec2:
        rows = ec2.execute(f"SELECT state_desc FROM sys.databases WHERE name = N'{database}'").rows
    return rows[0]["state_desc"] if rows else None


def write_rows_and_back_up_the_log(estate, source: str, count: int) -> None:
    start = random.randint(10_000_000, 2_000_000_000)
    values = ", ".join(f"({start + i}, N'ff-e2e-{i}', {i}.25, '2026-11-21T10:00:00')" for i in range(count))
    with rds_session(estate) as rds:
        rds.execute(f"INSERT INTO dbo.Orders ({COLUMNS}) VALUES {values};", database=source)
        rds.execute(f"EXEC rdsadmin.emulator.take_tlog_backup @db_name = N'{source}';")


def orders(estate, session_factory, database: str) -> list[dict]:
    with session_factory(estate) as s:
        return s.execute(f"SELECT {COLUMNS} FROM dbo.Orders ORDER BY order_id", database=database).rows


def tde_passwords(estate, ff_aws: dict) -> list[str]:
    """The private-key passwords of the certificates RDS backed up: base64 of the KMS plaintext."""
    from dbshift.aws import AwsConfig, client
    from dbshift.fallforward.endpoints import S3Url

    aws = AwsConfig(region=estate.region, endpoint_url=estate.aws_endpoint_url)
    s3, kms = client("s3", aws), client("kms", aws)
    where = S3Url.parse(ff_aws["fall_forward_certificate_s3_prefix"])
    found = []
    for obj in s3.list_objects_v2(Bucket=where.bucket, Prefix=where.key).get("Contents", []):
        if obj["Key"].lower().endswith(".pvk"):
            meta = s3.head_object(Bucket=where.bucket, Key=obj["Key"])["Metadata"]
            plain = kms.decrypt(CiphertextBlob=base64.b64decode(meta["rds-tde-pwd"]))["Plaintext"]
            found.append(base64.b64encode(plain).decode("ascii"))
    return found


@pytest.mark.parametrize(("source", "tde"), [("SalesDb", False), ("PayrollDb", True)])
def test_fall_forward_end_to_end(
    run_ansible: RunAnsible, ff_inventory: Path, ff_aws: dict, estate, tmp_path: Path, source: str, tde: bool
) -> None:
    target = f"{source}_ff_{uuid.uuid4().hex[:6]}"
    vars_file = tmp_path / "fall_forward.json"
    vars_file.write_text(json.dumps({**ff_aws, "fall_forward_databases": [{"source": source, "target": target}]}))
    runs: list[Run] = []

    # Setup: four steps; check mode touched nothing.
    check = playbook(run_ansible, ff_inventory, vars_file, "setup", "--check")
    assert check.rc == 0, check.output[-8000:]
    assert state(estate, target) is None, "check mode restored the database"
    runs += [check, *four_steps(run_ansible, ff_inventory, vars_file, "setup")]
    assert state(estate, target) == "RESTORING"
    setup_out = runs[2].stdout
    # A TDE database needs its certificate on the target: imported by this run, or present when another test of the
    # session (the steps' integration tests) imported the same certificate first. A plain database needs none.
    has_certificate = "certificate imported" in setup_out or "certificate present" in setup_out
    assert has_certificate == tde, setup_out[-4000:]

    # Rows on RDS, then sync: four steps.
    write_rows_and_back_up_the_log(estate, source, 5)
    runs += four_steps(run_ansible, ff_inventory, vars_file, "sync")
    assert "log(s) applied, LSN reached" in runs[-3].stdout
    assert state(estate, target) == "RESTORING"

    # More rows, sync again.
    write_rows_and_back_up_the_log(estate, source, 7)
    again = playbook(run_ansible, ff_inventory, vars_file, "sync")
    runs.append(again)
    assert again.rc == 0 and again.recap()["changed"] > 0, again.output[-8000:]

    # Cutover without confirm_cutover: refused by the role, and by the module on its own; still RESTORING.
    refused = playbook(run_ansible, ff_inventory, vars_file, "cutover")
    runs.append(refused)
    assert refused.rc != 0
    assert "confirm_cutover=true" in refused.output and refused.recap()["changed"] == 0
    assert state(estate, target) == "RESTORING"
    module_refused = run_ansible(
        "ansible",
        "-vvv",
        "-i",
        str(ff_inventory),
        "localhost",
        "-m",
        "mssql_cutover",
        "-a",
        json.dumps(
            {
                "winrm_endpoint": "{{ dbshift_winrm_endpoint }}",
                "winrm_username": "{{ dbshift_winrm_username }}",
                "winrm_password": "{{ dbshift_winrm_password }}",
                "winrm_transport": "basic",
                "source_server": "{{ dbshift_rds_server }}",
                "source_login": "{{ dbshift_rds_login }}",
                "source_password": "{{ dbshift_rds_password }}",
                "target_server": "{{ dbshift_ec2_server }}",
                "target_database": target,
            }
        ),
    )
    runs.append(module_refused)
    assert module_refused.rc != 0 and "set confirm_cutover: true" in module_refused.output
    assert state(estate, target) == "RESTORING"

    # Cutover with confirm: four steps; ONLINE, rows equal to the source's.
    write_rows_and_back_up_the_log(estate, source, 3)
    runs += four_steps(run_ansible, ff_inventory, vars_file, "cutover", "-e", "confirm_cutover=true")
    assert state(estate, target) == "ONLINE"
    source_rows = orders(estate, rds_session, source)
    assert len(source_rows) >= 15
    assert orders(estate, ec2_session, target) == source_rows

    # No secret anywhere: outputs of every run, and every file under the estate root.
    secrets = [estate.winrm_password, estate.rds_password, ff_aws["fall_forward_master_key_password"]]
    if tde:
        passwords = tde_passwords(estate, ff_aws)
        assert passwords, "no .pvk under the certificate prefix: the TDE path did not run"
        secrets += passwords
    for secret in secrets:
        assert len(secret) >= 8
        for run in runs:
            assert secret not in run.output
        needle = secret.encode()
        for path in Path(estate.root).rglob("*"):
            if path.is_file() and path.name not in {"winrm_password", "rds_password", "postgres_password"}:
                assert needle not in path.read_bytes(), f"a secret is in {path}"


def _kill_tree(pid: int) -> None:
    """SIGKILL `pid` and every process under it, found before any dies (Ansible starts the module in a
    session of its own, so a process-group kill would leave it running)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, grew = {pid}, True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    for member in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)


def test_sync_killed_between_two_restore_logs_resumes(
    run_ansible: RunAnsible, ff_inventory: Path, ff_aws: dict, estate, tmp_path: Path
) -> None:
    """The sync playbook SIGKILLed (with every process under it, the module included) as soon as a RESTORE LOG
    of eight lands on the target; the next sync completes the chain without error, and after cutover the
    rows equal the source's."""
    from dbshift.ansible_support import redo_start_lsn

    source, target = "SalesDb", f"SalesDb_ff_kill_{uuid.uuid4().hex[:6]}"
    vars_file = tmp_path / "fall_forward.json"
    variables = {
        **ff_aws,
        "fall_forward_databases": [{"source": source, "target": target}],
        # A full backup of its own, taken now: the log chain this test needs starts after it (the emulator
        # numbers rds_backup_seq_id per instance, and the earlier tests' PayrollDb logs sit between SalesDb's).
        "fall_forward_backup_s3_prefix": ff_aws["fall_forward_backup_s3_prefix"] + f"kill-{uuid.uuid4().hex[:6]}/",
        "fall_forward_restore_batch_size": 1,  # one RESTORE LOG per round trip
    }
    vars_file.write_text(json.dumps(variables))
    setup = playbook(run_ansible, ff_inventory, vars_file, "setup")
    assert setup.rc == 0, setup.output[-8000:]
    for _ in range(8):
        write_rows_and_back_up_the_log(estate, source, 2)

    def redo() -> int | None:
        with ec2_session(estate) as ec2:
            return redo_start_lsn(ec2, target)

    before = redo()
    watch = ec2_session(estate).session  # one session for the polling: a new one per poll is slower
    cmd = [str(BIN / "ansible-playbook"), "-v", "-i", str(ff_inventory), "-e", f"@{vars_file}"]
    proc = subprocess.Popen(
        [*cmd, "playbooks/fall_forward_sync.yml"],
        cwd=REPO,
        env=ansible_env(tmp_path),
        stdout=(log := (tmp_path / "killed-sync.log").open("w")),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if redo_start_lsn(watch, target) != before:
            _kill_tree(proc.pid)
            break
        time.sleep(0.01)
    proc.wait(timeout=60)
    watch.close()
    log.close()
    output = (tmp_path / "killed-sync.log").read_text()
    assert proc.returncode == -signal.SIGKILL, f"the sync ended ({proc.returncode}) before the kill:\n{output[-6000:]}"
    killed_at = redo()
    assert killed_at is not None and before is not None and killed_at > before
    assert state(estate, target) == "RESTORING"

    resumed = playbook(run_ansible, ff_inventory, vars_file, "sync")
    assert resumed.rc == 0, resumed.output[-8000:]
    assert resumed.recap()["changed"] > 0 and "log(s) applied, LSN reached" in resumed.stdout
    assert (redo() or 0) > killed_at  # the chain went on from where the kill left it

    cutover = playbook(run_ansible, ff_inventory, vars_file, "cutover", "-e", "confirm_cutover=true")
    assert cutover.rc == 0, cutover.output[-8000:]
    assert state(estate, target) == "ONLINE"
    assert orders(estate, ec2_session, target) == orders(estate, rds_session, source)
