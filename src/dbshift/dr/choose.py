"""dr_option: auto — inspect what exists and pick the first feasible option in the guide's order A, B, C, D."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dbshift.dr import Clients
from dbshift.dr.rds import USABLE_BACKUP_STATES, replicated_backups, same_db
from dbshift.errors import DbshiftError

ORDER = ("promote_replica", "pitr_replicated_backup", "snapshot_copy", "native_dump")
LETTER = dict(zip(ORDER, "ABCD", strict=True))


@dataclass(frozen=True)
class Source:
    region: str
    instance_id: str
    # Needed for option B when the source Region's API does not answer (it cannot be looked up then).
    arn: str | None = None


@dataclass
class Choice:
    option: str
    reasons: list[str]
    # What the probes found: replica_id, backups_arn, snapshot_arn — the chosen option's inputs.
    found: dict[str, Any] = field(default_factory=dict)


def api_answers(call: Callable[[], Any], timeout: float) -> tuple[bool, str]:
    """Does `call` return (or raise a service error, which is an answer too) within `timeout` seconds?

    The shared client factory retries for minutes against an endpoint that does not answer; the call
    runs in a daemon thread so the decision is not held up by those retries.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except ClientError as exc:  # the API answered, with an error
            outcome["value"] = exc
        except (BotoCoreError, OSError) as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return False, f"no answer within {timeout:g} s"
    if "error" in outcome:
        return False, str(outcome["error"])
    return True, "answers"


def _find_replica(rds: Any, source: Source) -> str | None:
    for page in rds.get_paginator("describe_db_instances").paginate():
        for inst in page.get("DBInstances", []):
            if same_db(inst.get("ReadReplicaSourceDBInstanceIdentifier"), source.region, source.instance_id):
                return inst["DBInstanceIdentifier"]
    return None


def auto(
    clients: Clients,
    source: Source,
    target_region: str,
    database_answers: Callable[[], bool],
    snapshot_max_age: timedelta = timedelta(hours=24),
    infeasible: set[str] | frozenset[str] = frozenset(),
    api_timeout: float = 5.0,
    now: datetime | None = None,
) -> Choice:
    """The first feasible option in the order A, B, C, D, with a reason for each one skipped.

    `infeasible` names options ruled out for the affected Region (by option name or letter).
    `database_answers` probes the source database itself (for D: the control plane is down, the database is not).
    """
    unknown = set(infeasible) - set(ORDER) - set(LETTER.values())
    if unknown:
        raise DbshiftError(f"infeasible names unknown option(s) {sorted(unknown)}: use {', '.join(ORDER)} or A-D")
    ruled_out = {o for o in ORDER if o in infeasible or LETTER[o] in infeasible}
    now = now or datetime.now(UTC)
    reasons: list[str] = []
    target = clients.rds(target_region)
    src_rds = clients.rds(source.region)
    source_up, how = api_answers(
        lambda: src_rds.describe_db_instances(DBInstanceIdentifier=source.instance_id), api_timeout
    )
    reasons.append(
        f"source Region {source.region} RDS API: {'answers' if source_up else 'not answering (' + how + ')'}"
    )
    source_arn = source.arn
    if source_arn is None and source_up:
        try:
            source_arn = src_rds.describe_db_instances(DBInstanceIdentifier=source.instance_id)["DBInstances"][0][
                "DBInstanceArn"
            ]
        except ClientError as exc:
            reasons.append(f"source instance {source.instance_id} not described: {exc}")

    def skip(option: str, why: str) -> None:
        reasons.append(f"{LETTER[option]} {option} skipped: {why}")

    def pick(option: str, why: str, **found: Any) -> Choice:
        reasons.append(f"{LETTER[option]} {option} chosen: {why}")
        return Choice(option, reasons, found)

    # A: a cross-Region read replica in the target Region.
    if "promote_replica" in ruled_out:
        skip("promote_replica", f"marked infeasible for {source.region}")
    else:
        replica = _find_replica(target, source)
        if replica:
            return pick("promote_replica", f"{replica} in {target_region} replicates from it", replica_id=replica)
        skip("promote_replica", f"no read replica of {source.instance_id} in {target_region}")

    # B: automated backups replicated into the target Region.
    if "pitr_replicated_backup" in ruled_out:
        skip("pitr_replicated_backup", f"marked infeasible for {source.region}")
    elif source_arn is None:
        skip("pitr_replicated_backup", "source ARN unknown (the source Region does not answer): pass source.arn")
    else:
        backups = [
            b
            for b in replicated_backups(clients, source_arn, target_region)
            if b.get("Status") in USABLE_BACKUP_STATES and (b.get("RestoreWindow") or {}).get("LatestTime")
        ]
        if backups:
            latest = backups[0]["RestoreWindow"]["LatestTime"]
            return pick(
                "pitr_replicated_backup",
                f"replicated automated backups in {target_region}, restorable up to {latest}",
                backups_arn=backups[0]["DBInstanceAutomatedBackupsArn"],
                source_arn=source_arn,
            )
        skip("pitr_replicated_backup", f"no replicated automated backups of it in {target_region}")

    # C: a recent snapshot, copied out of the source Region (which must answer for the copy).
    if "snapshot_copy" in ruled_out:
        skip("snapshot_copy", f"marked infeasible for {source.region}")
    elif not source_up:
        skip("snapshot_copy", f"the copy reads the snapshot from {source.region}, whose API does not answer")
    else:
        snaps = [
            s
            for kind in ("automated", "manual")
            for p in src_rds.get_paginator("describe_db_snapshots").paginate(
                DBInstanceIdentifier=source.instance_id, SnapshotType=kind
            )
            for s in p.get("DBSnapshots", [])
            if s.get("Status") == "available" and s.get("SnapshotCreateTime")
        ]
        newest = max(snaps, key=lambda s: s["SnapshotCreateTime"], default=None)
        if newest is not None and now - newest["SnapshotCreateTime"] <= snapshot_max_age:
            age = now - newest["SnapshotCreateTime"]
            return pick(
                "snapshot_copy",
                f"snapshot {newest['DBSnapshotIdentifier']} is {int(age.total_seconds() // 60)} min old "
                f"(limit {snapshot_max_age})",
                snapshot_arn=newest["DBSnapshotArn"],
                snapshot_id=newest["DBSnapshotIdentifier"],
            )
        skip(
            "snapshot_copy",
            "no available snapshot"
            if newest is None
            else f"newest snapshot {newest['DBSnapshotIdentifier']} is older than {snapshot_max_age}",
        )

    # D: the database itself answers.
    if "native_dump" in ruled_out:
        skip("native_dump", f"marked infeasible for {source.region}")
    elif database_answers():
        return pick("native_dump", "the source database answers: dump it natively")
    else:
        skip("native_dump", "the source database does not answer")
    raise DbshiftError(
        f"no DR option is feasible for {source.region}/{source.instance_id} → {target_region}: " + "; ".join(reasons)
    )
