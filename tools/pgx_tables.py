"""Build medmine's pharmacogene tables from PharmCAT's CPIC/ClinPGx definition files.

    python tools/pgx_tables.py /path/to/PharmCAT  # a checkout of github.com/PharmGKB/PharmCAT

Writes ``src/medmine/pgx/data/<GENE>.json`` for the genes medmine calls: the variant
positions (GRCh38), every named allele's bases at those positions (IUPAC codes kept, null =
reference), and, where PharmCAT ships a phenotype file, each allele's function and
activity value and each diplotype's CPIC phenotype. Source: PharmCAT (MPL-2.0) definition
files, which are generated from CPIC's allele definition and functionality tables.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

GENES = ("CYP2C19", "CYP2C9", "CYP2D6", "DPYD", "NUDT15", "SLCO1B1", "TPMT", "VKORC1")
OUT = Path(__file__).resolve().parents[1] / "src" / "medmine" / "pgx" / "data"
DEF = "src/main/resources/org/pharmgkb/pharmcat/definition/alleles"
PHE = "src/main/resources/org/pharmgkb/pharmcat/phenotype"


def _show(repo: Path, path: str) -> str | None:
    r = subprocess.run(
        ["git", "-C", str(repo), "show", f"HEAD:{path}"], capture_output=True, text=True
    )
    return r.stdout if r.returncode == 0 else None


def main(repo: Path) -> None:
    """Write the gene tables from the PharmCAT checkout `repo`."""
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    for gene in GENES:
        d = json.loads(_show(repo, f"{DEF}/{gene}_translation.json"))
        out = {
            "gene": gene,
            "source": f"PharmCAT {commit} ({d['source']} definitions {d['version']})",
            "genome_build": d["genomeBuild"],
            "chromosome": d["chromosome"],
            "variants": [
                {
                    "position": v["position"],
                    "rsid": v.get("rsid"),
                    "ref": v["ref"],
                    "alts": v["alts"],
                    "to_vcf": v.get("cpicToVcfAlleleMap") or {},
                }
                for v in d["variants"]
            ],
            "alleles": [
                {
                    "name": a["name"],
                    "reference": a["reference"],
                    "structural": a.get("structuralVariant", False),
                    "score": a.get("score"),
                    "bases": a["alleles"],
                }
                for a in d["namedAlleles"]
            ],
        }
        phe = _show(repo, f"{PHE}/{gene}.json")
        if phe:
            p = json.loads(phe)
            out["functions"] = p.get("haplotypes", {})
            out["activity"] = p.get("activityValues", {})
            out["diplotypes"] = {
                r["diplotype"]: r["phenotype"] or r["generesult"] for r in p["diplotypes"]
            }
            out["phenotype_version"] = p.get("version")
        (OUT / f"{gene}.json").write_text(json.dumps(out, separators=(",", ":")) + "\n")
        print(
            gene,
            len(out["variants"]),
            "positions",
            len(out["alleles"]),
            "alleles",
            len(out.get("diplotypes", {})),
            "diplotypes",
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
