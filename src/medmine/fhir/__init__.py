"""FHIR standards medmine implements on its own engines (SQL on FHIR v2 views)."""
