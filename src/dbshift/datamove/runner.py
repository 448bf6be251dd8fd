"""The migration engine: export → transform → import → finish → validate, per category.

Each stage is runnable alone and resumes from the checkpoints in the target PostgreSQL: a stage skips
every chunk whose checkpoint exists, so a killed run continues where it stopped, from any process.
The same engine runs locally, as the ECS Fargate task's entrypoint, and (chunk by chunk) in Glue.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import psycopg

from dbshift.aws import AwsConfig
from dbshift.datamove import checkpoints, export, finish, load, transform, validate
from dbshift.datamove.area import Area, open_area
from dbshift.datamove.config import MigrationConfig, SourceCredentials, validate_against_sources
from dbshift.datamove.model import Category, Chunk, ColumnSpec, StageRecord
from dbshift.datamove.prepare import STAGES, describe_sources, prepare_category
from dbshift.errors import DbshiftError
from dbshift.progress import Progress
from dbshift.tsql.tds import TdsConnection, connect_tds

log = logging.getLogger(__name__)


@dataclass
class StageStat:
    stage: str
    chunks_done: int = 0  # by this run
    chunks_skipped: int = 0  # already checkpointed
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0


@dataclass
class CategoryReport:
    category: str
    chunks: int
    stages: list[StageStat] = field(default_factory=list)
    validation_ok: bool | None = None
    differences: int = 0
    report_html: Path | None = None


@dataclass
class RunReport:
    categories: list[CategoryReport]

    @property
    def ok(self) -> bool:
        return all(c.validation_ok is not False for c in self.categories)


class SourcePool:
    """One TDS connection per thread per (server, database): SQL Server sessions are not thread-safe."""

    def __init__(self, config: MigrationConfig, creds: SourceCredentials) -> None:
        self.config, self.creds = config, creds
        self._local = threading.local()
        self._all: list[TdsConnection] = []
        self._lock = threading.Lock()

    def get(self, server: str, database: str) -> TdsConnection:
        conns = self._local.__dict__.setdefault("conns", {})
        key = (server, database)
        if key not in conns:
            conn = connect_tds(self.config.servers[server], self.creds.user, self.creds.password.reveal(), database)
            conns[key] = conn
            with self._lock:
                self._all.append(conn)
        return conns[key]

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(Exception):  # closing is best effort
                    conn.close()
            self._all.clear()


class Migration:
    def __init__(
        self,
        config: MigrationConfig,
        aws: AwsConfig | None = None,
        progress: TextIO | None = sys.stderr,
        report_dir: Path | None = None,
        # Test hook: called with (stage, chunk_id) after each chunk's checkpoint commits (kill tests).
        after_chunk: Callable[[str, str], None] | None = None,
    ) -> None:
        self.config, self.aws, self.progress = config, aws, progress
        self.report_dir = report_dir
        self.after_chunk = after_chunk
        self.dsn = config.runtime.target_dsn.reveal()
        self.raw: Area = open_area(config.runtime.raw_area, aws)
        self.transformed: Area = open_area(config.runtime.transformed_area, aws)
        self._sources: SourcePool | None = None
        self._source_columns: dict[str, tuple[str, ...]] | None = None

    # --- sources -----------------------------------------------------------------------------------

    @property
    def sources(self) -> SourcePool:
        if self._sources is None:
            self._sources = SourcePool(self.config, self.config.runtime.source_credentials(self.aws))
        return self._sources

    def check_sources(self) -> dict[str, tuple[str, ...]]:
        """Validate the configuration against every source (before any data moves)."""
        if self._source_columns is None:
            self._source_columns = validate_against_sources(self.config, describe_sources(self.sources.get))
        return self._source_columns

    # --- the run -----------------------------------------------------------------------------------

    def run(self, stages: Sequence[str] = STAGES) -> RunReport:
        unknown = [s for s in stages if s not in STAGES]
        if unknown:
            raise DbshiftError(f"unknown stage(s) {', '.join(unknown)}: use {', '.join(STAGES)} or all")
        ordered = [s for s in STAGES if s in stages]
        source_columns = self.check_sources()
        reports = []
        try:
            for name in self.config.categories:
                reports.append(self._run_category(name, ordered, source_columns))
        finally:
            if self._sources is not None:
                self._sources.close()
        return RunReport(reports)

    @contextmanager
    def _target(self) -> Iterator[psycopg.Connection]:
        conn = psycopg.connect(self.dsn)
        try:
            yield conn
        finally:
            conn.close()

    def _run_category(self, name: str, stages: list[str], source_columns: dict[str, tuple[str, ...]]) -> CategoryReport:
        cfg = self.config
        with self._target() as conn:
            category, chunks = prepare_category(conn, cfg, name, source_columns, self.sources.get, stages[0])
            run_id = checkpoints.start_run(conn, name, cfg.job_mode, cfg.digest(name))
            conn.commit()
        report = CategoryReport(name, len(chunks))
        status = "failed"
        try:
            for stage in stages:
                self._say(f"{name} {stage}: begin ({len(chunks)} chunks planned)")
                report.stages.append(getattr(self, f"_stage_{stage}")(category, chunks, report))
            status = "completed"
        finally:
            with self._target() as conn:
                checkpoints.finish_run(conn, run_id, status)
                conn.commit()
        return report

    def _say(self, line: str) -> None:
        if self.progress is not None:
            self.progress.write(line + "\n")
            self.progress.flush()

    # --- stages ------------------------------------------------------------------------------------

    def _parallel(
        self,
        label: str,
        stage_key: str,
        category: Category,
        todo: list[Chunk],
        work: Callable[[Chunk, Progress], StageRecord],
        streams_rows: bool = False,
    ) -> StageStat:
        """Run `work` per chunk on `parallelism` threads; each result is checkpointed when it returns.

        streams_rows: `work` reports rows/bytes to the bar as it reads them (else counted per chunk)."""
        stat = StageStat(label)
        with self._target() as conn:
            done = checkpoints.done_map(conn, category.name, stage_key)
        pending = [c for c in todo if c.chunk_id not in done]
        stat.chunks_skipped = len(todo) - len(pending)
        bar = Progress(self.progress, f"{category.name} {label}", len(pending))
        start = time.monotonic()

        def one(chunk: Chunk) -> None:
            rec = work(chunk, bar)
            with self._target() as conn:
                # Files are complete and renamed before this commit: a crash before it redoes the chunk.
                checkpoints.mark_done(conn, category.name, chunk.chunk_id, stage_key, rec.rows, rec.hash, rec.bytes)
                conn.commit()
            if streams_rows:
                bar.unit_done()
            else:
                bar.unit_done(rec.rows, rec.bytes)
            if self.after_chunk:
                self.after_chunk(stage_key, chunk.chunk_id)

        with ThreadPoolExecutor(max_workers=self.config.runtime.parallelism) as pool:
            for f in [pool.submit(one, c) for c in pending]:
                f.result()
        stat.chunks_done, stat.rows, stat.bytes = bar.done_units, bar.rows, bar.bytes
        stat.seconds = time.monotonic() - start
        bar.close(note=f", {stat.chunks_skipped} already done" if stat.chunks_skipped else "")
        return stat

    def _stage_export(self, category: Category, chunks: list[Chunk], report: CategoryReport) -> StageStat:
        total = StageStat("export")
        for table in category.source_tables:
            conn0 = self.sources.get(*self._first_source())
            columns: list[ColumnSpec] = export.source_columns(conn0, table)
            flt = self.config.source_filter(table)  # this table's own filter, never another's

            def work(chunk: Chunk, bar: Progress, table: str = table, columns: list = columns, flt: Any = flt):
                conn = self.sources.get(chunk.server, chunk.database)
                return export.export_chunk(
                    conn, chunk, table, columns, flt, category.date_col, category.split_col, self.raw, bar.add
                )

            s = self._parallel(f"export {table}", f"export:{table}", category, chunks, work, streams_rows=True)
            total.chunks_done += s.chunks_done
            total.chunks_skipped += s.chunks_skipped
            total.rows += s.rows
            total.bytes += s.bytes
            total.seconds += s.seconds
        return total

    def _first_source(self) -> tuple[str, str]:
        server = next(iter(self.config.servers))
        return server, self.config.databases[server][0]

    def _stage_transform(self, category: Category, chunks: list[Chunk], report: CategoryReport) -> StageStat:
        self._require(category, chunks, [f"export:{t}" for t in category.source_tables], "transform")
        sql_text = transform.load_transform_sql(self.config.runtime.transforms_dir, category.name)

        def work(chunk: Chunk, bar: Progress) -> StageRecord:
            return transform.transform_chunk(category, chunk, sql_text, self.raw, self.transformed)

        return self._parallel("transform", "transform", category, chunks, work)

    def _stage_import(self, category: Category, chunks: list[Chunk], report: CategoryReport) -> StageStat:
        self._require(category, chunks, ["transform"], "import")
        stat = StageStat("import")
        with self._target() as conn:
            stat.chunks_skipped = len(checkpoints.done_map(conn, category.name, "import"))
        bar = Progress(self.progress, f"{category.name} import", len(chunks) - stat.chunks_skipped)
        start = time.monotonic()
        records = load.import_chunks(
            self.dsn,
            category,
            chunks,
            self.transformed,
            parallelism=self.config.runtime.parallelism,
            progress=bar,
            after_chunk=(lambda cid: self.after_chunk("import", cid)) if self.after_chunk else None,
        )
        stat.chunks_done = len(records)
        stat.rows = sum(r.rows for r in records)
        stat.bytes = sum(r.bytes for r in records)
        stat.seconds = time.monotonic() - start
        bar.close()
        return stat

    def _stage_finish(self, category: Category, chunks: list[Chunk], report: CategoryReport) -> StageStat:
        start = time.monotonic()
        with self._target() as conn:
            finish.finish(conn, category.name)
            conn.commit()
        self._say(f"{category.name} finish: stage.{category.name} -> public.{category.name} done")
        return StageStat("finish", chunks_done=1, seconds=time.monotonic() - start)

    def _stage_validate(self, category: Category, chunks: list[Chunk], report: CategoryReport) -> StageStat:
        start = time.monotonic()
        result = validate.validate(self.dsn, category, chunks, self.transformed)
        report.validation_ok = result.ok
        report.differences = len(result.differences)
        if self.report_dir is not None:
            from dbshift.datamove import report as html_report

            report.report_html = Path(
                html_report.write_report(result, self.report_dir / f"{category.name}-validation.html")
            )
        verdict = "clean" if result.ok else f"{report.differences} difference(s)"
        self._say(f"{category.name} validate: {len(chunks)} chunks, {verdict}")
        return StageStat("validate", chunks_done=len(chunks), rows=result.target_rows, seconds=time.monotonic() - start)

    def _require(self, category: Category, chunks: list[Chunk], stages: list[str], what: str) -> None:
        with self._target() as conn:
            for stage in stages:
                done = checkpoints.done_map(conn, category.name, stage)
                missing = [c.chunk_id for c in chunks if c.chunk_id not in done]
                if missing:
                    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
                    raise DbshiftError(
                        f"{category.name}: {what} needs stage {stage} done for every chunk; not yet for "
                        f"{', '.join(missing[:5])}{more}: run --stage {stage.split(':')[0]} first"
                    )


def format_report(report: RunReport) -> str:
    lines = []
    for c in report.categories:
        lines.append(f"{c.category}: {c.chunks} chunks")
        for s in c.stages:
            rate = f"{s.rows / s.seconds:,.0f} rows/s" if s.seconds > 0 and s.rows else ""
            lines.append(
                f"  {s.stage:10} {s.chunks_done:5} done {s.chunks_skipped:5} skipped {s.rows:12,} rows "
                f"{s.bytes / 1e6:9.1f} MB {s.seconds:8.1f}s {rate}"
            )
        if c.validation_ok is not None:
            lines.append(f"  validation: {'clean' if c.validation_ok else f'{c.differences} difference(s)'}")
        if c.report_html:
            lines.append(f"  report: {c.report_html}")
    return "\n".join(lines)
