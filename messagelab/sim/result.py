"""The base every domain's result derives from: a summary with units, how the run ended, invariants.

A result is what a student reads off a run and what a grade is computed from, so it must
say what its numbers mean (``units``), whether the run reached its horizon or was stopped
by its budget (``truncated``), and that its own accounting adds up (``check_invariants``):
a model that loses a message silently would teach the wrong lesson.

>>> from dataclasses import dataclass
>>> from messagelab.sim.budget import RunOutcome
>>> @dataclass
... class PipeResult(SimResult):
...     units = {"delivered": "messages", "latency_p99_s": "s"}
...     def check_invariants(self) -> None:
...         assert self.summary["delivered"] >= 0, "a negative delivery count"
>>> r = PipeResult(summary={"delivered": 12, "latency_p99_s": 0.8}, outcome=RunOutcome(40, 0.01, 60.0, False))
>>> r.truncated
False
>>> r.summary_table()
          metric value      unit
0      delivered    12  messages
1  latency_p99_s   0.8         s
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from messagelab.sim.budget import RunOutcome


@dataclass
class SimResult(ABC):
    """Base of a domain's ``XxxResult``; subclasses are declared with ``@dataclass``.

    A subclass adds its tables (time series, per-message records) as pandas DataFrames,
    sets ``units`` for every key of its summary and implements :meth:`check_invariants`.
    """

    #: Headline metrics of the run, by name (a pandas Series or a dict).
    summary: pd.Series | Mapping[str, Any]
    #: How the run ended: events processed, wall time, simulated time, whether truncated.
    outcome: RunOutcome
    #: The unit of every summary metric (``"s"``, ``"msg/s"``, ``"USD/day"``, ``"fraction"``).
    units: ClassVar[Mapping[str, str]] = {}

    @property
    def truncated(self) -> bool:
        """True when the budget stopped the run before its horizon (a backlog without bound, usually)."""
        return self.outcome.truncated

    @abstractmethod
    def check_invariants(self) -> None:
        """Raise AssertionError naming every accounting rule the run broke; return if all hold."""

    def summary_table(self) -> pd.DataFrame:
        """The summary as rows of (metric, value, unit), for a table beside a chart."""
        # object dtype keeps counts as ints and flags as bools beside float metrics.
        summary = pd.Series(self.summary, dtype=object)
        return pd.DataFrame({
            "metric": summary.index,
            "value": summary.to_numpy(),
            "unit": [self.units.get(metric, "") for metric in summary.index],
        })
