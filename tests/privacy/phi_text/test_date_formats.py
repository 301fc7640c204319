"""Note dates in every common format are found, shifted by the person's offset in the format
they were written in (expert mode), reduced to the year (Safe Harbor), and sentinel dates
are kept. Before: ``13.06.2006``, ``13JUN2006`` and Spanish, French and German month names
survived, so one unshifted date next to shifted ones gave the offset away.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmine.privacy.phi_text import Entity, NoteContext, Scrubber, ScrubConfig
from medmine.privacy.phi_text._dates import day_first_hint, parse

EN = "January February March April May June July August September October November December"
ES = "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
FR = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
DE = "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"
EN_M, ES_M, FR_M, DE_M = (s.split() for s in (EN, ES, FR, DE))


def _fr_day(d: dt.date) -> str:
    return "1er" if d.day == 1 else str(d.day)


#: Reference writers, independent of the code under test: name -> date -> text.
FORMATS = {
    "iso": lambda d: d.isoformat(),
    "us": lambda d: f"{d:%m/%d/%Y}",
    "dots": lambda d: f"{d:%d.%m.%Y}",
    "ymd_slash": lambda d: f"{d:%Y/%m/%d}",
    "en_dmy": lambda d: f"{d.day} {EN_M[d.month - 1]} {d.year}",
    "en_abbr": lambda d: f"{d.day} {EN_M[d.month - 1][:3]} {d.year}",
    "en_mdy": lambda d: f"{EN_M[d.month - 1]} {d.day}, {d.year}",
    "dash_mon": lambda d: f"{d.day:02d}-{EN_M[d.month - 1][:3]}-{d.year}",
    "packed": lambda d: f"{d.day:02d}{EN_M[d.month - 1][:3].upper()}{d.year}",
    "es": lambda d: f"{d.day} de {ES_M[d.month - 1]} de {d.year}",
    "fr": lambda d: f"{_fr_day(d)} {FR_M[d.month - 1]} {d.year}",
    "de": lambda d: f"{d.day}. {DE_M[d.month - 1]} {d.year}",
}

dates = st.dates(dt.date(1950, 1, 1), dt.date(2040, 12, 31))
offsets = st.integers(-365, 365).filter(bool)
EXPERT = Scrubber(ScrubConfig.for_mode("expert"))
SAFE = Scrubber()


@settings(max_examples=300, deadline=None)
@given(d=dates, off=offsets, fmt=st.sampled_from(sorted(FORMATS)))
def test_every_format_is_shifted_in_its_own_format(d: dt.date, off: int, fmt: str) -> None:
    write = FORMATS[fmt]
    text = f"Seen on {write(d)} in clinic."
    out = EXPERT.scrub(text, NoteContext(date_shift_days=off)).text
    if fmt == "en_abbr" and d.month == 5:
        write = FORMATS["en_dmy"]  # "May" is the full name as well: read as full
    assert out == f"Seen on {write(d + dt.timedelta(days=off))} in clinic."


@settings(max_examples=200, deadline=None)
@given(d=dates, fmt=st.sampled_from(sorted(FORMATS)))
def test_every_format_becomes_its_year_in_safe_harbor(d: dt.date, fmt: str) -> None:
    assert (
        SAFE.scrub(f"Seen on {FORMATS[fmt](d)} in clinic.").text == f"Seen on {d.year} in clinic."
    )


@settings(max_examples=200, deadline=None)
@given(d=dates, off=offsets)
def test_day_first_notes_shift_every_date_alike(d: dt.date, off: int) -> None:
    # one date that can only be day first makes the note's ambiguous ones day first too
    anchor = dt.date(2006, 6, 13)
    text = f"Admitted {anchor:%d/%m/%Y}, reviewed {d:%d/%m/%Y}."
    out = EXPERT.scrub(text, NoteContext(date_shift_days=off)).text
    sh = dt.timedelta(days=off)
    assert out == f"Admitted {anchor + sh:%d/%m/%Y}, reviewed {d + sh:%d/%m/%Y}."


@settings(max_examples=100, deadline=None)
@given(
    fmt=st.sampled_from(sorted(FORMATS)),
    off=offsets,
    sentinel=st.sampled_from([dt.date(2099, 12, 31), dt.date(9999, 12, 31)]),
)
def test_sentinel_dates_are_kept_as_written(fmt: str, off: int, sentinel: dt.date) -> None:
    if sentinel.year > 2999 and fmt not in ("iso", "us", "dots", "ymd_slash"):
        return  # the recognizer reads years 1800-2999 in month-name formats
    text = f"Coverage open until {FORMATS[fmt](sentinel)}."
    assert EXPERT.scrub(text, NoteContext(date_shift_days=off)).text == text
    assert SAFE.scrub(text).text == text


@pytest.mark.parametrize(
    "text,iso",
    [
        ("13.06.2006", "2006-06-13"),
        ("13/06/2006", "2006-06-13"),
        ("06/13/2006", "2006-06-13"),
        ("13JUN2006", "2006-06-13"),
        ("13-Jun-06", "2006-06-13"),
        ("13 de junio de 2006", "2006-06-13"),
        ("1er janvier 2020", "2020-01-01"),
        ("13. Juni 2006", "2006-06-13"),
        ("3 février 2021", "2021-02-03"),
        ("Monday, June 12, 2006", "2006-06-12"),
    ],
)
def test_parses_each_format(text: str, iso: str) -> None:
    p = parse(text)
    assert p is not None and p[0].isoformat() == iso and p[2]
    spans = SAFE.analyze(f"Seen {text}.")
    assert any(s.entity is Entity.DATE and s.end - s.start == len(text) for s in spans)


def test_weekday_is_recomputed_and_ambiguity_hint() -> None:
    out = EXPERT.scrub("Monday, June 12, 2006", NoteContext(date_shift_days=1)).text
    assert out == "Tuesday, June 13, 2006"
    assert day_first_hint("13/06/2006 and 03/04/2006") is True
    assert day_first_hint("06/13/2006") is False
    assert day_first_hint("03/04/2006") is None


@pytest.mark.parametrize(
    "text", ["may 2 tablets daily", "2 weeks ago 13 times", "BP 120/80", "version 1.2.3"]
)
def test_not_dates(text: str) -> None:
    assert not [s for s in SAFE.analyze(text) if s.entity is Entity.DATE]
