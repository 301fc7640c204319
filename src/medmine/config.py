"""Run-wide settings from the environment: the default warehouse path and secrets.

Environment variables medmine reads (all optional except where a command needs a secret):

* ``MEDMINE_WAREHOUSE``: default for ``--warehouse`` (else ``./medmine.duckdb``);
* ``MEDMINE_SAMPLES``: folder of the bundled samples for ``medmine demo`` (installed copies);
* ``MEDMINE_DEID_KEY``: secret for pseudonyms and date shifts (`medmine.privacy.pseudonym`);
* ``MEDMINE_ENCRYPTION_KEY``: key for encryption at rest (`medmine.privacy.crypto`);
* ``MEDMINE_AUDIT_KEY``: key of the audit chain's HMAC (unset: entries are written unkeyed
  and `medmine audit verify` says so);
* ``MEDMINE_MODEL_KEY``: key authenticating saved model manifests (unset: a per-process key,
  so models load only in the run that saved them unless ``--trust-unsigned``);
* ``MEDMINE_MAX_DECOMPRESSED``: cap on the decompressed size of one input file (e.g. ``2G``);
* ``MEDMINE_ACTOR``: a name recorded in audit entries *as a claim*, next to the operating-system
  account that is always recorded.

Secrets are never read from files in the repository or from command-line arguments.
"""

from __future__ import annotations

import os
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
