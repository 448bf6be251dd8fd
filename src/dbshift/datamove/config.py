"""The migration's configuration: the procedure's two Parameter Store entries plus runtime settings.

Two sources, one shape:
- a local YAML file with top-level `migration` and `server_mappings` (each exactly the JSON of the
  matching parameter) and an optional `runtime` section;
- SSM Parameter Store (load_from_ssm): the two parameters (String or SecureString, JSON), with the
  runtime settings from environment variables (ENV_* below), as the ECS task receives them.

migration parameter:      {"job_mode": "fresh"|"resume", "log_level": "INFO", "input_partition": "2024-01-01"
                           or "2024-01-01..2024-01-07" (inclusive), "partition_col_date": "measured_at",
                           "source_filter_<source table>": "<T-SQL boolean expression>", ...}
server mappings parameter: {"server_mappings": {"src1": "host:port", ...},
                            "databases": ["NetPerf01", ...]  or  {"src1": ["NetPerf01"], ...} (per server),
                            "categories": {"<target table>": ["<source table>", ...]}}

Everything is validated before anything else happens; all problems are collected into one
InvalidConfig (a ConfigError) whose lines each name the key (dotted path), what is wrong and the fix.
Names are matched exactly as written (the published procedure looked a category up with the wrong
case); source filters are keyed by their own table only (it exported one table with another's filter).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
import yaml
from sqlglot import exp

from dbshift.aws import AwsConfig, client
from dbshift.errors import ConfigError

# Environment variables of the runtime settings (SSM mode, or a YAML file without a `runtime` section).
ENV_RAW_AREA = "DBSHIFT_RAW_AREA"  # local directory or s3://bucket/prefix
ENV_TRANSFORMED_AREA = "DBSHIFT_TRANSFORMED_AREA"  # local directory or s3://bucket/prefix
ENV_TARGET_DSN = "DBSHIFT_TARGET_DSN"  # PostgreSQL DSN of the target (holds a password: inject it as a secret)
ENV_SOURCE_USER = "DBSHIFT_SOURCE_USER"  # SQL Server login (when not taken from the secret)
ENV_SOURCE_PASSWORD = "DBSHIFT_SOURCE_PASSWORD"  # its password (or use DBSHIFT_SOURCE_SECRET)
ENV_SOURCE_SECRET = "DBSHIFT_SOURCE_SECRET"  # Secrets Manager name/ARN: {"username", "password"} or a password
ENV_TRANSFORMS_DIR = "DBSHIFT_TRANSFORMS_DIR"  # directory of <category>.sql and <category>.postgres.sql
ENV_PARALLELISM = "DBSHIFT_PARALLELISM"  # chunks worked on at once (default 2)
ENV_SPLITS_PER_DAY = "DBSHIFT_SPLITS_PER_DAY"  # key ranges per server x database x day (default 4)
ENV_SPLIT_COL = "DBSHIFT_SPLIT_COL"  # per-category split column override: "cat=col[,cat2=col2]"
RUNTIME_ENV = (
    ENV_RAW_AREA,
    ENV_TRANSFORMED_AREA,
    ENV_TARGET_DSN,
    ENV_SOURCE_USER,
    ENV_SOURCE_PASSWORD,
    ENV_SOURCE_SECRET,
    ENV_TRANSFORMS_DIR,
    ENV_PARALLELISM,
    ENV_SPLITS_PER_DAY,
    ENV_SPLIT_COL,
)

DEFAULT_TRANSFORMS_DIR = Path(__file__).resolve().parent / "sql"
DEFAULT_PARALLELISM = 2
DEFAULT_SPLITS_PER_DAY = 4
JOB_MODES = ("fresh", "resume")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FILTER_PREFIX = "source_filter_"
MIGRATION_KEYS = ("job_mode", "log_level", "input_partition", "partition_col_date")
MAPPING_KEYS = ("server_mappings", "databases", "categories")
RUNTIME_KEYS = (
    "raw_area",
    "transformed_area",
    "target_dsn",
    "target_dsn_env",
    "source_user",
    "source_password_env",
    "source_secret",
    "transforms_dir",
    "parallelism",
    "splits_per_day",
    "split_col",
)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SERVER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_IPV6 = re.compile(r"\[[0-9A-Fa-f:.]+\]")
# The category becomes stage.stage_ctas_null_upd_<category>() and public.<category>_new: PostgreSQL
# truncates names beyond 63 bytes, so longer categories would silently collide.
MAX_CATEGORY_LEN = 63 - len("stage_ctas_null_upd_")


class Secret:
    """A value that never shows in repr/str/logs; reveal() hands it to the one call that needs it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


