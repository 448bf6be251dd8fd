"""The shared DR verify step: prove the recovered resource is usable and looked after.

Four checks, each a `Finding` (ok, failed, waived or not_checked - never a pass for what was not looked at):
  connectivity   connect + SELECT 1 - libpq (PostgreSQL, Aurora PostgreSQL, Redshift), PyMySQL (MySQL, MariaDB,
                 Aurora MySQL: a mysql:// DSN) or TDS (SQL Server: an mssql:// DSN) - or TCP + RESP PING (Redis,
                 Valkey), when the user gives something to connect to;
  newest_record  the user's query (e.g. SELECT max(updated_at) FROM orders) read-only on the target and, where it
                 still answers, the source: both values and the gap between them, the data-loss window. A source
                 that does not answer is reported, not a failure (its Region may be the impaired one);
  backups        automated backups on: RDS/Aurora BackupRetentionPeriod, Redshift AutomatedSnapshotRetentionPeriod,
                 ElastiCache SnapshotRetentionLimit > 0;
  monitoring     at least one CloudWatch metric alarm, with actions, whose dimensions name the resource (or one of
                 its members); for RDS and Aurora an enabled RDS event subscription covering it counts too.
A failed check fails the run with the resource and the fix, unless waived by name.
"""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import unquote

from botocore.exceptions import ClientError

from dbshift.dr import Clients, error_code
from dbshift.dr.cutover import Recovered
from dbshift.errors import ConfigError, DbshiftError

CHECKS = ("connectivity", "newest_record", "backups", "monitoring")
LIBPQ_ENGINES = ("postgres", "aurora-postgresql", "redshift")
# "aurora" is Aurora MySQL 5.6's engine name; option D of dr_rds reports plain mysql or sqlserver.
MYSQL_ENGINES = ("mysql", "mariadb", "aurora-mysql", "aurora")
SQLSERVER_ENGINES = ("sqlserver", "sqlserver-ee", "sqlserver-se", "sqlserver-ex", "sqlserver-web")
RESP_ENGINES = ("redis", "valkey")
# What a DSN connects to, by its scheme (dbshift.dr.runbook.dsn_engine): the engines it serves and its form.
DSN_KINDS = {
    "postgres": (LIBPQ_ENGINES, "a libpq connection string"),
    "mysql": (MYSQL_ENGINES, "a MySQL DSN (mysql://USER:PASSWORD@HOST:PORT/DATABASE)"),
    "sqlserver": (SQLSERVER_ENGINES, "a SQL Server DSN (mssql://LOGIN:PASSWORD@HOST:PORT/DATABASE)"),
}
# CloudWatch dimensions that name each kind of resource (its own id or a member's).
DIMENSIONS = {
    "rds": ("DBInstanceIdentifier",),
    "aurora": ("DBClusterIdentifier", "DBInstanceIdentifier"),
    "redshift": ("ClusterIdentifier",),
    "elasticache": ("ReplicationGroupId", "CacheClusterId"),
}
NAMESPACES = {"rds": "AWS/RDS", "aurora": "AWS/RDS", "redshift": "AWS/Redshift", "elasticache": "AWS/ElastiCache"}
NOT_FOUND = {
    "DBInstanceNotFound",
    "DBInstanceNotFoundFault",
    "DBClusterNotFoundFault",
    "ClusterNotFound",
    "ClusterNotFoundFault",
    "ReplicationGroupNotFoundFault",
    "CacheClusterNotFound",
    "CacheClusterNotFoundFault",
}


@dataclass
class Finding:
    check: str
    status: str  # ok | failed | waived | not_checked
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.check} {self.status}: {self.detail}" + (f" Fix: {self.fix}" if self.fix else "")


@dataclass
class NewestRecord:
    query: str | None = None
    source: str | None = None
    target: str | None = None
    source_status: str = "not_checked"  # answered | not_answering | not_checked
    gap_seconds: float | None = None
    gap: str | None = None


@dataclass
class VerifyOptions:
    target_dsn: str | None = field(default=None, repr=False)
    source_dsn: str | None = field(default=None, repr=False)
    newest_record_query: str | None = None
    redis_address: str | None = None  # host:port
    redis_tls: bool = False
    redis_username: str | None = None
    redis_auth_token: str | None = field(default=None, repr=False)
    connect_timeout: float = 10.0
    query_timeout: int = 60
    waive: frozenset[str] = frozenset()


