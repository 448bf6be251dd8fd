"""Parameter sets and range selection of the emulated rds_tlog_backup_copy_to_S3; the RDS-side store."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dbshift.estate.sqlserver import rds_tlog
from dbshift.estate.sqlserver.rds_store import RdsStore, TlogBackup
from dbshift.estate.sqlserver.rds_tlog import CopyParamError, CopyRange, parse_copy_range

GUID = "6F9619FF-8B86-D011-B42D-00C04FC964FF"


def _add(store: RdsStore, db: str, epoch: int, first: int, last: int, guid: str = GUID) -> TlogBackup:
    return store.add_tlog(
        db_name=db,
        db_id=5,
        family_guid=guid,
        backup_file_epoch=epoch,
        starting_lsn=first,
        ending_lsn=last,
        blob=f"{db}:{first}-{last}".encode(),
    )


def test_no_set_and_mixed_sets_are_refused_with_rds_text() -> None:
    with pytest.raises(CopyParamError, match=r"^At least one of these three parameter sets must be provided\."):
        parse_copy_range({"db_name": "x"})
    with pytest.raises(CopyParamError, match=r"^Only one of these three parameter sets can be provided\."):
        parse_copy_range({"starting_lsn": 1, "rds_backup_ending_seq_id": 4})
    with pytest.raises(CopyParamError, match="SET-3"):
        parse_copy_range({"backup_file_end_time": "2022-09-01 00:00:00", "ending_lsn": 9})


def test_order_checks() -> None:
    with pytest.raises(CopyParamError, match="@starting_lsn must be less than @ending_lsn"):
        parse_copy_range({"starting_lsn": 5, "ending_lsn": 5})
    with pytest.raises(CopyParamError, match="less than or equal"):
        parse_copy_range({"rds_backup_starting_seq_id": 6, "rds_backup_ending_seq_id": 5})
    assert parse_copy_range({"rds_backup_starting_seq_id": 5, "rds_backup_ending_seq_id": 5}) == CopyRange("seq", 5, 5)
    with pytest.raises(CopyParamError, match="@backup_file_start_time must be less than"):
        parse_copy_range({"backup_file_start_time": "2022-09-02", "backup_file_end_time": "2022-09-01 10:00:00"})


def test_single_ended_and_blank_parameters() -> None:
    assert parse_copy_range({"ending_lsn": "149000000120400001", "starting_lsn": ""}) == CopyRange(
        "lsn", None, 149000000120400001
    )
    r = parse_copy_range({"backup_file_start_time": "2022-09-01 01:00:15"})
    assert r == CopyRange("time", datetime(2022, 9, 1, 1, 0, 15), None)
    assert CopyRange.from_json(r.to_json()) == r


def test_selection_uses_listing_columns(tmp_path: Path) -> None:
    store = RdsStore(tmp_path)
    b1 = _add(store, "Sales", 1_700_000_000, 100, 200)
    b2 = _add(store, "Sales", 1_700_000_300, 200, 300)
    b3 = _add(store, "Sales", 1_700_000_600, 300, 400)
    seqs = lambda r: [b.rds_backup_seq_id for b in (b1, b2, b3) if r.selects(b)]  # noqa: E731
    assert seqs(CopyRange("seq", b2.rds_backup_seq_id, None)) == [b2.rds_backup_seq_id, b3.rds_backup_seq_id]
    assert seqs(CopyRange("seq", b2.rds_backup_seq_id, b2.rds_backup_seq_id)) == [b2.rds_backup_seq_id]
    assert seqs(CopyRange("lsn", 200, 400)) == [b2.rds_backup_seq_id, b3.rds_backup_seq_id]
    assert seqs(CopyRange("lsn", None, 300)) == [b1.rds_backup_seq_id, b2.rds_backup_seq_id]
    t2 = b2.backup_file_time_utc
    assert seqs(CopyRange("time", t2, t2 + timedelta(seconds=1))) == [b2.rds_backup_seq_id]


def test_chain_break_detection_and_persistence(tmp_path: Path) -> None:
    store = RdsStore(tmp_path)
    a = _add(store, "Sales", 1_700_000_000, 100, 200)
    b = _add(store, "Sales", 1_700_000_300, 200, 300)
    other = _add(store, "Payroll", 1_700_000_300, 50, 60)
    c = _add(store, "Sales", 1_700_000_600, 350, 400)  # gap: 300 -> 350
    assert [x.is_log_chain_broken for x in (a, b, other, c)] == [False, False, False, True]
    assert len({a.rds_backup_seq_id, b.rds_backup_seq_id, other.rds_backup_seq_id, c.rds_backup_seq_id}) == 4

    reopened = RdsStore(tmp_path)
    assert [x.rds_backup_seq_id for x in reopened.tlogs("sales")] == [a.rds_backup_seq_id, b.rds_backup_seq_id, 4]
    assert reopened.tlog_blob(reopened.tlogs("Sales")[1]) == b"Sales:200-300"
    d = _add(reopened, "Sales", 1_700_000_900, 400, 500)
    assert d.rds_backup_seq_id == 5 and not d.is_log_chain_broken


def test_retention_window(tmp_path: Path) -> None:
    store = RdsStore(tmp_path)
    old = _add(store, "Sales", 1_600_000_000, 1, 2)
    new = _add(store, "Sales", 1_700_000_000, 2, 3)
    now = new.backup_file_time_utc + timedelta(days=1)
    assert rds_tlog.within_retention([old, new], now) == [new]
    row = rds_tlog.metadata_row(new)
    assert dict(zip(rds_tlog.METADATA_COLUMNS, row, strict=True))["backup_file_epoch"] == 1_700_000_000
    assert rds_tlog.error_row("x", "boom")[-1] == "boom"


def test_tasks_persist(tmp_path: Path) -> None:
    store = RdsStore(tmp_path)
    t = store.new_task("BACKUP_DB", "Sales", s3_object_arn="arn:aws:s3:::b/k", params={"db": "Sales"})
    store.update_task(t.task_id, lifecycle="IN_PROGRESS", info_line="Task execution has started.")
    again = RdsStore(tmp_path).task(t.task_id)
    assert again is not None and again.lifecycle == "IN_PROGRESS" and again.params == {"db": "Sales"}
    assert again.task_info.endswith("] Task execution has started.")
    assert RdsStore(tmp_path).new_task("BACKUP_DB", "Sales").task_id == t.task_id + 1
