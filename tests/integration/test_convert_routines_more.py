"""More procedural constructs: nested TRY/CATCH, MERGE and @@ROWCOUNT, statement boundaries without semicolons,
CASE … END inside blocks, DECLARE in loops, INSTEAD OF UPDATE on a view, and what is reported instead of converted."""

from __future__ import annotations

import pytest
from test_convert_routines import (
    CATALOG,
    ERR,
    NOTICE,
    SETUP,
    Case,
    Q,
    case_ids,
    catalog_for,
    check_deployed,
    convert_all,
    create_database,
    deploy,
    run_case,
)

MORE_SETUP = """
CREATE VIEW public.v_items AS SELECT id, name, qty FROM public.items;
CREATE TABLE public.price_changes (item_id integer, old_name varchar(50), new_name varchar(50));
"""
MORE_CATALOG = {
    **CATALOG,
    "dbo.v_items": [("id", "int", "integer", False), ("name", "varchar(50)", "varchar(50)", False),
                    ("qty", "int", "integer", False)],
    "dbo.price_changes": [("item_id", "int", "integer", False), ("old_name", "varchar(50)", "varchar(50)", False),
                          ("new_name", "varchar(50)", "varchar(50)", False)],
}  # fmt: skip

CASES = [
    Case(
        "dbo.m_add",
        "procedure",
        """
CREATE PROCEDURE m_add @a int, @b int, @sum int OUTPUT AS SET @sum = @a + @b
""",
    ),
    Case(
        "dbo.m_items",
        "procedure",
        """
CREATE PROCEDURE m_items AS SELECT id FROM items
""",
    ),
    Case(
        "dbo.m_nested_try",
        "procedure",
        """
CREATE PROCEDURE m_nested_try @num int OUTPUT, @msg nvarchar(200) OUTPUT AS
BEGIN
    BEGIN TRY
        BEGIN TRY
            DECLARE @z int = 0
            SELECT @z = 10 / @z
        END TRY
        BEGIN CATCH
            DECLARE @inner nvarchar(200) = N'inner: ' + ERROR_MESSAGE();
            THROW 50010, @inner, 1;
        END CATCH
    END TRY
    BEGIN CATCH
        SELECT @num = ERROR_NUMBER(), @msg = ERROR_MESSAGE()
    END CATCH
END
""",
        checks=[(Q, "CALL m_nested_try(NULL, NULL)", [(50010, "inner: division by zero")])],
    ),
    Case(
        "dbo.m_merge",
        "procedure",
        """
CREATE PROCEDURE m_merge @id int, @name varchar(50), @qty int, @n int OUTPUT AS
BEGIN
    MERGE INTO items AS t
    USING (SELECT @id AS id, @name AS name, @qty AS qty) AS s ON t.id = s.id
    WHEN MATCHED THEN UPDATE SET qty = s.qty
    WHEN NOT MATCHED THEN INSERT (id, name, qty, price) VALUES (s.id, s.name, s.qty, 0);
    SET @n = @@ROWCOUNT
END
""",
        ["MERGE INTO"],
        checks=[
            (Q, "CALL m_merge(1, 'apple', 99, NULL)", [(1,)]),
            (Q, "CALL m_merge(50, 'new', 5, NULL)", [(1,)]),
            (Q, "SELECT id, qty FROM items WHERE id IN (1, 50) ORDER BY id", [(1, 99), (50, 5)]),
        ],
    ),
    Case(
        "dbo.m_raiserror_id",
        "procedure",
        """
CREATE PROCEDURE m_raiserror_id @num int OUTPUT AS
BEGIN TRY
    RAISERROR(50005, 16, 1)
END TRY
BEGIN CATCH
    SET @num = ERROR_NUMBER()
END CATCH
""",
        ["DETAIL = '50005'"],
        checks=[(Q, "CALL m_raiserror_id(NULL)", [(50005,)])],
    ),
    Case(
        "dbo.m_if_exists",
        "procedure",
        """
CREATE PROCEDURE m_if_exists @name varchar(50), @r int OUTPUT AS
    IF NOT EXISTS (SELECT 1 FROM items WHERE name = @name) SET @r = 0 ELSE IF EXISTS (SELECT 1 FROM items
        WHERE name = @name AND qty > 5) SET @r = 2 ELSE SET @r = 1
""",
        checks=[
            (Q, "CALL m_if_exists('nope', NULL)", [(0,)]),
            (Q, "CALL m_if_exists('apple', NULL)", [(2,)]),
            (Q, "CALL m_if_exists('pear', NULL)", [(1,)]),
        ],
    ),
    Case(
        "dbo.m_no_semicolons",
        "procedure",
        """
CREATE PROCEDURE m_no_semicolons @c int OUTPUT AS
DECLARE @a int DECLARE @b int SET @a = 1 SET @b = 2 IF @a < @b SELECT @c = @a + @b ELSE SELECT @c = 0 SET @c = @c * 10
""",
        checks=[(Q, "CALL m_no_semicolons(NULL)", [(30,)])],
    ),
    Case(
        "dbo.m_case_blocks",
        "procedure",
        """
CREATE PROCEDURE m_case_blocks @x int, @r varchar(20) OUTPUT AS
BEGIN
    IF CASE WHEN @x > 0 THEN 1 ELSE 0 END = 1
    BEGIN
        SET @r = CASE @x WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END
    END
    ELSE
        SET @r = CASE WHEN @x IS NULL THEN 'null' ELSE 'non-positive' END
END
""",
        checks=[
            (Q, "CALL m_case_blocks(2, NULL)", [("two",)]),
            (Q, "CALL m_case_blocks(7, NULL)", [("many",)]),
            (Q, "CALL m_case_blocks(-1, NULL)", [("non-positive",)]),
        ],
    ),
    Case(
        "dbo.m_declare_in_loop",
        "procedure",
        """
CREATE PROCEDURE m_declare_in_loop @s int OUTPUT AS
BEGIN
    DECLARE @i int = 0
    SET @s = 0
    WHILE @i < 3
    BEGIN
        DECLARE @step int = 10
        SET @s = @s + @step
        SET @step = 1000
        SET @i = @i + 1
    END
END
""",
        checks=[(Q, "CALL m_declare_in_loop(NULL)", [(30,)])],
    ),
    Case(
        "dbo.m_queue",
        "procedure",
        """
CREATE PROCEDURE m_queue @n int OUTPUT, @order varchar(100) OUTPUT AS
BEGIN
    DECLARE @m int
    SELECT id INTO #q FROM items WHERE qty > 0
    SET @n = 0 SET @order = ''
    WHILE (SELECT COUNT(*) FROM #q) > 0
    BEGIN
        SELECT @m = MIN(id) FROM #q
        DELETE FROM #q WHERE id = @m
        SET @n += 1
        SET @order = @order + CAST(@m AS varchar(10)) + ','
    END
END
""",
        checks=[(Q, "CALL m_queue(NULL, NULL)", [(3, "1,2,3,")])],
    ),
    Case(
        "dbo.m_return_in_try",
        "procedure",
        """
CREATE PROCEDURE m_return_in_try @x int, @r int OUTPUT AS
BEGIN
    SET @r = 0
    BEGIN TRY
        IF @x = 1 RETURN 5
        SET @r = 1
    END TRY
    BEGIN CATCH
        RETURN -1
    END CATCH
    RETURN 0
END
""",
        checks=[(Q, "CALL m_return_in_try(1, NULL)", [(0, 5)]), (Q, "CALL m_return_in_try(2, NULL)", [(1, 0)])],
    ),
    Case(
        "dbo.m_exec_result_proc",
        "procedure",
        """
CREATE PROCEDURE m_exec_result_proc @r int OUTPUT AS
BEGIN
    EXEC m_items
    SET @r = 1
END
""",
        items=["result-set"],
        checks=[(Q, "CALL m_exec_result_proc(NULL)", [(1,)])],
    ),
    Case(
        "dbo.m_update_from",
        "procedure",
        """
CREATE PROCEDURE m_update_from @n int OUTPUT AS
BEGIN
    CREATE TABLE #delta (id int, d int)
    INSERT INTO #delta VALUES (1, 5), (2, 6)
    UPDATE i SET qty = i.qty + t.d FROM items AS i INNER JOIN #delta AS t ON t.id = i.id
    SET @n = @@ROWCOUNT
END
""",
        checks=[
            (Q, "CALL m_update_from(NULL)", [(2,)]),
            (Q, "SELECT qty FROM items WHERE id IN (1, 2) ORDER BY id", [(15,), (9,)]),
        ],
    ),
    Case(
        "dbo.m_print_number",
        "procedure",
        """
CREATE PROCEDURE m_print_number @n int AS
    PRINT @n
""",
        checks=[(NOTICE, "CALL m_print_number(42)", "42")],
    ),
    Case(
        "dbo.m_string_work",
        "procedure",
        """
CREATE PROCEDURE m_string_work @s varchar(50), @len int OUTPUT, @pos int OUTPUT, @part varchar(50) OUTPUT AS
BEGIN
    SET @len = LEN(@s)
    SET @pos = CHARINDEX('-', @s)
    SET @part = SUBSTRING(@s, 1, @pos - 1)
END
""",
        checks=[(Q, "CALL m_string_work('abc-def  ', NULL, NULL, NULL)", [(7, 4, "abc")])],
    ),
    Case(
        "dbo.m_select_constants",
        "procedure",
        """
CREATE PROCEDURE m_select_constants @a int OUTPUT, @b varchar(5) OUTPUT AS
    SELECT @a = 7, @b = 'x'
""",
        checks=[(Q, "CALL m_select_constants(NULL, NULL)", [(7, "x")])],
    ),
    Case(
        "dbo.m_dates",
        "procedure",
        """
CREATE PROCEDURE m_dates @start datetime, @days int OUTPUT AS
BEGIN
    DECLARE @d datetime = @start
    SET @days = 0
    WHILE DATEDIFF(day, @start, @d) < 5
    BEGIN
        SET @d = DATEADD(day, 1, @d)
        SET @days = @days + 1
    END
END
""",
        checks=[(Q, "CALL m_dates('2024-02-27 23:00', NULL)", [(5,)])],
    ),
    Case(
        "dbo.m_save_tran",
        "procedure",
        """
CREATE PROCEDURE m_save_tran AS
BEGIN
    BEGIN TRAN
    SAVE TRANSACTION sp1
    INSERT INTO log (msg) VALUES ('x')
    ROLLBACK TRANSACTION sp1
    COMMIT
END
""",
        items=["transaction"],
    ),
    Case(
        "dbo.m_executesql_output",
        "procedure",
        """
CREATE PROCEDURE m_executesql_output @n int OUTPUT AS
    EXEC sp_executesql N'SELECT @c = COUNT(*) FROM items', N'@c int OUTPUT', @c = @n OUTPUT
""",
        items=["dynamic-sql"],
    ),
    Case(
        "dbo.m_system_proc",
        "procedure",
        """
CREATE PROCEDURE m_system_proc AS
    EXEC sp_rename 'a', 'b'
""",
        items=["system-procedure"],
    ),
    Case(
        "dbo.m_fn_table_var",
        "function",
        """
CREATE FUNCTION m_fn_table_var (@limit int) RETURNS int AS
BEGIN
    DECLARE @t TABLE (v int)
    DECLARE @i int = 1
    WHILE @i <= @limit
    BEGIN
        INSERT INTO @t (v) VALUES (@i * @i)
        SET @i = @i + 1
    END
    RETURN (SELECT SUM(v) FROM @t)
END
""",
        checks=[(Q, "SELECT m_fn_table_var(4)", [(30,)])],
    ),
    Case(
        "dbo.m_fn_inline_default",
        "function",
        """
CREATE FUNCTION m_fn_inline_default (@min int = 5) RETURNS TABLE AS
RETURN SELECT COUNT(*) AS n FROM items WHERE qty >= @min
""",
        ["par_min integer DEFAULT 5", "n integer"],
        checks=[
            (Q, "SELECT n FROM m_fn_inline_default()", [(2,)]),
            (Q, "SELECT n FROM m_fn_inline_default(0)", [(4,)]),
        ],
    ),
    Case(
        "dbo.m_tr_v_items_upd",
        "trigger",
        """
CREATE TRIGGER m_tr_v_items_upd ON v_items INSTEAD OF UPDATE AS
BEGIN
    IF UPDATE(name)
        INSERT INTO price_changes (item_id, old_name, new_name)
        SELECT i.id, d.name, i.name FROM inserted i JOIN deleted d ON d.id = i.id
    UPDATE items SET name = i.name, qty = i.qty FROM inserted i WHERE items.id = i.id
END
""",
        ["INSTEAD OF UPDATE ON public.v_items FOR EACH ROW", "new.name IS DISTINCT FROM old.name"],
        parent="dbo.v_items",
        checks=[
            (Q, "UPDATE v_items SET name = 'APPLE' WHERE id = 1", None),
            (Q, "UPDATE v_items SET qty = 1 WHERE id = 2", None),
            (Q, "SELECT item_id, old_name, new_name FROM price_changes", [(1, "apple", "APPLE")]),
            (Q, "SELECT name, qty FROM items WHERE id IN (1, 2) ORDER BY id", [("APPLE", 10), ("pear", 1)]),
        ],
    ),
    Case(
        "dbo.m_error_uncaught_number",
        "procedure",
        """
CREATE PROCEDURE m_error_uncaught_number AS
    THROW 51000, 'fatal', 2
""",
        checks=[(ERR, "CALL m_error_uncaught_number()", "fatal")],
    ),
    Case(
        "dbo.m_select_keeps",
        "procedure",
        """
CREATE PROCEDURE m_select_keeps @r int OUTPUT, @n int OUTPUT AS
BEGIN
    DECLARE @v int = 5
    SELECT @v = qty FROM items WHERE id = -1
    SET @n = @@ROWCOUNT
    SET @r = @v
END
""",
        ["IF NOT FOUND THEN var_v := sys_keep_"],
        checks=[(Q, "CALL m_select_keeps(NULL, NULL)", [(5, 0)])],
    ),
    Case(
        "dbo.m_rowcount_after_set",
        "procedure",
        """
CREATE PROCEDURE m_rowcount_after_set @n int OUTPUT AS
BEGIN
    DECLARE @a int
    UPDATE items SET qty = qty WHERE qty > 0
    SET @a = 1
    SET @n = @@ROWCOUNT
END
""",
        checks=[(Q, "CALL m_rowcount_after_set(NULL)", [(1,)])],
    ),
    Case(
        "dbo.m_fn_twice",
        "function",
        """
CREATE OR ALTER FUNCTION m_fn_twice (@n int) RETURNS int AS BEGIN RETURN 2 * @n END
""",
    ),
    Case(
        "dbo.m_exec_function",
        "procedure",
        """
CREATE PROC m_exec_function @r int OUTPUT
WITH RECOMPILE, ENCRYPTION
AS
    EXEC @r = dbo.m_fn_twice @n = 21
""",
        ["var_r := public.m_fn_twice(par_n => 21)".replace("var_r", "par_r")],
        items=["routine-option"],
        checks=[(Q, "CALL m_exec_function(NULL)", [(42,)])],
    ),
    Case(
        "dbo.m_execute_as_inside",
        "procedure",
        """
CREATE PROCEDURE m_execute_as_inside AS
BEGIN
    EXECUTE AS USER = 'someone'
    SELECT 1
    REVERT
END
""",
        items=["execute-as", "statement"],
    ),
    Case(
        "dbo.m_isolation",
        "procedure",
        """
ALTER PROCEDURE m_isolation @r int OUTPUT AS
    SET TRANSACTION ISOLATION LEVEL SERIALIZABLE
    SET DATEFIRST 1
    SET @r = 1
""",
        absent=["ISOLATION", "DATEFIRST"],
        items=["set"],
        checks=[(Q, "CALL m_isolation(NULL)", [(1,)])],
    ),
    Case(
        "dbo.m_numbered",
        "procedure",
        """
CREATE PROCEDURE m_numbered;2 AS SELECT 1
""",
        status="needs-work",
        items=["parse-error"],
    ),
    Case(
        "dbo.m_output_rows",
        "procedure",
        """
CREATE PROCEDURE m_output_rows @prefix varchar(10), @n int OUTPUT AS
BEGIN
    INSERT INTO log (msg) VALUES (@prefix + '1'), (@prefix + '2'), ('other')
    DELETE FROM log OUTPUT deleted.msg WHERE msg LIKE @prefix + '%'
    SET @n = @@ROWCOUNT
END
""",
        ["CREATE TEMP TABLE sys_output_", "OPEN result_set FOR SELECT * FROM pg_temp.sys_output_"],
        checks=[
            (Q, "CALL m_output_rows('x', NULL, 'o')", [(2, "o")]),
            (Q, "FETCH ALL FROM o", [("x1",), ("x2",)]),
            (Q, "SELECT msg FROM log", [("other",)]),
        ],
    ),
    Case(
        "dbo.m_multiline_literal",
        "procedure",
        """
CREATE PROCEDURE m_multiline_literal @s varchar(50) OUTPUT AS
BEGIN
    IF 1 = 1
    BEGIN
        SET @s = 'a
b'
    END
END
""",
        checks=[(Q, "CALL m_multiline_literal(NULL)", [("a\nb",)])],
    ),
]

DB_NAME = "routines_more"


@pytest.fixture(scope="module")
def deployed(postgres_dsn: str):
    db = create_database(postgres_dsn, DB_NAME, SETUP + MORE_SETUP)
    converted = convert_all(CASES, catalog_for(MORE_CATALOG))
    return db, converted, deploy(db, converted, CASES)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_more(deployed, case: Case) -> None:
    db, converted, errors = deployed
    check_deployed(errors, case, converted[case.name])
    run_case(db, case, converted[case.name])
