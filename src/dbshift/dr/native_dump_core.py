"""Native dump, engine-neutral part: a database's own dump tool streamed to S3 and back, verified.

dump(): the Dumper's byte stream → compression (zstd or gzip) → AES-256-GCM envelope encryption
(envelope_stream, a KMS data key of the target region) → S3 multipart upload in the target region,
in one streamed pass: no staging file, the dump never touches disk in the clear. A manifest object
next to it (encrypted the same way) records the plaintext dump's sha256 and, per table, the row count
and an order-independent content hash computed inside the database (Dumper.capture).

restore(): streamed download → frame-verified decryption → decompression → the Restorer's restore
tool, into a staging database (or, for engines that cannot rename a database, into the target name
marked as incomplete); counts and hashes are checked against the manifest in the database before the
result takes the target's name. A corrupt object, a failed restore or a mismatch drops what was made.

plan_dump() / plan_restore() (check mode): what dump() / restore() would do, from reads only. Each real run
and its plan make ONE decision (dump_decision: the manifest in S3 against the source's checks taken in a
read-only snapshot; restore_decision: the target against the manifest), so check mode reports changed=false
exactly when the run would, and refuses what the run would refuse.

Engines: native_dump.py (PostgreSQL, pg_dump), native_dump_mysql.py (MySQL/MariaDB, mysqldump).
SQL Server is different (rds_backup_database writes to S3 itself): native_dump_sqlserver.py.

Transport: production endpoints are https (TLS); the emulated S3 of the estate is http on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO, Protocol, TextIO

from dbshift.aws.clients import AwsConfig, client
from dbshift.dr import envelope_stream, error_code
from dbshift.dr.kms_errors import require_key_in_region
from dbshift.errors import ConfigError, DbshiftError
from dbshift.progress import Progress

MANIFEST_SUFFIX = ".manifest"
MANIFEST_VERSION = 1
COMPRESSIONS = ("zstd", "gzip")
READ = 1 << 20
PART = 16 << 20  # S3 parts: 16 MiB, doubling every 2,000 parts (10,000 parts reach ~1 TB)
UPLOAD_THREADS = 4


class NativeDumpError(DbshiftError):
    """A native dump or restore failed; nothing incomplete was left visible."""


@dataclass(frozen=True)
class TableCheck:
    rows: int
    hash: str  # sum of 60-bit md5 prefixes of each row's text, as a decimal string (no overflow)


@dataclass
class Manifest:
    engine: str
    database: str
    server_version: str
    dump_format: str
    compression: str
    kms_key_id: str
    schema_sha256: str  # of a schema-only dump in the same snapshot: a schema change makes a new dump
    tables: dict[str, TableCheck]
    properties: dict[str, str] = field(default_factory=dict)  # encoding, collation: how to create the target
    dump_sha256: str = ""
    dump_bytes: int = 0
    object_bytes: int = 0
    object_etag: str = ""
    created_at: str = ""
    version: int = MANIFEST_VERSION

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes, name: str) -> Manifest:
        try:
            doc = json.loads(data)
            if doc.get("version") != MANIFEST_VERSION:
                raise ValueError(f"version {doc.get('version')!r}, expected {MANIFEST_VERSION}")
            doc["tables"] = {k: TableCheck(int(v["rows"]), str(v["hash"])) for k, v in doc["tables"].items()}
            return cls(**doc)
        except (ValueError, KeyError, TypeError) as exc:
            raise NativeDumpError(f"{name}: the manifest is not readable ({exc}); run the dump again") from None

    def differences(self, other: Manifest) -> list[str]:
        """Why a new dump described by `other` would not hold the same data as this one (empty: it would).
        The dump bytes themselves differ run to run (pg_dump stamps the time): they are not compared."""
        out = [
            f"{k.replace('_', ' ')} {getattr(self, k)!r} → {getattr(other, k)!r}"
            for k in ("engine", "database", "dump_format", "compression")
            if getattr(self, k) != getattr(other, k)
        ]
        if not _same_key(self.kms_key_id, other.kms_key_id):
            out.append(f"KMS key {self.kms_key_id} → {other.kms_key_id}")
        if self.schema_sha256 != other.schema_sha256:
            out.append("the schema changed")
        return out + _differences(self.tables, other.tables)

    def same_source(self, other: Manifest) -> bool:
        """Would a new dump hold the same data?"""
        return not self.differences(other)


@dataclass
class DumpResult:
    key: str
    manifest_key: str
    bytes: int  # stored (encrypted, compressed) object
    dump_bytes: int  # plaintext dump
    sha256: str  # of the plaintext dump
    rows: dict[str, int]
    changed: bool
    seconds: float = 0.0


@dataclass
class RestoreResult:
    database: str
    key: str
    rows: dict[str, int]
    sha256: str
    bytes: int  # plaintext dump restored (0 when nothing changed)
    changed: bool
    verified: bool = True
    seconds: float = 0.0


@dataclass
class SourceState:
    """What a dumper saw in its snapshot, before dumping."""

    snapshot: str
    server_version: str
    schema_sha256: str
    tables: dict[str, TableCheck]
    properties: dict[str, str]


class Dumper(Protocol):
    engine: str
    dump_format: str
    database: str

    def capture(self) -> contextlib.AbstractContextManager[SourceState]:
        """Hold a consistent snapshot open; the state is computed inside it."""

    def open_dump(self, state: SourceState) -> contextlib.AbstractContextManager[BinaryIO]:
        """The dump of that snapshot as a byte stream; raises on leaving when the tool failed."""


class Restorer(Protocol):
    engine: str
    database: str  # the target's name
    # False: the engine cannot rename a database (MySQL): a non-empty target that differs from the dump is
    # refused even with overwrite, since it could only be dropped before its replacement is verified.
    can_replace: bool

    def exists(self) -> bool: ...
    def is_empty(self) -> bool: ...
    def checks(self, database: str | None = None) -> dict[str, TableCheck]: ...
    def create_staging(self, manifest: Manifest, note: str) -> str: ...
    def open_restore(self, staging: str) -> contextlib.AbstractContextManager[BinaryIO]: ...
    def promote(self, staging: str) -> None: ...
    def drop_staging(self, staging: str) -> None: ...


class Tool:
    """A client tool as a child process; stderr is kept in memory (it may quote row data: no file)."""

    def __init__(
        self, argv: list[str], env: dict[str, str] | None, stdin: bool, what: str, pass_fds: tuple[int, ...] = ()
    ) -> None:
        self.what = what
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if stdin else subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            pass_fds=pass_fds,  # e.g. a pipe carrying the client's option file (password): nothing on disk
        )
        self._err = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._err += line
            del self._err[:-8192]

    def stderr(self) -> str:
        self._reader.join(timeout=10)
        return self._err.decode(errors="replace").strip()

    def wait(self) -> None:
        rc = self.proc.wait()
        if rc != 0:
            raise NativeDumpError(f"{self.what} failed (exit {rc}): {self.stderr()[-2000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


# ---------------------------------------------------------------------------------------------- compression


class _Codec(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


def _compressor(kind: str) -> _Codec:
    if kind == "gzip":
        return zlib.compressobj(6, zlib.DEFLATED, 31)
    if kind == "zstd":
        try:
            import zstandard
        except ImportError:
            raise ConfigError(
                "compress='zstd' needs the zstandard package (pip install zstandard), or pass 'gzip'"
            ) from None
        return zstandard.ZstdCompressor(level=3).compressobj()
    raise ConfigError(f"compress={kind!r} is not one of {', '.join(COMPRESSIONS)}")


class _Decompressor:
    def __init__(self, kind: str, name: str) -> None:
        self.name = name
        if kind == "gzip":
            self._d: Any = zlib.decompressobj(31)
        elif kind == "zstd":
            import zstandard

            self._d = zstandard.ZstdDecompressor().decompressobj()
        else:
            raise NativeDumpError(f"{name}: the manifest names compression {kind!r}; dbshift reads {COMPRESSIONS}")

    def update(self, data: bytes) -> bytes:
        try:
            return self._d.decompress(data)
        except Exception as exc:  # zlib.error / zstandard.ZstdError: the authenticated stream does not decompress
            raise NativeDumpError(f"{self.name}: the decrypted stream does not decompress ({exc})") from None

    def finish(self) -> None:
        if not self._d.eof or self._d.unused_data:
            raise NativeDumpError(f"{self.name}: the compressed dump ends early or has trailing bytes; dump again")


# ---------------------------------------------------------------------------------------------- S3


class _MultipartWriter:
    """Parts are uploaded by a few threads while the dump goes on; at most a few parts are in memory.
    Nothing is visible under the key until complete(); abort() discards the parts."""

    def __init__(
        self, s3: Any, bucket: str, key: str, kms_key_id: str, metadata: dict[str, str], part_size: int = PART
    ) -> None:
        self.s3, self.bucket, self.key, self.part_size = s3, bucket, key, part_size
        # SSE-KMS as well: dump buckets deny uploads without it (dr_target's bucket policy).
        self.upload_id = s3.create_multipart_upload(
            Bucket=bucket,
            Key=key,
            ContentType="application/octet-stream",
            Metadata=metadata,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=kms_key_id,
        )["UploadId"]
        self._buf = bytearray()
        self._pool = ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="dump-upload")
        self._slots = threading.BoundedSemaphore(UPLOAD_THREADS + 1)
        self._parts: list[Future[dict[str, Any]]] = []
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self._buf += data
        while len(self._buf) >= self._part_size():
            size = self._part_size()
            self._submit(bytes(self._buf[:size]))
            del self._buf[:size]

    def _part_size(self) -> int:
        return self.part_size << (len(self._parts) // 2000)

    def _submit(self, body: bytes) -> None:
        for done in [f for f in self._parts if f.done()]:
            done.result()  # surface a failed part now, not at the end
        self._slots.acquire()
        number = len(self._parts) + 1
        self.bytes += len(body)
        self._parts.append(self._pool.submit(self._upload, number, body))

    def _upload(self, number: int, body: bytes) -> dict[str, Any]:
        try:
            resp = self.s3.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
            )
            return {"PartNumber": number, "ETag": resp["ETag"]}
        finally:
            self._slots.release()

    def complete(self) -> str:
        if self._buf or not self._parts:
            self._submit(bytes(self._buf))
            self._buf.clear()
        parts = [f.result() for f in self._parts]
        self._pool.shutdown()
        resp = self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": parts}
        )
        return str(resp["ETag"])

    def abort(self) -> None:
        self._pool.shutdown(cancel_futures=True)
        with contextlib.suppress(Exception):
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


def _same_key(a: str, b: str) -> bool:
    return a.rsplit("/", 1)[-1] == b.rsplit("/", 1)[-1] or a == b


def preflight(s3: Any, kms: Any, bucket: str, kms_key_id: str, region: str) -> str:
    """The KMS key and the bucket are usable and in the target region; returns the key's ARN.
    Checked before the database is read or anything is uploaded."""
    from botocore.exceptions import BotoCoreError, ClientError

    require_key_in_region(kms_key_id, region, "kms_key_id")  # before KMS is asked: a clear message
    try:
        meta = kms.describe_key(KeyId=kms_key_id)["KeyMetadata"]
    except ClientError as exc:
        raise ConfigError(
            f"kms_key_id {kms_key_id}: KMS in {region} answers {error_code(exc)} "
            f"({exc.response['Error'].get('Message', '')}); "
            f"pass the id, ARN or alias of a key in {region} that this role may describe and use"
        ) from None
    except BotoCoreError as exc:
        raise ConfigError(f"kms_key_id {kms_key_id}: KMS in {region} cannot be reached: {exc}") from None
    problems = []
    if meta.get("KeyState") != "Enabled":
        problems.append(f"state {meta.get('KeyState')} (enable it)")
    if meta.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        problems.append(f"usage {meta.get('KeyUsage')} (needs ENCRYPT_DECRYPT)")
    spec = meta.get("KeySpec") or meta.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT":
        problems.append(f"spec {spec} (needs SYMMETRIC_DEFAULT)")
    if problems:
        raise ConfigError(f"kms_key_id {kms_key_id} cannot wrap a data key: {'; '.join(problems)}")
    try:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    except ClientError as exc:
        raise ConfigError(
            f"bucket {bucket}: S3 answers {error_code(exc)}; create the target region's dump bucket "
            "(terraform/modules/dr_target) or pass its name"
        ) from None
    location = {"EU": "eu-west-1"}.get(location, location)
    if location != region:
        raise ConfigError(
            f"bucket {bucket} is in region {location}, not the target region {region}: pass the dump bucket of {region}"
        )
    return str(meta.get("Arn") or kms_key_id)


def _read_manifest(s3: Any, kms: Any, bucket: str, key: str) -> Manifest | None:
    from botocore.exceptions import ClientError

    name = f"s3://{bucket}/{key}{MANIFEST_SUFFIX}"
    try:
        blob = s3.get_object(Bucket=bucket, Key=key + MANIFEST_SUFFIX)["Body"].read()
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise NativeDumpError(f"{name}: cannot read the manifest ({error_code(exc)})") from None
    return Manifest.from_json(envelope_stream.decrypt_bytes(kms, name, blob), name)


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return s3.head_object(Bucket=bucket, Key=key)  # type: ignore[no-any-return]
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def _context(bucket: str, key: str) -> dict[str, str]:
    # KMS encryption context: logged by CloudTrail with every use of the key; binds the data key to the object.
    return {"dbshift:purpose": "native-dump", "dbshift:object": f"s3://{bucket}/{key}"}


# ---------------------------------------------------------------------------------------------- dump


@dataclass
class DumpPlan:
    """What dump() does or would do, decided from reads only: the manifest in S3 against the source now."""

    key: str
    would_dump: bool
    reason: str
    # The manifest the object has (nothing to dump) or would have after the dump (its checks: the source's now).
    manifest: Manifest
    rows: dict[str, int]
    replaces: bool = False  # a manifest of an earlier dump is there and would be replaced


def dump_decision(
    old: Manifest | None, new: Manifest, head: Callable[[], Mapping[str, Any] | None], name: str
) -> tuple[bool, str]:
    """(dump?, why): the one decision behind dump() and plan_dump(). `head` reads the object's metadata."""
    if old is None:
        return True, f"{name}: no manifest (no finished dump)"
    diff = old.differences(new)
    if diff:
        return True, f"{name}: the source differs from the dump ({'; '.join(diff[:5])})"
    found = head()
    if not found or found["ContentLength"] != old.object_bytes or found["ETag"] != old.object_etag:
        return True, f"{name}: the object is missing or does not match its manifest (ETag/size)"
    return False, f"{name} holds the source's data already (row counts, content hashes and schema match)"


