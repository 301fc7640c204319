"""`medmine notes scrub`: JSON Lines in, scrubbed JSON Lines out; bad lines reported, skipped."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from medmine.cli import app

NOTES = [
    {"id": 1, "text": "Seen by Dr. K. Mbeki on 03/04/2021. Hope called 617/555-0142."},
    {"id": "b", "note_type": "portal", "text": "hi its marisol, my son jose has a fever"},
]


@pytest.fixture
def infile(tmp_path):
    p = tmp_path / "in.jsonl"
    lines = [json.dumps(NOTES[0]), "{not json", json.dumps({"id": 3}), "", json.dumps(NOTES[1])]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def _run(*args: str):
    return CliRunner().invoke(app, ["notes", "scrub", *args])


def _out(path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines()]


def test_recall_mode_scrubs_and_reports_bad_lines_by_number(infile, tmp_path) -> None:
    out = tmp_path / "out.jsonl"
    res = _run(str(infile), "--out", str(out), "--jobs", "1")
    assert res.exit_code == 0, res.output
    assert "in.jsonl:2: not valid JSON" in res.output
    assert "in.jsonl:3: no 'text' string" in res.output
    assert "2 notes scrubbed" in res.output and "2 lines skipped" in res.output
    rows = _out(out)
    assert [r["id"] for r in rows] == [1, "b"]
    assert rows[0]["text"] == "Seen by Dr. [NAME] on 2021. [NAME] called [PHONE]."
    assert rows[1]["text"] == "hi its [NAME], my son [NAME] has a fever"
    assert rows[1]["note_type"] == "portal"
    first = NOTES[0]["text"]
    assert {first[s["start"] : s["end"]] for s in rows[0]["spans"]} == {
        "K. Mbeki",
        "03/04/2021",
        "Hope",
        "617/555-0142",
    }
    assert {s["type"] for s in rows[0]["spans"]} == {"CLINICIAN", "DATE", "PATIENT", "PHONE"}
    # the report never echoes note text
    assert "marisol" not in res.output and "Mbeki" not in res.output


def test_precise_mode_keeps_what_only_the_allow_list_finds(infile, tmp_path) -> None:
    out = tmp_path / "out.jsonl"
    res = _run(str(infile), "--out", str(out), "--mode", "precise", "--jobs", "1")
    assert res.exit_code == 0, res.output
    assert _out(out)[1]["text"] == NOTES[1]["text"]


def test_two_processes_give_the_same_output_in_order(tmp_path) -> None:
    src = tmp_path / "many.jsonl"
    notes = [
        {"id": i, "text": f"Pt {i}: seen by Dr. Ana Ruiz on 3/{i % 28 + 1}/2020."}
        for i in range(300)
    ]
    src.write_text("".join(json.dumps(n) + "\n" for n in notes), encoding="utf-8")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert _run(str(src), "--out", str(one), "-j", "1").exit_code == 0
    assert _run(str(src), "--out", str(two), "-j", "2").exit_code == 0
    assert one.read_text() == two.read_text()
    assert [r["id"] for r in _out(two)] == list(range(300))


@pytest.mark.parametrize(
    "args,msg",
    [
        (["--mode", "lenient"], "--mode must be one of recall, precise"),
        (["--jobs", "-1"], "--jobs must be 0"),
    ],
)
def test_bad_options_are_one_line_errors(infile, tmp_path, args, msg) -> None:
    res = _run(str(infile), "--out", str(tmp_path / "o.jsonl"), *args)
    assert res.exit_code == 1
    assert msg in res.output and "Traceback" not in res.output


def test_missing_input_and_all_bad_lines(tmp_path) -> None:
    res = _run(str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o.jsonl"))
    assert res.exit_code == 3 and "file not found" in res.output
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"[1, 2]\n\xff\xfe\n")
    res = _run(str(bad), "--out", str(tmp_path / "o.jsonl"), "-j", "1")
    assert res.exit_code == 3
    assert "bad.jsonl:1: not a JSON object" in res.output
    assert "bad.jsonl:2: not UTF-8 text" in res.output
