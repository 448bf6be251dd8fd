"""restore_logs against SQL Server's 4319 (interrupted restore) and 3101 (database in use), over WinRM.

The emulator's switches (master.emulator.interrupt_next_restore, open_session/close_session) stand in
for a server that dies under a RESTORE LOG and for another client holding the database.
"""

from __future__ import annotations

import pytest
from test_fallforward_steps import FF, POLL, _setup, ff

from dbshift.errors import DbshiftError
from dbshift.fallforward import cutover, sync

__all__ = ["ff"]  # the fixture, imported from the steps tests

pytestmark = pytest.mark.estate


def _logs(ff: FF, source_db: str, target_db: str, count: int) -> tuple[sync.CopyResult, list[str]]:
    """Full restore on the target, then `count` log backups copied and fetched onto the host."""
    _setup(ff, source_db, target_db)
    for _ in range(count):
        ff.insert(source_db)
        ff.log_backup(source_db)
    copied = sync.tlog_copy(ff.ep, source_db, target_db, ff.tlog_prefix, ff.kms_key_arn, poll_interval=POLL)
    fetched = sync.tlog_fetch(ff.ep, copied.s3_prefix, copied.start_seq, copied.end_seq, f"D:\\dbshift\\{target_db}")
    assert len(fetched.files) == len(copied.logs) >= count
    return copied, fetched.files


def _restart_flags(ff: FF, target_db: str) -> dict[str, int]:
    rows = ff.ep.target.execute(
        "SELECT m.physical_device_name, r.restart FROM msdb.dbo.restorehistory r"
        " JOIN msdb.dbo.backupset b ON r.backup_set_id = b.backup_set_id"
        " JOIN msdb.dbo.backupmediafamily m ON m.media_set_id = b.media_set_id"
        f" WHERE r.destination_database_name = N'{target_db}' AND r.restore_type = 'L';",
        database="msdb",
    ).rows
    return {r["physical_device_name"]: int(r["restart"]) for r in rows}


def test_interrupted_restore_is_restarted(ff: FF) -> None:
    source_db, target_db = "SalesDb", "SalesDb_ff_interrupted"
    copied, files = _logs(ff, source_db, target_db, 3)
    assert len(sync.restore_logs(ff.ep, target_db, files[:1]).applied) == 1
    at = ff.redo(target_db)

    # the server dies under the next RESTORE LOG (the second file): that run fails, nothing of it applied
    ff.ep.target.execute(f"EXEC master.emulator.interrupt_next_restore @database_name = N'{target_db}';")
    with pytest.raises(DbshiftError) as info:
        sync.restore_logs(ff.ep, target_db, files, batch_size=2)
    assert "10054" in str(info.value) and files[1] in str(info.value)
    assert ff.redo(target_db) == at

    # the next run meets 4319 on that file, restores it again WITH RESTART and completes the chain
    done = sync.restore_logs(ff.ep, target_db, files, batch_size=2)
    assert [a["file"] for a in done.applied] == files[1:] and files[0] in done.skipped
    assert done.lsn_reached == ff.redo(target_db) == copied.logs[-1].last_lsn
    assert _restart_flags(ff, target_db) == {f: int(f == files[1]) for f in files}
    cutover.cutover(ff.ep, target_db, confirm=True)
    assert ff.rows("target", target_db) == ff.rows("source", source_db)


def test_database_in_use_names_the_sessions_and_applies_nothing(ff: FF) -> None:
    source_db, target_db = "PayrollDb", "PayrollDb_ff_inuse"
    copied, files = _logs(ff, source_db, target_db, 2)
    at = ff.redo(target_db)
    opened = ff.ep.target.execute(
        f"EXEC master.emulator.open_session @database_name = N'{target_db}', @login_name = N'CORP\\bi_reader', "
        "@host_name = N'BI-SRV-07', @program_name = N'Nightly margin report';"
    ).rows
    sid = int(opened[0]["session_id"])
    try:
        with pytest.raises(DbshiftError) as info:
            sync.restore_logs(ff.ep, target_db, files)
        text = str(info.value)
        assert "3101" in text and f"session {sid} " in text
        assert all(s in text for s in ("CORP\\bi_reader", "BI-SRV-07", "Nightly margin report"))
        assert ff.redo(target_db) == at  # nothing applied
        assert _restart_flags(ff, target_db) == {}
    finally:
        ff.ep.target.execute(f"EXEC master.emulator.close_session @session_id = {sid};")

    done = sync.restore_logs(ff.ep, target_db, files)
    assert [a["file"] for a in done.applied] == files
    assert done.lsn_reached == ff.redo(target_db) == copied.logs[-1].last_lsn
