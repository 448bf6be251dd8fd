"""Which converter handles which object type: the one entry point the pipeline calls.

Pass one (register) lets every object tell the catalog what it defines, so that pass two (convert_object) can
use types, columns and routine signatures defined elsewhere in the source.
"""

from __future__ import annotations

import traceback

from dbshift.convert.model import SCRIPT, ActionItem, Catalog, Context, Converted, SourceObject

ROUTINE_TYPES = ("function", "procedure", "trigger")


def register(obj: SourceObject, catalog: Catalog) -> None:
    from dbshift.convert import ddl, routines

    if obj.type in ROUTINE_TYPES:
        routines.register(obj, catalog)
    elif obj.type != SCRIPT:
        ddl.register(obj, catalog)


def convert_object(obj: SourceObject, catalog: Catalog) -> Converted:
    """Convert one object; a converter's crash becomes a needs-work object, never a stopped run."""
    from dbshift.convert import ddl, routines

    if obj.type == SCRIPT:
        item = ActionItem("info", obj.line, "not schema (data, session settings or tooling): not converted", "script")
        return Converted(obj, None, [item], status="skipped")
    ctx = Context(catalog=catalog, obj=obj)
    try:
        converted = routines.convert(obj, ctx) if obj.type in ROUTINE_TYPES else ddl.convert(obj, ctx)
    except Exception as err:  # a converter bug must not stop the other objects
        where = traceback.extract_tb(err.__traceback__)[-1]
        message = f"converter failed ({type(err).__name__}: {err} at {where.filename}:{where.lineno}): convert by hand"
        return Converted(
            obj, None, [*ctx.items, ActionItem("error", obj.line, message, "converter-error")], status="needs-work"
        )
    if ctx.support and converted.sql:  # support functions first: the object stands alone (expr_binary.py)
        converted.sql = "\n\n".join(ctx.support.values()) + "\n\n" + converted.sql
    return converted
