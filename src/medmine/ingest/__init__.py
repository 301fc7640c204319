"""medmine.ingest stage."""
