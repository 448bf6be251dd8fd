"""playbooks/dr_rds.yml for options A, B and D, and auto choosing A, B or D, against the emulated AWS
(moto server with dbshift.estate.moto_patches_rds_dr: cross-Region replica promotion and automated backup
replication) and, for D, a real PostgreSQL server and a MariaDB server of the test's own (tests/mysql_server.py).
Source us-east-1, target us-west-2.

Option C and auto → C are in test_dr_rds_playbook.py, whose helpers this file uses.
"""

# ruff: noqa: F811 - the fixture mariadb is imported from mysql_server, and tests name it

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from e2e_helpers import target_key, task_status, unique
from mysql_server import PASSWORD, MariaDb, mariadb, url_quote  # noqa: F401 (mariadb is a fixture)
from mysql_server import fingerprint as mysql_fingerprint
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from test_dr_rds_playbook import SOURCE, TARGET, TASK, make_source, playbook

from dbshift.aws import AwsConfig, client
from dbshift.dr import Clients, envelope_stream, native_dump, native_dump_core, rds, tag_value


def _instance(clients: Clients, region: str, instance_id: str) -> dict[str, Any]:
    found = rds.describe_instance(clients.rds(region), instance_id)
    assert found is not None, f"{instance_id} not in {region}"
    return found


def _target_ids(clients: Clients) -> set[str]:
    return {i["DBInstanceIdentifier"] for i in clients.rds(TARGET).describe_db_instances()["DBInstances"]}


def _encrypted_source(clients: Clients) -> dict[str, Any]:
    """An encrypted instance in the source Region (key of the source Region), backups kept 7 days."""
    src = make_source(clients, StorageEncrypted=True, KmsKeyId=target_key(clients, SOURCE))
    return _instance(clients, SOURCE, src)


def _cross_region_replica(clients: Clients, source: dict[str, Any], key: str) -> str:
    replica = unique("rep")
    clients.rds(TARGET).create_db_instance_read_replica(
        DBInstanceIdentifier=replica,
        SourceDBInstanceIdentifier=source["DBInstanceArn"],
        SourceRegion=SOURCE,
        KmsKeyId=key,
    )
    return replica


def _replicate_backups(clients: Clients, source: dict[str, Any], key: str) -> dict[str, Any]:
    return clients.rds(TARGET).start_db_instance_automated_backups_replication(
        SourceDBInstanceArn=source["DBInstanceArn"], KmsKeyId=key, SourceRegion=SOURCE
    )["DBInstanceAutomatedBackup"]


def _monitored(clients: Clients, instance_id: str) -> None:
    """A CloudWatch alarm with an action on `instance_id` in the target Region, as the DR target's preparation
    sets up (the playbook's dr_verify step requires monitoring on the recovered instance)."""
    topic = clients.get("sns", TARGET).create_topic(Name=f"dr-alerts-{instance_id}")["TopicArn"]
    clients.get("cloudwatch", TARGET).put_metric_alarm(
        AlarmName=f"{instance_id}-cpu",
        Namespace="AWS/RDS",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": instance_id}],
        Statistic="Average",
        Period=300,
        EvaluationPeriods=3,
        Threshold=80,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic],
    )


def flat(run: Any) -> str:
    """The run's output with whitespace runs as one space: the YAML callback wraps long strings."""
    return " ".join(run.stdout.split())


def _unchanged_twice(run: Any, *args_sets: tuple[str, ...]) -> list[Any]:
    runs = []
    for args in args_sets:
        again = run(*args)
        assert again.rc == 0, again.output[-6000:]
        assert again.recap()["changed"] == 0, again.stdout[-6000:]
        runs.append(again)
    return runs


# ------------------------------------------------------------------------------------------ A: promote_replica


