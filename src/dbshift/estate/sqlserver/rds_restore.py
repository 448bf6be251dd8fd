"""msdb.dbo.rds_restore_database of the EMULATED Amazon RDS for SQL Server (native restore from S3).

SQL Server and RDS cannot run here. As documented (RDS User Guide, "Restoring a database"):

    exec msdb.dbo.rds_restore_database @restore_db_name='db', @s3_arn_to_restore_from='arn:aws:s3:::b/k.bak'
        [, @kms_master_key_arn='arn:aws:kms:…'] [, @type='FULL'|'DIFFERENTIAL'] [, @with_norecovery=0|1]
        [, @keep_cdc=0|1] [, @data_file_volume='D:'] [, @log_file_volume='D:']

returns a task row (task_type RESTORE_DB, or RESTORE_DB_NORECOVERY with @with_norecovery=1) and the work runs
asynchronously: the .bak is read from S3, decrypted with the KMS key when it was written with
@kms_master_key_arn (the S3 encryption client's format, see rds_crypto), written to the instance's disk under a
temporary name and restored there with the engine's RESTORE DATABASE, its files placed in the instance's data
directory under the new database's name, as RDS places them. A database name that already exists is refused.

Emulator limits, each refused with a message saying so: FULL restores only (the emulator's rds_backup_database
writes FULL backups only), single-file backups (no `*` ARNs) and the D: volume only. The emulated instance
reads any bucket of the emulated S3 and uses a KMS key in the Region its ARN names: the estate's one RDS
instance stands in for the DR runbook's source and target instances.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from dbshift.estate.sqlserver import rds_crypto
from dbshift.estate.sqlserver.backupfile import BackupFileEntry
from dbshift.estate.sqlserver.rds_tasks import TaskFailed

TASK_RESTORE_DB = "RESTORE_DB"
TASK_RESTORE_DB_NORECOVERY = "RESTORE_DB_NORECOVERY"
RESTORE_TASK_TYPES = (TASK_RESTORE_DB, TASK_RESTORE_DB_NORECOVERY)
SUPPORTED_VOLUMES = ("D:",)
DOCUMENTED_VOLUMES = ("D:", "H:", "I:", "J:")
_KMS_ARN_REGION = re.compile(r"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):")


def msg_db_exists(name: str) -> str:
    """RDS's RAISERROR text when @restore_db_name names an existing database."""
    return (
        f"Database '{name}' already exists. Two databases that differ only by case or accent are not allowed. "
        "Choose a different database name."
    )


@dataclass(frozen=True)
class RestoreRequest:
    """The validated parameters of one rds_restore_database call."""

    db_name: str
    arn: str
    kms_arn: str | None
    norecovery: bool
    keep_cdc: bool

    @property
    def task_type(self) -> str:
        return TASK_RESTORE_DB_NORECOVERY if self.norecovery else TASK_RESTORE_DB

    def to_json(self) -> dict[str, Any]:
        return {
            "db": self.db_name,
            "arn": self.arn,
            "kms": self.kms_arn,
            "norecovery": self.norecovery,
            "keep_cdc": self.keep_cdc,
        }

    @classmethod
    def from_json(cls, p: dict[str, Any]) -> RestoreRequest:
        return cls(p["db"], p["arn"], p["kms"], bool(p["norecovery"]), bool(p["keep_cdc"]))


def kms_region(kms_arn: str, default: str) -> str:
    """The Region a KMS key ARN names (a bare key id or alias name: the instance's own Region)."""
    match = _KMS_ARN_REGION.match(kms_arn)
    return match.group("region") if match else default


def is_client_side_encrypted(metadata: dict[str, str]) -> bool:
    return "x-amz-key-v2" in metadata or "x-amz-key" in metadata


