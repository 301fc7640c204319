"""Name recognizers read letters of any alphabet: relatives' and clinicians' names with
accents ("daughter Désirée Cézanne", "Dr. Çelik") are found from their context. Before: the
name patterns accepted ASCII letters only, and these names survived.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmine.privacy.phi_text import NoteContext, Scrubber
from medmine.privacy.phi_text.recognizers.census_name import ascii_upper

UPPER = "ÀÁÂÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÖØÙÚÛÜÝŁŚŠŽČĆŘ"
LOWER = "abcdefghijklmnopqrstuvwxyzàáâäåçèéêëìíîïñòóôöøùúûüýłśšžčćř"


@st.composite
def unicode_names(draw: st.DrawFn) -> str:
    """A capitalised name with at least one letter outside ASCII."""
    head = draw(st.sampled_from(UPPER))
    tail = draw(st.text(LOWER, min_size=3, max_size=9))
    return head + tail


CONTEXTS = [
    "Her daughter {a} {b} visited today.",
    "Seen by Dr. {a} {b} in clinic.",
    "Lives with his wife, {a} {b}, at home.",
    "Mr. {a} {b} called about results.",
    "{a} {b} is a 54 year-old woman.",
]
SCRUBBER = Scrubber()


@settings(max_examples=200, deadline=None)
@given(a=unicode_names(), b=unicode_names(), template=st.sampled_from(CONTEXTS))
def test_names_with_accents_are_found_in_context(a: str, b: str, template: str) -> None:
    out = SCRUBBER.scrub(template.format(a=a, b=b), NoteContext()).text
    assert a not in out and b not in out
    assert "[NAME]" in out


@pytest.mark.parametrize(
    "text,name",
    [
        ("Her daughter Désirée Cézanne visited.", "Désirée"),
        ("Dé and Cé: her daughter Déborah and son Cédric called.", "Cédric"),
        ("Seen by Dr. Çelik.", "Çelik"),
        ("José Núñez is a 54 year-old man.", "Núñez"),
    ],
)
def test_examples(text: str, name: str) -> None:
    assert name not in SCRUBBER.scrub(text).text


def test_census_lookup_ignores_accents() -> None:
    assert ascii_upper("Désirée") == "DESIREE"
    assert "[NAME]" in SCRUBBER.scrub("Zoë fell at home.").text
