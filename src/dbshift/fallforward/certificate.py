"""TDE: put the source database's certificate (with its private key) on the EC2 target.

rds_backup_tde_certificate writes NAME.cer and NAME.pvk to S3; the .pvk object's metadata rds-tde-pwd
holds the KMS ciphertext of a data key, and the private key's password is the base64 text of that
key's plaintext. The controller decrypts it with KMS and sends CREATE CERTIFICATE … DECRYPTION BY
PASSWORD over WinRM stdin: the password is held in memory only — never written, printed, logged,
returned or put in an exception message.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dbshift.aws import client
from dbshift.errors import DbshiftError
from dbshift.fallforward.endpoints import Endpoints, S3Url, run_on_host, sql_name, sql_str
from dbshift.fallforward.rds import s3_exists, submitted_task_id, wait_task
from dbshift.tsql.result import SqlError, SqlResult
from dbshift.tsql.session import SqlSession

MASTER_KEY_NAME = "##MS_DatabaseMasterKey##"


@dataclass
class CertificateResult:
    changed: bool
    tde: bool
    certificate_name: str | None = None
    thumbprint: str | None = None
    action: str = "not-tde"  # "not-tde" | "present" | "imported"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hex(value: Any) -> str:
    """A thumbprint as upper-case hex without 0x (the wire shape is a "0x…" string)."""
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value or "")
    return text[2:].upper() if text.lower().startswith("0x") else text.upper()


def source_certificate(source: SqlSession, database: str) -> tuple[str, str] | None:
    """(name, thumbprint) of the certificate protecting `database`'s encryption key, or None (not TDE)."""
    rows = source.execute(
        "SELECT c.name AS name, c.thumbprint AS thumbprint, k.encryption_state AS encryption_state "
        "FROM sys.dm_database_encryption_keys k JOIN sys.certificates c ON c.thumbprint = k.encryptor_thumbprint "
        f"WHERE k.database_id = DB_ID({sql_str(database)});",
        database="master",
    ).rows
    if not rows:
        exists = source.execute(f"SELECT name FROM sys.databases WHERE name = {sql_str(database)};").rows
        if not exists:
            raise DbshiftError(f"source_database {database!r} does not exist on the source instance")
        return None
    return str(rows[0]["name"]), _hex(rows[0]["thumbprint"])


def execute_secret(session: SqlSession, sql: str, database: str | None = None) -> SqlResult:
    """Run T-SQL that carries a secret, making sure the script travels over stdin, never a command line."""
    from dbshift.tsql.psscript import build_sql_script, parse_outcome

    run = getattr(session, "run_powershell", None)
    if run is None:  # another transport: its execute() owns how a batch travels
        return session.execute(sql, database)
    user = getattr(session, "_sql_username", None)
    password = getattr(session, "_sql_password", None)
    script = build_sql_script(session.server_instance, sql, database, None, user, password)
    code, out, err = run(script, force_stdin=True)
    return parse_outcome(code, out, err, session.server_instance)


