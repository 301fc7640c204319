"""medmine.features stage."""
