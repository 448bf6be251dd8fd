"""`make demo`: the foundation's end-to-end tour of the emulated estate.

estate up → terraform apply of terraform/stacks/local → read the resources back from the
emulated AWS → smoke playbook (T-SQL over WinRM) → summary → estate down.
"""

from __future__ import annotations

import json
import os
import re
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


def read_back(info: EstateInfo, outputs: dict[str, Any]) -> list[tuple[str, str]]:
    """What the emulated AWS says about the resources Terraform created (not what Terraform says)."""
    cfg = estate_aws_config(info.aws_endpoint_url)
    s3, kms, iam, rds = (client(s, cfg) for s in ("s3", "kms", "iam", "rds"))
    bucket = outputs["backup_bucket_name"]
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    sse = rule["ApplyServerSideEncryptionByDefault"]
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status", "Disabled")
    key_id = outputs["kms_key_arn"]
    rotation = kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
    role_name = outputs["rds_backup_restore_role_arn"].rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    principals = sorted({str(s["Principal"].get("Service")) for s in trust["Statement"]})
    group = rds.describe_option_groups(OptionGroupName=outputs["option_group_name"])["OptionGroupsList"][0]
    options = sorted(o["OptionName"] for o in group["Options"])
    return [
        ("s3 bucket", f"{bucket}: {sse['SSEAlgorithm']} with {sse.get('KMSMasterKeyID', '-')}"),
        ("  public access block", "all on" if all(pab.values()) else f"PARTIAL {pab}"),
        ("  versioning", versioning),
        ("kms key", f"{key_id}: rotation {'on' if rotation else 'OFF'}"),
        ("iam role", f"{role_name}: trusted by {', '.join(principals)}"),
        ("option group", f"{group['OptionGroupName']} ({group['EngineName']}): {', '.join(options)}"),
    ]


def tsql_round_trip(info: EstateInfo) -> list[tuple[str, str]]:
    from dbshift.tsql.winrm import WinRMSqlSession

    rows = []
    for label, server, login, password in (
        ("RDS source", info.rds_server, info.rds_login, info.rds_password),
        ("EC2 target", info.ec2_server, None, None),
    ):
        started = time.perf_counter()
        with WinRMSqlSession(
            info.winrm_endpoint,
            info.winrm_username,
            info.winrm_password,
            server,
            transport="basic",
            server_cert_validation="ignore",
            sql_username=login,
            sql_password=password,
        ) as session:
            result = session.execute("SELECT @@SERVERNAME AS server_name, COUNT(*) AS databases FROM sys.databases;")
        took = (time.perf_counter() - started) * 1000
        row = result.rows[0]
        rows.append(
            (
                f"T-SQL via WinRM, {label}",
                f"{row['server_name']}: {row['databases']} databases ({took:.0f} ms)",
            )
        )
    return rows


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
        print("\n" + "=" * 78 + "\ndbshift demo: summary (emulated estate; SQL Server is an emulator)\n" + "=" * 78)
        for key, value in [
            ("AWS endpoint (moto)", info.aws_endpoint_url),
            ("WinRM endpoint", info.winrm_endpoint),
            ("PostgreSQL", info.public()["postgres_dsn"]),
            *resources,
            *sql,
            *((f"playbook smoke.yml on {h}", r) for h, r in recap),
        ]:
            print(f"  {key:34} {value}")
        return 0
    finally:
        if not keep:
            stopped = estate.down()
            state.unlink(missing_ok=True)
            print(f"\n==> dbshift estate down: stopped {', '.join(stopped) or 'nothing'}")
