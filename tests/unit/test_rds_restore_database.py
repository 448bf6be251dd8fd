"""msdb.dbo.rds_restore_database of the emulated RDS: file placement, decryption and the refusals at submit time.

KMS is the real moto server over HTTP; the encrypt side of the decryption checks is boto3 + `cryptography`, not
dbshift. The full task flow against S3 is in tests/integration/test_rds_emulator.py.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from dbshift.estate.sqlserver import InstanceConfig, RdsConfig, SqlServerEmulator
from dbshift.estate.sqlserver.backupfile import BackupFileEntry
from dbshift.estate.sqlserver.rds_restore import (
    RestoreRequest,
    decrypt_backup,
    file_moves,
    kms_region,
    write_temp_backup,
)
from dbshift.estate.sqlserver.rds_tasks import TaskFailed
from dbshift.tsql import SqlError

RDS = "rds.unit.test"
REGION = "us-east-1"


# ---------------------------------------------------------------------------------------- helpers
def test_files_go_to_the_data_directory_under_the_new_name() -> None:
    files = [
        BackupFileEntry("Sales_log", "E:\\old\\Sales_log.ldf", "L", 2),
        BackupFileEntry("Sales", "E:\\old\\Sales.mdf", "D", 1),
        BackupFileEntry("Sales_2", "E:\\old\\Sales_2.ndf", "D", 3),
        BackupFileEntry("Sales_log2", "E:\\old\\Sales_log2.ldf", "L", 4),
    ]
    assert file_moves(files, "Copy", "D:\\rdsdbdata\\DATA") == {
        "sales": "D:\\rdsdbdata\\DATA\\Copy.mdf",
        "sales_log": "D:\\rdsdbdata\\DATA\\Copy_log.ldf",
        "sales_2": "D:\\rdsdbdata\\DATA\\Copy_3.ndf",
        "sales_log2": "D:\\rdsdbdata\\DATA\\Copy_log_4.ldf",
    }


def test_kms_region_and_request_round_trip(tmp_path: Path) -> None:
    assert kms_region("arn:aws:kms:us-west-2:123456789012:key/abc", REGION) == "us-west-2"
    assert kms_region("arn:aws-us-gov:kms:us-gov-west-1:1:key/abc", REGION) == "us-gov-west-1"
    assert kms_region("alias/backups", "eu-west-1") == "eu-west-1"
    req = RestoreRequest("Db", "arn:aws:s3:::b/k.bak", None, True, False)
    assert RestoreRequest.from_json(json.loads(json.dumps(req.to_json()))) == req
    assert req.task_type == "RESTORE_DB_NORECOVERY"
    assert RestoreRequest("Db", "arn:aws:s3:::b/k.bak", None, False, True).task_type == "RESTORE_DB"

    name = write_temp_backup(tmp_path, 7, b"backup bytes")
    assert sorted(p.name for p in tmp_path.iterdir()) == [name] and name.endswith(".bak")
    assert (tmp_path / name).read_bytes() == b"backup bytes"


# ---------------------------------------------------------------------------------------- decryption
@pytest.fixture(scope="module")
def kms(aws_endpoint_url: str) -> Any:
    return boto3.client("kms", region_name=REGION, endpoint_url=aws_endpoint_url)


def _encrypt_like_the_s3_encryption_client(kms: Any, key_arn: str, plain: bytes) -> tuple[bytes, dict[str, str]]:
    matdesc = {"kms_cmk_id": key_arn}
    dk = kms.generate_data_key(KeyId=key_arn, KeySpec="AES_256", EncryptionContext=matdesc)
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(dk["Plaintext"]), modes.CBC(iv)).encryptor()
    body = enc.update(padder.update(plain) + padder.finalize()) + enc.finalize()
    return body, {
        "x-amz-key-v2": base64.b64encode(dk["CiphertextBlob"]).decode(),
        "x-amz-iv": base64.b64encode(iv).decode(),
        "x-amz-wrap-alg": "kms",
        "x-amz-cek-alg": "AES/CBC/PKCS5Padding",
        "x-amz-matdesc": json.dumps(matdesc),
        "x-amz-unencrypted-content-length": str(len(plain)),
    }


def test_decrypt_backup_needs_the_key_that_wrapped_it(kms: Any) -> None:
    key = kms.create_key(Description="backup key")["KeyMetadata"]["Arn"]
    other = kms.create_key(Description="another key")["KeyMetadata"]["Arn"]
    plain = os.urandom(5000)
    body, meta = _encrypt_like_the_s3_encryption_client(kms, key, plain)
    assert decrypt_backup(body, meta, kms, key, "arn:aws:s3:::b/k.bak") == plain

    with pytest.raises(TaskFailed, match=f"with {other} .*the file is encrypted with {key}"):
        decrypt_backup(body, meta, kms, other, "arn:aws:s3:::b/k.bak")
    with pytest.raises(TaskFailed, match="the object says 4999; it is damaged"):
        decrypt_backup(body, {**meta, "x-amz-unencrypted-content-length": "4999"}, kms, key, "arn:aws:s3:::b/k.bak")
    with pytest.raises(TaskFailed, match="encryption metadata is damaged"):
        decrypt_backup(body, {k: v for k, v in meta.items() if k != "x-amz-iv"}, kms, key, "arn:aws:s3:::b/k.bak")
    with pytest.raises(TaskFailed, match="does not decrypt under its data key"):
        decrypt_backup(body[:-16] + bytes(16), meta, kms, key, "arn:aws:s3:::b/k.bak")


# ---------------------------------------------------------------------------------------- the procedure
@pytest.fixture
def emu(tmp_path: Path, aws_endpoint_url: str) -> Iterator[SqlServerEmulator]:
    # Long task steps: a task stays CREATED long enough to be seen pending and cancelled.
    rds = RdsConfig("dbshift-rds", "db-UNITRESTORE", REGION, aws_endpoint_url, task_step_seconds=1.0)
    e = SqlServerEmulator(tmp_path / "sql", [InstanceConfig(name="RDS", server_names=[RDS], kind="rds", rds=rds)])
    try:
        yield e
    finally:
        e.close()


def _sql(emu: SqlServerEmulator, text: str) -> list[dict[str, Any]]:
    return emu.execute(RDS, text).rows


def _restore(emu: SqlServerEmulator, db: str, arn: str = "arn:aws:s3:::bucket/x.bak", extra: str = "") -> Any:
    return _sql(
        emu, f"EXEC msdb.dbo.rds_restore_database @restore_db_name='{db}', @s3_arn_to_restore_from='{arn}'{extra};"
    )


def test_refusals_create_no_task(emu: SqlServerEmulator) -> None:
    _sql(emu, "CREATE DATABASE Existing;")
    cases = [
        ("existing", "arn:aws:s3:::bucket/x.bak", "", "Database 'existing' already exists. Two databases that differ"),
        ("New", "", "", "S3 ARN prefix cannot be empty"),
        ("New", "s3://bucket/x.bak", "", "is not an Amazon S3 ARN"),
        ("New", "arn:aws:s3:::bucket/x*", "", "single-file backups only"),
        ("New", "arn:aws:s3:::bucket/x.bak", ", @type='LOG'", "Invalid @type 'LOG'"),
        ("New", "arn:aws:s3:::bucket/x.bak", ", @type='differential'", "@type='FULL' only"),
        ("New", "arn:aws:s3:::bucket/x.bak", ", @with_norecovery=1, @keep_cdc=1", "NORECOVERY and KEEP_CDC"),
        ("New", "arn:aws:s3:::bucket/x.bak", ", @with_norecovery=2", "@with_norecovery must be 0 or 1"),
        ("New", "arn:aws:s3:::bucket/x.bak", ", @log_file_volume='Z:'", "Invalid @log_file_volume 'Z:'"),
        ("New", "arn:aws:s3:::bucket/x.bak", ", @data_file_volume='J:'", "no additional storage volume J:"),
    ]
    for db, arn, extra, text in cases:
        with pytest.raises(SqlError) as exc:
            _restore(emu, db, arn, extra)
        detail = exc.value.errors[0]
        assert (detail.number, detail.procedure) == (50000, "rds_restore_database")
        assert text in detail.message, (db, arn, extra, detail.message)
    assert _sql(emu, "EXEC msdb.dbo.rds_task_status;") == []


def test_a_pending_restore_holds_its_name_and_can_be_cancelled(emu: SqlServerEmulator) -> None:
    arn = f"arn:aws:s3:::bucket-{uuid.uuid4().hex[:6]}/x.bak"
    row = _restore(emu, "Pending", arn)[0]
    assert (row["task_type"], row["lifecycle"], row["S3_object_arn"]) == ("RESTORE_DB", "CREATED", arn)
    with pytest.raises(SqlError, match=rf"restore task \({row['task_id']}\) for database 'Pending' is already pending"):
        _restore(emu, "pending", arn)
    _sql(emu, f"EXEC msdb.dbo.rds_cancel_task @task_id={row['task_id']};")
    deadline = time.monotonic() + 10
    while (state := _sql(emu, f"EXEC msdb.dbo.rds_task_status @task_id={row['task_id']};")[0])["lifecycle"] not in (
        "CANCELLED",
        "ERROR",
        "SUCCESS",
    ) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state["lifecycle"] == "CANCELLED"
    assert _sql(emu, "SELECT name FROM sys.databases WHERE name = 'Pending';") == []
    again = _restore(emu, "Pending", arn)[0]  # the name is free again once the task has ended
    assert again["task_id"] == row["task_id"] + 1
