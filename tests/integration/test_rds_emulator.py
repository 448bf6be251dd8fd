"""The emulated RDS for SQL Server procedures against a real moto server over HTTP.

The decrypt side of every check is plain boto3 + pycryptodomex: no dbshift code decides whether
what the emulator wrote is what RDS writes.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from Cryptodome.Cipher import AES
from Cryptodome.Util.Padding import unpad

from dbshift.estate.sqlserver import InstanceConfig, RdsConfig, SqlServerEmulator
from dbshift.tsql import SqlError

RDS = "rds.dbshift.test"
EC2 = "ec2.dbshift.test"
DBI = "db-EMULATEDRDSRESOURCEID0001"
REGION = "us-east-1"
EC = {"aws:rds:db-id": DBI}


# ---------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def aws(aws_endpoint_url: str) -> dict[str, Any]:
    kw = {"region_name": REGION, "endpoint_url": aws_endpoint_url}
    s3, kms = boto3.client("s3", **kw), boto3.client("kms", **kw)
    bucket = f"rds-emu-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    key_arn = kms.create_key(Description="rds emulator tests")["KeyMetadata"]["Arn"]
    return {"s3": s3, "kms": kms, "bucket": bucket, "key": key_arn, "url": aws_endpoint_url}


def _emulator(root: Path, aws: dict[str, Any], step: float = 0.03, interval: float = 3600.0) -> SqlServerEmulator:
    rds = RdsConfig(
        db_instance_identifier="dbshift-rds",
        dbi_resource_id=DBI,
        region=REGION,
        aws_endpoint_url=aws["url"],
        tlog_backup_interval_seconds=interval,
        task_step_seconds=step,
    )
    return SqlServerEmulator(
        root,
        [
            InstanceConfig(name="RDS", server_names=[RDS], kind="rds", rds=rds),
            InstanceConfig(name="EC2", server_names=[EC2], kind="ec2"),
        ],
    )


@pytest.fixture
def emu(tmp_path: Path, aws: dict[str, Any]) -> Iterator[SqlServerEmulator]:
    e = _emulator(tmp_path / "sql", aws)
    try:
        yield e
    finally:
        e.close()


def sql(emu: SqlServerEmulator, text: str, server: str = RDS, database: str | None = None) -> list[dict[str, Any]]:
    return emu.execute(server, text, database=database).rows


def make_db(emu: SqlServerEmulator, name: str, rows: int = 3) -> None:
    sql(emu, f"CREATE DATABASE [{name}];")
    sql(emu, "CREATE TABLE dbo.T (id INT NOT NULL PRIMARY KEY, v NVARCHAR(50) NOT NULL);", database=name)
    insert(emu, name, 1, rows)
    # Starts the log chain, as RDS's automated backups do.
    sql(emu, f"BACKUP DATABASE [{name}] TO DISK = 'D:\\rdsdbdata\\BACKUP\\{name}.bak' WITH INIT;")


def insert(emu: SqlServerEmulator, db: str, start: int, count: int) -> None:
    values = ", ".join(f"({i}, N'row {i}')" for i in range(start, start + count))
    sql(emu, f"INSERT INTO dbo.T (id, v) VALUES {values};", database=db)


def take_log(emu: SqlServerEmulator, db: str) -> dict[str, Any]:
    rows = sql(emu, f"EXEC rdsadmin.emulator.take_tlog_backup @db_name = '{db}';")
    assert len(rows) == 1
    return rows[0]


def status(emu: SqlServerEmulator, task_id: int) -> dict[str, Any]:
    rows = sql(emu, f"EXEC msdb.dbo.rds_task_status @task_id = {task_id};")
    assert len(rows) == 1, rows
    return rows[0]


def wait_task(emu: SqlServerEmulator, task_id: int, timeout: float = 15.0) -> tuple[dict[str, Any], list[str]]:
    """Poll rds_task_status like a runbook does; returns the final row and the lifecycles seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = status(emu, task_id)
        if not seen or seen[-1] != row["lifecycle"]:
            seen.append(row["lifecycle"])
        if row["lifecycle"] in ("SUCCESS", "ERROR", "CANCELLED"):
            return row, seen
        time.sleep(0.01)
    raise AssertionError(f"task {task_id} did not finish: {seen}")


def rds_error(excinfo: pytest.ExceptionInfo[SqlError]) -> str:
    return excinfo.value.errors[0].message


def setup_copy(emu: SqlServerEmulator, bucket: str, prefix: str) -> str:
    arn = f"arn:aws:s3:::{bucket}/{prefix}"
    sql(emu, f"EXEC msdb.dbo.rds_tlog_copy_setup @target_s3_arn = '{arn}';")
    return arn


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    out = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in out.get("Contents", []))


