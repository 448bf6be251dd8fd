"""EXEC in a routine body → CALL (procedures, named arguments, OUTPUT → INOUT variables, RETURN status),
PERFORM/assignment (functions) or EXECUTE … USING (sp_executesql / EXEC(@sql)); a mixin of plpgsql.Emitter."""

from __future__ import annotations

import re

from dbshift.convert import expr, names
from dbshift.convert.model import Context, Routine
from dbshift.convert.plpgsql_parse import Tok, split_top
from dbshift.convert.plpgsql_tokens import Unconverted, param_pg_name


class ExecMixin:
    """Needs from the emitter: ctx, schema, decls, depends_on, emit(), note(), expression(), var_name()."""

    ctx: Context
    schema: str
    decls: dict[str, str]
    depends_on: set[str]

    def emit(self, ind: int, line: str) -> None:
        raise NotImplementedError

    def note(self, severity: str, message: str, construct: str, offset: int) -> None:
        raise NotImplementedError

    def expression(self, toks: list[Tok]) -> str:
        raise NotImplementedError

    def var_name(self, tsql: str) -> str:
        raise NotImplementedError

    def exec_(self, toks: list[Tok], ind: int) -> None:
        if len(toks) > 1 and toks[1].text == "(":
            self.dynamic(toks[2:-1] if toks[-1].text == ")" else toks[2:], [], ind, toks[0].start)
            return
        if len(toks) > 1 and toks[1].kw == "AS":
            raise Unconverted("EXECUTE AS inside a routine: use SECURITY DEFINER or SET ROLE", "execute-as")
        k = 1
        status_var = None
        if len(toks) > 3 and toks[1].kind == "var" and toks[2].text == "=":
            status_var = self.var_name(toks[1].text)
            k = 3
        end = k
        while end < len(toks) and (toks[end].kind in ("word", "qid") or toks[end].text == "."):
            end += 1
        if end == k:
            raise Unconverted("EXEC of a procedure name held in a variable", "dynamic-sql")
        parts = names.split_qualified("".join(t.text for t in toks[k:end]))
        name = parts[-1]
        if name.lower() == "sp_executesql":
            args = split_top(toks[end:])
            self.dynamic(args[0], args[1:], ind, toks[0].start)
            return
        schema = parts[-2] if len(parts) > 1 and parts[-2] else self.schema
        routine = self.ctx.catalog.routines.get(f"{schema}.{name}".lower())
        if routine is None and f"dbo.{name}".lower() in self.ctx.catalog.routines:
            schema = "dbo"
            routine = self.ctx.catalog.routines[f"dbo.{name}".lower()]
        args = [a for a in split_top(toks[end:]) if a]
        if routine is None:
            if name.lower().startswith(("sp_", "xp_")):
                raise Unconverted(f"system procedure {name}", "system-procedure")
            pg_name = names.qualified(schema, name)
            self.note(
                "warning", f"EXEC {name}: routine not in the source; called as a procedure", "exec", toks[0].start
            )
            call_args = [self.arg_value(a)[1] for a in args]
            self.emit(ind, f"CALL {pg_name}({', '.join(call_args)});")
            return
        self.depends_on.add(("procedure:" if routine.kind == "procedure" else "function:") + f"{schema}.{name}".lower())
        if routine.kind != "procedure":
            values = [self.arg_value(a) for a in args]
            call_args = [f"{param_pg_name(n)} => {v}" if n else v for n, v, _out in values if v != "DEFAULT"]
            call = f"{routine.pg_name}({', '.join(call_args)})"
            self.emit(ind, f"{status_var} := {call};" if status_var else f"PERFORM {call};")
            return
        self.call(routine, args, status_var, ind, toks[0].start)

    def arg_value(self, arg: list[Tok]) -> tuple[str | None, str, bool]:
        """(@param name or None, value text, OUTPUT given) of one EXEC argument."""
        name = None
        output = bool(arg) and arg[-1].kw in ("OUTPUT", "OUT")
        if output:
            arg = arg[:-1]
        if len(arg) > 2 and arg[0].kind == "var" and arg[1].text == "=":
            name = arg[0].text.lower()
            arg = arg[2:]
        if len(arg) == 1 and arg[0].kw == "DEFAULT":
            return name, "DEFAULT", output
        return name, self.expression(arg), output

    def call(self, routine: Routine, args: list[list[Tok]], status_var: str | None, ind: int, offset: int) -> None:
        values: dict[str, str] = {}
        positional = [self.arg_value(a) for a in args]
        params = routine.params
        for pos, (name, value, _out) in enumerate(positional):
            if name is None:
                if pos >= len(params):
                    raise Unconverted(f"too many arguments for {routine.pg_name}", "exec")
                values[params[pos][0].lower()] = value
            else:
                values[name] = value
        call_args: list[str] = []
        for tsql_name, pg_type, mode in params:
            pg_param = param_pg_name(tsql_name)
            value = values.get(tsql_name.lower())
            if tsql_name.lower() == "@return_status":
                value = status_var
            if value == "DEFAULT":
                value = None
            if mode in ("INOUT", "OUT"):
                if value is None or not re.fullmatch(r'[a-z_][a-z0-9_$]*|"[^"]+"', value):
                    dummy = f"sys_arg_{len(self.decls)}"
                    self.decls[dummy] = pg_type if pg_type != "refcursor" else "refcursor"
                    if value is not None:
                        self.emit(ind, f"{dummy} := {value};")
                    elif pg_type != "refcursor" and tsql_name.lower() not in ("@return_status",):
                        self.note("info", f"{routine.pg_name}: OUTPUT parameter {tsql_name} not passed by the "
                                  "caller; a scratch variable receives it", "exec", offset)  # fmt: skip
                    value = dummy
                call_args.append(f"{pg_param} => {value}")
            elif value is not None:
                if pg_type == "boolean" and value in ("0", "1"):
                    value = "true" if value == "1" else "false"
                call_args.append(f"{pg_param} => {value}")
        if routine.returns_table:
            self.note("warning", f"EXEC {routine.pg_name}: its result set is opened as a cursor and not returned to "
                      "this routine's caller", "result-set", offset)  # fmt: skip
        self.emit(ind, f"CALL {routine.pg_name}({', '.join(call_args)});")

    def dynamic(self, sql: list[Tok], params: list[list[Tok]], ind: int, offset: int) -> None:
        """EXEC(@sql) / sp_executesql → EXECUTE: static text converted, run-time text passed through; flagged."""
        using: list[str] = []
        outputs: list[str] = []
        param_names: list[str] = []
        if params:
            decl = params[0]
            if len(decl) == 1 and decl[0].kind == "str":
                declared = decl[0].text.lstrip("Nn")[1:-1]
                param_names = [p.lower() for p in re.findall(r"@\w+", declared)]
            by_name: dict[str, str] = {}
            for arg in params[1:]:
                name, value, out = self.arg_value(arg)
                if out:
                    outputs.append(value)
                    continue
                if name is not None and name in param_names:
                    by_name[name] = value
                else:
                    using.append(value)
            if by_name:
                missing = [p for p in param_names if p not in by_name]
                if missing:
                    raise Unconverted(f"sp_executesql parameters {missing} not given", "dynamic-sql")
                using = [by_name[p] for p in param_names]
        if len(sql) == 1 and sql[0].kind == "str":
            text = sql[0].text
            body = text[2:-1] if text[:1] in "Nn" else text[1:-1]
            body = body.replace("''", "'")
            saved = dict(self.ctx.variables)
            for n, pname in enumerate(param_names, 1):
                self.ctx.variables[pname] = f"${n}"
            try:
                converted = expr.convert_statement(body, self.ctx)
            finally:
                self.ctx.variables = saved
            self.note(
                "warning", "dynamic SQL with a static text: converted to EXECUTE, review it", "dynamic-sql", offset
            )
            literal = "'" + converted.replace("'", "''") + "'"
        else:
            self.note(
                "error",
                "dynamic SQL built at run time is still T-SQL: EXECUTE passes it unchanged, rewrite its text",
                "dynamic-sql",
                offset,
            )
            literal = self.expression(sql)
        if outputs:
            raise Unconverted("sp_executesql with OUTPUT parameters: use EXECUTE … INTO", "dynamic-sql")
        using_text = f" USING {', '.join(using)}" if using else ""
        self.emit(ind, f"EXECUTE {literal}{using_text};")
