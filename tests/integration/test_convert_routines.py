"""Procedures and functions: T-SQL in, key PL/pgSQL fragments out, created on a real PostgreSQL and called.

Expected values come from the T-SQL semantics of each routine (OUTPUT parameters, TRY/CATCH paths, @@ROWCOUNT,
cursors, ...). The harness (Case, run_module) is shared with test_convert_routines_*.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
import pytest

from dbshift.convert import routines
from dbshift.convert.model import Catalog, Column, Context, Converted, SourceObject

# -- harness -------------------------------------------------------------------------------------------------

Q = "q"  # (Q, sql, expected rows or None): run, compare all rows
ERR = "err"  # (ERR, sql, text the error message must contain)
NOTICE = "notice"  # (NOTICE, sql, text a notice must contain)
SAME = "same"  # (SAME, sql, other sql): both return the same rows


@dataclass
class Case:
    name: str  # T-SQL object name (schema.name)
    type: str  # procedure / function / trigger
    tsql: str
    fragments: list[str] = field(default_factory=list)  # must appear in the PostgreSQL text
    absent: list[str] = field(default_factory=list)  # must not appear
    checks: list[tuple] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # constructs of action items that must be reported
    autocommit: bool = False  # CALL outside a transaction block (procedures with COMMIT/ROLLBACK)
    status: str = "converted-unverified"
    parent: str | None = None

    @property
    def schema(self) -> str:
        return self.name.split(".")[0] if "." in self.name else "dbo"

    @property
    def short(self) -> str:
        return self.name.split(".")[-1]


def catalog_for(tables: dict[str, list[tuple[str, str, str, bool]]]) -> Catalog:
    """tables: "schema.name" → [(column, T-SQL type, pg type, identity)]."""
    cat = Catalog()
    for key, cols in tables.items():
        cat.tables[key.lower()] = {c.lower(): Column(c, t, pg, identity=ident) for c, t, pg, ident in cols}
    cat.alias_types["dbo.flag"] = "bit"
    return cat


def convert_all(cases: list[Case], catalog: Catalog) -> dict[str, Converted]:
    objs = [
        SourceObject("tests", c.schema, c.short, c.type, c.tsql.strip() + "\n", "t.sql", 1, c.parent) for c in cases
    ]
    for obj in objs:
        routines.register(obj, catalog)
    return {
        c.name: routines.convert(obj, Context(catalog=catalog, obj=obj)) for c, obj in zip(cases, objs, strict=True)
    }


def create_database(dsn: str, name: str, setup: str) -> str:
    with psycopg.connect(dsn + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(f"{dsn}/{name}", autocommit=True) as conn:
        conn.execute(setup)
    return f"{dsn}/{name}"


def deploy(db: str, converted: dict[str, Converted], cases: list[Case]) -> dict[str, str]:
    """Create every converted object (in case order), one transaction each; PostgreSQL's error per failed case."""
    errors: dict[str, str] = {}
    with psycopg.connect(db, autocommit=True) as conn:
        for case in cases:
            conv = converted[case.name]
            if conv.sql is None:
                continue
            try:
                conn.execute(conv.sql)
            except psycopg.Error as err:
                errors[case.name] = str(err)
            conn.execute("RESET search_path")
    return errors


def check_deployed(errors: dict[str, str], case: Case, conv: Converted) -> None:
    assert case.name not in errors, f"PostgreSQL rejected {case.name}: {errors[case.name]}\n{conv.sql}"


def run_case(db: str, case: Case, conv: Converted) -> None:
    assert conv.status == case.status, (conv.status, [i.message for i in conv.items])
    if conv.sql is None:
        assert case.items, "needs-work objects must name the expected action items"
    text = conv.sql or ""
    for frag in case.fragments:
        assert frag in text, f"{frag!r} not in:\n{text}"
    for frag in case.absent:
        assert frag not in text, f"{frag!r} in:\n{text}"
    constructs = {i.construct for i in conv.items}
    for construct in case.items:
        assert construct in constructs, (construct, [(i.construct, i.message) for i in conv.items])
    for item in conv.items:
        assert item.line >= 1, item
    if not case.checks:
        return
    notices: list[str] = []
    with psycopg.connect(db, autocommit=case.autocommit) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        for check in case.checks:
            kind, sql, expected = check
            if kind == Q:
                cur = conn.execute(sql)
                rows = cur.fetchall() if cur.description else None
                if expected is not None:
                    assert _norm(rows) == _norm(expected), (sql, rows, expected, text)
            elif kind == ERR:
                if not case.autocommit:
                    conn.execute("SAVEPOINT s")
                with pytest.raises(psycopg.Error) as info:
                    conn.execute(sql)
                assert expected in str(info.value), (str(info.value), text)
                if not case.autocommit:
                    conn.execute("ROLLBACK TO SAVEPOINT s")
            elif kind == SAME:
                first = conn.execute(sql).fetchall()
                assert first == conn.execute(expected).fetchall(), (sql, first, text)
            elif kind == NOTICE:
                notices.clear()
                conn.execute(sql)
                assert any(expected in n for n in notices), (notices, text)
        if not case.autocommit:
            conn.rollback()


def _norm(rows):
    if rows is None:
        return None
    out = []
    for row in rows:
        out.append(tuple(float(v) if isinstance(v, Decimal) else v for v in row))
    return out


def case_ids(cases: list[Case]) -> list[str]:
    return [re.sub(r"\W", "_", c.name) for c in cases]


# -- the database the routines need --------------------------------------------------------------------------

