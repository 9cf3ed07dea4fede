"""Faults on a timeline: what goes wrong with which service, when, and how badly.

A fault is a plain tuple ``(kind, tier, start_s, duration_s, magnitude)``, so a design or a
scenario writes a schedule as data::

    (("errors", "gateway", 20, 10, 0.5),     # half of the gateway's answers are errors for 10 s
     ("brownout", "fraud", 40, 15, 8.0),     # the fraud check is 8 times slower
     ("outage", "gateway", 70, 5, 1.0),      # the gateway refuses every connection
     ("capacity_loss", "api", 80, 20, 0.5),  # half of the API's workers are gone
     ("slow", "gateway", 100, 30, 20.0))     # every gateway call hangs 20 s longer

``magnitude`` means, by kind (``FAULT_KINDS``):

* ``errors``: the probability that a piece of work ending in the window fails (on top of the
  tier's own error rate) — an error burst;
* ``brownout``: the factor on the latency of work starting in the window;
* ``slow``: seconds added to the latency of work starting in the window — a dependency so
  slow that its callers' threads wait on it (the start of a cascading failure);
* ``outage``: ignored (give 1): the tier refuses every request that reaches it in the window,
  and work that would end in it fails (connection reset);
* ``capacity_loss``: the fraction of the tier's workers that are gone; work in progress
  finishes, and no new work starts on a lost worker until the window ends.

>>> normalise([["brownout", "fraud", 5, 10, 3]])
(('brownout', 'fraud', 5.0, 10.0, 3.0),)
>>> check(normalise([{"kind": "outage", "tier": "gateway", "start_s": 5, "duration_s": 2, "magnitude": 1}]),
...       tiers=("api", "fraud", "gateway"), horizon_s=60)
>>> try:
...     check((("errors", "gateway", 5.0, 10.0, 1.5),), tiers=("api", "fraud", "gateway"), horizon_s=60)
... except ConfigError as e:
...     print(e)
faults[0].magnitude = 1.5 is not allowed: expected a number ≥ 0 and ≤ 1 (the probability that work fails)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from messagelab.sim.validation import ConfigError, check_choice, check_number

#: Each kind of fault, and what its magnitude is.
FAULT_KINDS = {
    "errors": "the probability that work fails",
    "brownout": "the factor on latency",
    "slow": "seconds added to latency",
    "outage": "ignored: give 1",
    "capacity_loss": "the fraction of workers lost",
}
#: Allowed magnitudes by kind: (low, high, low_open).
_MAGNITUDE = {
    "errors": (0.0, 1.0, False),
    "brownout": (1.0, 1_000.0, False),
    "slow": (0.0, 3_600.0, True),
    "outage": (0.0, 1.0, False),
    "capacity_loss": (0.0, 1.0, True),
}
_KEYS = ("kind", "tier", "start_s", "duration_s", "magnitude")

Fault = tuple[str, str, float, float, float]


def normalise(faults: Any) -> Any:
    """Faults given as lists or dicts, as a tuple of tuples; anything else is returned for :func:`check` to refuse."""
    if not isinstance(faults, list | tuple):
        return faults
    out = []
    for fault in faults:
        if isinstance(fault, dict) and set(fault) == set(_KEYS):
            fault = tuple(fault[k] for k in _KEYS)
        if isinstance(fault, list | tuple) and len(fault) == len(_KEYS):
            kind, tier, *numbers = fault
            fault = (kind, tier, *(float(x) if _is_number(x) else x for x in numbers))
        out.append(fault)
    return tuple(out)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def check(faults: Any, *, tiers: Sequence[str], horizon_s: float) -> None:
    """Raise ConfigError naming the first fault, and the part of it, that is not allowed."""
    shape = "a tuple of (kind, tier, start_s, duration_s, magnitude) faults, e.g. (('outage', 'gateway', 20, 10, 1),)"
    if not isinstance(faults, tuple):
        raise ConfigError("faults", faults, shape)
    if len(faults) > 50:
        raise ConfigError("faults", f"{len(faults)} faults", "at most 50 faults")
    for i, fault in enumerate(faults):
        if not isinstance(fault, tuple) or len(fault) != len(_KEYS):
            raise ConfigError(f"faults[{i}]", fault, "(kind, tier, start_s, duration_s, magnitude)")
        kind, tier, start, duration, magnitude = fault
        check_choice(f"faults[{i}].kind", kind, tuple(FAULT_KINDS))
        check_choice(f"faults[{i}].tier", tier, tuple(tiers))
        check_number(f"faults[{i}].start_s", start, 0, horizon_s, unit="s")
        check_number(f"faults[{i}].duration_s", duration, 0, 86_400, low_open=True, unit="s")
        low, high, low_open = _MAGNITUDE[kind]
        check_number(f"faults[{i}].magnitude", magnitude, low, high, low_open=low_open, unit=f"({FAULT_KINDS[kind]})")


class Timeline:
    """One tier's faults, looked up by time. Windows are half-open: [start, start + duration)."""

    __slots__ = ("errors", "brownout", "slow", "outage", "capacity_loss", "ends")

    def __init__(self, faults: Sequence[Fault], tier: str) -> None:
        mine = [f for f in faults if f[1] == tier]
        for kind in FAULT_KINDS:
            setattr(self, kind, tuple((s, s + d, m) for k, _, s, d, m in mine if k == kind))
        #: When a capacity loss ends: its workers come back and waiting work may start.
        self.ends = tuple(sorted({end for _, end, _ in self.capacity_loss}))

    def __bool__(self) -> bool:
        return bool(self.errors or self.brownout or self.slow or self.outage or self.capacity_loss)

    def error_probability(self, now_s: float, base: float) -> float:
        """The chance that work ending at ``now_s`` fails: the tier's own and every burst's, independently."""
        ok = 1.0 - base
        for start, end, p in self.errors:
            if start <= now_s < end:
                ok *= 1.0 - p
        return 1.0 - ok

    def latency_s(self, now_s: float, latency_s: float) -> float:
        """The latency of work starting at ``now_s`` that would take ``latency_s`` on a good day."""
        for start, end, factor in self.brownout:
            if start <= now_s < end:
                latency_s *= factor
        for start, end, extra in self.slow:
            if start <= now_s < end:
                latency_s += extra
        return latency_s

    def down(self, now_s: float) -> bool:
        return any(start <= now_s < end for start, end, _ in self.outage)

    def capacity(self, now_s: float, workers: int) -> int:
        """Workers left at ``now_s``: the worst capacity loss in effect decides."""
        lost = max((f for start, end, f in self.capacity_loss if start <= now_s < end), default=0.0)
        return workers - math.ceil(workers * lost - 1e-9) if lost else workers


def last_end_s(faults: Sequence[Fault]) -> float:
    """When the last fault ends (NaN without faults)."""
    return max((s + d for _, _, s, d, _ in faults), default=math.nan)
