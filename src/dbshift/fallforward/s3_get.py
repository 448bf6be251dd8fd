"""Download one S3 object, plain or envelope-encrypted, straight to its final file.

The body is decrypted while it downloads (no encrypted copy on disk) into `<dest>.tmp`, which is
renamed to `<dest>` only after the padding and length checks pass. On any failure the temporary
file is removed and the error names the object.

The body comes from dbshift.aws.rest (S3 over http.client, no botocore start-up): it is read with
readinto straight from the socket into one buffer per download, decrypted into a second one and
written from there, and its length and S3 checksum are verified before the rename.
"""

from __future__ import annotations

import functools
import http.client
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbshift.aws.config import AwsConfig
from dbshift.aws.lazy_errors import botocore_error, client_error
from dbshift.errors import DbshiftError
from dbshift.fallforward.envelope import BLOCK, Decryptor, Envelope, parse_envelope, unwrap_data_key

# Large enough that per-chunk Python overhead is negligible, small enough that the chunk is still in
# the CPU cache when it is decrypted and written.
CHUNK = 1024 * 1024
TMP_SUFFIX = ".tmp"
FALLOC_FL_KEEP_SIZE = 1  # linux/falloc.h


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
    if isinstance(exc, client_error()):
        err = exc.response.get("Error", {})  # type: ignore[attr-defined]
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


def _fill(readinto: Callable[[memoryview], int], view: memoryview) -> int:
    """Read until `view` is full or the body ends; the number of bytes read."""
    got = 0
    while got < len(view):
        n = readinto(view[got:])
        if not n:
            break
        got += n
    return got


@functools.cache
def _fallocate() -> Callable[[int, int, int, int], int] | None:
    """Linux fallocate(2), or None. Not os.posix_fallocate: where a file system lacks fallocate,
    glibc emulates it by writing every block, which would double the writes instead of saving."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    if ctypes.sizeof(ctypes.c_void_p) != 8:  # off_t is 64-bit only there; not worth the variants elsewhere
        return None
    try:
        func = ctypes.CDLL(None, use_errno=True).fallocate
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    func.restype = ctypes.c_int
    return func


def _preallocate(fd: int, size: int) -> None:
    """Reserve the blocks of the first `size` bytes of the output, file size unchanged. ext4 and xfs
    then skip their block allocation on every write: a third of the CPU cost of writing. Best
    effort: nothing happens where the system or the file system has no fallocate."""
    fallocate = _fallocate()
    if fallocate is not None and size > 0:
        fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size)


def _least_output(length: int, env: Envelope) -> int:
    """The fewest bytes a complete object of `length` bytes decrypts to (padding is 1..16 bytes), so
    that preallocating them never reserves a block the finished file does not use."""
    least = length - BLOCK if env.encrypted else length
    return least if env.plaintext_length is None else min(least, env.plaintext_length)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


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
    downloading into dest.tmp, verify, call `before_rename(tmp, result)`, rename to `dest`.
    `s3` is a dbshift.aws.rest.S3Rest: its body verifies its own length and checksum."""

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
            length = resp.get("ContentLength")
            readinto = body.readinto
            view = memoryview(bytearray(CHUNK))
            with open(tmp, "wb", buffering=0) as out:
                fd = out.fileno()
                if length is not None:
                    _preallocate(fd, _least_output(length, env))
                while True:
                    if cancel is not None and cancel.is_set():
                        raise FetchCancelled(f"{name}: stopped because another object failed")
                    n = _fill(readinto, view)
                    if not n:
                        break
                    _write_all(fd, dec.update(view[:n]))
                    if on_bytes is not None:
                        on_bytes(n)
                body.verify(name)
                _write_all(fd, dec.finish())
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
        if isinstance(exc, client_error() | botocore_error() | OSError | http.client.HTTPException):
            raise _aws_error(exc, name) from exc
        raise


def get_object(s3_url: str, dest_dir: Path, aws: AwsConfig | None = None, kms_key_id: str | None = None) -> Path:
    """Download s3_url (plain or envelope-encrypted, detected from its metadata) to
    dest_dir/<file name>, decrypting on the way; returns the written path."""
    from dbshift.aws.rest import KmsRest, S3Rest

    url = S3Url.parse(s3_url)
    file_name = url.key.rsplit("/", 1)[-1]
    if not file_name:
        raise DbshiftError(f"{s3_url!r} names a folder, not an object: use s3://BUCKET/KEY")
    dest_dir = Path(dest_dir)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DbshiftError(f"cannot create --dest {dest_dir}: {exc.strerror}") from exc
    kms = lambda: KmsRest(aws)  # noqa: E731 - only encrypted objects need KMS
    return stream_object(S3Rest(aws), kms, url.bucket, url.key, dest_dir / file_name, kms_key_id=kms_key_id).path
