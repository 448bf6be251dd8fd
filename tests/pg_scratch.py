"""A fresh database on the session's PostgreSQL (the postgres_dsn fixture), for one test module.

@pytest.fixture(scope="module")
def conn(postgres_dsn):
    with scratch_database(postgres_dsn, "my_test", setup="CREATE TABLE ...") as connection:
        yield connection
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


@contextmanager
def scratch_database(
    postgres_dsn: str, name: str, setup: str | None = None, autocommit: bool = True
) -> Iterator[psycopg.Connection]:
    """Drop and create database `name`, run `setup` in it, yield a connection to it."""
    with psycopg.connect(postgres_dsn + "/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(f"{postgres_dsn}/{name}", autocommit=autocommit) as connection:
        if setup:
            connection.execute(setup)
        yield connection
