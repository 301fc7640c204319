"""Study `comorbidity_rules`: association rules between conditions, drugs and procedures.

Transactions are built in the engine (per person or per visit for OMOP data, per claim for
``mm_claim``: diagnoses and procedures). Rules come from FP-Growth itemsets, carry support,
confidence, lift, leverage and conviction, and survive only if their one-sided Fisher exact
test passes Benjamini–Hochberg at ``alpha``. Two constrained runs focus on an outcome of
interest (rules concluding it) and on diagnosis -> procedure rules in claims (used by the
claims fraud study to spot procedures billed without their usual indication).

>>> from medmine.warehouse import Warehouse
>>> result = run(Warehouse(":memory:"))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from medmine.features.persons import select_persons
from medmine.mining.rules import (
    AssociationRuleMiner,
    Transactions,
    claim_transactions,
    clinical_transactions,
)
from medmine.studies.contract import FunctionStudy, StudyResult


@dataclass(frozen=True)
class RulesConfig:
    """Settings of the comorbidity rules study."""

    by: str = "person"
    domains: tuple[str, ...] = ("condition", "drug")
    min_support: float = 0.05
    min_confidence: float = 0.6
    min_lift: float = 1.2
    max_len: int = 3
    alpha: float = 0.05
    #: Outcome items of interest (rules concluding them); default GI bleed, concept 192671.
    outcome: tuple[str, ...] = ("condition:192671",)
    outcome_min_support: float = 0.005
    outcome_min_confidence: float = 0.2
    claims: bool = True
    claims_min_support: float = 0.002
    claims_min_confidence: float = 0.5
    purpose: str | None = "research"


@dataclass(kw_only=True)
class RulesResult(StudyResult):
    """Rules found, with the sizes of the search (aggregates only)."""

    name: str = "comorbidity_rules"
    title: str = "Comorbidity rules"
    config: RulesConfig
    n_transactions: int
    n_items: int
    n_itemsets: int
    n_tested: int
    rules: pd.DataFrame
    outcome_rules: pd.DataFrame
    claim_transactions: int = 0
    claim_itemsets: int = 0
    claim_tested: int = 0
    claim_rules: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_excluded: int = 0

    def summary(self) -> str:
        """One line for the report index."""
        return (
            f"{self.n_transactions:,} {self.config.by} baskets, {len(self.rules):,} rules "
            f"after FDR (of {self.n_tested:,} tested); {len(self.outcome_rules)} outcome "
            f"rules; {len(self.claim_rules)} diagnosis→procedure claim rules"
        )

    def key_figures(self) -> dict[str, Any]:
        """Sizes of the search and of what survived the FDR control."""
        return {
            "baskets": self.n_transactions,
            "basket_unit": self.config.by,
            "items": self.n_items,
            "frequent_itemsets": self.n_itemsets,
            "rules_tested": self.n_tested,
            "rules_kept": len(self.rules),
            "outcome_rules": len(self.outcome_rules),
            "claim_baskets": self.claim_transactions,
            "claim_rules": len(self.claim_rules),
            "excluded_by_consent": self.n_excluded,
        }

    def output_tables(self) -> dict[str, pd.DataFrame]:
        """The rules kept, the outcome rules and the diagnosis -> procedure claim rules."""
        return {
            "rules": self.rules,
            "outcome_rules": self.outcome_rules,
            "claim_rules": self.claim_rules,
        }


def describe(rules: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """Add readable ``if`` / ``then`` columns (item labels) to a rules frame."""
    out = rules.copy()

    def fmt(items: frozenset) -> str:
        return " + ".join(sorted(labels.get(i, i) for i in items))

    out["if"] = out["antecedents"].map(fmt) if len(out) else []
    out["then"] = out["consequents"].map(fmt) if len(out) else []
    return out


def mine(tx: Transactions, **params: Any) -> AssociationRuleMiner:
    """Fit an `AssociationRuleMiner` with `params` on transactions `tx` (item keys as names)."""
    return AssociationRuleMiner(**params).fit(tx.matrix, item_names=tx.items)


def diagnosis_procedure_rules(
    tx: Transactions, min_support: float, min_confidence: float, alpha: float = 0.05
) -> tuple[AssociationRuleMiner, pd.DataFrame]:
    """Rules ``diagnoses -> one procedure`` on per-claim transactions, described."""
    dx = [i for i in tx.items if i.startswith("dx:")]
    proc = [i for i in tx.items if i.startswith("proc:")]
    m = mine(
        tx,
        min_support=min_support,
        min_confidence=min_confidence,
        min_lift=1.0,
        max_len=3,
        antecedents=dx,
        consequents=proc,
        alpha=alpha,
    )
    return m, describe(m.rules_, tx.label_of())


def run(wh: Any, config: RulesConfig | None = None) -> RulesResult:
    """Run the study on warehouse `wh`."""
    STUDY.check_data(wh)
    cfg = config or RulesConfig()
    persons = select_persons(wh, cfg.purpose)
    person_sql, excluded = persons.person_ids_sql, persons.excluded
    tx = clinical_transactions(wh, by=cfg.by, domains=cfg.domains, person_ids_sql=person_sql)
    labels = tx.label_of()
    common = dict(max_len=cfg.max_len, alpha=cfg.alpha)
    if tx.n:
        main = mine(
            tx,
            min_support=cfg.min_support,
            min_confidence=cfg.min_confidence,
            min_lift=cfg.min_lift,
            **common,
        )
        wanted = [o for o in cfg.outcome if o in set(tx.items)]
        outcome = (
            mine(
                tx,
                min_support=cfg.outcome_min_support,
                min_confidence=cfg.outcome_min_confidence,
                min_lift=cfg.min_lift,
                consequents=wanted,
                **common,
            ).rules_
            if wanted
            else pd.DataFrame(columns=main.rules_.columns)
        )
        rules, n_itemsets, n_tested = main.rules_, len(main.itemsets_), main.n_rules_tested_
    else:
        rules = outcome = pd.DataFrame(columns=["antecedents", "consequents"])
        n_itemsets = n_tested = 0
    result = RulesResult(
        config=cfg,
        n_transactions=tx.n,
        n_items=len(tx.items),
        n_itemsets=n_itemsets,
        n_tested=n_tested,
        rules=describe(rules, labels),
        outcome_rules=describe(outcome, labels),
        n_excluded=excluded,
    )
    if cfg.claims and wh.count("mm_claim"):
        ctx = claim_transactions(wh, person_ids_sql=person_sql)
        if ctx.n:
            m, described = diagnosis_procedure_rules(
                ctx, cfg.claims_min_support, cfg.claims_min_confidence, cfg.alpha
            )
            result.claim_transactions = ctx.n
            result.claim_itemsets = len(m.itemsets_)
            result.claim_tested = m.n_rules_tested_
            result.claim_rules = described
    return result


#: The registered study (`run` above is the Python API, with extras where it has them).
STUDY = FunctionStudy(
    "comorbidity_rules",
    "Comorbidity rules",
    RulesConfig,
    run,
    requires=(("person", "load persons, e.g. `medmine ingest omop` or `ingest fhir`"),),
)
