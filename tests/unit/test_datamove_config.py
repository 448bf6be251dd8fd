"""Migration configuration: YAML and Parameter Store give one config; every bad input gets its own message."""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from dbshift.aws import AwsConfig, client
from dbshift.datamove.config import (
    ENV_PARALLELISM,
    ENV_RAW_AREA,
    ENV_SOURCE_PASSWORD,
    ENV_SOURCE_SECRET,
    ENV_SOURCE_USER,
    ENV_SPLIT_COL,
    ENV_SPLITS_PER_DAY,
    ENV_TARGET_DSN,
    ENV_TRANSFORMED_AREA,
    InvalidConfig,
    MigrationConfig,
    Runtime,
    Secret,
    filter_columns,
    load_from_ssm,
    load_from_yaml,
    validate_against_sources,
)
from dbshift.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "migration"
DSN = "postgresql://dbshift:pg-S3cret-value@127.0.0.1:5432/dbshift"
SRC_PASSWORD = "src-P4ssword-value"

MIGRATION: dict[str, Any] = {
    "job_mode": "resume",
    "log_level": "info",
    "input_partition": "2024-01-30..2024-02-02",
    "partition_col_date": "measured_at",
    "source_filter_cell_performance_data": "site_code LIKE N'A%' AND cell_id > 10",
    "source_filter_ue_statistics_data": "",
}
MAPPINGS: dict[str, Any] = {
    "server_mappings": {"src1": "10.0.0.5:1433", "src2": "db-2.example.com:14330"},
    "databases": ["NetPerf01", "NetPerf02"],
    "categories": {"cell_perf_stats": ["cell_performance_data", "ue_statistics_data"]},
}


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {
        ENV_RAW_AREA: str(tmp_path / "raw"),
        ENV_TRANSFORMED_AREA: "s3://dbshift-transformed/run1",
        ENV_TARGET_DSN: DSN,
        ENV_SOURCE_USER: "reader",
        ENV_SOURCE_PASSWORD: SRC_PASSWORD,
    }
    return {**base, **extra}


def write_yaml(tmp_path: Path, migration: Any, mappings: Any, runtime: Any = None, **top: Any) -> Path:
    doc: dict[str, Any] = {"migration": migration, "server_mappings": mappings, **top}
    if runtime is not None:
        doc["runtime"] = runtime
    path = tmp_path / f"cfg-{uuid.uuid4().hex[:8]}.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def load(tmp_path: Path, migration: Any = None, mappings: Any = None, runtime: Any = None, **envx: str):
    m = copy.deepcopy(MIGRATION if migration is None else migration)
    s = copy.deepcopy(MAPPINGS if mappings is None else mappings)
    return load_from_yaml(write_yaml(tmp_path, m, s, runtime), environ=env(tmp_path, **envx))


def problems(tmp_path: Path, **kw: Any) -> list[str]:
    with pytest.raises(InvalidConfig) as ei:
        load(tmp_path, **kw)
    assert isinstance(ei.value, ConfigError)
    return ei.value.problems


def with_migration(**changes: Any) -> dict[str, Any]:
    m = copy.deepcopy(MIGRATION)
    for k, v in changes.items():
        if v is ...:
            m.pop(k, None)
        else:
            m[k] = v
    return m


def with_mappings(**changes: Any) -> dict[str, Any]:
    m = copy.deepcopy(MAPPINGS)
    for k, v in changes.items():
        if v is ...:
            m.pop(k, None)
        else:
            m[k] = v
    return m


# ------------------------------------------------------------------------------------------ a good config


