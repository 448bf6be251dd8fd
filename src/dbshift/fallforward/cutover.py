"""Cut over: bring the RESTORING target ONLINE (RESTORE DATABASE … WITH RECOVERY), only when asked."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from dbshift.errors import DbshiftError
from dbshift.fallforward.endpoints import Endpoints, sql_name
from dbshift.fallforward.full_restore import target_state
from dbshift.tsql.result import SqlError


@dataclass
class CutoverResult:
    changed: bool
    state: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cutover(ep: Endpoints, target_database: str, confirm: bool, check_mode: bool = False) -> CutoverResult:
    """RESTORE DATABASE … WITH RECOVERY on the target. Refuses (changing nothing) unless `confirm`.

    After recovery no more logs can be applied: the fall-forward chain ends here.
    """
    if confirm is not True:
        raise DbshiftError(
            f"cutover of {target_database!r} refused: it brings the database ONLINE and ends log shipping for "
            "good; set confirm_cutover: true to do it. Nothing was changed."
        )
    st = target_state(ep.target, target_database)
    if not st.exists:
        raise DbshiftError(
            f"target database {target_database!r} does not exist on {ep.target.server_instance}: nothing to cut over"
        )
    if st.state == "ONLINE":
        return CutoverResult(changed=False, state="ONLINE")
    if st.state != "RESTORING":
        raise DbshiftError(f"target database {target_database!r} is {st.state}: only a RESTORING database cuts over")
    if check_mode:
        return CutoverResult(changed=True, state="ONLINE")
    try:
        ep.target.execute(f"RESTORE DATABASE {sql_name(target_database)} WITH RECOVERY;", database="master")
    except SqlError as exc:
        raise DbshiftError(f"RESTORE DATABASE {target_database!r} WITH RECOVERY failed: {exc}") from exc
    return CutoverResult(changed=True, state=target_state(ep.target, target_database).state)
