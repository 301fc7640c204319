"""The only way between the coordinator and the sites: messages of NumPy arrays, serialised.

Parameters travel in Flower's format, a list of NumPy arrays, each serialised with
``numpy.save`` (``allow_pickle=False``, as Flower's ``ndarrays_to_parameters``); the round's
configuration and the sites' metrics are flat dicts of numbers and short strings, sent as
JSON. `InProcessTransport` runs every site in this process but still serialises both
directions and keeps a copy of every message, so a test (or `audit`) can prove what crossed
a site boundary. The coordinator never holds a client object, only site names.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

Scalar = float | int | str | bool


@dataclass(frozen=True)
class FitRes:
    """A site's answer to a training request (Flower's ``FitRes``)."""

    parameters: list[np.ndarray]
    num_examples: int
    metrics: dict[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True)
class Envelope:
    """One message as it crossed a boundary: direction, site, kind and its decoded content."""

    direction: str  # "to_site" or "to_coordinator"
    site: str
    kind: str  # "fit", "properties"
    round: int
    arrays: list[np.ndarray]
    values: dict[str, Any]
    nbytes: int


class Client(Protocol):
    """What a site runs (Flower's ``NumPyClient`` shape)."""

    def get_properties(self, config: dict[str, Scalar]) -> dict[str, Scalar]:
        """Aggregate facts of the site's data (counts, column sums), never rows."""
        ...

    def fit(self, parameters: list[np.ndarray], config: dict[str, Scalar]) -> FitRes:
        """Train from `parameters` on local data; return new parameters."""
        ...


class Transport(Protocol):
    """Coordinator-side view of the network: send to a named site, get its answer."""

    sites: list[str]

    def fit(self, site: str, parameters: list[np.ndarray], config: dict[str, Scalar]) -> FitRes:
        """Ask `site` to train from `parameters`."""
        ...

    def get_properties(self, site: str, config: dict[str, Scalar]) -> dict[str, Scalar]:
        """Ask `site` for aggregate properties."""
        ...


def arrays_to_bytes(arrays: list[np.ndarray]) -> list[bytes]:
    """Serialise like Flower's ``ndarray_to_bytes`` (``np.save``, no pickle)."""
    out = []
    for a in arrays:
        buf = io.BytesIO()
        np.save(buf, np.asarray(a), allow_pickle=False)
        out.append(buf.getvalue())
    return out


def bytes_to_arrays(blobs: list[bytes]) -> list[np.ndarray]:
    """Inverse of `arrays_to_bytes` (refuses pickled objects)."""
    return [np.load(io.BytesIO(b), allow_pickle=False) for b in blobs]


def _json(values: dict[str, Any]) -> bytes:
    for k, v in values.items():
        if not isinstance(v, Scalar):
            raise TypeError(f"message value {k!r} must be a number or a string, not {type(v)}")
    return json.dumps(values, sort_keys=True).encode()


class InProcessTransport:
    """Every site in this process; every message serialised and recorded in `log`.

    >>> t = InProcessTransport({})
    >>> t.sites
    []
    """

    def __init__(self, clients: dict[str, Client]) -> None:
        self._clients = dict(clients)
        self.sites = list(clients)
        self.log: list[Envelope] = []
        self.round = 0

    def _record(self, direction, site, kind, blobs, values) -> tuple[list[np.ndarray], dict]:
        raw = _json(values)
        arrays = bytes_to_arrays(blobs)
        decoded = json.loads(raw)
        nbytes = sum(len(b) for b in blobs) + len(raw)
        self.log.append(Envelope(direction, site, kind, self.round, arrays, decoded, nbytes))
        return bytes_to_arrays(blobs), decoded

    def fit(self, site: str, parameters: list[np.ndarray], config: dict[str, Scalar]) -> FitRes:
        """Serialise, deliver, run the site's `fit`, serialise the answer back."""
        params, cfg = self._record("to_site", site, "fit", arrays_to_bytes(parameters), config)
        res = self._clients[site].fit(params, cfg)
        values = {"num_examples": int(res.num_examples), **res.metrics}
        back, vals = self._record(
            "to_coordinator", site, "fit", arrays_to_bytes(res.parameters), values
        )
        n = int(vals.pop("num_examples"))
        return FitRes(back, n, vals)

    def get_properties(self, site: str, config: dict[str, Scalar]) -> dict[str, Scalar]:
        """Deliver a properties request; the answer is recorded like any message."""
        _, cfg = self._record("to_site", site, "properties", [], config)
        props = self._clients[site].get_properties(cfg)
        arrays = [np.asarray(v) for v in props.values() if isinstance(v, np.ndarray)]
        scalars = {k: v for k, v in props.items() if not isinstance(v, np.ndarray)}
        back, vals = self._record(
            "to_coordinator", site, "properties", arrays_to_bytes(arrays), scalars
        )
        keys = [k for k, v in props.items() if isinstance(v, np.ndarray)]
        return {**vals, **dict(zip(keys, back, strict=True))}

    @property
    def bytes_sent(self) -> int:
        """Total serialised size of every message so far."""
        return sum(e.nbytes for e in self.log)
