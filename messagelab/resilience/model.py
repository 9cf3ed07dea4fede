"""A discrete-event model of a payment call chain under load and faults, with its resilience patterns.

The picture::

    merchant ─(timeout, retries)─► api ─(breaker, bulkhead, timeout, retries, fallback)─► fraud
                                    │                                                     │
                     load shedding, workers, accept queue       (the same) ─► gateway ◄───┘
                                                                              charges the card

Every payment is one ``merchant`` job that calls the ``api``; the API's worker does its own
work and calls the ``fraud`` check; the fraud check's worker does its work and calls the
card network ``gateway``, whose work ends in a charge. A worker is held for the whole of
its request, downstream calls and their retries included, so a slow gateway ties up the
fraud check's workers, then the API's: a cascading failure, unless timeouts, bulkheads,
breakers or load shedding stop it. An answer travels back up the chain the instant it is
given (network time is part of each tier's latency).

What the model does as the real things do:

* A **timeout** is a time limiter on the caller's side (resilience4j ``TimeLimiter``, the
  socket timeout of an HTTP client): the caller stops waiting, but the callee is not told,
  so it finishes the work — and a gateway call that the fraud check gave up on may still
  charge the card. Its retry then charges again: a **double charge**, unless the payment
  carries an **idempotency key** the gateway recognises (``idempotency_keys``).
* **Retries** (resilience4j ``Retry``: ``max_attempts`` includes the first call) follow a
  backoff strategy (Brooker 2015) and, with ``retry_budget``, the AWS SDKs' retry quota.
  Every failure is retried — an error, a timeout, a 503, a full bulkhead, an open breaker —
  as resilience4j does by default. Retries at each layer multiply: with ``n`` attempts at
  each of the three layers, one payment can make ``n³`` calls to the gateway (the AWS
  Builders' Library's 3⁵ = 243 at five layers).
* A **circuit breaker** is :class:`~messagelab.resilience.breaker.CircuitBreaker`
  (resilience4j's state machine), wrapped around the time limiter and the bulkhead: a
  timeout and a full bulkhead are failures, a 503 or 500 answer is a failure, a fallback
  answer is a success, a call it refuses is not recorded.
* A **bulkhead** is resilience4j's semaphore bulkhead: a call takes a permit or waits for
  one, first come first served, at most ``bulkhead_max_wait_s``; the time limiter's clock
  is already running.
* A **fallback** answers for a dependency once the calls to it have failed: ``degraded``
  (a stand-in approval from local rules, as card networks' stand-in processing gives) or
  ``queue`` (accept the payment now, authorise it later).
* **Load shedding** refuses a payment at the API at once while ``api_shed_in_flight_limit``
  are in it.
* A tier whose workers are all busy queues a request, up to ``queue_limit``, and refuses
  the rest with a 503; a queued request is served even if its caller has given up.

What it does not model: the network apart from tiers' latencies, a callee learning that
its caller gave up (deadline propagation), what happens later to a queued payment (it is
counted as accepted; one that had already been charged will be charged again without
idempotency keys: ``queued_already_charged``), card declines and fraud losses, per-merchant
clients (the merchants' retries share no budget), and breakers or bulkheads on the
merchant's side.

Every payment ends exactly once: ``success`` (approved by the gateway), ``fallback``
(answered by a fallback), ``rejected`` (refused to protect the system: shed, a full queue or
bulkhead, an open breaker) or ``failed`` (an error, an outage, a timeout) — or, only when
the run budget stopped the run, ``in_flight``.

>>> r = simulate(ResilienceConfig(arrival_rate_per_s=50, duration_s=10), seed=1)
>>> s = r.summary
>>> s["payments"] == s["succeeded"] + s["fallbacks"] + s["rejected"] + s["failed"], s["success_rate"] > 0.99
(True, True)
>>> faults = (("outage", "gateway", 3.0, 4.0, 1.0),)
>>> r = simulate(ResilienceConfig(arrival_rate_per_s=50, duration_s=10, faults=faults,
...                               breaker_minimum_number_of_calls=20, breaker_wait_duration_in_open_state_s=2))
>>> list(r.breaker_states.query("breaker == 'gateway'")["to_state"])[:3]
['OPEN', 'HALF_OPEN', 'OPEN']
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import simpy
from simpy.events import NORMAL

from messagelab.resilience.backoff import backoff_s, ceiling_s
from messagelab.resilience.breaker import OPEN, CircuitBreaker
from messagelab.resilience.config import PROTECTED, TIERS, ResilienceConfig
from messagelab.resilience.faults import Timeline, last_end_s
from messagelab.resilience.retry_budget import TokenBucket
from messagelab.sim.budget import RunBudget, RunOutcome
from messagelab.sim.budget import run as run_within_budget
from messagelab.sim.result import SimResult
from messagelab.sim.stats import percentiles
from messagelab.sim.streams import streams
from messagelab.sim.workload import lognormal_params, poisson_arrivals

#: How a payment ended; every payment has exactly one (``in_flight`` only in a truncated run).
OUTCOMES = ("success", "fallback", "rejected", "failed", "in_flight")

# What an answer is, worst last: a caller's own timeout is an error to the caller's caller.
OK, FALLBACK, REJECTED, ERROR, TIMEOUT = range(5)
_OUTCOME_OF = (0, 1, 2, 3, 3)
_IN_FLIGHT = 4

# The state of one call, as its caller sees it.
_PENDING, _WAITING, _DONE = range(3)

_LEAF = len(TIERS) - 1


def _reasons() -> tuple[str, ...]:
    """Why a payment ended: every reason an answer can carry, as the requests table names it."""
    out = ["approved", "in flight", "api load shed"]
    for t in TIERS:
        out += [f"{t} timeout", f"{t} error", f"{t} outage", f"{t} queue full"]
    for t in PROTECTED:
        out += [f"{t} breaker open", f"{t} bulkhead full", f"{t} fallback: degraded", f"{t} fallback: queue"]
    return tuple(out)


REASONS = _reasons()
_R = {name: i for i, name in enumerate(REASONS)}
_APPROVED = _R["approved"]


class _Call:
    """One call from a caller into a tier (``hop``), and the work that tier then does for it.

    ``owner`` is the call whose work made this one: the calling tier's, or None when the
    merchant made it. ``tries``, ``sleep`` and ``retry_cost`` are this call's *own* retry
    state towards the next tier down, set once its tier starts calling on.
    """

    __slots__ = ("req", "hop", "owner", "start", "state", "permitted", "permit", "tries", "sleep", "retry_cost",
                 "callbacks")
    #: A call is also the simpy event that ends its tier's work (see :class:`_Due`).
    _ok = True

    def __init__(self, req: int, hop: int, owner: _Call | None, start: float) -> None:
        self.req, self.hop, self.owner, self.start = req, hop, owner, start
        self.state = _PENDING
        self.permitted = self.permit = False


class _Due:
    """A bare simpy event for :meth:`simpy.Environment.schedule`: its callbacks and a value.

    A :class:`simpy.Timeout` does more (checks, properties) than the chain needs for the
    several events of every payment, and a slider's answer in 100 ms is made of these.
    simpy only reads an event's callbacks, so one list per handler serves all its events.
    """

    __slots__ = ("callbacks", "value")
    _ok = True

    def __init__(self, callbacks: list[Callable[[_Due], None]], value: object) -> None:
        self.callbacks = callbacks
        self.value = value


def _blocks(draw: Callable[..., np.ndarray], *args: float) -> Iterator[float]:
    """An endless stream of draws made 4,096 at a time: ``next`` on it costs almost nothing."""
    return itertools.chain.from_iterable(iter(lambda: draw(*args, 4096).tolist(), None))


class _Tier:
    """A service: its workers and accept queue, its latency and errors, its faults, who reached it."""

    __slots__ = ("index", "name", "workers", "queue_limit", "shed_limit", "busy", "waiting", "max_busy", "max_in",
                 "latency", "error_rate", "uniform", "timeline", "reached", "reached_s", "r_error", "r_outage",
                 "r_queue_full")

    def __init__(self, cfg: ResilienceConfig, index: int, rng: dict[str, np.random.Generator]) -> None:
        name = self.name = TIERS[index]
        self.index = index
        self.workers, self.queue_limit = cfg.tier(name, "concurrency"), cfg.tier(name, "queue_limit")
        self.shed_limit = cfg.api_shed_in_flight_limit if index == 0 else None
        self.busy = self.max_busy = self.max_in = 0
        self.waiting: deque[_Call] = deque()
        # Lognormal latency with the tier's mean and coefficient of variation (0: a fixed latency).
        mean, cv = cfg.tier(name, "latency_mean_s"), cfg.tier(name, "latency_cv")
        self.latency = (_blocks(rng[f"{name}_latency"].lognormal, *lognormal_params(mean, cv))
                        if cv else itertools.repeat(float(mean)))
        self.error_rate = float(cfg.tier(name, "error_rate"))
        self.uniform = _blocks(rng[f"{name}_errors"].random)
        timeline = Timeline(cfg.faults, name)
        self.timeline = timeline if timeline else None
        # Every call that reached the tier: its payment, and when (tallied per payment and interval at the end).
        self.reached: list[int] = []
        self.reached_s: list[float] = []
        self.r_error, self.r_outage, self.r_queue_full = (_R[f"{name} {what}"] for what in ("error", "outage",
                                                                                             "queue full"))

    def capacity(self, now: float) -> int:
        timeline = self.timeline
        return timeline.capacity(now, self.workers) if timeline is not None and timeline.capacity_loss \
            else self.workers


class _Hop:
    """The calls into one tier: the caller's time limiter, retries, breaker, bulkhead, fallback, budget."""

    __slots__ = ("index", "timeout_s", "max_attempts", "backoff", "breaker", "bulkhead", "fallback", "bucket",
                 "pending", "armed", "permits", "retries", "timeouts", "r_timeout", "r_breaker", "r_bulkhead",
                 "ceiling_s")

    def __init__(self, cfg: ResilienceConfig, index: int) -> None:
        name = TIERS[index]
        ours = name in PROTECTED  # the merchant's calls into the API only time out and retry
        self.index = index
        self.timeout_s = float(cfg.tier(name, "timeout_s"))
        self.max_attempts = cfg.tier(name, "max_attempts")
        self.backoff = cfg.tier(name, "backoff")
        # Full jitter's ceiling for each count of failed tries, worked out once (backoff_s computes the same).
        self.ceiling_s = [ceiling_s(t, base_s=cfg.backoff_base_s, cap_s=cfg.backoff_cap_s)
                          for t in range(self.max_attempts + 1)]
        self.breaker = CircuitBreaker(cfg.breaker_settings, name) if ours and cfg.tier(name, "breaker") else None
        limit = cfg.tier(name, "bulkhead_max_concurrent_calls") if ours else None
        self.bulkhead = _Bulkhead(limit, cfg.tier(name, "bulkhead_max_wait_s")) if limit is not None else None
        fallback = cfg.tier(name, "fallback") if ours else "none"
        self.fallback = _R[f"{name} fallback: {fallback}"] if fallback != "none" else None
        self.bucket = TokenBucket(cfg.retry_budget_tokens) if ours and cfg.retry_budget else None
        # The time limiter: calls in the order they started, and whether a timer is set for the
        # oldest. One timeout per hop means deadlines come in start order, so one timer per hop
        # suffices, and a call answered in time costs no event at all.
        self.pending: deque[_Call] = deque()
        self.armed = False
        self.permits: list[float] = []  # when the breaker let a call through
        self.retries = self.timeouts = 0
        self.r_timeout = _R[f"{name} timeout"]
        self.r_breaker, self.r_bulkhead = _R.get(f"{name} breaker open"), _R.get(f"{name} bulkhead full")