@dataclass
class Resource:
    """The recovered resource as its service describes it now."""

    service: str
    resource_id: str
    engine: str
    endpoint: str
    port: int
    backup_setting: str  # the API field holding the backup retention
    backup_days: int
    members: list[str] = field(default_factory=list)  # member instances / cache clusters, for alarm dimensions


@dataclass
class VerifyReport:
    recovered: Recovered
    findings: list[Finding]
    newest_record: NewestRecord

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": asdict(self.recovered),
            "findings": [asdict(f) for f in self.findings],
            "newest_record": asdict(self.newest_record),
            "waived": [str(f) for f in self.findings if f.status == "waived"],
            "not_checked": [f.check for f in self.findings if f.status == "not_checked"],
        }

    def failure_message(self) -> str:
        lines = [f"dr_verify {self.recovered.label}: {len(self.failures)} check(s) failed"]
        lines += [f"- {f}" for f in self.failures]
        names = ", ".join(f.check for f in self.failures)
        lines.append(f"Fix each, or accept it by name: dr_verify_waive: [{names}]")
        others = [f for f in self.findings if f.status != "failed"]
        if others:
            lines.append("Other findings: " + "; ".join(f"{f.check} {f.status}: {f.detail}" for f in others))
        return "\n".join(lines)


class VerifyFailed(DbshiftError):
    """At least one check failed and nobody waived it."""


# ---------------------------------------------------------------- the resource


def describe(clients: Clients, rec: Recovered) -> Resource | None:
    """The recovered resource in its Region (target Region only); None when it does not exist."""
    try:
        return _describe(clients, rec)
    except ClientError as err:
        if error_code(err) in NOT_FOUND:
            return None
        raise


def _describe(clients: Clients, rec: Recovered) -> Resource | None:
    rid = rec.resource_id
    if rec.service == "rds":
        inst = clients.get("rds", rec.region).describe_db_instances(DBInstanceIdentifier=rid)["DBInstances"][0]
        endpoint = inst.get("Endpoint") or {}
        return Resource(
            "rds",
            rid,
            inst.get("Engine", ""),
            endpoint.get("Address", ""),
            int(endpoint.get("Port") or 0),
            "BackupRetentionPeriod",
            int(inst.get("BackupRetentionPeriod") or 0),
        )
    if rec.service == "aurora":
        cluster = clients.get("rds", rec.region).describe_db_clusters(DBClusterIdentifier=rid)["DBClusters"][0]
        return Resource(
            "aurora",
            rid,
            cluster.get("Engine", ""),
            cluster.get("Endpoint", ""),
            int(cluster.get("Port") or 0),
            "BackupRetentionPeriod",
            int(cluster.get("BackupRetentionPeriod") or 0),
            [m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])],
        )
    if rec.service == "redshift":
        cluster = clients.get("redshift", rec.region).describe_clusters(ClusterIdentifier=rid)["Clusters"][0]
        endpoint = cluster.get("Endpoint") or {}
        return Resource(
            "redshift",
            rid,
            "redshift",
            endpoint.get("Address", ""),
            int(endpoint.get("Port") or 0),
            "AutomatedSnapshotRetentionPeriod",
            int(cluster.get("AutomatedSnapshotRetentionPeriod") or 0),
        )
    elasticache = clients.get("elasticache", rec.region)
    try:
        group = elasticache.describe_replication_groups(ReplicationGroupId=rid)["ReplicationGroups"][0]
    except ClientError as err:
        if error_code(err) not in NOT_FOUND:
            raise
    else:
        node_groups = group.get("NodeGroups") or [{}]
        endpoint = group.get("ConfigurationEndpoint") or node_groups[0].get("PrimaryEndpoint") or {}
        return Resource(
            "elasticache",
            rid,
            rec.engine or "redis",
            endpoint.get("Address", ""),
            int(endpoint.get("Port") or 0),
            "SnapshotRetentionLimit",
            int(group.get("SnapshotRetentionLimit") or 0),
            list(group.get("MemberClusters", [])),
        )
    cluster = elasticache.describe_cache_clusters(CacheClusterId=rid, ShowCacheNodeInfo=True)["CacheClusters"][0]
    nodes = cluster.get("CacheNodes") or [{}]
    endpoint = cluster.get("ConfigurationEndpoint") or nodes[0].get("Endpoint") or {}
    return Resource(
        "elasticache",
        rid,
        cluster.get("Engine", "") or rec.engine,
        endpoint.get("Address", ""),
        int(endpoint.get("Port") or 0),
        "SnapshotRetentionLimit",
        int(cluster.get("SnapshotRetentionLimit") or 0),
    )