def _check_inputs(key: str, compress: str) -> None:
    if key.endswith(MANIFEST_SUFFIX) or not key or key.endswith("/"):
        raise ConfigError(f"key {key!r}: pass an object name (not ending in / or {MANIFEST_SUFFIX})")
    _compressor(compress)  # validates the choice (and the zstandard import) before anything runs


@contextlib.contextmanager
def _planned(
    dumper: Dumper, bucket: str, key: str, kms_key_id: str, aws: AwsConfig, compress: str
) -> Iterator[tuple[SourceState, DumpPlan]]:
    """Preflight, then the source's state in its snapshot (held open while the caller dumps) and the decision.
    Reads only: KMS DescribeKey, S3 GetBucketLocation/GetObject/HeadObject, the source in a read-only snapshot."""
    _check_inputs(key, compress)
    s3, kms = client("s3", aws), client("kms", aws)
    key_arn = preflight(s3, kms, bucket, kms_key_id, aws.resolved_region())
    with dumper.capture() as state:
        manifest = Manifest(
            engine=dumper.engine,
            database=dumper.database,
            server_version=state.server_version,
            dump_format=dumper.dump_format,
            compression=compress,
            kms_key_id=key_arn,
            schema_sha256=state.schema_sha256,
            tables=state.tables,
            properties=state.properties,
        )
        old = _read_manifest(s3, kms, bucket, key)
        would, reason = dump_decision(old, manifest, lambda: _head(s3, bucket, key), f"s3://{bucket}/{key}")
        rows = {t: c.rows for t, c in state.tables.items()}
        chosen = manifest if would or old is None else old
        yield state, DumpPlan(key, would, reason, chosen, rows, replaces=old is not None)


