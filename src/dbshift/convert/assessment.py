"""The schema assessment as one idempotent call: convert (and verify) a source into a folder, keep the HTML report,
and apply the converted schema to a target only when asked. The schema_assessment Ansible module is a thin adapter
over assess(); `p` holds the module's options.

Idempotent: the output folder is replaced only when the converted objects differ (their .sql files and deploy.sql,
statuses included); the report of an unchanged run is kept as it was. An apply is recorded in the target
(dbshift_schema.applied_objects, per object with the digest of its definition) and not repeated.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from dbshift.convert.model import Converted
from dbshift.errors import ConfigError, DbshiftError

APPLIED = "dbshift_schema.applied_objects"


class ApplyFailed(DbshiftError):
    """An object failed on the target; the whole apply was rolled back."""


def fingerprint(folder: Path) -> str | None:
    """Digest of the converted objects in `folder` (names and texts), None when there is no output yet."""
    if not (folder / "deploy.sql").is_file():
        return None
    h = hashlib.sha256()
    for path in sorted([*folder.glob("[0-9][0-9][0-9][0-9]_*.sql"), folder / "deploy.sql"]):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def applicable(items: list[Converted]) -> list[Converted]:
    """What deploy.sql applies: every object that converted, in dependency order, except those needing work."""
    return [c for c in items if c.sql and c.sql.strip() and c.status not in ("needs-work", "skipped")]


def object_digest(c: Converted) -> str:
    return hashlib.sha256((c.sql or "").encode()).hexdigest()


def _applied(conn: Any) -> dict[str, str]:
    """Object key → digest of what an earlier apply put into this database."""
    if conn.execute("SELECT to_regclass(%s)", (APPLIED,)).fetchone()[0] is None:
        return {}
    return dict(conn.execute(f"SELECT key, digest FROM {APPLIED}").fetchall())


def apply_to_target(items: list[Converted], dsn: str, check_mode: bool) -> tuple[bool, int]:
    """Apply the objects an earlier apply has not, in dependency order and one transaction; (changed, applied).

    An object applied before with another definition is refused, not replaced: changing a table that may hold
    data needs an ALTER someone writes, never a drop dbshift decides on.
    """
    import psycopg

    with psycopg.connect(dsn) as conn:
        done = _applied(conn)
        todo = applicable(items)
        redefined = [c for c in todo if c.obj.key in done and done[c.obj.key] != object_digest(c)]
        if redefined:
            names = ", ".join(f"{c.obj.type} {c.obj.schema}.{c.obj.name}" for c in redefined)
            raise ApplyFailed(
                f"already applied to the target with another definition: {names}. dbshift does not drop or replace "
                "objects: change them in the target by hand (ALTER …), or apply to an empty database"
            )
        new = [c for c in todo if c.obj.key not in done]
        if not new or check_mode:
            return bool(new), len(new)
        for c in new:
            try:
                conn.execute("RESET search_path")  # each object runs as it was verified
                conn.execute(c.sql)  # type: ignore[arg-type]
            except psycopg.Error as err:
                conn.rollback()
                raise ApplyFailed(
                    f"applying {c.obj.type} {c.obj.schema}.{c.obj.name} ({c.obj.file}:{c.obj.line}) failed: "
                    f"{str(err).strip()}. Nothing was applied (one transaction); fix the object or the target "
                    "(an object of that name may exist already) and run again"
                ) from err
        conn.execute("RESET search_path")
        conn.execute("CREATE SCHEMA IF NOT EXISTS dbshift_schema")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {APPLIED} (key text PRIMARY KEY, digest text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {APPLIED} (key, digest) VALUES (%s, %s)", [(c.obj.key, object_digest(c)) for c in new]
            )
    return True, len(new)


def _swap_in(new: Path, out: Path) -> None:
    """Replace `out` by `new` with renames only, so a reader sees the old folder or the new one, never half."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def assess(p: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    from dbshift.convert.command import run_convert
    from dbshift.convert.report import write_atomic

    if p["apply"] and not p["target_dsn"]:
        raise ConfigError("apply is true but target_dsn is not set: set target_dsn to the PostgreSQL to apply to")
    out = Path(p["out_dir"]).expanduser().resolve()
    work = out.with_name(f".{out.name}.new-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    try:
        # Check mode verifies too (in a scratch database that is dropped again): without it every object would
        # read "unverified" and check mode would report a change that the real run does not make.
        result = run_convert(p["source"], work, verify_dsn=p["verify_dsn"], database=p["database"])
        changed = fingerprint(out) != fingerprint(work)
        if changed and not check_mode:
            _swap_in(work, out)
        report_html = out / "report.html"
        if p["report_path"]:  # a copy kept elsewhere (e.g. a share), refreshed whenever the output changes
            report_html = Path(p["report_path"]).expanduser().resolve()
            stale = changed or not report_html.is_file()
            if stale and not check_mode:
                write_atomic(report_html, (out / "report.html").read_text(encoding="utf-8"))
            changed = changed or stale
    finally:
        shutil.rmtree(work, ignore_errors=True)
    totals = result.report["totals"]
    applied, applied_objects = False, 0
    if p["apply"]:
        applied, applied_objects = apply_to_target(result.items, p["target_dsn"], check_mode)
    return {
        "changed": changed or applied,
        "out_dir": str(out),
        "report_html": str(report_html),
        "objects": totals["schema_objects"],
        "rate": totals["rate"],
        "by_status": totals["by_status"],
        "needs_work": totals["needs_work"],
        "verified_on": result.report.get("verified_on"),
        "applied": applied,
        "applied_objects": applied_objects,
    }