class _Bulkhead:
    """A caller's semaphore bulkhead on one dependency (resilience4j ``Bulkhead``)."""

    __slots__ = ("limit", "max_wait", "used", "waiting", "max_used", "rejected")

    def __init__(self, limit: int, max_wait: float) -> None:
        self.limit, self.max_wait = limit, max_wait
        self.used = self.max_used = self.rejected = 0
        self.waiting: deque[_Call] = deque()


@dataclass
class ResilienceResult(SimResult):
    """One run: a row per payment, a row per interval, a row per breaker transition; the summary.

    ``requests``: arrival_s, outcome (``OUTCOMES``), reason (``REASONS``), end_s, latency_s (arrival
    to the merchant's final answer), attempts (the merchant's), api_calls / fraud_calls / gateway_calls
    (calls that reached each tier for this payment, retries at every layer included), charges,
    sla_breach. ``timeseries``: one row per ``sample_interval_s`` from 0 until the last payment is
    answered — payments arriving in it by outcome, success_rate, availability, latency p50/p99,
    calls reaching each tier, and, sampled at the interval's start, workers busy and requests
    queued per tier, bulkhead permits in use and each breaker's state. ``breaker_states``: every
    transition, with the failure and slow-call rates (%) that caused it.
    """

    config: ResilienceConfig
    seed: int
    requests: pd.DataFrame
    timeseries: pd.DataFrame
    breaker_states: pd.DataFrame
    #: Each accounting rule of the run, by its description, and whether it held.
    invariants: dict[str, bool] = field(default_factory=dict)

    units: ClassVar[dict[str, str]] = {
        "payments": "payments",
        "succeeded": "payments",
        "fallbacks": "payments",
        "rejected": "payments",
        "failed": "payments",
        "in_flight": "payments (left when the budget stopped the run)",
        "success_rate": "fraction of payments",
        "availability": "fraction of payments answered (success or fallback)",
        "latency_p50_s": "s (any outcome)",
        "latency_p99_s": "s (any outcome)",
        "success_latency_p50_s": "s",
        "success_latency_p99_s": "s",
        "api_calls": "calls",
        "fraud_calls": "calls",
        "gateway_calls": "calls",
        "api_amplification": "calls per payment",
        "fraud_amplification": "calls per payment",
        "gateway_amplification": "calls per payment",
        "retries": "retries",
        "retries_denied_by_budget": "retries",
        "fraud_breaker_opened": "times",
        "gateway_breaker_opened": "times",
        "calls_not_permitted": "calls refused by an open breaker",
        "bulkhead_rejections": "calls",
        "load_shed": "payments",
        "queue_full_rejections": "calls",
        "timeouts": "calls",
        "max_api_in_flight": "payments",
        "max_api_busy": "workers",
        "max_fraud_busy": "workers",
        "max_gateway_busy": "workers",
        "max_fraud_bulkhead_in_use": "permits",
        "max_gateway_bulkhead_in_use": "permits",
        "time_to_recover_s": "s after the last fault ended (NaN: never, or no fault)",
        "payments_completed": "payments approved by the gateway",
        "payments_degraded": "stand-in approvals",
        "payments_queued": "payments accepted for later",
        "revenue_lost_usd": "USD",
        "sla_breaches": "payments answered later than sla_latency_s",
        "double_charges": "payments charged more than once",
        "queued_already_charged": "payments (charged again when the queue is worked off, without idempotency keys)",
        "truncated": "true/false",
    }

    def check_invariants(self) -> None:
        """Raise AssertionError naming every accounting rule the run broke."""
        broken = [name for name, ok in self.invariants.items() if not ok]
        if broken:
            raise AssertionError("resilience model invariants broken: " + "; ".join(broken))

    def outcome_counts(self) -> pd.Series:
        """Payments by outcome, every outcome listed."""
        return self.requests["outcome"].value_counts().reindex(list(OUTCOMES), fill_value=0)


