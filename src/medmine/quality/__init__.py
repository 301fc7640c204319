"""medmine.quality stage."""
