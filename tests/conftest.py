"""Session fixtures: the emulated AWS alone (fast) and the whole emulated estate."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbshift.estate import process

REPO = Path(__file__).resolve().parents[1]

# moto never checks credentials; fixed fake ones keep boto3 from looking elsewhere.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
for _var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "DBSHIFT_AWS_ENDPOINT_URL"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def aws_endpoint_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server (with dbshift's patches) on a free port, for tests that need AWS only."""
    log = tmp_path_factory.mktemp("aws") / "moto.log"
    port = process.free_port()
    pid = process.start([sys.executable, "-m", "dbshift.estate.aws_server", "--port", str(port)], log)
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_until(lambda: process.http_answers(url + "/moto-api/"), "moto server", 60, log)
        yield url
    finally:
        process.stop(pid)


@pytest.fixture
def aws(aws_endpoint_url: str):  # -> AwsConfig; test files with another kind of `aws` define their own
    """The emulated AWS as dbshift's code takes it."""
    from dbshift.aws.config import AwsConfig

    return AwsConfig(endpoint_url=aws_endpoint_url)


@pytest.fixture(scope="session")
def estate(tmp_path_factory: pytest.TempPathFactory):  # -> EstateInfo
    """The whole emulated estate (moto, PostgreSQL, WinRM + SQL Server emulator), seeded."""
    from dbshift.estate.manager import Estate

    # No timer-driven RDS log backups: tests take them on demand (rdsadmin.emulator.take_tlog_backup).
    est = Estate(tmp_path_factory.mktemp("estate"), tlog_backup_interval_seconds=24 * 3600)
    info = est.up()
    try:
        yield info
    finally:
        est.down()


@pytest.fixture(scope="session")
def postgres_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL 15 server of its own on 127.0.0.1 (no estate), for tests that need only PostgreSQL.

    The DSN names no database: append "/postgres" or a database of the test's own.
    """
    from dbshift.estate.postgres import temporary_server

    with temporary_server(tmp_path_factory.mktemp("postgres")) as dsn:
        yield dsn
