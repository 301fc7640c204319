import numpy as np
import pytest

from medmine.errors import ConfigError
from medmine.federated import epsilon_spent, noise_multiplier


def test_accountant_matches_the_closed_form_rdp_bound():
    # min over alpha of T*alpha/(2 z^2) + log(1/delta)/(alpha-1), optimum alpha = 1 + sqrt(...)
    z, steps, delta = 20.0, 50, 1e-5
    a = 1 + np.sqrt(2 * z**2 * np.log(1 / delta) / steps)
    exact = steps * a / (2 * z**2) + np.log(1 / delta) / (a - 1)
    assert epsilon_spent(z, delta=delta, steps=steps) == pytest.approx(exact, rel=1e-3)


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 3.0, 8.0])
def test_noise_multiplier_spends_exactly_the_budget(epsilon):
    z = noise_multiplier(epsilon=epsilon, delta=1e-5, steps=100)
    assert epsilon_spent(z, delta=1e-5, steps=100) == pytest.approx(epsilon, rel=1e-3)
    # more steps need more noise for the same budget
    assert noise_multiplier(epsilon=epsilon, delta=1e-5, steps=400) > z


@pytest.mark.parametrize(("eps", "delta"), [(0.0, 1e-5), (-1.0, 1e-5), (1.0, 0.0), (1.0, 1.5)])
def test_bad_privacy_parameters_are_refused(eps, delta):
    with pytest.raises(ConfigError):
        noise_multiplier(epsilon=eps, delta=delta, steps=10)
