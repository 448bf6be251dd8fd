"""SET (variable assignment, session options), SELECT (assignment to variables, SELECT … INTO a new table, result
sets → refcursors), WITH and INSERT/UPDATE/DELETE/MERGE/TRUNCATE with @@ROWCOUNT and OUTPUT; a mixin of
plpgsql.Emitter, apart as the statements that run SQL through expr.py."""

from __future__ import annotations

from dbshift.convert import expr, names, types
from dbshift.convert.plpgsql_host import EmitterHost
from dbshift.convert.plpgsql_parse import Tok, find_top, split_top
from dbshift.convert.plpgsql_tokens import Unconverted, drop_temp, unqualify_set_targets

_DROPPED_SET = {
    "NOCOUNT", "ANSI_NULLS", "QUOTED_IDENTIFIER", "ANSI_WARNINGS", "ANSI_PADDING", "ANSI_NULL_DFLT_ON",
    "ARITHABORT", "CONCAT_NULL_YIELDS_NULL", "NUMERIC_ROUNDABORT", "STATISTICS", "FMTONLY", "NOEXEC",
    "XACT_ABORT", "IMPLICIT_TRANSACTIONS", "ANSI_DEFAULTS", "ARITHIGNORE", "CURSOR_CLOSE_ON_COMMIT",
}  # fmt: skip


