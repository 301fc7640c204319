#!/usr/bin/env python3
"""Self-check for inject.py output.

    python3 selfcheck.py IN_DIR OUT_DIR

Checks: every output file parses; ids/fullUrls unique and consistent; every reference resolves inside
its bundle; every Claim has exactly one EOB; minimal R4 required elements; truth claim ids exist;
truth counts equal a recount; output claim count = input + new; untouched claims unchanged; and a
per-scheme invariant for every truth claim.  Exit code 1 on any failure.
"""
import collections
import datetime as dt
import glob
import gzip
import json
import os
import sys

REQ = {
    "Claim": ["status", "type", "use", "patient", "created", "provider", "priority", "insurance", "item"],
    "ExplanationOfBenefit": ["status", "type", "use", "patient", "created", "insurer", "provider", "outcome",
                             "insurance"],
    "Encounter": ["status", "class", "subject"],
    "Organization": ["id"],
    "Practitioner": ["id"],
    "PractitionerRole": ["id"],
}


def refs(o, out):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "reference" and isinstance(v, str):
                out.append(v)
            else:
                refs(v, out)
    elif isinstance(o, list):
        for v in o:
            refs(v, out)


def load(d):
    out = {}
    for p in sorted(glob.glob(os.path.join(d, "*.json.gz"))):
        with gzip.open(p, "rt") as fh:
            out[os.path.basename(p)] = json.load(fh)
    return out


def main_synpuf(in_dir, out_dir):
    import csv
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import synpuf
    errors = []
    inp = {r["CLM_ID"]: r for r in csv.DictReader(open(os.path.join(in_dir, synpuf.CARRIER)))}
    out = {r["CLM_ID"]: r for r in csv.DictReader(open(os.path.join(out_dir, synpuf.CARRIER)))}
    bene = {b["DESYNPUF_ID"]: b for b in csv.DictReader(open(os.path.join(out_dir, synpuf.BENE)))}
    truth = json.load(open(os.path.join(out_dir, "truth.json")))
    tc = {t["claim_id"]: t for t in truth["claims"]}
    recount = collections.Counter(s for t in truth["claims"] for s in t["schemes"])
    if dict(recount) != truth["counts_by_scheme"]:
        errors.append("count mismatch")
    if len(out) != truth["n_output_claims"]:
        errors.append("output row count mismatch")
    if not (set(out) - set(inp)) <= set(tc):
        errors.append("new claims missing from truth")
    for cid, r in inp.items():
        if cid not in tc and r != {k: out[cid].get(k, "") for k in r}:
            errors.append("untouched claim changed " + cid)
    day = collections.Counter()
    for cid, t in tc.items():
        r = out.get(cid)
        if r is None:
            errors.append("truth claim missing " + cid)
            continue
        for s in t["schemes"]:
            if s == "post_death" and not (bene[r["DESYNPUF_ID"]]["BENE_DEATH_DT"] and
                                          r["CLM_FROM_DT"] > bene[r["DESYNPUF_ID"]]["BENE_DEATH_DT"]):
                errors.append("post_death " + cid)
            if s == "duplicate":
                o = dict(out[t["detail"]["duplicate"]["original_claim_id"]]); x = dict(r)
                o.pop("CLM_ID"); x.pop("CLM_ID")
                if o != x:
                    errors.append("duplicate differs " + cid)
            if s == "impossible_volume":
                day[(r["PRF_PHYSN_NPI_1"], r["CLM_FROM_DT"])] += synpuf.MINUTES[r["HCPCS_CD_1"]]
    for k, m in day.items():
        if m <= 1440:
            errors.append("impossible day not impossible %s" % (k,))
    print(json.dumps({"format": "synpuf", "input_claims": len(inp), "output_claims": len(out),
                      "counts_by_scheme": truth["counts_by_scheme"],
                      "impossible_days_hours": {"%s %s" % k: v / 60 for k, v in day.items()},
                      "errors": len(errors)}, indent=1))
    for e in errors[:30]:
        print("ERROR", e)
    return 1 if errors else 0


