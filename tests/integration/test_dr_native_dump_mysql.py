"""DR option D for MySQL/MariaDB, for real: a MariaDB server of the test's own on 127.0.0.1 → mysqldump
--single-transaction → zstd/gzip → AES-GCM under a us-west-2 KMS key → emulated S3 (moto server) → the mysql
client into another database, verified against the manifest.

The source has NULLs, 6 MB of incompressible binary (the upload has several parts), text with tabs, newlines,
quotes, backslashes and non-ASCII, DECIMAL, DOUBLE, DATETIME, JSON, BIT, an empty table, a table whose name
needs quoting, and a view, a trigger, a procedure, a function and an event. Equality is checked with the test's
own fingerprint (every row as the mysql client prints it, sorted, hashed in Python), not the library's hash.
The server (tests/mysql_server.py) is administered through its socket as root; dbshift connects over TCP with a
password user.
"""

# ruff: noqa: F811 - the fixture mariadb is imported from mysql_server, and a fixture names it

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import pytest
from mysql_server import PASSWORD, MariaDb, fingerprint, mariadb, url_quote  # noqa: F401 (a fixture)

from dbshift.aws.clients import AwsConfig, client
from dbshift.dr import Clients, envelope_stream, native_dump_core, native_dump_mysql, runbook
from dbshift.errors import ConfigError

REGION = "us-west-2"

SOURCE_SQL = r"""
CREATE TABLE items (
  id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, note TEXT, price DECIMAL(14,4), ratio DOUBLE,
  created DATETIME(3), flag BIT(3), doc JSON, latin VARCHAR(20) CHARACTER SET latin1
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE blobs (k BIGINT PRIMARY KEY, payload LONGBLOB NOT NULL) ENGINE=InnoDB;
CREATE TABLE `odd ``name`` tbl` (a INT NULL, b VARCHAR(10) NULL) ENGINE=InnoDB;
CREATE TABLE empty_one (id INT) ENGINE=InnoDB;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, item INT) ENGINE=InnoDB;
CREATE TRIGGER items_ai AFTER INSERT ON items FOR EACH ROW INSERT INTO audit (item) VALUES (NEW.id);
CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 0;
CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
CREATE PROCEDURE bump(IN n INT) UPDATE items SET ratio = ratio + n WHERE id = 1;
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit WHERE id < 0;
INSERT INTO `odd ``name`` tbl` VALUES (NULL, 'NULL'), (1, ''), (2, NULL);
"""


def _note(i: int) -> str:
    """items.note of row i as an SQL literal: newline, quotes, tab, backslash, non-ASCII (NULL every 7th)."""
    return "NULL" if i % 7 == 0 else '\'line one\\nline "two"\\ttab \\\\ back ünï ' + "x" * (i % 13) + "'"


def _seed(db: MariaDb, name: str) -> None:
    db.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    rows = []
    for i in range(1, 1501):
        note = _note(i)
        price = "NULL" if i % 5 == 0 else f"{i * 1.2345 - 1000:.4f}"
        ratio = "NULL" if i % 11 == 0 else repr(i / 7.0)
        flag = "NULL" if i % 4 == 0 else f"b'{i % 8:03b}'"
        rows.append(
            f"({i}, 'item {i}', {note}, {price}, {ratio}, '2024-01-01 00:00:00' + INTERVAL {i * 37} MINUTE, "
            f'{flag}, \'{{"i": {i}, "t": "multi\\\\nline"}}\', \'caf\u00e9 {i}\')'
        )
    blobs = ",".join(f"({k}, RANDOM_BYTES(1024))" for k in range(1, 6001))  # ~6 MB incompressible
    db.sql(SOURCE_SQL + f"INSERT INTO items VALUES {','.join(rows)};INSERT INTO blobs VALUES {blobs};", name)


def objects(db: MariaDb, database: str) -> dict[str, list[str]]:
    """Views, triggers, routines and events, with definers."""
    q = {
        "views": f"SELECT TABLE_NAME, DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '{database}'",
        "triggers": f"SELECT TRIGGER_NAME, DEFINER FROM information_schema.TRIGGERS "
        f"WHERE TRIGGER_SCHEMA = '{database}'",
        "routines": f"SELECT ROUTINE_NAME, DEFINER FROM information_schema.ROUTINES "
        f"WHERE ROUTINE_SCHEMA = '{database}'",
        "events": f"SELECT EVENT_NAME, DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '{database}'",
    }
    return {k: sorted(" ".join(r) for r in db.sql(v + " ORDER BY 1")) for k, v in q.items()}


