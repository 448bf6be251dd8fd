"""Date/time rewrites: GETDATE and friends, CONVERT with a date style, DATEDIFF (unit boundaries crossed), DATEADD,
DATEPART/YEAR/MONTH/DAY, DATEFROMPARTS, EOMONTH; T-SQL day numbers (0 = 1900-01-01) as timestamps."""

from __future__ import annotations

from sqlglot import exp

from dbshift.convert.expr_base import raw, sql_of

_DATE_UNITS = {
    "year": "year",
    "yy": "year",
    "yyyy": "year",
    "quarter": "quarter",
    "qq": "quarter",
    "q": "quarter",
    "month": "month",
    "mm": "month",
    "m": "month",
    "dayofyear": "dayofyear",
    "dy": "dayofyear",
    "y": "dayofyear",
    "day": "day",
    "dd": "day",
    "d": "day",
    "week": "week",
    "wk": "week",
    "ww": "week",
    "weekday": "weekday",
    "dw": "weekday",
    "w": "weekday",
    "hour": "hour",
    "hh": "hour",
    "minute": "minute",
    "mi": "minute",
    "n": "minute",
    "second": "second",
    "ss": "second",
    "s": "second",
    "millisecond": "millisecond",
    "ms": "millisecond",
    "microsecond": "microsecond",
    "mcs": "microsecond",
    "nanosecond": "nanosecond",
    "ns": "nanosecond",
    "iso_week": "isoweek",
    "isowk": "isoweek",
    "weekiso": "isoweek",  # sqlglot's name for iso_week
    "isoww": "isoweek",
    "dayofweek": "weekday",
    "tzoffset": "tzoffset",
}
_INTERVAL = {
    "year": "1 year",
    "quarter": "3 months",
    "month": "1 month",
    "dayofyear": "1 day",
    "day": "1 day",
    "weekday": "1 day",
    "week": "7 days",
    "hour": "1 hour",
    "minute": "1 minute",
    "second": "1 second",
    "millisecond": "1 millisecond",
    "microsecond": "1 microsecond",
}
# CONVERT(…, style) date styles → to_char/to_timestamp patterns.
_STYLES = {
    "1": "MM/DD/YY",
    "101": "MM/DD/YYYY",
    "2": "YY.MM.DD",
    "102": "YYYY.MM.DD",
    "3": "DD/MM/YY",
    "103": "DD/MM/YYYY",
    "4": "DD.MM.YY",
    "104": "DD.MM.YYYY",
    "5": "DD-MM-YY",
    "105": "DD-MM-YYYY",
    "106": "DD Mon YYYY",
    "107": "Mon DD, YYYY",
    "8": "HH24:MI:SS",
    "108": "HH24:MI:SS",
    "10": "MM-DD-YY",
    "110": "MM-DD-YYYY",
    "11": "YY/MM/DD",
    "111": "YYYY/MM/DD",
    "12": "YYMMDD",
    "112": "YYYYMMDD",
    "20": "YYYY-MM-DD HH24:MI:SS",
    "120": "YYYY-MM-DD HH24:MI:SS",
    "21": "YYYY-MM-DD HH24:MI:SS.MS",
    "121": "YYYY-MM-DD HH24:MI:SS.MS",
    "23": "YYYY-MM-DD",
    "126": 'YYYY-MM-DD"T"HH24:MI:SS.MS',
    "127": 'YYYY-MM-DD"T"HH24:MI:SS.MS',
}
_EPOCH_UNITS = {"hour": 3600, "minute": 60, "second": 1, "millisecond": 0.001, "microsecond": 0.000001}
_TRUNC = {
    "hour": "hour",
    "minute": "minute",
    "second": "second",
    "millisecond": "milliseconds",
    "microsecond": "microseconds",
}


