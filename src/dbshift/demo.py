"""`make demo`: an end-to-end tour of the emulated estate, ending in a TDE fall forward.

estate up → terraform apply of terraform/stacks/local → read the resources back from the emulated
AWS → smoke playbook (T-SQL over WinRM) → fall-forward runbook for the TDE database PayrollDb
(setup → rows on RDS → sync → more rows → sync → cutover) → summary → estate down.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dbshift.aws import client
from dbshift.errors import DbshiftError
from dbshift.estate.manager import AWS_KEYS, Estate, EstateInfo, estate_aws_config

STACK = Path("terraform/stacks/local")
FALL_FORWARD_DB = "PayrollDb"  # the TDE sample database on the RDS source
# One line of the sync role's report: "<source> -> <target>: N log(s) applied, LSN reached ..., target STATE"
REPORT = re.compile(r"[^\s']+ -> [^\s']+: \d+ log\(s\) applied.*?target [A-Z]+", re.S)
ORDERS = "SELECT order_id, customer, amount, ordered_at FROM dbo.Orders ORDER BY order_id"


def _run(cmd: list[str], what: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    print(f"\n==> {what}: {' '.join(cmd)}", flush=True)
    proc = subprocess.run(cmd, env=env, cwd=cwd, text=True, capture_output=True, check=False)
    sys.stdout.write(proc.stdout[-4000:])
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise DbshiftError(f"{what} failed (exit {proc.returncode}); see the output above")
    return proc.stdout


def _terraform(stack: Path, state: Path, env: dict[str, str]) -> dict[str, Any]:
    tf = shutil.which("terraform")
    if not tf:
        raise DbshiftError("terraform not found on PATH: install Terraform >= 1.7 (see README)")
    _run([tf, f"-chdir={stack}", "init", "-input=false", "-no-color"], "terraform init", env)
    _run(
        [tf, f"-chdir={stack}", "apply", "-auto-approve", "-input=false", "-no-color", f"-state={state}"],
        "terraform apply",
        env,
    )
    out = _run([tf, f"-chdir={stack}", "output", "-json", f"-state={state}"], "terraform output", env)
    return {k: v["value"] for k, v in json.loads(out).items()}


def _bucket_line(s3: Any, bucket: str) -> str:
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    sse = rule["ApplyServerSideEncryptionByDefault"]
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status", "Disabled")
    key = f" with {sse['KMSMasterKeyID']}" if sse.get("KMSMasterKeyID") else ""
    public = "public access blocked" if all(pab.values()) else f"public access PARTIAL {pab}"
    return f"{bucket}: {sse['SSEAlgorithm']}{key}, {public}, versioning {versioning}"


def read_back(info: EstateInfo, outputs: dict[str, Any]) -> list[tuple[str, str]]:
    """What the emulated AWS says about the resources Terraform created (not what Terraform says)."""
    cfg = estate_aws_config(info.aws_endpoint_url)
    s3, kms, iam, rds = (client(s, cfg) for s in ("s3", "kms", "iam", "rds"))
    key_id = outputs["kms_key_arn"]
    rotation = kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
    role_name = outputs["rds_backup_restore_role_arn"].rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    principals = sorted({str(s["Principal"].get("Service")) for s in trust["Statement"]})
    group = rds.describe_option_groups(OptionGroupName=outputs["option_group_name"])["OptionGroupsList"][0]
    options = sorted(o["OptionName"] for o in group["Options"])
    return [
        ("s3 backups + tlog copies", _bucket_line(s3, outputs["backup_bucket_name"])),
        ("s3 TDE certificates", _bucket_line(s3, outputs["certificate_bucket_name"])),
        ("kms key", f"{key_id}: rotation {'on' if rotation else 'OFF'}"),
        ("iam role", f"{role_name}: trusted by {', '.join(principals)}"),
        ("option group", f"{group['OptionGroupName']} ({group['EngineName']}): {', '.join(options)}"),
    ]


def _session(info: EstateInfo, server: str, login: str | None = None, password: str | None = None) -> Any:
    from dbshift.tsql.winrm import WinRMSqlSession

    return WinRMSqlSession(
        info.winrm_endpoint,
        info.winrm_username,
        info.winrm_password,
        server,
        transport="basic",
        server_cert_validation="ignore",
        sql_username=login,
        sql_password=password,
    )


def _rds(info: EstateInfo) -> Any:
    return _session(info, info.rds_server, info.rds_login, info.rds_password)


def tsql_round_trip(info: EstateInfo) -> list[tuple[str, str]]:
    rows = []
    for label, session in (("RDS source", _rds(info)), ("EC2 target", _session(info, info.ec2_server))):
        started = time.perf_counter()
        with session:
            row = session.execute("SELECT @@SERVERNAME AS name, COUNT(*) AS dbs FROM sys.databases;").rows[0]
        took = (time.perf_counter() - started) * 1000
        rows.append((f"T-SQL via WinRM, {label}", f"{row['name']}: {row['dbs']} databases ({took:.0f} ms)"))
    return rows


def _write_rows_and_back_up_the_log(info: EstateInfo, database: str, first_id: int, count: int) -> None:
    """The application keeps writing on RDS; RDS takes its next log backup (on demand, in the emulator)."""
    values = ", ".join(
        f"({first_id + i}, N'demo-{first_id + i}', {i}.50, '2026-11-22T0{i % 10}:00:00')" for i in range(count)
    )
    with _rds(info) as rds:
        rds.execute(f"INSERT INTO dbo.Orders (order_id, customer, amount, ordered_at) VALUES {values};", database)
        rds.execute(f"EXEC rdsadmin.emulator.take_tlog_backup @db_name = N'{database}';")


def fall_forward(info: EstateInfo, outputs: dict[str, Any], repo: Path, env: dict[str, str]) -> list[tuple[str, str]]:
    """The TDE fall-forward runbook end to end: setup → sync → sync → cutover, then the rows compared."""
    source = FALL_FORWARD_DB
    with _session(info, info.ec2_server) as ec2:
        taken = {r["name"] for r in ec2.execute("SELECT name FROM sys.databases").rows}
    target = source if source not in taken else f"{source}_{int(time.time())}"  # a kept estate: a new name
    variables = {
        "fall_forward_databases": [{"source": source, "target": target}],
        "fall_forward_backup_s3_prefix": outputs["backup_s3_prefix_url"],
        "fall_forward_tlog_s3_prefix": outputs["tlog_s3_prefix_url"],
        "fall_forward_certificate_s3_prefix": outputs["certificate_s3_prefix_url"],
        "fall_forward_kms_key_arn": outputs["kms_key_arn"],
        "fall_forward_host_dir": "D:\\dbshift",
        "fall_forward_poll_interval": 0.3,
        # The EC2 target has no database master key yet. The DBA's password for it reaches Ansible through
        # the environment only: never a file or the command line.
        "fall_forward_master_key_password": "{{ lookup('ansible.builtin.env', 'DBSHIFT_DEMO_DMK_PASSWORD') }}",
    }
    vars_file = info.root / "demo-fall-forward.json"
    vars_file.write_text(json.dumps(variables, indent=2) + "\n")
    play_env = dict(env, ANSIBLE_CONFIG=str(repo / "ansible.cfg"), DBSHIFT_DEMO_DMK_PASSWORD=secrets.token_urlsafe(18))
    ansible_playbook = str(Path(sys.executable).with_name("ansible-playbook"))

    def play(stage: str, *extra: str) -> str:
        cmd = [ansible_playbook, "-e", f"@{vars_file}", *extra, f"playbooks/fall_forward_{stage}.yml"]
        return _run(cmd, f"fall_forward_{stage}.yml", env=play_env)

    def report(output: str, label: str) -> list[tuple[str, str]]:
        return [(label, " ".join(found.split())) for found in REPORT.findall(output)]  # the callback wraps lines

    lines: list[tuple[str, str]] = []
    play("setup")
    # New order ids after the newest one: a kept estate already holds an earlier demo's rows.
    with _rds(info) as rds:
        next_id = int(rds.execute("SELECT COALESCE(MAX(order_id), 0) AS n FROM dbo.Orders", source).rows[0]["n"]) + 1
    for count in (40, 15):
        _write_rows_and_back_up_the_log(info, source, next_id, count)
        next_id += count
        lines += report(play("sync"), "sync report")
    _write_rows_and_back_up_the_log(info, source, next_id, 5)
    lines += report(play("cutover", "-e", "confirm_cutover=true"), "cutover: last sync")
    with _rds(info) as rds, _session(info, info.ec2_server) as ec2:
        source_rows = rds.execute(ORDERS, source).rows
        target_rows = ec2.execute(ORDERS, target).rows
        state = ec2.execute(f"SELECT state_desc FROM sys.databases WHERE name = N'{target}'").rows[0]["state_desc"]
    same = "equal" if source_rows == target_rows else "DIFFERENT"
    lines += [
        ("cutover", f"{target} on {info.ec2_server} is {state}"),
        ("rows after cutover", f"{len(source_rows)} on RDS {source}, {len(target_rows)} on EC2 {target}: {same}"),
    ]
    if source_rows != target_rows:
        raise DbshiftError(f"after cutover the rows of {target} differ from those of the source {source}")
    return lines


def run_demo(root: Path, keep: bool = False) -> int:
    repo = Path.cwd()
    if not (repo / STACK).is_dir():
        raise DbshiftError(f"run the demo from the dbshift checkout: {STACK} not found under {repo}")
    estate = Estate(root, config_dir=repo)
    was_running = estate.status().get("running", False)
    print("==> dbshift estate up", flush=True)
    info = estate.up()
    state = info.root / "terraform" / "local.tfstate"
    if not was_running:
        state.unlink(missing_ok=True)  # a new emulated AWS starts empty: old state would lie
    state.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TF_IN_AUTOMATION="1", **AWS_KEYS)
    try:
        outputs = _terraform(repo / STACK, state, env)
        resources = read_back(info, outputs)
        playbook = _run(
            [str(Path(sys.executable).with_name("ansible-playbook")), "playbooks/smoke.yml"],
            "smoke playbook",
            env=dict(env, ANSIBLE_CONFIG=str(repo / "ansible.cfg")),
        )
        recap = re.findall(r"^(\S+)\s+: (ok=\d+\s+changed=\d+.*failed=\d+)", playbook, re.M)
        sql = tsql_round_trip(info)
        fall_forward_lines = fall_forward(info, outputs, repo, env)
        print("\n" + "=" * 78 + "\ndbshift demo: summary (emulated estate; SQL Server is an emulator)\n" + "=" * 78)
        for key, value in [
            ("AWS endpoint (moto)", info.aws_endpoint_url),
            ("WinRM endpoint", info.winrm_endpoint),
            ("PostgreSQL", info.public()["postgres_dsn"]),
            *resources,
            *sql,
            *((f"playbook smoke.yml on {h}", r) for h, r in recap),
            *fall_forward_lines,
        ]:
            print(f"  {key:34} {value}")
        return 0
    finally:
        if not keep:
            stopped = estate.down()
            state.unlink(missing_ok=True)
            print(f"\n==> dbshift estate down: stopped {', '.join(stopped) or 'nothing'}")
