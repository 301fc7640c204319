"""Simulated weekly surveillance series with injected outbreaks (Noufaily et al. 2013 design).

This is the evaluation protocol of the detectors, not data for analyses: studies use it only
to measure the methods, on pages that say so.

Baseline (Noufaily et al. 2013, *Stat Med* 32:1206, section 3.1): weekly counts from a
negative binomial with mean

    mu_t = exp(theta + beta t + sum_{j=1}^{m} [g1 cos(2 pi j t / 52) + g2 sin(2 pi j t / 52)])

and variance ``phi mu_t`` (Poisson when phi = 1), 624 weeks (12 years) per series.

Outbreaks: past outbreaks in the baseline years (the methods must cope with them) and one
current outbreak starting in one of the last 49 weeks. An outbreak starting at week s has
``Poisson(k * sd_s)`` cases, ``sd_s = sqrt(phi mu_s)``, spread over the following weeks by
log-normal(0, 0.5) onset delays (in weeks), as in Noufaily's simulation code. Current
outbreaks use k in {2, 3, 5, 10}; past ones k drawn from 2..10.

Scenario parameters: the 42 weekly scenarios of Noufaily et al. (2013, Table I), also used
by Bédubourg & Le Strat (2017): seven baseline groups (theta, beta, gamma1, gamma2, phi), each
with and without trend and with m = 0, 1 or 2 seasonal harmonics (no seasonal terms when
m = 0). The values were checked against a public replication of the study (the AEDDO
simulation scripts, Telkamp 2023, DTU), since the paper itself could not be opened offline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Weeks per simulated series and weeks monitored at its end (Noufaily: 624 and 49).
N_WEEKS = 624
N_CURRENT = 49
#: Outbreak sizes (multiples of the baseline standard deviation) for current outbreaks.
K_VALUES = (2, 3, 5, 10)


@dataclass(frozen=True)
class Scenario:
    """One baseline model: ``mu_t = exp(theta + beta t + seasonal(m, gamma1, gamma2))``."""

    id: int
    theta: float
    beta: float
    gamma1: float
    gamma2: float
    m: int
    phi: float

    def mean(self, t: np.ndarray) -> np.ndarray:
        """Baseline mean at weeks `t` (1-based as in the paper)."""
        eta = self.theta + self.beta * t
        for j in range(1, self.m + 1):
            eta = eta + self.gamma1 * np.cos(2 * np.pi * j * t / 52)
            eta = eta + self.gamma2 * np.sin(2 * np.pi * j * t / 52)
        return np.exp(eta)


#: Baseline groups of Noufaily et al. (2013): (theta, beta, gamma1, gamma2, phi).
NOUFAILY_GROUPS: tuple[tuple[float, float, float, float, float], ...] = (
    (0.1, 0.0025, 0.6, 0.6, 1.5),
    (-2.0, 0.005, 0.1, 0.3, 2.0),
    (1.5, 0.003, 0.2, -0.4, 1.0),
    (0.5, 0.002, 0.5, 0.5, 5.0),
    (2.5, 0.001, 1.0, 0.1, 3.0),
    (3.75, 0.001, 0.1, -0.1, 1.1),
    (5.0, 0.0001, 0.05, 0.01, 1.2),
)


def _noufaily_scenarios() -> tuple[Scenario, ...]:
    """The 42 scenarios: each group without / with trend, m = 0, 1, 2 (numbered in order)."""
    out = []
    for theta, beta, g1, g2, phi in NOUFAILY_GROUPS:
        for trend in (0, 1):
            for m in (0, 1, 2):
                out.append(
                    Scenario(
                        len(out) + 1,
                        theta,
                        beta * trend,
                        g1 if m else 0.0,
                        g2 if m else 0.0,
                        m,
                        phi,
                    )
                )
    return tuple(out)


#: The 42 scenarios of Noufaily et al. (2013) (see the module docstring).
SCENARIOS: tuple[Scenario, ...] = _noufaily_scenarios()


def nb_counts(rng: np.random.Generator, mu: np.ndarray, phi: float) -> np.ndarray:
    """NB draws with mean `mu` and variance ``phi * mu`` (Poisson when phi == 1)."""
    if phi <= 1:
        return rng.poisson(mu).astype(float)
    size = mu / (phi - 1)
    return rng.negative_binomial(size, 1 / phi).astype(float)


def outbreak_curve(rng: np.random.Generator, cases: int, length: int, start: int) -> np.ndarray:
    """`cases` spread from week `start` by log-normal(0, 0.5) delays, binned by week."""
    out = np.zeros(length)
    if cases <= 0:
        return out
    delay = np.floor(rng.lognormal(0.0, 0.5, size=cases)).astype(int)
    weeks = start + delay
    weeks = weeks[weeks < length]
    np.add.at(out, weeks, 1.0)
    return out


@dataclass
class SimulatedSet:
    """Series of one scenario and outbreak size: counts with and without the current outbreak.

    ``counts`` ``(n, 624)`` with all outbreaks; ``null`` the same without the current one;
    ``outbreak`` ``(n, 624)`` the current outbreak's cases; ``start`` its first week (0-based).
    """

    scenario: Scenario
    k: float
    counts: np.ndarray
    null: np.ndarray
    outbreak: np.ndarray
    start: np.ndarray


def simulate(scenario: Scenario, k: float, n: int, seed: int = 0, n_past: int = 4) -> SimulatedSet:
    """`n` series of `scenario` with a current outbreak of size `k` standard deviations.

    >>> s = simulate(SCENARIOS[2], 5, 3, seed=1)
    >>> s.counts.shape, bool((s.counts >= s.null).all())
    ((3, 624), True)
    """
    rng = np.random.default_rng([seed, scenario.id, int(k * 10)])
    t = np.arange(1, N_WEEKS + 1)
    mu = scenario.mean(t)
    sd = np.sqrt(scenario.phi * mu)
    base = np.stack([nb_counts(rng, mu, scenario.phi) for _ in range(n)])
    first_current = N_WEEKS - N_CURRENT
    past = np.zeros_like(base)
    cur = np.zeros_like(base)
    starts = np.empty(n, dtype=int)
    for i in range(n):
        for _ in range(n_past):
            s = int(rng.integers(0, first_current - 26))
            kk = int(rng.integers(2, 11))
            past[i] += outbreak_curve(rng, int(rng.poisson(kk * sd[s])), N_WEEKS, s)
        s = int(rng.integers(first_current, N_WEEKS))
        starts[i] = s
        size = 0
        while size < 1:  # an outbreak has at least one case
            size = int(rng.poisson(k * sd[s]))
        cur[i] = outbreak_curve(rng, size, N_WEEKS, s)
    null = base + past
    return SimulatedSet(scenario, k, null + cur, null, cur, starts)
