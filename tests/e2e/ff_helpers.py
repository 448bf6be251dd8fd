"""Sessions on the estate's RDS source and EC2 target for the e2e tests (a unique name: no `conftest` clash)."""

from __future__ import annotations


class _Session:
    def __init__(self, session) -> None:
        self.session = session

    def __enter__(self):
        return self.session

    def __exit__(self, *exc: object) -> None:
        self.session.close()


def rds_session(estate) -> _Session:
    from dbshift.tsql.winrm import WinRMSqlSession

    return _Session(
        WinRMSqlSession(
            estate.winrm_endpoint,
            estate.winrm_username,
            estate.winrm_password,
            estate.rds_server,
            transport="basic",
            server_cert_validation="ignore",
            sql_username=estate.rds_login,
            sql_password=estate.rds_password,
        )
    )


def ec2_session(estate) -> _Session:
    from dbshift.tsql.winrm import WinRMSqlSession

    return _Session(
        WinRMSqlSession(
            estate.winrm_endpoint,
            estate.winrm_username,
            estate.winrm_password,
            estate.ec2_server,
            transport="basic",
            server_cert_validation="ignore",
        )
    )
