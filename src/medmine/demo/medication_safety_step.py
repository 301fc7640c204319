"""The medication-safety step of the demo: drug-safety signals and pharmacogenomic checks.

* `drug_safety` on the demo warehouse: Eunomia carries the NSAID -> GI bleed signal
  (celecoxib, diclofenac -> concept 192671), which the study must find;
* `pharmacogenomics`: the bundled samples hold no genotypes, so the demo simulates a VCF for
  the persons prescribed a CPIC guideline drug (and others, up to 600 in all) at
  published allele frequencies (`medmine.demo.pgx_sample`), loads it with the real VCF
  reader and runs the study; the page says the genotypes are simulated.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from medmine.demo.pgx_sample import write_vcf
from medmine.ingest import vcf
from medmine.pgx.calling import GENES, load_gene
from medmine.pgx.recommend import guideline_drugs
from medmine.report import page_context
from medmine.report.study_pages import write_study
from medmine.studies import audit_study, get_study
from medmine.warehouse import Warehouse

#: Persons given simulated genotypes at most.
MAX_GENOTYPED = 600

SIMULATED_NOTE = (
    "Genotypes are simulated (the bundled samples carry none): two haplotypes per person drawn "
    "from European-ancestry allele frequencies, so the phenotype frequencies match the "
    "published ones by construction and say nothing about this population."
)


def _persons(wh: Any) -> list[str]:
    """Person source values: those prescribed a guideline drug first, then others."""
    pattern = "(" + "|".join(guideline_drugs()) + ")"
    has_concept = wh.count("concept") > 0
    name = "coalesce(c.concept_name, d.drug_source_value)" if has_concept else "d.drug_source_value"
    join = "LEFT JOIN concept c ON c.concept_id = d.drug_concept_id" if has_concept else ""
    rows = wh.con.execute(
        f"""
        WITH rx AS (
          SELECT DISTINCT d.person_id FROM drug_exposure d {join}
          WHERE regexp_matches(lower({name}), ?)
        )
        SELECT p.person_source_value FROM person p LEFT JOIN rx USING (person_id)
        WHERE p.person_source_value IS NOT NULL
        ORDER BY rx.person_id IS NULL, hash(p.person_id) LIMIT ?
        """,
        [pattern, MAX_GENOTYPED],
    ).fetchall()
    return [r[0] for r in rows]


def medication_safety_step(ctx: Any) -> None:
    """Run drug_safety and pharmacogenomics on the demo warehouse; add their pages."""
    out = Path(ctx.reports_dir)
    with Warehouse(ctx.warehouse) as wh:
        page = page_context(wh, command="medmine demo")
        t = time.perf_counter()
        link = write_study(get_study("drug_safety").run(wh), out, context=page)
        audit_study(wh, "drug_safety", link.summary)
        ctx.links.append(link)
        ctx.console.print(f"  {link.title}: {link.href} ({time.perf_counter() - t:.0f} s)")
        t = time.perf_counter()
        persons = _persons(wh)
        positions = {
            (load_gene(g).chromosome, p): (g, r)
            for g in GENES
            for p, r in zip(load_gene(g).positions, load_gene(g).rsids, strict=True)
        }
        with tempfile.TemporaryDirectory() as d:
            panel, smap = write_vcf(persons, Path(d), seed=7)
            vcf.load([panel], wh, sample_map=smap, positions=positions)
        result = get_study("pharmacogenomics").run(wh)
        result.notes.insert(0, SIMULATED_NOTE)
        result.data_source = "demo warehouse with simulated genotypes"
        link = write_study(result, out, context=page)
        audit_study(wh, "pharmacogenomics", link.summary)
        ctx.links.append(link)
        ctx.console.print(f"  {link.title}: {link.href} ({time.perf_counter() - t:.0f} s)")
