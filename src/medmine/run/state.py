"""The run state beside the warehouse (``<warehouse>.run.json``): what each stage last did.

Each finished stage records the fingerprint of its inputs, the fingerprint of its output (what
later stages depend on), the files it wrote, its report links and its time. A stage is
recorded only when it finishes, and the file is replaced atomically, so an interrupted or
failed run resumes at the stage that did not finish. The state also lists the files runs
created (the warehouse, the de-identified copy), which a later run may rebuild; anything else
is never overwritten.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medmine.errors import ConfigError
from medmine.report import ReportLink

__all__ = ["FORMAT", "RunState", "StageRecord"]

#: Version tag of the state file; a state of another format is not trusted.
FORMAT = "medmine-run/1"


@dataclass
class StageRecord:
    """What one stage did when it last finished."""

    input: str
    output: str
    finished_at: str
    duration_s: float
    outputs: list[str] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def report_links(self) -> list[ReportLink]:
        """The stage's index entries."""
        return [ReportLink(**d) for d in self.links]

    def outputs_exist(self) -> bool:
        """True when every file the stage wrote is still there."""
        return all(Path(p).exists() for p in self.outputs)


@dataclass
class RunState:
    """Stage records and created files of the runs of one pipeline on one warehouse."""

    path: Path
    pipeline: str = ""
    stages: dict[str, StageRecord] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> RunState:
        """The state at `path` (empty when the file does not exist).

        Raises
        ------
        ConfigError
            When the file exists but is not a state medmine wrote.
        """
        if not path.exists():
            return cls(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT:
                raise ValueError("format")
            stages = {k: StageRecord(**v) for k, v in doc.get("stages", {}).items()}
            return cls(path, doc.get("pipeline", ""), stages, list(doc.get("created", [])))
        except (ValueError, TypeError, AttributeError):
            raise ConfigError(
                f"run state {path} is not a medmine run state; delete it (the next run then "
                "starts afresh and asks before replacing existing warehouses)"
            ) from None

    def save(self) -> None:
        """Write the state atomically (a temporary file, then a rename)."""
        doc = {
            "format": FORMAT,
            "pipeline": self.pipeline,
            "created": sorted(set(self.created)),
            "stages": {k: asdict(v) for k, v in self.stages.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)

    def created_by_run(self, path: Path) -> bool:
        """True when a run of this state created `path` (so a run may rebuild it)."""
        return str(path.resolve()) in self.created

    def mark_created(self, path: Path) -> None:
        """Remember that a run created `path`."""
        key = str(path.resolve())
        if key not in self.created:
            self.created.append(key)
