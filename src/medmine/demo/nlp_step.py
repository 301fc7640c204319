"""The clinical NLP step of the demo: extract concepts with ConText modifiers from the sample
notes into `note_nlp` and write the NLP page (the sample's notes are Synthea's templated
notes, and the page says so).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from medmine.nlp.note_nlp import run_notes
from medmine.nlp.summary import summarize
from medmine.report import page_context
from medmine.report.nlp_page import write_nlp_page

_EVAL = Path(__file__).resolve().parents[3] / "bench" / "results" / "nlp_eval.json"


def _evaluation() -> dict[str, Any] | None:
    """Headline figures of the independent evaluation, when the results file is present."""
    if not _EVAL.exists():
        return None
    res = json.loads(_EVAL.read_text())
    out: dict[str, Any] = {}
    for key in ("first", "dev", "locked"):
        r = res.get(key)
        if r:
            neg = r["modifiers"]["negated"]
            out[f"{key}: mention F1 ({r['records']} records)"] = r["f1"]
            out[f"{key}: negation sensitivity / specificity"] = (
                f"{neg['sensitivity']} / {neg['specificity']}"
            )
    return out or None


def nlp_step(ctx: Any) -> None:
    """Fill `note_nlp` on the demo warehouse and add the NLP page."""
    from medmine.warehouse import Warehouse

    t = time.perf_counter()
    with Warehouse(ctx.warehouse) as wh:
        rep = run_notes(wh)
        summary = summarize(wh.con)
        link = write_nlp_page(
            summary,
            Path(ctx.reports_dir),
            context=page_context(wh, command="medmine demo"),
            templated=True,
            evaluation=_evaluation(),
        )
    ctx.links.append(link)
    ctx.console.print(
        f"  {link.title}: {link.href} ({rep.notes_processed} notes, {rep.mentions} mentions, "
        f"{time.perf_counter() - t:.0f} s)"
    )
