"""A global platform across regions: replication, consistency, failover, data residency and cost (Exercise 06).

``simulate(MultiRegionConfig(...), seed=...)`` runs a platform's writes through its regions
(see :mod:`messagelab.multiregion.model`); :mod:`messagelab.multiregion.regions` holds the
regions, their published round-trip times and transfer prices; :mod:`messagelab.multiregion.crdt`
the conflict-free replicated data types that lose no concurrent update.
"""

from messagelab.multiregion.config import (
    CONFLICTS,
    DATA_CLASSES,
    KINDS,
    MODES,
    TOPOLOGIES,
    Dataset,
    MultiRegionConfig,
)
from messagelab.multiregion.model import OUTCOMES, MultiRegionResult, Timeline, residency_check, simulate

__all__ = ["CONFLICTS", "DATA_CLASSES", "KINDS", "MODES", "OUTCOMES", "TOPOLOGIES", "Dataset", "MultiRegionConfig",
           "MultiRegionResult", "Timeline", "residency_check", "simulate"]
