"""System catalog views and msdb history tables of the emulator, built from the instance catalog.

Each view is a function returning (columns, rows); the query engine copies the rows it needs into
TEMP tables named like the view ("sys.databases", "msdb.dbo.backupset") right before a SELECT.
Column names and codes follow SQL Server's documentation; datetimes are ISO 8601 strings and
varbinary values (thumbprints) "0x..." hex strings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbshift.estate.sqlserver.instance import Instance

View = tuple[list[str], list[list[Any]]]

_STATE = {"ONLINE": 0, "RESTORING": 1}
_MODEL = {"FULL": 1, "BULK_LOGGED": 2, "SIMPLE": 3}


def databases(inst: Instance, current: str) -> View:
    cols = [
        "name",
        "database_id",
        "source_database_id",
        "owner_sid",
        "create_date",
        "compatibility_level",
        "collation_name",
        "user_access",
        "user_access_desc",
        "is_read_only",
        "state",
        "state_desc",
        "recovery_model",
        "recovery_model_desc",
        "is_encrypted",
        "log_reuse_wait_desc",
    ]
    rows = [
        [
            r["name"],
            r["database_id"],
            None,
            "0x01",
            r["create_date"],
            150,
            "SQL_Latin1_General_CP1_CI_AS",
            0,
            "MULTI_USER",
            0,
            _STATE.get(r["state"], 0),
            r["state"],
            _MODEL[r["recovery_model"]],
            r["recovery_model"],
            1 if r["encryption_state"] == 3 else 0,
            "NOTHING",
        ]
        for r in inst.catalog.all("SELECT * FROM databases ORDER BY database_id")
    ]
    return cols, rows


def master_files(inst: Instance, current: str) -> View:
    cols = [
        "database_id",
        "file_id",
        "file_guid",
        "type",
        "type_desc",
        "data_space_id",
        "name",
        "physical_name",
        "state",
        "state_desc",
        "size",
        "max_size",
        "growth",
        "is_percent_growth",
        "redo_start_lsn",
        "redo_target_lsn",
        "create_lsn",
        "differential_base_lsn",
    ]
    rows = []
    for r in inst.catalog.all(
        "SELECT f.*, d.state AS dstate, d.redo_start_lsn FROM files f JOIN databases d USING (database_id) "
        "ORDER BY f.database_id, f.file_id"
    ):
        local = inst.hostfs.local_path(r["physical_name"])
        size = (local.stat().st_size if local.exists() else 0) // 8192 + 1
        restoring = r["dstate"] == "RESTORING"
        rows.append(
            [
                r["database_id"],
                r["file_id"],
                None,
                r["type"],
                "ROWS" if r["type"] == 0 else "LOG",
                1 if r["type"] == 0 else 0,
                r["name"],
                r["physical_name"],
                _STATE.get(r["dstate"], 0),
                r["dstate"],
                size,
                -1,
                8192,
                0,
                r["redo_start_lsn"] if restoring else None,
                None,
                None,
                None,
            ]
        )
    return cols, rows


def database_files(inst: Instance, current: str) -> View:
    cols, rows = master_files(inst, current)
    row = inst.catalog.db_row(current)
    db_id = row["database_id"] if row else -1
    return cols[1:], [r[1:] for r in rows if r[0] == db_id]


def certificates(inst: Instance, current: str) -> View:
    cols = [
        "name",
        "certificate_id",
        "principal_id",
        "pvt_key_encryption_type",
        "pvt_key_encryption_type_desc",
        "is_active_for_begin_dialog",
        "issuer_name",
        "cert_serial_number",
        "sid",
        "string_sid",
        "subject",
        "expiry_date",
        "start_date",
        "thumbprint",
        "attested_by",
        "pvt_key_last_backup_date",
        "key_length",
    ]
    if current.lower() != "master":
        return cols, []
    rows = [
        [
            r["name"],
            r["certificate_id"],
            1,
            "MK" if r["key_under_smk"] else "NA",
            "ENCRYPTED_BY_MASTER_KEY" if r["key_under_smk"] else "NO_PRIVATE_KEY",
            1,
            r["subject"],
            None,
            None,
            None,
            r["subject"],
            r["expiry_date"],
            r["start_date"],
            r["thumbprint"],
            None,
            None,
            2048,
        ]
        for r in inst.catalog.all("SELECT * FROM certificates ORDER BY certificate_id")
    ]
    return cols, rows


def symmetric_keys(inst: Instance, current: str) -> View:
    cols = ["name", "principal_id", "symmetric_key_id", "key_length", "key_algorithm", "algorithm_desc", "create_date"]
    mk = inst.catalog.one("SELECT * FROM master_key")
    rows = []
    if current.lower() == "master" and mk is not None:
        rows.append(["##MS_DatabaseMasterKey##", 1, 101, 256, "A3", "AES_256", mk["create_date"]])
    return cols, rows


def dm_database_encryption_keys(inst: Instance, current: str) -> View:
    cols = [
        "database_id",
        "encryption_state",
        "encryption_state_desc",
        "create_date",
        "encryptor_thumbprint",
        "encryptor_type",
        "key_algorithm",
        "key_length",
        "percent_complete",
    ]
    rows = []
    encrypted_any = False
    for r in inst.catalog.all("SELECT * FROM databases WHERE dek_wrapped IS NOT NULL ORDER BY database_id"):
        alg = r["dek_algorithm"] or "AES_256"
        state = r["encryption_state"]
        encrypted_any |= state == 3
        rows.append(
            [
                r["database_id"],
                state,
                "ENCRYPTED" if state == 3 else "UNENCRYPTED",
                r["create_date"],
                r["dek_thumbprint"],
                "CERTIFICATE",
                "AES",
                int(alg.split("_")[-1]),
                0,
            ]
        )
    if encrypted_any:  # SQL Server encrypts tempdb as soon as any database uses TDE
        rows.insert(0, [2, 3, "ENCRYPTED", None, "0x", "ASYMMETRIC KEY", "AES", 256, 0])
    return cols, rows


def dm_exec_sessions(inst: Instance, current: str) -> View:
    """Server-scoped: the sessions held open with master.emulator.open_session (each WinRM call's own
    connection ends with its script, so it is not listed)."""
    cols = [
        "session_id",
        "login_time",
        "host_name",
        "program_name",
        "host_process_id",
        "client_interface_name",
        "login_name",
        "nt_domain",
        "nt_user_name",
        "status",
        "database_id",
        "original_login_name",
        "is_user_process",
        "open_transaction_count",
    ]
    rows = [
        [
            s.session_id,
            s.login_time,
            s.host_name,
            s.program_name,
            None,
            ".Net SqlClient Data Provider",
            s.login_name,
            None,
            None,
            "sleeping",
            s.database_id,
            s.login_name,
            1,
            0,
        ]
        for s in sorted(inst.held_sessions.values(), key=lambda s: s.session_id)
    ]
    return cols, rows


def backupset(inst: Instance, current: str) -> View:
    cols = [
        "backup_set_id",
        "backup_set_uuid",
        "media_set_id",
        "position",
        "name",
        "database_name",
        "server_name",
        "machine_name",
        "type",
        "first_lsn",
        "last_lsn",
        "checkpoint_lsn",
        "database_backup_lsn",
        "backup_start_date",
        "backup_finish_date",
        "family_guid",
        "backup_size",
        "compressed_backup_size",
        "recovery_model",
        "is_copy_only",
        "has_backup_checksums",
    ]
    rows = [
        [
            r["backup_set_id"],
            None,
            r["media_set_id"],
            r["position"],
            None,
            r["database_name"],
            r["server_name"],
            r["server_name"],
            r["type"],
            r["first_lsn"],
            r["last_lsn"],
            r["checkpoint_lsn"],
            r["database_backup_lsn"],
            r["backup_start_date"],
            r["backup_finish_date"],
            r["family_guid"],
            r["backup_size"],
            r["compressed_backup_size"],
            r["recovery_model"],
            r["is_copy_only"],
            0,
        ]
        for r in inst.catalog.all("SELECT * FROM backupset ORDER BY backup_set_id")
    ]
    return cols, rows


def backupmediafamily(inst: Instance, current: str) -> View:
    cols = [
        "media_set_id",
        "family_sequence_number",
        "media_family_id",
        "logical_device_name",
        "physical_device_name",
        "device_type",
    ]
    rows = [
        [r["media_set_id"], r["family_sequence_number"], None, None, r["physical_device_name"], r["device_type"]]
        for r in inst.catalog.all("SELECT * FROM backupmediafamily ORDER BY media_set_id")
    ]
    return cols, rows


def restorehistory(inst: Instance, current: str) -> View:
    cols = [
        "restore_history_id",
        "restore_date",
        "destination_database_name",
        "user_name",
        "backup_set_id",
        "restore_type",
        "replace",
        "recovery",
        "restart",
        "stop_at",
        "device_count",
        "stop_at_mark_name",
        "stop_before",
    ]
    rows = [
        [
            r["restore_history_id"],
            r["restore_date"],
            r["destination_database_name"],
            r["user_name"],
            r["backup_set_id"],
            r["restore_type"],
            r["replace"],
            r["recovery"],
            r["restart"],
            None,
            1,
            None,
            0,
        ]
        for r in inst.catalog.all("SELECT * FROM restorehistory ORDER BY restore_history_id")
    ]
    return cols, rows


SYS_VIEWS: dict[str, Callable[[Instance, str], View]] = {
    "databases": databases,
    "master_files": master_files,
    "database_files": database_files,
    "certificates": certificates,
    "symmetric_keys": symmetric_keys,
    "dm_database_encryption_keys": dm_database_encryption_keys,
    "dm_exec_sessions": dm_exec_sessions,
}
MSDB_TABLES: dict[str, Callable[[Instance, str], View]] = {
    "backupset": backupset,
    "backupmediafamily": backupmediafamily,
    "restorehistory": restorehistory,
}
