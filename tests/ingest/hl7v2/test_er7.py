"""The fast ER7 splitter gives exactly python-hl7's container shapes."""

from __future__ import annotations

import hl7
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmine.ingest import hl7v2
from medmine.ingest.hl7v2._er7 import parse

from ...conftest import TEST_DATA
from .feed import oru, with_bad_obx


def _plain(x):
    """python-hl7 containers as plain nested lists."""
    return x if isinstance(x, str) else [_plain(y) for y in x]


def _same(text: str, strict: bool = False) -> None:
    try:
        expected = hl7.parse(text)
    except Exception:  # python-hl7 refuses it: so must we (Msg: `malformed`)
        with pytest.raises((ValueError, IndexError)):
            parse(text)
        return
    try:
        segments, seps, esc = parse(text)
    except ValueError as exc:  # stricter: python-hl7 may accept repeated separators
        assert not strict and "not distinct" in str(exc)
        return
    assert [_plain(s) for s in segments] == _plain(expected)
    assert (seps, esc) == (expected.separators, expected.esc)
    assert [str(s) for s in segments] == text.strip().split("\r")  # the text as received


def test_fixture_feeds_split_as_python_hl7_does():
    files = sorted((TEST_DATA / "hl7v2_feeds").glob("*.hl7"))
    messages = [m for _, m in hl7v2.read_message_files(files)]
    assert len(messages) > 25
    for m in [*messages, oru(1), with_bad_obx(2)]:
        _same(m.decode("utf-8", "replace").replace("\n", "\r").strip("\r"), strict=True)


_piece = st.text(alphabet="AB1 |^~\\&#*:\r", max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    header=st.sampled_from(
        ["MSH|^~\\&|", "MSH*:~\\&*", "MSH|^~\\|", "MSH|^|", "MSH|", "MSH", "FHS|^~\\&|", "PID|"]
    ),  # fmt: skip
    body=st.lists(_piece, max_size=8),
)
def test_random_messages_split_as_python_hl7_does(header, body):
    _same(header + "".join(body))
