"""Cursors: DECLARE c CURSOR FOR … → a refcursor variable cur_c; OPEN/FETCH … INTO (@@FETCH_STATUS →
sys_fetch_status)/CLOSE/DEALLOCATE; a mixin of plpgsql.Emitter, apart as a self-contained statement family."""

from __future__ import annotations

from dbshift.convert import names
from dbshift.convert.plpgsql_host import EmitterHost
from dbshift.convert.plpgsql_parse import Tok, find_top, split_top
from dbshift.convert.plpgsql_tokens import Unconverted


class CursorMixin(EmitterHost):
    def declare_cursor(self, toks: list[Tok]) -> None:
        name = toks[1].text
        cur = find_top(toks, "CURSOR")
        options = {t.kw for t in toks[2:cur]} | set()
        for_at = find_top(toks, "FOR", start=cur + 1)
        if for_at < 0:
            raise Unconverted(f"cursor {name} without FOR query", "cursor")
        options |= {t.kw for t in toks[cur + 1 : for_at]}
        query = toks[for_at + 1 :]
        end = find_top(query, "FOR")
        if end >= 0:  # FOR UPDATE [OF …] / FOR READ ONLY
            if query[end + 1].kw == "UPDATE":
                self.note(
                    "info", f"cursor {name} FOR UPDATE: PostgreSQL locks rows with FOR UPDATE", "cursor", toks[0].start
                )
                query = query  # keep FOR UPDATE: PostgreSQL accepts it
            else:
                query = query[:end]
        scroll = (
            bool(options & {"SCROLL", "STATIC", "KEYSET", "DYNAMIC", "INSENSITIVE"}) and "FORWARD_ONLY" not in options
        )
        pg = names.quote_if_needed("cur_" + name.lower())
        self.decls[pg] = "refcursor"
        self.cursors[name.lower()] = (query, scroll)

    def cursor_name(self, tok: Tok) -> str:
        name = tok.text.lower()
        if tok.kw == "GLOBAL":
            raise Unconverted("GLOBAL cursor name", "cursor")
        if name not in self.cursors:
            raise Unconverted(f"cursor {tok.text} is not declared in this routine", "cursor")
        return names.quote_if_needed("cur_" + name)

    def open_(self, toks: list[Tok], ind: int) -> None:
        pg = self.cursor_name(toks[-1])
        query, scroll = self.cursors[toks[-1].text.lower()]
        self.emit(ind, f"OPEN {pg}{' SCROLL' if scroll else ''} FOR {self.sql(query)};")

    def fetch(self, toks: list[Tok], ind: int) -> None:
        into = find_top(toks, "INTO")
        if into < 0:
            raise Unconverted("FETCH without INTO returns a row to the client: not supported", "cursor")
        head = toks[1:into]
        if head and head[-1].kw == "FROM":
            head = head[:-1]
        cursor_tok = head[-1]
        direction = " ".join(t.text.upper() for t in head[:-1] if t.kw != "FROM") or "NEXT"
        if direction.split()[0] not in ("NEXT", "PRIOR", "FIRST", "LAST", "ABSOLUTE", "RELATIVE"):
            raise Unconverted(f"FETCH {direction} not understood", "cursor")
        pg = self.cursor_name(cursor_tok)
        targets = [self.var_name(p[0].text) for p in split_top(toks[into + 1 :]) if p]
        self.emit(ind, f"FETCH {direction} FROM {pg} INTO {', '.join(targets)};")
        self.emit(ind, "sys_fetch_status := CASE WHEN FOUND THEN 0 ELSE -1 END;")

    def close(self, toks: list[Tok], ind: int) -> None:
        self.emit(ind, f"CLOSE {self.cursor_name(toks[-1])};")

    def deallocate(self, toks: list[Tok], ind: int) -> None:
        self.cursor_name(toks[-1])
        self.emit(ind, f"-- DEALLOCATE {toks[-1].text}: a PL/pgSQL cursor variable needs no deallocation")