class InvalidConfig(ConfigError):
    """Every problem found in a configuration, one line each (`problems`), raised as one error."""

    def __init__(self, origin: str, problems: Sequence[str]) -> None:
        self.origin = origin
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"invalid migration configuration ({origin}): {n} problem{'s' if n != 1 else ''}\n{lines}")


@dataclass(frozen=True)
class SourceCredentials:
    user: str
    password: Secret


@dataclass(frozen=True)
class Runtime:
    raw_area: str  # local directory (absolute) or s3://bucket/prefix
    transformed_area: str
    target_dsn: Secret
    source_user: str | None = None
    source_password: Secret | None = None  # resolved from source_password_env at load time
    source_password_env: str | None = None
    source_secret: str | None = None  # Secrets Manager name/ARN, read by source_credentials()
    transforms_dir: Path = DEFAULT_TRANSFORMS_DIR
    parallelism: int = DEFAULT_PARALLELISM
    splits_per_day: int = DEFAULT_SPLITS_PER_DAY
    split_col: dict[str, str] = field(default_factory=dict)  # category -> split column override

    def source_credentials(self, aws: AwsConfig | None = None) -> SourceCredentials:
        """The SQL Server login: from the secret when one is configured, else source_user + password."""
        if self.source_secret:
            return _read_source_secret(self.source_secret, self.source_user, aws)
        if self.source_user and self.source_password is not None:
            return SourceCredentials(self.source_user, self.source_password)
        raise ConfigError("runtime: no source credentials; set source_user + source_password_env, or source_secret")


@dataclass(frozen=True)
class MigrationConfig:
    job_mode: str  # fresh | resume
    log_level: str  # DEBUG | INFO | WARNING | ERROR | CRITICAL
    input_partition: str  # as given: "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD"
    first_day: dt.date
    last_day: dt.date  # inclusive
    partition_col_date: str
    source_filters: dict[str, str]  # source table -> T-SQL boolean expression (tables without one absent)
    servers: dict[str, str]  # server name -> "host:port", in the order given
    databases: dict[str, tuple[str, ...]]  # server name -> its databases, in the order given
    categories: dict[str, tuple[str, ...]]  # target table -> source tables, names exactly as given
    runtime: Runtime
    origin: str = ""  # where it was read from, for messages

    @property
    def days(self) -> list[dt.date]:
        n = (self.last_day - self.first_day).days + 1
        return [self.first_day + dt.timedelta(days=i) for i in range(n)]

    @property
    def source_tables(self) -> list[str]:
        """Every source table of every category, once, in order of first mention."""
        return list(dict.fromkeys(t for tables in self.categories.values() for t in tables))

    def category_tables(self, category: str) -> tuple[str, ...]:
        try:
            return self.categories[category]
        except KeyError:
            raise ConfigError(_unknown_category(category, self.categories)) from None

    def source_filter(self, table: str) -> str | None:
        """The filter of exactly this source table (never another table's)."""
        return self.source_filters.get(table)

    def split_col_override(self, category: str) -> str | None:
        return self.runtime.split_col.get(category)

    def digest(self, category: str | None = None) -> str:
        """Hash of the settings that decide which rows land where (all categories, or one).

        Not included: job_mode, log_level, host:port (a server may move), areas, credentials, parallelism.
        A resume whose digest differs from the last run's would mix data of two configurations.
        """
        cats = {category: self.category_tables(category)} if category is not None else self.categories
        tables = sorted({t for ts in cats.values() for t in ts})
        data = {
            "days": [self.first_day.isoformat(), self.last_day.isoformat()],
            "partition_col_date": self.partition_col_date,
            "filters": {t: self.source_filters[t] for t in tables if t in self.source_filters},
            "databases": {s: list(self.databases[s]) for s in sorted(self.servers)},
            "categories": {c: list(ts) for c, ts in sorted(cats.items())},
            "splits_per_day": self.runtime.splits_per_day,
            "split_col": {c: self.runtime.split_col[c] for c in sorted(cats) if c in self.runtime.split_col},
        }
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------------------------------ loading


