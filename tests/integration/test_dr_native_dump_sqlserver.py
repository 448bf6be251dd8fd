"""DR option D for RDS for SQL Server against the estate: the RDS emulator's msdb.dbo.rds_backup_database writes a
KMS-encrypted native backup to a us-east-1 bucket; dbshift rewraps its data key under a us-west-2 key and copies
it server side to a us-west-2 bucket; rds_restore_database restores it on the target instance.

The emulator has one RDS instance: it is both source and target, and the restore goes under a new database name.
The test decrypts both objects itself (KMS + AES-CBC, as the S3 encryption client does) to show that the copy is
the same backup, readable only through the target Region's key.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from Cryptodome.Cipher import AES
from Cryptodome.Util.Padding import unpad

from dbshift.aws.clients import AwsConfig, client
from dbshift.dr import Clients, native_dump_core, native_dump_sqlserver, runbook
from dbshift.dr.native_dump_sqlserver import Locations, TdsSession
from dbshift.errors import ConfigError

pytestmark = pytest.mark.estate

SOURCE_REGION, TARGET_REGION = "us-east-1", "us-west-2"
MARK = "needle-7f3a-plaintext"
BACKUP_MAGIC = b"DBSHIFT-EMULATED-BACKUP"


@dataclass
class Setup:
    session: TdsSession
    endpoint_url: str
    dsn: str
    source_bucket: str
    source_key: str
    target_bucket: str
    target_key: str
    database: str

    def aws(self, region: str) -> AwsConfig:
        return AwsConfig(region=region, endpoint_url=self.endpoint_url)

    def loc(self, key: str, target_database: str = "", **kw) -> Locations:
        values = dict(
            database=self.database,
            target_database=target_database or f"{self.database}_dr",
            source_region=SOURCE_REGION,
            source_bucket=self.source_bucket,
            source_kms_key_arn=self.source_key,
            target_region=TARGET_REGION,
            target_bucket=self.target_bucket,
            target_kms_key_arn=self.target_key,
            key=key,
        )
        return Locations(**{**values, **kw})

    def sql(self, text: str, database: str | None = None):
        return self.session.execute(text, database or self.database).rows

    def counts(self, database: str) -> dict[str, int]:
        return {
            "dbo.items": self.sql("SELECT COUNT(*) AS n FROM dbo.items", database)[0]["n"],
            "dbo.empty one": self.sql("SELECT COUNT(*) AS n FROM dbo.[empty one]", database)[0]["n"],
        }

    def tasks(self) -> list[dict]:
        return self.session.execute("EXEC msdb.dbo.rds_task_status;").rows


@pytest.fixture(scope="module")
def setup(estate) -> Iterator[Setup]:
    session = TdsSession(estate.tds_endpoints["rds"], estate.rds_login, estate.rds_password)
    database = f"DrNd_{uuid.uuid4().hex[:8]}"
    session.execute(f"CREATE DATABASE [{database}]")
    session.execute(
        "CREATE TABLE dbo.items (id INT PRIMARY KEY, name NVARCHAR(50) NOT NULL, note NVARCHAR(100) NULL); "
        "CREATE TABLE dbo.[empty one] (k INT NULL);",
        database,
    )
    values = ", ".join(
        f"({i}, N'item {i} {MARK}', {'NULL' if i % 3 == 0 else 'N' + repr(f'n{i}')})" for i in range(1, 201)
    )
    session.execute(f"INSERT INTO dbo.items VALUES {values}", database)
    east, west = AwsConfig(SOURCE_REGION, estate.aws_endpoint_url), AwsConfig(TARGET_REGION, estate.aws_endpoint_url)
    source_bucket, target_bucket = f"dr-mssql-src-{uuid.uuid4().hex[:6]}", f"dr-mssql-tgt-{uuid.uuid4().hex[:6]}"
    client("s3", east).create_bucket(Bucket=source_bucket)
    client("s3", west).create_bucket(
        Bucket=target_bucket, CreateBucketConfiguration={"LocationConstraint": TARGET_REGION}
    )
    login, password = quote(estate.rds_login, safe=""), quote(estate.rds_password, safe="")
    dsn = f"mssql://{login}:{password}@{estate.tds_endpoints['rds']}"
    yield Setup(
        session,
        estate.aws_endpoint_url,
        dsn,
        source_bucket,
        client("kms", east).create_key(Description="source key")["KeyMetadata"]["Arn"],
        target_bucket,
        client("kms", west).create_key(Description="target key")["KeyMetadata"]["Arn"],
        database,
    )


def _decrypt(setup: Setup, region: str, bucket: str, key: str) -> tuple[bytes, dict[str, str], dict]:
    """(plaintext, material description, head) of an S3-encryption-client object, decrypted by the test itself."""
    s3, kms = client("s3", setup.aws(region)), client("kms", setup.aws(region))
    obj = s3.get_object(Bucket=bucket, Key=key)
    meta, body = obj["Metadata"], obj["Body"].read()
    matdesc = json.loads(meta["x-amz-matdesc"])
    data_key = kms.decrypt(CiphertextBlob=base64.b64decode(meta["x-amz-key-v2"]), EncryptionContext=matdesc)
    cipher = AES.new(data_key["Plaintext"], AES.MODE_CBC, base64.b64decode(meta["x-amz-iv"]))
    plain = unpad(cipher.decrypt(body), 16)
    assert len(plain) == int(meta["x-amz-unencrypted-content-length"])
    return plain, matdesc, s3.head_object(Bucket=bucket, Key=key) | {"Body": body}


def test_backup_copied_to_the_target_region_under_the_target_key_and_rerun(setup: Setup) -> None:
    loc = setup.loc("rds/items.bak")
    first = native_dump_sqlserver.backup_and_copy(setup.session, loc, setup.endpoint_url, timeout=60, poll=0.2)
    assert first.changed and first.task_id is not None
    assert first.rows == setup.counts(setup.database) == {"dbo.items": 200, "dbo.empty one": 0}

    src_plain, src_desc, src = _decrypt(setup, SOURCE_REGION, setup.source_bucket, loc.key)
    tgt_plain, tgt_desc, tgt = _decrypt(setup, TARGET_REGION, setup.target_bucket, loc.key)
    assert src_desc == {"kms_cmk_id": setup.source_key} and tgt_desc == {"kms_cmk_id": setup.target_key}
    assert tgt_plain == src_plain and tgt["Body"] == src["Body"]  # the same backup, copied server side
    assert src_plain.startswith(BACKUP_MAGIC)  # the emulator's native backup format...
    for blob in (src["Body"], tgt["Body"]):  # ...never in S3 in the clear
        assert BACKUP_MAGIC not in blob and MARK.encode() not in blob and MARK.encode("utf-16-le") not in blob
    assert tgt["ServerSideEncryption"] == "aws:kms" and tgt["SSEKMSKeyId"].endswith(setup.target_key.split("/")[-1])
    manifest = (
        client("s3", setup.aws(TARGET_REGION))
        .get_object(Bucket=setup.target_bucket, Key=loc.key + native_dump_core.MANIFEST_SUFFIX)["Body"]
        .read()
    )
    assert b"dbo.items" not in manifest and b"empty one" not in manifest
    # The target Region's copy does not depend on the source key: its data key is wrapped by the target key only.
    with pytest.raises(Exception, match=r"InvalidCiphertext|NotFound|AccessDenied"):
        client("kms", setup.aws(SOURCE_REGION)).decrypt(
            CiphertextBlob=base64.b64decode(tgt["Metadata"]["x-amz-key-v2"]), EncryptionContext=tgt_desc
        )

    tasks = len(setup.tasks())
    again = native_dump_sqlserver.backup_and_copy(setup.session, loc, setup.endpoint_url, timeout=60, poll=0.2)
    assert not again.changed and len(setup.tasks()) == tasks  # no second backup task
    assert (
        client("s3", setup.aws(TARGET_REGION)).head_object(Bucket=setup.target_bucket, Key=loc.key)["ETag"]
        == (tgt["ETag"])
    )

    setup.sql("UPDATE dbo.items SET note = N'changed' WHERE id = 5")  # same counts, other content
    try:
        third = native_dump_sqlserver.backup_and_copy(setup.session, loc, setup.endpoint_url, timeout=60, poll=0.2)
        assert third.changed and third.task_id != first.task_id
        assert _decrypt(setup, TARGET_REGION, setup.target_bucket, loc.key)[0] != tgt_plain
    finally:
        setup.sql("UPDATE dbo.items SET note = N'n5' WHERE id = 5")


def test_refusals_before_any_task_is_started(setup: Setup) -> None:
    tasks = len(setup.tasks())
    east_key_for_target = setup.loc("rds/x.bak", target_kms_key_arn=setup.source_key)
    with pytest.raises(ConfigError, match="is a key in us-east-1, but the copy is made in us-west-2"):
        native_dump_sqlserver.backup_and_copy(setup.session, east_key_for_target, setup.endpoint_url)
    with pytest.raises(ConfigError, match=f"bucket {setup.target_bucket} is in region us-west-2, not the target"):
        native_dump_sqlserver.backup_and_copy(
            setup.session, setup.loc("rds/x.bak", source_bucket=setup.target_bucket), setup.endpoint_url
        )
    with pytest.raises(native_dump_core.NativeDumpError, match="SQL Server database 'DrNd_missing'"):
        native_dump_sqlserver.backup_and_copy(setup.session, setup.loc("rds/x.bak", database="DrNd_missing"),
                                              setup.endpoint_url)  # fmt: skip
    with pytest.raises(native_dump_core.NativeDumpError, match="no SQL Server manifest"):
        native_dump_sqlserver.restore_and_verify(setup.session, setup.loc("rds/never.bak"), setup.endpoint_url)
    assert len(setup.tasks()) == tasks
    assert native_dump_sqlserver.answers(setup.dsn, setup.database)
    assert not native_dump_sqlserver.answers(setup.dsn.replace("@", "x@", 1), setup.database)
    assert runbook.dsn_engine(setup.dsn) == "sqlserver"


def test_runbook_restores_under_a_new_name_and_verifies(setup: Setup) -> None:
    target = f"{setup.database}_restored"
    p = {
        "source_dsn": setup.dsn,
        "target_dsn": setup.dsn,
        "database": setup.database,
        "target_database": target,
        "dump_bucket": setup.target_bucket,
        "kms_key_arn": setup.target_key,
        "source_dump_bucket": setup.source_bucket,
        "source_kms_key_arn": setup.source_key,
        "dump_key": "rds/runbook.bak",
        "target_region": TARGET_REGION,
        "source_region": SOURCE_REGION,
        "source_instance_id": "rds-sqlserver",
        "endpoint_url": setup.endpoint_url,
        "wait_timeout": 60,
        "poll_interval": 0.2,
    }
    clients = Clients(AwsConfig(endpoint_url=setup.endpoint_url))

    def written() -> tuple:
        east, west = client("s3", setup.aws(SOURCE_REGION)), client("s3", setup.aws(TARGET_REGION))
        return (
            len(setup.tasks()),
            [o["ETag"] for o in east.list_objects_v2(Bucket=setup.source_bucket).get("Contents", [])],
            [o["ETag"] for o in west.list_objects_v2(Bucket=setup.target_bucket).get("Contents", [])],
            sorted(r["name"] for r in setup.session.execute("SELECT name FROM sys.databases").rows),
        )

    def check(params: dict = p) -> dict:
        before = written()
        planned = runbook.plan(clients, params, "native_dump", {})
        assert written() == before  # check mode: no task, no object, no database
        return planned

    first = check()
    assert first["changed"] and first["status"] == "would_dump" and first["engine"] == "sqlserver"
    assert first["steps"] == [
        f"would back up and copy: s3://{setup.target_bucket}/rds/runbook.bak: no manifest (no finished copy)",
        f"would restore: target database {target!r} does not exist: it is restored from "
        f"s3://{setup.target_bucket}/rds/runbook.bak",
    ]
    result = runbook.native_dump(p)
    assert result["changed"] and result["engine"] == "sqlserver" and result["instance_id"] == target
    assert result["rows"] == setup.counts(setup.database) == setup.counts(target)
    after = check()
    assert not after["changed"] and after["status"] == "restored", after["steps"]
    tasks = len(setup.tasks())
    assert not runbook.native_dump(p)["changed"] and len(setup.tasks()) == tasks

    setup.sql("UPDATE dbo.items SET note = N'planned' WHERE id = 7")  # same counts, other content
    try:
        other = check({**p, "target_database": f"{setup.database}_other"})
        assert other["changed"] and other["status"] == "would_dump"
        assert (
            other["steps"][0].startswith("would back up and copy: ") and "dbo.items: content hash" in other["steps"][0]
        )
        with pytest.raises(native_dump_core.NativeDumpError, match=r"exists and differs .*cannot overwrite"):
            check()  # the real run would back up, copy, then refuse to overwrite the target: refused now
    finally:
        setup.sql("UPDATE dbo.items SET note = N'n7' WHERE id = 7")