def restore_header(emu: SqlServerEmulator, blob: bytes, name: str) -> dict[str, Any]:
    """RESTORE HEADERONLY of `blob` on the EC2 instance (written into its host file system)."""
    path = f"D:\\incoming\\{name}"
    local = emu.instance(EC2).hostfs.local_path(path)
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(blob)
    rows = sql(emu, f"RESTORE HEADERONLY FROM DISK = '{path}';", server=EC2)
    assert len(rows) == 1
    return rows[0]


# ---------------------------------------------------------------------------------------- the done-item
def test_tlog_copy_decrypts_byte_exact_with_plain_kms_and_aes(emu: SqlServerEmulator, aws: dict[str, Any]) -> None:
    s3, kms, bucket, key_arn = aws["s3"], aws["kms"], aws["bucket"], aws["key"]
    make_db(emu, "SalesDb")
    insert(emu, "SalesDb", 100, 5)
    first = take_log(emu, "SalesDb")
    insert(emu, "SalesDb", 200, 7)
    second = take_log(emu, "SalesDb")
    assert second["starting_lsn"] == first["ending_lsn"] and not second["is_log_chain_broken"]

    prefix = f"tlogs-{uuid.uuid4().hex[:6]}"
    setup_copy(emu, bucket, prefix)
    row = sql(
        emu,
        "EXEC msdb.dbo.rds_tlog_backup_copy_to_S3 @db_name = 'SalesDb', "
        f"@kms_key_arn = '{key_arn}', @rds_backup_starting_seq_id = {first['rds_backup_seq_id']}, "
        f"@rds_backup_ending_seq_id = {second['rds_backup_seq_id']};",
    )[0]
    assert row["lifecycle"] == "CREATED" and row["database_name"] == "SalesDb"
    final, seen = wait_task(emu, row["task_id"])
    assert final["lifecycle"] == "SUCCESS", final["task_info"]
    assert seen[0] == "CREATED" and "IN_PROGRESS" in seen

    store = emu.instance(RDS).state_dir / "rds"
    expected = []
    for meta in (first, second):
        folder = f"{meta['db_id']}.{meta['family_guid']}"
        expected.append(f"{prefix}/{folder}/{folder}.{meta['rds_backup_seq_id']}.{meta['backup_file_epoch']}")
    assert list_keys(s3, bucket, prefix) == sorted(expected)

    headers = []
    for meta, key in zip((first, second), expected, strict=True):
        obj = s3.get_object(Bucket=bucket, Key=key)
        md, body = obj["Metadata"], obj["Body"].read()
        assert json.loads(md["x-amz-matdesc"]) == {"kms_cmk_id": key_arn}
        assert md["dbresourceid"] == DBI
        data_key = kms.decrypt(CiphertextBlob=base64.b64decode(md["x-amz-key"]), EncryptionContext=EC)["Plaintext"]
        plain = unpad(AES.new(data_key, AES.MODE_CBC, base64.b64decode(md["x-amz-iv"])).decrypt(body), 16)
        assert len(plain) == meta["file_size_bytes"] == int(md["x-amz-unencrypted-content-length"])
        # Byte-exact: the blob RDS kept when instance.backup_log_to_bytes produced it ...
        assert plain == (store / "tlog" / f"{meta['rds_backup_seq_id']}.trn").read_bytes()
        # ... and SQL Server reads it as that log backup.
        header = restore_header(emu, plain, f"{meta['rds_backup_seq_id']}.trn")
        assert (header["FirstLSN"], header["LastLSN"]) == (meta["starting_lsn"], meta["ending_lsn"])
        assert header["BackupType"] == 2
        headers.append(header)
        with pytest.raises(ClientError) as wrong:
            kms.decrypt(
                CiphertextBlob=base64.b64decode(md["x-amz-key"]),
                EncryptionContext={"aws:rds:db-id": "db-SOMEOTHERINSTANCE00000000"},
            )
        assert wrong.value.response["Error"]["Code"] == "InvalidCiphertextException"
        with pytest.raises(ClientError):
            kms.decrypt(CiphertextBlob=base64.b64decode(md["x-amz-key"]))
    assert headers[0]["LastLSN"] == headers[1]["FirstLSN"]