def load_from_yaml(path: str | Path, environ: Mapping[str, str] | None = None) -> MigrationConfig:
    """Read a local YAML file: `migration`, `server_mappings` (the parameter shapes), optional `runtime`.

    Relative local paths in `runtime` are relative to the file's directory. Without a `runtime`
    section the runtime settings come from the environment, as in load_from_ssm.
    """
    path = Path(path)
    origin = f"file {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read migration config {path}: {e.strerror or e}; check the path") from e
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as e:
        raise InvalidConfig(origin, [f"(file): not valid YAML: {e}"]) from None
    if not isinstance(doc, dict):
        raise InvalidConfig(origin, ["(file): expected a mapping with keys migration, server_mappings, runtime"])
    problems = [
        f"{k}: unknown top-level key; expected migration, server_mappings and optionally runtime"
        for k in doc
        if k not in ("migration", "server_mappings", "runtime")
    ]
    for key in ("migration", "server_mappings"):
        if key not in doc:
            problems.append(f"{key}: missing; add the section (the JSON of the {key} parameter)")
    env = os.environ if environ is None else environ
    runtime_raw = doc.get("runtime")
    return _build(
        origin,
        doc.get("migration", {}),
        doc.get("server_mappings", {}),
        runtime_raw if runtime_raw is not None else _runtime_from_env(env),
        env,
        base_dir=path.parent.resolve(),
        runtime_prefix="runtime" if runtime_raw is not None else "env",
        problems=problems,
    )


def load_from_ssm(
    migration_parameter: str,
    server_mappings_parameter: str,
    aws: AwsConfig | None = None,
    environ: Mapping[str, str] | None = None,
) -> MigrationConfig:
    """Read both parameters (JSON, String or SecureString) and the runtime settings from the environment."""
    ssm = client("ssm", aws)
    origin = f"ssm {migration_parameter} + {server_mappings_parameter}"
    docs: list[Any] = []
    problems: list[str] = []
    for section, name in (("migration", migration_parameter), ("server_mappings", server_mappings_parameter)):
        value = _get_parameter(ssm, name, section, problems)
        if value is None:
            docs.append({})
            continue
        try:
            docs.append(json.loads(value, object_pairs_hook=_unique_pairs))
        except (json.JSONDecodeError, _DuplicateKey) as e:
            problems.append(f"{section}: parameter {name} is not valid JSON ({e}); store a JSON object")
            docs.append({})
    if problems:
        raise InvalidConfig(origin, problems)
    env = os.environ if environ is None else environ
    return _build(origin, docs[0], docs[1], _runtime_from_env(env), env, base_dir=Path.cwd(), runtime_prefix="env")


def _get_parameter(ssm: Any, name: str, section: str, problems: list[str]) -> str | None:
    try:
        resp = ssm.get_parameter(Name=name, WithDecryption=True)
    except ssm.exceptions.ParameterNotFound:
        problems.append(f"{section}: SSM parameter {name} does not exist; create it or fix the name")
        return None
    except Exception as e:  # AccessDenied, endpoint down: say which parameter
        problems.append(f"{section}: cannot read SSM parameter {name}: {e}; check the name, region and permissions")
        return None
    return resp["Parameter"]["Value"]


def _runtime_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    simple = {
        ENV_RAW_AREA: "raw_area",
        ENV_TRANSFORMED_AREA: "transformed_area",
        ENV_SOURCE_USER: "source_user",
        ENV_SOURCE_SECRET: "source_secret",
        ENV_TRANSFORMS_DIR: "transforms_dir",
        ENV_PARALLELISM: "parallelism",
        ENV_SPLITS_PER_DAY: "splits_per_day",
    }
    for var, key in simple.items():
        if env.get(var):
            raw[key] = env[var]
    if env.get(ENV_TARGET_DSN):
        raw["target_dsn_env"] = ENV_TARGET_DSN
    if env.get(ENV_SOURCE_PASSWORD):
        raw["source_password_env"] = ENV_SOURCE_PASSWORD
    if env.get(ENV_SPLIT_COL):
        pairs = [p.strip() for p in env[ENV_SPLIT_COL].split(",") if p.strip()]
        raw["split_col"] = dict(p.split("=", 1) if "=" in p else (p, "") for p in pairs)
    return raw


# ------------------------------------------------------------------------------------------ validation


