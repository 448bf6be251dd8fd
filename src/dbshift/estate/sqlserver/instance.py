"""One emulated SQL Server instance: catalog, databases, backup/restore, certificates and TDE.

This is the engine behind both T-SQL (batch.py) and the Instance API that the RDS procedures use
(see .team/EMULATOR_CONTRACT.md). Every public method takes `lock`, so T-SQL batches, RDS tasks
and timers are serialised per instance.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dbshift.estate.sqlserver import backupfile, crypto, messages, sample_gen, userdb
from dbshift.estate.sqlserver.backupfile import BackupFileEntry, BackupSet
from dbshift.estate.sqlserver.catalog import Catalog
from dbshift.estate.sqlserver.hostfs import HostFs, same_windows_path
from dbshift.estate.sqlserver.model import (
    BackupHeader,
    CertificateInfo,
    DatabaseInfo,
    InstanceConfig,
    ProcArgs,
    ProcFn,
    SqlError,
    TvfFn,
    sql_error,
)
from dbshift.tsql.result import ResultSet, SqlResult

SYSTEM_DATABASES = [
    # (id, name, data logical, data file, log logical, log file, recovery model)
    (1, "master", "master", "master.mdf", "mastlog", "mastlog.ldf", "SIMPLE"),
    (2, "tempdb", "tempdev", "tempdb.mdf", "templog", "templog.ldf", "SIMPLE"),
    (3, "model", "modeldev", "model.mdf", "modellog", "modellog.ldf", "FULL"),
    (4, "msdb", "MSDBData", "MSDBData.mdf", "MSDBLog", "MSDBLog.ldf", "SIMPLE"),
]
PAGE = 8192
FIRST_HELD_SESSION_ID = 60  # above @@SPID (52) and the ids SQL Server keeps for system sessions
# EMULATOR ONLY (master.emulator.interrupt_next_restore): per database, whether the next RESTORE LOG is to be
# interrupted, and the backup set an interrupted RESTORE left part-way (what SQL Server remembers for 4319).
INTERRUPT_SCHEMA = """
CREATE TABLE IF NOT EXISTS emulator_restore_interrupts (
    database_id INTEGER PRIMARY KEY,
    armed INTEGER NOT NULL DEFAULT 0,
    family_guid TEXT,
    first_lsn INTEGER,
    last_lsn INTEGER,
    file_name TEXT
);
"""


def _iso(d: datetime) -> str:
    return d.isoformat(timespec="milliseconds")


@dataclass
class RestoreOptions:
    recovery: bool = True
    replace: bool = False
    moves: dict[str, str] = field(default_factory=dict)  # logical name (lower) -> Windows path
    file: int = 1
    stats: int | None = None
    restart: bool = False


@dataclass
class HeldSession:
    """A connection held open on a database by master.emulator.open_session (EMULATOR ONLY)."""

    session_id: int
    database_id: int
    login_name: str
    host_name: str
    program_name: str
    login_time: str


class Instance:
    """An emulated SQL Server instance whose state lives under state_dir (root/<name>/)."""

    def __init__(self, config: InstanceConfig, root: Path) -> None:
        self.config = config
        self.state_dir = Path(root) / config.name
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.hostfs = HostFs(self.state_dir / "fs")
        self.catalog = Catalog(self.state_dir / "catalog.sqlite")
        self._smk = crypto.service_master_key(self.state_dir)
        self.procedures: dict[str, ProcFn] = {}
        self.table_functions: dict[str, TvfFn] = {}
        self.server_name = config.server_names[0] if config.server_names else config.name
        # Held sessions live in memory only: a restart ends every session, as it does on SQL Server.
        self.held_sessions: dict[int, HeldSession] = {}
        self._next_session_id = FIRST_HELD_SESSION_ID
        with self.lock:
            self.catalog.conn.executescript(INTERRUPT_SCHEMA)
            self._ensure_system_databases()
        for name, fn in EMULATOR_PROCEDURES.items():
            self.register_procedure(name, fn)

    # -- contract API ------------------------------------------------------------------------------
    def register_procedure(self, name: str, fn: ProcFn) -> None:
        self.procedures[_three_part(name)] = fn

    def register_table_function(self, name: str, fn: TvfFn) -> None:
        self.table_functions[_three_part(name)] = fn

    def database(self, name: str) -> DatabaseInfo:
        with self.lock:
            row = self._db(name)
            return DatabaseInfo(
                name=row["name"],
                database_id=row["database_id"],
                state_desc=row["state"],
                recovery_model_desc=row["recovery_model"],
                family_guid=row["family_guid"],
                is_encrypted=row["encryption_state"] == 3,
                encryptor_thumbprint=row["dek_thumbprint"],
            )

    def database_names(self) -> list[str]:
        with self.lock:
            return [r["name"] for r in self.catalog.all("SELECT name FROM databases ORDER BY database_id")]

    def backup_database_to_bytes(self, db_name: str, device_name: str | None = None) -> tuple[bytes, BackupHeader]:
        """A FULL backup as a one-set media file; recorded in msdb when device_name is given."""
        with self.lock:
            bset = self._take_full(self._db(db_name), compress=True)
            if device_name:
                self._record_backup(bset, device_name)
            return backupfile.encode([bset]), bset.header

    def backup_log_to_bytes(self, db_name: str, device_name: str | None = None) -> tuple[bytes, BackupHeader]:
        with self.lock:
            bset = self._take_log(self._db(db_name), compress=True, statement="BACKUP LOG")
            if device_name:
                self._record_backup(bset, device_name)
            return backupfile.encode([bset]), bset.header

    def certificate(self, name: str) -> CertificateInfo:
        with self.lock:
            row = self.catalog.one("SELECT * FROM certificates WHERE name = ?", name)
            if row is None:
                raise messages.cert_missing(name)
            return _cert_info(row)

    def export_certificate(self, name: str, private_key_password: str) -> tuple[bytes, bytes]:
        """(.cer DER, .pvk) as BACKUP CERTIFICATE ... WITH PRIVATE KEY (ENCRYPTION BY PASSWORD) writes."""
        with self.lock:
            row = self.catalog.one("SELECT * FROM certificates WHERE name = ?", name)
            if row is None:
                raise messages.cert_missing(name)
            if not private_key_password:
                raise sql_error(15024, "The password is invalid: an ENCRYPTION BY PASSWORD password is required.")
            key = crypto.unprotect_private_key(row["key_under_smk"], self._smk)
            return bytes(row["cert_der"]), crypto.protect_private_key(key, private_key_password.encode())

    def create_certificate(self, name: str, subject: str, expiry: datetime | None = None) -> CertificateInfo:
        """A new self-signed certificate in master (what CREATE CERTIFICATE does; RDS uses it directly)."""
        with self.lock:
            start = crypto.now()
            der, key = crypto.new_certificate(subject, start, expiry or crypto.default_expiry(start))
            self._store_certificate(name, der, key)
            return self.certificate(name)

    def execute(self, sql: str, database: str | None = None, login: str | None = None) -> SqlResult:
        """Run a T-SQL script (GO-separated batches) on this instance, already authenticated."""
        from dbshift.estate.sqlserver.batch import Session

        with self.lock:
            return Session(self, database or "master", login).run_script(sql)

    def close(self) -> None:
        with self.lock:
            self.catalog.close()

    # -- databases ---------------------------------------------------------------------------------
    def _db(self, name: str) -> sqlite3.Row:
        row = self.catalog.db_row(name)
        if row is None:
            raise messages.db_missing(name)
        return row

    def default_data_dir(self) -> str:
        return "D:\\rdsdbdata\\DATA" if self.config.kind == "rds" else "D:\\SQLData"

    def _system_data_dir(self) -> str:
        if self.config.kind == "rds":
            return "D:\\rdsdbdata\\DATA"
        return "C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\DATA"

    def _ensure_system_databases(self) -> None:
        for d in (self.default_data_dir(), self._system_data_dir(), self.default_backup_dir()):
            self.hostfs.local_path(d).mkdir(parents=True, exist_ok=True)
        for db_id, name, dlog, dfile, llog, lfile, model in SYSTEM_DATABASES:
            if self.catalog.db_by_id(db_id) is not None:
                continue
            base = self._system_data_dir()
            files = [(1, 0, dlog, f"{base}\\{dfile}"), (2, 1, llog, f"{base}\\{lfile}")]
            self._register_db(db_id, name, files, "ONLINE", model, str(uuid.uuid4()).upper(), is_system=True)

    def default_backup_dir(self) -> str:
        return "D:\\rdsdbdata\\BACKUP" if self.config.kind == "rds" else "D:\\SQLBackup"

    def _register_db(
        self,
        db_id: int,
        name: str,
        files: list[tuple[int, int, str, str]],
        state: str,
        model: str,
        family_guid: str,
        is_system: bool = False,
        image: bytes | None = None,
    ) -> None:
        """Create the files (new SQLite database or a restored image) and the catalog rows."""
        data_path = self.hostfs.local_path(files[0][3])
        if image is None:
            data_path.unlink(missing_ok=True)
            userdb.create_file(data_path)
        else:
            userdb.write_image(data_path, image)
        for _, ftype, _, phys in files:
            if ftype == 1:
                _write_log_placeholder(self.hostfs.local_path(phys), files[0][3])
        self.catalog.begin()
        try:
            self.catalog.run(
                "INSERT INTO databases (database_id, name, state, recovery_model, family_guid, create_date, is_system)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                db_id,
                name,
                state,
                model,
                family_guid,
                _iso(crypto.now()),
                int(is_system),
            )
            for file_id, ftype, logical, phys in files:
                self.catalog.run("INSERT INTO files VALUES (?, ?, ?, ?, ?)", db_id, file_id, ftype, logical, phys)
            self.catalog.commit()
        except BaseException:
            self.catalog.rollback()
            raise

    def data_path(self, db_row: sqlite3.Row) -> Path:
        data = next(f for f in self.catalog.files_of(db_row["database_id"]) if f["type"] == 0)
        return self.hostfs.local_path(data["physical_name"])

    def connect(self, db_row: sqlite3.Row) -> sqlite3.Connection:
        path = self.data_path(db_row)
        if not path.exists():
            userdb.create_file(path)  # a system database's file on first use
        return userdb.connect(path)

    def check_dir(self, phys: str, statement: str, trailer: str | None) -> None:
        parent = self.hostfs.local_path(phys).parent
        if not parent.is_dir():
            errs = [
                (
                    5133,
                    f'Directory lookup for the file "{phys}" failed with the operating system error '
                    "3(The system cannot find the path specified.).",
                    16,
                    1,
                )
            ]
            if trailer:
                raise messages.with_trailer(trailer, *errs)
            raise sql_error(*errs[0])

    def create_database(self, name: str, files: list[tuple[str, str]] | None) -> None:
        """CREATE DATABASE; files = [(logical, physical) for data, log] or None for the defaults."""
        if self.catalog.db_row(name) is not None:
            raise sql_error(1801, f"Database '{name}' already exists. Choose a different database name.")
        if not files:
            base = self.default_data_dir()
            files = [(name, f"{base}\\{name}.mdf"), (f"{name}_log", f"{base}\\{name}_log.ldf")]
        for _, phys in files:
            owner = self.catalog.file_owner(phys)
            if owner is not None or self.hostfs.local_path(phys).exists():
                raise SqlError(
                    [
                        messages.detail(
                            5170,
                            f"Cannot create file '{phys}' because it already exists. Change the file path "
                            "or the file name, and retry the operation.",
                            16,
                            1,
                        ),
                        messages.detail(
                            1802,
                            "CREATE DATABASE failed. Some file names listed could not be created. "
                            "Check related errors.",
                            16,
                            4,
                        ),
                    ]
                )
            self.check_dir(phys, "CREATE DATABASE", None)
        rows = [(1, 0, files[0][0], files[0][1]), *[(i + 2, 1, lg, ph) for i, (lg, ph) in enumerate(files[1:])]]
        self._register_db(self.catalog.next_database_id(), name, rows, "ONLINE", "FULL", str(uuid.uuid4()).upper())

    def drop_database(self, name: str) -> None:
        row = self._db(name)
        if row["is_system"]:
            raise sql_error(3708, f"Cannot drop the database '{name}' because it is a system database.")
        if self.sessions_on(row["database_id"]):
            raise sql_error(3702, f'Cannot drop database "{name}" because it is currently in use.')
        self._remove_db(row)

    def _remove_db(self, row: sqlite3.Row, keep_paths: tuple[str, ...] = ()) -> None:
        files = self.catalog.files_of(row["database_id"])
        self.catalog.begin()
        self.catalog.run("DELETE FROM files WHERE database_id = ?", row["database_id"])
        self.catalog.run("DELETE FROM databases WHERE database_id = ?", row["database_id"])
        self.catalog.run("DELETE FROM emulator_restore_interrupts WHERE database_id = ?", row["database_id"])
        self.catalog.commit()
        for f in files:
            if not any(same_windows_path(f["physical_name"], k) for k in keep_paths):
                self.hostfs.local_path(f["physical_name"]).unlink(missing_ok=True)

    def set_recovery(self, name: str, model: str) -> None:
        row = self._db(name)
        self._require_online(row)
        cols: dict[str, Any] = {"recovery_model": model}
        if model == "SIMPLE":
            cols["log_chain_lsn"] = None  # switching to SIMPLE breaks the log backup chain
        self.catalog.update_db(row["database_id"], **cols)

    def _require_online(self, row: sqlite3.Row) -> None:
        if row["state"] == "RESTORING":
            raise messages.db_restoring(row["name"])

    # -- backup ------------------------------------------------------------------------------------
    def _files_entries(self, row: sqlite3.Row) -> list[BackupFileEntry]:
        out = []
        for f in self.catalog.files_of(row["database_id"]):
            local = self.hostfs.local_path(f["physical_name"])
            out.append(
                BackupFileEntry(
                    logical_name=f["name"],
                    physical_name=f["physical_name"],
                    type="D" if f["type"] == 0 else "L",
                    file_id=f["file_id"],
                    size=local.stat().st_size if local.exists() else 0,
                )
            )
        return out

    def _seal(self, row: sqlite3.Row, payload: bytes, compress: bool) -> tuple[bytes, dict[str, str] | None]:
        if compress:
            payload = zlib.compress(payload, 6)
        if row["encryption_state"] != 3:
            return payload, None
        dek = self._unwrap_dek(row["dek_wrapped"], row["dek_thumbprint"], "BACKUP DATABASE")
        return crypto.encrypt(dek, payload), {
            "thumbprint": row["dek_thumbprint"],
            "wrapped_dek": row["dek_wrapped"].hex(),
        }

    def _unwrap_dek(self, wrapped: bytes, thumb: str, statement: str) -> bytes:
        cert = self.catalog.one("SELECT * FROM certificates WHERE thumbprint = ?", thumb)
        if cert is None or cert["key_under_smk"] is None:
            raise messages.no_tde_cert(thumb, statement)
        return crypto.unwrap_dek(wrapped, crypto.unprotect_private_key(cert["key_under_smk"], self._smk))

    def _take_full(self, row: sqlite3.Row, compress: bool) -> BackupSet:
        self._backup_allowed(row, "BACKUP DATABASE")
        start = crypto.now()
        conn = self.connect(row)
        try:
            conn.execute("BEGIN IMMEDIATE")
            (ckpt,) = userdb.append(conn, [("CKPT", {})])
            if row["recovery_model"] == "SIMPLE":
                userdb.truncate_log(conn, ckpt)
            conn.execute("COMMIT")
            last = userdb.next_lsn(conn)
            image = userdb.snapshot(conn)
        finally:
            conn.close()
        payload, tde = self._seal(row, image, compress)
        header = BackupHeader(
            database_name=row["name"],
            backup_type=1,
            first_lsn=ckpt,
            last_lsn=last,
            checkpoint_lsn=ckpt,
            database_backup_lsn=row["last_full_checkpoint_lsn"] or 0,
            backup_start_date=start,
            backup_finish_date=crypto.now(),
            family_guid=row["family_guid"],
            is_encrypted_tde=tde is not None,
            encryptor_thumbprint=tde["thumbprint"] if tde else None,
        )
        cols: dict[str, Any] = {"last_full_checkpoint_lsn": ckpt}
        if row["recovery_model"] != "SIMPLE" and row["log_chain_lsn"] is None:
            cols["log_chain_lsn"] = ckpt
        self.catalog.update_db(row["database_id"], **cols)
        return BackupSet(
            header=header,
            files=self._files_entries(row),
            payload=payload,
            compressed=compress,
            tde=tde,
            extra={"recovery_model": row["recovery_model"], "size": len(image), "server": self.server_name},
        )

    def _backup_allowed(self, row: sqlite3.Row, statement: str) -> None:
        if row["state"] == "RESTORING":
            raise messages.with_trailer(
                statement, (927, f"Database '{row['name']}' cannot be opened. It is in the middle of a restore.", 14, 1)
            )
        if row["name"].lower() == "tempdb":
            raise messages.with_trailer(
                statement, (3147, "Backup and restore operations are not allowed on database tempdb.", 16, 1)
            )

    def _take_log(self, row: sqlite3.Row, compress: bool, statement: str) -> BackupSet:
        self._backup_allowed(row, statement)
        if row["recovery_model"] == "SIMPLE":
            raise messages.with_trailer(
                statement,
                (
                    4208,
                    "The statement BACKUP LOG is not allowed while the recovery model is SIMPLE. Use BACKUP DATABASE "
                    "or change the recovery model using ALTER DATABASE.",
                    16,
                    1,
                ),
            )
        first = row["log_chain_lsn"]
        if first is None:
            raise messages.with_trailer(
                statement, (4214, "BACKUP LOG cannot be performed because there is no current database backup.", 16, 1)
            )
        start = crypto.now()
        conn = self.connect(row)
        try:
            last = userdb.next_lsn(conn)
            records = userdb.records_between(conn, first, last)
            conn.execute("BEGIN IMMEDIATE")
            userdb.truncate_log(conn, last)  # backed-up log is truncated, as after a real log backup
            conn.execute("COMMIT")
        finally:
            conn.close()
        raw = json.dumps({"records": records}).encode()
        payload, tde = self._seal(row, raw, compress)
        header = BackupHeader(
            database_name=row["name"],
            backup_type=2,
            first_lsn=first,
            last_lsn=last,
            checkpoint_lsn=row["last_full_checkpoint_lsn"] or first,
            database_backup_lsn=row["last_full_checkpoint_lsn"] or 0,
            backup_start_date=start,
            backup_finish_date=crypto.now(),
            family_guid=row["family_guid"],
            is_encrypted_tde=tde is not None,
            encryptor_thumbprint=tde["thumbprint"] if tde else None,
        )
        self.catalog.update_db(row["database_id"], log_chain_lsn=last)
        return BackupSet(
            header=header,
            files=self._files_entries(row),
            payload=payload,
            compressed=compress,
            tde=tde,
            extra={"recovery_model": row["recovery_model"], "size": len(raw), "server": self.server_name},
        )

    def backup_to_disk(self, db_name: str, path: str, log: bool, init: bool, compress: bool) -> tuple[BackupSet, int]:
        statement = "BACKUP LOG" if log else "BACKUP DATABASE"
        row = self._db(db_name)
        if path.strip().upper() == "NUL":
            # The NUL device discards the bytes, but the backup is real: it is recorded in msdb and a
            # full backup to NUL starts the log chain, as on SQL Server.
            bset = self._take_log(row, compress, statement) if log else self._take_full(row, compress)
            bset.position = 1
            return bset, self._record_backup(bset, path)
        local = self.hostfs.local_path(path)
        if not local.parent.is_dir():
            raise messages.with_trailer(
                statement,
                (
                    3201,
                    f"Cannot open backup device '{path}'. Operating system error 3(The system cannot find the path "
                    "specified.).",
                    16,
                    1,
                ),
            )
        existing: list[BackupSet] = []
        if local.exists() and not init:
            try:
                existing = backupfile.decode(local.read_bytes())
            except backupfile.BadMedia:
                raise messages.media_malformed(path, statement) from None
        bset = self._take_log(row, compress, statement) if log else self._take_full(row, compress)
        bset.position = len(existing) + 1
        data = backupfile.encode([*existing, bset])
        tmp = local.with_name(local.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(local)
        backup_set_id = self._record_backup(bset, path)
        return bset, backup_set_id

    def _record_backup(self, bset: BackupSet, device: str) -> int:
        h = bset.header
        self.catalog.begin()
        media_id = self.catalog.run("INSERT INTO backupmediafamily (physical_device_name) VALUES (?)", device)
        bid = self.catalog.run(
            "INSERT INTO backupset (media_set_id, position, database_name, server_name, type, first_lsn, last_lsn,"
            " checkpoint_lsn, database_backup_lsn, backup_start_date, backup_finish_date, family_guid, backup_size,"
            " compressed_backup_size, recovery_model) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            media_id,
            bset.position,
            h.database_name,
            bset.extra.get("server"),
            "D" if h.backup_type == 1 else "L",
            h.first_lsn,
            h.last_lsn,
            h.checkpoint_lsn,
            h.database_backup_lsn,
            _iso(h.backup_start_date),
            _iso(h.backup_finish_date),
            h.family_guid,
            bset.extra.get("size", 0),
            len(bset.payload),
            bset.extra.get("recovery_model"),
        )
        self.catalog.commit()
        return bid

    # -- reading media -----------------------------------------------------------------------------
    def read_media(self, path: str, statement: str) -> list[BackupSet]:
        local = self.hostfs.local_path(path)
        if not local.is_file():
            raise messages.cannot_open_device(path, statement)
        try:
            return backupfile.decode(local.read_bytes())
        except backupfile.BadMedia:
            raise messages.media_malformed(path, statement) from None

    def media_set(self, path: str, file: int, statement: str) -> BackupSet:
        sets = self.read_media(path, statement)
        if not 1 <= file <= len(sets):
            raise messages.with_trailer(statement, (4038, f"Cannot find file ID {file} on device '{path}'.", 16, 1))
        return sets[file - 1]

    def open_payload(self, bset: BackupSet, statement: str) -> bytes:
        payload = bset.payload
        if bset.tde:
            dek = self._unwrap_dek(bytes.fromhex(bset.tde["wrapped_dek"]), bset.tde["thumbprint"], statement)
            payload = crypto.decrypt(dek, payload)
        return zlib.decompress(payload) if bset.compressed else payload

    def check_tde_cert(self, bset: BackupSet, statement: str) -> None:
        if bset.tde:
            self._unwrap_dek(bytes.fromhex(bset.tde["wrapped_dek"]), bset.tde["thumbprint"], statement)

    # -- restore -----------------------------------------------------------------------------------
    def restore_database(self, name: str, path: str, opts: RestoreOptions) -> list[str]:
        st = "RESTORE DATABASE"
        t0 = time.monotonic()
        bset = self.media_set(path, opts.file, st)
        h = bset.header
        if h.backup_type != 1:
            raise messages.with_trailer(
                st,
                (
                    3135,
                    f"The backup set in file '{path}' was created by BACKUP LOG and cannot be used for this "
                    "restore operation.",
                    16,
                    2,
                ),
            )
        existing = self.catalog.db_row(name)
        if existing is not None and self.sessions_on(existing["database_id"]):
            raise messages.exclusive_access(st)
        if existing is not None and existing["is_system"]:
            raise messages.with_trailer(
                st, (3108, "To restore the master database, the server must be running in single-user mode.", 16, 1)
            )
        if existing is not None and not opts.replace:
            if existing["family_guid"] != h.family_guid:
                raise messages.with_trailer(
                    st,
                    (
                        3154,
                        f"The backup set holds a backup of a database other than the existing '{name}' database.",
                        16,
                        4,
                    ),
                )
            if existing["state"] == "ONLINE" and existing["recovery_model"] != "SIMPLE":
                raise messages.with_trailer(
                    st,
                    (
                        3159,
                        f'The tail of the log for the database "{name}" has not been backed up. Use BACKUP LOG WITH '
                        "NORECOVERY to backup the log if it contains work you do not want to lose. "
                        "Use the WITH REPLACE or "
                        "WITH STOPAT clause of the RESTORE statement to just overwrite the contents of the log.",
                        16,
                        1,
                    ),
                )
        # Where each file goes: WITH MOVE, else its original path.
        known = {f.logical_name.lower() for f in bset.files}
        for logical in opts.moves:
            if logical not in known:
                raise messages.with_trailer(
                    st,
                    (
                        3234,
                        f"Logical file '{logical}' is not part of database '{name}'. Use RESTORE FILELISTONLY to "
                        "list the logical file names.",
                        16,
                        1,
                    ),
                )
        targets = [(f, opts.moves.get(f.logical_name.lower(), f.physical_name)) for f in bset.files]
        problems: list[tuple[int, str, int, int]] = []
        for f, phys in targets:
            owner = self.catalog.file_owner(phys)
            if owner is not None and (existing is None or owner["database_id"] != existing["database_id"]):
                problems.append(
                    (
                        1834,
                        f"The file '{phys}' cannot be overwritten.  It is being used by database '{owner['name']}'.",
                        16,
                        4,
                    )
                )
                problems.append(
                    (
                        3156,
                        f"File '{f.logical_name}' cannot be restored to '{phys}'. Use WITH MOVE to "
                        "identify a valid location for the file.",
                        16,
                        4,
                    )
                )
            elif not self.hostfs.local_path(phys).parent.is_dir():
                problems.append(
                    (
                        5133,
                        f'Directory lookup for the file "{phys}" failed with the operating system error '
                        "3(The system cannot find the path specified.).",
                        16,
                        1,
                    )
                )
                problems.append(
                    (
                        3156,
                        f"File '{f.logical_name}' cannot be restored to '{phys}'. Use WITH MOVE to "
                        "identify a valid location for the file.",
                        16,
                        3,
                    )
                )
        if problems:
            problems.append(
                (
                    3119,
                    "Problems were identified while planning for the RESTORE statement. Previous "
                    "messages provide details.",
                    16,
                    1,
                )
            )
            raise messages.with_trailer(st, *problems)
        image = self.open_payload(bset, st)  # 33111 when the TDE certificate is missing
        db_id = self.catalog.next_database_id()
        if existing is not None:
            db_id = existing["database_id"]
            self._remove_db(existing, keep_paths=tuple(p for _, p in targets))
        files = [(f.file_id, 0 if f.type == "D" else 1, f.logical_name, phys) for f, phys in targets]
        model = bset.extra.get("recovery_model", "FULL")
        self._register_db(db_id, name, files, "RESTORING", model, h.family_guid, image=image)
        cols: dict[str, Any] = {
            "redo_start_lsn": h.last_lsn,
            "last_full_checkpoint_lsn": h.checkpoint_lsn,
            "restore_base_checkpoint_lsn": h.checkpoint_lsn,
            "log_chain_lsn": None,
        }
        if bset.tde:
            cols |= {
                "dek_wrapped": bytes.fromhex(bset.tde["wrapped_dek"]),
                "dek_thumbprint": bset.tde["thumbprint"],
                "dek_algorithm": "AES_256",
                "encryption_state": 3,
            }
        self.catalog.update_db(db_id, **cols)
        if opts.recovery:
            self._recover(self._db(name))
        self._record_restore(bset, path, name, "D", opts)
        pages = [(f, max(1, math.ceil(f.size / PAGE))) for f in bset.files]
        out = _stats_messages(opts.stats)
        out += [
            f"Processed {n} pages for database '{name}', file '{f.logical_name}' on file {bset.position}."
            for f, n in pages
        ]
        out.append(_done_message(st, sum(n for _, n in pages), t0))
        return out

    def restore_log(self, name: str, path: str, opts: RestoreOptions) -> list[str]:
        st = "RESTORE LOG"
        t0 = time.monotonic()
        row = self.catalog.db_row(name)
        if row is None:
            raise messages.with_trailer(
                st, (911, f"Database '{name}' does not exist. Make sure that the name is entered correctly.", 16, 1)
            )
        if self.sessions_on(row["database_id"]):
            raise messages.exclusive_access(st)
        if row["state"] != "RESTORING":
            raise messages.with_trailer(
                st,
                (
                    3117,
                    "The log or differential backup cannot be restored because no files are ready to rollforward.",
                    16,
                    1,
                ),
            )
        bset = self.media_set(path, opts.file, st)
        h = bset.header
        if h.backup_type != 2:
            raise messages.with_trailer(
                st,
                (
                    3135,
                    f"The backup set in file '{path}' was created by BACKUP DATABASE and cannot be used for this "
                    "restore operation.",
                    16,
                    2,
                ),
            )
        if h.family_guid != row["family_guid"]:
            raise messages.with_trailer(
                st,
                (
                    3154,
                    f"The backup set holds a backup of a database other than the existing '{name}' database.",
                    16,
                    4,
                ),
            )
        broken = self._interrupted_set(row["database_id"])
        if broken is not None and not (opts.restart and _same_set(broken, h)):
            # Only the interrupted backup set, restored again WITH RESTART, may follow (or a new sequence).
            raise messages.restore_interrupted(broken["file_name"], st)
        redo = int(row["redo_start_lsn"])
        if h.first_lsn > redo:
            raise messages.with_trailer(
                st,
                (
                    4305,
                    f"The log in this backup set begins at LSN {h.first_lsn}, which is too recent to apply to the "
                    f"database. An earlier log backup that includes LSN {redo} can be restored.",
                    16,
                    1,
                ),
            )
        if h.last_lsn <= redo:
            raise messages.with_trailer(
                st,
                (
                    4326,
                    f"The log in this backup set terminates at LSN {h.last_lsn}, which is too early to apply to the "
                    f"database. A more recent log backup that includes LSN {redo} can be restored.",
                    16,
                    1,
                ),
            )
        body = json.loads(self.open_payload(bset, st))
        records = [r for r in body["records"] if redo <= r[0] < h.last_lsn]
        if self._take_armed_interrupt(row, h):
            raise messages.connection_lost()  # stopped part-way: nothing of this log is visible
        conn = self.connect(row)
        try:
            conn.execute("BEGIN IMMEDIATE")
            userdb.replay(conn, records)
            userdb.set_next_lsn(conn, h.last_lsn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
        self.catalog.update_db(row["database_id"], redo_start_lsn=h.last_lsn)
        if broken is not None:
            self.catalog.run("DELETE FROM emulator_restore_interrupts WHERE database_id = ?", row["database_id"])
        if opts.recovery:
            self._recover(self._db(name))
        self._record_restore(bset, path, name, "L", opts)
        pages = max(1, math.ceil(len(json.dumps(records)) / PAGE)) if records else 0
        out = _stats_messages(opts.stats)
        logf = next((f.logical_name for f in bset.files if f.type == "L"), f"{name}_log")
        out.append(f"Processed {pages} pages for database '{name}', file '{logf}' on file {bset.position}.")
        out.append(_done_message(st, pages, t0))
        return out

    def recover_database(self, name: str) -> list[str]:
        """RESTORE DATABASE x WITH RECOVERY (no FROM): bring a RESTORING database online."""
        t0 = time.monotonic()
        row = self._db(name)
        if self.sessions_on(row["database_id"]):
            raise messages.exclusive_access("RESTORE DATABASE")
        broken = self._interrupted_set(row["database_id"])
        if broken is not None:
            raise messages.restore_interrupted(broken["file_name"], "RESTORE DATABASE")
        if row["state"] == "RESTORING":
            self._recover(row)
        return [_done_message("RESTORE DATABASE", 0, t0)]

    def _recover(self, row: sqlite3.Row) -> None:
        conn = self.connect(row)
        try:
            nxt = userdb.next_lsn(conn)
        finally:
            conn.close()
        chain = nxt if row["recovery_model"] != "SIMPLE" else None
        self.catalog.update_db(row["database_id"], state="ONLINE", redo_start_lsn=None, log_chain_lsn=chain)

    def _record_restore(self, bset: BackupSet, path: str, name: str, rtype: str, opts: RestoreOptions) -> None:
        bid = self._record_backup(bset, path)
        self.catalog.run(
            "INSERT INTO restorehistory (restore_date, destination_database_name, user_name, backup_set_id,"
            " restore_type,"
            " replace, recovery, restart) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            _iso(crypto.now()),
            name,
            "sa",
            bid,
            rtype,
            int(opts.replace),
            int(opts.recovery),
            int(opts.restart),
        )

    # -- EMULATOR ONLY: held sessions (3101) and interrupted restores (4319) ------------------------
    def open_session(self, database: str, login: str, host: str, program: str) -> int:
        """Hold a session on `database` (as another client's open connection would) until close_session."""
        with self.lock:
            row = self._db(database)
            sid = self._next_session_id
            self._next_session_id += 1
            self.held_sessions[sid] = HeldSession(sid, row["database_id"], login, host, program, _iso(crypto.now()))
            return sid

    def close_session(self, session_id: int) -> None:
        with self.lock:
            if self.held_sessions.pop(session_id, None) is None:
                raise sql_error(6106, f"Process ID {session_id} is not an active process ID.", 16, 2)

    def sessions_on(self, database_id: int) -> list[HeldSession]:
        return [s for s in self.held_sessions.values() if s.database_id == database_id]

    def interrupt_next_restore(self, database: str) -> None:
        """Make the next RESTORE LOG of `database` stop part-way, as if the server died under it."""
        with self.lock:
            row = self._db(database)
            self.catalog.run(
                "INSERT INTO emulator_restore_interrupts (database_id, armed) VALUES (?, 1) "
                "ON CONFLICT (database_id) DO UPDATE SET armed = 1",
                row["database_id"],
            )

    def _interrupted_set(self, database_id: int) -> sqlite3.Row | None:
        return self.catalog.one(
            "SELECT * FROM emulator_restore_interrupts WHERE database_id = ? AND first_lsn IS NOT NULL", database_id
        )

    def _take_armed_interrupt(self, row: sqlite3.Row, h: BackupHeader) -> bool:
        """Consume the switch; remember the backup set and the log file it was processing (named by 4319)."""
        armed = self.catalog.one(
            "SELECT 1 FROM emulator_restore_interrupts WHERE database_id = ? AND armed = 1", row["database_id"]
        )
        if armed is None:
            return False
        log = next((f for f in self.catalog.files_of(row["database_id"]) if f["type"] == 1), None)
        self.catalog.run(
            "UPDATE emulator_restore_interrupts SET armed = 0, family_guid = ?, first_lsn = ?, last_lsn = ?,"
            " file_name = ? WHERE database_id = ?",
            h.family_guid,
            h.first_lsn,
            h.last_lsn,
            log["name"] if log is not None else f"{row['name']}_log",
            row["database_id"],
        )
        return True

    # -- certificates and TDE ----------------------------------------------------------------------
    def has_master_key(self) -> bool:
        return self.catalog.one("SELECT 1 FROM master_key") is not None

    def create_master_key(self) -> None:
        if self.has_master_key():
            raise sql_error(
                15578, "There is already a master key in the database. Please drop it before performing this statement."
            )
        self.catalog.run("INSERT INTO master_key VALUES (1, ?)", _iso(crypto.now()))

    def _store_certificate(self, name: str, der: bytes, key: Any) -> None:
        thumb = crypto.thumbprint(der)
        if self.catalog.one("SELECT 1 FROM certificates WHERE name = ? OR thumbprint = ?", name, thumb):
            raise sql_error(
                15232,
                f"A certificate with name '{name}' already exists or this certificate already has been added to the "
                "database.",
            )
        subject, start, expiry = crypto.cert_details(der)
        self.catalog.run(
            "INSERT INTO certificates (certificate_id, name, subject, thumbprint, start_date, expiry_date, cert_der,"
            " key_under_smk) VALUES ((SELECT COALESCE(MAX(certificate_id), 255) + 1 FROM certificates), ?,?,?,?,?,?,?)",
            name,
            subject,
            thumb,
            _iso(start),
            _iso(expiry),
            der,
            crypto.protect_private_key(key, self._smk) if key is not None else None,
        )

    def import_certificate(self, name: str, cer: bytes, pvk: bytes | None, password: str | None) -> None:
        if not self.has_master_key():
            raise _no_master_key()
        try:
            crypto.cert_details(cer)
        except ValueError:
            raise _bad_cert_file() from None
        key = None
        if pvk is not None:
            try:
                key = crypto.unprotect_private_key(pvk, (password or "").encode())
            except (ValueError, TypeError):
                raise sql_error(15465, "The private key password is invalid.") from None
            if not crypto.key_matches_cert(key, cer):
                raise sql_error(
                    15474, "Invalid private key. The private key does not match the public key of the certificate."
                )
        self._store_certificate(name, cer, key)

    def create_certificate_sql(self, name: str, subject: str, expiry: datetime | None, start: datetime | None) -> None:
        if not self.has_master_key():
            raise _no_master_key()
        begin = start or crypto.now()
        der, key = crypto.new_certificate(subject, begin, expiry or crypto.default_expiry(begin))
        self._store_certificate(name, der, key)

    def drop_certificate(self, name: str) -> None:
        row = self.catalog.one("SELECT * FROM certificates WHERE name = ?", name)
        if row is None:
            raise messages.cert_missing(name)
        user = self.catalog.one("SELECT name FROM databases WHERE dek_thumbprint = ?", row["thumbprint"])
        if user is not None:
            raise sql_error(
                3716,
                f"The certificate '{name}' cannot be dropped because it is bound to one or more database "
                "encryption key.",
            )
        self.catalog.run("DELETE FROM certificates WHERE certificate_id = ?", row["certificate_id"])

    def write_certificate_files(self, name: str, cer_path: str, pvk_path: str | None, password: str | None) -> None:
        row = self.catalog.one("SELECT * FROM certificates WHERE name = ?", name)
        if row is None:
            raise messages.cert_missing(name)
        outputs: list[tuple[str, bytes]] = []
        if pvk_path is not None:
            cer, pvk = self.export_certificate(name, password or "")
            outputs = [(cer_path, cer), (pvk_path, pvk)]
        else:
            outputs = [(cer_path, bytes(row["cert_der"]))]
        for path, _ in outputs:
            local = self.hostfs.local_path(path)
            if local.exists() or not local.parent.is_dir():
                raise sql_error(
                    15240,
                    f"Cannot write into file '{path}'. Verify that you have write permissions, that the "
                    "file path is valid, and that the file does not already exist.",
                )
        for path, data in outputs:
            local = self.hostfs.local_path(path)
            tmp = local.with_name(local.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(local)

    def create_dek(self, db_name: str, algorithm: str, cert_name: str) -> None:
        row = self._db(db_name)
        if row["is_system"]:
            raise sql_error(
                33102,
                f"Cannot encrypt a system database. Database encryption operations cannot be performed "
                f"for '{db_name}' database.",
            )
        if row["dek_wrapped"] is not None:
            raise sql_error(33103, "A database encryption key already exists for this database.")
        cert = self.catalog.one("SELECT * FROM certificates WHERE name = ?", cert_name)
        if cert is None:
            raise messages.cert_missing(cert_name)
        wrapped = crypto.wrap_dek(crypto.new_dek(), bytes(cert["cert_der"]))
        self.catalog.update_db(
            row["database_id"],
            dek_wrapped=wrapped,
            dek_thumbprint=cert["thumbprint"],
            dek_algorithm=algorithm,
            encryption_state=1,
        )

    def set_encryption(self, db_name: str, on: bool) -> None:
        row = self._db(db_name)
        self._require_online(row)
        if row["dek_wrapped"] is None:
            raise sql_error(
                33107,
                "Cannot enable database encryption because no database encryption key is configured "
                "for the database. Create a database encryption key and retry the operation.",
            )
        self.catalog.update_db(row["database_id"], encryption_state=3 if on else 1)

    def drop_dek(self, db_name: str) -> None:
        row = self._db(db_name)
        if row["encryption_state"] == 3:
            raise sql_error(
                33105,
                "Cannot drop the database encryption key because it is currently in use. Database "
                "encryption needs to be turned off to be able to drop the database encryption key.",
            )
        self.catalog.update_db(
            row["database_id"], dek_wrapped=None, dek_thumbprint=None, dek_algorithm=None, encryption_state=0
        )


def _same_set(broken: sqlite3.Row, h: BackupHeader) -> bool:
    # The emulator's log backups have no BackupSetGUID; family and LSN range identify one.
    return (broken["family_guid"], broken["first_lsn"], broken["last_lsn"]) == (h.family_guid, h.first_lsn, h.last_lsn)


def _proc_open_session(inst: Instance, args: ProcArgs) -> SqlResult:
    database = args.get("database_name")
    if not database:
        raise messages.missing_parameter("open_session", "database_name")
    sid = inst.open_session(
        str(database),
        str(args.get("login_name") or args.login or "sa"),
        str(args.get("host_name") or "EMULATOR-CLIENT"),
        str(args.get("program_name") or "dbshift emulator session"),
    )
    return SqlResult(result_sets=[ResultSet(["session_id"], [[sid]])])


def _proc_close_session(inst: Instance, args: ProcArgs) -> SqlResult:
    sid = args.get("session_id")
    if sid is None:
        raise messages.missing_parameter("close_session", "session_id")
    inst.close_session(int(sid))
    return SqlResult()


def _proc_interrupt_next_restore(inst: Instance, args: ProcArgs) -> SqlResult:
    database = args.get("database_name")
    if not database:
        raise messages.missing_parameter("interrupt_next_restore", "database_name")
    inst.interrupt_next_restore(str(database))
    return SqlResult()


EMULATOR_PROCEDURES: dict[str, ProcFn] = {
    "master.emulator.generate_netperf_sample": sample_gen.generate_netperf_sample,
    "master.emulator.open_session": _proc_open_session,
    "master.emulator.close_session": _proc_close_session,
    "master.emulator.interrupt_next_restore": _proc_interrupt_next_restore,
}


def _no_master_key() -> SqlError:
    return sql_error(
        15581,
        "Please create a master key in the database or open the master key in the session before "
        "performing this operation.",
    )


def _bad_cert_file() -> SqlError:
    return sql_error(
        15208,
        "The certificate, asymmetric key, or private key file is not valid or does not exist; or you "
        "do not have permissions for it.",
    )


def _cert_info(row: sqlite3.Row) -> CertificateInfo:
    return CertificateInfo(
        name=row["name"],
        thumbprint=row["thumbprint"],
        subject=row["subject"],
        expiry_date=datetime.fromisoformat(row["expiry_date"]),
        start_date=datetime.fromisoformat(row["start_date"]),
    )


def _three_part(name: str) -> str:
    parts = [p.strip("[]").lower() for p in name.split(".")]
    if len(parts) != 3:
        raise ValueError(f"procedure/function name {name!r} must be 3-part, e.g. msdb.dbo.rds_backup_database")
    return ".".join(parts)


def _write_log_placeholder(path: Path, data_file: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"dbshift SQL Server emulator: the log records of this database live in {data_file}\n")
    tmp.replace(path)


def _stats_messages(stats: int | None) -> list[str]:
    if not stats:
        return []
    return [f"{p} percent processed." for p in range(stats, 101, stats)]


def _done_message(statement: str, pages: int, t0: float) -> str:
    secs = max(time.monotonic() - t0, 0.001)
    rate = pages * PAGE / 1024 / 1024 / secs
    return f"{statement} successfully processed {pages} pages in {secs:.3f} seconds ({rate:.3f} MB/sec)."
