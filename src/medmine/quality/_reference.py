"""Reference data shipped with the quality stage (``data/*.csv``): lab ranges, sex-specific
codes and format rules, read once and cached.

Check generators (`medmine.quality._instances`) and unit conversion (`medmine.quality.units`)
both read these tables; neither needs the other to get them.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources

__all__ = ["format_rules", "lab_ranges", "sex_specific_codes"]


def _data(name: str) -> list[dict[str, str]]:
    path = importlib.resources.files("medmine.quality") / "data" / name
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@functools.cache
def lab_ranges() -> list[dict[str, str]]:
    """Plausible ranges of common labs and vitals by LOINC code and canonical UCUM unit."""
    return _data("lab_ranges.csv")


@functools.cache
def sex_specific_codes() -> list[dict[str, str]]:
    """Codes (ICD-10-CM prefixes, SNOMED concepts) that apply to one sex only."""
    return _data("sex_specific.csv")


@functools.cache
def format_rules() -> list[dict[str, str]]:
    """Regular expressions that varchar fields must match."""
    return _data("format_rules.csv")
