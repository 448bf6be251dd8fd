"""Download one S3 object, plain or envelope-encrypted, straight to its final file.

The body is decrypted while it downloads (no encrypted copy on disk) into `<dest>.tmp`, which is
renamed to `<dest>` only after the padding and length checks pass. On any failure the temporary
file is removed and the error names the object.

The receive path is the cost that matters on a fast network: botocore's StreamingBody (urllib3
underneath) allocates a fresh buffer for every chunk and copies it again, which on loopback costs
more CPU than AES-CBC itself. So the body is read with readinto straight from http.client's socket
reader into one buffer per download, decrypted into a second one and written from there. botocore
still makes the request (signing, retries, errors), and what its body would have checked is checked
here: the byte count against Content-Length and its flexible checksum (x-amz-checksum-crc32 etc.).
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

from dbshift.aws.clients import AwsConfig
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
    from botocore.exceptions import ClientError, FlexibleChecksumError, IncompleteReadError

    if isinstance(exc, IncompleteReadError):  # what botocore's own body reader says about a cut connection
        return DbshiftError(f"{name}: truncated download: {exc}; run the command again")
    if isinstance(exc, FlexibleChecksumError):
        return DbshiftError(
            f"{name}: the bytes received do not match the object's S3 checksum ({exc}); they were damaged in "
            "transit: run the command again"
        )
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


class _DirectBody:
    """A GetObject body read straight from the socket, verified as botocore's StreamingBody verifies it."""

    def __init__(self, body: Any, fp: http.client.HTTPResponse, length: int | None) -> None:
        self._body, self._fp, self.length = body, fp, length
        self.checksum = getattr(body, "checksum", None)  # set when the response carries x-amz-checksum-*
        self.received = 0

    @classmethod
    def of(cls, body: Any, length: int | None) -> _DirectBody | None:
        """None when botocore does not expose http.client's response under the body, or could not
        verify its checksum through us: the caller then reads through the body itself."""
        from botocore.httpchecksum import StreamingChecksumBody

        fp = getattr(getattr(body, "_raw_stream", None), "_fp", None)
        if not isinstance(fp, http.client.HTTPResponse):
            return None
        if isinstance(body, StreamingChecksumBody) and not callable(getattr(body, "_validate_checksum", None)):
            return None
        return cls(body, fp, length)

    def readinto(self, view: memoryview) -> int:
        n = self._fp.readinto(view)
        if n and self.checksum is not None:
            self.checksum.update(view[:n])
        self.received += n
        return n

    def verify(self, name: str) -> None:
        """At the end of the body: the length, then the checksum (FlexibleChecksumError)."""
        if self.length is not None and self.received != self.length:
            raise DbshiftError(
                f"{name}: truncated download: the connection ended after {self.received} of {self.length} bytes; "
                "run the command again"
            )
        if self.checksum is not None:
            self._body._validate_checksum()


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
            length = resp.get("ContentLength")
            direct = _DirectBody.of(body, length)
            readinto = direct.readinto if direct is not None else body.readinto
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
                if direct is not None:
                    direct.verify(name)
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
        if isinstance(exc, ClientError | BotoCoreError | OSError | http.client.HTTPException):
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
