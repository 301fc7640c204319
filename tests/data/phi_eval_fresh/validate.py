#!/usr/bin/env python3
"""Validate notes.jsonl: offsets, categories, clinical terms, coverage, counts."""
import json, os, sys, collections
HERE = os.path.dirname(os.path.abspath(__file__))
CATS = {"NAME","DATE","AGE","PHONE","FAX","EMAIL","SSN","MRN","HEALTH_PLAN","ACCOUNT",
        "LICENSE","VEHICLE","DEVICE","URL","IP","BIOMETRIC","PHOTO","OTHER_ID","ADDRESS",
        "CITY","COUNTY","ZIP","FACILITY"}
REQUIRED = ["discharge summary","ED note","nursing note","telephone encounter","patient portal message",
            "radiology report","pathology report","pharmacy note","social work note","referral letter",
            "audit log","billing note","progress note","operative note","home health note","hospice note"]
errors, warns = [], []
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "notes.jsonl")
notes = []
for i, line in enumerate(open(path, encoding="utf-8"), 1):
    try:
        notes.append(json.loads(line))
    except Exception as e:
        errors.append(f"line {i}: bad JSON {e}")
ids = collections.Counter(n.get("id") for n in notes)
for k, v in ids.items():
    if v > 1: errors.append(f"duplicate id {k}")
bytype, bycat = collections.Counter(), collections.Counter()
for n in notes:
    nid, text = n["id"], n["text"]
    for key in ("id","note_type","text","spans","clinical_terms"):
        if key not in n: errors.append(f"{nid}: missing key {key}")
    bytype[n["note_type"]] += 1
    spans = sorted(n["spans"], key=lambda s: s["start"])
    prev_end = -1
    covered = [False]*len(text)
    for s in spans:
        if s["type"] not in CATS: errors.append(f"{nid}: bad category {s['type']}")
        if not (0 <= s["start"] < s["end"] <= len(text)):
            errors.append(f"{nid}: bad offsets {s}"); continue
        if text[s["start"]:s["end"]] != s["text"]:
            errors.append(f"{nid}: offset mismatch {s} vs {text[s['start']:s['end']]!r}")
        if s["text"] != s["text"].strip():
            errors.append(f"{nid}: span has surrounding whitespace {s['text']!r}")
        if s["start"] < prev_end: errors.append(f"{nid}: overlapping span {s}")
        prev_end = s["end"]
        for j in range(s["start"], s["end"]): covered[j] = True
        bycat[s["type"]] += 1
        if s["type"] == "DATE" and s["text"].isdigit() and len(s["text"]) == 4:
            errors.append(f"{nid}: year alone annotated as DATE {s['text']!r}")
        if s["type"] == "NAME" and s["text"].split(" ")[0].rstrip(".") in ("Dr","Mr","Mrs","Ms","Rev","Officer","Fr"):
            warns.append(f"{nid}: title included in NAME span {s['text']!r}")
        if s["type"] == "AGE":
            digits = "".join(c for c in s["text"] if c.isdigit())
            if digits and int(digits[:3]) < 90:
                errors.append(f"{nid}: AGE span under 90 annotated {s['text']!r}")
    termcov = [False]*len(text)
    for t in n["clinical_terms"]:
        st = text.find(t)
        while st != -1:
            for j in range(st, st+len(t)): termcov[j] = True
            st = text.find(t, st+1)
    # every occurrence of each annotated string should be annotated (length>=4)
    for s in spans:
        t = s["text"]
        if len(t) < 4: continue
        st = text.find(t)
        while st != -1:
            if not all(covered[st:st+len(t)]):
                # allow if preceded/followed by alnum (substring of a bigger word)
                before = text[st-1] if st > 0 else " "
                after = text[st+len(t)] if st+len(t) < len(text) else " "
                if not (before.isalnum() or after.isalnum()) and not any(termcov[st:st+len(t)]):
                    warns.append(f"{nid}: unannotated repeat of {t!r} at {st}")
            st = text.find(t, st+1)
    terms = n["clinical_terms"]
    if not (5 <= len(terms) <= 25): errors.append(f"{nid}: {len(terms)} clinical terms (need 5-25)")
    for t in terms:
        pos = text.find(t)
        if pos == -1:
            errors.append(f"{nid}: clinical term not in text: {t!r}")
            continue
        # term must occur at least once not fully inside a PHI span
        ok = False
        while pos != -1:
            if not all(covered[pos:pos+len(t)]): ok = True; break
            pos = text.find(t, pos+1)
        if not ok: errors.append(f"{nid}: clinical term only inside PHI: {t!r}")
if len(notes) < 110: errors.append(f"only {len(notes)} notes")
if len(bytype) < 12: errors.append(f"only {len(bytype)} note types")
for r in REQUIRED:
    if r not in bytype: warns.append(f"note type missing: {r}")
for c in CATS:
    if bycat[c] < 3: warns.append(f"category {c} has only {bycat[c]} spans")
print(f"notes={len(notes)} spans={sum(bycat.values())} types={len(bytype)}")
print("by note type:"); [print(f"  {k}: {v}") for k, v in sorted(bytype.items())]
print("by category:"); [print(f"  {k}: {bycat[k]}") for k in sorted(CATS)]
for w in warns: print("WARN", w)
for e in errors: print("ERROR", e)
print("RESULT:", "CLEAN" if not errors else f"{len(errors)} errors")
sys.exit(1 if errors else 0)