@dataclass
class Setup:
    db: MariaDb
    aws: AwsConfig
    bucket: str
    key_arn: str
    source: str

    def s3(self):
        return client("s3", self.aws)

    def dump(self, key: str, **kw) -> native_dump_core.DumpResult:
        return native_dump_mysql.dump_to_s3(self.db.dsn, self.source, self.bucket, key, self.key_arn, self.aws, **kw)

    def restore(self, key: str, target: str, **kw) -> native_dump_core.RestoreResult:
        return native_dump_mysql.restore_from_s3(self.bucket, key, self.db.dsn, target, self.aws, **kw)

    def stored(self, key: str) -> bytes:
        return self.s3().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def object_keys(self) -> list[str]:
        return [o["Key"] for o in self.s3().list_objects_v2(Bucket=self.bucket).get("Contents", [])]


@pytest.fixture(scope="module")
def setup(mariadb: MariaDb, aws_endpoint_url: str) -> Setup:
    aws = AwsConfig(region=REGION, endpoint_url=aws_endpoint_url)
    bucket = f"dr-mysql-{uuid.uuid4().hex[:8]}"
    client("s3", aws).create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    key_arn = client("kms", aws).create_key(Description="dr target key")["KeyMetadata"]["Arn"]
    source = "dr_src"
    _seed(mariadb, source)
    return Setup(mariadb, aws, bucket, key_arn, source)


def _target() -> str:
    return f"dr_tgt_{uuid.uuid4().hex[:8]}"


def test_dump_restore_verify_and_rerun(setup: Setup, capsys: pytest.CaptureFixture) -> None:
    key = "mysql/zstd/src.sql"
    first = setup.dump(key, compress="zstd", part_size=5 << 20)
    assert first.changed
    source = fingerprint(setup.db, setup.source)
    assert first.rows == {t: n for t, (n, _) in source.items()}
    assert first.rows["items"] == 1500 and first.rows["audit"] == 1500 and first.rows["empty_one"] == 0
    assert first.rows["odd `name` tbl"] == 3

    stored = setup.stored(key)
    assert len(stored) == first.bytes and stored.startswith(envelope_stream.MAGIC)
    manifest_blob = setup.stored(key + native_dump_core.MANIFEST_SUFFIX)
    for needle in (b"CREATE TABLE", b"INSERT INTO", b"items", b"line one", b"item 17", b"empty_one", b"nightly"):
        assert needle not in stored and needle not in manifest_blob, needle
    assert first.dump_bytes > 12_000_000 and first.bytes < first.dump_bytes  # hex blobs: 2 chars a byte
    parts = setup.s3().head_object(Bucket=setup.bucket, Key=key, PartNumber=1).get("PartsCount")
    assert parts is None or parts >= 2
    assert setup.s3().head_object(Bucket=setup.bucket, Key=key)["ServerSideEncryption"] == "aws:kms"

    target = _target()
    restored = setup.restore(key, target, create_database=True, progress=__import__("sys").stdout)
    assert restored.changed and restored.verified and restored.sha256 == first.sha256
    assert restored.bytes == first.dump_bytes
    assert fingerprint(setup.db, target) == source  # row counts and contents equal
    assert "native restore" in capsys.readouterr().out
    assert objects(setup.db, target) == objects(setup.db, setup.source)  # view, trigger, routines, event came too
    assert setup.db.sql(f"SELECT `{target}`.twice(21)") == [["42"]]
    charset = setup.db.sql(
        f"SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
        f"WHERE SCHEMA_NAME = '{target}'"
    )
    assert charset == [["utf8mb4", "utf8mb4_unicode_ci"]]

    again = setup.dump(key, compress="zstd")
    assert not again.changed and again.sha256 == first.sha256 and again.bytes == first.bytes
    assert setup.stored(key) == stored
    assert not setup.restore(key, target).changed


def test_changed_source_new_dump_and_a_differing_target_is_refused(setup: Setup) -> None:
    key = "mysql/gzip/src.sql"
    first = setup.dump(key, compress="gzip")
    target = _target()
    setup.restore(key, target, create_database=True)
    setup.db.sql("UPDATE items SET note = 'changed' WHERE id = 43", setup.source)
    try:
        second = setup.dump(key, compress="gzip")
        assert second.changed and second.sha256 != first.sha256
        before = fingerprint(setup.db, target)
        with pytest.raises(native_dump_core.NativeDumpError, match=r"not empty and differs.*cannot rename a database"):
            setup.restore(key, target)
        assert fingerprint(setup.db, target) == before  # left exactly as it was
        other = _target()
        assert setup.restore(key, other, create_database=True).changed
        assert fingerprint(setup.db, other) == fingerprint(setup.db, setup.source)
    finally:
        setup.db.sql(f"UPDATE items SET note = {_note(43)} WHERE id = 43", setup.source)