def test_promote_replica_four_steps(run_ansible, inventory, tmp_path, aws_endpoint_url, clients) -> None:
    source, key = _encrypted_source(clients), target_key(clients)
    src = source["DBInstanceIdentifier"]
    replica = _cross_region_replica(clients, source, key)
    _monitored(clients, replica)
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_rds_option="promote_replica",
        dr_rds_source_instance_id=src,
        dr_rds_replica_id=replica,
        dr_rds_backup_retention_days=7,
    )

    # 1. Check mode: would promote; the replica still replicates.
    check = run("--check")
    assert check.rc == 0, check.output[-6000:]
    assert task_status(check, TASK) == "changed" and "would_promote" in check.stdout
    assert _instance(clients, TARGET, replica)["ReadReplicaSourceDBInstanceIdentifier"] == source["DBInstanceArn"]

    # 2. Real run: a standalone instance in us-west-2, encrypted with the target Region's key, private.
    before = _target_ids(clients)
    real = run()
    assert real.rc == 0, real.output[-6000:]
    assert task_status(real, TASK) == "changed"
    inst = _instance(clients, TARGET, replica)
    assert "ReadReplicaSourceDBInstanceIdentifier" not in inst and inst["DBInstanceStatus"] == "available"
    assert inst["DBInstanceArn"].split(":")[3] == TARGET
    assert (inst["StorageEncrypted"], inst["KmsKeyId"], inst["PubliclyAccessible"]) == (True, key, False)
    assert inst["BackupRetentionPeriod"] == 7
    assert tag_value(inst["TagList"], "promoted-from") == f"{SOURCE}/{src}"
    assert not _instance(clients, SOURCE, src).get("ReadReplicaDBInstanceIdentifiers")
    assert f"promote_replica: {replica} in {TARGET} is available" in flat(real)
    assert _target_ids(clients) == before  # promoted in place, nothing new

    # 3 and 4. Check mode and a real run again: nothing changes.
    _, again = _unchanged_twice(run, ("--check",), ())
    assert "already promoted" in flat(again)
    assert _target_ids(clients) == before


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_replica_that_does_not_exist_is_refused_before_anything_is_created(
    run_ansible, inventory, tmp_path, aws_endpoint_url, clients, check_mode
) -> None:
    src, missing = make_source(clients), unique("no-such-replica")
    before = _target_ids(clients)
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_rds_option="promote_replica",
        dr_rds_source_instance_id=src,
        dr_rds_replica_id=missing,
    )
    failed = run(*(["--check"] if check_mode else []))
    assert failed.rc != 0 and task_status(failed, TASK) == "fatal"
    assert f"read replica {missing} of {SOURCE}/{src} does not exist in {TARGET}" in flat(failed)
    assert "check replica_id, or choose dr_option pitr_replicated_backup or snapshot_copy" in flat(failed)  # fix
    assert _target_ids(clients) == before


# ------------------------------------------------------------------------------------------ B: pitr_replicated_backup


def test_pitr_replicated_backup_four_steps(run_ansible, inventory, tmp_path, aws_endpoint_url, clients) -> None:
    source, key, new = _encrypted_source(clients), target_key(clients), unique("dr")
    backup = _replicate_backups(clients, source, key)
    _monitored(clients, new)
    restore_time = backup["RestoreWindow"]["EarliestTime"].isoformat()
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_rds_option="pitr_replicated_backup",
        dr_rds_source_instance_id=source["DBInstanceIdentifier"],
        dr_rds_target_instance_id=new,
        dr_rds_restore_time=restore_time,
        dr_rds_instance_class="db.t3.small",
        dr_rds_backup_retention_days=7,
    )

    check = run("--check")
    assert check.rc == 0, check.output[-6000:]
    assert task_status(check, TASK) == "changed" and "would_create" in check.stdout
    assert rds.describe_instance(clients.rds(TARGET), new) is None

    real = run()
    assert real.rc == 0, real.output[-6000:]
    assert task_status(real, TASK) == "changed"
    inst = _instance(clients, TARGET, new)
    assert inst["DBInstanceArn"].split(":")[3] == TARGET and inst["DBInstanceStatus"] == "available"
    assert (inst["StorageEncrypted"], inst["KmsKeyId"], inst["PubliclyAccessible"]) == (True, key, False)
    assert (inst["Engine"], inst["DBInstanceClass"], inst["BackupRetentionPeriod"]) == ("postgres", "db.t3.small", 7)
    assert tag_value(inst["TagList"], "source-arn") == source["DBInstanceArn"]
    assert f"restored from {backup['DBInstanceAutomatedBackupsArn']} to {restore_time}" in flat(real)

    before = _target_ids(clients)
    _unchanged_twice(run, ("--check",), ())
    assert _target_ids(clients) == before


