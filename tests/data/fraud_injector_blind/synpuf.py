#!/usr/bin/env python3
"""DE-SynPUF carrier-claims mode.

Generate a small synthetic file in the CMS DE-SynPUF layout:
    python3 synpuf.py gen OUT_DIR [--seed N] [--benes 400]
writes OUT_DIR/DE1_0_2008_to_2010_Carrier_Claims_Sample_1.csv and
       OUT_DIR/DE1_0_2008_Beneficiary_Summary_File_Sample_1.csv (subset of columns).
Inject (called by inject.py --format synpuf IN_DIR OUT_DIR --seed N):
    same file names in OUT_DIR, plus truth.json (claim ids = CLM_ID).

Columns relied upon (carrier): DESYNPUF_ID, CLM_ID, CLM_FROM_DT, CLM_THRU_DT, ICD9_DGNS_CD_1..8,
PRF_PHYSN_NPI_1..13, TAX_NUM_1..13, HCPCS_CD_1..13, LINE_NCH_PMT_AMT_1..13, LINE_BENE_PTB_DDCTBL_AMT_1..13,
LINE_BENE_PRMRY_PYR_PD_AMT_1..13, LINE_COINSRNC_AMT_1..13, LINE_ALOWD_CHRG_AMT_1..13,
LINE_PRCSG_IND_CD_1..13, LINE_ICD9_DGNS_CD_1..13.  Beneficiary: DESYNPUF_ID, BENE_BIRTH_DT, BENE_DEATH_DT.
Non-standard extension column (DE-SynPUF has no referring provider): RFR_PHYSN_NPI (claim level).
"""
import collections
import csv
import datetime as dt
import json
import os
import random
import sys

NL = 13
CARRIER = "DE1_0_2008_to_2010_Carrier_Claims_Sample_1.csv"
BENE = "DE1_0_2008_Beneficiary_Summary_File_Sample_1.csv"
COLS = (["DESYNPUF_ID", "CLM_ID", "CLM_FROM_DT", "CLM_THRU_DT"] + ["ICD9_DGNS_CD_%d" % i for i in range(1, 9)]
        + [f"{p}_{i}" for p in ["PRF_PHYSN_NPI", "TAX_NUM", "HCPCS_CD", "LINE_NCH_PMT_AMT",
                                "LINE_BENE_PTB_DDCTBL_AMT", "LINE_BENE_PRMRY_PYR_PD_AMT", "LINE_COINSRNC_AMT",
                                "LINE_ALOWD_CHRG_AMT", "LINE_PRCSG_IND_CD", "LINE_ICD9_DGNS_CD"]
           for i in range(1, NL + 1)] + ["RFR_PHYSN_NPI"])
BCOLS = ["DESYNPUF_ID", "BENE_BIRTH_DT", "BENE_DEATH_DT", "BENE_SEX_IDENT_CD", "BENE_RACE_CD", "SP_STATE_CODE",
         "BENE_COUNTY_CD"]
# fee schedule (allowed $) and minutes for time-based codes
FEES = {"99211": 20, "99212": 45, "99213": 72, "99214": 108, "99215": 145, "36415": 3, "85025": 11,
        "80053": 15, "80061": 19, "93000": 17, "71020": 30, "90837": 130, "97110": 30, "G0439": 118,
        "82947": 5, "84132": 6, "82565": 7, "84520": 5, "82310": 7, "84295": 6, "82435": 6, "82374": 6,
        "84155": 5, "84075": 7, "82040": 7, "84460": 7, "84450": 7, "82247": 7, "82465": 6, "83718": 11,
        "84478": 8}
MINUTES = {"90837": 60, "97110": 15, "99215": 40, "99214": 25, "99213": 15}
PANELS = {"80053": ["82947", "84132", "82565", "84520", "82310", "84295", "82435", "82374", "84155", "84075",
                    "82040", "84460", "84450", "82247"],
          "80061": ["82465", "83718", "84478"]}
ICD9 = ["4019", "25000", "2724", "42731", "4280", "496", "71590", "V700", "78079", "30000", "311", "5990"]


def d8(t):
    return t.strftime("%Y%m%d")


def p8(s):
    return dt.date(int(s[:4]), int(s[4:6]), int(s[6:8]))


