"""medmine.privacy stage."""
