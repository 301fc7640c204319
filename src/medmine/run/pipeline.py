"""The pipeline file (``pipeline.yaml``) as typed settings, checked in full before anything runs.

Sections: ``warehouse`` and ``out`` (paths), ``sources`` (format, paths, options), ``quality``,
``deid`` (optional) and ``studies`` (name: options). Unknown keys are refused with the known
ones, every source path must exist, each study turns its options into its typed config
(`Study.make_config`), and a de-identification key must be available. Relative paths are read
from the folder of the pipeline file.

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> p = parse_pipeline({"warehouse": "w.duckdb", "sources": [{"format": "fhir", "paths": "."}],
...                     "studies": {"readmission": {"n_boot": 20}}}, path=d / "pipeline.yaml")
>>> p.sources[0].paths == (d,), p.studies[0].config.n_boot, p.deid is None
(True, 20, True)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from medmine.errors import ConfigError
from medmine.run.formats import FORMATS
from medmine.run.typed import build, convert, describe, mapping, unknown_keys

__all__ = [
    "DeidSettings",
    "Pipeline",
    "QualitySettings",
    "Source",
    "StudySpec",
    "load_pipeline",
    "parse_pipeline",
]


TOP_KEYS = ("warehouse", "out", "sources", "quality", "deid", "studies")


@dataclass(frozen=True)
class Source:
    """One entry of ``sources``: a format, existing paths and the reader's options."""

    format: str
    paths: tuple[Path, ...]
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QualitySettings:
    """What the quality stage does.

    Parameters
    ----------
    checks
        Run the data-quality checks and write ``quality.html``.
    types
        Only these check types (default: all; see `medmine.quality.checks.REGISTRY`).
    units
        Normalise measurement units into ``mm_measurement_norm``.
    link
        Link persons across sources (when identities come from two or more).
    profile
        Profile every table and write ``profile.html``.
    """

    checks: bool = True
    types: tuple[str, ...] | None = None
    units: bool = True
    link: bool = True
    profile: bool = True

    def validate(self) -> None:
        """Refuse unknown check types."""
        if self.types is not None:
            from medmine.quality.checks import REGISTRY

            unknown = sorted(set(self.types) - set(REGISTRY))
            if unknown:
                raise ConfigError(
                    f"unknown check type(s) {unknown} in types; known: "
                    + ", ".join(sorted(REGISTRY))
                )


