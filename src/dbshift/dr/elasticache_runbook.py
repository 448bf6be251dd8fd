"""The ElastiCache cross-Region DR runbook as one call: choose the method, plan it (check mode) or run it, then hold
the result to the source's security settings. The dr_elasticache Ansible module is a thin adapter over
run_runbook(); `p` is the runbook's options, named as the module's arguments.
"""

from __future__ import annotations

from typing import Any

from dbshift.aws import AwsConfig
from dbshift.dr import Clients, choose, elasticache, parity, tag_value
from dbshift.errors import ConfigError, DbshiftError

METHODS = ("auto", "global_failover", "backup_seed")
# Keys every successful result carries, whatever the method (RETURN says "returned: success").
EMPTY_RESULT: dict[str, Any] = {
    "region": None,
    "replication_group_id": None,
    "arn": None,
    "status": None,
    "endpoint": None,
    "port": None,
    "engine": None,
    "at_rest_encryption": None,
    "transit_encryption": None,
    "kms_key_id": None,
    "source": None,
    "global_replication_group_id": None,
    "snapshot_name": None,
    "export_objects": [],
    "seed_arns": [],
    "steps": [],
    "parity_waived": [],
}


def need(p: dict, method: str, *names: str) -> None:
    missing = [n for n in names if not p.get(n)]
    if missing:
        raise ConfigError(f"method {method} needs {', '.join(missing)}: set {' and '.join(missing)}")


def seed_plan(p: dict) -> elasticache.SeedPlan:
    need(p, "backup_seed", "target_replication_group_id", "kms_key_arn", "source_bucket", "target_bucket")
    return elasticache.SeedPlan(
        source_region=p["source_region"],
        source_group_id=p["source_replication_group_id"],
        target_region=p["target_region"],
        new_group_id=p["target_replication_group_id"],
        source_bucket=p["source_bucket"],
        target_bucket=p["target_bucket"],
        target_prefix=p.get("target_prefix") or "",
    )


def settings(p: dict) -> elasticache.TargetSettings:
    return elasticache.TargetSettings(
        node_type=p.get("node_type"),
        subnet_group=p.get("subnet_group"),
        security_group_ids=tuple(p.get("security_group_ids") or ()),
        num_cache_clusters=p["num_cache_clusters"],
        multi_az=p["multi_az"],
        snapshot_retention_days=p["snapshot_retention_days"],
        engine_version=p.get("engine_version"),
    )


def _ours(clients: Clients, p: dict) -> bool:
    """Is the target group one an earlier backup_seed run made from this source?"""
    if not p.get("target_replication_group_id"):
        return False
    ec = clients.get("elasticache", p["target_region"])
    group = elasticache.describe_group(ec, p["target_replication_group_id"])
    source = f"{p['source_region']}/{p['source_replication_group_id']}"
    return group is not None and tag_value(elasticache.group_tags(ec, group), "source") == source


def decide(clients: Clients, p: dict) -> tuple[str, list[str]]:
    """The method to run and, for auto, why. Reads the target Region only."""
    if p["method"] != "auto":
        return p["method"], []
    target = p["target_region"]
    if _ours(clients, p):
        return "backup_seed", [
            f"backup_seed chosen: {p['target_replication_group_id']} in {target} was seeded by an earlier run"
        ]
    found = elasticache.find_secondary(
        clients, p["source_region"], p["source_replication_group_id"], target, p.get("global_replication_group_id")
    )
    if found is not None:
        return "global_failover", [
            f"global_failover chosen: Global Datastore {found.global_id} has {found.member_id} in {target} "
            f"({found.role})"
        ]
    return "backup_seed", [
        f"global_failover skipped: no Global Datastore secondary of {p['source_replication_group_id']} in {target}",
        "backup_seed chosen: backup → export → copy → seed a new replication group",
    ]


def describe_result(group: dict[str, Any], method: str, p: dict, **more: Any) -> dict[str, Any]:
    source = f"{p['source_region']}/{p['source_replication_group_id']}"
    return elasticache._result(method, p["target_region"], group, False, source, **more).to_dict()