def test_good_yaml_config_is_read_exactly(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    assert cfg.job_mode == "resume"
    assert cfg.log_level == "INFO"
    assert [d.isoformat() for d in cfg.days] == ["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"]
    assert cfg.servers == {"src1": "10.0.0.5:1433", "src2": "db-2.example.com:14330"}
    assert cfg.databases == {"src1": ("NetPerf01", "NetPerf02"), "src2": ("NetPerf01", "NetPerf02")}
    assert cfg.categories == {"cell_perf_stats": ("cell_performance_data", "ue_statistics_data")}
    # Each table gets its own filter, never another table's; an empty filter means none.
    assert cfg.source_filter("cell_performance_data") == MIGRATION["source_filter_cell_performance_data"]
    assert cfg.source_filter("ue_statistics_data") is None
    assert cfg.runtime.raw_area == str(tmp_path / "raw")
    assert cfg.runtime.transformed_area == "s3://dbshift-transformed/run1"
    assert cfg.runtime.target_dsn.reveal() == DSN
    creds = cfg.runtime.source_credentials()
    assert (creds.user, creds.password.reveal()) == ("reader", SRC_PASSWORD)
    assert cfg.runtime.parallelism == 2 and cfg.runtime.splits_per_day == 4
    assert (cfg.runtime.transforms_dir / "..").resolve().name == "datamove"


def test_single_day_partition_and_unquoted_yaml_date(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    text = yaml.safe_dump({"migration": MIGRATION, "server_mappings": MAPPINGS})
    path.write_text(text.replace("input_partition: 2024-01-30..2024-02-02", "input_partition: 2024-02-29"))
    cfg = load_from_yaml(path, environ=env(tmp_path))
    assert [d.isoformat() for d in cfg.days] == ["2024-02-29"]


def test_unquoted_yaml_dates_are_checked_as_text(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    text = yaml.safe_dump({"migration": MIGRATION, "server_mappings": MAPPINGS})
    path.write_text(text.replace("input_partition: 2024-01-30..2024-02-02", "input_partition: 2023-02-29"))
    with pytest.raises(InvalidConfig, match=r"migration.input_partition: '2023-02-29' is not a calendar date"):
        load_from_yaml(path, environ=env(tmp_path))


def test_runtime_section_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "sqldir").mkdir()
    runtime = {
        "raw_area": "data/raw",
        "transformed_area": "s3://bucket-x/t/",
        "target_dsn_env": "MY_DSN",
        "source_user": "u",
        "source_password_env": "MY_PW",
        "transforms_dir": "sqldir",
        "parallelism": 6,
        "splits_per_day": 3,
        "split_col": {"cell_perf_stats": "cell_id"},
    }
    path = write_yaml(tmp_path, MIGRATION, MAPPINGS, runtime)
    cfg = load_from_yaml(path, environ={"MY_DSN": DSN, "MY_PW": "pw"})
    assert cfg.runtime.raw_area == str(tmp_path / "data" / "raw")
    assert cfg.runtime.transformed_area == "s3://bucket-x/t"
    assert cfg.runtime.transforms_dir == tmp_path / "sqldir"
    assert (cfg.runtime.parallelism, cfg.runtime.splits_per_day) == (6, 3)
    assert cfg.split_col_override("cell_perf_stats") == "cell_id"
    assert cfg.runtime.source_password == Secret("pw")


def test_per_server_databases(tmp_path: Path) -> None:
    cfg = load(tmp_path, mappings=with_mappings(databases={"src1": ["A1"], "src2": ["B1", "B2"]}))
    assert cfg.databases == {"src1": ("A1",), "src2": ("B1", "B2")}


def test_category_case_is_kept_and_lookup_is_exact(tmp_path: Path) -> None:
    tables = ["cell_performance_data", "ue_statistics_data"]
    cfg = load(tmp_path, mappings=with_mappings(categories={"Cell_Perf_Stats": tables}))
    assert list(cfg.categories) == ["Cell_Perf_Stats"]
    assert cfg.category_tables("Cell_Perf_Stats") == tuple(tables)
    with pytest.raises(ConfigError, match=r"no category 'cell_perf_stats' \(did you mean 'Cell_Perf_Stats'"):
        cfg.category_tables("cell_perf_stats")


# ------------------------------------------------------------------------------------------ secrets


def test_passwords_never_show_in_repr_str_or_errors(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    for text in (repr(cfg), str(cfg), repr(cfg.runtime), repr(cfg.runtime.source_credentials())):
        assert SRC_PASSWORD not in text
        assert "pg-S3cret-value" not in text
    assert "***" in repr(cfg.runtime)
    # An error elsewhere in the config does not echo the secrets either.
    with pytest.raises(InvalidConfig) as ei:
        load(tmp_path, migration=with_migration(job_mode="again"))
    assert SRC_PASSWORD not in str(ei.value) and "pg-S3cret-value" not in str(ei.value)


# ------------------------------------------------------------------------------------------ bad inputs

BAD_MIGRATION = [
    ({"job_mode": "restart"}, "migration.job_mode: 'restart' is not allowed; use 'fresh'"),
    ({"job_mode": "Resume"}, "migration.job_mode: 'Resume' is not allowed"),
    ({"job_mode": ...}, "migration.job_mode: missing"),
    ({"log_level": "LOUD"}, "migration.log_level: 'LOUD' is not a level"),
    ({"input_partition": ...}, "migration.input_partition: missing"),
    ({"input_partition": "2024-1-05"}, "migration.input_partition: '2024-1-05' in '2024-1-05' is not YYYY-MM-DD"),
    ({"input_partition": "2024-02-30"}, "migration.input_partition: '2024-02-30' is not a calendar date"),
    ({"input_partition": "2023-02-29"}, "migration.input_partition: '2023-02-29' is not a calendar date"),
    ({"input_partition": "2024-01-05..2024-01-01"}, "ends before it starts; write the earlier day first"),
    ({"input_partition": "2024-01-01.."}, "migration.input_partition: '' in '2024-01-01..' is not YYYY-MM-DD"),
    ({"input_partition": "2024-01-01...2024-01-03"}, "'.2024-01-03' in '2024-01-01...2024-01-03' is not YYYY-MM-DD"),
    ({"input_partition": "2024-01-01..2024-01-02..2024-01-03"}, "has more than one '..'"),
    ({"input_partition": " 2024-01-01"}, "' 2024-01-01' in ' 2024-01-01' is not YYYY-MM-DD"),
    ({"input_partition": 20240101}, "migration.input_partition: 20240101 is not a date string"),
    ({"partition_col_date": ...}, "migration.partition_col_date: missing"),
    ({"partition_col_date": "measured at"}, "migration.partition_col_date: 'measured at' is not a column name"),
    (
        {"source_filter_cell_performance": "cell_id > 1"},
        "migration.source_filter_cell_performance: table 'cell_performance' is in no category",
    ),
    (
        {"source_filter_Cell_Performance_Data": "cell_id > 1"},
        "table 'Cell_Performance_Data' is in no category (did you mean 'cell_performance_data'?",
    ),
    (
        {"source_filter_ue_statistics_data": "active_ues >"},
        "migration.source_filter_ue_statistics_data: does not parse as a T-SQL boolean expression",
    ),
    (
        {"source_filter_ue_statistics_data": "1=1); DELETE FROM dbo.ue_statistics_data; --"},
        "migration.source_filter_ue_statistics_data: is not a single boolean expression",
    ),
    (
        {"source_filter_ue_statistics_data": "1=1) UNION SELECT 1 FROM t WHERE (1=1"},
        "migration.source_filter_ue_statistics_data: is not a single boolean expression",
    ),
    ({"source_filter_ue_statistics_data": 5}, "migration.source_filter_ue_statistics_data: expected a T-SQL boolean"),
    ({"job_mdoe": "fresh"}, "migration.job_mdoe: unknown key"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_MIGRATION, ids=[m for _, m in BAD_MIGRATION])
def test_bad_migration_setting_is_named(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    found = problems(tmp_path, migration=with_migration(**changes))
    assert any(message in p for p in found), found
    assert len(found) == 1, found


BAD_MAPPINGS = [
    ({"server_mappings": ...}, "server_mappings.server_mappings: missing"),
    ({"server_mappings": {}}, "server_mappings.server_mappings: expected a non-empty mapping"),
    (
        {"server_mappings": {"src1": "10.0.0.5"}},
        "server_mappings.server_mappings.src1: '10.0.0.5' is not \"host:port\"",
    ),
    ({"server_mappings": {"src1": "10.0.0.5:0"}}, "server_mappings.server_mappings.src1: '10.0.0.5:0': port '0' must"),
    ({"server_mappings": {"src1": "h:65536"}}, "server_mappings.server_mappings.src1: 'h:65536': port '65536' must"),
    ({"server_mappings": {"src1": "h:14x"}}, "port '14x' must be a number from 1 to 65535"),
    ({"server_mappings": {"src1": ":1433"}}, "server_mappings.server_mappings.src1: ':1433' is not \"host:port\""),
    ({"server_mappings": {"src1": "bad host:1433"}}, "'bad host' is not a host name or IP address"),
    ({"server_mappings": {"src1": 1433}}, 'server_mappings.server_mappings.src1: 1433 is not a "host:port" string'),
    ({"server_mappings": {"src 1": "h:1"}}, "server_mappings.server_mappings.src 1: server name must be"),
    ({"server_mappings": {"SRC": "h:1", "src": "h:2"}}, "server names 'SRC' and 'src' differ only by case"),
    ({"databases": ...}, "server_mappings.databases: missing"),
    ({"databases": []}, "server_mappings.databases: empty; list at least one database"),
    ({"databases": ["NetPerf01", "Net-Perf"]}, "server_mappings.databases[1]: 'Net-Perf' is not a database name"),
    ({"databases": ["A", "A"]}, "server_mappings.databases[1]: 'A' is listed twice"),
    ({"databases": ["Ab", "AB"]}, "database names (SQL Server ignores case) 'Ab' and 'AB' differ only by case"),
    ({"databases": "NetPerf01"}, "server_mappings.databases: expected a list of database names"),
    (
        {"databases": {"src1": ["A"], "src3": ["B"]}},
        "server_mappings.databases.src3: unknown server; it must be a key of server_mappings.server_mappings",
    ),
    ({"databases": {"src1": ["A"]}}, "server_mappings.databases: server src2 has no databases"),
    ({"categories": ...}, "server_mappings.categories: missing"),
    ({"categories": {}}, "server_mappings.categories: expected a non-empty mapping"),
    ({"categories": {"cell_perf_stats": []}}, "server_mappings.categories.cell_perf_stats: empty or not a list"),
    ({"categories": {"cell_perf_stats": "t1"}}, "server_mappings.categories.cell_perf_stats: empty or not a list"),
    (
        {"categories": {"cell_perf_stats": ["cell_performance_data", "ue_statistics_data"], "Cell_Perf_Stats": ["x"]}},
        "server_mappings.categories: categories 'cell_perf_stats' and 'Cell_Perf_Stats' differ only by case",
    ),
    ({"categories": {"c": ["t", "dbo.t2"]}}, "server_mappings.categories.c[1]: 'dbo.t2' is not a table name"),
    ({"categories": {"c": ["t", "t"]}}, "server_mappings.categories.c[1]: 't' is listed twice"),
    ({"categories": {"c" * 44: ["t"]}}, f"server_mappings.categories.{'c' * 44}: name is 44 characters; at most 43"),
    ({"extra": 1}, "server_mappings.extra: unknown key"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_MAPPINGS, ids=[m for _, m in BAD_MAPPINGS])
def test_bad_server_mapping_is_named(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    mig = MIGRATION
    if "categories" in changes:  # filters must name a table of the categories
        mig = {k: v for k, v in MIGRATION.items() if not k.startswith("source_filter_")}
    found = problems(tmp_path, migration=mig, mappings=with_mappings(**changes))
    assert any(message in p for p in found), found


BAD_RUNTIME = [
    ({"target_dsn_env": "NOPE_DSN"}, "runtime.target_dsn_env: environment variable NOPE_DSN"),
    ({"target_dsn": DSN}, "runtime.target_dsn: give target_dsn or target_dsn_env, not both"),
    ({"target_dsn_env": ...}, "runtime.target_dsn: missing"),
    ({"raw_area": ...}, "runtime.raw_area: missing; give a local directory or s3://bucket/prefix"),
    ({"raw_area": "s3://Bad_Bucket/x"}, "runtime.raw_area: 's3://Bad_Bucket/x' is not s3://bucket/prefix"),
    ({"transformed_area": "gs://b/x"}, "runtime.transformed_area: 'gs://b/x': only local directories and s3://"),
    ({"source_password_env": "NOPE_PW"}, "runtime.source_password_env: environment variable NOPE_PW"),
    ({"source_password_env": ..., "source_user": ...}, "runtime.source_secret: no source credentials"),
    ({"source_user": ...}, "runtime.source_user: missing; the SQL Server login"),
    ({"source_secret": "arn:x"}, "runtime.source_secret: give source_secret or source_password_env, not both"),
    ({"parallelism": 0}, "runtime.parallelism: 0 is out of range; use 1 to 256"),
    ({"parallelism": "two"}, "runtime.parallelism: 'two' is not a whole number"),
    ({"splits_per_day": 2.5}, "runtime.splits_per_day: 2.5 is not a whole number"),
    ({"transforms_dir": "/nonexistent/sql"}, "runtime.transforms_dir: /nonexistent/sql is not a directory"),
    ({"split_col": {"CELL_PERF_STATS": "cell_id"}}, "runtime.split_col.CELL_PERF_STATS: no such category (did you"),
    ({"split_col": {"cell_perf_stats": "cell id"}}, "runtime.split_col.cell_perf_stats: 'cell id' is not a column"),
    ({"colour": "blue"}, "runtime.colour: unknown key"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_RUNTIME, ids=[m for _, m in BAD_RUNTIME])
def test_bad_runtime_setting_is_named(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    runtime: dict[str, Any] = {
        "raw_area": "raw",
        "transformed_area": "out",
        "target_dsn_env": "T_DSN",
        "source_user": "u",
        "source_password_env": "T_PW",
    }
    for k, v in changes.items():
        if v is ...:
            runtime.pop(k)
        else:
            runtime[k] = v
    path = write_yaml(tmp_path, MIGRATION, MAPPINGS, runtime)
    with pytest.raises(InvalidConfig) as ei:
        load_from_yaml(path, environ={"T_DSN": DSN, "T_PW": "pw"})
    assert any(message in p for p in ei.value.problems), ei.value.problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        migration=with_migration(job_mode="now", input_partition="2024-13-01"),
        mappings=with_mappings(server_mappings={"src1": "h"}, databases=[]),
    )
    keys = sorted(p.split(":")[0] for p in found)
    assert keys == [
        "migration.input_partition",
        "migration.job_mode",
        "server_mappings.databases",
        "server_mappings.server_mappings.src1",
    ]


def test_yaml_file_level_errors(tmp_path: Path) -> None:
    dup = tmp_path / "dup.yml"
    dup.write_text("migration:\n  job_mode: fresh\n  job_mode: resume\nserver_mappings: {}\n")
    with pytest.raises(InvalidConfig, match="key 'job_mode' appears twice"):
        load_from_yaml(dup, environ={})
    missing = tmp_path / "m.yml"
    missing.write_text("migration: {}\nservers: {}\n")
    with pytest.raises(InvalidConfig) as ei:
        load_from_yaml(missing, environ={})
    text = str(ei.value)
    assert "servers: unknown top-level key" in text and "server_mappings: missing; add the section" in text
    with pytest.raises(ConfigError, match=r"cannot read migration config .*nothere.yml"):
        load_from_yaml(tmp_path / "nothere.yml")


def test_without_runtime_section_the_environment_is_read(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, MIGRATION, MAPPINGS)
    extra = {ENV_PARALLELISM: "5", ENV_SPLITS_PER_DAY: "8", ENV_SPLIT_COL: "cell_perf_stats=cell_id"}
    cfg = load_from_yaml(path, environ=env(tmp_path, **extra))
    assert (cfg.runtime.parallelism, cfg.runtime.splits_per_day) == (5, 8)
    assert cfg.runtime.split_col == {"cell_perf_stats": "cell_id"}
    with pytest.raises(InvalidConfig) as ei:
        load_from_yaml(path, environ={ENV_PARALLELISM: "-1"})
    text = str(ei.value)
    for var in (ENV_RAW_AREA, ENV_TRANSFORMED_AREA, ENV_TARGET_DSN, ENV_SOURCE_SECRET, ENV_PARALLELISM):
        assert f"env {var}:" in text


# ------------------------------------------------------------------------------------------ digest


def test_digest_tracks_only_data_defining_settings(tmp_path: Path) -> None:
    base = load(tmp_path).digest()
    same = [
        load(tmp_path, migration=with_migration(job_mode="fresh", log_level="DEBUG")),
        load(tmp_path, mappings=with_mappings(server_mappings={"src2": "other:1", "src1": "moved:2"})),
        load(tmp_path, **{ENV_RAW_AREA: str(tmp_path / "elsewhere")}),
    ]
    for cfg in same:
        assert cfg.digest() == base
    changed = [
        load(tmp_path, migration=with_migration(input_partition="2024-01-30..2024-02-03")),
        load(tmp_path, migration=with_migration(partition_col_date="created_at")),
        load(tmp_path, migration=with_migration(source_filter_ue_statistics_data="active_ues > 0")),
        load(tmp_path, mappings=with_mappings(databases=["NetPerf01"])),
        load(tmp_path, **{ENV_SPLITS_PER_DAY: "3"}),
    ]
    digests = {cfg.digest() for cfg in changed}
    assert base not in digests and len(digests) == len(changed)


def test_category_digest_ignores_other_categories(tmp_path: Path) -> None:
    cats = {"a": ["t1"], "b": ["t2"]}
    m0 = {k: v for k, v in MIGRATION.items() if not k.startswith("source_filter_")}
    one = load(tmp_path, migration=m0, mappings=with_mappings(categories=cats))
    two = load(tmp_path, migration={**m0, "source_filter_t2": "x = 1"}, mappings=with_mappings(categories=cats))
    assert one.digest("a") == two.digest("a")
    assert one.digest("b") != two.digest("b")
    assert one.digest() != two.digest()


# ------------------------------------------------------------------------------------------ SSM


def put(ssm: Any, name: str, value: Any, kind: str) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    ssm.put_parameter(Name=name, Value=text, Type=kind, Overwrite=True)


def test_ssm_and_yaml_give_the_same_config(tmp_path: Path, aws_endpoint_url: str) -> None:
    aws = AwsConfig(endpoint_url=aws_endpoint_url)
    ssm = client("ssm", aws)
    prefix = f"/dbshift-test/{uuid.uuid4().hex[:8]}"
    put(ssm, f"{prefix}/migration", MIGRATION, "SecureString")
    put(ssm, f"{prefix}/server_mappings", MAPPINGS, "String")
    environ = env(tmp_path)
    from_ssm = load_from_ssm(f"{prefix}/migration", f"{prefix}/server_mappings", aws, environ=environ)
    from_yaml = load_from_yaml(write_yaml(tmp_path, MIGRATION, MAPPINGS), environ=environ)
    assert from_ssm.origin.startswith("ssm ") and from_yaml.origin.startswith("file ")
    assert dataclasses.replace(from_ssm, origin="") == dataclasses.replace(from_yaml, origin="")
    assert from_ssm.digest() == from_yaml.digest()


def test_ssm_errors_name_the_parameter(tmp_path: Path, aws_endpoint_url: str) -> None:
    aws = AwsConfig(endpoint_url=aws_endpoint_url)
    ssm = client("ssm", aws)
    prefix = f"/dbshift-test/{uuid.uuid4().hex[:8]}"
    put(ssm, f"{prefix}/migration", '{"job_mode": "fresh", "job_mode": "resume"}', "SecureString")
    with pytest.raises(InvalidConfig) as ei:
        load_from_ssm(f"{prefix}/migration", f"{prefix}/absent", aws, environ=env(tmp_path))
    text = str(ei.value)
    assert f"migration: parameter {prefix}/migration is not valid JSON (key 'job_mode' appears twice)" in text
    assert f"server_mappings: SSM parameter {prefix}/absent does not exist" in text
    # Valid JSON, invalid content: the same key paths as a YAML file.
    put(ssm, f"{prefix}/migration", with_migration(input_partition="2024-02-30"), "String")
    put(ssm, f"{prefix}/mappings", with_mappings(categories={"cell_perf_stats": []}), "String")
    with pytest.raises(InvalidConfig) as ei:
        load_from_ssm(f"{prefix}/migration", f"{prefix}/mappings", aws, environ=env(tmp_path))
    assert any(p.startswith("migration.input_partition: '2024-02-30'") for p in ei.value.problems)
    assert any(p.startswith("server_mappings.categories.cell_perf_stats: empty") for p in ei.value.problems)


def test_source_credentials_from_secrets_manager(tmp_path: Path, aws_endpoint_url: str) -> None:
    aws = AwsConfig(endpoint_url=aws_endpoint_url)
    sm = client("secretsmanager", aws)
    name = f"dbshift-test/src-{uuid.uuid4().hex[:8]}"
    sm.create_secret(Name=name, SecretString=json.dumps({"username": "migrator", "password": SRC_PASSWORD}))
    plain = name + "-plain"
    sm.create_secret(Name=plain, SecretString="only-a-password")
    environ = {k: v for k, v in env(tmp_path).items() if k not in (ENV_SOURCE_USER, ENV_SOURCE_PASSWORD)}
    cfg = load_from_yaml(write_yaml(tmp_path, MIGRATION, MAPPINGS), environ={**environ, ENV_SOURCE_SECRET: name})
    creds = cfg.runtime.source_credentials(aws)
    assert (creds.user, creds.password.reveal()) == ("migrator", SRC_PASSWORD)
    assert SRC_PASSWORD not in repr(creds)
    rt = dataclasses.replace(cfg.runtime, source_secret=plain, source_user="reader")
    assert rt.source_credentials(aws).password.reveal() == "only-a-password"
    with pytest.raises(ConfigError, match=r"secret .*-plain lacks a username/password"):
        dataclasses.replace(rt, source_user=None).source_credentials(aws)
    with pytest.raises(ConfigError, match=r"runtime.source_secret: cannot read secret nope-\w+"):
        dataclasses.replace(rt, source_secret=f"nope-{uuid.uuid4().hex[:6]}").source_credentials(aws)


# ------------------------------------------------------------------------------------------ sources

COLUMNS = {
    "cell_performance_data": ["cell_id", "measured_at", "site_code", "throughput_mbps", "latency_ms", "dropped_calls"],
    "ue_statistics_data": ["cell_id", "measured_at", "active_ues", "avg_cqi", "handover_failures"],
}


def describer(tables: dict[tuple[str, str], dict[str, list[str]]], down: set[str] = frozenset()):  # type: ignore[assignment]
    """The caller's describe(): here a fixed catalog per server/database; `down` servers raise."""
    calls: list[tuple[str, str, str]] = []

    def describe(server: str, database: str, table: str) -> list[str] | None:
        calls.append((server, database, table))
        if server in down:
            raise ConnectionRefusedError(f"[Errno 111] Connection refused ({server})")
        return tables.get((server, database), {}).get(table)

    return describe, calls


def estate_catalog() -> dict[tuple[str, str], dict[str, list[str]]]:
    return {(s, d): copy.deepcopy(COLUMNS) for s in ("src1", "src2") for d in ("NetPerf01", "NetPerf02")}


def test_sources_that_match_the_config_pass(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    catalog = estate_catalog()
    catalog[("src2", "NetPerf02")]["ue_statistics_data"].append("only_here")
    describe, calls = describer(catalog)
    common = validate_against_sources(cfg, describe)
    assert common == {t: tuple(c) for t, c in COLUMNS.items()}  # only_here is not on every server
    assert len(calls) == 2 * 2 * 2


def test_source_problems_are_named(tmp_path: Path) -> None:
    cfg = load(tmp_path, migration=with_migration(source_filter_ue_statistics_data="Active_UEs > 0 OR cqi IS NULL"))
    catalog = estate_catalog()
    del catalog[("src1", "NetPerf02")]["ue_statistics_data"]
    catalog[("src2", "NetPerf01")]["cell_performance_data"].remove("measured_at")
    describe, _ = describer(catalog)
    with pytest.raises(InvalidConfig) as ei:
        validate_against_sources(cfg, describe)
    found = ei.value.problems
    assert (
        "server_mappings.categories.cell_perf_stats: source table dbo.ue_statistics_data does not exist on "
        "server src1 (10.0.0.5:1433), database NetPerf02; fix the table name or create the table"
    ) in found
    assert any(
        p.startswith("migration.partition_col_date: column 'measured_at' is missing from dbo.cell_performance_data")
        and "server src2 (db-2.example.com:14330), database NetPerf01" in p
        for p in found
    ), found
    filt = [p for p in found if p.startswith("migration.source_filter_ue_statistics_data:")]
    assert any("reads column 'Active_UEs'" in p and "did you mean 'active_ues'" in p for p in filt), filt
    assert any("reads column 'cqi'" in p for p in filt), filt
    assert len(filt) == 2 * 3  # two columns x three server/databases that have the table


def test_unreachable_server_is_one_named_error_per_database(tmp_path: Path) -> None:
    cfg = load(tmp_path)
    describe, calls = describer(estate_catalog(), down={"src2"})
    with pytest.raises(InvalidConfig) as ei:
        validate_against_sources(cfg, describe)
    found = ei.value.problems
    assert len(found) == 2, found
    for p in found:
        assert p.startswith("server_mappings.server_mappings.src2: cannot read dbo.cell_performance_data")
        assert "ConnectionRefusedError" in p and "check that the server answers at db-2.example.com:14330" in p
    assert sum(1 for c in calls if c[0] == "src2") == 2  # the other table is not tried on a dead server


def test_split_col_override_must_be_in_every_source(tmp_path: Path) -> None:
    cfg = load(tmp_path, **{ENV_SPLIT_COL: "cell_perf_stats=site_code"})
    describe, _ = describer(estate_catalog())
    with pytest.raises(InvalidConfig, match=r"runtime.split_col.cell_perf_stats: column 'site_code' is missing from "):
        validate_against_sources(cfg, describe)


def test_filter_columns_ignore_subqueries() -> None:
    assert filter_columns("cell_id IN (SELECT c FROM dbo.keep WHERE flag = 1) AND [site_code] <> ''") == {
        "cell_id",
        "site_code",
    }


# ------------------------------------------------------------------------------------------ examples


def test_example_files_agree_and_load(tmp_path: Path) -> None:
    doc = yaml.safe_load((EXAMPLES / "local.yml").read_text())
    assert json.loads((EXAMPLES / "ssm" / "migration.json").read_text()) == doc["migration"]
    assert json.loads((EXAMPLES / "ssm" / "server_mappings.json").read_text()) == doc["server_mappings"]
    cfg = load_from_yaml(EXAMPLES / "local.yml", environ={ENV_TARGET_DSN: DSN, ENV_SOURCE_PASSWORD: "pw"})
    assert isinstance(cfg, MigrationConfig) and isinstance(cfg.runtime, Runtime)
    assert list(cfg.categories) == ["cell_perf_stats"]
    assert cfg.runtime.raw_area == str((REPO / ".estate" / "migration" / "raw").resolve())
