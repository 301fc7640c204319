"""medmine.nlp: sections, sentences, matching and ConText modifiers on hand-written cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmine.nlp import Pipeline, build_terminology, detect_sections, split_sentences
from medmine.nlp.terminology import clean_name

PIPE = Pipeline()


def _mods(text: str) -> dict[str, str]:
    out = {}
    for m in PIPE.process(text):
        flags = "".join(
            c
            for c, on in (
                ("N", m.negated),
                ("H", m.historical),
                ("Y", m.hypothetical),
                ("U", m.uncertain),
                ("F", m.family),
            )
            if on
        )
        out[m.text] = flags + ("" if m.experiencer in ("patient",) else f"@{m.experiencer}")
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Denies chest pain, SOB, or palpitations.",
            {"chest pain": "N", "SOB": "N", "palpitations": "N"},
        ),
        ("No fever but reports cough.", {"fever": "N", "cough": ""}),
        ("No increase in edema.", {"edema": ""}),
        ("Gram negative rods in blood cultures.", {"blood cultures": ""}),
        ("Cannot rule out pneumonia.", {"pneumonia": "U"}),
        ("Return to the ED if fever or vomiting.", {"fever": "Y", "vomiting": "Y"}),
        ("Mother had breast cancer.", {"breast cancer": "F@mother"}),
        ("Wife has influenza.", {"influenza": "@other"}),
        ("H/o DVT, not on warfarin.", {"DVT": "H", "warfarin": "N"}),
        ("No h/o seizures.", {"seizures": "NH"}),
        ("Possible PNA vs CHF.", {"PNA": "U", "CHF": "U"}),
        ("Pt is afebrile.", {"afebrile": "N"}),
        ("Troponin negative x2.", {"Troponin": ""}),
        ("Zofran prn nausea.", {"Zofran": "", "nausea": "Y"}),
        ("Per daughter pt has been confused.", {"confused": ""}),
        ("71 year old woman with COPD.", {"COPD": ""}),
        ("Will obtain TTE.", {"TTE": ""}),
    ],
)
def test_context_modifiers(text: str, expected: dict[str, str]) -> None:
    assert _mods(text) == expected


def test_section_defaults_family_and_past_history() -> None:
    text = (
        "HPI: cough x3 days.\nFamily History:\nDiabetes. Father - MI.\nPMH: HTN, DM2 on metformin"
    )
    got = {m.text: (m.section, m.experiencer, m.historical) for m in PIPE.process(text)}
    assert got == {
        "cough": ("History of Present Illness", "patient", False),
        "Diabetes": ("Family History", "relative", False),
        "MI": ("Family History", "father", False),
        "HTN": ("Past Medical History", "patient", True),
        "DM2": ("Past Medical History", "patient", True),
        "metformin": ("Past Medical History", "patient", False),
    }


def test_offsets_point_at_the_text_and_plural_and_fuzzy_match() -> None:
    text = "Fevers and pnemonia noted; headaches."
    ms = PIPE.process(text)
    assert [(m.concept_name, text[m.start : m.end]) for m in ms] == [
        ("fever", "Fevers"),
        ("pneumonia", "pnemonia"),
        ("headache", "headaches"),
    ]


def test_short_abbreviation_needs_capitals() -> None:
    assert [m.concept_name for m in PIPE.process("Take as directed. AS on echo.")] == [
        "aortic stenosis",
        "echocardiogram",
    ]


def test_terminology_links_concept_ids_and_source_codes() -> None:
    t = build_terminology(
        concepts=[
            (4329847, "Myocardial infarction", "Condition"),
            (1, "Hypertension", "Condition"),
        ],
        source_displays=[
            ("SNOMED", "444814009", "Viral sinusitis (disorder)"),
            ("LOINC", "x", "free text"),
        ],
    )
    ms = Pipeline(t).process("Viral sinusitis; h/o MI and HTN.")
    got = {m.text: (m.concept_id, m.source, m.domain) for m in ms}
    assert got["Viral sinusitis"] == (0, "SNOMED:444814009", "Condition")
    assert got["MI"] == (4329847, None, "Condition")
    assert got["HTN"] == (1, None, "Condition")
    assert clean_name("Appendectomy (procedure)") == ("Appendectomy", "Procedure")


def test_pipeline_version_changes_with_terminology() -> None:
    a = Pipeline().version
    b = Pipeline(build_terminology([(7, "Zebra fever", "Condition")])).version
    assert a != b and a.startswith("medmine.nlp ")


def test_empty_and_odd_text() -> None:
    assert PIPE.process("") == []
    assert PIPE.process("\n\n:::\n") == []
    assert detect_sections("")[0].name is None


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc DVT no.:\n?;HPI")), max_size=80))
def test_spans_and_sentences_stay_inside_the_text(text: str) -> None:
    for a, b in split_sentences(text):
        assert 0 <= a < b <= len(text)
    secs = detect_sections(text)
    assert secs[0].header_start == 0 and secs[-1].end == len(text)
    for m in PIPE.process(text):
        assert text[m.start : m.end] == m.text and m.text
