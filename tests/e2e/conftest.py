"""Fixtures for the playbook-level tests: the ansible CLIs on this repo, the estate's inventory, and the
S3 buckets + KMS key the fall-forward runbook needs, created in the estate's emulated AWS."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

# tests/ansible holds the helpers for running the ansible CLIs (no package on purpose, see there).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ansible"))

from ansible_helpers import BIN, REPO, Run, RunAnsible, ansible_env, write_estate_inventory
from ff_helpers import rds_session


@pytest.fixture
def run_ansible(tmp_path: Path) -> RunAnsible:
    """Run an ansible CLI from the venv (e.g. "ansible-playbook") from the repository root."""

    def run(tool: str, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Run:
        exe = shutil.which(tool, path=str(BIN)) or tool
        proc = subprocess.run(
            [exe, *args], cwd=REPO, env=ansible_env(tmp_path, env), capture_output=True, text=True, timeout=timeout
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="session")
def ff_inventory(estate, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An inventory for the estate fixture, written as `dbshift estate up` writes inventories/local."""
    return write_estate_inventory(estate, tmp_path_factory.mktemp("ff_inventory"))


@pytest.fixture(scope="session")
def ff_aws(estate) -> dict[str, str]:
    """Buckets + KMS key for the runbook, as fall_forward_* extra vars.

    The RDS instance keeps one tlog copy target (rds_tlog_copy_setup); when an earlier test in this
    session already set it, the tlogs go there too instead of failing on a second target.
    """
    from dbshift.aws import AwsConfig, client
    from dbshift.fallforward.endpoints import S3Url

    aws = AwsConfig(region=estate.region, endpoint_url=estate.aws_endpoint_url)
    s3, kms = client("s3", aws), client("kms", aws)
    tag = uuid.uuid4().hex[:8]
    backups, certs = f"dbshift-ff-{tag}", f"dbshift-ff-certs-{tag}"
    for bucket in (backups, certs):
        s3.create_bucket(Bucket=bucket)
    key_arn = kms.create_key(Description=f"dbshift fall-forward e2e {tag}")["KeyMetadata"]["Arn"]
    tlog_prefix = f"s3://{backups}/tlogs/"
    with rds_session(estate) as rds:
        rows = rds.execute("EXEC rdsadmin.dbo.rds_show_configuration @name = N'target_s3_arn_for_tlog_copy';").rows
    current = rows[0]["value"] if rows and rows[0].get("value") else None
    if current:
        bucket, _, key = str(current).removeprefix("arn:aws:s3:::").partition("/")
        tlog_prefix = S3Url(bucket, key.rstrip("/") + "/" if key else "").url
    return {
        "fall_forward_backup_s3_prefix": f"s3://{backups}/backups/",
        "fall_forward_tlog_s3_prefix": tlog_prefix,
        "fall_forward_certificate_s3_prefix": f"s3://{certs}/certificates/",
        "fall_forward_kms_key_arn": key_arn,
        "fall_forward_host_dir": "D:\\dbshift",
        "fall_forward_poll_interval": 0.2,
        "fall_forward_task_timeout": 300,
        # The EC2 target has no database master key yet; a DBA supplies its password (no_log).
        "fall_forward_master_key_password": "Dmk-" + secrets.token_urlsafe(18),
    }


@pytest.fixture()
def migration_env(estate, monkeypatch) -> dict[str, str]:
    """The environment variables the migration config names: target DSN and source password."""
    from dbshift.estate.migration import estate_migration_env

    for name, value in estate_migration_env(estate).items():
        monkeypatch.setenv(name, value)
    return {**os.environ}


@pytest.fixture
def clients(aws_endpoint_url: str):  # -> dbshift.dr.Clients
    """Per-Region boto3 clients on the emulated AWS, as the DR runbooks make them."""
    from dbshift.aws import AwsConfig
    from dbshift.dr import Clients

    return Clients(AwsConfig(endpoint_url=aws_endpoint_url))


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """The local inventory's hosts only (no estate group_vars): each test passes its own variables."""
    inv = tmp_path / "inventory"
    inv.mkdir()
    shutil.copy(REPO / "inventories" / "local" / "hosts.yml", inv / "hosts.yml")
    return inv