# ------------------------------------------------------------------------------------------ D: native_dump

SOURCE_SQL = r'''
CREATE TABLE orders (
    id integer PRIMARY KEY, customer text NOT NULL, note text, amount numeric(12, 2), ratio float8,
    payload bytea, created timestamptz, tags text[], doc jsonb
);
INSERT INTO orders
SELECT i, 'customer ' || (i % 97),
       CASE WHEN i % 7 = 0 THEN NULL ELSE E'line one\nline "two"\t' || repeat('x', i % 11) END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE round((i * 3.21)::numeric, 2) END,
       CASE WHEN i % 9 = 0 THEN NULL ELSE i / 3.0 END,
       CASE WHEN i % 4 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') END,
       timestamptz '2026-01-01 00:00:00+00' + i * interval '13 minutes',
       ARRAY['t' || i, NULL],
       jsonb_build_object('i', i, 'text', E'multi\nline')
FROM generate_series(1, 2500) AS i;
CREATE INDEX orders_customer ON orders (customer);
CREATE SCHEMA "Sales Dept";
CREATE TABLE "Sales Dept"."line ""items""" (order_id int, qty int NOT NULL);
INSERT INTO "Sales Dept"."line ""items""" SELECT i % 2500 + 1, i % 17 FROM generate_series(1, 4000) AS i;
CREATE TABLE empty_one (id int);
'''


def _connect(dsn: str, database: str, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(make_conninfo(dsn, dbname=database), autocommit=autocommit)


def _databases(dsn: str) -> set[str]:
    with _connect(dsn, "postgres") as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


def fingerprint(dsn: str, database: str) -> dict[str, tuple[int, str]]:
    """Per table: row count and sha256 of the sorted row texts (the test's own hash, not the library's)."""
    with _connect(dsn, database) as conn:
        conn.execute("SET extra_float_digits = 1")
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
        ]
        out = {}
        for table in sorted(tables):
            rows = sorted(r[0] for r in conn.execute(f"SELECT x::text FROM {table} AS x"))
            out[table] = (len(rows), hashlib.sha256("\x01".join(rows).encode()).hexdigest())
        return out


@dataclass
class DumpSetup:
    dsn: str = field(repr=False)  # superuser DSN without database (holds the password)
    source_db: str
    target_db: str
    bucket: str
    key_arn: str
    s3: Any = field(repr=False)

    def variables(self, **more: Any) -> dict[str, Any]:
        return {
            "dr_rds_source_instance_id": "pg-orders",
            "dr_rds_source_dsn": self.dsn,
            "dr_rds_database": self.source_db,
            "dr_rds_dump_bucket": self.bucket,
            "dr_rds_kms_key_arn": self.key_arn,
            "dr_rds_target_dsn": self.dsn,
            "dr_rds_target_database": self.target_db,
            **more,
        }

    def objects(self) -> list[str]:
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])]


