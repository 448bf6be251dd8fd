"""register + convert for everything that is not a routine: schema, type, sequence, table, constraint, index, view,
synonym, role, user, grant, comment.

Each converted object is complete PostgreSQL text. Objects in a schema other than dbo start with
`SET search_path = <schema>, public;` so that unqualified names resolve as in T-SQL (own schema, then dbo).
Re-runnable forms are used where PostgreSQL objects are cluster-wide (roles): a DO block that ignores
duplicate_object, so a second verification run does not fail on the first run's role.
"""

from __future__ import annotations

import re

from dbshift.convert import expr, names, types
from dbshift.convert.ddl_lex import DdlSyntaxError, Stream, split_top, string_value, tokenize
from dbshift.convert.ddl_table import TableConverter, UnsupportedObject, parse_create_table, register_table
from dbshift.convert.model import Catalog, Column, Context, Converted, SourceObject

# ---------------------------------------------------------------- pass one


def register(obj: SourceObject, catalog: Catalog) -> None:
    """Tell the catalog what obj defines (tables' columns, alias types, sequences, synonyms, views)."""
    text = _body(obj.text)
    head = _head(text)
    try:
        if head.startswith("CREATE TABLE"):
            table = parse_create_table(text)
            register_table(text, catalog, f"{table.schema}.{table.name}".lower())
        elif head.startswith("CREATE TYPE"):
            _register_type(text, catalog)
        elif "SP_ADDTYPE" in head:
            name, base, nullability = _addtype_args(text)
            catalog.alias_types[f"dbo.{name}".lower()] = base + (" NOT NULL" if "NOT" in nullability.upper() else "")
        elif head.startswith("CREATE SEQUENCE"):
            catalog.sequences.add(f"{obj.schema}.{obj.name}".lower())
        elif head.startswith("CREATE SYNONYM"):
            m = re.search(r"\bFOR\s+(.+?)\s*;?\s*$", text, re.I | re.S)
            if m:
                schema, name = names.split_schema_name(m.group(1))
                catalog.synonyms[f"{obj.schema}.{obj.name}".lower()] = f"{schema}.{name}".lower()
        elif head.startswith("CREATE VIEW"):
            catalog.tables.setdefault(f"{obj.schema}.{obj.name}".lower(), {})
    except (DdlSyntaxError, ValueError):
        pass  # pass two reports the same problem with its line


def _addtype_args(text: str) -> tuple[str, str, str]:
    """EXEC sp_addtype name, 'base type' [, 'NULL' | 'NOT NULL'] (the pre-2005 CREATE TYPE)."""
    toks = tokenize(text)
    start = next(k for k, t in enumerate(toks) if t.name.lower() == "sp_addtype") + 1
    args = []
    for tok in toks[start:]:
        if tok.text == ",":
            continue
        if tok.kind == "var" or tok.text == "=":
            continue
        args.append(string_value(tok) if tok.kind == "string" else tok.name)
    if len(args) < 2:
        raise DdlSyntaxError(f"sp_addtype needs a name and a base type: {text[:80]!r}")
    return args[0], args[1], args[2] if len(args) > 2 else ""


def _register_type(text: str, catalog: Catalog) -> None:
    s = Stream(text)
    s.expect("CREATE")
    s.expect("TYPE")
    parts = s.qualified_name()
    key = f"{parts[-2] if len(parts) > 1 else 'dbo'}.{parts[-1]}".lower()
    if s.accept("FROM"):
        from dbshift.convert.ddl_table import parse_type

        base = parse_type(s)
        not_null = s.accept("NOT", "NULL")
        catalog.alias_types[key] = base + (" NOT NULL" if not_null else "")
    elif s.accept("AS", "TABLE"):
        a, b = s.group()
        cols: dict[str, Column] = {}
        from dbshift.convert.ddl_table import parse_column

        for start, end in split_top(text[a:b]):
            element = text[a:b][start:end].strip()
            if Stream(element).up() in ("PRIMARY", "UNIQUE", "CHECK", "INDEX", "CONSTRAINT"):
                continue
            col = parse_column(element)
            cols[col.name.lower()] = Column(col.name, col.tsql_type or "sql_variant", "")
        catalog.table_types[key] = cols


