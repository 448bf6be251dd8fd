"""dbshift.dr.cutover and dbshift.dr.verify against the emulated AWS (moto server: Route 53, CloudWatch, RDS,
Redshift, ElastiCache), a PostgreSQL server of the test's own, a real redis-server, a MariaDB server of the test's
own (tests/mysql_server.py: verify through PyMySQL) and the SQL Server emulator's TDS listener (verify over TDS).

Route 53 in moto reports every change INSYNC at once; a change that stays PENDING is covered with botocore's
Stubber, which checks the requests against the real service model.
"""

# ruff: noqa: F811 - the fixture mariadb is imported from mysql_server, and tests name it

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import sys
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import unquote

import psycopg
import pytest
from botocore.stub import Stubber
from mysql_server import PASSWORD, MariaDb, mariadb, url_quote  # noqa: F401 (mariadb is a fixture)

from dbshift.aws import AwsConfig
from dbshift.dr import Clients
from dbshift.dr.cutover import Recovered, cutover
from dbshift.dr.verify import CHECKS, VerifyFailed, VerifyOptions, gap_between, require_passed, verify
from dbshift.dr.waits import WaitTimeout
from dbshift.errors import ConfigError, DbshiftError
from dbshift.estate import process
from dbshift.tsql.tds import connect_tds

REGION = "us-west-2"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def clients(aws_endpoint_url: str) -> Clients:
    return Clients(AwsConfig(endpoint_url=aws_endpoint_url))


@pytest.fixture
def zone(clients: Clients) -> tuple[str, str]:
    """A public hosted zone of the test's own: (zone id, zone name without the trailing dot)."""
    name = f"{unique('dr')}.example.test"
    made = clients.get("route53", REGION).create_hosted_zone(Name=name, CallerReference=uuid.uuid4().hex)
    return made["HostedZone"]["Id"].removeprefix("/hostedzone/"), name


def cname(clients: Clients, zone_id: str, name: str) -> list[dict]:
    sets = clients.get("route53", REGION).list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return [r for r in sets if r["Name"] == name.rstrip(".") + "." and r["Type"] == "CNAME"]


def rds_recovered(endpoint: str = "new-db.abc.us-west-2.rds.amazonaws.com", rid: str = "new-db") -> Recovered:
    return Recovered("rds", REGION, rid, endpoint, 5432, "postgres")


def make_instance(clients: Clients, backup_days: int) -> str:
    rid = unique("dr")
    clients.rds(REGION).create_db_instance(
        DBInstanceIdentifier=rid,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
        BackupRetentionPeriod=backup_days,
    )
    return rid


def alarm(clients: Clients, dims: list[dict[str, str]], namespace: str = "AWS/RDS", actions: bool = True) -> str:
    name = unique("alarm")
    clients.get("cloudwatch", REGION).put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName="CPUUtilization",
        Dimensions=dims,
        Statistic="Average",
        Period=300,
        EvaluationPeriods=3,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[f"arn:aws:sns:{REGION}:123456789012:dr-alerts"] if actions else [],
    )
    return name


def by_check(report) -> dict[str, object]:
    return {f.check: f for f in report.findings}


# ------------------------------------------------------------------------------------------ cutover


def test_upsert_in_check_mode_then_for_real_then_unchanged_then_moved(clients, zone) -> None:
    zone_id, zone_name = zone
    record = f"db.{zone_name}"
    first = rds_recovered()

    planned = cutover(clients, first, zone_id, record, check_mode=True, poll=0.2)
    assert planned.changed and planned.action == "upsert" and planned.change_id is None
    assert cname(clients, zone_id, record) == []  # check mode changed nothing

    done = cutover(clients, first, zone_id, record, poll=0.2)
    assert done.changed and done.change_status == "INSYNC" and done.change_id
    [rec] = cname(clients, zone_id, record)
    assert rec["TTL"] == 60 and [r["Value"] for r in rec["ResourceRecords"]] == [first.endpoint]

    for check_mode in (True, False):
        again = cutover(clients, first, zone_id, record.upper() + ".", check_mode=check_mode, poll=0.2)
        assert not again.changed and again.action == "unchanged", again.message

    moved = Recovered("rds", REGION, "newer-db", "newer-db.abc.us-west-2.rds.amazonaws.com", 5432, "postgres")
    result = cutover(clients, moved, f"/hostedzone/{zone_id}", record, ttl=120, poll=0.2)
    assert result.changed and result.previous == [f"CNAME {first.endpoint} (TTL 60)"]
    [rec] = cname(clients, zone_id, record)
    assert rec["TTL"] == 120 and rec["ResourceRecords"] == [{"Value": moved.endpoint}]
    # Only the TTL differs: that is a change too.
    assert cutover(clients, moved, zone_id, record, ttl=60, poll=0.2).changed
    assert cname(clients, zone_id, record)[0]["TTL"] == 60


