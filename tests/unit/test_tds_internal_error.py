"""SQL Server emulator over TDS (in-process listener, real pymssql client): an exception inside the emulator
reaches the client as an error, and the connection goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbshift.estate.sqlserver import InstanceConfig, SqlServerEmulator
from dbshift.estate.sqlserver.batch import Session
from dbshift.estate.sqlserver.tds_server import TdsListener
from dbshift.tsql.result import SqlError
from dbshift.tsql.tds import connect_tds

PASSWORD = "Pw-12345678!"


def test_an_emulator_bug_is_an_error_message_not_a_dropped_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = SqlServerEmulator(
        tmp_path, [InstanceConfig("SRC", ["src-host"], "ec2", sql_login="reader", sql_password=PASSWORD)]
    )
    listener = TdsListener(emu.instance("src-host")).start()
    try:
        real = Session.run_batch

        def broken(self: Session, sql: str) -> None:
            if "boom" in sql:
                raise KeyError("boom")
            real(self, sql)

        monkeypatch.setattr(Session, "run_batch", broken)
        with connect_tds(listener.endpoint, "reader", PASSWORD, "master") as conn:
            with pytest.raises(SqlError) as err:
                conn.query("SELECT 'boom' AS x")
            assert err.value.number == 50000
            assert "internal error (KeyError: 'boom')" in str(err.value)
            assert conn.query("SELECT 1 AS one") == (["one"], [(1,)])
    finally:
        listener.stop()
        emu.close()
