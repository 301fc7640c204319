#!/usr/bin/env python3
"""Stand-alone checker for notes.jsonl (python3 stdlib only).

Run:  python3 validate.py [notes.jsonl]
Exit status 0 when there are no errors (warnings are printed but do not fail).
"""
import collections
import json
import os
import re
import sys

CATEGORIES = {
    "ACCOUNT", "ADDRESS", "AGE", "BIOMETRIC", "CITY", "COUNTY", "DATE", "DEVICE",
    "EMAIL", "FACILITY", "FAX", "HEALTH_PLAN", "IP", "LICENSE", "MRN", "NAME",
    "OTHER_ID", "PHONE", "PHOTO", "SSN", "URL", "VEHICLE", "ZIP",
}
TITLES = ("Dr.", "Dr ", "Mr.", "Mrs.", "Ms.", "Miss ", "Rev.", "Officer ", "Deputy ", "Sgt.")
CREDS = (" MD", " RN", " PharmD", " DO", " NP", " PA-C", " LCSW", " MSW", ", MD", ", RN")
WORD_NUM = {"ninety": 90, "ninety-one": 91, "ninety-two": 92, "ninety-three": 93,
            "ninety-four": 94, "ninety-five": 95, "ninety-six": 96, "ninety-seven": 97,
            "ninety-eight": 98, "ninety-nine": 99, "one hundred": 100, "hundred": 100}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "notes.jsonl")
    errors, warnings = [], []
    ids = set()
    cat_counts = collections.Counter()
    type_counts = collections.Counter()
    n_terms = 0
    notes = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            try:
                notes.append(json.loads(line))
            except ValueError as exc:
                errors.append("line %d: invalid JSON (%s)" % (lineno, exc))
    for n in notes:
        nid = n.get("id")
        for key in ("id", "note_type", "text", "spans", "clinical_terms"):
            if key not in n:
                errors.append("%s: missing key %s" % (nid, key))
        if nid in ids:
            errors.append("%s: duplicate id" % nid)
        ids.add(nid)
        text = n["text"]
        type_counts[n["note_type"]] += 1
        covered = [False] * len(text)
        prev_end = -1
        for s in sorted(n["spans"], key=lambda s: (s["start"], s["end"])):
            st, en, cat, val = s["start"], s["end"], s["type"], s["text"]
            tag = "%s [%d:%d] %s %r" % (nid, st, en, cat, val)
            if cat not in CATEGORIES:
                errors.append(tag + ": unknown category")
            if not (0 <= st < en <= len(text)):
                errors.append(tag + ": offsets out of range")
                continue
            if text[st:en] != val:
                errors.append(tag + ": text mismatch, found %r" % text[st:en])
            bad_edge = val != val.strip() or val.lstrip(".,;:") != val or val.rstrip(",;:") != val
            if val.endswith(".") and not re.search(r"(\b[A-Za-z]|\b(Jr|Sr|St|Ave|Rd|Inc|Co|Dr|Ln|Blvd))\.$", val):
                bad_edge = True
            if bad_edge:
                errors.append(tag + ": leading/trailing whitespace or punctuation")
            if st < prev_end:
                errors.append(tag + ": overlaps previous span")
            prev_end = max(prev_end, en)
            for i in range(st, en):
                covered[i] = True
            cat_counts[cat] += 1
            if cat == "AGE":
                v = val.lower()
                num = int(v) if v.isdigit() else WORD_NUM.get(v)
                if num is None or num < 90:
                    errors.append(tag + ": AGE span must be an age >= 90")
            if cat == "DATE" and re.fullmatch(r"(19|20)\d\d", val):
                errors.append(tag + ": year-only DATE span")
            if cat == "NAME":
                if val.startswith(TITLES) or val.endswith(CREDS):
                    warnings.append(tag + ": title/credential inside NAME span")
        # clinical terms
        terms = n["clinical_terms"]
        n_terms += len(terms)
        if not (5 <= len(terms) <= 30):
            warnings.append("%s: %d clinical terms" % (nid, len(terms)))
        for t in terms:
            found_outside = False
            for m in re.finditer(re.escape(t), text):
                if not any(covered[m.start():m.end()]):
                    found_outside = True
                    break
            if not found_outside:
                errors.append("%s: clinical term %r not found outside PHI" % (nid, t))
        # unannotated repeats of annotated PHI strings
        seen = set()
        for s in n["spans"]:
            val = s["text"]
            if val in seen or len(val) < 3:
                continue
            seen.add(val)
            for m in re.finditer(r"(?<!\w)" + re.escape(val) + r"(?!\w)", text):
                if not any(covered[m.start():m.end()]):
                    inside_term = any(val in t for t in terms)
                    if not inside_term:
                        warnings.append("%s: unannotated repeat of %s %r at %d"
                                        % (nid, s["type"], val, m.start()))
    print("notes: %d   note types: %d   PHI spans: %d   clinical terms: %d"
          % (len(notes), len(type_counts), sum(cat_counts.values()), n_terms))
    print("\nnotes per note_type:")
    for k, v in sorted(type_counts.items()):
        print("  %-26s %d" % (k, v))
    print("\nPHI spans per category:")
    for k in sorted(CATEGORIES):
        print("  %-12s %d" % (k, cat_counts[k]))
        if cat_counts[k] < 3:
            warnings.append("category %s has only %d spans" % (k, cat_counts[k]))
    for w in warnings:
        print("WARNING:", w)
    for e in errors:
        print("ERROR:", e)
    print("\n%s: %d errors, %d warnings" % ("CLEAN" if not errors else "FAILED",
                                           len(errors), len(warnings)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
