import pandas as pd
import pytest

from medmine.errors import ConfigError
from medmine.surveillance.counts import counts_table, syndromic_counts
from medmine.surveillance.syndromes import DEFAULT_SYNDROMES, get_syndrome, load_syndromes


def test_ili_counts_persons_once_per_week_by_state_and_age(small_wh):
    df = syndromic_counts(small_wh, DEFAULT_SYNDROMES["ILI"], area="state")
    got = {(str(r.date.date()), r.area, r.age_band): r.count for r in df.itertuples()}
    assert got == {
        ("2024-01-01", "MA", "25-49"): 1,  # person 1: two ILI codes in one week, one case
        ("2024-01-01", "MA", "65+"): 1,  # person 2 (born 1950)
        ("2024-01-08", "NY", "0-4"): 1,  # person 3 by concept id 4112343
        ("2024-01-15", "unknown", "25-49"): 1,  # person 4 has no location
    }


def test_zip3_area_and_consent_subquery(small_wh):
    df = syndromic_counts(
        small_wh,
        DEFAULT_SYNDROMES["ILI"],
        area="zip3",
        age_bands=None,
        persons_sql="SELECT 1 AS person_id",
    )
    assert df[["area", "age_band", "count"]].values.tolist() == [["021", "all", 1]]


def test_counts_table_fills_empty_weeks_with_zero(small_wh):
    df = syndromic_counts(small_wh, DEFAULT_SYNDROMES["ILI"], area="none", age_bands=None)
    t = counts_table(df, start="2023-12-25", end="2024-01-29")
    assert t.freq == "weekly" and t.areas == ["all"]
    assert t.counts[0].tolist() == [0, 2, 1, 1, 0, 0]


def test_user_syndrome_from_yaml_and_json(tmp_path, small_wh):
    y = tmp_path / "s.yaml"
    y.write_text("name: gi\nconditions:\n  codes:\n    ICD10CM: ['K52*']\n", encoding="utf-8")
    syn = load_syndromes(y)["gi"]
    df = syndromic_counts(small_wh, syn, area="none", age_bands=None)
    assert df["count"].tolist() == [1]
    j = tmp_path / "s.json"
    j.write_text('[{"name": "flu", "conditions": {"concept_ids": [4112343]}}]', encoding="utf-8")
    assert get_syndrome("flu", load_syndromes(j)).conditions.concept_ids == (4112343,)


@pytest.mark.parametrize(
    ("text", "msg"),
    [
        ("name: x\n", "selects nothing"),
        ("name: x\nconditions: {codes: {ICD10CM: ['J*1']}}\n", "only at the end"),
        ("name: x\nlabs: {}\n", "unknown key"),
        ("conditions: {concept_ids: [1]}\n", "non-empty 'name'"),
        ("name: x\nconditions: {concept_ids: [-3]}\n", "positive integers"),
    ],
)
def test_bad_syndrome_files_name_the_problem(tmp_path, text, msg):
    p = tmp_path / "bad.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=msg):
        load_syndromes(p)


def test_unknown_syndrome_and_area_are_refused(small_wh):
    with pytest.raises(ConfigError, match="unknown syndrome 'flu'.*ILI"):
        get_syndrome("flu")
    with pytest.raises(ConfigError, match="area must be one of"):
        syndromic_counts(small_wh, DEFAULT_SYNDROMES["ILI"], area="city")
    assert isinstance(pd.Timestamp("2024-01-01"), pd.Timestamp)


def test_affirmed_note_mentions_count_and_negated_ones_do_not(small_wh):
    con = small_wh.con
    con.execute(
        "INSERT INTO note (note_id, person_id, note_date, note_type_concept_id, "
        "note_class_concept_id, note_text, encoding_concept_id, language_concept_id) VALUES "
        "(1, 1, DATE '2024-03-05', 0, 0, 'x', 0, 0), (2, 2, DATE '2024-03-06', 0, 0, 'x', 0, 0)"
    )
    con.execute(
        "INSERT INTO note_nlp (note_nlp_id, note_id, lexical_variant, note_nlp_concept_id, "
        "nlp_date, term_exists) VALUES (1, 1, 'sore throat', 4112343, DATE '2024-03-05', 'Y'), "
        "(2, 2, 'sore throat', 4112343, DATE '2024-03-06', 'N')"
    )
    df = syndromic_counts(
        small_wh, DEFAULT_SYNDROMES["ILI"], area="none", age_bands=None, start="2024-03-01"
    )
    assert df["count"].tolist() == [1]  # person 1 affirmed; person 2's mention is negated
