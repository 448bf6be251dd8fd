"""BEGIN TRAN/COMMIT/ROLLBACK/SAVE TRANSACTION in a routine body; a mixin of plpgsql.Emitter, apart because
they follow PostgreSQL's transaction rules rather than T-SQL's.

Transactions (procedures only): BEGIN TRAN only counts @@TRANCOUNT (sys_trancount; a CALL runs in a transaction
already); COMMIT/ROLLBACK → COMMIT/ROLLBACK (legal when CALLed outside a transaction block), except inside a TRY
block, where PostgreSQL forbids them (an EXCEPTION block is a subtransaction): there COMMIT is deferred to just
after the block (sys_commit_pending) and ROLLBACK raises error 3903 so the block's work is undone and CATCH runs —
both with an action item. In a CATCH handler ROLLBACK is legal and rolls back the whole transaction, as in T-SQL.
In a trigger, ROLLBACK raises error 3609 ("The transaction ended in the trigger"), which aborts the statement.
"""

from __future__ import annotations

from dbshift.convert.plpgsql_host import EmitterHost
from dbshift.convert.plpgsql_parse import Tok
from dbshift.convert.plpgsql_tokens import Unconverted


class TransactionMixin(EmitterHost):
    def begin_tran(self, toks: list[Tok], ind: int) -> None:
        if self.kind != "procedure":
            raise Unconverted(f"BEGIN TRANSACTION in a {self.kind}", "transaction")
        self.emit(ind, "sys_trancount := sys_trancount + 1;  -- BEGIN TRAN: CALL already runs in a transaction")

    def commit(self, toks: list[Tok], ind: int) -> None:
        if self.kind != "procedure":
            raise Unconverted(f"COMMIT in a {self.kind}", "transaction")
        self.emit(ind, "sys_trancount := greatest(sys_trancount - 1, 0);")
        if self.try_depth:
            self.commit_pending = True
            self.note(
                "warning",
                "COMMIT inside TRY: PostgreSQL cannot commit inside an EXCEPTION block; committed after the block",
                "transaction",
                toks[0].start,
            )
            self.emit(ind, "sys_commit_pending := true;")
            return
        self.transaction_control = True
        self.emit(ind, "IF sys_trancount = 0 THEN COMMIT; END IF;")

    def rollback(self, toks: list[Tok], ind: int) -> None:
        if self.kind == "trigger":
            assert self.trigger is not None
            self.emit(ind, "RAISE EXCEPTION 'The transaction ended in the trigger. The batch has been aborted.' "
                           "USING ERRCODE = 'P0001', DETAIL = '3609';")  # fmt: skip
            return
        if self.kind != "procedure":
            raise Unconverted(f"ROLLBACK in a {self.kind}", "transaction")
        if len(toks) > 2 and toks[1].kw in ("TRAN", "TRANSACTION") and self.savepoint(toks[2]):
            raise Unconverted("ROLLBACK to a savepoint: use a nested BEGIN … EXCEPTION block", "transaction")
        if self.try_depth:
            self.note(
                "warning",
                "ROLLBACK inside TRY: PostgreSQL cannot roll back inside an EXCEPTION block; raised as an error so "
                "the block's work is undone",
                "transaction",
                toks[0].start,
            )
            self.emit(ind, "sys_trancount := 0;")
            self.emit(ind, "RAISE EXCEPTION 'ROLLBACK inside TRY' USING ERRCODE = 'P0001', DETAIL = '3903';")
            return
        self.transaction_control = True
        self.emit(ind, "sys_trancount := 0;")
        self.emit(ind, "ROLLBACK;")

    @staticmethod
    def savepoint(tok: Tok) -> bool:
        return tok.kind in ("word", "qid") and tok.kw not in ("TRAN", "TRANSACTION")

    def save(self, toks: list[Tok], ind: int) -> None:
        raise Unconverted("SAVE TRANSACTION: use a nested BEGIN … EXCEPTION block", "transaction")