def test_bad_zone_or_record_is_refused_naming_them_and_the_fix(clients, zone) -> None:
    zone_id, zone_name = zone
    rec = rds_recovered()
    with pytest.raises(ConfigError) as missing:
        cutover(clients, rec, "Z0000000000NOSUCHZONE", f"db.{zone_name}")
    assert "Z0000000000NOSUCHZONE" in str(missing.value) and "does not exist" in str(missing.value)
    assert "list-hosted-zones-by-name" in str(missing.value)

    with pytest.raises(ConfigError) as outside:
        cutover(clients, rec, zone_id, "db.elsewhere.example.org")
    text = str(outside.value)
    assert "db.elsewhere.example.org" in text and f"outside hosted zone {zone_name}." in text and zone_id in text
    assert f"ending in .{zone_name}" in text

    # A suffix that only looks like the zone is outside it too.
    with pytest.raises(ConfigError, match="outside hosted zone"):
        cutover(clients, rec, zone_id, f"db.not{zone_name}")
    with pytest.raises(ConfigError, match="apex"):
        cutover(clients, rec, zone_id, zone_name)
    with pytest.raises(ConfigError, match="set both dr_cutover_zone_id and dr_cutover_record_name"):
        cutover(clients, rec, zone_id, None)
    with pytest.raises(ConfigError, match="dr_cutover_ttl"):
        cutover(clients, rec, zone_id, f"db.{zone_name}", ttl=-1)

    clients.get("route53", REGION).change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": f"app.{zone_name}",
                        "Type": "A",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": "192.0.2.10"}],
                    },
                }
            ]
        },
    )
    for check_mode in (True, False):
        with pytest.raises(ConfigError) as clash:
            cutover(clients, rec, zone_id, f"app.{zone_name}", check_mode=check_mode)
        assert "already has A records" in str(clash.value) and "another name" in str(clash.value)
    assert cname(clients, zone_id, f"db.{zone_name}") == [] and cname(clients, zone_id, f"app.{zone_name}") == []


def test_without_a_zone_the_endpoint_is_reported_and_nothing_changes(clients) -> None:
    rec = rds_recovered()
    result = cutover(clients, rec, None, "", check_mode=False)
    assert not result.changed and result.action == "print"
    assert f"{rec.endpoint}:5432" in result.message and "application's configuration" in result.message


def test_no_endpoint_yet_is_a_planned_change_in_check_mode_and_an_error_for_real(clients, zone) -> None:
    zone_id, zone_name = zone
    pending = Recovered("rds", REGION, "not-yet", "", 0, "")
    planned = cutover(clients, pending, zone_id, f"db.{zone_name}", check_mode=True)
    assert planned.changed and "once it has an endpoint" in planned.message
    with pytest.raises(DbshiftError, match="rds not-yet in us-west-2 has no endpoint yet"):
        cutover(clients, pending, zone_id, f"db.{zone_name}")


def _stub_route53(stub: Stubber, statuses: list[str]) -> None:
    zone = {"Id": "/hostedzone/ZSTUB", "Name": "stub.example.", "CallerReference": "r"}
    stub.add_response("get_hosted_zone", {"HostedZone": zone, "DelegationSet": {"NameServers": ["ns1"]}})
    stub.add_response("list_resource_record_sets", {"ResourceRecordSets": [], "IsTruncated": False, "MaxItems": "100"})
    change = {"Id": "/change/CSTUB", "Status": "PENDING", "SubmittedAt": dt.datetime(2026, 1, 1)}
    stub.add_response("change_resource_record_sets", {"ChangeInfo": change})
    for status in statuses:
        stub.add_response("get_change", {"ChangeInfo": {**change, "Status": status}}, {"Id": "/change/CSTUB"})


def test_waits_for_insync_and_names_the_change_when_it_stays_pending(clients) -> None:
    route53 = clients.get("route53", REGION)
    with Stubber(route53) as stub:
        _stub_route53(stub, ["PENDING", "PENDING", "INSYNC"])
        done = cutover(clients, rds_recovered(), "ZSTUB", "db.stub.example", wait_timeout=10, poll=0.01)
        assert done.change_status == "INSYNC"
        stub.assert_no_pending_responses()
    with Stubber(route53) as stub:
        _stub_route53(stub, ["PENDING"] * 200)
        with pytest.raises(WaitTimeout) as late:
            cutover(clients, rds_recovered(), "ZSTUB", "db.stub.example", wait_timeout=0.05, poll=0.01)
    assert "/change/CSTUB" in str(late.value) and "db.stub.example." in str(late.value)
    assert "'PENDING'" in str(late.value)


