"""Shared fixtures: small real data, one Eunomia warehouse per test run."""

from __future__ import annotations

from pathlib import Path

import pytest

from medmine.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
FHIR_SAMPLES = SAMPLES / "synthea_fhir"
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    """An empty warehouse in a temporary file."""
    w = Warehouse(tmp_path / "test.duckdb")
    yield w
    w.close()
