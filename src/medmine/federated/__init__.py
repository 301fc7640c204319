"""medmine.federated stage."""