SETUP = """
CREATE SCHEMA sales;
CREATE DOMAIN public.flag AS boolean;
CREATE TABLE public.items (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name varchar(50) NOT NULL,
    qty integer NOT NULL, price numeric(10,2) NOT NULL DEFAULT 0);
INSERT INTO public.items (id, name, qty, price) VALUES (1, 'apple', 10, 0.50), (2, 'pear', 3, 0.80),
    (3, 'plum', 7, 0.30), (4, 'kiwi', 0, 1.20);
SELECT setval(pg_get_serial_sequence('public.items', 'id'), 4);
CREATE TABLE public.log (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, msg text);
CREATE TABLE public.errorlog (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, num integer, msg text);
CREATE TABLE sales.orders (order_id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    customer varchar(20) NOT NULL, amount numeric(10,2) NOT NULL);
"""

CATALOG = {
    "dbo.items": [("id", "int", "integer", True), ("name", "varchar(50)", "varchar(50)", False),
                  ("qty", "int", "integer", False), ("price", "decimal(10,2)", "numeric(10,2)", False)],
    "dbo.log": [("id", "int", "integer", True), ("msg", "nvarchar(max)", "text", False)],
    "dbo.errorlog": [("id", "int", "integer", True), ("num", "int", "integer", False),
                     ("msg", "nvarchar(max)", "text", False)],
    "sales.orders": [("order_id", "int", "integer", True), ("customer", "varchar(20)", "varchar(20)", False),
                     ("amount", "decimal(10,2)", "numeric(10,2)", False)],
}  # fmt: skip

