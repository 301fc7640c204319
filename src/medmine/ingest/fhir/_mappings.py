"""Which resource types the loader maps set-wise, and with which `SetwiseMapping`."""

from __future__ import annotations

from medmine.ingest.fhir._setwise import SetwiseMapping
from medmine.ingest.fhir._viewmap import condition_mapping
from medmine.ingest.fhir._viewmap_observation import observation_mapping
from medmine.ingest.fhir._viewmap_procedure import procedure_mapping


def setwise_mappings() -> dict[str, SetwiseMapping]:
    """Resource type -> `SetwiseMapping`, for the types the loader maps set-wise.

    Only the types whose set-wise SQL costs about what the per-resource mapper costs
    (measured, docs/ingest-fhir.md): Condition, Observation, Procedure. The other mappings
    exist and are tested (`_viewmap_allergy.allergy_mapping`, `_viewmap_note.note_mappings`,
    `_viewmap_drug.drug_mappings`) but the loader does not use them: DocumentReference costs
    twice the per-resource mapper (base64 decoding in SQL, 214 us per resource against about
    60 us for the whole per-resource load of one), AllergyIntolerance is all fixed cost (1,112
    resources in 1.0 CPU-s at 1M resources), most DiagnosticReports are skipped by design
    (no text), which `_setwise` does not count, and the drug SQL raises on a days supply that
    overflows an INT (an error inside the load's transaction would abort the whole load).
    """
    return {
        "Condition": condition_mapping(),
        "Observation": observation_mapping(),
        "Procedure": procedure_mapping(),
    }
