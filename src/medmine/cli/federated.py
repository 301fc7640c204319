"""`medmine federated simulate`: a network study on one machine (sites split from one warehouse)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Annotated

import typer

from medmine.cli._common import (
    WarehouseOpt,
    console,
    existing_warehouse,
    friendly_errors,
    out_folder,
)
from medmine.errors import ConfigError

app = typer.Typer(
    help="Federated learning: train across sites that keep their data.", no_args_is_help=True
)

STUDIES = ("readmission", "disease_risk")


@app.command("simulate")
@friendly_errors
def simulate(
    sites: Annotated[int, typer.Option("--sites", help="Number of sites (at least 2).")] = 3,
    study: Annotated[
        str, typer.Option("--study", help="readmission or disease_risk.")
    ] = "readmission",
    warehouse: WarehouseOpt = None,
    rounds: Annotated[int, typer.Option("--rounds", help="Federated rounds.")] = 40,
    dp_epsilon: Annotated[
        float | None,
        typer.Option("--dp-epsilon", help="Also train with per-person DP at this epsilon."),
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="auto (care site, else state, else case mix), care_site, state, case_mix, "
            "label_skew (stronger site effects).",
        ),
    ] = "auto",
    alpha: Annotated[float, typer.Option("--alpha", help="Dirichlet skew of label_skew.")] = 0.5,
    c: Annotated[float, typer.Option("--c", help="Inverse L1 strength (all models).")] = 0.1,
    mu: Annotated[float, typer.Option("--mu", help="FedProx proximal weight.")] = 0.1,
    boosting: Annotated[
        bool, typer.Option("--boosting/--no-boosting", help="Federated LightGBM too.")
    ] = True,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap replicates.")] = 200,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the page and tables.")
    ] = Path("reports/federated"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Split a warehouse into sites; compare pooled, federated and site-alone training."""
    from medmine.federated import FederatedConfig, study_data
    from medmine.federated.simulation import simulate as run_simulation
    from medmine.warehouse import Warehouse

    if study not in STUDIES:
        raise ConfigError(f"--study must be one of {', '.join(STUDIES)}. Got {study!r} instead.")
    if rounds < 1:
        raise ConfigError(f"--rounds must be at least 1. Got {rounds} instead.")
    cfg = FederatedConfig(
        rounds=rounds, C=c, mu=mu, dp_epsilon=dp_epsilon, n_boot=n_boot, boosting=boosting,
        random_state=seed,
    )  # fmt: skip
    folder = out_folder(out)
    with Warehouse(existing_warehouse(warehouse), read_only=True) as wh:
        if study == "readmission":
            from medmine.studies.readmission import default_definition

            data = study_data(wh, default_definition(), stay_length=True)
        else:
            from medmine.features.tasks import disease_risk

            data = study_data(wh, disease_risk())
        y = data.frame["outcome"]
        if len(y) < 100 or y.sum() < 20:
            raise ConfigError(
                f"the {study} cohort of this warehouse has {len(y)} rows and {int(y.sum())} "
                "outcomes; a federated comparison needs at least 100 rows and 20 outcomes"
            )
        sim = run_simulation(wh, data, n_sites=sites, split=split, alpha=alpha, config=cfg)
    write_outputs(folder, study, sim)
    comp = sim.comparison
    from rich.table import Table

    t = Table(title=f"{study}: AUROC on the same held-out persons of every site")
    for col in ("model", "AUROC (95% CI)"):
        t.add_column(col)
    for r in comp.table.itertuples():
        t.add_row(r.model, f"{r.auroc:.3f} ({r.auroc_lower:.3f}–{r.auroc_upper:.3f})")
    console.print(t)
    console.print(comp.split)
    verdict = "none" if not sim.findings else f"{len(sim.findings)} FINDINGS"
    console.print(
        f"{sim.messages} messages, {sim.bytes_sent:,} bytes; person rows, ids or dates "
        f"found in them: {verdict}"
    )
    if comp.epsilon is not None:
        console.print(f"DP: ε = {comp.epsilon:.2f}, δ = {cfg.dp_delta:g} per person")
    console.print(f"Page: {folder / f'federated_{study}.html'}")
    if sim.findings:
        raise typer.Exit(1)


def write_outputs(folder: Path, study: str, sim) -> None:
    """The comparison and sites as CSV, key figures as JSON, and one HTML page."""
    comp = sim.comparison
    comp.table.to_csv(folder / f"federated_{study}.csv", index=False)
    comp.sites.to_csv(folder / f"federated_{study}_sites.csv", index=False)
    figures = {
        "study": study,
        "split": comp.split,
        "settings": {k: v for k, v in sim.settings.items() if k != "random_state"},
        "epsilon": comp.epsilon,
        "messages": sim.messages,
        "bytes_sent": sim.bytes_sent,
        "audit_findings": [f.__dict__ for f in sim.findings],
        "table": comp.table.to_dict("records"),
        "sites": comp.sites.to_dict("records"),
        "notes": comp.notes,
    }
    (folder / f"federated_{study}.json").write_text(json.dumps(figures, indent=2, default=str))
    audit_line = (
        "No message held a person-level row, a person id or a date (every message audited)."
        if not sim.findings
        else f"AUDIT FAILED: {len(sim.findings)} messages carried person-level data."
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in comp.notes)
    eps = (
        f"<p>Differential privacy: ε = {comp.epsilon:.2f}, δ = {sim.settings['dp_delta']:g} per "
        "person (per-person clipping, Gaussian noise on every local step, RDP accounting).</p>"
        if comp.epsilon is not None
        else ""
    )
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Federated {html.escape(study)}</title></head><body>
<h1>Federated training: {html.escape(study)}</h1>
<p>Every model is evaluated on the same held-out persons of every site. Pooled training is the
ceiling a network reaches if data could be pooled; each site alone is what a site reaches
without the network.</p>
<ul>{notes}</ul>{eps}
<p>{html.escape(audit_line)} {sim.messages} messages, {sim.bytes_sent:,} bytes.</p>
<h2>AUROC (95% bootstrap CI, persons resampled)</h2>
{comp.table.round(3).to_html(index=False, escape=True)}
<h2>Sites</h2>
{comp.sites.round(3).to_html(index=False, escape=True)}
</body></html>
"""
    (folder / f"federated_{study}.html").write_text(page, encoding="utf-8")