CASES = [
    # ---- parameters
    Case(
        "dbo.p_add",
        "procedure",
        """
CREATE PROCEDURE dbo.p_add @a int, @b int, @sum int OUTPUT AS
    SET @sum = @a + @b
""",
        ["INOUT par_sum integer", "par_sum := par_a + par_b;"],
        checks=[(Q, "CALL p_add(2, 3, NULL)", [(5,)])],
    ),
    Case(
        "dbo.p_defaults",
        "procedure",
        """
CREATE PROCEDURE p_defaults
    @a int = 10, @b varchar(10) = 'x', @out varchar(20) OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET @out = @b + CAST(@a AS varchar(10));
END
""",
        ["par_a integer DEFAULT 10", "par_b varchar(10) DEFAULT 'x'", "INOUT par_out varchar(20) DEFAULT NULL"],
        absent=["NOCOUNT"],
        items=["parameter-default"],
        checks=[(Q, "CALL p_defaults(par_out => NULL)", [("x10",)]), (Q, "CALL p_defaults(5, 'y', NULL)", [("y5",)])],
    ),
    Case(
        "dbo.p_bit_default",
        "procedure",
        """
CREATE PROCEDURE p_bit_default (@flag bit = 0, @res int OUTPUT) AS
BEGIN
    IF @flag = 1 SET @res = 1 ELSE SET @res = 0
END
""",
        ["par_flag boolean DEFAULT false"],
        checks=[(Q, "CALL p_bit_default(par_res => NULL)", [(0,)]), (Q, "CALL p_bit_default(true, NULL)", [(1,)])],
    ),
    # ---- variables, SELECT @v =, IF/ELSE, WHILE
    Case(
        "dbo.p_stats",
        "procedure",
        """
CREATE PROCEDURE p_stats @min int, @n int OUTPUT, @total decimal(10,2) OUTPUT AS
BEGIN
    DECLARE @count int, @sum decimal(10, 2) = 0
    SELECT @count = COUNT(*), @sum = SUM(qty * price) FROM items WHERE qty >= @min
    SET @n = @count
    SET @total = @sum
END
""",
        ["var_count integer;", "INTO var_count, var_sum"],
        checks=[(Q, "CALL p_stats(3, NULL, NULL)", [(3, 9.5)])],
    ),
    Case(
        "dbo.p_classify",
        "procedure",
        """
CREATE PROCEDURE p_classify @x int, @r varchar(10) OUTPUT AS
    IF @x < 0
        SET @r = 'neg'
    ELSE IF @x = 0
        SET @r = 'zero'
    ELSE
    BEGIN
        SET @r = 'pos'
    END
""",
        ["ELSIF par_x = 0 THEN"],
        checks=[
            (Q, "CALL p_classify(-1, NULL)", [("neg",)]),
            (Q, "CALL p_classify(0, NULL)", [("zero",)]),
            (Q, "CALL p_classify(9, NULL)", [("pos",)]),
        ],
    ),
    Case(
        "dbo.p_loop",
        "procedure",
        """
CREATE PROCEDURE p_loop @s int OUTPUT AS
BEGIN
    DECLARE @i int = 0
    SET @s = 0
    WHILE 1 = 1
    BEGIN
        SET @i += 1
        IF @i > 7 BREAK
        IF @i % 2 = 0 CONTINUE
        SET @s = @s + @i
    END
END
""",
        ["LOOP", "EXIT;", "CONTINUE;", "END LOOP;"],
        checks=[(Q, "CALL p_loop(NULL)", [(16,)])],
    ),
    Case(
        "dbo.p_nested_while",
        "procedure",
        """
CREATE PROCEDURE p_nested_while @out varchar(100) OUTPUT AS
BEGIN
    DECLARE @i int = 1, @j int
    SET @out = ''
    WHILE @i <= 3
    BEGIN
        SET @j = 1
        WHILE @j <= @i
        BEGIN
            SET @out = @out + CAST(@i AS varchar(5))
            SET @j = @j + 1
        END
        SET @i = @i + 1
    END
END
""",
        ["WHILE var_i <= 3 LOOP"],
        checks=[(Q, "CALL p_nested_while(NULL)", [("122333",)])],
    ),
    Case(
        "dbo.p_cte_count",
        "procedure",
        """
CREATE PROCEDURE p_cte_count @n int OUTPUT AS
BEGIN
    ;WITH cheap AS (SELECT id FROM items WHERE price < 1)
    SELECT @n = COUNT(*) FROM cheap
END
""",
        ["INTO par_n"],
        checks=[(Q, "CALL p_cte_count(NULL)", [(3,)])],
    ),
    # ---- result sets
    Case(
        "dbo.p_items_over",
        "procedure",
        """
CREATE PROCEDURE p_items_over @min int AS
    SET NOCOUNT ON
    SELECT name, qty FROM items WHERE qty > @min ORDER BY name
""",
        ["INOUT result_set refcursor DEFAULT NULL", "OPEN result_set FOR SELECT"],
        checks=[
            (Q, "CALL p_items_over(2, 'rs')", [("rs",)]),
            (Q, "FETCH ALL FROM rs", [("apple", 10), ("pear", 3), ("plum", 7)]),
        ],
    ),
    Case(
        "dbo.p_two_sets",
        "procedure",
        """
CREATE PROCEDURE p_two_sets AS
BEGIN
    SELECT COUNT(*) AS n FROM items
    SELECT MAX(qty) AS m FROM items
END
""",
        ["INOUT result_set_2 refcursor"],
        checks=[
            (Q, "CALL p_two_sets('a', 'b')", [("a", "b")]),
            (Q, "FETCH ALL FROM a", [(4,)]),
            (Q, "FETCH ALL FROM b", [(10,)]),
        ],
    ),
    Case(
        "dbo.p_branch_sets",
        "procedure",
        """
CREATE PROCEDURE p_branch_sets @which int AS
    IF @which = 1
        SELECT 'one' AS w
    ELSE
        SELECT 'other' AS w
""",
        ["OPEN result_set FOR SELECT 'one'", "OPEN result_set FOR SELECT 'other'"],
        absent=["result_set_2"],
        checks=[(Q, "CALL p_branch_sets(2, 'c')", [("c",)]), (Q, "FETCH ALL FROM c", [("other",)])],
    ),
    Case(
        "dbo.p_rowcount_limit",
        "procedure",
        """
CREATE PROCEDURE p_rowcount_limit AS
    SET ROWCOUNT 2
    SELECT name FROM items ORDER BY qty DESC
""",
        ["LIMIT 2"],
        items=["set-rowcount"],
        checks=[(Q, "CALL p_rowcount_limit('r')", [("r",)]), (Q, "FETCH ALL FROM r", [("apple",), ("plum",)])],
    ),
    # ---- @@ROWCOUNT, SCOPE_IDENTITY, @@IDENTITY
    Case(
        "dbo.p_rowcount",
        "procedure",
        """
CREATE PROCEDURE p_rowcount @min int, @n int OUTPUT AS
BEGIN
    UPDATE items SET qty = qty WHERE qty > @min
    SET @n = @@ROWCOUNT
END
""",
        ["GET DIAGNOSTICS sys_rowcount = ROW_COUNT;"],
        checks=[(Q, "CALL p_rowcount(2, NULL)", [(3,)]), (Q, "CALL p_rowcount(100, NULL)", [(0,)])],
    ),
    Case(
        "dbo.p_new_item",
        "procedure",
        """
CREATE PROCEDURE p_new_item @name varchar(50), @id int OUTPUT AS
BEGIN
    INSERT INTO items (name, qty, price) VALUES (@name, 1, 1.0);
    SET @id = SCOPE_IDENTITY();
END
""",
        ["RETURNING id INTO sys_identity", "par_id := sys_identity"],
        checks=[
            (SAME, "CALL p_new_item('fig', NULL)", "SELECT id FROM items WHERE name = 'fig'"),
            (Q, "SELECT count(*) FROM items", [(5,)]),
        ],
    ),
    Case(
        "dbo.p_new_log",
        "procedure",
        """
CREATE PROCEDURE p_new_log @msg nvarchar(100), @id int OUTPUT AS
    INSERT log (msg) VALUES (@msg)
    SELECT @id = @@IDENTITY
""",
        ["RETURNING id INTO sys_identity"],
        checks=[
            (SAME, "CALL p_new_log('a', NULL)", "SELECT max(id) FROM log"),
            (SAME, "CALL p_new_log('b', NULL)", "SELECT id FROM log WHERE msg = 'b'"),
        ],
    ),
    Case(
        "sales.add_order",
        "procedure",
        """
CREATE PROCEDURE [Sales].[add_order] @customer varchar(20), @amount decimal(10,2), @id int OUTPUT
WITH EXECUTE AS OWNER
AS
    INSERT INTO orders (customer, amount) VALUES (@customer, @amount)
    SET @id = SCOPE_IDENTITY()
""",
        [
            "CREATE OR REPLACE PROCEDURE sales.add_order",
            "SET search_path = sales, public",
            "SECURITY DEFINER",
            "RETURNING order_id INTO sys_identity",
        ],
        items=["execute-as"],
        checks=[
            (Q, "CALL sales.add_order('acme', 12.5, NULL)", [(1,)]),
            (Q, "SELECT customer, amount FROM sales.orders", [("acme", 12.5)]),
        ],
    ),
    # ---- errors
    Case(
        "dbo.p_div0",
        "procedure",
        """
CREATE PROCEDURE p_div0 @num int OUTPUT, @msg nvarchar(4000) OUTPUT AS
BEGIN TRY
    DECLARE @x int
    SET @x = 1 / 0
    SET @num = 0
END TRY
BEGIN CATCH
    SET @num = ERROR_NUMBER()
    SET @msg = ERROR_MESSAGE()
END CATCH
""",
        ["EXCEPTION WHEN OTHERS THEN", "GET STACKED DIAGNOSTICS"],
        checks=[(Q, "CALL p_div0(NULL, NULL)", [(8134, "division by zero")])],
    ),
    Case(
        "dbo.p_throw_catch",
        "procedure",
        """
CREATE PROCEDURE p_throw_catch @num int OUTPUT, @msg nvarchar(200) OUTPUT, @sev int OUTPUT, @st int OUTPUT AS
BEGIN
    BEGIN TRY
        THROW 50001, 'custom failure', 1;
    END TRY
    BEGIN CATCH
        SELECT @num = ERROR_NUMBER(), @msg = ERROR_MESSAGE(), @sev = ERROR_SEVERITY(), @st = ERROR_STATE();
    END CATCH
END
""",
        ["RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'custom failure'"],
        checks=[(Q, "CALL p_throw_catch(NULL, NULL, NULL, NULL)", [(50001, "custom failure", 16, 1)])],
    ),
    Case(
        "dbo.p_raiserror_fmt",
        "procedure",
        """
CREATE PROCEDURE p_raiserror_fmt @v int, @name varchar(10), @msg nvarchar(200) OUTPUT, @num int OUTPUT AS
BEGIN TRY
    RAISERROR('bad value %d for %s (100%%)', 16, 1, @v, @name)
END TRY
BEGIN CATCH
    SET @msg = ERROR_MESSAGE(); SET @num = ERROR_NUMBER();
END CATCH
""",
        ["RAISE EXCEPTION 'bad value % for % (100%%)', par_v, par_name"],
        checks=[(Q, "CALL p_raiserror_fmt(7, 'abc', NULL, NULL)", [("bad value 7 for abc (100%)", 50000)])],
    ),
    Case(
        "dbo.p_raiserror_info",
        "procedure",
        """
CREATE PROCEDURE p_raiserror_info @done int OUTPUT AS
    RAISERROR(N'just info', 10, 1) WITH NOWAIT
    SET @done = 1
""",
        ["RAISE NOTICE 'just info'"],
        checks=[(NOTICE, "CALL p_raiserror_info(NULL)", "just info"), (Q, "CALL p_raiserror_info(NULL)", [(1,)])],
    ),
    Case(
        "dbo.p_throw_out",
        "procedure",
        """
CREATE PROCEDURE p_throw_out @x int AS
    IF @x > 10 THROW 50002, N'too big', 1;
    INSERT INTO log (msg) VALUES ('ok')
""",
        checks=[
            (ERR, "CALL p_throw_out(11)", "too big"),
            (Q, "CALL p_throw_out(1)", None),
            (Q, "SELECT msg FROM log", [("ok",)]),
        ],
    ),
    Case(
        "dbo.p_rethrow",
        "procedure",
        """
CREATE PROCEDURE p_rethrow AS
BEGIN TRY
    INSERT INTO items (id, name, qty) VALUES (1, 'dup', 1)
END TRY
BEGIN CATCH
    PRINT 'caught ' + ERROR_MESSAGE();
    THROW;
END CATCH
""",
        ["RAISE;"],
        checks=[(ERR, "CALL p_rethrow()", "duplicate key")],
    ),
    Case(
        "dbo.p_dup_number",
        "procedure",
        """
CREATE PROCEDURE p_dup_number @num int OUTPUT, @proc sysname OUTPUT AS
BEGIN TRY
    INSERT INTO items (id, name, qty) VALUES (2, 'dup', 1)
END TRY
BEGIN CATCH
    SET @num = ERROR_NUMBER()
    SET @proc = ERROR_PROCEDURE()
    INSERT INTO errorlog (num, msg) VALUES (ERROR_NUMBER(), ERROR_MESSAGE())
END CATCH
""",
        checks=[
            (Q, "CALL p_dup_number(NULL, NULL)", [(2627, "p_dup_number")]),
            (Q, "SELECT num FROM errorlog", [(2627,)]),
        ],
    ),
    Case(
        "dbo.p_error_outside",
        "procedure",
        """
CREATE PROCEDURE p_error_outside @m nvarchar(100) OUTPUT AS
    SET @m = ISNULL(ERROR_MESSAGE(), 'none')
""",
        items=["error-functions"],
        checks=[(Q, "CALL p_error_outside(NULL)", [("none",)])],
    ),
    # ---- transactions
    Case(
        "dbo.p_tran_commit",
        "procedure",
        """
CREATE PROCEDURE p_tran_commit @msg nvarchar(50) AS
BEGIN
    BEGIN TRANSACTION
    INSERT INTO log (msg) VALUES (@msg)
    COMMIT TRANSACTION
END
""",
        ["COMMIT;"],
        autocommit=True,
        checks=[
            (Q, "CALL p_tran_commit('committed')", None),
            (Q, "SELECT count(*) FROM log WHERE msg = 'committed'", [(1,)]),
        ],
    ),
    Case(
        "dbo.p_tran_rollback",
        "procedure",
        """
CREATE PROCEDURE p_tran_rollback @msg nvarchar(50), @n int OUTPUT AS
BEGIN
    BEGIN TRAN
    INSERT INTO log (msg) VALUES (@msg)
    ROLLBACK
    SELECT @n = COUNT(*) FROM log WHERE msg = @msg
END
""",
        ["ROLLBACK;"],
        autocommit=True,
        checks=[
            (Q, "CALL p_tran_rollback('gone', NULL)", [(0,)]),
            (Q, "SELECT count(*) FROM log WHERE msg = 'gone'", [(0,)]),
        ],
    ),
    Case(
        "dbo.p_try_tran",
        "procedure",
        """
CREATE PROCEDURE p_try_tran @fail bit, @status int OUTPUT AS
BEGIN
    SET XACT_ABORT ON;
    SET @status = 0;
    BEGIN TRY
        BEGIN TRAN;
        INSERT INTO log (msg) VALUES ('first');
        IF @fail = 1
            INSERT INTO items (id, name, qty) VALUES (1, 'dup', 1);
        INSERT INTO log (msg) VALUES ('second');
        COMMIT TRAN;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0
            ROLLBACK TRAN;
        SET @status = -1;
    END CATCH
END
""",
        ["sys_commit_pending := true;", "IF sys_commit_pending THEN"],
        items=["transaction"],
        autocommit=True,
        checks=[
            (Q, "CALL p_try_tran(true, NULL)", [(-1,)]),
            (Q, "SELECT count(*) FROM log WHERE msg IN ('first', 'second')", [(0,)]),
            (Q, "CALL p_try_tran(false, NULL)", [(0,)]),
            (Q, "SELECT count(*) FROM log WHERE msg IN ('first', 'second')", [(2,)]),
            (Q, "DELETE FROM log", None),
        ],
    ),
    Case(
        "dbo.p_xact_state",
        "procedure",
        """
CREATE PROCEDURE p_xact_state @r int OUTPUT AS
    IF XACT_STATE() = 0 AND @@TRANCOUNT = 0 SET @r = 1 ELSE SET @r = 2
""",
        checks=[(Q, "CALL p_xact_state(NULL)", [(1,)])],
    ),
    # ---- RETURN n and EXEC
    Case(
        "dbo.p_status",
        "procedure",
        """
CREATE PROCEDURE p_status @x int AS
BEGIN
    IF @x < 0 RETURN -1
    RETURN 0
END
""",
        ["INOUT return_status integer DEFAULT 0", "return_status := -1;"],
        checks=[(Q, "CALL p_status(-5)", [(-1,)]), (Q, "CALL p_status(5)", [(0,)])],
    ),
    Case(
        "dbo.p_exec_positional",
        "procedure",
        """
CREATE PROCEDURE p_exec_positional @out int OUTPUT AS
BEGIN
    DECLARE @s int
    EXEC dbo.p_add 2, 3, @s OUTPUT
    SET @out = @s * 10
END
""",
        ["CALL public.p_add(par_a => 2, par_b => 3, par_sum => var_s);"],
        checks=[(Q, "CALL p_exec_positional(NULL)", [(50,)])],
    ),
    Case(
        "dbo.p_exec_named",
        "procedure",
        """
CREATE PROCEDURE p_exec_named @out int OUTPUT AS
BEGIN
    DECLARE @s int
    EXECUTE [dbo].[p_add] @b = 4, @a = 1, @sum = @s OUTPUT
    EXEC p_add 1, 1
    SET @out = @s
END
""",
        ["par_sum => var_s"],
        items=["exec"],
        checks=[(Q, "CALL p_exec_named(NULL)", [(5,)])],
    ),
    Case(
        "dbo.p_exec_status",
        "procedure",
        """
CREATE PROCEDURE p_exec_status @x int, @rc int OUTPUT AS
    EXEC @rc = p_status @x
""",
        ["return_status => par_rc"],
        checks=[(Q, "CALL p_exec_status(-3, NULL)", [(-1,)]), (Q, "CALL p_exec_status(3, NULL)", [(0,)])],
    ),
    Case(
        "dbo.p_exec_defaults",
        "procedure",
        """
CREATE PROCEDURE p_exec_defaults @out varchar(20) OUTPUT AS
    EXEC p_defaults @b = 'z', @out = @out OUTPUT
""",
        checks=[(Q, "CALL p_exec_defaults(NULL)", [("z10",)])],
    ),
    Case(
        "dbo.p_uses_function",
        "procedure",
        """
CREATE PROCEDURE p_uses_function @n int, @out int OUTPUT AS
    SET @out = dbo.fn_square(@n) + dbo.fn_add_default(@n, DEFAULT)
""",
        checks=[(Q, "CALL p_uses_function(4, NULL)", [(22,)])],
    ),
    # ---- cursors
    Case(
        "dbo.p_cursor_sum",
        "procedure",
        """
CREATE PROCEDURE p_cursor_sum @total int OUTPUT, @rows int OUTPUT AS
BEGIN
    DECLARE @q int
    SET @total = 0 SET @rows = 0
    DECLARE item_cursor CURSOR LOCAL FAST_FORWARD FOR
        SELECT qty FROM items ORDER BY id
    OPEN item_cursor
    FETCH NEXT FROM item_cursor INTO @q
    WHILE @@FETCH_STATUS = 0
    BEGIN
        SET @total = @total + @q
        SET @rows = @rows + 1
        FETCH NEXT FROM item_cursor INTO @q
    END
    CLOSE item_cursor
    DEALLOCATE item_cursor
END
""",
        [
            "OPEN cur_item_cursor FOR SELECT",
            "FETCH NEXT FROM cur_item_cursor INTO var_q;",
            "sys_fetch_status := CASE WHEN FOUND THEN 0 ELSE -1 END;",
        ],
        checks=[(Q, "CALL p_cursor_sum(NULL, NULL)", [(20, 4)])],
    ),
    Case(
        "dbo.p_cursor_concat",
        "procedure",
        """
CREATE PROCEDURE p_cursor_concat @min int, @list varchar(200) OUTPUT AS
BEGIN
    DECLARE @name varchar(50), @qty int
    SET @list = ''
    DECLARE c CURSOR FOR SELECT name, qty FROM items WHERE qty >= @min ORDER BY name
    OPEN c
    FETCH c INTO @name, @qty
    WHILE @@FETCH_STATUS = 0
    BEGIN
        SET @list = @list + @name + ':' + CONVERT(varchar(10), @qty) + ';'
        FETCH NEXT FROM c INTO @name, @qty
    END
    CLOSE c
    DEALLOCATE c
END
""",
        checks=[(Q, "CALL p_cursor_concat(3, NULL)", [("apple:10;pear:3;plum:7;",)])],
    ),
    Case(
        "dbo.p_cursor_scroll",
        "procedure",
        """
CREATE PROCEDURE p_cursor_scroll @last varchar(50) OUTPUT, @first varchar(50) OUTPUT AS
BEGIN
    DECLARE s CURSOR SCROLL FOR SELECT name FROM items ORDER BY id
    OPEN s
    FETCH LAST FROM s INTO @last
    FETCH FIRST FROM s INTO @first
    CLOSE s
    DEALLOCATE s
END
""",
        ["OPEN cur_s SCROLL FOR"],
        checks=[(Q, "CALL p_cursor_scroll(NULL, NULL)", [("kiwi", "apple")])],
    ),
    Case(
        "dbo.p_cursor_reopen",
        "procedure",
        """
CREATE PROCEDURE p_cursor_reopen @n int OUTPUT AS
BEGIN
    DECLARE @i int = 0, @v int
    SET @n = 0
    DECLARE r CURSOR FOR SELECT qty FROM items WHERE qty > 5
    WHILE @i < 2
    BEGIN
        OPEN r
        FETCH NEXT FROM r INTO @v
        WHILE @@FETCH_STATUS = 0
        BEGIN
            SET @n = @n + 1
            FETCH NEXT FROM r INTO @v
        END
        CLOSE r
        SET @i = @i + 1
    END
    DEALLOCATE r
END
""",
        checks=[(Q, "CALL p_cursor_reopen(NULL)", [(4,)])],
    ),
    # ---- temp tables and table variables
    Case(
        "dbo.p_temp_table",
        "procedure",
        """
CREATE PROCEDURE p_temp_table @n int OUTPUT, @s int OUTPUT AS
BEGIN
    CREATE TABLE #work (id int NOT NULL PRIMARY KEY, v int NULL)
    INSERT INTO #work (id, v) SELECT id, qty * 2 FROM items
    DELETE FROM #work WHERE v = 0
    SELECT @n = COUNT(*), @s = SUM(v) FROM #work
    DROP TABLE #work
END
""",
        ["CREATE TEMP TABLE work (id integer NOT NULL PRIMARY KEY, v integer NULL)", "DROP TABLE pg_temp.work"],
        checks=[(Q, "CALL p_temp_table(NULL, NULL)", [(3, 40)]), (Q, "CALL p_temp_table(NULL, NULL)", [(3, 40)])],
    ),
    Case(
        "dbo.p_select_into",
        "procedure",
        """
CREATE PROCEDURE p_select_into @n int OUTPUT AS
BEGIN
    SELECT id, qty INTO #big FROM items WHERE qty > 5
    SELECT @n = COUNT(*) FROM #big
END
""",
        ["CREATE TEMP TABLE big AS SELECT"],
        checks=[(Q, "CALL p_select_into(NULL)", [(2,)])],
    ),
    Case(
        "dbo.p_table_variable",
        "procedure",
        """
CREATE PROCEDURE p_table_variable @s int OUTPUT AS
BEGIN
    DECLARE @tv TABLE (id int PRIMARY KEY, v int, tag varchar(5) DEFAULT 'x')
    INSERT INTO @tv (id, v) SELECT id, qty FROM items WHERE qty > 0
    UPDATE @tv SET v = v + 1 WHERE id = 1
    SELECT @s = SUM(v) FROM @tv WHERE tag = 'x'
END
""",
        ["CREATE TEMP TABLE tv_tv (id integer PRIMARY KEY, v integer, tag varchar(5) DEFAULT 'x')"],
        checks=[(Q, "CALL p_table_variable(NULL)", [(21,)])],
    ),
    # ---- SET options, PRINT, WAITFOR
    Case(
        "dbo.p_set_options",
        "procedure",
        """
CREATE PROCEDURE p_set_options @r int OUTPUT AS
BEGIN
    SET NOCOUNT ON;
    SET ANSI_NULLS ON;
    SET QUOTED_IDENTIFIER ON;
    SET XACT_ABORT ON;
    SET ARITHABORT ON;
    SET @r = 42;
END
""",
        absent=["NOCOUNT", "ANSI_NULLS", "XACT_ABORT", "ARITHABORT"],
        checks=[(Q, "CALL p_set_options(NULL)", [(42,)])],
    ),
    Case(
        "dbo.p_print",
        "procedure",
        """
CREATE PROCEDURE p_print @name varchar(20) AS
    PRINT 'hello ' + @name
""",
        ["RAISE NOTICE '%', 'hello ' || par_name;"],
        checks=[(NOTICE, "CALL p_print('bob')", "hello bob")],
    ),
    Case(
        "dbo.p_waitfor",
        "procedure",
        """
CREATE PROCEDURE p_waitfor @r int OUTPUT AS
BEGIN
    WAITFOR DELAY '00:00:00.05'
    SET @r = 1
END
""",
        ["pg_sleep"],
        checks=[(Q, "CALL p_waitfor(NULL)", [(1,)])],
    ),
    # ---- dynamic SQL
    Case(
        "dbo.p_dynamic_static",
        "procedure",
        """
CREATE PROCEDURE p_dynamic_static @item int, @d int AS
    EXEC sp_executesql N'UPDATE items SET qty = qty + @delta WHERE id = @id', N'@delta int, @id int',
        @delta = @d, @id = @item
""",
        ["EXECUTE 'UPDATE items SET qty = qty + $1 WHERE id = $2' USING par_d, par_item;"],
        items=["dynamic-sql"],
        checks=[(Q, "CALL p_dynamic_static(3, 5)", None), (Q, "SELECT qty FROM items WHERE id = 3", [(12,)])],
    ),
    Case(
        "dbo.p_dynamic_exec",
        "procedure",
        """
CREATE PROCEDURE p_dynamic_exec AS
    EXEC('DELETE FROM log WHERE msg = ''zzz''')
""",
        ["EXECUTE 'DELETE FROM log WHERE msg = ''zzz''';"],
        items=["dynamic-sql"],
        checks=[
            (Q, "INSERT INTO log (msg) VALUES ('zzz'), ('keep')", None),
            (Q, "CALL p_dynamic_exec()", None),
            (Q, "SELECT msg FROM log", [("keep",)]),
        ],
    ),
    Case(
        "dbo.p_dynamic_runtime",
        "procedure",
        """
CREATE PROCEDURE p_dynamic_runtime @table sysname AS
BEGIN
    DECLARE @sql nvarchar(200) = N'SELECT COUNT(*) FROM ' + @table
    EXEC (@sql)
END
""",
        ["EXECUTE var_sql;"],
        items=["dynamic-sql"],
        checks=[(Q, "CALL p_dynamic_runtime('items')", None)],
    ),
    # ---- not converted: reported, routine still created
    Case(
        "dbo.p_goto",
        "procedure",
        """
CREATE PROCEDURE p_goto @r int OUTPUT AS
BEGIN
    SET @r = 1
    GOTO done
    SET @r = 2
done:
    SET @r = @r + 10
END
""",
        ["-- [dbshift] not converted"],
        items=["statement"],
    ),
    Case(
        "dbo.p_insert_exec",
        "procedure",
        """
CREATE PROCEDURE p_insert_exec AS
BEGIN
    CREATE TABLE #r (n int)
    INSERT INTO #r EXEC p_two_sets
END
""",
        items=["insert-exec"],
    ),
    Case(
        "dbo.p_cursor_variable",
        "procedure",
        """
CREATE PROCEDURE p_cursor_variable AS
BEGIN
    DECLARE @c CURSOR
    SET @c = CURSOR FOR SELECT 1
END
""",
        items=["cursor"],
    ),
    Case(
        "dbo.p_malformed",
        "procedure",
        """
CREATE PROCEDURE p_malformed AS
BEGIN
    SET NOCOUNT ON
    IF 1 = 1
    BEGIN
        SELECT 1
""",
        status="needs-work",
        items=["parse-error"],
    ),
    # ---- functions
    Case(
        "dbo.fn_square",
        "function",
        """
CREATE FUNCTION dbo.fn_square (@n int) RETURNS int AS
BEGIN
    RETURN @n * @n
END
""",
        ["RETURNS integer", "RETURN par_n * par_n;"],
        checks=[(Q, "SELECT fn_square(7)", [(49,)])],
    ),
    Case(
        "dbo.fn_add_default",
        "function",
        """
CREATE FUNCTION fn_add_default (@a int, @b int = 2) RETURNS int
AS BEGIN RETURN @a + @b END
""",
        ["par_b integer DEFAULT 2"],
        checks=[(Q, "SELECT fn_add_default(1), fn_add_default(1, 5)", [(3, 6)])],
    ),
    Case(
        "dbo.fn_strict",
        "function",
        """
CREATE FUNCTION fn_strict (@s varchar(20)) RETURNS int
WITH RETURNS NULL ON NULL INPUT, SCHEMABINDING
AS
BEGIN
    RETURN LEN(@s)
END
""",
        ["STRICT"],
        items=["routine-option"],
        checks=[(Q, "SELECT fn_strict(NULL), fn_strict('ab  ')", [(None, 2)])],
    ),
    Case(
        "dbo.fn_factorial",
        "function",
        """
CREATE FUNCTION fn_factorial (@n int) RETURNS bigint AS
BEGIN
    DECLARE @r bigint = 1, @i int = 2
    WHILE @i <= @n
    BEGIN
        SET @r = @r * @i
        SET @i = @i + 1
    END
    RETURN @r
END
""",
        checks=[(Q, "SELECT fn_factorial(10), fn_factorial(0)", [(3628800, 1)])],
    ),
    Case(
        "dbo.fn_count_over",
        "function",
        """
CREATE FUNCTION fn_count_over (@min int) RETURNS int
WITH EXECUTE AS CALLER
AS
BEGIN
    DECLARE @c int
    SELECT @c = COUNT(*) FROM dbo.items WHERE qty > @min
    RETURN @c
END
""",
        absent=["SECURITY DEFINER"],
        checks=[(Q, "SELECT fn_count_over(5), fn_count_over(100)", [(2, 0)])],
    ),
    Case(
        "dbo.fn_grade",
        "function",
        """
CREATE FUNCTION fn_grade (@qty int) RETURNS varchar(10) AS
BEGIN
    DECLARE @g varchar(10)
    SET @g = CASE WHEN @qty >= 10 THEN 'high' WHEN @qty > 0 THEN 'low' ELSE 'none' END
    IF @g = 'none' AND @qty < 0 SET @g = 'invalid'
    RETURN @g
END
""",
        checks=[
            (Q, "SELECT fn_grade(10), fn_grade(3), fn_grade(0), fn_grade(-1)", [("high", "low", "none", "invalid")])
        ],
    ),
    Case(
        "dbo.fn_nested",
        "function",
        """
CREATE FUNCTION fn_nested (@n int) RETURNS int AS
BEGIN
    RETURN dbo.fn_square(@n) + dbo.fn_square(@n + 1)
END
""",
        checks=[(Q, "SELECT fn_nested(2)", [(13,)])],
    ),
    Case(
        "dbo.fn_items_from",
        "function",
        """
CREATE FUNCTION dbo.fn_items_from (@min int)
RETURNS TABLE
AS
RETURN (SELECT id, name, qty FROM dbo.items WHERE qty >= @min)
""",
        ["RETURNS TABLE (id integer, name varchar(50), qty integer)", "LANGUAGE sql"],
        checks=[(Q, "SELECT name FROM fn_items_from(7) ORDER BY id", [("apple",), ("plum",)])],
    ),
    Case(
        "dbo.fn_items_tagged",
        "function",
        """
CREATE FUNCTION fn_items_tagged (@tag varchar(10))
RETURNS TABLE WITH SCHEMABINDING
AS
RETURN
    SELECT CAST(i.id AS bigint) AS big_id, @tag AS tag, 1 AS one, i.price * 2 AS doubled
    FROM dbo.items AS i
""",
        ["big_id bigint", "tag varchar(10)", "one integer", "doubled text"],
        items=["tvf-column-type"],
        checks=[
            (Q, "SELECT big_id, tag, one, doubled FROM fn_items_tagged('t') WHERE big_id = 1", [(1, "t", 1, "1.00")])
        ],
    ),
    Case(
        "dbo.fn_report",
        "function",
        """
CREATE FUNCTION dbo.fn_report (@min int)
RETURNS @r TABLE (id int NOT NULL, label nvarchar(60) NULL)
AS
BEGIN
    INSERT INTO @r (id, label) SELECT id, name FROM dbo.items WHERE qty > @min
    INSERT @r VALUES (0, N'total')
    UPDATE @r SET label = UPPER(label) WHERE id = 1
    RETURN
END
""",
        ["RETURNS TABLE (id integer, label varchar(60))", "RETURN QUERY SELECT * FROM tv_r;"],
        checks=[
            (Q, "SELECT id, label FROM fn_report(5) ORDER BY id", [(0, "total"), (1, "APPLE"), (3, "plum")]),
            (Q, "SELECT count(*) FROM fn_report(100)", [(1,)]),
        ],
    ),
    Case(
        "dbo.fn_tvp",
        "function",
        """
CREATE FUNCTION fn_tvp (@ids dbo.IdList READONLY) RETURNS int AS BEGIN RETURN 1 END
""",
        status="needs-work",
        items=["tvp"],
    ),
    Case(
        "dbo.fn_status_text",
        "function",
        """
CREATE FUNCTION dbo.fn_status_text (@status tinyint) RETURNS nvarchar(15) AS
BEGIN
    RETURN CASE @status WHEN 1 THEN N'open' WHEN 2 THEN N'closed' ELSE N'?' END
END
""",
        ["par_status integer"],
        checks=[(Q, "SELECT fn_status_text(2), fn_status_text(9)", [("closed", "?")])],
    ),
]