# ---------------------------------------------------------------- pass two


def convert(obj: SourceObject, ctx: Context) -> Converted:
    text = _body(obj.text)
    head = _head(text)
    conv = TableConverter(ctx)
    conv.base = len(obj.text) - len(obj.text.lstrip()) if not text else max(obj.text.find(text[:40]), 0)
    try:
        sql = _dispatch(obj, text, head, conv, ctx)
    except UnsupportedObject as err:
        ctx.note("warning", str(err), "unsupported")
        return Converted(obj, None, list(ctx.items), conv.deps, status="skipped")
    except (DdlSyntaxError, expr.ConvertError) as err:
        ctx.note("error", f"{err}: convert by hand", "parse-error")
        return Converted(obj, None, list(ctx.items), conv.deps, status="needs-work")
    if sql is None:
        return Converted(obj, None, list(ctx.items), conv.deps, status="skipped")
    schema = names.schema(obj.schema)
    if schema != "public" and obj.type not in ("schema", "role", "user"):
        sql = f"SET search_path = {schema}, public;\n{sql}"
        conv.deps.add(f"schema:{obj.schema}.{obj.schema}".lower())
    conv.deps.discard(obj.key)
    return Converted(obj, sql.rstrip().rstrip(";") + ";", list(ctx.items), conv.deps)


def _dispatch(obj: SourceObject, text: str, head: str, conv: TableConverter, ctx: Context) -> str | None:
    if head.startswith("CREATE TABLE"):
        for typ in re.findall(r"\[?(\w+)\]?\s*\.\s*\[?(\w+)\]?", text):
            key = f"{typ[0]}.{typ[1]}".lower()
            if key in ctx.catalog.alias_types:
                conv.deps.add(f"type:{key}")
        return conv.create_table(text, obj.schema)
    if head.startswith("ALTER TABLE"):
        return conv.alter_table(text)
    if re.match(r"CREATE (UNIQUE )?((NON)?CLUSTERED )?(COLUMNSTORE |XML |PRIMARY XML |SPATIAL )?INDEX", head):
        return conv.create_index(text)
    if head.startswith("CREATE VIEW") or head.startswith("ALTER VIEW"):
        return _view(obj, text, ctx, conv)
    if head.startswith("CREATE SCHEMA"):
        return _schema(text, ctx)
    if head.startswith("CREATE SEQUENCE"):
        return _sequence(text, ctx)
    if head.startswith("CREATE TYPE"):
        return _type(text, ctx, conv)
    if "SP_ADDTYPE" in head:
        name, base, nullability = _addtype_args(text)
        return _type(f"CREATE TYPE [dbo].[{name}] FROM {base} {nullability}", ctx, conv)
    if head.startswith("CREATE SYNONYM"):
        return _synonym(obj, text, ctx, conv)
    if head.startswith("CREATE ROLE") or head.startswith("CREATE USER") or head.startswith("CREATE LOGIN"):
        return _principal(text, ctx)
    if head.startswith("ALTER ROLE") or "SP_ADDROLEMEMBER" in head:
        return _role_member(text, ctx)
    if head.startswith(("GRANT", "DENY", "REVOKE")):
        return _grant(text, ctx, conv)
    if "SP_ADDEXTENDEDPROPERTY" in head or "SP_ADDEXTENDEDPROPERTY" in text[:80].upper():
        return _comment(text, ctx, conv)
    if re.match(
        r"(CREATE|ALTER) (PARTITION|FULLTEXT|XML SCHEMA|FILEGROUP|ASSEMBLY|MESSAGE|QUEUE|SERVICE|CONTRACT)", head
    ):
        raise UnsupportedObject(f"{' '.join(head.split()[:3])}: no PostgreSQL equivalent (storage/engine feature)")
    raise DdlSyntaxError(f"statement not recognised as {obj.type}: {text[:80]!r}")


