"""Business scenarios: a workload with its faults, the design a student starts from, targets.

A scenario is what an assignment asks a design to survive. Its ``config`` holds the
workload and faults (and a starting design); ``design_fields`` name the settings a student
chooses, everything else belongs to the scenario; ``targets`` are the business needs the
design is graded against; ``variants`` are named changes to the workload (an unforecast
surge, a burst of malformed messages) that hidden tests replay the design under.

>>> t = Target("latency_p99_s", 10.0, "p99 order confirmation time", "s")
>>> t.describe(), t.met(9.5), t.met(float("nan"))
('p99 order confirmation time ≤ 10 s', True, False)
>>> ordered = Target("per_key_order", 1, "each sensor's readings in order", required=True)
>>> ordered.describe(), ordered.met(True), ordered.met(False)
("each sensor's readings in order: required", True, False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from messagelab.sim.display import text_table


@dataclass(frozen=True)
class Target:
    """A business target on one headline metric of a run's summary."""

    metric: str
    limit: float
    label: str
    unit: str = ""
    at_most: bool = True
    hint: str = ""
    #: What a run without a value (NaN: the event never happened) reads as in feedback.
    missing: str = "never"
    #: A yes-or-no property (a summary flag) that must hold: ``limit`` is ignored.
    required: bool = False

    def met(self, value: float | None) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.required:
            return bool(value)
        return value <= self.limit if self.at_most else value >= self.limit

    def describe(self) -> str:
        if self.required:
            return f"{self.label}: required"
        sign = "≤" if self.at_most else "≥"
        # Large limits with thousands separators: 1,194,000 events/s, not 1.194e+06.
        limit = f"{self.limit:,.0f}" if abs(self.limit) >= 1000 else f"{self.limit:g}"
        return f"{self.label} {sign} {limit}{(' ' + self.unit) if self.unit else ''}"


@dataclass(frozen=True)
class Scenario:
    """A workload and faults (``config``), the settings a student designs, business targets."""

    name: str
    config: Any
    targets: tuple[Target, ...]
    design_fields: tuple[str, ...]
    #: Named changes to ``config`` that replay the design under another day (hidden tests).
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        known = set(self.config.to_dict())
        for name in self.design_fields:
            if name not in known:
                raise ValueError(f"{self.name}: design field {name!r} is not a field of {type(self.config).__name__}")
        for variant, changes in self.variants.items():
            for name in changes:
                if name not in known or name in self.design_fields:
                    raise ValueError(f"{self.name}: variant {variant!r} changes {name!r}, not a workload field")

    def targets_frame(self) -> pd.DataFrame:
        """The business targets as a table."""
        return targets_frame(self.targets)

    def targets_table(self) -> Any:
        """The targets for a notebook, every sentence in full (a pandas Styler)."""
        return text_table(self.targets_frame())


def targets_frame(targets: tuple[Target, ...]) -> pd.DataFrame:
    """Targets as a table: each in words, and the summary metric it reads."""
    return pd.DataFrame({"target": [t.describe() for t in targets], "metric": [t.metric for t in targets]})
