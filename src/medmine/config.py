"""Settings: paths and engine, with secrets read only from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from medmine.errors import ConfigError

#: Environment variable naming the default warehouse file.
WAREHOUSE_ENV = "MEDMINE_WAREHOUSE"
#: Default warehouse location when neither an option nor the environment says otherwise.
DEFAULT_WAREHOUSE = "medmine.duckdb"


def warehouse_path(explicit: str | Path | None = None) -> str:
    """Resolve the warehouse path: explicit option, then `MEDMINE_WAREHOUSE`, then default."""
    if explicit is not None and str(explicit) != "":
        return str(explicit)
    return os.environ.get(WAREHOUSE_ENV, DEFAULT_WAREHOUSE)


def secret(name: str, *, required: bool = True) -> str | None:
    """Read a secret from the environment; never from files in the repo or from arguments.

    Raises
    ------
    ConfigError
        If the variable is unset and `required` is true.
    """
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ConfigError(
                f"environment variable {name} is not set; export it (it is a secret and is "
                "never read from the command line)"
            )
        return None
    return value


@dataclass(frozen=True)
class Settings:
    """Run-wide settings resolved once by the CLI and passed down."""

    warehouse: str = DEFAULT_WAREHOUSE
    reports_dir: Path = Path("reports")
    engine: str = "duckdb"
    batch_rows: int = 50_000

    @classmethod
    def from_env(cls, warehouse: str | Path | None = None) -> Settings:
        """Build settings from options and environment variables."""
        return cls(
            warehouse=warehouse_path(warehouse),
            reports_dir=Path(os.environ.get("MEDMINE_REPORTS", "reports")),
            engine=os.environ.get("MEDMINE_ENGINE", "duckdb"),
        )
