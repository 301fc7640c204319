"""Pharmacogene calling: every CPIC diplotype round trip, PharmCAT's cases, calls per second.

    .venv/bin/python bench/pgx.py

For each gene, every diplotype of CPIC's phenotype table whose alleles are SNV-defined (and,
for CYP2D6, every pair of alleles with a CPIC activity value) is turned into the genotype it
implies and called back, unphased and phased. Reported: exact calls, calls where unphased
data cannot tell the diplotype from a higher-scoring one (the expected diplotype is still
among the candidates), errors (expected not even consistent), phenotype agreement, and calls
per second. Then PharmCAT's own test cases. Writes bench/results/pgx.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from medmine.pgx.calling import (
    CYP2D6_ACTIVITY,
    GENES,
    call_gene,
    cpic_example_diplotypes,
    genotype_of,
    load_gene,
    pairs_of,
    phenotype_of,
)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "pgx.json"


def round_trip(gene: str) -> dict:
    g = load_gene(gene)
    if gene == "CYP2D6":
        names = [n for n in g.names if n in CYP2D6_ACTIVITY]
        examples = [f"{a}/{b}" for a, b in pairs_of(names)]
    else:
        examples = cpic_example_diplotypes(gene)
    exact = ambiguous = errors = phased_exact = pheno = 0
    t = time.perf_counter()
    for d in examples:
        gt = genotype_of(gene, d)
        a, b = d.split("/")
        both = {d, f"{b}/{a}"}
        call = call_gene(gene, gt)
        if both & set(call.diplotypes):
            exact += 1
        elif both & set(call.candidates):
            ambiguous += 1
        else:
            errors += 1
        phased_exact += bool(both & set(call_gene(gene, gt, phased=True).diplotypes))
        expected = g.diplotypes.get(d) or phenotype_of(g, d)[0]
        pheno += call.phenotype == expected
    secs = time.perf_counter() - t
    return {
        "examples": len(examples),
        "exact_unphased": exact,
        "ambiguous_unphased": ambiguous,
        "errors": errors,
        "exact_phased": phased_exact,
        "phenotype_agrees_unphased": pheno,
        "calls_per_second": round(2 * len(examples) / secs, 1),
    }


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.pgx.pharmcat_cases import load_cases, score_case

    genes = {gene: round_trip(gene) for gene in GENES}
    cases = load_cases()
    passed = sum(score_case(c)[0] for c in cases)
    result = {
        "source": load_gene("CYP2C19").source,
        "round_trip": genes,
        "totals": {
            k: sum(v[k] for v in genes.values())
            for k in ("examples", "exact_unphased", "ambiguous_unphased", "errors", "exact_phased")
        },
        "pharmcat_cases": {
            "passed": passed,
            "total": len(cases),
            "first_score_before_missing_position_rule": "28/34",
        },
    }
    print(json.dumps(result, indent=2))
    OUT.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
