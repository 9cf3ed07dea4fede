"""messagelab: the simulations, explorers and grading behind the course notebooks.

Every domain (``queues``, ``microservices``, ``streaming`` …) follows one contract:
a frozen, validated ``Config``; a pure, seeded ``simulate(config, seed=…)``; a ``Result``
with a ``summary``, pandas tables and a check of its own invariants.
"""

from messagelab.sim.validation import ConfigError

__all__ = ["ConfigError"]
__version__ = "0.1.0"
