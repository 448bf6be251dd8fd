"""The Aurora cross-Region DR runbook as one call: choose (global failover/switchover or snapshot restore),
plan it (check mode) or run it, then hold the result to the source's security settings. The dr_aurora
Ansible module is a thin adapter over run_runbook(); `p` is the runbook's options, named as the module's.
"""

from __future__ import annotations

from typing import Any

from dbshift.aws import AwsConfig
from dbshift.dr import Clients, aurora, choose, parity, rds, tag_value
from dbshift.errors import ConfigError, DbshiftError

OPTIONS = ("auto", "global_failover", "global_switchover", "snapshot_restore")
# Keys every successful result carries, whatever the option (RETURN says "returned: success").
EMPTY_RESULT: dict[str, Any] = {
    "region": None,
    "cluster_id": None,
    "cluster_arn": None,
    "status": None,
    "endpoint": None,
    "reader_endpoint": None,
    "port": None,
    "engine": None,
    "storage_encrypted": None,
    "kms_key_id": None,
    "source": None,
    "global_cluster_id": None,
    "snapshot_copy_id": None,
    "instances": [],
    "steps": [],
    "parity_waived": [],
}


def need(p: dict, option: str, *names: str) -> None:
    missing = [n for n in names if not p.get(n)]
    if missing:
        raise ConfigError(f"dr_option {option} needs {', '.join(missing)}: set {' and '.join(missing)}")


def _restored_earlier(clients: Clients, p: dict) -> bool:
    if not p.get("target_cluster_id"):
        return False
    found = aurora.describe_cluster(clients.rds(p["target_region"]), p["target_cluster_id"])
    return found is not None and tag_value(found.get("TagList"), "copy") == aurora.copy_id_for(p["target_cluster_id"])


def decide(clients: Clients, p: dict) -> tuple[str, list[str]]:
    """The option to run and, for auto, why: a global database's secondary in the target Region → global
    failover (the primary Region is the impaired one; a switchover is only run when asked by name);
    otherwise a restore from a copied snapshot."""
    if p["dr_option"] != "auto":
        return p["dr_option"], []
    if _restored_earlier(clients, p):
        return "snapshot_restore", [
            f"snapshot_restore chosen: {p['target_cluster_id']} in {p['target_region']} was restored by an earlier run"
        ]
    reasons: list[str] = []
    if p.get("global_cluster_id"):
        found = aurora.describe_global(clients.rds(p["target_region"]), p["global_cluster_id"])
        here = [
            m["DBClusterArn"]
            for m in (found or {}).get("GlobalClusterMembers", [])
            if aurora.arn_region(m["DBClusterArn"]) == p["target_region"]
        ]
        if found is None:
            reasons.append(f"global_failover skipped: global cluster {p['global_cluster_id']} does not exist")
        elif not here:
            reasons.append(
                f"global_failover skipped: global cluster {p['global_cluster_id']} has no secondary in "
                f"{p['target_region']}"
            )
        else:
            names = ", ".join(aurora.arn_name(a) for a in here)
            return "global_failover", [
                f"global_failover chosen: global cluster {p['global_cluster_id']} has {names} in {p['target_region']}"
            ]
    else:
        reasons.append("global_failover skipped: no global_cluster_id given")
    reasons.append("snapshot_restore chosen: copy the newest cluster snapshot and restore it")
    return "snapshot_restore", reasons


def settings(p: dict) -> aurora.ClusterSettings:
    return aurora.ClusterSettings(
        instance_class=p.get("instance_class") or "",
        reader_count=p["reader_count"],
        subnet_group=p.get("subnet_group"),
        security_group_ids=tuple(p.get("security_group_ids") or ()),
        deletion_protection=p["deletion_protection"],
        backup_retention_days=p.get("backup_retention_days"),
    )


def _global_secondary(clients: Clients, p: dict) -> str | None:
    """target_cluster_id when it names a member (auto may have been given the name for a restore instead)."""
    wanted = p.get("target_cluster_id")
    if not wanted or p["dr_option"] != "auto":
        return wanted
    found = aurora.describe_global(clients.rds(p["target_region"]), p["global_cluster_id"]) or {}
    names = {aurora.arn_name(m["DBClusterArn"]).lower() for m in found.get("GlobalClusterMembers", [])}
    return wanted if wanted.lower() in names else None


def describe_result(cluster: dict[str, Any], steps: list[str]) -> dict[str, Any]:
    return {
        "region": aurora.arn_region(cluster.get("DBClusterArn", "")) or None,
        "cluster_id": cluster["DBClusterIdentifier"],
        "cluster_arn": cluster.get("DBClusterArn"),
        "status": cluster.get("Status"),
        "endpoint": cluster.get("Endpoint"),
        "reader_endpoint": cluster.get("ReaderEndpoint"),
        "port": cluster.get("Port"),
        "engine": cluster.get("Engine"),
        "storage_encrypted": bool(cluster.get("StorageEncrypted")),
        "kms_key_id": cluster.get("KmsKeyId"),
        "instances": [m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])],
        "steps": steps,
    }