def _body(text: str) -> str:
    """The statement without leading comments/blank lines and trailing semicolons."""
    toks = tokenize(text)
    if not toks:
        return ""
    return text[toks[0].start :].rstrip().rstrip(";").rstrip()


def _head(text: str) -> str:
    words = []
    for tok in tokenize(text[:400]):
        if tok.text == ".":  # EXEC sys.sp_… / [sys].[sp_…]
            continue
        if tok.kind not in ("word", "ident"):
            break
        words.append(tok.name.upper())
        if len(words) == 6:
            break
    if words and words[0] in ("EXEC", "EXECUTE"):
        words[0] = "EXEC"
    return " ".join(words)


# ---------------------------------------------------------------- views, schemas, sequences, types, synonyms


def _view(obj: SourceObject, text: str, ctx: Context, conv: TableConverter) -> str:
    s = Stream(text)
    s.next()
    s.expect("VIEW")
    parts = s.qualified_name()
    schema, name = (parts[-2] if len(parts) > 1 else "dbo"), parts[-1]
    cols = ""
    if s.peek() is not None and s.peek().text == "(":
        a, b = s.group()
        cols = " (" + ", ".join(names.ident(c.strip()) for c in _names_list(text[a:b])) + ")"
    if s.accept("WITH"):
        options = []
        while True:
            options.append(s.next().up)
            if not s.accept(","):
                break
        if "ENCRYPTION" in options:
            ctx.note(
                "info", f"view {name}: WITH ENCRYPTION dropped (PostgreSQL view text is always readable)", "view-option"
            )
        if "SCHEMABINDING" in options:
            ctx.note(
                "info",
                f"view {name}: WITH SCHEMABINDING dropped (PostgreSQL views always depend on their "
                "tables: DROP … CASCADE is needed to drop them)",
                "view-option",
            )
    s.expect("AS")
    body = text[s.peek().start :] if s.peek() else ""
    check = ""
    m = re.search(r"\bWITH\s+CHECK\s+OPTION\s*;?\s*$", body, re.I)
    if m:
        body, check = body[: m.start()], " WITH CASCADED CHECK OPTION"
    select = expr.convert_statement(body, ctx)
    for table in re.findall(r"(?:FROM|JOIN|APPLY)\s+((?:\[[^\]]+\]|\w+)(?:\s*\.\s*(?:\[[^\]]+\]|\w+))?)", body, re.I):
        tschema, tname = names.split_schema_name(table, obj.schema)
        key = f"{tschema}.{tname}".lower()
        if key not in ctx.catalog.tables and f"dbo.{tname}".lower() in ctx.catalog.tables:
            key = f"dbo.{tname}".lower()
        conv.deps.update({f"table:{key}", f"view:{key}"})
    if re.search(r"\bORDER\s+BY\b", body, re.I) and re.search(r"\bTOP\b", body, re.I) is None:
        ctx.note("warning", f"view {name}: ORDER BY in a view is kept but does not order callers' results", "view")
    return f"CREATE OR REPLACE VIEW {names.qualified(schema, name)}{cols} AS\n{select}{check}"


def _names_list(text: str) -> list[str]:
    return [names.unquote(text[a:b].strip()) for a, b in split_top(text)]


def _schema(text: str, ctx: Context) -> str:
    s = Stream(text)
    s.expect("CREATE")
    s.expect("SCHEMA")
    name = s.next().name
    if s.accept("AUTHORIZATION"):
        owner = s.next().name
        if owner.lower() != "dbo":
            ctx.note(
                "info",
                f"schema {name}: AUTHORIZATION {owner} dropped; ALTER SCHEMA … OWNER TO after roles exist",
                "schema-owner",
            )
    if not s.at_end():
        ctx.note("warning", f"schema {name}: elements created inside CREATE SCHEMA are not converted", "schema")
    return f"CREATE SCHEMA IF NOT EXISTS {names.schema(name)}"


