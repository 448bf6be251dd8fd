"""The RDS cross-region DR runbook as one call: choose the option, plan it (check mode) or run it,
then hold the result to the source's security settings. The dr_rds Ansible module is a thin adapter
over run_runbook(); `p` is the runbook's options, named as the module's arguments.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dbshift.aws import AwsConfig
from dbshift.dr import Clients, choose, parity, rds, tag_value
from dbshift.errors import ConfigError, DbshiftError

LETTERS = {"A": "promote_replica", "B": "pitr_replicated_backup", "C": "snapshot_copy"}
# Keys every successful result carries, whatever the option (RETURN says "returned: success").
EMPTY_RESULT = {
    "region": None,
    "instance_id": None,
    "instance_arn": None,
    "status": None,
    "endpoint": None,
    "port": None,
    "engine": None,
    "storage_encrypted": None,
    "kms_key_id": None,
    "source": None,
    "snapshot_copy_id": None,
    "restore_time": None,
    "missing_options": [],
    "steps": [],
    "parity_waived": [],
    "rows": {},
}


def need(p: dict, option: str, *names: str) -> None:
    missing = [n for n in names if not p.get(n)]
    if missing:
        raise ConfigError(f"dr_option {option} needs {', '.join(missing)}: set {' and '.join(missing)}")


def earlier_result(clients: Clients, p: dict) -> tuple[str, str] | None:
    """(option, instance id) of a target an earlier run made for this source, by dbshift's tags.

    auto must not choose again after it succeeded: a promoted replica is no longer a replica, so the
    next run would otherwise pick B or C and build a second instance.
    """
    target = clients.rds(p["target_region"])
    source = f"{p['source_region']}/{p['source_instance_id']}"
    for page in target.get_paginator("describe_db_instances").paginate():
        for inst in page.get("DBInstances", []):
            tag_list = inst.get("TagList")
            letter = tag_value(tag_list, "option")
            if letter not in LETTERS:
                continue
            ours = inst["DBInstanceIdentifier"] == p["target_instance_id"]
            mine = tag_value(tag_list, "promoted-from") == source if letter == "A" else ours
            if mine:
                return LETTERS[letter], inst["DBInstanceIdentifier"]
    return None


# Option D's engines by DSN scheme. A libpq key=value conninfo ("host=... user=...") is PostgreSQL too.
DSN_ENGINES = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "sqlserver",
    "sqlserver": "sqlserver",
}


def dsn_engine(dsn: str, what: str = "source_dsn") -> str:
    """postgres, mysql or sqlserver, from the DSN's scheme (never from its secret parts)."""
    scheme, sep, _ = dsn.partition("://")
    if not sep:
        return "postgres"  # libpq's key=value form
    engine = DSN_ENGINES.get(scheme.lower())
    if engine is None:
        raise ConfigError(
            f"{what} has scheme {scheme!r}: use postgresql://, mysql:// (or mariadb://) or mssql:// "
            "(or a libpq key=value conninfo for PostgreSQL)"
        )
    return engine


def dump_engine(p: dict) -> str:
    """Option D's engine, from source_dsn's scheme; target_dsn must be of the same engine (a dump restores into the
    engine it came from)."""
    engine, target = dsn_engine(p["source_dsn"]), dsn_engine(p["target_dsn"], "target_dsn")
    if target != engine:
        raise ConfigError(
            f"source_dsn is {engine} but target_dsn is {target}: a native dump restores into the same engine"
        )
    return engine


def database_answers(dsn: str | None, database: str | None = None) -> bool:
    """Does the source database answer? Probed in `database` (the one option D dumps): a server DSN names no
    database, and libpq would then try the database named after the user, which need not exist."""
    if not dsn:
        return False
    engine = dsn_engine(dsn)  # a DSN of no known engine is bad input, not "does not answer"
    if engine == "mysql":
        from dbshift.dr.native_dump_mysql import answers

        return answers(dsn, database)
    if engine == "sqlserver":
        from dbshift.dr.native_dump_sqlserver import answers as sqlserver_answers

        return sqlserver_answers(dsn, database)
    try:
        import psycopg
        from psycopg.conninfo import make_conninfo

        with psycopg.connect(make_conninfo(dsn, dbname=database) if database else dsn, connect_timeout=5):
            return True
    except Exception:  # any failure to connect means "does not answer" for the choice
        return False


