"""Demo step for pattern mining: phenotypes, comorbidity rules and claims fraud.

* `phenotypes` and `comorbidity_rules` on the demo warehouse (Eunomia + FHIR sample);
* `claims_fraud` on the FHIR sample's Claim/EOB rows with claim-level schemes injected into a
  scratch copy (known answers), plus a simulated professional claims set with every scheme
  injected; both are evaluated on the same page.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from medmine.warehouse import Warehouse

#: Tables copied into the scratch warehouse where FHIR claims receive injected schemes.
CLAIM_TABLES = (
    "person",
    "death",
    "provider",
    "visit_occurrence",
    "mm_claim",
    "mm_claim_line",
    "mm_source_concept",
)


def _fhir_injected_section(src: str, cfg: Any) -> tuple[str, Any] | None:
    """Copy the claims of warehouse file `src`, inject claim-level schemes, run the study."""
    from medmine.studies import claims_fraud
    from medmine.synth import fraud

    with tempfile.TemporaryDirectory() as d, Warehouse(Path(d) / "claims.duckdb") as scratch:
        scratch.con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        for t in CLAIM_TABLES:
            scratch.con.execute(f'INSERT INTO "{t}" SELECT * FROM src."{t}"')
        scratch.con.execute("DETACH src")
        if not scratch.count("mm_claim_line"):
            return None
        truth = fraud.inject_warehouse(scratch)
        result = claims_fraud.run(scratch, cfg, truth=truth)
    return "FHIR sample claims (Synthea, SNOMED-coded) with injected claim-level schemes", result


def patterns_step(ctx: Any) -> None:
    """Run the three pattern studies, write their pages and add index links."""
    from medmine.report import ReportLink
    from medmine.studies import audit_study, claims_fraud, comorbidity_rules, phenotypes

    out = Path(ctx.reports_dir)
    with Warehouse(ctx.warehouse) as wh:
        for mod in (phenotypes, comorbidity_rules):
            t = time.perf_counter()
            link = mod.run_page(wh, out)
            audit_study(wh, mod.__name__.rsplit(".", 1)[-1], link.summary)
            ctx.links.append(link)
            ctx.console.print(f"  {link.title}: {link.href} ({time.perf_counter() - t:.0f} s)")
        has_claims = wh.count("mm_claim_line") > 0
    t = time.perf_counter()
    cfg = claims_fraud.FraudStudyConfig()
    sections = []
    if has_claims and ctx.warehouse != ":memory:":
        section = _fhir_injected_section(str(ctx.warehouse), cfg)
        if section:
            sections.append(section)
    sections.append(claims_fraud.simulated_section(cfg))
    page = claims_fraud.write_page(sections, out / "study_claims_fraud.html")
    ctx.links.append(
        ReportLink(
            "Claims fraud",
            page.name,
            " | ".join(claims_fraud.summary(r) for _, r in sections),
        )
    )
    ctx.console.print(f"  Claims fraud: {page.name} ({time.perf_counter() - t:.0f} s)")
