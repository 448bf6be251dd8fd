"""plan_chain: the issue's chain rules, one test per rule, with the off-by-one cases at equality."""

from __future__ import annotations

import pytest

from dbshift.errors import DbshiftError
from dbshift.fallforward.chain import ChainGapError, LogBackup, plan_chain

R = 1000


def logs(*ranges: tuple[int, int]) -> list[LogBackup]:
    return [LogBackup(seq=i, first_lsn=a, last_lsn=b, key=f"log{i}") for i, (a, b) in enumerate(ranges, start=1)]


def seqs(items: list[LogBackup]) -> list[int]:
    return [b.seq for b in items]


def test_logs_ending_at_or_before_r_are_already_applied() -> None:
    plan = plan_chain(R, logs((800, 900), (900, R), (R, 1100)))
    assert seqs(plan.already_applied) == [1, 2]  # LastLSN == R counts as applied (not 4326 at restore)
    assert seqs(plan.to_apply) == [3]
    assert plan.lsn_reached == 1100


def test_first_log_may_start_before_r_when_it_contains_r() -> None:
    plan = plan_chain(R, logs((900, 1100), (1100, 1200)))
    assert seqs(plan.to_apply) == [1, 2]
    assert plan.lsn_reached == 1200


def test_first_log_starting_exactly_at_r_applies() -> None:
    assert seqs(plan_chain(R, logs((R, R + 1))).to_apply) == [1]


def test_first_log_starting_one_past_r_is_a_gap_naming_the_range() -> None:
    with pytest.raises(ChainGapError) as info:
        plan_chain(R, logs((R + 1, 1100)))
    err = info.value
    assert (err.from_lsn, err.to_lsn) == (R, R + 1)
    assert f"LSN {R} to {R + 1}" in str(err) and "log1" in str(err)


def test_first_log_gap_after_applied_ones() -> None:
    with pytest.raises(ChainGapError) as info:
        plan_chain(R, logs((900, R), (1050, 1100)))
    assert (info.value.from_lsn, info.value.to_lsn) == (R, 1050)
    assert info.value.log.seq == 2


def test_continuity_requires_first_equal_previous_last() -> None:
    plan = plan_chain(R, logs((R, 1100), (1100, 1200), (1200, 1300)))
    assert seqs(plan.to_apply) == [1, 2, 3]


def test_gap_in_the_middle_fails_naming_the_missing_range() -> None:
    with pytest.raises(ChainGapError) as info:
        plan_chain(R, logs((R, 1100), (1150, 1200)))
    assert (info.value.from_lsn, info.value.to_lsn) == (1100, 1150)
    assert "LSN 1100 to 1150 is missing" in str(info.value)


def test_gap_of_one_lsn_in_the_middle_is_still_a_gap() -> None:
    with pytest.raises(ChainGapError) as info:
        plan_chain(R, logs((R, 1100), (1101, 1200)))
    assert (info.value.from_lsn, info.value.to_lsn) == (1100, 1101)


def test_overlapping_next_log_is_a_break() -> None:
    # Contains 1100 (SQL Server would take it) but does not start at 1100: the chain rule says break.
    with pytest.raises(ChainGapError) as info:
        plan_chain(R, logs((R, 1100), (1050, 1200)))
    assert "overlap" in str(info.value)


def test_empty_logs_are_skipped_anywhere() -> None:
    plan = plan_chain(R, logs((R, 1100), (1100, 1100), (1100, 1200), (1300, 1300)))
    assert seqs(plan.to_apply) == [1, 3]
    assert seqs(plan.empty) == [2, 4]
    assert plan.already_applied == []


def test_empty_log_at_r_does_not_break_the_first_log_rule() -> None:
    plan = plan_chain(R, logs((R, R), (R, 1100)))
    assert seqs(plan.empty) == [1] and seqs(plan.to_apply) == [2]


def test_order_comes_from_lsns_not_from_input_or_seq() -> None:
    items = [
        LogBackup(seq=10, first_lsn=1200, last_lsn=1300),
        LogBackup(seq=2, first_lsn=R, last_lsn=1100),
        LogBackup(seq=11, first_lsn=1100, last_lsn=1200),
    ]
    assert seqs(plan_chain(R, items).to_apply) == [2, 11, 10]


def test_nothing_to_apply() -> None:
    plan = plan_chain(R, logs((900, R)))
    assert plan.to_apply == [] and plan.lsn_reached is None
    assert plan_chain(R, []).to_apply == []


def test_duplicate_copy_of_a_planned_log_is_not_applied_twice() -> None:
    items = [LogBackup(1, R, 1100, "a"), LogBackup(2, R, 1100, "b"), LogBackup(3, 1100, 1200, "c")]
    plan = plan_chain(R, items)
    assert [b.key for b in plan.to_apply] == ["a", "c"]
    assert [b.key for b in plan.already_applied] == ["b"]


def test_damaged_metadata_is_rejected() -> None:
    with pytest.raises(DbshiftError, match="FirstLSN 1200 > LastLSN 1100"):
        plan_chain(R, logs((1200, 1100)))
