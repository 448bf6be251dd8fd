"""Read a live SQL Server database as SourceObjects: the `mssql://…` and `winrm://…` forms of SOURCE.

    objects = read_live("mssql://migration_reader@sqlhost:1433/Northwind")    # password: DBSHIFT_SOURCE_PASSWORD
    objects = read_live("winrm://Administrator@winhost:5985/SQLHOST%5CINST/Northwind?sql_user=reader")
    objects = read_live(session, database="Northwind")                        # any dbshift.tsql SqlSession

Source forms (a password in the URL works but shows in the process list; prefer the environment):
- mssql://USER[:PASSWORD]@HOST[:PORT]/DATABASE (also sqlserver://): TDS via pymssql (dbshift.tsql.tds), SQL
  authentication; PASSWORD else env DBSHIFT_SOURCE_PASSWORD; PORT 1433 by default.
- winrm://WINUSER[:WINPASSWORD]@HOST[:PORT]/SERVER_INSTANCE/DATABASE[?transport=ntlm&scheme=http&cert=validate
  &sql_user=LOGIN]: T-SQL through PowerShell over WinRM (dbshift.tsql.winrm), as the fall-forward runbooks run
  it; SERVER_INSTANCE is -ServerInstance (write HOST\\INSTANCE as HOST%5CINSTANCE); WINPASSWORD else env
  DBSHIFT_WINRM_PASSWORD; with sql_user the SQL password comes from DBSHIFT_SOURCE_PASSWORD (else Windows auth).
  PORT defaults to 5985 (http) / 5986 (scheme=https).

What is read (catalog views only; the reader needs VIEW DEFINITION on the database):
- views, procedures, functions, triggers: sys.sql_modules.definition VERBATIM (the text SQL Server stored);
- schemas, alias types, sequences, tables, constraints and indexes: scripted back to T-SQL from sys.schemas,
  sys.sequences, sys.objects, sys.columns, sys.types, sys.identity_columns, sys.computed_columns, sys.indexes,
  sys.index_columns, sys.key_constraints, sys.foreign_keys, sys.foreign_key_columns, sys.default_constraints and
  sys.check_constraints, the way SSMS "Script as CREATE" writes them with file groups, index options and
  collations left out: PRIMARY KEY and UNIQUE inside CREATE TABLE; every DEFAULT, FOREIGN KEY and CHECK an
  `ALTER TABLE … ADD CONSTRAINT` of its own (WITH NOCHECK when the constraint is not trusted); indexes as
  CREATE INDEX (with INCLUDE and WHERE). SSMS's extra `ALTER TABLE … CHECK CONSTRAINT` lines and disabled
  triggers' DISABLE TRIGGER are not written (the first changes nothing, the second has no PostgreSQL use here).
Each scripted text then goes through source.read_text, so a live object is cut and classified exactly as the
same T-SQL in a file is. `file` of an object is the source (password removed) plus /type/schema.name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from dbshift.convert.model import SCRIPT, SourceObject
from dbshift.errors import ConfigError, DbshiftError

LIVE_SCHEMES = ("mssql", "sqlserver", "winrm")
PASSWORD_ENV = "DBSHIFT_SOURCE_PASSWORD"
WINRM_PASSWORD_ENV = "DBSHIFT_WINRM_PASSWORD"

Rows = list[dict[str, Any]]


class Querier(Protocol):
    def __call__(self, sql: str) -> Rows: ...


def is_live(source: object) -> bool:
    """Is SOURCE a live server (mssql://, sqlserver://, winrm://) rather than a path?"""
    text = str(source)
    return any(text.lower().startswith(f"{s}://") for s in LIVE_SCHEMES)


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, for reports and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


@dataclass
class LiveSource:
    scheme: str  # "mssql" | "winrm"
    host: str
    port: int
    user: str
    password: str | None = field(repr=False)
    database: str
    server_instance: str = ""  # winrm only
    params: dict[str, str] = field(default_factory=dict)  # winrm query parameters

    @property
    def where(self) -> str:
        if self.scheme == "winrm":
            return f"winrm://{self.host}:{self.port}/{self.server_instance}/{self.database}"
        return f"mssql://{self.host}:{self.port}/{self.database}"


def parse_url(url: str) -> LiveSource:
    """mssql://… / winrm://… → LiveSource (passwords from the URL or the environment)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    shown = redact_url(url)
    if scheme not in LIVE_SCHEMES:
        raise ConfigError(f"source {shown}: use mssql://USER@HOST[:PORT]/DATABASE or winrm://… (see dbshift convert)")
    if not parts.hostname:
        raise ConfigError(f"source {shown}: no host; write mssql://USER@HOST[:PORT]/DATABASE")
    if not parts.username:
        raise ConfigError(f"source {shown}: no user; write the login before the host: mssql://USER@HOST/DATABASE")
    path = [unquote(p) for p in parts.path.split("/") if p]
    try:
        port = parts.port
    except ValueError as err:
        raise ConfigError(f"source {shown}: the port is not a number") from err
    password = unquote(parts.password) if parts.password is not None else None
    if scheme in ("mssql", "sqlserver"):
        if len(path) != 1:
            raise ConfigError(f"source {shown}: name one database after the host: mssql://USER@HOST[:PORT]/DATABASE")
        return LiveSource(
            "mssql",
            parts.hostname,
            port or 1433,
            unquote(parts.username),
            password if password is not None else os.environ.get(PASSWORD_ENV),
            path[0],
        )
    if len(path) != 2:
        raise ConfigError(
            f"source {shown}: write winrm://WINUSER@HOST[:PORT]/SERVER_INSTANCE/DATABASE "
            "(HOST\\INSTANCE as HOST%5CINSTANCE)"
        )
    params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    https = params.get("scheme", "http").lower() == "https"
    return LiveSource(
        "winrm",
        parts.hostname,
        port or (5986 if https else 5985),
        unquote(parts.username),
        password if password is not None else os.environ.get(WINRM_PASSWORD_ENV),
        path[1],
        server_instance=path[0],
        params=params,
    )


# ------------------------------------------------------------------------------------------- transports


def _rows(columns: list[str], rows: list[Any]) -> Rows:
    return [dict(zip(columns, r, strict=True)) for r in rows]


def _tds_querier(src: LiveSource) -> tuple[Querier, Callable[[], None]]:
    from dbshift.tsql.tds import connect_tds

    if src.password is None:
        raise ConfigError(f"source {src.where}: no password; set {PASSWORD_ENV} (or put it in the URL)")
    conn = connect_tds(f"{src.host}:{src.port}", src.user, src.password, src.database)
    return (lambda sql: _rows(*conn.query(sql))), conn.close


def _session_querier(session: Any, database: str) -> Querier:
    def run(sql: str) -> Rows:
        result = session.execute(sql, database=database)
        return result.rows

    return run


def _winrm_querier(src: LiveSource) -> tuple[Querier, Callable[[], None]]:
    from dbshift.tsql.connect import session_from_params

    if src.password is None:
        raise ConfigError(f"source {src.where}: no WinRM password; set {WINRM_PASSWORD_ENV} (or put it in the URL)")
    sql_user = src.params.get("sql_user")
    if sql_user and os.environ.get(PASSWORD_ENV) is None:
        raise ConfigError(f"source {src.where}: sql_user={sql_user} needs the SQL password in {PASSWORD_ENV}")
    scheme = "https" if src.params.get("scheme", "http").lower() == "https" else "http"
    session = session_from_params(
        {
            "winrm_endpoint": f"{scheme}://{src.host}:{src.port}/wsman",
            "winrm_username": src.user,
            "winrm_password": src.password,
            "winrm_transport": src.params.get("transport"),
            "winrm_server_cert_validation": src.params.get("cert"),
            "server_instance": src.server_instance,
            "sql_username": sql_user,
            "sql_password": os.environ.get(PASSWORD_ENV) if sql_user else None,
        }
    )
    return _session_querier(session, src.database), session.close


# ------------------------------------------------------------------------------------------------ reading

# One query per catalog view; columns are the documented ones, so the same text runs on SQL Server and RDS.
QUERIES: dict[str, str] = {
    "schemas": "SELECT schema_id, name FROM sys.schemas",
    "objects": "SELECT object_id, name, schema_id, parent_object_id, type FROM sys.objects WHERE is_ms_shipped = 0",
    "modules": "SELECT object_id, definition FROM sys.sql_modules",
    "columns": "SELECT object_id, column_id, name, user_type_id, max_length, precision, scale, is_nullable, "
    "is_identity, is_computed, is_rowguidcol FROM sys.columns",
    "types": "SELECT user_type_id, system_type_id, schema_id, name, is_user_defined, is_table_type, max_length, "
    "precision, scale, is_nullable FROM sys.types",
    "identity": "SELECT object_id, column_id, seed_value, increment_value FROM sys.identity_columns",
    "computed": "SELECT object_id, column_id, definition, is_persisted FROM sys.computed_columns",
    "indexes": "SELECT object_id, index_id, name, type, is_unique, is_primary_key, is_unique_constraint, "
    "has_filter, filter_definition FROM sys.indexes",
    "index_columns": "SELECT object_id, index_id, index_column_id, column_id, key_ordinal, is_descending_key, "
    "is_included_column FROM sys.index_columns",
    "keys": "SELECT object_id, parent_object_id, name, type, unique_index_id FROM sys.key_constraints",
    "fks": "SELECT object_id, parent_object_id, referenced_object_id, name, is_not_trusted, is_not_for_replication, "
    "delete_referential_action_desc, update_referential_action_desc FROM sys.foreign_keys",
    "fk_columns": "SELECT constraint_object_id, constraint_column_id, parent_column_id, referenced_column_id "
    "FROM sys.foreign_key_columns",
    "defaults": "SELECT object_id, parent_object_id, parent_column_id, name, definition FROM sys.default_constraints",
    "checks": "SELECT object_id, parent_object_id, name, definition, is_not_trusted, is_not_for_replication "
    "FROM sys.check_constraints",
    "sequences": "SELECT object_id, start_value, increment, minimum_value, maximum_value, is_cycling, is_cached, "
    "cache_size, user_type_id, precision, scale FROM sys.sequences",
}


@dataclass
class LiveCatalog:
    """The rows of every catalog view read, by QUERIES key."""

    database: str
    views: dict[str, Rows]

    @classmethod
    def read(cls, query: Querier, database: str) -> LiveCatalog:
        return cls(database, {key: query(sql) for key, sql in QUERIES.items()})


def read_live(
    source: str | Any, database: str | None = None, *, password: str | None = None, timeout: float = 30
) -> list[SourceObject]:
    """Every schema object of a live database as SourceObjects (see the module docstring for SOURCE forms).

    `source` may also be an open SqlSession (anything with execute(sql, database=...) -> SqlResult), then
    `database` names the database to read. `password` overrides the URL/environment (mssql://: the SQL login's;
    winrm://: the Windows user's)."""
    if not isinstance(source, str):
        if not database:
            raise ConfigError("read_live(session): give database= (the database to read)")
        catalog = LiveCatalog.read(_session_querier(source, database), database)
        where = f"{getattr(source, 'server_instance', 'session')}/{database}"
        return catalog_objects(catalog, where, database)
    src = parse_url(source)
    if password is not None:
        src.password = password
    close: Callable[[], None] = lambda: None  # noqa: E731 - replaced by the transport's close
    try:
        query, close = _winrm_querier(src) if src.scheme == "winrm" else _tds_querier(src)
        catalog = LiveCatalog.read(query, src.database)
    finally:  # errors pass through: SqlError keeps SQL Server's number and names the server, ConfigError the fix
        close()
    return catalog_objects(catalog, src.where, database or src.database)


def catalog_objects(catalog: LiveCatalog, where: str, database: str) -> list[SourceObject]:
    """Scripted T-SQL of every object → SourceObjects, cut and classified by source.read_text."""
    from dbshift.convert.source import read_text

    out: list[SourceObject] = []
    for typ, schema, name, text in script_catalog(catalog):
        file = f"{where}/{typ}/{schema}.{name}"
        objs = [o for o in read_text(text, file, database) if o.type != SCRIPT]
        if len(objs) != 1:  # not one statement: keep the catalog's own facts (the converter reports the text)
            objs = [SourceObject(database, schema, name, typ, text.strip(), file, 1)]
        out.extend(objs)
    used: set[str] = set()
    for obj in out:  # names unique per type, as source.read_source makes them
        base, n = obj.name, 2
        while obj.key in used:
            obj.name = f"{base}~{n}"
            n += 1
        used.add(obj.key)
    return out


# -------------------------------------------------------------------------------------------- scripting


def q(name: str) -> str:
    """[name] with ] doubled, as SSMS quotes every identifier."""
    return "[" + str(name).replace("]", "]]") + "]"


def _by(rows: Rows, *keys: str) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        k = tuple(r[x] for x in keys) if len(keys) > 1 else r[keys[0]]
        out.setdefault(k, []).append(r)
    return out


def _flag(v: Any) -> bool:
    return bool(v) and str(v).lower() not in ("0", "false")


_SIZED = {"varchar", "char", "varbinary", "binary"}
_NSIZED = {"nvarchar", "nchar"}
_SCALED = {"datetime2", "time", "datetimeoffset"}


def column_type(col: dict[str, Any], types: dict[int, dict[str, Any]], schemas: dict[int, str]) -> str:
    """[nvarchar](50), [decimal](10, 2), [varchar](max), [datetime2](3), [dbo].[Flag] — as SSMS writes them."""
    t = types.get(int(col["user_type_id"]))
    if t is None:
        raise DbshiftError(f"column {col['name']}: user_type_id {col['user_type_id']} is not in sys.types")
    name = str(t["name"])
    if _flag(t["is_user_defined"]):
        return f"{q(schemas.get(int(t['schema_id']), 'dbo'))}.{q(name)}"
    length = int(col["max_length"])
    if name in _SIZED:
        return f"{q(name)}({'max' if length == -1 else length})"
    if name in _NSIZED:
        return f"{q(name)}({'max' if length == -1 else length // 2})"
    if name in ("decimal", "numeric"):
        return f"{q(name)}({int(col['precision'])}, {int(col['scale'])})"
    if name in _SCALED:
        return f"{q(name)}({int(col['scale'])})"
    if name == "float" and int(col["precision"]) != 53:
        return f"{q(name)}({int(col['precision'])})"
    return q(name)


def _key_list(cols: list[tuple[str, bool]]) -> str:
    return ",\n".join(f"\t{q(c)} {'DESC' if desc else 'ASC'}" for c, desc in cols)


def script_catalog(catalog: LiveCatalog) -> list[tuple[str, str, str, str]]:
    """(type, schema, name, T-SQL) for every object, in an order SQL Server could create them: schemas, alias
    types, sequences, tables (keys inside), defaults, foreign keys, checks, indexes, then modules in creation order."""
    v = catalog.views
    schemas = {int(r["schema_id"]): str(r["name"]) for r in v["schemas"]}
    types = {int(r["user_type_id"]): r for r in v["types"]}
    objects = {int(r["object_id"]): r for r in v["objects"]}
    modules = {int(r["object_id"]): r["definition"] for r in v["modules"]}
    columns = _by(v["columns"], "object_id")
    identity = {(int(r["object_id"]), int(r["column_id"])): r for r in v["identity"]}
    computed = {(int(r["object_id"]), int(r["column_id"])): r for r in v["computed"]}
    index_cols = _by(v["index_columns"], "object_id", "index_id")
    indexes = _by(v["indexes"], "object_id")

    def sname(o: dict[str, Any]) -> str:
        return schemas.get(int(o["schema_id"]), "dbo")

    def full(object_id: int) -> str:
        o = objects[object_id]
        return f"{q(sname(o))}.{q(o['name'])}"

    def colname(object_id: int, column_id: int) -> str:
        for c in columns.get(object_id, []):
            if int(c["column_id"]) == int(column_id):
                return str(c["name"])
        raise DbshiftError(f"{full(object_id)}: column_id {column_id} is not in sys.columns")

    def index_keys(object_id: int, index_id: int) -> tuple[list[tuple[str, bool]], list[str]]:
        rows = sorted(index_cols.get((object_id, index_id), []), key=lambda r: int(r["index_column_id"]))
        keys = sorted((r for r in rows if not _flag(r["is_included_column"])), key=lambda r: int(r["key_ordinal"]))
        return (
            [(colname(object_id, int(r["column_id"])), _flag(r["is_descending_key"])) for r in keys],
            [colname(object_id, int(r["column_id"])) for r in rows if _flag(r["is_included_column"])],
        )

    out: list[tuple[str, str, str, str]] = []
    for sid, name in sorted(schemas.items()):
        if 4 < sid < 16384:  # user schemas (dbo, guest, INFORMATION_SCHEMA, sys and the role schemas exist)
            out.append(("schema", name, name, f"CREATE SCHEMA {q(name)}\n"))
    for t in sorted(types.values(), key=lambda r: int(r["user_type_id"])):
        if not _flag(t["is_user_defined"]) or _flag(t.get("is_table_type")):
            continue  # table types (CREATE TYPE ... AS TABLE) are not scripted: sys.table_types is not read
        base = column_type({**t, "user_type_id": t["system_type_id"]}, types, schemas)
        null = "NULL" if _flag(t.get("is_nullable", True)) else "NOT NULL"
        tname = f"{q(schemas.get(int(t['schema_id']), 'dbo'))}.{q(t['name'])}"
        out.append(
            (
                "type",
                schemas.get(int(t["schema_id"]), "dbo"),
                str(t["name"]),
                f"CREATE TYPE {tname} FROM {base} {null}\n",
            )
        )
    for seq in sorted(v["sequences"], key=lambda r: int(r["object_id"])):
        o = objects.get(int(seq["object_id"]))
        if o is None:
            continue
        t = column_type({**seq, "name": o["name"], "max_length": 0}, types, schemas)
        text = (
            f"CREATE SEQUENCE {full(int(seq['object_id']))} \n AS {t}\n START WITH {int(seq['start_value'])}\n"
            f" INCREMENT BY {int(seq['increment'])}\n MINVALUE {int(seq['minimum_value'])}\n"
            f" MAXVALUE {int(seq['maximum_value'])}\n"
        )
        text += " CYCLE \n" if _flag(seq["is_cycling"]) else ""
        if not _flag(seq["is_cached"]):
            text += " NO CACHE \n"
        elif seq["cache_size"] is not None:
            text += f" CACHE  {int(seq['cache_size'])} \n"
        out.append(("sequence", sname(o), str(o["name"]), text))
    tables = sorted((o for o in objects.values() if str(o["type"]).strip() == "U"), key=lambda o: int(o["object_id"]))
    keys = _by(v["keys"], "parent_object_id")
    for t in tables:
        tid = int(t["object_id"])
        lines = []
        for c in sorted(columns.get(tid, []), key=lambda r: int(r["column_id"])):
            cid = int(c["column_id"])
            if _flag(c["is_computed"]) and (tid, cid) in computed:
                comp = computed[(tid, cid)]
                lines.append(
                    f"\t{q(c['name'])}  AS {comp['definition']}" + (" PERSISTED" if _flag(comp["is_persisted"]) else "")
                )
                continue
            line = f"\t{q(c['name'])} {column_type(c, types, schemas)}"
            if (tid, cid) in identity:
                ident = identity[(tid, cid)]
                line += f" IDENTITY({int(ident['seed_value'])},{int(ident['increment_value'])})"
            if _flag(c["is_rowguidcol"]):
                line += " ROWGUIDCOL "
            line += " NULL" if _flag(c["is_nullable"]) else " NOT NULL"
            lines.append(line)
        by_index = {int(ix["index_id"]): ix for ix in indexes.get(tid, [])}
        for k in sorted(keys.get(tid, []), key=lambda r: int(r["unique_index_id"] or 0)):
            ix = by_index.get(int(k["unique_index_id"] or -1))
            kind = "PRIMARY KEY" if str(k["type"]).strip() == "PK" else "UNIQUE"
            clustered = "CLUSTERED" if ix is not None and int(ix["type"]) == 1 else "NONCLUSTERED"
            cols, _ = index_keys(tid, int(k["unique_index_id"]))
            lines.append(f" CONSTRAINT {q(k['name'])} {kind} {clustered} \n(\n{_key_list(cols)}\n)")
        out.append(("table", sname(t), str(t["name"]), f"CREATE TABLE {full(tid)}(\n" + ",\n".join(lines) + "\n)\n"))
    for d in sorted(v["defaults"], key=lambda r: int(r["object_id"])):
        pid = int(d["parent_object_id"])
        if pid not in objects:
            continue
        text = (
            f"ALTER TABLE {full(pid)} ADD  CONSTRAINT {q(d['name'])}  DEFAULT {d['definition']} "
            f"FOR {q(colname(pid, int(d['parent_column_id'])))}\n"
        )
        out.append(("constraint", sname(objects[pid]), str(d["name"]), text))
    fk_cols = _by(v["fk_columns"], "constraint_object_id")
    for f in sorted(v["fks"], key=lambda r: int(r["object_id"])):
        pid, rid = int(f["parent_object_id"]), int(f["referenced_object_id"])
        if pid not in objects or rid not in objects:
            continue
        pairs = sorted(fk_cols.get(int(f["object_id"]), []), key=lambda r: int(r["constraint_column_id"]))
        mine = ", ".join(q(colname(pid, int(p["parent_column_id"]))) for p in pairs)
        theirs = ", ".join(q(colname(rid, int(p["referenced_column_id"]))) for p in pairs)
        check = "NOCHECK" if _flag(f["is_not_trusted"]) else "CHECK"
        text = (
            f"ALTER TABLE {full(pid)}  WITH {check} ADD  CONSTRAINT {q(f['name'])} FOREIGN KEY({mine})\n"
            f"REFERENCES {full(rid)} ({theirs})"
        )
        for verb, key in (("DELETE", "delete_referential_action_desc"), ("UPDATE", "update_referential_action_desc")):
            action = str(f[key] or "NO_ACTION")
            if action != "NO_ACTION":
                text += f"\nON {verb} {action.replace('_', ' ')}"
        if _flag(f["is_not_for_replication"]):
            text += "\nNOT FOR REPLICATION "
        out.append(("constraint", sname(objects[pid]), str(f["name"]), text + "\n"))
    for c in sorted(v["checks"], key=lambda r: int(r["object_id"])):
        pid = int(c["parent_object_id"])
        if pid not in objects:
            continue
        check = "NOCHECK" if _flag(c["is_not_trusted"]) else "CHECK"
        nfr = "NOT FOR REPLICATION " if _flag(c["is_not_for_replication"]) else ""
        text = f"ALTER TABLE {full(pid)}  WITH {check} ADD  CONSTRAINT {q(c['name'])} CHECK {nfr} ({c['definition']})\n"
        out.append(("constraint", sname(objects[pid]), str(c["name"]), text))
    for t in tables:
        tid = int(t["object_id"])
        for ix in sorted(indexes.get(tid, []), key=lambda r: int(r["index_id"])):
            if int(ix["index_id"]) == 0 or _flag(ix["is_primary_key"]) or _flag(ix["is_unique_constraint"]):
                continue
            if int(ix["type"]) not in (1, 2):
                continue  # XML, spatial, columnstore indexes: not scripted (no PostgreSQL counterpart here)
            cols, include = index_keys(tid, int(ix["index_id"]))
            kind = ("UNIQUE " if _flag(ix["is_unique"]) else "") + (
                "CLUSTERED" if int(ix["type"]) == 1 else "NONCLUSTERED"
            )
            text = f"CREATE {kind} INDEX {q(ix['name'])} ON {full(tid)}\n(\n{_key_list(cols)}\n)"
            if include:
                text += f"\nINCLUDE({', '.join(q(c) for c in include)})"
            if _flag(ix["has_filter"]) and ix["filter_definition"]:
                text += f"\nWHERE {ix['filter_definition']}"
            out.append(("index", sname(t), str(ix["name"]), text + "\n"))
    kinds = {"V": "view", "P": "procedure", "FN": "function", "IF": "function", "TF": "function", "TR": "trigger"}
    for oid in sorted(modules):
        o = objects.get(oid)
        if o is None or str(o["type"]).strip() not in kinds or modules[oid] is None:
            continue  # an encrypted module has a NULL definition: nothing to convert
        out.append((kinds[str(o["type"]).strip()], sname(o), str(o["name"]), str(modules[oid])))
    return out