# ---------------------------------------------------------------- backups and monitoring


def backups_finding(rec: Recovered, res: Resource) -> Finding:
    if res.backup_days > 0:
        return Finding("backups", "ok", f"{res.resource_id} {res.backup_setting} is {res.backup_days} days")
    rid, region = res.resource_id, rec.region
    fixes = {
        "rds": f"aws rds modify-db-instance --db-instance-identifier {rid} --backup-retention-period 7 "
        f"--apply-immediately --region {region}",
        "aurora": f"aws rds modify-db-cluster --db-cluster-identifier {rid} --backup-retention-period 7 "
        f"--apply-immediately --region {region}",
        "redshift": f"aws redshift modify-cluster --cluster-identifier {rid} --automated-snapshot-retention-period 7 "
        f"--region {region}",
        "elasticache": f"aws elasticache modify-replication-group --replication-group-id {rid} "
        f"--snapshot-retention-limit 7 --apply-immediately --region {region}",
    }
    if res.service == "elasticache" and not res.members:  # a cache cluster outside any replication group
        fixes["elasticache"] = (
            f"aws elasticache modify-cache-cluster --cache-cluster-id {rid} --snapshot-retention-limit 7 "
            f"--apply-immediately --region {region}"
        )
    return Finding(
        "backups",
        "failed",
        f"{rec.service} {rid} in {region} has no automated backups ({res.backup_setting} is {res.backup_days})",
        f"turn them on ({fixes[res.service]}), or set the dr role's backup retention input and rerun it",
    )


def _alarm_dimensions(alarm: dict[str, Any]) -> list[dict[str, str]]:
    dims = list(alarm.get("Dimensions") or [])
    for query in alarm.get("Metrics") or []:  # metric-math alarms keep dimensions per metric
        dims += ((query.get("MetricStat") or {}).get("Metric") or {}).get("Dimensions") or []
    return dims


def alarms_naming(clients: Clients, rec: Recovered, res: Resource) -> list[dict[str, Any]]:
    names, kinds = {res.resource_id, *res.members}, DIMENSIONS[rec.service]
    found = []
    pages = clients.get("cloudwatch", rec.region).get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
    for page in pages:
        for alarm in page.get("MetricAlarms", []):
            if any(d.get("Name") in kinds and d.get("Value") in names for d in _alarm_dimensions(alarm)):
                found.append(alarm)
    return found


def subscriptions_covering(clients: Clients, rec: Recovered, res: Resource) -> list[str]:
    """Enabled, active RDS event subscriptions that cover the instance or cluster (or all of its kind)."""
    source_type = "db-cluster" if rec.service == "aurora" else "db-instance"
    out = []
    pages = clients.get("rds", rec.region).get_paginator("describe_event_subscriptions").paginate()
    for page in pages:
        for sub in page.get("EventSubscriptionsList", []):
            if not sub.get("Enabled") or sub.get("Status") != "active":
                continue
            kind, ids = sub.get("SourceType"), set(sub.get("SourceIdsList") or [])
            # No source type: every event of every source. No ids: every source of that type.
            names = {res.resource_id} if kind == source_type else set(res.members) if kind == "db-instance" else set()
            if not kind or (names and (not ids or ids & names)):
                out.append(sub["CustSubscriptionId"])
    return out


