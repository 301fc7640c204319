"""CPIC prescribing recommendations for a drug given a person's gene calls.

The recommendation table (``pgx/data/cpic_recommendations.csv``) is transcribed from the
CPIC guidelines it cites (drug, gene, phenotype, recommendation, strength); warfarin uses the
expected maintenance-dose ranges of the FDA label (CYP2C9 x VKORC1 -1639G>A), which CPIC's
2017 warfarin guideline builds on.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

from medmine.pgx.calling import GeneCall

#: Phenotypes under which a guideline says "as usual": flags are raised for the others.
_USUAL = ("Use the standard dose", "Use the label-recommended", "Start with the normal")
_USUAL += ("Prescribe the desired",)

#: FDA warfarin label, expected maintenance daily dose ranges (mg) by VKORC1 -1639 genotype
#: (rows) and CYP2C9 diplotype (columns *1/*1, *1/*2, *1/*3, *2/*2, *2/*3, *3/*3).
_WARFARIN_COLUMNS = ("*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3")
_WARFARIN = {
    "GG": ("5-7", "5-7", "3-4", "3-4", "3-4", "0.5-2"),
    "AG": ("5-7", "3-4", "3-4", "3-4", "0.5-2", "0.5-2"),
    "AA": ("3-4", "3-4", "0.5-2", "0.5-2", "0.5-2", "0.5-2"),
}
WARFARIN_GUIDELINE = (
    "FDA warfarin (Coumadin) label, Table 5; CPIC warfarin (Johnson et al., Clin Pharmacol "
    "Ther 2017)"
)


@dataclass(frozen=True)
class Recommendation:
    """What a guideline says for one drug, gene and phenotype."""

    drug: str
    gene: str
    phenotype: str
    text: str
    strength: str
    guideline: str

    @property
    def actionable(self) -> bool:
        """True when the guideline departs from usual prescribing."""
        return not self.text.startswith(_USUAL)


@cache
def _table() -> dict[tuple[str, str, str], Recommendation]:
    text = (resources.files("medmine.pgx") / "data" / "cpic_recommendations.csv").read_text()
    rows = csv.DictReader(io.StringIO(text))
    return {
        (r["drug"], r["gene"], r["phenotype"]): Recommendation(
            r["drug"],
            r["gene"],
            r["phenotype"],
            r["recommendation"],
            r["strength"],
            r["guideline"],
        )
        for r in rows
    }


def guideline_drugs() -> dict[str, tuple[str, ...]]:
    """Drug (ingredient, lower case) -> the genes its guideline uses."""
    out: dict[str, set[str]] = {}
    for drug, gene, _ in _table():
        out.setdefault(drug, set()).add(gene)
    out["warfarin"] = {"CYP2C9", "VKORC1"}
    return {d: tuple(sorted(g)) for d, g in sorted(out.items())}


def _vkorc1_genotype(call: GeneCall) -> str | None:
    """``GG``, ``AG`` or ``AA`` at -1639 from the VKORC1 call (reference C = -1639G)."""
    if len(call.diplotypes) != 1:
        return None
    n_variant = call.diplotypes[0].count("variant")
    return ("GG", "AG", "AA")[n_variant]


def warfarin(cyp2c9: GeneCall | None, vkorc1: GeneCall | None) -> Recommendation | None:
    """The label's expected maintenance dose range for the two calls (None if not covered)."""
    if cyp2c9 is None or vkorc1 is None or len(cyp2c9.diplotypes) != 1:
        return None
    v = _vkorc1_genotype(vkorc1)
    d = cyp2c9.diplotypes[0]
    if v is None or d not in _WARFARIN_COLUMNS:
        text = (
            f"CYP2C9 {d}, VKORC1 {vkorc1.diplotype}: not in the label's table; dose with a "
            "validated pharmacogenetic algorithm (IWPC or Gage) including these genotypes"
        )
        return Recommendation(
            "warfarin", "CYP2C9+VKORC1", "not in table", text, "Strong", WARFARIN_GUIDELINE
        )
    dose = _WARFARIN[v][_WARFARIN_COLUMNS.index(d)]
    text = f"Expected maintenance dose {dose} mg/day (CYP2C9 {d}, VKORC1 -1639 {v})"
    if dose == "5-7":
        text = "Use the standard dose: " + text
    return Recommendation(
        "warfarin", "CYP2C9+VKORC1", f"{d}; -1639 {v}", text, "Strong", WARFARIN_GUIDELINE
    )


def recommend(drug: str, calls: dict[str, GeneCall]) -> list[Recommendation]:
    """Recommendations for `drug` (ingredient name) given the person's `calls` by gene.

    A gene without a call, or whose phenotype the guideline table does not list
    (Indeterminate), yields no recommendation; callers report it as not assessable.
    """
    drug = drug.lower()
    if drug == "warfarin":
        rec = warfarin(calls.get("CYP2C9"), calls.get("VKORC1"))
        return [rec] if rec else []
    out = []
    for gene in guideline_drugs().get(drug, ()):
        call = calls.get(gene)
        if call is None:
            continue
        rec = _table().get((drug, gene, call.phenotype))
        if rec is not None:
            out.append(rec)
    return out
