"""Detectors by name, for the command line, studies and the benchmark.

>>> sorted(METHODS)
['ears-c1', 'ears-c2', 'ears-c3', 'farrington', 'glr', 'glr-poisson', 'nbcusum']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from medmine.errors import ConfigError
from medmine.surveillance._base import Detector
from medmine.surveillance._cusum import NBCusum
from medmine.surveillance._ears import EARS
from medmine.surveillance._farrington import FarringtonFlexible
from medmine.surveillance._glr import GLR

#: Method name -> constructor of a detector with its default settings.
METHODS: dict[str, Callable[..., Detector]] = {
    "ears-c1": lambda **kw: EARS("C1", **kw),
    "ears-c2": lambda **kw: EARS("C2", **kw),
    "ears-c3": lambda **kw: EARS("C3", **kw),
    "farrington": FarringtonFlexible,
    "nbcusum": NBCusum,
    "glr": lambda **kw: GLR("nb", **kw),
    "glr-poisson": lambda **kw: GLR("poisson", **kw),
}


def make_detector(method: str, **params: Any) -> Detector:
    """A detector by method name (see `METHODS`), with optional parameters."""
    key = method.lower()
    if key not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    return METHODS[key](**params)