def _tde_password(ep: Endpoints, pvk: S3Url, kms_key_arn: str) -> str:
    """The private key's password: base64 of the KMS plaintext of rds-tde-pwd (no encryption context)."""
    try:
        head = client("s3", ep.aws).head_object(Bucket=pvk.bucket, Key=pvk.key)
    except (ClientError, BotoCoreError) as exc:
        raise DbshiftError(f"cannot read {pvk.url}: {exc}") from None
    wrapped = (head.get("Metadata") or {}).get("rds-tde-pwd")
    if not wrapped:
        raise DbshiftError(
            f"{pvk.url} has no rds-tde-pwd metadata: it was not written by rds_backup_tde_certificate; "
            "delete it and run again"
        )
    try:
        blob = base64.b64decode(wrapped, validate=True)
        plain = client("kms", ep.aws).decrypt(CiphertextBlob=blob, KeyId=kms_key_arn)["Plaintext"]
    except (ValueError, ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else type(exc).__name__
        raise DbshiftError(
            f"cannot decrypt the rds-tde-pwd metadata of {pvk.url} with KMS key {kms_key_arn} ({code}): check "
            "kms_key_arn is the key the certificate was backed up with, and kms:Decrypt permission"
        ) from None
    return base64.b64encode(plain).decode("ascii")


def _ensure_master_key(target: SqlSession, master_key_password: str | None) -> None:
    rows = target.execute(
        f"SELECT name FROM sys.symmetric_keys WHERE name = {sql_str(MASTER_KEY_NAME)};", database="master"
    ).rows
    if rows:
        return
    if not master_key_password:
        raise DbshiftError(
            f"the target {target.server_instance} has no database master key in master, which CREATE CERTIFICATE "
            "WITH PRIVATE KEY needs (error 15581): set master_key_password to create one, or create it yourself"
        )
    try:
        execute_secret(
            target, f"CREATE MASTER KEY ENCRYPTION BY PASSWORD = {sql_str(master_key_password)};", database="master"
        )
    except SqlError as exc:
        raise DbshiftError(f"CREATE MASTER KEY on {target.server_instance} failed: error {exc.number}") from None


def ensure_tde_certificate(
    ep: Endpoints,
    source_database: str,
    certificate_s3_prefix: str,
    kms_key_arn: str,
    host_dir: str,
    master_key_password: str | None = None,
    task_timeout: float = 3600,
    poll_interval: float = 5.0,
    check_mode: bool = False,
) -> CertificateResult:
    """Make the target hold the certificate that protects `source_database` (TDE), with its private key.

    Skipped when the database is not encrypted (action "not-tde") or the target already has a
    certificate with the same thumbprint ("present").
    """
    found = source_certificate(ep.source, source_database)
    if found is None:
        return CertificateResult(changed=False, tde=False)
    name, thumb = found
    on_target = {
        _hex(r["thumbprint"]): str(r["name"])
        for r in ep.target.execute("SELECT name, thumbprint FROM sys.certificates;", database="master").rows
    }
    if thumb in on_target:
        return CertificateResult(
            changed=False, tde=True, certificate_name=on_target[thumb], thumbprint=thumb, action="present"
        )
    if name.lower() in (n.lower() for n in on_target.values()):
        raise DbshiftError(
            f"the target already has a certificate named {name!r} with another thumbprint: drop or rename it there "
            f"before importing the certificate of {source_database!r} (thumbprint 0x{thumb})"
        )
    result = CertificateResult(changed=True, tde=True, certificate_name=name, thumbprint=thumb, action="imported")
    if check_mode:
        return result

    prefix = S3Url.parse(certificate_s3_prefix, "certificate_s3_prefix")
    cer, pvk = prefix.child(f"{name}.cer"), prefix.child(f"{name}.pvk")
    # Certificate names carry their creation time, so objects already there from an earlier run are
    # this certificate's: reuse them rather than run another RDS task.
    if not (s3_exists(ep, cer) and s3_exists(ep, pvk)):
        try:
            rows = ep.source.execute(
                "EXEC msdb.dbo.rds_backup_tde_certificate "
                f"@certificate_name={sql_str(name)}, @certificate_file_s3_arn={sql_str(cer.arn)}, "
                f"@private_key_file_s3_arn={sql_str(pvk.arn)}, @kms_password_key_arn={sql_str(kms_key_arn)}, "
                "@overwrite_s3_files=1;"
            ).rows
        except SqlError as exc:
            raise DbshiftError(f"rds_backup_tde_certificate of {name!r} failed: {exc}") from exc
        wait_task(ep.source, submitted_task_id(rows, "rds_backup_tde_certificate"), task_timeout, poll_interval)

    _ensure_master_key(ep.target, master_key_password)
    cer_path = run_on_host(ep, ["s3", "get", cer.url, "--dest", host_dir])[-1]
    pvk_path = run_on_host(ep, ["s3", "get", pvk.url, "--dest", host_dir])[-1]
    password = _tde_password(ep, pvk, kms_key_arn)
    sql = (
        f"CREATE CERTIFICATE {sql_name(name)} FROM FILE = {sql_str(cer_path)} WITH PRIVATE KEY "
        f"(FILE = {sql_str(pvk_path)}, DECRYPTION BY PASSWORD = {sql_str(password)});"
    )
    del password
    try:
        execute_secret(ep.target, sql, database="master")
    except SqlError as exc:
        # The server's message never quotes the statement; say which error without the SQL text.
        raise DbshiftError(
            f"CREATE CERTIFICATE {name!r} on {ep.target.server_instance} failed: error {exc.number}: "
            f"{exc.errors[0].message}"
        ) from None
    finally:
        del sql
    imported = {
        _hex(r["thumbprint"])
        for r in ep.target.execute(
            f"SELECT thumbprint FROM sys.certificates WHERE name = {sql_str(name)};", database="master"
        ).rows
    }
    if thumb not in imported:
        raise DbshiftError(
            f"certificate {name!r} imported on the target has another thumbprint than 0x{thumb} on the source: "
            f"the objects under {prefix.url} are stale; delete {cer.url} and {pvk.url} and run again"
        )
    return result
