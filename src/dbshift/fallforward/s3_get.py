"""Download one S3 object, plain or envelope-encrypted, straight to its final file.

The body is decrypted while it downloads (no encrypted copy on disk) into `<dest>.tmp`, which is
renamed to `<dest>` only after the padding and length checks pass. On any failure the temporary
file is removed and the error names the object.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbshift.aws.clients import AwsConfig
from dbshift.errors import DbshiftError
from dbshift.fallforward.envelope import Decryptor, parse_envelope, unwrap_data_key

# Large reads keep the per-chunk Python overhead (and GIL hand-offs between threads) negligible.
CHUNK = 4 * 1024 * 1024
TMP_SUFFIX = ".tmp"


class FetchCancelled(DbshiftError):
    """Another object of the same fetch failed; this one stopped and left nothing behind."""


@dataclass(frozen=True)
class S3Url:
    bucket: str
    key: str

    @classmethod
    def parse(cls, url: str) -> S3Url:
        if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
            raise DbshiftError(f"{url!r} is not an S3 URL: use s3://BUCKET/KEY (or s3://BUCKET/PREFIX/)")
        bucket, _, key = url[5:].partition("/")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class StreamedObject:
    path: Path
    size: int  # bytes written (plaintext)
    etag: str
    encrypted: bool


def _aws_error(exc: Exception, name: str) -> DbshiftError:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        if code in ("NoSuchKey", "404"):
            return DbshiftError(f"{name}: no such object; check the bucket and key (or seq range)")
        if code in ("PreconditionFailed", "412"):
            return DbshiftError(f"{name}: the object changed while it was being fetched; run the command again")
        if code in ("AccessDenied", "403"):
            return DbshiftError(f"{name}: access denied; allow s3:GetObject (and s3:ListBucket) to this role")
        if code == "NoSuchBucket":
            return DbshiftError(f"{name}: the bucket does not exist; check the S3 URL")
        return DbshiftError(f"{name}: S3 {code}: {err.get('Message', '')}")
    return DbshiftError(f"{name}: download failed: {type(exc).__name__}: {exc}")


def stream_object(
    s3: Any,
    kms: Callable[[], Any],
    bucket: str,
    key: str,
    dest: Path,
    etag: str | None = None,
    kms_key_id: str | None = None,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    before_rename: Callable[[Path, StreamedObject], None] | None = None,
) -> StreamedObject:
    """GetObject `key` (IfMatch `etag` when given, so the bytes are those listed), decrypt while
    downloading into dest.tmp, verify, call `before_rename(tmp, result)`, rename to `dest`."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = f"s3://{bucket}/{key}"
    tmp = dest.with_name(dest.name + TMP_SUFFIX)
    try:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if etag:
            kwargs["IfMatch"] = etag
        resp = s3.get_object(**kwargs)
        body = resp["Body"]
        try:
            env = parse_envelope(resp.get("Metadata") or {}, name)
            data_key = unwrap_data_key(env, kms(), kms_key_id) if env.encrypted else None
            dec = Decryptor(env, data_key)
            del data_key
            with open(tmp, "wb", buffering=0) as out:
                while True:
                    if cancel is not None and cancel.is_set():
                        raise FetchCancelled(f"{name}: stopped because another object failed")
                    chunk = body.read(CHUNK)
                    if not chunk:
                        break
                    out.write(dec.update(chunk))
                    if on_bytes is not None:
                        on_bytes(len(chunk))
                out.write(dec.finish())
        finally:
            body.close()
        result = StreamedObject(dest, dec.plain_bytes, str(resp.get("ETag", "")), env.encrypted)
        if before_rename is not None:
            before_rename(tmp, result)
        os.replace(tmp, dest)
        return result
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, DbshiftError):
            raise
        if isinstance(exc, ClientError | BotoCoreError | OSError):
            raise _aws_error(exc, name) from exc
        raise


def get_object(s3_url: str, dest_dir: Path, aws: AwsConfig | None = None, kms_key_id: str | None = None) -> Path:
    """Download s3_url (plain or envelope-encrypted, detected from its metadata) to
    dest_dir/<file name>, decrypting on the way; returns the written path."""
    from dbshift.aws.clients import client

    url = S3Url.parse(s3_url)
    file_name = url.key.rsplit("/", 1)[-1]
    if not file_name:
        raise DbshiftError(f"{s3_url!r} names a folder, not an object: use s3://BUCKET/KEY")
    dest_dir = Path(dest_dir)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DbshiftError(f"cannot create --dest {dest_dir}: {exc.strerror}") from exc
    kms = lambda: client("kms", aws)  # noqa: E731 - only encrypted objects need KMS
    return stream_object(client("s3", aws), kms, url.bucket, url.key, dest_dir / file_name, kms_key_id=kms_key_id).path
