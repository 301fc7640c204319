"""Arrow tables (OMOP rows) built from the arrays the population simulator drew."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from medmine.synth._population_codes import (
    EHR,
    INPATIENT,
    LABS,
    _dates,
    _vocabulary,
)


def arrow_tables(sim: Any) -> None:
    """Build the Arrow tables of `sim` from its drawn arrays (into ``sim.tables``).

    `sim` is the population simulator after drawing (typed loosely so that this module does
    not import the simulator, which imports it).
    """
    b, pid = sim.base, sim.pid
    t = sim.tables
    t["observation_period"] = pa.table(
        {
            "observation_period_id": pid,
            "person_id": pid,
            "observation_period_start_date": _dates(sim.obs_start),
            "observation_period_end_date": _dates(sim.obs_end),
            "period_type_concept_id": np.full(sim.n, EHR, dtype=np.int32),
        }
    )
    who = np.concatenate([v[0] for v in sim.visits])
    start = np.concatenate([v[1] for v in sim.visits])
    end = np.concatenate([v[2] for v in sim.visits])
    kind = np.concatenate([np.full(v[0].size, v[5], dtype=np.int32) for v in sim.visits])
    t["care_site"] = pa.table(
        {
            "care_site_id": np.arange(1, sim.n_sites + 1, dtype=np.int64) + b,
            "care_site_name": [f"Simulated hospital {i}" for i in range(1, sim.n_sites + 1)],
        }
    )
    t["visit_occurrence"] = pa.table(
        {
            "visit_occurrence_id": np.concatenate([v[4] for v in sim.visits]) + b,
            "person_id": pid[who],
            "visit_concept_id": kind,
            "visit_start_date": _dates(start),
            "visit_end_date": _dates(end),
            "visit_type_concept_id": np.full(who.size, EHR, dtype=np.int32),
            "care_site_id": np.concatenate([v[3] for v in sim.visits]).astype(np.int64) + b,
            "visit_source_value": np.where(kind == INPATIENT, "IP", "OP"),
        }
    )
    conds = [c if len(c) == 5 else (*c, None) for c in sim.conds]
    who = np.concatenate([c[0] for c in conds])
    day = np.concatenate([c[1] for c in conds])
    vis = np.concatenate([c[4] + b if c[4] is not None else np.full(c[0].size, -1) for c in conds])
    t["condition_occurrence"] = pa.table(
        {
            "condition_occurrence_id": np.arange(1, who.size + 1, dtype=np.int64) + b,
            "person_id": pid[who],
            "condition_concept_id": np.concatenate([c[2] for c in conds]).astype(np.int32),
            "condition_start_date": _dates(day),
            "condition_type_concept_id": np.full(who.size, EHR, dtype=np.int32),
            "visit_occurrence_id": pa.array(vis, mask=vis < 0),
            "condition_source_value": np.char.add(
                "ICD10CM:", np.concatenate([c[3] for c in conds]).astype(str)
            ),
        }
    )
    who = np.concatenate([d[0] for d in sim.drugs])
    day = np.concatenate([d[1] for d in sim.drugs])
    t["drug_exposure"] = pa.table(
        {
            "drug_exposure_id": np.arange(1, who.size + 1, dtype=np.int64) + b,
            "person_id": pid[who],
            "drug_concept_id": np.concatenate([d[2] for d in sim.drugs]).astype(np.int32),
            "drug_exposure_start_date": _dates(day),
            "drug_exposure_end_date": _dates(np.concatenate([d[3] for d in sim.drugs])),
            "drug_type_concept_id": np.full(who.size, EHR, dtype=np.int32),
        }
    )
    who = np.concatenate([x[0] for x in sim.labs])
    concept = np.concatenate([x[2] for x in sim.labs]).astype(np.int32)
    lab_of = {v[0]: v for v in LABS.values()}
    units = np.vectorize(lambda c: lab_of[c][3], otypes=[np.int32])(np.unique(concept))
    unit = units[np.searchsorted(np.unique(concept), concept)]
    t["measurement"] = pa.table(
        {
            "measurement_id": np.arange(1, who.size + 1, dtype=np.int64) + b,
            "person_id": pid[who],
            "measurement_concept_id": concept,
            "measurement_date": _dates(np.concatenate([x[1] for x in sim.labs])),
            "measurement_type_concept_id": np.full(who.size, EHR, dtype=np.int32),
            "value_as_number": np.round(np.concatenate([x[3] for x in sim.labs]), 2),
            "unit_concept_id": unit,
        }
    )
    pw, pday, pc, pv = sim.procedures
    t["procedure_occurrence"] = pa.table(
        {
            "procedure_occurrence_id": np.arange(1, pw.size + 1, dtype=np.int64) + b,
            "person_id": pid[pw],
            "procedure_concept_id": pc.astype(np.int32),
            "procedure_date": _dates(pday),
            "procedure_type_concept_id": np.full(pw.size, EHR, dtype=np.int32),
            "visit_occurrence_id": pv + b,
        }
    )
    big = np.iinfo(np.int64).max // 4
    dead = np.flatnonzero(sim.death_final < big)
    t["death"] = pa.table(
        {
            "person_id": pid[dead],
            "death_date": _dates(sim.death_final[dead]),
            "death_type_concept_id": np.full(dead.size, EHR, dtype=np.int32),
        }
    )
    t["concept"], t["concept_ancestor"] = _vocabulary()
