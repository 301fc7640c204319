"""Pages in a real browser: headless Chromium renders them without JavaScript errors, and the
vendored table script sorts, searches, filters and exports CSV.

Skipped where Chromium is not installed (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import gzip
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from medmine.ingest import fhir
from medmine.quality import run_checks
from medmine.report import page_context
from medmine.report.quality_page import write_quality_page
from medmine.report.study_pages import write_study
from medmine.studies import get_study
from medmine.warehouse import Warehouse

from ..conftest import FHIR_SAMPLES

BROWSER = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        BROWSER is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--hide-scrollbars",
    "--virtual-time-budget=15000",
]

#: Records JavaScript errors from the first line of the page on.
CATCH = (
    "<script>window.__errors=[];window.addEventListener('error',function(e){"
    "window.__errors.push(String(e.message))});</script>"
)

#: Runs after the page has loaded: exercises the first table with a numeric column.
HARNESS = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var out = {errors: window.__errors,
             tables: document.documentElement.getAttribute('data-mm-tables')};
  try {
    var api = window.medmineTables, found = null, col = -1;
    api.tables().forEach(function (t) {
      if (found || t.tBodies[0].rows.length < 3) return;
      var cells = t.tBodies[0].rows[0].cells;
      for (var c = 0; c < cells.length; c++) {
        if (cells[c].hasAttribute('data-value')) { found = t; col = c; return; }
      }
    });
    var values = function () {
      return api.visible(found).map(function (tr) {
        return tr.cells[col].getAttribute('data-value'); });
    };
    api.sort(found, col, false); out.asc = values();
    api.sort(found, col, true); out.desc = values();
    var probe = found.tBodies[0].rows[1].cells[1].textContent.trim().slice(0, 12);
    api.search(found, probe); out.probe = probe;
    out.searched = api.visible(found).map(function (tr) { return tr.textContent; });
    api.search(found, '');
    out.total = found.tBodies[0].rows.length;
    var lo = Math.min.apply(null, out.asc.map(Number));
    api.filter(found, col, '>' + lo); out.filtered = values();
    out.csv = api.csv(found);
    out.rows_shown = api.visible(found).length;
    out.header = Array.prototype.map.call(found.tHead.rows[0].cells, function (th) {
      return th.textContent.trim(); });
    out.toolbar = !!found.closest('.mm-wrap').querySelector('input[type=search]') &&
      !!found.closest('.mm-wrap').querySelector('button.mm-csv');
  } catch (e) { out.harness = String(e); }
  var pre = document.createElement('pre'); pre.id = 'mm-test';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
}, 0); });
</script>"""


def run_page(page: Path) -> dict:
    """Load `page` with the harness in Chromium and return what the harness recorded."""
    text = page.read_text(encoding="utf-8")
    probe = page.with_name("probe_" + page.name)
    probe.write_text(
        text.replace("<head>", "<head>" + CATCH, 1).replace("</body>", HARNESS + "</body>"),
        encoding="utf-8",
    )
    done = subprocess.run(
        [BROWSER, *FLAGS, "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    m = re.search(r'<pre id="mm-test">(.*?)</pre>', done.stdout, re.S)
    assert m, f"harness did not run; stderr: {done.stderr[-2000:]}"
    return json.loads(html.unescape(m.group(1)))


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    bundle = root / "bundle.json"
    bundle.write_bytes(
        gzip.decompress((FHIR_SAMPLES / "Latashia_Emard_91f21d7d.json.gz").read_bytes())
    )
    out = root / "reports"
    with Warehouse(root / "w.duckdb") as wh:
        fhir.load([bundle], wh)
        ctx = page_context(wh)
        quality = write_quality_page(out / "quality.html", run_checks(wh), wh, context=ctx)
        link = write_study(get_study("readmission").run(wh), out, context=ctx)
    return {"quality": quality, "study": out / link.href}


@pytest.mark.parametrize("name", ["quality", "study"])
def test_page_renders_without_javascript_errors_and_tables_work(pages, name):
    got = run_page(pages[name])
    assert got["errors"] == [], got["errors"]
    assert "harness" not in got, got.get("harness")
    assert int(got["tables"]) >= 1 and got["toolbar"]
    asc = [float(v) for v in got["asc"] if v != ""]
    desc = [float(v) for v in got["desc"] if v != ""]
    assert asc == sorted(asc) and desc == sorted(desc, reverse=True) and len(asc) >= 3
    assert got["searched"] and all(got["probe"] in row for row in got["searched"])
    lo = min(asc)
    assert all(float(v) > lo for v in got["filtered"])
    assert len(got["filtered"]) == sum(v > lo for v in asc)
    lines = got["csv"].strip().split("\r\n")
    assert lines[0].split(",")[0] == got["header"][0].replace('"', "")
    assert len(lines) == got["rows_shown"] + 1 or len(lines) == len(got["filtered"]) + 1


def test_pages_render_to_an_image(pages, tmp_path):
    for name, page in pages.items():
        png = tmp_path / f"{name}.png"
        subprocess.run(
            [BROWSER, *FLAGS, "--window-size=1280,1600", f"--screenshot={png}", page.as_uri()],
            capture_output=True,
            timeout=120,
        )
        assert png.exists() and png.stat().st_size > 20_000, name
