"""Evaluate a design against business targets and say, in plain words, why it fails.

A design is plain data — a dict of numbers, strings, booleans and None — so that it can be
checked again outside the student's kernel. ``evaluate`` runs the course's own simulator on
the design under several seeds and compares the worst run with each target: the grade is
what the student saw in the explorer, under more seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from messagelab.sim.validation import ConfigError

_NUMPY_INTS = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)


@dataclass(frozen=True)
class Target:
    """A business target on one headline metric of a run's summary."""

    metric: str
    limit: float
    label: str
    unit: str = ""
    at_most: bool = True
    hint: str = ""

    def met(self, value: float) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        return value <= self.limit if self.at_most else value >= self.limit

    def describe(self) -> str:
        sign = "≤" if self.at_most else "≥"
        return f"{self.label} {sign} {self.limit:g}{(' ' + self.unit) if self.unit else ''}"


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
            line = (f"- {row['target']}: worst run gave {_fmt(row['worst'])}{row['unit_sp']}"
                    f" (seed {row['worst_seed']}).")
            if row["hint"]:
                line += f" {row['hint']}"
            lines.append(line)
        return "\n".join(lines)


def _fmt(x: Any) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def plain(name: str, value: Any) -> Any:
    """``value`` as plain data (bool, int, float, str or None), or a clear failure.

    Numbers are copied out through the built-in types' own methods (numpy scalars are
    welcome), so an object with a doctored ``__eq__`` or ``__float__`` earns nothing.
    """
    kind = type(value)
    if kind is bool or kind is str or value is None:
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value.item()) if kind is np.bool_ else value
    if isinstance(value, float):
        value = float.__float__(value)
    elif isinstance(value, int):
        value = int.__int__(value)
    elif kind in _NUMPY_INTS:
        value = int(value.item())
    else:
        raise AssertionError(
            f"{name} must be a plain number, string, True/False or None, not {kind.__name__}"
        )
    if type(value) is float and not math.isfinite(value):
        raise AssertionError(f"{name} = {value!r} is not a finite number")
    return value


def plain_number(name: str, value: Any) -> float:
    """A finite int or float answer, as a float."""
    value = plain(name, value)
    if type(value) not in (int, float):
        raise AssertionError(f"{name} must be a number, got {value!r}")
    return float(value)


def check_close(name: str, value: Any, expected: float, rel_tol: float = 0.05, hint: str = "") -> None:
    """Assert a numeric answer is within ``rel_tol`` of ``expected``; the message says how far."""
    x = plain_number(name, value)
    if not math.isclose(x, expected, rel_tol=rel_tol):
        off = (x - expected) / expected if expected else float("inf")
        raise AssertionError(
            f"{name} = {x:g} is {abs(off):.0%} {'above' if off > 0 else 'below'} the value the "
            f"numbers give (tolerance ±{rel_tol:.0%}). {hint}".rstrip()
        )


def check_between(name: str, value: Any, low: float, high: float, hint: str = "") -> None:
    """Assert ``low <= value <= high`` for a numeric answer, explaining which side it missed."""
    x = plain_number(name, value)
    if x < low:
        raise AssertionError(f"{name} = {x:g} is too small: it should be at least {low:.3g}. {hint}".rstrip())
    if x > high:
        raise AssertionError(f"{name} = {x:g} is too large: it should be at most {high:.3g}. {hint}".rstrip())


def design_changes(design: Any, allowed: Iterable[str]) -> dict[str, Any]:
    """Validate a design dict: only the design's own fields, each a plain value."""
    if type(design) is not dict:
        raise AssertionError(f"the design must be a dict of settings, not {type(design).__name__}")
    allowed = tuple(allowed)
    changes = {}
    for key, value in design.items():
        if type(key) is not str or key not in allowed:
            raise AssertionError(
                f"{key!r} is not a design setting here; the settings you choose are: "
                + ", ".join(allowed)
                + " (the workload and faults belong to the scenario)"
            )
        changes[key] = plain(key, value)
    return changes


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
            "unit_sp": f" {t.unit}" if t.unit else "",
            "hint": t.hint,
        })
    return Evaluation(pd.DataFrame(rows), results)


def _badness(t: Target, v: float) -> float:
    if math.isnan(v):
        return math.inf
    return v if t.at_most else -v


def report(evaluation: Evaluation) -> pd.DataFrame:
    """A table for students: target, worst value, met."""
    t = evaluation.table
    return pd.DataFrame({
        "target": t["target"],
        "worst run": [f"{_fmt(w)}{u}" for w, u in zip(t["worst"], t["unit_sp"], strict=True)],
        "met": t["met"].map({True: "yes", False: "NO"}),
    })


def require(evaluation: Evaluation) -> None:
    """Raise AssertionError with the explanation unless every target is met."""
    if not evaluation.passed:
        raise AssertionError(evaluation.explain())


def config_from(base: Any, changes: Mapping[str, Any]) -> Any:
    """``base.replace(**changes)`` turning a ConfigError into a student-readable failure."""
    try:
        return base.replace(**changes)
    except ConfigError as e:
        raise AssertionError(f"the design is not a valid configuration: {e}") from None
