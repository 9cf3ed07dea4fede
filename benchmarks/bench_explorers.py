"""Explorer benchmarks: slider response, headline confidence, and speed against plain simpy.

DESIGN.md's budgets: an explorer answers a slider move in ≤ 100 ms at its default settings,
and its headline metric is tight enough to trust (95% confidence half-width ≤ 5% of the
mean). Everything below is measured in one process, so the ratios compare like with like:

1. each explorer's update time (simulate + figure batch update + summary) over repeated
   slider moves around its defaults, p50 and p95 against the 100 ms budget;
2. the default scenario's headline metric over several seeds, with its 95% confidence
   interval against the 5% budget;
3. messages simulated per second by ``messagelab.queues.simulate`` on the default scenario;
4. the same number of messages through the plainest simpy M/M/c model at the scenario's
   average load, and the ratios of messagelab's time to it. The event store's explorers
   simulate nothing (they read measured costs, or a store), so their ratio is to that
   generic M/M/c run, as the report says.

Beside (1) it prints the same move timed end to end in headless Chromium (key press on the
slider → the chart's new trace data in the page, budget p95 ≤ 250 ms). This script does not
start a browser: it reads ``build/browser-timing.json``, which ``tests/test_browser.py``
(run by ``make test``) writes, and says when that file was written.

A missed budget is printed as an ``OVER BUDGET`` line; the exit status stays 0 because this
is a measurement, not a test. From the repository root::

    python benchmarks/bench_explorers.py            # or: python -m benchmarks.bench_explorers

Results are also written as JSON to ``build/benchmarks/explorers.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from itertools import cycle
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from messagelab.assignments import ex02, ex03, ex05, ex06, lab1, lab4
from messagelab.assignments.ex01 import LATENCY_TARGET_S
from messagelab.assignments.ex01 import SCENARIO as BLACK_FRIDAY
from messagelab.eventstore.clock import CLOCK
from messagelab.eventstore.explorer import SnapshotExplorer, TimelineExplorer
from messagelab.eventstore.trading import Trading
from messagelab.explore import Explorer
from messagelab.microservices.explorer import FlowExplorer, SagaExplorer
from messagelab.microservices.saga import SagaConfig
from messagelab.microservices.saga import simulate as saga_simulate
from messagelab.multiregion import MultiRegionConfig
from messagelab.multiregion import simulate as multiregion_simulate
from messagelab.queues import QueueConfig, simulate
from messagelab.queues.explorer import HEADLINE as QUEUE_HEADLINE
from messagelab.queues.explorer import QueueExplorer
from messagelab.resilience import ResilienceConfig
from messagelab.resilience import simulate as resilience_simulate
from messagelab.resilience.explorer import ResilienceExplorer
from messagelab.sim.stats import mean_ci
from messagelab.streaming import StreamConfig
from messagelab.streaming import simulate as stream_simulate
from messagelab.streaming.explorer import ClusterExplorer
from messagelab.streaming.tuning import PRIME_TIME, TuningExplorer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "build" / "benchmarks" / "explorers.json"
#: Written by tests/test_browser.py; read here, never produced here.
BROWSER_TIMING = ROOT / "build" / "browser-timing.json"
BROWSER_TIMING_HOW = (
    "make test, or: CI=true .venv/bin/python -m pytest -p no:cacheprovider tests/test_browser.py "
    "(needs /usr/bin/chromium)"
)

UPDATE_BUDGET_MS = 100.0
BROWSER_BUDGET_MS = 250.0
RELATIVE_HALF_WIDTH_BUDGET = 0.05

#: The default scenario whose headline metric, speed and baseline load are measured.
SCENARIO = BLACK_FRIDAY
#: The explorer's own headline (p99 confirmation time); the mean is reported beside it.
HEADLINE = QUEUE_HEADLINE
ALSO_REPORTED = ("latency_mean_s",)


# --- explorers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExplorerCase:
    """An explorer to time: how to build it at its defaults, and the slider moves to replay."""

    name: str
    build: Callable[[], Explorer]
    moves: Sequence[tuple[str, Any]]
    #: The browser test's case (key in build/browser-timing.json) that drives this explorer.
    browser_case: str | None = None
    #: Times a plain simpy model carrying the explorer's own message load: repeats -> a dict
    #: with ``messages``, ``median_s`` and ``model``; None for the queue scenario's M/M/c below.
    baseline: Callable[[int], dict[str, Any]] | None = None
    #: A move that makes the explorer recompute what its other moves reuse (a new sweep), timed
    #: once after them and reported beside the budget, not in it.
    cold_move: tuple[str, Any] | None = None
    #: False for an explorer that runs no simulation (it reads measurements or a store): it has
    #: no load of its own to run in plain simpy, and is compared with the generic M/M/c run.
    simulates: bool = True


def median_seconds(run: Callable[[], Any], repeats: int) -> float:
    """The median wall time of ``repeats`` calls of ``run``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _neighbours(name: str, default: Any, step: Any) -> list[tuple[str, Any]]:
    """Up one step, back, down one step, back: every move changes the value."""
    return [(name, default + step), (name, default), (name, default - step), (name, default)]


