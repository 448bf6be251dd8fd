"""moto patches for Aurora cross-Region DR (global database failover and switchover).

Same rules as dbshift.estate.moto_patches: one function per gap, small and faithful to the AWS
documentation, each wrapping moto's own code and marked so that applying twice changes nothing.

moto 5.2.5 models an Aurora global database as a GlobalCluster (kept in the us-east-1 backend, since
global clusters belong to no Region) whose `members` are the regional DBClusters, each with an
`is_writer` flag: the writer is the primary cluster, the others are secondaries.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

_MARK = "_dbshift_patched"


def _is_patched(fn: Callable[..., Any]) -> bool:
    return getattr(fn, _MARK, False)


def _mark(fn: Callable[..., Any]) -> Callable[..., Any]:
    setattr(fn, _MARK, True)
    return fn


def patch_rds_global_cluster_source_is_primary() -> None:
    """CreateGlobalCluster with SourceDBClusterIdentifier: moto leaves the source a non-writer member,
    writes the global cluster's ARN into the source's GlobalClusterIdentifier and reports the global
    cluster unencrypted.

    AWS makes the source cluster the global database's primary (GlobalClusterMembers IsWriter true),
    DescribeDBClusters names the global cluster by its identifier, and the global cluster takes its
    storage encryption from the source cluster.
    """
    from moto.rds.models import RDSBackend

    original = RDSBackend.create_global_cluster
    if _is_patched(original):
        return

    @functools.wraps(original)
    def create_global_cluster(self: Any, *args: Any, **kwargs: Any) -> Any:
        global_cluster = original(self, *args, **kwargs)
        if global_cluster.members:  # created from a source cluster: it is the only member
            source = global_cluster.members[0]
            source.is_writer = True
            source.global_cluster_identifier = global_cluster.global_cluster_identifier
            global_cluster.storage_encrypted = bool(source.storage_encrypted)
        return global_cluster

    RDSBackend.create_global_cluster = _mark(create_global_cluster)  # type: ignore[method-assign]


def _error(code: str, message: str) -> Exception:
    # The HTTP status comes from the RDS model's error shape for `code` (404 for the NotFound faults).
    from moto.rds.exceptions import RDSClientError

    return RDSClientError(code, message)


def change_primary(backend: Any, global_id: str, target: str, allow_data_loss: bool) -> Any:
    """Make the secondary `target` (ARN or identifier) the primary of global cluster `global_id`.

    Both operations leave the old primary a secondary of the global database: a switchover demotes it
    at once ("maintaining the original replication topology"); a failover (AllowDataLoss) rebuilds it
    as a secondary once its Region is back, which in moto it always is. AWS finishes asynchronously:
    the answer shows the global cluster failing over, with a FailoverState naming both clusters; a
    describe afterwards shows it available with the new writer.
    """
    global_cluster = backend.global_clusters.get(global_id)
    if global_cluster is None:
        raise _error("GlobalClusterNotFoundFault", f"Global cluster {global_id} not found.")
    wanted = target.lower()
    member = next(
        (m for m in global_cluster.members if wanted in (m.db_cluster_arn.lower(), m.db_cluster_identifier)), None
    )
    if member is None:
        raise _error(
            "DBClusterNotFoundFault",
            f"DB cluster {target} is not a member of global cluster {global_id}.",
        )
    if global_cluster.status != "available":
        raise _error("InvalidGlobalClusterStateFault", f"Global cluster {global_id} is {global_cluster.status}.")
    if member.is_writer:
        raise _error(
            "InvalidGlobalClusterStateFault",
            f"DB cluster {member.db_cluster_arn} is already the primary cluster of global cluster {global_id}.",
        )
    old = [m for m in global_cluster.members if m.is_writer]
    for m in old:
        m.is_writer = False
    member.is_writer = True
    answer = copy.copy(global_cluster)
    answer.status = "failing-over" if allow_data_loss else "switching-over"
    answer.failover_state = {
        "Status": "failing-over" if allow_data_loss else "pending",
        "FromDbClusterArn": old[0].db_cluster_arn if old else None,
        "ToDbClusterArn": member.db_cluster_arn,
        "IsDataLossAllowed": bool(allow_data_loss),
    }
    return answer


def patch_rds_global_cluster_failover_and_switchover() -> None:
    """moto 5.2.5 has no FailoverGlobalCluster or SwitchoverGlobalCluster (its server answers 500).

    FailoverGlobalCluster with AllowDataLoss fails over (unplanned); without it, or with Switchover, it
    switches over, as SwitchoverGlobalCluster does. The target is given by ARN (or identifier) and
    must be a secondary member of the global cluster; the global cluster must be available.
    """
    from moto.core.responses import ActionResult
    from moto.rds.responses import RDSResponse

    if _is_patched(getattr(RDSResponse, "failover_global_cluster", None) or (lambda: None)):
        return

    def failover_global_cluster(self: Any) -> Any:
        params = self.params
        allow = bool(params.get("AllowDataLoss")) and not params.get("Switchover")
        answer = change_primary(
            self.global_backend, params["GlobalClusterIdentifier"], params["TargetDbClusterIdentifier"], allow
        )
        return ActionResult({"GlobalCluster": answer})

    def switchover_global_cluster(self: Any) -> Any:
        params = self.params
        answer = change_primary(
            self.global_backend, params["GlobalClusterIdentifier"], params["TargetDbClusterIdentifier"], False
        )
        return ActionResult({"GlobalCluster": answer})

    RDSResponse.failover_global_cluster = _mark(failover_global_cluster)  # type: ignore[attr-defined]
    RDSResponse.switchover_global_cluster = _mark(switchover_global_cluster)  # type: ignore[attr-defined]


def patch_rds_describe_global_clusters_by_identifier() -> None:
    """moto's DescribeGlobalClusters ignores GlobalClusterIdentifier and lists every global cluster.

    AWS describes only the named one, and answers GlobalClusterNotFoundFault when there is none.
    """
    from moto.core.responses import ActionResult
    from moto.rds.responses import RDSResponse

    original = RDSResponse.describe_global_clusters
    if _is_patched(original):
        return

    @functools.wraps(original)
    def describe_global_clusters(self: Any) -> Any:
        wanted = self.params.get("GlobalClusterIdentifier")
        if not wanted:
            return original(self)
        found = [
            g for g in self.global_backend.describe_global_clusters() if g.global_cluster_identifier == wanted.lower()
        ]
        if not found:
            raise _error("GlobalClusterNotFoundFault", f"Global cluster {wanted} not found.")
        return ActionResult({"GlobalClusters": found})

    RDSResponse.describe_global_clusters = _mark(describe_global_clusters)  # type: ignore[method-assign]


PATCHES: list[Callable[[], Any]] = [
    patch_rds_global_cluster_source_is_primary,
    patch_rds_global_cluster_failover_and_switchover,
    patch_rds_describe_global_clusters_by_identifier,
]


def apply() -> None:
    for patch in PATCHES:
        patch()