class _Chain:
    """The running chain: the merchant's payments, the tiers, the calls between them.

    Handlers are simpy callbacks rather than processes, and each reads the clock once and
    passes ``now`` on: a payment costs four events when all goes well (its arrival and the
    end of each tier's own work).
    """

    def __init__(self, cfg: ResilienceConfig, env: simpy.Environment, rng: dict[str, np.random.Generator]) -> None:
        self.cfg, self.env = cfg, env
        self.schedule = env.schedule
        segments = ((0.0, float(cfg.duration_s), float(cfg.arrival_rate_per_s)),)
        self.arrival_s = poisson_arrivals(segments, rng["arrivals"]).tolist()
        n = self.n = len(self.arrival_s)
        self.arrived = 0
        self.open = 0  # payments arrived and not yet answered
        # Per payment, as lists: one element touched at a time is what lists do fastest.
        self.outcome = [_IN_FLIGHT] * n
        self.reason = [_R["in flight"]] * n
        self.end_s = [math.nan] * n
        self.tries = [0] * n  # the merchant's attempts
        self.sleep = [0.0] * n  # the merchant's last backoff (decorrelated jitter)
        self.charges = [0] * n
        self.tiers = [_Tier(cfg, i, rng) for i in range(len(TIERS))]
        self.hops = [_Hop(cfg, i) for i in range(len(TIERS))]
        self.u_backoff = _blocks(rng["backoff"].random)
        self.idempotent = cfg.idempotency_keys
        self.queue_full = self.shed = 0
        self.interval_s = cfg.sample_interval_s
        self.samples: list[tuple] = []
        # Each handler's callback list, shared by all its events (simpy only reads it).
        self.cb_arrive, self.cb_timer, self.cb_work_done = [self.arrive], [self.on_timer], [self.work_done]
        self.cb_retry_due, self.cb_sample, self.cb_capacity_back = [self.retry_due], [self.sample], [self.capacity_back]
        self.cb_bulkhead_wait_over, self.cb_bulkhead_granted = [self.bulkhead_wait_over], [self.bulkhead_granted]

    # --- the merchant -------------------------------------------------------------------

    def arrive(self, event: _Due) -> None:
        """A payment arrives: the merchant's checkout makes its first call to the API."""
        r = self.arrived
        self.arrived = r + 1
        self.open += 1
        now = self.env.now
        if r + 1 < self.n:
            event.callbacks = self.cb_arrive  # simpy is done with it: the same event brings the next payment
            self.schedule(event, NORMAL, self.arrival_s[r + 1] - now)
        self.tries[r] = 1
        self.attempt(_Call(r, 0, None, now), now)

    def payment_done(self, r: int, kind: int, reason: int, now: float) -> None:
        self.outcome[r] = _OUTCOME_OF[kind]
        self.reason[r] = reason
        self.end_s[r] = now
        self.open -= 1

    # --- a caller's side of a call ----------------------------------------------------------

    def attempt(self, call: _Call, now: float) -> None:
        """The caller tries ``call``: through the breaker, the time limiter and the bulkhead, then send it."""
        hop = self.hops[call.hop]
        breaker = hop.breaker
        if breaker is not None:
            if not breaker.try_acquire(now):
                call.state = _DONE
                self.resolved(call, REJECTED, hop.r_breaker, now)
                return
            call.permitted = True
            hop.permits.append(now)
        hop.pending.append(call)
        if not hop.armed:
            hop.armed = True
            self.schedule(_Due(self.cb_timer, hop), NORMAL, hop.timeout_s)
        bulkhead = hop.bulkhead
        if bulkhead is not None:
            if bulkhead.used < bulkhead.limit:
                bulkhead.used += 1
                if bulkhead.used > bulkhead.max_used:
                    bulkhead.max_used = bulkhead.used
                call.permit = True
            elif bulkhead.max_wait > 0:
                call.state = _WAITING
                bulkhead.waiting.append(call)
                self.schedule(_Due(self.cb_bulkhead_wait_over, call), NORMAL, bulkhead.max_wait)
                return
            else:
                call.state = _DONE
                bulkhead.rejected += 1
                self.resolved(call, REJECTED, hop.r_bulkhead, now)
                return
        self.send(call, now)

    def on_timer(self, event: _Due) -> None:
        """The oldest pending calls of a hop may have run out of time."""
        hop = event.value
        pending, now, timeout = hop.pending, self.env.now, hop.timeout_s
        while pending:
            call = pending[0]
            if call.state == _DONE:
                pending.popleft()
                continue
            due = call.start + timeout
            if due > now + 1e-9:
                self.schedule(_Due(self.cb_timer, hop), NORMAL, due - now)
                return
            pending.popleft()
            call.state = _DONE
            hop.timeouts += 1
            self.resolved(call, TIMEOUT, hop.r_timeout, now)
        hop.armed = False

    def bulkhead_wait_over(self, event: _Due) -> None:
        call = event.value
        if call.state == _WAITING:
            call.state = _DONE
            hop = self.hops[call.hop]
            hop.bulkhead.rejected += 1
            self.resolved(call, REJECTED, hop.r_bulkhead, self.env.now)

    def bulkhead_granted(self, event: _Due) -> None:
        call = event.value
        if call.state == _PENDING:  # not timed out while the permit was handed over
            self.send(call, self.env.now)

    def release_permit(self, bulkhead: _Bulkhead) -> None:
        waiting = bulkhead.waiting
        while waiting:
            call = waiting.popleft()
            if call.state == _WAITING:
                # The permit passes on, through an event, so that waiters refused at once
                # one after another do not recurse through each other.
                call.state = _PENDING
                call.permit = True
                self.schedule(_Due(self.cb_bulkhead_granted, call), NORMAL, 0.0)
                return
        bulkhead.used -= 1

    def resolved(self, call: _Call, kind: int, reason: int, now: float) -> None:
        """The caller has its answer, or has given up: record it, then retry, fall back or pass it up."""
        hop = self.hops[call.hop]
        if call.permit:
            call.permit = False
            self.release_permit(hop.bulkhead)
        if call.permitted:
            hop.breaker.on_result(now, now - call.start, kind >= REJECTED)
        job = call.owner
        if kind <= FALLBACK:
            if job is None:
                self.payment_done(call.req, kind, reason, now)
                return
            if hop.bucket is not None:
                hop.bucket.deposit(job.retry_cost)
            self.finish_work(job, kind, reason, now)
            return
        tries = self.tries[call.req] if job is None else job.tries
        if tries < hop.max_attempts:
            cost = hop.bucket.withdraw(timeout=kind == TIMEOUT) if hop.bucket is not None else 1
            if cost:
                if job is not None:
                    job.retry_cost = cost
                hop.retries += 1
                delay = self.backoff_s(hop, job, call.req, tries)
                retry = _Call(call.req, call.hop, job, now + delay)
                if job is None:
                    self.tries[call.req] = tries + 1
                else:
                    job.tries = tries + 1
                if delay > 0:
                    retry.callbacks = self.cb_retry_due  # the retry is its own event: no wrapper to build
                    self.schedule(retry, NORMAL, delay)
                else:
                    self.attempt(retry, now)
                return
        if hop.fallback is not None:
            self.finish_work(job, FALLBACK, hop.fallback, now)
        elif job is None:
            self.payment_done(call.req, kind, reason, now)
        else:
            self.finish_work(job, ERROR if kind == TIMEOUT else kind, reason, now)

    def backoff_s(self, hop: _Hop, job: _Call | None, r: int, tries: int) -> float:
        strategy = hop.backoff
        if strategy == "none":
            return 0.0
        if strategy == "full_jitter":
            # The strategy of most retries in a storm, without the general function's call.
            sleep = next(self.u_backoff) * hop.ceiling_s[tries]
        else:
            cfg = self.cfg
            previous = (self.sleep[r] if job is None else job.sleep) or cfg.backoff_base_s
            sleep = backoff_s(strategy, tries, base_s=cfg.backoff_base_s, cap_s=cfg.backoff_cap_s,
                              previous_s=previous, u=next(self.u_backoff))
        if job is None:
            self.sleep[r] = sleep
        else:
            job.sleep = sleep
        return sleep

    def retry_due(self, call: _Call) -> None:
        self.attempt(call, self.env.now)

    # --- a tier's side of a call -------------------------------------------------------------

    def send(self, call: _Call, now: float) -> None:
        """The request reaches its tier: refused, queued or started."""
        tier = self.tiers[call.hop]
        tier.reached.append(call.req)
        tier.reached_s.append(now)
        timeline = tier.timeline
        if timeline is not None and timeline.outage and timeline.down(now):
            self.answer(call, ERROR, tier.r_outage, now)
            return
        if tier.shed_limit is not None and tier.busy + len(tier.waiting) >= tier.shed_limit:
            self.shed += 1
            self.answer(call, REJECTED, _R["api load shed"], now)
            return
        if tier.busy < (tier.workers if timeline is None else tier.capacity(now)):
            tier.busy += 1
            if tier.busy > tier.max_busy:
                tier.max_busy = tier.busy
            latency = next(tier.latency)
            if timeline is not None:
                latency = timeline.latency_s(now, latency)
            call.callbacks = self.cb_work_done
            self.schedule(call, NORMAL, latency)
        elif len(tier.waiting) < tier.queue_limit:
            tier.waiting.append(call)
        else:
            self.queue_full += 1
            self.answer(call, REJECTED, tier.r_queue_full, now)
            return
        if tier.busy + len(tier.waiting) > tier.max_in:
            tier.max_in = tier.busy + len(tier.waiting)

    def start_waiting(self, tier: _Tier, now: float) -> None:
        """Workers are free: queued requests start, first come first served."""
        waiting, workers = tier.waiting, tier.capacity(now)
        timeline = tier.timeline
        while waiting and tier.busy < workers:
            tier.busy += 1
            if tier.busy > tier.max_busy:
                tier.max_busy = tier.busy
            call = waiting.popleft()
            latency = next(tier.latency)
            if timeline is not None:
                # A request that starts during an outage fails at once (through an event, not recursion).
                latency = 0.0 if timeline.outage and timeline.down(now) else timeline.latency_s(now, latency)
            call.callbacks = self.cb_work_done
            self.schedule(call, NORMAL, latency)

    def work_done(self, call: _Call) -> None:
        """The tier's own work for a call is done: it fails, calls the next tier, or (the gateway) charges."""
        t = call.hop
        tier = self.tiers[t]
        now = self.env.now
        p = tier.error_rate
        timeline = tier.timeline
        if timeline is not None:
            if timeline.outage and timeline.down(now):
                self.finish_work(call, ERROR, tier.r_outage, now)
                return
            if timeline.errors:
                p = timeline.error_probability(now, p)
        if p > 0 and next(tier.uniform) < p:
            self.finish_work(call, ERROR, tier.r_error, now)
        elif t == _LEAF:
            r = call.req
            if not (self.idempotent and self.charges[r]):
                self.charges[r] += 1
            self.finish_work(call, OK, _APPROVED, now)
        else:
            call.tries, call.retry_cost, call.sleep = 1, 0, 0.0
            self.attempt(_Call(call.req, t + 1, call, now), now)

    def finish_work(self, call: _Call, kind: int, reason: int, now: float) -> None:
        """The tier frees the call's worker (the next queued request starts) and answers."""
        tier = self.tiers[call.hop]
        tier.busy -= 1
        if tier.waiting:
            self.start_waiting(tier, now)
        if call.state == _PENDING:  # else the caller has given up waiting: the answer is lost
            call.state = _DONE
            self.resolved(call, kind, reason, now)

    def answer(self, call: _Call, kind: int, reason: int, now: float) -> None:
        """A tier's answer given without doing the work (a refusal) reaches its caller, still waiting."""
        call.state = _DONE
        self.resolved(call, kind, reason, now)

    def capacity_back(self, event: _Due) -> None:
        self.start_waiting(event.value, self.env.now)

    # --- sampling -------------------------------------------------------------------------------

    def sample(self, _event: _Due) -> None:
        """Concurrency in use and breaker states, every interval until the last payment is answered."""
        row: list[object] = [self.env.now]
        for tier in self.tiers:
            row += [tier.busy, len(tier.waiting)]
        protected = [self.hops[TIERS.index(t)] for t in PROTECTED]
        row += [hop.bulkhead.used if hop.bulkhead is not None else 0 for hop in protected]
        row += [hop.breaker.state if hop.breaker is not None else "" for hop in protected]
        self.samples.append(tuple(row))
        if self.open or self.arrived < self.n:
            self.schedule(_Due(self.cb_sample, None), NORMAL, self.interval_s)


