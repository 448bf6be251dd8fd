"""`dbshift convert SOURCE --out DIR [--verify-dsn DSN] [--report FILE] [--strict]`: T-SQL schema → PostgreSQL.

SOURCE is a .sql file, a folder of them, an SSDT project folder, or a live SQL Server (mssql://user@host:port/Db or
winrm://…, see dbshift.convert.live; passwords from DBSHIFT_SOURCE_PASSWORD / DBSHIFT_WINRM_PASSWORD).
DIR receives one NNNN_schema.name.sql per object
in dependency order, deploy.sql (psql: applies every object that converted, in one transaction) and report.json;
the HTML report goes to --report (default DIR/report.html). With --verify-dsn every object is executed on that
PostgreSQL (in a scratch database, dropped afterwards) and marked verified or needs-work.
Exit codes: 0 done (also when objects need work); 1 with --strict when an object needs work; 2 error.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dbshift.convert.model import SCRIPT, ActionItem, Catalog, Converted, SourceObject
from dbshift.errors import DbshiftError

EXIT_NEEDS_WORK = 1
# The optional assisted pass (off by default): given a needs-work object (its T-SQL, converter items and
# PostgreSQL error), return PostgreSQL text for it or None. Its output is marked generated and verified like
# everything else. dbshift ships no hook and makes no network calls of its own.
AssistHook = Callable[[Converted], "str | None"]


@dataclass
class ConvertResult:
    items: list[Converted]  # dependency order
    report: dict
    out: Path
    report_html: Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="schema conversion T-SQL -> PostgreSQL, every object verified on a real PostgreSQL",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source",
        metavar="SOURCE",
        help="a .sql file, a folder of .sql files, an SSDT project folder, or mssql://user@host:port/Db | winrm://…",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="where the PostgreSQL files and report.json go")
    p.add_argument(
        "--verify-dsn",
        metavar="DSN",
        default=os.environ.get("DBSHIFT_VERIFY_DSN"),
        help="PostgreSQL to execute every object on (postgresql://...; default env DBSHIFT_VERIFY_DSN, which keeps "
        "the password out of the process list)",
    )
    p.add_argument("--report", metavar="FILE", help="the HTML report (default DIR/report.html)")
    p.add_argument("--database", help="the source's name in reports (default: from USE, else the file/folder name)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any object needs work")
    p.add_argument(
        "--assist",
        metavar="MODULE:FUNCTION",
        help="optional assisted pass for needs-work objects (off by default); output marked generated and verified",
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_convert)


def cmd_convert(args: argparse.Namespace) -> int:
    from dbshift.convert.report import format_summary

    progress = None if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    result = run_convert(
        args.source,
        Path(args.out),
        verify_dsn=args.verify_dsn,
        report_html=Path(args.report) if args.report else None,
        database=args.database,
        progress=progress,
        assist=load_assist_hook(args.assist) if args.assist else None,
    )
    print(format_summary(result.report))
    print(f"wrote {result.out}/ (deploy.sql, report.json) and {result.report_html}")
    if args.strict and any(c.status == "needs-work" for c in result.items):
        return EXIT_NEEDS_WORK
    return 0


def load_assist_hook(spec: str) -> AssistHook:
    """--assist MODULE:FUNCTION → the function (imported from the Python path)."""
    module_name, _, func_name = spec.partition(":")
    if not module_name or not func_name:
        raise DbshiftError(f"--assist {spec}: give MODULE:FUNCTION, e.g. mycompany.assist:convert")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise DbshiftError(f"--assist {spec}: cannot import {module_name} ({err}); is it on PYTHONPATH?") from err
    hook = getattr(module, func_name, None)
    if not callable(hook):
        raise DbshiftError(f"--assist {spec}: {module_name} has no function {func_name}")
    return hook


def assisted_pass(items: list[Converted], hook: AssistHook, progress: Callable[[str], None] | None = None) -> int:
    """Offer every needs-work object to the hook; returns how many it produced text for (marked generated)."""
    produced = 0
    for c in items:
        if c.status != "needs-work" or c.obj.type == SCRIPT:
            continue
        try:
            sql = hook(c)
        except Exception as err:  # a plug-in's failure is one object's note, not a stopped run
            c.items.append(ActionItem("warning", c.obj.line, f"assisted pass failed: {type(err).__name__}: {err}"))
            continue
        if sql and sql.strip():
            c.sql, c.generated, c.status, c.error = sql, True, "converted-unverified", None
            c.items.append(
                ActionItem("warning", c.obj.line, "generated by the assisted pass: review required", "generated")
            )
            produced += 1
    if progress:
        progress(f"assisted pass: {produced} objects generated")
    return produced


def convert_objects(objects: list[SourceObject], progress: Callable[[str], None] | None = None) -> list[Converted]:
    """Pass one (register) over every object, then pass two (convert): a crash in either is one object's problem."""
    from dbshift.convert import rules

    catalog = Catalog()
    register_errors: dict[int, ActionItem] = {}
    for i, obj in enumerate(objects):
        try:
            rules.register(obj, catalog)
        except Exception as err:  # a converter bug must not stop the run
            register_errors[i] = ActionItem(
                "warning", obj.line, f"catalog registration failed ({type(err).__name__}: {err})", "converter-error"
            )
    out = []
    for i, obj in enumerate(objects):
        c = rules.convert_object(obj, catalog)
        if i in register_errors:
            c.items.append(register_errors[i])
        out.append(c)
    if progress:
        progress(f"converted {len(objects)} statements")
    return out


