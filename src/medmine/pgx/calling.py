"""Star-allele calling from unphased SNV/indel genotypes, and CPIC phenotypes.

The allele definitions are CPIC's (through PharmCAT's translation files, shipped in
``pgx/data``; see docs/pharmacogenomics.md for version and date). Calling follows PharmCAT's
named-allele matcher: a named allele fixes the bases at its defining positions, and a blank
in CPIC's table means the reference allele's base; a diplotype ``h1/h2`` is consistent with
a genotype when, at every genotyped position, the two observed alleles can be split between
``h1`` and ``h2`` (unphased data allow any split at each position; phased data only the two
whole-haplotype assignments); among consistent diplotypes the one whose alleles define the
most positions wins (PharmCAT's score); ties are all reported, and the phenotype is given
only if they agree.

Hand-written because no Python library does it: PharmCAT is a Java tool (it needs its own
JVM release and a VCF preprocessor), and PyPGx targets sequencing BAMs. The matcher is a few
vectorised array operations per gene.

Out of scope and flagged on every result: structural variants and copy number (CYP2D6 *5
deletion, duplications, hybrids), so CYP2D6 ultrarapid metabolisers are never called.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

#: Genes medmine calls, with their CPIC guideline drugs (docs/pharmacogenomics.md).
GENES = ("CYP2C19", "CYP2C9", "CYP2D6", "DPYD", "NUDT15", "SLCO1B1", "TPMT", "VKORC1")

_IUPAC = {
    "R": "AG",
    "Y": "CT",
    "S": "CG",
    "W": "AT",
    "K": "GT",
    "M": "AC",
    "B": "CGT",
    "D": "AGT",
    "H": "ACT",
    "V": "ACG",
    "N": "ACGT",
}

#: CYP2D6 allele activity values (CPIC CYP2D6 allele functionality table, 2019 activity-score
#: standardisation, Caudle et al. 2020), transcribed for the alleles commonly seen; an allele
#: absent here has uncertain or unknown function and makes the phenotype Indeterminate.
CYP2D6_ACTIVITY: dict[str, float] = {
    **dict.fromkeys(("*1", "*2", "*27", "*33", "*34", "*35", "*39", "*48", "*53"), 1.0),
    **dict.fromkeys(("*9", "*14", "*17", "*29", "*41", "*49", "*50", "*54", "*55", "*59"), 0.5),
    "*10": 0.25,
    **dict.fromkeys(
        (
            *("*3", "*4", "*6", "*7", "*8", "*11", "*12", "*15", "*18", "*19", "*20", "*21"),
            *("*31", "*38", "*40", "*42", "*44", "*47", "*51", "*56", "*57", "*62", "*69"),
            *("*92", "*96", "*99", "*100", "*101"),
        ),
        0.0,
    ),
}


@dataclass(frozen=True)
class GeneDefinition:
    """One gene's positions, named alleles and phenotype tables."""

    gene: str
    source: str
    chromosome: str
    positions: tuple[int, ...]
    rsids: tuple[str | None, ...]
    vcf_alleles: tuple[tuple[str, ...], ...]  # per position: ref first, then alts
    names: tuple[str, ...]
    scores: np.ndarray  # per allele: number of positions it defines
    masks: np.ndarray  # alleles x positions: bit i set = VCF allele i allowed
    defined: np.ndarray  # alleles x positions: the definition names a base there
    functions: dict[str, str] = field(default_factory=dict)
    activity: dict[str, float] = field(default_factory=dict)
    diplotypes: dict[str, str] = field(default_factory=dict)
    reference: str = ""


def _expand(base: str | None, to_vcf: dict[str, str], alleles: tuple[str, ...]) -> int:
    """Bit mask of the VCF alleles a definition base allows (``None``: any allele)."""
    if base is None:
        return (1 << len(alleles)) - 1
    options = [to_vcf.get(base, base)]
    if len(base) == 1 and base in _IUPAC:
        options = [to_vcf.get(b, b) for b in _IUPAC[base]]
    mask = 0
    for o in options:
        if o in alleles:
            mask |= 1 << alleles.index(o)
    return mask


def _number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


