"""Page of the pharmacogenomics study: flagged prescriptions, calls and phenotype frequencies."""

from __future__ import annotations

from typing import Any

from medmine.report.figures import figure_html
from medmine.report.html import Section
from medmine.report.tables import table_html
from medmine.studies.pharmacogenomics import PgxResult


def pgx_sections(result: PgxResult) -> dict[str, Any]:
    """Template arguments: KPIs, the flag list with explanations, calls and frequencies."""
    import plotly.express as px

    cfg = result.config
    flagged = result.flagged.head(cfg.max_rows)
    freqs = result.frequencies.copy()
    plot = ""
    if len(freqs) and freqs["persons"].sum():
        long = freqs.melt(
            id_vars=["gene", "phenotype"],
            value_vars=["share", "published_share"],
            var_name="source",
            value_name="fraction",
        ).dropna()
        long["source"] = long["source"].map(
            {"share": "this population", "published_share": "published (European ancestry)"}
        )
        fig = px.bar(
            long,
            x="phenotype",
            y="fraction",
            color="source",
            barmode="group",
            facet_col="gene",
            facet_col_wrap=4,
            height=520,
            title="Phenotype frequencies: this population vs published",
        )
        fig.update_xaxes(matches=None, showticklabels=True)
        plot = figure_html(fig)
    not_assessable = (
        (result.checks["phenotype"] == "not assessable").sum() if len(result.checks) else 0
    )
    cols = ["person_id", "start_date", "drug", "diplotype", "phenotype", "recommendation"]
    cols += ["strength", "guideline"]
    return {
        "kpis": [
            ("persons genotyped", result.n_persons),
            ("guideline-drug prescriptions", len(result.checks)),
            ("flagged", len(result.flagged)),
            ("not assessable", int(not_assessable)),
            ("excluded by consent", result.n_excluded),
        ],
        "intro": "Each genotyped person's pharmacogenes are called from the genotypes in "
        "mm_genotype (CPIC allele definitions via PharmCAT's tables; unphased data allow any "
        "split of the two alleles at each site, and the diplotype defining the most positions "
        "wins), turned into CPIC phenotypes, and every prescription of a CPIC guideline drug "
        "is checked against the guideline for that phenotype. Flagged: the guideline departs "
        "from usual prescribing (avoid, reduce, switch).",
        "sections": [
            Section(
                f"Flagged prescriptions ({len(result.flagged):,}"
                + (f"; first {cfg.max_rows} shown" if len(result.flagged) > cfg.max_rows else "")
                + ")",
                table_html(flagged[cols].to_dict("records"), name="flagged", filters=True),
                text="Filter by drug or phenotype; the whole list, with an explanation per "
                "flag written for a clinician, is in checks.csv below.",
            ),
            Section(
                "What a clinician would read (first flags)",
                "".join(
                    f"<div class='card'>{_escape(t)}</div>" for t in flagged["explanation"].head(5)
                )
                if len(flagged)
                else "<p class='muted'>No flagged prescription.</p>",
            ),
            Section(html=plot),
            Section(
                "Phenotype frequencies",
                table_html(result.frequencies.round(4).to_dict("records"), name="frequencies"),
                text="Published shares are CPIC's frequency tables for European ancestry; a "
                "population of another ancestry mix differs for reasons that are not errors.",
            ),
            Section(
                "Calls per person and gene",
                table_html(result.calls.to_dict("records"), name="calls", filters=True),
                details=True,
            ),
        ],
        "subtitle": result.summary(),
    }


def _escape(text: str) -> str:
    import html

    return html.escape(str(text))