def simulate(config: ResilienceConfig, *, seed: int = 0, budget: RunBudget | None = None) -> ResilienceResult:
    """Run the payment chain of ``config`` under ``seed`` and account for every payment.

    Sources of randomness, each its own stream: ``arrivals``; per tier, ``<tier>_latency``
    and ``<tier>_errors``; ``backoff`` (jitter).
    """
    names = ["arrivals", "backoff", *(f"{t}_{kind}" for t in TIERS for kind in ("latency", "errors"))]
    env = simpy.Environment()
    chain = _Chain(config, env, streams(seed, *names))
    env.schedule(_Due(chain.cb_sample, None), NORMAL, 0.0)
    if chain.n:
        env.schedule(_Due(chain.cb_arrive, None), NORMAL, chain.arrival_s[0])
    for tier in chain.tiers:
        for end in tier.timeline.ends if tier.timeline is not None else ():
            env.schedule(_Due(chain.cb_capacity_back, tier), NORMAL, end)
    outcome = run_within_budget(env, config.horizon_s + config.sample_interval_s, budget or RunBudget())
    return _result(config, seed, chain, outcome)


def _result(cfg: ResilienceConfig, seed: int, chain: _Chain, outcome: RunOutcome) -> ResilienceResult:
    n = chain.arrived  # a run stopped by its budget accounts for the payments that arrived, no more
    arrival = np.asarray(chain.arrival_s[:n], dtype=float)
    codes = np.asarray(chain.outcome[:n], dtype=np.int64)
    end = np.asarray(chain.end_s[:n], dtype=float)
    latency = end - arrival
    reached = np.stack([np.bincount(np.asarray(tier.reached, dtype=np.int64), minlength=n)[:n]
                        for tier in chain.tiers])
    charges = np.asarray(chain.charges[:n], dtype=np.int64)
    tries = np.asarray(chain.tries[:n], dtype=np.int64)
    reasons = np.asarray(chain.reason[:n], dtype=np.int64)
    requests = pd.DataFrame({
        "arrival_s": arrival,
        "outcome": pd.Categorical.from_codes(codes, categories=OUTCOMES),
        "reason": pd.Categorical.from_codes(reasons, categories=REASONS),
        "end_s": end,
        "latency_s": latency,
        "attempts": tries,
        **{f"{t}_calls": reached[i] for i, t in enumerate(TIERS)},
        "charges": charges,
        "sla_breach": latency > cfg.sla_latency_s,
    })
    requests.index.name = "payment"
    timeseries = _timeseries(cfg, chain, arrival, codes, latency)
    breaker_states = pd.DataFrame(
        [(b.name, tr.time_s, tr.from_state, tr.to_state, tr.failure_rate_pct, tr.slow_call_rate_pct)
         for b in (hop.breaker for hop in chain.hops) if b is not None for tr in b.transitions],
        columns=["breaker", "time_s", "from_state", "to_state", "failure_rate_pct", "slow_call_rate_pct"])

    counts = np.bincount(codes, minlength=len(OUTCOMES))
    per = max(n, 1)
    answered = codes <= 1
    done = codes != _IN_FLIGHT
    pct_all = percentiles(latency[done], (50, 99))
    pct_ok = percentiles(latency[answered], (50, 99))
    fallback_reasons = {kind: [_R[f"{t} fallback: {kind}"] for t in PROTECTED] for kind in ("degraded", "queue")}
    degraded = np.isin(reasons, fallback_reasons["degraded"])
    queued = np.isin(reasons, fallback_reasons["queue"])
    api, fraud_i, gateway_i = range(len(TIERS))
    hops = {t: chain.hops[TIERS.index(t)] for t in PROTECTED}
    breakers = [hop.breaker for hop in hops.values() if hop.breaker is not None]
    bulkheads = [hop.bulkhead for hop in hops.values() if hop.bulkhead is not None]
    summary = {
        "payments": int(n),
        "succeeded": int(counts[0]),
        "fallbacks": int(counts[1]),
        "rejected": int(counts[2]),
        "failed": int(counts[3]),
        "in_flight": int(counts[_IN_FLIGHT]),
        "success_rate": float(counts[0] / per),
        "availability": float((counts[0] + counts[1]) / per),
        "latency_p50_s": pct_all["p50"],
        "latency_p99_s": pct_all["p99"],
        "success_latency_p50_s": pct_ok["p50"],
        "success_latency_p99_s": pct_ok["p99"],
        **{f"{tier.name}_calls": len(tier.reached) for tier in chain.tiers},
        **{f"{tier.name}_amplification": len(tier.reached) / per for tier in chain.tiers},
        "retries": sum(hop.retries for hop in chain.hops),
        "retries_denied_by_budget": sum(hop.bucket.denied for hop in chain.hops if hop.bucket is not None),
        **{f"{t}_breaker_opened": sum(tr.to_state == OPEN for tr in hop.breaker.transitions)
           if hop.breaker is not None else 0 for t, hop in hops.items()},
        "calls_not_permitted": sum(b.not_permitted for b in breakers),
        "bulkhead_rejections": sum(b.rejected for b in bulkheads),
        "load_shed": chain.shed,
        "queue_full_rejections": chain.queue_full,
        "timeouts": sum(hop.timeouts for hop in chain.hops),
        "max_api_in_flight": chain.tiers[api].max_in,
        **{f"max_{tier.name}_busy": tier.max_busy for tier in chain.tiers},
        **{f"max_{t}_bulkhead_in_use": hop.bulkhead.max_used if hop.bulkhead is not None else 0
           for t, hop in hops.items()},
        "time_to_recover_s": _time_to_recover(cfg, timeseries),
        "payments_completed": int(counts[0]),
        "payments_degraded": int(degraded.sum()),
        "payments_queued": int(queued.sum()),
        "revenue_lost_usd": float((counts[2] + counts[3]) * cfg.payment_value_mean_usd),
        "sla_breaches": int((latency[done] > cfg.sla_latency_s).sum()),
        "double_charges": int((charges > 1).sum()),
        "queued_already_charged": int((queued & (charges > 0)).sum()) if not cfg.idempotency_keys else 0,
        "truncated": outcome.truncated,
    }

    attempts_bound = [cfg.tier(t, "max_attempts") for t in TIERS]
    invariants = {
        "every payment that arrived ended exactly once: success, fallback, rejected or failed "
        "(in flight only when the budget stopped the run)":
            bool(np.isin(codes, range(len(OUTCOMES))).all()) and (outcome.truncated or counts[_IN_FLIGHT] == 0),
        "the outcomes add up to the payments that arrived": int(counts.sum()) == n == len(requests),
        "the payments still open are the payments in flight": chain.open == counts[_IN_FLIGHT],
        "every payment answered was answered after it arrived, and in flight ones have no answer":
            bool((latency[done] >= 0).all() and np.isnan(end[~done]).all()),
        "a payment approved by the gateway was charged": bool((charges[codes == 0] >= 1).all()),
        "with idempotency keys no payment was charged twice": not cfg.idempotency_keys or bool((charges <= 1).all()),
        "the merchant made at most its attempts, and each reached the API once":
            bool((tries <= attempts_bound[api]).all() and (reached[api][done] == tries[done]).all()),
        "retries multiply at most by each layer's attempts (calls at a tier ≤ calls at the one above × attempts)":
            bool((reached[fraud_i] <= reached[api] * attempts_bound[fraud_i]).all()
                 and (reached[gateway_i] <= reached[fraud_i] * attempts_bound[gateway_i]).all()),
        "no payment was charged more often than it reached the gateway":
            bool((charges <= reached[gateway_i]).all()),
        "no breaker let a call through while OPEN before its wait was over":
            all(_open_breaker_respected(hop.breaker, hop.permits) for hop in hops.values()
                if hop.breaker is not None),
        "no bulkhead held more permits than its limit": all(b.max_used <= b.limit for b in bulkheads),
        "load shedding kept the API's payments in flight within its limit":
            cfg.api_shed_in_flight_limit is None or chain.tiers[api].max_in <= cfg.api_shed_in_flight_limit,
    }
    return ResilienceResult(summary=summary, outcome=outcome, config=cfg, seed=seed, requests=requests,
                            timeseries=timeseries, breaker_states=breaker_states, invariants=invariants)