def test_no_owner_makes_the_restoring_user_the_definer(setup: Setup) -> None:
    key = "mysql/definers/src.sql"
    setup.dump(key)
    assert all(d.endswith("root@localhost") for ds in objects(setup.db, setup.source).values() for d in ds)
    target = _target()
    setup.restore(key, target, create_database=True, no_owner=True)
    restored = objects(setup.db, target)
    assert sum(map(len, restored.values())) == 5
    assert all(d.endswith("dbshift@127.0.0.1") for ds in restored.values() for d in ds), restored
    assert fingerprint(setup.db, target) == fingerprint(setup.db, setup.source)


def _corrupt(setup: Setup, key: str) -> None:
    blob = bytearray(setup.stored(key))
    blob[len(blob) // 2] ^= 0x40
    body = bytes(blob)
    setup.s3().put_object(Bucket=setup.bucket, Key=key, Body=body)
    # As bit rot at rest would be: the manifest still describes the object (ETag and size).
    mkey = key + native_dump_core.MANIFEST_SUFFIX
    kms = client("kms", setup.aws)
    m = native_dump_core.Manifest.from_json(envelope_stream.decrypt_bytes(kms, "m", setup.stored(mkey)), "m")
    head = setup.s3().head_object(Bucket=setup.bucket, Key=key)
    m.object_etag, m.object_bytes = head["ETag"], head["ContentLength"]
    ctx = {"dbshift:purpose": "native-dump", "dbshift:object": f"s3://{setup.bucket}/{mkey}"}
    blob = envelope_stream.encrypt_bytes(kms, setup.key_arn, ctx, m.to_json())
    setup.s3().put_object(Bucket=setup.bucket, Key=mkey, Body=blob)


def test_failed_restore_drops_the_target_and_an_interrupted_one_is_redone(setup: Setup) -> None:
    key = "mysql/corrupt/src.sql"
    setup.dump(key, part_size=5 << 20)
    good = setup.stored(key)
    good_manifest = setup.stored(key + native_dump_core.MANIFEST_SUFFIX)
    before = setup.db.databases()
    _corrupt(setup, key)
    target = _target()
    with pytest.raises(envelope_stream.EnvelopeError, match="failed authentication"):
        setup.restore(key, target, create_database=True)
    assert setup.db.databases() == before  # the half-restored target was dropped

    # A run killed mid-restore leaves the target with the marker: the next run takes it as its own and redoes it.
    setup.s3().put_object(Bucket=setup.bucket, Key=key, Body=good)
    setup.s3().put_object(Bucket=setup.bucket, Key=key + native_dump_core.MANIFEST_SUFFIX, Body=good_manifest)
    with pytest.raises(native_dump_core.NativeDumpError, match="does not match its manifest"):
        setup.restore(key, target, create_database=True)  # the re-put object has a new ETag
    key2 = "mysql/interrupted/src.sql"
    setup.dump(key2)
    setup.db.sql(
        f"CREATE DATABASE `{target}`; CREATE TABLE `{target}`.items (id INT); "
        f"CREATE TABLE `{target}`.`{native_dump_mysql.MARKER}` (note VARCHAR(1024));"
    )
    result = setup.restore(key2, target)  # exists (so no create_database needed); marked: redone
    assert result.changed
    assert fingerprint(setup.db, target) == fingerprint(setup.db, setup.source)
    assert native_dump_mysql.MARKER not in {r[0] for r in setup.db.sql("SHOW TABLES", target)}


def test_refusals_before_anything_is_uploaded(setup: Setup) -> None:
    before = setup.object_keys()
    east = AwsConfig(region="us-east-1", endpoint_url=setup.aws.endpoint_url)
    east_key = client("kms", east).create_key(Description="source region key")["KeyMetadata"]["Arn"]
    with pytest.raises(ConfigError, match="is a key in us-east-1, but the copy is made in us-west-2"):
        native_dump_mysql.dump_to_s3(setup.db.dsn, setup.source, setup.bucket, "mysql/x.sql", east_key, setup.aws)
    with pytest.raises(native_dump_core.NativeDumpError, match="cannot connect to MySQL database 'dr_nope'"):
        native_dump_mysql.dump_to_s3(setup.db.dsn, "dr_nope", setup.bucket, "mysql/none.sql", setup.key_arn, setup.aws)
    wrong = setup.db.dsn.replace(url_quote(PASSWORD), "wrong")
    with pytest.raises(native_dump_core.NativeDumpError, match="Access denied for user 'dbshift'") as err:
        native_dump_mysql.dump_to_s3(wrong, setup.source, setup.bucket, "mysql/denied.sql", setup.key_arn, setup.aws)
    assert PASSWORD not in str(err.value)
    with pytest.raises(ConfigError, match="not of the form mysql://USER:PASSWORD@HOST:PORT"):
        native_dump_mysql.dump_to_s3("postgresql://x@h/db", "d", setup.bucket, "k", setup.key_arn, setup.aws)
    with pytest.raises(ConfigError, match="does not exist; create it or pass create_database=True"):
        setup.restore("mysql/zstd/src.sql", "dr_missing")
    assert setup.object_keys() == before
    assert not setup.s3().list_multipart_uploads(Bucket=setup.bucket).get("Uploads")
    assert native_dump_mysql.answers(setup.db.dsn, setup.source)
    assert not native_dump_mysql.answers(wrong, setup.source)
    assert not native_dump_mysql.answers(setup.db.dsn, "dr_nope")


def test_runbook_dispatches_mysql_dsns(setup: Setup) -> None:
    target = _target()
    p = {
        "source_dsn": setup.db.dsn,
        "target_dsn": setup.db.dsn,
        "database": setup.source,
        "target_database": target,
        "dump_bucket": setup.bucket,
        "dump_key": "mysql/runbook/src.sql",
        "kms_key_arn": setup.key_arn,
        "target_region": REGION,
        "source_region": "us-east-1",
        "source_instance_id": "mysql-prod",
        "endpoint_url": setup.aws.endpoint_url,
    }
    result = runbook.native_dump(p)
    assert result["changed"] and result["engine"] == "mysql" and result["instance_id"] == target
    assert result["rows"]["items"] == 1500
    assert fingerprint(setup.db, target) == fingerprint(setup.db, setup.source)
    assert not runbook.native_dump(p)["changed"]
    assert runbook.database_answers(setup.db.dsn, setup.source)
    assert not runbook.database_answers(setup.db.dsn, "dr_nope")


def test_a_restore_that_does_not_match_the_manifest_is_dropped(setup: Setup) -> None:
    key = "mysql/mismatch/src.sql"
    setup.dump(key)
    mkey = key + native_dump_core.MANIFEST_SUFFIX
    kms = client("kms", setup.aws)
    m = native_dump_core.Manifest.from_json(envelope_stream.decrypt_bytes(kms, "m", setup.stored(mkey)), "m")
    m.tables["items"] = native_dump_core.TableCheck(m.tables["items"].rows, str(int(m.tables["items"].hash) + 1))
    ctx = {"dbshift:purpose": "native-dump", "dbshift:object": f"s3://{setup.bucket}/{mkey}"}
    setup.s3().put_object(
        Bucket=setup.bucket, Key=mkey, Body=envelope_stream.encrypt_bytes(kms, setup.key_arn, ctx, m.to_json())
    )
    before = setup.db.databases()
    target = _target()
    with pytest.raises(
        native_dump_core.NativeDumpError, match=r"does not match the source \(items: content hash differs"
    ):
        setup.restore(key, target, create_database=True)
    assert setup.db.databases() == before


def test_writes_during_the_dump_fail_it_and_leave_nothing(setup: Setup) -> None:
    setup.db.sql("CREATE TABLE busy (id INT PRIMARY KEY, n INT); INSERT INTO busy VALUES (1, 0);", setup.source)
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            setup.db.sql("UPDATE busy SET n = n + 1 WHERE id = 1", setup.source)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.3)
        with pytest.raises(
            native_dump_core.NativeDumpError, match=r"changed while it was dumped \(busy: .*stop writes"
        ):
            setup.dump("mysql/busy/src.sql")
    finally:
        stop.set()
        writer.join()
        setup.db.sql("DROP TABLE busy", setup.source)
    assert not [k for k in setup.object_keys() if k.startswith("mysql/busy/")]
    assert not setup.s3().list_multipart_uploads(Bucket=setup.bucket).get("Uploads")


