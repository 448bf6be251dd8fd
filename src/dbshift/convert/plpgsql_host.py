"""What the mixins of plpgsql.Emitter (plpgsql_control, _declare, _cursors, _dml, _txn) use of the Emitter's state
and of one another's methods, declared once here for type checkers; nothing of it exists at run time, so a stub
never hides the method that another mixin or Emitter defines."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbshift.convert.model import Column, Context
    from dbshift.convert.plpgsql import TriggerInfo
    from dbshift.convert.plpgsql_parse import Tok


class EmitterHost:
    # the routine
    ctx: Context
    kind: str
    src: str
    schema: str
    trigger: TriggerInfo | None
    tvf_table: str | None
    returns_bit: bool
    # what is declared and emitted
    decls: dict[str, str]
    out: list[str]
    table_vars: dict[str, str]
    temp_tables: dict[str, dict[str, Column] | None]
    cursors: dict[str, tuple[list[Tok], bool]]
    # state along the body
    result_sets: int
    max_result_sets: int
    rowcount_limit: str | None
    uses_rowcount: bool
    last_insert: int | None
    last_insert_table: str
    return_status: bool
    transaction_control: bool
    try_depth: int
    catch_depth: int
    commit_pending: bool

    if TYPE_CHECKING:
        # plpgsql.Emitter's helpers
        def note(self, severity: str, message: str, construct: str, offset: int) -> None: ...
        def emit(self, ind: int, line: str) -> None: ...
        def render(self, toks: list[Tok]) -> str: ...
        def sql(self, toks: list[Tok]) -> str: ...
        def expression(self, toks: list[Tok], bit: bool = False) -> str: ...
        def is_bit_variable(self, tsql_name: str) -> bool: ...
        def var_name(self, tsql: str) -> str: ...
        def table_key(self, toks: list[Tok]) -> str: ...

        # the other mixins' methods that ControlMixin.simple() and DeclareMixin.declare() call
        def declare_cursor(self, toks: list[Tok]) -> None: ...  # plpgsql_cursors
        def open_(self, toks: list[Tok], ind: int) -> None: ...
        def fetch(self, toks: list[Tok], ind: int) -> None: ...
        def close(self, toks: list[Tok], ind: int) -> None: ...
        def deallocate(self, toks: list[Tok], ind: int) -> None: ...
        def exec_(self, toks: list[Tok], ind: int) -> None: ...  # plpgsql_exec
        def declare(self, toks: list[Tok], ind: int) -> None: ...  # plpgsql_declare
        def create(self, toks: list[Tok], ind: int) -> None: ...
        def drop(self, toks: list[Tok], ind: int) -> None: ...
        def set_(self, toks: list[Tok], ind: int) -> None: ...  # plpgsql_dml
        def select(self, toks: list[Tok], ind: int) -> None: ...
        def with_(self, toks: list[Tok], ind: int) -> None: ...
        def dml(self, toks: list[Tok], ind: int) -> None: ...
        def begin_tran(self, toks: list[Tok], ind: int) -> None: ...  # plpgsql_txn
        def commit(self, toks: list[Tok], ind: int) -> None: ...
        def rollback(self, toks: list[Tok], ind: int) -> None: ...
        def save(self, toks: list[Tok], ind: int) -> None: ...
