"""Sample data for the emulated estate, loaded through the real WinRM and TDS paths.

The data migration's sources SRC1 and SRC2 get NetPerf01 and NetPerf02 (SIMPLE recovery) with the
sample tables, over TDS (seed_sources; `dbshift estate seed-migration` reseeds them bigger).
The "RDS" source gets SalesDb (plain) and PayrollDb (TDE, protected by the certificate RDS
creates for the TRANSPARENT_DATA_ENCRYPTION option); both in FULL recovery with a first full
backup so the log chain exists, as on RDS where automated backups start the chain.
Idempotent: what exists is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
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


# -- the data migration's sources --------------------------------------------------------------------
SOURCE_DATABASES = ("NetPerf01", "NetPerf02")
SAMPLE_START = "2026-11-01"
SAMPLE_SEED = 1


@dataclass
class SampleTable:
    server: str
    database: str
    table: str
    rows: int
    generated: bool  # False: the same arguments had already filled it


def seed_sources(
    info: EstateInfo, rows_per_table: int = 2000, days: int = 2, start_date: str = SAMPLE_START, seed: int = SAMPLE_SEED
) -> list[SampleTable]:
    """NetPerf01 and NetPerf02 on every source instance (SRC1, SRC2), filled by the emulator's
    master.emulator.generate_netperf_sample over TDS. Idempotent: the same arguments change nothing."""
    from dbshift.tsql.tds import connect_tds

    out: list[SampleTable] = []
    for k, name in enumerate(sorted(n for n in info.tds_endpoints if n.startswith("src"))):
        with connect_tds(info.tds_endpoints[name], info.source_login, info.source_password, "master") as conn:
            _, existing = conn.query("SELECT name FROM sys.databases")
            have = {r[0].lower() for r in existing}
            for j, db in enumerate(SOURCE_DATABASES):
                if db.lower() not in have:
                    conn.query(f"CREATE DATABASE [{db}]")
                    conn.query(f"ALTER DATABASE [{db}] SET RECOVERY SIMPLE")  # a read-only migration source
                _, rows = conn.query(
                    f"EXEC master.emulator.generate_netperf_sample @database = N'{db}', "
                    f"@rows_per_table = {int(rows_per_table)}, @start_date = '{start_date}', "
                    f"@seed = {int(seed) * 100 + 10 * k + j}, @days = {int(days)}"  # each database its own data
                )
                out += [SampleTable(name.upper(), db, str(t), int(n), bool(g)) for _db, t, n, g in rows]
    return out
