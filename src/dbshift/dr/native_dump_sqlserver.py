"""DR option D, native dump, for RDS for SQL Server: rds_backup_database → cross-Region copy → rds_restore_database.

SQL Server on RDS has no client-side dump tool: the instance writes its native backup to S3 itself, and RDS
requires that bucket to be in the instance's own Region. So the steps are:

1. backup (source Region): msdb.dbo.rds_backup_database @type='FULL' to s3://source_bucket/key with
   @kms_master_key_arn = a source-Region key: RDS encrypts the .bak on the instance (S3 encryption-client
   format: AES-256-CBC under a data key that KMS wraps, in the object's x-amz-key-v2 metadata), so it is
   encrypted before it leaves the host. Waited for with rds_task_status. Per table, the row count and
   SUM(CHECKSUM(*)) are read before and after the task: a table that changed meanwhile fails the step
   ("stop writes, run again"), since the checks could not be held against the backup.
2. copy (source → target Region): the data key is unwrapped by the source Region's KMS and wrapped again
   under the target-Region key (encryption context {"kms_cmk_id": key ARN}, as RDS writes it); the object is
   copied server side (CopyObject / UploadPartCopy over TLS, its ciphertext never passes through dbshift)
   with the new key metadata and SSE-KMS under the target key. A manifest (envelope-encrypted, as the other
   engines' manifests: table names are data) records the counts and the copy's ETag.
3. restore (target Region only): msdb.dbo.rds_restore_database on the target instance with the target key,
   waited for, then row counts and checksums compared with the manifest. A restore that does not match is dropped.
   rds_restore_database cannot overwrite: an existing target database that differs is refused.

Reruns: an unchanged source whose copy and manifest are in place is not backed up again; a target database
that matches the manifest is left alone; a backup or restore task of an interrupted run is waited for
rather than started twice.

DSN (runbook.native_dump): mssql://LOGIN:PASSWORD@HOST:PORT[/DATABASE] connects over TDS (pymssql) with
SQL authentication, as to the RDS endpoint. Library callers may pass any SqlSession (e.g. WinRM) instead.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from dbshift.aws.clients import AwsConfig, client
from dbshift.dr import envelope_stream
from dbshift.dr import native_dump_core as core
from dbshift.dr.native_dump_core import Manifest, NativeDumpError, TableCheck
from dbshift.dr.waits import wait_until
from dbshift.errors import ConfigError, DbshiftError
from dbshift.tsql.result import ResultSet, SqlError, SqlResult
from dbshift.tsql.session import SqlSession

SCHEMES = ("mssql", "sqlserver")
DEFAULT_PORT = 1433
DUMP_FORMAT = "rds-native-backup"
ACTIVE = ("CREATED", "IN_PROGRESS", "CANCEL_REQUESTED")
KEY_METADATA = ("x-amz-key-v2", "x-amz-iv", "x-amz-matdesc")


@dataclass(frozen=True)
class Locations:
    """Where each step reads and writes. The key is the same in both buckets."""

    database: str
    target_database: str
    source_region: str
    source_bucket: str
    source_kms_key_arn: str
    target_region: str
    target_bucket: str
    target_kms_key_arn: str
    key: str

    def source_url(self) -> str:
        return f"s3://{self.source_bucket}/{self.key}"

    def target_url(self) -> str:
        return f"s3://{self.target_bucket}/{self.key}"


@dataclass
class StepResult:
    changed: bool
    rows: dict[str, int]
    task_id: int | None = None
    steps: list[str] = field(default_factory=list)


@dataclass
class SqlServerDumpResult:
    changed: bool
    source_object: str
    target_object: str
    rows: dict[str, int]
    backup_task_id: int | None
    restore_task_id: int | None
    steps: list[str]


# ---------------------------------------------------------------------------------------------- sessions


@dataclass
class TdsSession:
    """SqlSession over TDS (pymssql): one connection per batch; RDS procedures are called seconds apart."""

    host_port: str
    login: str
    password: str = field(repr=False)
    default_database: str = "master"

    @property
    def server_instance(self) -> str:
        return self.host_port

    def execute(self, sql: str, database: str | None = None, timeout: int | None = None) -> SqlResult:
        from dbshift.tsql.tds import connect_tds

        with connect_tds(self.host_port, self.login, self.password, database or self.default_database) as conn:
            columns, rows = conn.query(sql)
        return SqlResult(result_sets=[ResultSet(columns, [list(r) for r in rows])] if columns else [])

    def close(self) -> None:
        """Nothing held open between batches."""


def parse_dsn(dsn: str) -> TdsSession:
    parts = urlsplit(dsn)
    if parts.scheme not in SCHEMES or not parts.hostname or not parts.username:
        raise ConfigError(
            "SQL Server DSN is not of the form mssql://LOGIN:PASSWORD@HOST:PORT[/DATABASE] "
            f"(scheme {parts.scheme or 'missing'!r})"
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ConfigError("SQL Server DSN: the port is not a number; use mssql://LOGIN:PASSWORD@HOST:1433") from None
    return TdsSession(
        f"{parts.hostname}:{port}",
        unquote(parts.username),
        unquote(parts.password or ""),
        unquote(parts.path.lstrip("/")) or "master",
    )


@contextlib.contextmanager
def session_from_dsn(dsn: str) -> Iterator[TdsSession]:
    yield parse_dsn(dsn)


def answers(dsn: str, database: str | None = None) -> bool:
    """Does the database answer? (auto's probe for option D)"""
    try:
        parse_dsn(dsn).execute("SELECT 1 AS one", database)
        return True
    except Exception:  # any failure to connect means "does not answer" for the choice
        return False


def _str(value: str) -> str:
    return "N'" + value.replace("'", "''") + "'"


def _name(value: str) -> str:
    return "[" + value.replace("]", "]]") + "]"


def _arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


# ---------------------------------------------------------------------------------------------- database


def database_exists(session: SqlSession, database: str) -> bool:
    rows = session.execute(f"SELECT name FROM sys.databases WHERE name = {_str(database)}").rows
    return bool(rows)


# CHECKSUM() refuses these ("noncomparable") types; such columns are left out of the checksum.
NONCOMPARABLE = frozenset({"text", "ntext", "image", "xml", "sql_variant", "geography", "geometry", "hierarchyid"})


def table_checks(session: SqlSession, database: str) -> dict[str, TableCheck]:
    """Rows and SUM(CHECKSUM(columns)) of every user table ("schema.table"), computed by the server in one
    statement. The columns are named (not CHECKSUM(*)) so that noncomparable ones can be left out; if the
    server still refuses, counts alone are compared (hash "")."""
    try:
        rows = session.execute(
            "SELECT s.name AS s, t.name AS t, c.name AS c, ty.name AS d FROM sys.tables t "
            "JOIN sys.schemas s ON s.schema_id = t.schema_id JOIN sys.columns c ON c.object_id = t.object_id "
            "JOIN sys.types ty ON ty.user_type_id = c.user_type_id ORDER BY s.name, t.name, c.column_id",
            database,
        ).rows
    except SqlError as exc:
        raise NativeDumpError(f"SQL Server database {database!r} on {session.server_instance}: {exc}") from None
    tables: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        cols = tables.setdefault((r["s"], r["t"]), [])
        if str(r["d"]).lower() not in NONCOMPARABLE:
            cols.append(_name(r["c"]))
    if not tables:
        return {}

    def union(with_hash: bool) -> str:
        parts = []
        for (schema, table), cols in tables.items():
            digest = f"SUM(CAST(CHECKSUM({', '.join(cols)}) AS BIGINT))" if with_hash and cols else "NULL"
            parts.append(
                f"SELECT {_str(schema + '.' + table)} AS t, COUNT_BIG(*) AS n, {digest} AS h "
                f"FROM {_name(schema)}.{_name(table)}"
            )
        return " UNION ALL ".join(parts)

    try:
        result = session.execute(union(True), database).rows
    except SqlError:
        result = session.execute(union(False), database).rows
    return {str(r["t"]): TableCheck(int(r["n"]), "" if r["h"] is None else str(r["h"])) for r in result}


def _task(session: SqlSession, task_id: int) -> dict[str, Any]:
    rows = session.execute(f"EXEC msdb.dbo.rds_task_status @task_id={int(task_id)};").rows
    row = next((r for r in rows if int(r["task_id"]) == int(task_id)), None)
    if row is None:
        raise DbshiftError(f"RDS task {task_id} is not listed by rds_task_status on {session.server_instance}")
    return row


def _running_task(session: SqlSession, task_type: str, database: str, arn: str) -> int | None:
    """An unfinished task of an earlier, interrupted run doing the same thing: waited for, not repeated."""
    for row in session.execute("EXEC msdb.dbo.rds_task_status;").rows:
        if (
            row.get("lifecycle") in ACTIVE
            and row.get("task_type") == task_type
            and str(row.get("database_name") or "").lower() == database.lower()
            and row.get("S3_object_arn") == arn
        ):
            return int(row["task_id"])
    return None


def _submit(session: SqlSession, proc: str, args: list[str], what: str) -> int:
    try:
        rows = session.execute(f"EXEC msdb.dbo.{proc} " + ", ".join(args) + ";").rows
    except SqlError as exc:
        raise NativeDumpError(f"{what}: {proc} on {session.server_instance} failed: {exc}") from None
    if not rows or rows[0].get("task_id") is None:
        raise NativeDumpError(
            f"{what}: {proc} returned no task_id; check the instance's option group (SQLSERVER_BACKUP_RESTORE)"
        )
    return int(rows[0]["task_id"])


def _wait(session: SqlSession, task_id: int, what: str, timeout: float, poll: float) -> dict[str, Any]:
    return wait_until(
        lambda: _task(session, task_id),
        lambda row: row.get("lifecycle") == "SUCCESS",
        lambda row: (
            f"{row.get('lifecycle')}: {str(row.get('task_info') or '').strip()[-1500:]}"
            if row.get("lifecycle") in ("ERROR", "CANCELLED")
            else None
        ),
        f"RDS task {task_id} ({what}) on {session.server_instance}",
        timeout,
        poll,
        state=lambda row: f"{row.get('lifecycle')} {row.get('% complete')}%",
    )


def _changed(before: dict[str, TableCheck], after: dict[str, TableCheck]) -> list[str]:
    return core._differences(before, after)


# ---------------------------------------------------------------------------------------------- steps


def _rows(checks: dict[str, TableCheck]) -> dict[str, int]:
    return {t: c.rows for t, c in checks.items()}


@dataclass
class _Aws:
    """Both Regions' clients and the keys' ARNs, checked (core.preflight) before the instance does anything."""

    src_s3: Any
    src_kms: Any
    tgt_s3: Any
    tgt_kms: Any
    source_arn: str
    target_arn: str


def _preflight(loc: Locations, endpoint_url: str | None) -> _Aws:
    src_aws = AwsConfig(region=loc.source_region, endpoint_url=endpoint_url)
    tgt_aws = AwsConfig(region=loc.target_region, endpoint_url=endpoint_url)
    tgt_s3, tgt_kms = client("s3", tgt_aws), client("kms", tgt_aws)
    src_s3, src_kms = client("s3", src_aws), client("kms", src_aws)
    if loc.key.endswith((core.MANIFEST_SUFFIX, "/")) or not loc.key:
        raise ConfigError(f"key {loc.key!r}: pass an object name (not ending in / or {core.MANIFEST_SUFFIX})")
    target_arn = core.preflight(tgt_s3, tgt_kms, loc.target_bucket, loc.target_kms_key_arn, loc.target_region)
    source_arn = core.preflight(src_s3, src_kms, loc.source_bucket, loc.source_kms_key_arn, loc.source_region)
    return _Aws(src_s3, src_kms, tgt_s3, tgt_kms, source_arn, target_arn)


def copy_decision(
    old: Manifest | None, loc: Locations, before: dict[str, TableCheck], head: Callable[[], dict[str, Any] | None]
) -> tuple[bool, str]:
    """(back up and copy?, why): the one decision behind backup_and_copy() and plan_native_dump()."""
    url = loc.target_url()
    if old is None:
        return True, f"{url}: no manifest (no finished copy)"
    if old.database != loc.database:
        return True, f"{url}: the manifest is of database {old.database!r}"
    diff = _changed(old.tables, before)
    if diff:
        return True, f"{url}: the source differs from the backup ({'; '.join(diff[:5])})"
    found = head()
    if not found or found["ETag"] != old.object_etag or found["ContentLength"] != old.object_bytes:
        return True, f"{url}: the object is missing or does not match its manifest (ETag/size)"
    return False, f"{url} holds this data already"


def backup_and_copy(
    source: SqlSession, loc: Locations, endpoint_url: str | None = None, timeout: float = 3600, poll: float = 5
) -> StepResult:
    """Steps 1 and 2: the native backup in the source Region, copied to the target Region re-encrypted."""
    aws = _preflight(loc, endpoint_url)  # everything is checked before the instance is asked to do anything
    tgt_s3, tgt_kms, src_s3, src_kms = aws.tgt_s3, aws.tgt_kms, aws.src_s3, aws.src_kms
    target_arn, source_arn = aws.target_arn, aws.source_arn
    before = table_checks(source, loc.database)

    old = core._read_manifest(tgt_s3, tgt_kms, loc.target_bucket, loc.key)
    would, why = copy_decision(old, loc, before, lambda: core._head(tgt_s3, loc.target_bucket, loc.key))
    if not would:
        return StepResult(False, _rows(before), steps=[why])
    if old is not None:  # the manifest goes first: a copy without one is incomplete, and restore refuses it
        tgt_s3.delete_object(Bucket=loc.target_bucket, Key=loc.key + core.MANIFEST_SUFFIX)

    what = f"backup of {loc.database!r} to {loc.source_url()}"
    arn = _arn(loc.source_bucket, loc.key)
    task_id = _running_task(source, "BACKUP_DB", loc.database, arn)
    if task_id is None:
        args = [
            f"@source_db_name={_str(loc.database)}",
            f"@s3_arn_to_backup_to={_str(arn)}",
            f"@kms_master_key_arn={_str(source_arn)}",
            "@overwrite_s3_backup_file=1",  # this run's backup replaces an older one under the same key
            "@type='FULL'",
        ]
        task_id = _submit(source, "rds_backup_database", args, what)
    _wait(source, task_id, what, timeout, poll)
    after = table_checks(source, loc.database)
    changed = _changed(before, after)
    if changed:
        raise NativeDumpError(
            f"SQL Server database {loc.database!r} changed while it was backed up ({'; '.join(changed[:10])}): the "
            "row counts cannot be held against the backup; stop writes to it and run again"
        )

    head = src_s3.head_object(Bucket=loc.source_bucket, Key=loc.key)
    meta = head.get("Metadata", {})
    if any(k not in meta for k in KEY_METADATA):
        raise NativeDumpError(
            f"{loc.source_url()} has no KMS key metadata ({', '.join(KEY_METADATA)}): it was not written by "
            "rds_backup_database with @kms_master_key_arn; remove it and run again"
        )
    new_meta = _rewrap(src_kms, tgt_kms, meta, target_arn, loc.source_url())
    # Server-side copy in the target Region; CopySourceIfMatch: exactly the object whose key was rewrapped.
    tgt_s3.copy(
        {"Bucket": loc.source_bucket, "Key": loc.key},
        loc.target_bucket,
        loc.key,
        ExtraArgs={
            "Metadata": new_meta,
            "MetadataDirective": "REPLACE",
            "ServerSideEncryption": "aws:kms",
            "SSEKMSKeyId": target_arn,
            "CopySourceIfMatch": head["ETag"],
        },
        SourceClient=src_s3,
    )
    copied = tgt_s3.head_object(Bucket=loc.target_bucket, Key=loc.key)
    if (
        copied["ContentLength"] != head["ContentLength"]
        or copied.get("Metadata", {}).get("x-amz-key-v2") != new_meta["x-amz-key-v2"]
    ):
        raise NativeDumpError(f"{loc.target_url()}: the copy does not match {loc.source_url()}; run again")
    manifest = Manifest(
        engine="sqlserver",
        database=loc.database,
        server_version="",
        dump_format=DUMP_FORMAT,
        compression="none",
        kms_key_id=target_arn,
        schema_sha256="",
        tables=before,
        properties={"source_object": loc.source_url(), "source_etag": str(head["ETag"])},
        dump_bytes=int(meta.get("x-amz-unencrypted-content-length") or 0),
        object_bytes=int(copied["ContentLength"]),
        object_etag=str(copied["ETag"]),
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    mkey = loc.key + core.MANIFEST_SUFFIX
    blob = envelope_stream.encrypt_bytes(
        tgt_kms, target_arn, core._context(loc.target_bucket, mkey), manifest.to_json()
    )
    tgt_s3.put_object(
        Bucket=loc.target_bucket, Key=mkey, Body=blob, ServerSideEncryption="aws:kms", SSEKMSKeyId=target_arn,
        Metadata={"dbshift-envelope": "aes-256-gcm-frames-v1", "dbshift-object": loc.key},
    )  # fmt: skip
    return StepResult(
        True,
        _rows(before),
        task_id,
        [
            f"rds_backup_database task {task_id} → {loc.source_url()}",
            f"copied to {loc.target_url()} under {target_arn}",
        ],
    )


def _rewrap(src_kms: Any, tgt_kms: Any, meta: dict[str, str], target_arn: str, name: str) -> dict[str, str]:
    """The object's data key, unwrapped by the source Region's KMS and wrapped under the target key."""
    from botocore.exceptions import ClientError

    try:
        context = json.loads(meta["x-amz-matdesc"])
        plain = src_kms.decrypt(CiphertextBlob=base64.b64decode(meta["x-amz-key-v2"]), EncryptionContext=context)[
            "Plaintext"
        ]
    except (ClientError, ValueError) as exc:
        raise NativeDumpError(
            f"{name}: the source Region's KMS cannot unwrap the backup's data key ({exc}); the role needs "
            "kms:Decrypt on the source key"
        ) from None
    new_context = {"kms_cmk_id": target_arn}
    try:
        wrapped = tgt_kms.encrypt(KeyId=target_arn, Plaintext=plain, EncryptionContext=new_context)["CiphertextBlob"]
    except ClientError as exc:
        raise NativeDumpError(
            f"{name}: KMS in the target Region cannot wrap the data key under {target_arn} ({exc}); the role needs "
            "kms:Encrypt on it"
        ) from None
    finally:
        del plain
    out = {k: v for k, v in meta.items() if k.startswith("x-amz-")}
    out["x-amz-key-v2"] = base64.b64encode(wrapped).decode("ascii")
    out["x-amz-matdesc"] = json.dumps(new_context, separators=(",", ":"))
    return out


def restore_decision(target: SqlSession, loc: Locations, want: dict[str, TableCheck]) -> tuple[bool, str, int | None]:
    """(restore?, why, task of an interrupted run to wait for): the one decision behind restore_and_verify() and
    plan_native_dump(); reads the target only, and raises what the restore would refuse."""
    db, name = loc.target_database, loc.target_url()
    task_id = _running_task(target, "RESTORE_DB", db, _arn(loc.target_bucket, loc.key))
    if task_id is not None:
        return True, f"rds_restore_database task {task_id} into {db!r} is under way: it is waited for", task_id
    if not database_exists(target, db):
        return True, f"target database {db!r} does not exist: it is restored from {name}", None
    diff = _changed(want, table_checks(target, db))
    if not diff:
        return False, f"{db} on {target.server_instance} holds this data already", None
    raise NativeDumpError(
        f"target database {db!r} on {target.server_instance} exists and differs from {name} "
        f"({'; '.join(diff[:5])}); rds_restore_database cannot overwrite: restore under another "
        "target_database, or drop it and run again"
    )


def restore_and_verify(
    target: SqlSession, loc: Locations, endpoint_url: str | None = None, timeout: float = 3600, poll: float = 5
) -> StepResult:
    """Step 3, in the target Region only: rds_restore_database of the copy, then row counts against the manifest."""
    tgt_aws = AwsConfig(region=loc.target_region, endpoint_url=endpoint_url)
    tgt_s3, tgt_kms = client("s3", tgt_aws), client("kms", tgt_aws)
    name = loc.target_url()
    manifest = core._read_manifest(tgt_s3, tgt_kms, loc.target_bucket, loc.key)
    if manifest is None or manifest.engine != "sqlserver":
        raise NativeDumpError(f"{name}: no SQL Server manifest ({loc.key}{core.MANIFEST_SUFFIX}): run the backup again")
    head = core._head(tgt_s3, loc.target_bucket, loc.key)
    if head is None or head["ETag"] != manifest.object_etag:
        raise NativeDumpError(f"{name}: the object does not match its manifest (ETag); run the backup again")
    want = manifest.tables
    db = loc.target_database
    arn = _arn(loc.target_bucket, loc.key)
    would, why, task_id = restore_decision(target, loc, want)
    if not would:
        return StepResult(False, _rows(want), steps=[why])
    what = f"restore of {name} into {db!r}"
    if task_id is None:
        args = [
            f"@restore_db_name={_str(db)}",
            f"@s3_arn_to_restore_from={_str(arn)}",
            f"@kms_master_key_arn={_str(manifest.kms_key_id)}",
            "@type='FULL'",
        ]
        task_id = _submit(target, "rds_restore_database", args, what)
    _wait(target, task_id, what, timeout, poll)
    diff = _changed(want, table_checks(target, db))
    if diff:
        with contextlib.suppress(SqlError):
            target.execute(f"DROP DATABASE {_name(db)};")
        raise NativeDumpError(
            f"{name}: the restored {db!r} does not match the source's row counts ({'; '.join(diff[:10])}); "
            "it was dropped"
        )
    return StepResult(
        True, _rows(want), task_id, [f"rds_restore_database task {task_id} → {db}", "row counts verified"]
    )


def native_dump(
    source: SqlSession,
    target: SqlSession,
    loc: Locations,
    endpoint_url: str | None = None,
    timeout: float = 3600,
    poll: float = 5,
) -> SqlServerDumpResult:
    """Back up, copy to the target Region re-encrypted, restore and verify (see the module's docstring)."""
    copied = backup_and_copy(source, loc, endpoint_url, timeout, poll)
    restored = restore_and_verify(target, loc, endpoint_url, timeout, poll)
    return SqlServerDumpResult(
        changed=copied.changed or restored.changed,
        source_object=loc.source_url(),
        target_object=loc.target_url(),
        rows=restored.rows,
        backup_task_id=copied.task_id,
        restore_task_id=restored.task_id,
        steps=copied.steps + restored.steps,
    )


@dataclass
class SqlServerPlan:
    """What native_dump() would do (check mode), from reads only."""

    would_copy: bool
    would_restore: bool
    rows: dict[str, int]
    steps: list[str]

    @property
    def changed(self) -> bool:
        return self.would_copy or self.would_restore


def plan_native_dump(
    source: SqlSession, target: SqlSession, loc: Locations, endpoint_url: str | None = None
) -> SqlServerPlan:
    """What native_dump() would do: the same preflight, source checks, manifest and target reads, and the same
    decisions (copy_decision, restore_decision); no task is started and nothing is written."""
    aws = _preflight(loc, endpoint_url)
    before = table_checks(source, loc.database)
    old = core._read_manifest(aws.tgt_s3, aws.tgt_kms, loc.target_bucket, loc.key)
    would_copy, why_copy = copy_decision(old, loc, before, lambda: core._head(aws.tgt_s3, loc.target_bucket, loc.key))
    if not would_copy and old is not None and old.engine != "sqlserver":
        raise NativeDumpError(f"{loc.target_url()}: no SQL Server manifest: run the backup again")
    # A copy about to be made records `before`; an unchanged one already does.
    would_restore, why_restore, _ = restore_decision(target, loc, before)
    return SqlServerPlan(
        would_copy,
        would_restore,
        _rows(before),
        [("would back up and copy: " if would_copy else "no backup: ") + why_copy,
         ("would restore: " if would_restore else "no restore: ") + why_restore],
    )  # fmt: skip
