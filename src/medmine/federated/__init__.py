"""Training across sites that keep their data: FedAvg, FedProx, federated boosting, DP.

Only model parameters cross a site boundary: every message goes through a `Transport` as a
list of NumPy arrays plus a flat config/metrics dict (Flower's format), and `audit` checks
a recorded conversation for anything shaped like a person's row, id or date. The Flower
adapter (`medmine.federated.flower`, extra ``medmine[federated]``) runs the same clients and
strategies on Flower.

>>> from medmine.federated import FedAvg, InProcessTransport, run_federated, split_sites
"""

from medmine.federated.audit import AuditFinding, audit
from medmine.federated.boosting import BoostingClient, TreeEnsemble, run_boosting
from medmine.federated.client import LogisticClient
from medmine.federated.dp import epsilon_spent, noise_multiplier
from medmine.federated.experiment import (
    Comparison,
    FederatedConfig,
    StudyData,
    compare,
    make_clients,
    study_data,
)
from medmine.federated.sites import SPLITS, SiteSplit, split_sites
from medmine.federated.strategy import FedAvg, FedProx, LogisticModel, aggregate, run_federated
from medmine.federated.transport import Envelope, FitRes, InProcessTransport, Transport

__all__ = [
    "SPLITS",
    "AuditFinding",
    "BoostingClient",
    "Comparison",
    "Envelope",
    "FedAvg",
    "FedProx",
    "FederatedConfig",
    "FitRes",
    "InProcessTransport",
    "LogisticClient",
    "LogisticModel",
    "SiteSplit",
    "StudyData",
    "Transport",
    "TreeEnsemble",
    "aggregate",
    "audit",
    "compare",
    "epsilon_spent",
    "make_clients",
    "noise_multiplier",
    "run_boosting",
    "run_federated",
    "split_sites",
    "study_data",
]
