"""Run-to-run comparison: what changed since the previous quality run on the same warehouse.

A check is a *new failure* when it fails now and did not fail before (it passed, did not apply,
or was not run); *worse* when it failed or had failing rows before and now has more violating
rows or a higher violated percentage; *fixed* when it failed before and passes now (or no
longer applies); *better* when it has fewer violating rows without changing status. Checks of
types the previous run did not run are left out (a run with ``--type`` compares only what
both runs checked).

Works on any objects with the attributes of `medmine.quality.checks.CheckResult` and
``QualityRun`` (this module imports neither, so `checks` can import it).

>>> from types import SimpleNamespace as NS
>>> a = NS(check_id="x", check_type="t", status="pass", num_violated=0, pct_violated=0.0)
>>> b = NS(check_id="x", check_type="t", status="fail", num_violated=3, pct_violated=1.0)
>>> compare_runs(NS(run_id="r1", run_at=None, results=[a]), NS(results=[b])).new_failures[0].delta
3
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Change", "RunComparison", "compare_runs"]

FAIL = "fail"
PASS = "pass"


@dataclass(frozen=True)
class Change:
    """One check whose outcome changed between two runs."""

    check_id: str
    check_type: str
    kind: str  # new_failure | worse | fixed | better
    before_status: str | None
    after_status: str
    before_violated: int | None
    after_violated: int | None
    before_pct: float | None
    after_pct: float | None

    @property
    def delta(self) -> int:
        """Change in violating rows (after minus before; a missing count is 0)."""
        return (self.after_violated or 0) - (self.before_violated or 0)


@dataclass
class RunComparison:
    """Changes of a run against the previous run on the same warehouse."""

    previous_run_id: str
    previous_run_at: Any
    new_failures: list[Change] = field(default_factory=list)
    worse: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    better: list[Change] = field(default_factory=list)
    compared: int = 0

    @property
    def counts(self) -> dict[str, int]:
        """Checks per kind of change, and how many were compared."""
        return {
            "new_failures": len(self.new_failures),
            "worse": len(self.worse),
            "fixed": len(self.fixed),
            "better": len(self.better),
            "compared": self.compared,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the machine-readable output."""
        out: dict[str, Any] = {
            "previous_run_id": self.previous_run_id,
            "previous_run_at": str(self.previous_run_at) if self.previous_run_at else None,
            "counts": self.counts,
        }
        for kind in ("new_failures", "worse", "fixed", "better"):
            out[kind] = [asdict(c) | {"delta": c.delta} for c in getattr(self, kind)]
        return out


def _change(kind: str, before: Any, after: Any) -> Change:
    return Change(
        check_id=after.check_id,
        check_type=after.check_type,
        kind=kind,
        before_status=None if before is None else str(before.status),
        after_status=str(after.status),
        before_violated=None if before is None else before.num_violated,
        after_violated=after.num_violated,
        before_pct=None if before is None else before.pct_violated,
        after_pct=after.pct_violated,
    )


def compare_runs(previous: Any, current: Any) -> RunComparison:
    """Compare `current` with `previous` (both runs of the same warehouse)."""
    before = {r.check_id: r for r in previous.results}
    types_before = {r.check_type for r in previous.results}
    out = RunComparison(previous.run_id, previous.run_at)
    for r in current.results:
        b = before.get(r.check_id)
        if b is None and r.check_type not in types_before:
            continue
        out.compared += 1
        now_fail, was_fail = str(r.status) == FAIL, b is not None and str(b.status) == FAIL
        n_now, n_was = r.num_violated or 0, (b.num_violated or 0) if b is not None else 0
        p_now = r.pct_violated or 0.0
        p_was = (b.pct_violated or 0.0) if b is not None else 0.0
        if now_fail and not was_fail:
            out.new_failures.append(_change("new_failure", b, r))
        elif was_fail and not now_fail and str(r.status) != "error":
            out.fixed.append(_change("fixed", b, r))
        elif b is not None and str(r.status) in (FAIL, PASS) and (n_now > n_was or p_now > p_was):
            out.worse.append(_change("worse", b, r))
        elif b is not None and str(r.status) in (FAIL, PASS) and n_now < n_was:
            out.better.append(_change("better", b, r))
    for kind in ("new_failures", "worse", "fixed", "better"):
        getattr(out, kind).sort(key=lambda c: (-abs(c.delta), c.check_id))
    return out
