"""Simulated professional claims with fraud schemes injected at known rates (vectorised numpy).

`simulate` draws providers in specialties, patients, office visits with E&M levels
(CPT 99211–99215), ICD-10-CM diagnoses and the CPT procedures those diagnoses call for,
laboratory claims referred from office visits, and deaths. `inject` then adds each scheme to
a known share of providers (or claims) and returns the ground truth:

===================  =======  ==============================================================
scheme               level    what changes
===================  =======  ==============================================================
phantom              both     extra claims for patients the provider never saw: high E&M,
                              procedures drawn without regard to the diagnosis
upcoding             both     E&M levels shifted up by one or two
unbundling           both     a component code (NCCI column 2) billed next to its
                              comprehensive code on the same day
duplicate            both     claims re-billed, same day (exact) or the next day (near)
excessive_units      both     units above the medically unlikely limit
after_death          claim    claims dated after the patient's death
kickback             provider most patients referred to one partner laboratory
===================  =======  ==============================================================

Honest mistakes happen too: a small background rate of duplicates and unbundling is added to
all providers and labelled with the scheme (they are real improper payments).

>>> claims = simulate(SimConfig(n_providers=30, n_patients=300, seed=1))
>>> injected, truth = inject(claims, FraudConfig(seed=1))
>>> set(truth.claims["scheme"]) <= set(SCHEMES)
True
"""

from __future__ import annotations

from dataclasses import replace

from medmine.synth._claims_codes import FEES, SPECIALTIES, SPECIALTY_SHARES, Specialty
from medmine.synth._claims_sim import ClaimsData, SimConfig, simulate, to_warehouse
from medmine.synth._fraud_loaded import (
    SNOMED_MUE,
    SNOMED_UNBUNDLE,
    LoadedFraudConfig,
    inject_warehouse,
)
from medmine.synth._fraud_schemes import (
    MUE,
    SCHEMES,
    UNBUNDLE,
    FraudConfig,
    FraudTruth,
    inject,
)

__all__ = [
    "FEES",
    "MUE",
    "SCHEMES",
    "SNOMED_MUE",
    "SNOMED_UNBUNDLE",
    "SPECIALTIES",
    "SPECIALTY_SHARES",
    "UNBUNDLE",
    "ClaimsData",
    "FraudConfig",
    "FraudTruth",
    "LoadedFraudConfig",
    "SimConfig",
    "Specialty",
    "inject",
    "inject_warehouse",
    "simulate",
    "simulate_injected",
    "to_warehouse",
]


def simulate_injected(
    sim: SimConfig | None = None, fraud: FraudConfig | None = None
) -> tuple[ClaimsData, FraudTruth]:
    """`simulate` then `inject` (the fraud seed follows the simulation seed by default)."""
    sim = sim or SimConfig()
    fraud = fraud or replace(FraudConfig(), seed=sim.seed)
    return inject(simulate(sim), fraud)
