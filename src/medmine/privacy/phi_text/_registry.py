"""Name-keyed registries of recognizers and operators; registering a name twice is an error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Registry:
    """A registry of classes by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Any] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator registering `cls` under `name`.

        Raises
        ------
        ValueError
            If `name` is already registered.
        """

        def deco(cls: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            cls.name = name  # type: ignore[attr-defined]
            self._items[name] = cls
            return cls

        return deco

    def get(self, name: str) -> Any:
        """The class registered as `name`."""
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"no {self.kind} named {name!r}; known: {sorted(self._items)}") from None

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._items)


RECOGNIZERS = Registry("recognizer")
OPERATORS = Registry("operator")
