"""Score medmine's caller on PharmCAT's own test cases (tests/data/pgx/pharmcat)."""

from __future__ import annotations

import json
from pathlib import Path

from medmine.ingest.vcf import _lines  # noqa: PLC2701 - test helper reads the same way
from medmine.pgx.calling import call_gene, load_gene

HERE = Path(__file__).resolve().parents[1] / "data" / "pgx" / "pharmcat"


def genotype_for(case: dict) -> tuple[dict[int, tuple[str, str]], bool]:
    """The genotype a PharmCAT case describes (builder edits or its VCF), and its phasing."""
    g = load_gene(case["gene"])
    if "vcf" in case:
        gt, phased = {}, True
        for line in _lines(HERE / case["vcf"]):
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\r\n").split("\t")
            pos = int(cols[1])
            if pos not in g.positions:
                continue
            alleles = [cols[3], *cols[4].split(",")]
            call = cols[9].split(":")[0]
            phased = phased and ("|" in call or call.replace("|", "/").split("/")[0] == call)
            idx = call.replace("|", "/").split("/")
            if "." in idx:
                continue
            gt[pos] = (alleles[int(idx[0])], alleles[int(idx[-1])])
        return gt, phased and len(gt) > 0 and any("|" in x for x in [""])
    by_rsid = dict(zip(g.rsids, g.positions, strict=True))
    gt = {}
    for j, pos in enumerate(g.positions):
        ref = g.vcf_alleles[j][0]
        gt[pos] = (ref, ref)
    for rsid, (a, b) in case["variation"].items():
        j = g.positions.index(by_rsid[rsid])
        to_vcf = _to_vcf(case["gene"], j)
        gt[by_rsid[rsid]] = (to_vcf.get(a, a), to_vcf.get(b, b))
    for rsid in case["missing"]:
        gt.pop(by_rsid[rsid], None)
    return gt, bool(case["phased"])


def _to_vcf(gene: str, j: int) -> dict[str, str]:
    from importlib import resources

    d = json.loads((resources.files("medmine.pgx") / "data" / f"{gene}.json").read_text())
    return d["variants"][j]["to_vcf"]


def score_case(case: dict) -> tuple[bool, list[str]]:
    """Whether medmine returns PharmCAT's asserted list; and what it returned."""
    gt, phased = genotype_for(case)
    call = call_gene(case["gene"], gt, phased=phased)
    got = list(call.diplotypes) if case["top_only"] else list(call.candidates)
    return sorted(got) == sorted(case["expected"]), got


def load_cases() -> list[dict]:
    """The extracted cases."""
    return json.loads((HERE / "cases.json").read_text())["cases"]
