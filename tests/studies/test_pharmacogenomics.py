"""The pharmacogenomics study: calls from loaded VCFs, prescriptions checked against CPIC."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from medmine.ingest import vcf
from medmine.pgx.calling import GENES, call_gene, genotype_of, load_gene
from medmine.pgx.recommend import Recommendation, recommend, warfarin
from medmine.report.study_pages import write_study
from medmine.studies import MissingDataError, get_study

#: person -> diplotype per gene (everything else reference).
PEOPLE = {
    "P1": {
        "CYP2C19": "*2/*2",
        "CYP2C9": "*1/*3",
        "VKORC1": "rs9923231 variant (T)/rs9923231 variant (T)",
    },
    "P2": {"CYP2C19": "*1/*17", "SLCO1B1": "*5/*5"},
    "P3": {"TPMT": "*1/*3A", "CYP2D6": "*4/*4"},
}
DRUGS = {  # person -> (RxNorm code, display)
    "P1": [
        ("32968", "clopidogrel 75 MG Oral Tablet"),
        ("11289", "warfarin sodium 5 MG Oral Tablet"),
    ],
    "P2": [("32968", "clopidogrel 75 MG Oral Tablet"), ("36567", "simvastatin 40 MG Oral Tablet")],
    "P3": [
        ("1256", "azathioprine 50 MG Oral Tablet"),
        ("2670", "codeine phosphate 30 MG"),
        ("10324", "tamoxifen 20 MG Oral Tablet"),
        ("5640", "ibuprofen 200 MG Oral Tablet"),
    ],
}


def _write_vcf(path):
    samples = list(PEOPLE)
    lines = [
        "##fileformat=VCFv4.2",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples),
    ]
    for gene in GENES:
        g = load_gene(gene)
        gts = {
            s: genotype_of(gene, PEOPLE[s].get(gene, f"{g.reference}/{g.reference}"))
            for s in samples
        }
        for j, pos in enumerate(g.positions):
            al = g.vcf_alleles[j]
            cells = [f"{al.index(gts[s][pos][0])}/{al.index(gts[s][pos][1])}" for s in samples]
            lines.append(
                f"{g.chromosome}\t{pos}\t.\t{al[0]}\t{','.join(al[1:])}\t.\tPASS\t.\tGT\t"
                + "\t".join(cells)
            )
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def pgx_wh(wh, tmp_path):
    con = wh.con
    for i, p in enumerate(PEOPLE, start=1):
        con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, "
            "race_concept_id, ethnicity_concept_id, person_source_value) "
            "VALUES (?, 0, 1960, 0, 0, ?)",
            [i, p],
        )
        for k, (code, name) in enumerate(DRUGS[p]):
            con.execute(
                "INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id,"
                " drug_exposure_start_date, drug_exposure_end_date, drug_type_concept_id, "
                "drug_source_value) VALUES (?, ?, 0, ?, ?, 0, ?)",
                [i * 100 + k, i, dt.date(2024, 1, 1 + k), dt.date(2024, 2, 1), f"RxNorm:{code}"],
            )
            con.execute(
                "INSERT OR IGNORE INTO mm_source_concept (vocabulary_id, code, display) "
                "VALUES ('RxNorm', ?, ?)",
                [code, name],
            )
    _write_vcf(tmp_path / "panel.vcf")
    (tmp_path / "map.csv").write_text(
        "sample_id,person_source_value\n" + "".join(f"{p},{p}\n" for p in PEOPLE)
    )
    positions = {
        (load_gene(g).chromosome, p): (g, r)
        for g in GENES
        for p, r in zip(load_gene(g).positions, load_gene(g).rsids, strict=True)
    }
    vcf.load([tmp_path / "panel.vcf"], wh, sample_map=tmp_path / "map.csv", positions=positions)
    return wh


def test_prescriptions_are_checked_and_flagged(pgx_wh, tmp_path):
    res = get_study("pharmacogenomics").run(pgx_wh)
    calls = res.calls.set_index(["person_id", "gene"])
    assert calls.loc[(1, "CYP2C19"), "phenotype"] == "Poor Metabolizer"
    assert calls.loc[(2, "SLCO1B1"), "phenotype"] == "Poor Function"
    assert calls.loc[(3, "CYP2D6"), "activity_score"] == 0.0
    checks = res.checks.set_index(["person_id", "drug", "gene"])
    assert checks.loc[(1, "clopidogrel", "CYP2C19"), "actionable"]
    assert "prasugrel" in checks.loc[(1, "clopidogrel", "CYP2C19"), "recommendation"]
    assert not checks.loc[(2, "clopidogrel", "CYP2C19"), "actionable"]  # rapid metaboliser
    assert "0.5-2 mg/day" in checks.loc[(1, "warfarin", "CYP2C9+VKORC1"), "recommendation"]
    assert checks.loc[(2, "simvastatin", "SLCO1B1"), "actionable"]
    assert checks.loc[(3, "codeine", "CYP2D6"), "actionable"]
    assert checks.loc[(3, "tamoxifen", "CYP2D6"), "actionable"]
    assert checks.loc[(3, "azathioprine", "TPMT"), "actionable"]
    assert not checks.loc[(3, "azathioprine", "NUDT15"), "actionable"]
    assert "ibuprofen" not in set(res.checks["drug"])
    assert len(res.flagged) == 6
    assert any("copy" in w for w in res.warnings) and any("noisy" in w for w in res.warnings)
    link = write_study(res, tmp_path)
    page = (tmp_path / link.href).read_text()
    assert "Flagged prescriptions" in page and "prasugrel" in page
    data = json.loads((tmp_path / "study_pharmacogenomics.json").read_text())
    assert "phenotype_frequencies" in json.dumps(data)


def test_without_genotypes_the_study_says_how_to_load_them(wh):
    with pytest.raises(MissingDataError, match="medmine ingest vcf"):
        get_study("pharmacogenomics").run(wh)


def test_warfarin_label_table_and_gaps():
    c9 = call_gene("CYP2C9", genotype_of("CYP2C9", "*1/*1"))
    vk = call_gene(
        "VKORC1", genotype_of("VKORC1", "rs9923231 reference (C)/rs9923231 reference (C)")
    )
    rec = warfarin(c9, vk)
    assert isinstance(rec, Recommendation) and "5-7 mg/day" in rec.text and not rec.actionable
    odd = call_gene("CYP2C9", genotype_of("CYP2C9", "*1/*8"))
    assert "IWPC" in warfarin(odd, vk).text
    assert recommend("warfarin", {"CYP2C9": c9}) == []
