"""`medmine.evaluate.paired`: AUROC difference of two scores with a paired bootstrap CI."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from medmine.evaluate.paired import paired_auroc_difference


def test_identical_scores_differ_by_exactly_zero() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    p = rng.random(300)
    d = paired_auroc_difference(y, p, p, n_boot=50)
    assert (d.estimate, d.lower, d.upper) == (0.0, 0.0, 0.0)


def test_pairing_narrows_the_interval_of_a_small_real_gain() -> None:
    rng = np.random.default_rng(2)
    n = 600
    y = rng.integers(0, 2, n)
    base = y + rng.normal(0, 1.5, n)
    better = base + 0.4 * y  # the same noise plus a little more signal
    d = paired_auroc_difference(y, better, base, groups=np.arange(n) // 2, n_boot=200)
    assert d.estimate == pytest.approx(roc_auc_score(y, better) - roc_auc_score(y, base))
    assert 0 < d.lower < d.estimate < d.upper
    # the shared noise cancels: the paired interval is narrow
    assert d.upper - d.lower < 0.05
    assert d.n_boot == 200


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="one length"):
        paired_auroc_difference([0, 1, 1], [0.1, 0.2], [0.3, 0.4, 0.5])
    with pytest.raises(ValueError, match="both outcome classes"):
        paired_auroc_difference([1, 1], [0.1, 0.2], [0.3, 0.4])
