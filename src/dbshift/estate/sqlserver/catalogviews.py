"""Database-scoped catalog views of the SQL Server EMULATOR, built from schemaobj's metadata.

sys.schemas, sys.objects, sys.tables, sys.views, sys.procedures, sys.triggers, sys.sql_modules, sys.columns,
sys.identity_columns, sys.computed_columns, sys.types, sys.indexes, sys.index_columns, sys.key_constraints,
sys.foreign_keys, sys.foreign_key_columns, sys.default_constraints, sys.check_constraints, sys.sequences and
INFORMATION_SCHEMA.SCHEMATA/TABLES/COLUMNS/VIEWS/ROUTINES, with the columns SQL Server documents (2019) and
its codes (type, type_desc, referential actions, index types). Datetimes are text as elsewhere in the emulator.
EMULATOR-ONLY: tables that predate the catalog (or were made by SELECT INTO) are described from SQLite's
declarations; their object_id is derived from the name; principal_id is NULL (owned by the schema owner).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from dbshift.estate.sqlserver.schemaobj import ROLE_SCHEMAS, Store, columns_from_sqlite, sqlite_table_name

View = tuple[list[str], list[list[Any]]]
COLLATION = "SQL_Latin1_General_CP1_CI_AS"

# name: (system_type_id, user_type_id, max_length, precision, scale, collatable)
SYSTEM_TYPES: dict[str, tuple[int, int, int, int, int, bool]] = {
    "image": (34, 34, 16, 0, 0, False),
    "text": (35, 35, 16, 0, 0, True),
    "uniqueidentifier": (36, 36, 16, 0, 0, False),
    "date": (40, 40, 3, 10, 0, False),
    "time": (41, 41, 5, 16, 7, False),
    "datetime2": (42, 42, 8, 27, 7, False),
    "datetimeoffset": (43, 43, 10, 34, 7, False),
    "tinyint": (48, 48, 1, 3, 0, False),
    "smallint": (52, 52, 2, 5, 0, False),
    "int": (56, 56, 4, 10, 0, False),
    "smalldatetime": (58, 58, 4, 16, 0, False),
    "real": (59, 59, 4, 24, 0, False),
    "money": (60, 60, 8, 19, 4, False),
    "datetime": (61, 61, 8, 23, 3, False),
    "float": (62, 62, 8, 53, 0, False),
    "sql_variant": (98, 98, 8016, 0, 0, False),
    "ntext": (99, 99, 16, 0, 0, True),
    "bit": (104, 104, 1, 1, 0, False),
    "decimal": (106, 106, 17, 38, 38, False),
    "numeric": (108, 108, 17, 38, 38, False),
    "smallmoney": (122, 122, 4, 10, 4, False),
    "bigint": (127, 127, 8, 19, 0, False),
    "hierarchyid": (240, 128, 892, 0, 0, False),
    "geometry": (240, 129, -1, 0, 0, False),
    "geography": (240, 130, -1, 0, 0, False),
    "varbinary": (165, 165, 8000, 0, 0, False),
    "varchar": (167, 167, 8000, 0, 0, True),
    "binary": (173, 173, 8000, 0, 0, False),
    "char": (175, 175, 8000, 0, 0, True),
    "timestamp": (189, 189, 8, 0, 0, False),
    "nvarchar": (231, 231, 8000, 0, 0, True),
    "nchar": (239, 239, 8000, 0, 0, True),
    "xml": (241, 241, -1, 0, 0, False),
    "sysname": (231, 256, 256, 0, 0, True),
}
_SYNONYMS = {
    "integer": "int",
    "rowversion": "timestamp",
    "character": "char",
    "dec": "decimal",
    "national": "nchar",
    "double": "float",
}
TYPE_DESC = {
    "U": "USER_TABLE",
    "V": "VIEW",
    "P": "SQL_STORED_PROCEDURE",
    "FN": "SQL_SCALAR_FUNCTION",
    "IF": "SQL_INLINE_TABLE_VALUED_FUNCTION",
    "TF": "SQL_TABLE_VALUED_FUNCTION",
    "TR": "SQL_TRIGGER",
    "SO": "SEQUENCE_OBJECT",
    "PK": "PRIMARY_KEY_CONSTRAINT",
    "UQ": "UNIQUE_CONSTRAINT",
    "F": "FOREIGN_KEY_CONSTRAINT",
    "C": "CHECK_CONSTRAINT",
    "D": "DEFAULT_CONSTRAINT",
}
_ACTIONS = {"NO_ACTION": 0, "CASCADE": 1, "SET_NULL": 2, "SET_DEFAULT": 3}

OBJECT_COLUMNS = [
    "name",
    "object_id",
    "principal_id",
    "schema_id",
    "parent_object_id",
    "type",
    "type_desc",
    "create_date",
    "modify_date",
    "is_ms_shipped",
    "is_published",
    "is_schema_published",
]


class Model:
    """Every object of one database, with derived column and index facts, computed once per view."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.objects = [o for o in store.objects]
        known = {
            sqlite_table_name(store.schemas()[o["schema_id"]], o["name"]).lower()
            for o in store.objects
            if o["type"] == "U" and o["schema_id"] in store.schemas()
        }
        for t in store.sqlite_tables():
            if t.lower() in known or t.startswith("#"):
                continue
            schema, _, name = t.rpartition(".")
            sid = store.schema_id(schema or "dbo") or 1
            self.objects.append(
                {
                    "object_id": 100_000_000 + zlib.crc32(t.lower().encode()) % 400_000_000,
                    "schema_id": sid,
                    "name": name,
                    "type": "U",
                    "parent_object_id": 0,
                    "create_date": None,
                    "modify_date": None,
                    "definition": None,
                    "meta": {"columns": columns_from_sqlite(store, schema or "dbo", name)},
                }
            )
        self.by_id = {o["object_id"]: o for o in self.objects}
        self.user_types: dict[str, int] = {}

    def schema(self, o: dict[str, Any]) -> str:
        return self.store.schemas().get(o["schema_id"], "dbo")

    def listed(self, types: set[str] | None = None) -> list[dict[str, Any]]:
        """Objects of sys.objects (indexes and alias types are catalogued, but are not objects)."""
        return [o for o in self.objects if o["type"] not in ("$IX", "$TY") and (types is None or o["type"] in types)]

    def object_row(self, o: dict[str, Any]) -> list[Any]:
        return [
            o["name"],
            o["object_id"],
            None,
            o["schema_id"],
            o["parent_object_id"],
            o["type"].ljust(2),
            TYPE_DESC[o["type"]],
            o["create_date"],
            o["modify_date"] or o["create_date"],
            0,
            0,
            0,
        ]

    def find_table(self, schema: str, name: str) -> dict[str, Any] | None:
        for o in self.objects:
            if (
                o["type"] in ("U", "V")
                and o["name"].lower() == name.lower()
                and self.schema(o).lower() == schema.lower()
            ):
                return o
        return None

    def column_id(self, table: dict[str, Any], name: str) -> int | None:
        for i, c in enumerate(table["meta"].get("columns", []), start=1):
            if c["name"].lower() == name.lower():
                return i
        return None

    def type_facts(self, col: dict[str, Any]) -> tuple[int, int, int, int, int, str | None]:
        """(system_type_id, user_type_id, max_length, precision, scale, collation_name) of a column."""
        name = _SYNONYMS.get(col["type_name"], col["type_name"])
        args = col.get("args") or []
        schema = col.get("type_schema", "sys") or "sys"
        if name not in SYSTEM_TYPES or schema != "sys":
            alias = self.alias_type(schema, name)
            if alias is not None:  # CREATE TYPE ... FROM base: the base's facts, the alias's own id
                base = {"type_name": alias["meta"]["base"], "args": alias["meta"]["args"], "type_schema": "sys"}
                facts = self.type_facts({**base, "collation": col.get("collation")})
                return facts[0], alias["meta"]["user_type_id"], *facts[2:]
            uid = self.user_types.setdefault(name, 1000 + len(self.user_types))
            return 98, uid, 8016, 0, 0, None  # EMULATOR-ONLY: an unknown type name is described as sql_variant
        sys_id, user_id, length, precision, scale, collatable = SYSTEM_TYPES[name]
        n = args[0] if args else None
        if name in ("char", "varchar", "binary", "varbinary"):
            length = -1 if n == "max" else int(n or 1)
        elif name in ("nchar", "nvarchar"):
            length = -1 if n == "max" else 2 * int(n or 1)
        elif name in ("decimal", "numeric"):
            precision = int(n or 18)
            scale = int(args[1]) if len(args) > 1 else 0
            length = 5 if precision <= 9 else 9 if precision <= 19 else 13 if precision <= 28 else 17
        elif name == "float" and n is not None and int(n) <= 24:
            sys_id, user_id, length, precision = 59, 59, 4, 24
        elif name in ("datetime2", "time", "datetimeoffset"):
            scale = int(n) if n is not None else 7
            small = 0 if scale <= 2 else 1 if scale <= 4 else 2
            base = {"datetime2": (6, 19), "time": (3, 8), "datetimeoffset": (8, 26)}[name]
            length = base[0] + small
            precision = base[1] + (scale + 1 if scale else 0)
        collation = (col.get("collation") or COLLATION) if collatable else None
        return sys_id, user_id, length, precision, scale, collation

    def alias_type(self, schema: str, name: str) -> dict[str, Any] | None:
        """A CREATE TYPE alias: by schema, or (unqualified) in dbo as SQL Server resolves type names."""
        schema = "dbo" if schema == "sys" else schema
        for o in self.objects:
            if o["type"] == "$TY" and o["name"].lower() == name.lower() and self.schema(o).lower() == schema.lower():
                return o
        return None

    def indexes(self, table: dict[str, Any]) -> list[dict[str, Any]]:
        """Index rows of a table: PK/UQ constraints' indexes and CREATE INDEX ones, by index_id; a heap row 0."""
        kids = [
            o for o in self.objects if o["parent_object_id"] == table["object_id"] and o["type"] in ("PK", "UQ", "$IX")
        ]
        out = []
        if not any(k["meta"].get("clustered") for k in kids):
            out.append(
                {
                    "name": None,
                    "index_id": 0,
                    "type": 0,
                    "unique": False,
                    "columns": [],
                    "include": [],
                    "filter": None,
                    "kind": "HEAP",
                }
            )
        for k in kids:
            m = k["meta"]
            out.append(
                {
                    "name": k["name"],
                    "index_id": m.get("index_id", 2),
                    "type": 1 if m.get("clustered") else 2,
                    "unique": k["type"] in ("PK", "UQ") or bool(m.get("unique")),
                    "columns": m.get("columns", []),
                    "include": m.get("include", []),
                    "filter": m.get("filter"),
                    "kind": k["type"],
                }
            )
        return sorted(out, key=lambda r: r["index_id"])


