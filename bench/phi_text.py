"""Note scrubbing throughput: medmine's rule scrubber vs Presidio's analyzer, same notes.

"Presidio default" here means `presidio_analyzer.AnalyzerEngine` with its predefined
recognizers (phone, e-mail, credit card, IBAN, IP, URL, US SSN/passport/driver's licence/
bank number, date, medical licence, crypto...) on a *blank* English spaCy pipeline: spaCy
model packages (en_core_web_lg) cannot be downloaded here, so Presidio's NER-based PERSON
and LOCATION detection is absent. Its throughput is therefore an upper bound for Presidio.
Notes are the decoded Synthea DocumentReferences of the bundled sample.

    .venv/bin/python bench/phi_text.py [--notes 1500]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import re
import tempfile
import time
from pathlib import Path

from medmine.privacy.phi_text import NoteContext, Scrubber

ROOT = Path(__file__).resolve().parents[1]
_DISPLAY = re.compile(
    r"[a-z][\w ,'/-]{2,80} \((?:finding|disorder|situation|procedure|substance|"
    r"qualifier value|observable entity|regime/therapy|organism|product)\)"
)
_MEDS = re.compile(r"(?m)(?<=; )[^;\n]+|(?<=^)[a-z][^;\n]*\d+ (?:mg|ml|mcg|unt)[^;\n]*")
OUT = ROOT / "bench" / "results" / "phi_text.json"


def notes(limit: int) -> list[str]:
    out: list[str] = []
    for f in sorted((ROOT / "data" / "samples" / "synthea_fhir").glob("*.json.gz")):
        for e in json.loads(gzip.decompress(f.read_bytes()))["entry"]:
            r = e["resource"]
            if r["resourceType"] == "DocumentReference":
                out.append(base64.b64decode(r["content"][0]["attachment"]["data"]).decode())
                if len(out) >= limit:
                    return out
    return out


def presidio_engine():
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    d = Path(tempfile.mkdtemp()) / "blank_en"
    spacy.blank("en").to_disk(d)
    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": str(d)}]}
    nlp = NlpEngineProvider(nlp_configuration=conf).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=1500)
    args = ap.parse_args()
    texts = notes(args.notes)
    chars = sum(map(len, texts))
    res: dict = {"notes": len(texts), "chars": chars}
    s = Scrubber()
    ctx = NoteContext(person_names={"Andrew", "Beier"}, cities={"Boston"})
    t0 = time.perf_counter()
    spans = sum(len(s.analyze(t, ctx)) for t in texts)
    dt = time.perf_counter() - t0
    res["medmine"] = {"seconds": dt, "notes_per_s": len(texts) / dt, "spans": spans}
    # Clinical content kept: SNOMED-style display strings ("... (disorder)") and medication
    # lines of the notes that survive scrubbing verbatim.
    terms = kept = 0
    for t in texts:
        out = s.scrub(t, ctx).text
        found = _DISPLAY.findall(t) + [m.strip() for m in _MEDS.findall(t)]
        terms += len(found)
        kept += sum(f in out for f in found)
    res["medmine"]["clinical_terms"] = terms
    res["medmine"]["clinical_terms_kept"] = kept / terms if terms else None
    try:
        eng = presidio_engine()
        eng.analyze(texts[0], language="en")  # warm-up
        t0 = time.perf_counter()
        pspans = sum(len(eng.analyze(t, language="en")) for t in texts)
        dt = time.perf_counter() - t0
        res["presidio_default_blank_spacy"] = {
            "seconds": dt,
            "notes_per_s": len(texts) / dt,
            "spans": pspans,
        }
    except Exception as exc:  # noqa: BLE001 - report, do not fail the benchmark
        res["presidio_default_blank_spacy"] = {"error": type(exc).__name__}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
