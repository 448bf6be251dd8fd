"""The plan of a category: its chunks, one per server x database x day x split-column range.

Splitting a day by ranges of an integer key column lets several readers share one day (the published
procedure read each day with one query). The outer ranges are open-ended, so rows outside the sampled
bounds (late arrivals, a sample taken before the last insert) still belong to exactly one chunk.
The plan is frozen in the checkpoints at the first run; a resume reuses the saved plan instead of
re-sampling bounds that may have moved.
"""

from __future__ import annotations

from collections.abc import Callable

from dbshift.datamove.config import MigrationConfig
from dbshift.datamove.model import Category, Chunk
from dbshift.errors import DbshiftError

# (server, database) -> (min, max) of the split column over the whole input_partition, or None (no rows).
Bounds = Callable[[str, str], "tuple[int, int] | None"]


def split_points(lo: int, hi: int, parts: int) -> list[int]:
    """Interior boundaries cutting [lo, hi] into at most `parts` equal-width, non-empty integer ranges."""
    span = hi - lo + 1
    points = sorted({lo + (i * span) // parts for i in range(1, parts)})
    return [b for b in points if lo < b <= hi]


def make_plan(config: MigrationConfig, category: Category, bounds: Bounds) -> list[Chunk]:
    """Every chunk of `category`, ordered by server, database, day, part (names sorted, so equal
    configurations give equal plans whatever order their mappings were written in)."""
    chunks: list[Chunk] = []
    for server in sorted(config.servers):
        for database in sorted(config.databases.get(server, ())):
            b = bounds(server, database)
            if b is None:
                edges: list[int] = []
            else:
                lo, hi = int(b[0]), int(b[1])
                if lo > hi:
                    raise DbshiftError(
                        f"category {category.name}: bounds of {category.split_col} on {server}/{database} are "
                        f"({lo}, {hi}), min above max; the bounds query must return (min, max)"
                    )
                edges = split_points(lo, hi, config.runtime.splits_per_day)
            ranges = list(zip([None, *edges], [*edges, None], strict=True))
            for day in config.days:
                for part, (split_lo, split_hi) in enumerate(ranges):
                    chunks.append(Chunk(category.name, server, database, day, part, split_lo, split_hi))
    return chunks