def monitoring_finding(clients: Clients, rec: Recovered, res: Resource) -> Finding:
    alarms = alarms_naming(clients, rec, res)
    # An alarm without actions changes colour in the console and tells nobody: it does not count.
    acting = [a["AlarmName"] for a in alarms if a.get("ActionsEnabled", True) and a.get("AlarmActions")]
    silent = [a["AlarmName"] for a in alarms if a["AlarmName"] not in acting]
    subs = subscriptions_covering(clients, rec, res) if rec.service in ("rds", "aurora") else []
    parts = []
    if acting:
        parts.append("CloudWatch alarms " + ", ".join(sorted(acting)))
    if subs:
        parts.append("RDS event subscriptions " + ", ".join(sorted(subs)))
    if silent:
        parts.append("alarms without actions (not counted): " + ", ".join(sorted(silent)))
    if acting or subs:
        return Finding("monitoring", "ok", f"{res.resource_id}: " + "; ".join(parts))
    dim = DIMENSIONS[rec.service][0]
    value = res.resource_id
    if rec.service == "elasticache" and res.members:
        dim, value = "CacheClusterId", res.members[0]
    fix = (
        f"create an alarm with actions, e.g. aws cloudwatch put-metric-alarm --region {rec.region} --alarm-name "
        f"{res.resource_id}-cpu --namespace {NAMESPACES[rec.service]} --metric-name CPUUtilization --dimensions "
        f"Name={dim},Value={value} --statistic Average --period 300 --evaluation-periods 3 --threshold 80 "
        "--comparison-operator GreaterThanThreshold --alarm-actions <sns-topic-arn>"
    )
    if rec.service in ("rds", "aurora"):
        kind = "db-cluster" if rec.service == "aurora" else "db-instance"
        fix += (
            f"; or an RDS event subscription: aws rds create-event-subscription --region {rec.region} "
            f"--subscription-name {res.resource_id}-events --sns-topic-arn <sns-topic-arn> --source-type {kind} "
            f"--source-ids {res.resource_id} --enabled"
        )
    looked = f"no CloudWatch alarm with actions names {'/'.join(DIMENSIONS[rec.service])}={res.resource_id}"
    if res.members:
        looked += f" (or a member: {', '.join(res.members)})"
    if rec.service in ("rds", "aurora"):
        looked += ", and no enabled RDS event subscription covers it"
    if silent:
        looked += "; alarms without actions: " + ", ".join(sorted(silent))
    return Finding("monitoring", "failed", f"{rec.service} {res.resource_id} in {rec.region}: {looked}", fix)


def _monitoring_or_denied(clients: Clients, rec: Recovered, res: Resource) -> Finding:
    try:
        return monitoring_finding(clients, rec, res)
    except ClientError as err:
        # Alarms and subscriptions that cannot be read are not proof of monitoring; say which permission is missing.
        return Finding(
            "monitoring",
            "failed",
            f"cannot read the alarms or event subscriptions of {rec.label}: {error_code(err)}: {err}",
            "grant the runbook's role cloudwatch:DescribeAlarms (and rds:DescribeEventSubscriptions for RDS/Aurora)",
        )


# ---------------------------------------------------------------- connectivity and newest record


def _scrub(text: str, *secrets: str | None) -> str:
    """Error texts may echo a DSN (a malformed one is quoted whole): hide it and any password in it."""
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, "<dsn>")
        for password in re.findall(r"://[^:/@\s]*:([^@\s]+)@", secret) + re.findall(r"password=(\S+)", secret):
            text = text.replace(password, "<password>").replace(unquote(password), "<password>")
    return text


def dsn_kind(dsn: str, what: str) -> str:
    """postgres, mysql or sqlserver: how to connect to `dsn`, from its scheme (never from its secret parts)."""
    from dbshift.dr.runbook import dsn_engine

    return dsn_engine(dsn, what)


def engine_kind(engine: str) -> str | None:
    """The DSN kind that connects to `engine` (None for engines dbshift connects to otherwise, or not at all)."""
    return next((kind for kind, (engines, _) in DSN_KINDS.items() if engine in engines), None)


def one_value(query: str, columns: int, rows: list[Any]) -> Any:
    """The newest-record query's single value, from its column count and (up to two of) its rows."""
    if columns != 1:
        raise ConfigError(f"newest-record query {query!r} must return one column, e.g. SELECT max(updated_at) ...")
    if len(rows) != 1:
        raise ConfigError(f"newest-record query {query!r} must return exactly one row (use max(...))")
    return rows[0][0]


class Connection(Protocol):
    """An open connection to the target or source database, whatever its engine."""

    def select_one(self) -> Any: ...

    def newest(self, query: str, timeout: int) -> Any: ...

    def close(self) -> None: ...


