"""The HTML report renders in headless Chromium, no network: a screenshot; the chart and action items in the DOM.

Chromium comes from Debian (/usr/bin/chromium; `apt-get install -y chromium`).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from html import unescape
from pathlib import Path

import pytest

from dbshift.convert.command import run_convert

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium missing: apt-get install -y chromium")

SOURCE = """\
CREATE TABLE dbo.Customers (
    CustomerID INT IDENTITY(1, 1) NOT NULL PRIMARY KEY,
    Name NVARCHAR(100) NOT NULL,
    Since DATETIME NOT NULL DEFAULT GETDATE(),
    Photo IMAGE NULL
) ON [PRIMARY] TEXTIMAGE_ON [PRIMARY]
GO
CREATE TABLE dbo.Orders (
    OrderID INT IDENTITY NOT NULL PRIMARY KEY,
    CustomerID INT NOT NULL REFERENCES dbo.Customers (CustomerID),
    Amount MONEY NOT NULL
)
GO
CREATE INDEX IX_Orders_Customer ON dbo.Orders (CustomerID) WITH (FILLFACTOR = 90) ON [PRIMARY]
GO
CREATE VIEW dbo.CustomerTotals AS
SELECT c.Name, SUM(o.Amount) AS Total FROM dbo.Customers c JOIN dbo.Orders o ON o.CustomerID = c.CustomerID
GROUP BY c.Name
GO
CREATE TABLE dbo.Broken (a INT,, b)
GO
INSERT INTO dbo.Customers (Name) VALUES (N'x')
GO
"""


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={tmp / 'chromium-profile'}",
    ]  # fmt: skip
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=180)


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """(width, height, decompressed scanlines) of a PNG, read by hand (no imaging library needed)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def test_report_renders_with_chart_and_action_items(tmp_path: Path, postgres_dsn: str) -> None:
    src = tmp_path / "shop.sql"
    src.write_text(SOURCE)
    result = run_convert(src, tmp_path / "out", verify_dsn=postgres_dsn)
    html_path = result.report_html
    page = html_path.read_text()
    assert "<script" not in page.lower() and not re.search(r"""(src|href)=["']https?:""", page)

    shot = tmp_path / "report.png"
    run = chromium(f"--screenshot={shot}", "--window-size=1280,1600", html_path.as_uri(), tmp=tmp_path)
    assert shot.exists(), run.stderr[-2000:]
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (1280, 1600)
    # a rendered page, not a blank one: many distinct byte values and a fair share of non-white pixels
    assert len(set(pixels)) > 50
    assert sum(1 for b in pixels[::7] if b < 200) > len(pixels[::7]) * 0.01

    dom = chromium("--dump-dom", html_path.as_uri(), tmp=tmp_path).stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    # the chart: one bar segment per (type, status) with a count, as in the report's totals
    bars = re.findall(r'<rect class="bar" data-type="([^"]+)" data-status="([^"]+)" data-count="(\d+)"', dom)
    expected = {(t, s, str(n)) for t, per in report["totals"]["by_type"].items() for s, n in per.items() if n}
    assert set(bars) == expected and ("table", "needs-work", "1") in expected
    # every action item of every converted object is on the page, with its source line
    items = [(o, i) for o in report["objects"] if o["type"] != "script" for i in o["items"]]
    shown = re.findall(r'<li class="action-item">(.*?)</li>', dom, re.DOTALL)
    assert len(shown) == len(items) > 0
    text = unescape(re.sub(r"<[^>]+>", "", "\n".join(shown)))
    for _, item in items:
        assert f"line {item['line']}" in text and item["message"] in text
    # the malformed table: its section shows the T-SQL beside the (absent) conversion and the parse error
    broken = next(o for o in report["objects"] if o["name"] == "Broken")
    section = re.search(rf'<section class="object" id="obj-{broken["position"]}".*?</section>', dom, re.DOTALL)
    assert section and "CREATE TABLE dbo.Broken (a INT,, b)" in unescape(section.group())
    assert 'class="source"' in section.group() and 'class="converted"' in section.group()
    assert re.search(r'id="rate">\s*\d+\.\d%', dom)
