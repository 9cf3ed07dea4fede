"""Evaluate a design against business targets and say, in plain words, why it fails.

``evaluate`` runs the course's own simulator on a design under several seeds and compares
the worst run with each target: the grade is what the student saw in the explorer, under
more seeds. ``report`` is the table a student reads; ``require`` is what a test cell calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from messagelab.sim.display import fmt, text_table
from messagelab.sim.scenario import Target


@dataclass
class Evaluation:
    """The outcome of a design under every seed: a row per target, worst case first."""

    table: pd.DataFrame
    results: list[Any] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.table["met"].all())

    def explain(self) -> str:
        missed = self.table[~self.table["met"]]
        if missed.empty:
            return f"All {len(self.table)} targets met under every seed tried."
        lines = [f"The design misses {len(missed)} of {len(self.table)} targets:"]
        for _, row in missed.iterrows():
            line = f"- {row['target']}: worst run gave {worst_text(row)} (seed {row['worst_seed']})."
            if row["hint"]:
                line += f" {row['hint']}"
            lines.append(line)
        return "\n".join(lines)


def evaluate(
    simulate: Callable[..., Any],
    config: Any,
    targets: Sequence[Target],
    seeds: Sequence[int] = (0, 1, 2),
) -> Evaluation:
    """Simulate ``config`` under each seed and compare the worst run with every target."""
    results = [simulate(config, seed=s) for s in seeds]
    rows = []
    for t in targets:
        values = [float(r.summary[t.metric]) for r in results]
        worst_i = max(range(len(values)), key=lambda i: _badness(t, values[i]))
        rows.append({
            "target": t.describe(),
            "metric": t.metric,
            "worst": values[worst_i],
            "worst_seed": seeds[worst_i],
            "met": all(t.met(v) for v in values),
            "unit": t.unit,
            "missing": t.missing,
            "hint": t.hint,
            "required": t.required,
            "label": t.label,
            "limit": t.limit,
            "at_most": t.at_most,
        })
    return Evaluation(pd.DataFrame(rows), results)


def worst_text(row: Any) -> str:
    """The worst value of a target's row, as people read it (the target's ``missing`` text for NaN)."""
    if row.get("required", False):
        return "yes" if row["worst"] else "no"
    return fmt(row["worst"], row["unit"], missing=row["missing"])


def _badness(t: Target, v: float) -> float:
    if math.isnan(v):
        return math.inf
    if t.required:
        return 0.0 if v else 1.0
    return v if t.at_most else -v


def report_frame(evaluation: Evaluation) -> pd.DataFrame:
    """A table for students: target, worst value, met."""
    t = evaluation.table
    return pd.DataFrame({
        "target": t["target"],
        "worst run": [worst_text(row) for _, row in t.iterrows()],
        "met": t["met"].map({True: "yes", False: "NO"}),
    })


def report(evaluation: Evaluation) -> Any:
    """:func:`report_frame` for a notebook, every target's sentence in full (a pandas Styler)."""
    return text_table(report_frame(evaluation))


def require(evaluation: Evaluation) -> None:
    """Raise AssertionError with the explanation unless every target is met."""
    if not evaluation.passed:
        raise AssertionError(evaluation.explain())
