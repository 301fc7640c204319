"""Benchmark medmine.nlp on the sample notes: notes/s single-process and with 2 workers, peak
memory, end-to-end into ``note_nlp``; and medspaCy's default pipeline (PyRuSH sentences, target
matcher, ConText) on the same notes with the same terminology, in its own virtualenv (medspaCy
1.3.1 pins spaCy 3.7 and numpy 1.26, which this environment cannot take).

Notes: the 7,153 DocumentReference notes of the bundled Synthea FHIR sample (base64
text/plain), read straight from the bundles and written into a scratch warehouse's `note`.

Usage: ``python bench/nlp.py [--medspacy-python /tmp/medspacy-venv/bin/python] [--limit N]``
Writes ``bench/results/nlp.json``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import json
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FHIR = ROOT / "data" / "samples" / "synthea_fhir"
RESULTS = ROOT / "bench" / "results" / "nlp.json"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from medmine.nlp import Pipeline, build_terminology  # noqa: E402
from medmine.nlp.note_nlp import run_notes  # noqa: E402
from medmine.warehouse import Warehouse  # noqa: E402
from nlp_eval import fhir_displays  # noqa: E402

MEDSPACY_SCRIPT = r"""
import json, resource, sys, time
import medspacy
from medspacy.target_matcher import TargetRule
rules, notes_path = json.load(open(sys.argv[1])), sys.argv[2]
notes = [json.loads(l)["text"] for l in open(notes_path)]
t0 = time.perf_counter()
nlp = medspacy.load()
nlp.get_pipe("medspacy_target_matcher").add([TargetRule(p, c) for p, c in rules])
load_s = time.perf_counter() - t0
t0 = time.perf_counter()
n_ents = n_neg = 0
for doc in nlp.pipe(notes):
    n_ents += len(doc.ents)
    n_neg += sum(1 for e in doc.ents if e._.is_negated)
secs = time.perf_counter() - t0
print(json.dumps({"notes": len(notes), "seconds": round(secs, 2),
                  "notes_per_s": round(len(notes) / secs, 1), "setup_seconds": round(load_s, 2),
                  "mentions": n_ents, "negated": n_neg, "rules": len(rules),
                  "peak_rss_mb": round(
                      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "medspacy": medspacy.__version__}))
"""


def sample_notes(limit: int | None = None) -> list[tuple[str, str, str]]:
    """``(patient id, note id, text)`` of the sample's DocumentReference notes."""
    out = []
    for f in sorted(FHIR.glob("*.json.gz")):
        with gzip.open(f, "rt") as fh:
            bundle = json.load(fh)
        for e in bundle.get("entry", []):
            r = e.get("resource", {})
            if r.get("resourceType") != "DocumentReference":
                continue
            for c in r.get("content", []):
                data = c.get("attachment", {}).get("data")
                if data:
                    pid = r.get("subject", {}).get("reference", "")
                    out.append((pid, r.get("id", ""), base64.b64decode(data).decode("utf-8")))
    return out[:limit] if limit else out


def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def _worker_init(t: Any) -> None:
    global _PIPE
    _PIPE = Pipeline(t)


def _worker(text: str) -> int:
    return len(_PIPE.process(text))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--medspacy-python", default="/tmp/medspacy-venv/bin/python")
    ap.add_argument("--limit", type=int, default=None)
    a = ap.parse_args(argv)
    notes = sample_notes(a.limit)
    texts = [t for _p, _i, t in notes]
    chars = sum(len(t) for t in texts)
    t0 = time.perf_counter()
    term = build_terminology((), (), fhir_displays())
    pipe = Pipeline(term)
    setup = time.perf_counter() - t0
    res: dict[str, Any] = {
        "notes": len(texts),
        "mean_chars": round(chars / len(texts)),
        "terminology_entries": len(term),
        "pipeline": pipe.version,
        "setup_seconds": round(setup, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}",
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }
    # single process
    t0, c0 = time.perf_counter(), time.process_time()
    n_mentions = sum(len(pipe.process(t)) for t in texts)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    res["single"] = {
        "seconds": round(secs, 2),
        "cpu_seconds": round(cpu, 2),
        "notes_per_s": round(len(texts) / secs, 1),
        "notes_per_cpu_s": round(len(texts) / cpu, 1),
        "mentions": n_mentions,
        "peak_rss_mb": _peak_mb(),
    }
    # two workers
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(2, _worker_init, (term,)) as pool:
        n2 = sum(pool.map(_worker, texts, chunksize=64))
    secs = time.perf_counter() - t0
    res["two_workers"] = {
        "seconds": round(secs, 2),
        "notes_per_s": round(len(texts) / secs, 1),
        "mentions": n2,
        "peak_rss_mb_per_worker": _peak_mb(resource.RUSAGE_CHILDREN),
    }
    # end to end into note_nlp
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(str(Path(tmp) / "wh.duckdb"))
        pids = {p: k for k, p in enumerate(sorted({p for p, _i, _t in notes}), start=1)}
        with wh.transaction() as c:
            c.executemany(
                "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id,"
                " ethnicity_concept_id) VALUES (?, 0, 1970, 0, 0)",
                [[k] for k in pids.values()],
            )
            c.executemany(
                "INSERT INTO note (note_id, person_id, note_date, note_type_concept_id, "
                "note_class_concept_id, note_text, encoding_concept_id, language_concept_id) "
                "VALUES (?, ?, ?, 0, 0, ?, 0, 0)",
                [
                    [k, pids[p], dt.date(2020, 1, 1), t]
                    for k, (p, _i, t) in enumerate(notes, start=1)
                ],
            )
        rep = run_notes(wh, pipe)
        rep2 = run_notes(wh, pipe)  # resumed: everything skipped
        res["note_nlp"] = {
            "seconds": rep.seconds,
            "notes_per_s": round(rep.notes_per_second, 1),
            "rows": wh.count("note_nlp"),
            "resume_seconds": rep2.seconds,
            "resume_skipped": rep2.notes_skipped,
        }
        wh.close()
    # medspaCy in its own environment, same notes, same terminology as target rules
    cat = {
        "Condition": "CONDITION",
        "Observation": "CONDITION",
        "Drug": "DRUG",
        "Procedure": "PROCEDURE",
        "Measurement": "LAB",
    }
    rules = sorted({(" ".join(k), cat.get(t.domain, "OTHER")) for k, t in term.entries.items()})
    if Path(a.medspacy_python).exists():
        with tempfile.TemporaryDirectory() as tmp:
            rp, npth, sp = Path(tmp) / "rules.json", Path(tmp) / "notes.jsonl", Path(tmp) / "m.py"
            rp.write_text(json.dumps(rules))
            npth.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
            sp.write_text(MEDSPACY_SCRIPT)
            out = subprocess.run(
                [a.medspacy_python, str(sp), str(rp), str(npth)],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode == 0:
                res["medspacy"] = json.loads(out.stdout.strip().splitlines()[-1])
            else:
                res["medspacy"] = {"error": out.stderr.strip().splitlines()[-1][:300]}
    else:
        res["medspacy"] = {
            "error": f"{a.medspacy_python} not found (pip install medspacy in a "
            "separate virtualenv)"
        }
    ms = res["medspacy"].get("notes_per_s")
    res["speedup_vs_medspacy_single"] = round(res["single"]["notes_per_s"] / ms, 1) if ms else None
    res["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
