"""Transaction-log chain planning (pure): which log backups to apply to a RESTORING database, in order.

The rules, from SQL Server's and RDS's documented behaviour (issue 3), with R = the target's
redo_start_lsn:

- a log whose LastLSN <= R is already applied (skip);
- a log with FirstLSN == LastLSN is empty (skip);
- the first log to apply must have FirstLSN <= R < LastLSN;
- each next log's FirstLSN must equal the previous one's LastLSN. RDS does not check
  is_log_chain_broken when it copies logs, so we must.

Anything else is a gap (or a break), reported before anything is applied, naming the LSN range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dbshift.errors import DbshiftError


@dataclass(frozen=True)
class LogBackup:
    """One transaction-log backup: RDS's rds_backup_seq_id (or 0) and its LSN range [first_lsn, last_lsn)."""

    seq: int
    first_lsn: int
    last_lsn: int
    key: str | None = None  # S3 key or host path: what names this log in messages
    backup_time: datetime | None = None

    @property
    def empty(self) -> bool:
        return self.first_lsn == self.last_lsn

    def label(self) -> str:
        return f"seq {self.seq}" + (f" ({self.key})" if self.key else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "first_lsn": self.first_lsn,
            "last_lsn": self.last_lsn,
            "key": self.key,
            "backup_time": self.backup_time.isoformat() if self.backup_time else None,
        }


@dataclass
class ChainPlan:
    to_apply: list[LogBackup] = field(default_factory=list)  # in apply order
    already_applied: list[LogBackup] = field(default_factory=list)
    empty: list[LogBackup] = field(default_factory=list)

    @property
    def lsn_reached(self) -> int | None:
        """redo_start_lsn after applying to_apply (None when there is nothing to apply)."""
        return self.to_apply[-1].last_lsn if self.to_apply else None


class ChainGapError(DbshiftError):
    """The logs do not continue the chain: no log covers LSNs [from_lsn, to_lsn)."""

    def __init__(self, message: str, from_lsn: int, to_lsn: int, log: LogBackup) -> None:
        super().__init__(message)
        self.from_lsn = from_lsn
        self.to_lsn = to_lsn
        self.log = log


def plan_chain(redo_start_lsn: int, logs: Sequence[LogBackup]) -> ChainPlan:
    """Split `logs` into already applied, empty and to apply (in LSN order) against R = redo_start_lsn.

    Raises ChainGapError naming the missing LSN range when the logs to apply do not continue the chain.
    """
    r = int(redo_start_lsn)
    plan = ChainPlan()
    # dbatools' order: by LastLSN then FirstLSN; seq breaks ties between identical copies.
    ordered = sorted(logs, key=lambda b: (b.last_lsn, b.first_lsn, b.seq))
    current = r  # where the chain stands after the logs planned so far
    for log in ordered:
        if log.first_lsn > log.last_lsn:
            raise DbshiftError(
                f"log backup {log.label()} has FirstLSN {log.first_lsn} > LastLSN {log.last_lsn}: "
                "its metadata is damaged; remove it from the list"
            )
        if log.empty:
            plan.empty.append(log)
            continue
        if log.last_lsn <= current:
            # LastLSN <= R: already applied. (LastLSN <= the end of a planned log: a second copy of
            # a log already in the plan, which applying would fail with 4326.)
            plan.already_applied.append(log)
            continue
        if not plan.to_apply:
            if log.first_lsn > r:
                raise ChainGapError(
                    f"log chain gap: the target's redo_start_lsn is {r} but the next log backup, {log.label()}, "
                    f"begins at LSN {log.first_lsn}; the log backups covering LSN {r} to {log.first_lsn} are "
                    "missing. Copy them (or re-seed the target with a new full backup).",
                    r,
                    log.first_lsn,
                    log,
                )
        elif log.first_lsn != current:
            prev = plan.to_apply[-1]
            what = "gap" if log.first_lsn > current else "break (overlapping logs)"
            lo, hi = sorted((current, log.first_lsn))
            raise ChainGapError(
                f"log chain {what}: {prev.label()} ends at LSN {current} but the next log backup, {log.label()}, "
                f"begins at LSN {log.first_lsn}; LSN {lo} to {hi} "
                + ("is missing. Copy the missing log backups." if log.first_lsn > current else "overlaps."),
                lo,
                hi,
                log,
            )
        plan.to_apply.append(log)
        current = log.last_lsn
    return plan