@pytest.fixture
def dump_setup(postgres_dsn: str, aws_endpoint_url: str) -> Iterator[DumpSetup]:
    aws = AwsConfig(region=TARGET, endpoint_url=aws_endpoint_url)
    s3 = client("s3", aws)
    bucket = f"dr-dumps-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": TARGET})
    key_arn = client("kms", aws).create_key(Description="dr dump key")["KeyMetadata"]["Arn"]
    tag = uuid.uuid4().hex[:8]
    setup = DumpSetup(postgres_dsn, f"dr_src_{tag}", f"dr_tgt_{tag}", bucket, key_arn, s3)
    with _connect(postgres_dsn, "postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{setup.source_db}"')
    with _connect(postgres_dsn, setup.source_db, autocommit=True) as conn:
        conn.execute(SOURCE_SQL)
    yield setup
    with _connect(postgres_dsn, "postgres", autocommit=True) as conn:
        for name in _databases(postgres_dsn):
            if tag in name:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _assert_restored(setup: DumpSetup, run: Any) -> None:
    source = fingerprint(setup.dsn, setup.source_db)
    assert source["public.orders"][0] == 2500 and source['"Sales Dept"."line ""items"""'][0] == 4000
    assert fingerprint(setup.dsn, setup.target_db) == source  # row counts and checksums equal
    with _connect(setup.dsn, setup.target_db) as conn:  # schema objects came along, not only rows
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_customer'").fetchone()[0] == 1
    dump_key = "pg-orders/" + setup.source_db + ".dump"
    assert sorted(setup.objects()) == [dump_key, dump_key + native_dump.MANIFEST_SUFFIX]
    stored = setup.s3.get_object(Bucket=setup.bucket, Key=dump_key)["Body"].read()
    assert stored.startswith(envelope_stream.MAGIC)  # encrypted before it left the host
    for needle in (b"PGDMP", b"orders_customer", b"Sales Dept", b"line one", b"customer 5"):
        assert needle not in stored, needle
    password = str(conninfo_to_dict(setup.dsn).get("password"))
    assert password not in run.output  # source_dsn/target_dsn are no_log


def test_native_dump_through_the_playbook(
    run_ansible, inventory, tmp_path: Path, aws_endpoint_url, dump_setup: DumpSetup
) -> None:
    run = playbook(
        run_ansible, inventory, tmp_path, aws_endpoint_url, **dump_setup.variables(dr_rds_option="native_dump")
    )

    # 1. Check mode reads the source, S3 and the target, and writes nothing: no dump yet, so it would dump.
    databases = _databases(dump_setup.dsn)
    check = run("--check")
    assert check.rc == 0, check.output[-6000:]
    assert task_status(check, TASK) == "changed" and "would_dump" in check.stdout
    assert "no manifest (no finished dump)" in flat(check) and "does not exist: it is created and restored" in flat(
        check
    )
    assert dump_setup.objects() == [] and _databases(dump_setup.dsn) == databases

    # The real runs also have the verify step connect to the restored database and compare the newest record.
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        **dump_setup.variables(
            dr_rds_option="native_dump",
            dr_verify_target_dsn=make_conninfo(dump_setup.dsn, dbname=dump_setup.target_db),
            dr_verify_source_dsn=make_conninfo(dump_setup.dsn, dbname=dump_setup.source_db),
            dr_verify_newest_record_query="SELECT max(created) FROM orders",
        ),
    )
    # 2. The real run dumps, uploads, restores and verifies.
    real = run()
    assert real.rc == 0, real.output[-6000:]
    assert task_status(real, TASK) == "changed"
    assert f"native_dump: {dump_setup.target_db} in {TARGET} is restored" in flat(real)
    assert "connectivity ok" in flat(real) and "newest_record ok" in flat(real)
    _assert_restored(dump_setup, real)
    objects = {o["Key"]: o["ETag"] for o in dump_setup.s3.list_objects_v2(Bucket=dump_setup.bucket)["Contents"]}

    # 3. Check mode again: the dump in S3 matches the source and the target holds it: nothing would change.
    databases = _databases(dump_setup.dsn)
    again_check = run("--check")
    assert again_check.rc == 0, again_check.output[-6000:]
    assert again_check.recap()["changed"] == 0, again_check.stdout[-6000:]
    assert f"native_dump (check mode): {dump_setup.target_db} in {TARGET} is restored" in flat(again_check)
    assert {o["Key"]: o["ETag"] for o in dump_setup.s3.list_objects_v2(Bucket=dump_setup.bucket)["Contents"]} == (
        objects
    )
    assert _databases(dump_setup.dsn) == databases

    # 4. A rerun finds the same dump and an identical target: nothing changes, no second upload.
    again = run()
    assert again.rc == 0, again.output[-6000:]
    assert again.recap()["changed"] == 0, again.stdout[-6000:]
    assert {o["Key"]: o["ETag"] for o in dump_setup.s3.list_objects_v2(Bucket=dump_setup.bucket)["Contents"]} == (
        objects
    )


# ------------------------------------------------------------------------------------------ D: native_dump, MySQL