def decide(clients: Clients, p: dict) -> tuple[str, list[str], dict]:
    """The option to run, the reasons (auto), and what the probes found."""
    if p["dr_option"] != "auto":
        return p["dr_option"], [], {}
    found = earlier_result(clients, p)
    if found is not None:
        option, instance_id = found
        return (
            option,
            [f"{option} chosen: {instance_id} in {p['target_region']} was made by an earlier run"],
            {"replica_id": instance_id},
        )
    choice = choose.auto(
        clients,
        choose.Source(p["source_region"], p["source_instance_id"], arn=p["source_arn"]),
        p["target_region"],
        lambda: database_answers(p["source_dsn"], p["database"]),
        snapshot_max_age=timedelta(hours=p["snapshot_max_age_hours"]),
        infeasible=set(p["infeasible_options"]),
        api_timeout=p["api_timeout"],
    )
    reasons = list(choice.reasons)
    if not p["source_dsn"] and choice.option != "native_dump":
        reasons.append("(native_dump would need source_dsn to probe the database)")
    return choice.option, reasons, choice.found


def settings(p: dict) -> rds.TargetSettings:
    return rds.TargetSettings(
        subnet_group=p["subnet_group"],
        security_group_ids=tuple(p["security_group_ids"]),
        instance_class=p["instance_class"],
        multi_az=p["multi_az"],
        deletion_protection=p["deletion_protection"],
        backup_retention_days=p["backup_retention_days"],
        option_group=p["option_group"],
    )


def source_arn(clients: Clients, p: dict) -> str:
    if p["source_arn"]:
        return p["source_arn"]
    inst = rds.describe_instance(clients.rds(p["source_region"]), p["source_instance_id"])
    if inst is None:
        raise DbshiftError(
            f"source DB instance {p['source_instance_id']} not found in {p['source_region']}: check "
            "source_instance_id, or pass source_arn when the source Region does not answer"
        )
    return inst["DBInstanceArn"]


def plan(clients: Clients, p: dict, option: str, found: dict) -> dict:
    """Check mode: what would be done, from reads only."""
    target = clients.rds(p["target_region"])
    if option == "native_dump":
        return plan_native_dump(p)  # the KMS key is checked as the real run checks it (core.preflight)
    if option == "promote_replica":
        replica = found.get("replica_id") or p["replica_id"]
        need({"replica_id": replica}, option, "replica_id")
        inst = rds.describe_instance(target, replica)
        if inst is None:
            # The real run's own refusal, without calling anything that changes state.
            rds.promote_replica(clients, p["source_region"], p["source_instance_id"], p["target_region"], replica)
        if inst.get("ReadReplicaSourceDBInstanceIdentifier"):
            return {"changed": True, "instance_id": replica, "status": "would_promote"}
        return {**describe_result(target, inst), "changed": False}
    need(p, option, "target_instance_id")
    if option == "snapshot_copy":
        need(p, option, "kms_key_arn")
        rds.resolve_target_key(clients, p["kms_key_arn"], p["target_region"])  # refuses a wrong key now too
    inst = rds.describe_instance(target, p["target_instance_id"])
    if inst is None:
        return {"changed": True, "instance_id": p["target_instance_id"], "status": "would_create"}
    return {**describe_result(target, inst), "changed": False}


def describe_result(target, inst: dict) -> dict:
    return {
        "instance_id": inst["DBInstanceIdentifier"],
        "instance_arn": inst.get("DBInstanceArn"),
        "status": inst.get("DBInstanceStatus"),
        "endpoint": (inst.get("Endpoint") or {}).get("Address"),
        "port": (inst.get("Endpoint") or {}).get("Port"),
        "engine": inst.get("Engine"),
        "storage_encrypted": bool(inst.get("StorageEncrypted")),
        "kms_key_id": inst.get("KmsKeyId"),
        "steps": ["exists"],
    }


