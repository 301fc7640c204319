"""`medmine deid --detection recall|precise`: the note detection mode of a release."""

from __future__ import annotations

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from medmine.cli import app
from medmine.privacy.deid import DeidConfig, deidentify

from ..conftest import Ident, build_identified

#: A capitalised word that is no English, clinical or census word and has no PHI pattern:
#: only the recall-first rule removes it.
ODD = "Quorvelle"


def _source(tmp_path: Path, people: list[Ident]) -> Path:
    src = build_identified(tmp_path / "src.duckdb", people)
    con = duckdb.connect(str(src))
    con.execute(f"UPDATE note SET note_text = note_text || ' Visited with {ODD} today.'")
    con.close()
    return src


def _notes(path: Path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [t for (t,) in con.execute("SELECT note_text FROM note").fetchall()]
    finally:
        con.close()


def test_cli_detection_switch(tmp_path: Path, people: list[Ident], deid_key: str) -> None:
    src = _source(tmp_path, people)
    runner = CliRunner()
    outs = {}
    for flag in ([], ["--detection", "precise"], ["--detection", "recall"]):
        out = tmp_path / f"out{len(outs)}.duckdb"
        r = runner.invoke(app, ["deid", "-w", str(src), "--to", str(out), *flag])
        assert r.exit_code == 0, r.output
        outs[" ".join(flag) or "default"] = _notes(out)
        assert people[0].family not in r.output
    # Safe Harbor defaults to recall: the unknown word is removed, as with --detection recall
    for key in ("default", "--detection recall"):
        assert outs[key] and not any(ODD in t for t in outs[key])
    # precise keeps it (pattern rules only) but still removes the patient's identifiers
    precise = outs["--detection precise"]
    assert precise and all(ODD in t for t in precise)
    assert not any(p.family in t or p.ssn in t for p in people for t in precise)


def test_cli_detection_bad_value(tmp_path: Path, people: list[Ident], deid_key: str) -> None:
    src = build_identified(tmp_path / "src.duckdb", people)
    r = CliRunner().invoke(
        app, ["deid", "-w", str(src), "--to", str(tmp_path / "o.duckdb"), "--detection", "fast"]
    )
    assert r.exit_code == 1
    assert "detection" in r.output and "fast" in r.output
    assert not (tmp_path / "o.duckdb").exists()


def test_expert_mode_defaults_to_precise(tmp_path: Path, people: list[Ident]) -> None:
    src = _source(tmp_path, people)
    rep = deidentify(src, tmp_path / "o.duckdb", DeidConfig(mode="expert"), key=b"k" * 32)
    assert rep.detection == "precise"
    assert all(ODD in t for t in _notes(tmp_path / "o.duckdb"))
    rep = deidentify(
        src,
        tmp_path / "o2.duckdb",
        DeidConfig(mode="expert", detection="recall"),
        key=b"k" * 32,
    )
    assert rep.detection == "recall"
    assert not any(ODD in t for t in _notes(tmp_path / "o2.duckdb"))
