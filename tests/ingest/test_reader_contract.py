"""What every reader shares: the one progress protocol and the one rejection exception."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from medmine.ingest import claims, fhir, hl7v2, notes, omop, synthea_csv

from ..conftest import TEST_DATA

INGEST = Path(__file__).resolve().parents[2] / "src" / "medmine" / "ingest"

#: reader, input, options, units the last call reports as done, whether the total is known
READERS = [
    (omop.load, TEST_DATA / "omop_csv", {}, 3, True),
    (fhir.load, TEST_DATA / "fhir", {}, None, True),
    (hl7v2.load, TEST_DATA / "hl7v2", {}, None, False),
    (claims.load, TEST_DATA / "claims", {}, None, False),
    (claims.load, TEST_DATA / "synpuf", {}, None, False),
    (synthea_csv.load, TEST_DATA / "synthea_csv", {}, None, False),
    (notes.load, TEST_DATA / "notes", {}, 11, True),
]


@pytest.mark.parametrize(
    ("load", "source", "options", "last_done", "total_known"),
    READERS,
    ids=["omop", "fhir", "hl7v2", "claims", "synpuf", "synthea_csv", "notes"],
)
def test_every_reader_reports_progress_as_item_done_total(
    wh, load, source, options, last_done, total_known
):
    calls: list[tuple[str, int, int | None]] = []

    def progress(item: str, done: int, total: int | None) -> None:
        calls.append((item, done, total))

    report = load(source, wh, progress=progress, **options)
    assert report.reconciles and calls
    for item, done, total in calls:
        assert isinstance(item, str) and item
        assert isinstance(done, int) and done >= 0
        assert (total is not None) == total_known
        if total is not None:
            assert done <= total
    dones = [done for _, done, _ in calls]
    assert dones == sorted(dones)  # done counts the whole load, so it never goes back
    if last_done is not None:
        assert dones[-1] == last_done
    if total_known:
        assert calls[-1][1] == calls[-1][2]  # the last call says the work is complete


def test_progress_counts_the_records_each_file_held(wh):
    calls = []
    report = hl7v2.load(TEST_DATA / "hl7v2", wh, progress=lambda *a: calls.append(a))
    assert [c[0] for c in calls] == sorted(p.name for p in (TEST_DATA / "hl7v2").iterdir())
    # done counts the messages each file held, as the load registered them per file (records
    # of other types, such as a Patient or a set-aside Segment, are not messages).
    held = wh.con.execute(
        "SELECT sum(records_read) FROM mm_load_file WHERE load_id = ?", [report.load_id]
    ).fetchone()[0]
    assert calls[-1][1] == held
    assert report.totals.read > held


def _exception_classes(path: Path) -> list[str]:
    """Classes in a module that derive (by name) from an exception class."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = {
                b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
            }
            if bases & {"Exception", "ValueError", "MedmineError", "Rejected"}:
                found.append(node.name)
    return found


def test_readers_reject_records_with_the_one_rejected_exception():
    # A record that cannot be loaded raises medmine.warehouse.Rejected with a Reason; readers
    # keep no rejection classes of their own. FHIR's Skip is not a rejection: it counts a
    # resource as skipped by design.
    own = {
        str(p.relative_to(INGEST)): names
        for p in sorted(INGEST.rglob("*.py"))
        if (names := _exception_classes(p))
    }
    assert own == {"fhir/_values.py": ["Skip"]}
