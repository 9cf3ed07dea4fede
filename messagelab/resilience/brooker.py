"""Brooker's backoff experiment: clients contending to update one row with optimistic concurrency.

The experiment of Marc Brooker, "Exponential Backoff And Jitter" (AWS Architecture Blog,
2015), as its simulator (aws-samples/aws-arch-backoff-simulator) runs it::

    client × N ──read──► row ──version──► client ──write(version)──► row ──ok / conflict──► client
       ▲                                                                                    │
       └───────────────────────── sleep backoff(attempt), then read again ◄─── conflict ────┘

Every client starts at once and wants to update the row exactly once. It reads the row's
version, then writes with that version; the write succeeds only if nobody wrote in
between (the row's version moves on), otherwise the client sleeps for its backoff and
starts again. Each message takes ``|Normal(10 ms, 2 ms)|`` on the network; backoff uses
base 5 ms and cap 2 s. The experiment counts **calls** (writes: the work the row did) and
the **completion time** (until the last client has written).

The article's findings, which :func:`compare` reproduces (``tests/test_resilience_fidelity.py``
asserts them at 10, 50 and 100 clients): exponential backoff *without* jitter is the clear
loser, making the most calls of all the backoffs and taking by far the longest, because
the clients that collided keep colliding; every jittered strategy makes far fewer calls;
full and decorrelated jitter are close, full jitter doing less work and decorrelated
finishing sooner; equal jitter does slightly more work than full jitter and takes longer.

>>> r = experiment(10, "full_jitter", seed=1)
>>> r.writes_succeeded, r.calls >= 10, 0 < r.completion_s < 2
(10, True, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import simpy

from messagelab.resilience.backoff import BACKOFFS, backoff_s
from messagelab.sim.budget import RunBudget
from messagelab.sim.budget import run as run_within_budget
from messagelab.sim.streams import Draws, streams

#: The article's parameters: network delay |Normal(mean, sd)|, backoff base and cap.
NETWORK_MEAN_S, NETWORK_SD_S = 0.010, 0.002
BASE_S, CAP_S = 0.005, 2.0
#: Simulated time after which a run is cut short (no strategy needs a tenth of it at 100 clients).
HORIZON_S = 3_600.0


@dataclass(frozen=True)
class ExperimentRun:
    """One run: writes attempted (``calls``), writes that succeeded, when the last client finished."""

    clients: int
    strategy: str
    calls: int
    writes_succeeded: int
    completion_s: float
    truncated: bool


class _Row:
    """The contended row: a version number, moved on by every successful write."""

    def __init__(self) -> None:
        self.version = 0
        self.writes = 0
        self.conflicts = 0

    def write(self, version: int) -> bool:
        self.writes += 1
        if version == self.version:
            self.version += 1
            return True
        self.conflicts += 1
        return False


class _Network:
    """One message's delay on the network: |Normal(10 ms, 2 ms)|, as the article's simulator draws it."""

    def __init__(self, normal: Draws) -> None:
        self.normal = normal

    def __call__(self) -> float:
        return abs(NETWORK_MEAN_S + NETWORK_SD_S * self.normal())


def client(env: simpy.Environment, row: _Row, strategy: str, network: _Network, jitter: Draws, done: list[float]):
    """Read, write, and on a conflict back off and try again, until one write succeeds."""
    attempt, sleep = 0, BASE_S
    while True:
        yield env.timeout(network())  # the read travels to the row
        version = row.version
        yield env.timeout(network() + network())  # the version comes back, the write travels
        ok = row.write(version)
        yield env.timeout(network())  # the answer comes back
        if ok:
            done.append(env.now)
            return
        attempt += 1
        sleep = backoff_s(strategy, attempt, base_s=BASE_S, cap_s=CAP_S, previous_s=sleep, u=jitter())
        yield env.timeout(sleep)


def experiment(clients: int, strategy: str, *, seed: int = 0, budget: RunBudget | None = None) -> ExperimentRun:
    """One run of the experiment with ``clients`` clients backing off by ``strategy`` (one of ``BACKOFFS``)."""
    if strategy not in BACKOFFS:
        raise ValueError(f"strategy {strategy!r}; allowed: {', '.join(BACKOFFS)}")
    if not 1 <= clients <= 1_000:
        raise ValueError(f"clients = {clients!r}: expected 1 to 1,000")
    rng = streams(seed, "network", "jitter")
    network, jitter = _Network(Draws(rng["network"], "standard_normal")), Draws(rng["jitter"])
    env, row, done = simpy.Environment(), _Row(), []
    for _ in range(clients):
        env.process(client(env, row, strategy, network, jitter, done))
    outcome = run_within_budget(env, HORIZON_S, budget or RunBudget())
    return ExperimentRun(clients, strategy, row.writes, len(done), max(done, default=float("nan")),
                         outcome.truncated or len(done) < clients)


def compare(clients: Iterable[int] = (10, 50, 100), strategies: Iterable[str] = BACKOFFS, *,
            replications: int = 20, seed: int = 0) -> pd.DataFrame:
    """Mean calls and completion time per (clients, strategy) over ``replications`` seeds, as the article plots.

    Seeds ``seed … seed + replications − 1`` are shared by every strategy (common random numbers).
    """
    rows = []
    for n in clients:
        for strategy in strategies:
            runs = [experiment(n, strategy, seed=seed + i) for i in range(replications)]
            rows.append((n, strategy, sum(r.calls for r in runs) / replications,
                         sum(r.completion_s for r in runs) / replications, any(r.truncated for r in runs)))
    return pd.DataFrame(rows, columns=["clients", "strategy", "calls", "completion_s", "truncated"])
