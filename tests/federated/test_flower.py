"""The Flower adapter gives the same model as medmine's own loop (needs the extra
``medmine[federated]``; skipped where flwr is absent, as in the main development venv, where
flwr 1.x would downgrade typer, rich and starlette)."""

import numpy as np
import pytest

flwr = pytest.importorskip(
    "flwr", reason="flwr not installed (extra medmine[federated], kept out of the main venv)"
)

from medmine.federated import (  # noqa: E402
    FedAvg,
    FedProx,
    InProcessTransport,
    flower,  # noqa: E402
    run_federated,
)
from tests.federated.test_strategy import _sites  # noqa: E402


def _clients():
    from medmine.federated import LogisticClient

    return {f"s{k}": LogisticClient(X, y, p) for k, (X, y, p) in enumerate(_sites())}


@pytest.mark.parametrize("make", [lambda: FedAvg(C=0.5), lambda: FedProx(C=0.5, mu=0.1)])
def test_flower_strategy_gives_the_medmine_model(make):
    ours = run_federated(InProcessTransport(_clients()), make(), rounds=15)
    theirs, fl = flower.run_rounds(_clients(), make(), rounds=15)
    assert type(fl).__name__ == ("FedProx" if make().mu else "FedAvg")
    assert np.allclose(ours.coef_, theirs.coef_, atol=1e-9)
    assert ours.intercept_ == pytest.approx(theirs.intercept_, abs=1e-9)


def test_numpy_client_properties_are_flower_scalars():
    c = flower.numpy_client(next(iter(_clients().values())))
    props = c.get_properties({})
    assert isinstance(props["num_examples"], int) and isinstance(props["sum_sq"], bytes)
    assert flower.client_app(lambda ctx: None) is not None
    assert flower.server_app(FedAvg(), [np.zeros(2), np.zeros(1), np.ones(2)], 2, 3) is not None