def _build(
    origin: str,
    migration: Any,
    mappings: Any,
    runtime: Any,
    env: Mapping[str, str],
    base_dir: Path,
    runtime_prefix: str,
    problems: list[str] | None = None,
) -> MigrationConfig:
    p: list[str] = list(problems or [])
    if not isinstance(migration, dict):
        p.append("migration: expected a mapping (JSON object) of settings")
        migration = {}
    if not isinstance(mappings, dict):
        p.append("server_mappings: expected a mapping with server_mappings, databases and categories")
        mappings = {}
    if not isinstance(runtime, dict):
        p.append(f"{runtime_prefix}: expected a mapping of runtime settings")
        runtime = {}

    servers = _servers(mappings.get("server_mappings"), p)
    databases = _databases(mappings.get("databases"), servers, p)
    categories = _categories(mappings.get("categories"), p)
    for key in mappings:
        if key not in MAPPING_KEYS:
            p.append(f"server_mappings.{key}: unknown key; allowed keys are {', '.join(MAPPING_KEYS)}")

    job_mode = migration.get("job_mode")
    if job_mode not in JOB_MODES:
        what = "missing" if job_mode is None else f"{job_mode!r} is not allowed"
        p.append(f"migration.job_mode: {what}; use 'fresh' (start over) or 'resume' (continue the last run)")
    log_level = migration.get("log_level", "INFO")
    if not isinstance(log_level, str) or log_level.upper() not in LOG_LEVELS:
        p.append(f"migration.log_level: {log_level!r} is not a level; use one of {', '.join(LOG_LEVELS)}")
        log_level = "INFO"
    first, last, partition = _partition(migration.get("input_partition"), p)
    date_col = migration.get("partition_col_date")
    if date_col is None:
        p.append("migration.partition_col_date: missing; name the date/datetime column that partitions the sources")
    elif not isinstance(date_col, str) or not _IDENT.fullmatch(date_col):
        p.append(f"migration.partition_col_date: {date_col!r} is not a column name (letters, digits, _)")
    filters = _filters(migration, categories, p)
    for key in migration:
        if key not in MIGRATION_KEYS and not str(key).startswith(FILTER_PREFIX):
            allowed = ", ".join(MIGRATION_KEYS)
            p.append(f"migration.{key}: unknown key; allowed keys are {allowed} and {FILTER_PREFIX}<source table>")

    rt = _runtime(runtime, categories, env, base_dir, runtime_prefix, p)
    if p:
        raise InvalidConfig(origin, p)
    assert rt is not None and first is not None and last is not None
    return MigrationConfig(
        job_mode=job_mode,
        log_level=log_level.upper(),
        input_partition=partition,
        first_day=first,
        last_day=last,
        partition_col_date=date_col,
        source_filters=filters,
        servers=servers,
        databases=databases,
        categories=categories,
        runtime=rt,
        origin=origin,
    )


def _servers(raw: Any, p: list[str]) -> dict[str, str]:
    key = "server_mappings.server_mappings"
    if raw is None:
        p.append(f'{key}: missing; map each server name to "host:port", e.g. {{"src1": "10.0.0.5:1433"}}')
        return {}
    if not isinstance(raw, dict) or not raw:
        p.append(f'{key}: expected a non-empty mapping of server name to "host:port"')
        return {}
    out: dict[str, str] = {}
    for name, hp in raw.items():
        if not isinstance(name, str) or not _SERVER_NAME.fullmatch(name):
            p.append(f"{key}.{name}: server name must be letters, digits, '_', '.', '-' (it names files and rows)")
            continue
        problem = _host_port_problem(hp)
        if problem:
            p.append(f"{key}.{name}: {problem}")
            continue
        out[name] = hp
    _case_duplicates(key, [n for n in raw if isinstance(n, str)], "server names", p)
    return out


def _host_port_problem(hp: Any) -> str | None:
    if not isinstance(hp, str):
        return f'{hp!r} is not a "host:port" string; write it in quotes, e.g. "10.0.0.5:1433"'
    host, sep, port = hp.rpartition(":")
    if not sep or not host:
        return f'{hp!r} is not "host:port"; add the port, e.g. "{hp}:1433"'
    if not (_HOST.fullmatch(host) or _IPV6.fullmatch(host)):
        return f"{hp!r}: {host!r} is not a host name or IP address"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"{hp!r}: port {port!r} must be a number from 1 to 65535"
    return None