# ------------------------------------------------------------------------------------------ verify: AWS


def test_missing_backups_and_monitoring_fail_unless_waived(clients) -> None:
    rid = make_instance(clients, backup_days=0)
    rec = Recovered("rds", REGION, rid, "", 0, "")
    report = verify(clients, rec, VerifyOptions())
    found = by_check(report)
    assert [f.check for f in report.findings] == list(CHECKS)
    assert found["backups"].status == "failed" and rid in found["backups"].detail
    assert f"--db-instance-identifier {rid} --backup-retention-period 7" in found["backups"].fix
    assert found["monitoring"].status == "failed" and f"DBInstanceIdentifier={rid}" in found["monitoring"].detail
    assert "put-metric-alarm" in found["monitoring"].fix and "create-event-subscription" in found["monitoring"].fix
    assert found["connectivity"].status == "not_checked" and found["connectivity"].detail.startswith("not checked")
    assert report.recovered.engine == "postgres" and report.recovered.port > 0  # filled from the description
    with pytest.raises(VerifyFailed) as failed:
        require_passed(report)
    assert "2 check(s) failed" in str(failed.value) and "dr_verify_waive: [backups, monitoring]" in str(failed.value)

    waived = verify(clients, rec, VerifyOptions(waive=frozenset({"backups", "monitoring"})))
    assert {f.check: f.status for f in waived.findings}["backups"] == "waived"
    require_passed(waived)
    assert any("backups waived" in w for w in waived.to_dict()["waived"])

    # An alarm on another instance, or one without actions, does not monitor this one.
    alarm(clients, [{"Name": "DBInstanceIdentifier", "Value": rid + "-other"}])
    silent = alarm(clients, [{"Name": "DBInstanceIdentifier", "Value": rid}], actions=False)
    clients.rds(REGION).modify_db_instance(DBInstanceIdentifier=rid, BackupRetentionPeriod=7, ApplyImmediately=True)
    again = by_check(verify(clients, rec, VerifyOptions()))
    assert again["backups"].status == "ok" and "7 days" in again["backups"].detail
    assert again["monitoring"].status == "failed" and silent in again["monitoring"].detail

    acting = alarm(clients, [{"Name": "DBInstanceIdentifier", "Value": rid}])
    passed = verify(clients, rec, VerifyOptions())
    require_passed(passed)
    assert acting in by_check(passed)["monitoring"].detail


def test_an_rds_event_subscription_covering_the_instance_is_monitoring(clients) -> None:
    rid = make_instance(clients, backup_days=1)
    rec = Recovered("rds", REGION, rid)
    topic = f"arn:aws:sns:{REGION}:123456789012:dr-events"
    rds = clients.rds(REGION)
    rds.create_event_subscription(
        SubscriptionName=unique("other"), SnsTopicArn=topic, SourceType="db-instance", SourceIds=["x"], Enabled=True
    )
    assert by_check(verify(clients, rec, VerifyOptions()))["monitoring"].status == "failed"
    mine = unique("events")
    rds.create_event_subscription(
        SubscriptionName=mine, SnsTopicArn=topic, SourceType="db-instance", SourceIds=[rid], Enabled=True
    )
    found = by_check(verify(clients, rec, VerifyOptions()))["monitoring"]
    assert found.status == "ok" and mine in found.detail


