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

Scenario parameters: the published design varies theta (baseline frequency), beta (trend),
seasonality (m = 0, 1, 2) and phi (dispersion) over 28 weekly scenarios. Their exact table
could not be consulted offline when this was written, so `SCENARIOS` spans the same ranges
(low to high frequency, with and without trend and seasonality, phi 1 to 5) and is named
as a reconstruction on every page that uses it.
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


#: Scenarios spanning the Noufaily et al. (2013) design (see the module docstring).
SCENARIOS: tuple[Scenario, ...] = (
    Scenario(1, 0.1, 0.0, 0.0, 0.0, 0, 1.0),
    Scenario(2, 0.1, 0.0, 0.6, 0.6, 1, 1.5),
    Scenario(3, 1.5, 0.0, 0.0, 0.0, 0, 1.5),
    Scenario(4, 1.5, 0.0, 0.6, 0.6, 1, 2.0),
    Scenario(5, 1.5, 0.001, 0.2, 0.6, 2, 3.0),
    Scenario(6, 3.0, 0.0, 0.6, 0.6, 1, 2.0),
    Scenario(7, 3.0, 0.0005, 0.8, 0.4, 2, 5.0),
    Scenario(8, 5.0, 0.0, 0.2, 0.2, 1, 1.5),
)


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