def _sequence(text: str, ctx: Context) -> str:
    s = Stream(text)
    s.expect("CREATE")
    s.expect("SEQUENCE")
    parts = s.qualified_name()
    schema, name = (parts[-2] if len(parts) > 1 else "dbo"), parts[-1]
    out = f"CREATE SEQUENCE {names.qualified(schema, name)}"
    typ = "bigint"
    has_start = False
    while not s.at_end():
        if s.accept("AS"):
            from dbshift.convert.ddl_table import parse_type

            tsql = parse_type(s)
            typ = types.pg_type(tsql, ctx.catalog)
            if typ.startswith("numeric") or typ in ("smallint", "integer", "bigint"):
                typ = "bigint" if typ.startswith("numeric") else typ
            out += f" AS {typ}"
        elif s.accept("START", "WITH"):
            out += f" START WITH {_signed(s)}"
            has_start = True
        elif s.accept("INCREMENT", "BY"):
            out += f" INCREMENT BY {_signed(s)}"
        elif s.accept("MINVALUE"):
            out += f" MINVALUE {_signed(s)}"
        elif s.accept("MAXVALUE"):
            out += f" MAXVALUE {_signed(s)}"
        elif s.accept("NO", "MINVALUE") or s.accept("NO", "MAXVALUE") or s.accept("NO", "CYCLE"):
            out += " " + " ".join(t.text.upper() for t in s.toks[s.i - 2 : s.i])
        elif s.accept("CYCLE"):
            out += " CYCLE"
        elif s.accept("CACHE"):
            if s.peek() is not None and s.peek().kind == "number":
                out += f" CACHE {s.next().text}"
        elif s.accept("NO", "CACHE"):
            pass
        elif s.peek().text == ";":
            s.next()
        else:
            raise DdlSyntaxError(f"sequence {name}: unexpected {s.peek().text!r}")
    if not has_start:
        ctx.note(
            "warning",
            f"sequence {name}: T-SQL starts at the type's minimum value when START WITH is missing, PostgreSQL at 1",
            "sequence-start",
        )
    return out


def _signed(s: Stream) -> str:
    sign = ""
    if s.peek() is not None and s.peek().text in ("-", "+"):
        sign = s.next().text
    return sign + s.next().text


def _type(text: str, ctx: Context, conv: TableConverter) -> str:
    s = Stream(text)
    s.expect("CREATE")
    s.expect("TYPE")
    parts = s.qualified_name()
    schema, name = (parts[-2] if len(parts) > 1 else "dbo"), parts[-1]
    key = f"{schema}.{name}".lower()
    qualified = names.qualified(schema, name)
    if s.accept("FROM"):
        from dbshift.convert.ddl_table import parse_type

        base = parse_type(s)
        not_null = s.accept("NOT", "NULL")
        ctx.catalog.alias_types.setdefault(key, base + (" NOT NULL" if not_null else ""))
        if not_null:
            ctx.note(
                "info",
                f"type {name}: NOT NULL is applied to each column of this type (a NOT NULL domain could "
                "not be overridden by a column's NULL)",
                "alias-type",
            )
        return f"CREATE DOMAIN {qualified} AS {types.pg_type(base, ctx.catalog)}"
    if s.accept("AS", "TABLE"):
        a, b = s.group()
        from dbshift.convert.ddl_table import parse_column

        fields = []
        for start, end in split_top(text[a:b]):
            element = text[a:b][start:end].strip()
            if Stream(element).up() in ("PRIMARY", "UNIQUE", "CHECK", "INDEX", "CONSTRAINT"):
                ctx.note(
                    "info",
                    f"table type {name}: constraint/index {element[:60]!r} dropped (composite type)",
                    "table-type",
                )
                continue
            col = parse_column(element)
            fields.append(f"{names.ident(col.name)} {types.pg_type(col.tsql_type or 'sql_variant', ctx.catalog)}")
        ctx.note(
            "info", f"table type {name} → composite type; table-valued parameters become arrays of it", "table-type"
        )
        return f"CREATE TYPE {qualified} AS (\n    " + ",\n    ".join(fields) + "\n)"
    if s.accept("EXTERNAL", "NAME"):
        raise UnsupportedObject(f"CLR type {name}: no PostgreSQL equivalent")
    raise DdlSyntaxError(f"type {name}: form not understood")


