"""Synthetic data: simulated OMOP populations with known truth, for tests, demos and benchmarks.

>>> from medmine.synth import simulate
>>> simulate(50, seed=0).person.num_rows
50
"""

from medmine.synth.population import (
    LOS_COEFFICIENTS,
    READMISSION_COEFFICIENTS,
    SimulatedPopulation,
    simulate,
)

__all__ = ["LOS_COEFFICIENTS", "READMISSION_COEFFICIENTS", "SimulatedPopulation", "simulate"]