def _open_breaker_respected(breaker: CircuitBreaker, permitted_at: list[float]) -> bool:
    """Between opening and its next transition (the first call after the wait), no call was let through."""
    times = np.asarray(permitted_at)
    transitions = breaker.transitions
    wait = breaker.settings.wait_duration_in_open_state_s
    for i, tr in enumerate(transitions):
        if tr.to_state != OPEN:
            continue
        until = transitions[i + 1].time_s if i + 1 < len(transitions) else math.inf
        if until <= tr.time_s + wait:
            return False  # left OPEN before its wait was over
        inside = np.searchsorted(times, until, side="left") - np.searchsorted(times, tr.time_s, side="right")
        if inside:
            return False
    return True


def _timeseries(cfg: ResilienceConfig, chain: _Chain, arrival: np.ndarray, codes: np.ndarray,
                latency: np.ndarray) -> pd.DataFrame:
    columns = ["time_s", *(f"{t}_{what}" for t in TIERS for what in ("busy", "queued")),
               *(f"{t}_bulkhead_in_use" for t in PROTECTED), *(f"{t}_breaker" for t in PROTECTED)]
    samples = pd.DataFrame(chain.samples, columns=columns)
    bins = len(samples)
    k = np.minimum((arrival / cfg.sample_interval_s).astype(np.int64), max(bins - 1, 0))
    by_outcome = np.zeros((bins, len(OUTCOMES)), dtype=np.int64)
    np.add.at(by_outcome, (k, codes), 1)
    payments = by_outcome.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        success_rate = np.where(payments > 0, by_outcome[:, 0] / payments, np.nan)
        availability = np.where(payments > 0, (by_outcome[:, 0] + by_outcome[:, 1]) / payments, np.nan)
    p50, p99 = _percentiles_by_bin(k[codes != _IN_FLIGHT], latency[codes != _IN_FLIGHT], bins)
    out = pd.DataFrame({
        "time_s": samples["time_s"],
        "payments": payments,
        **{name: by_outcome[:, i] for i, name in enumerate(OUTCOMES)},
        "success_rate": success_rate,
        "availability": availability,
        "latency_p50_s": p50,
        "latency_p99_s": p99,
        **{f"{tier.name}_calls": np.bincount((np.asarray(tier.reached_s) / cfg.sample_interval_s).astype(np.int64),
                                             minlength=bins)[:bins] for tier in chain.tiers},
    })
    return pd.concat([out, samples.drop(columns="time_s")], axis=1)