def plan_dump(
    dumper: Dumper, bucket: str, key: str, kms_key_id: str, aws: AwsConfig, compress: str = "zstd"
) -> DumpPlan:
    """What dump() would do, without writing anything: the same preflight, snapshot and decision."""
    with _planned(dumper, bucket, key, kms_key_id, aws, compress) as (_, plan):
        return plan


def dump(
    dumper: Dumper,
    bucket: str,
    key: str,
    kms_key_id: str,
    aws: AwsConfig,
    compress: str = "zstd",
    progress: TextIO | None = None,
    part_size: int = PART,
) -> DumpResult:
    """Dump `dumper.database` to s3://bucket/key in aws.region, encrypted under `kms_key_id` (a key of
    that region). Re-running with the same data changes nothing (changed=False, no upload)."""
    started = time.monotonic()
    s3, kms = client("s3", aws), client("kms", aws)
    with _planned(dumper, bucket, key, kms_key_id, aws, compress) as (state, plan):
        manifest, rows = plan.manifest, plan.rows
        if not plan.would_dump:
            took = time.monotonic() - started
            return DumpResult(key, key + MANIFEST_SUFFIX, manifest.object_bytes, manifest.dump_bytes,
                              manifest.dump_sha256, rows, changed=False, seconds=took)  # fmt: skip
        key_arn = manifest.kms_key_id
        if plan.replaces:
            # The manifest goes first: an object without one is incomplete, and restore refuses it.
            s3.delete_object(Bucket=bucket, Key=key + MANIFEST_SUFFIX)
        bar = Progress(progress, f"native dump {dumper.database}", 1, "dumps")
        sha = hashlib.sha256()
        comp = _compressor(compress)
        enc = envelope_stream.new_encryptor(kms, key_arn, _context(bucket, key))
        meta = {"dbshift-envelope": "aes-256-gcm-frames-v1", "dbshift-kms-key-id": key_arn}
        writer = _MultipartWriter(s3, bucket, key, key_arn, meta, part_size)
        try:
            writer.write(enc.start())
            with dumper.open_dump(state) as stream:
                while block := stream.read(READ):
                    sha.update(block)
                    bar.add(nbytes=len(block))
                    packed = comp.compress(block)
                    if packed:
                        writer.write(enc.update(packed))
            writer.write(enc.update(comp.flush()) + enc.finish())
            etag = writer.complete()
        except BaseException:
            writer.abort()
            raise
        finally:
            del enc  # the data key goes with it
    bar.unit_done()
    bar.close(note=f", stored {writer.bytes / 1e6:.1f} MB encrypted")
    manifest.dump_sha256, manifest.dump_bytes = sha.hexdigest(), bar.bytes
    manifest.object_bytes, manifest.object_etag = writer.bytes, etag
    manifest.created_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    blob = envelope_stream.encrypt_bytes(kms, key_arn, _context(bucket, key + MANIFEST_SUFFIX), manifest.to_json())
    s3.put_object(
        Bucket=bucket, Key=key + MANIFEST_SUFFIX, Body=blob, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn,
        Metadata={"dbshift-envelope": "aes-256-gcm-frames-v1", "dbshift-object": key},
    )  # fmt: skip
    return DumpResult(key, key + MANIFEST_SUFFIX, writer.bytes, manifest.dump_bytes, manifest.dump_sha256, rows,
                      changed=True, seconds=time.monotonic() - started)  # fmt: skip


