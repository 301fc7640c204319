#!/usr/bin/env python3
"""Stand-alone checker for notes.jsonl (stdlib only)."""
import collections, json, os, re, string, sys

HERE = os.path.dirname(os.path.abspath(__file__))
CATS = {"ACCOUNT", "ADDRESS", "AGE", "BIOMETRIC", "CITY", "COUNTY", "DATE", "DEVICE", "EMAIL",
        "FACILITY", "FAX", "HEALTH_PLAN", "IP", "LICENSE", "MRN", "NAME", "OTHER_ID", "PHONE",
        "PHOTO", "SSN", "URL", "VEHICLE", "ZIP"}
WORDNUM = {"ninety": 90, "hundred": 100}
TITLES = re.compile(r"^(Dr|Mr|Mrs|Ms|Miss|Rev|Fr|Sr|Sister|Officer|Dep|Det|Prof)\.?\s|,?\s(MD|DO|RN|NP|PA-C|PA|LPN|LCSW|PharmD|DDS|CNM|MSW|RPh|CNA)$")
PUNCT = set(string.punctuation) - set(")_")


def main():
    errors, warnings = [], []
    by_cat, by_type, by_split = collections.Counter(), collections.Counter(), collections.Counter()
    n_terms, ids = 0, set()
    path = os.path.join(HERE, "notes.jsonl")
    recs = []
    for ln, line in enumerate(open(path, encoding="utf-8"), 1):
        try:
            r = json.loads(line)
        except Exception as e:
            errors.append("line %d: bad JSON %s" % (ln, e)); continue
        recs.append(r)
    for r in recs:
        nid = r.get("id")
        for k in ("id", "note_type", "text", "spans", "clinical_terms", "split"):
            if k not in r:
                errors.append("%s: missing key %s" % (nid, k))
        if nid in ids:
            errors.append("%s: duplicate id" % nid)
        ids.add(nid)
        if not str(nid).startswith("f3_"):
            errors.append("%s: id prefix" % nid)
        if r.get("split") not in ("dev", "locked"):
            errors.append("%s: bad split" % nid)
        text = r["text"]
        by_type[r["note_type"]] += 1
        by_split[r["split"]] += 1
        spans = sorted(r["spans"], key=lambda s: (s["start"], s["end"]))
        covered = [False] * len(text)
        prev_end = -1
        for s in spans:
            st, en, ty, tx = s["start"], s["end"], s["type"], s["text"]
            by_cat[ty] += 1
            if ty not in CATS:
                errors.append("%s: bad category %s" % (nid, ty))
            if not (0 <= st < en <= len(text)):
                errors.append("%s: bad offsets %r" % (nid, s)); continue
            if text[st:en] != tx:
                errors.append("%s: offset text mismatch %r vs %r" % (nid, text[st:en], tx))
            if st < prev_end:
                errors.append("%s: overlapping span %r" % (nid, tx))
            prev_end = max(prev_end, en)
            if tx != tx.strip():
                errors.append("%s: whitespace at span edge %r" % (nid, tx))
            if tx[0] in PUNCT and tx[0] not in "+(#":
                errors.append("%s: span starts with punctuation %r" % (nid, tx))
            if tx[-1] in PUNCT and not (tx[-1] == "." and ty == "NAME" and re.search(r"\b[A-Z]\.$", tx)):
                errors.append("%s: span ends with punctuation %r" % (nid, tx))
            if ty == "AGE":
                m = re.match(r"\d+", tx)
                if m:
                    if int(m.group()) < 90:
                        errors.append("%s: AGE < 90 %r" % (nid, tx))
                elif not any(w in tx.lower() for w in WORDNUM):
                    errors.append("%s: AGE word not >= 90 %r" % (nid, tx))
            if ty == "DATE" and re.fullmatch(r"(19|20)\d\d", tx):
                errors.append("%s: year-only DATE %r" % (nid, tx))
            if ty == "NAME" and TITLES.search(tx):
                warnings.append("%s: title/credential inside NAME %r" % (nid, tx))
            for i in range(st, en):
                covered[i] = True
        terms = r["clinical_terms"]
        n_terms += len(terms)
        if not (5 <= len(terms) <= 30):
            warnings.append("%s: %d clinical terms" % (nid, len(terms)))
        for t in terms:
            found = False
            for m in re.finditer(re.escape(t), text):
                if not any(covered[m.start():m.end()]):
                    found = True; break
            if not found:
                errors.append("%s: clinical term not found outside PHI %r" % (nid, t))
        # unannotated repeat of annotated PHI strings (len>=4)
        seen_rep = set()
        for s in spans:
            tx = s["text"]
            if len(tx) < 4 or tx in seen_rep:
                continue
            seen_rep.add(tx)
            if len(tx) < 4:
                continue
            for m in re.finditer(r"(?<!\w)" + re.escape(tx) + r"(?!\w)", text):
                if not any(covered[m.start():m.end()]):
                    warnings.append("%s: unannotated repeat of %s %r at %d" % (nid, s["type"], tx, m.start()))
    for c in sorted(CATS):
        if by_cat[c] < 3:
            warnings.append("category %s has only %d spans" % (c, by_cat[c]))
    print("notes: %d  note types: %d  PHI spans: %d  clinical terms: %d" % (
        len(recs), len(by_type), sum(by_cat.values()), n_terms))
    print("split:", dict(by_split))
    print("\nspans per category:")
    for c in sorted(CATS):
        print("  %-12s %d" % (c, by_cat[c]))
    print("\nnotes per note type:")
    for t in sorted(by_type):
        print("  %-40s %d" % (t, by_type[t]))
    print("\nWARNINGS (%d):" % len(warnings))
    for w in warnings:
        print("  " + w)
    print("\nERRORS (%d):" % len(errors))
    for e in errors:
        print("  " + e)
    print("\nRESULT:", "PASS" if not errors else "FAIL")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