class LibpqConnection:
    def __init__(self, dsn: str, opts: VerifyOptions) -> None:
        import psycopg

        self.conn = psycopg.connect(dsn, connect_timeout=max(1, int(opts.connect_timeout)), autocommit=False)
        self.conn.read_only = True  # the user's query runs in a READ ONLY transaction: verify never writes

    def select_one(self) -> Any:
        with self.conn.cursor() as cur:
            cur.execute("SELECT 1")
            row = cur.fetchone()
        self.conn.rollback()
        return row[0] if row else None

    def newest(self, query: str, timeout: int) -> Any:
        with self.conn.cursor() as cur:
            cur.execute(f"SET statement_timeout = {int(timeout) * 1000}")
            cur.execute(query)
            value = one_value(query, len(cur.description or ()), cur.fetchmany(2))
        self.conn.rollback()
        return value

    def close(self) -> None:
        self.conn.close()


# MySQL client options (in the DSN's query string, as option D's mysqldump takes them) that PyMySQL honours;
# the others (e.g. default-character-set) do not change what verify reads.
def _mysql_tls(options: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for name, value in options:
        mode = value.upper() if name == "ssl-mode" else ""
        if name in ("ssl-ca", "ssl-cert", "ssl-key"):
            kw[name.replace("-", "_")] = value
        elif name == "ssl-verify-server-cert" or mode == "VERIFY_IDENTITY":
            kw["ssl_verify_identity"] = True
        elif mode == "VERIFY_CA":
            kw["ssl_verify_cert"] = True
        elif mode == "DISABLED" or name == "skip-ssl":
            kw["ssl_disabled"] = True
        elif mode == "REQUIRED" or name == "ssl":
            required = ssl.create_default_context()
            required.check_hostname, required.verify_mode = False, ssl.CERT_NONE  # encrypted, not verified
            kw["ssl"] = required
    if "ssl_ca" in kw:  # as the mysql client does: a CA given is a CA checked
        kw.setdefault("ssl_verify_cert", True)
    return kw


class MySqlConnection:
    """MySQL, MariaDB and Aurora MySQL through PyMySQL (pure Python: no client library on the controller)."""

    def __init__(self, dsn: str, opts: VerifyOptions) -> None:
        import pymysql

        from dbshift.dr.native_dump_mysql import MySqlDsn

        parsed = MySqlDsn.parse(dsn)
        self.conn = pymysql.connect(
            host=parsed.host,
            port=parsed.port,
            user=parsed.user,
            password=parsed.password or "",
            database=parsed.database,
            connect_timeout=max(1, int(opts.connect_timeout)),
            read_timeout=int(opts.query_timeout) + 5,  # the client's backstop; the server stops the query first
            charset="utf8mb4",
            autocommit=False,
            **_mysql_tls(parsed.options),
        )

    def select_one(self) -> Any:
        with self.conn.cursor() as cur:
            cur.execute("SELECT 1")
            row = cur.fetchone()
        return row[0] if row else None

    def newest(self, query: str, timeout: int) -> Any:
        with self.conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            version = str((cur.fetchone() or [""])[0])
            if "MariaDB" in version:
                cur.execute(f"SET SESSION max_statement_time = {int(timeout)}")
            else:
                cur.execute(f"SET SESSION max_execution_time = {int(timeout) * 1000}")
            cur.execute("START TRANSACTION READ ONLY")  # verify never writes: a write fails with error 1792
            try:
                cur.execute(query)
                return one_value(query, len(cur.description or ()), list(cur.fetchmany(2)))
            finally:
                self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def _only_reads(query: str) -> None:
    """SQL Server has no read-only transaction: the query must be SELECTs only (no SELECT INTO), by its parse."""
    import sqlglot
    from sqlglot import exp

    try:
        statements = [s for s in sqlglot.parse(query, read="tsql") if s is not None]
    except sqlglot.errors.ParseError as err:
        raise PermissionError(f"verify runs read-only and cannot parse the query as T-SQL: {err}") from None
    if not statements or any(not isinstance(s, exp.Query) or s.find(exp.Into) for s in statements):
        raise PermissionError("verify runs read-only: on SQL Server the query must be a SELECT (no INTO, no writes)")


class TdsConnection:
    """SQL Server (RDS for SQL Server, or any) over TDS, the database from the DSN's path (master without one)."""

    def __init__(self, dsn: str, opts: VerifyOptions) -> None:
        from dbshift.dr.native_dump_sqlserver import parse_dsn
        from dbshift.tsql.tds import connect_tds

        parsed = parse_dsn(dsn)
        self.conn = connect_tds(
            parsed.host_port, parsed.login, parsed.password, parsed.default_database, timeout=opts.connect_timeout
        )

    def select_one(self) -> Any:
        _, rows = self.conn.query("SELECT 1 AS one")
        return rows[0][0] if rows else None

    def newest(self, query: str, timeout: int) -> Any:
        _only_reads(query)
        # T-SQL has no statement timeout; LOCK_TIMEOUT bounds the wait for locks, the usual cause of a hang.
        columns, rows = self.conn.query(f"SET LOCK_TIMEOUT {int(timeout) * 1000};\n{query}")
        return one_value(query, len(columns), rows[:2])

    def close(self) -> None:
        self.conn.close()


CONNECTIONS = {"postgres": LibpqConnection, "mysql": MySqlConnection, "sqlserver": TdsConnection}


def _connect(dsn: str, opts: VerifyOptions, what: str) -> Connection:
    return CONNECTIONS[dsn_kind(dsn, what)](dsn, opts)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, (datetime, date)) else str(value)