# --------------------------------------------------------------------------------------------- sys views


def schemas(m: Model) -> View:
    cols = ["name", "schema_id", "principal_id"]
    return cols, [[name, sid, sid if sid in ROLE_SCHEMAS else 1] for sid, name in sorted(m.store.schemas().items())]


def objects(m: Model) -> View:
    return OBJECT_COLUMNS, [m.object_row(o) for o in m.listed()]


def tables(m: Model) -> View:
    extra = [
        "lob_data_space_id",
        "filestream_data_space_id",
        "max_column_id_used",
        "lock_on_bulk_load",
        "uses_ansi_nulls",
        "is_replicated",
        "has_replication_filter",
        "is_merge_published",
        "is_sync_tran_subscribed",
        "has_unchecked_assembly_data",
        "text_in_row_limit",
        "large_value_types_out_of_row",
        "is_tracked_by_cdc",
        "lock_escalation",
        "lock_escalation_desc",
        "is_filetable",
        "is_memory_optimized",
        "durability",
        "durability_desc",
        "temporal_type",
        "temporal_type_desc",
        "history_table_id",
        "is_remote_data_archive_enabled",
        "is_external",
    ]
    rows = []
    for o in m.listed({"U"}):
        n = len(o["meta"].get("columns", []))
        rows.append(
            [
                *m.object_row(o),
                0,
                None,
                n,
                0,
                1,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                "TABLE",
                0,
                0,
                0,
                "SCHEMA_AND_DATA",
                0,
                "NON_TEMPORAL_TABLE",
                None,
                0,
                0,
            ]
        )
    return OBJECT_COLUMNS + extra, rows


