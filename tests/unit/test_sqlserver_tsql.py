"""SQL Server emulator T-SQL front end: batches, variables, procedures, table functions, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbshift.estate.sqlserver import Instance, InstanceConfig, ProcArgs, SqlServerEmulator
from dbshift.estate.sqlserver.lexer import split_batches, split_statements, tokenize
from dbshift.tsql import ResultSet, SqlError, SqlResult


@pytest.fixture
def emu(tmp_path: Path) -> SqlServerEmulator:
    e = SqlServerEmulator(tmp_path, [InstanceConfig("EC2", ["ec2-host"], "ec2", sql_login="dba", sql_password="pw")])
    yield e
    e.close()


def ex(e: SqlServerEmulator, sql: str, db: str | None = None) -> SqlResult:
    return e.execute("EC2-HOST", sql, db, "dba", "pw")


def test_tokenizer_and_splitters() -> None:
    toks = tokenize("SELECT N'it''s -- not a comment', [a]]b], \"q\" /* x /* y */ */ -- tail\nFROM t")
    assert [t.kind for t in toks] == ["word", "str", "op", "qident", "op", "qident", "word", "word"]
    assert toks[1].value == "it's -- not a comment" and toks[3].value == "a]b"
    script = "PRINT 'a'\ngo\n/* GO\n*/ PRINT 'b'\nGO 2\n"
    assert [b for b, _ in split_batches(script)] == ["PRINT 'a'", "/* GO\n*/ PRINT 'b'", "/* GO\n*/ PRINT 'b'"]
    stmts = split_statements(
        tokenize(
            "INSERT INTO t SELECT 1 UNION ALL SELECT 2 SELECT 3 UPDATE t SET a = 1 SET NOCOUNT ON "
            "ALTER DATABASE x SET RECOVERY FULL EXEC p 1; DECLARE @a int = (SELECT 1) SELECT @a"
        )
    )
    assert [s[0].value for s in stmts] == ["INSERT", "SELECT", "UPDATE", "SET", "ALTER", "EXEC", "DECLARE", "SELECT"]


def test_login_and_unknown_server(emu: SqlServerEmulator) -> None:
    with pytest.raises(SqlError) as info:
        emu.execute("ec2-host", "SELECT 1", None, "dba", "nope")
    assert info.value.number == 18456
    with pytest.raises(SqlError) as info:
        emu.execute("elsewhere", "SELECT 1", None, "dba", "pw")
    assert info.value.number == 53


def test_variables_print_and_builtins(emu: SqlServerEmulator) -> None:
    r = ex(
        emu,
        """
        SET NOCOUNT ON;
        DECLARE @name sysname = N'Sales', @n INT
        SET @n = 40 + 2
        PRINT 'n is ' + CAST(@n AS NVARCHAR(10))
        CREATE DATABASE Sales
        SELECT @@SERVERNAME AS s, SERVERPROPERTY('ServerName') AS p, DB_ID(@name) AS id, DB_NAME(DB_ID(@name)) AS nm
        GO
        PRINT @@VERSION
        """,
    )
    assert r.messages[0] == "n is 42"
    assert "dbshift SQL Server emulator" in r.messages[1] and "Microsoft SQL Server 2019" in r.messages[1]
    assert r.rows == [{"s": "ec2-host", "p": "ec2-host", "id": 5, "nm": "Sales"}]
    with pytest.raises(SqlError) as info:
        ex(emu, "DECLARE @a INT = 1\nGO\nSELECT @a")  # variables live for one batch
    assert info.value.number == 137


def test_select_assignment_cross_database_and_transactions(emu: SqlServerEmulator) -> None:
    ex(emu, "CREATE DATABASE A; CREATE DATABASE B")
    ex(emu, "CREATE TABLE dbo.T (k INT PRIMARY KEY, v NVARCHAR(10)); INSERT INTO T VALUES (1, 'x'), (2, 'y')", "A")
    r = ex(
        emu,
        "DECLARE @c INT; SELECT @c = COUNT(*) FROM A.dbo.T; "
        "CREATE TABLE B.dbo.Copy (k INT, v NVARCHAR(10)); INSERT INTO B.dbo.Copy SELECT k, v FROM A.dbo.T; "
        "BEGIN TRAN; DELETE FROM B.dbo.Copy; ROLLBACK; SELECT @c AS c, (SELECT COUNT(*) FROM B.dbo.Copy) AS copied",
        "master",
    )
    assert r.rows == [{"c": 2, "copied": 2}]
    r = ex(emu, "SELECT TOP 1 v FROM dbo.Copy c WHERE c.k > 1 ORDER BY k DESC", "B")
    assert r.rows == [{"v": "y"}]


def test_errors_stop_the_batch(emu: SqlServerEmulator) -> None:
    cases = {
        "USE Nope": 911,
        "SELECT * FROM dbo.Missing": 208,
        "SELEC 1": 102,
        "EXEC dbo.no_such_proc": 2812,
    }
    for sql, number in cases.items():
        with pytest.raises(SqlError) as info:
            ex(emu, sql)
        assert info.value.number == number, sql
    with pytest.raises(SqlError) as info:
        ex(emu, "PRINT 'before'\nSELECT * FROM nope\nPRINT 'after'")
    assert info.value.partial.messages == ["before"]
    assert info.value.errors[0].line == 2


def test_registered_procedures_and_table_functions(emu: SqlServerEmulator) -> None:
    calls: list[ProcArgs] = []

    def proc(inst: Instance, args: ProcArgs) -> SqlResult:
        calls.append(args)
        return SqlResult([ResultSet(["task_id"], [[7]])], ["task queued"])

    def tvf(inst: Instance, args: list) -> ResultSet:
        return ResultSet(["db", "seq"], [[args[0], i] for i in range(1, 4)])

    inst = emu.instance("EC2")
    inst.register_procedure("msdb.dbo.rds_backup_database", proc)
    inst.register_table_function("msdb.dbo.list_things", tvf)
    r = ex(
        emu,
        "DECLARE @db sysname = 'Sales'\nEXEC msdb.dbo.rds_backup_database @source_db_name = @db, "
        "@type = 'FULL', @number_of_files = 2, @overwrite_s3_backup_file = NULL, 'extra'",
    )
    assert r.rows == [{"task_id": 7}] and r.messages == ["task queued"]
    assert calls[0].named == {
        "source_db_name": "Sales",
        "type": "FULL",
        "number_of_files": 2,
        "overwrite_s3_backup_file": None,
    }
    assert calls[0].positional == ["extra"] and calls[0].database == "master"
    ex(emu, "USE msdb; EXECUTE dbo.rds_backup_database @source_db_name = x")
    assert calls[1].get("@SOURCE_DB_NAME") == "x"
    r = ex(emu, "SELECT t.seq FROM msdb.dbo.list_things('Sales') t WHERE t.seq >= 2 ORDER BY t.seq DESC")
    assert r.rows == [{"seq": 3}, {"seq": 2}]
