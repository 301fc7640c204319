"""`_viewmap.ref_part` (string functions for ``Type/id``, the expression otherwise) gives what
the regular expression alone gives, on every reference form."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from medmine.ingest.fhir._viewmap import _TYPE_ID, ref_part
from medmine.warehouse.sql import literal

FORMS = [
    "Patient/abc", "Patient/", "/x", "patient/x", "Patient/" + "x" * 64, "Patient/" + "x" * 65,
    "a/Patient/1", "Patient/1/_history/2", "https://s/fhir/Patient/1/", "Patient/\u00e9",
    "P/1/", "Pat1ent/2", "Patient//1", "urn:uuid:1", "", "Patient/a\nb", "Patient/1?x=2",
    "Patient/#1", "Encounter/e 1", "A/b", "\u00c9/1",
]  # fmt: skip


def _both(refs: list[str]) -> tuple[list, list]:
    con = duckdb.connect()
    t = pa.table({"c": pa.array(refs, pa.string())})  # noqa: F841  (replacement scan)
    want = con.execute(
        f"SELECT nullif(regexp_extract(c, {literal(_TYPE_ID)}, 2), ''), "
        f"nullif(regexp_extract(c, {literal(_TYPE_ID)}, 3), '') FROM t"
    ).fetchall()
    got = con.execute(f"SELECT {ref_part('c', 2)}, {ref_part('c', 3)} FROM t").fetchall()
    return got, want


def test_reference_forms():
    got, want = _both(FORMS)
    assert got == want
    assert got[0] == ("Patient", "abc") and got[7] == ("Patient", "1") and got[1] == (None, None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="Patiens/_hory1:#?.x\u00e9 \n", max_size=24), max_size=40))
def test_random_references(refs):
    got, want = _both(refs)
    assert got == want