def _percentiles_by_bin(k: np.ndarray, values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The 50th and 99th percentiles of ``values`` in each bin ``k`` (NaN for an empty bin).

    Linear interpolation between order statistics, as ``numpy.percentile`` does, for every bin at once.
    """
    if not bins:
        return np.empty(0), np.empty(0)
    out = []
    order = np.lexsort((values, k))
    k, values = k[order], values[order]
    counts = np.bincount(k, minlength=bins)[:bins]
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    filled = counts > 0
    for q in (0.50, 0.99):
        position = (counts[filled] - 1) * q
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, counts[filled] - 1)
        at = starts[filled]
        result = np.full(bins, np.nan)
        result[filled] = values[at + low] + (values[at + high] - values[at + low]) * (position - low)
        out.append(result)
    return out[0], out[1]


def _time_to_recover(cfg: ResilienceConfig, timeseries: pd.DataFrame) -> float:
    """From the end of the last fault until every later interval's success rate stays ≥ ``recovery_success_rate``.

    Intervals are those in which payments arrive (up to ``duration_s``); NaN when there is no
    fault, the last fault ends with the arrivals, or the rate never stays recovered.
    """
    ended = last_end_s(cfg.faults)
    if math.isnan(ended):
        return math.nan
    ts = timeseries[(timeseries["time_s"] >= ended - 1e-9) & (timeseries["time_s"] < cfg.duration_s)]
    rate = ts["success_rate"].to_numpy()
    bad = ~(np.isnan(rate) | (rate >= cfg.recovery_success_rate))
    if not len(rate) or bad[-1]:
        return math.nan
    first_good = int(np.flatnonzero(bad)[-1]) + 1 if bad.any() else 0
    return float(ts["time_s"].iloc[first_good] - ended)