def gap_between(source: Any, target: Any) -> tuple[float | None, str]:
    """Seconds the target is behind the source (datetimes and dates), and a sentence about it."""
    if source is None or target is None:
        side = "source" if source is None else "target"
        return None, f"no gap: the query returned no value on the {side}"
    if isinstance(source, datetime) and isinstance(target, datetime):
        if (source.tzinfo is None) != (target.tzinfo is None):
            return None, "no gap: one side returned a timestamp with a time zone, the other without"
        seconds = (source - target).total_seconds()
    elif isinstance(source, date) and isinstance(target, date) and not isinstance(source, datetime):
        seconds = float((source - target).days * 86400)
    elif isinstance(source, (int, float, Decimal)) and isinstance(target, (int, float, Decimal)):
        diff = source - target
        return None, f"source minus target is {diff} (not a time: no data-loss window in seconds)"
    else:
        return None, f"no gap: the values are not comparable ({type(source).__name__}, {type(target).__name__})"
    if seconds > 0:
        return (
            seconds,
            f"the target is {seconds:g} s behind the source: up to {seconds:g} s of changes (data-loss window)",
        )
    if seconds == 0:
        return 0.0, "the newest record is the same on both sides (no data lost by this measure)"
    return seconds, f"the target is {-seconds:g} s ahead of the source (it has taken writes since the cutover)"