DB_NAME = "routines_procs"


@pytest.fixture(scope="module")
def deployed(postgres_dsn: str):
    db = create_database(postgres_dsn, DB_NAME, SETUP)
    converted = convert_all(CASES, catalog_for(CATALOG))
    order = sorted(CASES, key=lambda c: (c.type != "function", c.name.startswith("dbo.p_exec")))
    return db, converted, deploy(db, converted, order)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_routine(deployed, case: Case) -> None:
    db, converted, errors = deployed
    check_deployed(errors, case, converted[case.name])
    run_case(db, case, converted[case.name])


def test_catalog_records_signatures() -> None:
    catalog = catalog_for(CATALOG)
    convert_all(CASES, catalog)
    add = catalog.routines["dbo.p_add"]
    assert add.kind == "procedure" and add.pg_name == "public.p_add"
    assert add.params == [("@a", "integer", "IN"), ("@b", "integer", "IN"), ("@sum", "integer", "INOUT")]
    assert catalog.routines["dbo.p_items_over"].returns_table
    assert catalog.routines["dbo.fn_square"].returns == "integer"
    assert catalog.routines["dbo.fn_report"].kind == "tvf" and catalog.routines["dbo.fn_report"].returns_table
    assert catalog.routines["sales.add_order"].pg_name == "sales.add_order"
