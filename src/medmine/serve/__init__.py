"""medmine.serve stage."""