def _databases(raw: Any, servers: dict[str, str], p: list[str]) -> dict[str, tuple[str, ...]]:
    key = "server_mappings.databases"
    if raw is None:
        p.append(f'{key}: missing; list the source databases, e.g. ["NetPerf01"] (or map server -> list)')
        return {}
    if isinstance(raw, list):
        dbs = _database_list(key, raw, p)
        return {s: dbs for s in servers}
    if isinstance(raw, dict):
        out: dict[str, tuple[str, ...]] = {}
        for server, dbl in raw.items():
            if server not in servers:
                hint = _case_hint(server, servers)
                p.append(f"{key}.{server}: unknown server{hint}; it must be a key of server_mappings.server_mappings")
                continue
            if not isinstance(dbl, list):
                p.append(f"{key}.{server}: expected a list of database names")
                continue
            out[server] = _database_list(f"{key}.{server}", dbl, p)
        for server in servers:
            if server not in raw:
                p.append(f"{key}: server {server} has no databases; add {key}.{server}: [...] or remove the server")
        return out
    p.append(f"{key}: expected a list of database names (or a mapping of server name to such a list)")
    return {}


def _database_list(key: str, raw: list[Any], p: list[str]) -> tuple[str, ...]:
    if not raw:
        p.append(f"{key}: empty; list at least one database")
    good: list[str] = []
    for i, db in enumerate(raw):
        if not isinstance(db, str) or not _IDENT.fullmatch(db) or len(db) > 128:
            p.append(f"{key}[{i}]: {db!r} is not a database name (letter or _ first, then letters, digits, _)")
        elif db in good:
            p.append(f"{key}[{i}]: {db!r} is listed twice; list each database once")
        else:
            good.append(db)
    _case_duplicates(key, good, "database names (SQL Server ignores case)", p)
    return tuple(good)


def _categories(raw: Any, p: list[str]) -> dict[str, tuple[str, ...]]:
    key = "server_mappings.categories"
    if raw is None:
        p.append(f'{key}: missing; map each target table to its source tables, e.g. {{"t": ["src_table"]}}')
        return {}
    if not isinstance(raw, dict) or not raw:
        p.append(f"{key}: expected a non-empty mapping of target table to a list of source tables")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for cat, tables in raw.items():
        ck = f"{key}.{cat}"
        if not isinstance(cat, str) or not _IDENT.fullmatch(cat):
            p.append(f"{ck}: category {cat!r} is not a table name (letter or _ first, then letters, digits, _)")
            continue
        if len(cat) > MAX_CATEGORY_LEN:
            p.append(
                f"{ck}: name is {len(cat)} characters; at most {MAX_CATEGORY_LEN} fit in PostgreSQL's 63-character "
                "names once prefixed with stage_ctas_null_upd_; shorten it"
            )
            continue
        if not isinstance(tables, list) or not tables:
            p.append(f"{ck}: empty or not a list; list the category's source tables, e.g. [cell_performance_data]")
            continue
        good: list[str] = []
        for i, t in enumerate(tables):
            if not isinstance(t, str) or not _IDENT.fullmatch(t):
                p.append(f"{ck}[{i}]: {t!r} is not a table name (dbo schema; letters, digits, _)")
            elif t in good:
                p.append(f"{ck}[{i}]: {t!r} is listed twice; list each source table once")
            else:
                good.append(t)
        _case_duplicates(ck, good, "source tables (SQL Server ignores case)", p)
        out[cat] = tuple(good)
    _case_duplicates(key, [c for c in raw if isinstance(c, str)], "categories", p)
    return out


def _case_duplicates(key: str, names: Iterable[str], what: str, p: list[str]) -> None:
    seen: dict[str, str] = {}
    for n in names:
        prev = seen.setdefault(n.lower(), n)
        if prev != n:
            p.append(
                f"{key}: {what} {prev!r} and {n!r} differ only by case; names are matched exactly, so keep one spelling"
            )


def _partition(raw: Any, p: list[str]) -> tuple[dt.date | None, dt.date | None, str]:
    key = "migration.input_partition"
    fix = 'use "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD" (inclusive)'
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):  # YAML reads an unquoted date as a date
        raw = raw.isoformat()
    if raw is None:
        p.append(f"{key}: missing; {fix}")
        return None, None, ""
    if not isinstance(raw, str):
        p.append(f"{key}: {raw!r} is not a date string; {fix}")
        return None, None, ""
    parts = raw.split("..")
    if len(parts) > 2:
        p.append(f"{key}: {raw!r} has more than one '..'; {fix}")
        return None, None, raw
    days: list[dt.date] = []
    for part in parts:
        if not _DAY.fullmatch(part):
            p.append(f"{key}: {part!r} in {raw!r} is not YYYY-MM-DD; {fix}")
            return None, None, raw
        try:
            days.append(dt.date.fromisoformat(part))
        except ValueError as e:
            p.append(f"{key}: {part!r} is not a calendar date ({e}); {fix}")
            return None, None, raw
    first, last = days[0], days[-1]
    if last < first:
        p.append(f"{key}: {raw!r} ends before it starts; write the earlier day first")
        return None, None, raw
    return first, last, raw