_Q = SCENARIO.config
_SAGA = ex02.SCENARIO.config
_FLOW = lab1.SCENARIO.config
_PAY = ex05.SCENARIO.config


def saga_baseline(repeats: int = 5, seed: int = 0, config: SagaConfig = _SAGA) -> dict[str, Any]:
    """The saga scenario's deliveries through the plainest simpy model of a bus and services.

    As many messages as one default saga run of ``config`` delivers, arriving as a Poisson
    stream over its sending window; each waits its bus latency, then holds one of its service's handlers for
    an exponential handling time. No saga, no faults: the cost of simpy itself for that load.
    """
    run = saga_simulate(config, seed=seed)
    per_service = run.deliveries["receiver"].value_counts()
    messages = int(per_service.sum())
    services = list(per_service.index)
    weights = (per_service / messages).to_numpy()

    def once() -> None:
        rng = np.random.default_rng(seed)
        env = simpy.Environment()
        handlers = {name: simpy.Resource(env, capacity=config.service_workers) for name in services}
        targets = rng.choice(len(services), size=messages, p=weights)

        def message(service: str):
            yield env.timeout(rng.exponential(config.bus_latency_s))
            with handlers[service].request() as request:
                yield request
                yield env.timeout(rng.exponential(config.service_time_s))

        def source():
            for target in targets:
                yield env.timeout(rng.exponential(config.duration_s / messages))
                env.process(message(services[target]))

        env.process(source())
        env.run()

    return {"model": "plain simpy bus: Poisson messages, latency, c handlers per service",
            "messages": messages, "repeats": repeats, "median_s": median_seconds(once, repeats)}


def chain_baseline(repeats: int = 5, seed: int = 0, config: ResilienceConfig = lab4.SCENARIO.config) -> dict[str, Any]:
    """The game day's payments through the plainest simpy chain: API, fraud check and gateway as resources.

    As many payments as one run of ``config`` takes, arriving as a Poisson stream; each holds
    a worker of each service in turn, nested, for an exponential time of the service's mean.
    No timeouts, retries, breakers or faults: what simpy itself costs for that load.
    """
    payments = int(resilience_simulate(config, seed=seed).summary["payments"])
    tiers = [(config.api_concurrency, config.api_latency_mean_s), (config.fraud_concurrency,
             config.fraud_latency_mean_s), (config.gateway_concurrency, config.gateway_latency_mean_s)]

    def once() -> None:
        rng = random.Random(seed)
        env = simpy.Environment()
        workers = [simpy.Resource(env, capacity=c) for c, _ in tiers]

        def call(level: int):
            with workers[level].request() as request:
                yield request
                yield env.timeout(rng.expovariate(1 / tiers[level][1]))
                if level + 1 < len(tiers):
                    yield env.process(call(level + 1))

        def source():
            for _ in range(payments):
                yield env.timeout(rng.expovariate(config.arrival_rate_per_s))
                env.process(call(0))

        env.process(source())
        env.run()

    return {"model": "plain simpy chain: Poisson payments, three nested services", "messages": payments,
            "repeats": repeats, "median_s": median_seconds(once, repeats)}


#: The global explorer's own load: Exercise 06's messages alone, Virginia failing.
_MESSAGES = ex06.explorer("messages").last_result.config


def replication_baseline(repeats: int = 5, seed: int = 0, config: MultiRegionConfig = _MESSAGES) -> dict[str, Any]:
    """The platform's writes in the plainest simpy model: each write a process sending a copy to each replica.

    As many writes as one run of ``config`` takes, arriving as a Poisson stream; each waits
    for an exponential replication delay and then half a round trip per replica, one simpy
    timeout each. No routing, quorums, conflicts or failures.
    """
    writes = int(multiregion_simulate(config, seed=seed).summary["writes"])
    copies = max(len(d.replicas) for d in config.datasets) - 1
    rate = config.writes_per_s

    def once() -> None:
        rng = random.Random(seed)
        env = simpy.Environment()

        def write():
            yield env.timeout(rng.expovariate(1000 / config.replication_delay_ms))
            for _ in range(copies):
                yield env.timeout(rng.uniform(0.01, 0.15))

        def source():
            for _ in range(writes):
                yield env.timeout(rng.expovariate(rate))
                env.process(write())

        env.process(source())
        env.run()

    return {"model": "plain simpy replication: a process per write, a timeout per copy", "messages": writes,
            "repeats": repeats, "median_s": median_seconds(once, repeats)}


