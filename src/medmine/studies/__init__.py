"""medmine.studies stage."""