def test_backups_and_alarms_of_aurora_redshift_and_elasticache(clients) -> None:
    rds = clients.rds(REGION)
    cluster = unique("aur")
    rds.create_db_cluster(
        DBClusterIdentifier=cluster,
        Engine="aurora-postgresql",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-secret-1",
        BackupRetentionPeriod=3,
    )
    member = unique("aur-1")
    rds.create_db_instance(
        DBInstanceIdentifier=member,
        DBClusterIdentifier=cluster,
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    aurora = Recovered("aurora", REGION, cluster)
    assert by_check(verify(clients, aurora, VerifyOptions()))["monitoring"].status == "failed"
    alarm(clients, [{"Name": "DBInstanceIdentifier", "Value": member}])  # an alarm on a member instance
    found = by_check(verify(clients, aurora, VerifyOptions()))
    assert found["backups"].status == "ok" and "BackupRetentionPeriod is 3" in found["backups"].detail
    assert found["monitoring"].status == "ok"

    warehouse = unique("rs")
    clients.get("redshift", REGION).create_cluster(
        ClusterIdentifier=warehouse,
        NodeType="dc2.large",
        MasterUsername="dbadmin",
        MasterUserPassword="Not-a-secret-1",
        ClusterType="single-node",
    )
    # moto creates every cluster with 1 day (it reads 0 as "not given"); turning them off is a modify.
    clients.get("redshift", REGION).modify_cluster(ClusterIdentifier=warehouse, AutomatedSnapshotRetentionPeriod=0)
    alarm(clients, [{"Name": "ClusterIdentifier", "Value": warehouse}], namespace="AWS/Redshift")
    found = by_check(verify(clients, Recovered("redshift", REGION, warehouse), VerifyOptions()))
    assert found["backups"].status == "failed" and "AutomatedSnapshotRetentionPeriod is 0" in found["backups"].detail
    assert f"modify-cluster --cluster-identifier {warehouse} --automated-snapshot-retention-period 7" in (
        found["backups"].fix
    )
    assert found["monitoring"].status == "ok"

    group = unique("rg")
    clients.get("elasticache", REGION).create_replication_group(
        ReplicationGroupId=group,
        ReplicationGroupDescription="dr",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=1,
        SnapshotRetentionLimit=0,
    )
    found = by_check(verify(clients, Recovered("elasticache", REGION, group, engine="redis"), VerifyOptions()))
    assert found["backups"].status == "failed" and "SnapshotRetentionLimit is 0" in found["backups"].detail
    assert f"--replication-group-id {group} --snapshot-retention-limit 7" in found["backups"].fix
    assert found["monitoring"].status == "failed" and "put-metric-alarm" in found["monitoring"].fix
    assert found["connectivity"].status == "not_checked" and "dr_verify_redis_address" in found["connectivity"].detail


def test_a_resource_that_does_not_exist_is_not_checked_in_check_mode_and_an_error_for_real(clients) -> None:
    rec = Recovered("rds", REGION, unique("absent"))
    planned = verify(clients, rec, VerifyOptions(), check_mode=True)
    assert [f.status for f in planned.findings] == ["not_checked"] * 4
    assert "does not exist yet" in planned.findings[2].detail
    require_passed(planned)
    with pytest.raises(DbshiftError, match=f"rds {rec.resource_id} in {REGION} does not exist"):
        verify(clients, rec, VerifyOptions())


def test_unreadable_alarms_fail_monitoring_naming_the_permission(clients) -> None:
    rid = make_instance(clients, backup_days=1)
    with Stubber(clients.get("cloudwatch", REGION)) as stub:
        stub.add_client_error("describe_alarms", "AccessDenied", "not authorized to perform cloudwatch:DescribeAlarms")
        found = by_check(verify(clients, Recovered("rds", REGION, rid), VerifyOptions()))["monitoring"]
    assert found.status == "failed" and "AccessDenied" in found.detail and rid in found.detail
    assert "cloudwatch:DescribeAlarms" in found.fix


def test_a_libpq_dsn_for_an_engine_that_does_not_speak_it_is_refused(clients) -> None:
    rid = unique("mssql")
    clients.rds(REGION).create_db_instance(
        DBInstanceIdentifier=rid,
        Engine="sqlserver-se",
        DBInstanceClass="db.m5.large",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
        LicenseModel="license-included",
    )
    # dr_rds reports no engine: it is learnt from DescribeDBInstances before anything connects.
    with pytest.raises(ConfigError, match="runs sqlserver-se"):
        verify(clients, Recovered("rds", REGION, rid), VerifyOptions(target_dsn="host=127.0.0.1 port=1 user=x"))


def test_bad_options_are_refused(clients) -> None:
    redis = Recovered("elasticache", REGION, "", engine="redis")
    with pytest.raises(ConfigError, match="libpq connection string"):
        verify(clients, redis, VerifyOptions(target_dsn="postgresql://x@127.0.0.1/db"))
    with pytest.raises(ConfigError, match="not checks"):
        verify(clients, redis, VerifyOptions(waive=frozenset({"backup"})))
    with pytest.raises(ConfigError, match="needs dr_verify_target_dsn"):
        verify(clients, Recovered("rds", REGION, ""), VerifyOptions(newest_record_query="SELECT 1"))


# ------------------------------------------------------------------------------------------ verify: PostgreSQL


@pytest.fixture
def databases(postgres_dsn: str) -> Iterator[tuple[str, str]]:
    """Source and target databases, each with orders whose newest updated_at differs by 300 s: their DSNs."""
    names = [f"src_{uuid.uuid4().hex[:8]}", f"tgt_{uuid.uuid4().hex[:8]}"]
    newest = [dt.datetime(2026, 11, 20, 10, 5, tzinfo=dt.UTC), dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)]
    with psycopg.connect(f"{postgres_dsn}/postgres", autocommit=True) as admin:
        for name in names:
            admin.execute(f"CREATE DATABASE {name}")
    for name, last in zip(names, newest, strict=True):
        with psycopg.connect(f"{postgres_dsn}/{name}", autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY, updated_at timestamptz NOT NULL)")
            conn.execute("INSERT INTO orders VALUES (1, %s), (2, %s)", (last - dt.timedelta(hours=1), last))
    yield f"{postgres_dsn}/{names[0]}", f"{postgres_dsn}/{names[1]}"
    with psycopg.connect(f"{postgres_dsn}/postgres", autocommit=True) as admin:
        for name in names:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")