def resp_ping(address: str, opts: VerifyOptions) -> str:
    """TCP connect to host:port, optional TLS and AUTH, then RESP PING; the server's reply."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"redis address {address!r} is not host:port: set dr_verify_redis_address to e.g. host:6379")
    with socket.create_connection((host.strip("[]"), int(port)), timeout=opts.connect_timeout) as raw:
        sock: socket.socket = raw
        if opts.redis_tls:
            sock = ssl.create_default_context().wrap_socket(raw, server_hostname=host.strip("[]"))
        reader = sock.makefile("rb")

        def command(*args: str) -> str:
            payload = f"*{len(args)}\r\n".encode()
            for arg in args:
                data = arg.encode()
                payload += b"$%d\r\n%s\r\n" % (len(data), data)
            sock.sendall(payload)
            line = reader.readline()
            if not line:
                raise ConnectionError("the server closed the connection without answering")
            return line.decode(errors="replace").rstrip("\r\n")

        if opts.redis_auth_token:
            args = [opts.redis_username] if opts.redis_username else []
            reply = command("AUTH", *args, opts.redis_auth_token)
            if not reply.startswith("+"):
                raise PermissionError(f"AUTH refused: {reply.lstrip('-')}")
        return command("PING")


def connectivity_and_newest(
    rec: Recovered, res: Resource | None, opts: VerifyOptions
) -> tuple[Finding, Finding, NewestRecord]:
    engine = (res.engine if res else "") or rec.engine
    newest = NewestRecord(query=opts.newest_record_query or None)
    if opts.redis_address:
        return _redis(rec, opts), _no_newest(opts), newest
    if not opts.target_dsn:
        kind = engine_kind(engine)
        if kind:
            what = f"set dr_verify_target_dsn ({DSN_KINDS[kind][1]}) to connect and SELECT 1"
        elif engine in RESP_ENGINES:
            what = "set dr_verify_redis_address (host:port) to connect and PING"
        else:
            what = f"dbshift connects to PostgreSQL, MySQL, SQL Server and Redis engines only; engine {engine or '?'}"
        finding = Finding("connectivity", "not_checked", f"not checked: nothing to connect to ({what})")
        return finding, _no_newest(opts), newest

    target_label = f"{rec.service} {rec.resource_id or 'target'} (dr_verify_target_dsn)"
    try:
        conn = _connect(opts.target_dsn, opts, "dr_verify_target_dsn")
    except ConfigError:
        raise
    except Exception as err:
        msg = _scrub(f"{type(err).__name__}: {err}", opts.target_dsn)
        fix = "check the DSN's host, port, user and password, the security group and the route from this host"
        failed = Finding("connectivity", "failed", f"cannot connect to {target_label}: {msg}", fix)
        reason = "not checked: the target does not answer"
        return failed, Finding("newest_record", "not_checked", reason) if newest.query else _no_newest(opts), newest
    try:
        try:
            one = conn.select_one()
        except Exception as err:
            msg = _scrub(f"{type(err).__name__}: {err}", opts.target_dsn)
            fail = Finding("connectivity", "failed", f"{target_label} connected but SELECT 1 failed: {msg}")
            return fail, _no_newest(opts), newest
        ok = Finding("connectivity", "ok", f"connected to {target_label}: SELECT 1 returned {one}")
        if not newest.query:
            return ok, _no_newest(opts), newest
        try:
            target_value = conn.newest(newest.query, opts.query_timeout)
        except ConfigError:
            raise
        except Exception as err:
            msg = _scrub(f"{type(err).__name__}: {err}", opts.target_dsn)
            fix = "correct dr_verify_newest_record_query for the target's schema"
            return ok, Finding("newest_record", "failed", f"on the target: {msg}", fix), newest
    finally:
        conn.close()
    newest.target = _text(target_value)
    return ok, _newest_on_source(newest, target_value, opts), newest


def _newest_on_source(newest: NewestRecord, target_value: Any, opts: VerifyOptions) -> Finding:
    assert newest.query
    if not opts.source_dsn:
        return Finding(
            "newest_record",
            "ok",
            f"newest record on the target: {newest.target}; source not checked (no dr_verify_source_dsn)",
        )
    try:
        conn = _connect(opts.source_dsn, opts, "dr_verify_source_dsn")
        try:
            source_value = conn.newest(newest.query, opts.query_timeout)
        finally:
            conn.close()
    except ConfigError:
        raise
    except Exception as err:
        newest.source_status = "not_answering"
        msg = _scrub(f"{type(err).__name__}: {err}", opts.source_dsn)
        return Finding(
            "newest_record",
            "ok",
            f"newest record on the target: {newest.target}; the source does not answer ({msg}), so the data-loss "
            "window is unknown (not a failure: the source Region may be the impaired one)",
        )
    newest.source_status, newest.source = "answered", _text(source_value)
    newest.gap_seconds, newest.gap = gap_between(source_value, target_value)
    return Finding(
        "newest_record", "ok", f"newest record: source {newest.source}, target {newest.target}; {newest.gap}"
    )


def _no_newest(opts: VerifyOptions) -> Finding:
    if opts.newest_record_query and opts.redis_address:
        return Finding("newest_record", "not_checked", "not checked: a newest-record query needs a database target")
    return Finding(
        "newest_record",
        "not_checked",
        "not checked: no newest-record query (dr_verify_newest_record_query, e.g. SELECT max(updated_at) FROM orders)",
    )


def _redis(rec: Recovered, opts: VerifyOptions) -> Finding:
    assert opts.redis_address
    label = f"{rec.service} {rec.resource_id or 'target'} at {opts.redis_address}"
    try:
        reply = resp_ping(opts.redis_address, opts)
    except ConfigError:
        raise
    except Exception as err:
        fix = "check the address, the security group, TLS (dr_verify_redis_tls) and the AUTH token"
        return Finding("connectivity", "failed", f"{label}: {type(err).__name__}: {err}", fix)
    if reply == "+PONG":
        return Finding("connectivity", "ok", f"{label} answered PING with PONG")
    if reply.startswith("-NOAUTH"):
        return Finding(
            "connectivity",
            "ok",
            f"{label} answers (PING: {reply.lstrip('-')}); set dr_verify_redis_auth_token to check the token too",
        )
    return Finding("connectivity", "failed", f"{label} answered PING with {reply!r}", "check the server at the address")


# ---------------------------------------------------------------- the step


def validate(rec: Recovered, opts: VerifyOptions) -> None:
    unknown = set(opts.waive) - set(CHECKS)
    if unknown:
        raise ConfigError(f"dr_verify_waive names {sorted(unknown)}, which are not checks: use {', '.join(CHECKS)}")
    if opts.target_dsn and opts.redis_address:
        raise ConfigError("set dr_verify_target_dsn (libpq engines) or dr_verify_redis_address (Redis), not both")
    if opts.target_dsn:
        kind = dsn_kind(opts.target_dsn, "dr_verify_target_dsn")
        engines, form = DSN_KINDS[kind]
        if rec.engine and rec.engine not in engines:
            wanted = engine_kind(rec.engine)
            fix = f"use {DSN_KINDS[wanted][1]}" if wanted else "leave it empty"
            raise ConfigError(
                f"dr_verify_target_dsn is {form}, and {rec.label} runs {rec.engine}: {fix} (it is for "
                f"{', '.join(engines)})"
            )
        if opts.source_dsn and dsn_kind(opts.source_dsn, "dr_verify_source_dsn") != kind:
            raise ConfigError(
                f"dr_verify_source_dsn is not {form} like dr_verify_target_dsn: the newest-record query runs on both, "
                "so both must be of the same engine"
            )
    if opts.redis_address and rec.engine and rec.engine not in RESP_ENGINES:
        raise ConfigError(f"dr_verify_redis_address is for Redis/Valkey, and {rec.label} runs {rec.engine}")
    if opts.newest_record_query and not opts.target_dsn and not opts.redis_address:
        raise ConfigError("dr_verify_newest_record_query needs dr_verify_target_dsn to run on the target")
    if opts.connect_timeout <= 0 or opts.query_timeout <= 0:
        raise ConfigError("dr_verify_connect_timeout and dr_verify_query_timeout must be above 0")


def verify(clients: Clients, rec: Recovered, opts: VerifyOptions, check_mode: bool = False) -> VerifyReport:
    """Run the four checks on the recovered resource (reads only); findings with waivers applied."""
    validate(rec, opts)
    res = describe(clients, rec) if rec.resource_id else None
    if rec.resource_id and res is None and not check_mode:
        raise DbshiftError(
            f"{rec.label} does not exist, though the dr_{rec.service} role reported it recovered: check "
            "dr_recovered.resource_id and region, and that the dr role finished"
        )
    if res is not None:  # fill what the dr role could not report (e.g. the port)
        rec = replace(
            rec, endpoint=rec.endpoint or res.endpoint, port=rec.port or res.port, engine=rec.engine or res.engine
        )
        validate(rec, opts)  # again, now that the engine is known: no libpq connection to a SQL Server
    findings: list[Finding]
    if rec.resource_id and res is None:
        pending = f"not checked: {rec.label} does not exist yet (check mode; the real run creates it)"
        findings = [Finding(name, "not_checked", pending) for name in CHECKS]
        return VerifyReport(rec, findings, NewestRecord(query=opts.newest_record_query or None))
    connectivity, newest_finding, newest = connectivity_and_newest(rec, res, opts)
    findings = [connectivity, newest_finding]
    if check_mode:
        # A target the real run creates (a restored database, a new cluster's DNS name) may not answer yet.
        for f in findings:
            if f.status == "failed":
                f.status, f.fix = "not_checked", ""
                f.detail = f"not checked in check mode (the real run checks it again): {f.detail}"
    if res is None:
        absent = (
            "not checked: dr_recovered names no AWS resource (e.g. a native dump restored into a server given by "
            "DSN); check that server's backups and monitoring yourself"
        )
        findings += [Finding("backups", "not_checked", absent), Finding("monitoring", "not_checked", absent)]
    else:
        findings += [backups_finding(rec, res), _monitoring_or_denied(clients, rec, res)]
    for f in findings:
        if f.status == "failed" and f.check in opts.waive:
            f.status = "waived"
    return VerifyReport(rec, findings, newest)


def require_passed(report: VerifyReport) -> None:
    if report.failures:
        raise VerifyFailed(report.failure_message())
