"""The phenotypes study on Eunomia, and on a warehouse with planted phenotypes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from medmine.ingest import omop
from medmine.report.study_pages import write_study
from medmine.studies import phenotypes
from medmine.warehouse import Warehouse

FAST = phenotypes.PhenotypeConfig(k_range=(2, 4), n_bootstrap=3, n_components=10)


#: Only the tables the study reads (a full Eunomia load takes several seconds).
TABLES = ["person", "observation_period", "condition_occurrence", "drug_exposure", "concept"]


@pytest.fixture(scope="module")
def eunomia(tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("eunomia") / "e.duckdb")
    omop.load(omop.eunomia_path(), wh, tables=TABLES)
    yield wh
    wh.close()


def planted_warehouse(path, n_per=120, seed=0):
    """Three groups of persons, each with its own 4 signature conditions (p=0.8)."""
    rng = np.random.default_rng(seed)
    wh = Warehouse(path)
    con = wh.con
    pid = np.arange(1, 3 * n_per + 1)
    group = np.repeat(np.arange(3), n_per)
    con.execute(
        "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
        "ethnicity_concept_id) SELECT unnest(?), 8507, 1960, 0, 0",
        [pid.tolist()],
    )
    rows = []
    for p, g in zip(pid, group, strict=True):
        for c in range(12):
            prob = 0.8 if c // 4 == g else 0.05
            if rng.random() < prob:
                rows.append((len(rows) + 1, int(p), 1000 + c))
    con.executemany(
        "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
        "condition_concept_id, condition_start_date, condition_type_concept_id) "
        "VALUES (?, ?, ?, DATE '2010-01-01', 0)",
        rows,
    )
    return wh, group


def test_recovers_planted_phenotypes(tmp_path):
    wh, group = planted_warehouse(tmp_path / "p.duckdb")
    res = phenotypes.run(wh, FAST)
    order = np.argsort(res.assignments.person_id.to_numpy())
    assert res.n_clusters == 3
    assert adjusted_rand_score(group, res.assignments.kmeans.to_numpy()[order]) >= 0.9
    # every cluster's top features are its own signature conditions
    for _c, g in res.profiles.groupby("cluster"):
        top = g.head(4)
        concepts = {int(f) // 1000 for f in top.feature}
        assert len({(x - 1000) // 4 for x in concepts}) == 1
    wh.close()


def test_eunomia_page_has_profiles_and_no_person_ids(eunomia, tmp_path):
    res = phenotypes.run(eunomia, FAST)
    assert res.n_persons == 2694
    assert 2 <= res.n_clusters <= 4
    assert not res.profiles.empty and (res.profiles.q_value <= 0.05).all()
    named = r"^(?:condition|drug|gender|race|ethnicity): |^age group"
    assert res.profiles.label.str.contains(named, regex=True).all()
    link = write_study(res, tmp_path)
    text = (tmp_path / link.href).read_text()
    outputs = tmp_path / "study_phenotypes"
    sizes = pd.read_csv(outputs / "cluster_sizes.csv")
    assert sizes["persons"].sum() == 2694
    assert not any("person_id" in f.read_text() for f in outputs.glob("*.csv"))
    assert "Over-represented features" in text
    assert "person_id" not in text
