"""Note features in a binary prediction study: the models refitted without them on the same
persons, AUROC with and without, and a paired person-level bootstrap CI of the difference.

Switched on by ``StudyConfig(note_features=True)`` (or ``covariates.notes``); the study's
models are then fitted *with* the note feature group (`medmine.features.notes`) and each is
refitted without those columns on the same training persons and evaluated on the same test
persons. The page warns when the lift is implausible: a significant gain although the notes
mostly restate the coded record (Synthea writes its notes from the coded record, so a lift
there measures redundancy, not what notes add), or a gain too large to be believed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from medmine.evaluate import auroc_ci
from medmine.evaluate.paired import paired_auroc_difference
from medmine.evaluate.plausibility import Check, PlausibilityWarning, lift_warning
from medmine.features.notes import NoteOverlap, note_columns, note_overlap
from medmine.studies._binary import MODEL_LABELS, BinaryOutcome, _estimator
from medmine.studies.prediction import PredictionResult, StudyConfig

#: Page and table title of the comparison.
TITLE = "Note features: AUROC with and without (same test persons)"
#: Share of note facts also coded above which notes are read as restating the coded record.
REDUNDANT_SHARE = 0.8
#: A gain in AUROC above this from note features alone is more likely an artefact.
LARGE_LIFT = 0.10
#: Below this share of test rows with any note feature, the comparison says little.
FEW_ROWS_SHARE = 0.10


def notes_requested(config: StudyConfig) -> bool:
    """True when the study should add note features and compare."""
    return bool(getattr(config, "note_features", False) or config.covariates.notes)


def with_notes(config: StudyConfig) -> StudyConfig:
    """`config` whose covariates include the note group when note features are requested."""
    if not notes_requested(config) or config.covariates.notes:
        return config
    return dataclasses.replace(
        config, covariates=dataclasses.replace(config.covariates, notes=True)
    )


@dataclass
class NoteComparison:
    """AUROC with and without note features per model, and what the notes hold."""

    table: pd.DataFrame
    overlap: NoteOverlap
    note_features: int
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``note_features`` in ``study_<name>.json``)."""
        return {
            "note_features": self.note_features,
            "overlap_with_coded_record": self.overlap.to_dict(),
            "comparison": json_records(self.table),
            "messages": list(self.messages),
        }


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of `frame` with NaN as None (valid JSON)."""
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def compare_note_features(
    result: PredictionResult,
    out: BinaryOutcome,
    mat: Any,
    cohort: Any,
    config: StudyConfig,
    wh: Any,
) -> NoteComparison:
    """Refit every model of `out` without the note columns of `mat` and compare on the test set.

    Fills ``result.note_comparison``, adds notes and plausibility warnings to `result`, and
    returns the comparison.
    """
    frame = cohort.frame.reset_index(drop=True)
    y = frame["outcome"].to_numpy().astype(int)
    persons = frame["person_id"].to_numpy()
    tr, te = out.split.train, out.split.test
    mask = np.zeros(mat.X.shape[1], dtype=bool)
    ref_mask = note_columns(mat.reference)
    mask[: len(ref_mask)] = ref_mask
    overlap = note_overlap(wh, frame, end_day=config.covariates.end_day)
    rows_with = np.asarray((mat.X[:, mask] != 0).sum(axis=1)).ravel() > 0
    share_te = float(rows_with[te].mean()) if len(te) else float("nan")
    rows: list[dict[str, Any]] = []
    n_note = int(mask.sum())
    if n_note and len(np.unique(y[te])) == 2:
        X0 = mat.X[:, ~mask]
        for key in config.models:
            label = MODEL_LABELS.get(key, key)
            if label not in out.test_predictions:
                continue
            model = _estimator(key, config).fit(X0[tr], y[tr], groups=persons[tr])
            p_without = model.predict_proba(X0[te])[:, 1]
            p_with = out.test_predictions[label]
            kw = {"groups": persons[te], "n_boot": config.n_boot}
            with_ci = auroc_ci(y[te], p_with, random_state=config.random_state, **kw)
            without_ci = auroc_ci(y[te], p_without, random_state=config.random_state, **kw)
            diff = paired_auroc_difference(
                y[te], p_with, p_without, random_state=config.random_state, **kw
            )
            rows.append(
                {
                    "model": label,
                    "auroc_with_notes": with_ci.estimate,
                    "auroc_with_notes_lower": with_ci.lower,
                    "auroc_with_notes_upper": with_ci.upper,
                    "auroc_without_notes": without_ci.estimate,
                    "auroc_without_notes_lower": without_ci.lower,
                    "auroc_without_notes_upper": without_ci.upper,
                    "difference": diff.estimate,
                    "difference_lower": diff.lower,
                    "difference_upper": diff.upper,
                    "bootstrap_replicates": diff.n_boot,
                    "note_features": n_note,
                    "test_rows": int(len(te)),
                    "test_persons": int(len(np.unique(persons[te]))),
                    "test_outcomes": int(y[te].sum()),
                    "test_rows_with_note_features": int(rows_with[te].sum()),
                }
            )
    table = pd.DataFrame(rows)
    comparison = NoteComparison(table, overlap, n_note)
    for w in lift_checks(comparison, share_te):
        result.warn(w)
    comparison.messages = _messages(comparison, share_te)
    result.notes.append(headline(comparison))
    result.note_comparison = comparison
    return comparison


def lift_checks(comparison: NoteComparison, share_test_rows: float) -> list[PlausibilityWarning]:
    """Warnings about the note comparison: no note feature, or an implausible lift."""
    out: list[PlausibilityWarning] = []
    if comparison.note_features == 0:
        out.append(
            PlausibilityWarning(
                Check.EMPTY_DOMAIN.value,
                "note features",
                "note features were requested but no affirmed note mention of the cohort's "
                "persons falls before their index dates (is note_nlp filled? run `medmine "
                "notes nlp`); the models use coded data only and nothing was compared.",
            )
        )
        return out
    t = comparison.table
    if t.empty:
        return out
    share = comparison.overlap.share_coded
    for r in t.itertuples():
        significant = bool(r.difference_lower > 0)
        lift = (
            f"{r.difference:+.3f} (95% CI {r.difference_lower:+.3f} to {r.difference_upper:+.3f})"
        )
        if significant and not np.isnan(share) and share >= REDUNDANT_SHARE:
            out.append(
                lift_warning(
                    f"note features, {r.model}",
                    f"AUROC {lift} with note features, although {share:.0%} of the concepts "
                    "affirmed in the notes before the index date are also coded for the person "
                    "by then: these notes mostly restate the coded record (Synthea writes its "
                    "notes from it). The gain measures how the same facts are encoded (note "
                    "dates, counts, curated terms), not what free text adds; do not read it "
                    "as the value of notes.",
                )
            )
        if r.difference > LARGE_LIFT:
            out.append(
                lift_warning(
                    f"note features, {r.model}",
                    f"AUROC {lift} from note features alone is larger than notes usually add "
                    "to coded data; check that note dates are the dates the text was written "
                    "(a discharge summary dated at admission leaks the stay) before trusting it.",
                )
            )
    if share_test_rows < FEW_ROWS_SHARE:
        out.append(
            lift_warning(
                "note features",
                f"only {share_test_rows:.0%} of the test rows have any note feature: the "
                "comparison cannot show what notes add for the others.",
            )
        )
    return out


def headline(comparison: NoteComparison) -> str:
    """One line for the command line and the page's notes: the difference per model."""
    if comparison.table.empty:
        return comparison.messages[0] if comparison.messages else "Note features: not compared."
    parts = "; ".join(
        f"{r.model} {r.difference:+.3f} ({r.difference_lower:+.3f} to {r.difference_upper:+.3f})"
        for r in comparison.table.itertuples()
    )
    return (
        f"Note features ({comparison.note_features} covariates): AUROC with minus without, "
        f"same test persons, paired bootstrap 95% CI: {parts}."
    )


