"""WinRMHost.run_dbshift: a real pywinrm round trip to the emulated EC2 host, which runs the real dbshift CLI."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbshift.aws.clients import AwsConfig, client
from dbshift.errors import DbshiftError
from dbshift.estate.sqlserver import HostFs, InstanceConfig, RdsConfig, SqlServerEmulator
from dbshift.estate.winrm_host import make_runner
from dbshift.estate.winrm_server import WsmanServer
from dbshift.tsql.connect import host_from_params
from dbshift.tsql.winrm import WinRMHost

RDS, EC2 = "rds.cli.test", "ec2.cli.test"
DBI = "db-CLITESTRESOURCEID000000001"
USER, PASSWORD = "cli-user", "Cli-Pw-9"


@pytest.fixture
def emu(tmp_path: Path, aws_endpoint_url: str) -> Iterator[SqlServerEmulator]:
    rds = RdsConfig(
        db_instance_identifier="cli-rds",
        dbi_resource_id=DBI,
        region="us-east-1",
        aws_endpoint_url=aws_endpoint_url,
        tlog_backup_interval_seconds=3600.0,
        task_step_seconds=0.02,
    )
    e = SqlServerEmulator(
        tmp_path / "sql",
        [
            InstanceConfig(name="RDS", server_names=[RDS], kind="rds", rds=rds),
            InstanceConfig(name="EC2", server_names=[EC2], kind="ec2"),
        ],
    )
    try:
        yield e
    finally:
        e.close()


@pytest.fixture
def host(emu: SqlServerEmulator, aws_endpoint_url: str) -> Iterator[WinRMHost]:
    # host_env is the emulated instance profile; this test process itself has no AWS endpoint set
    assert "AWS_ENDPOINT_URL" not in os.environ
    env = {
        "AWS_ENDPOINT_URL": aws_endpoint_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    with WsmanServer(make_runner(emu, env), USER, PASSWORD) as server:
        h = host_from_params(
            {
                "winrm_endpoint": server.url,
                "winrm_username": USER,
                "winrm_password": PASSWORD,
                "winrm_transport": "basic",
                "winrm_server_cert_validation": "ignore",
            }
        )
        try:
            yield h
        finally:
            h.close()


def sql(emu: SqlServerEmulator, text: str, server: str = RDS, database: str | None = None) -> list[dict[str, Any]]:
    return emu.execute(server, text, database=database).rows


def test_tlog_fetch_on_the_host_decrypts_what_rds_wrote(
    emu: SqlServerEmulator, host: WinRMHost, aws_endpoint_url: str
) -> None:
    aws = AwsConfig(endpoint_url=aws_endpoint_url)
    bucket = f"ff-{uuid.uuid4().hex[:10]}"
    client("s3", aws).create_bucket(Bucket=bucket)
    key_arn = client("kms", aws).create_key()["KeyMetadata"]["Arn"]
    sql(emu, "CREATE DATABASE [Db1];")
    sql(emu, "CREATE TABLE dbo.T (id INT NOT NULL PRIMARY KEY);", database="Db1")
    sql(emu, "BACKUP DATABASE [Db1] TO DISK = 'D:\\rdsdbdata\\BACKUP\\Db1.bak' WITH INIT;")
    logs = []
    for i in range(11):  # seq 10 and 11 must come after 9, not after 1
        sql(emu, f"INSERT INTO dbo.T (id) VALUES ({i});", database="Db1")
        logs.append(sql(emu, "EXEC rdsadmin.emulator.take_tlog_backup @db_name = 'Db1';")[0])
    sql(emu, f"EXEC msdb.dbo.rds_tlog_copy_setup @target_s3_arn = 'arn:aws:s3:::{bucket}/tlogs';")
    task = sql(
        emu,
        f"EXEC msdb.dbo.rds_tlog_backup_copy_to_S3 @db_name='Db1', @kms_key_arn='{key_arn}', "
        f"@rds_backup_starting_seq_id={logs[0]['rds_backup_seq_id']};",
    )[0]["task_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = sql(emu, f"EXEC msdb.dbo.rds_task_status @task_id = {task};")[0]
        if row["lifecycle"] in ("SUCCESS", "ERROR"):
            break
        time.sleep(0.05)
    assert row["lifecycle"] == "SUCCESS", row["task_info"]
    folder = f"{logs[0]['db_id']}.{logs[0]['family_guid']}"
    seqs = [m["rds_backup_seq_id"] for m in logs]
    result = host.run_dbshift(
        ["tlog", "fetch", f"s3://{bucket}/tlogs/{folder}/", "--start-seq", str(seqs[1]), "--dest", "D:\\ff logs\\Db1"]
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    names = [f"{folder}.{m['rds_backup_seq_id']}.{m['backup_file_epoch']}.out" for m in logs[1:]]
    assert lines == [f"D:\\ff logs\\Db1\\{n}" for n in names]  # numeric seq order, Windows paths
    assert "tlog fetch:" in result.stderr  # progress and summary on stderr, not stdout
    ec2 = emu.instance(EC2).hostfs
    store = emu.instance("RDS").state_dir / "rds" / "tlog"
    previous_last = logs[0]["ending_lsn"]
    for line, meta in zip(lines, logs[1:], strict=True):
        assert ec2.local_path(line).read_bytes() == (store / f"{meta['rds_backup_seq_id']}.trn").read_bytes()
        header = sql(emu, f"RESTORE HEADERONLY FROM DISK = '{line}';", server=EC2)[0]
        assert header["FirstLSN"] == previous_last  # apply order continues the chain
        previous_last = header["LastLSN"]
    # re-entrant: the second run downloads nothing and prints the same files
    again = host.run_dbshift(
        ["tlog", "fetch", f"s3://{bucket}/tlogs/{folder}/", "--start-seq", str(seqs[1]), "--dest", "D:\\ff logs\\Db1"]
    )
    assert again.stdout.splitlines() == lines and f"0 fetched, {len(lines)} already present" in again.stderr
    # a gap: the one-line reason comes back as the DbshiftError
    client("s3", aws).delete_object(Bucket=bucket, Key=f"tlogs/{folder}/{names[3][: -len('.out')]}")
    with pytest.raises(DbshiftError, match=rf"gap .* seq {seqs[4]} missing"):
        host.run_dbshift(["tlog", "fetch", f"s3://{bucket}/tlogs/{folder}/", "--start-seq", "1", "--dest", "D:\\x"])
    failed = host.run_dbshift(["tlog", "fetch", "s3://nope/", "--start-seq", "1", "--dest", "D:\\x"], check=False)
    assert failed.exit_code != 0 and len(failed.stderr.strip().splitlines()) == 1


def test_s3_get_on_the_estate_host(estate: Any) -> None:
    """The estate's own WinRM host (a separate process, env from its config's host_env)."""
    aws = AwsConfig(endpoint_url=estate.aws_endpoint_url, region=estate.region)
    bucket = f"get-{uuid.uuid4().hex[:10]}"
    client("s3", aws).create_bucket(Bucket=bucket)
    body = os.urandom(300_001)
    client("s3", aws).put_object(Bucket=bucket, Key="full/Sales Db.bak", Body=body)
    with WinRMHost(estate.winrm_endpoint, estate.winrm_username, estate.winrm_password, "basic", "ignore") as h:
        result = h.run_dbshift(["s3", "get", f"s3://{bucket}/full/Sales Db.bak", "--dest", "D:\\restore\\Sales"])
    assert result.stdout.strip() == "D:\\restore\\Sales\\Sales Db.bak"
    ec2_fs = HostFs(estate.root / "sqlserver" / "EC2" / "fs")
    assert ec2_fs.local_path(result.stdout.strip()).read_bytes() == body