def plan(clients: Clients, p: dict, option: str) -> dict[str, Any]:
    """Check mode: what would be done, from reads only, with the real run's refusals."""
    target = clients.rds(p["target_region"])
    if option in aurora.GLOBAL_OPTIONS:
        need(p, option, "global_cluster_id")
        gp = aurora.plan_global(clients, p["global_cluster_id"], p["target_region"], _global_secondary(clients, p))
        cluster = aurora.describe_cluster(target, gp.target_id) or {"DBClusterIdentifier": gp.target_id}
        modify = aurora.settings_changes(cluster, p["deletion_protection"], p.get("backup_retention_days"))
        out = describe_result(cluster, [])
        out["global_cluster_id"] = p["global_cluster_id"]
        if gp.done or gp.in_progress:
            out["steps"] = [
                f"{gp.target_id} is the primary of {p['global_cluster_id']}" + (" (in progress)" * gp.in_progress)
            ]
            out["changed"] = bool(modify)
            if modify:
                out["steps"].append(f"would ModifyDBCluster {gp.target_id}: {modify}")
            return out
        verb = "failover" if option == "global_failover" else "switchover"
        out.update(
            changed=True, status=f"would_{verb}", steps=[f"would {verb} {p['global_cluster_id']} to {gp.target_arn}"]
        )
        return out
    need(p, option, "target_cluster_id", "kms_key_arn", "instance_class")
    rds._check_id(p["target_cluster_id"], "target cluster id")
    rds.resolve_target_key(clients, p["kms_key_arn"], p["target_region"])  # refuses a wrong key now too
    cluster = aurora.describe_cluster(target, p["target_cluster_id"])
    if cluster is None:
        if aurora.describe_cluster_snapshot(target, aurora.copy_id_for(p["target_cluster_id"])) is None:
            snap = aurora.find_source_snapshot(
                clients.rds(p["source_region"]), p["source_region"], p.get("source_cluster_id"), p.get("snapshot_id")
            )
            steps = [f"would copy {snap['DBClusterSnapshotArn']} into {p['target_region']} and restore it"]
        else:
            steps = [f"would restore from {aurora.copy_id_for(p['target_cluster_id'])}"]
        return {"changed": True, "cluster_id": p["target_cluster_id"], "status": "would_create", "steps": steps}
    marker = tag_value(cluster.get("TagList"), "copy")
    if marker != aurora.copy_id_for(p["target_cluster_id"]):
        raise DbshiftError(
            f"DB cluster {p['target_cluster_id']} already exists in {p['target_region']} but was not restored by "
            f"dbshift (tag dbshift:dr-copy is {marker!r}): choose another target_cluster_id, or delete it"
        )
    have = {m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])}
    missing = [i for i in aurora.instance_ids(p["target_cluster_id"], p["reader_count"]) if i not in have]
    out = describe_result(cluster, ["exists"] + ([f"would add {', '.join(missing)}"] if missing else []))
    out["changed"] = bool(missing)
    return out


def run(clients: Clients, p: dict, option: str) -> dict[str, Any]:
    wait = {"timeout": p["wait_timeout"], "poll": p["poll_interval"]}
    if option in aurora.GLOBAL_OPTIONS:
        need(p, option, "global_cluster_id")
        return aurora.global_promote(
            clients,
            p["global_cluster_id"],
            p["target_region"],
            mode=option,
            target_cluster_id=_global_secondary(clients, p),
            deletion_protection=p["deletion_protection"],
            backup_retention_days=p.get("backup_retention_days"),
            **wait,
        ).to_dict()
    need(p, option, "target_cluster_id", "kms_key_arn", "instance_class")
    return aurora.snapshot_restore(
        clients,
        p["source_region"],
        p["target_region"],
        p["kms_key_arn"],
        p["target_cluster_id"],
        settings(p),
        source_cluster_id=p.get("source_cluster_id"),
        snapshot_id=p.get("snapshot_id"),
        **wait,
    ).to_dict()


def _source_cluster(clients: Clients, p: dict, result: dict) -> dict[str, Any]:
    """The source cluster for the comparison: source_cluster_id, else the global member in source_region."""
    region = p["source_region"]
    src = clients.rds(region)
    name = p.get("source_cluster_id")
    if not name and result.get("global_cluster_id"):
        found = aurora.describe_global(clients.rds(p["target_region"]), result["global_cluster_id"]) or {}
        name = next(
            (
                aurora.arn_name(m["DBClusterArn"])
                for m in found.get("GlobalClusterMembers", [])
                if aurora.arn_region(m["DBClusterArn"]) == region
            ),
            None,
        )
    if not name:
        return {}
    up, _ = choose.api_answers(lambda: aurora.describe_cluster(src, name), p["api_timeout"])
    return (aurora.describe_cluster(src, name) if up else None) or {}


def parity_check(clients: Clients, p: dict, result: dict) -> list[str]:
    """Shortfalls of the recovered cluster against the source; raises ParityError unless waived."""
    target_rds = clients.rds(p["target_region"])
    target = aurora.describe_cluster(target_rds, result["cluster_id"]) or {}
    instances = aurora.cluster_instances(target_rds, target)
    # The source Region may be the impaired one: compare against the absolute rules then.
    source = _source_cluster(clients, p, result)
    if not source:
        result["steps"] = [*result.get("steps", []), "parity: source not readable, absolute rules only"]
    shortfalls = aurora.aurora_shortfalls(source, target, instances)
    return [str(s) for s in parity.check(shortfalls, set(p["parity_waive"]))]


def run_runbook(p: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Decide, plan or run, and check parity; returns the module's result (raises DbshiftError)."""
    clients = Clients(AwsConfig(endpoint_url=p.get("endpoint_url")))
    option, reasons = decide(clients, p)
    result = {**EMPTY_RESULT, "option": option, "reasons": reasons}
    result.update(plan(clients, p, option) if check_mode else run(clients, p, option))
    result["option"], result["reasons"] = option, reasons
    # In check mode only an existing target the run would leave as it is can be checked; a real run always is.
    unchanged = not result.get("changed") and result.get("cluster_arn") and result.get("status") == "available"
    if not check_mode or unchanged:
        result["parity_waived"] = parity_check(clients, p, result)
    return result
