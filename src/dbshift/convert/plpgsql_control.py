"""Statement dispatch and control flow of a routine body: BEGIN … END blocks, IF/ELSE → IF/ELSIF, WHILE → WHILE
LOOP, BREAK/CONTINUE, TRY/CATCH → BEGIN … EXCEPTION, RETURN, WAITFOR DELAY, and the error statements (PRINT,
RAISERROR, THROW); a mixin of plpgsql.Emitter, kept apart from the statement handlers it dispatches to.

Errors (TRY/CATCH → BEGIN … EXCEPTION WHEN OTHERS THEN): the handler first runs GET STACKED DIAGNOSTICS into
sys_err_message/state/detail/context, and
- ERROR_MESSAGE() → sys_err_message (SQLERRM);
- ERROR_NUMBER() → the number given to THROW/RAISERROR (carried in the error's DETAIL), else from SQLSTATE:
  23505→2627, 23503/23514→547, 23502→515, 22012→8134, 22003→8115, 22001→8152, 40P01→1205, 22P02/22007/22008→245,
  anything else → 50000;
- ERROR_SEVERITY() → 16, ERROR_STATE() → 1, ERROR_LINE() → the PL/pgSQL line from PG_EXCEPTION_CONTEXT,
  ERROR_PROCEDURE() → the PL/pgSQL function name from PG_EXCEPTION_CONTEXT. Outside a CATCH block they are NULL.
- THROW n, msg, s / RAISERROR(msg, sev ≥ 11, …) → RAISE EXCEPTION (ERRCODE P0001, DETAIL n, 50000 for
  RAISERROR with a text); RAISERROR with severity ≤ 10 → RAISE NOTICE; THROW; → RAISE;
"""

from __future__ import annotations

import re

from dbshift.convert import expr
from dbshift.convert.plpgsql_host import EmitterHost
from dbshift.convert.plpgsql_parse import Block, If, Node, Simple, Tok, Try, While, split_top
from dbshift.convert.plpgsql_tokens import Unconverted, balanced

ERR_NUMBER = (
    "CASE WHEN sys_err_state = 'P0001' AND sys_err_detail ~ '^-?[0-9]+$' THEN sys_err_detail::integer"
    " WHEN sys_err_state = '23505' THEN 2627 WHEN sys_err_state IN ('23503', '23514') THEN 547"
    " WHEN sys_err_state = '23502' THEN 515 WHEN sys_err_state = '22012' THEN 8134"
    " WHEN sys_err_state = '22003' THEN 8115 WHEN sys_err_state = '22001' THEN 8152"
    " WHEN sys_err_state = '40P01' THEN 1205 WHEN sys_err_state IN ('22P02', '22007', '22008') THEN 245"
    " WHEN sys_err_state IS NULL THEN NULL ELSE 50000 END"
)


