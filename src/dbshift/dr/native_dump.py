"""DR option D, native dump, for PostgreSQL: the control plane is down but the database answers.

The engine-neutral pipeline (dump → zstd → AES-256-GCM envelope under a target-region KMS key → S3
multipart upload; restore into a staging database verified by counts and hashes) is native_dump_core;
this module is its PostgreSQL Dumper/Restorer pair and the PostgreSQL entry points dump_to_s3 /
restore_from_s3. The manifest's counts and hashes are computed in the very snapshot the dump reads
(pg_export_snapshot + pg_dump --snapshot), so counts and dump agree.

Format: pg_dump's custom format (-Fc) with its own compression off (-Z0; zstd outside is faster and
smaller). Custom over plain SQL because pg_restore can restore it in one transaction with
--exit-on-error, can drop owners/privileges at restore time (--no-owner/--no-acl: roles differ
between regions), and can later restore a subset (-L) from the same object; directory format would
allow parallel restore but is many files, not one stream. The staging database is renamed to the
target's name once verified (ALTER DATABASE ... RENAME).

Other engines: native_dump_mysql (mysqldump --single-transaction), native_dump_sqlserver
(rds_backup_database / rds_restore_database).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from dbshift.aws.clients import AwsConfig
from dbshift.dr import native_dump_core as core
from dbshift.dr.native_dump_core import (  # noqa: F401 - re-exported: the names callers and tests use
    COMPRESSIONS,
    MANIFEST_SUFFIX,
    PART,
    Dumper,
    DumpPlan,
    DumpResult,
    Manifest,
    NativeDumpError,
    RestorePlan,
    Restorer,
    RestoreResult,
    SourceState,
    TableCheck,
    Tool,
    _differences,
)
from dbshift.errors import ConfigError

# ---------------------------------------------------------------------------------------------- PostgreSQL

# Row text depends on these settings; both sides hash under the same ones.
_HASH_SETTINGS = (
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET TimeZone = 'UTC'",
    "SET extra_float_digits = 1",
    "SET bytea_output = 'hex'",
    # Hashing a large table takes a while, and the exporting session idles while pg_dump runs.
    "SET statement_timeout = 0",
    "SET idle_in_transaction_session_timeout = 0",
)
_TABLES_SQL = """
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't'
  AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
"""
_USER_OBJECTS_SQL = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
"""


def pg_bindir() -> Path:
    """pg_dump/pg_restore of the installed PostgreSQL: `pg_config --bindir` first (it names the
    version's own directory on Debian), then PATH."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "pg_dump").exists():
            return Path(out)
    found = shutil.which("pg_dump")
    if found:
        return Path(found).parent
    raise ConfigError(
        "pg_dump/pg_restore not found via pg_config --bindir or PATH: install the PostgreSQL client of the "
        "server's major version (e.g. `apt-get install postgresql-client-15`)"
    )


def _libpq(dsn: str, database: str) -> tuple[str, dict[str, str]]:
    """A conninfo for `database` without the password, and an environment carrying it (PGPASSWORD):
    a password on a command line is visible to every user of the host."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    params["dbname"] = database
    env = dict(os.environ)
    password = params.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = password
    return make_conninfo("", **params), env


def _connect(dsn: str, database: str, autocommit: bool = False) -> Any:
    import psycopg
    from psycopg.conninfo import make_conninfo

    try:
        return psycopg.connect(make_conninfo(dsn, dbname=database), autocommit=autocommit)
    except psycopg.Error as exc:
        raise NativeDumpError(f"cannot connect to PostgreSQL database {database!r}: {str(exc).strip()}") from None


def _table_checks(conn: Any) -> dict[str, TableCheck]:
    """Rows and the order-independent content hash of every user table, inside the database."""
    for stmt in _HASH_SETTINGS:
        conn.execute(stmt)
    out: dict[str, TableCheck] = {}
    for (name,) in conn.execute(_TABLES_SQL).fetchall():  # names quoted by PostgreSQL's own %I
        rows, total = conn.execute(
            f"SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text "
            f"FROM {name} AS t"
        ).fetchone()
        out[name] = TableCheck(int(rows), str(total))
    return out


