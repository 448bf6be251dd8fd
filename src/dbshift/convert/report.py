"""report.json: every object with its status, PostgreSQL error and action items, and the totals.

The rate counts schema objects only (model.SCHEMA_OBJECT_TYPES): verified / all schema objects. Security and
documentation objects (roles, users, grants, comments) are listed and totalled apart; script statements are
listed as skipped. Passwords in source or converted text never reach a report (see `redact`).
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from dbshift.convert.model import OTHER_OBJECT_TYPES, SCHEMA_OBJECT_TYPES, SCRIPT, Converted

FORMAT = "dbshift-convert-report/1"
STATUSES = ("verified", "converted-unverified", "needs-work", "skipped")

_PASSWORD = re.compile(r"(\bPASSWORD\b\s*=?\s*N?)'(?:[^']|'')*'", re.IGNORECASE)


def redact(text: str) -> str:
    """PASSWORD = 'secret' (T-SQL) / PASSWORD 'secret' (PostgreSQL) → PASSWORD = '***'."""
    return _PASSWORD.sub(lambda m: m.group(1) + "'***'", text)


def object_entry(c: Converted, position: int, output_file: str | None) -> dict:
    o = c.obj
    return {
        "position": position,  # dependency order
        "database": o.database,
        "schema": o.schema,
        "name": o.name,
        "type": o.type,
        "counted": o.type in SCHEMA_OBJECT_TYPES,
        "status": c.status,
        "error": redact(c.error) if c.error else None,
        "generated": c.generated,
        "file": o.file,
        "line": o.line,
        "parent": o.parent,
        "output_file": output_file,
        "items": [
            {"severity": i.severity, "line": i.line, "message": redact(i.message), "construct": i.construct}
            for i in c.items
        ],
    }


def _count(entries: list[dict], field: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for e in entries:
        per = out.setdefault(e[field], {s: 0 for s in STATUSES})
        per[e["status"]] += 1
    return out


def totals(entries: list[dict]) -> dict:
    counted = [e for e in entries if e["counted"]]
    other = [e for e in entries if e["type"] in OTHER_OBJECT_TYPES]
    by_status = {s: sum(1 for e in counted if e["status"] == s) for s in STATUSES}
    n = len(counted)
    severities = {"error": 0, "warning": 0, "info": 0}
    for e in entries:
        for item in e["items"]:
            severities[item["severity"]] = severities.get(item["severity"], 0) + 1
    return {
        "objects": len(entries),
        "schema_objects": n,
        "verified": by_status["verified"],
        "rate": round(by_status["verified"] / n, 4) if n else 0.0,
        "converted_rate": round((by_status["verified"] + by_status["converted-unverified"]) / n, 4) if n else 0.0,
        "needs_work": by_status["needs-work"],
        "by_status": by_status,
        "by_type": _count(counted, "type"),
        "by_database": _count(counted, "database"),
        "other_objects": _count(other, "type"),
        "script_statements": sum(1 for e in entries if e["type"] == SCRIPT),
        "action_items": severities,
    }


def build_report(
    items: list[Converted],
    *,
    source: str,
    output_files: dict[int, str] | None = None,
    verified_on: str | None = None,
    seconds: float | None = None,
) -> dict:
    """`items` in dependency order; output_files: position → file name written for it."""
    files = output_files or {}
    entries = [object_entry(c, i, files.get(i)) for i, c in enumerate(items)]
    return {
        "format": FORMAT,
        "source": source,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "verified_on": verified_on,  # PostgreSQL server version, or None when nothing was executed
        "seconds": round(seconds, 3) if seconds is not None else None,
        "totals": totals(entries),
        "objects": entries,
    }


def write_atomic(path: Path, text: str) -> None:
    """Write under a temporary name in the same folder, then rename (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(path: Path, report: dict) -> None:
    write_atomic(path, json.dumps(report, indent=1, ensure_ascii=False) + "\n")


def format_summary(report: dict) -> str:
    """The console summary: per object type x status, and the rate."""
    t = report["totals"]
    lines = [f"{'type':12} {'verified':>9} {'unverified':>11} {'needs-work':>11} {'skipped':>8} {'total':>6}"]
    for typ, per in sorted(t["by_type"].items()):
        total = sum(per.values())
        lines.append(
            f"{typ:12} {per['verified']:>9} {per['converted-unverified']:>11} {per['needs-work']:>11} "
            f"{per['skipped']:>8} {total:>6}"
        )
    rate_line = f"schema objects: {t['schema_objects']}, verified {t['verified']} ({100 * t['rate']:.1f}%)"
    if report.get("verified_on") is None:
        rate_line += f", converted (not verified: no --verify-dsn) {100 * t['converted_rate']:.1f}%"
    lines.append(rate_line)
    lines.append(
        f"needs work: {t['needs_work']}; action items: {t['action_items']['error']} errors, "
        f"{t['action_items']['warning']} warnings, {t['action_items']['info']} info; "
        f"script statements skipped: {t['script_statements']}"
    )
    return "\n".join(lines)
