"""SQL Server emulator: 3101 (database in use by held sessions) and 4319 (interrupted RESTORE LOG), in-process."""

from __future__ import annotations

from test_sqlserver_engine import BK, ORDERS, chain_on_source, emu, fails, redo_lsn, rows, run

from dbshift.estate.sqlserver import SqlServerEmulator

__all__ = ["emu"]  # the fixture, imported from the engine tests

SESSIONS = (
    "SELECT session_id, login_name, host_name, program_name, status FROM sys.dm_exec_sessions "
    "WHERE database_id = DB_ID('Sales') ORDER BY session_id"
)
HISTORY = (
    "SELECT m.physical_device_name, r.restart FROM msdb.dbo.restorehistory r"
    " JOIN msdb.dbo.backupset b ON r.backup_set_id = b.backup_set_id"
    " JOIN msdb.dbo.backupmediafamily m ON m.media_set_id = b.media_set_id"
    " WHERE r.destination_database_name = 'Sales' AND r.restore_type = 'L' ORDER BY r.restore_history_id"
)
EXCLUSIVE = "Exclusive access could not be obtained because the database is in use."
INTERRUPTED = (
    "A previous restore operation was interrupted and did not complete processing on file 'Sales_log'. Either "
    "restore the backup set that was interrupted or restart the restore sequence."
)