def main(in_dir, out_dir):
    if os.path.exists(os.path.join(out_dir, "truth.json")) and \
            json.load(open(os.path.join(out_dir, "truth.json"))).get("format", "").startswith("DE-SynPUF"):
        return main_synpuf(in_dir, out_dir)
    errors = []
    inp = load(in_dir)
    outp = load(out_dir)
    truth = json.load(open(os.path.join(out_dir, "truth.json")))
    if sorted(inp) != sorted(outp):
        errors.append("file sets differ")
    claims, eobs_for, encs, pats, by_file_claims = {}, collections.defaultdict(list), {}, {}, {}
    n_in_claims = 0
    in_claims = {}
    for f, b in inp.items():
        for e in b["entry"]:
            if e["resource"]["resourceType"] == "Claim":
                n_in_claims += 1
                in_claims[e["resource"]["id"]] = e["resource"]
    for f, b in outp.items():
        if b.get("resourceType") != "Bundle" or b.get("type") != "transaction":
            errors.append(f + ": not a transaction Bundle")
        urls = collections.Counter(e["fullUrl"] for e in b["entry"])
        dup = [u for u, n in urls.items() if n > 1]
        if dup:
            errors.append("%s: duplicate fullUrls %s" % (f, dup[:3]))
        for e in b["entry"]:
            r = e["resource"]
            t = r["resourceType"]
            if e["fullUrl"] != "urn:uuid:" + r.get("id", ""):
                errors.append("%s: fullUrl/id mismatch %s" % (f, e["fullUrl"]))
            if e.get("request", {}).get("url") != t:
                errors.append("%s: request.url mismatch %s" % (f, r.get("id")))
            for k in REQ.get(t, []):
                if k not in r:
                    errors.append("%s: %s %s lacks %s" % (f, t, r.get("id"), k))
            if t == "Claim":
                claims[r["id"]] = (f, r)
                seqs = {c["sequence"] for c in r.get("careTeam", [])}
                for it in r["item"]:
                    if not set(it.get("careTeamSequence", [])) <= seqs:
                        errors.append("%s: careTeamSequence dangling in %s" % (f, r["id"]))
            elif t == "ExplanationOfBenefit":
                eobs_for[r["claim"]["reference"].split(":")[-1]].append(r)
            elif t == "Encounter":
                encs[r["id"]] = r
            elif t == "Patient":
                pats[f] = r
        rs = []
        refs(b, rs)
        for x in rs:
            if x not in urls:
                errors.append("%s: dangling reference %s" % (f, x))
    for cid in claims:
        if len(eobs_for.get(cid, [])) != 1:
            errors.append("claim %s has %d EOBs" % (cid, len(eobs_for.get(cid, []))))
    # truth consistency
    recount = collections.Counter()
    tclaims = {t["claim_id"]: t for t in truth["claims"]}
    for t in truth["claims"]:
        for s in t["schemes"]:
            recount[s] += 1
        if t["claim_id"] not in claims:
            errors.append("truth claim %s not in output" % t["claim_id"])
    if dict(recount) != truth["counts_by_scheme"]:
        errors.append("truth counts %s != recount %s" % (truth["counts_by_scheme"], dict(recount)))
    new_ids = set(claims) - set(in_claims)
    if not new_ids <= set(tclaims):
        errors.append("%d new claims missing from truth" % len(new_ids - set(tclaims)))
    if len(claims) != truth["n_output_claims"]:
        errors.append("output claims %d != truth n_output_claims %d" % (len(claims), truth["n_output_claims"]))

    def key(c):
        it = c["item"][0]
        return (c["created"], c["provider"]["reference"], it["productOrService"]["coding"][0]["code"],
                c["total"]["value"], json.dumps(it.get("encounter")))
    untouched_changed = sum(1 for cid, c in in_claims.items() if cid not in tclaims and key(c) != key(claims[cid][1]))
    if untouched_changed:
        errors.append("%d non-truth claims changed" % untouched_changed)

    # per-scheme invariants
    bad_ref = [c["id"] for c in truth["bad_clinicians"] if c["role"].startswith("referring")][0]
    bad_orgs = [o["id"] for o in truth["bad_organizations"]]
    ok = collections.Counter()
    day_minutes = collections.defaultdict(float)
    for cid, t in tclaims.items():
        f, c = claims[cid]
        created = dt.datetime.fromisoformat(c["created"])
        it = c["item"][0]
        for s in t["schemes"]:
            good = True
            if s == "post_death":
                d = pats[f].get("deceasedDateTime")
                good = d is not None and created > dt.datetime.fromisoformat(d)
            elif s == "duplicate":
                o = claims[t["detail"]["duplicate"]["original_claim_id"]][1]
                a, b = dict(o), dict(c)
                a.pop("id"), b.pop("id")
                good = json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
            elif s == "near_duplicate":
                o = claims[t["detail"]["near_duplicate"]["original_claim_id"]][1]
                od = dt.datetime.fromisoformat(o["created"])
                good = (o["patient"] == c["patient"] and o["provider"] == c["provider"]
                        and o["item"][0]["productOrService"] == it["productOrService"]
                        and abs((created - od).days) <= 4
                        and (o["created"] != c["created"] or o["total"] != c["total"]))
            elif s == "phantom":
                good = not it.get("encounter")
            elif s == "upcoding":
                enc = encs[it["encounter"][0]["reference"].split(":")[-1]]
                good = (c["total"]["value"] > in_claims[cid]["total"]["value"] * 1.5)
                if t["detail"]["upcoding"]["mode"] == "upcode":
                    good = good and enc["type"][0]["coding"][0]["code"] != it["productOrService"]["coding"][0]["code"]
            elif s == "unbundling":
                bc = claims[t["detail"]["unbundling"]["bundle_claim_id"]][1]
                good = (bc["created"][:10] == c["created"][:10] and bc["provider"] == c["provider"]
                        and it["productOrService"]["coding"][0]["system"] == "http://loinc.org")
            elif s == "excessive_units":
                good = it["quantity"]["value"] >= 6 and abs(c["total"]["value"] - it["quantity"]["value"]
                                                            * it["unitPrice"]["value"]) < 0.01
            elif s == "impossible_volume":
                enc = encs[it["encounter"][0]["reference"].split(":")[-1]]
                p = enc["period"]
                m = (dt.datetime.fromisoformat(p["end"]) - dt.datetime.fromisoformat(p["start"])).total_seconds() / 60
                day_minutes[(t["clinician_id"], c["created"][:10])] += m
            elif s == "kickback_referral":
                good = t["referring_id"] == bad_ref and t["organization_id"] in bad_orgs
            if good:
                ok[s] += 1
            else:
                errors.append("invariant failed: %s %s" % (s, cid))
    for k, m in day_minutes.items():
        if m <= 24 * 60:
            errors.append("impossible-volume day %s only %.1f h" % (k, m / 60))
    # referral concentration at the kickback recipient
    org = truth["bad_organizations"][0]["id"]
    refc = collections.Counter()
    for cid, (f, c) in claims.items():
        if c["provider"]["reference"].endswith(org):
            r = [x["provider"]["reference"].split(":")[-1] for x in c.get("careTeam", [])
                 if x["role"]["coding"][0]["code"] == "referring"]
            refc[r[0] if r else None] += 1
    summary = {
        "files": len(outp), "input_claims": n_in_claims, "output_claims": len(claims),
        "truth_claims": len(tclaims), "counts_by_scheme": truth["counts_by_scheme"],
        "invariant_ok": dict(ok), "impossible_days_hours": {"%s %s" % k: round(v / 60, 1) for k, v in day_minutes.items()},
        "bad_org_referrer_share": round(refc[bad_ref] / max(1, sum(v for k, v in refc.items() if k)), 3),
        "errors": len(errors),
    }
    print(json.dumps(summary, indent=1))
    for e in errors[:30]:
        print("ERROR", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
