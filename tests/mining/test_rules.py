"""Known-answer tests for FP-Growth and association rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlxtend.frequent_patterns import fpgrowth as mlxtend_fpgrowth

from medmine.mining.rules import (
    AssociationRuleMiner,
    benjamini_hochberg,
    clinical_transactions,
    fpgrowth,
)

# Ten baskets; by hand: bread 7, milk 6, bread&milk 5, butter 4, bread&butter 4,
# bread&milk&butter 3, milk&butter 3.
BASKETS = [
    ["bread", "milk"],
    ["bread", "milk"],
    ["bread", "milk", "butter"],
    ["bread", "milk", "butter"],
    ["bread", "milk", "butter"],
    ["bread", "butter"],
    ["bread"],
    ["milk"],
    ["eggs"],
    ["eggs"],
]
NAMES = ["bread", "milk", "butter", "eggs"]


def encode(baskets):
    return [[NAMES.index(i) for i in b] for b in baskets]


def rule(rules, ante, cons):
    hit = rules[(rules.antecedents == frozenset(ante)) & (rules.consequents == frozenset(cons))]
    assert len(hit) == 1, f"rule {ante} -> {cons} not found"
    return hit.iloc[0]


def test_rule_metrics_match_hand_computation():
    m = AssociationRuleMiner(min_support=0.2, min_confidence=0.5, min_lift=0.0, alpha=None)
    rules = m.fit(encode(BASKETS), item_names=NAMES).rules_
    r = rule(rules, {"butter"}, {"bread"})
    # support 4/10; confidence 4/4; lift 1 / 0.7; leverage 0.4 - 0.4*0.7; conviction inf
    assert r.support == pytest.approx(0.4)
    assert r.confidence == pytest.approx(1.0)
    assert r.lift == pytest.approx(1 / 0.7)
    assert r.leverage == pytest.approx(0.4 - 0.4 * 0.7)
    assert r.conviction == np.inf
    r = rule(rules, {"bread"}, {"milk"})
    # support 5/10; confidence 5/7; lift (5/7)/0.6; leverage 0.5-0.42; conviction 0.4/(2/7)
    assert r.confidence == pytest.approx(5 / 7)
    assert r.lift == pytest.approx((5 / 7) / 0.6)
    assert r.leverage == pytest.approx(0.5 - 0.7 * 0.6)
    assert r.conviction == pytest.approx(0.4 / (2 / 7))
    r = rule(rules, {"milk", "butter"}, {"bread"})
    assert r.support == pytest.approx(0.3) and r.confidence == pytest.approx(1.0)
    # itemset supports
    sup = dict(zip(m.itemsets_.itemsets, m.itemsets_["count"], strict=True))
    assert sup[frozenset({"bread", "milk", "butter"})] == 3
    assert frozenset({"eggs"}) in sup and frozenset({"eggs", "bread"}) not in sup


def test_item_constraints_and_max_len():
    m = AssociationRuleMiner(
        min_support=0.2, min_confidence=0.5, min_lift=0.0, alpha=None, consequents=["bread"]
    )
    rules = m.fit(encode(BASKETS), item_names=NAMES).rules_
    assert len(rules) > 0
    assert all(c == frozenset({"bread"}) for c in rules.consequents)
    short = AssociationRuleMiner(min_support=0.2, min_confidence=0.5, max_len=2, alpha=None)
    short.fit(encode(BASKETS), item_names=NAMES)
    assert short.itemsets_.itemsets.map(len).max() == 2
    assert (short.rules_.antecedents.map(len) == 1).all()


def test_fdr_removes_planted_spurious_rule():
    rng = np.random.default_rng(0)
    n = 2000
    A = rng.random(n) < 0.15
    B = np.where(A, rng.random(n) < 0.9, rng.random(n) < 0.1)  # true rule A -> B
    Y = rng.random(n) < 0.5  # a common item
    X = np.zeros(n, bool)
    X[np.flatnonzero(Y)[:3]] = True  # rare item seen 3 times, always with Y by chance
    noise = rng.random((n, 10)) < 0.2
    D = np.c_[A, B, X, Y, noise]
    names = ["A", "B", "X", "Y"] + [f"n{i}" for i in range(10)]
    tx = [np.flatnonzero(r).tolist() for r in D]
    kw = dict(min_support=0.001, min_confidence=0.9, min_lift=1.0, max_len=2)
    raw = AssociationRuleMiner(alpha=None, **kw).fit(tx, item_names=names).rules_
    spurious = rule(raw, {"X"}, {"Y"})
    assert spurious.confidence == 1.0 and spurious.lift > 1.8
    kept = AssociationRuleMiner(alpha=0.05, **kw).fit(tx, item_names=names).rules_
    pairs = set(zip(kept.antecedents, kept.consequents, strict=True))
    assert (frozenset({"X"}), frozenset({"Y"})) not in pairs
    true = AssociationRuleMiner(alpha=0.05, **{**kw, "min_confidence": 0.8})
    kept = true.fit(tx, item_names=names).rules_
    assert rule(kept, {"A"}, {"B"}).q_value < 1e-10


def test_benjamini_hochberg_known_values():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 -> *4/rank = 0.02, 0.02, 0.04, 0.04
    np.testing.assert_allclose(benjamini_hochberg(p), [0.02, 0.04, 0.04, 0.02])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.lists(st.lists(st.integers(0, 9), max_size=7), min_size=1, max_size=60),
    min_support=st.floats(0.02, 0.8),
    max_len=st.integers(1, 5),
)
def test_itemsets_identical_to_mlxtend(data, min_support, max_len):
    onehot = np.zeros((len(data), 10), dtype=bool)
    for i, t in enumerate(data):
        onehot[i, t] = True
    ref = mlxtend_fpgrowth(pd.DataFrame(onehot), min_support=min_support, max_len=max_len)
    got = fpgrowth(data, min_support=min_support, max_len=max_len)
    a = dict(zip(ref.itemsets, ref.support, strict=True))
    b = dict(zip(got.itemsets, got.support, strict=True))
    assert a.keys() == b.keys()
    for k, v in a.items():
        assert b[k] == pytest.approx(v)


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="'min_support' parameter of AssociationRuleMiner"):
        AssociationRuleMiner(min_support=1.5).fit([[0]])


def test_transactions_built_in_sql(wh):
    wh.con.execute(
        "INSERT INTO concept VALUES (1, 'Hypertension', 'Condition', 'SNOMED', 'x', 'S', '1',"
        " DATE '2000-01-01', DATE '2099-01-01', NULL)"
    )
    for pid in (1, 2):
        wh.con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id,"
            f" ethnicity_concept_id) VALUES ({pid}, 8507, 1970, 0, 0)"
        )
    wh.con.execute(
        "INSERT INTO condition_occurrence (condition_occurrence_id, person_id,"
        " condition_concept_id, condition_start_date, condition_type_concept_id) VALUES"
        " (1, 1, 1, DATE '2020-01-01', 0), (2, 1, 1, DATE '2020-02-01', 0),"
        " (3, 2, 1, DATE '2020-01-01', 0)"
    )
    wh.con.execute(
        "INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id,"
        " drug_exposure_start_date, drug_exposure_end_date, drug_type_concept_id) VALUES"
        " (1, 1, 7, DATE '2020-01-01', DATE '2020-01-02', 0)"
    )
    tx = clinical_transactions(wh, by="person")
    assert tx.items == ["condition:1", "drug:7"]
    assert tx.labels == ["Hypertension", "drug 7"]
    assert tx.matrix.toarray().tolist() == [[1, 1], [1, 0]]
    only2 = clinical_transactions(wh, person_ids_sql="SELECT 2")
    assert only2.ids.tolist() == [2]
