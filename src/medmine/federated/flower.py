"""Flower adapter: medmine's site clients and strategies on Flower (extra ``federated``).

medmine's clients already speak Flower's shapes (parameters = list of NumPy arrays, config
and metrics = flat dicts of scalars), so the adapter is thin:

* `numpy_client` wraps a `LogisticClient` or `BoostingClient` as a ``flwr.client.NumPyClient``
  (array properties such as column sums travel as ``np.save`` bytes, Flower's scalar type);
* `flower_strategy` builds Flower's own ``FedAvg`` or ``FedProx`` with medmine's round config
  and initial parameters, so aggregation is Flower's code;
* `client_app` and `server_app` give the ``ClientApp``/``ServerApp`` a deployment runs
  (one SuperNode per site, see docs/federated.md);
* `run_rounds` drives a Flower strategy in process, through Flower's serialisation
  (``ndarrays_to_parameters``), to check that Flower and medmine give the same model.

flwr is imported inside functions: medmine works without it (flwr 1.x pins older typer, rich
and starlette than the rest of medmine uses, so it lives in its own extra and environment).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np

from medmine.errors import ConfigError
from medmine.federated.strategy import FedAvg, LogisticModel
from medmine.federated.transport import Client


def _flwr() -> Any:
    try:
        import flwr
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "Flower is not installed; install the extra with `pip install 'medmine[federated]'` "
            "(in its own environment: flwr pins older typer/rich/starlette)"
        ) from exc
    return flwr


def _to_scalar(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        buf = io.BytesIO()
        np.save(buf, v, allow_pickle=False)
        return buf.getvalue()
    return v


def numpy_client(client: Client) -> Any:
    """`client` as a Flower ``NumPyClient``."""
    flwr = _flwr()

    class MedmineNumPyClient(flwr.client.NumPyClient):
        def get_properties(self, config):
            return {k: _to_scalar(v) for k, v in client.get_properties(config).items()}

        def fit(self, parameters, config):
            res = client.fit([np.asarray(p) for p in parameters], dict(config))
            return [np.asarray(p) for p in res.parameters], int(res.num_examples), res.metrics

    return MedmineNumPyClient()


def flower_strategy(strategy: FedAvg, initial: list[np.ndarray], n_sites: int) -> Any:
    """Flower's ``FedAvg`` (``mu == 0``) or ``FedProx`` set up like `strategy`."""
    flwr = _flwr()
    from flwr.common import ndarrays_to_parameters

    kwargs = {
        "fraction_fit": 1.0,
        "fraction_evaluate": 0.0,
        "min_fit_clients": n_sites,
        "min_available_clients": n_sites,
        "min_evaluate_clients": 0,
        "on_fit_config_fn": strategy.configure_fit,
        "initial_parameters": ndarrays_to_parameters(initial),
    }
    if strategy.mu > 0:
        return flwr.server.strategy.FedProx(proximal_mu=strategy.mu, **kwargs)
    return flwr.server.strategy.FedAvg(**kwargs)


def run_rounds(
    clients: dict[str, Client], strategy: FedAvg, rounds: int
) -> tuple[LogisticModel, Any]:
    """Train with Flower's strategy object driving medmine's clients in this process.

    Setup (column scale, L1 weight) runs as in `run_federated`, through an
    `InProcessTransport`; each round, every client's answer is serialised with Flower's
    ``ndarrays_to_parameters`` and aggregated by Flower's ``aggregate_fit``.
    """
    from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays

    from medmine.federated.transport import InProcessTransport

    initial = strategy.setup(InProcessTransport(clients), rounds)
    fl = flower_strategy(strategy, initial, len(clients))
    params = fl.initial_parameters
    wrapped = {s: numpy_client(c) for s, c in clients.items()}
    for r in range(1, rounds + 1):
        config = fl.on_fit_config_fn(r)
        results = []
        for c in wrapped.values():
            arrays, n, metrics = c.fit(parameters_to_ndarrays(params), config)
            fit_res = FitRes(Status(Code.OK, ""), ndarrays_to_parameters(arrays), n, metrics)
            results.append((None, fit_res))
        params, _ = fl.aggregate_fit(r, results, [])
    coef, intercept, scale = parameters_to_ndarrays(params)
    return LogisticModel(coef, float(intercept[0]), scale), fl


def client_app(make_client: Callable[[Any], Client]) -> Any:
    """A Flower ``ClientApp``; `make_client(context)` builds the site's client from its own
    warehouse (``context.node_config`` holds the site's settings).
    """
    flwr = _flwr()
    return flwr.client.ClientApp(
        client_fn=lambda context: numpy_client(make_client(context)).to_client()
    )


def server_app(strategy: FedAvg, initial: list[np.ndarray], n_sites: int, rounds: int) -> Any:
    """A Flower ``ServerApp`` running `strategy` for `rounds` rounds over `n_sites` sites."""
    flwr = _flwr()
    from flwr.server import ServerAppComponents, ServerConfig

    def server_fn(context: Any) -> Any:
        return ServerAppComponents(
            strategy=flower_strategy(strategy, initial, n_sites),
            config=ServerConfig(num_rounds=rounds),
        )

    return flwr.server.ServerApp(server_fn=server_fn)
