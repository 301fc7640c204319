import numpy as np
import pandas as pd
import pytest

from medmine.errors import ConfigError
from medmine.federated import split_sites


def _frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    persons = np.repeat(np.arange(1, n + 1), 2)
    return pd.DataFrame(
        {
            "person_id": persons,
            "age_at_index": np.repeat(rng.integers(20, 90, n), 2),
            "outcome": (rng.random(2 * n) < 0.2).astype(int),
        }
    )


def test_case_mix_sites_are_age_bands_and_keep_each_person_whole():
    f = _frame()
    s = split_sites(None, f, by="case_mix", n_sites=3)
    assert s.method == "case_mix" and s.names == ["site 1", "site 2", "site 3"]
    assert f.assign(site=s.site).groupby("person_id")["site"].nunique().max() == 1
    ages = f.assign(site=s.site).groupby("site")["age_at_index"]
    assert ages.max()["site 1"] <= ages.min()["site 2"]
    assert ages.max()["site 2"] <= ages.min()["site 3"]
    assert s.site.value_counts().max() - s.site.value_counts().min() <= 2


def test_label_skew_concentrates_outcomes_unevenly():
    f = _frame(400, seed=1)
    s = split_sites(None, f, by="label_skew", n_sites=3, alpha=0.2)
    rates = f.assign(site=s.site).groupby("site")["outcome"].mean()
    assert rates.max() - rates.min() > 0.15
    assert "Dirichlet(0.2)" in s.description


def test_auto_falls_back_to_case_mix_on_eunomia(eunomia_wh, gi_data):
    s = split_sites(eunomia_wh, gi_data.frame, n_sites=4)
    assert s.method == "case_mix"
    assert "no usable care site" in s.description and "no usable state" in s.description
    with pytest.raises(ConfigError, match="cannot split by care_site"):
        split_sites(eunomia_wh, gi_data.frame, by="care_site", n_sites=3)


def test_care_site_split_uses_the_warehouse(wh):
    wh.con.execute("DELETE FROM person")
    for pid, cs in [(1, 10), (2, 10), (3, 20), (4, 20), (5, 30), (6, 10), (7, 30)]:
        wh.con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
            "ethnicity_concept_id, care_site_id) VALUES (?, 0, 1950, 0, 0, ?)",
            [pid, cs],
        )
    f = pd.DataFrame({"person_id": [1, 2, 3, 4, 5, 6, 7], "age_at_index": 50, "outcome": 0})
    s = split_sites(wh, f, by="care_site", n_sites=2)
    assert s.method == "care_site"
    # the largest care site (10) is site 1; the others form site 2
    assert s.site.tolist() == ["site 1", "site 1", "site 2", "site 2", "site 2", "site 1", "site 2"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "hospital"}, "unknown site split"),
        ({"n_sites": 1}, "at least 2"),
        ({"n_sites": 40}, "cannot make 40 sites"),
    ],
)
def test_bad_split_settings_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        split_sites(None, _frame(), **kwargs)
