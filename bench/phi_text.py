"""Note scrubbing throughput and peers: medmine (recall and precise modes, one and two
processes), Philter (`philter-lite`, its shipped ``philter_delta.toml``) and Presidio, on the
same notes: the decoded Synthea DocumentReferences of the bundled sample.

Peers, as they run here (no network):

- **Presidio**: `presidio_analyzer.AnalyzerEngine` with its predefined recognizers on a
  *blank* English spaCy pipeline: spaCy model packages (en_core_web_lg) cannot be downloaded
  here, so Presidio's NER-based PERSON and LOCATION detection is absent.
- **Philter** (philter-lite 0.6.0, shipped configuration): `detect_phi` calls
  `nltk.pos_tag`, whose model (``averaged_perceptron_tagger_eng``) is NLTK data fetched by
  ``nltk.download`` and is not in any PyPI package: as shipped it raises ``LookupError``
  offline. It runs here with that one call replaced by a rule tagger (digits -> CD,
  capitalised -> NNP, else NN): the tags are used only by its name blacklists (NNP) and its
  "numbers are safe" step (CD). Everything else (its 313 filters, regexes, whitelist) is the
  shipped configuration. What Philter keeps is its include map; the rest is PHI.

    .venv/bin/python bench/phi_text.py [--notes 1000]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import re
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from medmine.privacy.phi_text import NoteContext, Scrubber, ScrubConfig, scrub_parallel

ROOT = Path(__file__).resolve().parents[1]
_DISPLAY = re.compile(
    r"[a-z][\w ,'/-]{2,80} \((?:finding|disorder|situation|procedure|substance|"
    r"qualifier value|observable entity|regime/therapy|organism|product)\)"
)
_MEDS = re.compile(r"(?m)(?<=; )[^;\n]+|(?<=^)[a-z][^;\n]*\d+ (?:mg|ml|mcg|unt)[^;\n]*")
_ALNUM = re.compile(r"[^\W_]+")
OUT = ROOT / "bench" / "results" / "phi_text.json"


def notes(limit: int) -> list[str]:
    """Decoded note texts of the bundled Synthea FHIR sample (at most `limit`)."""
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
    """Presidio's AnalyzerEngine on a blank English spaCy pipeline (no model download)."""
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    d = Path(tempfile.mkdtemp()) / "blank_en"
    spacy.blank("en").to_disk(d)
    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": str(d)}]}
    nlp = NlpEngineProvider(nlp_configuration=conf).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])


class MedmineDetector:
    """medmine's scrubber in one detection mode, no warehouse context."""

    def __init__(self, detection: str) -> None:
        self.scrubber = Scrubber(ScrubConfig(detection=detection))

    def analyze(self, text: str) -> list:
        """Detected spans."""
        return self.scrubber.analyze(text, NoteContext())


class PresidioDetector:
    """Presidio's default analyzer (blank spaCy) as spans."""

    def __init__(self) -> None:
        self.engine = presidio_engine()

    def analyze(self, text: str) -> list:
        """Detected spans."""
        return [
            SimpleNamespace(start=r.start, end=r.end, entity=r.entity_type)
            for r in self.engine.analyze(text, language="en")
        ]


def _rule_pos(text: str) -> list[tuple[str, str]]:
    import philter_lite.philter as pp

    toks = pp._get_clean(text)
    return [(t, "CD" if t.isdigit() else "NNP" if t[:1].isupper() else "NN") for t in toks]


def philter_shipped_error() -> str | None:
    """Why philter-lite's shipped configuration does not run as is here (None if it does)."""
    import philter_lite

    cfg = Path(philter_lite.__file__).parent / "configs" / "philter_delta.toml"
    try:
        philter_lite.detect_phi("Seen by Dr. Jane Garcia.", philter_lite.load_filters(str(cfg)))
    except LookupError as exc:
        first = [ln.strip() for ln in str(exc).splitlines() if "not found" in ln]
        return f"LookupError: {first[0] if first else 'NLTK data missing'}"
    return None


