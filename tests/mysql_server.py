"""A MariaDB server of the test's own on 127.0.0.1, shared by the MySQL/MariaDB tests (DR option D, dr_verify).

Import the fixture into a test module (`from mysql_server import mariadb`): one server per module. The server is
administered through its socket as root (MariaDb.sql, the tests' own access, independent of dbshift's); dbshift
connects over TCP as `dbshift` with a password that needs quoting everywhere (MariaDb.dsn). fingerprint() is the
tests' own measure of a database's rows, to compare a restore with its source.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from dbshift.estate import process

PASSWORD = "pw with 'quotes' \"and\" \\ back"
SBIN = ("/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin")


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or next((f"{d}/{name}" for d in SBIN if Path(d, name).exists()), None)
        if found:
            return found
    return None


def tools() -> dict[str, str]:
    """The MariaDB/MySQL server and client binaries; missing ones fail under DBSHIFT_REQUIRE_TOOLS/CI."""
    wanted = {
        "server": ("mariadbd", "mysqld"),
        "install_db": ("mariadb-install-db", "mysql_install_db"),
        "client": ("mariadb", "mysql"),
        "dump": ("mariadb-dump", "mysqldump"),
    }
    found = {k: _find(*names) for k, names in wanted.items()}
    missing = [" or ".join(wanted[k]) for k, v in found.items() if v is None]
    if missing:
        message = (
            f"MariaDB binaries not found: {', '.join(missing)}; install them with "
            "`apt-get install -y mariadb-server mariadb-client`"
        )
        if os.environ.get("CI") or os.environ.get("DBSHIFT_REQUIRE_TOOLS"):
            pytest.fail(message)
        pytest.skip(message)
    return {k: str(v) for k, v in found.items()}


def url_quote(text: str) -> str:
    """`text` as it stands in a DSN's user or password part."""
    return quote(text, safe="")


@dataclass
class MariaDb:
    tools: dict[str, str]
    socket: str
    port: int
    dsn: str = field(repr=False)  # mysql://dbshift:PASSWORD@127.0.0.1:PORT

    def sql(self, statements: str, database: str | None = None) -> list[list[str]]:
        """Run as root over the socket (the test's own access, independent of dbshift's)."""
        argv = [self.tools["client"], "--no-defaults", "-uroot", f"--socket={self.socket}", "--batch", "-N"]
        argv += ["--default-character-set=utf8mb4"] + ([database] if database else [])
        out = subprocess.run(argv, input=statements.encode(), capture_output=True, check=False)
        assert out.returncode == 0, out.stderr.decode()
        return [line.split("\t") for line in out.stdout.decode().splitlines()]

    def databases(self) -> set[str]:
        return {r[0] for r in self.sql("SHOW DATABASES")}

    def dsn_for(self, database: str) -> str:
        """dsn with `database` as its path (mysql://dbshift:PASSWORD@127.0.0.1:PORT/DATABASE)."""
        return f"{self.dsn}/{url_quote(database)}"


@pytest.fixture(scope="module")
def mariadb() -> Iterator[MariaDb]:
    found = tools()
    # /tmp, not pytest's tmp_path: as root the server runs as `mysql`, which cannot enter /tmp/pytest-of-root.
    root = Path(tempfile.mkdtemp(prefix="dbshift-mariadb-"))
    user: list[str] = []
    if os.geteuid() == 0:  # mariadbd refuses to run as root without --user
        users = {e.pw_name: e for e in pwd.getpwall()}
        entry = users.get("mysql") or users.get("nobody")
        assert entry is not None, "running as root and no 'mysql' or 'nobody' user exists to run MariaDB as"
        os.chown(root, entry.pw_uid, entry.pw_gid)
        user = [f"--user={entry.pw_name}"]
    data, sock = root / "data", str(root / "mysqld.sock")
    init = subprocess.run(
        [found["install_db"], "--no-defaults", f"--datadir={data}", *user,
         "--auth-root-authentication-method=normal", "--skip-test-db"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert init.returncode == 0, init.stdout[-2000:] + init.stderr[-2000:]
    port = process.free_port()
    server = subprocess.Popen(
        [found["server"], "--no-defaults", f"--datadir={data}", *user, f"--port={port}", "--bind-address=127.0.0.1",
         f"--socket={sock}", f"--log-error={root / 'error.log'}", "--innodb-buffer-pool-size=64M",
         "--skip-log-bin", "--event-scheduler=OFF"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        db = MariaDb(found, sock, port, f"mysql://dbshift:{url_quote(PASSWORD)}@127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while subprocess.run([found["client"], "--no-defaults", "-uroot", f"--socket={sock}", "-e", "SELECT 1"],
                             capture_output=True, check=False).returncode != 0:  # fmt: skip
            assert server.poll() is None, (root / "error.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "MariaDB did not start within 60 s"
            time.sleep(0.2)
        literal = PASSWORD.replace("\\", "\\\\").replace("'", "\\'")
        db.sql(
            f"CREATE USER 'dbshift'@'127.0.0.1' IDENTIFIED BY '{literal}';"
            "GRANT ALL ON *.* TO 'dbshift'@'127.0.0.1' WITH GRANT OPTION;"
        )
        yield db
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


def fingerprint(db: MariaDb, database: str) -> dict[str, tuple[int, str]]:
    """Per base table: rows and the sha256 of every row as the client prints it (HEX for binary), sorted."""
    out = {}
    for (table,) in db.sql(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' "
        f"AND TABLE_SCHEMA = '{database}' ORDER BY 1"
    ):
        cols = [c for (c,) in db.sql(
            "SELECT CASE WHEN DATA_TYPE IN ('blob', 'longblob', 'bit') THEN CONCAT('HEX(`', COLUMN_NAME, '`)') "
            "ELSE CONCAT('`', REPLACE(COLUMN_NAME, '`', '``'), '`') END FROM information_schema.COLUMNS "
            f"WHERE TABLE_SCHEMA = '{database}' AND TABLE_NAME = '{table.replace(chr(39), chr(39) * 2)}' "
            "ORDER BY ORDINAL_POSITION"
        )]  # fmt: skip
        rows = db.sql(f"SELECT {', '.join(cols)} FROM `{table.replace('`', '``')}`", database)
        lines = sorted("\t".join(r) for r in rows)
        out[table] = (len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest())
    return out