# ---------------------------------------------------------------------------------------------- restore


def _differences(want: Mapping[str, TableCheck], got: Mapping[str, TableCheck]) -> list[str]:
    out = []
    for table in sorted(set(want) | set(got)):
        w, g = want.get(table), got.get(table)
        if w is None:
            out.append(f"{table}: not in the dump")
        elif g is None:
            out.append(f"{table}: missing")
        elif w.rows != g.rows:
            out.append(f"{table}: {g.rows} rows, the dump has {w.rows}")
        elif w.hash != g.hash:
            out.append(f"{table}: content hash differs ({w.rows} rows)")
    return out


@dataclass
class RestorePlan:
    """What restore() does or would do, decided from reads only: the target against the manifest."""

    database: str
    key: str
    would_restore: bool
    reason: str
    rows: dict[str, int]


def restore_decision(
    restorer: Restorer, manifest: Manifest, name: str, create_database: bool, overwrite: bool
) -> tuple[bool, str]:
    """(restore?, why): the one decision behind restore() and plan_restore(); reads the target only, and
    raises what the restore would refuse."""
    target = restorer.database
    if restorer.engine != manifest.engine:
        raise ConfigError(f"{name} is a {manifest.engine} dump; the target is {restorer.engine}")
    if not restorer.exists():
        if not create_database:
            raise ConfigError(f"target database {target!r} does not exist; create it or pass create_database=True")
        return True, f"target database {target!r} does not exist: it is created and restored from {name}"
    if restorer.is_empty():
        return True, f"target database {target!r} is empty: it is restored from {name}"
    diff = _differences(manifest.tables, restorer.checks())
    if not diff:
        return False, f"target database {target!r} holds the dump's data already (row counts and content hashes)"
    if not restorer.can_replace:
        raise NativeDumpError(
            f"target database {target!r} is not empty and differs from {name}; {restorer.engine} "
            "cannot rename a database, so it could only be dropped before its replacement is verified: "
            "restore under another target_database, or drop it yourself and run again"
        )
    if not overwrite:
        raise NativeDumpError(
            f"target database {target!r} is not empty and differs from {name}; pass overwrite=True "
            "to replace it (it is replaced only after the restored copy verifies), or choose another name"
        )
    return True, f"target database {target!r} differs from {name} ({'; '.join(diff[:5])}): it is replaced"


