"""The password of an RDS TDE certificate's private key, from the .pvk object's rds-tde-pwd metadata.

msdb.dbo.rds_backup_tde_certificate encrypts the private key with the base64 text of a KMS data
key's plaintext and stores that data key's CiphertextBlob (base64, no encryption context) in the
.pvk object's user metadata "rds-tde-pwd". DECRYPTION BY PASSWORD takes the base64 text.

The password is held in memory only; `write_tde_password` writes it to a file created with mode
0600 (temporary name, then rename) for people scripting by hand. Nothing here prints or logs it.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Any

from dbshift.aws.clients import AwsConfig
from dbshift.errors import DbshiftError
from dbshift.fallforward.s3_get import S3Url

PWD_METADATA = "rds-tde-pwd"


def tde_password(pvk_s3_url: str, kms_key_arn: str, aws: AwsConfig | None = None) -> str:
    """The DECRYPTION BY PASSWORD text for the .pvk at pvk_s3_url (HeadObject + KMS Decrypt)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from dbshift.aws.clients import client

    url = S3Url.parse(pvk_s3_url)
    if not url.key.lower().endswith(".pvk"):
        raise DbshiftError(f"{pvk_s3_url!r} is not a .pvk object: pass the private-key file's S3 URL (…/NAME.pvk)")
    if not kms_key_arn:
        raise DbshiftError("--kms-key is empty: pass the KMS key ARN given to rds_backup_tde_certificate")
    try:
        head = client("s3", aws).head_object(Bucket=url.bucket, Key=url.key)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise DbshiftError(f"{url}: HeadObject failed ({code}); check the URL and s3:GetObject permission") from None
    except BotoCoreError as exc:
        raise DbshiftError(f"{url}: HeadObject failed: {exc}") from exc
    wrapped_b64 = (head.get("Metadata") or {}).get(PWD_METADATA)
    if not wrapped_b64:
        raise DbshiftError(
            f"{url}: no {PWD_METADATA} metadata; use the .pvk object written by msdb.dbo.rds_backup_tde_certificate "
            "(copies must keep their metadata)"
        )
    try:
        wrapped = base64.b64decode(wrapped_b64, validate=True)
    except (binascii.Error, ValueError):
        raise DbshiftError(f"{url}: metadata {PWD_METADATA} is not base64; the object's metadata is damaged") from None
    kms: Any = client("kms", aws)
    try:
        plaintext = kms.decrypt(CiphertextBlob=wrapped, KeyId=kms_key_arn)["Plaintext"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise DbshiftError(
            f"{url}: KMS {code} decrypting {PWD_METADATA} with key {kms_key_arn}: pass the key given to "
            "rds_backup_tde_certificate as @kms_password_key_arn, and allow kms:Decrypt on it"
        ) from None
    except BotoCoreError as exc:
        raise DbshiftError(f"{url}: KMS Decrypt failed: {type(exc).__name__}") from exc
    return base64.b64encode(plaintext).decode("ascii")


def write_tde_password(pvk_s3_url: str, kms_key_arn: str, out: Path, aws: AwsConfig | None = None) -> Path:
    """Write the password to `out` (mode 0600 from creation; temporary name then rename)."""
    password = tde_password(pvk_s3_url, kms_key_arn, aws)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            if hasattr(os, "fchmod"):  # POSIX: a leftover file would keep its mode through O_CREAT
                os.fchmod(fd, 0o600)
            os.write(fd, password.encode("ascii"))
        finally:
            os.close(fd)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DbshiftError(f"cannot write --out {out}: {exc.strerror}") from None
    finally:
        del password
    return out