def views(m: Model) -> View:
    extra = [
        "is_replicated",
        "has_replication_filter",
        "has_opaque_metadata",
        "has_unchecked_assembly_data",
        "with_check_option",
        "is_date_correlation_view",
        "is_tracked_by_cdc",
    ]
    rows = [
        [*m.object_row(o), 0, 0, 0, 0, int("WITH CHECK OPTION" in (o["definition"] or "").upper()), 0, 0]
        for o in m.listed({"V"})
    ]
    return OBJECT_COLUMNS + extra, rows


def procedures(m: Model) -> View:
    extra = ["is_auto_executed", "is_execution_replicated", "is_repl_serializable_skip", "skips_repl_constraints"]
    return OBJECT_COLUMNS + extra, [[*m.object_row(o), 0, 0, 0, 0] for o in m.listed({"P"})]


def triggers(m: Model) -> View:
    cols = [
        "name",
        "object_id",
        "parent_class",
        "parent_class_desc",
        "parent_id",
        "type",
        "type_desc",
        "create_date",
        "modify_date",
        "is_ms_shipped",
        "is_disabled",
        "is_not_for_replication",
        "is_instead_of_trigger",
    ]
    rows = [
        [
            o["name"],
            o["object_id"],
            1,
            "OBJECT_OR_COLUMN",
            o["parent_object_id"],
            "TR",
            "SQL_TRIGGER",
            o["create_date"],
            o["modify_date"],
            0,
            int(o["meta"].get("disabled", False)),
            0,
            int(o["meta"].get("instead_of", False)),
        ]
        for o in m.listed({"TR"})
    ]
    return cols, rows