def _stored_manifest(s3: Any, kms: Any, bucket: str, key: str) -> Manifest:
    """The manifest of a finished dump whose object is the one it describes; raises otherwise."""
    name = f"s3://{bucket}/{key}"
    manifest = _read_manifest(s3, kms, bucket, key)
    if manifest is None:
        raise NativeDumpError(
            f"{name}: no manifest ({key}{MANIFEST_SUFFIX}): the dump is missing or did not finish; run the dump again"
        )
    head = _head(s3, bucket, key)
    if head is None or head["ETag"] != manifest.object_etag or head["ContentLength"] != manifest.object_bytes:
        raise NativeDumpError(
            f"{name}: the object does not match its manifest (ETag/size); it was replaced or is being written: "
            "run the dump again"
        )
    return manifest


def plan_restore(
    restorer: Restorer,
    bucket: str,
    key: str,
    aws: AwsConfig,
    create_database: bool = False,
    overwrite: bool = False,
    manifest: Manifest | None = None,
) -> RestorePlan:
    """What restore() would do, without writing anything. `manifest`: the one a dump about to run would
    write (DumpPlan.manifest); without it, the manifest in S3 is read and checked as restore() does."""
    if manifest is None:
        manifest = _stored_manifest(client("s3", aws), client("kms", aws), bucket, key)
    would, reason = restore_decision(restorer, manifest, f"s3://{bucket}/{key}", create_database, overwrite)
    return RestorePlan(restorer.database, key, would, reason, {t: c.rows for t, c in manifest.tables.items()})


