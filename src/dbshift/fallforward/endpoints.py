"""The three places a fall-forward step talks to: the RDS source, the EC2 target, the EC2 host; plus AWS."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbshift.aws import AwsConfig
from dbshift.errors import ConfigError
from dbshift.tsql.session import SqlSession

if TYPE_CHECKING:
    from dbshift.tsql.winrm import WinRMHost


@dataclass
class Endpoints:
    source: SqlSession  # the RDS instance (SQL login)
    target: SqlSession  # the EC2 instance
    host: WinRMHost  # the EC2 host: runs the dbshift CLI where SQL Server reads the files
    aws: AwsConfig  # controller-side AWS (KMS decrypt, S3 list/head)

    def close(self) -> None:
        for part in (self.source, self.target, self.host):
            close = getattr(part, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):  # closing is best effort; shells time out anyway
                    close()

    def __enter__(self) -> Endpoints:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _need(p: Mapping[str, Any], key: str, what: str) -> str:
    value = p.get(key)
    if value is None or value == "":
        raise ConfigError(f"missing {key}: set it to {what}")
    return str(value)


def endpoints_from_params(p: Mapping[str, Any]) -> Endpoints:
    """Endpoints from flat module parameters.

    Keys: winrm_endpoint, winrm_username, winrm_password, winrm_transport, winrm_server_cert_validation,
    source_server, source_login, source_password, target_server, endpoint_url (AWS, optional), region
    (optional). The source uses SQL Server authentication (RDS has no Windows login for us); the target
    uses Windows authentication as the WinRM user.
    """
    from dbshift.tsql.winrm import WinRMHost, WinRMSqlSession

    endpoint = _need(p, "winrm_endpoint", "the WinRM URL of the EC2 host, e.g. http://ec2host:5985/wsman")
    user = _need(p, "winrm_username", "the Windows user WinRM logs in as")
    password = _need(p, "winrm_password", "that user's password")
    transport = str(p.get("winrm_transport") or "ntlm")
    validation = str(p.get("winrm_server_cert_validation") or "validate")
    source_server = _need(p, "source_server", "the RDS for SQL Server endpoint address")
    source_login = _need(p, "source_login", "the RDS master user (or another login with the RDS procedures)")
    source_password = _need(p, "source_password", "that login's password")
    target_server = _need(p, "target_server", "the EC2 SQL Server instance (HOST or HOST\\INSTANCE)")
    common = {"transport": transport, "server_cert_validation": validation}
    source = WinRMSqlSession(
        endpoint,
        user,
        password,
        source_server,
        sql_username=source_login,
        sql_password=source_password,
        **common,
    )
    target = WinRMSqlSession(endpoint, user, password, target_server, **common)
    host = WinRMHost(endpoint, user, password, **common)
    aws = AwsConfig(region=p.get("region") or None, endpoint_url=p.get("endpoint_url") or None)
    return Endpoints(source=source, target=target, host=host, aws=aws)


# ---------------------------------------------------------------------------- helpers shared by the steps
@dataclass(frozen=True)
class S3Url:
    bucket: str
    key: str  # object key, or a prefix ("" or ending in "/")

    @classmethod
    def parse(cls, url: str, what: str = "S3 URL") -> S3Url:
        text = (url or "").strip()
        if not text.startswith("s3://") or not text[5:].split("/", 1)[0]:
            raise ConfigError(f"{what} {url!r} is not an S3 URL: use s3://BUCKET/KEY")
        bucket, _, key = text[5:].partition("/")
        return cls(bucket, key)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.bucket}/{self.key}" if self.key else f"arn:aws:s3:::{self.bucket}"

    @property
    def name(self) -> str:
        """The object's file name (last key segment)."""
        return self.key.rstrip("/").rsplit("/", 1)[-1]

    def child(self, name: str) -> S3Url:
        prefix = self.key if not self.key or self.key.endswith("/") else self.key + "/"
        return S3Url(self.bucket, prefix + name)


def sql_name(name: str) -> str:
    """A T-SQL [quoted identifier]."""
    return "[" + name.replace("]", "]]") + "]"


def sql_str(value: str) -> str:
    """A T-SQL N'unicode literal'."""
    return "N'" + str(value).replace("'", "''") + "'"


def host_path(host_dir: str, name: str) -> str:
    """A Windows path: `name` in the directory `host_dir`."""
    return host_dir.rstrip("\\/") + "\\" + name


def run_on_host(ep: Endpoints, argv: list[str]) -> list[str]:
    """Run `dbshift <argv>` on the EC2 host; its stdout lines (DbshiftError with the reason on failure)."""
    result = ep.host.run_dbshift(argv)
    out = result.stdout
    text = out.decode("utf-8", errors="replace") if isinstance(out, bytes) else str(out or "")
    return [line.strip() for line in text.splitlines() if line.strip()]