def sql_modules(m: Model) -> View:
    cols = [
        "object_id",
        "definition",
        "uses_ansi_nulls",
        "uses_quoted_identifier",
        "is_schema_bound",
        "uses_database_collation",
        "is_recompiled",
        "null_on_null_input",
        "execute_as_principal_id",
        "uses_native_compilation",
    ]
    rows = []
    for o in m.listed({"V", "P", "FN", "IF", "TF", "TR"}):
        text = (o["definition"] or "").upper()
        rows.append(
            [
                o["object_id"],
                o["definition"],
                1,
                1,
                int("SCHEMABINDING" in text),
                1,
                int("RECOMPILE" in text),
                int("RETURNS NULL ON NULL INPUT" in text),
                None,
                0,
            ]
        )
    return cols, rows


COLUMN_COLUMNS = [
    "object_id",
    "name",
    "column_id",
    "system_type_id",
    "user_type_id",
    "max_length",
    "precision",
    "scale",
    "collation_name",
    "is_nullable",
    "is_ansi_padded",
    "is_rowguidcol",
    "is_identity",
    "is_computed",
    "is_filestream",
    "is_replicated",
    "is_non_sql_subscribed",
    "is_merge_published",
    "is_dts_replicated",
    "is_xml_document",
    "xml_collection_id",
    "default_object_id",
    "rule_object_id",
    "is_sparse",
    "is_column_set",
    "generated_always_type",
    "generated_always_type_desc",
    "is_hidden",
    "is_masked",
]


def _column_rows(m: Model) -> list[tuple[dict[str, Any], dict[str, Any], list[Any]]]:
    out = []
    defaults = {
        (o["parent_object_id"], (o["meta"].get("column") or "").lower()): o["object_id"] for o in m.listed({"D"})
    }
    for t in m.listed({"U"}):
        for i, c in enumerate(t["meta"].get("columns", []), start=1):
            computed = c.get("computed") is not None
            if computed:
                sys_id, user_id, length, precision, scale, collation = 98, 98, 8016, 0, 0, None
            else:
                sys_id, user_id, length, precision, scale, collation = m.type_facts(c)
            nullable = c.get("nullable")
            alias = m.alias_type(c.get("type_schema") or "sys", c.get("type_name") or "") if not computed else None
            if nullable is None and alias is not None and not alias["meta"]["nullable"]:
                nullable = False  # the alias type's NOT NULL applies when the column does not say
            if nullable is None:
                nullable = not (c.get("identity") or _in_pk(m, t, c["name"]))
            row = [
                t["object_id"],
                c["name"],
                i,
                sys_id,
                user_id,
                length,
                precision,
                scale,
                collation,
                int(bool(nullable)),
                int(sys_id in (167, 175, 165, 173, 231, 239)),
                int(bool(c.get("rowguidcol"))),
                int(c.get("identity") is not None),
                int(computed),
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                defaults.get((t["object_id"], c["name"].lower()), 0),
                0,
                0,
                0,
                0,
                "NOT_APPLICABLE",
                0,
                0,
            ]
            out.append((t, c, row))
    return out