@cache
def load_gene(gene: str) -> GeneDefinition:
    """The shipped definition of `gene` (one of `GENES`)."""
    if gene not in GENES:
        raise KeyError(f"unknown pharmacogene {gene!r}; medmine calls {', '.join(GENES)}")
    text = (resources.files("medmine.pgx") / "data" / f"{gene}.json").read_text()
    d = json.loads(text)
    variants = d["variants"]
    vcf_alleles = tuple((v["ref"], *v["alts"]) for v in variants)
    alleles = [a for a in d["alleles"] if not a["structural"]]
    # A blank in CPIC's allele definition table means "as the reference allele" (PharmCAT
    # reads it the same way), so open positions take the reference allele's bases.
    ref_bases = next((a["bases"] for a in alleles if a["reference"]), [None] * len(variants))
    masks = np.array(
        [
            [
                _expand(b if b is not None else r, v["to_vcf"], vcf_alleles[j])
                for j, (b, r, v) in enumerate(zip(a["bases"], ref_bases, variants, strict=True))
            ]
            for a in alleles
        ],
        dtype=np.int64,
    )
    scores = np.array(
        [
            a["score"] if a["score"] is not None else sum(b is not None for b in a["bases"])
            for a in alleles
        ]
    )
    activity = {k: float(v) for k, v in d.get("activity", {}).items() if _number(v)}
    if gene == "CYP2D6":
        activity = dict(CYP2D6_ACTIVITY)
    return GeneDefinition(
        gene=gene,
        source=d["source"],
        chromosome=d["chromosome"],
        positions=tuple(int(v["position"]) for v in variants),
        rsids=tuple(v.get("rsid") for v in variants),
        vcf_alleles=vcf_alleles,
        names=tuple(a["name"] for a in alleles),
        scores=scores,
        masks=masks,
        defined=np.array([[b is not None for b in a["bases"]] for a in alleles], dtype=bool),
        functions=dict(d.get("functions", {})),
        activity=activity,
        diplotypes=dict(d.get("diplotypes", {})),
        reference=next((a["name"] for a in alleles if a["reference"]), ""),
    )


@dataclass(frozen=True)
class GeneCall:
    """The diplotype(s) called for one gene and person, with the CPIC phenotype."""

    gene: str
    diplotypes: tuple[str, ...]
    phenotype: str
    activity_score: float | None
    positions_called: int
    positions_missing: int
    notes: tuple[str, ...] = ()
    #: Every diplotype consistent with the genotype, best score first (PharmCAT's full list).
    candidates: tuple[str, ...] = ()

    @property
    def diplotype(self) -> str:
        """The call, or the tied calls joined with `` or ``."""
        return " or ".join(self.diplotypes) if self.diplotypes else "no call"


def _sort_pair(gene: GeneDefinition, a: str, b: str) -> str:
    """``a/b`` in the order of the definition file (the phenotype tables use that order)."""
    ia, ib = gene.names.index(a), gene.names.index(b)
    return f"{a}/{b}" if ia <= ib else f"{b}/{a}"


def phenotype_of(gene: GeneDefinition, diplotype: str) -> tuple[str, float | None]:
    """CPIC phenotype (and activity score where the gene has one) of ``h1/h2``."""
    a, b = diplotype.split("/", 1)
    score = None
    if gene.activity and a in gene.activity and b in gene.activity:
        score = gene.activity[a] + gene.activity[b]
    for key in (f"{a}/{b}", f"{b}/{a}"):
        if key in gene.diplotypes:
            return gene.diplotypes[key], score
    if gene.gene == "CYP2D6":
        if score is None:
            return "Indeterminate", None
        # CPIC 2020 activity-score bins; >2.25 (ultrarapid) needs copy number, not called.
        if score == 0:
            return "Poor Metabolizer", score
        if score <= 1.0:
            return "Intermediate Metabolizer", score
        return "Normal Metabolizer", score
    return "Indeterminate", score


