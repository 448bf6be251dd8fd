"""The T-SQL statement splitter: statement ends without semicolons, and where a statement keyword belongs to the
current statement (INSERT … SELECT, UPDATE … SET, UNION SELECT, CTEs, MERGE … THEN UPDATE, CASE … END)."""

from __future__ import annotations

import pytest

from dbshift.convert.plpgsql_parse import Block, If, ParseError, Simple, Try, While, parse


def verbs(block: Block) -> list[str]:
    return [s.verb if isinstance(s, Simple) else type(s).__name__ for s in block.stmts]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SET NOCOUNT ON INSERT INTO t (a) SELECT a FROM u UNION ALL SELECT b FROM v", ["SET", "INSERT"]),
        ("UPDATE t SET a = 1 WHERE b = 2 SET @x = 1", ["UPDATE", "SET"]),
        ("WITH c AS (SELECT 1 AS a) UPDATE t SET a = c.a FROM c DELETE FROM t", ["WITH", "DELETE"]),
        ("SELECT CASE WHEN a = 1 THEN 'x' ELSE 'y' END FROM t SELECT 2", ["SELECT", "SELECT"]),
        (
            "MERGE t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a WHEN NOT MATCHED THEN INSERT (a) "
            "VALUES (s.a);",
            ["MERGE"],
        ),
        ("DECLARE c CURSOR FOR SELECT a FROM t FOR UPDATE OPEN c", ["DECLARE", "OPEN"]),
        (
            "SELECT a FROM t ORDER BY a OFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY FETCH NEXT FROM c INTO @a",
            ["SELECT", "FETCH"],
        ),
        ("DROP TABLE IF EXISTS #t CREATE TABLE #t (a int)", ["DROP", "CREATE"]),
        ("INSERT INTO #r EXEC p SELECT 1", ["INSERT", "SELECT"]),
        (
            "SELECT a FROM t WITH (NOLOCK) GROUP BY a WITH ROLLUP ;WITH x AS (SELECT 1 AS b) SELECT b FROM x",
            ["SELECT", "WITH"],
        ),
        ("lbl: SET @a = 1 GOTO lbl", ["LABEL", "SET", "GOTO"]),
        ("BEGIN TRAN t1 COMMIT TRAN t1 ROLLBACK", ["BEGIN TRAN", "COMMIT", "ROLLBACK"]),
    ],
)
def test_statement_boundaries(text: str, expected: list[str]) -> None:
    assert verbs(parse(text)) == expected


def test_control_flow_tree() -> None:
    block = parse(
        "IF UPDATE(a) AND @x > 0 BEGIN SET @y = 1 END ELSE IF @x = 0 SET @y = 0 ELSE SET @y = -1 "
        "WHILE @i < 3 BEGIN SET @i += 1 IF @i = 2 BREAK END "
        "BEGIN TRY SELECT 1/0 END TRY BEGIN CATCH THROW; END CATCH"
    )
    first, loop, trycatch = block.stmts
    assert isinstance(first, If) and isinstance(first.then, Block) and isinstance(first.else_, If)
    assert [t.text for t in first.cond][:4] == ["UPDATE", "(", "a", ")"]
    assert isinstance(loop, While) and verbs(loop.body) == ["SET", "If"]
    assert isinstance(trycatch, Try) and verbs(trycatch.catch) == ["THROW"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("BEGIN SET @a = 1", "BEGIN without END"),
        ("END", "END without BEGIN"),
        ("BEGIN TRY SELECT 1 END TRY SELECT 2", "END TRY not followed by BEGIN CATCH"),
        ("ELSE SET @a = 1", "ELSE without IF"),
    ],
)
def test_malformed(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(text)


def test_comments_and_strings_do_not_split() -> None:
    block = parse("SET @a = 'IF ; END' /* SELECT */ -- DELETE\nSET @b = N'it''s'")
    assert verbs(block) == ["SET", "SET"]
