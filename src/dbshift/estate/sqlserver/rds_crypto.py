"""S3 naming and envelope encryption of the objects the EMULATED Amazon RDS for SQL Server writes.

SQL Server and RDS cannot run here; dbshift's SQL Server emulator reproduces the S3 objects RDS's
stored procedures write, so that the runbooks' download-and-decrypt code is exercised for real.

Formats (all AES-256-CBC with PKCS#7 padding under a fresh 256-bit KMS data key):

- Transaction-log copies (msdb.dbo.rds_tlog_backup_copy_to_S3): the data key comes from KMS
  GenerateDataKey with EncryptionContext {"aws:rds:db-id": <DbiResourceId>}; user metadata
  x-amz-key (base64 KMS ciphertext of the data key), x-amz-iv (base64), x-amz-matdesc
  ({"kms_cmk_id": <key arn>}), x-amz-unencrypted-content-length and dbresourceid.
- Native backups with @kms_master_key_arn (msdb.dbo.rds_backup_database): the Amazon S3 encryption
  client's KMS format, which RDS native restore also reads: x-amz-key-v2, x-amz-iv,
  x-amz-wrap-alg = "kms", x-amz-cek-alg = "AES/CBC/PKCS5Padding", x-amz-matdesc
  ({"kms_cmk_id": <key arn>}), x-amz-unencrypted-content-length; the KMS encryption context is the
  material description itself.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass

from Cryptodome.Cipher import AES
from Cryptodome.Util.Padding import pad, unpad

_S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<bucket>[^/]*)(?:/(?P<key>.*))?$")

AES_BLOCK = 16
DATA_KEY_BYTES = 32


@dataclass(frozen=True)
class S3Location:
    """A bucket and key (or key prefix) parsed from an S3 ARN (arn:aws:s3:::bucket/key)."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, arn: str) -> S3Location:
        """Parse `arn`; raises ValueError naming the ARN when it is not an S3 object ARN."""
        match = _S3_ARN.match(arn.strip())
        if not match or not match.group("bucket").strip():
            raise ValueError(f"'{arn}' is not an Amazon S3 ARN; use the form arn:aws:s3:::bucket_name/file_name")
        return cls(bucket=match.group("bucket"), key=match.group("key") or "")

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.bucket}/{self.key}" if self.key else f"arn:aws:s3:::{self.bucket}"

    def child(self, relative: str) -> S3Location:
        """The object `relative` under this location taken as a folder."""
        prefix = self.key.strip("/")
        return S3Location(self.bucket, f"{prefix}/{relative}" if prefix else relative)


def tlog_object_name(db_id: int, family_guid: str, rds_backup_seq_id: int, backup_file_epoch: int) -> str:
    """Path RDS uses under the tlog-copy target: {db_id}.{family_guid}/{db_id}.{family_guid}.{seq}.{epoch}."""
    folder = f"{db_id}.{family_guid}"
    return f"{folder}/{folder}.{rds_backup_seq_id}.{backup_file_epoch}"


def aes_cbc_encrypt(plaintext: bytes, data_key: bytes) -> tuple[bytes, bytes]:
    """(ciphertext, iv): AES-256-CBC, PKCS#7 padding, random IV."""
    if len(data_key) != DATA_KEY_BYTES:
        raise ValueError(f"the data key must be {DATA_KEY_BYTES} bytes (AES-256), got {len(data_key)}")
    iv = os.urandom(AES_BLOCK)
    return AES.new(data_key, AES.MODE_CBC, iv).encrypt(pad(plaintext, AES_BLOCK)), iv


def aes_cbc_decrypt(ciphertext: bytes, data_key: bytes, iv: bytes) -> bytes:
    """Inverse of aes_cbc_encrypt; raises ValueError on a wrong key or a damaged object (bad padding)."""
    return unpad(AES.new(data_key, AES.MODE_CBC, iv).decrypt(ciphertext), AES_BLOCK)


def tlog_encryption_context(dbi_resource_id: str) -> dict[str, str]:
    """The KMS encryption context RDS binds to the data keys of copied log backups."""
    return {"aws:rds:db-id": dbi_resource_id}


def tlog_object_metadata(
    encrypted_data_key: bytes, iv: bytes, kms_key_arn: str, dbi_resource_id: str, plaintext_length: int
) -> dict[str, str]:
    """S3 user metadata of a KMS-encrypted log-backup copy."""
    return {
        "x-amz-key": base64.b64encode(encrypted_data_key).decode("ascii"),
        "x-amz-iv": base64.b64encode(iv).decode("ascii"),
        "x-amz-matdesc": json.dumps({"kms_cmk_id": kms_key_arn}, separators=(",", ":")),
        "x-amz-unencrypted-content-length": str(plaintext_length),
        "dbresourceid": dbi_resource_id,
    }


def native_backup_matdesc(kms_key_arn: str) -> dict[str, str]:
    """Material description of a KMS-encrypted native backup; it is also the KMS encryption context."""
    return {"kms_cmk_id": kms_key_arn}


def native_backup_metadata(
    encrypted_data_key: bytes, iv: bytes, kms_key_arn: str, plaintext_length: int
) -> dict[str, str]:
    """S3 user metadata of a native backup written with @kms_master_key_arn (S3 encryption client format)."""
    return {
        "x-amz-key-v2": base64.b64encode(encrypted_data_key).decode("ascii"),
        "x-amz-iv": base64.b64encode(iv).decode("ascii"),
        "x-amz-wrap-alg": "kms",
        "x-amz-cek-alg": "AES/CBC/PKCS5Padding",
        "x-amz-matdesc": json.dumps(native_backup_matdesc(kms_key_arn), separators=(",", ":")),
        "x-amz-unencrypted-content-length": str(plaintext_length),
    }