def call_gene(
    gene: str | GeneDefinition, genotype: dict[int, tuple[str, str]], *, phased: bool = False
) -> GeneCall:
    """Call `gene` from `genotype`: position -> the two observed VCF alleles.

    With ``phased=True`` the first allele of every pair lies on one chromosome and the second
    on the other (a VCF ``0|1`` in one phase set), which tells apart diplotypes that unphased
    data cannot (TPMT *1/*3A vs *3B/*3C).

    Positions absent from `genotype` (not sequenced, no call) constrain nothing; the result
    says how many were missing. Alleles not defined at a position (a novel ALT) make the
    diplotype a no-call with a note.
    """
    g = load_gene(gene) if isinstance(gene, str) else gene
    n_pos = len(g.positions)
    obs = np.full((n_pos, 2), -1, dtype=np.int64)
    notes = []
    for j, pos in enumerate(g.positions):
        pair = genotype.get(pos)
        if pair is None or None in pair or "." in pair:
            continue
        idx = [g.vcf_alleles[j].index(x) if x in g.vcf_alleles[j] else -2 for x in pair]
        if -2 in idx:
            notes.append(f"position {pos}: an allele outside the definitions (novel variant)")
            continue
        obs[j] = idx
    known = obs[:, 0] >= 0
    bits1 = np.where(known, 1 << np.maximum(obs[:, 0], 0), 0)
    bits2 = np.where(known, 1 << np.maximum(obs[:, 1], 0), 0)
    if not known.any():
        # Nothing genotyped: calling the reference would report a normal phenotype that no
        # data supports.
        return GeneCall(
            g.gene, (), "Indeterminate", None, 0, n_pos, ("no defining position genotyped",)
        )
    # PharmCAT's treatment of positions the sample lacks: they leave the definitions, so an
    # allele is scored on the positions genotyped, and an allele that no longer differs from
    # the reference there cannot be told from it and is not called.
    ref = g.names.index(g.reference) if g.reference in g.names else None
    m = g.masks[:, known]  # alleles x known positions
    usable = np.ones(len(g.names), dtype=bool)
    if ref is not None:
        usable = np.any(m != m[ref], axis=1)
        usable[ref] = True
    scores = (g.defined[:, known]).sum(axis=1)
    b1, b2 = bits1[known], bits2[known]
    has1 = (m & b1) != 0  # allele k allows observed allele 1 at each position
    has2 = (m & b2) != 0
    # An allele can sit in a fitting pair only if it carries one of the two observed alleles
    # at every position: prune to those before the pairwise test (CYP2D6: 171 -> a handful).
    live = np.flatnonzero(np.all(has1 | has2, axis=1) & usable)
    h1, h2 = has1[live], has2[live]
    straight = h1[:, None, :] & h2[None, :, :]
    swapped = h2[:, None, :] & h1[None, :, :]
    if phased:
        sub = np.all(straight, axis=2) | np.all(swapped, axis=2)
    else:
        sub = np.all(straight | swapped, axis=2)
    ok = np.zeros((len(g.names), len(g.names)), dtype=bool)
    ok[np.ix_(live, live)] = sub
    ok = np.triu(ok)
    missing = int(n_pos - known.sum())
    if missing:
        notes.append(f"{missing} of {n_pos} defining positions not genotyped")
    if not ok.any():
        return GeneCall(
            g.gene,
            (),
            "Indeterminate",
            None,
            int(known.sum()),
            missing,
            (*notes, "no pair of named alleles fits the genotype"),
        )
    score = np.where(ok, scores[:, None] + scores[None, :], -1)
    best = score.max()
    ii, kk = np.nonzero(ok)
    ranked = sorted(
        zip(ii.tolist(), kk.tolist(), strict=True), key=lambda ik: (-score[ik], ik[0], ik[1])
    )
    candidates = tuple(_sort_pair(g, g.names[i], g.names[k]) for i, k in ranked)
    pairs = sorted({c for c, (i, k) in zip(candidates, ranked, strict=True) if score[i, k] == best})
    phenos = {phenotype_of(g, p) for p in pairs}
    if len({p for p, _ in phenos}) == 1:
        phenotype, activity = next(iter(phenos))
        if len({a for _, a in phenos}) > 1:
            activity = None
    else:
        phenotype, activity = "Indeterminate", None
        notes.append("tied diplotypes with different phenotypes")
    if g.gene == "CYP2D6":
        notes.append(
            "copy number and hybrids not assessed: *5, duplications and ultrarapid "
            "metabolisers cannot be called from SNVs"
        )
    return GeneCall(
        g.gene,
        tuple(pairs),
        phenotype,
        activity,
        int(known.sum()),
        missing,
        tuple(notes),
        candidates,
    )


def consistent(
    gene: str | GeneDefinition, genotype: dict[int, tuple[str, str]], diplotype: str
) -> bool:
    """Whether ``h1/h2`` fits `genotype` (unphased), whatever its score."""
    g = load_gene(gene) if isinstance(gene, str) else gene
    a, b = (g.names.index(x) for x in diplotype.split("/", 1))
    for j, pos in enumerate(g.positions):
        pair = genotype.get(pos)
        if pair is None:
            continue
        i1, i2 = (1 << g.vcf_alleles[j].index(x) for x in pair)
        ma, mb = int(g.masks[a, j]), int(g.masks[b, j])
        if not ((ma & i1 and mb & i2) or (ma & i2 and mb & i1)):
            return False
    return True


def genotype_of(gene: str | GeneDefinition, diplotype: str) -> dict[int, tuple[str, str]]:
    """The genotype a diplotype implies at every defining position (first base of a code).

    Used for known-answer tests (CPIC's diplotype tables) and by the demo's sample VCF.
    """
    g = load_gene(gene) if isinstance(gene, str) else gene
    a, b = diplotype.split("/", 1)
    out = {}
    for j, pos in enumerate(g.positions):
        picks = []
        for name in (a, b):
            mask = int(g.masks[g.names.index(name), j])
            picks.append(g.vcf_alleles[j][(mask & -mask).bit_length() - 1])
        out[pos] = (picks[0], picks[1])
    return out


def all_positions() -> dict[str, list[tuple[str, int]]]:
    """Chromosome and position of every defining variant, per gene (for VCF filtering)."""
    return {
        gene: [(load_gene(gene).chromosome, p) for p in load_gene(gene).positions] for gene in GENES
    }


def cpic_example_diplotypes(gene: str) -> list[str]:
    """Every diplotype of the shipped CPIC phenotype table whose alleles are SNV-defined."""
    g = load_gene(gene)
    names = set(g.names)
    return [d for d in g.diplotypes if set(d.split("/", 1)) <= names]


def pairs_of(names: Any) -> list[tuple[str, str]]:
    """Every unordered pair of allele names (with repeats)."""
    return list(itertools.combinations_with_replacement(names, 2))
