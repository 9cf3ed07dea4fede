"""messagelab: the simulations, explorers and grading behind the course notebooks.

Every domain (``queues``, ``microservices``, ``streaming`` …) follows one contract:
a frozen, validated ``Config``; a pure, seeded ``simulate(config, seed=…)``; a ``Result``
with a ``summary``, pandas tables and a check of its own invariants.
"""

import sys

# A kernel's first chart imports nbformat (through plotly's renderers), and nbformat imports
# jsonschema, which builds some thirty Earley parsers for the "iri" format at import when
# rfc3987-syntax is installed (JupyterLab's jupyter-events installs it): 2.3 s before the
# first explorer appears, for a format check nothing in a notebook makes. Where jsonschema
# has not been imported yet, it is told that module is absent, and skips that one format.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

from messagelab.sim.validation import ConfigError  # noqa: E402

__all__ = ["ConfigError"]
__version__ = "0.1.0"
