#!/usr/bin/python
"""Ansible module dr_verify: a thin adapter over dbshift.dr.verify."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dr_verify
short_description: Verify a recovered DR resource - connectivity, newest record, backups, monitoring
description:
  - The verify step every dbshift DR runbook ends with, after a dr_<service> role set C(dr_recovered). Reads
    only; never changes anything (C(changed=false)).
  - An empty O(recovered.endpoint), O(recovered.port) or O(recovered.engine) is filled from the service's
    description of the resource. With an empty O(recovered.resource_id) (no AWS resource) C(backups) and
    C(monitoring) are not checked.
  - C(connectivity) - with O(target_dsn) connects and runs C(SELECT 1) - through libpq (PostgreSQL, Aurora
    PostgreSQL, Redshift), PyMySQL (MySQL, MariaDB, Aurora MySQL) or TDS (SQL Server), chosen by the DSN's scheme;
    with O(redis_address) (Redis, Valkey) connects over TCP (optionally TLS and AUTH) and sends a RESP C(PING).
    With neither the finding says C(not checked) - it never passes what it did not look at.
  - C(newest_record) - runs O(newest_record_query) (e.g. C(SELECT max(updated_at) FROM orders)) read-only (a READ
    ONLY transaction; SQL Server has none, so there it must be a SELECT, checked before it runs) on the target
    and, where it still answers, on the source (O(source_dsn)), and returns both
    values and the gap between them (the data-loss window). A source that does not answer is reported, not a
    failure.
  - C(backups) - automated backups on the new resource (RDS/Aurora C(BackupRetentionPeriod), Redshift
    C(AutomatedSnapshotRetentionPeriod), ElastiCache C(SnapshotRetentionLimit) above 0).
  - C(monitoring) - at least one CloudWatch metric alarm with actions whose dimensions name the resource or one
    of its members; for RDS and Aurora an enabled RDS event subscription covering it counts too. Alarms without
    actions notify nobody and do not count.
  - A failed check fails the module with the resource and the fix, unless named in O(waive). All findings are
    returned either way.
  - The work is done by the dbshift library (C(dbshift.dr.verify)).
author:
  - dbshift contributors
extends_documentation_fragment:
  - dr_recovered
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Runs the same reads. A resource that does not exist yet (the real run creates it) gets C(not checked).
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  target_dsn:
    description:
      - The recovered database; its scheme chooses the driver and must fit O(recovered.engine).
      - PostgreSQL, Aurora PostgreSQL, Redshift - a libpq connection string (C(postgresql://...) or key=value).
      - MySQL, MariaDB, Aurora MySQL - C(mysql://USER:PASSWORD@HOST:PORT/DATABASE[?ssl-ca=PATH]) (C(mariadb://)
        too), through PyMySQL; C(ssl-ca), C(ssl-cert), C(ssl-key), C(ssl-mode) and C(ssl-verify-server-cert) are
        honoured.
      - SQL Server - C(mssql://LOGIN:PASSWORD@HOST:PORT/DATABASE) (C(sqlserver://) too; C(master) without a
        database), over TDS.
      - Percent-encode special characters of a URL's user and password. Never logged or returned.
    type: str
  source_dsn:
    description:
      - The source database, for the newest-record comparison; in the form of O(target_dsn) (the same engine).
        Never logged or returned.
    type: str
  newest_record_query:
    description:
      - A query returning one value, the newest record's time, e.g. C(SELECT max(updated_at) FROM orders). Runs in
        a read-only transaction on the target and the source.
    type: str
  redis_address:
    description:
      - C(host:port) of the recovered Redis or Valkey endpoint, reachable from the controller.
    type: str
  redis_tls:
    description:
      - Connect to O(redis_address) with TLS (in-transit encryption on).
    type: bool
    default: false
  redis_username:
    description:
      - User for C(AUTH) (Redis ACL / ElastiCache RBAC); the token alone when omitted.
    type: str
  redis_auth_token:
    description:
      - C(AUTH) token or password. Never logged or returned.
    type: str
  connect_timeout:
    description:
      - Seconds to wait for a connection to the target or the source.
    type: float
    default: 10.0
  query_timeout:
    description:
      - Statement timeout of the newest-record query, in seconds (SQL Server - the lock timeout, as T-SQL has no
        statement timeout).
    type: int
    default: 60
  waive:
    description:
      - Checks whose failure to accept, by name. Anything not named fails the module.
    type: list
    elements: str
    default: []
    choices: [connectivity, newest_record, backups, monitoring]
  endpoint_url:
    description:
      - AWS endpoint URL. Omit it for real AWS; the emulated estate sets it to its AWS emulator.
        When omitted, E(AWS_ENDPOINT_URL) is honoured.
    type: str
notes:
  - Runs on the controller with the Python environment that has dbshift installed; the connectivity checks
    connect from the controller.
  - Only the target Region's APIs are called.
requirements:
  - python >= 3.11 on the controller, with the dbshift package installed
"""