def _in_pk(m: Model, table: dict[str, Any], column: str) -> bool:
    return any(
        o["type"] == "PK"
        and o["parent_object_id"] == table["object_id"]
        and column.lower() in (c.lower() for c, _ in o["meta"].get("columns", []))
        for o in m.objects
    )


def columns(m: Model) -> View:
    return COLUMN_COLUMNS, [row for _, _, row in _column_rows(m)]


def identity_columns(m: Model) -> View:
    rows = []
    for _t, c, row in _column_rows(m):
        if c.get("identity") is not None:
            seed, inc = c["identity"]
            rows.append([*row, seed, inc, None, 0])
    return [*COLUMN_COLUMNS, "seed_value", "increment_value", "last_value", "is_not_for_replication"], rows


def computed_columns(m: Model) -> View:
    rows = [
        [*row, c["computed"], 1, int(bool(c.get("persisted")))]
        for _t, c, row in _column_rows(m)
        if c.get("computed") is not None
    ]
    return [*COLUMN_COLUMNS, "definition", "uses_database_collation", "is_persisted"], rows


def types(m: Model) -> View:
    cols = [
        "name",
        "system_type_id",
        "user_type_id",
        "schema_id",
        "principal_id",
        "max_length",
        "precision",
        "scale",
        "collation_name",
        "is_nullable",
        "is_user_defined",
        "is_assembly_type",
        "default_object_id",
        "rule_object_id",
        "is_table_type",
    ]
    _column_rows(m)  # registers the alias types columns use
    rows = []
    for name, (sys_id, user_id, length, precision, scale, collatable) in sorted(
        SYSTEM_TYPES.items(), key=lambda kv: kv[1][1]
    ):
        rows.append(
            [
                name,
                sys_id,
                user_id,
                4,
                None,
                length,
                precision,
                scale,
                COLLATION if collatable else None,
                int(name != "sysname"),
                0,
                int(sys_id == 240),
                0,
                0,
                0,
            ]
        )
    for o in m.objects:
        if o["type"] == "$TY":
            meta = o["meta"]
            sys_id, uid, length, precision, scale, collation = m.type_facts(
                {"type_name": o["name"], "type_schema": m.schema(o), "args": []}
            )
            rows.append(
                [
                    o["name"],
                    sys_id,
                    uid,
                    o["schema_id"],
                    None,
                    length,
                    precision,
                    scale,
                    collation,
                    int(meta["nullable"]),
                    1,
                    0,
                    0,
                    0,
                    0,
                ]
            )
    for name, uid in m.user_types.items():
        rows.append([name, 98, uid, 1, None, 8016, 0, 0, None, 1, 1, 0, 0, 0, 0])
    return cols, rows


def indexes(m: Model) -> View:
    cols = [
        "object_id",
        "name",
        "index_id",
        "type",
        "type_desc",
        "is_unique",
        "data_space_id",
        "ignore_dup_key",
        "is_primary_key",
        "is_unique_constraint",
        "fill_factor",
        "is_padded",
        "is_disabled",
        "is_hypothetical",
        "is_ignored_in_optimization",
        "allow_row_locks",
        "allow_page_locks",
        "has_filter",
        "filter_definition",
        "compression_delay",
        "suppress_dup_key_messages",
        "auto_created",
        "optimize_for_sequential_key",
    ]
    rows = []
    for t in m.listed({"U"}):
        for ix in m.indexes(t):
            desc = {0: "HEAP", 1: "CLUSTERED", 2: "NONCLUSTERED"}[ix["type"]]
            rows.append(
                [
                    t["object_id"],
                    ix["name"],
                    ix["index_id"],
                    ix["type"],
                    desc,
                    int(ix["unique"]),
                    1,
                    0,
                    int(ix["kind"] == "PK"),
                    int(ix["kind"] == "UQ"),
                    0,
                    0,
                    0,
                    0,
                    0,
                    1,
                    1,
                    int(bool(ix["filter"])),
                    ix["filter"],
                    None,
                    0,
                    0,
                    0,
                ]
            )
    return cols, rows


