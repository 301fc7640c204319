"""medmine.nlp.scoring: mention matching, modifier counts and the development/locked split."""

from __future__ import annotations

from medmine.nlp.scoring import Score, match_mentions, split_half


def _g(a, b, dom="condition", **kw):
    return {"start": a, "end": b, "domain": dom, "experiencer": kw.pop("exp", "patient"), **kw}


def _s(a, b, dom="Condition", **kw):
    return {"start": a, "end": b, "domain": dom, "experiencer": kw.pop("exp", "patient"), **kw}


def test_overlap_with_same_domain_group_matches_one_to_one() -> None:
    gold = [_g(0, 10), _g(12, 20, "drug"), _g(30, 35, "symptom")]
    system = [_s(2, 8), _s(3, 11), _s(12, 20, "Condition"), _s(30, 33, "Observation")]
    assert sorted(match_mentions(gold, system)) == [(0, 1), (2, 3)]


def test_score_figures() -> None:
    sc = Score()
    sc.add(
        [_g(0, 5, negated=True), _g(10, 15, negated=False), _g(20, 25, negated=True)],
        [_s(0, 5, negated=True), _s(10, 15, negated=True), _s(40, 45, negated=False)],
    )
    s = sc.summary()
    assert (s["precision"], s["recall"]) == (round(2 / 3, 4), round(2 / 3, 4))
    neg = s["modifiers"]["negated"]
    assert (neg["tp"], neg["fp"], neg["fn"], neg["tn"]) == (1, 1, 0, 0)
    assert neg["sensitivity"] == 1.0 and neg["specificity"] == 0.0 and neg["ppv"] == 0.5


def test_split_is_deterministic_by_type_and_halves() -> None:
    recs = [{"id": f"s{i}", "type": "sentence"} for i in range(7)] + [
        {"id": f"n{i}", "type": "note"} for i in range(4)
    ]
    dev, locked = split_half(recs)
    assert len(dev) == 4 + 2 and len(locked) == 3 + 2
    assert split_half(list(reversed(recs))) == (dev, locked)
    assert not {r["id"] for r in dev} & {r["id"] for r in locked}