@dataclass(frozen=True)
class DeidSettings:
    """De-identification into a new warehouse (`medmine.privacy.deid.deidentify`).

    Parameters
    ----------
    out
        The de-identified warehouse (default ``<warehouse stem>_deid.duckdb`` beside it).
    mode
        ``safe_harbor`` (dates to the year) or ``expert`` (per-person date shift).
    purpose
        Consent purpose of the copy; persons not eligible are left out.
    consent_default
        ``opt_out`` (included unless a deny is in force) or ``opt_in``.
    reference_date
        Date for the over-89 rule (default: today; set it for reproducible output).
    target_k
        k-anonymity the privacy page measures against.
    key
        ``env`` (pseudonym key from ``MEDMINE_DEID_KEY``) or ``ephemeral`` (random, not kept).
    """

    out: Path | None = None
    mode: str = "safe_harbor"
    purpose: str = "research"
    consent_default: str = "opt_out"
    reference_date: dt.date | None = None
    target_k: int = 5
    key: str = "env"

    def validate(self) -> None:
        """Refuse values outside their choices."""
        from medmine.privacy.consent import PURPOSES

        choices = {
            "mode": ("safe_harbor", "expert"),
            "purpose": PURPOSES,
            "consent_default": ("opt_out", "opt_in"),
            "key": ("env", "ephemeral"),
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(
                    f"{name} must be one of {', '.join(allowed)}; got {describe(value)}"
                )
        if self.target_k < 2:
            raise ConfigError(f"target_k must be 2 or more; got {self.target_k}")

    def deid_config(self) -> Any:
        """The `DeidConfig` these settings stand for."""
        from medmine.privacy.consent import ConsentPolicy
        from medmine.privacy.deid import DeidConfig

        return DeidConfig(
            mode=self.mode,
            purpose=self.purpose,
            policy=ConsentPolicy(default=self.consent_default),
            reference_date=self.reference_date,
        )


@dataclass(frozen=True)
class StudySpec:
    """One entry of ``studies``: a registered study and its typed config."""

    name: str
    config: Any


@dataclass(frozen=True)
class Pipeline:
    """A checked pipeline file: absolute paths, typed settings for every stage."""

    path: Path
    warehouse: Path
    out: Path
    sources: tuple[Source, ...] = ()
    quality: QualitySettings | None = field(default_factory=QualitySettings)
    deid: DeidSettings | None = None
    studies: tuple[StudySpec, ...] = ()

    @property
    def state_path(self) -> Path:
        """The run state beside the warehouse (``<warehouse>.run.json``)."""
        return Path(f"{self.warehouse}.run.json")

    @property
    def command(self) -> str:
        """The command that runs this pipeline, as pages print it (file name only)."""
        return f"medmine run {self.path.name}"

    @property
    def study_warehouse(self) -> Path:
        """Where the studies run: the de-identified copy when there is one."""
        return self.deid.out if self.deid is not None and self.deid.out else self.warehouse


def load_pipeline(path: str | Path) -> Pipeline:
    """Read and check a pipeline file (``yaml.safe_load``; nothing runs).

    Raises
    ------
    ConfigError
        For anything wrong in the file, in one line: where, what was expected, what was given.
    """
    p = Path(path)
    if p.is_dir():
        raise ConfigError(
            f"pipeline {p} is a folder; give the pipeline file (e.g. {p}/pipeline.yaml)"
        )
    if not p.is_file():
        raise ConfigError(
            f"pipeline file {p} does not exist; write a starter with `medmine init {p}`"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"pipeline file {p} is not UTF-8 text; save it as UTF-8") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(
            f"{p}{line}: cannot read the YAML ({problem}); check the indentation and colons"
        ) from None
    return parse_pipeline(doc, path=p)


def parse_pipeline(doc: Any, *, path: Path) -> Pipeline:
    """Check a parsed pipeline document; `path` names it in messages and anchors relative paths."""
    label = str(path)
    base = path.resolve().parent
    doc = mapping(doc, label, "pipeline sections")
    unknown_keys(doc, TOP_KEYS, label)
    if doc.get("warehouse") is None:
        raise ConfigError(
            f"{label}: 'warehouse' is missing; give the DuckDB file to build or use, e.g. "
            "`warehouse: medmine.duckdb`"
        )
    warehouse = convert(doc["warehouse"], Path, f"{label}: warehouse", base)
    if warehouse.is_dir():
        raise ConfigError(f"{label}: warehouse {warehouse} is a folder; give a .duckdb file path")
    out = convert(doc.get("out", "reports"), Path, f"{label}: out", base)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{label}: out {out} is a file; give a folder for the report pages")
    raw_sources = doc.get("sources")
    if raw_sources is not None and not isinstance(raw_sources, list):
        raise ConfigError(
            f"{label}: sources must be a list (one '- format: ...' entry per source); got "
            f"{describe(raw_sources)}"
        )
    sources = tuple(
        _source(raw, f"{label}: sources[{i}]", base) for i, raw in enumerate(raw_sources or [])
    )
    if not sources and not warehouse.is_file():
        raise ConfigError(
            f"{label}: sources is empty and warehouse {warehouse} does not exist; add sources to "
            "load, or point warehouse at an existing warehouse"
        )
    quality = None
    if doc.get("quality", True) is not False:
        quality = build(QualitySettings, doc.get("quality"), f"{label}: quality", base)
    deid = None
    if "deid" in doc and doc["deid"] is not False:
        deid = _deid(doc["deid"], f"{label}: deid", base, warehouse)
    studies = _studies(doc.get("studies"), f"{label}: studies", base)
    return Pipeline(path.resolve(), warehouse, out, sources, quality, deid, studies)


def _source(raw: Any, where: str, base: Path) -> Source:
    raw = mapping(raw, where, "source settings")
    unknown_keys(raw, ("format", "paths", "options"), where)
    fmt = raw.get("format")
    if fmt not in FORMATS:
        raise ConfigError(
            f"{where}.format must be one of {', '.join(FORMATS)}; got {describe(fmt)}"
        )
    spec = FORMATS[fmt]
    if raw.get("paths") in (None, [], ""):
        raise ConfigError(f"{where}.paths is missing; give {spec.what}")
    paths = convert(raw["paths"], tuple[Path, ...], f"{where}.paths", base)
    if spec.one_path and len(paths) != 1:
        raise ConfigError(f"{where}.paths: {fmt} takes one path ({spec.what}); got {len(paths)}")
    for p in paths:
        if not p.exists():
            raise ConfigError(
                f"{where}.paths: {p} does not exist; expected {spec.what}; fix the path "
                f"(relative paths are read from {base})"
            )
    opts = mapping(raw.get("options"), f"{where}.options", "reader options")
    if opts and not spec.options:
        raise ConfigError(f"{where}.options: the {fmt} reader takes no options; remove them")
    unknown_keys(opts, spec.options, f"{where}.options")
    options = {
        k: convert(v, spec.options[k], f"{where}.options.{k}", base) for k, v in opts.items()
    }
    for k, v in options.items():
        if isinstance(v, Path) and not v.exists():
            raise ConfigError(f"{where}.options.{k}: {v} does not exist; fix the path")
    return Source(fmt, paths, options)


def _deid(raw: Any, where: str, base: Path, warehouse: Path) -> DeidSettings:
    from medmine.config import secret
    from medmine.privacy.pseudonym import KEY_ENV, deid_key

    deid = build(DeidSettings, raw, where, base)
    out = deid.out or warehouse.with_name(f"{warehouse.stem}_deid.duckdb")
    if out.resolve() == warehouse.resolve():
        raise ConfigError(f"{where}.out must be a new file, not the warehouse itself")
    if out.is_dir():
        raise ConfigError(f"{where}.out {out} is a folder; give a .duckdb file path")
    deid = dataclasses.replace(deid, out=out)
    if deid.key == "env":
        if secret(KEY_ENV, required=False) is None:
            raise ConfigError(
                f"{where}.key is 'env' but {KEY_ENV} is not set; export it (a secret, never "
                "written in the file), or set `key: ephemeral` for a random key that is not kept"
            )
        try:
            deid_key()  # the key's own checks, before anything runs
        except ConfigError as exc:
            raise ConfigError(f"{where}.key: {exc}") from None
    return deid


def _studies(raw: Any, where: str, base: Path) -> tuple[StudySpec, ...]:
    from medmine.studies import get_study

    raw = mapping(raw, where, "studies (name: options)")
    specs = []
    for name, opts in raw.items():
        w = f"{where}.{name}"
        try:
            study = get_study(name)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        opts = mapping(opts, w, "study options")
        hints = typing.get_type_hints(study.config_class)
        typed = {k: convert(v, hints.get(k, Any), f"{w}.{k}", base) for k, v in opts.items()}
        try:
            config = study.make_config(typed)
        except ConfigError as exc:
            raise ConfigError(f"{w}: {exc}") from None
        specs.append(StudySpec(name, config))
    return tuple(specs)
