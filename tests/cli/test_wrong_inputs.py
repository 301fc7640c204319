"""Every command, given an ordinary mistake, says what is wrong in one line and exits non-zero
with the documented code, never with a traceback and never creating a warehouse.

Exit codes: 1 user error, 2 a usage error found by the command-line parser (Click), 3 an
input that cannot be read (loaders).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.ingest import fhir
from medmine.warehouse import Warehouse

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("wrong")
    w = d / "w.duckdb"
    with Warehouse(w) as wh:
        fhir.load([DATA / "fhir" / "conditional_bundle.json"], wh)
    (d / "afile.txt").write_text("not a folder")
    (d / "folder").mkdir()
    (d / "junk.skops").write_bytes(b"not a model")
    (d / "plain.txt").write_text("not encrypted")
    (d / "bad.yaml").write_text("sources: [\n")
    return {
        "w": str(w),
        "typo": str(d / "typo.duckdb"),
        "file": str(d / "afile.txt"),
        "folder": str(d / "folder"),
        "missing": str(d / "missing"),
        "junk_model": str(d / "junk.skops"),
        "plain": str(d / "plain.txt"),
        "bad_yaml": str(d / "bad.yaml"),
        "out": str(d / "out"),
    }


CASES = [
    # (command line, exit code, text the one-line message must contain)
    ("quality -w {w} --out {file}", 1, "--out"),
    ("quality -w {w} --type nope --out {out}", 1, "unknown check type"),
    ("quality -w {typo}", 1, "does not exist"),
    ("quality units -w {typo}", 1, "does not exist"),
    ("profile -w {w} --out {file}", 1, "is a file"),
    ("profile -w {w} --compare {typo} --out {out}", 1, "does not exist"),
    ("link -w {typo}", 1, "does not exist"),
    ("study nope -w {w}", 1, "unknown study"),
    ("study readmission -w {w} -o n_boot=x --out {out}", 1, "must be"),
    ("study readmission -w {w} -o nboot=3 --out {out}", 1, "unknown option"),
    ("study readmission -w {w} -o novalue --out {out}", 1, "key=value"),
    ("study readmission -w {w} --out {file}", 1, "is a file"),
    ("study claims_fraud -w {w} --out {out}", 1, "mm_claim_line is empty"),
    ("score --model {missing} --person 1 -w {w}", 1, "no such file"),
    ("score --model {junk_model} --person 1 -w {w} --index-date 2020-13-45", 1, "YYYY-MM-DD"),
    ("score --model {junk_model} --person 1 -w {typo}", 1, "does not exist"),
    ("score --model {junk_model} --person x -w {w}", 2, "Invalid value"),
    ("deid -w {w}", 1, "--to"),
    ("deid -w {typo} --to {out}.duckdb", 1, "does not exist"),
    ("deid risk -w {typo}", 1, "does not exist"),
    ("encrypt {missing}", 1, "MEDMINE_ENCRYPTION_KEY"),  # the key is checked first
    ("decrypt {plain}", 1, ""),
    ("audit verify -w {typo}", 1, "does not exist"),
    ("audit show -w {typo}", 1, "does not exist"),
    ("consent load {missing} -w {w}", 1, ""),
    ("consent load {file} -w {typo}", 1, "does not exist"),
    ("warehouse info -w {typo}", 1, "does not exist"),
    ("warehouse export {out}/exp -w {typo}", 1, "does not exist"),
    ("warehouse import {missing} -w {w}", 1, ""),
    ("warehouse quarantine -w {w} --reason nope", 1, "reason"),
    ("warehouse quarantine -w {w} --load nope", 1, "known loads"),
    ("vocab load {missing} -w {w}", 3, ""),
    ("vocab load {folder} -w {typo}", 1, "does not exist"),
    ("ingest fhir {missing} -w {out}.duckdb", 3, "does not exist"),
    ("ingest omop {file} -w {out}.duckdb", 3, ""),
    ("ingest notes {missing} -w {out}.duckdb", 3, "does not exist"),
    ("run {missing}", 1, ""),
    ("run {bad_yaml}", 1, ""),
    ("report -w {typo} --out {out}", 1, "does not exist"),
]


@pytest.mark.parametrize(("line", "code", "needle"), CASES, ids=[c[0] for c in CASES])
def test_wrong_input_gives_one_line_and_the_exit_code(paths, line, code, needle):
    args = [a.format(**paths) for a in line.split()]
    res = CliRunner().invoke(app, args)
    out = res.output
    assert res.exit_code == code, out
    assert "Traceback" not in out
    errors = [ln for ln in out.splitlines() if ln.startswith(("error:", "Error:")) or "Error" in ln]
    assert errors, out
    assert needle in " ".join(out.split()), out
    if code != 2:  # the parser's own usage errors come with its usage banner
        lines = [ln for ln in out.strip().splitlines() if ln.strip()]
        assert len([ln for ln in lines if ln.startswith("error:")]) == 1, out
    assert not Path(paths["typo"]).exists()
