from __future__ import annotations

from medmine.synth.linkage import NICKNAMES, ErrorRates, make_identities


def test_fixture_has_known_duplicates_across_sources():
    rows, truth = make_identities(200, seed=3)
    assert len(set(truth.values())) == 200
    assert len(rows) > 300  # one to three records per entity
    assert len({(r["person_id"], r["source"]) for r in rows}) == len(rows)


def test_same_seed_gives_the_same_records():
    assert make_identities(50, seed=7) == make_identities(50, seed=7)
    assert make_identities(50, seed=7) != make_identities(50, seed=8)


def test_duplicates_use_the_built_in_nicknames():
    always = ErrorRates(nickname=1.0, typo_given=0.0)
    rows, truth = make_identities(300, seed=5, rates=always)
    known = set(NICKNAMES.values())
    first: dict[int, str] = {}
    used = 0
    for r in rows:
        entity = truth[f"{r['source']}:{r['person_id']}"]
        given = r["given_name"].lower()
        if entity in first and given != first[entity]:
            assert given in known
            used += 1
        first.setdefault(entity, given)
    assert used > 0