def _synonym(obj: SourceObject, text: str, ctx: Context, conv: TableConverter) -> str:
    m = re.search(r"\bFOR\s+(.+?)\s*;?\s*$", text, re.I | re.S)
    if not m:
        raise DdlSyntaxError("synonym: FOR target missing")
    parts = names.split_qualified(m.group(1))
    if len(parts) > 3:
        raise UnsupportedObject(f"synonym {obj.name} → linked server {m.group(1)}: use postgres_fdw")
    if len(parts) == 3:
        ctx.note(
            "warning",
            f"synonym {obj.name} points into database {parts[0]}: the database part is dropped",
            "cross-database",
        )
    schema, name = (parts[-2] if len(parts) > 1 else "dbo"), parts[-1]
    key = f"{schema}.{name}".lower()
    routine = ctx.catalog.routines.get(key)
    if routine is not None:
        raise UnsupportedObject(
            f"synonym {obj.name} for routine {m.group(1)}: PostgreSQL has no synonyms; "
            f"call {names.qualified(schema, name)} or add its schema to search_path"
        )
    conv.deps.update({f"table:{key}", f"view:{key}"})
    ctx.note(
        "info", f"synonym {obj.name} → view over {names.qualified(schema, name)} (updatable when simple)", "synonym"
    )
    view = names.qualified(obj.schema, obj.name)
    return f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {names.qualified(schema, name)}"


# ---------------------------------------------------------------- security


def _principal_name(name: str) -> str:
    low = names.fold(name)
    return "PUBLIC" if low == "public" else names.quote_if_needed(low)


def _create_role(role: str, options: str = "") -> str:
    body = f"CREATE ROLE {role}{options}"
    return (
        f"DO $dbshift$ BEGIN {body}; EXCEPTION WHEN duplicate_object THEN "
        f"RAISE NOTICE 'role {role.replace(chr(39), chr(39) * 2)} exists'; END $dbshift$"
    )


def _principal(text: str, ctx: Context) -> str:
    s = Stream(text)
    s.expect("CREATE")
    kind = s.next().up
    name = s.next().name
    role = _principal_name(name)
    if kind == "ROLE":
        if s.accept("AUTHORIZATION"):
            s.next()
        return _create_role(role, " NOLOGIN")
    rest = text[s.peek().start :] if s.peek() else ""
    if kind == "LOGIN" or re.search(r"\bFOR\s+LOGIN\b|\bFROM\s+LOGIN\b", rest, re.I):
        ctx.note("warning", f"user {name} → LOGIN role without a password: set one (or use IAM/Kerberos)", "user")
        sql = _create_role(role, " LOGIN")
    else:
        sql = _create_role(role, " NOLOGIN")
    m = re.search(r"DEFAULT_SCHEMA\s*=\s*(\[[^\]]+\]|\w+)", rest, re.I)
    if m:
        schema = names.schema(m.group(1))
        sql += f";\nALTER ROLE {role} SET search_path = {schema}, public"
    return sql


# Fixed database roles with a PostgreSQL (14+) predefined role of the same meaning.
_FIXED_ROLES = {"db_datareader": "pg_read_all_data", "db_datawriter": "pg_write_all_data"}