def index_columns(m: Model) -> View:
    cols = [
        "object_id",
        "index_id",
        "index_column_id",
        "column_id",
        "key_ordinal",
        "partition_ordinal",
        "is_descending_key",
        "is_included_column",
        "column_store_order_ordinal",
    ]
    rows = []
    for t in m.listed({"U"}):
        for ix in m.indexes(t):
            n = 0
            for key, (name, desc) in enumerate(ix["columns"], start=1):
                n += 1
                rows.append([t["object_id"], ix["index_id"], n, m.column_id(t, name), key, 0, int(desc), 0, 0])
            for name in ix["include"]:
                n += 1
                rows.append([t["object_id"], ix["index_id"], n, m.column_id(t, name), 0, 0, 0, 1, 0])
    return cols, rows


def key_constraints(m: Model) -> View:
    rows = [
        [*m.object_row(o), o["meta"].get("index_id"), int(o["meta"].get("system_named", False)), None]
        for o in m.listed({"PK", "UQ"})
    ]
    return [*OBJECT_COLUMNS, "unique_index_id", "is_system_named", "is_enforced"], rows


def _ref_table(m: Model, o: dict[str, Any]) -> dict[str, Any] | None:
    return m.find_table(o["meta"]["ref_schema"], o["meta"]["ref_table"])


def foreign_keys(m: Model) -> View:
    extra = [
        "referenced_object_id",
        "key_index_id",
        "is_disabled",
        "is_not_for_replication",
        "is_not_trusted",
        "delete_referential_action",
        "delete_referential_action_desc",
        "update_referential_action",
        "update_referential_action_desc",
        "is_system_named",
    ]
    rows = []
    for o in m.listed({"F"}):
        meta, ref = o["meta"], _ref_table(m, o)
        key_index = None
        if ref is not None:
            want = [c.lower() for c in meta["ref_columns"]] or None
            for ix in m.indexes(ref):
                cols = [c.lower() for c, _ in ix["columns"]]
                if ix["unique"] and ((want is None and ix["kind"] == "PK") or cols == want):
                    key_index = ix["index_id"]
                    break
        rows.append(
            [
                *m.object_row(o),
                ref["object_id"] if ref else None,
                key_index,
                int(meta.get("disabled", False)),
                int(meta.get("not_for_replication", False)),
                int(meta.get("not_trusted", False)),
                _ACTIONS[meta["on_delete"]],
                meta["on_delete"],
                _ACTIONS[meta["on_update"]],
                meta["on_update"],
                int(meta.get("system_named", False)),
            ]
        )
    return OBJECT_COLUMNS + extra, rows


def foreign_key_columns(m: Model) -> View:
    cols = [
        "constraint_object_id",
        "constraint_column_id",
        "parent_object_id",
        "parent_column_id",
        "referenced_object_id",
        "referenced_column_id",
    ]
    rows = []
    for o in m.listed({"F"}):
        parent, ref = m.by_id.get(o["parent_object_id"]), _ref_table(m, o)
        ref_cols = o["meta"]["ref_columns"]
        if not ref_cols and ref is not None:  # REFERENCES t without columns: t's primary key
            pk = next((x for x in m.objects if x["type"] == "PK" and x["parent_object_id"] == ref["object_id"]), None)
            ref_cols = [c for c, _ in pk["meta"]["columns"]] if pk else []
        for i, (col, rcol) in enumerate(zip(o["meta"]["columns"], ref_cols, strict=False), start=1):
            rows.append(
                [
                    o["object_id"],
                    i,
                    o["parent_object_id"],
                    m.column_id(parent, col) if parent else None,
                    ref["object_id"] if ref else None,
                    m.column_id(ref, rcol) if ref else None,
                ]
            )
    return cols, rows