MYSQL_SOURCE_SQL = r"""
CREATE TABLE orders (
  id INT PRIMARY KEY, customer VARCHAR(40) NOT NULL, note TEXT, amount DECIMAL(12,2), created DATETIME(3) NOT NULL,
  payload BLOB
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `line ``items``` (order_id INT NOT NULL, qty INT NOT NULL) ENGINE=InnoDB;
CREATE TABLE empty_one (id INT) ENGINE=InnoDB;
CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 500;
"""


def _seed_mysql(db: MariaDb, name: str) -> None:
    rows = []
    for i in range(1, 801):
        note = "NULL" if i % 7 == 0 else f"'line one\\nline \"two\"\\t caf\u00e9 {i}'"
        amount = "NULL" if i % 5 == 0 else f"{i * 1.25:.2f}"
        payload = "NULL" if i % 4 == 0 else f"UNHEX(MD5('{i}'))"
        rows.append(f"({i}, 'customer {i % 37}', {note}, {amount}, "
                    f"'2026-01-01 00:00:00' + INTERVAL {i * 13} MINUTE, {payload})")  # fmt: skip
    items = ",".join(f"({i % 800 + 1}, {i % 17})" for i in range(1, 1201))
    db.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    db.sql(
        f"{MYSQL_SOURCE_SQL} INSERT INTO orders VALUES {','.join(rows)}; INSERT INTO `line ``items``` VALUES {items};",
        name,
    )


def test_native_dump_of_mysql_through_the_playbook_with_verify(
    run_ansible, inventory, tmp_path: Path, aws_endpoint_url, mariadb: MariaDb
) -> None:
    aws = AwsConfig(region=TARGET, endpoint_url=aws_endpoint_url)
    s3 = client("s3", aws)
    bucket = f"dr-mysql-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": TARGET})
    key_arn = client("kms", aws).create_key(Description="dr mysql dump key")["KeyMetadata"]["Arn"]
    tag = uuid.uuid4().hex[:8]
    source_db, target_db = f"dr_src_{tag}", f"dr_tgt_{tag}"
    _seed_mysql(mariadb, source_db)
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_rds_option="native_dump",
        dr_rds_source_instance_id="mysql-orders",
        dr_rds_source_dsn=mariadb.dsn,
        dr_rds_target_dsn=mariadb.dsn,
        dr_rds_database=source_db,
        dr_rds_target_database=target_db,
        dr_rds_dump_bucket=bucket,
        dr_rds_kms_key_arn=key_arn,
        # The verify step connects to the restored database through PyMySQL and compares the newest record.
        dr_verify_target_dsn=mariadb.dsn_for(target_db),
        dr_verify_source_dsn=mariadb.dsn_for(source_db),
        dr_verify_newest_record_query="SELECT max(created) FROM orders",
    )

    def objects() -> dict[str, str]:
        return {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}

    def no_secrets(*runs: Any) -> None:
        for r in runs:
            for secret in (PASSWORD, url_quote(PASSWORD), mariadb.dsn):
                assert secret not in r.output  # source_dsn, target_dsn and the verify DSNs are no_log

    # 1. Check mode: would dump (MySQL, from the DSN's scheme); nothing uploaded, no target database.
    check = run("--check")
    assert check.rc == 0, check.output[-6000:]
    assert (
        task_status(check, TASK) == "changed" and "would_dump" in check.stdout and "would dump (mysql)" in flat(check)
    )
    assert objects() == {} and target_db not in mariadb.databases()

    # 2. Real run: dumped, encrypted, uploaded, restored, verified by the module and by the verify step.
    real = run()
    assert real.rc == 0, real.output[-6000:]
    assert task_status(real, TASK) == "changed"
    assert f"native_dump: {target_db} in {TARGET} is restored; engine mysql" in flat(real)
    assert "connectivity ok" in flat(real) and "SELECT 1 returned 1" in flat(real)
    assert "newest_record ok" in flat(real) and "the newest record is the same on both sides" in flat(real)
    source = mysql_fingerprint(mariadb, source_db)
    assert source["orders"][0] == 800 and source["line `items`"][0] == 1200 and source["empty_one"][0] == 0
    assert mysql_fingerprint(mariadb, target_db) == source  # row counts and checksums equal
    assert mariadb.sql(f"SELECT COUNT(*) FROM `{target_db}`.big_orders") == mariadb.sql(
        f"SELECT COUNT(*) FROM `{source_db}`.big_orders"
    )
    dump_key = f"mysql-orders/{source_db}.sql"
    assert sorted(objects()) == [dump_key, dump_key + native_dump_core.MANIFEST_SUFFIX]
    stored = s3.get_object(Bucket=bucket, Key=dump_key)["Body"].read()
    assert stored.startswith(envelope_stream.MAGIC)  # encrypted before it left the host
    for needle in (b"CREATE TABLE", b"INSERT INTO", b"big_orders", b"line one", b"customer 5", "café".encode()):
        assert needle not in stored, needle
    assert s3.head_object(Bucket=bucket, Key=dump_key)["ServerSideEncryption"] == "aws:kms"
    uploaded = objects()

    # 3. Check mode again: it reads the source, the manifest and the target; nothing would change, nothing is written.
    databases = mariadb.databases()
    again_check = run("--check")
    assert again_check.rc == 0, again_check.output[-6000:]
    assert again_check.recap()["changed"] == 0, again_check.stdout[-6000:]
    assert f"native_dump (check mode): {target_db} in {TARGET} is restored; engine mysql" in flat(again_check)
    assert objects() == uploaded and mariadb.databases() == databases

    # 4. A rerun finds the same dump and an identical target: nothing changes, no second upload.
    again = run()
    assert again.rc == 0, again.output[-6000:]
    assert again.recap()["changed"] == 0, again.stdout[-6000:]
    assert objects() == uploaded and mysql_fingerprint(mariadb, target_db) == source
    no_secrets(check, real, again_check, again)