def restoring(e: SqlServerEmulator) -> None:
    chain_on_source(e)
    run(e, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH NORECOVERY")


def open_session(e: SqlServerEmulator, db: str, login: str, host: str, program: str) -> int:
    sql = (
        f"EXEC master.emulator.open_session @database_name = N'{db}', @login_name = N'{login}', "
        f"@host_name = N'{host}', @program_name = N'{program}'"
    )
    return rows(e, "tgt-host", sql)[0][0]


def log_header(e: SqlServerEmulator, name: str) -> dict:
    rs = e.execute("tgt-host", f"RESTORE HEADERONLY FROM DISK = '{BK}{name}'").result_sets[0]
    return rs.dicts()[0]


# ---------------------------------------------------------------------------- 3101
def test_held_session_blocks_restore_with_3101_until_closed(emu: SqlServerEmulator) -> None:
    restoring(emu)
    before = redo_lsn(emu, "tgt-host", "Sales")
    sid = open_session(emu, "Sales", "CORP\\etl", "APP01", "Nightly report")
    other = open_session(emu, "master", "sa", "OPS", "SSMS")  # a session elsewhere blocks nothing here
    assert sid != other and sid > 52  # user session ids, distinct from @@SPID
    assert rows(emu, "tgt-host", SESSIONS) == [[sid, "CORP\\etl", "APP01", "Nightly report", "sleeping"]]

    for sql in (
        f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY",
        f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH REPLACE, NORECOVERY",
        "RESTORE DATABASE Sales WITH RECOVERY",
    ):
        err = fails(emu, "tgt-host", sql)
        statement = "RESTORE LOG" if "LOG" in sql else "RESTORE DATABASE"
        assert err.numbers == [3101, 3013] and err.errors[0].message == EXCLUSIVE
        assert (err.errors[0].severity, err.errors[1].message) == (16, f"{statement} is terminating abnormally.")
    assert fails(emu, "tgt-host", "DROP DATABASE Sales").number == 3702
    assert redo_lsn(emu, "tgt-host", "Sales") == before  # nothing applied
    assert emu.instance("TGT").database("Sales").state_desc == "RESTORING"

    run(emu, "tgt-host", f"EXEC master.emulator.close_session @session_id = {sid}")
    assert rows(emu, "tgt-host", SESSIONS) == []
    assert [r[0] for r in rows(emu, "tgt-host", "SELECT session_id FROM sys.dm_exec_sessions")] == [other]
    run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY")
    assert redo_lsn(emu, "tgt-host", "Sales") == log_header(emu, "log1.trn")["LastLSN"]
    err = fails(emu, "tgt-host", f"EXEC master.emulator.close_session @session_id = {sid}")
    assert err.number == 6106 and str(sid) in err.errors[0].message


def test_open_session_needs_an_existing_database(emu: SqlServerEmulator) -> None:
    assert fails(emu, "tgt-host", "EXEC master.emulator.open_session @database_name = N'Nope'").number == 911
    err = fails(emu, "tgt-host", "EXEC master.emulator.open_session")
    assert err.number == 201 and "@database_name" in err.errors[0].message
    sid = rows(emu, "tgt-host", "EXEC master.emulator.open_session @database_name = N'msdb'")[0][0]
    listed = emu.execute("tgt-host", "SELECT * FROM sys.dm_exec_sessions").result_sets[0].dicts()
    assert [(r["session_id"], r["database_id"], r["login_name"], r["is_user_process"]) for r in listed] == [
        (sid, 4, "sa", 1)
    ]


# ---------------------------------------------------------------------------- 4319
def test_interrupted_restore_log_raises_4319_until_restarted(emu: SqlServerEmulator) -> None:
    restoring(emu)
    run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY")
    after_log1 = redo_lsn(emu, "tgt-host", "Sales")
    run(emu, "tgt-host", "EXEC master.emulator.interrupt_next_restore @database_name = N'Sales'")

    died = fails(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log2.trn' WITH NORECOVERY")
    assert (died.number, died.errors[0].severity) == (10054, 20)
    assert redo_lsn(emu, "tgt-host", "Sales") == after_log1  # nothing of log2 is visible
    assert [r[0] for r in rows(emu, "tgt-host", HISTORY, "msdb")] == [f"{BK}log1.trn"]

    for sql in (
        f"RESTORE LOG Sales FROM DISK = '{BK}log3.trn' WITH NORECOVERY",  # another backup set
        f"RESTORE LOG Sales FROM DISK = '{BK}log3.trn' WITH NORECOVERY, RESTART",  # RESTART of another set
        f"RESTORE LOG Sales FROM DISK = '{BK}log2.trn' WITH NORECOVERY",  # the interrupted set, without RESTART
        "RESTORE DATABASE Sales WITH RECOVERY",
    ):
        err = fails(emu, "tgt-host", sql)
        assert err.numbers == [4319, 3013] and err.errors[0].message == INTERRUPTED
    assert redo_lsn(emu, "tgt-host", "Sales") == after_log1

    # the switch fired once: the restarted restore completes, and the chain goes on
    run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log2.trn' WITH NORECOVERY, RESTART")
    assert redo_lsn(emu, "tgt-host", "Sales") == log_header(emu, "log2.trn")["LastLSN"]
    run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log3.trn' WITH RECOVERY")
    assert rows(emu, "tgt-host", HISTORY, "msdb") == [[f"{BK}log1.trn", 0], [f"{BK}log2.trn", 1], [f"{BK}log3.trn", 0]]
    assert rows(emu, "tgt-host", ORDERS, "Sales") == rows(emu, "src-host", ORDERS, "Sales")


def test_interruption_survives_a_restart_and_sessions_do_not(emu: SqlServerEmulator) -> None:
    restoring(emu)
    open_session(emu, "Sales", "app", "APP02", "Loader")
    run(emu, "tgt-host", "EXEC master.emulator.interrupt_next_restore @database_name = N'Sales'")
    assert fails(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY").number == 3101
    configs = [inst.config for inst in emu.instances.values()]
    emu.close()
    again = SqlServerEmulator(emu.root, configs)
    try:
        assert rows(again, "tgt-host", SESSIONS) == []  # a restart ends every session
        # the 3101 failure did not consume the switch: this restore is the interrupted one
        assert fails(again, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY").number == 10054
        again.close()
        again = SqlServerEmulator(emu.root, configs)
        err = fails(again, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY")
        assert err.numbers == [4319, 3013]
        run(again, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH RESTART, NORECOVERY")
        assert redo_lsn(again, "tgt-host", "Sales") == log_header(again, "log1.trn")["LastLSN"]
    finally:
        again.close()


def test_a_new_restore_sequence_clears_the_interruption(emu: SqlServerEmulator) -> None:
    restoring(emu)
    run(emu, "tgt-host", "EXEC master.emulator.interrupt_next_restore @database_name = N'Sales'")
    assert fails(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY").number == 10054
    run(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH REPLACE, NORECOVERY")
    for name in ("log1.trn", "log2.trn"):
        run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}{name}' WITH NORECOVERY")
    # RESTART with nothing interrupted is an ordinary restore (SQL Server accepts it)
    run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log3.trn' WITH NORECOVERY, RESTART")
    assert [r[1] for r in rows(emu, "tgt-host", HISTORY, "msdb")] == [0, 0, 1]
    run(emu, "tgt-host", "RESTORE DATABASE Sales WITH RECOVERY")
    assert rows(emu, "tgt-host", ORDERS, "Sales") == rows(emu, "src-host", ORDERS, "Sales")


def test_interrupt_switch_needs_an_existing_database(emu: SqlServerEmulator) -> None:
    err = fails(emu, "tgt-host", "EXEC master.emulator.interrupt_next_restore @database_name = N'Nope'")
    assert err.number == 911
    err = fails(emu, "tgt-host", "EXEC master.emulator.interrupt_next_restore")
    assert err.number == 201 and "@database_name" in err.errors[0].message
