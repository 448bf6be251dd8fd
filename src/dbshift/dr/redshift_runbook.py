"""The Redshift cross-Region DR runbook as one call: run the chosen actions in order (or plan them in check
mode), then hold the recovered cluster to the source's security settings. The dr_redshift Ansible module
is a thin adapter over run_runbook(); `p` is the runbook's options, named as the module's arguments.
"""

from __future__ import annotations

from typing import Any

from dbshift.aws import AwsConfig
from dbshift.dr import Clients, choose, kms_errors, parity, redshift
from dbshift.errors import ConfigError

# The order the actions run in, whatever order they are given in: copy must be on before the snapshot
# that should be copied, and the restore uses the newest copy.
ACTIONS = ("enable_copy", "snapshot", "relocate", "restore")
# Keys every successful result carries (RETURN says "returned: success").
EMPTY_RESULT: dict[str, Any] = {
    "actions": [],
    "results": [],
    "recovered": {},
    "cluster_id": None,
    "region": None,
    "status": None,
    "endpoint": None,
    "port": None,
    "encrypted": None,
    "kms_key_id": None,
    "availability_zone": None,
    "snapshot_id": None,
    "copy_status": None,
    "steps": [],
    "parity_waived": [],
}


def need(p: dict, action: str, *names: str) -> None:
    missing = [n for n in names if not p.get(n)]
    if missing:
        raise ConfigError(f"action {action} needs {', '.join(missing)}: set {' and '.join(missing)}")


def ordered_actions(p: dict) -> list[str]:
    given = list(p["actions"])
    if not given:
        raise ConfigError(f"actions is empty: name one or more of {', '.join(ACTIONS)}")
    unknown = [a for a in given if a not in ACTIONS]
    if unknown:
        raise ConfigError(f"unknown action(s) {unknown}: known actions are {', '.join(ACTIONS)}")
    return [a for a in ACTIONS if a in given]


def preflight(clients: Clients, p: dict, actions: list[str]) -> None:
    """Refuse what would fail half-way, before any action creates anything."""
    for action in actions:
        if action in ("enable_copy", "restore"):
            need(p, action, "target_region")
        if action == "restore":
            need(p, action, "target_cluster_id")
        if action == "relocate":
            need(p, action, "relocate_availability_zone")
    if p["kms_key_arn"]:
        need(p, "with kms_key_arn", "target_region")
        kms_errors.require_key_in_region(p["kms_key_arn"], p["target_region"])
        redshift.resolve_key(clients, p["kms_key_arn"], p["target_region"])


def settings(p: dict) -> redshift.RestoreSettings:
    return redshift.RestoreSettings(
        node_type=p["node_type"],
        number_of_nodes=p["number_of_nodes"],
        subnet_group=p["subnet_group"],
        security_group_ids=tuple(p["security_group_ids"]),
        availability_zone=p["availability_zone"],
        automated_snapshot_retention_days=p["automated_snapshot_retention_days"],
        manual_snapshot_retention_days=p["manual_retention_days"] if p["manual_retention_days"] != -1 else None,
        availability_zone_relocation=p["availability_zone_relocation"],
    )


def run_action(clients: Clients, p: dict, action: str, check_mode: bool, planned: list[dict]) -> dict:
    wait = {"timeout": p["wait_timeout"], "poll": p["poll_interval"], "check_mode": check_mode}
    if action == "enable_copy":
        return redshift.enable_snapshot_copy(
            clients,
            p["source_region"],
            p["source_cluster_id"],
            p["target_region"],
            retention_days=p["retention_days"],
            manual_retention_days=p["manual_retention_days"],
            grant_name=p["snapshot_copy_grant_name"],
            kms_key_arn=p["kms_key_arn"],
            check_mode=check_mode,
        ).to_dict()
    if action == "snapshot":
        return redshift.take_snapshot(
            clients,
            p["source_region"],
            p["source_cluster_id"],
            p["snapshot_id"],
            manual_retention_days=None if p["manual_retention_days"] == -1 else p["manual_retention_days"],
            **wait,
        ).to_dict()
    if action == "relocate":
        return redshift.relocate(
            clients, p["source_region"], p["source_cluster_id"], p["relocate_availability_zone"], **wait
        ).to_dict()
    snapshot_id = p["restore_snapshot_id"]
    # Check mode: the snapshot this run would take is not there yet; the restore would use its copy.
    upcoming = [r for r in planned if r["action"] == "snapshot" and r["changed"]]
    if check_mode and upcoming and not snapshot_id:
        return redshift.RedshiftResult(
            True,
            "restore",
            p["target_region"],
            p["target_cluster_id"],
            "would_restore",
            snapshot_id=upcoming[0]["snapshot_id"],
            steps=[f"would restore from the copy of {upcoming[0]['snapshot_id']} taken by this run"],
        ).to_dict()
    return redshift.restore(
        clients,
        p["source_region"],
        p["source_cluster_id"],
        p["target_region"],
        p["target_cluster_id"],
        settings(p),
        snapshot_id=snapshot_id,
        kms_key_arn=p["kms_key_arn"],
        allow_unencrypted="storage_encrypted" in p["parity_waive"],
        **wait,
    ).to_dict()


def recovered(result: dict, engine: str = "redshift") -> dict:
    """The shared dr_recovered fact: the cluster that serves after this run."""
    return {
        "service": "redshift",
        "region": result["region"],
        "resource_id": result["cluster_id"],
        "endpoint": result.get("endpoint") or "",
        "port": int(result.get("port") or 5439),
        "engine": engine,
    }


def parity_check(clients: Clients, p: dict, result: dict) -> list[str]:
    """Shortfalls of the restored or relocated cluster against the source; raises ParityError unless waived."""
    target = redshift.describe_cluster(clients.get("redshift", result["region"]), result["cluster_id"]) or {}
    source: dict[str, Any] = {}
    if result["action"] == "relocate":
        source = target  # the same cluster: only the absolute rules (encrypted, private, snapshots kept) apply
    else:
        # The source Region may be the impaired one: compare against the absolute rules then.
        src = clients.get("redshift", p["source_region"])
        up, _ = choose.api_answers(
            lambda: src.describe_clusters(ClusterIdentifier=p["source_cluster_id"]), p["api_timeout"]
        )
        source = (redshift.describe_cluster(src, p["source_cluster_id"]) if up else None) or {}
        if not source:
            result["steps"] = [*result.get("steps", []), "parity: source not readable, absolute rules only"]
    shortfalls = redshift.redshift_shortfalls(source, target)
    return [str(s) for s in parity.check(shortfalls, set(p["parity_waive"]))]


def run_runbook(p: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Run (or plan) the actions in order and check parity; returns the module's result (raises DbshiftError)."""
    clients = Clients(AwsConfig(endpoint_url=p["endpoint_url"]))
    actions = ordered_actions(p)
    preflight(clients, p, actions)
    results: list[dict] = []
    for action in actions:
        results.append(run_action(clients, p, action, check_mode, results))
    last = next((r for r in reversed(results) if r["action"] in ("restore", "relocate")), results[-1])
    out = {**EMPTY_RESULT, **{k: v for k, v in last.items() if k in EMPTY_RESULT}}
    out.update(
        changed=any(r["changed"] for r in results),
        actions=actions,
        results=results,
        steps=[f"{r['action']}: {s}" for r in results for s in r["steps"]],
        recovered=recovered(last),
    )
    if last["action"] in ("restore", "relocate") and (not check_mode or last["status"] == "available"):
        out["parity_waived"] = parity_check(clients, p, last)
    return out
