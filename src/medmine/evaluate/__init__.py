"""medmine.evaluate stage."""
