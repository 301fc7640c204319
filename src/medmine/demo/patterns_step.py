"""The pattern-mining step of the demo: phenotypes, comorbidity rules and claims fraud.

* `phenotypes` and `comorbidity_rules` on the demo warehouse (Eunomia + FHIR sample);
* `claims_fraud` on the FHIR sample's Claim/EOB rows with claim-level schemes injected into a
  scratch copy (known answers), plus a simulated professional claims set with every scheme
  injected; both are evaluated on the same page, each section titled with where its claims
  came from.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from medmine.report import page_context
from medmine.report.study_pages import write_study
from medmine.studies import audit_study, claims_fraud, get_study
from medmine.studies.claims_fraud import FraudResult, FraudStudyConfig
from medmine.synth import fraud
from medmine.warehouse import Warehouse
from medmine.warehouse.sql import ident, literal

#: Tables copied into the scratch warehouse where FHIR claims receive injected schemes.
CLAIM_TABLES = (
    "person",
    "death",
    "provider",
    "care_site",  # billing organisations: names on the organisation worklist
    "visit_occurrence",
    "mm_claim",
    "mm_claim_line",
    "mm_source_concept",
)


#: Why `medmine study claims_fraud` does not give the same figures as the demo's page.
INJECTED_NOTE = (
    "Both sections run on scratch copies with injected fraud schemes (known answers): the "
    "FHIR claims of the demo warehouse, and a simulated claims set kept in memory. The command "
    "runs the same analysis with the same options on the warehouse's own claims, without "
    "injection or evaluation.",
)


def fhir_injected_section(src: str, cfg: FraudStudyConfig) -> tuple[str, FraudResult] | None:
    """Copy the claims of warehouse file `src`, inject claim-level schemes, run the study."""
    with tempfile.TemporaryDirectory() as d, Warehouse(Path(d) / "claims.duckdb") as scratch:
        scratch.con.execute(f"ATTACH {literal(src)} AS src (READ_ONLY)")
        for t in CLAIM_TABLES:
            scratch.con.execute(f"INSERT INTO {ident(t)} SELECT * FROM src.{ident(t)}")
        scratch.con.execute("DETACH src")
        if not scratch.count("mm_claim_line"):
            return None
        truth = fraud.inject_warehouse(scratch)
        result = claims_fraud.run(scratch, cfg, truth=truth)
    return "FHIR sample claims (Synthea, SNOMED-coded) with injected claim-level schemes", result


def simulated_section(
    config: FraudStudyConfig | None = None, sim: Any = None
) -> tuple[str, FraudResult]:
    """Simulate professional claims, inject every scheme, run and evaluate the study."""
    sim = sim or fraud.SimConfig(n_providers=150, n_patients=3000, seed=1)
    data, truth = fraud.simulate_injected(sim)
    # Flag budget = the injected share of providers, so recall is read at a matched budget.
    share = len(truth.providers) / len(data.providers)
    cfg = dataclasses.replace(config or FraudStudyConfig(), contamination=round(share, 3))
    with Warehouse(":memory:") as scratch:
        fraud.to_warehouse(data, scratch)
        result = claims_fraud.run(scratch, cfg, truth=truth)
    result.data_source = "simulated"
    title = (
        f"Simulated professional claims ({sim.n_providers} providers, {sim.n_patients:,} "
        f"patients, seed {sim.seed}) with injected schemes; provider flag budget {share:.0%}"
    )
    return title, result


def patterns_step(ctx: Any) -> None:
    """Run the three pattern studies, write their pages and add index links."""
    out = Path(ctx.reports_dir)
    with Warehouse(ctx.warehouse) as wh:
        page = page_context(wh, command="medmine demo")
        for name in ("phenotypes", "comorbidity_rules"):
            t = time.perf_counter()
            link = write_study(get_study(name).run(wh), out, context=page)
            audit_study(wh, name, link.summary)
            ctx.links.append(link)
            ctx.console.print(f"  {link.title}: {link.href} ({time.perf_counter() - t:.0f} s)")
        has_claims = wh.count("mm_claim_line") > 0
    t = time.perf_counter()
    cfg = FraudStudyConfig()
    sections = []
    if has_claims and ctx.warehouse != ":memory:":
        section = fhir_injected_section(str(ctx.warehouse), cfg)
        if section:
            sections.append(section)
    sections.append(simulated_section(cfg))
    link = write_study(
        sections[0][1], out, sections=sections, context=page, reproduce_notes=INJECTED_NOTE
    )
    ctx.links.append(link)
    ctx.console.print(f"  Claims fraud: {link.href} ({time.perf_counter() - t:.0f} s)")
