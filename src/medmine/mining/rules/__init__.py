"""Association rules: FP-Growth on sparse transactions, rule metrics, constraints and FDR.

>>> from medmine.mining.rules import AssociationRuleMiner
>>> miner = AssociationRuleMiner(min_support=0.4, min_confidence=0.8, alpha=None)
>>> miner.fit([[0, 1], [0, 1], [0], [2]], item_names=["a", "b", "c"])
AssociationRuleMiner(alpha=None, min_confidence=0.8, min_support=0.4)
>>> miner.rules_[["confidence", "lift"]].round(2).values.tolist()
[[1.0, 1.33]]
"""

from medmine.mining.rules._fpgrowth import fpgrowth_counts, to_csr
from medmine.mining.rules._rules import (
    AssociationRuleMiner,
    benjamini_hochberg,
    fisher_greater,
    fpgrowth,
)
from medmine.mining.rules.transactions import (
    Transactions,
    claim_transactions,
    clinical_transactions,
    from_pairs,
)

__all__ = [
    "AssociationRuleMiner",
    "Transactions",
    "benjamini_hochberg",
    "claim_transactions",
    "clinical_transactions",
    "fisher_greater",
    "fpgrowth",
    "fpgrowth_counts",
    "from_pairs",
    "to_csr",
]