def _filters(migration: dict[str, Any], categories: dict[str, tuple[str, ...]], p: list[str]) -> dict[str, str]:
    tables = list(dict.fromkeys(t for ts in categories.values() for t in ts))
    out: dict[str, str] = {}
    for key, value in migration.items():
        if not isinstance(key, str) or not key.startswith(FILTER_PREFIX):
            continue
        mk = f"migration.{key}"
        table = key[len(FILTER_PREFIX) :]
        if table not in tables:
            # The published procedure applied one table's filter to another: a filter must name its table.
            hint = _case_hint(table, tables)
            known = ", ".join(tables) or "(none)"
            p.append(
                f"{mk}: table {table!r} is in no category{hint}; a filter applies only to the table it names "
                f"(tables: {known}); fix the name or remove the key"
            )
            continue
        if value is None or value == "":
            continue  # "no filter", as the procedure's parameters write it
        if not isinstance(value, str):
            p.append(f"{mk}: expected a T-SQL boolean expression as a string, got {type(value).__name__}")
            continue
        try:
            filter_columns(value)
        except ValueError as e:
            p.append(f"{mk}: {e}")
            continue
        out[table] = value
    return out


def filter_columns(expression: str) -> set[str]:
    """Column names a T-SQL filter reads from its own table (not those of subqueries).

    Raises ValueError when the text is not one boolean expression (so it cannot widen the export
    query: no second statement, no ORDER BY, no closing parenthesis escaping the WHERE).
    """
    try:
        tree = sqlglot.parse_one(f"SELECT 1 FROM t WHERE ({expression})", read="tsql")
    except sqlglot.errors.SqlglotError as e:
        first = str(e).splitlines()[0]
        raise ValueError(f"does not parse as a T-SQL boolean expression ({first}); fix the expression") from None
    extra = [k for k, v in tree.args.items() if v and k not in ("expressions", "from_", "from", "where")]
    if not isinstance(tree, exp.Select) or extra or tree.args.get("where") is None:
        raise ValueError("is not a single boolean expression (it must fit in WHERE ( … )); remove what follows it")
    where = tree.args["where"]
    cols: set[str] = set()
    for col in where.find_all(exp.Column):
        if col.find_ancestor(exp.Select) is tree:
            cols.add(col.name)
    return cols


