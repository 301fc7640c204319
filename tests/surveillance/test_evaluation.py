import numpy as np
import pytest

from medmine.surveillance.evaluation import evaluate, outcome_measures, pod_table, summary_table
from medmine.surveillance.simulate import N_CURRENT, N_WEEKS, SCENARIOS, Scenario, simulate


def test_outcome_measures_hand_computed():
    n_cur = 5
    outbreak = np.zeros((2, 10))
    outbreak[0, 6:8] = [3, 1]  # series 0: outbreak in monitored weeks 1-2
    outbreak[1, 8] = 2  # series 1: outbreak in monitored week 3
    start = np.array([6, 8])
    alarm = np.array(
        [
            [True, False, True, False, False],  # false alarm week 0, hit week 2
            [False, False, False, False, True],
        ]
    )  # missed; false alarm week 4
    m = outcome_measures(alarm, outbreak, start, n_current=n_cur)
    assert m["pod"] == 0.5
    assert m["fpr_per_week"] == pytest.approx(2 / 7)  # 10 weeks, 3 with cases, 2 alarms
    assert m["delay_weeks"] == 1.0
    assert m["timeliness"] == pytest.approx((1 / 2 + 1) / 2)


def test_simulated_baseline_has_the_scenario_mean_and_dispersion():
    sc = Scenario(99, 2.0, 0.0, 0.0, 0.0, 0, 2.0)
    s = simulate(sc, 3, 200, seed=3, n_past=0)
    base = s.null[:, : N_WEEKS - N_CURRENT]
    mu = np.exp(2.0)
    assert base.mean() == pytest.approx(mu, rel=0.02)
    assert base.var() == pytest.approx(2.0 * mu, rel=0.05)
    assert ((s.start >= N_WEEKS - N_CURRENT) & (s.start < N_WEEKS)).all()
    assert (s.outbreak.sum(axis=1) >= 1).all()
    assert (s.counts == s.null + s.outbreak).all()


def test_evaluation_reproduces_the_published_ordering_on_a_small_run():
    busy = [s for s in SCENARIOS if s.id in (26, 32)]  # weekly means about 12 and 42
    res = evaluate(scenarios=busy, k_values=(5, 10), n=15, seed=2)
    summ = summary_table(res).set_index(["setting", "method"])
    d = summ.loc["default"]
    # EARS' published weakness: many more false alarms than Farrington at default settings
    assert d.loc["ears-c1", "fpr_per_week"] > 2 * d.loc["farrington", "fpr_per_week"]
    # bigger outbreaks are found more often
    m = res[res.setting == "matched"].groupby(["method", "k"]).pod.mean().unstack()
    assert (m[10] >= m[5]).all()
    assert m.loc["farrington", 10] > m.loc["ears-c1", 10]
    # the published ordering at one false-alarm rate: NB CUSUM above EARS (Watkins et al. 2008)
    assert m.loc["nbcusum"].mean() > max(m.loc[e].mean() for e in ("ears-c1", "ears-c2", "ears-c3"))
    methods = {"ears-c1", "ears-c2", "ears-c3", "farrington", "nbcusum", "glr"}
    assert set(res["method"]) == methods | {"oracle"}


def test_the_scenarios_are_noufailys_42():
    assert len(SCENARIOS) == 42 and [s.id for s in SCENARIOS] == list(range(1, 43))
    # group 1 (theta 0.1, beta 0.0025, gamma 0.6/0.6, phi 1.5): no trend, m = 0, 1, 2; trend
    assert [(s.beta, s.m, s.gamma1) for s in SCENARIOS[:6]] == [
        (0.0, 0, 0.0),
        (0.0, 1, 0.6),
        (0.0, 2, 0.6),
        (0.0025, 0, 0.0),
        (0.0025, 1, 0.6),
        (0.0025, 2, 0.6),
    ]
    assert {s.phi for s in SCENARIOS} == {1.5, 2.0, 1.0, 5.0, 3.0, 1.1, 1.2}
    assert SCENARIOS[-1] == Scenario(42, 5.0, 0.0001, 0.05, 0.01, 2, 1.2)


def test_fpr_comes_from_the_outbreak_free_twins_when_given():
    outbreak = np.zeros((1, 10))
    outbreak[0, 6:8] = [3, 1]
    alarm = np.array([[False, True, False, False, False]])  # hit in the outbreak's week 1
    null_alarm = np.array([[True, False, False, False, False]])  # one false alarm in 5 weeks
    m = outcome_measures(alarm, outbreak, np.array([6]), n_current=5, null_alarm=null_alarm)
    assert m["pod"] == 1.0 and m["fpr_per_week"] == pytest.approx(0.2)


def test_matched_setting_holds_the_target_on_the_twins_and_the_oracle_bounds_one_week_methods():
    busy = [s for s in SCENARIOS if s.id in (26, 32)]
    res = evaluate(
        scenarios=busy, k_values=(5, 10), n=15, seed=3, methods=("farrington", "nbcusum")
    )
    summ = summary_table(res).set_index(["setting", "method"])
    for m in ("farrington", "nbcusum", "oracle"):
        assert summ.loc[("matched", m), "fpr_per_week"] <= 0.0008 + 1e-12
    assert "oracle" not in set(res[res.setting == "default"].method)
    assert set(res["group"]) == {5, 6}  # scenarios 26 and 32 are in groups 5 and 6
    by_k = pod_table(res, "k")
    assert by_k.loc["oracle", 10] >= by_k.loc["oracle", 5]
    # the true-mean one-week test is at least as good as Farrington's estimated one
    assert by_k.loc["oracle"].mean() >= by_k.loc["farrington"].mean() - 0.05