#: Records a plain simpy pipeline is timed on; the explorer's own load is extrapolated from it.
STREAM_SAMPLE = 50_000


def stream_baseline(repeats: int = 5, seed: int = 0, config: StreamConfig = ex03.SCENARIO.config) -> dict[str, Any]:
    """The records of one default run of ``config`` through the plainest simpy pipeline, one event each.

    Every record is a simpy process: a Poisson arrival, a request to one of the brokers'
    request threads for its share of a batch's work, then to one of the consumers for its
    processing time. No batching, replication or faults: what simpy itself costs per record.
    A run of the explorer's whole load (millions of records) would take minutes, so
    :data:`STREAM_SAMPLE` records are timed and the time scaled to the load, per record.
    """
    model_s = median_seconds(lambda: stream_simulate(config, seed=seed), repeats)
    records = int(stream_simulate(config, seed=seed).summary["records_produced"])
    sample = min(records, STREAM_SAMPLE)

    def once() -> None:
        rng = random.Random(seed)
        env = simpy.Environment()
        brokers = simpy.Resource(env, capacity=config.brokers * config.broker_request_threads)
        consumers = simpy.Resource(env, capacity=config.consumers)
        handle = config.broker_batch_cpu_ms / 1000
        process = config.processing_ms_per_record / 1000

        def record():
            with brokers.request() as request:
                yield request
                yield env.timeout(rng.expovariate(1 / handle) if handle else 0)
            with consumers.request() as request:
                yield request
                yield env.timeout(rng.expovariate(1 / process))

        def source():
            for _ in range(sample):
                yield env.timeout(rng.expovariate(config.records_per_s))
                env.process(record())

        env.process(source())
        env.run()

    per_record = median_seconds(once, repeats) / sample
    return {"model": f"plain simpy pipeline, one process per record (timed on {sample:,}, scaled)",
            "messages": records, "repeats": repeats, "median_s": per_record * records,
            "sample": sample, "records_per_s": 1 / per_record,
            "model_median_s": model_s, "model_records_per_s": records / model_s}


_STREAM = ex03.SCENARIO.config
_EVEN = dict(key="sensor id", partitions=20, consumers=20)


#: Buy orders in the timeline explorer's morning: each leaves three of the account's events.
MORNING_ORDERS = 40
#: The account's last version after that morning (its opening, then three events an order).
_MORNING_VERSIONS = 1 + 3 * MORNING_ORDERS


def trading_morning(orders: int = MORNING_ORDERS) -> tuple[Trading, Any]:
    """An account's morning on an in-memory SQLite store: opened, then ``orders`` buy orders, a minute apart.

    Each order reserves cash, is filled (the cash spent) and the cash paid is deposited again:
    three of the account's events, so the timeline explorer moves through ``1 + 3 * orders``
    versions, each read back from the store.
    """
    app = Trading()
    start = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)
    with CLOCK.at(start):
        account = app.open_account("Alice", 1_000_000)
    for i in range(orders):
        with CLOCK.at(start + timedelta(minutes=i + 1)):
            order = app.place_order(account, "VWS", "buy", 10, 45)
            app.fill(order, 10, 44)
            app.deposit(account, 440)
    return app, account