def gen(out_dir, seed=7, n_benes=400):
    rng = random.Random(seed)
    os.makedirs(out_dir, exist_ok=True)
    groups = ["%09d" % rng.randrange(10 ** 8, 10 ** 9) for _ in range(12)]
    docs = [("%010d" % rng.randrange(10 ** 9, 2 * 10 ** 9), rng.choice(groups)) for _ in range(60)]
    psych = docs[:6]  # behavioural-health clinicians bill 90837
    benes = []
    for _ in range(n_benes):
        bid = "%016X" % rng.getrandbits(64)
        birth = dt.date(rng.randrange(1915, 1944), rng.randrange(1, 13), 1)
        death = ""
        if rng.random() < 0.06:
            death = d8(dt.date(2008, 1, 1) + dt.timedelta(days=rng.randrange(90, 1000)))
        benes.append({"DESYNPUF_ID": bid, "BENE_BIRTH_DT": d8(birth), "BENE_DEATH_DT": death,
                      "BENE_SEX_IDENT_CD": rng.choice("12"), "BENE_RACE_CD": rng.choice("1125"),
                      "SP_STATE_CODE": "%02d" % rng.randrange(1, 55), "BENE_COUNTY_CD": "%03d" % rng.randrange(1, 400)})
    rows = []
    for b in benes:
        end = p8(b["BENE_DEATH_DT"]) if b["BENE_DEATH_DT"] else dt.date(2010, 12, 31)
        mydocs = rng.sample(docs, 3)
        for _ in range(max(1, int(rng.gauss(12, 4)))):
            day = dt.date(2008, 1, 1) + dt.timedelta(days=rng.randrange(0, max(1, (end - dt.date(2008, 1, 1)).days)))
            npi, tax = rng.choice(mydocs) if rng.random() < 0.9 else rng.choice(docs)
            if (npi, tax) in psych:
                lines = ["90837"]
            else:
                lines = [rng.choices(["99212", "99213", "99214", "99215", "99211"], [20, 45, 25, 5, 5])[0]]
                if rng.random() < 0.3:
                    lines += ["36415", rng.choice(["80053", "80061", "85025"])]
                if rng.random() < 0.1:
                    lines.append(rng.choice(["93000", "71020", "97110"]))
            dx = rng.sample(ICD9, rng.randrange(1, 4))
            r = {c: "" for c in COLS}
            r.update({"DESYNPUF_ID": b["DESYNPUF_ID"], "CLM_ID": str(rng.randrange(10 ** 14, 10 ** 15)),
                      "CLM_FROM_DT": d8(day), "CLM_THRU_DT": d8(day)})
            for i, x in enumerate(dx):
                r["ICD9_DGNS_CD_%d" % (i + 1)] = x
            for i, h in enumerate(lines):
                set_line(r, i + 1, npi, tax, h, FEES[h] * rng.uniform(0.95, 1.05), dx[0])
            if lines[0] in ("99214", "99215", "90837") and rng.random() < 0.3:
                r["RFR_PHYSN_NPI"] = rng.choice([d for d, _ in docs if d != npi])
            rows.append(r)
    rows.sort(key=lambda r: (r["DESYNPUF_ID"], r["CLM_FROM_DT"]))
    write(out_dir, rows, benes)


def set_line(r, i, npi, tax, h, allowed, dx, units=1):
    allowed = round(allowed, 2)
    r.update({"PRF_PHYSN_NPI_%d" % i: npi, "TAX_NUM_%d" % i: tax, "HCPCS_CD_%d" % i: h,
              "LINE_ALOWD_CHRG_AMT_%d" % i: "%.2f" % allowed, "LINE_NCH_PMT_AMT_%d" % i: "%.2f" % (allowed * 0.8),
              "LINE_COINSRNC_AMT_%d" % i: "%.2f" % (allowed * 0.2), "LINE_BENE_PTB_DDCTBL_AMT_%d" % i: "0.00",
              "LINE_BENE_PRMRY_PYR_PD_AMT_%d" % i: "0.00", "LINE_PRCSG_IND_CD_%d" % i: "A",
              "LINE_ICD9_DGNS_CD_%d" % i: dx})


def nlines(r):
    return sum(1 for i in range(1, NL + 1) if r["HCPCS_CD_%d" % i])


def write(out_dir, rows, benes):
    with open(os.path.join(out_dir, CARRIER), "w", newline="") as fh:
        w = csv.DictWriter(fh, COLS)
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out_dir, BENE), "w", newline="") as fh:
        w = csv.DictWriter(fh, BCOLS)
        w.writeheader()
        w.writerows(benes)


