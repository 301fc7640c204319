"""The commented starter pipeline file that `medmine init` writes."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from medmine.errors import ConfigError

__all__ = ["DEFAULT_NAME", "starter_text", "write_starter"]

#: File name used when `medmine init` is given a folder or nothing.
DEFAULT_NAME = "pipeline.yaml"


def starter_text() -> str:
    """The starter pipeline: every section, each key explained in a comment."""
    files = importlib.resources.files("medmine.run")
    return files.joinpath("starter_pipeline.yaml").read_text(encoding="utf-8")


def write_starter(path: str | Path = DEFAULT_NAME, *, force: bool = False) -> Path:
    """Write the starter to `path` (a folder gets ``pipeline.yaml``); returns the file written.

    Raises
    ------
    ConfigError
        When the file exists and `force` is false.
    """
    p = Path(path)
    if p.is_dir():
        p = p / DEFAULT_NAME
    if p.exists() and not force:
        raise ConfigError(f"{p} exists; pass --force to overwrite it, or give another path")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(starter_text(), encoding="utf-8")
    return p
