"""Small real inputs for pipeline runs: copies of the FHIR and claims fixtures in a temp folder."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from medmine.privacy.pseudonym import KEY_ENV

from ..conftest import TEST_DATA

#: Few, fast check types (the full set takes seconds). Unit normalisation and the profile page
#: take a second or two each: only some tests ask for them.
FAST_CHECKS = ["is_primary_key", "start_before_end", "future_date", "plausible_sex"]


def copy_sources(root: Path) -> dict[str, Path]:
    """Copy the FHIR fixtures and the claims CSV under `root` (so tests may change them)."""
    fhir = root / "data" / "fhir"
    claims = root / "data" / "claims"
    shutil.copytree(TEST_DATA / "fhir", fhir)
    shutil.copytree(TEST_DATA / "claims", claims)
    return {"fhir": fhir, "claims": claims}


def pipeline_doc(**overrides: Any) -> dict[str, Any]:
    """A pipeline over the copied fixtures: deid with an ephemeral key, two small studies."""
    doc: dict[str, Any] = {
        "warehouse": "work/medmine.duckdb",
        "out": "reports",
        "sources": [
            {"format": "fhir", "paths": ["data/fhir"]},
            {"format": "claims", "paths": ["data/claims"]},
        ],
        "quality": {"types": FAST_CHECKS, "link": False, "units": False, "profile": False},
        "deid": {"key": "ephemeral", "reference_date": "2024-01-01"},
        "studies": {"comorbidity_rules": {"min_support": 0.05}, "readmission": {"n_boot": 20}},
    }
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def write_pipeline(root: Path, doc: dict[str, Any], name: str = "pipeline.yaml") -> Path:
    """Write `doc` as YAML under `root`; returns the file."""
    path = root / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding copies of the fixtures (no deid key in the environment)."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    copy_sources(tmp_path)
    return tmp_path