def _role_member(text: str, ctx: Context) -> str:
    m = re.match(r"\s*ALTER\s+ROLE\s+(\[[^\]]+\]|\w+)\s+(ADD|DROP)\s+MEMBER\s+(\[[^\]]+\]|\w+)", text, re.I)
    if m:
        role_text, add, member_text = m.group(1), m.group(2).upper() == "ADD", m.group(3)
    else:
        toks = tokenize(text)
        start = next((k for k, t in enumerate(toks) if t.name.lower() == "sp_addrolemember"), None)
        if start is None:
            raise DdlSyntaxError(f"role membership not understood: {text[:80]!r}")
        args = [
            string_value(t) if t.kind == "string" else t.name for t in toks[start + 1 :] if t.text not in (",", "=")
        ]
        args = [a for a in args if not a.startswith("@")]
        if len(args) < 2:
            raise DdlSyntaxError(f"sp_addrolemember needs a role and a member: {text[:80]!r}")
        role_text, add, member_text = args[0], True, args[1]
    fixed = names.unquote(role_text).lower()
    if fixed.startswith("db_") and fixed not in _FIXED_ROLES:
        raise UnsupportedObject(
            f"fixed database role {fixed}: no PostgreSQL role of that meaning; grant ownership or "
            "CREATE on the schemas by hand"
        )
    if fixed in _FIXED_ROLES:
        ctx.note("info", f"{fixed} → {_FIXED_ROLES[fixed]} (cluster-wide in PostgreSQL: all databases)", "fixed-role")
    role = _FIXED_ROLES.get(fixed) or _principal_name(role_text)
    member = _principal_name(member_text)
    return f"GRANT {role} TO {member}" if add else f"REVOKE {role} FROM {member}"


_OBJECT_PERMS = {"SELECT", "INSERT", "UPDATE", "DELETE", "REFERENCES", "EXECUTE", "TRUNCATE"}


