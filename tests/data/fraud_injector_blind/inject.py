#!/usr/bin/env python3
"""Claims-fraud injector for Synthea FHIR R4 transaction Bundles (gzip JSON).

Usage:
    python3 inject.py IN_DIR OUT_DIR --seed N [--rate-SCHEME x ...] [--ring-share p]

Writes OUT_DIR/<same file names> and OUT_DIR/truth.json.  Deterministic for a seed
(all randomness comes from one random.Random(seed); files are processed in sorted order).
See README.md for the description of every scheme.
"""
import argparse
import collections
import copy
import datetime as dt
import glob
import gzip
import json
import math
import os
import random
import sys
import uuid

SCHEMES = ["post_death", "duplicate", "near_duplicate", "phantom", "upcoding",
           "unbundling", "excessive_units", "impossible_volume", "kickback_referral"]

# Fraction of the input's claim count (N).  n_events = round(rate * N) (at least 1 if rate > 0).
# unbundling: events = unbundled encounters (each yields 3-8 component claims).
# impossible_volume: number of fabricated claims, grouped into clinician-days of ~30.
DEFAULT_RATES = {
    "post_death": 0.002,
    "duplicate": 0.006,
    "near_duplicate": 0.006,
    "phantom": 0.006,
    "upcoding": 0.008,
    "unbundling": 0.002,
    "excessive_units": 0.004,
    "impossible_volume": 0.006,
    "kickback_referral": 0.008,
}
DEFAULT_RING_SHARE = 0.8
REFERENCE_DATE = dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc)

CT_ROLE_SYS = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimCareTeamRole"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ADJ = "http://terminology.hl7.org/CodeSystem/adjudication"

# Upcoding ladder: (target code, display, fee multiplier range)
UPCODE_TARGETS = [
    ("698314001", "Consultation for treatment (procedure)", (1.8, 2.4)),
    ("50849002", "Emergency room admission (procedure)", (2.5, 3.5)),
    ("32485007", "Hospital admission (procedure)", (4.0, 6.0)),
]
LOW_LEVEL_CODES = {"162673000", "185349003", "185345009", "185347001", "390906007",
                   "308335008", "424619006", "169762003", "439740005", "270427003",
                   "281036007", "185389009", "86013001", "394701000", "170838006"}
VISIT_CODES = [("185347001", "Encounter for problem (procedure)"),
               ("185345009", "Encounter for symptom (procedure)"),
               ("390906007", "Follow-up encounter (procedure)"),
               ("698314001", "Consultation for treatment (procedure)")]
# services that are normally the result of a referral (consultations, initial assessments)
REFERRAL_CODES = {"698314001", "36228007", "170837001", "424441002", "79094001", "281036007", "310061009",
                  "56876005", "448337001"}
PANEL_CODES = {"58410-2", "57698-3", "51990-0", "24323-8", "24321-2", "24357-6", "24356-8"}
SHELL_NAMES = ["BAYSIDE FAMILY WELLNESS CENTER LLC", "NORTH SHORE INTEGRATED CARE GROUP LLC",
               "COMMONWEALTH COMPREHENSIVE HEALTH SERVICES INC", "PIONEER VALLEY MEDICAL ASSOCIATES LLC"]
SHELL_ADDR = [("1250 HANCOCK STREET", "QUINCY", "021693305"), ("77 BROADWAY", "LYNN", "019042210"),
              ("410 MAIN STREET", "BROCKTON", "023014521"), ("96 ELM STREET", "SPRINGFIELD", "011032210")]


def parse_t(s):
    return dt.datetime.fromisoformat(s)


def fmt_t(t):
    return t.isoformat()


def uid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def ref_id(ref):
    return ref["reference"].split(":")[-1]


def urn(i):
    return "urn:uuid:" + i


def walk_refs(o, out):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "reference" and isinstance(v, str):
                out.add(v)
            else:
                walk_refs(v, out)
    elif isinstance(o, list):
        for v in o:
            walk_refs(v, out)


def money(v):
    return {"value": round(float(v), 2), "currency": "USD"}


