"""The validation report is one self-contained HTML file (no external references) naming every differing key."""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser
from pathlib import Path

from dbshift.datamove import report
from dbshift.datamove.validate import OUTSIDE_PLAN, ChunkResult, Difference, ValidationReport


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.refs += [v or "" for k, v in attrs if k in ("href", "src", "xmlns", "xlink:href", "action")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _report() -> ValidationReport:
    bad = ChunkResult("SRC1/NetPerf01/2026-11-01/p1", 1000, 1000, "123", "456", "transform checkpoint", False)
    bad.differences = [
        Difference(bad.chunk_id, "changed", {"cell_id": 27, "measured_at": "2026-11-01 01:40:00.000373"}),
        Difference(bad.chunk_id, "missing", {"cell_id": 33, "measured_at": "2026-11-01 02:00:00.000677"}),
        Difference(bad.chunk_id, "extra", {"cell_id": 25, "measured_at": "<b>&'2026"}),
    ]
    good = ChunkResult("SRC1/NetPerf01/2026-11-01/p0", 1000, 1000, "789", "789", "transform checkpoint", True)
    rep = ValidationReport(
        "cell_perf_stats", "public.cell_perf_stats", dt.datetime(2026, 11, 2, 3, 4, 5, tzinfo=dt.UTC), [good, bad]
    )
    rep.outside_rows = 1
    rep.outside = [
        Difference(OUTSIDE_PLAN, "extra", {"server_name": "SRC2", "database_name": "NetPerf01", "cell_id": 3})
    ]
    return rep


def test_html_is_self_contained_and_names_every_differing_key(tmp_path: Path) -> None:
    path = Path(report.write_report(_report(), tmp_path / "out" / "cell_perf_stats-validation.html"))

    text = path.read_text(encoding="utf-8")
    parser = _Refs()
    parser.feed(text)
    assert "http://" not in text and "https://" not in text and "//" not in "".join(parser.refs)
    assert parser.refs == []  # no href/src/xmlns at all: nothing to fetch
    assert not {"script", "link", "img", "iframe"} & set(parser.tags)
    assert {"style", "svg", "table"} <= set(parser.tags)
    body = "".join(parser.text)
    for key in ("2026-11-01 01:40:00.000373", "2026-11-01 02:00:00.000677", "<b>&'2026", "SRC2"):
        assert key in body  # as text: the markup in a key is escaped, not interpreted
    assert "<b>&'2026" not in text
    assert "1 of 2 chunks differ" in body and "3 differing key(s)" not in body  # outside row counts too
    assert "4 differing key(s)" in body


def test_json_beside_html_and_no_temporary_files_left(tmp_path: Path) -> None:
    report.write_report(_report(), tmp_path / "r.html")

    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["ok"] is False and doc["outside_rows"] == 1
    kinds = [d["kind"] for c in doc["chunks"] for d in c["differences"]]
    assert sorted(kinds) == ["changed", "extra", "missing"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.json"]


def test_clean_report_says_so(tmp_path: Path) -> None:
    rep = _report()
    rep.chunks = [c for c in rep.chunks if c.ok]
    rep.outside, rep.outside_rows = [], 0
    text = Path(report.write_report(rep, tmp_path / "clean.html")).read_text()
    assert rep.ok and "Clean: 1 chunks, zero differences" in text
