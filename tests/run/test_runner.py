"""`run_pipeline` on small real data: every stage once, then only what changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.console import Console

from medmine.errors import ConfigError
from medmine.ingest import claims, fhir
from medmine.privacy.audit import verify
from medmine.privacy.pseudonym import KEY_ENV
from medmine.run import StageFailedError, load_pipeline, run_pipeline
from medmine.run.fingerprint import loads_digest
from medmine.warehouse import Warehouse

from .conftest import copy_sources, pipeline_doc, write_pipeline

STAGES = ["load", "quality", "deid", "study comorbidity_rules", "study readmission", "report"]


def run(path: Path, **kw):
    return run_pipeline(load_pipeline(path), console=Console(quiet=True), **kw)


def statuses(result) -> dict[str, str]:
    return {o.name: o.status for o in result.outcomes}


@pytest.fixture(scope="module")
def twice(tmp_path_factory):
    """The default test pipeline run twice in a row, untouched in between."""
    root = tmp_path_factory.mktemp("twice")
    copy_sources(root)
    old = os.environ.pop(KEY_ENV, None)
    path = write_pipeline(root, pipeline_doc(quality={"types": ["is_primary_key"]}))
    first = run(path)
    index_mtime = (root / "reports" / "index.html").stat().st_mtime_ns
    second = run(path)
    if old is not None:
        os.environ[KEY_ENV] = old
    return root, first, second, index_mtime


def test_first_run_does_every_stage_and_writes_the_index(twice):
    root, first, _, _ = twice
    assert first.ok, first.error
    assert statuses(first) == dict.fromkeys(STAGES, "done")
    assert first.index == root / "reports" / "index.html"
    index = first.index.read_text()
    for page in ("loads.html", "quality.html", "profile.html", "privacy.html"):
        assert f'href="{page}"' in index and (root / "reports" / page).exists()
    for name in ("comorbidity_rules", "readmission"):
        assert f'href="study_{name}.html"' in index
    assert (root / "work" / "medmine.duckdb").exists()
    assert (root / "work" / "medmine_deid.duckdb").exists()
    assert not (root / "work" / "medmine.duckdb.building").exists()
    with Warehouse(root / "work" / "medmine.duckdb", read_only=True) as wh:
        assert wh.count("mm_load") == 2 and wh.count("mm_claim") > 0
        assert wh.count("mm_quality_result") > 0


def test_pages_name_the_command_and_never_a_source_path(twice):
    root, _, _, _ = twice
    pages = [p for p in (root / "reports").rglob("*") if p.suffix in (".html", ".json")]
    assert len(pages) >= 8
    for page in pages:
        text = page.read_text()
        assert str(root) not in text and "claims_generic" not in text, page.name
        assert "Patient.ndjson" not in text, page.name
    assert "medmine run pipeline.yaml" in (root / "reports" / "index.html").read_text()


def test_second_run_skips_every_stage_as_unchanged(twice):
    root, _, second, index_mtime = twice
    assert statuses(second) == dict.fromkeys(STAGES, "skipped")
    assert all(o.duration_s == 0.0 for o in second.outcomes)
    assert second.index == root / "reports" / "index.html"
    assert second.index.stat().st_mtime_ns == index_mtime


def test_touching_a_source_reruns_load_and_everything_downstream(project):
    path = write_pipeline(project, pipeline_doc(studies={"readmission": {"n_boot": 20}}))
    assert run(path).ok
    wh = project / "work" / "medmine.duckdb"
    before = loads_digest(wh)
    with Warehouse(wh, read_only=True) as w:
        audit_before = w.count("mm_audit")
    (project / "data" / "claims" / "claims_generic.csv").touch()
    again = run(path)
    assert statuses(again) == dict.fromkeys(
        ["load", "quality", "deid", "study readmission", "report"], "done"
    )
    assert loads_digest(wh) != before
    with Warehouse(wh, read_only=True) as w:  # rebuilt, not loaded on top
        assert w.count("mm_load") == 2
        assert w.count("mm_audit") > audit_before  # the audit chain goes on across rebuilds
        assert verify(w).ok
    assert not list(wh.parent.glob("*.building*"))


def test_changing_one_study_option_reruns_only_that_study_and_the_report(project):
    doc = pipeline_doc(deid=None)
    path = write_pipeline(project, doc)
    assert run(path).ok
    doc["studies"]["readmission"]["n_boot"] = 30
    write_pipeline(project, doc)
    again = statuses(run(path))
    assert again["study readmission"] == "done"
    # the index is rewritten only if the study's summary line changed
    assert {s for s, v in again.items() if v == "done"} <= {"study readmission", "report"}
    # without deid the studies read the load, not the quality stage: new checks leave them be
    doc["quality"]["units"] = True
    write_pipeline(project, doc)
    third = statuses(run(path))
    assert third["quality"] == "done" and third["study readmission"] == "skipped"
    assert set(statuses(run(path, force=True)).values()) == {"done"}


def test_a_deleted_page_reruns_only_the_stage_that_wrote_it(project):
    path = write_pipeline(project, pipeline_doc())
    assert run(path).ok
    (project / "reports" / "study_readmission.html").unlink()
    again = statuses(run(path))
    assert again["study readmission"] == "done"
    assert [s for s, v in again.items() if v == "done"] == ["study readmission"]


def test_a_failed_stage_stops_the_run_and_the_next_run_resumes_there(project):
    doc = pipeline_doc(deid=None, studies={"phenotypes": None, "readmission": {"n_boot": 20}})
    path = write_pipeline(project, doc)
    first = run(path)
    assert statuses(first) == {
        "load": "done",
        "quality": "done",
        "study phenotypes": "failed",
        "study readmission": "not run",
        "report": "not run",
    }
    assert not (project / "reports" / "index.html").exists()
    with pytest.raises(StageFailedError, match=r"^stage study phenotypes failed: .*persons"):
        first.raise_for_failure()
    del doc["studies"]["phenotypes"]
    write_pipeline(project, doc)
    second = run(path)
    assert second.ok
    assert statuses(second) == {
        "load": "skipped",
        "quality": "skipped",
        "study readmission": "done",
        "report": "done",
    }


def test_an_unreadable_input_fails_the_load_and_keeps_the_previous_warehouse(project):
    path = write_pipeline(project, pipeline_doc(deid=None, studies=None, quality=False))
    assert run(path).ok
    wh = project / "work" / "medmine.duckdb"
    before = loads_digest(wh)
    (project / "data" / "claims" / "broken.csv").write_bytes(b"")
    failed = run(path)
    assert statuses(failed) == {"load": "failed", "report": "not run"}
    with pytest.raises(StageFailedError, match=r"stage load failed: .*broken\.csv"):
        failed.raise_for_failure()
    assert loads_digest(wh) == before
    assert not (project / "work" / "medmine.duckdb.building").exists()


def test_refuses_to_rebuild_a_warehouse_it_did_not_build(project):
    wh = project / "work" / "medmine.duckdb"
    wh.parent.mkdir()
    with Warehouse(wh) as w:
        fhir.load([project / "data" / "fhir"], w)
    before = loads_digest(wh)
    path = write_pipeline(project, pipeline_doc())
    with pytest.raises(ConfigError, match="exists and was not built by `medmine run`"):
        run(path)
    assert loads_digest(wh) == before and not (project / "reports").exists()


def test_without_sources_the_later_stages_run_on_an_existing_warehouse(project):
    wh = project / "mine.duckdb"
    with Warehouse(wh) as w:
        fhir.load([project / "data" / "fhir"], w)
    doc = pipeline_doc(warehouse="mine.duckdb", sources=None, deid=None)
    path = write_pipeline(project, doc)
    assert statuses(run(path))["load"] == "done"
    assert set(statuses(run(path)).values()) == {"skipped"}
    with Warehouse(wh) as w:  # loaded into by hand: the later stages see it
        claims.load([project / "data" / "claims"], w)
    third = statuses(run(path))
    assert third["quality"] == third["study readmission"] == "done"
    assert "Loads" in (project / "reports" / "index.html").read_text()


def test_consent_loads_after_the_other_sources_and_deid_leaves_refusers_out(project):
    (project / "consent.csv").write_text(
        "person_source_value,purpose,decision,start,end\n"
        "Patient/p1,research,deny,2020-01-01,\n"
        "fhir:Patient/nobody,research,deny,2020-01-01,\n"
    )
    sources = [
        {"format": "consent", "paths": ["consent.csv"]},  # listed first, loaded last
        {"format": "fhir", "paths": ["data/fhir"]},
    ]
    path = write_pipeline(project, pipeline_doc(sources=sources, studies=None))
    result = run(path)
    assert result.ok, result.error
    index = (project / "reports" / "index.html").read_text()
    assert "1 excluded by consent" in index
    privacy = (project / "reports" / "privacy.html").read_text()
    assert "2 rows read, 1 loaded" in " ".join(privacy.split())
