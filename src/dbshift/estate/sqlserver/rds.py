"""The Amazon RDS for SQL Server stored procedures, EMULATED on dbshift's SQL Server emulator.

SQL Server and RDS cannot run here. For an instance of kind "rds" the emulator calls install(),
which registers what the runbooks use, with RDS's parameter names, result columns, task
lifecycle and error texts (RDS User Guide: native backup and restore, TDE certificates, access to
transaction log backups), and writes the objects RDS writes into the emulated S3 (moto):

  msdb.dbo.rds_backup_database           native FULL backup to S3 (optionally KMS-encrypted)
  msdb.dbo.rds_restore_database          native FULL restore from S3 under a new name (rds_restore.py)
  msdb.dbo.rds_task_status               task rows (CREATED -> IN_PROGRESS -> SUCCESS | ERROR | CANCELLED)
  msdb.dbo.rds_cancel_task               cancel a queued or running task
  msdb.dbo.rds_backup_tde_certificate    .cer + .pvk to S3; the .pvk metadata rds-tde-pwd holds the
                                         KMS ciphertext of the private-key password's data key
  msdb.dbo.rds_tlog_copy_setup           set the target of log-backup copies
  rdsadmin.dbo.rds_show_configuration    instance settings (name, value, description)
  rdsadmin.dbo.rds_set_configuration     change one setting
  msdb.dbo.rds_fn_list_tlog_backup_metadata('db')   the automated log backups RDS keeps
  msdb.dbo.rds_tlog_backup_copy_to_S3    copy a range of them to S3, envelope-encrypted under KMS
  rdsadmin.emulator.take_tlog_backup     EMULATOR ONLY: take the automated log backup now

A background timer takes a log backup of every ONLINE FULL-recovery user database every
RdsConfig.tlog_backup_interval_seconds, as RDS does every five minutes.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from dbshift.aws import AwsConfig, client
from dbshift.errors import ConfigError
from dbshift.estate.sqlserver import rds_crypto, rds_restore, rds_tlog
from dbshift.estate.sqlserver.instance import RestoreOptions
from dbshift.estate.sqlserver.rds_crypto import S3Location
from dbshift.estate.sqlserver.rds_restore import RestoreRequest
from dbshift.estate.sqlserver.rds_store import RdsStore, Task, TlogBackup, utcnow
from dbshift.estate.sqlserver.rds_tasks import TaskContext, TaskFailed, TaskRunner
from dbshift.tsql.result import ResultSet, SqlError, SqlErrorDetail, SqlResult

if TYPE_CHECKING:
    from dbshift.estate.sqlserver.instance import Instance
    from dbshift.estate.sqlserver.model import ProcArgs

RAISERROR_NUMBER = 50000  # RDS procedures report their own errors with RAISERROR (Msg 50000)
TARGET_S3_ARN = "target_s3_arn_for_tlog_copy"
S3_COMPRESSION = "S3 backup compression"
CONFIG_DESCRIPTIONS = {
    S3_COMPRESSION: "Compress native backup files written to Amazon S3 (rds_backup_database).",
    TARGET_S3_ARN: "Amazon S3 ARN that rds_tlog_backup_copy_to_S3 copies transaction log backups to.",
}
CONFIG_DEFAULTS = {S3_COMPRESSION: "false"}

STATUS_COLUMNS = [
    "task_id",
    "task_type",
    "database_name",
    "% complete",
    "duration(mins)",
    "lifecycle",
    "task_info",
    "last_updated",
    "created_at",
    "S3_object_arn",
    "overwrite_s3_backup_file",
    "KMS_master_key_arn",
    "filepath",
    "overwrite_file",
]

TASK_BACKUP_DB = "BACKUP_DB"
TASK_BACKUP_TDE = "BACKUP_TDE_CERTIFICATE"  # not named in RDS's documentation; the emulator's choice
TASK_COPY_TLOG = "COPY_TLOG_BACKUPS_TO_S3"  # idem
MSG_OVERWRITE = "Please reissue task with correct type and overwrite property"
_CERT_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789@$#_")


TDE_CERTIFICATE_PREFIX = "RDSTDECertificate"


def install(instance: Instance) -> None:
    """Register the RDS procedures on `instance`, resume unfinished tasks and start the log-backup timer."""
    _ensure_tde_certificate(instance)
    service = RdsService(instance)
    service.register()
    service.start()
    # SqlServerEmulator.close() calls instance.stop_background() before closing the instance.
    instance.stop_background = service.close  # type: ignore[attr-defined]


def _ensure_tde_certificate(instance: Instance) -> None:
    """The certificate RDS creates when the option group has TRANSPARENT_DATA_ENCRYPTION.

    Users cannot create certificates in master on RDS; RDS makes one named RDSTDECertificate<time>.
    The emulated instance models an option group with that option, so the certificate always exists.
    """
    names = [r[0] for r in instance.execute("SELECT name FROM sys.certificates", "master").result_sets[0].rows]
    if not any(n.startswith(TDE_CERTIFICATE_PREFIX) for n in names):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        instance.create_certificate(f"{TDE_CERTIFICATE_PREFIX}{stamp}", "RDS TDE certificate")


def _error(proc: str, message: str, number: int = RAISERROR_NUMBER) -> SqlError:
    return SqlError([SqlErrorDetail(number, message, 16, 1, procedure=proc)])


def _text(value: Any) -> str | None:
    """A T-SQL string argument; NULL and blank become None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _bit(value: Any, proc: str, param: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    text = str(value).strip().lower()
    if text in ("0", "1", "true", "false"):
        return 1 if text in ("1", "true") else 0
    raise _error(proc, f"The value {value!r} for the input parameter @{param} must be 0 or 1.")


def _int(value: Any, proc: str, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _error(proc, f"The value {value!r} for the input parameter @{param} must be an integer.") from None


def _aws_code(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return str(err.get("Code", "")), str(err.get("Message", ""))
    return type(exc).__name__, str(exc)


class RdsService:
    """The RDS side of one emulated instance: its store, task runner, AWS clients and log-backup timer."""

    def __init__(self, instance: Instance) -> None:
        cfg = instance.config.rds
        if cfg is None:
            raise ConfigError(
                f"instance {instance.config.name!r} is of kind 'rds' but has no RdsConfig; "
                "add `rds` to its InstanceConfig"
            )
        self.instance = instance
        self.cfg = cfg
        self.store = RdsStore(instance.state_dir / "rds")
        self.runner = TaskRunner(self.store, cfg.task_step_seconds)
        self._aws = AwsConfig(region=cfg.region, endpoint_url=cfg.aws_endpoint_url)
        self._clients: dict[tuple[str, str], Any] = {}
        self._clients_lock = threading.Lock()
        self._submit_lock = threading.Lock()  # validation + task creation of copy and restore tasks is atomic
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def register(self) -> None:
        inst = self.instance
        procs: dict[str, Callable[[Instance, ProcArgs], SqlResult]] = {
            "msdb.dbo.rds_backup_database": self.rds_backup_database,
            "msdb.dbo.rds_restore_database": self.rds_restore_database,
            "msdb.dbo.rds_task_status": self.rds_task_status,
            "msdb.dbo.rds_cancel_task": self.rds_cancel_task,
            "msdb.dbo.rds_backup_tde_certificate": self.rds_backup_tde_certificate,
            "msdb.dbo.rds_tlog_copy_setup": self.rds_tlog_copy_setup,
            "msdb.dbo.rds_tlog_backup_copy_to_s3": self.rds_tlog_backup_copy_to_s3,
            "rdsadmin.dbo.rds_show_configuration": self.rds_show_configuration,
            "rdsadmin.dbo.rds_set_configuration": self.rds_set_configuration,
            "rdsadmin.emulator.take_tlog_backup": self.emulator_take_tlog_backup,
        }
        for name, fn in procs.items():
            inst.register_procedure(name, fn)
        inst.register_table_function("msdb.dbo.rds_fn_list_tlog_backup_metadata", self.rds_fn_list_tlog_backup_metadata)

    def start(self) -> None:
        # RDS restarts unfinished tasks from the beginning after a reboot; so does the emulator.
        for task in self.store.tasks():
            if task.active:
                work = self._work_for(task)
                if work is not None:
                    self.runner.submit(task.task_id, work)
        self._timer = threading.Thread(target=self._tlog_timer, name="rds-tlog-backups", daemon=True)
        self._timer.start()

    def close(self) -> None:
        self._stop.set()
        self.runner.close()
        if self._timer is not None:
            self._timer.join(5.0)

    def _client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client in the instance's Region, or in `region` (a KMS key's own Region)."""
        region = region or self.cfg.region
        with self._clients_lock:
            if (service, region) not in self._clients:
                aws = self._aws if region == self.cfg.region else AwsConfig(region, self.cfg.aws_endpoint_url)
                self._clients[(service, region)] = client(service, aws)
            return self._clients[(service, region)]

    # ------------------------------------------------------------------ task rows
    def _status_row(self, task: Task) -> list[Any]:
        created = datetime.fromisoformat(task.created_at)
        until = utcnow() if task.active else datetime.fromisoformat(task.last_updated)
        return [
            task.task_id,
            task.task_type,
            task.database_name,
            task.percent_complete,
            int((until - created).total_seconds() // 60),
            task.lifecycle,
            task.task_info,
            task.last_updated,
            task.created_at,
            task.s3_object_arn,
            task.overwrite_s3_backup_file,
            task.kms_master_key_arn,
            task.filepath,
            task.overwrite_file,
        ]

    def _status(self, tasks: list[Task]) -> SqlResult:
        return SqlResult(result_sets=[ResultSet(list(STATUS_COLUMNS), [self._status_row(t) for t in tasks])])

    def rds_task_status(self, instance: Instance, args: ProcArgs) -> SqlResult:
        db_name = _text(args.get("db_name", args.positional[0] if args.positional else None))
        task_id = args.get("task_id", args.positional[1] if len(args.positional) > 1 else None)
        tasks = self.store.tasks()
        if db_name is not None:
            tasks = [t for t in tasks if (t.database_name or "").lower() == db_name.lower()]
        if task_id is not None:
            wanted = _int(task_id, "rds_task_status", "task_id")
            tasks = [t for t in tasks if t.task_id == wanted]
        return self._status(tasks)

    def rds_cancel_task(self, instance: Instance, args: ProcArgs) -> SqlResult:
        proc = "rds_cancel_task"
        raw = args.get("task_id", args.positional[0] if args.positional else None)
        if raw is None:
            raise _error(proc, "The input parameter @task_id can't be empty or null.")
        task = self.store.task(_int(raw, proc, "task_id"))
        if task is None:
            raise _error(proc, f"Task {raw} does not exist. Call rds_task_status to list the task IDs.")
        if task.task_type == TASK_BACKUP_TDE:
            raise _error(proc, "Canceling TDE certificate backup and restore tasks isn't supported.")
        if task.lifecycle not in ("CREATED", "IN_PROGRESS"):
            raise _error(proc, f"Task {task.task_id} can't be cancelled: its lifecycle is {task.lifecycle}.")
        task = self.store.update_task(task.task_id, lifecycle="CANCEL_REQUESTED", info_line="Cancel requested.")
        return self._status([task])

    def _new_task(self, task_type: str, database_name: str | None, work_params: dict[str, Any], **columns: Any) -> Task:
        task = self.store.new_task(task_type, database_name, params=work_params, **columns)
        work = self._work_for(task)
        assert work is not None
        self.runner.submit(task.task_id, work)
        return task

    def _work_for(self, task: Task) -> Callable[[TaskContext], str] | None:
        p = task.params
        if task.task_type == TASK_BACKUP_DB:
            return lambda ctx: self._backup_database_work(ctx, p)
        if task.task_type == TASK_BACKUP_TDE:
            return lambda ctx: self._backup_tde_work(ctx, p)
        if task.task_type == TASK_COPY_TLOG:
            return lambda ctx: self._copy_tlog_work(ctx, p)
        if task.task_type in rds_restore.RESTORE_TASK_TYPES:
            return lambda ctx: self._restore_database_work(ctx, RestoreRequest.from_json(p))
        return None

    # ------------------------------------------------------------------ S3 / KMS helpers
    def _exists(self, loc: S3Location) -> bool:
        try:
            self._client("s3").head_object(Bucket=loc.bucket, Key=loc.key)
            return True
        except ClientError as exc:
            code, _ = _aws_code(exc)
            if code in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def _native_failure(self, exc: Exception, loc: S3Location | None, kms_arn: str | None) -> TaskFailed:
        """An AWS failure as RDS words it in task_info for native backup tasks."""
        code, message = _aws_code(exc)
        if code == "NoSuchBucket":
            return TaskFailed(f"The specified bucket does not exist ({loc.bucket if loc else ''}).")
        if code in ("AccessDenied", "403", "AllAccessDisabled"):
            return TaskFailed(f"Access Denied ({loc.arn if loc else ''}): {message}")
        if code == "NotFoundException" and kms_arn:
            return TaskFailed(f"Key {kms_arn} does not exist")
        if code in (
            "AccessDeniedException",
            "DisabledException",
            "KMSInvalidStateException",
            "InvalidKeyUsageException",
        ):
            return TaskFailed(f"{message} (KMS {code}, key {kms_arn})")
        return TaskFailed(f"{code}: {message}")

    def _data_key(self, kms_arn: str, context: dict[str, str] | None) -> tuple[bytes, bytes]:
        """(plaintext, ciphertext) of a fresh AES-256 data key under `kms_arn`."""
        kwargs: dict[str, Any] = {"KeyId": kms_arn, "KeySpec": "AES_256"}
        if context:
            kwargs["EncryptionContext"] = context
        out = self._client("kms").generate_data_key(**kwargs)
        return out["Plaintext"], out["CiphertextBlob"]

    # ------------------------------------------------------------------ native backup
    def rds_backup_database(self, instance: Instance, args: ProcArgs) -> SqlResult:
        proc = "rds_backup_database"
        db_name = _text(args.get("source_db_name"))
        arn = _text(args.get("s3_arn_to_backup_to"))
        kms_arn = _text(args.get("kms_master_key_arn"))
        overwrite = _bit(args.get("overwrite_s3_backup_file"), proc, "overwrite_s3_backup_file")
        backup_type = (_text(args.get("type")) or "FULL").upper()
        files = args.get("number_of_files")
        if db_name is None:
            raise _error(proc, "The input parameter @source_db_name can't be empty or null.")
        if arn is None:
            raise _error(proc, "S3 ARN prefix cannot be empty")
        try:
            loc = S3Location.parse(arn)
        except ValueError as exc:
            raise _error(proc, str(exc)) from None
        if backup_type not in ("FULL", "DIFFERENTIAL"):
            raise _error(proc, f"Invalid @type '{backup_type}'. Valid types are FULL and DIFFERENTIAL.")
        if backup_type == "DIFFERENTIAL":
            raise _error(proc, "The dbshift RDS emulator supports @type='FULL' only; take a FULL backup.")
        if files is not None and _int(files, proc, "number_of_files") != 1:
            if not 1 <= int(files) <= 10:
                raise _error(proc, "The @number_of_files parameter must be between 1 and 10.")
            raise _error(proc, "The dbshift RDS emulator supports @number_of_files=1 only.")
        db = instance.database(db_name)  # SqlError 911 when it does not exist
        task = self._new_task(
            TASK_BACKUP_DB,
            db.name,
            {"db": db.name, "arn": loc.arn, "kms": kms_arn, "overwrite": overwrite},
            s3_object_arn=loc.arn,
            overwrite_s3_backup_file=overwrite,
            kms_master_key_arn=kms_arn,
        )
        return self._status([task])

    def _backup_database_work(self, ctx: TaskContext, p: dict[str, Any]) -> str:
        loc = S3Location.parse(p["arn"])
        kms_arn: str | None = p["kms"]
        try:
            if not p["overwrite"] and self._exists(loc):
                raise TaskFailed(f"{MSG_OVERWRITE}. The file {loc.arn} already exists.")
            with self.instance.lock:
                # Recorded in msdb.dbo.backupset under the S3 ARN, as RDS native backups are.
                data, _header = self.instance.backup_database_to_bytes(p["db"], loc.arn)
            ctx.progress(50, f"{loc.key.rsplit('/', 1)[-1]}: Completed processing 100.00% of S3 chunks.")
            body, metadata = data, {}
            if kms_arn:
                key, wrapped = self._data_key(kms_arn, rds_crypto.native_backup_matdesc(kms_arn))
                body, iv = rds_crypto.aes_cbc_encrypt(data, key)
                del key
                metadata = rds_crypto.native_backup_metadata(wrapped, iv, kms_arn, len(data))
            ctx.check_cancel()
            self._client("s3").put_object(Bucket=loc.bucket, Key=loc.key, Body=body, Metadata=metadata)
        except (ClientError, BotoCoreError) as exc:
            raise self._native_failure(exc, loc, kms_arn) from None
        except SqlError as exc:
            raise TaskFailed(str(exc.errors[0].message)) from None
        return "Write on S3 complete."

    # ------------------------------------------------------------------ native restore
    def rds_restore_database(self, instance: Instance, args: ProcArgs) -> SqlResult:
        proc = "rds_restore_database"
        db_name = _text(args.get("restore_db_name"))
        arn = _text(args.get("s3_arn_to_restore_from"))
        kms_arn = _text(args.get("kms_master_key_arn"))
        restore_type = (_text(args.get("type")) or "FULL").upper()
        norecovery = _bit(args.get("with_norecovery"), proc, "with_norecovery")
        keep_cdc = _bit(args.get("keep_cdc"), proc, "keep_cdc")
        if db_name is None:
            raise _error(proc, "The input parameter @restore_db_name can't be empty or null.")
        if arn is None:
            raise _error(proc, "S3 ARN prefix cannot be empty")
        try:
            loc = S3Location.parse(arn)
        except ValueError as exc:
            raise _error(proc, str(exc)) from None
        if "*" in loc.key:
            raise _error(proc, "The dbshift RDS emulator restores single-file backups only; name the .bak file.")
        if restore_type not in ("FULL", "DIFFERENTIAL"):
            raise _error(proc, f"Invalid @type '{restore_type}'. Valid types are FULL and DIFFERENTIAL.")
        if restore_type == "DIFFERENTIAL":
            raise _error(proc, "The dbshift RDS emulator supports @type='FULL' only; restore a FULL backup.")
        if norecovery and keep_cdc:
            raise _error(proc, "Full restores with both NORECOVERY and KEEP_CDC aren't supported.")
        for param in ("data_file_volume", "log_file_volume"):
            volume = (_text(args.get(param)) or "D:").upper()
            if volume not in rds_restore.DOCUMENTED_VOLUMES:
                raise _error(proc, f"Invalid @{param} '{volume}'. Valid values are D:, H:, I: and J:.")
            if volume not in rds_restore.SUPPORTED_VOLUMES:
                raise _error(proc, f"The emulated instance has no additional storage volume {volume}; use D:.")
        request = RestoreRequest(db_name, loc.arn, kms_arn, bool(norecovery), bool(keep_cdc))
        with self._submit_lock:
            if any(n.lower() == db_name.lower() for n in self._database_names()):
                raise _error(proc, rds_restore.msg_db_exists(db_name))
            for t in self.store.tasks():
                same_name = (t.database_name or "").lower() == db_name.lower()
                if t.active and t.task_type in rds_restore.RESTORE_TASK_TYPES and same_name:
                    raise _error(
                        proc,
                        f"A restore task ({t.task_id}) for database '{t.database_name}' is already pending. "
                        "Wait for it to complete (rds_task_status) or cancel it (rds_cancel_task).",
                    )
            task = self._new_task(
                request.task_type, db_name, request.to_json(), s3_object_arn=loc.arn, kms_master_key_arn=kms_arn
            )
        return self._status([task])

    def _database_names(self) -> list[str]:
        with self.instance.lock:
            return self.instance.database_names()

    def _restore_database_work(self, ctx: TaskContext, req: RestoreRequest) -> str:
        loc = S3Location.parse(req.arn)
        try:
            obj = self._client("s3").get_object(Bucket=loc.bucket, Key=loc.key)
            body, metadata = obj["Body"].read(), obj.get("Metadata", {})
            ctx.progress(30, f"{loc.key.rsplit('/', 1)[-1]}: Completed processing 100.00% of S3 chunks.")
            if rds_restore.is_client_side_encrypted(metadata):
                if not req.kms_arn:
                    raise TaskFailed(
                        f"The backup file {loc.arn} is encrypted with a KMS key (client-side encryption); "
                        "pass that key as @kms_master_key_arn."
                    )
                kms = self._client("kms", rds_restore.kms_region(req.kms_arn, self.cfg.region))
                body = rds_restore.decrypt_backup(body, metadata, kms, req.kms_arn, loc.arn)
        except (ClientError, BotoCoreError) as exc:
            code, _ = _aws_code(exc)
            if code in ("NoSuchKey", "404", "NotFound"):
                raise TaskFailed(f"The specified key does not exist ({loc.arn}).") from None
            raise self._native_failure(exc, loc, req.kms_arn) from None
        ctx.progress(60)
        inst = self.instance
        with inst.lock:
            # Checked again here: the name may have been taken since the task was created.
            if any(n.lower() == req.db_name.lower() for n in inst.database_names()):
                raise TaskFailed(rds_restore.msg_db_exists(req.db_name))
            backup_dir = inst.default_backup_dir()
            local_dir = inst.hostfs.local_path(backup_dir)
            local_dir.mkdir(parents=True, exist_ok=True)
            name = rds_restore.write_temp_backup(local_dir, ctx.task_id, body)
            del body
            path = f"{backup_dir}\\{name}"
            try:
                files = inst.read_media(path, "RESTORE DATABASE")[0].files
                moves = rds_restore.file_moves(files, req.db_name, inst.default_data_dir())
                done = inst.restore_database(
                    req.db_name, path, RestoreOptions(recovery=not req.norecovery, moves=moves)
                )
            except SqlError as exc:
                raise TaskFailed(" ".join(e.message for e in exc.errors)) from None
            finally:
                (local_dir / name).unlink(missing_ok=True)
        return done[-1] if done else f"Restore of {req.db_name} complete."

    # ------------------------------------------------------------------ TDE certificate backup
    def rds_backup_tde_certificate(self, instance: Instance, args: ProcArgs) -> SqlResult:
        proc = "rds_backup_tde_certificate"
        name = _text(args.get("certificate_name"))
        cer_arn = _text(args.get("certificate_file_s3_arn"))
        pvk_arn = _text(args.get("private_key_file_s3_arn"))
        kms_arn = _text(args.get("kms_password_key_arn"))
        overwrite = _bit(args.get("overwrite_s3_files"), proc, "overwrite_s3_files")
        if name is None:
            raise _error(proc, "The certificate name can't be empty or null.")
        if not set(name.lower()) <= _CERT_NAME_CHARS:
            raise _error(
                proc,
                f"The @certificate_name parameter '{name}' can include only the following characters: "
                "a-z, 0-9, @, $, #, and underscore (_).",
            )
        if cer_arn is None or not cer_arn.lower().endswith(".cer"):
            raise _error(proc, "The file extension for @certificate_file_s3_arn must be .cer (case-insensitive).")
        if pvk_arn is None or not pvk_arn.lower().endswith(".pvk"):
            raise _error(proc, "The file extension for @private_key_file_s3_arn must be .pvk (case-insensitive).")
        if kms_arn is None:
            raise _error(proc, "The input parameter @kms_password_key_arn can't be empty or null.")
        try:
            cer, pvk = S3Location.parse(cer_arn), S3Location.parse(pvk_arn)
        except ValueError as exc:
            raise _error(proc, str(exc)) from None
        cert = instance.certificate(name)  # SqlError 15151 when it does not exist
        task = self._new_task(
            TASK_BACKUP_TDE,
            None,
            {"cert": cert.name, "cer": cer.arn, "pvk": pvk.arn, "kms": kms_arn, "overwrite": overwrite},
            s3_object_arn=cer.arn,
            overwrite_s3_backup_file=overwrite,
            kms_master_key_arn=kms_arn,
        )
        return self._status([task])

    def _backup_tde_work(self, ctx: TaskContext, p: dict[str, Any]) -> str:
        cer, pvk = S3Location.parse(p["cer"]), S3Location.parse(p["pvk"])
        kms_arn: str = p["kms"]
        try:
            if not p["overwrite"]:
                for loc in (cer, pvk):
                    if self._exists(loc):
                        raise TaskFailed(f"{MSG_OVERWRITE}. The file {loc.arn} already exists.")
            # As documented for TDE certificates: the private-key password is the base64 text of
            # a KMS data key's plaintext; the .pvk object carries its CiphertextBlob (no context).
            key, wrapped = self._data_key(kms_arn, None)
            password = base64.b64encode(key).decode("ascii")
            del key
            with self.instance.lock:
                cer_bytes, pvk_bytes = self.instance.export_certificate(p["cert"], password)
            del password
            ctx.progress(50)
            s3 = self._client("s3")
            s3.put_object(Bucket=cer.bucket, Key=cer.key, Body=cer_bytes)
            s3.put_object(
                Bucket=pvk.bucket,
                Key=pvk.key,
                Body=pvk_bytes,
                Metadata={"rds-tde-pwd": base64.b64encode(wrapped).decode("ascii")},
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._native_failure(exc, None, kms_arn) from None
        except SqlError as exc:
            raise TaskFailed(str(exc.errors[0].message)) from None
        return f"Backup of certificate {p['cert']} to {cer.arn} and {pvk.arn} complete."

    # ------------------------------------------------------------------ configuration
    def rds_tlog_copy_setup(self, instance: Instance, args: ProcArgs) -> SqlResult:
        proc = "rds_tlog_copy_setup"
        raw = args.get("target_s3_arn", args.positional[0] if args.positional else None)
        arn = _text(raw)
        if arn is None:
            raise _error(proc, "The target S3 arn for the input parameter @target_s3_arn can't be empty or null.")
        if not arn.startswith("arn:aws"):
            raise _error(proc, "The target S3 arn for the input parameter @target_s3_arn must begin with arn:aws.")
        try:
            loc = S3Location.parse(arn)
        except ValueError:
            raise _error(
                proc,
                "The S3 bucket name for the input parameter @target_s3_arn should contain at least one "
                "character other than a space.",
            ) from None
        if self.store.config().get(TARGET_S3_ARN) == arn:
            raise _error(proc, "The target S3 ARN is already set to the provided value.")
        if any(t.active for t in self.store.tasks()):
            raise _error(
                proc,
                "You cannot run the rds_tlog_copy_setup stored procedure while there are pending tasks. "
                "Wait for the pending tasks to complete and try again.",
            )
        self.store.set_config(TARGET_S3_ARN, arn)
        return SqlResult(messages=[f"Access to transaction log backups is set up; target S3 ARN: {loc.arn}"])

    def _config_rows(self, name: str | None) -> list[list[Any]]:
        values = {**CONFIG_DEFAULTS, **self.store.config()}
        rows = [[n, v, CONFIG_DESCRIPTIONS.get(n, "")] for n, v in values.items()]
        if name is not None:
            rows = [r for r in rows if r[0].lower() == name.lower()]
        return rows

    def rds_show_configuration(self, instance: Instance, args: ProcArgs) -> SqlResult:
        name = _text(args.get("name", args.positional[0] if args.positional else None))
        return SqlResult(result_sets=[ResultSet(["name", "value", "description"], self._config_rows(name))])

    def rds_set_configuration(self, instance: Instance, args: ProcArgs) -> SqlResult:
        proc = "rds_set_configuration"
        pos = args.positional
        name = _text(args.get("name", pos[0] if pos else None))
        value = args.get("value", pos[1] if len(pos) > 1 else None)
        if name is None or name.lower() != S3_COMPRESSION.lower():
            raise _error(
                proc,
                f"Configuration {name!r} is not supported by the dbshift RDS emulator; "
                f"supported: '{S3_COMPRESSION}' (set @target_s3_arn with rds_tlog_copy_setup).",
            )
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise _error(proc, f"The value for '{S3_COMPRESSION}' must be 'true' or 'false', not {value!r}.")
        self.store.set_config(S3_COMPRESSION, text)
        return SqlResult()

    # ------------------------------------------------------------------ automated log backups
    def _user_databases(self) -> list[str]:
        with self.instance.lock:
            names = self.instance.database_names()
        return [n for n in names if n.lower() not in rds_tlog.SYSTEM_DATABASES]

    def take_tlog_backup(self, db_name: str) -> TlogBackup:
        """One automated log backup of `db_name`, kept in the RDS-side store (SqlError as the engine raises)."""
        # Stored while still holding the instance lock, so sequence IDs follow the LSN order even
        # when the timer and rdsadmin.emulator.take_tlog_backup race.
        with self.instance.lock:
            db = self.instance.database(db_name)
            blob, header = self.instance.backup_log_to_bytes(db.name)
            finish = header.backup_finish_date
            if finish.tzinfo is None:
                finish = finish.replace(tzinfo=UTC)
            return self.store.add_tlog(
                db_name=db.name,
                db_id=db.database_id,
                family_guid=header.family_guid or db.family_guid,
                backup_file_epoch=int(finish.timestamp()),
                starting_lsn=header.first_lsn,
                ending_lsn=header.last_lsn,
                blob=blob,
            )

    def _tlog_timer(self) -> None:
        while not self._stop.wait(self.cfg.tlog_backup_interval_seconds):
            try:
                names = self._user_databases()
            except Exception:  # the engine may be closing; try again next round
                continue
            for name in names:
                if self._stop.is_set():
                    return
                try:
                    db = self.instance.database(name)
                    if db.state_desc == "ONLINE" and db.recovery_model_desc == "FULL":
                        self.take_tlog_backup(name)
                except SqlError:
                    # 4214 (no full backup yet) and friends: RDS skips the database this round too.
                    continue

    def emulator_take_tlog_backup(self, instance: Instance, args: ProcArgs) -> SqlResult:
        """EMULATOR ONLY (not an RDS procedure): take the automated log backup of @db_name now."""
        proc = "take_tlog_backup"
        db_name = _text(args.get("db_name", args.positional[0] if args.positional else None))
        if db_name is None:
            raise _error(proc, "The input parameter @db_name can't be empty or null.")
        if db_name.lower() in rds_tlog.SYSTEM_DATABASES:
            raise _error(proc, rds_tlog.MSG_SYSTEM_DB)
        backup = self.take_tlog_backup(db_name)
        return SqlResult(result_sets=[ResultSet(list(rds_tlog.METADATA_COLUMNS), [rds_tlog.metadata_row(backup)])])

    def rds_fn_list_tlog_backup_metadata(self, instance: Instance, fn_args: list[Any]) -> ResultSet:
        columns = list(rds_tlog.METADATA_COLUMNS)
        db_name = _text(fn_args[0]) if fn_args else None
        if db_name is None:
            return ResultSet(columns, [rds_tlog.error_row(None, rds_tlog.MSG_EMPTY_DB)])
        if db_name.lower() in rds_tlog.SYSTEM_DATABASES:
            return ResultSet(columns, [rds_tlog.error_row(db_name, rds_tlog.MSG_SYSTEM_DB)])
        try:
            instance.database(db_name)
        except SqlError:
            return ResultSet(columns, [rds_tlog.error_row(db_name, rds_tlog.msg_cannot_find_db(db_name))])
        backups = rds_tlog.within_retention(self.store.tlogs(db_name), utcnow())
        return ResultSet(columns, [rds_tlog.metadata_row(b) for b in backups])

    # ------------------------------------------------------------------ log-backup copy
    def rds_tlog_backup_copy_to_s3(self, instance: Instance, args: ProcArgs) -> SqlResult:
        proc = "rds_tlog_backup_copy_to_S3"
        db_name = _text(args.get("db_name"))
        kms_arn = _text(args.get("kms_key_arn"))
        if db_name is None:
            raise _error(proc, rds_tlog.MSG_EMPTY_DB)
        if db_name.lower() in rds_tlog.SYSTEM_DATABASES:
            raise _error(proc, rds_tlog.MSG_SYSTEM_DB)
        try:
            db = instance.database(db_name)
        except SqlError:
            raise _error(proc, rds_tlog.msg_cannot_find_db(db_name)) from None
        target = self.store.config().get(TARGET_S3_ARN)
        if not target:
            raise _error(proc, rds_tlog.MSG_NOT_SET_UP)
        try:
            copy_range = rds_tlog.parse_copy_range(args.named)
        except rds_tlog.CopyParamError as exc:
            raise _error(proc, str(exc)) from None
        with self._submit_lock:
            active = [t for t in self.store.tasks() if t.active]
            for t in active:
                if t.task_type == TASK_COPY_TLOG and (t.database_name or "").lower() == db.name.lower():
                    raise _error(proc, rds_tlog.msg_copy_pending(db.name, t.task_id))
            if len(active) >= 2:
                raise _error(
                    proc,
                    "Only two concurrent tasks of any type may be run on an RDS for SQL Server DB instance, and "
                    f"tasks {', '.join(str(t.task_id) for t in active)} are pending. Wait for them to complete "
                    "(rds_task_status) and try again.",
                )
            selected = [
                b for b in rds_tlog.within_retention(self.store.tlogs(db.name), utcnow()) if copy_range.selects(b)
            ]
            if not selected:
                raise _error(proc, rds_tlog.MSG_OUTSIDE_RETENTION)
            task = self._new_task(
                TASK_COPY_TLOG,
                db.name,
                {
                    "db": db.name,
                    "target": target,
                    "kms": kms_arn,
                    "seq_ids": [b.rds_backup_seq_id for b in selected],
                    "range": copy_range.to_json(),
                },
                s3_object_arn=target,
                kms_master_key_arn=kms_arn,
            )
        return self._status([task])

    def _copy_tlog_work(self, ctx: TaskContext, p: dict[str, Any]) -> str:
        wanted = set(p["seq_ids"])
        backups = [b for b in self.store.tlogs(p["db"]) if b.rds_backup_seq_id in wanted]
        target = S3Location.parse(p["target"])
        kms_arn: str | None = p["kms"]
        dbi = self.cfg.dbi_resource_id
        s3 = self._client("s3")
        for n, backup in enumerate(backups, start=1):
            loc = target.child(
                rds_crypto.tlog_object_name(
                    backup.db_id, backup.family_guid, backup.rds_backup_seq_id, backup.backup_file_epoch
                )
            )
            blob = self.store.tlog_blob(backup)
            try:
                if kms_arn:
                    key, wrapped = self._data_key(kms_arn, rds_crypto.tlog_encryption_context(dbi))
                    body, iv = rds_crypto.aes_cbc_encrypt(blob, key)
                    del key
                    metadata = rds_crypto.tlog_object_metadata(wrapped, iv, kms_arn, dbi, len(blob))
                else:
                    body, metadata = blob, {"dbresourceid": dbi}
                s3.put_object(Bucket=loc.bucket, Key=loc.key, Body=body, Metadata=metadata)
            except (ClientError, BotoCoreError) as exc:
                code, message = _aws_code(exc)
                if code in ("AccessDenied", "NoSuchBucket", "AllAccessDisabled", "403"):
                    raise TaskFailed(f"{rds_tlog.MSG_PERMISSIONS} (S3 {code}: {message})") from None
                if code.endswith("Exception") or code == "NotFoundException":
                    raise TaskFailed(f"{rds_tlog.MSG_NO_ACCESS} (KMS {code} for {kms_arn}: {message})") from None
                raise TaskFailed(f"{code}: {message}") from None
            ctx.progress(
                n * 100 // max(len(backups), 1) if n < len(backups) else 99,
                f"Copied {loc.key} ({n} of {len(backups)}).",
            )
        return f"Copied {len(backups)} transaction log backup file(s) to {target.arn}."