def _grant(text: str, ctx: Context, conv: TableConverter) -> str | None:
    m = re.match(
        r"\s*(GRANT|DENY|REVOKE)\s+(.+?)\s+(?:ON\s+(.+?)\s+)?(TO|FROM)\s+(.+?)"
        r"(\s+WITH\s+GRANT\s+OPTION)?(\s+CASCADE)?(\s+AS\s+\S+)?\s*;?\s*$",
        text,
        re.I | re.S,
    )
    if not m:
        raise DdlSyntaxError(f"permission statement not understood: {text[:80]!r}")
    verb, perms_text, target, principals = m.group(1).upper(), m.group(2), m.group(3), m.group(5)
    perms = [p.strip().upper() for p in perms_text.split(",")]
    grantees = ", ".join(_principal_name(p.strip()) for p in principals.split(","))
    for principal in principals.split(","):
        folded = names.unquote(principal.strip()).lower()
        if folded not in ("public", "dbo"):
            conv.deps.update({f"role:dbo.{folded}", f"user:dbo.{folded}"})
    option = " WITH GRANT OPTION" if m.group(6) else ""
    if verb == "DENY":
        ctx.note("warning", "DENY → REVOKE: PostgreSQL has no deny that overrides grants via other roles", "deny")
    pg_verb, prep = ("GRANT", "TO") if verb == "GRANT" else ("REVOKE", "FROM")
    if target is None:
        mapped = {
            "CREATE TABLE": "CREATE",
            "CREATE VIEW": "CREATE",
            "CREATE PROCEDURE": "CREATE",
            "CREATE FUNCTION": "CREATE",
            "CONNECT": "CONNECT",
        }
        pg_perms = sorted({mapped[p] for p in perms if p in mapped})
        dropped = [p for p in perms if p not in mapped]
        if dropped:
            ctx.note("warning", f"database permission(s) {', '.join(dropped)} have no PostgreSQL equivalent", "grant")
        if not pg_perms:
            raise UnsupportedObject(f"{verb} {perms_text}: no PostgreSQL equivalent")
        statements = []
        if "CONNECT" in pg_perms:
            statements.append(
                f"DO $dbshift$ BEGIN EXECUTE format('{pg_verb} CONNECT ON DATABASE %I {prep} "
                f"{grantees.replace(chr(39), chr(39) * 2)}', current_database()); END $dbshift$"
            )
        if "CREATE" in pg_perms:
            statements.append(f"{pg_verb} CREATE ON SCHEMA public {prep} {grantees}")
        return ";\n".join(statements)
    scope = re.match(r"(OBJECT|SCHEMA|TYPE|DATABASE)\s*::\s*(.+)$", target.strip(), re.I | re.S)
    kind = scope.group(1).upper() if scope else "OBJECT"
    obj_text = scope.group(2) if scope else target
    unknown = [p for p in perms if p.split("(")[0].strip() not in _OBJECT_PERMS and p not in ("ALL", "CONTROL")]
    if unknown:
        ctx.note("warning", f"permission(s) {', '.join(unknown)} have no PostgreSQL equivalent: dropped", "grant")
    known = [p for p in perms if p not in unknown]
    if kind == "SCHEMA":
        schema = names.schema(obj_text.strip())
        conv.deps.add(f"schema:{names.unquote(obj_text.strip())}.{names.unquote(obj_text.strip())}".lower())
        statements = [f"{pg_verb} USAGE ON SCHEMA {schema} {prep} {grantees}"]
        table_perms = [p for p in known if p in ("SELECT", "INSERT", "UPDATE", "DELETE", "REFERENCES")]
        if table_perms:
            statements.append(
                f"{pg_verb} {', '.join(table_perms)} ON ALL TABLES IN SCHEMA {schema} {prep} {grantees}{option}"
            )
            ctx.note(
                "info",
                f"{verb} on SCHEMA::{obj_text.strip()} → ON ALL TABLES IN SCHEMA + ALTER DEFAULT PRIVILEGES "
                "(later tables created by the role running this script)",
                "grant",
            )
            # T-SQL schema permissions also cover objects created later
            statements.append(
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} {pg_verb} {', '.join(table_perms)} ON TABLES {prep} "
                f"{grantees}"
            )
        if "EXECUTE" in known:
            statements.append(f"{pg_verb} EXECUTE ON ALL ROUTINES IN SCHEMA {schema} {prep} {grantees}{option}")
            statements.append(
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} {pg_verb} EXECUTE ON ROUTINES {prep} {grantees}"
            )
        return ";\n".join(statements)
    if kind in ("TYPE", "DATABASE"):
        raise UnsupportedObject(f"{verb} on {kind}::: no direct PostgreSQL equivalent (types are usable by all)")
    schema, name = names.split_schema_name(obj_text.strip())
    qualified = names.qualified(schema, name)
    key = f"{schema}.{name}".lower()
    conv.deps.update({f"{kind}:{key}" for kind in ("table", "view", "function", "procedure", "synonym")})
    routine = ctx.catalog.routines.get(key)
    if "EXECUTE" in known or routine is not None:
        what = "PROCEDURE" if routine is not None and routine.kind == "procedure" else "FUNCTION"
        if routine is None:
            what = "ROUTINE"
        return f"{pg_verb} EXECUTE ON {what} {qualified} {prep} {grantees}{option}"
    pg_perms = ", ".join("ALL" if p in ("ALL", "CONTROL") else p for p in known)
    if not pg_perms:
        raise UnsupportedObject(f"{verb} {perms_text} ON {target}: nothing convertible")
    return f"{pg_verb} {pg_perms} ON TABLE {qualified} {prep} {grantees}{option}"


# ---------------------------------------------------------------- comments


_PARAM_ORDER = [
    "@name",
    "@value",
    "@level0type",
    "@level0name",
    "@level1type",
    "@level1name",
    "@level2type",
    "@level2name",
]