def inject(in_dir, out_dir, seed, rates, ring_share):
    rng = random.Random(seed)
    rows = list(csv.DictReader(open(os.path.join(in_dir, CARRIER))))
    for r in rows:
        for c in COLS:
            r.setdefault(c, "")
    benes = list(csv.DictReader(open(os.path.join(in_dir, BENE))))
    bene = {b["DESYNPUF_ID"]: b for b in benes}
    N = len(rows)

    def n_for(s):
        x = rates.get(s, 0)
        return 0 if x <= 0 else max(1, int(round(x * N)))

    docs = collections.Counter((r["PRF_PHYSN_NPI_1"], r["TAX_NUM_1"]) for r in rows)
    taxes = collections.Counter(r["TAX_NUM_1"] for r in rows)
    bad_tax = rng.choice(sorted(t for t, n in taxes.items() if n >= 0.5 * max(taxes.values())))
    bad_npis = sorted(rng.sample(sorted({d for (d, t) in docs if t == bad_tax}), 2))
    bad_ref = rng.choice(sorted({d for (d, t) in docs if t != bad_tax}))
    shell_tax = "%09d" % rng.randrange(10 ** 8, 10 ** 9)
    ring_orgs = [bad_tax, shell_tax]
    used_ids = {r["CLM_ID"] for r in rows}
    truth = {}
    new_rows = []

    def new_id():
        while True:
            x = str(rng.randrange(10 ** 14, 10 ** 15))
            if x not in used_ids:
                used_ids.add(x)
                return x

    def ring_pair():
        return rng.choice(bad_npis), (shell_tax if rng.random() < 0.5 else bad_tax)

    def is_ring(r):
        return r["TAX_NUM_1"] in ring_orgs or r["PRF_PHYSN_NPI_1"] in bad_npis

    def rec(r, scheme, **kw):
        t = truth.setdefault(r["CLM_ID"], {"claim_id": r["CLM_ID"], "schemes": [], "DESYNPUF_ID": r["DESYNPUF_ID"]})
        if scheme not in t["schemes"]:
            t["schemes"].append(scheme)
        t.update({"organization_tax_num": r["TAX_NUM_1"], "clinician_npi": r["PRF_PHYSN_NPI_1"],
                  "referring_npi": r["RFR_PHYSN_NPI"] or None, "from_dt": r["CLM_FROM_DT"],
                  "ring": r["TAX_NUM_1"] in ring_orgs or r["PRF_PHYSN_NPI_1"] in bad_npis or r["RFR_PHYSN_NPI"] == bad_ref})
        if kw:
            t.setdefault("detail", {})[scheme] = kw

    def pick(n, used, ok):
        ring = [r for r in rows if ok(r) and r["CLM_ID"] not in used and is_ring(r)]
        oth = [r for r in rows if ok(r) and r["CLM_ID"] not in used and not is_ring(r)]
        rng.shuffle(ring)
        rng.shuffle(oth)
        out = []
        for _ in range(n):
            src = ring if (ring and rng.random() < ring_share) else (oth or ring)
            if not src:
                break
            r = src.pop()
            used.add(r["CLM_ID"])
            out.append(r)
        return out

    def set_provider(r, npi, tax):
        for i in range(1, NL + 1):
            if r["HCPCS_CD_%d" % i]:
                r["PRF_PHYSN_NPI_%d" % i] = npi
                r["TAX_NUM_%d" % i] = tax

    def blank(r):
        x = {c: "" for c in COLS}
        x.update({k: r[k] for k in ["DESYNPUF_ID"] + ["ICD9_DGNS_CD_%d" % i for i in range(1, 9)]})
        x["CLM_ID"] = new_id()
        return x

    used = set()
    # upcoding / upcharging
    for r in pick(n_for("upcoding"), used, lambda r: r["HCPCS_CD_1"] in ("99211", "99212", "99213")):
        old = r["HCPCS_CD_1"]
        if rng.random() < 0.6:
            h = rng.choice(["99214", "99215"])
            set_line(r, 1, r["PRF_PHYSN_NPI_1"], r["TAX_NUM_1"], h, FEES[h] * rng.uniform(0.95, 1.05),
                     r["LINE_ICD9_DGNS_CD_1"])
            rec(r, "upcoding", mode="upcode", original_hcpcs=old)
        else:
            a = float(r["LINE_ALOWD_CHRG_AMT_1"]) * rng.uniform(1.8, 4.0)
            set_line(r, 1, r["PRF_PHYSN_NPI_1"], r["TAX_NUM_1"], old, a, r["LINE_ICD9_DGNS_CD_1"])
            rec(r, "upcoding", mode="upcharge", original_hcpcs=old)
    # excessive units: DE-SynPUF has no unit count; the same HCPCS repeated on many lines of one claim
    for r in pick(n_for("excessive_units"), used, lambda r: nlines(r) == 1 and r["HCPCS_CD_1"] in ("97110", "99213", "99212", "90837")):
        k = rng.randrange(6, NL + 1)
        for i in range(2, k + 1):
            set_line(r, i, r["PRF_PHYSN_NPI_1"], r["TAX_NUM_1"], r["HCPCS_CD_1"], float(r["LINE_ALOWD_CHRG_AMT_1"]),
                     r["LINE_ICD9_DGNS_CD_1"])
        rec(r, "excessive_units", units=k)
    # unbundling: the panel line is replaced by its component tests (same claim, same day)
    for r in pick(n_for("unbundling"), used, lambda r: any(r["HCPCS_CD_%d" % i] in PANELS for i in range(1, NL + 1))):
        i = [i for i in range(1, NL + 1) if r["HCPCS_CD_%d" % i] in PANELS][0]
        panel = r["HCPCS_CD_%d" % i]
        comps = PANELS[panel][:NL - nlines(r) + 1]
        npi, tax, dx = r["PRF_PHYSN_NPI_%d" % i], r["TAX_NUM_%d" % i], r["LINE_ICD9_DGNS_CD_%d" % i]
        slots = [i] + [j for j in range(1, NL + 1) if not r["HCPCS_CD_%d" % j]]
        for s, h in zip(slots, comps):
            set_line(r, s, npi, tax, h, FEES[h] * rng.uniform(0.95, 1.05), dx)
        rec(r, "unbundling", panel=panel, components=comps)
    # kickback: bad referrer on almost all of the bad organisation's visits
    kb = sorted([r for r in rows if r["TAX_NUM_1"] == bad_tax and r["PRF_PHYSN_NPI_1"] != bad_ref],
                key=lambda r: (0 if r["RFR_PHYSN_NPI"] else 1, r["CLM_FROM_DT"]), reverse=False)
    for r in kb[:n_for("kickback_referral")]:
        r["RFR_PHYSN_NPI"] = bad_ref
        rec(r, "kickback_referral")
    # duplicates / near duplicates
    for r in pick(n_for("duplicate"), set(), lambda r: True):
        x = dict(r)
        x["CLM_ID"] = new_id()
        new_rows.append(x)
        rec(x, "duplicate", original_claim_id=r["CLM_ID"])
        for s in truth.get(r["CLM_ID"], {}).get("schemes", []):
            if s == "kickback_referral":
                rec(x, s)
    for r in pick(n_for("near_duplicate"), set(), lambda r: True):
        x = dict(r)
        x["CLM_ID"] = new_id()
        mode = rng.choice(["date", "amount", "both"])
        if mode != "amount":
            d = d8(p8(r["CLM_FROM_DT"]) + dt.timedelta(days=rng.choice([-3, -2, -1, 1, 2, 3])))
            x["CLM_FROM_DT"] = x["CLM_THRU_DT"] = d
        if mode != "date":
            f = 1 + rng.choice([-1, 1]) * rng.uniform(0.02, 0.12)
            set_line(x, 1, x["PRF_PHYSN_NPI_1"], x["TAX_NUM_1"], x["HCPCS_CD_1"],
                     float(x["LINE_ALOWD_CHRG_AMT_1"]) * f, x["LINE_ICD9_DGNS_CD_1"])
        new_rows.append(x)
        rec(x, "near_duplicate", original_claim_id=r["CLM_ID"], mode=mode)
        if "kickback_referral" in truth.get(r["CLM_ID"], {}).get("schemes", []):
            rec(x, "kickback_referral")
    # phantom: ring bills beneficiaries it never saw, on days without any other claim
    seen_days = collections.defaultdict(set)
    for r in rows:
        seen_days[r["DESYNPUF_ID"]].add(r["CLM_FROM_DT"])
    alive = [b for b in benes if not b["BENE_DEATH_DT"]]
    for _ in range(n_for("phantom")):
        b = rng.choice(alive)
        day = dt.date(2008, 1, 1) + dt.timedelta(days=rng.randrange(0, 1095))
        npi, tax = ring_pair() if rng.random() < ring_share else rng.choice(sorted(docs))
        x = blank({"DESYNPUF_ID": b["DESYNPUF_ID"], **{"ICD9_DGNS_CD_%d" % i: "" for i in range(1, 9)}})
        x["ICD9_DGNS_CD_1"] = rng.choice(ICD9)
        x["CLM_FROM_DT"] = x["CLM_THRU_DT"] = d8(day)
        h = rng.choice(["99214", "99215"])
        set_line(x, 1, npi, tax, h, FEES[h], x["ICD9_DGNS_CD_1"])
        new_rows.append(x)
        rec(x, "phantom")
    # post-death
    dead = [b for b in benes if b["BENE_DEATH_DT"]]
    for k in range(n_for("post_death") if dead else 0):
        b = dead[k % len(dead)]
        day = p8(b["BENE_DEATH_DT"]) + dt.timedelta(days=rng.randrange(3, 366))
        npi, tax = ring_pair() if rng.random() < ring_share else rng.choice(sorted(docs))
        x = blank({"DESYNPUF_ID": b["DESYNPUF_ID"], **{"ICD9_DGNS_CD_%d" % i: "" for i in range(1, 9)}})
        x["ICD9_DGNS_CD_1"] = rng.choice(ICD9)
        x["CLM_FROM_DT"] = x["CLM_THRU_DT"] = d8(day)
        h = rng.choice(["99213", "99214"])
        set_line(x, 1, npi, tax, h, FEES[h], x["ICD9_DGNS_CD_1"])
        new_rows.append(x)
        rec(x, "post_death", death_dt=b["BENE_DEATH_DT"])
    # impossible volume: one clinician, one day, 60-minute psychotherapy for > 24 h
    n = n_for("impossible_volume")
    if n:
        ndays = max(1, int(round(n / 30.0)))
        for d in range(ndays):
            k = n // ndays + (n - (n // ndays) * ndays if d == ndays - 1 else 0)
            k = max(k, 25)
            day = dt.date(2008, 1, 1) + dt.timedelta(days=rng.randrange(0, 1095))
            npi = bad_npis[d % 2]
            pool = [b for b in alive]
            rng.shuffle(pool)
            for i in range(k):
                b = pool[i % len(pool)]
                x = blank({"DESYNPUF_ID": b["DESYNPUF_ID"], **{"ICD9_DGNS_CD_%d" % j: "" for j in range(1, 9)}})
                x["ICD9_DGNS_CD_1"] = rng.choice(["30000", "311"])
                x["CLM_FROM_DT"] = x["CLM_THRU_DT"] = d8(day)
                set_line(x, 1, npi, rng.choice(ring_orgs), "90837", FEES["90837"], x["ICD9_DGNS_CD_1"])
                new_rows.append(x)
                rec(x, "impossible_volume", day=d8(day), claims_that_day=k, minutes_per_claim=60)
    out = rows + new_rows
    out.sort(key=lambda r: (r["DESYNPUF_ID"], r["CLM_FROM_DT"], r["CLM_ID"]))
    os.makedirs(out_dir, exist_ok=True)
    write(out_dir, out, benes)
    counts = collections.Counter(s for t in truth.values() for s in t["schemes"])
    res = {"format": "DE-SynPUF carrier", "seed": seed, "rates": rates, "ring_share": ring_share,
           "n_input_claims": N, "n_output_claims": len(out),
           "bad_organizations": [{"tax_num": bad_tax, "new": False}, {"tax_num": shell_tax, "new": True}],
           "bad_clinicians": [{"npi": x, "role": "rendering"} for x in bad_npis] + [{"npi": bad_ref, "role": "referring"}],
           "counts_by_scheme": dict(sorted(counts.items())), "n_truth_claims": len(truth),
           "claims": list(truth.values())}
    json.dump(res, open(os.path.join(out_dir, "truth.json"), "w"), indent=1)
    return res


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        import argparse
        ap = argparse.ArgumentParser()
        ap.add_argument("cmd")
        ap.add_argument("out_dir")
        ap.add_argument("--seed", type=int, default=7)
        ap.add_argument("--benes", type=int, default=400)
        a = ap.parse_args()
        gen(a.out_dir, a.seed, a.benes)
    else:
        print(__doc__)