@dataclass
class PostgresDumper:
    dsn: str
    database: str
    engine: str = "postgresql"
    dump_format: str = "pg_dump-custom"

    @contextlib.contextmanager
    def capture(self) -> Iterator[SourceState]:
        conn = _connect(self.dsn, self.database)
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            props = conn.execute(
                "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = %s",
                (self.database,),
            ).fetchone()
            version = conn.execute("SHOW server_version").fetchone()[0]
            tables = _table_checks(conn)
            schema = hashlib.sha256()
            with self._tool(["--schema-only", "--format=plain"], snapshot, "pg_dump --schema-only") as out:
                for line in out:
                    # pg_dump >= 15.14 fences plain dumps with \restrict <random key>: not part of the schema.
                    if not line.startswith((b"\\restrict ", b"\\unrestrict ")):
                        schema.update(line)
            yield SourceState(
                snapshot=snapshot,
                server_version=str(version),
                schema_sha256=schema.hexdigest(),
                tables=tables,
                properties={"encoding": props[0], "collate": props[1], "ctype": props[2]},
            )
        finally:
            conn.close()  # ends the transaction, and with it the exported snapshot

    def open_dump(self, state: SourceState) -> contextlib.AbstractContextManager[BinaryIO]:
        return self._tool(["--format=custom", "--compress=0"], state.snapshot, "pg_dump")

    @contextlib.contextmanager
    def _tool(self, args: list[str], snapshot: str, what: str) -> Iterator[BinaryIO]:
        conninfo, env = _libpq(self.dsn, self.database)
        argv = [str(pg_bindir() / "pg_dump"), *args, f"--snapshot={snapshot}", "--no-password", f"--dbname={conninfo}"]
        tool = Tool(argv, env, stdin=False, what=f"{what} of database {self.database!r}")
        try:
            assert tool.proc.stdout is not None
            yield tool.proc.stdout  # type: ignore[misc]
            tool.wait()
        finally:
            tool.kill()


@dataclass
class PostgresRestorer:
    dsn: str
    database: str
    no_owner: bool = False  # --no-owner --no-acl: for a target whose roles differ from the source's
    engine: str = "postgresql"
    can_replace: bool = True  # ALTER DATABASE ... RENAME swaps the verified copy in

    @property
    def _admin_db(self) -> str:
        from psycopg.conninfo import conninfo_to_dict

        own = str(conninfo_to_dict(self.dsn).get("dbname") or "postgres")
        return "postgres" if own in (self.database, self.staging_name) else own

    @property
    def staging_name(self) -> str:
        digest = hashlib.sha256(self.database.encode()).hexdigest()[:8]
        return f"{self.database[:36]}__dbshift_restore_{digest}"

    def _admin(self) -> Any:
        return _connect(self.dsn, self._admin_db, autocommit=True)

    def _db(self, name: str) -> Any:
        with self._admin() as conn:
            return conn.execute(
                "SELECT pg_get_userbyid(datdba), shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = %s",
                (name,),
            ).fetchone()

    def exists(self) -> bool:
        return self._db(self.database) is not None

    def is_empty(self) -> bool:
        with _connect(self.dsn, self.database) as conn:
            return conn.execute(_USER_OBJECTS_SQL).fetchone()[0] == 0

    def checks(self, database: str | None = None) -> dict[str, TableCheck]:
        with _connect(self.dsn, database or self.database) as conn:
            return _table_checks(conn)

    def create_staging(self, manifest: Manifest, note: str) -> str:
        import psycopg
        from psycopg import sql

        staging = self.staging_name
        left = self._db(staging)
        if left is not None:
            if not (left[1] or "").startswith("dbshift restore staging"):
                raise NativeDumpError(
                    f"database {staging!r} exists and is not a dbshift staging database; rename or drop it"
                )
            self.drop_staging(staging)  # an interrupted earlier restore: ours by its comment
        target = self._db(self.database)
        props = manifest.properties
        stmt = sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(staging))
        if props.get("encoding"):
            stmt += sql.SQL(" ENCODING {} LC_COLLATE {} LC_CTYPE {}").format(
                sql.Literal(props["encoding"]), sql.Literal(props["collate"]), sql.Literal(props["ctype"])
            )
        if target is not None:  # the restored database replaces it: keep its owner
            stmt += sql.SQL(" OWNER {}").format(sql.Identifier(target[0]))
        with self._admin() as conn:
            try:
                conn.execute(stmt)
            except psycopg.Error as exc:
                raise NativeDumpError(
                    f"cannot create staging database {staging!r} for {self.database!r} "
                    f"(encoding {props.get('encoding')}, collation {props.get('collate')}): {str(exc).strip()}; "
                    "the target server needs the source's encoding and locale, and CREATEDB"
                ) from None
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(staging), sql.Literal(f"dbshift restore staging: {note}")
                )
            )
        return staging

    @contextlib.contextmanager
    def open_restore(self, staging: str) -> Iterator[BinaryIO]:
        conninfo, env = _libpq(self.dsn, staging)
        argv = [str(pg_bindir() / "pg_restore"), "--single-transaction", "--exit-on-error", "--no-password"]
        if self.no_owner:
            argv += ["--no-owner", "--no-acl"]
        argv.append(f"--dbname={conninfo}")
        tool = Tool(argv, env, stdin=True, what=f"pg_restore into {staging!r}")
        try:
            assert tool.proc.stdin is not None
            try:
                yield tool.proc.stdin  # type: ignore[misc]
                tool.proc.stdin.close()
            except BrokenPipeError:
                tool.wait()  # pg_restore stopped reading: its exit status and stderr say why
                raise
            tool.wait()
        finally:
            tool.kill()

    def promote(self, staging: str) -> None:
        """The verified staging database takes the target's name (the old target, if any, is dropped)."""
        import psycopg
        from psycopg import sql

        old = f"{self.database[:40]}__dbshift_old_{os.getpid()}"
        with self._admin() as conn:
            try:
                if self.exists():
                    conn.execute(
                        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(*map(sql.Identifier, (self.database, old)))
                    )
                    conn.execute(
                        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(*map(sql.Identifier, (staging, self.database)))
                    )
                    conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(old)))
                else:
                    conn.execute(
                        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(*map(sql.Identifier, (staging, self.database)))
                    )
                conn.execute(sql.SQL("COMMENT ON DATABASE {} IS NULL").format(sql.Identifier(self.database)))
            except psycopg.Error as exc:
                raise NativeDumpError(
                    f"restored and verified {staging!r}, but could not rename it to {self.database!r}: "
                    f"{str(exc).strip()}; close the sessions on {self.database!r} and run the restore again"
                ) from None

    def drop_staging(self, staging: str) -> None:
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(staging)))


