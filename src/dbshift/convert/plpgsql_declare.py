"""DECLARE of local variables and table variables, and #temp tables (CREATE/DROP TABLE #t) → temporary tables
whose columns are registered in the catalog for this routine; a mixin of plpgsql.Emitter, apart because both kinds
of table share the column-definition conversion."""

from __future__ import annotations

from dbshift.convert import names, types
from dbshift.convert.model import Column
from dbshift.convert.plpgsql_host import EmitterHost
from dbshift.convert.plpgsql_parse import Tok, find_top, split_top
from dbshift.convert.plpgsql_tokens import Unconverted, drop_temp


class DeclareMixin(EmitterHost):
    def declare(self, toks: list[Tok], ind: int) -> None:
        if len(toks) > 2 and toks[1].kind != "var" and find_top(toks, "CURSOR") > 0:
            self.declare_cursor(toks)
            return
        for item in split_top(toks[1:]):
            if not item:
                continue
            var = item[0]
            rest = item[1:]
            if rest and rest[0].kw == "AS":
                rest = rest[1:]
            if var.kind != "var":
                raise Unconverted(f"DECLARE of {var.text!r} not understood", "declare")
            key = var.text.lower()
            if rest and rest[0].kw == "TABLE":
                self.table_variable(key, rest[1:], ind, var.start)
                continue
            if rest and rest[0].kw == "CURSOR":
                raise Unconverted(f"cursor variable {var.text}: use a named cursor (DECLARE c CURSOR FOR …)", "cursor")
            eq = next((k for k, t in enumerate(rest) if t.text == "="), len(rest))
            tsql_type = "".join(t.text if t.kind != "word" else " " + t.text for t in rest[:eq]).strip()
            pg = names.quote_if_needed("var_" + key[1:])
            self.ctx.variables[key] = pg
            self.ctx.variable_types[key] = tsql_type
            self.decls[pg] = types.pg_type(tsql_type, self.ctx.catalog)
            if eq < len(rest):
                self.emit(ind, f"{pg} := {self.expression(rest[eq + 1 :], self.is_bit_variable(key))};")

    def table_variable(self, key: str, coldefs: list[Tok], ind: int, offset: int) -> None:
        name = names.quote_if_needed("tv_" + key[1:])
        self.table_vars[key] = name
        self.ctx.variables[key] = name
        self.emit(ind, drop_temp(name))
        self.emit(ind, f"CREATE TEMP TABLE {name} ({self.column_defs(coldefs, offset, name.strip(chr(34)))});")

    def register_temp(self, name: str, columns: dict[str, Column]) -> None:
        """A #temp table / table variable's columns, so expr.py knows their types (string +, bit = 1) in this
        routine. PostgreSQL resolves pg_temp first, so the temp table also hides a real table of that name here;
        body() restores the catalog afterwards."""
        for schema in {self.schema.lower(), "dbo"}:
            key = f"{schema}.{name}".lower()
            if key not in self.temp_tables:
                self.temp_tables[key] = self.ctx.catalog.tables.get(key)
            self.ctx.catalog.tables[key] = columns

    def column_defs(self, toks: list[Tok], offset: int, table: str | None = None) -> str:
        """(col type [NULL|NOT NULL|PRIMARY KEY|IDENTITY|DEFAULT …], …) of a temp table/table variable → PG.
        table: the name expr.py sees it by (registered with its columns)."""
        if not toks or toks[0].text != "(":
            raise Unconverted("table definition without a column list", "temp-table")
        inner = toks[1:-1] if toks[-1].text == ")" else toks[1:]
        out: list[str] = []
        columns: dict[str, Column] = {}
        if table is not None:
            self.register_temp(table, columns)
        for part in split_top(inner):
            if not part:
                continue
            if part[0].kw in ("PRIMARY", "UNIQUE", "CHECK", "CONSTRAINT"):
                if part[0].kw == "CONSTRAINT":
                    part = part[2:]
                out.append(self.render(part).replace("CLUSTERED", "").replace("NONCLUSTERED", ""))
                continue
            if part[0].kw == "INDEX":
                self.note("info", "inline INDEX of a table variable dropped", "temp-table", offset)
                continue
            col = names.ident(part[0].text)
            k = 1
            type_toks: list[Tok] = []
            depth = 0
            while k < len(part):
                t = part[k]
                if depth == 0 and t.kw in ("NULL", "NOT", "PRIMARY", "UNIQUE", "IDENTITY", "DEFAULT", "CHECK",
                                           "COLLATE", "CONSTRAINT", "INDEX", "ROWGUIDCOL"):  # fmt: skip
                    break
                depth += t.text == "("
                depth -= t.text == ")"
                type_toks.append(t)
                k += 1
            tsql_type = "".join(t.text if t.kind != "word" else " " + t.text for t in type_toks).strip()
            pieces = [col, types.pg_type(tsql_type, self.ctx.catalog)]
            rest = part[k:]
            columns[names.unquote(part[0].text).lower()] = Column(
                names.unquote(part[0].text), tsql_type, pieces[1], identity=any(t.kw == "IDENTITY" for t in rest)
            )
            j = 0
            while j < len(rest):
                w = rest[j].kw
                if w == "IDENTITY":
                    pieces.append("GENERATED BY DEFAULT AS IDENTITY")
                    if j + 1 < len(rest) and rest[j + 1].text == "(":
                        while j < len(rest) and rest[j].text != ")":
                            j += 1
                elif w == "DEFAULT":
                    end = j + 1
                    depth = 0
                    while end < len(rest) and (depth or rest[end].kw not in ("NULL", "NOT", "PRIMARY", "UNIQUE")):
                        depth += rest[end].text == "("
                        depth -= rest[end].text == ")"
                        end += 1
                    pieces.append(
                        "DEFAULT " + self.expression(rest[j + 1 : end], types.is_bit(tsql_type, self.ctx.catalog))
                    )
                    j = end - 1
                elif w == "COLLATE":
                    j += 1
                elif w in ("CLUSTERED", "NONCLUSTERED", "ROWGUIDCOL"):
                    pass
                elif w == "KEY" or w in ("NULL", "NOT", "PRIMARY", "UNIQUE"):
                    pieces.append(w)
                elif w == "CONSTRAINT":
                    j += 1
                else:
                    pieces.append(rest[j].text)
                j += 1
            out.append(" ".join(pieces))
        return ", ".join(out)

    def create(self, toks: list[Tok], ind: int) -> None:
        if len(toks) > 3 and toks[1].kw == "TABLE" and toks[2].text.startswith("#"):
            name = names.ident(toks[2].text.lstrip("#"))
            self.emit(ind, drop_temp(name))
            self.ctx.variables[toks[2].text.lower()] = name  # "#t" → t: expr.py keeps it unqualified (OUTPUT INTO)
            columns = self.column_defs(toks[3:], toks[0].start, toks[2].text.lstrip("#"))
            self.emit(ind, f"CREATE TEMP TABLE {name} ({columns});")
            return
        raise Unconverted("CREATE inside a routine (other than a #temp table)", "ddl")

    def drop(self, toks: list[Tok], ind: int) -> None:
        if len(toks) >= 3 and toks[1].kw == "TABLE":
            targets = [t for t in toks[2:] if t.kind in ("word", "qid") and t.kw not in ("IF", "EXISTS")]
            if all(t.text.startswith("#") for t in targets):
                for t in targets:
                    self.emit(ind, drop_temp(names.ident(t.text.lstrip("#"))))
                return
        raise Unconverted("DROP inside a routine (other than a #temp table)", "ddl")