class ControlMixin(EmitterHost):
    def block(self, block: Block, ind: int) -> None:
        for stmt in block.stmts:
            self.stmt(stmt, ind)

    def stmt(self, node: Node, ind: int) -> None:
        if isinstance(node, Block):
            self.block(node, ind)
        elif isinstance(node, If):
            self.if_(node, ind, "IF")
        elif isinstance(node, While):
            cond = self.guarded_condition(node.cond, node.start)
            self.emit(ind, f"WHILE {cond} LOOP")
            before = self.result_sets
            self.stmt(node.body, ind + 1)
            if self.result_sets != before:
                self.note(
                    "warning", "result set inside a loop: only one cursor per result set", "result-set", node.start
                )
            self.emit(ind, "END LOOP;")
        elif isinstance(node, Try):
            self.try_(node, ind)
        else:
            try:
                self.simple(node, ind)
            except (Unconverted, expr.ConvertError, ValueError) as err:
                construct = getattr(err, "construct", "statement")
                severity = getattr(err, "severity", "error")
                self.note(severity, f"{err}: convert by hand", construct, node.start)
                first = self.src[node.toks[0].start : node.toks[-1].end].splitlines()[0] if node.toks else ""
                self.emit(ind, f"-- [dbshift] not converted ({construct}): {first[:150]}")

    def guarded_condition(self, cond: list[Tok], offset: int) -> str:
        try:
            # parenthesised: "SELECT @a = 0" would be an assignment to expr.py, "SELECT (@a = 0)" a comparison
            text = expr.convert_expression("(" + self.render(cond) + ")", self.ctx)
            # kept in parentheses when a CASE inside would show PL/pgSQL's IF a THEN of its own
            strip = text.startswith("(") and text.endswith(")") and balanced(text[1:-1]) and "CASE" not in text
            return text[1:-1] if strip else text
        except (Unconverted, expr.ConvertError, ValueError) as err:
            self.note("error", f"condition not converted ({err}): convert by hand", "condition", offset)
            return "false /* [dbshift] condition not converted */"

    def if_(self, node: If, ind: int, word: str) -> None:
        cond = self.guarded_condition(node.cond, node.start)
        self.emit(ind, f"{word} {cond} THEN")
        before = self.result_sets
        self.stmt(node.then, ind + 1)
        after_then = self.result_sets
        if isinstance(node.else_, If):
            self.result_sets = before
            self.if_(node.else_, ind, "ELSIF")
            self.result_sets = max(self.result_sets, after_then)
            return
        if node.else_ is not None:
            self.result_sets = before
            self.emit(ind, "ELSE")
            self.stmt(node.else_, ind + 1)
            self.result_sets = max(self.result_sets, after_then)
        self.emit(ind, "END IF;")

    def try_(self, node: Try, ind: int) -> None:
        self.emit(ind, "BEGIN")
        self.try_depth += 1
        outer_pending = self.commit_pending
        self.block(node.body, ind + 1)
        self.try_depth -= 1
        self.emit(ind, "EXCEPTION WHEN OTHERS THEN")
        self.emit(
            ind + 1,
            "GET STACKED DIAGNOSTICS sys_err_message = MESSAGE_TEXT, sys_err_state = RETURNED_SQLSTATE,\n"
            "    sys_err_detail = PG_EXCEPTION_DETAIL, sys_err_context = PG_EXCEPTION_CONTEXT;",
        )
        self.emit(ind + 1, f"sys_err_number := {ERR_NUMBER};")
        self.emit(ind + 1, "sys_err_severity := 16; sys_err_statenum := 1;")
        self.emit(ind + 1, "sys_err_line := (regexp_match(sys_err_context, 'line ([0-9]+)'))[1]::integer;")
        self.emit(ind + 1, "sys_err_procedure := (regexp_match(sys_err_context, 'function ([^ (]+)'))[1];")
        for name, decl in (
            ("sys_err_message", "text"),
            ("sys_err_state", "text"),
            ("sys_err_detail", "text"),
            ("sys_err_context", "text"),
            ("sys_err_number", "integer"),
            ("sys_err_severity", "integer"),
            ("sys_err_statenum", "integer"),
            ("sys_err_line", "integer"),
            ("sys_err_procedure", "text"),
        ):
            self.decls.setdefault(name, decl)
        self.catch_depth += 1
        self.block(node.catch, ind + 1)
        self.catch_depth -= 1
        self.emit(ind, "END;")
        if self.commit_pending and not self.try_depth and not outer_pending:
            self.emit(ind, "IF sys_commit_pending THEN")
            self.emit(ind + 1, "sys_commit_pending := false;")
            self.emit(ind + 1, "COMMIT;")
            self.emit(ind, "END IF;")
            self.commit_pending = False

    def simple(self, node: Simple, ind: int) -> None:
        verb = node.verb
        toks = node.toks
        handler = {
            "DECLARE": self.declare,
            "SET": self.set_,
            "SELECT": self.select,
            "WITH": self.with_,
            "INSERT": self.dml,
            "UPDATE": self.dml,
            "DELETE": self.dml,
            "MERGE": self.dml,
            "TRUNCATE": self.dml,
            "RETURN": self.return_,
            "PRINT": self.print_,
            "RAISERROR": self.raiserror,
            "THROW": self.throw,
            "EXEC": self.exec_,
            "EXECUTE": self.exec_,
            "OPEN": self.open_,
            "FETCH": self.fetch,
            "CLOSE": self.close,
            "DEALLOCATE": self.deallocate,
            "BREAK": lambda toks, ind: self.emit(ind, "EXIT;"),
            "CONTINUE": lambda toks, ind: self.emit(ind, "CONTINUE;"),
            "BEGIN TRAN": self.begin_tran,
            "COMMIT": self.commit,
            "ROLLBACK": self.rollback,
            "SAVE": self.save,
            "CREATE": self.create,
            "DROP": self.drop,
            "WAITFOR": self.waitfor,
        }.get(verb)
        if handler is None:
            raise Unconverted(f"statement {toks[0].text.upper()} has no PL/pgSQL conversion", "statement")
        handler(toks, ind)

    def return_(self, toks: list[Tok], ind: int) -> None:
        value = toks[1:]
        if self.kind == "trigger":
            assert self.trigger is not None
            self.emit(ind, self.trigger.return_text)
        elif self.kind == "procedure":
            if value:
                self.return_status = True
                self.emit(ind, f"return_status := {self.expression(value)};")
            self.emit(ind, "RETURN;")
        elif self.kind == "tvf":
            self.emit(ind, f"RETURN QUERY SELECT * FROM {self.tvf_table};")
            self.emit(ind, "RETURN;")
        else:
            if not value:
                raise Unconverted("RETURN without a value in a scalar function", "return")
            self.emit(ind, f"RETURN {self.expression(value, self.returns_bit)};")

    def print_(self, toks: list[Tok], ind: int) -> None:
        self.emit(ind, f"RAISE NOTICE '%', {self.expression(toks[1:])};")

    def raise_args(self, message: list[Tok], args: list[list[Tok]]) -> tuple[str, list[str]]:
        """(format literal, argument expressions) of a RAISERROR/THROW message for RAISE."""
        if len(message) == 1 and message[0].kind == "str":
            lit = message[0].text
            body = lit[2:-1] if lit[:1] in "Nn" and lit[1:2] == "'" else lit[1:-1]
            body = body.replace("%%", "\x00")
            body = re.sub(r"%[-+ 0#]*(\d+|\*)?(\.\d+)?(h|l|I64)?[disuoxXcS]", "\x01", body)
            body = body.replace("%", "%%").replace("\x01", "%").replace("\x00", "%%")
            return "'" + body + "'", [self.expression(a) for a in args]
        if len(message) == 1 and message[0].kind == "num":
            return f"'error {message[0].text} (message text from sys.messages)'", []
        return "'%'", [self.expression(message)]

    def raiserror(self, toks: list[Tok], ind: int) -> None:
        if len(toks) < 2 or toks[1].text != "(":
            raise Unconverted("old-style RAISERROR without parentheses", "raiserror")
        depth, close = 0, 1
        for close in range(1, len(toks)):
            depth += toks[close].text == "("
            depth -= toks[close].text == ")"
            if depth == 0:
                break
        parts = split_top(toks[2:close])
        if len(parts) < 3:
            raise Unconverted("RAISERROR needs message, severity and state", "raiserror")
        severity_text = self.render(parts[1])
        number = parts[0][0].text if len(parts[0]) == 1 and parts[0][0].kind == "num" else "50000"
        fmt, args = self.raise_args(parts[0], parts[3:])
        arg_text = "".join(", " + a for a in args)
        if severity_text.isdigit() and int(severity_text) <= 10:
            self.emit(ind, f"RAISE NOTICE {fmt}{arg_text};")
            return
        if not severity_text.isdigit():
            self.note("warning", "RAISERROR severity is not a constant: raised as an error", "raiserror", toks[0].start)
        self.emit(ind, f"RAISE EXCEPTION {fmt}{arg_text} USING ERRCODE = 'P0001', DETAIL = '{number}';")

    def throw(self, toks: list[Tok], ind: int) -> None:
        if len(toks) == 1:
            if not self.catch_depth:
                raise Unconverted("THROW without arguments outside a CATCH block", "throw")
            self.emit(ind, "RAISE;")
            return
        parts = split_top(toks[1:])
        if len(parts) != 3:
            raise Unconverted("THROW needs number, message and state", "throw")
        number = self.expression(parts[0])
        message = self.expression(parts[1])
        self.emit(ind, f"RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = {message}, DETAIL = ({number})::text;")

    def waitfor(self, toks: list[Tok], ind: int) -> None:
        if len(toks) == 3 and toks[1].kw == "DELAY":
            delay = self.expression(toks[2:])
            self.emit(ind, f"PERFORM pg_sleep(extract(epoch FROM ({delay})::interval));")
            return
        raise Unconverted("WAITFOR other than DELAY", "waitfor")
