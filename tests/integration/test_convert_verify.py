"""verify.py on a real PostgreSQL: executed means verified, failures keep PostgreSQL's error, nothing is left behind."""

from __future__ import annotations

import psycopg
import pytest

from dbshift.convert.model import Converted, SourceObject
from dbshift.convert.verify import verify
from dbshift.errors import DbshiftError


def conv(name: str, sql: str | None, typ: str = "table", status: str = "converted-unverified") -> Converted:
    return Converted(SourceObject("db", "dbo", name, typ, f"-- T-SQL of {name}", "t.sql", 1), sql, status=status)


def test_verify_retries_order_keeps_errors_and_leaves_nothing(postgres_dsn: str) -> None:
    items = [
        conv("v_before_table", "CREATE VIEW v AS SELECT a FROM t", "view"),  # needs t: succeeds in pass 2
        conv("t", "CREATE TABLE t (a int PRIMARY KEY)"),
        conv("broken", "CREATE TABLE broken (a int,,)"),
        conv("needs_missing", "CREATE VIEW w AS SELECT * FROM not_there", "view"),
        conv("no_sql", None, status="needs-work"),
        conv("script", "INSERT INTO t VALUES (1)", "script", status="skipped"),
        conv("role", "CREATE ROLE dbshift_verify_test_role", "role"),
        conv(
            "trigger",
            "CREATE FUNCTION t_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
            "CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_trg();",
            "trigger",
        ),
        conv("commits", "CREATE TABLE c1 (a int); COMMIT", "table"),
        conv("schema_path", "CREATE SCHEMA s; SET search_path = s, public; CREATE TABLE in_s (a int)", "schema"),
        conv("after_path", "CREATE TABLE in_public (a int); SELECT 1 FROM public.in_public", "table"),
    ]
    result = verify(items, postgres_dsn)
    status = {c.obj.name: c.status for c in items}
    assert status == {
        "v_before_table": "verified",
        "t": "verified",
        "broken": "needs-work",
        "needs_missing": "needs-work",
        "no_sql": "needs-work",
        "script": "skipped",
        "role": "verified",
        "trigger": "verified",
        "commits": "needs-work",
        "schema_path": "verified",
        "after_path": "verified",  # search_path was reset: in_public went to public
    }
    errors = {c.obj.name: c.error for c in items}
    assert "syntax error" in errors["broken"] and "SQLSTATE 42601" in errors["broken"]
    assert 'relation "not_there" does not exist' in errors["needs_missing"]
    assert "ends the transaction" in errors["commits"]
    assert errors["t"] is None and errors["script"] is None
    assert result.passes >= 2 and result.verified == 6 and result.server_version.startswith("15")
    with psycopg.connect(postgres_dsn + "/postgres", autocommit=True) as conn:
        assert not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'dbshift_verify_test_role'").fetchall()
        assert not conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'dbshift_verify_%'").fetchall()


def test_verify_twice_is_independent(postgres_dsn: str) -> None:
    """A second run starts from an empty database: the same CREATE ROLE / CREATE TABLE verify again."""
    for _ in range(2):
        items = [conv("role", "CREATE ROLE dbshift_again", "role"), conv("t", "CREATE TABLE t (a int)")]
        verify(items, postgres_dsn)
        assert [c.status for c in items] == ["verified", "verified"]


def test_unreachable_server_is_an_error_without_the_password() -> None:
    with pytest.raises(DbshiftError) as err:
        verify([conv("t", "CREATE TABLE t (a int)")], "postgresql://u:s3cret@127.0.0.1:1/postgres")
    assert "s3cret" not in str(err.value) and "--verify-dsn" in str(err.value)