class DmlMixin(EmitterHost):
    def set_(self, toks: list[Tok], ind: int) -> None:
        if len(toks) > 1 and toks[1].kind == "var":
            target = self.var_name(toks[1].text)
            op = toks[2].text if len(toks) > 2 else ""
            value = toks[3:]
            if value and value[0].kw == "CURSOR":
                raise Unconverted("cursor variable assignment: use a named cursor", "cursor")
            if op == "=":
                self.emit(ind, f"{target} := {self.expression(value, self.is_bit_variable(toks[1].text))};")
            elif len(op) == 2 and op[1] == "=":
                text = f"{toks[1].text} {op[0]} ({self.render(value)})"
                self.emit(ind, f"{target} := {expr.convert_expression(text, self.ctx)};")
            else:
                raise Unconverted(f"SET {toks[1].text} {op}: not understood", "set")
            if self.uses_rowcount:
                self.emit(ind, "sys_rowcount := 1;  -- a simple assignment sets @@ROWCOUNT to 1")
            return
        option = toks[1].kw if len(toks) > 1 else ""
        if option in _DROPPED_SET:
            if option == "XACT_ABORT":
                self.note(
                    "info",
                    "SET XACT_ABORT dropped: PostgreSQL always aborts the transaction on error",
                    "set",
                    toks[0].start,
                )
            return
        if option == "ROWCOUNT" and len(toks) > 2:
            value = self.render(toks[2:])
            self.rowcount_limit = None if value == "0" else self.expression(toks[2:])
            self.note("info", "SET ROWCOUNT → LIMIT on the following result sets", "set-rowcount", toks[0].start)
            return
        if option == "TRANSACTION":
            self.note(
                "warning",
                "SET TRANSACTION ISOLATION LEVEL dropped: set it on the caller's transaction",
                "set",
                toks[0].start,
            )
            return
        self.note("warning", f"SET {option} dropped: no PostgreSQL equivalent inside a routine", "set", toks[0].start)

    def select(self, toks: list[Tok], ind: int) -> None:
        into = find_top(toks, "INTO")
        from_at = find_top(toks, "FROM")
        if into > 0 and (from_at < 0 or into < from_at):  # SELECT … INTO #t FROM …
            target = toks[into + 1]
            table = names.ident(target.text.lstrip("#")) if target.text.startswith("#") else self.render([target])
            if target.kind == "var":
                raise Unconverted("SELECT … INTO @table_variable is not T-SQL", "select-into")
            rest = toks[:into] + toks[into + 2 :]
            if target.text.startswith("#"):
                self.emit(ind, drop_temp(table))
                self.emit(ind, f"CREATE TEMP TABLE {table} AS {self.sql(rest)};")
            else:
                self.emit(ind, f"CREATE TABLE {names.ident(target.text)} AS {self.sql(rest)};")
            self.after_dml(ind)
            return
        k = 1
        while k < len(toks) and toks[k].kw in ("DISTINCT", "ALL", "TOP", "PERCENT", "WITH", "TIES"):
            if toks[k].kw == "TOP":
                k += 1
                if toks[k].text == "(":
                    depth = 0
                    while True:
                        depth += toks[k].text == "("
                        depth -= toks[k].text == ")"
                        k += 1
                        if depth == 0:
                            break
                    continue
            k += 1
        assigns = k < len(toks) and toks[k].kind == "var" and k + 1 < len(toks) and toks[k + 1].text.endswith("=")
        if assigns:
            self.select_assign(toks, ind)
            return
        self.result_set(toks, ind)

    def select_assign(self, toks: list[Tok], ind: int) -> None:
        """SELECT @a = x … FROM … → SELECT x INTO a …; with a FROM, variables keep their values when no row
        is found (T-SQL assigns nothing, PL/pgSQL would assign NULL)."""
        text = self.sql(toks)
        at = next(k for k, t in enumerate(toks) if t.kw == "SELECT" and self._depth_at(toks, k) == 0)
        end = find_top(toks, "FROM", start=at)
        targets: list[str] = []
        if end > 0:
            for item in split_top(toks[at + 1 : end]):
                var = next((t for t in item if t.kind == "var"), None)
                if var is None or var.text.lower() not in self.ctx.variables:
                    continue
                pg = self.ctx.variables[var.text.lower()]
                targets.append(pg)
                if any(t.kind == "var" and t.text.lower() == var.text.lower() for t in item[item.index(var) + 2 :]):
                    self.note("warning", f"SELECT {var.text} = … {var.text} … FROM: T-SQL accumulates over all rows, "
                              "PL/pgSQL assigns from the first row: use string_agg/sum", "select-assign",
                              toks[0].start)  # fmt: skip
        saved: list[tuple[str, str]] = []
        for pg in targets:
            var_type = self.type_of(pg)
            if var_type is None:
                continue
            save = f"sys_keep_{len(self.decls)}"
            self.decls[save] = var_type
            saved.append((pg, save))
            self.emit(ind, f"{save} := {pg};")
        self.emit(ind, text + ";")
        self.after_dml(ind)
        if saved:
            restore = " ".join(f"{pg} := {save};" for pg, save in saved)
            self.emit(ind, f"IF NOT FOUND THEN {restore} END IF;")

    def type_of(self, pg: str) -> str | None:
        """The PostgreSQL type of a variable or parameter by its PostgreSQL name."""
        if pg in self.decls:
            return self.decls[pg]
        for key, name in self.ctx.variables.items():
            if name == pg and key in self.ctx.variable_types and not key.startswith("@sys_"):
                return types.pg_type(self.ctx.variable_types[key], self.ctx.catalog)
        return None

    def result_set(self, toks: list[Tok], ind: int) -> None:
        self.open_result(self.sql(toks), ind, toks[0].start)

    def open_result(self, text: str, ind: int, offset: int) -> None:
        if self.rowcount_limit is not None:
            text = f"SELECT * FROM ({text}) AS limited LIMIT {self.rowcount_limit}"
        if self.kind != "procedure":
            self.note("warning", f"rows returned to the client from a {self.kind}: dropped", "result-set",
                      offset)  # fmt: skip
            self.emit(ind, f"-- [dbshift] result set dropped: {text[:150]}")
            return
        self.result_sets += 1
        self.max_result_sets = max(self.max_result_sets, self.result_sets)
        name = "result_set" if self.result_sets == 1 else f"result_set_{self.result_sets}"
        self.emit(ind, f"OPEN {name} FOR {text};")

    def with_(self, toks: list[Tok], ind: int) -> None:
        depth = 0
        main = ""
        for t in toks[1:]:
            depth += t.text == "("
            depth -= t.text == ")"
            if depth == 0 and t.kw in ("SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"):
                main = t.kw
                break
        if main == "SELECT":
            at = next(k for k, t in enumerate(toks) if t.kw == "SELECT" and self._depth_at(toks, k) == 0)
            nxt = toks[at + 1] if at + 1 < len(toks) else None
            if nxt is not None and nxt.kind == "var":
                self.select_assign(toks, ind)
            else:
                self.result_set(toks, ind)
            return
        self.dml(toks, ind)

    @staticmethod
    def _depth_at(toks: list[Tok], k: int) -> int:
        depth = 0
        for t in toks[:k]:
            depth += t.text == "("
            depth -= t.text == ")"
        return depth

    def dml(self, toks: list[Tok], ind: int) -> None:
        if toks[0].kw == "INSERT" and find_top(toks, "EXEC", "EXECUTE") > 0:
            raise Unconverted("INSERT … EXEC: call the routine as a function returning a table", "insert-exec")
        if toks[0].kw == "UPDATE":
            toks = unqualify_set_targets(toks)
        text = self.sql(toks)
        out_at = find_top(toks, "OUTPUT")
        if out_at > 0 and find_top(toks, "INTO", start=out_at) < 0:
            # OUTPUT without INTO returns the rows: keep them in a temp table, return them as a result set
            table = f"sys_output_{len(self.out)}"
            self.emit(ind, drop_temp(table))
            self.emit(ind, f"CREATE TEMP TABLE {table} AS WITH output_rows AS ({text}) SELECT * FROM output_rows;")
            self.after_dml(ind)
            self.open_result(f"SELECT * FROM pg_temp.{table}", ind, toks[0].start)
            return
        self.emit(ind, text + ";")
        if toks[0].kw == "INSERT":
            k = 2 if len(toks) > 2 and toks[1].kw == "INTO" else 1
            end = k
            while end < len(toks) and ((toks[end].kind in ("word", "qid") and toks[end].kw not in ("VALUES", "SELECT",
                                       "DEFAULT", "OUTPUT", "EXEC", "WITH")) or toks[end].text == "."):  # fmt: skip
                end += 1
            self.last_insert = len(self.out) - 1 if ";" not in text.rstrip(";") else None
            self.last_insert_table = self.table_key(toks[k:end])
        self.after_dml(ind)

    def after_dml(self, ind: int) -> None:
        if self.uses_rowcount:
            self.emit(ind, "GET DIAGNOSTICS sys_rowcount = ROW_COUNT;")
