from __future__ import annotations

import pytest

from medmine.privacy.audit import verify
from medmine.report import ReportLink
from medmine.studies import STUDIES, audit_study, lazy_runner, register
from medmine.warehouse import Warehouse


def test_every_study_is_registered_once():
    assert set(STUDIES) >= {
        "readmission",
        "disease_risk",
        "length_of_stay",
        "phenotypes",
        "comorbidity_rules",
        "claims_fraud",
    }
    with pytest.raises(ValueError, match="already registered"):
        register("readmission", lambda wh, out: None)


def test_study_runs_are_audited_in_the_chain(tmp_path, monkeypatch):
    import medmine.studies.phenotypes as ph

    monkeypatch.setattr(
        ph, "run_page", lambda wh, out: ReportLink("Phenotypes", "p.html", "3 clusters")
    )
    with Warehouse(tmp_path / "w.duckdb") as wh:
        lazy_runner("phenotypes")(wh, tmp_path)
        row = wh.con.execute(
            "SELECT action, object, purpose, detail FROM mm_audit ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        assert row == ("study", "phenotypes", "research", '{"summary":"3 clusters"}')
        assert verify(wh).ok


def test_read_only_runs_cannot_be_audited(tmp_path):
    Warehouse(tmp_path / "w.duckdb").close()
    with Warehouse(tmp_path / "w.duckdb", read_only=True) as wh:
        assert audit_study(wh, "x", "y") is False