def default_constraints(m: Model) -> View:
    rows = []
    for o in m.listed({"D"}):
        parent = m.by_id.get(o["parent_object_id"])
        col_id = m.column_id(parent, o["meta"].get("column") or "") if parent else None
        rows.append([*m.object_row(o), col_id, o["definition"], int(o["meta"].get("system_named", False))])
    return [*OBJECT_COLUMNS, "parent_column_id", "definition", "is_system_named"], rows


def check_constraints(m: Model) -> View:
    extra = [
        "is_disabled",
        "is_not_for_replication",
        "is_not_trusted",
        "parent_column_id",
        "definition",
        "uses_database_collation",
        "is_system_named",
    ]
    rows = []
    for o in m.listed({"C"}):
        meta, parent = o["meta"], m.by_id.get(o["parent_object_id"])
        col_id = m.column_id(parent, meta["column"]) if parent and meta.get("column") else 0
        rows.append(
            [
                *m.object_row(o),
                int(meta.get("disabled", False)),
                int(meta.get("not_for_replication", False)),
                int(meta.get("not_trusted", False)),
                col_id or 0,
                o["definition"],
                1,
                int(meta.get("system_named", False)),
            ]
        )
    return OBJECT_COLUMNS + extra, rows


_SEQ_LIMITS = {
    "tinyint": (0, 255),
    "smallint": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}


def sequences(m: Model) -> View:
    extra = [
        "start_value",
        "increment",
        "minimum_value",
        "maximum_value",
        "is_cycling",
        "is_cached",
        "cache_size",
        "system_type_id",
        "user_type_id",
        "precision",
        "scale",
        "current_value",
        "is_exhausted",
        "last_used_value",
    ]
    rows = []
    for o in m.listed({"SO"}):
        s = o["meta"]
        col = {"type_name": s["type_name"], "args": s.get("args") or [], "type_schema": "sys"}
        sys_id, user_id, _length, precision, scale, _coll = m.type_facts(col)
        lo, hi = _SEQ_LIMITS.get(s["type_name"], (-(10**precision) + 1, 10**precision - 1))
        minimum = s["minimum"] if s.get("minimum") is not None else lo
        maximum = s["maximum"] if s.get("maximum") is not None else hi
        start = s["start"] if s.get("start") is not None else (minimum if s["increment"] > 0 else maximum)
        cached = s.get("cache") != 0
        rows.append(
            [
                *m.object_row(o),
                start,
                s["increment"],
                minimum,
                maximum,
                int(s.get("cycle", False)),
                int(cached),
                s.get("cache") or None,
                sys_id,
                user_id,
                precision,
                scale,
                start,
                0,
                None,
            ]
        )
    return OBJECT_COLUMNS + extra, rows


# ------------------------------------------------------------------------------------ INFORMATION_SCHEMA


def is_schemata(m: Model, db: str) -> View:
    cols = [
        "CATALOG_NAME",
        "SCHEMA_NAME",
        "SCHEMA_OWNER",
        "DEFAULT_CHARACTER_SET_CATALOG",
        "DEFAULT_CHARACTER_SET_SCHEMA",
        "DEFAULT_CHARACTER_SET_NAME",
    ]
    rows = [
        [db, name, "dbo" if sid not in ROLE_SCHEMAS else name, None, None, "iso_1"]
        for sid, name in sorted(m.store.schemas().items())
    ]
    return cols, rows