QUERY = "SELECT max(updated_at) FROM orders"
PG = Recovered("rds", REGION, "", "", 0, "postgres")  # a server given by DSN: no AWS resource to describe


def test_connectivity_and_newest_record_on_both_sides(clients, databases) -> None:
    source, target = databases
    report = verify(clients, PG, VerifyOptions(target_dsn=target, source_dsn=source, newest_record_query=QUERY))
    found = by_check(report)
    assert found["connectivity"].status == "ok" and "SELECT 1 returned 1" in found["connectivity"].detail
    newest = report.newest_record
    assert newest.source_status == "answered"
    assert dt.datetime.fromisoformat(newest.source) == dt.datetime(2026, 11, 20, 10, 5, tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(newest.target) == dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    assert newest.gap_seconds == 300.0 and "300 s behind" in newest.gap and "data-loss window" in newest.gap
    assert found["newest_record"].status == "ok"
    assert found["backups"].status == "not_checked" and "no AWS resource" in found["backups"].detail
    require_passed(report)


def test_a_source_that_does_not_answer_is_reported_not_failed(clients, databases, postgres_dsn) -> None:
    _, target = databases
    dead = f"postgresql://nobody:{uuid.uuid4().hex}@127.0.0.1:{process.free_port()}/postgres"
    report = verify(
        clients, PG, VerifyOptions(target_dsn=target, source_dsn=dead, newest_record_query=QUERY, connect_timeout=2)
    )
    found = by_check(report)
    assert report.newest_record.source_status == "not_answering" and report.newest_record.source is None
    assert found["newest_record"].status == "ok" and "source does not answer" in found["newest_record"].detail
    assert dead.split(":")[2].split("@")[0] not in found["newest_record"].detail  # no password in the text
    require_passed(report)


def test_target_failures_fail_and_never_show_the_password(clients, databases, postgres_dsn) -> None:
    _, target = databases
    password = postgres_dsn.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    wrong = target.replace(f":{password}@", ":wrong-password-123@")
    bad = verify(clients, PG, VerifyOptions(target_dsn=wrong, connect_timeout=3))
    conn = by_check(bad)["connectivity"]
    assert conn.status == "failed" and "cannot connect" in conn.detail and "password" in conn.detail
    assert "wrong-password-123" not in str(bad.to_dict()) and password not in str(bad.to_dict())
    with pytest.raises(VerifyFailed, match="connectivity failed"):
        require_passed(bad)
    # Check mode: the target may exist only after the real run (a restored database) - said, not passed.
    planned = by_check(verify(clients, PG, VerifyOptions(target_dsn=wrong, connect_timeout=3), check_mode=True))
    assert planned["connectivity"].status == "not_checked" and "check mode" in planned["connectivity"].detail

    missing = verify(clients, PG, VerifyOptions(target_dsn=target, newest_record_query="SELECT max(x) FROM nope"))
    assert by_check(missing)["newest_record"].status == "failed" and "nope" in by_check(missing)["newest_record"].detail

    # The user's query runs read-only: a query that writes fails and leaves nothing behind.
    writes = verify(
        clients,
        PG,
        VerifyOptions(target_dsn=target, newest_record_query="INSERT INTO orders VALUES (3, now()) RETURNING 1"),
    )
    assert (
        by_check(writes)["newest_record"].status == "failed" and "read-only" in by_check(writes)["newest_record"].detail
    )
    with psycopg.connect(target) as check:
        assert check.execute("SELECT count(*) FROM orders").fetchone()[0] == 2

    with pytest.raises(ConfigError, match="one column"):
        verify(clients, PG, VerifyOptions(target_dsn=target, newest_record_query="SELECT 1, 2"))
    waived = verify(clients, PG, VerifyOptions(target_dsn=wrong, connect_timeout=3, waive=frozenset({"connectivity"})))
    require_passed(waived)


def test_the_gap_is_a_time_only_between_times() -> None:
    utc = dt.UTC
    assert gap_between(dt.date(2026, 11, 21), dt.date(2026, 11, 20))[0] == 86400.0
    seconds, text = gap_between(dt.datetime(2026, 1, 1, tzinfo=utc), dt.datetime(2026, 1, 1, 0, 1, tzinfo=utc))
    assert seconds == -60.0 and "ahead of the source" in text
    assert gap_between(dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, tzinfo=utc))[0] is None
    seconds, text = gap_between(1200, 1150)
    assert seconds is None and "source minus target is 50" in text
    assert gap_between(None, dt.datetime(2026, 1, 1))[1] == "no gap: the query returned no value on the source"


