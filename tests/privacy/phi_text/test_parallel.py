"""Scrubbing on several processes gives exactly the output of one process."""

from __future__ import annotations

import pytest

from medmine.privacy import _deid_text
from medmine.privacy._deid_text import PersonDates, scrub_notes
from medmine.privacy.phi_text import Scrubber, ScrubConfig, scrub_parallel
from medmine.warehouse import Warehouse

from ..conftest import build_identified, default_people


def test_scrub_parallel_matches_one_process_in_order() -> None:
    texts = [f"Note {i}: Dr. Ana Ruiz saw Hope Garcia on 3/{i % 28 + 1}/2020." for i in range(90)]
    one = [r.text for r in scrub_parallel(texts, jobs=1)]
    two = [r.text for r in scrub_parallel(iter(texts), jobs=2, chunksize=4, batch=16)]
    assert one == two
    assert one[0] == "Note 0: Dr. [NAME] saw [NAME] on 2020."


@pytest.mark.parametrize("mode", ["safe_harbor", "expert"])
def test_release_note_scrub_on_two_processes_equals_one(tmp_path, monkeypatch, mode) -> None:
    people = default_people(6)
    path = build_identified(tmp_path / "w.duckdb", people)
    persons = {
        p.person_id: PersonDates(
            shift=17 + k if mode == "expert" else None, refy=2020, capped=k == 0
        )
        for k, p in enumerate(people)
    }
    monkeypatch.setattr(_deid_text, "PARALLEL_MIN_NOTES", 0)
    out = {}
    with Warehouse(path) as wh:
        con = wh.con
        con.execute("CREATE TEMP TABLE _mm_pmap AS SELECT person_id AS old FROM person")
        scrubber = Scrubber(ScrubConfig.for_mode(mode))
        for jobs in (1, 2):
            n, counts = scrub_notes(
                con, scrubber, persons, mode=mode, sentinels=frozenset(), batch=5, jobs=jobs
            )
            rows = con.execute("SELECT * FROM _mm_notes ORDER BY note_id").fetchall()
            out[jobs] = (n, counts, rows)
    assert out[1] == out[2]
    n, counts, rows = out[1]
    assert n == 18 and counts["PATIENT"] >= 18
    assert all(p.family not in text and p.phone not in text for p in people for _, text, _ in rows)


def test_shared_context_carries_the_warehouses_vocabulary_words(tmp_path) -> None:
    from medmine.privacy.phi_text.context import shared_context

    path = build_identified(tmp_path / "v.duckdb", default_people(1))
    with Warehouse(path) as wh:
        wh.con.execute(
            "INSERT INTO mm_source_concept VALUES ('SNOMED', '1', 'Zanthrovex of Garcia', 'l')"
        )
        ctx = shared_context(wh.con)
    assert "zanthrovex" in ctx.safe_words
    assert "garcia" not in ctx.safe_words  # person names never become safe words
    text = "Zanthrovex noted."
    assert Scrubber().analyze(text) != [] and Scrubber().analyze(text, ctx) == []
