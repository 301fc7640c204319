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
    type_split, cat_split = collections.Counter(), collections.Counter()
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
        if not str(nid).startswith("f4_"):
            errors.append("%s: id prefix" % nid)
        if r.get("split") not in ("dev", "locked"):
            errors.append("%s: bad split" % nid)
        text = r["text"]
        by_type[r["note_type"]] += 1
        by_split[r["split"]] += 1
        type_split[(r["note_type"], r.get("split"))] += 1
        nlines = text.count("\n") + 1
        if not (3 <= nlines <= 20):
            errors.append("%s: %d lines (want 3-20)" % (nid, nlines))
        if not (250 <= len(text) <= 1200):
            errors.append("%s: %d chars (want 250-1200)" % (nid, len(text)))
        if "[[" in text or "]]" in text or "{{" in text or "}}" in text:
            errors.append("%s: leftover markup" % nid)
        spans = sorted(r["spans"], key=lambda s: (s["start"], s["end"]))
        covered = [False] * len(text)
        prev_end = -1
        for s in spans:
            st, en, ty, tx = s["start"], s["end"], s["type"], s["text"]
            by_cat[ty] += 1
            cat_split[(ty, r.get("split"))] += 1
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
            if tx[-1] in PUNCT and not (tx[-1] == "." and ty == "NAME" and re.search(r"\b([A-Z]|Jr|Sr)\.$", tx)) \
                    and not (tx[-1] == '"' and ty == "NAME" and tx.count('"') % 2 == 0):
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
        if not (1 <= len(terms) <= 30):
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
    expect_ids = {"f4_%03d" % i for i in range(1, len(recs) + 1)}
    if ids != expect_ids:
        errors.append("ids not contiguous f4_001..f4_%03d" % len(recs))
    if len(recs) != 200:
        errors.append("expected 200 notes, got %d" % len(recs))
    if len(by_type) < 25:
        errors.append("only %d note types (want >= 25)" % len(by_type))
    if abs(by_split["dev"] - by_split["locked"]) > 0:
        errors.append("split not balanced: %r" % dict(by_split))
    for t in by_type:
        if abs(type_split[(t, "dev")] - type_split[(t, "locked")]) > 1:
            errors.append("note type %r split unbalanced" % t)
    for c in sorted(CATS):
        if by_cat[c] < 3:
            warnings.append("category %s has only %d spans" % (c, by_cat[c]))
    print("notes: %d  note types: %d  PHI spans: %d  clinical terms: %d" % (
        len(recs), len(by_type), sum(by_cat.values()), n_terms))
    print("split:", dict(by_split))
    print("\nspans per category (total / dev / locked):")
    for c in sorted(CATS):
        print("  %-12s %4d %4d %4d" % (c, by_cat[c], cat_split[(c, "dev")], cat_split[(c, "locked")]))
    print("  %-12s %4d %4d %4d" % ("TOTAL", sum(by_cat.values()),
          sum(v for (c, sp), v in cat_split.items() if sp == "dev"),
          sum(v for (c, sp), v in cat_split.items() if sp == "locked")))
    print("\nnotes per note type (total / dev / locked):")
    for t in sorted(by_type):
        print("  %-40s %3d %3d %3d" % (t, by_type[t], type_split[(t, "dev")], type_split[(t, "locked")]))
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