def run(clients: Clients, p: dict, option: str, found: dict) -> dict:
    wait = {"timeout": p["wait_timeout"], "poll": p["poll_interval"]}
    if option == "promote_replica":
        replica = found.get("replica_id") or p["replica_id"]
        need({"replica_id": replica}, option, "replica_id")
        return rds.promote_replica(
            clients,
            p["source_region"],
            p["source_instance_id"],
            p["target_region"],
            replica,
            backup_retention_days=p["backup_retention_days"],
            **wait,
        ).to_dict()
    if option == "pitr_replicated_backup":
        need(p, option, "target_instance_id")
        when = datetime.fromisoformat(p["restore_time"]) if p["restore_time"] else None
        return rds.pitr_replicated_backup(
            clients,
            found.get("source_arn") or source_arn(clients, p),
            p["target_region"],
            p["target_instance_id"],
            settings(p),
            restore_time=when,
            **wait,
        ).to_dict()
    if option == "snapshot_copy":
        need(p, option, "target_instance_id", "kms_key_arn")
        return rds.snapshot_copy(
            clients,
            p["source_region"],
            p["target_region"],
            p["kms_key_arn"],
            p["target_instance_id"],
            settings(p),
            source_instance_id=p["source_instance_id"],
            snapshot_id=p["snapshot_id"] or found.get("snapshot_id"),
            **wait,
        ).to_dict()
    return native_dump(p)


def _dump_inputs(p: dict) -> tuple[str, str, str, str]:
    """(engine, target database, source name, object key) of option D; refuses missing or mismatched inputs."""
    need(p, "native_dump", "source_dsn", "database", "dump_bucket", "kms_key_arn", "target_dsn")
    engine = dump_engine(p)
    if engine == "sqlserver":
        need(p, "native_dump", "source_dump_bucket", "source_kms_key_arn")
    suffix = {"postgres": "dump", "mysql": "sql", "sqlserver": "bak"}[engine]
    key = p["dump_key"] or f"{p['source_instance_id']}/{p['database']}.{suffix}"
    source = f"{p['source_region']}/{p['source_instance_id']}/{p['database']}"
    return engine, p["target_database"] or p["database"], source, key


def _dump_module(engine: str) -> Any:
    if engine == "mysql":
        from dbshift.dr import native_dump_mysql

        return native_dump_mysql
    from dbshift.dr import native_dump

    return native_dump


def plan_native_dump(p: dict) -> dict:
    """Check mode for option D: the real run's own decisions (the manifest in S3 against the source's checks in a
    read-only snapshot, the target against the manifest), from reads only; refuses what the real run would."""
    engine, target_db, source, key = _dump_inputs(p)
    aws = AwsConfig(region=p["target_region"], endpoint_url=p["endpoint_url"])
    if engine == "sqlserver":
        from dbshift.dr import native_dump_sqlserver as mssql

        with mssql.session_from_dsn(p["source_dsn"]) as src, mssql.session_from_dsn(p["target_dsn"]) as tgt:
            planned = mssql.plan_native_dump(src, tgt, _sqlserver_locations(p, target_db, key), p["endpoint_url"])
        would_dump, would_restore, rows, steps = planned.would_copy, planned.would_restore, planned.rows, planned.steps
    else:
        dumped, restored = _dump_module(engine).plan_dump_and_restore(
            p["source_dsn"], p["database"], p["dump_bucket"], key, p["kms_key_arn"], aws, p["target_dsn"], target_db,
            create_database=True,
        )  # fmt: skip
        would_dump, would_restore, rows = dumped.would_dump, restored.would_restore, restored.rows
        steps = [
            f"{'would dump' if would_dump else 'no dump'} ({engine}): {dumped.reason}",
            f"{'would restore' if would_restore else 'no restore'}: {restored.reason}",
        ]
    status = "would_dump" if would_dump else "would_restore" if would_restore else "restored"
    return {
        "changed": would_dump or would_restore,
        "option": "native_dump",
        "region": p["target_region"],
        "instance_id": target_db,
        "engine": engine,
        "source": source,
        "status": status,
        "rows": rows,
        "steps": steps,
    }