def test_native_dump_for_sql_server_takes_the_source_region_bucket_and_key(
    run_ansible, inventory, tmp_path: Path, aws_endpoint_url, clients
) -> None:
    """Check mode through the role: SQL Server DSNs need dr_rds_source_dump_bucket and dr_rds_source_kms_key_arn
    (passed through to the module: both Regions' buckets and keys are checked); check mode then reads the source
    database, which here does not answer, and fails as the real run would; mismatched engines are refused. (The
    SQL Server dump itself, check mode included, runs against the estate's RDS emulator in
    tests/integration/test_dr_native_dump_sqlserver.py.)"""
    password = f"Pw:@{uuid.uuid4().hex[:10]}"
    dsn = f"mssql://admin:{url_quote(password)}@127.0.0.1:1"
    common = {
        "dr_rds_option": "native_dump",
        "dr_rds_source_instance_id": "erp-db",
        "dr_rds_source_dsn": dsn,
        "dr_rds_target_dsn": dsn,
        "dr_rds_database": "ERP",
        "dr_rds_dump_bucket": f"erp-dr-dumps-{uuid.uuid4().hex[:6]}",
        "dr_rds_kms_key_arn": target_key(clients),
    }
    missing = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, **common)("--check")
    assert missing.rc != 0 and task_status(missing, TASK) == "fatal"
    assert "dr_option native_dump needs source_dump_bucket, source_kms_key_arn" in flat(missing)

    source_bucket = f"erp-backups-{uuid.uuid4().hex[:6]}"
    both = {"dr_rds_source_dump_bucket": source_bucket, "dr_rds_source_kms_key_arn": target_key(clients, SOURCE)}
    check = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, **common, **both)("--check")
    assert check.rc != 0 and task_status(check, TASK) == "fatal"
    assert f"bucket {common['dr_rds_dump_bucket']}: S3 answers NoSuchBucket" in flat(check)  # the target's first
    clients.get("s3", TARGET).create_bucket(
        Bucket=common["dr_rds_dump_bucket"], CreateBucketConfiguration={"LocationConstraint": TARGET}
    )
    check = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, **common, **both)("--check")
    assert check.rc != 0 and f"bucket {source_bucket}: S3 answers NoSuchBucket" in flat(check)
    clients.get("s3", SOURCE).create_bucket(Bucket=source_bucket)
    check = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, **common, **both)("--check")
    assert check.rc != 0 and task_status(check, TASK) == "fatal"
    assert "SQL Server database 'ERP' on 127.0.0.1:1" in flat(check) and "Connection refused" in flat(check)

    mixed = {**common, "dr_rds_target_dsn": f"mysql://admin:{url_quote(password)}@127.0.0.1:1"}
    refused = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, **mixed, **both)("--check")
    assert refused.rc != 0 and "source_dsn is sqlserver but target_dsn is mysql" in flat(refused)
    for r in (missing, check, refused):
        assert password not in r.output and url_quote(password) not in r.output


