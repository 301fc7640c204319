"""The fresh-set scoring rule of bench/phi_text_eval.py on notes written for this test."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def ev():
    spec = importlib.util.spec_from_file_location("phi_eval", ROOT / "bench" / "phi_text_eval.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Fixed:
    """A detector returning fixed (start, end) spans."""

    def __init__(self, spans):
        self.spans = spans

    def analyze(self, text):
        return [SimpleNamespace(start=s, end=e) for s, e in self.spans]


TEXT = "Seen by Dr. Jane Garcia on 03/04/2021, age 92, born 1930; metformin given."


def _case():
    def span(sub, typ):
        i = TEXT.index(sub)
        return {"start": i, "end": i + len(sub), "type": typ, "text": sub}

    return {
        "id": "t1",
        "note_type": "ED note",
        "text": TEXT,
        "spans": [
            span("Jane Garcia", "NAME"),
            span("03/04/2021", "DATE"),
            span("92", "AGE"),
            span("1930", "DATE"),
        ],
        "clinical_terms": ["metformin", "not in the text"],
    }


def test_a_span_counts_only_when_all_its_characters_are_covered(ev) -> None:
    name = TEXT.index("Jane Garcia")
    partial = Fixed([(name, name + 4)])  # "Jane" only
    r = ev.score_fresh([_case()], partial)
    assert r["recall_per_type"]["NAME"]["recall"] == 0.0
    full = Fixed([(name, name + len("Jane Garcia"))])
    assert ev.score_fresh([_case()], full)["recall_per_type"]["NAME"]["recall"] == 1.0


def test_year_only_dates_and_under_90_ages_are_outside_the_overall(ev) -> None:
    case = _case()
    case["spans"].append(
        {"start": TEXT.index("age") + 4, "end": TEXT.index("age") + 6, "type": "AGE", "text": "92"}
    )
    r = ev.score_fresh([case], Fixed([]))
    assert r["recall_per_type"]["DATE_YEAR_ONLY"]["gold"] == 1
    assert r["recall_per_type"]["AGE"]["gold"] == 2
    assert r["recall_overall"] == 0.0
    under = dict(case, text=TEXT.replace("92", "54"))
    r = ev.score_fresh([under], Fixed([]))
    assert "AGE_UNDER_90" in r["recall_per_type"]


def test_precision_and_clinical_tokens(ev) -> None:
    med = TEXT.index("metformin")
    r = ev.score_fresh([_case()], Fixed([(0, 4), (med, med + 9)]))  # "Seen", "metformin"
    assert r["precision_spans"] == 0.0
    assert r["clinical_tokens"] == 1 and r["clinical_tokens_kept"] == 0.0
    assert r["clinical_terms_absent"] == 1


def test_split_is_deterministic_stratified_and_disjoint(ev) -> None:
    cases = [
        {"id": f"n{i:03d}", "note_type": t, "text": "", "spans": []}
        for i, t in enumerate(["a"] * 5 + ["b"] * 4)
    ]
    h1, h2 = ev.split_fresh(cases), ev.split_fresh(list(reversed(cases)))
    assert [c["id"] for c in h1["dev"]] == [c["id"] for c in h2["dev"]]
    assert sum(c["note_type"] == "a" for c in h1["dev"]) == 3
    assert sum(c["note_type"] == "b" for c in h1["dev"]) == 2
    assert not {c["id"] for c in h1["dev"]} & {c["id"] for c in h1["locked"]}


def test_bad_line_stops_with_its_number(ev, tmp_path) -> None:
    p = tmp_path / "notes.jsonl"
    good = json.dumps(_case())
    bad = json.dumps({"id": "x", "text": "ab", "spans": [{"start": 1, "end": 9, "type": "NAME"}]})
    p.write_text(good + "\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"notes.jsonl:2: not a valid note"):
        ev.load_fresh(p)


def test_first_and_locked_scores_are_recorded_once(ev) -> None:
    results = json.loads((ROOT / "bench" / "results" / "phi_text_eval.json").read_text())
    fresh = results["fresh"]
    assert fresh["scoring_rule"] == ev.SCORING_RULE
    assert (
        fresh["first_score"]["commit"]
        and not fresh["first_score"]["scrubber_files_modified_since_commit"]
    )
    assert fresh["first_score"]["all"]["medmine_recall"]["notes"] >= 80


def test_another_set_is_scored_once_and_only_when_ready(ev, tmp_path: Path) -> None:
    folder = tmp_path / "tests" / "data" / "phi_eval_mine"
    folder.mkdir(parents=True)
    text = "Seen by Dr. Jane Garcia on 03/04/2021."
    note = {
        "id": "m1",
        "note_type": "progress note",
        "text": text,
        "spans": [
            {"start": 12, "end": 23, "type": "NAME", "text": "Jane Garcia"},
            {"start": 27, "end": 37, "type": "DATE", "text": "03/04/2021"},
        ],
        "clinical_terms": [],
    }
    (folder / "notes.jsonl").write_text(json.dumps(note) + "\n")
    (folder / "PROVENANCE.md").write_text("written blind\n")
    with pytest.raises(SystemExit, match="not READY"):
        ev.main_set("phi_eval_mine", ["medmine_precise"], root=tmp_path)
    (folder / "READY").write_text("")
    ev.main_set("phi_eval_mine", ["medmine_precise"], root=tmp_path)
    out = json.loads((tmp_path / "bench" / "results" / "phi_text_eval_mine.json").read_text())
    score = out["first_score"]["all"]["medmine_precise"]
    assert score["recall_overall"] == 1.0 and score["notes"] == 1
    assert out["scoring_rule"] == ev.SCORING_RULE
    with pytest.raises(SystemExit, match="scored once"):
        ev.main_set("phi_eval_mine", ["medmine_precise"], root=tmp_path)


def _note(i: int, split: str | None) -> dict:
    text = f"Seen by Dr. Jane Garcia on 03/0{i}/2021."
    n = {
        "id": f"p{i}",
        "note_type": "progress note",
        "text": text,
        "spans": [
            {"start": 12, "end": 23, "type": "NAME", "text": "Jane Garcia"},
            {"start": 27, "end": 37, "type": "DATE", "text": text[27:37]},
        ],
        "clinical_terms": [],
    }
    if split:
        n["split"] = split
    return n


def test_path_split_uses_the_split_field(ev) -> None:
    cases = [_note(1, "dev"), _note(2, "locked"), _note(3, "dev")]
    dev, how = ev.select_split(cases, "dev")
    assert [c["id"] for c in dev] == ["p1", "p3"] and "split" in how
    assert [c["id"] for c in ev.select_split(cases, "locked")[0]] == ["p2"]
    assert len(ev.select_split(cases, "all")[0]) == 3
    with pytest.raises(SystemExit, match="no 'split' field"):
        ev.select_split([*cases, _note(4, None)], "dev")
    with pytest.raises(SystemExit, match="unknown 'split'"):
        ev.select_split([_note(1, "test")], "dev")
    with pytest.raises(SystemExit, match="no note is in the locked"):
        ev.select_split([_note(1, "dev")], "locked")
    unlabelled = [_note(i, None) for i in range(1, 5)]
    halves = ev.split_fresh(unlabelled)
    assert ev.select_split(unlabelled, "locked")[0] == halves["locked"]


def test_path_is_scored_once_per_label_and_split(ev, tmp_path: Path) -> None:
    p = tmp_path / "notes.jsonl"
    p.write_text("".join(json.dumps(_note(i, s)) + "\n" for i, s in [(1, "dev"), (2, "locked")]))
    res = ev.main_path(p, "mine", "dev", ["medmine_precise"], root=tmp_path)
    first = res["first_score"]
    assert first["ids"] == ["p1"] and first["split"] == "dev"
    assert first["detectors"]["medmine_precise"]["recall_overall"] == 1.0
    out = tmp_path / "bench" / "results" / "phi_text_eval_mine_dev.json"
    assert json.loads(out.read_text())["first_score"]["notes"] == 1
    assert (tmp_path / "bench" / "results" / ".phi_text_eval_mine_dev.scored").exists()
    with pytest.raises(SystemExit, match="scored once"):
        ev.main_path(p, "mine", "dev", ["medmine_precise"], root=tmp_path)
    again = ev.main_path(p, "mine", "dev", ["medmine_precise"], root=tmp_path, repeat_dev=True)
    assert len(again["dev_history"]) == 1 and again["first_score"] == first
    ev.main_path(p, "mine", "locked", ["medmine_precise"], root=tmp_path)
    with pytest.raises(SystemExit, match="scored once"):
        ev.main_path(p, "mine", "locked", ["medmine_precise"], root=tmp_path, repeat_dev=True)
    with pytest.raises(SystemExit, match="--label"):
        ev.main_path(p, "../x", "all", ["medmine_precise"], root=tmp_path)
    with pytest.raises(SystemExit, match="no such notes file"):
        ev.main_path(tmp_path / "nope.jsonl", "other", "all", ["medmine_precise"], root=tmp_path)


def test_span_type_may_be_named_entity_or_label(ev, tmp_path) -> None:
    p = tmp_path / "notes.jsonl"
    note = _note(1, "dev")
    for sp, key in zip(note["spans"], ("entity", "label"), strict=True):
        sp[key] = sp.pop("type")
    p.write_text(json.dumps(note) + "\n", encoding="utf-8")
    assert [s["type"] for s in ev.load_fresh(p)[0]["spans"]] == ["NAME", "DATE"]
    note["spans"][0].pop("entity")
    p.write_text(json.dumps(note) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"notes.jsonl:1: not a valid note"):
        ev.load_fresh(p)
