"""Chunk plans (every row in exactly one chunk) and categories derived from a target catalog."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from dbshift.datamove.categories import PgColumn, derive_category, pg_kind
from dbshift.datamove.config import (
    ENV_RAW_AREA,
    ENV_SOURCE_PASSWORD,
    ENV_SOURCE_USER,
    ENV_SPLIT_COL,
    ENV_SPLITS_PER_DAY,
    ENV_TARGET_DSN,
    ENV_TRANSFORMED_AREA,
    InvalidConfig,
    MigrationConfig,
    load_from_yaml,
)
from dbshift.datamove.model import CELL_PERF_STATS, SOURCE_TABLES, Chunk, ColumnSpec
from dbshift.datamove.plan import make_plan, split_points
from dbshift.errors import DbshiftError


def config(
    tmp_path: Path, splits: int = 4, partition: str = "2024-03-30..2024-04-01", **mappings: Any
) -> MigrationConfig:
    doc = {
        "migration": {"job_mode": "fresh", "input_partition": partition, "partition_col_date": "measured_at"},
        "server_mappings": {
            "server_mappings": {"src2": "127.0.0.1:2", "src1": "127.0.0.1:1"},
            "databases": ["NetPerf02", "NetPerf01"],
            "categories": {"cell_perf_stats": ["cell_performance_data", "ue_statistics_data"]},
            **mappings,
        },
    }
    path = tmp_path / f"c{random.randrange(10**9)}.yml"
    path.write_text(yaml.safe_dump(doc))
    environ = {
        ENV_RAW_AREA: str(tmp_path),
        ENV_TRANSFORMED_AREA: str(tmp_path),
        ENV_TARGET_DSN: "postgresql://x@127.0.0.1/x",
        ENV_SOURCE_USER: "u",
        ENV_SOURCE_PASSWORD: "p",
        ENV_SPLITS_PER_DAY: str(splits),
    }
    return load_from_yaml(path, environ=environ)


def owners(chunks: list[Chunk], server: str, database: str, day: dt.date, value: int) -> list[Chunk]:
    """The chunks whose range holds `value` (what the chunk predicates select)."""
    return [
        c
        for c in chunks
        if (c.server, c.database, c.day) == (server, database, day)
        and (c.split_lo is None or value >= c.split_lo)
        and (c.split_hi is None or value < c.split_hi)
    ]


# ------------------------------------------------------------------------------------------ split points


@pytest.mark.parametrize(
    ("lo", "hi", "parts"), [(1, 100, 4), (0, 9, 3), (-50, 49, 7), (5, 7, 4), (1, 2, 10), (3, 3, 4)]
)
def test_split_points_cut_into_nonempty_equal_ranges(lo: int, hi: int, parts: int) -> None:
    points = split_points(lo, hi, parts)
    assert points == sorted(set(points))
    assert all(lo < b <= hi for b in points)
    edges = [lo, *points, hi + 1]
    widths = [b - a for a, b in itertools.pairwise(edges)]
    assert len(widths) == min(parts, hi - lo + 1)
    assert all(w >= 1 for w in widths)
    assert max(widths) - min(widths) <= 1  # equal width, up to rounding


# ------------------------------------------------------------------------------------------ plans


def test_plan_covers_every_server_database_day_and_part_in_order(tmp_path: Path) -> None:
    cfg = config(tmp_path, splits=4)
    seen: list[tuple[str, str]] = []

    def bounds(server: str, database: str) -> tuple[int, int]:
        seen.append((server, database))
        return (1, 100)

    chunks = make_plan(cfg, CELL_PERF_STATS, bounds)
    assert sorted(seen) == [(s, d) for s in ("src1", "src2") for d in ("NetPerf01", "NetPerf02")]
    assert len(seen) == 4  # bounds sampled once per server x database, not per day
    assert len(chunks) == 2 * 2 * 3 * 4
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    keys = [(c.server, c.database, c.day, c.part) for c in chunks]
    assert keys == sorted(keys)
    assert {c.day for c in chunks} == {dt.date(2024, 3, 30), dt.date(2024, 3, 31), dt.date(2024, 4, 1)}
    assert all(c.category == "cell_perf_stats" for c in chunks)
    first = [c for c in chunks if (c.server, c.database, c.day) == ("src1", "NetPerf01", dt.date(2024, 3, 30))]
    assert [(c.part, c.split_lo, c.split_hi) for c in first] == [
        (0, None, 26),
        (1, 26, 51),
        (2, 51, 76),
        (3, 76, None),
    ]


def test_every_value_lands_in_exactly_one_chunk(tmp_path: Path) -> None:
    cfg = config(tmp_path, splits=5)
    sampled = {("src1", "NetPerf01"): (-17, 1003), ("src1", "NetPerf02"): (40, 44), ("src2", "NetPerf01"): (7, 7)}
    chunks = make_plan(cfg, CELL_PERF_STATS, lambda s, d: sampled.get((s, d)))
    rng = random.Random(4)
    for (server, database), (lo, hi) in sampled.items():
        # Values far outside the sampled bounds (rows that arrived after sampling) are not lost.
        values = [lo, hi, lo - 1, hi + 1, -(10**12), 10**12] + [rng.randint(lo, hi) for _ in range(200)]
        for day in cfg.days:
            for v in values:
                assert len(owners(chunks, server, database, day, v)) == 1, (server, database, day, v)
    # No bounds (no rows sampled): one chunk per day, unbounded both ways.
    none = [c for c in chunks if (c.server, c.database) == ("src2", "NetPerf02")]
    assert [(c.part, c.split_lo, c.split_hi) for c in none] == [(0, None, None)] * 3
    single = [c for c in chunks if (c.server, c.database) == ("src2", "NetPerf01")]
    assert {(c.split_lo, c.split_hi) for c in single} == {(None, None)}


def test_one_split_per_day_is_one_unbounded_chunk(tmp_path: Path) -> None:
    chunks = make_plan(config(tmp_path, splits=1), CELL_PERF_STATS, lambda s, d: (1, 10**9))
    assert len(chunks) == 2 * 2 * 3
    assert {(c.part, c.split_lo, c.split_hi) for c in chunks} == {(0, None, None)}


def test_plan_is_deterministic_and_ignores_mapping_order(tmp_path: Path) -> None:
    a = config(tmp_path)
    b = config(
        tmp_path,
        server_mappings={"src1": "127.0.0.1:1", "src2": "127.0.0.1:2"},
        databases=["NetPerf01", "NetPerf02"],
    )
    assert make_plan(a, CELL_PERF_STATS, lambda s, d: (0, 999)) == make_plan(b, CELL_PERF_STATS, lambda s, d: (0, 999))


def test_plan_uses_only_the_configured_databases_of_each_server(tmp_path: Path) -> None:
    cfg = config(tmp_path, partition="2024-01-01", databases={"src1": ["A"], "src2": ["B", "C"]})
    chunks = make_plan(cfg, CELL_PERF_STATS, lambda s, d: None)
    assert [(c.server, c.database) for c in chunks] == [("src1", "A"), ("src2", "B"), ("src2", "C")]


def test_inverted_bounds_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(DbshiftError, match=r"bounds of cell_id on src1/NetPerf01 are \(9, 3\), min above max"):
        make_plan(config(tmp_path), CELL_PERF_STATS, lambda s, d: (9, 3))


# ------------------------------------------------------------------------------------------ categories (pure)

PG_TYPES = {"int": "integer", "float": "double precision", "text": "text", "timestamp": "timestamp without time zone"}


def sample_stage() -> list[PgColumn]:
    return [PgColumn(c.name, PG_TYPES[c.kind]) for c in CELL_PERF_STATS.data_columns]


def sample_sources() -> dict[str, list[str]]:
    return {t: [c.name for c in cols] for t, cols in SOURCE_TABLES.items()}


def test_derived_sample_category_equals_the_model(tmp_path: Path) -> None:
    final = [*sample_stage(), PgColumn("migrated_at", "timestamp with time zone")]
    cat = derive_category(
        config(tmp_path), "cell_perf_stats", sample_stage(), final, list(CELL_PERF_STATS.key), sample_sources()
    )
    assert cat == CELL_PERF_STATS


def test_split_col_is_the_first_integer_key_column_every_source_has(tmp_path: Path) -> None:
    stage = [*sample_stage(), PgColumn("site_no", "bigint")]
    key = ["server_name", "database_name", "site_no", "cell_id", "measured_at"]
    sources = sample_sources()
    sources["cell_performance_data"].append("site_no")  # only one source has it: not usable
    cat = derive_category(config(tmp_path), "cell_perf_stats", stage, stage, key, sources)
    assert cat.split_col == "cell_id"
    sources["ue_statistics_data"].append("site_no")
    cat = derive_category(config(tmp_path), "cell_perf_stats", stage, stage, key, sources)
    assert cat.split_col == "site_no"


def test_split_col_override_and_its_errors(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    over = dataclasses.replace(cfg, runtime=dataclasses.replace(cfg.runtime, split_col={"cell_perf_stats": "x"}))
    stage = [*sample_stage(), PgColumn("x", "integer")]
    sources = sample_sources()
    with pytest.raises(InvalidConfig, match=r"runtime.split_col.cell_perf_stats: 'x' is not in every source table"):
        derive_category(over, "cell_perf_stats", stage, stage, list(CELL_PERF_STATS.key), sources)
    for cols in sources.values():
        cols.append("x")
    cat = derive_category(over, "cell_perf_stats", stage, stage, list(CELL_PERF_STATS.key), sources)
    assert cat.split_col == "x"
    texty = dataclasses.replace(over, runtime=dataclasses.replace(over.runtime, split_col={"cell_perf_stats": "lbl"}))
    stage.append(PgColumn("lbl", "text"))
    for cols in sources.values():
        cols.append("lbl")
    with pytest.raises(InvalidConfig, match=r"'lbl' is text; the split column must be integer"):
        derive_category(texty, "cell_perf_stats", stage, stage, list(CELL_PERF_STATS.key), sources)


def test_no_usable_split_column_says_how_to_set_one(tmp_path: Path) -> None:
    key = ["server_name", "database_name", "measured_at"]
    with pytest.raises(InvalidConfig) as ei:
        derive_category(config(tmp_path), "cell_perf_stats", sample_stage(), sample_stage(), key, sample_sources())
    assert "runtime.split_col.cell_perf_stats: no integer key column of public.cell_perf_stats" in str(ei.value)
    assert f"{ENV_SPLIT_COL}=cell_perf_stats=<column>" in str(ei.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"stage": None},
            "table stage.cell_perf_stats does not exist in the target; apply cell_perf_stats.postgres.sql",
        ),
        ({"final": None}, "table public.cell_perf_stats does not exist in the target"),
        ({"key": []}, "public.cell_perf_stats has no primary key"),
        ({"key": ["cell_id", "measured_at"]}, "it must begin with server_name, database_name"),
        (
            {"key": ["server_name", "database_name", "nope"]},
            "key column 'nope' is not a column of stage.cell_perf_stats",
        ),
        ({"extra_stage": PgColumn("ts", "timestamp with time zone")}, "stage.cell_perf_stats.ts: timestamp with time"),
        ({"extra_stage": PgColumn("amount", "numeric")}, "stage.cell_perf_stats.amount: numeric without a scale"),
        ({"extra_stage": PgColumn("doc", "jsonb")}, "stage.cell_perf_stats.doc: type 'jsonb' is not supported"),
        ({"drop_final": "site_code"}, "public.cell_perf_stats lacks stage column 'site_code'"),
        (
            {"retype_final": ("latency_ms", "real")},
            "'latency_ms' is double precision in stage.cell_perf_stats but real",
        ),
        ({"drop_stage": "measured_at"}, "migration.partition_col_date: 'measured_at' is not a column of stage."),
    ],
)
def test_catalog_problems_are_named(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    stage: list[PgColumn] | None = sample_stage()
    final: list[PgColumn] | None = sample_stage()
    key = list(CELL_PERF_STATS.key)
    if "stage" in change:
        stage = change["stage"]
    if "final" in change:
        final = change["final"]
    if "key" in change:
        key = change["key"]
    if "extra_stage" in change:
        stage = [*stage, change["extra_stage"]]
        final = [*final, change["extra_stage"]]
    if "drop_final" in change:
        final = [c for c in final if c.name != change["drop_final"]]
    if "drop_stage" in change:
        stage = [c for c in stage if c.name != change["drop_stage"]]
    if "retype_final" in change:
        name, typ = change["retype_final"]
        final = [PgColumn(c.name, typ) if c.name == name else c for c in final]
    with pytest.raises(InvalidConfig) as ei:
        derive_category(config(tmp_path), "cell_perf_stats", stage, final, key, sample_sources())
    assert message in str(ei.value)


def test_pg_kinds() -> None:
    assert pg_kind(PgColumn("a", "numeric", 3), "t") == ColumnSpec("a", "decimal", 3)
    assert pg_kind(PgColumn("a", "character varying"), "t") == ColumnSpec("a", "text")
    assert pg_kind(PgColumn("a", "bigint"), "t") == ColumnSpec("a", "int")
    assert pg_kind(PgColumn("a", "date"), "t") == ColumnSpec("a", "date")
    assert pg_kind(PgColumn("a", "boolean"), "t") == ColumnSpec("a", "bool")
    assert pg_kind(PgColumn("a", "real"), "t") == ColumnSpec("a", "float")
