import numpy as np
import pytest
import statsmodels.api as sm
from scipy import optimize, stats

from medmine.errors import ConfigError, NotFittedError
from medmine.surveillance import EARS, GLR, FarringtonFlexible, NBCusum, SeriesTooShortError
from medmine.surveillance._cusum import InControlModel
from medmine.surveillance._glm import harmonic_design, poisson_irls, upper_quantile, upper_tail
from medmine.surveillance._glr import _loglik_ratio

BASE7 = np.array([2, 3, 2, 4, 3, 2, 5], dtype=float)  # mean 3, sd sqrt(8/6)


def test_ears_c1_hand_computed():
    r = EARS("C1").fit(BASE7).detect(np.array([7.0]))
    sd = np.sqrt(8 / 6)
    assert r.expected[0, 0] == pytest.approx(3.0)
    assert r.score[0, 0] == pytest.approx(4 / sd)
    assert r.threshold[0, 0] == pytest.approx(3 + 3 * sd)
    assert bool(r.alarm[0, 0])
    assert r.pvalue[0, 0] == pytest.approx(stats.norm.sf(4 / sd))


def test_ears_c1_moving_baseline_uses_monitored_periods():
    r = EARS("C1").fit(BASE7).detect(np.array([3.0, 3.0]))
    # second period's baseline is [3,2,4,3,2,5,3]: mean 22/7
    assert r.expected[0, 1] == pytest.approx(22 / 7)
    assert not r.alarm.any()


def test_ears_c2_skips_two_guard_periods():
    base = np.array([1, 1, 2, 3, 2, 4, 3, 2, 5, 50, 60], dtype=float)
    r = EARS("C2").fit(base).detect(np.array([7.0]))
    # baseline of the new period: indices 2..8 = BASE7
    assert r.expected[0, 0] == pytest.approx(3.0)
    assert r.score[0, 0] == pytest.approx(4 / np.sqrt(8 / 6))


def test_ears_c3_sums_truncated_c2_of_three_periods():
    base = np.r_[BASE7, 3.0, 3.0]  # 9 periods: C2 of the first monitored one uses BASE7
    y = np.array([5.0, 5.0, 5.0])
    r3 = EARS("C3").fit(base).detect(y)
    r2 = EARS("C2").fit(base).detect(y)
    part = np.maximum(0, r2.score[0] - 1)
    # the first monitored period has no earlier C2 values inside the series
    assert r3.score[0, 0] == pytest.approx(part[0])
    assert r3.score[0, 2] == pytest.approx(part.sum())
    assert (r3.alarm[0] == (r3.score[0] > 2)).all()
    # threshold is the count that makes C3 reach 2
    j = 2
    prev = part[0] + part[1]
    m, s = r2.expected[0, j], (r2.threshold[0, j] - r2.expected[0, j]) / 3
    assert r3.threshold[0, j] == pytest.approx(m + s * (3 - prev))


def test_ears_zero_spread_baseline_alarms_on_any_increase():
    r = EARS("C1").fit(np.zeros(7)).detect(np.array([1.0, 0.0]))
    assert r.alarm[0].tolist() == [True, False]


def test_poisson_irls_matches_statsmodels():
    rng = np.random.default_rng(3)
    t = np.arange(120)
    X = np.column_stack([np.ones(120), t / 52, np.sin(2 * np.pi * t / 52)])
    y = rng.poisson(np.exp(1 + 0.1 * t / 52 + 0.4 * X[:, 2]))
    w = rng.uniform(0.5, 1.5, 120)
    ours = poisson_irls(X, y[None, :].astype(float), w[None, :])
    ref = sm.GLM(y, X, family=sm.families.Poisson(), var_weights=w).fit()
    np.testing.assert_allclose(ours.beta[0], ref.params, rtol=1e-6)
    np.testing.assert_allclose(ours.xtwx_inv[0], ref.cov_params(), rtol=1e-5)


def test_negative_binomial_quantile_and_tail():
    assert upper_quantile(np.array([4.0]), np.array([1.0]), 0.99)[0] == stats.poisson.ppf(0.99, 4)
    # phi 2, mu 4: size 4, p 0.5
    assert upper_quantile(np.array([4.0]), np.array([2.0]), 0.99)[0] == stats.nbinom.ppf(
        0.99, 4, 0.5
    )
    assert upper_tail(np.array([9.0]), np.array([4.0]), np.array([2.0]))[0] == pytest.approx(
        stats.nbinom.sf(8, 4, 0.5)
    )


