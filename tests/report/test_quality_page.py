"""The quality page: failures first, by root cause, with a fix hint per check type."""

from __future__ import annotations

import re

import pytest

from medmine.ingest import omop
from medmine.quality import run_checks
from medmine.quality.checks import REGISTRY
from medmine.report import page_context
from medmine.report.privacy_page import k_statement
from medmine.report.quality_causes import CAUSE_OF, HINTS, cause_of, hint_for
from medmine.report.quality_page import _safe_location, write_quality_page

from ..conftest import TEST_DATA


@pytest.mark.parametrize("check_type", sorted(REGISTRY))
def test_every_check_type_has_a_root_cause_and_a_fix_hint(check_type):
    assert cause_of(check_type).key != "other"
    assert check_type.startswith("code_shape_") or (check_type in CAUSE_OF and check_type in HINTS)
    assert len(hint_for(check_type)) > 30


def test_failures_come_first_grouped_by_cause_with_hints(wh, tmp_path):
    omop.load(TEST_DATA / "omop_csv", wh)
    run = run_checks(wh)
    assert run.summary["fail"] > 0
    text = write_quality_page(tmp_path / "q.html", run, wh, context=page_context(wh)).read_text()
    causes = text.index("Root causes")
    first_cause = text.index("id='cause-")
    errors = text.index("Errors (")
    passed = text.index("Passed without failing rows")
    assert causes < first_cause < errors < passed  # failures before what passed
    assert text.count("<b>Fix:</b>") >= len({r.check_type for r in run.by_status("fail")})
    # within each check type's table, failing rows come before passing ones
    for table in re.findall(r"<table class='mm-table' data-name='(\w+)'>(.*?)</table>", text):
        statuses = re.findall(r"<span class='(fail|warn)'>(?:fail|pass, with)", table[1])
        assert statuses == sorted(statuses, key=lambda s: s != "fail"), table[0]


def test_locations_never_carry_the_source_file_name():
    src = "/data/exports/Maria_Gonzalez_1234.json"
    assert _safe_location("entry[3] Patient/abc", src) == "entry[3] Patient/abc"
    assert "Maria" not in _safe_location("Maria_Gonzalez_1234.json:812", src)
    assert "Maria" not in _safe_location("Maria_Gonzalez_1234 line 8", src)


@pytest.mark.parametrize(
    ("k", "threshold", "words"),
    [
        (1, 5, "k = 1 is below the configured threshold k = 5"),
        (3, 5, "only 2 others"),
        (5, 5, "meets the configured threshold"),
        (11, 5, "meets the configured threshold"),
    ],
)
def test_privacy_page_says_plainly_whether_k_reaches_the_threshold(k, threshold, words):
    text = k_statement(k, threshold, records=100)
    assert words in text
    assert ("class='fail'" in text) is (k < threshold)
