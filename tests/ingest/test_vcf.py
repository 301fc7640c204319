"""VCF reader: pharmacogene genotypes in, everything else counted, bad lines quarantined."""

from __future__ import annotations

import gzip

import pytest

from medmine.errors import SourceError
from medmine.ingest import vcf
from medmine.pgx.calling import GENES, genotype_of, load_gene

HEADER = "##fileformat=VCFv4.2\n##reference=GRCh38\n"


def _positions():
    return {
        (load_gene(g).chromosome, p): (g, r)
        for g in GENES
        for p, r in zip(load_gene(g).positions, load_gene(g).rsids, strict=True)
    }


def _persons(wh, n=3):
    wh.con.execute(
        "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
        "ethnicity_concept_id, person_source_value) SELECT i, 0, 1970, 0, 0, 'P' || i "
        "FROM range(1, ?) t(i)",
        [n + 1],
    )


def _vcf_lines(diplotypes: dict[str, str], phased: bool = False) -> list[str]:
    """Data lines for CYP2C19 with one sample per entry of `diplotypes`."""
    g = load_gene("CYP2C19")
    gts = {s: genotype_of("CYP2C19", d) for s, d in diplotypes.items()}
    lines = []
    for j, pos in enumerate(g.positions):
        alleles = g.vcf_alleles[j]
        cells = []
        for s in diplotypes:
            a, b = gts[s][pos]
            sep = "|" if phased else "/"
            cells.append(f"{alleles.index(a)}{sep}{alleles.index(b)}")
        lines.append(
            f"chr10\t{pos}\t{g.rsids[j] or '.'}\t{alleles[0]}\t{','.join(alleles[1:])}\t.\tPASS"
            f"\t.\tGT\t" + "\t".join(cells)
        )
    return lines


def test_load_reconciles_and_quarantines_bad_lines(wh, tmp_path):
    _persons(wh)
    samples = {"S1": "*1/*2", "S2": "*2/*17", "S9": "*1/*1"}
    body = _vcf_lines(samples)
    body.insert(3, "chr10\tnot-a-position\tbroken")
    body.append("chr1\t12345\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0\t1/1")  # not a pharmacogene
    bad_gt = body[5].split("\t")
    bad_gt[9] = "0/7"  # allele index out of range
    body[5] = "\t".join(bad_gt)
    text = HEADER + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS9\n"
    path = tmp_path / "panel.vcf.gz"
    with gzip.open(path, "wt") as f:
        f.write(text + "\n".join(body) + "\n")
    smap = tmp_path / "samples.csv"
    smap.write_text("sample_id,person_source_value\nS1,P1\nS2,P2\n")
    rep = vcf.load([path], wh, sample_map=smap, positions=_positions())
    c = rep.counts["Genotype"]
    n_pos = len(load_gene("CYP2C19").positions)
    assert c.read == c.loaded + c.skipped + c.quarantined
    # S9 is not in the map: every one of its genotypes is quarantined, never guessed.
    assert c.skipped == 3  # the chr1 line, once per sample
    assert c.quarantined == n_pos + 1 + 1  # S9 per site, the broken line, the bad GT
    assert c.loaded == 2 * n_pos - 1
    q = wh.con.execute(
        "SELECT reason_code, count(*) FROM mm_quarantine GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert dict(q) == {"dangling_reference": n_pos, "invalid_value": 1, "malformed": 1}
    loc = wh.con.execute(
        "SELECT location FROM mm_quarantine WHERE reason_code = 'malformed'"
    ).fetchone()[0]
    assert loc.startswith("line 7")  # 3 header lines + 3 data lines before it
    # Idempotent: a second load adds nothing.
    rep2 = vcf.load([path], wh, sample_map=smap, positions=_positions())
    assert wh.count("mm_genotype") == 2 * n_pos - 1
    assert rep2.counts["Genotype"].loaded == 0


def test_grch37_files_are_refused(wh, tmp_path):
    path = tmp_path / "old.vcf"
    path.write_text("##fileformat=VCFv4.1\n##reference=file:///ref/hg19.fa\n#CHROM\tPOS\n")
    with pytest.raises(SourceError, match="GRCh37"):
        vcf.load([path], wh, sample_map={}, positions=_positions())


def test_sample_map_needs_its_columns(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("sample,person\nS1,P1\n")
    with pytest.raises(SourceError, match="sample_id"):
        vcf.read_sample_map(p)