def test_farrington_constant_baseline_hand_computed():
    base = np.full(5 * 52 + 3 + 1, 4.0)
    det = FarringtonFlexible().fit(base)
    r = det.detect(np.array([9.0, 10.0]))
    assert r.expected[0] == pytest.approx([4.0, 4.0], rel=1e-6)
    # phi = max(1, 0) = 1: the Poisson 99% quantile of 4 is 9
    assert r.threshold[0].tolist() == [9.0, 9.0]
    assert r.alarm[0].tolist() == [False, True]
    assert r.pvalue[0, 1] == pytest.approx(stats.poisson.sf(9, 4.0))


def test_farrington_limit54_blocks_alarms_on_few_cases():
    base = np.zeros(5 * 52 + 4)
    base[::20] = 1.0
    r = FarringtonFlexible().fit(base).detect(np.array([3.0]))
    assert r.observed[0, 0] > r.threshold[0, 0]
    assert not r.alarm[0, 0]  # fewer than 5 cases in the last 4 weeks


def test_farrington_down_weights_past_outbreaks_and_matches_glm_reference():
    rng = np.random.default_rng(7)
    n = 5 * 52 + 3 + 1
    base = rng.poisson(10, n).astype(float)
    base[100:103] += 60  # a past outbreak inside the reference window
    det = FarringtonFlexible().fit(base)
    r = det.detect(np.array([12.0]))
    # reference: the same reweighted quasi-Poisson fit with statsmodels (no trend kept)
    Y = base[n - det.lags_]
    X = det.X_flat_
    f1 = sm.GLM(Y, X, family=sm.families.Poisson()).fit()
    phi = max(1.0, float(np.sum((Y - f1.mu) ** 2 / f1.mu) / (len(Y) - X.shape[1])))
    h = f1.get_influence().hat_matrix_diag
    s = 1.5 * (Y ** (2 / 3) * f1.mu ** (-1 / 6) - np.sqrt(f1.mu)) / np.sqrt(phi * (1 - h))
    w = np.where(s > 2.58, s**-2.0, 1.0)
    w = w * len(Y) / w.sum()
    f2 = sm.GLM(Y, X, family=sm.families.Poisson(), var_weights=w).fit()
    assert r.expected[0, 0] == pytest.approx(np.exp(f2.params[0]), rel=1e-4)
    assert r.expected[0, 0] < np.exp(f1.params[0])  # the outbreak was down-weighted


def test_nbcusum_poisson_hand_computed():
    base = np.full(104, 4.0)
    r = NBCusum(h=2.0).fit(base).detect(np.array([4.0, 8.0, 8.0, 8.0]))
    # mu0 4, phi 1 (Poisson), mu1 = 4 + sqrt(4) = 6: llr = y log 1.5 - 2
    llr = lambda y: y * np.log(1.5) - 2  # noqa: E731
    s1 = max(0, llr(4))
    s2 = max(0, s1 + llr(8))
    s3 = max(0, s2 + llr(8))
    np.testing.assert_allclose(r.score[0, :3], [s1, s2, s3], rtol=1e-6)
    assert r.alarm[0].tolist() == [False, False, True, False]  # reset after the alarm
    assert r.threshold[0, 2] == pytest.approx((2 - s2 + 2) / np.log(1.5), rel=1e-6)


def test_glr_poisson_hand_computed():
    base = np.full(104, 4.0)
    r = GLR("poisson", h=3.0).fit(base).detect(np.array([4.0, 10.0]))
    l1 = 10 * np.log(2.5) - 1.5 * 4
    l2 = 14 * np.log(1.75) - 0.75 * 8
    assert r.score[0, 1] == pytest.approx(max(l1, l2), rel=1e-6)
    assert r.alarm[0].tolist() == [False, True]
    # the threshold count makes the statistic reach h
    assert r.threshold[0, 0] == pytest.approx(
        optimize.brentq(lambda y: y * np.log(y / 4) - (y - 4) - 3.0, 4.01, 40), abs=0.02
    )


