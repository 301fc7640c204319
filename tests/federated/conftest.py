"""Shared fixtures: the Eunomia warehouse and its GI-bleed cohort with covariates."""

from __future__ import annotations

import pytest

from medmine.warehouse import Warehouse


@pytest.fixture(scope="session")
def eunomia_wh(tmp_path_factory):
    from medmine.ingest import omop

    path = tmp_path_factory.mktemp("fed_eunomia") / "eunomia.duckdb"
    with Warehouse(path) as w:
        omop.load(omop.eunomia_path(), w)
    w = Warehouse(path, read_only=True)
    yield w
    w.close()


@pytest.fixture(scope="session")
def gi_data(eunomia_wh):
    from medmine.features.tasks import disease_risk
    from medmine.federated import study_data

    return study_data(eunomia_wh, disease_risk())
