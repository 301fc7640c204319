"""No page carries a source path, a file name or a patient's name.

Synthea names its files after the patient (``Given_Family_uuid.json``) and hospitals name
exports after patients too, so provenance on a page must be load id + record location. The
sources here are a Synthea bundle and an HL7 feed saved under patients' names, in a folder
whose name is a patient's name as well.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil

import pytest

from medmine.ingest import fhir, hl7v2
from medmine.quality import run_checks
from medmine.quality.profile import profile_warehouse
from medmine.report import ReportLink, page_context, write_index
from medmine.report.labs import lab_rows
from medmine.report.loads_page import write_loads_page
from medmine.report.profile_page import write_profile_page
from medmine.report.quality_page import write_quality_page
from medmine.report.study_pages import write_study
from medmine.studies import get_study
from medmine.warehouse import Warehouse

from ..conftest import FHIR_SAMPLES, TEST_DATA

#: The smallest bundle of the FHIR sample.
BUNDLE = FHIR_SAMPLES / "Latashia_Emard_91f21d7d.json.gz"
FILE_NAMES = ("Maria_Gonzalez_1234", "Jose_Alvarez_5678")
FOLDER = "Helen_Whitfield_exports"
#: A Synthea-style source file name.
SOURCE_NAME = re.compile(r"[A-Z][a-z]+_[A-Z][a-z]+_\w+\.(json|json\.gz|ndjson|hl7|txt)\b")


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Load the renamed files, write the quality, profile, loads, study and index pages."""
    root = tmp_path_factory.mktemp("phi")
    src = root / FOLDER
    src.mkdir()
    bundle = json.loads(gzip.decompress(BUNDLE.read_bytes()))
    (src / f"{FILE_NAMES[0]}.json").write_text(json.dumps(bundle), encoding="utf-8")
    shutil.copy(TEST_DATA / "hl7v2" / "01_epic_adt.hl7", src / f"{FILE_NAMES[1]}.hl7")
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    names = {n["family"] for n in patient["name"]} | {
        g for n in patient["name"] for g in n["given"]
    }
    out = root / "reports"
    with Warehouse(root / "clinic.duckdb") as wh:
        reports = [
            fhir.load([src / f"{FILE_NAMES[0]}.json"], wh),
            hl7v2.load([src / f"{FILE_NAMES[1]}.hl7"], wh),
        ]
        ctx = page_context(wh)
        quality = write_quality_page(out / "quality.html", run_checks(wh), wh, context=ctx)
        profile = write_profile_page(
            out / "profile.html", profile_warehouse(wh), context=ctx, labs=lab_rows(wh)
        )
        loads = write_loads_page(out / "loads.html", reports, wh.counts(), context=ctx)
        result = get_study("readmission").run(wh)
        link = write_study(result, out, context=ctx)
    index = write_index(out, [ReportLink("Quality", quality.name, "x")], context=ctx)
    written = [quality, profile, loads, out / link.href, index]
    written += sorted(out.glob("study_*.json")) + sorted(out.glob("study_*/*.csv"))
    return {
        "root": root,
        "files": written,
        "patient_names": names,
        "loads": [r.load_id for r in reports],
    }


def test_pages_were_written_with_provenance(pages):
    quality = pages["files"][0].read_text(encoding="utf-8")
    # example rows are traced by load id and file fingerprint, not by file name
    assert "Example rows" in quality and "sha256" in quality
    assert pages["loads"][0] in quality
    for page in pages["files"][:5]:
        text = page.read_text(encoding="utf-8")
        assert all(load in text for load in pages["loads"]), page.name
        assert "clinic.duckdb" in text, page.name


@pytest.mark.parametrize("needle", ["Maria", "Gonzalez", "Jose_Alvarez", "Alvarez", "Whitfield"])
def test_no_page_contains_a_name_from_a_file_or_folder_name(pages, needle):
    for page in pages["files"]:
        assert needle not in page.read_text(encoding="utf-8"), page.name


def test_no_page_contains_a_source_path(pages):
    root = str(pages["root"])
    for page in pages["files"]:
        text = page.read_text(encoding="utf-8")
        assert root not in text and FOLDER not in text, page.name
        assert not SOURCE_NAME.search(text), (page.name, SOURCE_NAME.search(text))


def test_no_page_contains_the_patients_own_name(pages):
    assert pages["patient_names"]
    for page in pages["files"]:
        text = page.read_text(encoding="utf-8")
        for name in pages["patient_names"]:
            assert name not in text, (page.name, name)
