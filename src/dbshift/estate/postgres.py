"""A real PostgreSQL server on 127.0.0.1, standing in for Aurora PostgreSQL.

initdb and pg_ctl refuse to run as root, so as root the server runs as an unprivileged user
(`postgres` when it exists), and its data directory moves to a place that user can reach when
the estate directory is not (e.g. under /root).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dbshift.errors import DbshiftError
from dbshift.estate import process

SUPERUSER = "dbshift"
DATABASE = "dbshift"


def bindir() -> Path:
    """Where initdb/pg_ctl live: PATH first, then `pg_config --bindir`."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    raise DbshiftError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or via pg_config --bindir: "
        "install them, e.g. `apt-get install postgresql` on Debian"
    )


def _run_as() -> list[str]:
    """The command prefix that drops root privileges, or nothing when not root."""
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"]
    raise DbshiftError("running as root and no 'postgres' or 'nobody' user exists to run PostgreSQL as")


def _owner() -> tuple[int, int] | None:
    prefix = _run_as()
    if not prefix:
        return None
    entry = pwd.getpwnam(prefix[2])
    return entry.pw_uid, entry.pw_gid


def _reachable_by(path: Path, uid: int) -> bool:
    """Can `uid` (not root, not the owner) traverse every parent of `path`?"""
    for parent in path.resolve().parents:
        if not parent.exists():
            continue  # will be created 0755 by us
        st = parent.stat()
        if st.st_uid == uid:
            continue
        if not st.st_mode & 0o001:
            return False
    return True


@dataclass
class PostgresServer:
    root: Path  # the estate's directory for PostgreSQL (logs, password)

    @property
    def data_dir(self) -> Path:
        owner = _owner()
        if owner and not _reachable_by(self.root / "data", owner[0]):
            digest = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:12]
            return Path(tempfile.gettempdir()) / f"dbshift-pgdata-{digest}"
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def _chown(self, path: Path) -> None:
        owner = _owner()
        if owner:
            os.chown(path, *owner)

    def init(self, password: str) -> None:
        """initdb once; a data directory that already has PG_VERSION is kept as it is."""
        data = self.data_dir
        if (data / "PG_VERSION").exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        staging = data.with_name(data.name + ".initdb-tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True, mode=0o700)
        self._chown(staging)
        pwfile = staging.parent / f".{staging.name}.pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        self._chown(pwfile)
        try:
            cmd = [
                *_run_as(),
                str(bindir() / "initdb"),
                "-D", str(staging),
                "-U", SUPERUSER,
                "--pwfile", str(pwfile),
                "--auth=scram-sha-256",
                "-E", "UTF8",
                "--locale=C",
            ]  # fmt: skip
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise DbshiftError(f"initdb failed for {staging}: {result.stderr.strip()[-500:]}")
        finally:
            pwfile.unlink(missing_ok=True)
        # Renamed only when complete: a killed initdb never leaves a half-made data directory.
        shutil.rmtree(data, ignore_errors=True)
        staging.rename(data)

    def start(self, port: int) -> int:
        """Start the server on 127.0.0.1:`port`; returns the postmaster pid."""
        data = self.data_dir
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = data / "server.log"  # inside the data dir: always writable by the server's user
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' -c fsync=off"
        cmd = [
            *_run_as(),
            str(bindir() / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise DbshiftError(f"PostgreSQL did not start on port {port}: {result.stderr.strip()}\n{tail}")
        return int((data / "postmaster.pid").read_text().splitlines()[0])

    @staticmethod
    def stop(pid: int) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, no waiting on them.
        process.stop(pid, timeout=30, first_signal=signal.SIGINT)


def ensure_database(dsn_without_db: str, name: str = DATABASE) -> None:
    import psycopg

    with psycopg.connect(dsn_without_db + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def temporary_server(root: Path) -> Iterator[str]:
    """A PostgreSQL server of its own under `root` on a free port, stopped on exit; yields its DSN without a
    database (append "/postgres" or a database of the caller's). For tests and benches that need PostgreSQL only.
    """
    import secrets

    server = PostgresServer(root)
    password = secrets.token_urlsafe(16)
    server.init(password)
    port = process.free_port()
    pid = server.start(port)
    try:
        yield f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}"
    finally:
        PostgresServer.stop(pid)
