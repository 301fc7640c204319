"""The format-agreement step of the demo: the bundled FHIR sample also as Bulk NDJSON and as a
Synthea CSV export, each loaded into its own warehouse and compared table by table.

The NDJSON and CSV renderings are written by `medmine.synth.synthea_formats` from the same
bundles, so any difference is the readers', not the data's. Differences a format cannot avoid
(and FHIR-side decisions still pending) are listed with their reasons
(`medmine.quality.format_agreement`, docs/mapping.md).
"""

from __future__ import annotations

import html
import tempfile
import time
from pathlib import Path
from typing import Any

from medmine.ingest import fhir, synthea_csv
from medmine.quality.format_agreement import (
    CSV_LACKS,
    PENDING_FHIR,
    TableAgreement,
    compare,
)
from medmine.quality.repeated import count_repeated
from medmine.report import ReportLink, page_context
from medmine.report.html import render_page, table_html
from medmine.synth.synthea_formats import write_ndjson, write_synthea_csv
from medmine.warehouse import Warehouse

#: Patients of the bundled sample compared (the first files by name): the three loads of all
#: 60 (about 350 MB of JSON) would add minutes to the demo for no other finding.
PATIENTS = 12


def formats_step(ctx: Any) -> None:
    """Load the sample as bundles, NDJSON and CSV; write ``formats.html`` (format agreement)."""
    bundles = sorted((ctx.samples / "synthea_fhir").glob("*.json*"))[:PATIENTS]
    with tempfile.TemporaryDirectory(prefix="medmine-formats-") as tmp:
        d = Path(tmp)
        (d / "bundles").mkdir()
        for f in bundles:
            (d / "bundles" / f.name).symlink_to(f.resolve())
        write_ndjson(d / "bundles", d / "ndjson")
        write_synthea_csv(d / "bundles", d / "csv")
        loads = {}
        for name, reader, src in (
            ("FHIR bundles", fhir, d / "bundles"),
            ("Bulk NDJSON", fhir, d / "ndjson"),
            ("Synthea CSV", synthea_csv, d / "csv"),
        ):
            wh = Warehouse(d / f"{name.split()[-1].lower()}.duckdb")
            t0 = time.perf_counter()
            rep = reader.load([src], wh)
            loads[name] = (wh, rep, time.perf_counter() - t0)
        try:
            b, n, c = (loads[k][0] for k in loads)
            nd = compare(b, n, csv=False)
            cs = compare(b, c, csv=True)
            repeated = {k: count_repeated(v[0])["measurement"] for k, v in loads.items()}
            with Warehouse(ctx.warehouse) as main:
                page = page_context(main, command="medmine demo")
            path = _write(ctx.reports_dir / "formats.html", loads, nd, cs, repeated, page)
        finally:
            for wh, _, _ in loads.values():
                wh.close()
    bad_nd = [t.table for t in nd if not t.agrees]
    bad_cs = [t.table for t in cs if not t.agrees]
    ctx.console.print(
        f"formats: {len(bundles)} patients; bundles vs NDJSON: {len(nd) - len(bad_nd)}/{len(nd)} "
        f"tables agree; FHIR vs CSV: {len(cs) - len(bad_cs)}/{len(cs)} agree but for documented "
        f"differences (pending FHIR: {', '.join(bad_cs) or 'none'})"
    )
    ok = not bad_nd and all(t.only_b == 0 for t in cs)
    ctx.links.append(
        ReportLink(
            "Format agreement",
            path.name,
            f"{len(bundles)} sample patients as FHIR bundles, NDJSON and Synthea CSV: "
            f"{len(nd) - len(bad_nd)}/{len(nd)} tables agree bundles vs NDJSON, "
            f"{len(cs) - len(bad_cs)}/{len(cs)} FHIR vs CSV "
            f"({len(bad_cs)} with pending FHIR decisions)",
            "ok" if ok and not bad_cs else ("warn" if ok else "fail"),
        )
    )


def _rows(ts: list[TableAgreement], a: str, b: str) -> list[dict[str, Any]]:
    return [
        {
            "table": t.table,
            f"rows {a}": t.rows_a,
            f"rows {b}": t.rows_b,
            f"only in {a}": t.only_a,
            f"only in {b}": t.only_b,
            "agree": "yes" if t.agrees else "NO",
            "columns left out (documented)": ", ".join(t.columns_left_out),
            "note": t.note,
        }
        for t in ts
    ]


def _write(
    path: Path,
    loads: dict[str, Any],
    nd: list[TableAgreement],
    cs: list[TableAgreement],
    repeated: dict[str, tuple[int, int]],
    page: Any,
) -> Path:
    e = html.escape
    load_rows = [
        {
            "format": k,
            "records read": rep.totals.read,
            "loaded": rep.totals.loaded,
            "skipped": rep.totals.skipped,
            "quarantined": rep.totals.quarantined,
            "reconciles": "yes" if rep.reconciles else "NO",
            "seconds": round(s, 1),
            "repeated measurements": f"{repeated[k][0]:,} of {repeated[k][1]:,}",
        }
        for k, (_, rep, s) in loads.items()
    ]
    warn = []
    empty = [t.table for t in cs if t.rows_a == 0 and t.rows_b == 0 and t.table != "death"]
    if empty:
        warn.append(f"Nothing compared in: {', '.join(empty)} (no rows in either warehouse).")
    if any(t.only_a or t.only_b for t in nd):
        warn.append("Bundles and NDJSON of the same resources disagree: a reader bug.")
    parts = [
        "<p>The same patients, three transports. NDJSON and CSV are rendered from the bundles "
        "by <code>medmine.synth.synthea_formats</code>; rows are compared without surrogate "
        "keys, foreign keys as natural keys (<code>Patient/&lt;id&gt;</code>...), amounts to "
        "the cent. Mapping decisions: <code>docs/mapping.md</code>.</p>",
        *(f"<p class='warn'><b>Warning:</b> {e(w)}</p>" for w in warn),
        "<h2>Loads</h2>",
        table_html(load_rows, name="format_loads"),
        "<h2>FHIR bundles vs Bulk NDJSON</h2>",
        table_html(_rows(nd, "bundles", "NDJSON"), name="bundles_vs_ndjson"),
        "<h2>FHIR bundles vs Synthea CSV</h2>",
        table_html(_rows(cs, "FHIR", "CSV"), name="fhir_vs_csv"),
        "<h2>Documented differences (facts the CSV layout cannot carry)</h2>",
        table_html(
            [{"table": t, "column": c, "reason": r} for (t, c), r in CSV_LACKS.items()],
            name="csv_lacks",
        ),
        "<h2>Decisions pending in the FHIR reader</h2>",
        table_html(
            [{"table": t, "column": c, "request": r} for (t, c), r in PENDING_FHIR.items()],
            name="pending_fhir",
        ),
        "<p>Repeated measurements (same person, code, time, value and unit under another id) "
        "are loaded as the source says and counted by the <code>repeated_measurement</code> "
        "quality check; CSV keeps byte-identical lines once.</p>",
    ]
    return render_page(
        path,
        "Format agreement",
        "".join(parts),
        subtitle="one population as FHIR bundles, Bulk NDJSON and Synthea CSV",
        context=page,
    )
