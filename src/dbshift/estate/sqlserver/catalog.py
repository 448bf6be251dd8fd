"""Per-instance catalog of the SQL Server emulator, kept in SQLite at state_dir/catalog.sqlite.

It holds what SQL Server keeps in master and msdb: databases and their files, states, recovery
models, restore progress (redo_start_lsn), the log-backup chain position, certificates (private
keys encrypted under the service master key), database encryption keys (wrapped) and the msdb
backup/restore history. SQLite commits atomically, so a process restart keeps a consistent state.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS databases (
    database_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    state TEXT NOT NULL DEFAULT 'ONLINE',
    recovery_model TEXT NOT NULL DEFAULT 'FULL',
    family_guid TEXT NOT NULL,
    create_date TEXT NOT NULL,
    is_system INTEGER NOT NULL DEFAULT 0,
    encryption_state INTEGER NOT NULL DEFAULT 0,
    dek_wrapped BLOB,
    dek_thumbprint TEXT,
    dek_algorithm TEXT,
    redo_start_lsn INTEGER,
    log_chain_lsn INTEGER,
    last_full_checkpoint_lsn INTEGER NOT NULL DEFAULT 0,
    restore_base_checkpoint_lsn INTEGER
);
CREATE TABLE IF NOT EXISTS files (
    database_id INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    type INTEGER NOT NULL,
    name TEXT NOT NULL,
    physical_name TEXT NOT NULL,
    PRIMARY KEY (database_id, file_id)
);
CREATE TABLE IF NOT EXISTS certificates (
    certificate_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    subject TEXT NOT NULL,
    thumbprint TEXT NOT NULL UNIQUE,
    start_date TEXT NOT NULL,
    expiry_date TEXT NOT NULL,
    cert_der BLOB NOT NULL,
    key_under_smk BLOB
);
CREATE TABLE IF NOT EXISTS master_key (id INTEGER PRIMARY KEY CHECK (id = 1), create_date TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS backupmediafamily (
    media_set_id INTEGER PRIMARY KEY,
    family_sequence_number INTEGER NOT NULL DEFAULT 1,
    physical_device_name TEXT,
    device_type INTEGER NOT NULL DEFAULT 2
);
CREATE TABLE IF NOT EXISTS backupset (
    backup_set_id INTEGER PRIMARY KEY,
    media_set_id INTEGER NOT NULL,
    position INTEGER NOT NULL DEFAULT 1,
    database_name TEXT NOT NULL,
    server_name TEXT,
    type TEXT NOT NULL,
    first_lsn INTEGER, last_lsn INTEGER, checkpoint_lsn INTEGER, database_backup_lsn INTEGER,
    backup_start_date TEXT, backup_finish_date TEXT,
    family_guid TEXT,
    backup_size INTEGER,
    compressed_backup_size INTEGER,
    recovery_model TEXT,
    is_copy_only INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS restorehistory (
    restore_history_id INTEGER PRIMARY KEY,
    restore_date TEXT NOT NULL,
    destination_database_name TEXT NOT NULL,
    user_name TEXT,
    backup_set_id INTEGER NOT NULL,
    restore_type TEXT NOT NULL,
    replace INTEGER NOT NULL DEFAULT 0,
    recovery INTEGER NOT NULL DEFAULT 0,
    restart INTEGER NOT NULL DEFAULT 0
);
"""


class Catalog:
    """Thin wrapper over the catalog database; callers hold the instance lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        return self.conn.execute(sql, args).fetchone()

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        return self.conn.execute(sql, args).fetchall()

    def run(self, sql: str, *args: Any) -> int:
        cur = self.conn.execute(sql, args)
        return cur.lastrowid or 0

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    # -- databases -------------------------------------------------------------------------
    def db_row(self, name: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM databases WHERE name = ?", name)

    def db_by_id(self, database_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM databases WHERE database_id = ?", database_id)

    def files_of(self, database_id: int) -> list[sqlite3.Row]:
        return self.all("SELECT * FROM files WHERE database_id = ? ORDER BY file_id", database_id)

    def next_database_id(self) -> int:
        row = self.one("SELECT COALESCE(MAX(database_id), 4) + 1 AS n FROM databases")
        assert row is not None
        return max(5, int(row["n"]))

    def update_db(self, database_id: int, **cols: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in cols)
        self.run(f"UPDATE databases SET {sets} WHERE database_id = ?", *cols.values(), database_id)

    def file_owner(self, physical_name: str) -> sqlite3.Row | None:
        """The database whose file has this Windows path (compared case-insensitively)."""
        return self.one(
            "SELECT d.name, f.* FROM files f JOIN databases d USING (database_id) "
            "WHERE lower(replace(f.physical_name, '/', '\\')) = lower(replace(?, '/', '\\'))",
            physical_name,
        )
