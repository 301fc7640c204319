"""Differential privacy of the sites' updates: per-person clipping, Gaussian noise, accounting.

Each local gradient step of a site is a Gaussian mechanism: the gradient is summed over
persons after clipping each person's contribution (all of that person's rows together) to L2
norm `clip`, and noise N(0, (z * clip)^2) is added to every coordinate. Every person lives in
one site, so a person's privacy loss is the composition of that site's steps only. The
accountant is Rényi DP (Mironov 2017): a Gaussian mechanism of noise multiplier z has RDP
alpha / (2 z^2) at order alpha; T steps compose additively; the (epsilon, delta) bound is
min over alpha of T alpha / (2 z^2) + log(1/delta) / (alpha - 1). No subsampling
amplification is claimed (every step uses every person). Hand-rolled because these three
lines are the whole accountant for full-batch steps, and the usual libraries (Opacus,
dp-accounting) pull in PyTorch or TensorFlow-sized stacks.

>>> z = noise_multiplier(epsilon=1.0, delta=1e-5, steps=10)
>>> round(epsilon_spent(z, delta=1e-5, steps=10), 3)
1.0
"""

from __future__ import annotations

import numpy as np

from medmine.errors import ConfigError

_ORDERS = np.concatenate([np.linspace(1.01, 10, 300), np.arange(11, 512, dtype=float)])


def epsilon_spent(z: float, *, delta: float, steps: int) -> float:
    """Epsilon of `steps` Gaussian steps of noise multiplier `z` at `delta` (RDP bound)."""
    if z <= 0:
        return float("inf")
    eps = steps * _ORDERS / (2 * z**2) + np.log(1 / delta) / (_ORDERS - 1)
    return float(eps.min())


def noise_multiplier(*, epsilon: float, delta: float, steps: int) -> float:
    """The smallest noise multiplier z whose `steps` steps spend at most `epsilon`."""
    if not epsilon > 0:
        raise ConfigError(f"--dp-epsilon must be positive. Got {epsilon} instead.")
    if not 0 < delta < 1:
        raise ConfigError(f"delta must be in (0, 1). Got {delta} instead.")
    lo, hi = 1e-3, 1.0
    while epsilon_spent(hi, delta=delta, steps=steps) > epsilon:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        if epsilon_spent(mid, delta=delta, steps=steps) > epsilon:
            lo = mid
        else:
            hi = mid
    return hi