# ---------------------------------------------------------------------------------------- native backup
def test_backup_database_task_lifecycle_and_overwrite(emu: SqlServerEmulator, aws: dict[str, Any]) -> None:
    s3, bucket = aws["s3"], aws["bucket"]
    make_db(emu, "SalesDb")
    key = f"native-{uuid.uuid4().hex[:6]}/SalesDb.bak"
    arn = f"arn:aws:s3:::{bucket}/{key}"
    call = (
        "EXEC msdb.dbo.rds_backup_database @source_db_name = 'SalesDb', "
        f"@s3_arn_to_backup_to = '{arn}', @overwrite_S3_backup_file = {{ow}}, @type = 'FULL';"
    )
    row = sql(emu, call.format(ow=0))[0]
    assert (row["task_type"], row["lifecycle"], row["S3_object_arn"]) == ("BACKUP_DB", "CREATED", arn)
    final, seen = wait_task(emu, row["task_id"])
    assert final["lifecycle"] == "SUCCESS", final["task_info"]
    assert seen[:2] == ["CREATED", "IN_PROGRESS"] and final["% complete"] == 100
    assert "Task execution has started." in final["task_info"]
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    header = restore_header(emu, body, "SalesDb.bak")
    assert header["BackupType"] == 1 and header["DatabaseName"] == "SalesDb"

    refused, _ = wait_task(emu, sql(emu, call.format(ow=0))[0]["task_id"])
    assert refused["lifecycle"] == "ERROR"
    assert "Please reissue task with correct type and overwrite property" in refused["task_info"]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body

    insert(emu, "SalesDb", 50, 2)
    again, _ = wait_task(emu, sql(emu, call.format(ow=1))[0]["task_id"])
    assert again["lifecycle"] == "SUCCESS" and again["overwrite_s3_backup_file"] == 1
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() != body

    missing = "arn:aws:s3:::no-such-bucket-dbshift/x.bak"
    row = sql(emu, f"EXEC msdb.dbo.rds_backup_database @source_db_name='SalesDb', @s3_arn_to_backup_to='{missing}';")[0]
    failed, _ = wait_task(emu, row["task_id"])
    assert failed["lifecycle"] == "ERROR" and "The specified bucket does not exist" in failed["task_info"]

    with pytest.raises(SqlError) as exc:
        sql(emu, f"EXEC msdb.dbo.rds_backup_database @source_db_name='NoSuchDb', @s3_arn_to_backup_to='{arn}';")
    assert exc.value.number == 911


def test_backup_database_with_kms_is_client_side_encrypted(emu: SqlServerEmulator, aws: dict[str, Any]) -> None:
    s3, kms, bucket, key_arn = aws["s3"], aws["kms"], aws["bucket"], aws["key"]
    make_db(emu, "SalesDb")
    key = f"native-kms-{uuid.uuid4().hex[:6]}/SalesDb.bak"
    row = sql(
        emu,
        "EXEC msdb.dbo.rds_backup_database @source_db_name='SalesDb', "
        f"@s3_arn_to_backup_to='arn:aws:s3:::{bucket}/{key}', @kms_master_key_arn='{key_arn}';",
    )[0]
    final, _ = wait_task(emu, row["task_id"])
    assert final["lifecycle"] == "SUCCESS" and final["KMS_master_key_arn"] == key_arn
    obj = s3.get_object(Bucket=bucket, Key=key)
    md, body = obj["Metadata"], obj["Body"].read()
    assert md["x-amz-wrap-alg"] == "kms" and md["x-amz-cek-alg"] == "AES/CBC/PKCS5Padding"
    matdesc = json.loads(md["x-amz-matdesc"])
    assert matdesc == {"kms_cmk_id": key_arn}
    data_key = kms.decrypt(CiphertextBlob=base64.b64decode(md["x-amz-key-v2"]), EncryptionContext=matdesc)["Plaintext"]
    plain = unpad(AES.new(data_key, AES.MODE_CBC, base64.b64decode(md["x-amz-iv"])).decrypt(body), 16)
    assert len(plain) == int(md["x-amz-unencrypted-content-length"])
    assert restore_header(emu, plain, "SalesDb-kms.bak")["BackupType"] == 1

    bad_key = key_arn.rsplit("/", 1)[0] + "/" + str(uuid.uuid4())
    row = sql(
        emu,
        "EXEC msdb.dbo.rds_backup_database @source_db_name='SalesDb', "
        f"@s3_arn_to_backup_to='arn:aws:s3:::{bucket}/{key}.2', @kms_master_key_arn='{bad_key}';",
    )[0]
    failed, _ = wait_task(emu, row["task_id"])
    assert failed["lifecycle"] == "ERROR" and f"Key {bad_key} does not exist" in failed["task_info"]


def test_task_status_columns_and_filters(emu: SqlServerEmulator, aws: dict[str, Any]) -> None:
    make_db(emu, "A")
    make_db(emu, "B")
    ids = {}
    for db in ("A", "B"):
        arn = f"arn:aws:s3:::{aws['bucket']}/status-{uuid.uuid4().hex[:6]}/{db}.bak"
        ids[db] = sql(emu, f"EXEC msdb.dbo.rds_backup_database @source_db_name='{db}', @s3_arn_to_backup_to='{arn}';")[
            0
        ]["task_id"]
    for task_id in ids.values():
        wait_task(emu, task_id)
    result = emu.execute(RDS, "EXEC msdb.dbo.rds_task_status;")
    assert result.result_sets[0].columns == [
        "task_id",
        "task_type",
        "database_name",
        "% complete",
        "duration(mins)",
        "lifecycle",
        "task_info",
        "last_updated",
        "created_at",
        "S3_object_arn",
        "overwrite_s3_backup_file",
        "KMS_master_key_arn",
        "filepath",
        "overwrite_file",
    ]
    assert [r["task_id"] for r in result.rows] == sorted(ids.values())
    only_b = sql(emu, "EXEC msdb.dbo.rds_task_status @db_name = 'b';")
    assert [r["task_id"] for r in only_b] == [ids["B"]]
    assert sql(emu, f"EXEC msdb.dbo.rds_task_status @db_name = 'A', @task_id = {ids['B']};") == []