#: One line per explorer. Later domains add theirs here.
EXPLORERS: list[ExplorerCase] = [
    ExplorerCase(
        "queues",
        lambda: QueueExplorer(_Q, seed=0, latency_target_s=LATENCY_TARGET_S),
        _neighbours("consumers", _Q.consumers, 1)
        + _neighbours("visibility_timeout_s", _Q.visibility_timeout_s, 0.5),
        browser_case="ex01-message-queues",
    ),
    ExplorerCase(
        "saga",
        lambda: SagaExplorer(_SAGA, seed=0, consistency_target_s=ex02.CONSISTENCY_TARGET_S),
        _neighbours("crash_probability", _SAGA.crash_probability, 0.005)
        + _neighbours("relay_interval_s", _SAGA.relay_interval_s, 0.05),
        browser_case="ex02-event-driven-microservices",
        baseline=saga_baseline,
    ),
    ExplorerCase(
        "flow",
        lambda: FlowExplorer(_FLOW, seed=0),
        _neighbours("slow_factor", int(_FLOW.slow_factor) + 1, 1) + _neighbours("orders_per_s", _FLOW.orders_per_s, 5),
        browser_case="lab1-eda-simulator",
        baseline=lambda repeats: saga_baseline(repeats, config=_FLOW),
    ),
    ExplorerCase(
        "cluster",
        lambda: ClusterExplorer(_STREAM, keys=ex03.KEYS, latency_target_s=ex03.LATENCY_TARGET_S),
        _neighbours("partitions", _STREAM.partitions, 1) + _neighbours("linger_ms", _STREAM.linger_ms, 1.0),
        browser_case="ex03-high-throughput-streaming",
        baseline=stream_baseline,
    ),
    ExplorerCase(
        "tuning",
        lambda: TuningExplorer(PRIME_TIME, target_records_per_s=990_000, p99_bound_s=0.05),
        [("linger_ms", 10.0), ("linger_ms", 5.0), ("batch_size_bytes", 65_536), ("batch_size_bytes", 16_384)],
        browser_case="lab2-kafka-tuning",
        baseline=lambda repeats: stream_baseline(repeats, config=PRIME_TIME),
        cold_move=("compression", "lz4"),
    ),
    ExplorerCase(
        "payments",
        ex05.explorer,
        _neighbours("fault_duration_s", ex05.BROWNOUT[3], 3.0)
        + _neighbours("breaker_wait_duration_in_open_state_s", _PAY.breaker_wait_duration_in_open_state_s, 5.0),
        browser_case="ex05-resilience-patterns",
        baseline=lambda repeats: chain_baseline(repeats, config=_PAY),
    ),
    ExplorerCase(
        "game day",
        lambda: ResilienceExplorer(lab4.SCENARIO.config),
        _neighbours("fault_duration_s", lab4.BROWNOUT[3], 3.0)
        + [("breaker_wait_duration_in_open_state_s", 5.0), ("breaker_wait_duration_in_open_state_s", 60.0)],
        browser_case="lab4-circuit-breakers",
        baseline=chain_baseline,
    ),
    ExplorerCase(
        "global",
        lambda: ex06.explorer("messages"),
        _neighbours("replication_delay_ms", _MESSAGES.replication_delay_ms, 50.0)
        + [("mode", "quorum"), ("mode", "async")],
        browser_case="ex06-global-messaging",
        baseline=replication_baseline,
    ),
    ExplorerCase(
        "snapshots",
        SnapshotExplorer,
        [("interval", 2_000), ("interval", 1_000), ("events", 2_000_000), ("events", 1_000_000),
         ("budget_ms", 100), ("budget_ms", 50)],
        simulates=False,
    ),
    ExplorerCase(
        "timeline",
        lambda: TimelineExplorer(*trading_morning()),
        [("version", _MORNING_VERSIONS - 1), ("version", _MORNING_VERSIONS), ("version", _MORNING_VERSIONS // 2),
         ("version", _MORNING_VERSIONS)],
        simulates=False,
    ),
]


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


def time_explorer(case: ExplorerCase, *, updates: int = 40, warmup: int = 3) -> dict[str, Any]:
    """Replay ``case.moves`` (cycling) ``warmup + updates`` times; time the last ``updates``.

    ``wall_ms`` is measured around the assignment to the control, so it includes the
    observer dispatch as well as the explorer's own update (``last_update_ms``). It does not
    include the browser drawing the figure.
    """
    start = time.perf_counter()
    explorer = case.build()
    build_ms = (time.perf_counter() - start) * 1000
    wall, own = [], []
    moves = cycle(case.moves)
    for i in range(warmup + updates):
        name, value = next(moves)
        explorer.last_update_ms = float("nan")
        start = time.perf_counter()
        explorer.controls[name].value = value
        elapsed = (time.perf_counter() - start) * 1000
        if not np.isfinite(explorer.last_update_ms):
            raise RuntimeError(f"{case.name}: setting {name} = {value!r} did not update the explorer")
        if "Not a valid setting" in explorer.summary.value:
            raise RuntimeError(f"{case.name}: {name} = {value!r} was rejected: {explorer.summary.value}")
        if i >= warmup:
            wall.append(elapsed)
            own.append(explorer.last_update_ms)
    p50, p95 = percentile(wall, 50), percentile(wall, 95)
    cold_ms = None
    if case.cold_move is not None:
        name, value = case.cold_move
        start = time.perf_counter()
        explorer.controls[name].value = value
        cold_ms = (time.perf_counter() - start) * 1000
    return {
        "cold_move": list(case.cold_move) if case.cold_move else None,
        "cold_ms": cold_ms,
        "name": case.name,
        "updates": updates,
        "warmup": warmup,
        "controls": sorted({name for name, _ in case.moves}),
        "build_ms": build_ms,
        "p50_ms": p50,
        "p95_ms": p95,
        "max_ms": max(wall),
        "explorer_p50_ms": percentile(own, 50),
        "explorer_p95_ms": percentile(own, 95),
        "budget_ms": UPDATE_BUDGET_MS,
        "passed": p95 <= UPDATE_BUDGET_MS,
    }


def browser_timing(path: Path | str = BROWSER_TIMING) -> dict[str, Any]:
    """What tests/test_browser.py last measured in headless Chromium, and when.

    ``found`` is False when the file is missing (``how`` says how to produce it) or cannot
    be read (``error``). ``written_at`` is the file's mtime; each notebook's entry also
    carries its own ``measured_at``, as the test replaces one notebook's entry at a time.
    """
    path = Path(path)
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    info: dict[str, Any] = {"path": str(shown), "found": False, "how": BROWSER_TIMING_HOW}
    try:
        mtime = path.stat().st_mtime
        data = json.loads(path.read_text())
        notebooks = data["notebooks"]
        if not isinstance(notebooks, dict):
            raise TypeError("'notebooks' is not an object")
    except FileNotFoundError:
        return info
    except (OSError, ValueError, KeyError, TypeError) as e:
        return dict(info, error=f"{type(e).__name__}: {e}")
    written = datetime.fromtimestamp(mtime, tz=UTC)
    return dict(
        info,
        found=True,
        written_by=data.get("written_by", "tests/test_browser.py"),
        written_at=written.isoformat(timespec="seconds"),
        age_s=max(0.0, time.time() - mtime),
        notebooks=notebooks,
    )


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


# --- the headline metric's confidence ------------------------------------------------------


def headline_confidence(config: QueueConfig, *, seeds: int = 10) -> dict[str, Any]:
    """Mean and 95% CI over ``seeds`` seeds of the headline metric and the others reported.

    ``one_run_relative`` is the 95% spread of a single seed around the mean (half-width
    × √n ÷ mean): what one explorer run, which shows one seed, can be trusted to.
    """
    runs = [simulate(config, seed=s).summary for s in range(seeds)]
    metrics = {}
    for metric in (HEADLINE, *ALSO_REPORTED):
        est = mean_ci(float(r[metric]) for r in runs)
        metrics[metric] = {
            "mean": est.mean,
            "half_width": est.half_width,
            "relative_half_width": est.relative_half_width,
            "one_run_relative": est.relative_half_width * np.sqrt(est.n),
            "passed": est.relative_half_width <= RELATIVE_HALF_WIDTH_BUDGET,
        }
    return {
        "scenario": SCENARIO.name,
        "seeds": seeds,
        "headline": HEADLINE,
        "metrics": metrics,
        "delivered_mean": float(np.mean([r["delivered"] for r in runs])),
        "still_queued_mean": float(np.mean([r["still_queued"] for r in runs])),
        "budget": RELATIVE_HALF_WIDTH_BUDGET,
        "passed": metrics[HEADLINE]["passed"],
    }


# --- speed: messagelab and a plain simpy M/M/c baseline ------------------------------------


def model_speed(config: QueueConfig, *, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Median wall time of ``simulate(config, seed=seed)`` over ``repeats`` identical runs."""
    times, summary = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        summary = simulate(config, seed=seed).summary
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    sent = int(summary["messages_sent"])
    return {
        "messages": sent,
        "delivered": int(summary["delivered"]),
        "sim_time_s": config.horizon_s,
        "repeats": repeats,
        "median_s": median,
        "messages_per_s": sent / median,
    }


@dataclass(frozen=True)
class BaselineRun:
    messages: int
    mean_time_in_system_s: float
    sim_time_s: float


def mmc_baseline(messages: int, arrival_rate: float, service_rate: float, servers: int,
                 *, seed: int = 0) -> BaselineRun:
    """The plainest simpy M/M/c: Poisson arrivals, ``servers`` exponential servers, FIFO.

    One generator per customer: request a server, hold it for the service time, release it.
    Runs until every one of ``messages`` customers has left.
    """
    rng = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=servers)
    time_in_system: list[float] = []

    def customer():
        arrived = env.now
        with server.request() as request:
            yield request
            yield env.timeout(rng.expovariate(service_rate))
        time_in_system.append(env.now - arrived)

    def source():
        for _ in range(messages):
            yield env.timeout(rng.expovariate(arrival_rate))
            env.process(customer())

    env.process(source())
    env.run()
    return BaselineRun(len(time_in_system), statistics.fmean(time_in_system), env.now)


def average_load(config: QueueConfig) -> tuple[float, float, int]:
    """(λ, μ, c) of the scenario averaged over its sending window, spike included."""
    expected = config.arrival_rate_per_s * (
        config.duration_s + (config.spike_multiplier - 1) * config.spike_duration_s
    )
    return expected / config.duration_s, 1.0 / config.processing_time_mean_s, config.consumers


def baseline_speed(messages: int, arrival_rate: float, service_rate: float, servers: int,
                   *, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Median wall time of ``mmc_baseline`` over ``repeats`` identical runs."""
    times, run = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        run = mmc_baseline(messages, arrival_rate, service_rate, servers, seed=seed)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        "messages": messages,
        "arrival_rate_per_s": arrival_rate,
        "service_rate_per_s": service_rate,
        "servers": servers,
        "utilisation": arrival_rate / (servers * service_rate),
        "repeats": repeats,
        "median_s": median,
        "messages_per_s": messages / median,
        "mean_time_in_system_s": run.mean_time_in_system_s,
        "sim_time_s": run.sim_time_s,
    }


# --- the run --------------------------------------------------------------------------------


def environment() -> dict[str, Any]:
    def pkg(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "packages": {name: pkg(name) for name in ("simpy", "numpy", "pandas", "plotly", "ipywidgets")},
    }


def main(*, updates: int = 40, warmup: int = 3, seeds: int = 10, repeats: int = 5,
         out: Path | str = DEFAULT_OUT, explorers: Sequence[ExplorerCase] | None = None,
         browser: Path | str = BROWSER_TIMING, quiet: bool = False) -> dict[str, Any]:
    """Measure everything, print the report (unless ``quiet``), write JSON to ``out``.

    ``browser`` is the browser test's timing file, read (not produced) for the report.
    """
    config = SCENARIO.config
    env_info = environment()
    cases = EXPLORERS if explorers is None else explorers
    explorer_rows = [time_explorer(c, updates=updates, warmup=warmup) for c in cases]
    for case, row in zip(cases, explorer_rows, strict=True):
        row["browser_case"] = case.browser_case
    in_browser = browser_timing(browser)
    headline = headline_confidence(config, seeds=seeds)
    model = model_speed(config, repeats=repeats)
    lam, mu, c = average_load(config)
    baseline = baseline_speed(model["messages"], lam, mu, c, repeats=repeats)

    per_message = (model["median_s"] / model["messages"]) / (baseline["median_s"] / baseline["messages"])
    baseline_ms = baseline["median_s"] * 1000
    for case, row in zip(cases, explorer_rows, strict=True):
        own = case.baseline(repeats) if case.baseline else {
            "model": "plain simpy M/M/c (section 3-4)", "messages": baseline["messages"],
            "repeats": repeats, "median_s": baseline["median_s"]}
        row["simulates"] = case.simulates
        row["baseline"] = own
        row["p50_over_baseline_run"] = row["p50_ms"] / (own["median_s"] * 1000)
    ratios = {
        "per_message_model_over_baseline": per_message,
        "update_p50_over_baseline_run": explorer_rows[0]["p50_ms"] / baseline_ms if explorer_rows else None,
    }

    over = [f"OVER BUDGET: {r['name']} explorer update p95 {r['p95_ms']:.1f} ms > {UPDATE_BUDGET_MS:g} ms"
            for r in explorer_rows if not r["passed"]]
    for metric, m in headline["metrics"].items():
        if not m["passed"]:
            role = "headline" if metric == HEADLINE else "also reported"
            over.append(
                f"OVER BUDGET: {metric} ({role}) 95% CI half-width {m['relative_half_width']:.1%} "
                f"of the mean > {RELATIVE_HALF_WIDTH_BUDGET:.0%} with {seeds} seeds"
            )
    for name, x in in_browser.get("notebooks", {}).items():
        budget = x.get("budget_ms", BROWSER_BUDGET_MS)
        if x.get("p95_ms", 0) > budget:
            over.append(
                f"OVER BUDGET: {name} in headless Chromium, slider → chart p95 {x['p95_ms']:.1f} ms "
                f"> {budget:g} ms (measured {x.get('measured_at', '?')}, {in_browser['path']})"
            )

    out = Path(out)
    result = {
        "environment": env_info,
        "budgets": {"update_ms": UPDATE_BUDGET_MS, "relative_half_width": RELATIVE_HALF_WIDTH_BUDGET,
                    "browser_ms": BROWSER_BUDGET_MS},
        "explorers": explorer_rows,
        "browser": in_browser,
        "headline": headline,
        "model": model,
        "baseline": baseline,
        "ratios": ratios,
        "over_budget": over,
        "json_path": str(out),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    if not quiet:
        print(report(result))
    return result


def report(r: dict[str, Any]) -> str:
    e, h, m, b, ratios = r["environment"], r["headline"], r["model"], r["baseline"], r["ratios"]
    packages = ", ".join(f"{k} {v}" for k, v in e["packages"].items())
    lines = [
        f"Explorer benchmarks: {e['implementation']} {e['python']} on {e['platform']}, "
        f"{e['cpu_count']} CPUs ({e['usable_cpus']} usable)",
        packages,
        "",
    ]
    first = r["explorers"][0] if r["explorers"] else None
    counts = f"{first['updates']} slider moves after {first['warmup']} warm-up" if first else "none"
    lines += [
        f"1. Slider response at default settings ({counts}; budget p95 ≤ {UPDATE_BUDGET_MS:g} ms)",
        f"   {'explorer':<10} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'own p50':>8} "
        f"{'own p95':>8} {'build ms':>9}  verdict",
    ]
    for x in r["explorers"]:
        lines.append(
            f"   {x['name']:<10} {x['p50_ms']:8.1f} {x['p95_ms']:8.1f} {x['max_ms']:8.1f} "
            f"{x['explorer_p50_ms']:8.1f} {x['explorer_p95_ms']:8.1f} {x['build_ms']:9.0f}  "
            f"{'PASS' if x['passed'] else 'FAIL'}"
        )
    for x in r["explorers"]:
        if x.get("cold_ms") is not None:
            name, value = x["cold_move"]
            lines.append(f"   {x['name']}: a move that sweeps again ({name} = {value!r}) took {x['cold_ms']:.0f} ms "
                         "(the moves above reuse the sweep)")
    lines += [
        "   (own = the explorer's last_update_ms; the others include the widget observer. "
        "Browser drawing not included: see below.)",
    ]
    lines += browser_lines(r.get("browser"), r["explorers"])
    lines += [
        "",
        f"2. Headline confidence: {h['scenario']}, {h['seeds']} seeds "
        f"(budget 95% CI half-width ≤ {h['budget']:.0%} of the mean)",
        f"   {'metric':<28} {'mean':>9} {'95% CI ±':>9} {'rel. ±':>7} {'one seed ±':>11}  verdict",
    ]
    for name, x in h["metrics"].items():
        label = f"{name} (headline)" if name == h["headline"] else name
        lines.append(
            f"   {label:<28} {x['mean']:8.2f}s {x['half_width']:8.2f}s {x['relative_half_width']:7.1%} "
            f"{x['one_run_relative']:11.1%}  {'PASS' if x['passed'] else 'FAIL'}"
        )
    lines += [
        f"   (latencies are of delivered orders: on average {h['delivered_mean']:,.0f} delivered, "
        f"{h['still_queued_mean']:,.0f} still queued at the end.",
        "    'one seed ±' is the 95% spread of a single run, which is what the explorer shows.)",
        "",
        "3-4. Simulation speed (median of "
        f"{m['repeats']} runs, {m['messages']:,} messages each)",
        f"   {'model':<44} {'median ms':>10} {'messages/s':>12}",
        f"   {'messagelab.queues.simulate (default scenario)':<44} {m['median_s'] * 1000:10.1f} "
        f"{m['messages_per_s']:12,.0f}",
        f"   {'plain simpy M/M/c baseline':<44} {b['median_s'] * 1000:10.1f} {b['messages_per_s']:12,.0f}",
        f"   baseline load: λ = {b['arrival_rate_per_s']:g}/s (the scenario's average), "
        f"μ = {b['service_rate_per_s']:g}/s, c = {b['servers']}, ρ = {b['utilisation']:.2f}"
        + ("  (overloaded, as the scenario is on average)" if b["utilisation"] >= 1 else ""),
        f"   (messagelab stops at its {m['sim_time_s']:g} s horizon with {m['delivered']:,} of the "
        f"{m['messages']:,} delivered; the baseline runs until all are served, "
        f"{b['sim_time_s']:.0f} s simulated.)",
        f"   messagelab time per message ÷ baseline time per message: "
        f"{ratios['per_message_model_over_baseline']:.2f}×",
    ]
    for x in r["explorers"]:
        own = x["baseline"]
        if x.get("simulates", True):
            lines.append(f"   one {x['name']} explorer update (p50) ÷ one run of its load ({own['messages']:,} "
                         f"messages, {own['model']}, {own['median_s'] * 1000:.1f} ms): "
                         f"{x['p50_over_baseline_run']:.2g}×")
        else:
            lines.append(f"   one {x['name']} explorer update (p50) ÷ the generic baseline run ({own['messages']:,} "
                         f"messages, {own['model']}, {own['median_s'] * 1000:.1f} ms; this explorer simulates "
                         f"nothing, so it has no load of its own): {x['p50_over_baseline_run']:.2g}×")
        if "records_per_s" in own:
            lines.append(f"     {x['name']}: messagelab.streaming.simulate of that load takes "
                         f"{own['model_median_s'] * 1000:.1f} ms: {own['model_records_per_s']:,.0f} records of "
                         f"simulated traffic per wall-clock second, against {own['records_per_s']:,.0f} for the "
                         "plain simpy pipeline")
    lines.append("")
    lines += r["over_budget"] or ["All budgets met."]
    lines.append(f"JSON: {r['json_path']}")
    return "\n".join(lines)


def browser_lines(b: dict[str, Any] | None, explorers: Sequence[dict[str, Any]]) -> list[str]:
    """The browser test's figures, each explorer's beside its Python-side p50/p95."""
    b = b or {"path": str(BROWSER_TIMING.relative_to(ROOT)), "found": False, "how": BROWSER_TIMING_HOW}
    head = (f"   In headless Chromium: key press → the chart's new trace data in the page "
            f"(budget p95 ≤ {BROWSER_BUDGET_MS:g} ms)")
    if not b.get("found"):
        why = (f"{b['path']} could not be read ({b['error']})" if b.get("error")
               else f"not measured: {b['path']} does not exist")
        return [head, f"   {why}.", f"   This script starts no browser; to produce it: {b['how']}."]
    notebooks = dict(b["notebooks"])
    lines = [
        head,
        f"   {'explorer':<10} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'moves':>6} "
        f"{'py p50':>8} {'py p95':>8}  verdict  notebook, measured",
    ]

    def row(label: str, x: dict[str, Any], python: dict[str, Any] | None) -> str:
        py = (f"{python['p50_ms']:8.1f} {python['p95_ms']:8.1f}" if python
              else f"{'':>8} {'':>8}")
        verdict = "PASS" if x.get("p95_ms", 0) <= x.get("budget_ms", BROWSER_BUDGET_MS) else "FAIL"
        return (f"   {label:<10} {x['p50_ms']:8.1f} {x['p95_ms']:8.1f} {x.get('max_ms', float('nan')):8.1f} "
                f"{x.get('moves', 0):6d} {py}  {verdict:<7}  {x.get('notebook', '?')}, "
                f"{x.get('measured_at', '?')}")

    for e in explorers:
        case = e.get("browser_case")
        if case and case in notebooks:
            lines.append(row(e["name"], notebooks.pop(case), e))
        elif case:
            lines.append(f"   {e['name']:<10} no '{case}' entry in {b['path']} "
                         "(its browser test has not got as far as timing)")
    for name, x in notebooks.items():
        lines.append(row(name, x, None))
    first = next(iter(b["notebooks"].values()), {})
    warmup = first.get("warmup_moves")
    lines += [
        f"   (from {b['path']}, written {b['written_at']} ({_age(b['age_s'])} ago) by "
        f"{b['written_by']};",
        f"    Chromium {first.get('chromium', '?')}; moves timed after "
        f"{warmup if warmup is not None else '?'} warm-up, ArrowLeft/ArrowRight a step either side "
        "of where the test left the first slider.",
        "    py = this run's Python-side update at the defaults; the browser figure includes the "
        "kernel's update, the comm both ways and plotly's redraw.)",
    ]
    return lines


def parse_args(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=40, help="timed slider moves per explorer")
    parser.add_argument("--warmup", type=int, default=3, help="untimed slider moves first")
    parser.add_argument("--seeds", type=int, default=10, help="seeds for the headline's confidence")
    parser.add_argument("--repeats", type=int, default=5, help="runs per speed measurement")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON")
    return vars(parser.parse_args(argv))


if __name__ == "__main__":
    main(**parse_args())
    sys.exit(0)
