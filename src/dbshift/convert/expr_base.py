"""The pieces every part of the T-SQL → PostgreSQL expression converter shares: the error, the Raw text node and
the PostgreSQL generator that prints it."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError


class ConvertError(ValueError):
    """T-SQL text that could not be parsed; the message carries sqlglot's reason and the text."""


class Raw(exp.Expression):
    """Finished PostgreSQL text embedded in the tree (our rewrites build text, not sqlglot nodes)."""

    arg_types = {"this": True}


class PG(Postgres):
    class Generator(Postgres.Generator):
        TRANSFORMS = {**Postgres.Generator.TRANSFORMS, Raw: lambda self, e: e.this}


def sql_of(node: exp.Expression) -> str:
    return node.sql(dialect=PG)


def raw(text: str) -> Raw:
    return Raw(this=text)


def _first_error(err: ParseError) -> str:
    if err.errors:
        first = err.errors[0]
        return f"{first.get('description')} at line {first.get('line')}, col {first.get('col')}"
    return str(err)
