"""dbshift's SQL Server EMULATOR (SQL Server cannot run here).

This package emulates the parts of Microsoft SQL Server 2019 that dbshift's fall-forward runbooks
depend on, following SQL Server's documented semantics. It is not SQL Server. It models:

- instances (`SqlServerEmulator`, `Instance`), each with its own state under root/<name>/ that
  survives a process restart, and a host file system mapping Windows paths (`HostFs`);
- databases stored as SQLite files at their data file's host path, with states ONLINE/RESTORING,
  recovery models FULL/SIMPLE, and a replayable transaction log with SQL Server-shaped LSNs;
- a T-SQL front end: GO batches, variables, USE, PRINT, SELECT @@VERSION/SERVERPROPERTY/DB_NAME/
  DB_ID, user tables via sqlglot (CREATE/INSERT/UPDATE/DELETE/SELECT/TRUNCATE/DROP), transactions,
  EXEC of registered procedures, system views (sys.databases, sys.master_files, sys.certificates,
  sys.dm_database_encryption_keys, sys.symmetric_keys, sys.dm_exec_sessions) and msdb
  history (backupset, backupmediafamily, restorehistory), table-valued functions;
- schema objects of user databases (schemaobj.py, catalogviews.py): CREATE TABLE/INDEX/SEQUENCE/SCHEMA,
  ALTER TABLE ADD/DROP CONSTRAINT, and CREATE/ALTER VIEW/PROCEDURE/FUNCTION/TRIGGER, recorded in the
  database (so backups and log restores carry them) and answered by the catalog views sys.objects,
  sys.sql_modules, sys.columns, sys.types, sys.indexes, sys.key_constraints, sys.foreign_keys, ... and
  INFORMATION_SCHEMA; modules are STORED, NOT EXECUTED (see schemaobj.py for what else is emulator-only);
- BACKUP DATABASE/LOG TO DISK in the emulator's own documented file format (backupfile.py),
  RESTORE DATABASE/LOG (NORECOVERY/RECOVERY, MOVE, REPLACE, RESTART, rename), RESTORE HEADERONLY/
  FILELISTONLY, LSN chain checks with SQL Server's errors (4305, 4326, 3117, 3159, 3154, 1834, 4214,
  4208, 3101, 4319, ...);
- certificates and TDE with real cryptography (X.509/RSA certificates, password-protected private
  key files, DEKs wrapped by the certificate, encrypted backups; 33111 without the certificate);
- EMULATOR-ONLY switches (procedures in master.emulator; SQL Server has none of them), because every
  WinRM call is one short connection and the server never crashes by itself:
  - `EXEC master.emulator.open_session @database_name = N'x' [, @login_name, @host_name,
    @program_name]` returns a session_id and holds that session on x (another client's open
    connection, an overlapping restore job) until `EXEC master.emulator.close_session @session_id = n`
    (6106 if it is not open). sys.dm_exec_sessions lists held sessions; while one is held on x,
    RESTORE DATABASE/LOG x fails with 3101 + 3013 and DROP DATABASE x with 3702. Held sessions are
    in memory: an emulator restart ends them, as a SQL Server restart does.
  - `EXEC master.emulator.interrupt_next_restore @database_name = N'x'` makes the next RESTORE LOG of
    x stop part-way as if the server died: the client gets the transport-level error 10054 (class
    20), nothing of that log becomes visible, and x remembers the interrupted backup set (this
    survives a restart). Until that set is restored again WITH RESTART, every RESTORE LOG of x (the
    same set without RESTART included) and RESTORE DATABASE x WITH RECOVERY fail with 4319 + 3013;
    RESTORE DATABASE x FROM a full backup (a new restore sequence) clears it. restorehistory.restart
    records RESTART.

A failed statement raises SqlError and stops the rest of its batch (and rolls back an open
transaction). The RDS procedures (rds.py, another module) are installed for instances of kind "rds".
"""

from dbshift.estate.sqlserver.hostfs import HostFs
from dbshift.estate.sqlserver.server import (
    BackupHeader,
    CertificateInfo,
    DatabaseInfo,
    Instance,
    InstanceConfig,
    ProcArgs,
    ProcFn,
    RdsConfig,
    SqlServerEmulator,
    TvfFn,
)

__all__ = [
    "BackupHeader",
    "CertificateInfo",
    "DatabaseInfo",
    "HostFs",
    "Instance",
    "InstanceConfig",
    "ProcArgs",
    "ProcFn",
    "RdsConfig",
    "SqlServerEmulator",
    "TvfFn",
]