# ------------------------------------------------------------------------------------------ verify: Redis


def _missing(reason: str) -> None:
    """A missing tool skips a developer's ad-hoc run, but fails CI and `make test` (which install it)."""
    if os.environ.get("CI") or os.environ.get("DBSHIFT_REQUIRE_TOOLS"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real redis-server on 127.0.0.1 with a password: (host:port, password)."""
    exe = shutil.which("redis-server")
    if not exe:
        _missing("redis-server not found: apt-get install redis-server (Debian package), as .ci/run does")
    work = tmp_path_factory.mktemp("redis")
    port, password = process.free_port(), uuid.uuid4().hex
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(work)]
    pid = process.start([exe, *args, "--requirepass", password], work / "redis.log")
    try:
        process.wait_until(lambda: process.port_open(port), "redis-server", 30, work / "redis.log", pid)
        yield f"127.0.0.1:{port}", password
    finally:
        process.stop(pid)


REDIS = Recovered("elasticache", REGION, "", "", 0, "redis")


def test_redis_ping(clients, redis_server) -> None:
    address, password = redis_server
    ok = by_check(verify(clients, REDIS, VerifyOptions(redis_address=address, redis_auth_token=password)))
    assert ok["connectivity"].status == "ok" and "PONG" in ok["connectivity"].detail

    noauth = by_check(verify(clients, REDIS, VerifyOptions(redis_address=address)))
    assert noauth["connectivity"].status == "ok" and "NOAUTH" in noauth["connectivity"].detail

    wrong = verify(clients, REDIS, VerifyOptions(redis_address=address, redis_auth_token="wrong-token-123"))
    assert by_check(wrong)["connectivity"].status == "failed" and "AUTH refused" in wrong.findings[0].detail
    assert "wrong-token-123" not in str(wrong.to_dict())

    closed = f"127.0.0.1:{process.free_port()}"
    refused = by_check(verify(clients, REDIS, VerifyOptions(redis_address=closed, connect_timeout=2)))
    assert refused["connectivity"].status == "failed" and "ConnectionRefusedError" in refused["connectivity"].detail
    with pytest.raises(ConfigError, match="host:port"):
        verify(clients, REDIS, VerifyOptions(redis_address="no-port"))


def test_a_server_that_does_not_speak_resp_fails_the_ping(clients) -> None:
    """A listener that answers PING with something else (here: HTTP) is reachable, but no Redis: not a pass."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(100)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        address = f"127.0.0.1:{server.getsockname()[1]}"
        found = by_check(verify(clients, REDIS, VerifyOptions(redis_address=address, connect_timeout=2)))
        thread.join(5)
    assert found["connectivity"].status == "failed" and "HTTP/1.1 400" in found["connectivity"].detail


# ------------------------------------------------------------------------------------------ verify: MySQL / MariaDB


@pytest.fixture(scope="module")
def mysql_databases(mariadb: MariaDb) -> tuple[str, str]:
    """Source and target databases on the MariaDB server, orders' newest updated_at 300 s apart: their DSNs."""
    names = [f"src_{uuid.uuid4().hex[:8]}", f"tgt_{uuid.uuid4().hex[:8]}"]
    for name, last in zip(names, ("2026-11-20 10:05:00", "2026-11-20 10:00:00"), strict=True):
        mariadb.sql(
            f"CREATE DATABASE `{name}`; CREATE TABLE `{name}`.orders (id INT PRIMARY KEY, updated_at DATETIME(3) "
            f"NOT NULL); INSERT INTO `{name}`.orders VALUES (1, '{last}' - INTERVAL 1 HOUR), (2, '{last}');"
        )
    return mariadb.dsn_for(names[0]), mariadb.dsn_for(names[1])


MYSQL = Recovered("rds", REGION, "", "", 0, "mysql")  # what dr_rds's native_dump reports for a MySQL dump


def test_mysql_connectivity_and_newest_record_on_both_sides(clients, mysql_databases) -> None:
    source, target = mysql_databases
    report = verify(clients, MYSQL, VerifyOptions(target_dsn=target, source_dsn=source, newest_record_query=QUERY))
    found = by_check(report)
    assert found["connectivity"].status == "ok" and "SELECT 1 returned 1" in found["connectivity"].detail
    newest = report.newest_record
    assert newest.source_status == "answered"
    assert (newest.source, newest.target) == ("2026-11-20T10:05:00", "2026-11-20T10:00:00")
    assert newest.gap_seconds == 300.0 and "300 s behind" in newest.gap
    require_passed(report)
    for secret in (PASSWORD, url_quote(PASSWORD)):
        assert secret not in str(report.to_dict())


def test_an_rds_mysql_instance_is_verified_through_its_mysql_dsn(clients, mysql_databases) -> None:
    """dr_recovered without an engine: MySQL is learnt from DescribeDBInstances, and the mysql:// DSN fits it."""
    _, target = mysql_databases
    rid = unique("mysql")
    clients.rds(REGION).create_db_instance(
        DBInstanceIdentifier=rid,
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
        BackupRetentionPeriod=3,
    )
    report = verify(
        clients, Recovered("rds", REGION, rid), VerifyOptions(target_dsn=target, waive=frozenset({"monitoring"}))
    )
    found = by_check(report)
    assert report.recovered.engine == "mysql" and found["connectivity"].status == "ok"
    assert found["backups"].status == "ok" and found["monitoring"].status == "waived"
    with pytest.raises(ConfigError, match=r"runs mysql: use a MySQL DSN \(mysql://"):
        verify(clients, Recovered("rds", REGION, rid), VerifyOptions(target_dsn="host=127.0.0.1 user=x"))


def test_mysql_failures_fail_or_are_reported_and_never_show_the_password(clients, mysql_databases, mariadb) -> None:
    _, target = mysql_databases
    wrong = target.replace(url_quote(PASSWORD), "wrong-password-123")
    bad = verify(clients, MYSQL, VerifyOptions(target_dsn=wrong, connect_timeout=3))
    conn = by_check(bad)["connectivity"]
    assert conn.status == "failed" and "Access denied for user 'dbshift'" in conn.detail
    assert "wrong-password-123" not in str(bad.to_dict())
    with pytest.raises(VerifyFailed, match="connectivity failed"):
        require_passed(bad)

    dead = f"mysql://dbshift:{url_quote(PASSWORD)}@127.0.0.1:{process.free_port()}/x"
    report = verify(
        clients, MYSQL, VerifyOptions(target_dsn=target, source_dsn=dead, newest_record_query=QUERY, connect_timeout=2)
    )
    assert report.newest_record.source_status == "not_answering"
    assert by_check(report)["newest_record"].status == "ok"
    for secret in (PASSWORD, url_quote(PASSWORD)):
        assert secret not in str(report.to_dict())

    # Read-only: a query that writes fails and leaves nothing behind.
    writes = by_check(
        verify(
            clients, MYSQL, VerifyOptions(target_dsn=target, newest_record_query="INSERT INTO orders VALUES (3, NOW())")
        )
    )
    assert writes["newest_record"].status == "failed" and "READ ONLY" in writes["newest_record"].detail
    database = target.rsplit("/", 1)[1]
    assert mariadb.sql("SELECT count(*) FROM orders", database) == [["2"]]

    # The query timeout is the server's: a query running longer is stopped.
    slow = by_check(
        verify(
            clients,
            MYSQL,
            VerifyOptions(
                target_dsn=target,
                newest_record_query="SELECT max(updated_at) FROM orders WHERE SLEEP(3) = 0",
                query_timeout=1,
            ),
        )
    )
    assert slow["newest_record"].status == "failed" and "max_statement_time" in slow["newest_record"].detail

    with pytest.raises(ConfigError, match="one column"):
        verify(clients, MYSQL, VerifyOptions(target_dsn=target, newest_record_query="SELECT 1, 2"))
    with pytest.raises(ConfigError, match="dr_verify_source_dsn is not a MySQL DSN"):
        verify(
            clients,
            MYSQL,
            VerifyOptions(target_dsn=target, source_dsn="host=127.0.0.1 user=x", newest_record_query=QUERY),
        )
    with pytest.raises(ConfigError, match="MySQL DSN names no user"):
        verify(clients, MYSQL, VerifyOptions(target_dsn="mysql://127.0.0.1:3306"))
    with pytest.raises(ConfigError, match="runs postgres: use a libpq connection string"):
        verify(clients, PG, VerifyOptions(target_dsn=target))


# ------------------------------------------------------------------------------------------ verify: SQL Server


@pytest.fixture(scope="module")
def tds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The SQL Server emulator alone (dbshift.estate.winrm_host with one instance and its TDS listener), with
    source and target databases whose orders' newest updated_at are 300 s apart: (source DSN, target DSN)."""
    work = tmp_path_factory.mktemp("tds")
    login, password = "dr_verify", f"Pw:@/{uuid.uuid4().hex[:12]}!"  # characters a DSN must percent-encode
    (work / "sql.pw").write_text(password)
    (work / "winrm.pw").write_text(uuid.uuid4().hex)
    for secret in ("sql.pw", "winrm.pw"):
        (work / secret).chmod(0o600)
    port = process.free_port()
    config = {
        "root": str(work / "root"),
        "instances": [{"name": "DR", "server_names": ["dr"], "kind": "ec2", "sql_login": login,
                       "sql_password": None, "sql_password_file": str(work / "sql.pw"), "rds": None}],
        "tds_ports": {"dr": port},
    }  # fmt: skip
    (work / "config.json").write_text(json.dumps(config))
    winrm = process.free_port()
    while winrm == port:
        winrm = process.free_port()
    argv = [sys.executable, "-m", "dbshift.estate.winrm_host", "--config", str(work / "config.json"),
            "--port", str(winrm), "--username", "u", "--password-file", str(work / "winrm.pw")]  # fmt: skip
    pid = process.start(argv, work / "host.log")
    try:
        process.wait_until(lambda: process.port_open(port), "TDS listener", 60, work / "host.log", pid)
        names = [f"VSrc_{uuid.uuid4().hex[:6]}", f"VTgt_{uuid.uuid4().hex[:6]}"]
        for name, last in zip(names, ("2026-11-20T10:05:00", "2026-11-20T10:00:00"), strict=True):
            with connect_tds(f"127.0.0.1:{port}", login, password, "master") as conn:
                conn.query(f"CREATE DATABASE [{name}]")
            with connect_tds(f"127.0.0.1:{port}", login, password, name) as conn:
                conn.query("CREATE TABLE dbo.orders (id INT PRIMARY KEY, updated_at DATETIME2(3) NOT NULL)")
                conn.query(f"INSERT INTO dbo.orders VALUES (1, DATEADD(hour, -1, '{last}')), (2, '{last}')")
        base = f"mssql://{login}:{url_quote(password)}@127.0.0.1:{port}"
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        process.stop(pid)


MSSQL = Recovered("rds", REGION, "", "", 0, "sqlserver")  # what dr_rds's native_dump reports for SQL Server


def test_sqlserver_connectivity_and_newest_record_over_tds(clients, tds_server) -> None:
    source, target = tds_server
    password = target.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    report = verify(clients, MSSQL, VerifyOptions(target_dsn=target, source_dsn=source, newest_record_query=QUERY))
    found = by_check(report)
    assert found["connectivity"].status == "ok" and "SELECT 1 returned 1" in found["connectivity"].detail
    newest = report.newest_record
    assert (newest.source, newest.target, newest.gap_seconds) == ("2026-11-20T10:05:00", "2026-11-20T10:00:00", 300.0)
    require_passed(report)

    wrong = target.replace(password, "wrong-password-123")
    bad = by_check(verify(clients, MSSQL, VerifyOptions(target_dsn=wrong, connect_timeout=3)))["connectivity"]
    assert bad.status == "failed" and "Login failed" in bad.detail and "wrong-password-123" not in bad.detail

    # SQL Server has no read-only transaction: anything but a SELECT is refused before it runs.
    for writes in (
        "INSERT INTO dbo.orders VALUES (3, SYSDATETIME())",
        "SELECT max(updated_at) AS m INTO dbo.x FROM dbo.orders",
    ):
        found = by_check(verify(clients, MSSQL, VerifyOptions(target_dsn=target, newest_record_query=writes)))
        assert found["newest_record"].status == "failed" and "read-only" in found["newest_record"].detail
    parts = target.split("@", 1)[1]
    host_port, database = parts.split("/", 1)
    with connect_tds(host_port, "dr_verify", unquote(password), database) as conn:
        assert conn.query("SELECT COUNT(*) AS n FROM dbo.orders")[1] == [(2,)]
        assert conn.query("SELECT COUNT(*) AS n FROM sys.tables WHERE name = 'x'")[1] == [(0,)]
    with pytest.raises(ConfigError, match=r"runs sqlserver: use a SQL Server DSN \(mssql://"):
        verify(clients, MSSQL, VerifyOptions(target_dsn="host=127.0.0.1 user=x"))