class Injector:
    def __init__(self, in_dir, seed, rates, ring_share):
        self.rng = random.Random(seed)
        self.seed = seed
        self.rates = rates
        self.ring_share = ring_share
        self.files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(in_dir, "*.json.gz")))
        if not self.files:
            sys.exit("no *.json.gz in " + in_dir)
        self.bundles = {}
        for f in self.files:
            with gzip.open(os.path.join(in_dir, f), "rt") as fh:
                self.bundles[f] = json.load(fh)
        self.truth = collections.OrderedDict()  # claim id -> record
        self.log = collections.Counter()        # scheme -> claims injected/modified
        self.events = collections.Counter()
        self.insertions = collections.defaultdict(list)  # file -> [(anchor fullUrl, [entries])]
        self.index()

    # ------------------------------------------------------------------ indexing
    def index(self):
        self.registry = {}  # id -> resource (Practitioner / Organization / Location)
        self.patients = {}  # file -> dict
        self.claims = []    # records for original claims
        self.claim_by_id = {}
        self.enc_panels = {}  # encounter id -> list of (panel coding, [component codings])
        for f in self.files:
            b = self.bundles[f]
            res = {e["fullUrl"]: e["resource"] for e in b["entry"]}
            eob_by_claim = {}
            pat = None
            for e in b["entry"]:
                r = e["resource"]
                t = r["resourceType"]
                if t in ("Practitioner", "Organization", "Location"):
                    self.registry.setdefault(r["id"], r)
                elif t == "ExplanationOfBenefit":
                    eob_by_claim[r["claim"]["reference"]] = r
                elif t == "Patient":
                    pat = r
                elif t == "DiagnosticReport" and "encounter" in r:
                    cod = r["code"]["coding"][0]
                    if cod["code"] in PANEL_CODES and len(r.get("result", [])) >= 3:
                        comps, seen = [], set()
                        for rr in r["result"]:
                            o = res.get(rr["reference"])
                            if o and o.get("code", {}).get("coding"):
                                c = o["code"]["coding"][0]
                                if c["code"] not in seen:
                                    seen.add(c["code"])
                                    comps.append({"system": c.get("system", LOINC), "code": c["code"],
                                                  "display": c.get("display", c["code"])})
                        if len(comps) >= 3:
                            self.enc_panels.setdefault(ref_id(r["encounter"]), []).append((cod, comps))
            death = parse_t(pat["deceasedDateTime"]) if "deceasedDateTime" in pat else None
            P = {"file": f, "patient": pat, "birth": dt.datetime.fromisoformat(pat["birthDate"] + "T00:00:00+00:00"),
                 "death": death, "claims": [], "enc_days": set()}
            self.patients[f] = P
            for e in b["entry"]:
                r = e["resource"]
                if r["resourceType"] != "Claim":
                    continue
                enc = res.get(r["item"][0]["encounter"][0]["reference"]) if r["item"][0].get("encounter") else None
                prac = ref_id(enc["participant"][0]["individual"]) if enc and enc.get("participant") else None
                rec = {"file": f, "claim": r, "eob": eob_by_claim.get(urn(r["id"])), "enc": enc,
                       "org": ref_id(r["provider"]), "prac": prac, "date": parse_t(r["created"]),
                       "cls": enc["class"]["code"] if enc else None, "patient_file": f}
                self.claims.append(rec)
                self.claim_by_id[r["id"]] = rec
                P["claims"].append(rec)
                P["enc_days"].add(rec["date"].date())
            P["claims"].sort(key=lambda x: x["date"])
        self.N = len(self.claims)
        # patient -> usual primary-care practitioner (for baseline referrals)
        for P in self.patients.values():
            c = collections.Counter(r["prac"] for r in P["claims"]
                                    if r["prac"] and self.org_kind(r["org"]) == "primary_care")
            P["pcp"] = c.most_common(1)[0][0] if c else None

    def org_kind(self, org_id):
        o = self.registry.get(org_id)
        if not o:
            return None
        return o["identifier"][0]["value"].split("-")[0]

    def npi(self, prac_id):
        p = self.registry.get(prac_id)
        if not p:
            return None
        for i in p.get("identifier", []):
            if i.get("system") == "http://hl7.org/fhir/sid/us-npi":
                return i["value"]
        return None

    # ------------------------------------------------------------------ FHIR helpers
    @staticmethod
    def rendering_ct(prac_id, seq=1):
        return {"sequence": seq, "provider": {"reference": urn(prac_id)},
                "role": {"coding": [{"system": CT_ROLE_SYS, "code": "rendering", "display": "Rendering provider"}]}}

    @staticmethod
    def referring_ct(prac_id, seq=2):
        return {"sequence": seq, "provider": {"reference": urn(prac_id)},
                "role": {"coding": [{"system": CT_ROLE_SYS, "code": "referring", "display": "Referring"}]}}

    def set_care_team(self, rec_claim, rec_eob, prac_id, referrer=None):
        for r in (rec_claim, rec_eob):
            if r is None:
                continue
            ct = [self.rendering_ct(prac_id)] if prac_id else []
            if referrer:
                ct.append(self.referring_ct(referrer, seq=len(ct) + 1))
            if ct:
                r["careTeam"] = ct
                for it in r["item"]:
                    it["careTeamSequence"] = [c["sequence"] for c in ct]
            else:
                r.pop("careTeam", None)
                for it in r["item"]:
                    it.pop("careTeamSequence", None)

    @staticmethod
    def get_referrer(claim):
        for c in claim.get("careTeam", []):
            if c["role"]["coding"][0]["code"] == "referring":
                return ref_id(c["provider"])
        return None

    @staticmethod
    def get_rendering(claim):
        for c in claim.get("careTeam", []):
            if c["role"]["coding"][0]["code"] == "rendering":
                return ref_id(c["provider"])
        return None

    @staticmethod
    def set_amount(claim, eob, unit_price, qty=1):
        total = round(unit_price * qty, 2)
        it = claim["item"][0]
        old = it["net"]["value"] or 1.0
        it["quantity"] = {"value": qty}
        it["unitPrice"] = money(unit_price)
        it["net"] = money(total)
        claim["total"] = money(total)
        if eob is not None:
            ratio = total / old if old else 1.0
            ei = eob["item"][0]
            ei["quantity"] = {"value": qty}
            ei["unitPrice"] = money(unit_price)
            ei["net"] = money(total)
            for a in ei.get("adjudication", []):
                if "amount" in a:
                    if a["category"]["coding"][0]["code"] == "submitted":
                        a["amount"] = money(total)
                    else:
                        a["amount"] = money(a["amount"]["value"] * ratio)
            for tt in eob.get("total", []):
                if tt["category"]["coding"][0]["code"] == "submitted":
                    tt["amount"] = money(total)
                else:
                    tt["amount"] = money(tt["amount"]["value"] * ratio)

    @staticmethod
    def set_code(claim, eob, coding):
        for r in (claim, eob):
            if r is not None:
                r["item"][0]["productOrService"] = {"coding": [dict(coding)]}

    # ------------------------------------------------------------------ normalisation
    def normalise(self):
        """Make rendering clinician, quantity and unit price explicit on EVERY claim/EOB
        (so injected claims do not stand out by field presence) and add baseline referrals:
        inpatient/home-health claims at hospitals and long-term facilities get the patient's usual
        primary-care clinician as referring provider with probability 0.7; referral-type services
        (consultations, initial assessments) at primary-care clinics get, with probability 0.6, another
        clinician from the patient's own history as referrer."""
        for rec in self.claims:
            c, e = rec["claim"], rec["eob"]
            ref = None
            P = self.patients[rec["file"]]
            kind = self.org_kind(rec["org"])
            code = c["item"][0]["productOrService"]["coding"][0]["code"]
            if kind in ("hospital", "longterm") and rec["cls"] in ("IMP", "HH"):
                if P["pcp"] and P["pcp"] != rec["prac"] and self.rng.random() < 0.7:
                    ref = P["pcp"]
            elif kind == "primary_care" and code in REFERRAL_CODES and self.rng.random() < 0.6:
                others = sorted({r["prac"] for r in P["claims"] if r["prac"] and r["prac"] != rec["prac"]})
                if others:
                    ref = self.rng.choice(others)
            self.set_care_team(c, e, rec["prac"], ref)
            self.set_amount(c, e, c["item"][0]["net"]["value"], 1)

    # ------------------------------------------------------------------ ring
    def choose_ring(self):
        rng = self.rng
        cnt = collections.Counter(r["org"] for r in self.claims)
        hosp = sorted(o for o, n in cnt.items() if self.org_kind(o) == "primary_care" and n >= 300)
        if not hosp:
            hosp = sorted(cnt)
        self.bad_org = rng.choice(hosp)
        pc = collections.Counter(r["prac"] for r in self.claims if r["org"] == self.bad_org and r["prac"])
        top = [p for p, _ in sorted(pc.items(), key=lambda x: (-x[1], x[0]))][:3]
        rng.shuffle(top)
        self.bad_pracs = sorted(top[:2]) if len(top) >= 2 else top
        # referrer: a primary-care clinician with many patients
        pcc = collections.Counter(r["prac"] for r in self.claims
                                  if r["prac"] and self.org_kind(r["org"]) == "primary_care"
                                  and r["org"] != self.bad_org)
        cands = sorted(p for p, n in pcc.items() if n >= 100 and p not in self.bad_pracs) or sorted(pcc)
        self.bad_referrer = rng.choice(cands)
        # shell organisation (new resource, same identifier style as the data)
        sid = uid(rng)
        k = rng.randrange(len(SHELL_NAMES))
        line, city, zipc = SHELL_ADDR[k]
        shell = {
            "resourceType": "Organization", "id": sid, "active": True,
            "identifier": [{"system": "https://github.com/synthetichealth/synthea",
                            "value": "primary_care-%d" % rng.randrange(1000000000, 1999999999)}],
            "name": SHELL_NAMES[k],
            "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                  "code": "prov", "display": "Healthcare Provider"}]}],
            "address": [{"line": [line], "city": city, "state": "MA", "postalCode": zipc, "country": "US"}],
            "telecom": [{"system": "phone", "value": "%d" % rng.randrange(6170000000, 9789999999)}],
            "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization"]},
        }
        self.registry[sid] = shell
        self.shell_org = sid
        self.shell_roles = []
        for p in self.bad_pracs:
            rid = uid(rng)
            role = {"resourceType": "PractitionerRole", "id": rid, "active": True,
                    "practitioner": {"reference": urn(p)}, "specialty": [{"text": "General Practice"}],
                    "organization": {"reference": urn(sid)},
                    "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-practitionerrole"]}}
            self.registry[rid] = role
            self.shell_roles.append(rid)
        self.ring_orgs = [self.bad_org, self.shell_org]
        self.ring_pracs = self.bad_pracs + [self.bad_referrer]

    def ring_pick(self):
        """(org, rendering clinician) for ring-attributed new claims."""
        org = self.shell_org if self.rng.random() < 0.6 else self.bad_org
        return org, self.rng.choice(self.bad_pracs)

    # ------------------------------------------------------------------ bookkeeping
    def add_entries(self, f, anchor_id, resources):
        ents = [{"fullUrl": urn(r["id"]), "resource": r,
                 "request": {"method": "POST", "url": r["resourceType"]}} for r in resources]
        self.insertions[f].append((urn(anchor_id) if anchor_id else None, ents))

    def anchor_for(self, P, t):
        """EOB id of the patient's last original claim at or before t (chronological placement)."""
        best = None
        for r in P["claims"]:
            if r["date"] <= t:
                best = r
        best = best or P["claims"][0]
        return best["eob"]["id"] if best["eob"] else best["claim"]["id"]

    def record(self, claim, eob, f, scheme, **extra):
        cid = claim["id"]
        org = ref_id(claim["provider"])
        prac = self.get_rendering(claim)
        refr = self.get_referrer(claim)
        t = self.truth.get(cid)
        if t is None:
            t = {"claim_id": cid, "eob_id": eob["id"] if eob else None, "file": f, "schemes": [],
                 "patient_id": ref_id(claim["patient"])}
            self.truth[cid] = t
        if scheme not in t["schemes"]:
            t["schemes"].append(scheme)
            self.log[scheme] += 1
        t.update({
            "organization_id": org, "clinician_id": prac, "clinician_npi": self.npi(prac),
            "referring_id": refr, "referring_npi": self.npi(refr) if refr else None,
            "service_date": claim["created"][:10],
            "amount": claim["total"]["value"],
            "ring_org": org in self.ring_orgs,
            "ring_clinician": (prac in self.ring_pracs) or (refr == self.bad_referrer),
        })
        for k, v in extra.items():
            t.setdefault("detail", {}).setdefault(scheme, {})[k] = v

    def new_pair(self, tmpl, when, org, prac, coding=None, unit=None, enc_id=None, referrer=None):
        c = copy.deepcopy(tmpl["claim"])
        e = copy.deepcopy(tmpl["eob"])
        c["id"] = uid(self.rng)
        e["id"] = uid(self.rng)
        e["claim"] = {"reference": urn(c["id"])}
        for r in (c, e):
            r["created"] = fmt_t(when)
            r["provider"] = {"reference": urn(org)}
            if enc_id is None:
                r["item"][0].pop("encounter", None)
            else:
                r["item"][0]["encounter"] = [{"reference": urn(enc_id)}]
        if "encounter" in e["item"][0]:
            e["item"][0].pop("encounter")  # EOB items in this data carry no encounter
        if enc_id is not None and "encounter" not in tmpl["eob"]["item"][0]:
            pass
        if coding:
            self.set_code(c, e, coding)
        self.set_care_team(c, e, prac, referrer)
        self.set_amount(c, e, unit if unit is not None else c["item"][0]["unitPrice"]["value"], 1)
        return c, e

    def new_encounter(self, tmpl_enc, patient, start, minutes, org, prac, coding, cls="AMB"):
        enc = copy.deepcopy(tmpl_enc) if tmpl_enc else {"resourceType": "Encounter", "status": "finished"}
        enc["id"] = uid(self.rng)
        enc["status"] = "finished"
        enc["class"] = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": cls,
                        "display": {"AMB": "ambulatory", "HH": "home health"}.get(cls, cls)}
        enc["type"] = [{"coding": [dict(coding)]}]
        enc["subject"] = {"reference": urn(patient["id"]),
                          "display": " ".join(patient["name"][0].get("given", []) + [patient["name"][0].get("family", "")])}
        enc["period"] = {"start": fmt_t(start), "end": fmt_t(start + dt.timedelta(minutes=minutes))}
        enc["serviceProvider"] = {"reference": urn(org)}
        enc["participant"] = [{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                                     "code": "PPRF", "display": "primary performer"}]}],
                               "individual": {"reference": urn(prac)}}]
        enc.pop("location", None)
        enc.pop("hospitalization", None)
        enc.pop("reasonCode", None)
        enc.setdefault("meta", {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter"]})
        return enc

    def n_for(self, scheme):
        r = self.rates.get(scheme, 0.0)
        return 0 if r <= 0 else max(1, int(round(r * self.N)))

    def pick_existing(self, n, used, ok):
        """Pick n distinct original claims: with prob ring_share from the ring pool (claims billed by the
        bad organisation or rendered by a bad clinician), otherwise from everybody else."""
        ring = [r for r in self.claims if ok(r) and r["claim"]["id"] not in used
                and (r["org"] in self.ring_orgs or r["prac"] in self.bad_pracs)]
        other = [r for r in self.claims if ok(r) and r["claim"]["id"] not in used
                 and not (r["org"] in self.ring_orgs or r["prac"] in self.bad_pracs)]
        self.rng.shuffle(ring)
        self.rng.shuffle(other)
        out = []
        for _ in range(n):
            src = ring if (self.rng.random() < self.ring_share and ring) else (other or ring)
            if not src:
                break
            r = src.pop()
            used.add(r["claim"]["id"])
            out.append(r)
        return out

    def rand_time(self, day):
        return dt.datetime(day.year, day.month, day.day, self.rng.randrange(7, 19), self.rng.randrange(60),
                           self.rng.randrange(60), self.rng.randrange(1000000), tzinfo=dt.timezone.utc)

    # ------------------------------------------------------------------ schemes
    def inj_post_death(self):
        n = self.n_for("post_death")
        dec = [P for f, P in sorted(self.patients.items()) if P["death"] and P["claims"]]
        if not dec:
            return
        self.rng.shuffle(dec)
        for i in range(n):
            P = dec[i % len(dec)]
            day = (P["death"] + dt.timedelta(days=self.rng.randrange(3, 366))).date()
            when = self.rand_time(day)
            tmpl = P["claims"][-1]
            if self.rng.random() < self.ring_share:
                org, prac = self.ring_pick()
            else:
                org, prac = tmpl["org"], tmpl["prac"] or self.rng.choice(self.bad_pracs)
            coding = self.rng.choice([("439708006", "Home visit (procedure)"),
                                      ("210098006", "Domiciliary or rest home patient evaluation and management (procedure)")]
                                     + VISIT_CODES[:3])
            coding = {"system": SCT, "code": coding[0], "display": coding[1]}
            enc = self.new_encounter(tmpl["enc"], P["patient"], when, self.rng.choice([30, 40, 60]), org, prac,
                                     coding, cls="HH" if coding["code"] in ("439708006", "210098006") else "AMB")
            c, e = self.new_pair(tmpl, when, org, prac, coding, None, enc["id"])
            self.add_entries(P["file"], self.anchor_for(P, when), [enc, c, e])
            self.record(c, e, P["file"], "post_death", death_date=P["patient"]["deceasedDateTime"][:10],
                        days_after_death=(day - P["death"].date()).days, fabricated_encounter_id=enc["id"])
            self.events["post_death"] += 1

    def inj_duplicates(self):
        n = self.n_for("duplicate")
        for r in self.pick_existing(n, set(), lambda r: r["eob"] is not None):
            c = copy.deepcopy(r["claim"])
            e = copy.deepcopy(r["eob"])
            c["id"] = uid(self.rng)
            e["id"] = uid(self.rng)
            e["claim"] = {"reference": urn(c["id"])}
            self.add_entries(r["file"], r["eob"]["id"], [c, e])
            self.record(c, e, r["file"], "duplicate", original_claim_id=r["claim"]["id"])
            self.events["duplicate"] += 1

    def inj_near_duplicates(self):
        n = self.n_for("near_duplicate")
        for r in self.pick_existing(n, set(), lambda r: r["eob"] is not None):
            c = copy.deepcopy(r["claim"])
            e = copy.deepcopy(r["eob"])
            c["id"] = uid(self.rng)
            e["id"] = uid(self.rng)
            e["claim"] = {"reference": urn(c["id"])}
            mode = self.rng.choice(["date", "amount", "both"])
            shift = 0
            if mode in ("date", "both"):
                shift = self.rng.choice([-3, -2, -1, 1, 2, 3, 4])
                when = r["date"] + dt.timedelta(days=shift, minutes=self.rng.randrange(-90, 90))
                c["created"] = e["created"] = fmt_t(when)
            if mode in ("amount", "both"):
                f = 1 + self.rng.choice([-1, 1]) * self.rng.uniform(0.02, 0.12)
                self.set_amount(c, e, round(c["item"][0]["unitPrice"]["value"] * f, 2), 1)
            self.add_entries(r["file"], r["eob"]["id"], [c, e])
            self.record(c, e, r["file"], "near_duplicate", original_claim_id=r["claim"]["id"], mode=mode,
                        day_shift=shift)
            self.events["near_duplicate"] += 1

    def inj_phantom(self):
        n = self.n_for("phantom")
        pats = [P for f, P in sorted(self.patients.items()) if P["claims"]]
        pairs = sorted({(r["org"], r["prac"]) for r in self.claims if r["prac"]})
        for _ in range(n):
            P = self.rng.choice(pats)
            lo = P["claims"][0]["date"]
            hi = min(P["death"] or REFERENCE_DATE, REFERENCE_DATE, P["claims"][-1]["date"] + dt.timedelta(days=365))
            for _try in range(50):
                day = (lo + dt.timedelta(seconds=self.rng.uniform(0, max(1, (hi - lo).total_seconds())))).date()
                if day not in P["enc_days"]:
                    break
            when = self.rand_time(day)
            if when >= hi:
                when = hi - dt.timedelta(days=1)
            tmpl = min(P["claims"], key=lambda r: abs((r["date"] - when).total_seconds()))
            if self.rng.random() < self.ring_share:
                org, prac = self.ring_pick()
            else:
                org, prac = self.rng.choice(pairs)
            code, disp = self.rng.choice(VISIT_CODES)
            c, e = self.new_pair(tmpl, when, org, prac, {"system": SCT, "code": code, "display": disp}, None, None)
            self.add_entries(P["file"], self.anchor_for(P, when), [c, e])
            P["enc_days"].add(day)
            self.record(c, e, P["file"], "phantom", note="no Encounter; no clinical record on that day")
            self.events["phantom"] += 1

    def inj_upcoding(self, used):
        n = self.n_for("upcoding")
        for r in self.pick_existing(n, used, lambda r: r["eob"] is not None and r["cls"] == "AMB"):
            c, e = r["claim"], r["eob"]
            old_code = c["item"][0]["productOrService"]["coding"][0]["code"]
            old_amt = c["total"]["value"]
            if old_code in LOW_LEVEL_CODES and self.rng.random() < 0.6:
                code, disp, (a, b) = self.rng.choice(UPCODE_TARGETS)
                self.set_code(c, e, {"system": SCT, "code": code, "display": disp})
                self.set_amount(c, e, round(old_amt * self.rng.uniform(a, b), 2), 1)
                mode = "upcode"
            else:
                self.set_amount(c, e, round(old_amt * self.rng.uniform(1.8, 4.0), 2), 1)
                mode = "upcharge"
            self.record(c, e, r["file"], "upcoding", mode=mode, original_code=old_code,
                        original_amount=old_amt, encounter_type_unchanged=True)
            self.events["upcoding"] += 1

    def inj_excessive_units(self, used):
        n = self.n_for("excessive_units")
        for r in self.pick_existing(n, used, lambda r: r["eob"] is not None and r["cls"] in ("AMB", "HH")):
            c, e = r["claim"], r["eob"]
            q = self.rng.randrange(6, 25)
            self.set_amount(c, e, c["item"][0]["unitPrice"]["value"], q)
            self.record(c, e, r["file"], "excessive_units", units=q)
            self.events["excessive_units"] += 1

    def inj_unbundling(self):
        n = self.n_for("unbundling")
        used = set()
        cands = [r for r in self.claims if r["enc"] and r["enc"]["id"] in self.enc_panels and r["eob"] is not None]
        chosen = self.pick_existing(n, used, lambda r: r["enc"] is not None and r["enc"]["id"] in self.enc_panels
                                    and r["eob"] is not None)
        del cands
        for r in chosen:
            panel, comps = self.rng.choice(self.enc_panels[r["enc"]["id"]])
            comps = comps[:8]
            P = self.patients[r["file"]]
            new = []
            for k, comp in enumerate(comps):
                when = r["date"] + dt.timedelta(minutes=5 * (k + 1))
                c, e = self.new_pair(r, when, r["org"], r["prac"] or self.bad_pracs[0],
                                     {"system": comp["system"], "code": comp["code"], "display": comp["display"]},
                                     round(self.rng.uniform(9, 28), 2), r["enc"]["id"],
                                     referrer=self.get_referrer(r["claim"]))
                new += [c, e]
                self.record(c, e, r["file"], "unbundling", panel_code=panel["code"], panel_display=panel["display"],
                            bundle_claim_id=r["claim"]["id"], n_components=len(comps))
            self.add_entries(r["file"], r["eob"]["id"], new)
            self.events["unbundling"] += 1

    def inj_impossible_volume(self):
        n = self.n_for("impossible_volume")
        if n == 0:
            return
        days = max(1, int(round(n / 30.0)))
        sizes = [n // days] * days
        sizes[-1] += n - sum(sizes)
        for d, k in enumerate(sizes):
            prac = self.bad_pracs[d % len(self.bad_pracs)]
            for _try in range(200):
                day = dt.date(2019, 1, 1) + dt.timedelta(days=self.rng.randrange(0, 2700))
                t0 = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
                alive = [P for f, P in sorted(self.patients.items()) if P["claims"] and P["birth"] < t0
                         and (P["death"] is None or P["death"] > t0 + dt.timedelta(days=1))
                         and P["claims"][0]["date"] < t0]
                if day.weekday() < 5 and len(alive) >= max(10, k // 2):
                    break
            self.rng.shuffle(alive)
            minutes = max(45, int(math.ceil(1440 * self.rng.uniform(1.15, 1.5) / k)))
            org = self.rng.choice(self.ring_orgs)
            total_min = 0
            for i in range(k):
                P = alive[i % len(alive)]
                start = t0 + dt.timedelta(minutes=self.rng.randrange(6 * 60, 21 * 60), seconds=self.rng.randrange(60),
                                          microseconds=self.rng.randrange(1000000))
                code, disp = self.rng.choice(VISIT_CODES)
                coding = {"system": SCT, "code": code, "display": disp}
                tmpl = min(P["claims"], key=lambda r: abs((r["date"] - start).total_seconds()))
                enc = self.new_encounter(tmpl["enc"], P["patient"], start, minutes, org, prac, coding)
                c, e = self.new_pair(tmpl, start, org, prac, coding, None, enc["id"])
                self.add_entries(P["file"], self.anchor_for(P, start), [enc, c, e])
                total_min += minutes
                self.record(c, e, P["file"], "impossible_volume", clinician_day=str(day),
                            minutes=minutes, fabricated_encounter_id=enc["id"])
            for t in self.truth.values():
                dd = t.get("detail", {}).get("impossible_volume")
                if dd and dd["clinician_day"] == str(day) and t["clinician_id"] == prac:
                    dd["day_total_hours"] = round(total_min / 60.0, 2)
                    dd["day_claims"] = k
            self.events["impossible_volume"] += 1

    def inj_kickback(self):
        n = self.n_for("kickback_referral")
        # the referrer "sends" (appears as referring clinician on) the bad organisation's visits, spread
        # over as many of its patients as possible: latest visits first, round-robin over patients
        byp = collections.defaultdict(list)
        for r in sorted(self.claims, key=lambda r: r["date"], reverse=True):
            if r["org"] == self.bad_org and r["cls"] != "EMER" and r["prac"] != self.bad_referrer:
                byp[r["file"]].append(r)
        # claims that already carry a (legitimate) referrer are taken over first, so that the bad referrer
        # ends up on almost all referred visits of the organisation
        order = [r for k in sorted(byp) for r in byp[k] if self.get_referrer(r["claim"])]
        order.sort(key=lambda r: r["date"], reverse=True)
        taken = {r["claim"]["id"] for r in order}
        queues = [[r for r in byp[k] if r["claim"]["id"] not in taken] for k in sorted(byp)]
        self.rng.shuffle(queues)
        while any(queues):
            for q in queues:
                if q:
                    order.append(q.pop(0))
        done = 0
        for r in order:
            if done >= n:
                break
            if self.rng.random() < 0.95:
                self.set_care_team(r["claim"], r["eob"], self.get_rendering(r["claim"]), self.bad_referrer)
                self.record(r["claim"], r["eob"], r["file"], "kickback_referral")
                done += 1

    def inj_kickback_new(self):
        # copies (duplicates, unbundled components) of kickback claims carry the bad referrer too; other
        # ring-generated new claims at the bad organisation are "referred" by the bad referrer half the time
        for cid, t in list(self.truth.items()):
            if t["organization_id"] != self.bad_org or "kickback_referral" in t["schemes"]:
                continue
            c, e = self.find_new(t["file"], cid)
            if c is None:
                continue
            if self.get_referrer(c) == self.bad_referrer:
                self.record(c, e, t["file"], "kickback_referral")
            elif not set(t["schemes"]) & {"duplicate", "near_duplicate", "unbundling"}:
                if self.rng.random() < 0.5:
                    self.set_care_team(c, e, self.get_rendering(c), self.bad_referrer)
                    self.record(c, e, t["file"], "kickback_referral")
        self.events["kickback_referral"] = self.log["kickback_referral"]

    def find_new(self, f, cid):
        c = e = None
        for _, ents in self.insertions[f]:
            for en in ents:
                r = en["resource"]
                if r["resourceType"] == "Claim" and r["id"] == cid:
                    c = r
                elif r["resourceType"] == "ExplanationOfBenefit" and r["claim"]["reference"] == urn(cid):
                    e = r
        return c, e

    # ------------------------------------------------------------------ output
    def finalize(self, out_dir):
        os.makedirs(out_dir, exist_ok=True)
        for f in self.files:
            b = self.bundles[f]
            ins = self.insertions.get(f, [])
            if ins:
                by_anchor = collections.defaultdict(list)
                for a, ents in ins:
                    by_anchor[a].extend(ents)
                new = []
                for e in b["entry"]:
                    new.append(e)
                    if e["fullUrl"] in by_anchor:
                        new.extend(by_anchor.pop(e["fullUrl"]))
                for ents in by_anchor.values():
                    new.extend(ents)
                b["entry"] = new
            # add Practitioner/Organization/PractitionerRole copies needed to resolve references
            for _ in range(2):
                have = {e["fullUrl"] for e in b["entry"]}
                refs = set()
                walk_refs(b, refs)
                missing = sorted(r for r in refs if r not in have)
                if self.shell_org and urn(self.shell_org) in refs:
                    missing += [urn(x) for x in self.shell_roles if urn(x) not in have]
                add = []
                for m in missing:
                    rid = m.split(":")[-1]
                    if rid in self.registry:
                        add.append({"fullUrl": m, "resource": copy.deepcopy(self.registry[rid]),
                                    "request": {"method": "POST", "url": self.registry[rid]["resourceType"]}})
                    else:
                        raise RuntimeError("dangling reference %s in %s" % (m, f))
                if not add:
                    break
                # place after the last Practitioner/Organization entry
                pos = max([i for i, e in enumerate(b["entry"])
                           if e["resource"]["resourceType"] in ("Practitioner", "Organization", "PractitionerRole")] or [0])
                b["entry"][pos + 1:pos + 1] = add
            data = json.dumps(b, separators=(",", ":")).encode("utf-8")
            with open(os.path.join(out_dir, f), "wb") as raw:  # mtime=0 -> byte-identical reruns
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as fh:
                    fh.write(data)
        counts = collections.Counter()
        for t in self.truth.values():
            for s in t["schemes"]:
                counts[s] += 1

        def prac_info(p, role):
            r = self.registry[p]
            return {"id": p, "npi": self.npi(p), "role": role,
                    "name": " ".join(r["name"][0].get("given", []) + [r["name"][0].get("family", "")])}

        truth = {
            "seed": self.seed,
            "rates": self.rates,
            "ring_share": self.ring_share,
            "n_input_claims": self.N,
            "n_output_claims": self.N + sum(1 for t in self.truth.values()
                                            if not set(t["schemes"]) <= {"upcoding", "excessive_units", "kickback_referral"}),
            "bad_organizations": [
                {"id": self.bad_org, "name": self.registry[self.bad_org]["name"],
                 "identifier": self.registry[self.bad_org]["identifier"][0]["value"], "npi": None, "new": False,
                 "role": "billing provider (clinic): kickback recipient; upcoding, units, duplicates, phantom"},
                {"id": self.shell_org, "name": self.registry[self.shell_org]["name"],
                 "identifier": self.registry[self.shell_org]["identifier"][0]["value"], "npi": None, "new": True,
                 "role": "shell clinic: phantom, post-death and impossible-volume billing"}],
            "bad_clinicians": [prac_info(p, "rendering") for p in self.bad_pracs]
                              + [prac_info(self.bad_referrer, "referring (kickback source)")],
            "counts_by_scheme": dict(sorted(counts.items())),
            "events_by_scheme": dict(sorted(self.events.items())),
            "n_truth_claims": len(self.truth),
            "n_ring_claims": sum(1 for t in self.truth.values() if t["ring_org"] or t["ring_clinician"]),
            "normalisation": "All claims/EOBs got careTeam (rendering = Encounter primary performer; referring = "
                             "patient's usual PCP on ~70% of inpatient/home-health hospital claims, another clinician of the "
                             "patient's history on ~60% of consultation-type clinic claims), item.quantity=1, "
                             "item.unitPrice; these are not fraud and are not listed in claims.",
            "claims": list(self.truth.values()),
        }
        with open(os.path.join(out_dir, "truth.json"), "w") as fh:
            json.dump(truth, fh, indent=1)
        return truth

    def run(self, out_dir):
        self.normalise()
        self.choose_ring()
        mod_used = set()
        # order matters only for determinism
        self.inj_upcoding(mod_used)
        self.inj_excessive_units(mod_used)
        self.inj_kickback()
        self.inj_duplicates()
        self.inj_near_duplicates()
        self.inj_phantom()
        self.inj_post_death()
        self.inj_unbundling()
        self.inj_impossible_volume()
        self.inj_kickback_new()
        return self.finalize(out_dir)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("in_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--format", choices=["fhir", "synpuf"], default="fhir",
                    help="fhir: Synthea FHIR bundles (*.json.gz); synpuf: DE-SynPUF carrier CSV (see synpuf.py)")
    ap.add_argument("--ring-share", type=float, default=DEFAULT_RING_SHARE,
                    help="probability an injected claim is attributed to the fraud ring (default %(default)s)")
    for s in SCHEMES:
        ap.add_argument("--rate-" + s.replace("_", "-"), type=float, default=DEFAULT_RATES[s], dest="rate_" + s,
                        help="default %(default)s (fraction of input claims)")
    a = ap.parse_args(argv)
    rates = {s: getattr(a, "rate_" + s) for s in SCHEMES}
    if a.format == "synpuf":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import synpuf
        truth = synpuf.inject(a.in_dir, a.out_dir, a.seed, rates, a.ring_share)
        print(json.dumps({"seed": a.seed, "counts_by_scheme": truth["counts_by_scheme"],
                          "n_truth_claims": truth["n_truth_claims"]}))
        return
    inj = Injector(a.in_dir, a.seed, rates, a.ring_share)
    truth = inj.run(a.out_dir)
    print(json.dumps({"seed": a.seed, "counts_by_scheme": truth["counts_by_scheme"],
                      "n_truth_claims": truth["n_truth_claims"], "n_ring_claims": truth["n_ring_claims"]}))


if __name__ == "__main__":
    main()