def native_dump(p: dict) -> dict:
    """Option D, dispatched on source_dsn's scheme: PostgreSQL (pg_dump), MySQL/MariaDB (mysqldump) or
    SQL Server (rds_backup_database to source_dump_bucket, copied to dump_bucket, rds_restore_database)."""
    engine, target_db, source, key = _dump_inputs(p)
    aws = AwsConfig(region=p["target_region"], endpoint_url=p["endpoint_url"])
    if engine == "sqlserver":
        return _native_dump_sqlserver(p, target_db, source, key)
    module = _dump_module(engine)
    dumped = module.dump_to_s3(p["source_dsn"], p["database"], p["dump_bucket"], key, p["kms_key_arn"], aws)
    restored = module.restore_from_s3(p["dump_bucket"], key, p["target_dsn"], target_db, aws, create_database=True)
    return {
        "changed": bool(dumped.changed or restored.changed),
        "option": "native_dump",
        "region": p["target_region"],
        "instance_id": target_db,
        "engine": engine,
        "source": source,
        "status": "restored",
        "rows": restored.rows,
        "steps": [f"dump s3://{p['dump_bucket']}/{key} ({dumped.bytes} bytes)", f"restored into {target_db}"],
    }


def _sqlserver_locations(p: dict, target_db: str, key: str) -> Any:
    from dbshift.dr import native_dump_sqlserver as mssql

    return mssql.Locations(
        database=p["database"],
        target_database=target_db,
        source_region=p["source_region"],
        source_bucket=p["source_dump_bucket"],
        source_kms_key_arn=p["source_kms_key_arn"],
        target_region=p["target_region"],
        target_bucket=p["dump_bucket"],
        target_kms_key_arn=p["kms_key_arn"],
        key=key,
    )


def _native_dump_sqlserver(p: dict, target_db: str, source: str, key: str) -> dict:
    from dbshift.dr import native_dump_sqlserver as mssql

    with mssql.session_from_dsn(p["source_dsn"]) as src, mssql.session_from_dsn(p["target_dsn"]) as tgt:
        result = mssql.native_dump(
            src,
            tgt,
            _sqlserver_locations(p, target_db, key),
            endpoint_url=p["endpoint_url"],
            timeout=p.get("wait_timeout") or 3600,
            poll=p.get("poll_interval") or 5,
        )
    return {
        "changed": result.changed,
        "option": "native_dump",
        "region": p["target_region"],
        "instance_id": target_db,
        "engine": "sqlserver",
        "source": source,
        "status": "restored",
        "rows": result.rows,
        "steps": result.steps,
    }


def parity_check(clients: Clients, p: dict, result: dict) -> list[str]:
    """Shortfalls of the recovered instance against the source; raises ParityError unless waived."""
    if result.get("option") == "native_dump" or not result.get("instance_arn"):
        return []
    target = rds.describe_instance(clients.rds(p["target_region"]), result["instance_id"]) or {}
    # The source Region may be the impaired one: compare against the absolute rules then.
    src_rds = clients.rds(p["source_region"])
    up, _ = choose.api_answers(
        lambda: src_rds.describe_db_instances(DBInstanceIdentifier=p["source_instance_id"]), p["api_timeout"]
    )
    source = (rds.describe_instance(src_rds, p["source_instance_id"]) if up else None) or {}
    if not source:
        result["steps"] = [*result.get("steps", []), "parity: source not readable, absolute rules only"]
    return [str(s) for s in parity.check(parity.instance_shortfalls(source, target), set(p["parity_waive"]))]


def run_runbook(p: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Decide, plan or run, and check parity; returns the module's result (raises DbshiftError)."""
    clients = Clients(AwsConfig(endpoint_url=p["endpoint_url"]))
    option, reasons, found = decide(clients, p)
    result = {**EMPTY_RESULT, "option": option, "reasons": reasons}
    result.update(plan(clients, p, option, found) if check_mode else run(clients, p, option, found))
    result["option"], result["reasons"] = option, reasons
    # In check mode only an existing target can be checked; a real run always checks its result.
    if not check_mode or (result.get("instance_arn") and result.get("status") == "available"):
        result["parity_waived"] = parity_check(clients, p, result)
    return result
