"""The model contract: what every domain's ``Config``, ``simulate`` and ``Result`` promise.

Every domain — ``queues``, ``microservices``, ``streaming`` … — is the same picture::

    slider / design cell ──► XxxConfig ──► simulate(config, seed=…, budget=…) ──► XxxResult
                             frozen,        pure, seeded, bounded                 summary with units,
                             validated                                            tables, invariants

and keeps the same promises, so that the explorer, the student's design and the hidden
tests can share one ``simulate`` and the grade is what the student saw:

1. **A config is a frozen, validated value.** Field names carry units
   (``visibility_timeout_s``). A value the real system refuses raises
   :class:`~messagelab.sim.validation.ConfigError` naming the field, the value and what is
   allowed, on construction and on ``replace`` (which also refuses an unknown field).
   ``type(c)(**c.to_dict()) == c``. Derive from :class:`~messagelab.sim.config.FrozenConfig`.
2. **Determinism per (config, seed).** ``simulate`` is a pure function: the same config
   and seed give the same summary and tables on every machine, and another seed is
   another day of the same workload.
3. **One named random stream per source of randomness**, from
   :func:`messagelab.sim.streams.streams` (``"arrivals"``, ``"service"``, ``"faults"`` …).
   Streams are keyed by name, so adding a source never shifts what another draws.
4. **Common random numbers.** Because each source has its own stream, two designs run
   under one seed see the same arrivals and the same faults: moving a design slider changes
   only what the design changed, and a comparison of two designs is not drowned in noise.
5. **A budget turns any setting into an answer.** Every run goes through
   :func:`messagelab.sim.budget.run` with a :class:`~messagelab.sim.budget.RunBudget`; an
   absurd setting (arrivals above capacity for a week) comes back as a result with
   ``truncated`` set and ``outcome.reason`` saying why, never as a hang.
6. **Invariants are checked on every result.** ``check_invariants()`` raises an
   AssertionError naming each accounting rule the run broke (every message produced is
   delivered, dead-lettered, expired or still queued — nothing silently lost); the
   contract suite calls it on every result it produces, a truncated one included.
7. **The summary has units.** ``units`` gives a unit string for every summary metric, and
   ``summary_table()`` shows them side by side. Derive from :class:`~messagelab.sim.result.SimResult`.

``tests/contract.py`` checks all of this for a domain that subclasses its suite, as the
``eventsourcing`` library runs one suite against every persistence backend.

The protocols below are structural: the bases satisfy them, and
``isinstance(x, Config)`` / ``isinstance(x, Result)`` check that the methods exist (not
their signatures, which is what the contract suite is for).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, Self, TypeVar, runtime_checkable

import pandas as pd

from messagelab.sim.budget import RunBudget, RunOutcome


@runtime_checkable
class Config(Protocol):
    """A frozen, validated configuration (promise 1)."""

    def replace(self, **changes: Any) -> Self:
        """A validated copy with ``changes``; ConfigError for a bad value or an unknown field."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """Every field by name, such that ``type(c)(**c.to_dict()) == c``."""
        ...


@runtime_checkable
class Result(Protocol):
    """What one run produced (promises 5 to 7)."""

    summary: pd.Series | Mapping[str, Any]
    units: Mapping[str, str]
    outcome: RunOutcome

    @property
    def truncated(self) -> bool:
        """True when the budget stopped the run before its horizon."""
        ...

    def check_invariants(self) -> None:
        """Raise AssertionError naming every broken invariant."""
        ...

    def summary_table(self) -> pd.DataFrame:
        """The summary as rows of (metric, value, unit)."""
        ...


C_contra = TypeVar("C_contra", bound=Config, contravariant=True)
R_co = TypeVar("R_co", bound=Result, covariant=True)


class Model(Protocol[C_contra, R_co]):
    """A domain's ``simulate``: pure, seeded, bounded (promises 2 to 5).

    ``Model[QueueConfig, QueueResult]`` is the type of :func:`messagelab.queues.simulate`.
    ``budget=None`` means the default :class:`~messagelab.sim.budget.RunBudget`.
    """

    def __call__(self, config: C_contra, /, *, seed: int = 0, budget: RunBudget | None = None) -> R_co:
        ...
