"""Rewrites of operators, casts and literals: string + → ||, arithmetic and comparisons on bit values, bitwise
operators on booleans, CAST (truncating to integers, bit literals), TRY_CAST, ISNULL/COALESCE,
LIKE with [...] classes."""

from __future__ import annotations

from sqlglot import exp

from dbshift.convert import expr_binary, types
from dbshift.convert.expr_base import raw, sql_of

_T = exp.DataType.Type
# Targets whose PostgreSQL input function refuses what T-SQL's conversion refuses (bit is not among them:
# T-SQL turns any non-zero number string into 1; string targets never fail).
_TRY_CAST_TYPES = (
    *(_T.TINYINT, _T.UTINYINT, _T.SMALLINT, _T.INT, _T.BIGINT),
    *(_T.DECIMAL, _T.MONEY, _T.SMALLMONEY, _T.FLOAT, _T.DOUBLE),
    *(_T.DATE, _T.DATETIME, _T.DATETIME2, _T.SMALLDATETIME, _T.TIMESTAMP, _T.TIME, _T.UUID),
)

TRY_CAST_SQL = """CREATE OR REPLACE FUNCTION public.dbshift_try_cast(v text, target anyelement) RETURNS anyelement
LANGUAGE plpgsql STABLE AS $f$
-- TRY_CAST(<string> AS <type>): the text through the type's input function (PL/pgSQL assignment), NULL
-- where that raises a data error, as T-SQL's TRY_CAST returns NULL. T-SQL converts a blank string to 0 for
-- integer and float types and to 1900-01-01 for date and time types; so does this.
DECLARE
    r target%TYPE;
    t text := pg_typeof(target)::text;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF btrim(v) = '' THEN
        IF t IN ('smallint', 'integer', 'bigint', 'real', 'double precision') THEN
            r := 0;
        ELSIF t IN ('date', 'timestamp without time zone') THEN
            r := '1900-01-01';
        ELSIF t = 'time without time zone' THEN
            r := '00:00:00';
        END IF;
        RETURN r;
    END IF;
    r := v;
    RETURN r;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$f$;
"""

_INTEGER_TYPES = (
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.TINYINT,
)