def test_runbook_dsn_schemes() -> None:
    assert runbook.dsn_engine("postgresql://u@h/db") == runbook.dsn_engine("host=h user=u") == "postgres"
    assert runbook.dsn_engine("mariadb://u:p@h:3306") == "mysql"
    assert runbook.dsn_engine("mssql://u:p@h:1433") == "sqlserver"
    with pytest.raises(ConfigError, match="source_dsn has scheme 'oracle': use postgresql://, mysql://"):
        runbook.dsn_engine("oracle://u:secret@h/db")
    p = {"source_dsn": "postgresql://u@h/db", "target_dsn": "mysql://u:p@h", "database": "d", "dump_bucket": "b",
         "kms_key_arn": "k"}  # fmt: skip
    with pytest.raises(ConfigError, match="source_dsn is postgres but target_dsn is mysql"):
        runbook.native_dump(p)
    with pytest.raises(ConfigError, match="needs source_dump_bucket, source_kms_key_arn"):
        runbook.native_dump({**p, "source_dsn": "mssql://u:p@h", "target_dsn": "mssql://u:p@h", "target_database": "",
                             "target_region": REGION, "source_region": "us-east-1", "source_instance_id": "i",
                             "endpoint_url": None})  # fmt: skip
    with pytest.raises(ConfigError, match="MySQL DSN option 'password'"):
        native_dump_mysql.MySqlDsn.parse("mysql://u@h?password=x")
    parsed = native_dump_mysql.MySqlDsn.parse("mysql://a%40b:p%3Aw@db.example:3307/sales?ssl-ca=/ca.pem")
    assert (parsed.user, parsed.password, parsed.port, parsed.database) == ("a@b", "p:w", 3307, "sales")
    assert "p:w" not in repr(parsed) and b'ssl-ca="/ca.pem"' in parsed.option_file()