def _runtime(
    raw: dict[str, Any],
    categories: dict[str, tuple[str, ...]],
    env: Mapping[str, str],
    base_dir: Path,
    prefix: str,
    p: list[str],
) -> Runtime | None:
    def k(name: str) -> str:  # env mode names the variable, YAML mode the key
        if prefix != "env":
            return f"{prefix}.{name}"
        names = {
            "raw_area": ENV_RAW_AREA,
            "transformed_area": ENV_TRANSFORMED_AREA,
            "target_dsn": ENV_TARGET_DSN,
            "target_dsn_env": ENV_TARGET_DSN,
            "source_user": ENV_SOURCE_USER,
            "source_password_env": ENV_SOURCE_PASSWORD,
            "source_secret": ENV_SOURCE_SECRET,
            "transforms_dir": ENV_TRANSFORMS_DIR,
            "parallelism": ENV_PARALLELISM,
            "splits_per_day": ENV_SPLITS_PER_DAY,
            "split_col": ENV_SPLIT_COL,
        }
        return f"env {names[name]}"

    n0 = len(p)
    for key in raw:
        if key not in RUNTIME_KEYS:
            p.append(f"{prefix}.{key}: unknown key; allowed keys are {', '.join(RUNTIME_KEYS)}")

    areas = {}
    for name in ("raw_area", "transformed_area"):
        areas[name] = _area(raw.get(name), k(name), base_dir, p)

    dsn: Secret | None = None
    if raw.get("target_dsn") and raw.get("target_dsn_env"):
        p.append(f"{k('target_dsn')}: give target_dsn or target_dsn_env, not both")
    elif raw.get("target_dsn"):
        dsn = Secret(str(raw["target_dsn"]))
    elif raw.get("target_dsn_env"):
        dsn = _from_env(str(raw["target_dsn_env"]), k("target_dsn_env"), "the target PostgreSQL DSN", env, p)
    else:
        how = "set it to" if prefix == "env" else "give (target_dsn_env: a variable holding)"
        p.append(f"{k('target_dsn')}: missing; {how} the target PostgreSQL DSN")

    user = raw.get("source_user")
    secret = raw.get("source_secret")
    password: Secret | None = None
    pw_env = raw.get("source_password_env")
    if secret and pw_env:
        p.append(f"{k('source_secret')}: give source_secret or source_password_env, not both")
    elif pw_env:
        password = _from_env(str(pw_env), k("source_password_env"), "the source password", env, p)
        if not user:
            p.append(f"{k('source_user')}: missing; the SQL Server login that goes with source_password_env")
    elif not secret:
        alt = f"{ENV_SOURCE_USER} + {ENV_SOURCE_PASSWORD}" if prefix == "env" else "source_user + source_password_env"
        p.append(f"{k('source_secret')}: no source credentials; give a Secrets Manager name/ARN, or {alt}")

    tdir = Path(str(raw.get("transforms_dir", DEFAULT_TRANSFORMS_DIR))).expanduser()
    if not tdir.is_absolute():
        tdir = Path(os.path.normpath(base_dir / tdir))
    if not tdir.is_dir():
        p.append(f"{k('transforms_dir')}: {tdir} is not a directory; point it at the <category>.sql files")

    parallelism = _positive_int(raw.get("parallelism", DEFAULT_PARALLELISM), k("parallelism"), 256, p)
    splits = _positive_int(raw.get("splits_per_day", DEFAULT_SPLITS_PER_DAY), k("splits_per_day"), 10_000, p)

    split_col: dict[str, str] = {}
    sc = raw.get("split_col", {}) or {}
    if not isinstance(sc, dict):
        p.append(f"{k('split_col')}: expected a mapping of category to an integer column name")
    else:
        for cat, col in sc.items():
            if cat not in categories:
                p.append(
                    f"{k('split_col')}.{cat}: no such category{_case_hint(cat, categories)}; "
                    f"categories are {', '.join(categories) or '(none)'}"
                )
            elif not isinstance(col, str) or not _IDENT.fullmatch(col):
                p.append(f"{k('split_col')}.{cat}: {col!r} is not a column name")
            else:
                split_col[cat] = col
    if len(p) > n0:
        return None
    return Runtime(
        raw_area=areas["raw_area"] or "",
        transformed_area=areas["transformed_area"] or "",
        target_dsn=dsn or Secret(""),
        source_user=str(user) if user else None,
        source_password=password,
        source_password_env=str(pw_env) if pw_env else None,
        source_secret=str(secret) if secret else None,
        transforms_dir=tdir,
        parallelism=parallelism,
        splits_per_day=splits,
        split_col=split_col,
    )


def _area(raw: Any, key: str, base_dir: Path, p: list[str]) -> str | None:
    if not raw:
        p.append(f"{key}: missing; give a local directory or s3://bucket/prefix")
        return None
    text = str(raw)
    if text.startswith("s3://"):
        if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?", text):
            p.append(f"{key}: {text!r} is not s3://bucket/prefix with a valid bucket name")
            return None
        return text.rstrip("/")
    if "://" in text:
        p.append(f"{key}: {text!r}: only local directories and s3:// are supported")
        return None
    path = Path(text).expanduser()
    return os.path.normpath(path if path.is_absolute() else (base_dir / path))


def _from_env(var: str, key: str, what: str, env: Mapping[str, str], p: list[str]) -> Secret | None:
    value = env.get(var)
    if not value:
        p.append(f"{key}: environment variable {var} (holding {what}) is not set; export it before running")
        return None
    return Secret(value)


def _positive_int(raw: Any, key: str, limit: int, p: list[str]) -> int:
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = int(raw)
        if str(value) != str(raw).strip():
            raise ValueError
    except (TypeError, ValueError):
        p.append(f"{key}: {raw!r} is not a whole number")
        return 1
    if not 1 <= value <= limit:
        p.append(f"{key}: {value} is out of range; use 1 to {limit}")
        return 1
    return value


