"""Which resource types the loader maps set-wise, and with which `SetwiseMapping`."""

from __future__ import annotations

from medmine.ingest.fhir._setwise import SetwiseMapping
from medmine.ingest.fhir._viewmap import condition_mapping
from medmine.ingest.fhir._viewmap_observation import observation_mapping


def setwise_mappings() -> dict[str, SetwiseMapping]:
    """Resource type -> `SetwiseMapping`, for the types the loader maps set-wise."""
    return {"Condition": condition_mapping(), "Observation": observation_mapping()}
