"""The simulated population: its Arrow tables, the truth per stay, and loading into a warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from medmine.synth._population_codes import LOS_COEFFICIENTS, READMISSION_COEFFICIENTS
from medmine.warehouse.schema import table as table_spec


@dataclass
class SimulatedPopulation:
    """A simulated OMOP population and the truth it was drawn from.

    `tables` maps warehouse table names to Arrow tables (also readable as attributes:
    ``pop.person``, ``pop.visit_occurrence``...). `stays` holds one row per inpatient stay:
    ``person_id, stay_id`` (= ``entry_event_id`` of the cohort: the stay's first visit),
    ``admission_date, discharge_date, los, transferred, planned, age, male, heart_failure,
    copd, diabetes, ckd, prior_admissions_365d, long_stay, hemoglobin, low_hemoglobin,
    died_in_hospital, p_readmit`` (the model's probability; NaN after an in-hospital death),
    ``readmit_drawn`` (the model's draw), ``readmitted_30d`` (an *unplanned* admission starting
    0-30 days after discharge: what ``readmission(planned=<PCI/CABG>)`` computes) and
    ``any_readmission_30d`` (planned ones too: what ``readmission()`` computes).
    """

    n_persons: int
    seed: int
    tables: dict[str, pa.Table]
    stays: pd.DataFrame
    coefficients: dict[str, float] = field(default_factory=lambda: dict(READMISSION_COEFFICIENTS))
    los_coefficients: dict[str, float] = field(default_factory=lambda: dict(LOS_COEFFICIENTS))

    def __getattr__(self, name: str) -> pa.Table:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def write_to(self, wh: Any, *, provenance: bool = True) -> Any:
        """Load every table into warehouse `wh` in one atomic `LoadSession`; returns its report.

        Rows already present (same primary key) are skipped, so writing twice adds nothing.
        """
        from medmine.warehouse import LoadSession, Reason

        source = f"synth:population:n={self.n_persons}:seed={self.seed}"
        with LoadSession(wh, "synth") as s:
            con = wh.con
            for name, tbl in self.tables.items():
                spec = table_spec(name)
                data = tbl.select([c for c in spec.column_names if c in tbl.column_names])  # noqa: F841
                s.read(name, tbl.num_rows)
                cols = ", ".join(f'"{c}"' for c in tbl.column_names)
                n = int(
                    con.execute(
                        f'INSERT OR IGNORE INTO "{name}" ({cols}) SELECT {cols} FROM data'
                    ).fetchone()[0]
                )
                s.tally(name, loaded=n, skipped=tbl.num_rows - n, reason=Reason.DUPLICATE)
                s.report.rows_written[name] = s.report.rows_written.get(name, 0) + n
                pk = spec.primary_key
                if provenance and n and len(pk) == 1 and spec.column(pk[0]).type == "bigint":
                    con.execute(  # no key index on mm_source_record: an anti-join insert
                        table_spec("mm_source_record").insert_new_sql(
                            f'(SELECT ? AS table_name, "{pk[0]}" AS row_id, ? AS load_id, '
                            "? AS source_file, 'row ' || row_number() OVER () AS location, "
                            "? AS resource_type FROM data)"
                        ),
                        [name, s.load_id, source, name],
                    )
        return s.report
