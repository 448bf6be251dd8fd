"""The validation report: one self-contained HTML file (inline CSS and SVG, no external assets) + JSON.

Readable at a glance: a verdict line, totals, a bar of chunk status, then only what needs attention
(chunks that differ, with their differing keys); clean chunks are listed folded at the end.
"""

from __future__ import annotations

import html
import json
import os
import uuid
from pathlib import Path

from dbshift.datamove.validate import ChunkResult, Difference, ValidationReport

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;max-width:1100px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.verdict{font-size:18px;font-weight:600;padding:10px 14px;border-radius:6px;margin:12px 0}
.clean{background:#dafbe1;color:#116329}.dirty{background:#ffebe9;color:#a40e26}
.muted{color:#656d76}table{border-collapse:collapse;margin:6px 0 12px}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#116329}.bad{color:#a40e26;font-weight:600}code{font-size:13px}
.kind-missing{color:#a40e26}.kind-extra{color:#9a6700}.kind-changed{color:#0550ae}
details{margin:8px 0}summary{cursor:pointer}
"""
_COLORS = {"ok": "#2da44e", "different": "#cf222e", "error": "#bf8700"}


def _e(v: object) -> str:
    return html.escape("" if v is None else str(v))


def _num(v: int | None) -> str:
    return "—" if v is None else f"{v:,}"


def _status(c: ChunkResult) -> str:
    if c.ok:
        return "ok"
    return "error" if c.error and not c.differences else "different"


def _bar(chunks: list[ChunkResult]) -> str:
    """An inline SVG bar: the share of chunks ok / different / in error."""
    counts = {s: sum(1 for c in chunks if _status(c) == s) for s in _COLORS}
    total = max(len(chunks), 1)
    width, x, parts, legend = 600, 0.0, [], []
    for status, color in _COLORS.items():
        n = counts[status]
        if n:
            w = width * n / total
            parts.append(
                f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="18" fill="{color}"><title>{n} {status}</title></rect>'
            )
            x += w
        legend.append(f'<span style="color:{color}">■</span> {n} {status}')
    svg = f'<svg width="{width}" height="18" role="img" aria-label="chunk status">{"".join(parts)}</svg>'
    return f"<div>{svg}</div><div class='muted'>{' &nbsp; '.join(legend)}</div>"


def _diff_table(diffs: list[Difference]) -> str:
    if not diffs:
        return ""
    cols = list(diffs[0].key)
    head = "".join(f"<th>{_e(c)}</th>" for c in ["kind", *cols])
    rows = []
    for d in diffs:
        cells = "".join(f"<td><code>{_e(d.key.get(c))}</code></td>" for c in cols)
        rows.append(f"<tr><td class='kind-{_e(d.kind)}'>{_e(d.kind)}</td>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _chunk_row(c: ChunkResult) -> str:
    match = "<span class='ok'>✓</span>" if c.ok else "<span class='bad'>✗</span>"
    return (
        f"<tr><td><code>{_e(c.chunk_id)}</code></td><td class='num'>{_num(c.expected_rows)}</td>"
        f"<td class='num'>{_num(c.target_rows)}</td><td>{match}</td><td class='num'>{len(c.differences):,}"
        f"{'+' if c.truncated else ''}</td><td class='muted'>{_e(c.expected_from)}</td></tr>"
    )


_CHUNK_HEAD = (
    "<tr><th>chunk</th><th>rows expected</th><th>rows in target</th><th>hash match</th>"
    "<th>differences</th><th>expected from</th></tr>"
)


def render_html(report: ValidationReport) -> str:
    bad = [c for c in report.chunks if not c.ok]
    good = [c for c in report.chunks if c.ok]
    n_diff = len(report.differences)
    if report.ok:
        verdict = f"<div class='verdict clean'>Clean: {len(report.chunks):,} chunks, zero differences</div>"
    else:
        verdict = (
            f"<div class='verdict dirty'>{len(bad):,} of {len(report.chunks):,} chunks differ; "
            f"{n_diff:,} differing key(s) listed"
            + (f"; {report.outside_rows:,} row(s) outside the plan" if report.outside_rows else "")
            + "</div>"
        )
    totals = (
        "<table>"
        f"<tr><th>chunks</th><td class='num'>{len(report.chunks):,}</td></tr>"
        f"<tr><th>rows expected</th><td class='num'>{report.expected_rows:,}</td></tr>"
        f"<tr><th>rows in target</th><td class='num'>{report.target_rows:,}</td></tr>"
        f"<tr><th>rows outside the plan</th><td class='num'>{report.outside_rows:,}</td></tr>"
        f"<tr><th>duration</th><td class='num'>{report.seconds:,.1f} s</td></tr>"
        "</table>"
    )
    checked = report.checked_at.isoformat(sep=" ", timespec="seconds")
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Validation {_e(report.category)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Validation of <code>{_e(report.table)}</code></h1>",
        f"<div class='muted'>category {_e(report.category)} · checked {_e(checked)}"
        " · per chunk: row count and order-independent content hash, target computed in PostgreSQL</div>",
        verdict,
        totals,
        _bar(report.chunks),
    ]
    if bad:
        out.append(f"<h2>Chunks that differ ({len(bad):,})</h2><table>{_CHUNK_HEAD}")
        out += [_chunk_row(c) for c in bad]
        out.append("</table>")
        for c in bad:
            out.append(f"<h2>Chunk <code>{_e(c.chunk_id)}</code></h2>")
            out.append(
                f"<div>expected {_num(c.expected_rows)} rows, hash <code>{_e(c.expected_hash)}</code>"
                f" ({_e(c.expected_from)}); target {_num(c.target_rows)} rows, "
                f"hash <code>{_e(c.target_hash)}</code></div>"
            )
            if c.error:
                out.append(f"<div class='bad'>{_e(c.error)}</div>")
            out.append(_diff_table(c.differences))
            if c.truncated:
                out.append(f"<div class='muted'>more differences exist than the {len(c.differences):,} listed</div>")
    if report.outside:
        out.append(f"<h2>Rows outside every planned chunk ({report.outside_rows:,})</h2>")
        out.append(_diff_table(report.outside))
        if report.outside_rows > len(report.outside):
            out.append(f"<div class='muted'>first {len(report.outside):,} of {report.outside_rows:,} listed</div>")
    if good:
        out.append(f"<details{' open' if not bad else ''}><summary>Clean chunks ({len(good):,})</summary>")
        out.append(f"<table>{_CHUNK_HEAD}{''.join(_chunk_row(c) for c in good)}</table></details>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_report(report: ValidationReport, path: str | Path) -> str:
    """Write the HTML report at `path` and its JSON beside it (same name, .json); returns the HTML path."""
    path = Path(path)
    _write_atomic(path.with_suffix(".json"), json.dumps(report.as_json(), indent=1) + "\n")
    _write_atomic(path, render_html(report))
    return str(path)