def plan(clients: Clients, p: dict, method: str) -> dict[str, Any]:
    """Check mode: what would be done, from reads only; the real run's refusals happen here too."""
    ec = clients.get("elasticache", p["target_region"])
    if method == "global_failover":
        found = elasticache.find_secondary(
            clients,
            p["source_region"],
            p["source_replication_group_id"],
            p["target_region"],
            p.get("global_replication_group_id"),
        )
        if found is None:  # the real run's own refusal, before anything changes
            raise elasticache.no_secondary(
                f"{p['source_region']}/{p['source_replication_group_id']}",
                p["target_region"],
                p.get("global_replication_group_id"),
            )
        group = elasticache.describe_group(ec, found.member_id) or {"ReplicationGroupId": found.member_id}
        if found.role.upper() == "PRIMARY":
            return {
                **describe_result(group, method, p, global_replication_group_id=found.global_id),
                "steps": ["already the primary"],
            }
        return {
            "changed": True,
            "replication_group_id": found.member_id,
            "global_replication_group_id": found.global_id,
            "status": "would_failover",
            "steps": [f"would fail Global Datastore {found.global_id} over to {found.member_id}"],
        }
    sp = seed_plan(p)
    elasticache.check_id(sp.new_group_id, "target replication group id")
    settings(p).check()
    key_arn = elasticache.resolve_target_key(clients, p["kms_key_arn"], sp.target_region)
    existing = elasticache.existing_target(clients, sp)
    if existing is not None:
        elasticache.verify_key(existing.get("KmsKeyId"), key_arn, f"replication group {sp.new_group_id}")
        return {**describe_result(existing, method, p), "steps": ["exists"]}
    waived = elasticache.check_buckets(clients, sp, frozenset(p["parity_waive"]))
    steps = []
    src_ec = clients.get("elasticache", sp.source_region)
    backup = elasticache.describe_snapshot(src_ec, elasticache.backup_name(sp.new_group_id))
    if backup is None and elasticache.describe_group(src_ec, sp.source_group_id) is None:
        raise DbshiftError(
            f"replication group {sp.source_group_id} not found in {sp.source_region}: check "
            "source_replication_group_id (a Global Datastore secondary needs method global_failover)"
        )
    steps.append(
        "backup found" if backup else f"would back up {sp.source} as {elasticache.backup_name(sp.new_group_id)}"
    )
    for bucket, region, sid, actions in (
        (sp.source_bucket, sp.source_region, elasticache.EXPORT_SID, elasticache.EXPORT_ACTIONS),
        (sp.target_bucket, sp.target_region, elasticache.SEED_SID, elasticache.SEED_ACTIONS),
    ):
        if elasticache.grant_missing(clients.get("s3", region), bucket, region, sid, actions):
            steps.append(f"would grant ElastiCache ({region}) access to {bucket} in its bucket policy")
    steps += [
        f"would export to s3://{sp.source_bucket}/{elasticache.export_name(sp.new_group_id)}-*.rdb, copy to "
        f"s3://{sp.target_bucket}/{sp.target_prefix}, and seed {sp.new_group_id}"
    ]
    return {
        "changed": True,
        "replication_group_id": sp.new_group_id,
        "status": "would_create",
        "steps": steps,
        "parity_waived": waived,
    }


def run(clients: Clients, p: dict, method: str) -> dict[str, Any]:
    wait = {"timeout": p["wait_timeout"], "poll": p["poll_interval"]}
    if method == "global_failover":
        return elasticache.global_failover(
            clients,
            p["source_region"],
            p["source_replication_group_id"],
            p["target_region"],
            p.get("global_replication_group_id"),
            **wait,
        ).to_dict()
    result, waived = elasticache.backup_seed(
        clients, seed_plan(p), p["kms_key_arn"], settings(p), frozenset(p["parity_waive"]), **wait
    )
    return {**result.to_dict(), "parity_waived": waived}


def parity_check(clients: Clients, p: dict, result: dict[str, Any]) -> list[str]:
    """Shortfalls of the recovered group against the source; raises ParityError unless waived."""
    target = elasticache.describe_group(clients.get("elasticache", p["target_region"]), result["replication_group_id"])
    src = clients.get("elasticache", p["source_region"])
    # The source Region may be the impaired one: compare against the absolute rules then.
    up, _ = choose.api_answers(
        lambda: src.describe_replication_groups(ReplicationGroupId=p["source_replication_group_id"]), p["api_timeout"]
    )
    source = (elasticache.describe_group(src, p["source_replication_group_id"]) if up else None) or {}
    if not source:
        result["steps"] = [*result.get("steps", []), "parity: source not readable, absolute rules only"]
    return [
        str(s) for s in parity.check(elasticache.elasticache_shortfalls(source, target or {}), set(p["parity_waive"]))
    ]


def run_runbook(p: dict[str, Any], check_mode: bool, clients: Clients | None = None) -> dict[str, Any]:
    """Decide, plan or run, and check parity; returns the module's result (raises DbshiftError).

    `clients` is for callers that hold their own (a test's Stubber); the module passes none.
    """
    if p["method"] not in METHODS:
        raise ConfigError(f"method {p['method']!r} is not one of {', '.join(METHODS)}")
    clients = clients or Clients(AwsConfig(endpoint_url=p.get("endpoint_url")))
    method, reasons = decide(clients, p)
    result: dict[str, Any] = {**EMPTY_RESULT, "method": method, "reasons": reasons}
    result.update(plan(clients, p, method) if check_mode else run(clients, p, method))
    result["method"], result["reasons"] = method, reasons
    # In check mode only an existing target can be checked; a real run always checks its result.
    if not check_mode or result.get("status") == "available":
        result["parity_waived"] = [*result.get("parity_waived", []), *parity_check(clients, p, result)]
    return result
