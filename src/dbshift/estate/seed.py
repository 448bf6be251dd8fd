"""Sample data for the emulated estate, loaded through the real WinRM path.

The "RDS" source gets SalesDb (plain) and PayrollDb (TDE, protected by the certificate RDS
creates for the TRANSPARENT_DATA_ENCRYPTION option); both in FULL recovery with a first full
backup so the log chain exists, as on RDS where automated backups start the chain.
Idempotent: what exists is left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbshift.errors import DbshiftError

if TYPE_CHECKING:
    from dbshift.estate.manager import EstateInfo

SAMPLE_ROWS = 250


def _rds_session(info: EstateInfo):
    from dbshift.tsql.winrm import WinRMSqlSession

    return WinRMSqlSession(
        info.winrm_endpoint,
        info.winrm_username,
        info.winrm_password,
        info.rds_server,
        transport="basic",
        server_cert_validation="ignore",
        sql_username=info.rds_login,
        sql_password=info.rds_password,
    )


def _orders_insert(table: str, start: int, count: int) -> str:
    values = ",\n".join(
        f"({i}, N'customer-{i % 37}', {(i * 7919) % 100000 / 100:.2f}, '2026-11-{1 + i % 20:02d}T{i % 24:02d}:00:00')"
        for i in range(start, start + count)
    )
    return f"INSERT INTO {table} (order_id, customer, amount, ordered_at) VALUES\n{values};"


def seed_sqlserver(info: EstateInfo) -> list[str]:
    """Create the sample databases on the RDS source; returns the names created."""
    created: list[str] = []
    session = _rds_session(info)
    try:
        existing = {r["name"] for r in session.execute("SELECT name FROM sys.databases").rows}
        certs = session.execute(
            "SELECT name FROM sys.certificates WHERE name LIKE 'RDSTDECertificate%' ORDER BY start_date DESC",
            database="master",
        ).rows
        if not certs:
            raise DbshiftError(f"the RDS source {info.rds_server} has no RDSTDECertificate: is its TDE option on?")
        tde_certificate = certs[0]["name"]
        for db, tde in (("SalesDb", False), ("PayrollDb", True)):
            if db in existing:
                continue
            session.execute(f"CREATE DATABASE [{db}];")
            session.execute(
                "CREATE TABLE dbo.Orders (order_id INT NOT NULL PRIMARY KEY, customer NVARCHAR(100) NOT NULL, "
                "amount DECIMAL(12, 2) NOT NULL, ordered_at DATETIME2 NOT NULL);\n"
                + _orders_insert("dbo.Orders", 1, SAMPLE_ROWS),
                database=db,
            )
            if tde:
                session.execute(
                    "CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 "
                    f"ENCRYPTION BY SERVER CERTIFICATE [{tde_certificate}];",
                    database=db,
                )
                session.execute(f"ALTER DATABASE [{db}] SET ENCRYPTION ON;")
            # RDS's automated backups start the log chain; a full backup to NUL does the same here.
            session.execute(f"BACKUP DATABASE [{db}] TO DISK = 'NUL';")
            created.append(db)
    finally:
        session.close()
    return created
