"""SQL Server emulator engine: fall-forward restore chains, errors, TDE and persistence (in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbshift.estate.sqlserver import InstanceConfig, SqlServerEmulator
from dbshift.tsql import SqlError

BK = "D:\\SQLBackup\\"


@pytest.fixture
def emu(tmp_path: Path) -> SqlServerEmulator:
    e = SqlServerEmulator(
        tmp_path,
        [InstanceConfig("SRC", ["src-host"], "ec2"), InstanceConfig("TGT", ["tgt-host", "tgt-alias"], "ec2")],
    )
    yield e
    e.close()


def run(e: SqlServerEmulator, server: str, sql: str, db: str | None = None):
    return e.execute(server, sql, db)


def rows(e: SqlServerEmulator, server: str, sql: str, db: str | None = None) -> list[list]:
    return e.execute(server, sql, db).result_sets[-1].rows


def fails(e: SqlServerEmulator, server: str, sql: str, db: str | None = None) -> SqlError:
    with pytest.raises(SqlError) as info:
        e.execute(server, sql, db)
    return info.value


def make_source(e: SqlServerEmulator) -> None:
    run(e, "src-host", "CREATE DATABASE Sales")
    run(
        e,
        "src-host",
        """
        CREATE TABLE dbo.Orders (id INT IDENTITY(1,1) PRIMARY KEY, name NVARCHAR(50) NOT NULL,
                                 amt DECIMAL(18,2), tag UNIQUEIDENTIFIER DEFAULT NEWID(), blob VARBINARY(MAX));
        INSERT INTO dbo.Orders (name, amt, blob) VALUES (N'alpha', 1.5, 0x0102), ('beta', 2, NULL);
        CREATE TABLE hr.Staff (sid INT PRIMARY KEY, who NVARCHAR(20));
        INSERT INTO hr.Staff VALUES (1, 'ann');
        """,
        "Sales",
    )


def chain_on_source(e: SqlServerEmulator) -> None:
    """full, change, log1, change, log2, change, log3 — changes between every backup."""
    make_source(e)
    run(e, "src-host", f"BACKUP DATABASE Sales TO DISK = '{BK}full.bak' WITH INIT, COMPRESSION")
    run(e, "src-host", "INSERT INTO Orders (name, amt) VALUES ('gamma', 3); UPDATE hr.Staff SET who = 'bob'", "Sales")
    run(e, "src-host", f"BACKUP LOG Sales TO DISK = '{BK}log1.trn' WITH INIT")
    run(e, "src-host", "DELETE FROM Orders WHERE name = 'beta'; UPDATE Orders SET amt = amt * 10", "Sales")
    run(e, "src-host", f"BACKUP LOG Sales TO DISK = '{BK}log2.trn' WITH INIT")
    run(
        e,
        "src-host",
        "BEGIN TRAN; INSERT INTO Orders (name) VALUES ('delta'); COMMIT; "
        "BEGIN TRAN; INSERT INTO Orders (name) VALUES ('rolled back'); ROLLBACK",
        "Sales",
    )
    run(e, "src-host", f"BACKUP LOG Sales TO DISK = '{BK}log3.trn' WITH INIT")
    copy_backups(e)


def copy_backups(e: SqlServerEmulator) -> None:
    src, tgt = e.instance("SRC").hostfs, e.instance("TGT").hostfs
    for name in ("full.bak", "log1.trn", "log2.trn", "log3.trn"):
        if src.local_path(BK + name).exists():
            tgt.local_path(BK + name).write_bytes(src.local_path(BK + name).read_bytes())


ORDERS = "SELECT id, name, amt, tag, blob FROM dbo.Orders ORDER BY id"


def redo_lsn(e: SqlServerEmulator, server: str, db: str) -> int | None:
    return rows(
        e,
        server,
        f"SELECT f.redo_start_lsn FROM sys.master_files f JOIN sys.databases d "
        f"ON d.database_id = f.database_id WHERE d.name = '{db}' AND f.type = 0",
    )[0][0]


def test_full_and_logs_in_order_reproduce_rows_exactly(emu: SqlServerEmulator) -> None:
    chain_on_source(emu)
    run(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH NORECOVERY")
    for i, name in enumerate(("log1.trn", "log2.trn", "log3.trn")):
        last = i == 2
        run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}{name}' WITH {'RECOVERY' if last else 'NORECOVERY'}")
    assert rows(emu, "tgt-host", ORDERS, "Sales") == rows(emu, "src-host", ORDERS, "Sales")
    assert rows(emu, "tgt-host", "SELECT sid, who FROM hr.Staff", "Sales") == [[1, "bob"]]
    names = [r[1] for r in rows(emu, "tgt-host", ORDERS, "Sales")]
    assert names == ["alpha", "gamma", "delta"]
    assert emu.instance("TGT").database("Sales").state_desc == "ONLINE"


def test_log_gap_raises_4305_and_changes_nothing(emu: SqlServerEmulator) -> None:
    chain_on_source(emu)
    run(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH NORECOVERY")
    before = redo_lsn(emu, "tgt-host", "Sales")
    err = fails(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log2.trn' WITH NORECOVERY")
    assert err.numbers == [4305, 3013]
    assert "too recent to apply to the database" in err.errors[0].message
    assert str(before) in err.errors[0].message
    assert err.errors[1].message == "RESTORE LOG is terminating abnormally."
    assert redo_lsn(emu, "tgt-host", "Sales") == before
    assert emu.instance("TGT").database("Sales").state_desc == "RESTORING"
    # the chain still continues from where it was
    run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY")
    assert redo_lsn(emu, "tgt-host", "Sales") > before


def test_reapplying_a_log_raises_4326(emu: SqlServerEmulator) -> None:
    chain_on_source(emu)
    run(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH NORECOVERY")
    run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY")
    err = fails(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY")
    assert err.numbers == [4326, 3013]
    assert "too early to apply to the database" in err.errors[0].message


def test_restoring_database_is_unusable_and_recovery_ends_the_chain(emu: SqlServerEmulator) -> None:
    chain_on_source(emu)
    run(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH NORECOVERY")
    assert fails(emu, "tgt-host", "SELECT * FROM Sales.dbo.Orders").number == 927
    assert fails(emu, "tgt-host", "USE Sales").number == 927
    run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY")
    run(emu, "tgt-host", "RESTORE DATABASE Sales WITH RECOVERY")
    assert rows(emu, "tgt-host", "SELECT state_desc FROM sys.databases WHERE name = 'Sales'") == [["ONLINE"]]
    assert redo_lsn(emu, "tgt-host", "Sales") is None
    err = fails(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log2.trn' WITH NORECOVERY")
    assert err.numbers == [3117, 3013]
    assert sorted(r[0] for r in rows(emu, "tgt-host", "SELECT name FROM Orders", "Sales")) == ["alpha", "beta", "gamma"]


def test_restore_over_existing_database_needs_replace(emu: SqlServerEmulator) -> None:
    chain_on_source(emu)
    run(emu, "tgt-host", "CREATE DATABASE Sales")
    err = fails(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH NORECOVERY")
    assert err.numbers == [3154, 3013]
    run(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH REPLACE, RECOVERY")
    assert len(rows(emu, "tgt-host", "SELECT * FROM Orders", "Sales")) == 2
    # same database family, ONLINE, FULL recovery: the tail of the log would be lost
    assert fails(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak'").numbers == [3159, 3013]


def test_rename_with_move_and_1834_without(emu: SqlServerEmulator) -> None:
    chain_on_source(emu)
    run(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH RECOVERY")
    err = fails(emu, "tgt-host", f"RESTORE DATABASE SalesCopy FROM DISK = '{BK}full.bak' WITH NORECOVERY")
    assert err.number == 1834 and err.numbers[-1] == 3013
    assert "It is being used by database 'Sales'" in err.errors[0].message
    run(
        emu,
        "tgt-host",
        f"RESTORE DATABASE SalesCopy FROM DISK = '{BK}full.bak' WITH NORECOVERY, "
        "MOVE 'Sales' TO 'D:\\SQLData\\SalesCopy.mdf', "
        "MOVE 'Sales_log' TO 'D:\\SQLData\\SalesCopy_log.ldf', STATS = 25",
    )
    run(emu, "tgt-host", f"RESTORE LOG SalesCopy FROM DISK = '{BK}log1.trn' WITH RECOVERY")
    files = rows(
        emu,
        "tgt-host",
        "SELECT f.name, f.physical_name FROM sys.master_files f JOIN sys.databases d "
        "ON f.database_id = d.database_id WHERE d.name = 'SalesCopy' ORDER BY f.file_id",
    )
    assert files == [["Sales", "D:\\SQLData\\SalesCopy.mdf"], ["Sales_log", "D:\\SQLData\\SalesCopy_log.ldf"]]
    assert emu.instance("TGT").hostfs.local_path("D:\\SQLData\\SalesCopy.mdf").is_file()
    assert len(rows(emu, "tgt-host", "SELECT * FROM SalesCopy.dbo.Orders")) == 3


def test_history_and_redo_start_lsn_track_the_restores(emu: SqlServerEmulator) -> None:
    chain_on_source(emu)
    heads = {n: rows(emu, "tgt-host", f"RESTORE HEADERONLY FROM DISK = '{BK}{n}'")[0] for n in ("full.bak", "log1.trn")}
    cols = emu.execute("tgt-host", f"RESTORE HEADERONLY FROM DISK = '{BK}full.bak'").result_sets[0].columns
    full = dict(zip(cols, heads["full.bak"], strict=True))
    log1 = dict(zip(cols, heads["log1.trn"], strict=True))
    assert full["BackupType"] == 1 and log1["BackupType"] == 2
    assert full["DatabaseBackupLSN"] == 0 and log1["DatabaseBackupLSN"] == full["CheckpointLSN"]
    assert log1["FirstLSN"] <= full["LastLSN"] < log1["LastLSN"]
    run(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH NORECOVERY")
    assert redo_lsn(emu, "tgt-host", "Sales") == full["LastLSN"]
    run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY")
    assert redo_lsn(emu, "tgt-host", "Sales") == log1["LastLSN"]
    hist = rows(
        emu,
        "tgt-host",
        "SELECT r.destination_database_name, r.restore_type, r.recovery, b.first_lsn, b.last_lsn,"
        " m.physical_device_name"
        " FROM msdb.dbo.restorehistory r JOIN msdb.dbo.backupset b ON r.backup_set_id = b.backup_set_id"
        " JOIN msdb.dbo.backupmediafamily m ON m.media_set_id = b.media_set_id ORDER BY r.restore_history_id",
    )
    assert hist == [
        ["Sales", "D", 0, full["FirstLSN"], full["LastLSN"], f"{BK}full.bak"],
        ["Sales", "L", 0, log1["FirstLSN"], log1["LastLSN"], f"{BK}log1.trn"],
    ]
    src_hist = rows(emu, "src-host", "SELECT type FROM msdb.dbo.backupset WHERE database_name = 'Sales' ORDER BY 1")
    assert src_hist == [["D"], ["L"], ["L"], ["L"]]


def test_log_backup_rules(emu: SqlServerEmulator) -> None:
    make_source(emu)
    err = fails(emu, "src-host", f"BACKUP LOG Sales TO DISK = '{BK}x.trn'")
    assert err.numbers == [4214, 3013]
    run(emu, "src-host", f"BACKUP DATABASE Sales TO DISK = '{BK}f.bak'")
    _, h1 = emu.instance("SRC").backup_log_to_bytes("Sales")
    _, h2 = emu.instance("SRC").backup_log_to_bytes("Sales")
    assert h2.first_lsn == h2.last_lsn == h1.last_lsn  # no activity: an empty log backup
    run(emu, "src-host", f"BACKUP DATABASE Sales TO DISK = '{BK}f2.bak' WITH INIT")
    run(emu, "src-host", "INSERT INTO Orders (name) VALUES ('x')", "Sales")
    _, h3 = emu.instance("SRC").backup_log_to_bytes("Sales")
    assert h3.first_lsn == h2.last_lsn < h3.last_lsn  # a full backup does not break the log chain
    run(emu, "src-host", "ALTER DATABASE Sales SET RECOVERY SIMPLE")
    assert fails(emu, "src-host", f"BACKUP LOG Sales TO DISK = '{BK}y.trn'").numbers == [4208, 3013]


def test_tde_restore_needs_the_certificate(emu: SqlServerEmulator) -> None:
    run(
        emu,
        "src-host",
        """
        CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!MasterKey';
        CREATE CERTIFICATE TDECert WITH SUBJECT = 'TDE certificate', EXPIRY_DATE = '2040-01-01';
        """,
    )
    make_source(emu)
    run(
        emu,
        "src-host",
        "CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TDECert\n"
        "GO\nALTER DATABASE Sales SET ENCRYPTION ON",
        "Sales",
    )
    thumb = rows(emu, "src-host", "SELECT thumbprint FROM sys.certificates WHERE name = 'TDECert'")[0][0]
    assert thumb == emu.instance("SRC").certificate("TDECert").thumbprint and len(thumb) == 42
    assert rows(
        emu,
        "src-host",
        "SELECT k.encryptor_thumbprint, d.is_encrypted FROM sys.dm_database_encryption_keys k "
        "JOIN sys.databases d ON d.database_id = k.database_id WHERE d.name = 'Sales'",
    ) == [[thumb, 1]]
    run(emu, "src-host", f"BACKUP DATABASE Sales TO DISK = '{BK}full.bak' WITH INIT")
    run(emu, "src-host", "INSERT INTO Orders (name) VALUES ('secret')", "Sales")
    run(emu, "src-host", f"BACKUP LOG Sales TO DISK = '{BK}log1.trn' WITH INIT")
    run(
        emu,
        "src-host",
        f"BACKUP CERTIFICATE TDECert TO FILE = '{BK}tde.cer' WITH PRIVATE KEY "
        f"(FILE = '{BK}tde.pvk', ENCRYPTION BY PASSWORD = 'Cert!Pass1')",
    )
    copy_backups(emu)
    src, tgt = emu.instance("SRC").hostfs, emu.instance("TGT").hostfs
    for n in ("tde.cer", "tde.pvk"):
        tgt.local_path(BK + n).write_bytes(src.local_path(BK + n).read_bytes())
    assert b"secret" not in tgt.local_path(BK + "log1.trn").read_bytes()

    err = fails(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH NORECOVERY")
    assert err.numbers == [33111, 3013]
    assert err.errors[0].message == f"Cannot find server certificate with thumbprint '{thumb}'."
    assert fails(emu, "tgt-host", f"RESTORE FILELISTONLY FROM DISK = '{BK}full.bak'").numbers == [33111, 3013]
    assert "Sales" not in emu.instance("TGT").database_names()

    run(emu, "tgt-host", "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'An0ther!Key'")
    create = (
        f"CREATE CERTIFICATE TDECert FROM FILE = '{BK}tde.cer' WITH PRIVATE KEY (FILE = '{BK}tde.pvk', "
        "DECRYPTION BY PASSWORD = '{pw}')"
    )
    assert fails(emu, "tgt-host", create.format(pw="wrong")).number == 15465
    run(emu, "tgt-host", create.format(pw="Cert!Pass1"))
    assert emu.instance("TGT").certificate("TDECert").thumbprint == thumb
    assert fails(emu, "tgt-host", create.format(pw="Cert!Pass1")).number == 15232

    files = rows(emu, "tgt-host", f"RESTORE FILELISTONLY FROM DISK = '{BK}full.bak'")
    assert {r[20] for r in files} == {thumb}
    run(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH NORECOVERY")
    run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH RECOVERY")
    assert [r[1] for r in rows(emu, "tgt-host", ORDERS, "Sales")] == ["alpha", "beta", "secret"]
    assert emu.instance("TGT").database("Sales").encryptor_thumbprint == thumb


def test_state_survives_a_new_emulator(tmp_path: Path, emu: SqlServerEmulator) -> None:
    chain_on_source(emu)
    run(emu, "tgt-host", f"RESTORE DATABASE Sales FROM DISK = '{BK}full.bak' WITH NORECOVERY")
    run(emu, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log1.trn' WITH NORECOVERY")
    redo = redo_lsn(emu, "tgt-host", "Sales")
    emu.close()
    again = SqlServerEmulator(
        tmp_path, [InstanceConfig("SRC", ["src-host"], "ec2"), InstanceConfig("TGT", ["tgt-host"], "ec2")]
    )
    try:
        assert again.instance("TGT").database("Sales").state_desc == "RESTORING"
        assert redo_lsn(again, "tgt-host", "Sales") == redo
        run(again, "tgt-host", f"RESTORE LOG Sales FROM DISK = '{BK}log2.trn' WITH RECOVERY")
        assert [r[1] for r in rows(again, "tgt-host", ORDERS, "Sales")] == ["alpha", "gamma"]
        run(again, "src-host", "INSERT INTO Orders (name) VALUES ('after restart')", "Sales")
        _, h = again.instance("SRC").backup_log_to_bytes("Sales")
        assert h.first_lsn < h.last_lsn
    finally:
        again.close()


def test_full_backup_to_nul_starts_the_log_chain_and_writes_no_file(emu: SqlServerEmulator, tmp_path: Path) -> None:
    make_source(emu)
    files_before = sorted(tmp_path.rglob("*"))
    run(emu, "src-host", "BACKUP DATABASE Sales TO DISK = 'NUL'")
    assert [p for p in sorted(tmp_path.rglob("*")) if p not in files_before and p.suffix != ".tmp"] == []
    device = rows(
        emu,
        "src-host",
        "SELECT m.physical_device_name, b.type FROM msdb.dbo.backupset b "
        "JOIN msdb.dbo.backupmediafamily m ON m.media_set_id = b.media_set_id",
    )
    assert device == [["NUL", "D"]]
    run(emu, "src-host", "INSERT INTO Orders (name) VALUES ('after nul')", "Sales")
    _, header = emu.instance("SRC").backup_log_to_bytes("Sales")  # no 4214: the chain exists
    assert header.first_lsn < header.last_lsn


def test_divide_by_zero_raises_8134_as_sql_server_does(emu: SqlServerEmulator) -> None:
    make_source(emu)
    for sql in (
        "SELECT 1/0 AS x",
        "SELECT amt / (id - id) FROM dbo.Orders",
        "SELECT id % 0 FROM dbo.Orders",
        "SELECT 1.5 / CAST(0 AS FLOAT) AS x",
        "UPDATE dbo.Orders SET amt = amt / (id - 1)",
    ):
        err = fails(emu, "src-host", sql, "Sales")
        assert (err.number, err.errors[0].message) == (8134, "Divide by zero error encountered."), sql
    assert rows(emu, "src-host", "SELECT amt FROM dbo.Orders ORDER BY id", "Sales") == [[1.5], [2]]  # no UPDATE
    assert rows(emu, "src-host", "SELECT 7 / 2 AS q, 7 % 2 AS r, 7 / 2.0 AS f", "Sales") == [[3, 1, 3.5]]
    assert rows(emu, "src-host", "SELECT 1 / NULLIF(0, 0) AS x", "Sales") == [[None]]  # the usual guard
    # the next error is its own, not a stale divide by zero
    assert fails(emu, "src-host", "SELECT * FROM dbo.NoSuchTable", "Sales").number == 208


def test_describe_first_result_set_describes_an_error_in_a_row(emu: SqlServerEmulator) -> None:
    make_source(emu)
    q = "SELECT name, system_type_name, error_number, error_message FROM sys.dm_exec_describe_first_result_set"
    assert rows(emu, "src-host", f"{q}(N'SELECT id, name FROM dbo.Orders', NULL, 0)", "Sales") == [
        ["id", "int", None, None],
        ["name", "nvarchar(50)", None, None],
    ]
    [[name, tname, number, message]] = rows(emu, "src-host", f"{q}(N'SELECT * FROM dbo.Nope', NULL, 0)", "Sales")
    assert (name, tname, number) == (None, None, 208) and "Invalid object name" in message