def test_check_mode_reads_only_and_predicts_the_real_run(setup: Setup) -> None:
    key, target = "mysql/plan/src.sql", _target()
    name = f"s3://{setup.bucket}/{key}"
    p = {
        "source_dsn": setup.db.dsn,
        "target_dsn": setup.db.dsn,
        "database": setup.source,
        "target_database": target,
        "dump_bucket": setup.bucket,
        "dump_key": key,
        "kms_key_arn": setup.key_arn,
        "target_region": REGION,
        "source_region": "us-east-1",
        "source_instance_id": "mysql-prod",
        "endpoint_url": setup.aws.endpoint_url,
    }
    clients = Clients(AwsConfig(endpoint_url=setup.aws.endpoint_url))

    def state() -> tuple[dict[str, str], object, list]:
        objects = {o["Key"]: o["ETag"] for o in setup.s3().list_objects_v2(Bucket=setup.bucket).get("Contents", [])}
        return objects, setup.db.databases(), setup.s3().list_multipart_uploads(Bucket=setup.bucket).get("Uploads", [])

    def check(params: dict = p) -> dict:
        before = state()
        result = runbook.plan(clients, params, "native_dump", {})
        assert state() == before  # no object, no upload, no database
        return result

    first = check()
    assert first["changed"] and first["status"] == "would_dump" and first["engine"] == "mysql"
    assert first["steps"] == [
        f"would dump (mysql): {name}: no manifest (no finished dump)",
        f"would restore: target database {target!r} does not exist: it is created and restored from {name}",
    ]
    assert first["rows"] == {t: n for t, (n, _) in fingerprint(setup.db, setup.source).items()}

    assert runbook.native_dump(p)["changed"]
    after = check()
    assert not after["changed"] and after["status"] == "restored", after["steps"]
    assert after["steps"][0].startswith(f"no dump (mysql): {name} holds the source's data already")
    assert after["steps"][1].startswith(f"no restore: target database {target!r} holds the dump's data already")
    assert not runbook.native_dump(p)["changed"]  # the real run agrees

    setup.db.sql("UPDATE items SET ratio = -ratio WHERE id = 2", setup.source)
    try:
        planned = native_dump_mysql.plan_dump_to_s3(
            setup.db.dsn, setup.source, setup.bucket, key, setup.key_arn, setup.aws
        )
        assert planned.would_dump and planned.reason == (
            f"{name}: the source differs from the dump (items: content hash differs (1500 rows))"
        )
        stored = native_dump_mysql.plan_restore_from_s3(setup.bucket, key, setup.db.dsn, target, setup.aws)
        assert not stored.would_restore  # the target still holds what is in S3
        other = check({**p, "target_database": _target()})
        assert other["changed"] and other["status"] == "would_dump" and other["steps"][1].startswith("would restore")
        # The target differs from the dump about to be made, and MySQL cannot swap it: both refuse alike.
        with pytest.raises(native_dump_core.NativeDumpError, match=r"not empty and differs.*cannot rename"):
            check()
        with pytest.raises(native_dump_core.NativeDumpError, match=r"not empty and differs.*cannot rename"):
            runbook.native_dump(p)
    finally:
        setup.db.sql("UPDATE items SET ratio = -ratio WHERE id = 2", setup.source)