# ---------------------------------------------------------------------------------------------- entry points


def dump_to_s3(
    dsn: str,
    database: str,
    bucket: str,
    key: str,
    kms_key_id: str,
    aws: AwsConfig,
    compress: str = "zstd",
    progress: TextIO | None = None,
    dumper: Dumper | None = None,
) -> DumpResult:
    """Dump `database` (PostgreSQL at `dsn`, or any `dumper`) to s3://bucket/key in aws.region,
    encrypted under `kms_key_id` (a key of that region). Re-running with the same data changes nothing."""
    # PART is read here, at call time: it is this module's knob for the upload's part size.
    return core.dump(dumper or PostgresDumper(dsn, database), bucket, key, kms_key_id, aws, compress, progress, PART)


def restore_from_s3(
    bucket: str,
    key: str,
    target_dsn: str,
    target_database: str,
    aws: AwsConfig,
    create_database: bool = False,
    overwrite: bool = False,
    progress: TextIO | None = None,
    no_owner: bool = False,
    restorer: Restorer | None = None,
) -> RestoreResult:
    """Restore the dump at s3://bucket/key into `target_database` and verify it against the manifest.

    The target is replaced only by a verified copy: the restore runs into a staging database that is
    renamed when counts and hashes match. A non-empty target is refused unless `overwrite`; a target
    that already holds exactly the dump's data is left alone (changed=False). `no_owner` restores
    without the source's owners and grants (pg_restore --no-owner --no-acl), for a target whose roles differ."""
    restorer = restorer or PostgresRestorer(target_dsn, target_database, no_owner=no_owner)
    return core.restore(restorer, bucket, key, aws, create_database, overwrite, progress)


# ---------------------------------------------------------------------------------------------- plans (check mode)


def plan_dump_to_s3(
    dsn: str, database: str, bucket: str, key: str, kms_key_id: str, aws: AwsConfig, compress: str = "zstd"
) -> DumpPlan:
    """What dump_to_s3 would do, from reads only (the source in a read-only snapshot, the manifest in S3)."""
    return core.plan_dump(PostgresDumper(dsn, database), bucket, key, kms_key_id, aws, compress)


def plan_restore_from_s3(
    bucket: str,
    key: str,
    target_dsn: str,
    target_database: str,
    aws: AwsConfig,
    create_database: bool = False,
    overwrite: bool = False,
    manifest: Manifest | None = None,
) -> RestorePlan:
    """What restore_from_s3 would do, from reads only; `manifest`: the one a pending dump would write."""
    restorer = PostgresRestorer(target_dsn, target_database)
    return core.plan_restore(restorer, bucket, key, aws, create_database, overwrite, manifest)


def plan_dump_and_restore(
    dsn: str,
    database: str,
    bucket: str,
    key: str,
    kms_key_id: str,
    aws: AwsConfig,
    target_dsn: str,
    target_database: str,
    compress: str = "zstd",
    create_database: bool = False,
    overwrite: bool = False,
) -> tuple[DumpPlan, RestorePlan]:
    """What dump_to_s3 then restore_from_s3 would do (check mode): nothing is written anywhere."""
    return core.plan_dump_restore(
        PostgresDumper(dsn, database), PostgresRestorer(target_dsn, target_database), bucket, key, kms_key_id, aws,
        compress, create_database, overwrite,
    )  # fmt: skip