class PhilterDetector:
    """philter-lite with its shipped configuration; NLTK's POS tagger replaced (see top)."""

    def __init__(self) -> None:
        import philter_lite
        import philter_lite.philter as pp

        self.shipped_error = philter_shipped_error()
        if self.shipped_error:
            pp._get_pos = _rule_pos
        cfg = Path(philter_lite.__file__).parent / "configs" / "philter_delta.toml"
        self.filters = philter_lite.load_filters(str(cfg))
        self._detect = philter_lite.detect_phi

    def analyze(self, text: str) -> list:
        """Alphanumeric runs outside Philter's include (safe) map."""
        include, _exclude, _tracker = self._detect(text, self.filters)
        safe = bytearray(len(text))
        for s, e in include.filecoords():
            safe[s:e] = b"\x01" * (e - s)
        out = []
        for m in _ALNUM.finditer(text):
            run = [i for i in range(m.start(), m.end()) if not safe[i]]
            if run:
                out.append(SimpleNamespace(start=run[0], end=run[-1] + 1, entity="PHI"))
        return out


def clinical_kept(texts: list[str], detector) -> tuple[int, float]:
    """SNOMED-style display strings and medication lines of the notes: share of their
    alphanumeric tokens that no detected span touches.
    """
    n = kept = 0
    for t in texts:
        cov = bytearray(len(t))
        for s in detector.analyze(t):
            cov[s.start : s.end] = b"\x01" * (s.end - s.start)
        for m in list(_DISPLAY.finditer(t)) + list(_MEDS.finditer(t)):
            for w in _ALNUM.finditer(t, m.start(), m.end()):
                n += 1
                kept += not any(cov[w.start() : w.end()])
    return n, (kept / n if n else float("nan"))


def _timed(texts: list[str], detector) -> dict:
    """Wall-clock and CPU-time throughput: on a shared machine the CPU figure (notes per
    CPU-second of this process) is the per-core speed; the wall figure depends on load.
    """
    detector.analyze(texts[0])  # warm-up (lazy word lists)
    t0, c0 = time.perf_counter(), time.process_time()
    spans = sum(len(detector.analyze(t)) for t in texts)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    return {
        "seconds": round(dt, 3),
        "notes_per_s": round(len(texts) / dt, 1),
        "notes_per_cpu_s": round(len(texts) / dc, 1),
        "spans": spans,
    }


def main() -> None:
    """Run every detector on the same notes and write bench/results/phi_text.json."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=1000)
    ap.add_argument("--peer-notes", type=int, default=200, help="notes for the slow peers")
    args = ap.parse_args()
    texts = notes(args.notes)
    res: dict = {
        "notes": len(texts),
        "chars": sum(map(len, texts)),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
    }
    for mode in ("recall", "precise"):
        det = MedmineDetector(mode)
        r = _timed(texts, det)
        r["clinical_tokens"], r["clinical_tokens_kept"] = clinical_kept(texts, det)
        cfg = ScrubConfig(detection=mode)
        for jobs in (1, 2):
            t0 = time.perf_counter()
            n = sum(1 for _ in scrub_parallel(texts, cfg, jobs=jobs))
            dt = time.perf_counter() - t0
            r[f"scrub_{jobs}_processes_notes_per_s"] = round(n / dt, 1)
        res[f"medmine_{mode}"] = r
    peer_texts = texts[: args.peer_notes]
    for name, make in (
        ("philter_lite", PhilterDetector),
        ("presidio_blank_spacy", PresidioDetector),
    ):
        try:
            det = make()
            r = _timed(peer_texts, det)
            r["notes"] = len(peer_texts)
            r["clinical_tokens"], r["clinical_tokens_kept"] = clinical_kept(peer_texts, det)
            if getattr(det, "shipped_error", None):
                r["as_shipped"] = det.shipped_error
                r["ran_with"] = "rule POS tagger instead of nltk.pos_tag (see bench/phi_text.py)"
        except Exception as exc:  # noqa: BLE001 - report, do not fail the benchmark
            r = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        res[name] = r
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
