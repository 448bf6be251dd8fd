"""The HTML report: one self-contained page (inline CSS and SVG, no scripts, nothing fetched from the network).

Sections: the conversion rate; a chart of object type x status (stacked bars, inline SVG); the totals per
database; every object that carries action items, its items beside its T-SQL source and its PostgreSQL text;
the skipped script statements; the list of all objects.
"""

from __future__ import annotations

from html import escape

from dbshift.convert.model import Converted
from dbshift.convert.report import STATUSES, redact

COLORS = {"verified": "#2e7d32", "converted-unverified": "#f9a825", "needs-work": "#c62828", "skipped": "#9e9e9e"}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#212121;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.meta{color:#616161;font-size:13px}.rate{font-size:40px;font-weight:700;margin:12px 0 0}
.rate small{font-size:15px;font-weight:400;color:#616161}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #e0e0e0;padding:3px 8px;text-align:right}
th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}
.legend span{display:inline-block;margin-right:14px;font-size:13px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.object{border:1px solid #e0e0e0;border-radius:6px;margin:12px 0;padding:8px 12px}
.object h3{font-size:15px;margin:2px 0 6px}.status{font-size:12px;padding:1px 6px;border-radius:8px;color:#fff}
.items{margin:4px 0 8px;padding-left:18px;font-size:13px}.sev-error{color:#c62828;font-weight:600}
.sev-warning{color:#e65100;font-weight:600}.sev-info{color:#1565c0}
.pgerror{background:#ffebee;border-left:3px solid #c62828;padding:4px 8px;font-size:13px;white-space:pre-wrap}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:8px}
.pair h4{margin:4px 0;font-size:12px;color:#616161}
pre{background:#fafafa;border:1px solid #eee;padding:6px;font-size:12px;overflow:auto;max-height:360px;margin:0}
.ln{color:#9e9e9e;user-select:none}
"""


def _chart(by_type: dict[str, dict[str, int]]) -> str:
    """Horizontal stacked bars, one per object type, segments per status; counts printed at the bar's end."""
    rows = sorted(by_type.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    label_w, bar_w, row_h, top = 110, 560, 24, 8
    biggest = max((sum(per.values()) for _, per in rows), default=1) or 1
    height = top * 2 + row_h * max(len(rows), 1)
    parts = [
        f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 150}" height="{height}" '
        f'role="img" aria-label="objects by type and status">'
    ]
    for k, (typ, per) in enumerate(rows):
        y = top + k * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="13">{escape(typ)}</text>')
        x = float(label_w)
        for status in STATUSES:
            n = per.get(status, 0)
            if not n:
                continue
            w = bar_w * n / biggest
            parts.append(
                f'<rect class="bar" data-type="{escape(typ)}" data-status="{status}" data-count="{n}" '
                f'x="{x:.1f}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 6}" fill="{COLORS[status]}">'
                f"<title>{escape(typ)}: {n} {status}</title></rect>"
            )
            x += w
        total = sum(per.values())
        ok = per.get("verified", 0)
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}" font-size="12">{ok}/{total} verified</text>')
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{COLORS[s]}"></i>{s}</span>' for s in STATUSES)
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _numbered(text: str, first_line: int) -> str:
    lines = text.split("\n")
    width = len(str(first_line + len(lines)))
    return "\n".join(
        f'<span class="ln">{first_line + i:>{width}}</span> {escape(line)}' for i, line in enumerate(lines)
    )


def _status(status: str) -> str:
    return f'<span class="status" style="background:{COLORS.get(status, "#757575")}">{escape(status)}</span>'


def _object_section(entry: dict, c: Converted | None) -> str:
    items = sorted(entry["items"], key=lambda i: (SEVERITY_ORDER.get(i["severity"], 3), i["line"]))
    title = f"{entry['type']} {entry['schema']}.{entry['name']}"
    where = f"{entry['database']} · {entry['file']}:{entry['line']}"
    out = [
        f'<section class="object" id="obj-{entry["position"]}" data-status="{escape(entry["status"])}">',
        f'<h3>{escape(title)} {_status(entry["status"])}</h3><div class="meta">{escape(where)}'
        + (" · generated, review required" if entry.get("generated") else "")
        + "</div>",
        '<ul class="items">',
    ]
    for item in items:
        sev = escape(item["severity"])
        construct = f" [{escape(item['construct'])}]" if item["construct"] else ""
        out.append(
            f'<li class="action-item"><span class="sev-{sev}">{sev}</span> line {item["line"]}{construct}: '
            f"{escape(item['message'])}</li>"
        )
    out.append("</ul>")
    if entry.get("error"):
        out.append(f'<div class="pgerror">PostgreSQL: {escape(entry["error"])}</div>')
    if c is not None:
        source = _numbered(redact(c.obj.text), c.obj.line)
        converted = escape(redact(c.sql)) if c.sql else "(nothing produced)"
        out.append(
            '<div class="pair"><div><h4>T-SQL source</h4><pre class="source">'
            f'{source}</pre></div><div><h4>PostgreSQL</h4><pre class="converted">{converted}</pre></div></div>'
        )
    out.append("</section>")
    return "\n".join(out)


def render(report: dict, items: list[Converted] | None = None) -> str:
    """The page for `report` (report.build_report); `items` in the same order give the texts shown side by side."""
    t = report["totals"]
    entries = report["objects"]
    texts = items or []
    rate = f"{100 * t['rate']:.1f}%"
    verified_on = report.get("verified_on")
    sub = (
        f"of {t['schema_objects']} schema objects verified on PostgreSQL {escape(verified_on)}"
        if verified_on
        else f"verified (no PostgreSQL given: {100 * t['converted_rate']:.1f}% converted, unverified)"
    )
    db_rows = "".join(
        f"<tr><td>{escape(db)}</td>" + "".join(f"<td>{per[s]}</td>" for s in STATUSES) + f"<td>{sum(per.values())}</td>"
        f"<td>{100 * per['verified'] / max(1, sum(per.values())):.1f}%</td></tr>"
        for db, per in sorted(t["by_database"].items())
    )
    with_items = [e for e in entries if e["items"] and e["type"] != "script"]
    with_items.sort(key=lambda e: (0 if e["status"] == "needs-work" else 1, e["database"], e["file"], e["line"]))
    sections = "\n".join(
        _object_section(e, texts[e["position"]] if e["position"] < len(texts) else None) for e in with_items
    )
    scripts = [e for e in entries if e["type"] == "script"]
    script_rows = "".join(
        f"<tr><td>{escape(e['file'])}:{e['line']}</td><td>{escape(e['name'])}</td><td>{escape(e['database'])}</td></tr>"
        for e in scripts
    )
    all_rows = "".join(
        f"<tr><td>{e['position']}</td><td>{escape(e['type'])}</td><td>{escape(e['schema'])}.{escape(e['name'])}</td>"
        f"<td>{_status(e['status'])}</td><td>{escape(e['file'])}:{e['line']}</td>"
        f"<td>{escape(e['output_file'] or '')}</td></tr>"
        for e in entries
        if e["type"] != "script"
    )
    n_items = sum(len(e["items"]) for e in with_items)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>dbshift convert: {escape(report.get("source", ""))}</title><style>{CSS}</style></head>
<body>
<h1>Schema conversion T-SQL → PostgreSQL</h1>
<div class="meta">source {escape(report.get("source", ""))} · generated {escape(report.get("generated_at", ""))}</div>
<div class="rate" id="rate">{rate} <small>{sub}</small></div>
<h2>Objects by type and status</h2>
{_chart(t["by_type"])}
<h2>Per database</h2>
<table id="databases"><tr><th>database</th><th>verified</th><th>unverified</th><th>needs work</th><th>skipped</th>
<th>total</th><th>rate</th></tr>{db_rows}</table>
<h2 id="action-items">Action items ({n_items} on {len(with_items)} objects)</h2>
{sections or "<p>None.</p>"}
<h2>Script statements not converted ({len(scripts)})</h2>
<details><summary>data loads, session settings, tooling: listed, never executed</summary>
<table><tr><th>where</th><th>statement</th><th>database</th></tr>{script_rows}</table></details>
<h2>All objects, in dependency order</h2>
<details><summary>{len(entries) - len(scripts)} objects</summary>
<table id="objects"><tr><th>#</th><th>type</th><th>name</th><th>status</th><th>source</th><th>output</th></tr>
{all_rows}</table></details>
</body></html>
"""
