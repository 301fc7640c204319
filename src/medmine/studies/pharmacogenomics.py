"""Study `pharmacogenomics`: genotype -> diplotype -> CPIC phenotype -> prescribing checks.

For every person with genotypes in ``mm_genotype`` (from `medmine ingest vcf`), each
pharmacogene is called (`medmine.pgx.calling`); diplotypes a lab reported as FHIR Genomics
Reporting Observations (`medmine.pgx.fhir_genomics`) are used where no VCF call exists, and
disagreements are counted. Then every drug exposure to a CPIC guideline
drug is checked against the person's phenotype (`medmine.pgx.recommend`). The page lists the
flagged prescriptions with the guideline, its strength and an explanation a clinician can
read, and compares the population's phenotype frequencies with published ones.

Published frequencies (``PUBLISHED``) are CPIC's frequency tables for European ancestry, the
largest group in most US cohorts; the page says so, and a population of another ancestry
mix will differ for reasons that are not errors.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from medmine.features.persons import select_persons
from medmine.pgx.calling import GENES, GeneCall, call_gene, load_gene, phenotype_of
from medmine.pgx.fhir_genomics import reported_diplotypes
from medmine.pgx.recommend import guideline_drugs, recommend
from medmine.studies.contract import FunctionStudy, MissingDataError, StudyResult

#: Phenotype frequencies in European-ancestry populations (CPIC gene-specific frequency
#: tables, rounded): the reference the page compares with.
PUBLISHED: dict[str, dict[str, float]] = {
    "CYP2C19": {
        "Ultrarapid Metabolizer": 0.046,
        "Rapid Metabolizer": 0.27,
        "Normal Metabolizer": 0.40,
        "Intermediate Metabolizer": 0.26,
        "Poor Metabolizer": 0.024,
    },
    "CYP2C9": {
        "Normal Metabolizer": 0.63,
        "Intermediate Metabolizer": 0.35,
        "Poor Metabolizer": 0.025,
    },
    "CYP2D6": {
        "Normal Metabolizer": 0.49,
        "Intermediate Metabolizer": 0.38,
        "Poor Metabolizer": 0.065,
        "Ultrarapid Metabolizer": 0.02,
    },
    "SLCO1B1": {
        "Normal Function": 0.63,
        "Decreased Function": 0.33,
        "Poor Function": 0.03,
    },
    "TPMT": {
        "Normal Metabolizer": 0.91,
        "Intermediate Metabolizer": 0.087,
        "Poor Metabolizer": 0.002,
    },
    "NUDT15": {
        "Normal Metabolizer": 0.99,
        "Intermediate Metabolizer": 0.01,
        "Poor Metabolizer": 0.0001,
    },
    "DPYD": {
        "Normal Metabolizer": 0.93,
        "Intermediate Metabolizer": 0.07,
        "Poor Metabolizer": 0.002,
    },
}


@dataclass(frozen=True)
class PgxConfig:
    """Settings of the pharmacogenomics study."""

    #: Prescribing checks serve treatment (HIPAA treatment use needs no research consent);
    #: give ``research`` to restrict to persons who allow research, e.g. for the frequencies.
    purpose: str | None = None
    #: Show at most this many flagged prescriptions on the page (all are in the output).
    max_rows: int = 500


@dataclass(kw_only=True)
class PgxResult(StudyResult):
    """Calls per person and gene, flagged prescriptions and phenotype frequencies."""

    name: str = "pharmacogenomics"
    title: str = "Pharmacogenomic prescribing checks"
    config: PgxConfig
    calls: pd.DataFrame
    checks: pd.DataFrame
    frequencies: pd.DataFrame
    n_persons: int
    n_excluded: int
    warnings: list[str] = field(default_factory=list)
    #: Genotype Observations from FHIR, usable or with the reason they are not.
    reported: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def flagged(self) -> pd.DataFrame:
        """Prescriptions whose guideline departs from usual prescribing."""
        return self.checks[self.checks["actionable"]] if len(self.checks) else self.checks

    def summary(self) -> str:
        """Persons genotyped, prescriptions checked and flagged."""
        return (
            f"{self.n_persons:,} persons genotyped; {len(self.checks):,} guideline-drug "
            f"prescriptions checked, {len(self.flagged):,} flagged"
        )

    def key_figures(self) -> dict[str, Any]:
        """Counts, flags by drug and phenotype frequencies."""
        by_drug = Counter(self.flagged["drug"]) if len(self.flagged) else Counter()
        return {
            "persons_genotyped": self.n_persons,
            "excluded_by_consent": self.n_excluded,
            "prescriptions_checked": len(self.checks),
            "prescriptions_flagged": len(self.flagged),
            "flagged_by_drug": dict(sorted(by_drug.items())),
            "phenotype_frequencies": self.frequencies.to_dict("records"),
            "warnings": list(self.warnings),
        }

    def output_tables(self) -> dict[str, pd.DataFrame]:
        """Calls, checks (flagged or not) and frequencies (person ids, no names)."""
        out = {"calls": self.calls, "checks": self.checks, "frequencies": self.frequencies}
        if len(self.reported):
            bad = self.reported[self.reported["status"] != "ok"]
            out["reported_unusable"] = bad.drop(columns=["diplotype"])
        return out


def _genotypes(wh: Any, where: str) -> dict[int, dict[str, tuple[dict[int, tuple], bool]]]:
    """Person -> gene -> (position -> alleles, all heterozygous sites phased in one set)."""
    rows = wh.con.execute(
        "SELECT person_id, gene, position, allele1, allele2, phased, phase_set "
        f"FROM mm_genotype {where} ORDER BY person_id, gene, position"
    ).fetchall()
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for pid, gene, pos, a1, a2, phased, ps in rows:
        g = out[pid].setdefault(gene, [{}, True, set()])
        if a1 is None or a2 is None:
            continue
        g[0][int(pos)] = (a1, a2)
        if a1 != a2:
            g[1] = g[1] and bool(phased)
            g[2].add(ps)
    return {
        pid: {gene: (v[0], v[1] and len(v[2]) <= 1) for gene, v in genes.items()}
        for pid, genes in out.items()
    }


def _exposures(wh: Any, where: str, drugs: list[str]) -> pd.DataFrame:
    """Drug exposures whose concept name or source display names a guideline drug."""
    pattern = "(" + "|".join(drugs) + ")"
    has_concept = wh.count("concept") > 0
    name_sql = (
        "coalesce(c.concept_name, sc.display, d.drug_source_value)"
        if has_concept
        else "coalesce(sc.display, d.drug_source_value)"
    )
    concept_join = (
        "LEFT JOIN concept c ON c.concept_id = d.drug_concept_id AND d.drug_concept_id <> 0"
        if has_concept
        else ""
    )
    return wh.con.execute(
        f"""
        SELECT d.drug_exposure_id, d.person_id, d.drug_exposure_start_date AS start_date,
               lower(regexp_extract(lower({name_sql}), ?, 1)) AS drug,
               {name_sql} AS drug_name
        FROM drug_exposure d {concept_join}
        LEFT JOIN mm_source_concept sc
          ON sc.vocabulary_id || ':' || sc.code = d.drug_source_value
        WHERE regexp_matches(lower({name_sql}), ?)
          {"AND d." + where.removeprefix("WHERE ") if where else ""}
        ORDER BY d.person_id, start_date
        """,
        [pattern, pattern],
    ).df()


def run(wh: Any, config: PgxConfig | None = None) -> PgxResult:
    """Call every genotyped person's pharmacogenes and check their guideline prescriptions."""
    cfg = config or PgxConfig()
    sel = select_persons(wh, cfg.purpose)
    where = sel.where()
    genos = _genotypes(wh, where) if wh.count("mm_genotype") else {}
    reported = reported_diplotypes(wh)
    if sel.person_ids_sql is not None and len(reported):
        allowed = {r[0] for r in wh.con.execute(sel.person_ids_sql).fetchall()}
        reported = reported[reported["person_id"].isin(allowed) | reported["person_id"].isna()]
    if not genos and not (reported["status"] == "ok").any():
        raise MissingDataError(
            "study 'pharmacogenomics' found no genotypes (mm_genotype is empty) and no usable "
            "FHIR genotype Observation: load genotypes with `medmine ingest vcf FILE.vcf "
            "--sample-map samples.csv`, or FHIR Genomics Reporting Observations with "
            "`medmine ingest fhir`"
        )
    calls: dict[int, dict[str, GeneCall]] = {}
    call_rows = []
    sources: dict[tuple[int, str], str] = {}
    for pid, genes in genos.items():
        calls[pid] = {}
        for gene in GENES:
            if gene in genes:
                calls[pid][gene] = call_gene(gene, genes[gene][0], phased=genes[gene][1])
                sources[(pid, gene)] = "VCF"
    discordant = 0
    for r in reported[reported["status"] == "ok"].itertuples():
        pid, gene = int(r.person_id), r.gene
        phenotype, score = phenotype_of(load_gene(gene), r.diplotype)
        lab = GeneCall(gene, (r.diplotype,), phenotype, score, 0, 0, ("reported by the lab",))
        have = calls.setdefault(pid, {}).get(gene)
        if have is None:
            calls[pid][gene] = lab
            sources[(pid, gene)] = "FHIR Observation"
        elif have.phenotype != phenotype:
            discordant += 1
    for pid, genes in calls.items():
        for gene, c in genes.items():
            phased = genos.get(pid, {}).get(gene, (None, False))[1]
            call_rows.append(
                {
                    "person_id": pid,
                    "gene": gene,
                    "diplotype": c.diplotype,
                    "phenotype": c.phenotype,
                    "activity_score": c.activity_score,
                    "phased": phased,
                    "positions_called": c.positions_called,
                    "positions_missing": c.positions_missing,
                    "notes": "; ".join(c.notes),
                    "source": sources[(pid, gene)],
                }
            )
    call_df = pd.DataFrame(
        call_rows,
        columns=[
            *("person_id", "gene", "diplotype", "phenotype", "activity_score", "phased"),
            *("positions_called", "positions_missing", "notes", "source"),
        ],
    )
    drugs = list(guideline_drugs())
    ex = _exposures(wh, where, drugs) if calls else pd.DataFrame()
    check_rows = []
    if len(ex):
        ex["start_date"] = pd.to_datetime(ex["start_date"]).dt.date
        ex = ex[ex["person_id"].isin(list(calls))]
    for r in ex.itertuples():
        person_calls = calls.get(int(r.person_id), {})
        needed = guideline_drugs()[r.drug]
        recs = recommend(r.drug, person_calls)
        if not recs:
            missing = [g for g in needed if g not in person_calls]
            check_rows.append(
                {
                    "drug_exposure_id": r.drug_exposure_id,
                    "person_id": r.person_id,
                    "start_date": r.start_date,
                    "drug": r.drug,
                    "gene": "+".join(needed),
                    "diplotype": "",
                    "phenotype": "not assessable",
                    "recommendation": (
                        f"no genotype for {', '.join(missing)}"
                        if missing
                        else "phenotype indeterminate or not covered by the guideline table"
                    ),
                    "strength": "",
                    "guideline": "",
                    "actionable": False,
                    "explanation": "",
                }
            )
            continue
        for rec in recs:
            genes = rec.gene.split("+")
            dip = "; ".join(f"{g} {person_calls[g].diplotype}" for g in genes if g in person_calls)
            check_rows.append(
                {
                    "drug_exposure_id": r.drug_exposure_id,
                    "person_id": r.person_id,
                    "start_date": r.start_date,
                    "drug": r.drug,
                    "gene": rec.gene,
                    "diplotype": dip,
                    "phenotype": rec.phenotype,
                    "recommendation": rec.text,
                    "strength": rec.strength,
                    "guideline": rec.guideline,
                    "actionable": rec.actionable,
                    "explanation": (
                        f"{r.drug.capitalize()} prescribed on {r.start_date}: the patient is "
                        f"{dip} ({rec.phenotype}). {rec.guideline} recommends: {rec.text} "
                        f"(strength: {rec.strength})."
                    ),
                }
            )
    checks = pd.DataFrame(
        check_rows,
        columns=[
            *("drug_exposure_id", "person_id", "start_date", "drug", "gene", "diplotype"),
            *("phenotype", "recommendation", "strength", "guideline", "actionable"),
            "explanation",
        ],
    )
    freq_rows = []
    for gene, pub in PUBLISHED.items():
        sub = call_df[call_df["gene"] == gene]
        n = len(sub)
        counts = Counter(sub["phenotype"])
        for ph in sorted(set(pub) | set(counts)):
            freq_rows.append(
                {
                    "gene": gene,
                    "phenotype": ph,
                    "persons": counts.get(ph, 0),
                    "share": counts.get(ph, 0) / n if n else None,
                    "published_share": pub.get(ph),
                }
            )
    freqs = pd.DataFrame(
        freq_rows, columns=["gene", "phenotype", "persons", "share", "published_share"]
    )
    warnings = []
    unusable = reported[reported["status"] != "ok"]
    if len(unusable):
        why = ", ".join(f"{k}: {v}" for k, v in unusable["status"].value_counts().items())
        warnings.append(
            f"{len(unusable)} FHIR genotype Observations could not be used ({why}); they are "
            "listed in reported_unusable.csv."
        )
    if discordant:
        warnings.append(
            f"{discordant} lab-reported diplotypes give another phenotype than the VCF call; "
            "the VCF call is used. Review them before acting on a flag."
        )
    if len(calls) and len(calls) < 100:
        warnings.append(
            f"Only {len(calls)} persons are genotyped: phenotype frequencies below are too "
            "noisy to compare with published ones (a 5% phenotype needs about 400 persons "
            "for a ±2% interval)."
        )
    if "CYP2D6" in set(call_df["gene"]):
        warnings.append(
            "CYP2D6 is called from SNVs only: gene deletions (*5), duplications and hybrids "
            "are not seen, so poor metabolisers carrying *5 are called intermediate or normal "
            "and ultrarapid metabolisers are never called. Confirm with a copy-number assay."
        )
    return PgxResult(
        config=cfg,
        data_source="warehouse",
        status="warn" if warnings else "ok",
        calls=call_df,
        checks=checks,
        frequencies=freqs,
        n_persons=len(calls),
        reported=reported,
        n_excluded=int(sel.excluded),
        warnings=warnings,
        notes=list(warnings),
    )


STUDY = FunctionStudy(
    "pharmacogenomics",
    "Pharmacogenomic prescribing checks",
    PgxConfig,
    run,
)
