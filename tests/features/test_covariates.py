"""Covariates: no leakage from on/after the index date, windows, labs, Charlson, reference."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from medmine.errors import ConfigError
from medmine.features import CovariateSettings, extract_covariates
from medmine.features.charlson import CATEGORIES
from medmine.warehouse import Warehouse

from .timeline import Timeline

HF, T2DM, CKD, DM, RENAL = 316139, 201826, 46271022, 201820, 4030518
OA, AMOX, HB = 80180, 1713332, 3000963


@pytest.fixture
def tl():
    wh = Warehouse(":memory:")
    yield Timeline(wh)
    wh.close()


def _cohort(rows: list[tuple[int, int, str]]) -> SimpleNamespace:
    """A cohort-like object: (row_id, person_id, index_date)."""
    frame = pd.DataFrame(rows, columns=["row_id", "person_id", "index_date"])
    frame["index_date"] = pd.to_datetime(frame["index_date"])
    return SimpleNamespace(frame=frame)


def _value(m, name: str, row: int = 0) -> float:
    return float(m.column(name)[row]) if name in m.columns else 0.0


def test_events_on_or_after_index_contribute_nothing(tl):
    tl.person(1)
    tl.condition(1, OA, "2015-06-01")  # on the index date
    tl.condition(1, HF, "2015-06-02")  # after
    tl.drug(1, AMOX, "2016-01-01")
    tl.measurement(1, HB, "2015-06-01", 9.0)
    tl.visit(1, "2015-06-01", "2015-06-03")
    m = extract_covariates(tl.wh, _cohort([(1, 1, "2015-06-01")]), CovariateSettings())
    analyses = set(m.reference["analysis"])
    assert analyses <= {"gender", "race", "ethnicity", "age"}, m.columns
    # end_day=0 is the explicit opt-in for the index day; after index is never allowed.
    m0 = extract_covariates(tl.wh, _cohort([(1, 1, "2015-06-01")]), CovariateSettings(end_day=0))
    assert "condition:80180 concept 80180 [any,0]" in m0.columns
    assert not any("316139" in c for c in m0.columns)
    with pytest.raises(ConfigError, match="leak"):
        CovariateSettings(end_day=1).validate()


@pytest.mark.parametrize("seed", range(5))
def test_random_timelines_never_leak(seed):
    """Property: deleting every event dated on/after index changes no covariate."""
    rng = np.random.default_rng(seed)
    wh = Warehouse(":memory:")
    tl = Timeline(wh)
    n = 12
    index = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    for p in range(1, n + 1):
        tl.person(p, born=int(rng.integers(1930, 1990)))
    concepts = {"condition": [OA, HF, T2DM], "drug": [AMOX], "measurement": [HB]}
    for _ in range(150):
        p = int(rng.integers(1, n + 1))
        day = (index[p - 1] + pd.Timedelta(days=int(rng.integers(-800, 400)))).date().isoformat()
        kind = rng.choice(["condition", "drug", "measurement", "visit"])
        if kind == "condition":
            tl.condition(p, int(rng.choice(concepts["condition"])), day, "ICD10CM:I50.9")
        elif kind == "drug":
            tl.drug(p, AMOX, day)
        elif kind == "measurement":
            tl.measurement(p, HB, day, float(rng.normal(13, 2)))
        else:
            tl.visit(p, day, day, concept=int(rng.choice([9201, 9202])))
    cohort = _cohort([(p, p, index[p - 1]) for p in range(1, n + 1)])
    s = CovariateSettings(min_prevalence=0, charlson_categories=True, counts=bool(seed % 2))
    before = extract_covariates(wh, cohort, s)
    rows = ", ".join(f"({p}, DATE '{index[p - 1].date()}')" for p in range(1, n + 1))
    idx = f"(SELECT * FROM (VALUES {rows}) AS t(person_id, d))"
    for table, col in [
        ("condition_occurrence", "condition_start_date"),
        ("drug_exposure", "drug_exposure_start_date"),
        ("measurement", "measurement_date"),
        ("visit_occurrence", "visit_start_date"),
    ]:
        wh.con.execute(
            f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {idx} i "
            f"WHERE i.person_id = {table}.person_id AND {col} >= i.d)"
        )
    after = extract_covariates(wh, cohort, s)
    assert after.columns == before.columns
    assert (after.X != before.X).nnz == 0
    wh.close()


def test_window_boundaries_and_counts(tl):
    tl.person(1)
    for day in ("2015-05-02", "2015-05-31", "2015-05-01"):  # days -30, -1, -31
        tl.condition(1, OA, day)
    s = CovariateSettings(windows=(30, None), counts=True, min_prevalence=0)
    m = extract_covariates(tl.wh, _cohort([(7, 1, "2015-06-01")]), s)
    assert _value(m, "condition:80180 concept 80180 [-30,-1]") == 2
    assert _value(m, "condition:80180 concept 80180 [any,-1]") == 3
    assert m.row_ids.tolist() == [7]


def test_visit_counts_and_last_lab_value(tl):
    tl.person(1)
    tl.visit(1, "2015-01-01", "2015-01-03")
    tl.visit(1, "2015-05-01", "2015-05-02")
    tl.visit(1, "2015-05-20", "2015-05-20", concept=9202)
    tl.measurement(1, HB, "2015-05-01", 11.0)
    tl.measurement(1, HB, "2015-05-30", 12.5)
    tl.measurement(1, HB, "2015-06-01", 8.0)  # on index: ignored
    tl.measurement(1, HB, "2015-05-31", None)  # no value: ignored
    m = extract_covariates(tl.wh, _cohort([(1, 1, "2015-06-01")]), CovariateSettings())
    assert _value(m, "visit_count:9201 concept 9201 [-365,-1]") == 2
    assert _value(m, "visit_count:9201 concept 9201 [-180,-1]") == 2
    assert _value(m, "visit_count:9202 concept 9202 [-30,-1]") == 1
    assert _value(m, "lab_last:3000963 concept 3000963 [-365,-1]") == 12.5


def test_charlson_on_planted_conditions(tl):
    tl.ancestor(DM, T2DM)
    tl.ancestor(RENAL, CKD)
    for p in range(1, 7):
        tl.person(p)
    tl.condition(1, T2DM, "2014-01-01")  # diabetes (1) via descendant
    tl.condition(1, HF, "2014-01-01")  # heart failure (1)
    tl.condition(1, CKD, "2014-01-01")  # renal (2) via descendant
    tl.condition(2, 0, "2014-01-01", "ICD10CM:E11.9")  # diabetes via ICD-10 only
    tl.condition(2, 0, "2014-01-01", "ICD10CM:E11.22")  # with complications: 2, not 1 + 2
    tl.condition(3, 0, "2014-01-01", "ICD10CM:C34.90")  # malignancy 2 ...
    tl.condition(3, 0, "2014-01-01", "ICD10CM:C78.00")  # ... metastatic 6 replaces it
    tl.condition(4, HF, "2014-01-01")  # counted once although coded twice
    tl.condition(4, 0, "2014-01-01", "ICD10CM:I50.9")
    tl.condition(5, HF, "2016-01-01")  # after index: 0
    # SNOMED heart failure with no concept: counted from the SNOMED list (issue 17), 1
    tl.condition(6, 0, "2014-01-01", "SNOMED:84114007")
    cohort = _cohort([(p, p, "2015-06-01") for p in range(1, 7)])
    m = extract_covariates(
        tl.wh, cohort, CovariateSettings(min_prevalence=0, charlson_categories=True)
    )
    score = m.column("Charlson comorbidity index [any,-1]")
    assert score.tolist() == [4, 2, 6, 1, 0, 1]
    names = {c.number: c.name for c in CATEGORIES}
    assert f"charlson:2 {names[2]} [any,-1]" in m.columns


def test_reference_reapplies_the_same_columns_in_order(tl):
    for p in (1, 2, 3):
        tl.person(p)
    tl.condition(1, OA, "2015-01-01")
    tl.condition(2, HF, "2015-01-01")
    tl.drug(3, AMOX, "2015-01-01")
    s = CovariateSettings(min_prevalence=0)
    train = extract_covariates(tl.wh, _cohort([(1, 1, "2015-06-01"), (2, 2, "2015-06-01")]), s)
    new = _cohort([(10, 3, "2015-06-01"), (11, 1, "2015-06-01")])
    scored = extract_covariates(tl.wh, new, s, reference=train.reference)
    assert scored.columns == train.columns
    assert scored.X.shape == (2, len(train.columns))
    assert not any("1713332" in c for c in scored.columns)  # unseen covariate dropped
    hf = [c for c in train.columns if c.startswith("condition:316139")]
    assert scored.column(hf[0]).tolist() == [0.0, 0.0]  # missing covariate: zero
    oa = [c for c in train.columns if c.startswith("condition:80180")][0]
    assert scored.column(oa).tolist() == [0.0, 1.0]
    # A reference needing analyses the settings do not compute is refused.
    with pytest.raises(ConfigError, match="analyses"):
        extract_covariates(
            tl.wh, new, CovariateSettings(domains=("drug",)), reference=train.reference
        )


def test_min_prevalence_drops_rare_covariates(tl):
    for p in range(1, 11):
        tl.person(p)
        tl.condition(p, OA, "2015-01-01")
    tl.condition(1, HF, "2015-01-01")
    cohort = _cohort([(p, p, "2015-06-01") for p in range(1, 11)])
    keep = extract_covariates(tl.wh, cohort, CovariateSettings(min_prevalence=0.1))
    drop = extract_covariates(tl.wh, cohort, CovariateSettings(min_prevalence=0.2))
    assert any("316139" in c for c in keep.columns)
    assert not any("316139" in c for c in drop.columns)
    ref = drop.reference
    assert list(ref.columns[:3]) == ["covariate_id", "covariate_name", "analysis"]
    row = ref[ref.covariate_name == "condition:80180 concept 80180 [-365,-1]"].iloc[0]
    assert (row.window_start, row.window_end, row.concept_id) == (-365, -1, OA)
    assert row.covariate_id == OA * 1000 + row.analysis_id
    assert drop.X.dtype == np.float32