class DateRewrites:
    """Date/time rewrites (a part of expr._Converter)."""

    def _r_currenttimestampltz(self, node: exp.Expression) -> exp.Expression:
        return raw("now()")  # SYSDATETIMEOFFSET(): the time with its zone

    def _r_currenttimestamp(self, node: exp.Expression) -> exp.Expression:
        return raw("LOCALTIMESTAMP")  # GETDATE()/SYSDATETIME(): local time without a zone, like datetime

    def _r_convert(self, node: exp.Expression) -> exp.Expression:
        if node.args.get("safe") and node.args.get("style") is None:  # TRY_CONVERT(type, x) is TRY_CAST(x AS type)
            return self._r_trycast(exp.TryCast(this=node.expression, to=node.this))
        if node.args.get("safe"):
            self.ctx.note(
                "warning", "TRY_CONVERT → CAST: PostgreSQL raises an error where T-SQL returns NULL", "try-cast"
            )
        style = node.args.get("style")
        to = node.this
        if style is not None and isinstance(to, exp.DataType):
            fmt = _STYLES.get(style.name)
            value = sql_of(node.expression)
            if fmt is None:
                self.ctx.note("warning", f"CONVERT style {style.name} not mapped: plain CAST used", "convert-style")
            elif to.is_type(*exp.DataType.TEXT_TYPES) or to.this in (exp.DataType.Type.CHAR, exp.DataType.Type.NCHAR):
                r = raw(f"CAST(to_char({value}, '{fmt}') AS {sql_of(to)})")
                r.meta["kind"] = "string"
                return r
            elif to.this == exp.DataType.Type.DATE:
                return raw(f"to_date(CAST({value} AS text), '{fmt}')")
            elif to.is_type(*exp.DataType.TEMPORAL_TYPES):
                return raw(f"CAST(to_timestamp(CAST({value} AS text), '{fmt}') AS {sql_of(to)})")
        return self._r_cast(exp.Cast(this=node.expression, to=to))

    def _ts(self, node: exp.Expression) -> str:
        inner = node.this if isinstance(node, (exp.TimeStrToTime, exp.TsOrDsToDate)) else node
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.Literal) and not inner.is_string:  # T-SQL: day number n after 1900-01-01
            return f"(TIMESTAMP '1900-01-01' + ({inner.name}) * INTERVAL '1 day')"
        if isinstance(inner, exp.Neg) and isinstance(inner.this, exp.Literal):
            return f"(TIMESTAMP '1900-01-01' - ({inner.this.name}) * INTERVAL '1 day')"
        return f"CAST({sql_of(inner)} AS timestamp)"

    def _datediff(self, unit_text: str, start: exp.Expression, end: exp.Expression) -> exp.Expression:
        """DATEDIFF counts unit boundaries crossed between start and end (not elapsed whole units)."""
        unit = _DATE_UNITS.get(unit_text.lower())
        a, b = self._ts(start), self._ts(end)
        if unit == "year":
            text = f"(CAST(EXTRACT(YEAR FROM {b}) AS integer) - CAST(EXTRACT(YEAR FROM {a}) AS integer))"
        elif unit == "quarter":
            text = (
                f"((CAST(EXTRACT(YEAR FROM {b}) AS integer) - CAST(EXTRACT(YEAR FROM {a}) AS integer)) * 4 + "
                f"CAST(EXTRACT(QUARTER FROM {b}) AS integer) - CAST(EXTRACT(QUARTER FROM {a}) AS integer))"
            )
        elif unit == "month":
            text = (
                f"((CAST(EXTRACT(YEAR FROM {b}) AS integer) - CAST(EXTRACT(YEAR FROM {a}) AS integer)) * 12 + "
                f"CAST(EXTRACT(MONTH FROM {b}) AS integer) - CAST(EXTRACT(MONTH FROM {a}) AS integer))"
            )
        elif unit in ("day", "dayofyear", "weekday"):
            text = f"(CAST({b} AS date) - CAST({a} AS date))"
        elif unit == "week":  # weeks start on Sunday for DATEDIFF whatever DATEFIRST says
            text = (
                f"((CAST(date_trunc('week', CAST({b} AS date) + 1) AS date) - "
                f"CAST(date_trunc('week', CAST({a} AS date) + 1) AS date)) / 7)"
            )
        elif unit in _TRUNC:
            per = {"hour": "3600", "minute": "60", "second": "1", "millisecond": "0.001", "microsecond": "0.000001"}
            text = (
                f"CAST(round(EXTRACT(EPOCH FROM date_trunc('{_TRUNC[unit]}', {b}) - "
                f"date_trunc('{_TRUNC[unit]}', {a})) / {per[unit]}) AS bigint)"
            )
        else:
            self.ctx.note("error", f"DATEDIFF unit {unit_text!r} not converted", "datediff")
            return raw(f"/* DATEDIFF({unit_text}) */ NULL")
        r = raw(text)
        r.meta["kind"] = "other"
        return r

    def _r_datediff(self, node: exp.DateDiff) -> exp.Expression:
        unit = node.args.get("unit")
        return self._datediff(unit.name if unit else "day", node.expression, node.this)

    def _r_dateadd(self, node: exp.DateAdd) -> exp.Expression:
        unit_node = node.args.get("unit")
        unit = _DATE_UNITS.get((unit_node.name if unit_node else "day").lower())
        if unit not in _INTERVAL:
            self.ctx.note("error", f"DATEADD unit {unit_node} not converted", "dateadd")
            return node
        base = node.this
        base_sql = (
            self._ts(base)
            if isinstance(base, (exp.Literal, exp.TimeStrToTime, exp.TsOrDsToDate, exp.Paren))
            else sql_of(base)
        )
        return raw(f"({base_sql} + ({sql_of(node.expression)}) * INTERVAL '{_INTERVAL[unit]}')")

    def _datepart(self, unit_text: str, value: exp.Expression) -> exp.Expression:
        unit = _DATE_UNITS.get(unit_text.lower())
        v = self._ts(value)
        simple = {
            "year": "YEAR",
            "quarter": "QUARTER",
            "month": "MONTH",
            "day": "DAY",
            "hour": "HOUR",
            "minute": "MINUTE",
            "dayofyear": "DOY",
            "isoweek": "WEEK",
        }
        if unit in simple:
            return raw(f"CAST(EXTRACT({simple[unit]} FROM {v}) AS integer)")
        if unit == "weekday":  # DATEFIRST 7 (us_english): Sunday = 1
            return raw(f"(CAST(EXTRACT(DOW FROM {v}) AS integer) + 1)")
        if unit == "week":  # week 1 holds January 1st, weeks start on Sunday
            return raw(
                f"((CAST(EXTRACT(DOY FROM {v}) AS integer) - 1 + "
                f"CAST(EXTRACT(DOW FROM date_trunc('year', {v})) AS integer)) / 7 + 1)"
            )
        if unit == "second":
            return raw(f"CAST(floor(EXTRACT(SECOND FROM {v})) AS integer)")
        if unit == "millisecond":
            return raw(f"(CAST(floor(EXTRACT(MILLISECONDS FROM {v})) AS integer) % 1000)")
        if unit == "microsecond":
            return raw(f"(CAST(EXTRACT(MICROSECONDS FROM {v}) AS integer) % 1000000)")
        self.ctx.note("error", f"DATEPART unit {unit_text!r} not converted", "datepart")
        return raw(f"/* DATEPART({unit_text}) */ NULL")

    def _r_extract(self, node: exp.Extract) -> exp.Expression:
        unit = node.this.name.lower()
        unit = {"dayofweek": "weekday", "dayofyear": "dayofyear"}.get(unit, unit)
        return self._datepart(unit, node.expression)

    def _r_year(self, node: exp.Expression) -> exp.Expression:
        return self._datepart(node.key, node.this)

    _r_month = _r_year

    _r_day = _r_year

    def _r_datefromparts(self, node: exp.Expression) -> exp.Expression:
        parts = [sql_of(node.args[k]) for k in ("year", "month", "day")]
        return raw(f"make_date({', '.join(parts)})")

    def _r_lastday(self, node: exp.LastDay) -> exp.Expression:
        v = self._ts(node.this)
        return raw(f"CAST(date_trunc('month', {v}) + INTERVAL '1 month - 1 day' AS date)")