_UNSAFE = re.compile(r"[^\w.\-]+")


def output_name(position: int, c: Converted) -> str:
    """NNNN_schema.name.sql, safe on every file system."""
    stem = _UNSAFE.sub("_", f"{c.obj.schema}.{c.obj.name}").strip("_")[:100] or c.obj.type
    return f"{position + 1:04d}_{stem}.sql"


def _object_file(c: Converted) -> str:
    from dbshift.convert.report import redact

    o = c.obj
    head = [
        f"-- {o.type} {o.schema}.{o.name} from {o.file}:{o.line} ({o.database})",
        f"-- status: {c.status}" + (" (generated, review required)" if c.generated else ""),
    ]
    if c.error:
        head.append(f"-- PostgreSQL error: {redact(c.error)}")
    for item in c.items:
        head.append(f"-- {item.severity} (line {item.line}): {redact(item.message)}".replace("\n", " "))
    return "\n".join(head) + "\n" + redact(c.sql or "").rstrip() + "\n"


def write_outputs(items: list[Converted], out: Path) -> dict[int, str]:
    """The per-object files and deploy.sql; stale NNNN_*.sql files from an earlier run are removed."""
    from dbshift.convert.report import write_atomic

    out.mkdir(parents=True, exist_ok=True)
    files: dict[int, str] = {}
    for i, c in enumerate(items):
        if c.sql and c.sql.strip() and c.obj.type != SCRIPT:
            files[i] = output_name(i, c)
            write_atomic(out / files[i], _object_file(c))
    for old in out.glob("[0-9][0-9][0-9][0-9]_*.sql"):
        if old.name not in files.values():
            old.unlink()
    deploy = [
        "-- dbshift convert: apply with  psql -v ON_ERROR_STOP=1 -f deploy.sql  (in the target database)",
        "-- objects that need work are listed but not included; fix them and add them by hand",
        "\\set ON_ERROR_STOP on",
        "BEGIN;",
    ]
    for i, c in enumerate(items):
        if i not in files:
            continue
        if c.status == "needs-work":
            deploy.append(f"-- needs work, not applied: {files[i]}")
            continue
        deploy.append("RESET search_path;")  # every object runs as it was verified
        deploy.append(f"\\ir {files[i]}")
    deploy.append("COMMIT;")
    write_atomic(out / "deploy.sql", "\n".join(deploy) + "\n")
    return files


def run_convert(
    source: str | Path,
    out: Path,
    *,
    verify_dsn: str | None = None,
    report_html: Path | None = None,
    database: str | None = None,
    progress: Callable[[str], None] | None = None,
    assist: AssistHook | None = None,
) -> ConvertResult:
    from dbshift.convert import order, report, verify
    from dbshift.convert import report_html as html
    from dbshift.convert import source as src

    started = time.monotonic()
    # sqlglot (used inside the converters) logs every construct it cannot generate; ours become action items
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    from dbshift.convert import live

    # A live source's URL may carry a password: never into the report or the progress lines.
    text = live.redact_url(str(source)) if live.is_live(str(source)) else str(source)
    objects = src.read_source(source, database)
    if progress:
        progress(f"read {len(objects)} statements from {text}")
    items = order.order(convert_objects(objects, progress))
    verified_on = None
    if verify_dsn:
        result = verify.verify(items, verify_dsn, progress=progress)
        verified_on = result.server_version
    if assist and assisted_pass(items, assist, progress) and verify_dsn:
        for c in items:  # verify everything again in a fresh database: generated objects get no free pass
            if c.sql and c.status != "skipped":
                c.status, c.error = "converted-unverified", None
                c.items = [i for i in c.items if i.construct != "verify-failed"]
        verify.verify(items, verify_dsn, progress=progress)
    files = write_outputs(items, out)
    rep = report.build_report(
        items, source=text, output_files=files, verified_on=verified_on, seconds=time.monotonic() - started
    )
    report.write_report(out / "report.json", rep)
    html_path = report_html or out / "report.html"
    report.write_atomic(html_path, html.render(rep, items))
    return ConvertResult(items, rep, out, html_path)