# ------------------------------------------------------------------------------------------ auto: A, B, D


def test_auto_chooses_promote_replica_when_a_replica_exists(
    run_ansible, inventory, tmp_path, aws_endpoint_url, clients
) -> None:
    source, key = _encrypted_source(clients), target_key(clients)
    replica = _cross_region_replica(clients, source, key)
    _monitored(clients, replica)
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_rds_option="auto",
        dr_rds_source_instance_id=source["DBInstanceIdentifier"],
        dr_rds_target_instance_id=unique("dr"),
        dr_rds_kms_key_arn=key,
        dr_rds_backup_retention_days=7,
    )
    first = run()
    assert first.rc == 0, first.output[-6000:]
    assert "dr_option auto chose promote_replica" in flat(first)
    assert f"A promote_replica chosen: {replica} in {TARGET} replicates from it" in flat(first)
    assert "ReadReplicaSourceDBInstanceIdentifier" not in _instance(clients, TARGET, replica)

    again = run()
    assert again.rc == 0 and again.recap()["changed"] == 0, again.stdout[-6000:]
    assert f"promote_replica chosen: {replica} in {TARGET} was made by an earlier run" in flat(again)


def test_auto_chooses_pitr_when_backups_are_replicated(
    run_ansible, inventory, tmp_path, aws_endpoint_url, clients
) -> None:
    # A fresh snapshot exists too (moto takes one at creation): B comes before C in the guide's order.
    source, key, new = _encrypted_source(clients), target_key(clients), unique("dr")
    _replicate_backups(clients, source, key)
    _monitored(clients, new)
    run = playbook(
        run_ansible,
        inventory,
        tmp_path,
        aws_endpoint_url,
        dr_rds_option="auto",
        dr_rds_source_instance_id=source["DBInstanceIdentifier"],
        dr_rds_target_instance_id=new,
        dr_rds_kms_key_arn=key,
        dr_rds_backup_retention_days=7,
    )
    first = run()
    assert first.rc == 0, first.output[-6000:]
    assert "dr_option auto chose pitr_replicated_backup" in flat(first)
    assert f"A promote_replica skipped: no read replica of {source['DBInstanceIdentifier']}" in flat(first)
    assert f"B pitr_replicated_backup chosen: replicated automated backups in {TARGET}" in flat(first)
    inst = _instance(clients, TARGET, new)
    assert (inst["KmsKeyId"], tag_value(inst["TagList"], "option")) == (key, "B")
    assert rds.describe_snapshot(clients.rds(TARGET), rds.copy_id_for(new)) is None  # no snapshot copy made

    again = run()
    assert again.rc == 0 and again.recap()["changed"] == 0, again.stdout[-6000:]


def test_auto_chooses_native_dump_when_only_the_database_answers(
    run_ansible, inventory, tmp_path, aws_endpoint_url, clients, dump_setup: DumpSetup
) -> None:
    # No replica, no replicated backups, snapshots marked infeasible for the Region: the database answers.
    src = make_source(clients)
    variables = dump_setup.variables(
        dr_rds_option="auto", dr_rds_source_instance_id=src, dr_rds_infeasible_options=["C"]
    )
    run = playbook(run_ansible, inventory, tmp_path, aws_endpoint_url, **variables)
    first = run()
    assert first.rc == 0, first.output[-6000:]
    assert "dr_option auto chose native_dump" in flat(first)
    assert f"C snapshot_copy skipped: marked infeasible for {SOURCE}" in flat(first)
    assert "D native_dump chosen: the source database answers" in flat(first)
    assert fingerprint(dump_setup.dsn, dump_setup.target_db) == fingerprint(dump_setup.dsn, dump_setup.source_db)

    again = run()
    assert again.rc == 0 and again.recap()["changed"] == 0, again.stdout[-6000:]