def _comment(text: str, ctx: Context, conv: TableConverter) -> str | None:
    toks = tokenize(text)
    i = next(k for k, t in enumerate(toks) if t.name.lower() == "sp_addextendedproperty") + 1
    args: dict[str, str | None] = {}
    position = 0
    while i < len(toks):
        tok = toks[i]
        if tok.kind == "var" and i + 1 < len(toks) and toks[i + 1].text == "=":
            key = tok.text.lower()
            value_tok = toks[i + 2]
            i += 3
        else:
            key = _PARAM_ORDER[position] if position < len(_PARAM_ORDER) else f"#{position}"
            value_tok = tok
            i += 1
        position += 1
        if value_tok.kind == "string":
            args[key] = string_value(value_tok)
        elif value_tok.up == "NULL":
            args[key] = None
        else:
            args[key] = value_tok.name
        if i < len(toks) and toks[i].text == ",":
            i += 1
    if (args.get("@name") or "").lower() not in ("ms_description", "description"):
        raise UnsupportedObject(f"extended property {args.get('@name')!r}: only MS_Description maps to COMMENT ON")
    value = args.get("@value") or ""
    literal = "'" + value.replace("'", "''") + "'"
    l0, l1 = (args.get("@level0type") or "").upper(), (args.get("@level1type") or "").upper()
    l2 = (args.get("@level2type") or "").upper()
    schema = args.get("@level0name") or "dbo"
    n1, n2 = args.get("@level1name"), args.get("@level2name")
    if not l0:
        return (
            "DO $dbshift$ BEGIN EXECUTE format('COMMENT ON DATABASE %I IS %L', current_database(), "
            f"{literal}); END $dbshift$"
        )
    if l0 == "SCHEMA" and not l1:
        conv.deps.add(f"schema:{schema}.{schema}".lower())
        return f"COMMENT ON SCHEMA {names.schema(schema)} IS {literal}"
    if l0 != "SCHEMA" or not n1:
        raise UnsupportedObject(f"extended property on {l0} {args.get('@level0name')}: not mapped")
    obj = names.qualified(schema, n1)
    key = f"{schema}.{n1}".lower()
    if l1 in ("TABLE", "VIEW"):
        conv.deps.add(f"{l1.lower()}:{key}")
        if not l2:
            return f"COMMENT ON {'VIEW' if l1 == 'VIEW' else 'TABLE'} {obj} IS {literal}"
        if l2 == "COLUMN":
            return f"COMMENT ON COLUMN {obj}.{names.ident(n2 or '')} IS {literal}"
        if l2 == "INDEX":
            conv.deps.add(f"index:{schema}.{n2}".lower())
            return f"COMMENT ON INDEX {names.schema(schema)}.{names.index_name(n1, n2 or '')} IS {literal}"
        if l2 == "CONSTRAINT":
            conv.deps.add(f"constraint:{schema}.{n2}".lower())
            return f"COMMENT ON CONSTRAINT {names.ident(n2 or '')} ON {obj} IS {literal}"
        if l2 == "TRIGGER":
            conv.deps.add(f"trigger:{schema}.{n2}".lower())
            return f"COMMENT ON TRIGGER {names.ident(n2 or '')} ON {obj} IS {literal}"
    if l1 in ("PROCEDURE", "FUNCTION") and not l2:
        conv.deps.add(f"{l1.lower()}:{key}")
        routine = ctx.catalog.routines.get(key)
        what = "PROCEDURE" if routine is not None and routine.kind == "procedure" else "FUNCTION"
        if routine is None:
            what = "ROUTINE"
        return f"COMMENT ON {what} {obj} IS {literal}"
    if l1 in ("TYPE", "SEQUENCE") and not l2:
        conv.deps.add(f"{l1.lower()}:{key}")
        kind = "DOMAIN" if l1 == "TYPE" and key in ctx.catalog.alias_types else l1
        return f"COMMENT ON {kind} {obj} IS {literal}"
    raise UnsupportedObject(f"MS_Description on {l1} {n1} {l2} {n2 or ''}: not mapped to COMMENT ON")