def plan_dump_restore(
    dumper: Dumper,
    restorer: Restorer,
    bucket: str,
    key: str,
    kms_key_id: str,
    aws: AwsConfig,
    compress: str = "zstd",
    create_database: bool = False,
    overwrite: bool = False,
) -> tuple[DumpPlan, RestorePlan]:
    """What dump() then restore() would do: the restore is judged against the manifest the dump leaves."""
    dumped = plan_dump(dumper, bucket, key, kms_key_id, aws, compress)
    return dumped, plan_restore(restorer, bucket, key, aws, create_database, overwrite, dumped.manifest)


def restore(
    restorer: Restorer,
    bucket: str,
    key: str,
    aws: AwsConfig,
    create_database: bool = False,
    overwrite: bool = False,
    progress: TextIO | None = None,
) -> RestoreResult:
    """Restore the dump at s3://bucket/key into `restorer.database` and verify it against the manifest.

    The target is replaced only by a verified copy: the restore runs into a staging database that takes
    the target's name when counts and hashes match. A non-empty target is refused unless `overwrite`
    (and the engine can replace a database); a target that already holds exactly the dump's data is left
    alone (changed=False)."""
    target_database = restorer.database
    started = time.monotonic()
    name = f"s3://{bucket}/{key}"
    s3, kms = client("s3", aws), client("kms", aws)
    manifest = _stored_manifest(s3, kms, bucket, key)
    rows = {t: c.rows for t, c in manifest.tables.items()}
    would, _ = restore_decision(restorer, manifest, name, create_database, overwrite)
    if not would:
        return RestoreResult(target_database, key, rows, manifest.dump_sha256, 0, changed=False,
                             seconds=time.monotonic() - started)  # fmt: skip

    staging = restorer.create_staging(manifest, name)
    bar = Progress(progress, f"native restore {target_database}", 1, "restores", total_bytes=manifest.dump_bytes)
    try:
        sha = hashlib.sha256()
        dec = envelope_stream.Decryptor(kms, name, manifest.kms_key_id)
        unz = _Decompressor(manifest.compression, name)
        body = s3.get_object(Bucket=bucket, Key=key, IfMatch=manifest.object_etag)["Body"]
        with restorer.open_restore(staging) as sink:

            def feed(sealed: bytes) -> None:
                plain = unz.update(sealed)
                if plain:
                    sha.update(plain)
                    bar.add(nbytes=len(plain))
                    sink.write(plain)

            # Only frames whose GCM tag verified reach the restore tool; the last one at finish().
            for chunk in body.iter_chunks(READ):
                feed(dec.update(chunk))
            feed(dec.finish())
            unz.finish()
            if sha.hexdigest() != manifest.dump_sha256:
                raise NativeDumpError(f"{name}: the restored dump's sha256 differs from the manifest's; dump again")
        diff = _differences(manifest.tables, restorer.checks(staging))
        if diff:
            raise NativeDumpError(
                f"{name}: the restored copy does not match the source ({'; '.join(diff[:10])}); "
                f"{target_database!r} was not changed"
            )
        restorer.promote(staging)
    except BaseException:
        with contextlib.suppress(Exception):
            restorer.drop_staging(staging)
        raise
    bar.unit_done()
    bar.close()
    return RestoreResult(target_database, key, rows, manifest.dump_sha256, bar.bytes, changed=True,
                         seconds=time.monotonic() - started)  # fmt: skip
