"""Run budgets: no setting can make a simulation hang.

A run stops at its horizon, or earlier when it has processed ``max_events`` simpy events
or used ``max_wall_s`` seconds of real time. A stopped run is an answer, not an error:
the result says that it was truncated and why (usually a backlog growing without bound
because arrivals outpace capacity).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass

import simpy

# simpy keeps its event queue in this attribute; reading it directly keeps the loop cheap.
_QUEUE = "_queue"


@dataclass(frozen=True)
class RunBudget:
    """Limits for one simulation run."""

    max_events: int = 2_000_000
    max_wall_s: float = 20.0

    def __post_init__(self) -> None:
        if self.max_events < 1 or self.max_wall_s <= 0:
            raise ValueError(f"budget must be positive, got {self}")


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: at its horizon, or stopped by the budget."""

    events: int
    wall_s: float
    sim_time_s: float
    truncated: bool
    reason: str = ""


def run(env: simpy.Environment, until: float, budget: RunBudget = RunBudget()) -> RunOutcome:
    """Advance ``env`` to simulated time ``until`` within ``budget``.

    Equivalent to ``env.run(until)`` when the budget is not reached: events scheduled at
    exactly ``until`` are left unprocessed. The wall clock is read at most every 1,024 events
    (more often while events are slow), so that the check costs almost nothing.

    Python's cycle collector is paused while the events run: a run allocates events by the
    ten thousand, each freed by reference counting as soon as it is processed, and the
    collector's passes over them were pure cost — and the spikes in a slider's answer time.
    It runs again, and collects whatever cycles the run left, as soon as the run ends.
    """
    with collector_paused():
        return _run(env, until, budget)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector inside the block (as it was before, after it)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _run(env: simpy.Environment, until: float, budget: RunBudget) -> RunOutcome:
    start = last = time.perf_counter()
    queue = getattr(env, _QUEUE)
    step = env.step
    events = 0
    max_events = budget.max_events
    # The clock is read every ``mask + 1`` events: at first every event, then, while checks
    # come less than a millisecond apart, ever more rarely, up to every 1,024, and more often
    # again when they come more than 10 ms apart (a model whose
    # events each move a whole tick of flows is checked often, a cheap one almost never).
    mask = 0
    while queue and queue[0][0] < until:
        step()
        events += 1
        if events >= max_events or events & mask == 0:
            now = time.perf_counter()
            wall = now - start
            if events >= max_events or wall >= budget.max_wall_s:
                why = (
                    f"event budget of {budget.max_events:,} reached"
                    if events >= budget.max_events
                    else f"wall-clock budget of {budget.max_wall_s:g} s reached"
                )
                return RunOutcome(events, wall, env.now, True, why)
            if now - last < 1e-3 and mask < 1023:
                mask = mask * 2 + 1
            elif now - last > 1e-2:
                mask >>= 1
            last = now
    if env.now < until:
        # Nothing left to happen before the horizon: time simply passes.
        env._now = until  # noqa: SLF001 — simpy has no public setter for an idle clock
    return RunOutcome(events, time.perf_counter() - start, env.now, False)
