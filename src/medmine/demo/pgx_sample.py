"""Simulated pharmacogene genotypes at published allele frequencies, written as a VCF.

For the demo only: the bundled samples carry no genotypes, so the demo draws two haplotypes
per person from European-ancestry allele frequencies (CPIC frequency tables, rounded; the
alleles below, every other haplotype the gene's reference) and writes the genotypes they
imply at every defining position, unphased, as a VCF with a sample map. The page says the
genotypes are simulated.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> vcf, smap = write_vcf(["P1", "P2"], d, seed=0)
>>> vcf.exists() and smap.read_text().startswith("sample_id")
True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medmine.pgx.calling import GENES, genotype_of, load_gene

#: Allele frequencies (European ancestry, CPIC frequency tables, rounded).
FREQUENCIES: dict[str, dict[str, float]] = {
    "CYP2C19": {"*2": 0.15, "*3": 0.003, "*17": 0.21},
    "CYP2C9": {"*2": 0.13, "*3": 0.07},
    "CYP2D6": {"*2": 0.27, "*4": 0.18, "*9": 0.02, "*10": 0.03, "*41": 0.09},
    "SLCO1B1": {"*5": 0.02, "*15": 0.15},
    "TPMT": {"*2": 0.002, "*3A": 0.035, "*3C": 0.005},
    "NUDT15": {"*3": 0.002},
    "DPYD": {"c.1905+1G>A (*2A)": 0.005, "c.2846A>T": 0.004, "c.1129-5923C>G": 0.02},
    "VKORC1": {"rs9923231 variant (T)": 0.39},
}


def _haplotype(gene: str, rng: np.random.Generator) -> str:
    g = load_gene(gene)
    freqs = FREQUENCIES.get(gene, {})
    names = [n for n in freqs if n in g.names]
    p = [freqs[n] for n in names]
    pick = rng.choice(len(names) + 1, p=[*p, 1 - sum(p)])
    return names[pick] if pick < len(names) else g.reference


def write_vcf(samples: Sequence[str], folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write ``pgx_panel.vcf`` and ``sample_map.csv`` for `samples` (person source values).

    Sample ids are ``S0001``...; the map ties each to its person, as a lab's sample map would.
    """
    rng = np.random.default_rng(seed)
    ids = [f"S{i:04d}" for i in range(1, len(samples) + 1)]
    diplotypes = {
        gene: [f"{_haplotype(gene, rng)}/{_haplotype(gene, rng)}" for _ in samples]
        for gene in GENES
    }
    lines = [
        "##fileformat=VCFv4.2",
        "##source=medmine.demo.pgx_sample (simulated genotypes)",
        "##reference=GRCh38",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(ids),
    ]
    for gene in GENES:
        g = load_gene(gene)
        genos = [genotype_of(gene, d) for d in diplotypes[gene]]
        for j, pos in enumerate(g.positions):
            alleles = g.vcf_alleles[j]
            cells = [f"{alleles.index(gt[pos][0])}/{alleles.index(gt[pos][1])}" for gt in genos]
            lines.append(
                f"{g.chromosome}\t{pos}\t{g.rsids[j] or '.'}\t{alleles[0]}\t"
                f"{','.join(alleles[1:]) or '.'}\t.\tPASS\t.\tGT\t" + "\t".join(cells)
            )
    folder.mkdir(parents=True, exist_ok=True)
    vcf = folder / "pgx_panel.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    smap = folder / "sample_map.csv"
    smap.write_text(
        "sample_id,person_source_value\n"
        + "".join(f"{i},{s}\n" for i, s in zip(ids, samples, strict=True))
    )
    return vcf, smap