class OperatorRewrites:
    """Operator, cast and literal rewrites (a part of expr._Converter)."""

    def _r_national(self, node: exp.National) -> exp.Expression:
        return exp.Literal.string(node.name)

    def _r_datatype(self, node: exp.DataType) -> exp.Expression:
        if isinstance(node.parent, (exp.Cast, exp.TryCast, exp.Convert, exp.ColumnDef)) or node.parent is None:
            tsql = node.sql("tsql")
            try:
                built = exp.DataType.build(types.pg_type(tsql, self.ctx.catalog), dialect="postgres")
                built.meta["tsql"] = node.this  # the T-SQL type (nvarchar and varchar both become varchar)
                return built
            except Exception:  # a domain or unusual type name: keep sqlglot's spelling
                return node
        return node

    def _r_add(self, node: exp.Add) -> exp.Expression:
        if "string" in (self.kind(node.this), self.kind(node.expression)):
            return exp.DPipe(this=node.this, expression=node.expression, safe=True)
        return self._r_sub(node)

    def _r_sub(self, node: exp.Binary) -> exp.Expression:
        """Arithmetic on a bit value (T-SQL: 0/1) → on the boolean cast to integer."""
        for side in ("this", "expression"):
            value = node.args.get(side)
            if value is not None and self.kind(value) == "bit":
                node.set(side, exp.Cast(this=value, to=exp.DataType.build("int")))
        return node

    _r_mul = _r_sub

    _r_div = _r_sub

    _r_mod = _r_sub

    def _r_eq(self, node: exp.Binary) -> exp.Expression:
        for side, other in (("this", "expression"), ("expression", "this")):
            if self.kind(node.args[side]) == "bit":
                lit = self._bool_literal(node.args[other])
                if lit is not None:
                    node.set(other, lit)
        return node

    _r_neq = _r_eq

    def _r_cast(self, node: exp.Cast) -> exp.Expression:
        to = node.args.get("to")
        if isinstance(to, exp.DataType) and self.kind(node.this) == "binary":  # DECOMPRESS(…): bytea
            if to.meta.get("tsql", to.this) in (exp.DataType.Type.NVARCHAR, exp.DataType.Type.NCHAR):
                # T-SQL reads the bytes as nvarchar's UTF-16LE code units
                node.set("this", raw(f"{expr_binary.use(self.ctx, 'utf16le_text')}({sql_of(node.this)})"))
            elif to.is_type(*exp.DataType.TEXT_TYPES) or to.this == exp.DataType.Type.CHAR:
                self.ctx.note(
                    "error",
                    "CAST of binary data to varchar/char reads the bytes in the collation's code page: rewrite "
                    "with convert_from(…, <encoding>)",
                    "binary-to-text",
                )
        if isinstance(to, exp.DataType) and to.this == exp.DataType.Type.BOOLEAN:
            lit = self._bool_literal(node.this)
            if lit is not None:
                return lit
        if isinstance(to, exp.DataType) and to.is_type(*_INTEGER_TYPES) and self._fractional(node.this):
            node.set("this", raw(f"trunc({sql_of(node.this)})"))  # T-SQL truncates, PostgreSQL rounds
        return node

    def _r_bitwiseand(self, node: exp.Binary) -> exp.Expression:
        """bit & bit / bit | bit / bit ^ bit: on booleans these are AND / OR / <> (PostgreSQL has no & on boolean)."""
        if self.kind(node.this) == "bit" and self.kind(node.expression) == "bit":
            op = {exp.BitwiseAnd: "AND", exp.BitwiseOr: "OR", exp.BitwiseXor: "<>"}[type(node)]
            r = raw(f"({sql_of(node.this)} {op} {sql_of(node.expression)})")
            r.meta["kind"] = "bit"
            return r
        return node

    _r_bitwiseor = _r_bitwiseand

    _r_bitwisexor = _r_bitwiseand

    def _r_coalesce(self, node: exp.Coalesce) -> exp.Expression:
        """ISNULL(bit_column, 0) / COALESCE(b, 1): the 0/1 fallbacks of a bit value are false/true."""
        values = [node.this, *node.expressions]
        if any(self.kind(v) == "bit" for v in values):
            converted = [self._bool_literal(v) or v for v in values]
            node.set("this", converted[0])
            node.set("expressions", converted[1:])
        return node

    def _r_trycast(self, node: exp.TryCast) -> exp.Expression:
        """TRY_CAST/TRY_CONVERT of a string to a number, date/time or uniqueidentifier: NULL where the text does
        not convert, as T-SQL returns, through public.dbshift_try_cast (created with the object)."""
        to = node.args.get("to")
        if (
            isinstance(to, exp.DataType)
            and self.kind(node.this) == "string"
            and to.is_type(*_TRY_CAST_TYPES)
            and not node.args.get("format")
        ):
            self.ctx.support["try_cast"] = TRY_CAST_SQL
            call = raw(f"public.dbshift_try_cast(CAST({sql_of(node.this)} AS text), CAST(NULL AS {sql_of(to)}))")
            return exp.Cast(this=call, to=to.copy())  # the outer CAST applies precision and scale
        self.ctx.note(
            "warning",
            "TRY_CAST/TRY_CONVERT of a non-string value (or to bit, a string type, or with a style) → CAST: "
            "PostgreSQL raises an error where T-SQL returns NULL",
            "try-cast",
        )
        return self._r_cast(exp.Cast(this=node.this, to=to))

    def _r_like(self, node: exp.Like) -> exp.Expression:
        """LIKE with [a-z] / [^0-9] classes → SIMILAR TO (same wildcards % and _, and bracket classes)."""
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string and "[" in pattern.name):
            return node
        if node.args.get("escape") is not None:
            self.ctx.note("warning", f"LIKE {pattern.name!r} with ESCAPE and [...] classes: check by hand", "like")
            return node
        out, in_class = [], False
        for ch in pattern.name:
            if ch == "[" and not in_class:
                in_class = True
            elif ch == "]" and in_class:
                in_class = False
            elif not in_class and ch in "|*+?{}()\\":
                ch = "\\" + ch  # SIMILAR TO metacharacters are literal in LIKE
            out.append(ch)
        self.ctx.note("info", f"LIKE {pattern.name!r} with [...] classes → SIMILAR TO", "like-brackets")
        literal = "".join(out).replace("'", "''")
        negate = "NOT " if node.args.get("negate") else ""
        r = raw(f"{sql_of(node.this)} {negate}SIMILAR TO '{literal}'")
        r.meta["kind"] = "bit"
        return r
