"""medmine.mining stage."""