def test_glr_nb_matches_numerical_maximum():
    y = np.array([[3.0, 9.0, 12.0]])
    mu = np.array([[4.0, 4.0, 5.0]])
    r = mu / (2.0 - 1)  # phi = 2
    Y, U = y.sum(1, keepdims=True), mu.sum(1, keepdims=True)
    ours = _loglik_ratio(Y, U, y[:, None, :], mu[:, None, :], r[:, None, :], newton=20)[0, 0]

    def nll(k):
        return -float(
            np.sum(
                stats.nbinom.logpmf(y, r, r / (r + k * mu))
                - stats.nbinom.logpmf(y, r, r / (r + mu))
            )
        )

    best = optimize.minimize_scalar(nll, bounds=(1, 20), method="bounded")
    assert ours == pytest.approx(-best.fun, rel=1e-6)


@pytest.mark.parametrize(
    ("det", "msg"),
    [
        (EARS("C4"), "'method' parameter of EARS"),
        (EARS("C1", baseline=1), "'baseline' parameter"),
        (FarringtonFlexible(alpha=0.9), "'alpha' parameter"),
        (NBCusum(h=-1.0), "'h' parameter"),
        (GLR("gamma"), "'distribution' parameter"),
    ],
)
def test_bad_parameters_are_refused_in_fit(det, msg):
    with pytest.raises(ConfigError, match=msg):
        det.fit(np.ones(400))


def test_bad_counts_and_short_series_and_unfitted():
    with pytest.raises(ConfigError, match="negative"):
        EARS().fit(np.array([1, 2, -1, 3, 4, 5, 6.0]))
    with pytest.raises(ConfigError, match="missing"):
        EARS().fit(np.array([1, 2, np.nan, 3, 4, 5, 6.0]))
    with pytest.raises(SeriesTooShortError, match="at least 264 periods"):
        FarringtonFlexible().fit(np.ones(100))
    with pytest.raises(NotFittedError):
        NBCusum().detect(np.ones(3))


def test_in_control_model_follows_a_two_harmonic_season():
    # Noufaily's m = 2 scenarios: one harmonic cannot follow this season, two can
    rng = np.random.default_rng(11)
    t = np.arange(520)
    w = 2 * np.pi * t / 52
    eta = 2.0 + 0.6 * (np.cos(w) + np.sin(w) + np.cos(2 * w) + np.sin(2 * w))
    y = rng.poisson(np.exp(eta)).astype(float)[None, :]
    two = InControlModel(52).fit(y)
    one = InControlModel(52, harmonics=1).fit(y)
    err2 = np.abs(np.log(two.mean(0, 520)[0]) - eta).mean()
    err1 = np.abs(np.log(one.mean(0, 520)[0]) - eta).mean()
    assert err2 < 0.05 and err1 > 0.25
    # known answer: the unweighted Poisson GLM with the same design (statsmodels)
    X = harmonic_design(t, 52, 2, trend=False)
    ref = sm.GLM(y[0], X, family=sm.families.Poisson()).fit()
    assert not two.trend_[0]
    np.testing.assert_allclose(two.beta_f_[0], ref.params, atol=0.03)
    assert NBCusum().harmonics == 2 and GLR().harmonics == 2


def test_farrington_warm_starts_agree_with_fresh_fits_on_sparse_series():
    # weekly means of 0.14 (Noufaily group 2): seasonal levels without cases are common, and
    # warm-started IRLS from their huge coefficients used to give expected counts of e^30
    rng = np.random.default_rng(4)
    n_base, n_mon = 5 * 52 + 4, 12
    y = rng.negative_binomial(0.135, 0.5, size=(60, n_base + n_mon)).astype(float)
    res = FarringtonFlexible().fit(y[:, :n_base]).detect(y[:, n_base:])
    fresh = np.column_stack(
        [
            FarringtonFlexible()
            .fit(y[:, : n_base + j])
            .detect(y[:, n_base + j : n_base + j + 1])
            .expected[:, 0]
            for j in range(n_mon)
        ]
    )
    np.testing.assert_allclose(res.expected, fresh, rtol=1e-3, atol=1e-3)
    assert np.nanmax(res.expected) < y.max()
