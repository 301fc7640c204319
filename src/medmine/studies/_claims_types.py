"""The claims fraud study's settings and result (shared by its private helper modules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from medmine.studies.contract import StudyResult


@dataclass(frozen=True)
class FraudStudyConfig:
    """Settings of the claims fraud study."""

    contamination: float = 0.05
    min_peer_group: int = 5
    referral_window_days: int = 30
    min_referrals: int = 5
    rule_min_support: float = 0.002
    rule_min_confidence: float = 0.15
    #: A procedure is checked only if its supporting diagnoses cover this share of its claims.
    min_rule_coverage: float = 0.9
    alpha: float = 0.05
    z_reason: float = 3.0
    top_providers: int = 25
    top_claims: int = 50
    consent_purpose: str | None = None
    random_state: int = 0
    #: A claim is flagged from this score on (one scheme of weight 3 at half strength).
    flag_score: float = 1.5
    #: Weight of the clinician's / organisation's percentile in a claim's score.
    provider_context: float = 0.5
    #: Weight of the provider's peer-profile score (0-1) in a claim's score.
    profile_context: float = 1.0
    #: Weight of a flagged peer profile in a clinician's score.
    profile_weight: float = 3.0
    #: User edit tables: NCCI procedure-to-procedure pairs and MUE limits (CMS CSV layouts);
    #: None = the small shipped tables.
    ncci_table: str | None = None
    mue_table: str | None = None


@dataclass(kw_only=True)
class FraudResult(StudyResult):
    """Everything the study found. Frames hold ids, codes and numbers only."""

    name: str = "claims_fraud"
    title: str = "Claims fraud"
    config: FraudStudyConfig
    n_claims: int
    n_lines: int
    edits: pd.DataFrame  # edit, claim_line_id, claim_id, provider_id, evidence_line_id, detail
    providers: pd.DataFrame  # one row per provider: specialty, features, detector scores
    claim_scores: pd.DataFrame  # claim_id, provider_id, score, edits, flagged
    rules: pd.DataFrame  # dx -> procedure rules used for violations
    investigate_providers: pd.DataFrame
    investigate_claims: pd.DataFrame
    em_distribution: pd.DataFrame  # provider_id, level, count
    evaluation: pd.DataFrame | None = None
    #: The worklists, with source ids (FHIR Claim id or claims-file claim id, NPI, org id).
    claims_ranked: pd.DataFrame | None = None
    clinicians_ranked: pd.DataFrame | None = None
    organisations_ranked: pd.DataFrame | None = None
    scheme_hits: pd.DataFrame | None = None

    def summary(self) -> str:
        """One line for the report index."""
        n_flag = int(self.providers["flagged"].sum())
        return (
            f"{self.n_claims:,} claims, {len(self.edits):,} edit hits on "
            f"{self.edits['claim_id'].nunique():,} claims, {n_flag} of {len(self.providers)} "
            "providers flagged against specialty peers"
        )

    def key_figures(self) -> dict[str, Any]:
        """Sizes, edit hits, flagged providers and (with known answers) the evaluation."""
        return {
            "claims": self.n_claims,
            "lines": self.n_lines,
            "providers": len(self.providers),
            "edit_hits": len(self.edits),
            "claims_with_edits": int(self.edits["claim_id"].nunique()),
            "providers_flagged": int(self.providers["flagged"].sum()),
            "evaluation": None if self.evaluation is None else self.evaluation.to_dict("records"),
        }

    def output_tables(self) -> dict[str, pd.DataFrame]:
        """The worklists, edit hits, provider scores and rules (ids and codes only)."""
        out = {
            "claims_ranked": self.claims_ranked,
            "clinicians_ranked": self.clinicians_ranked,
            "organisations_ranked": self.organisations_ranked,
            "scheme_hits": self.scheme_hits,
            "edits": self.edits,
            "provider_scores": self.providers,
            "claim_scores": self.claim_scores,
            "rules": self.rules,
        }
        out = {k: v for k, v in out.items() if v is not None}
        if self.evaluation is not None:
            out["evaluation"] = self.evaluation
        return out