def is_tables(m: Model, db: str) -> View:
    cols = ["TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "TABLE_TYPE"]
    rows = [[db, m.schema(o), o["name"], "BASE TABLE" if o["type"] == "U" else "VIEW"] for o in m.listed({"U", "V"})]
    return cols, rows


def is_views(m: Model, db: str) -> View:
    cols = ["TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "VIEW_DEFINITION", "CHECK_OPTION", "IS_UPDATABLE"]
    rows = []
    for o in m.listed({"V"}):
        text = o["definition"] or ""
        check = "CASCADE" if "WITH CHECK OPTION" in text.upper() else "NONE"
        rows.append([db, m.schema(o), o["name"], text[:4000], check, "NO"])  # documented: first 4000 characters
    return cols, rows


def is_routines(m: Model, db: str) -> View:
    cols = [
        "SPECIFIC_CATALOG",
        "SPECIFIC_SCHEMA",
        "SPECIFIC_NAME",
        "ROUTINE_CATALOG",
        "ROUTINE_SCHEMA",
        "ROUTINE_NAME",
        "ROUTINE_TYPE",
        "DATA_TYPE",
        "ROUTINE_BODY",
        "ROUTINE_DEFINITION",
        "IS_DETERMINISTIC",
        "SQL_DATA_ACCESS",
        "CREATED",
        "LAST_ALTERED",
    ]
    rows = []
    for o in m.listed({"P", "FN", "IF", "TF"}):
        kind = "PROCEDURE" if o["type"] == "P" else "FUNCTION"
        data_type = "TABLE" if o["type"] in ("IF", "TF") else None
        rows.append(
            [
                db,
                m.schema(o),
                o["name"],
                db,
                m.schema(o),
                o["name"],
                kind,
                data_type,
                "SQL",
                (o["definition"] or "")[:4000],
                "NO",
                "MODIFIES",
                o["create_date"],
                o["modify_date"],
            ]
        )
    return cols, rows


def is_columns(m: Model, db: str) -> View:
    cols = [
        "TABLE_CATALOG",
        "TABLE_SCHEMA",
        "TABLE_NAME",
        "COLUMN_NAME",
        "ORDINAL_POSITION",
        "COLUMN_DEFAULT",
        "IS_NULLABLE",
        "DATA_TYPE",
        "CHARACTER_MAXIMUM_LENGTH",
        "CHARACTER_OCTET_LENGTH",
        "NUMERIC_PRECISION",
        "NUMERIC_PRECISION_RADIX",
        "NUMERIC_SCALE",
        "DATETIME_PRECISION",
        "CHARACTER_SET_CATALOG",
        "CHARACTER_SET_SCHEMA",
        "CHARACTER_SET_NAME",
        "COLLATION_CATALOG",
        "COLLATION_SCHEMA",
        "COLLATION_NAME",
        "DOMAIN_CATALOG",
        "DOMAIN_SCHEMA",
        "DOMAIN_NAME",
    ]
    defaults = {o["object_id"]: o["definition"] for o in m.listed({"D"})}
    rows = []
    for t, c, r in _column_rows(m):
        sys_id, length, precision, scale, collation = r[3], r[5], r[6], r[7], r[8]
        type_name = next((n for n, f in SYSTEM_TYPES.items() if f[1] == r[4]), "sql_variant")
        chars = length if sys_id in (167, 175, 165, 173) else length // 2 if sys_id in (231, 239) else None
        if length == -1 and sys_id in (167, 231, 165):
            chars = -1
        numeric = sys_id in (48, 52, 56, 127, 106, 108, 60, 122, 59, 62)
        dt = scale if sys_id in (40, 41, 42, 43, 58, 61) else None
        rows.append(
            [
                db,
                m.schema(t),
                t["name"],
                c["name"],
                r[2],
                defaults.get(r[21]),
                "YES" if r[9] else "NO",
                type_name,
                chars,
                (length if chars is not None else None),
                precision if numeric else None,
                (2 if sys_id in (59, 62) else 10) if numeric else None,
                scale if numeric else None,
                dt,
                None,
                None,
                "iso_1" if collation else None,
                None,
                None,
                collation,
                None,
                None,
                None,
            ]
        )
    return cols, rows


SYS: dict[str, Callable[[Model], View]] = {
    "schemas": schemas,
    "objects": objects,
    "tables": tables,
    "views": views,
    "procedures": procedures,
    "triggers": triggers,
    "sql_modules": sql_modules,
    "columns": columns,
    "identity_columns": identity_columns,
    "computed_columns": computed_columns,
    "types": types,
    "indexes": indexes,
    "index_columns": index_columns,
    "key_constraints": key_constraints,
    "foreign_keys": foreign_keys,
    "foreign_key_columns": foreign_key_columns,
    "default_constraints": default_constraints,
    "check_constraints": check_constraints,
    "sequences": sequences,
}
INFORMATION_SCHEMA: dict[str, Callable[[Model, str], View]] = {
    "schemata": is_schemata,
    "tables": is_tables,
    "views": is_views,
    "routines": is_routines,
    "columns": is_columns,
}