EXAMPLES = r"""
- name: Verify the recovered PostgreSQL instance, comparing the newest order with the source
  dr_verify:
    recovered: "{{ dr_recovered }}"
    target_dsn: "{{ sales_dr_dsn }}"
    source_dsn: "{{ sales_dsn }}"
    newest_record_query: SELECT max(updated_at) FROM orders

- name: Verify a recovered Redis replication group, accepting that it has no alarms yet
  dr_verify:
    recovered:
      service: elasticache
      region: us-west-2
      resource_id: sessions-dr
      engine: redis
    redis_address: sessions-dr.abcdef.ng.0001.usw2.cache.amazonaws.com:6379
    redis_tls: true
    waive: [monitoring]
"""

RETURN = r"""
changed:
  description: Always false - verify reads only.
  returned: always
  type: bool
  sample: false
resource:
  description: The recovered resource, with endpoint, port and engine filled from its description.
  returned: success
  type: dict
  sample: {"service": "rds", "region": "us-west-2", "resource_id": "sales-db-dr", "endpoint": "sales-db-dr...",
           "port": 5432, "engine": "postgres"}
findings:
  description: One entry per check - check, status (V(ok), V(failed), V(waived), V(not_checked)), detail, fix.
  returned: always
  type: list
  elements: dict
  sample: [{"check": "backups", "status": "ok", "detail": "sales-db-dr BackupRetentionPeriod is 7 days", "fix": ""}]
newest_record:
  description: The query, its value on the source and the target, whether the source answered, and the gap.
  returned: success
  type: dict
  sample: {"query": "SELECT max(updated_at) FROM orders", "source": "2026-11-20T10:05:00+00:00",
           "target": "2026-11-20T10:00:00+00:00", "source_status": "answered", "gap_seconds": 300.0,
           "gap": "the target is 300 s behind the source: up to 300 s of changes (data-loss window)"}
waived:
  description: The failed checks accepted through O(waive).
  returned: success
  type: list
  elements: str
  sample: ["backups waived: sales-db-dr has no automated backups (BackupRetentionPeriod is 0)"]
not_checked:
  description: The checks that were not made (nothing to connect to, no query, no resource yet).
  returned: success
  type: list
  elements: str
  sample: [connectivity, newest_record]
"""

from ansible.module_utils.dbshift_dr import RECOVERED_SPEC  # noqa: E402
from ansible.module_utils.dbshift_import import DbshiftImport, run_or_fail  # noqa: E402

CHECK_NAMES = ["connectivity", "newest_record", "backups", "monitoring"]  # dbshift.dr.verify.CHECKS (a test)
ARGUMENT_SPEC = {
    "recovered": {"type": "dict", "required": True, "options": RECOVERED_SPEC},
    "target_dsn": {"type": "str", "no_log": True},
    "source_dsn": {"type": "str", "no_log": True},
    "newest_record_query": {"type": "str"},
    "redis_address": {"type": "str"},
    "redis_tls": {"type": "bool", "default": False},
    "redis_username": {"type": "str"},
    "redis_auth_token": {"type": "str", "no_log": True},
    "connect_timeout": {"type": "float", "default": 10.0},
    "query_timeout": {"type": "int", "default": 60},
    "waive": {"type": "list", "elements": "str", "default": [], "choices": CHECK_NAMES},
    "endpoint_url": {"type": "str"},
}
DBSHIFT = DbshiftImport()
with DBSHIFT:
    from dbshift.aws import AwsConfig
    from dbshift.dr import Clients
    from dbshift.dr.cutover import Recovered
    from dbshift.dr.verify import VerifyOptions, VerifyReport, verify


def main() -> None:
    module = DBSHIFT.module(ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    recovered = run_or_fail(module, lambda: Recovered.from_dict(p["recovered"]), "dr_verify", findings=[])

    def run() -> VerifyReport:
        opts = VerifyOptions(
            target_dsn=p["target_dsn"] or None,
            source_dsn=p["source_dsn"] or None,
            newest_record_query=p["newest_record_query"] or None,
            redis_address=p["redis_address"] or None,
            redis_tls=p["redis_tls"],
            redis_username=p["redis_username"] or None,
            redis_auth_token=p["redis_auth_token"] or None,
            connect_timeout=p["connect_timeout"],
            query_timeout=p["query_timeout"],
            waive=frozenset(p["waive"]),
        )
        return verify(Clients(AwsConfig(endpoint_url=p["endpoint_url"])), recovered, opts, module.check_mode)

    report = run_or_fail(module, run, f"dr_verify {recovered.label}", findings=[])
    result = report.to_dict()
    if report.failures:
        module.fail_json(msg=report.failure_message(), **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