# ---------------------------------------------------------------------------------------- TDE certificate
def test_tde_certificate_backup_opens_on_ec2(emu: SqlServerEmulator, aws: dict[str, Any]) -> None:
    s3, kms, bucket, key_arn = aws["s3"], aws["kms"], aws["bucket"], aws["key"]
    cert = "RDSTDECertificate20261122T060000"
    for server in (RDS, EC2):
        sql(emu, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master-key-pw-1';", server=server, database="master")
    sql(emu, f"CREATE CERTIFICATE {cert} WITH SUBJECT = 'RDS TDE certificate';", database="master")
    thumb = sql(emu, f"SELECT thumbprint FROM sys.certificates WHERE name = '{cert}';", database="master")[0]
    prefix = f"tde-{uuid.uuid4().hex[:6]}"
    cer_key, pvk_key = f"{prefix}/cert.cer", f"{prefix}/cert.pvk"
    call = (
        f"EXEC msdb.dbo.rds_backup_tde_certificate @certificate_name = '{cert}', "
        f"@certificate_file_s3_arn = 'arn:aws:s3:::{bucket}/{cer_key}', "
        f"@private_key_file_s3_arn = 'arn:aws:s3:::{bucket}/{pvk_key}', "
        f"@kms_password_key_arn = '{key_arn}', @overwrite_s3_files = {{ow}};"
    )
    final, seen = wait_task(emu, sql(emu, call.format(ow=0))[0]["task_id"])
    assert final["lifecycle"] == "SUCCESS", final["task_info"]
    assert "IN_PROGRESS" in seen

    pvk_obj = s3.get_object(Bucket=bucket, Key=pvk_key)
    wrapped = base64.b64decode(pvk_obj["Metadata"]["rds-tde-pwd"])
    password = base64.b64encode(kms.decrypt(CiphertextBlob=wrapped)["Plaintext"]).decode()
    ec2 = emu.instance(EC2).hostfs
    for key, win in ((cer_key, "D:\\certs\\cert.cer"), (pvk_key, "D:\\certs\\cert.pvk")):
        local = ec2.local_path(win)
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(
            pvk_obj["Body"].read() if key == pvk_key else s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        )

    create = (
        "CREATE CERTIFICATE {name} FROM FILE = 'D:\\certs\\cert.cer' WITH PRIVATE KEY "
        "(FILE = 'D:\\certs\\cert.pvk', DECRYPTION BY PASSWORD = '{pw}');"
    )
    with pytest.raises(SqlError):
        sql(emu, create.format(name="WrongPw", pw="not-the-password"), server=EC2, database="master")
    sql(emu, create.format(name=cert, pw=password), server=EC2, database="master")
    restored = sql(
        emu, f"SELECT thumbprint FROM sys.certificates WHERE name = '{cert}';", server=EC2, database="master"
    )
    assert restored == [thumb]

    refused, _ = wait_task(emu, sql(emu, call.format(ow=0))[0]["task_id"])
    assert refused["lifecycle"] == "ERROR" and "overwrite" in refused["task_info"]
    with pytest.raises(SqlError) as exc:
        sql(emu, call.format(ow=1).replace(".pvk'", ".key'"))
    assert "must be .pvk" in rds_error(exc)


# ---------------------------------------------------------------------------------------- configuration
def test_show_configuration_before_and_after_setup(emu: SqlServerEmulator, aws: dict[str, Any]) -> None:
    before = {r["name"]: r["value"] for r in sql(emu, "EXEC rdsadmin.dbo.rds_show_configuration;")}
    assert "target_s3_arn_for_tlog_copy" not in before and before["S3 backup compression"] == "false"
    for bad, text in (
        ("''", "can't be empty or null"),
        ("'s3://bucket/x'", "must begin with arn:aws"),
    ):
        with pytest.raises(SqlError) as exc:
            sql(emu, f"EXEC msdb.dbo.rds_tlog_copy_setup @target_s3_arn = {bad};")
        assert text in rds_error(exc)
    arn = setup_copy(emu, aws["bucket"], "cfg")
    rows = sql(emu, "EXEC rdsadmin.dbo.rds_show_configuration @name = 'target_s3_arn_for_tlog_copy';")
    assert [(r["name"], r["value"]) for r in rows] == [("target_s3_arn_for_tlog_copy", arn)]
    with pytest.raises(SqlError) as exc:
        setup_copy(emu, aws["bucket"], "cfg")
    assert rds_error(exc) == "The target S3 ARN is already set to the provided value."
    sql(emu, "EXEC rdsadmin.dbo.rds_set_configuration 'S3 backup compression', 'true';")
    after = {r["name"]: r["value"] for r in sql(emu, "EXEC rdsadmin.dbo.rds_show_configuration;")}
    assert after == {"S3 backup compression": "true", "target_s3_arn_for_tlog_copy": arn}


# ---------------------------------------------------------------------------------------- listing and ranges
def test_list_metadata_and_copy_ranges(emu: SqlServerEmulator, aws: dict[str, Any]) -> None:
    s3, bucket = aws["s3"], aws["bucket"]
    make_db(emu, "SalesDb")
    logs = []
    for i in range(4):
        insert(emu, "SalesDb", 1000 + 10 * i, 2)
        logs.append(take_log(emu, "SalesDb"))
    listed = sql(emu, "SELECT * FROM msdb.dbo.rds_fn_list_tlog_backup_metadata('SalesDb') ORDER BY rds_backup_seq_id;")
    assert [r["rds_backup_seq_id"] for r in listed] == [r["rds_backup_seq_id"] for r in logs]
    assert all(r["Error"] is None and not r["is_log_chain_broken"] for r in listed)
    assert all(a["ending_lsn"] == b["starting_lsn"] for a, b in itertools.pairwise(listed))
    one = sql(
        emu,
        "SELECT * FROM msdb.dbo.rds_fn_list_tlog_backup_metadata('SalesDb') "
        f"WHERE rds_backup_seq_id = {logs[2]['rds_backup_seq_id']};",
    )
    assert one == [listed[2]]
    missing = sql(emu, "SELECT * FROM msdb.dbo.rds_fn_list_tlog_backup_metadata('NoSuchDb');")
    assert [r["Error"] for r in missing] == ["Cannot find the given database NoSuchDb."]

    copy = "EXEC msdb.dbo.rds_tlog_backup_copy_to_S3 @db_name = 'SalesDb'"
    with pytest.raises(SqlError) as exc:
        sql(emu, f"{copy}, @rds_backup_starting_seq_id = 1;")
    assert rds_error(exc).startswith("You must run the rds_tlog_copy_setup stored procedure")
    prefix = f"ranges-{uuid.uuid4().hex[:6]}"
    setup_copy(emu, bucket, prefix)
    for args, text in (
        ("", "At least one of these three parameter sets must be provided."),
        (
            ", @starting_lsn = 1, @rds_backup_ending_seq_id = 3",
            "Only one of these three parameter sets can be provided.",
        ),
        (f", @starting_lsn = {logs[2]['starting_lsn']}, @ending_lsn = {logs[0]['ending_lsn']}", "must be less than"),
        (", @rds_backup_starting_seq_id = 999999", "fall outside of the transaction backup log retention period"),
    ):
        with pytest.raises(SqlError) as exc:
            sql(emu, f"{copy}{args};")
        assert text in rds_error(exc)
    with pytest.raises(SqlError) as exc:
        sql(emu, "EXEC msdb.dbo.rds_tlog_backup_copy_to_S3 @db_name = 'msdb', @rds_backup_starting_seq_id = 1;")
    assert "system databases" in rds_error(exc)

    # LSN range from the listing's own columns: backups 2 and 3 (no KMS key: copied as they are).
    row = sql(emu, f"{copy}, @starting_lsn = {logs[1]['starting_lsn']}, @ending_lsn = {logs[2]['ending_lsn']};")[0]
    assert wait_task(emu, row["task_id"])[0]["lifecycle"] == "SUCCESS"
    keys = list_keys(s3, bucket, prefix)
    assert [k.rsplit(".", 2)[-2] for k in keys] == [
        str(logs[1]["rds_backup_seq_id"]),
        str(logs[2]["rds_backup_seq_id"]),
    ]
    body = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
    assert restore_header(emu, body, "plain.trn")["FirstLSN"] == logs[1]["starting_lsn"]

    # Time range: everything up to the last backup's time.
    end = listed[-1]["backup_file_time_utc"]
    row = sql(emu, f"{copy}, @backup_file_end_time = '{str(end).replace('T', ' ')[:19]}';")[0]
    assert wait_task(emu, row["task_id"])[0]["lifecycle"] == "SUCCESS"
    assert len(list_keys(s3, bucket, prefix)) == 4


def test_copy_task_concurrency_limits(tmp_path: Path, aws: dict[str, Any]) -> None:
    emu = _emulator(tmp_path / "sql", aws, step=0.4)
    try:
        for db in ("A", "B", "C"):
            make_db(emu, db)
            take_log(emu, db)
        setup_copy(emu, aws["bucket"], f"conc-{uuid.uuid4().hex[:6]}")
        copy = "EXEC msdb.dbo.rds_tlog_backup_copy_to_S3 @db_name = '{db}', @rds_backup_starting_seq_id = 1;"
        first = sql(emu, copy.format(db="A"))[0]["task_id"]
        with pytest.raises(SqlError) as exc:
            sql(emu, copy.format(db="A"))
        assert rds_error(exc) == (
            f"A T-log backup file copy task has already been issued for database: A with task Id: {first}, "
            "please try again later."
        )
        second = sql(emu, copy.format(db="B"))[0]["task_id"]
        with pytest.raises(SqlError) as exc:
            sql(emu, copy.format(db="C"))
        assert "Only two concurrent tasks" in rds_error(exc)
        # A third task of another type waits in CREATED while two run; it can be cancelled there.
        arn = f"arn:aws:s3:::{aws['bucket']}/conc/C.bak"
        queued = sql(emu, f"EXEC msdb.dbo.rds_backup_database @source_db_name='C', @s3_arn_to_backup_to='{arn}';")
        cancel = sql(emu, f"EXEC msdb.dbo.rds_cancel_task @task_id = {queued[0]['task_id']};")
        assert cancel[0]["lifecycle"] == "CANCEL_REQUESTED"
        assert wait_task(emu, queued[0]["task_id"])[0]["lifecycle"] == "CANCELLED"
        with pytest.raises(ClientError):
            aws["s3"].head_object(Bucket=aws["bucket"], Key="conc/C.bak")
        for task_id in (first, second):
            assert wait_task(emu, task_id)[0]["lifecycle"] == "SUCCESS"
        third = sql(emu, copy.format(db="C"))[0]["task_id"]
        assert wait_task(emu, third)[0]["lifecycle"] == "SUCCESS"
    finally:
        emu.close()


def test_copy_errors_become_error_tasks(emu: SqlServerEmulator, aws: dict[str, Any]) -> None:
    make_db(emu, "SalesDb")
    take_log(emu, "SalesDb")
    setup_copy(emu, "no-such-bucket-dbshift-tlog", "x")
    row = sql(emu, "EXEC msdb.dbo.rds_tlog_backup_copy_to_S3 @db_name='SalesDb', @rds_backup_starting_seq_id=1;")[0]
    final, _ = wait_task(emu, row["task_id"])
    assert final["lifecycle"] == "ERROR" and "There was a permissions error" in final["task_info"]
    assert "NoSuchBucket" in final["task_info"]


# ---------------------------------------------------------------------------------------- timer and restart
def test_automatic_log_backups_and_restart(tmp_path: Path, aws: dict[str, Any]) -> None:
    root = tmp_path / "sql"
    emu = _emulator(root, aws, interval=0.3)
    try:
        make_db(emu, "SalesDb")
        sql(emu, "CREATE DATABASE Scratch;")
        sql(emu, "ALTER DATABASE Scratch SET RECOVERY SIMPLE;")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            insert(emu, "SalesDb", int(time.monotonic() * 1000) % 10_000_000, 1)
            listed = sql(emu, "SELECT * FROM msdb.dbo.rds_fn_list_tlog_backup_metadata('SalesDb');")
            if len(listed) >= 2:
                break
            time.sleep(0.1)
        assert len(listed) >= 2 and listed[1]["starting_lsn"] == listed[0]["ending_lsn"]
        assert sql(emu, "SELECT * FROM msdb.dbo.rds_fn_list_tlog_backup_metadata('Scratch');") == []
    finally:
        emu.close()
    # A task still CREATED when the instance goes down restarts from the beginning, as on RDS.
    slow = _emulator(root, aws, step=5.0)
    key = f"restart-{uuid.uuid4().hex[:6]}/SalesDb.bak"
    try:
        pending = sql(
            slow,
            "EXEC msdb.dbo.rds_backup_database @source_db_name='SalesDb', "
            f"@s3_arn_to_backup_to='arn:aws:s3:::{aws['bucket']}/{key}';",
        )[0]
    finally:
        slow.close()
    reopened = _emulator(root, aws)
    try:
        again = sql(reopened, "SELECT * FROM msdb.dbo.rds_fn_list_tlog_backup_metadata('SalesDb');")
        assert again[: len(listed)] == listed
        assert wait_task(reopened, pending["task_id"])[0]["lifecycle"] == "SUCCESS"
        assert aws["s3"].head_object(Bucket=aws["bucket"], Key=key)["ContentLength"] > 0
    finally:
        reopened.close()


# ---------------------------------------------------------------------------------------- fall forward
def test_native_full_and_copied_logs_restore_on_ec2(emu: SqlServerEmulator, aws: dict[str, Any]) -> None:
    """What the fall-forward runbooks do: RDS full backup + copied log backups -> RESTORE on EC2."""
    s3, kms, bucket, key_arn = aws["s3"], aws["kms"], aws["bucket"], aws["key"]
    make_db(emu, "SalesDb", rows=5)
    prefix = f"ff-{uuid.uuid4().hex[:6]}"
    full_key = f"{prefix}/full/SalesDb.bak"
    row = sql(
        emu,
        "EXEC msdb.dbo.rds_backup_database @source_db_name='SalesDb', "
        f"@s3_arn_to_backup_to='arn:aws:s3:::{bucket}/{full_key}';",
    )[0]
    assert wait_task(emu, row["task_id"])[0]["lifecycle"] == "SUCCESS"
    logs = []
    for i in range(2):
        insert(emu, "SalesDb", 500 + 10 * i, 3)
        logs.append(take_log(emu, "SalesDb"))
    setup_copy(emu, bucket, f"{prefix}/tlogs")
    row = sql(
        emu,
        f"EXEC msdb.dbo.rds_tlog_backup_copy_to_S3 @db_name='SalesDb', @kms_key_arn='{key_arn}', "
        f"@rds_backup_starting_seq_id={logs[0]['rds_backup_seq_id']};",
    )[0]
    assert wait_task(emu, row["task_id"])[0]["lifecycle"] == "SUCCESS"

    ec2 = emu.instance(EC2).hostfs
    full = ec2.local_path("D:\\restore\\SalesDb.bak")
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_bytes(s3.get_object(Bucket=bucket, Key=full_key)["Body"].read())
    files = sql(emu, "RESTORE FILELISTONLY FROM DISK = 'D:\\restore\\SalesDb.bak';", server=EC2)
    moves = ", ".join(
        f"MOVE '{f['LogicalName']}' TO 'D:\\SQLData\\SalesDb_{f['LogicalName']}.{'ldf' if f['Type'] == 'L' else 'mdf'}'"
        for f in files
    )
    sql(emu, f"RESTORE DATABASE SalesDb FROM DISK = 'D:\\restore\\SalesDb.bak' WITH NORECOVERY, {moves};", server=EC2)
    for key in list_keys(s3, bucket, f"{prefix}/tlogs/"):  # names sort by seq id within one database here
        obj = s3.get_object(Bucket=bucket, Key=key)
        md = obj["Metadata"]
        data_key = kms.decrypt(CiphertextBlob=base64.b64decode(md["x-amz-key"]), EncryptionContext=EC)["Plaintext"]
        plain = unpad(AES.new(data_key, AES.MODE_CBC, base64.b64decode(md["x-amz-iv"])).decrypt(obj["Body"].read()), 16)
        path = f"D:\\restore\\{key.rsplit('/', 1)[-1]}.trn"
        ec2.local_path(path).write_bytes(plain)
        sql(emu, f"RESTORE LOG SalesDb FROM DISK = '{path}' WITH NORECOVERY;", server=EC2)
    sql(emu, "RESTORE DATABASE SalesDb WITH RECOVERY;", server=EC2)
    query = "SELECT COUNT(*) AS n, SUM(id) AS s FROM dbo.T;"
    assert sql(emu, query, server=EC2, database="SalesDb") == sql(emu, query, database="SalesDb")
    assert sql(emu, query, server=EC2, database="SalesDb")[0]["n"] == 11


# ---------------------------------------------------------------------------------------- native restore
def backup_to_s3(emu: SqlServerEmulator, bucket: str, db: str, key: str, kms_arn: str | None = None) -> str:
    arn = f"arn:aws:s3:::{bucket}/{key}"
    kms = f", @kms_master_key_arn='{kms_arn}'" if kms_arn else ""
    row = sql(emu, f"EXEC msdb.dbo.rds_backup_database @source_db_name='{db}', @s3_arn_to_backup_to='{arn}'{kms};")[0]
    final, _ = wait_task(emu, row["task_id"])
    assert final["lifecycle"] == "SUCCESS", final["task_info"]
    return arn


def restore_call(db: str, arn: str, extra: str = "") -> str:
    return f"EXEC msdb.dbo.rds_restore_database @restore_db_name='{db}', @s3_arn_to_restore_from='{arn}'{extra};"


def database_state(emu: SqlServerEmulator, db: str) -> str | None:
    rows = sql(emu, f"SELECT state_desc FROM sys.databases WHERE name = '{db}';")
    return rows[0]["state_desc"] if rows else None


def test_restore_database_from_a_kms_encrypted_backup_under_a_new_name(
    emu: SqlServerEmulator, aws: dict[str, Any]
) -> None:
    make_db(emu, "SalesDb", rows=7)
    arn = backup_to_s3(emu, aws["bucket"], "SalesDb", f"restore-{uuid.uuid4().hex[:6]}/SalesDb.bak", aws["key"])
    row = sql(emu, restore_call("SalesCopy", arn, f", @kms_master_key_arn='{aws['key']}', @type='FULL'"))[0]
    assert (row["task_type"], row["database_name"], row["lifecycle"]) == ("RESTORE_DB", "SalesCopy", "CREATED")
    assert (row["S3_object_arn"], row["KMS_master_key_arn"]) == (arn, aws["key"])
    assert database_state(emu, "SalesCopy") is None  # asynchronous: nothing restored yet
    final, seen = wait_task(emu, row["task_id"])
    assert final["lifecycle"] == "SUCCESS", final["task_info"]
    assert seen[:2] == ["CREATED", "IN_PROGRESS"] and final["% complete"] == 100
    assert "RESTORE DATABASE successfully processed" in final["task_info"]

    query = "SELECT COUNT(*) AS n, SUM(id) AS s, MAX(v) AS v FROM dbo.T;"
    assert sql(emu, query, database="SalesCopy") == sql(emu, query, database="SalesDb")
    assert sql(emu, query, database="SalesCopy")[0]["n"] == 7
    assert database_state(emu, "SalesCopy") == "ONLINE"
    files = sql(
        emu,
        "SELECT f.physical_name FROM sys.master_files f JOIN sys.databases d ON d.database_id = f.database_id "
        "WHERE d.name = 'SalesCopy' ORDER BY f.file_id;",
    )
    assert [f["physical_name"] for f in files] == [
        "D:\\rdsdbdata\\DATA\\SalesCopy.mdf",
        "D:\\rdsdbdata\\DATA\\SalesCopy_log.ldf",
    ]
    insert(emu, "SalesCopy", 100, 1)  # the copy is a database of its own
    assert sql(emu, "SELECT COUNT(*) AS n FROM dbo.T;", database="SalesDb")[0]["n"] == 7
    backup_dir = emu.instance(RDS).hostfs.local_path("D:\\rdsdbdata\\BACKUP")
    assert not [p.name for p in backup_dir.iterdir() if p.name.startswith("rds_restore")]  # temp file removed
    assert [r["task_id"] for r in sql(emu, "EXEC msdb.dbo.rds_task_status @db_name='SalesCopy';")] == [row["task_id"]]

    tasks = len(sql(emu, "EXEC msdb.dbo.rds_task_status;"))
    for name in ("SalesCopy", "salesdb"):  # existing names, compared case-insensitively, are refused
        with pytest.raises(SqlError) as exc:
            sql(emu, restore_call(name, arn, f", @kms_master_key_arn='{aws['key']}'"))
        assert exc.value.number == 50000 and f"Database '{name}' already exists" in rds_error(exc)
    assert len(sql(emu, "EXEC msdb.dbo.rds_task_status;")) == tasks


def test_restore_database_errors_and_norecovery(emu: SqlServerEmulator, aws: dict[str, Any]) -> None:
    bucket, key_arn = aws["bucket"], aws["key"]
    make_db(emu, "SalesDb", rows=4)
    prefix = f"restore-err-{uuid.uuid4().hex[:6]}"
    encrypted = backup_to_s3(emu, bucket, "SalesDb", f"{prefix}/enc.bak", key_arn)
    plain = backup_to_s3(emu, bucket, "SalesDb", f"{prefix}/plain.bak")
    other_key = aws["kms"].create_key(Description="not the backup's key")["KeyMetadata"]["Arn"]
    missing_key = key_arn.rsplit("/", 1)[0] + "/" + str(uuid.uuid4())

    cases = [
        ("NoKey", encrypted, "", "pass that key as @kms_master_key_arn"),
        ("OtherKey", encrypted, f", @kms_master_key_arn='{other_key}'", f"the file is encrypted with {key_arn}"),
        ("MissingKey", encrypted, f", @kms_master_key_arn='{missing_key}'", f"Key {missing_key} does not exist"),
        ("NoObject", f"arn:aws:s3:::{bucket}/{prefix}/none.bak", "", "The specified key does not exist"),
        ("NoBucket", "arn:aws:s3:::no-such-bucket-dbshift/x.bak", "", "The specified bucket does not exist"),
    ]
    for db, arn, extra, text in cases:
        final, _ = wait_task(emu, sql(emu, restore_call(db, arn, extra))[0]["task_id"])
        assert final["lifecycle"] == "ERROR" and text in final["task_info"], (db, final["task_info"])
        assert database_state(emu, db) is None

    row = sql(emu, restore_call("Staged", plain, ", @with_norecovery=1"))[0]
    assert row["task_type"] == "RESTORE_DB_NORECOVERY"
    assert wait_task(emu, row["task_id"])[0]["lifecycle"] == "SUCCESS"
    assert database_state(emu, "Staged") == "RESTORING"
    sql(emu, "RESTORE DATABASE Staged WITH RECOVERY;")
    assert sql(emu, "SELECT COUNT(*) AS n FROM dbo.T;", database="Staged")[0]["n"] == 4

    refusals = [
        (restore_call("X", ""), "S3 ARN prefix cannot be empty"),
        (restore_call("X", plain, ", @type='DIFFERENTIAL', @with_norecovery=1"), "@type='FULL' only"),
        (restore_call("X", plain, ", @with_norecovery=1, @keep_cdc=1"), "NORECOVERY and KEEP_CDC"),
        (restore_call("X", plain, ", @data_file_volume='H:'"), "no additional storage volume H:"),
        (restore_call("", plain), "@restore_db_name can't be empty"),
    ]
    tasks = len(sql(emu, "EXEC msdb.dbo.rds_task_status;"))
    for call, text in refusals:
        with pytest.raises(SqlError) as exc:
            sql(emu, call)
        assert text in rds_error(exc), call
    assert len(sql(emu, "EXEC msdb.dbo.rds_task_status;")) == tasks