def decrypt_backup(body: bytes, metadata: dict[str, str], kms: Any, kms_arn: str, arn: str) -> bytes:
    """The plaintext .bak of an object rds_backup_database wrote with @kms_master_key_arn.

    The data key is unwrapped by KMS with the object's material description as encryption context; it must
    have been wrapped by `kms_arn` itself (KMS's IncorrectKeyException otherwise). Raises TaskFailed.
    """
    try:
        matdesc = json.loads(metadata.get("x-amz-matdesc", "{}"))
        wrapped = base64.b64decode(metadata.get("x-amz-key-v2") or metadata["x-amz-key"])
        iv = base64.b64decode(metadata["x-amz-iv"])
    except (KeyError, ValueError) as exc:
        raise TaskFailed(f"{arn}: the object's client-side encryption metadata is damaged ({exc!r}).") from None
    if metadata.get("x-amz-cek-alg", "AES/CBC/PKCS5Padding") != "AES/CBC/PKCS5Padding":
        raise TaskFailed(f"{arn}: unsupported content encryption {metadata['x-amz-cek-alg']!r}.")
    wanted = kms.describe_key(KeyId=kms_arn)["KeyMetadata"]  # NotFoundException: the caller words it
    wrapped_by = matdesc.get("kms_cmk_id", "another key")
    try:
        out = kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=matdesc, KeyId=wanted["Arn"])
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code not in ("IncorrectKeyException", "AccessDeniedException", "InvalidCiphertextException"):
            raise
        raise TaskFailed(_wrong_key(arn, kms_arn, wrapped_by, code)) from None
    if out.get("KeyId") not in (wanted["Arn"], wanted["KeyId"]):
        # KMS refuses a KeyId that did not wrap the data key; so does the emulator, whatever KMS answered.
        raise TaskFailed(_wrong_key(arn, kms_arn, wrapped_by, "IncorrectKeyException"))
    key = out["Plaintext"]
    try:
        plain = rds_crypto.aes_cbc_decrypt(body, key, iv)
    except ValueError:
        raise TaskFailed(f"{arn}: the backup file does not decrypt under its data key; it is damaged.") from None
    finally:
        del key
    expected = metadata.get("x-amz-unencrypted-content-length")
    if expected is not None and int(expected) != len(plain):
        raise TaskFailed(f"{arn}: decrypted {len(plain)} bytes, the object says {expected}; it is damaged.")
    return plain


def _wrong_key(arn: str, kms_arn: str, wrapped_by: str, code: str) -> str:
    return (
        f"KMS could not decrypt the data key of the backup file {arn} with {kms_arn} ({code}): the file is "
        f"encrypted with {wrapped_by}. Pass that key as @kms_master_key_arn, and grant kms:Decrypt on it."
    )


def file_moves(files: list[BackupFileEntry], db_name: str, data_dir: str) -> dict[str, str]:
    """Where RDS puts each file of the restored database: the data directory, named after the new database.

    Keys are lower-case logical names (RestoreOptions.moves). The first data file is <db>.mdf and the first
    log file <db>_log.ldf; further files get their file id, so that no two databases share a file.
    """
    moves: dict[str, str] = {}
    seen = {"D": 0, "L": 0}
    for f in sorted(files, key=lambda e: e.file_id):
        seen[f.type] += 1
        if f.type == "D":
            name = f"{db_name}.mdf" if seen["D"] == 1 else f"{db_name}_{f.file_id}.ndf"
        else:
            name = f"{db_name}_log.ldf" if seen["L"] == 1 else f"{db_name}_log_{f.file_id}.ldf"
        moves[f.logical_name.lower()] = f"{data_dir}\\{name}"
    return moves


def write_temp_backup(local_dir: os.PathLike[str] | str, task_id: int, data: bytes) -> str:
    """Write the downloaded backup under a temporary name, then rename it: the file name, relative to `local_dir`."""
    name = f"rds_restore_task_{task_id}.bak"
    final = os.path.join(local_dir, name)
    tmp = final + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, final)
    return name