def _messages(comparison: NoteComparison, share_test_rows: float) -> list[str]:
    """Plain-language lines for the page."""
    o = comparison.overlap
    if comparison.note_features == 0:
        return ["Note features: none (no affirmed note mention before the index dates)."]
    lines = [
        f"Note features: {comparison.note_features} covariates from affirmed patient mentions "
        "in notes dated before the index date (negated, hypothetical, uncertain and family "
        f"mentions left out); {o.rows_with_notes} of {o.rows} cohort rows and "
        f"{share_test_rows:.0%} of test rows have at least one."
    ]
    if o.facts:
        lines.append(
            f"Of {o.facts:,} (row, concept) facts affirmed in notes with a concept or code, "
            f"{o.share_coded:.0%} are also in the coded record by the same date"
            + (
                ": the notes here mostly restate the coded record, so the comparison measures "
                "redundancy, not the value of free text."
                if o.share_coded >= REDUNDANT_SHARE
                else "."
            )
        )
    for r in comparison.table.itertuples():
        lines.append(
            f"{r.model}: AUROC {r.auroc_with_notes:.3f} with note features vs "
            f"{r.auroc_without_notes:.3f} without; difference {r.difference:+.3f} "
            f"(paired person-level bootstrap 95% CI {r.difference_lower:+.3f} to "
            f"{r.difference_upper:+.3f}, {r.bootstrap_replicates} replicates)."
        )
    return lines