def _case_hint(name: Any, known: Iterable[str]) -> str:
    for k in known:
        if isinstance(name, str) and k.lower() == name.lower() and k != name:
            return f" (did you mean {k!r}? names are matched exactly, case included)"
    return ""


def _unknown_category(category: str, categories: Mapping[str, Any]) -> str:
    return (
        f"server_mappings.categories: no category {category!r}{_case_hint(category, categories)}; "
        f"configured: {', '.join(categories) or '(none)'}"
    )


# ------------------------------------------------------------------------------------------ sources


Describe = Callable[[str, str, str], "list[str] | None"]


def validate_against_sources(config: MigrationConfig, describe: Describe) -> dict[str, tuple[str, ...]]:
    """Check the configuration against every source before any data moves.

    describe(server, database, table) returns the column names of dbo.<table> on that server and
    database, or None when the table does not exist; it connects, so it may raise (server down,
    login failed, database missing): that becomes an error naming the server. After a failure the
    remaining tables of that server x database are skipped (one error, not one per table).

    Returns, per source table, the columns it has on every server x database (in first-seen order);
    raises InvalidConfig listing every problem.
    """
    p: list[str] = []
    owners: dict[str, list[str]] = {}
    for cat, tables in config.categories.items():
        for t in tables:
            owners.setdefault(t, []).append(cat)
    common: dict[str, list[str]] = {}
    date_col = config.partition_col_date
    for server, host_port in config.servers.items():
        for database in config.databases.get(server, ()):
            where = f"server {server} ({host_port}), database {database}"
            for table in config.source_tables:
                try:
                    cols = describe(server, database, table)
                except Exception as e:
                    p.append(
                        f"server_mappings.server_mappings.{server}: cannot read dbo.{table} on {where}: "
                        f"{type(e).__name__}: {e}; check that the server answers at {host_port}, the database "
                        "exists and the login may read it"
                    )
                    break
                cat_keys = ", ".join(f"server_mappings.categories.{c}" for c in owners[table])
                if cols is None:
                    p.append(
                        f"{cat_keys}: source table dbo.{table} does not exist on {where}; "
                        "fix the table name or create the table"
                    )
                    continue
                cols = list(cols)
                common[table] = [c for c in common[table] if c in cols] if table in common else cols
                if date_col not in cols:
                    p.append(
                        f"migration.partition_col_date: column {date_col!r} is missing from dbo.{table} on "
                        f"{where}{_case_hint(date_col, cols)}; name a column every source table has"
                    )
                flt = config.source_filter(table)
                if flt:
                    for col in sorted(filter_columns(flt) - set(cols)):
                        p.append(
                            f"migration.{FILTER_PREFIX}{table}: the filter reads column {col!r}, which dbo.{table} "
                            f"lacks on {where}{_case_hint(col, cols)}; fix the filter"
                        )
                for cat in owners[table]:
                    split = config.split_col_override(cat)
                    if split and split not in cols:
                        p.append(
                            f"runtime.split_col.{cat}: column {split!r} is missing from dbo.{table} on {where}"
                            f"{_case_hint(split, cols)}; the split column must be in every source table"
                        )
    if p:
        raise InvalidConfig(config.origin, p)
    return {t: tuple(cols) for t, cols in common.items()}


def _read_source_secret(secret_id: str, user: str | None, aws: AwsConfig | None) -> SourceCredentials:
    sm = client("secretsmanager", aws)
    try:
        value = sm.get_secret_value(SecretId=secret_id)["SecretString"]
    except Exception as e:
        raise ConfigError(
            f"runtime.source_secret: cannot read secret {secret_id}: {type(e).__name__}; "
            "check the name/ARN, region and permissions"
        ) from None
    try:
        data = json.loads(value)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        login = user or data.get("username")
        password = data.get("password")
    else:
        login, password = user, value
    if not login or not password:
        raise ConfigError(
            f"runtime.source_secret: secret {secret_id} lacks a username/password; store "
            '{"username": ..., "password": ...} or set source_user and store the password alone'
        )
    return SourceCredentials(str(login), Secret(str(password)))


# ------------------------------------------------------------------------------------------ parsing helpers


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"key {key!r} appears twice")
        out[key] = value
    return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice; keep one", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# Unquoted dates stay text, so input_partition gets the same strict check as in JSON (PyYAML would
# raise a bare ValueError for 2024-02-30 and turn 2024-01-01 into a date).
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))
