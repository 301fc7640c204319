"""Claims fraud schemes: each detector catches the claim planted for it on claims built here,
nothing else; the three worklists carry source ids, reasons and evidence on sane scales."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from medmine.studies import claims_fraud as cf
from medmine.studies._claims_schemes import robust_z, scheme_hits
from medmine.studies._claims_types import FraudStudyConfig

D = dt.date(2024, 1, 1)
ORGS = {"A": 100, "B": 200, "C": 300, "D": 400}
# provider id -> NPI; home organisation is where it renders
CLIN = {1: "1000000001", 2: "1000000002", 3: "1000000003", 4: "1000000004", 5: "1000000005"}
HOME = {1: "A", 2: "A", 3: "B", 4: "C", 5: "D"}


class Builder:
    def __init__(self, wh):
        self.wh = wh
        self.claims: list[tuple] = []
        self.visits: list[tuple] = []
        self.n = 0

    def visit(self, person, day, minutes=20, kind="AMB", clin=1):
        vid = 10_000 + len(self.visits)
        start = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(minutes=len(self.visits) % 600)
        concept = {"AMB": 9202, "IMP": 9201}[kind]
        end = start + dt.timedelta(minutes=minutes)
        self.visits.append(
            (vid, person, concept, day, start, end.date(), end, clin, f"ActCode:{kind}")
        )
        return vid

    def claim(self, person, org, clin, day, code="99213", amount=100.0, units=1.0, visit=True,
              ref=None, vocab="CPT4", name=None, minutes=20, kind="AMB"):  # fmt: skip
        self.n += 1
        cid = self.n
        vid = self.visit(person, day, minutes, kind, clin) if visit is True else visit
        src = name or f"c{cid}"
        self.claims.append((cid, person, org, clin, ref, vid, day, code, vocab, units, amount, src))
        return src

    def write(self):
        con = self.wh.con
        persons = sorted({c[1] for c in self.claims})
        con.executemany(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
            "ethnicity_concept_id) VALUES (?, 8507, 1970, 0, 0)",
            [(p,) for p in persons],
        )
        con.executemany(
            "INSERT INTO care_site (care_site_id, care_site_name, care_site_source_value) "
            "VALUES (?, ?, ?)",
            [(v, f"Clinic {k}", f"Organization/org{k}") for k, v in ORGS.items()],
        )
        con.executemany(
            "INSERT INTO provider (provider_id, npi, provider_source_value) VALUES (?, ?, ?)",
            [(p, npi, f"Practitioner/p{p}") for p, npi in CLIN.items()],
        )
        con.executemany(
            "INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id, "
            "visit_start_date, visit_start_datetime, visit_end_date, visit_end_datetime, "
            "visit_type_concept_id, provider_id, visit_source_value) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 32817, ?, ?)",
            self.visits,
        )
        for cid, person, org, clin, ref, vid, day, code, vocab, units, amount, src in self.claims:
            con.execute(
                "INSERT INTO mm_claim (claim_id, person_id, claim_source_value, claim_start_date, "
                "billing_care_site_id, billing_source_value, rendering_provider_id, "
                "referring_provider_id, visit_occurrence_id, total_billed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [cid, person, f"Claim/{src}", day, ORGS[org], f"org{org}", clin, ref, vid, amount],
            )
            con.execute(
                "INSERT INTO mm_claim_line (claim_line_id, claim_id, line_number, person_id, "
                "service_date, procedure_vocabulary_id, procedure_code, units, billed_amount) "
                "VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)",
                [cid * 10, cid, person, day, vocab, code, units, amount],
            )
            con.execute(
                "INSERT INTO mm_source_record (table_name, row_id, load_id, source_file, location) "
                "VALUES ('mm_claim', ?, 'l1', 'f.json', ?)",
                [cid, f"entry[{cid}]"],
            )


@pytest.fixture
def planted(wh):
    b = Builder(wh)
    # 80 clean claims: one per person and fortnight, each with its own encounter
    for i in range(80):
        org = "ACDA"[i % 4]
        clin = {"A": 1 + i % 2, "C": 4, "D": 5}[org]
        ref = None  # referrals spread over several referrers at every organisation
        if org in "CD" and i % 2 == 0:
            ref = [2, 4, 5][i % 3]
        elif i % 5 == 0:
            ref = [3, 4, 5, 2][i // 10 % 4]
        b.claim(1 + i % 40, org, clin, D + dt.timedelta(days=14 * (i // 40) + i % 40 // 8 * 30),
                ref=ref)  # fmt: skip
    expected = {}
    day = D + dt.timedelta(days=300)
    original = b.claim(41, "A", 1, day, amount=100.0)
    expected[b.claim(41, "A", 1, day, amount=100.0, visit=b.claims[-1][5])] = "exact_duplicate"
    b.claim(42, "A", 1, day)
    expected[b.claim(42, "A", 1, day + dt.timedelta(days=2), amount=106.0)] = "near_duplicate"
    expected[b.claim(43, "A", 2, day, visit=None)] = "phantom"
    expected[b.claim(44, "A", 2, day, amount=300.0)] = "upcoding"
    expected[b.claim(45, "A", 2, day, amount=800.0, units=8.0)] = "excessive_units"
    expected[b.claim(46, "A", 1, day, kind="IMP", minutes=30)] = "code_mismatch"
    for p in (47, 48):  # the same three components on separate claims, two person-days
        for code in ("L1", "L2", "L3"):
            expected[b.claim(p, "C", 4, day, code=code, amount=10.0, vocab="LOINC")] = "unbundling"
    for p in range(50, 80):  # 30 one-hour encounters by clinician 5 on one day
        expected[b.claim(p, "D", 5, day + dt.timedelta(days=5), minutes=60)] = "impossible_volume"
    for p in range(80, 88):  # organisation B: nearly every referral from clinician 1 of A
        expected[b.claim(p, "B", 3, day, ref=1)] = "kickback_referral"
    b.claim(88, "B", 3, day, ref=2)
    expected[b.claim(89, "A", 1, D + dt.timedelta(days=400))] = "post_death"
    b.write()
    wh.con.execute(
        "INSERT INTO death (person_id, death_date) VALUES (89, ?)", [D + dt.timedelta(days=399)]
    )
    del original
    return wh, expected


def _hits(wh, **tables):
    c = cf.claim_frame(wh)
    lines = cf.line_frame(wh)
    hits, conc = scheme_hits(wh, c, lines, tables)
    return hits.merge(c[["claim_id", "source_id"]], on="claim_id"), conc


def test_each_scheme_catches_its_planted_claims_and_no_clean_claim(planted):
    wh, expected = planted
    hits, conc = _hits(wh)
    got = hits.groupby("source_id")["scheme"].agg(set)
    for src, scheme in expected.items():
        assert scheme in got.get(src, set()), (src, scheme, got.get(src))
    clean = set(got.index) - set(expected)
    assert clean == set(), hits[hits["source_id"].isin(clean)][["source_id", "scheme", "reason"]]
    assert set(SCHEMES := hits["scheme"]) >= set(expected.values())
    assert len(SCHEMES) > 0
    # the later copy is flagged, and names the original as evidence
    dup = hits[hits["scheme"] == "exact_duplicate"].iloc[0]
    assert dup["evidence"] == "c81" and dup["source_id"] == "c82"
    assert conc["organisation_id"].tolist() == ["orgB"] and conc["referrer_id"].tolist() == [
        "1000000001"
    ]


def test_reasons_are_plain_words_with_sane_numbers(planted):
    wh, _ = planted
    hits, _ = _hits(wh)
    r = hits.set_index("source_id")["reason"]
    up = hits[hits["scheme"] == "upcoding"].iloc[0]["reason"]
    assert "3.0x the median 100.0 of code 99213" in up
    z = float(up.split("robust z ")[1].rstrip(")"))
    assert 5 < z <= 50  # the MAD floor keeps a constant price from giving z in the thousands
    assert (
        "8.0 units of 99213 on one claim (limit 2.0"
        in hits[hits["scheme"] == "excessive_units"].iloc[0]["reason"]
    )
    iv = hits[hits["scheme"] == "impossible_volume"].iloc[0]["reason"]
    assert "clinician 1000000005 billed 30.0 hours" in iv
    assert (
        "days after the recorded death"
        in r[hits[hits["scheme"] == "post_death"]["source_id"].iloc[0]]
    )


def test_robust_z_floor_on_a_constant_price():
    v = pd.Series([125.0] * 99 + [250.0])
    z, med = robust_z(v, pd.Series(["x"] * 100))
    assert med.iloc[0] == 125.0 and z.iloc[:99].eq(0).all()
    assert z.iloc[-1] == pytest.approx(125 / (1.4826 * 12.5))


def test_worklists_carry_source_ids_reasons_and_evidence(planted):
    wh, expected = planted
    edits = pd.DataFrame(
        columns=["edit", "claim_line_id", "claim_id", "provider_id", "evidence_line_id", "detail"]
    )
    w = cf.worklists(wh, FraudStudyConfig(), edits)
    claims = w["claims_ranked"]
    assert claims["claim_id"].str.match(r"^c\d+$").all()  # source ids, never the warehouse's
    top = set(claims.head(len(expected))["claim_id"])
    assert len(top & set(expected)) >= len(expected) - 2
    assert claims["score"].max() <= 15 and claims["score"].min() >= 0
    clin = w["clinicians_ranked"].set_index("clinician_id")
    # the impossible day's clinician and the concentrated referrer lead the list
    assert set(clin.index[:2]) == {"1000000005", "1000000001"}
    assert (
        "sends 89% of the 9 referred claims of organisation orgB"
        in clin.loc["1000000001", "reasons"]
    )
    org = w["organisations_ranked"]
    assert set(org.head(3)["organisation_id"]) >= {"orgB", "orgD"}
    assert org.loc[org["organisation_id"] == "orgB", "organisation_name"].item() == "Clinic B"
    b = org.set_index("organisation_id").loc["orgB"]
    assert "come from one referrer, 1000000001" in b["reasons"] and "c" in b["evidence_claim_ids"]


def test_user_edit_tables_in_cms_layouts(planted, tmp_path):
    wh, _ = planted
    ptp = tmp_path / "ptp.csv"
    ptp.write_text(
        "Column 1,Column 2,* =In existence prior to 1996,Effective Date,Deletion Date,Modifier\n"
        "L1,L2,,20240101,*,0\nL1,L3,,20200101,20210101,0\n"
    )
    mue = tmp_path / "mue.csv"
    mue.write_text(
        "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator\n99213,1,2\n"
    )
    tab = cf.read_ptp(ptp).assign(vocabulary_id="LOINC")
    assert tab[["column1_code", "column2_code"]].values.tolist() == [
        ["L1", "L2"]
    ]  # deleted pair dropped
    assert cf.read_mue(mue)["max_units_per_day"].tolist() == [1]
    hits, _ = _hits(wh, ncci=tab)
    edit = hits[hits["reason"].str.contains("edit table")]
    assert len(edit) == 2 and edit["reason"].str.startswith("L2 billed on the day of L1").all()
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="Column 1"):
        cf.read_ptp(bad)
    with pytest.raises(ValueError, match="MUE values"):
        cf.read_mue(bad)


def test_near_duplicate_of_a_claim_without_encounter(wh):
    """A missing encounter on one of the pair never matches (nullable ids compare to NA)."""
    b = Builder(wh)
    first = b.claim(1, "A", 1, D, visit=None)
    second = b.claim(1, "A", 1, D + dt.timedelta(days=2))
    b.claim(2, "A", 1, D, visit=None)
    b.write()
    hits, _ = _hits(wh)
    near = hits[hits["scheme"] == "near_duplicate"]
    assert near[["source_id", "evidence"]].values.tolist() == [[second, first]]


def test_source_claim_ids_in_sql_match_the_python_rule(wh):
    from medmine.studies._claims_schemes import source_claim_id

    values = ["Claim/abc", "fhir:Claim/x-1", "carrier:123", "inpatient:9:1", "plain-id", None]
    wh.con.execute(
        "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
        "ethnicity_concept_id) VALUES (1, 8507, 1970, 0, 0)"
    )
    for i, v in enumerate(values, start=1):
        wh.con.execute(
            "INSERT INTO mm_claim (claim_id, person_id, claim_source_value, claim_start_date) "
            "VALUES (?, 1, ?, DATE '2024-01-01')",
            [i, v],
        )
    got = cf.claim_frame(wh).sort_values("claim_id")["source_id"].tolist()
    want = source_claim_id(pd.Series(values)).tolist()
    assert got == [*want[:-1], "mm:6"] == ["abc", "x-1", "123", "9:1", "plain-id", "mm:6"]


def test_large_lists_use_compact_text_columns_with_the_same_content(planted, monkeypatch):
    from medmine.studies import _claims_worklists

    wh, _ = planted
    edits = pd.DataFrame(
        columns=["edit", "claim_line_id", "claim_id", "provider_id", "evidence_line_id", "detail"]
    )
    small = cf.worklists(wh, FraudStudyConfig(), edits)["claims_ranked"]
    monkeypatch.setattr(_claims_worklists, "COMPACT_FROM", 1)
    big = cf.worklists(wh, FraudStudyConfig(), edits)["claims_ranked"]
    text = ["claim_id", "claim_source", "organisation_id", "clinician_id", "reasons", "schemes"]
    assert not any(big[c].dtype == object for c in text)  # Arrow-backed, not Python objects
    assert big["claim_id"].tolist() == small["claim_id"].tolist()
    assert big["reasons"].tolist() == small["reasons"].tolist()
    assert big["score"].astype(float).tolist() == small["score"].astype(float).tolist()
