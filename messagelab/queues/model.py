"""A discrete-event model of an Amazon SQS queue with producers and polling consumers.

The picture::

    producer ──SendMessage──► queue ──ReceiveMessage (≤10)──► consumer × N ──DeleteMessage
                               │  ▲                                │
                               │  └── visible again after the ─────┘ (failure, crash, slow)
                               │      visibility timeout
                               └── receive count > maxReceiveCount ──► dead-letter queue

What the model does as SQS does:

* A received message is hidden for the visibility timeout. Unless the consumer deletes it
  in time it becomes visible again and is delivered again (at-least-once delivery); a
  delete with a stale receipt handle does not delete.
* ``ReceiveCount`` grows with every receive; a receive that finds a message already received
  ``maxReceiveCount`` times moves it to the dead-letter queue instead of returning it.
* Messages older than the retention period are dropped when met.
* FIFO queues keep order within a message group, deliver one group's messages to one
  consumer at a time, drop a resend with the same deduplication id within 5 minutes and
  throttle sends beyond their quota.
* Short polling (``wait_time_s = 0``) answers at once and is repeated every round trip;
  long polling waits up to ``wait_time_s`` for a message. Every call is billed, empty or not.

With the SQS features made neutral (long polling, no latency, batch 1, generous visibility
timeout, no faults) the model is an M/M/c queue — or M/G/c for other processing-time
distributions — which is how its tests check it against queueing theory.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import simpy

from messagelab.queues.config import (
    AGE_METRIC_RECEIVE_LIMIT,
    FIFO_DEDUP_WINDOW_S,
    HOUR_S,
    QueueConfig,
)
from messagelab.sim import workload
from messagelab.sim.budget import RunBudget
from messagelab.sim.budget import run as run_within_budget
from messagelab.sim.result import SimResult
from messagelab.sim.stats import percentiles
from messagelab.sim.streams import streams

# States of one copy of a message.
PENDING, DELAYED, VISIBLE, IN_FLIGHT, DELETED, DEAD_LETTERED, EXPIRED, DEDUPLICATED = range(8)
STATE_NAMES = (
    "pending", "delayed", "visible", "in_flight", "deleted", "dead_lettered", "expired",
    "deduplicated",
)
LIVE = (PENDING, DELAYED, VISIBLE, IN_FLIGHT)

OUTCOMES = ("delivered", "dead_lettered", "expired", "queued")

# Where a copy of a message came from, and so what causes a duplicate side effect.
ORIGINAL, RESEND, SQS_COPY = range(3)
#: Summary key of the duplicates each cause produced (they add up to ``duplicates_processed``),
#: and the cause in a few words.
DUPLICATE_CAUSES = {
    "duplicates_from_visibility_timeout": "timeout ran out",
    "duplicates_from_producer_resend": "producer resent",
    "duplicates_from_sqs_extra_copy": "SQS extra copy",
}


def _send_order(c: _Copy) -> int:
    return c.seq


class _Copy:
    """One copy of a message in the queue (a resend or duplicate delivery adds copies)."""

    __slots__ = ("msg", "sent_s", "group", "state", "receives", "receipt", "seq", "origin")

    def __init__(self, msg: int, sent_s: float, group: int, seq: int, origin: int = ORIGINAL) -> None:
        self.msg, self.sent_s, self.group, self.seq, self.origin = msg, sent_s, group, seq, origin
        self.state = PENDING
        self.receives = 0
        self.receipt = 0


@dataclass
class QueueResult(SimResult):
    """What one run produced: headline metrics with units, a time series, one row per message.

    ``summary`` (a pandas Series) and ``outcome`` come from :class:`~messagelab.sim.result.SimResult`;
    ``timeseries`` samples the queue every ``config.sample_every_s`` seconds; ``messages``
    has one row per message sent, with its ``outcome`` (one of ``OUTCOMES``).
    """

    config: QueueConfig
    seed: int
    timeseries: pd.DataFrame
    messages: pd.DataFrame
    #: Each accounting rule of the run, by its description, and whether it held.
    invariants: dict[str, bool] = field(default_factory=dict)

    units = {
        "messages_sent": "messages",
        "delivered": "messages",
        "dead_lettered": "messages",
        "expired": "messages",
        "still_queued": "messages",
        "throughput_per_s": "msg/s",
        "latency_mean_s": "s",
        "latency_p50_s": "s",
        "latency_p95_s": "s",
        "latency_p99_s": "s",
        "latency_max_s": "s",
        "duplicates_processed": "extra side effects",
        **dict.fromkeys(DUPLICATE_CAUSES, "extra side effects"),
        "valid_orders_lost": "messages (not poison; dead-lettered or never processed)",
        "duplicate_rate": "extra side effects per delivered message",
        "duplicates_skipped": "deliveries",
        "redeliveries": "deliveries",
        "failures": "processing attempts",
        "consumer_crashes": "crashes",
        "max_visible": "messages",
        "max_oldest_age_s": "s",
        "dlq_time_to_first_s": "s (simulated time)",
        "poison_time_to_dlq_max_s": "s",
        "throttled_sends": "SendMessage calls",
        "deduplicated_sends": "SendMessage calls",
        "receive_calls": "ReceiveMessage calls",
        "empty_receives": "ReceiveMessage calls",
        "requests": "billed requests",
        "request_cost_usd": "USD",
        "consumer_cost_usd": "USD",
        "store_writes": "idempotency-table writes",
        "store_cost_usd": "USD",
        "cost_usd": "USD",
        "cost_per_day_usd": "USD/day",
        "consumer_utilisation": "fraction of consumer time",
        "consumer_utilisation_peak": "fraction of consumer time during the spike",
        "truncated": "true/false",
    }

    def check_invariants(self) -> None:
        """Raise AssertionError naming every accounting rule the run broke."""
        broken = [name for name, ok in self.invariants.items() if not ok]
        if broken:
            raise AssertionError("queue model invariants broken: " + "; ".join(broken))


class _Broker:
    """The queue: visible messages, in-flight messages, idle consumers waiting on a poll."""

    def __init__(self, env: simpy.Environment, cfg: QueueConfig, rngs: dict) -> None:
        self.env, self.cfg = env, cfg
        self.fifo = cfg.queue_type == "fifo"
        self.visible: deque[_Copy] = deque()  # standard queue
        self.groups: dict[int, deque[_Copy]] = {}  # FIFO: per message group, in order
        self.group_in_flight: dict[int, int] = {}
        self.ready: deque[int] = deque()  # FIFO: groups with visible messages and none in flight
        self.ready_set: set[int] = set()
        self.visible_count = 0
        self.in_flight_count = 0
        self.dlq_count = 0
        self.expired_count = 0
        self.waiters: deque[tuple[simpy.Event, float]] = deque()
        self.poll_s = cfg.wait_time_s if cfg.wait_time_s > 0 else cfg.request_latency_s
        self.long_poll = cfg.wait_time_s > 0
        self.receive_calls = 0
        self.empty_receives = 0
        self.dup_rng = rngs["duplicate_delivery"]
        self.age_heap: list[tuple[float, int, _Copy]] = []
        self.copies: list[_Copy] = []
        self.dead_lettered_at: dict[int, float] = {}

    # --- messages entering the visible set -------------------------------------------------
    def new_copy(self, msg: int, group: int, origin: int = ORIGINAL) -> _Copy:
        c = _Copy(msg, self.env.now, group, len(self.copies), origin)
        self.copies.append(c)
        heapq.heappush(self.age_heap, (c.sent_s, c.seq, c))
        return c

    def make_visible(self, c: _Copy, returning: bool = False) -> None:
        c.state = VISIBLE
        self.visible_count += 1
        if self.fifo:
            dq = self.groups.setdefault(c.group, deque())
            if returning:  # back in its place by send order, ahead of later messages
                bisect.insort(dq, c, key=_send_order)
            else:
                dq.append(c)
            if not self.group_in_flight.get(c.group) and c.group not in self.ready_set:
                self.ready.append(c.group)
                self.ready_set.add(c.group)
        else:
            self.visible.append(c)
        if self.waiters:
            self.dispatch()

    def leave_flight(self, c: _Copy) -> None:
        self.in_flight_count -= 1
        if self.fifo:
            left = self.group_in_flight[c.group] - 1
            self.group_in_flight[c.group] = left
            if left == 0 and self.groups.get(c.group) and c.group not in self.ready_set:
                self.ready.append(c.group)
                self.ready_set.add(c.group)
                if self.waiters:
                    self.dispatch()

    def reappear(self, c: _Copy, receipt: int) -> None:
        """The visibility timeout of receive ``receipt`` ran out without a delete."""
        if c.state == IN_FLIGHT and c.receipt == receipt:
            # Back in the queue first, then out of flight: a FIFO group unlocks only with
            # its oldest message at the head again.
            self.in_flight_count -= 1
            self.make_visible(c, returning=True)
            self.in_flight_count += 1
            self.leave_flight(c)

    def delete(self, c: _Copy, receipt: int) -> bool:
        """DeleteMessage with a receipt handle; only the latest handle deletes."""
        if c.receipt != receipt or c.state not in (IN_FLIGHT, VISIBLE):
            return False
        if c.state == IN_FLIGHT:
            self.leave_flight(c)
        else:  # visible again but not yet received again: the handle is still the latest
            self.visible_count -= 1
        c.state = DELETED
        return True

    # --- receiving ----------------------------------------------------------------------
    def _admit(self, c: _Copy) -> bool:
        """A visible copy popped by a receive: drop it if expired, redrive it if exhausted."""
        cfg, now = self.cfg, self.env.now
        self.visible_count -= 1
        if now - c.sent_s > cfg.retention_period_s:
            c.state = EXPIRED
            self.expired_count += 1
            return False
        if cfg.max_receive_count is not None and c.receives >= cfg.max_receive_count:
            c.state = DEAD_LETTERED
            self.dlq_count += 1
            self.dead_lettered_at.setdefault(c.msg, now)
            return False
        return True

    def _deliver(self, c: _Copy, batch: list[_Copy]) -> None:
        c.state = IN_FLIGHT
        c.receives += 1
        c.receipt += 1
        self.in_flight_count += 1
        batch.append(c)
        if self.fifo:
            self.group_in_flight[c.group] = self.group_in_flight.get(c.group, 0) + 1
        elif self.dup_rng.random() < self.cfg.duplicate_delivery_rate:
            # At-least-once delivery: another copy stays visible and is delivered again.
            twin = self.new_copy(c.msg, c.group, SQS_COPY)
            twin.sent_s, twin.receives = c.sent_s, c.receives - 1
            self.make_visible(twin)

    def take(self, n: int) -> list[_Copy]:
        """Up to ``n`` messages for one ReceiveMessage call.

        A FIFO queue fills the batch from one message group first, in order, then from the
        next groups that have nothing in flight.
        """
        batch: list[_Copy] = []
        if not self.fifo:
            visible = self.visible
            while visible and len(batch) < n:
                c = visible.popleft()
                if c.state == VISIBLE and self._admit(c):
                    self._deliver(c, batch)
            return batch
        while self.ready and len(batch) < n:
            g = self.ready.popleft()
            self.ready_set.discard(g)
            dq = self.groups[g]
            while dq and len(batch) < n:
                c = dq.popleft()
                if c.state == VISIBLE and self._admit(c):
                    self._deliver(c, batch)
            if dq and not self.group_in_flight.get(g):
                # Everything taken from this group expired or was redriven: still ready.
                self.ready.appendleft(g)
                self.ready_set.add(g)
        return batch

    def receive_now(self) -> list[_Copy]:
        """A ReceiveMessage call made when messages may be waiting."""
        batch = self.take(self.cfg.receive_batch_size)
        if batch:  # an empty call is billed by wait(), which it starts
            self.receive_calls += 1
        return batch

    def wait(self, since: float) -> simpy.Event:
        """Register an idle consumer whose empty poll started at ``since``."""
        ev = self.env.event()
        self.waiters.append((ev, since))
        return ev

    def _tick(self, since: float) -> tuple[float, int]:
        """When the waiting consumer's poll returns, and how many calls it made."""
        waited = self.env.now - since
        if self.long_poll:
            empties = int(waited // self.poll_s)
            return self.env.now, empties + 1
        polls = math.ceil(waited / self.poll_s - 1e-12)
        return since + polls * self.poll_s, polls + 1

    def dispatch(self) -> None:
        """Hand visible messages to idle consumers, the soonest-polling first."""
        while self.waiters and self.visible_count:
            if self.long_poll:
                ev, since = self.waiters.popleft()
            else:
                # Short polling: the consumer whose next poll comes first gets the messages.
                best = min(range(len(self.waiters)), key=lambda i: self._tick(self.waiters[i][1])[0])
                ev, since = self.waiters[best]
                del self.waiters[best]
            at, calls = self._tick(since)
            batch = self.take(self.cfg.receive_batch_size)
            if not batch:
                self.waiters.appendleft((ev, since))
                return
            self.receive_calls += calls
            self.empty_receives += calls - 1
            ev.succeed((batch, at))

    def close(self, horizon: float) -> None:
        """Bill the polls still open at the end of the run."""
        for _ev, since in self.waiters:
            calls = int((horizon - since) // self.poll_s) + 1
            self.receive_calls += calls
            self.empty_receives += calls

    def oldest_age(self) -> float:
        """ApproximateAgeOfOldestMessage: skips messages received 3 times or more."""
        heap = self.age_heap
        while heap and (heap[0][2].state not in LIVE or heap[0][2].receives >= AGE_METRIC_RECEIVE_LIMIT):
            heapq.heappop(heap)
        return self.env.now - heap[0][0] if heap else 0.0


def service_times(cfg: QueueConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` processing times (s) drawn from the configured distribution and mean."""
    return workload.service_times(cfg.processing_time_distribution, cfg.processing_time_mean_s,
                                  cfg.processing_time_cv, rng, n)


def arrival_times(cfg: QueueConfig, rng: np.random.Generator) -> np.ndarray:
    """Send times of a Poisson process whose rate steps up during the spike."""
    segments = workload.spike_segments(cfg.arrival_rate_per_s, cfg.duration_s, multiplier=cfg.spike_multiplier,
                                       start_s=cfg.spike_start_s, length_s=cfg.spike_duration_s)
    return workload.poisson_arrivals(segments, rng)


def simulate(config: QueueConfig, *, seed: int = 0, budget: RunBudget | None = None) -> QueueResult:
    """Run the queue of ``config`` under ``seed`` and account for every message.

    Sources of randomness, each its own stream: ``arrivals``, ``groups``, ``poison``,
    ``service``, ``faults``, ``crashes``, ``producer_retries``, ``duplicate_delivery``.
    """
    cfg = config
    rng = streams(seed, "arrivals", "groups", "poison", "service", "faults", "crashes",
                  "producer_retries", "duplicate_delivery")
    env = simpy.Environment()
    broker = _Broker(env, cfg, rng)

    sends = arrival_times(cfg, rng["arrivals"])
    n = len(sends)
    group_of = rng["groups"].integers(0, cfg.message_groups, n) if cfg.queue_type == "fifo" else np.zeros(n, int)
    poison = rng["poison"].random(n) < cfg.poison_rate
    retried = rng["producer_retries"].random(n) < cfg.producer_retry_rate
    service_first = service_times(cfg, rng["service"], n)
    fault_first = rng["faults"].random(n)
    crash_first = rng["crashes"].random(n)
    retry_service, retry_fault, retry_crash = rng["service"], rng["faults"], rng["crashes"]

    first_done = np.full(n, np.nan)
    side_effects = np.zeros(n, dtype=np.int64)
    attempts = np.zeros(n, dtype=np.int64)
    counters = {"sent": 0, "throttled_sends": 0, "deduplicated_sends": 0, "send_calls": 0,
                "delete_calls": 0, "busy_s": 0.0, "crashes": 0, "failures": 0,
                "redeliveries": 0, "duplicates_skipped": 0, "busy_peak_s": 0.0, "store_writes": 0,
                **{cause: 0 for cause in DUPLICATE_CAUSES}}
    effect_copy = np.full(n, -1, dtype=np.int64)  # the copy that made a message's first side effect
    peak_from, peak_until = cfg.spike_start_s, cfg.spike_end_s
    store_s = cfg.idempotency_store_latency_s if cfg.idempotent_consumer else 0.0
    send_tat = [0.0]
    burst_s = 1.0 - 1.0 / cfg.fifo_send_tps
    fifo = cfg.queue_type == "fifo"

    def accept(c: _Copy) -> None:
        if cfg.delivery_delay_s > 0:
            c.state = DELAYED
            env.timeout(cfg.delivery_delay_s).callbacks.append(lambda _e: broker.make_visible(c))
        else:
            broker.make_visible(c)

    def send(msg: int, resend: bool) -> None:
        """SendMessage; on a FIFO queue, held to the send quota and deduplicated."""
        counters["send_calls"] += 1
        at = env.now
        if fifo:
            # Generic cell rate algorithm: the quota per second, with a one-second burst.
            tat = max(send_tat[0], env.now)
            at = max(env.now, tat - burst_s)
            send_tat[0] = tat + 1.0 / cfg.fifo_send_tps
        c = broker.new_copy(msg, int(group_of[msg]), RESEND if resend else ORIGINAL)
        if resend and fifo and cfg.producer_retry_delay_s < FIFO_DEDUP_WINDOW_S:
            counters["deduplicated_sends"] += 1
            c.state = DEDUPLICATED
            return
        if at > env.now + 1e-12:
            counters["throttled_sends"] += 1
            env.timeout(at - env.now).callbacks.append(lambda _e: accept(c))
            return
        accept(c)

    def producer():
        last = 0.0
        for i in range(n):
            yield env.timeout(sends[i] - last)
            last = sends[i]
            counters["sent"] += 1
            send(i, resend=False)
            if retried[i]:
                env.timeout(cfg.producer_retry_delay_s).callbacks.append(
                    lambda _e, i=i: send(i, resend=True))

    slow_from = cfg.slowdown_start_s
    slow_until = slow_from + cfg.slowdown_duration_s

    def consumer():
        vt = cfg.visibility_timeout_s
        while True:
            batch = broker.receive_now()
            if batch:
                at = env.now
            else:
                batch, at = yield broker.wait(env.now)
                if at > env.now:
                    yield env.timeout(at - env.now)
            deadline = at + vt
            latency = cfg.request_latency_s
            crashed = False
            overrun = False
            blocked_group = None
            for c in batch:
                m = c.msg
                if fifo and blocked_group == c.group:
                    # Keep the group's order: after a failure the rest of its batch waits.
                    broker.env.timeout(max(deadline - env.now, 0)).callbacks.append(
                        lambda _e, c=c, r=c.receipt: broker.reappear(c, r))
                    continue
                k = attempts[m]
                attempts[m] += 1
                if c.receives > 1:
                    counters["redeliveries"] += 1
                if k == 0:
                    s, fault, crash = service_first[m], fault_first[m], crash_first[m]
                else:
                    s = float(service_times(cfg, retry_service, 1)[0])
                    fault, crash = retry_fault.random(), retry_crash.random()
                if slow_from <= env.now < slow_until:
                    s *= cfg.slowdown_factor
                s += latency + store_s  # the receive's round trip, and the idempotency record
                latency = 0.0
                if store_s:
                    counters["store_writes"] += 1  # a conditional write per attempt, kept or not
                if crash < cfg.crash_rate:
                    crashed = True
                    counters["crashes"] += 1
                    s *= crash / cfg.crash_rate  # dies part-way through
                ok = not crashed and not poison[m] and fault >= cfg.failure_rate
                finish = env.now + s
                if not ok or finish > deadline:
                    # No delete arrives before the deadline: the message shows up again.
                    env.timeout(max(deadline - env.now, 0)).callbacks.append(
                        lambda _e, c=c, r=c.receipt: broker.reappear(c, r))
                if finish > deadline and not overrun:
                    # The rest of the batch cannot start in time either: it shows up again at
                    # the deadline, while this consumer may still process it later.
                    overrun = True
                    for rest in batch[batch.index(c) + 1:]:
                        env.timeout(max(deadline - env.now, 0)).callbacks.append(
                            lambda _e, c=rest, r=rest.receipt: broker.reappear(c, r))
                receipt = c.receipt
                started = env.now
                yield env.timeout(s)
                counters["busy_s"] += s
                counters["busy_peak_s"] += max(0.0, min(env.now, peak_until) - max(started, peak_from))
                if crashed:
                    for rest in batch[batch.index(c) + 1:]:
                        env.timeout(max(deadline - env.now, 0)).callbacks.append(
                            lambda _e, c=rest, r=rest.receipt: broker.reappear(c, r))
                    break
                if not ok:
                    counters["failures"] += 1
                    blocked_group = c.group
                    continue
                if side_effects[m] and cfg.idempotent_consumer:
                    counters["duplicates_skipped"] += 1
                else:
                    if side_effects[m]:
                        counters[_duplicate_cause(c, broker.copies[effect_copy[m]])] += 1
                    else:
                        effect_copy[m] = c.seq
                    side_effects[m] += 1
                if np.isnan(first_done[m]):
                    first_done[m] = env.now
                counters["delete_calls"] += 1
                broker.delete(c, receipt)
            if crashed:
                yield env.timeout(cfg.consumer_restart_s)

    samples: list[tuple] = []

    def monitor():
        step = cfg.sample_every_s
        while True:
            samples.append((env.now, broker.visible_count, broker.in_flight_count,
                            broker.oldest_age(), broker.dlq_count))
            yield env.timeout(step)

    env.process(producer())
    for _ in range(cfg.consumers):
        env.process(consumer())
    env.process(monitor())
    outcome = run_within_budget(env, cfg.horizon_s, budget or RunBudget())
    broker.close(env.now)
    return _result(cfg, seed, broker, outcome, sends, group_of, poison, first_done,
                   side_effects, attempts, counters, samples)


def _duplicate_cause(again: _Copy, first: _Copy) -> str:
    """Why a message's side effect happened twice: ``again`` made it after ``first`` had.

    The same copy twice can only be a redelivery after its visibility timeout ran out; two
    copies, the one that is not the original says where the extra copy came from.
    """
    if again is first:
        return "duplicates_from_visibility_timeout"
    extra = again if again.origin != ORIGINAL else first
    return "duplicates_from_producer_resend" if extra.origin == RESEND else "duplicates_from_sqs_extra_copy"


def _result(cfg, seed, broker, outcome, sends, group_of, poison, first_done, side_effects,
            attempts, counters, samples) -> QueueResult:
    # A run stopped by its budget accounts for the messages the producer sent, no more.
    n = counters["sent"]
    sends, group_of, poison = sends[:n], group_of[:n], poison[:n]
    first_done, side_effects, attempts = first_done[:n], side_effects[:n], attempts[:n]
    states = np.zeros((n, len(STATE_NAMES)), dtype=np.int64)
    end = outcome.sim_time_s
    expired_late = 0
    for c in broker.copies:
        st = c.state
        if st in (VISIBLE, DELAYED) and end - c.sent_s > cfg.retention_period_s:
            st = EXPIRED  # SQS would have deleted it by now
            expired_late += 1
        states[c.msg, st] += 1

    delivered = ~np.isnan(first_done)
    dead = states[:, DEAD_LETTERED] > 0
    expired = states[:, EXPIRED] > 0
    outcome_col = np.where(delivered, "delivered",
                           np.where(dead, "dead_lettered", np.where(expired, "expired", "queued")))
    latency = first_done - sends
    dlq_at = np.array([broker.dead_lettered_at.get(i, np.nan) for i in range(n)])
    messages = pd.DataFrame({
        "sent_s": sends,
        "group": group_of,
        "poison": poison,
        "attempts": attempts,
        "first_done_s": first_done,
        "latency_s": latency,
        "side_effects": side_effects,
        "dead_lettered_s": dlq_at,
        "outcome": pd.Categorical(outcome_col, categories=OUTCOMES),
    })
    messages.index.name = "message"
    ts = pd.DataFrame(samples, columns=["time_s", "visible", "in_flight", "oldest_age_s", "dlq_depth"])

    horizon = max(end, 1e-9)
    billed = cfg.billed_requests_per_call
    requests = (counters["send_calls"] + counters["delete_calls"]) * billed + broker.receive_calls
    request_cost = requests / 1e6 * cfg.price_per_million_requests_usd
    store_cost = counters["store_writes"] / 1e6 * cfg.idempotency_price_per_million_writes_usd
    consumer_cost = cfg.consumers * horizon / HOUR_S * cfg.consumer_cost_per_hour_usd
    done_lat = latency[delivered]
    pct = percentiles(done_lat, (50, 95, 99))
    duplicates = int(np.clip(side_effects - 1, 0, None).sum())
    counts = {name: int((outcome_col == name).sum()) for name in OUTCOMES}
    poison_dlq = dlq_at[poison] - sends[poison]  # NaN: that poison order never reached the DLQ
    peak_s = max(0.0, min(cfg.spike_end_s, horizon) - cfg.spike_start_s)
    summary = pd.Series({
        "messages_sent": n,
        "delivered": counts["delivered"],
        "dead_lettered": counts["dead_lettered"],
        "expired": counts["expired"],
        "still_queued": counts["queued"],
        "throughput_per_s": counts["delivered"] / horizon,
        "latency_mean_s": float(done_lat.mean()) if done_lat.size else float("nan"),
        "latency_p50_s": pct["p50"],
        "latency_p95_s": pct["p95"],
        "latency_p99_s": pct["p99"],
        "latency_max_s": float(done_lat.max()) if done_lat.size else float("nan"),
        "duplicates_processed": duplicates,
        **{cause: counters[cause] for cause in DUPLICATE_CAUSES},
        "valid_orders_lost": int((~poison & (~delivered | dead)).sum()),
        "duplicate_rate": duplicates / max(counts["delivered"], 1),
        "duplicates_skipped": counters["duplicates_skipped"],
        "redeliveries": counters["redeliveries"],
        "failures": counters["failures"],
        "consumer_crashes": counters["crashes"],
        "max_visible": int(ts["visible"].max()) if len(ts) else 0,
        "max_oldest_age_s": float(ts["oldest_age_s"].max()) if len(ts) else 0.0,
        "dlq_time_to_first_s": float(np.nanmin(dlq_at)) if np.isfinite(dlq_at).any() else float("nan"),
        "poison_time_to_dlq_max_s": (0.0 if not poison_dlq.size else
                                     float(poison_dlq.max()) if np.isfinite(poison_dlq).all() else math.inf),
        "throttled_sends": counters["throttled_sends"],
        "deduplicated_sends": counters["deduplicated_sends"],
        "receive_calls": broker.receive_calls,
        "empty_receives": broker.empty_receives,
        "requests": requests,
        "request_cost_usd": request_cost,
        "consumer_cost_usd": consumer_cost,
        "store_writes": counters["store_writes"],
        "store_cost_usd": store_cost,
        "cost_usd": request_cost + consumer_cost + store_cost,
        "cost_per_day_usd": (request_cost + consumer_cost + store_cost) * 86400.0 / horizon,
        "consumer_utilisation": counters["busy_s"] / (cfg.consumers * horizon),
        "consumer_utilisation_peak": (counters["busy_peak_s"] / (cfg.consumers * peak_s) if peak_s > 0
                                      else counters["busy_s"] / (cfg.consumers * horizon)),
        "truncated": outcome.truncated,
    })
    live_visible = sum(1 for c in broker.copies if c.state == VISIBLE)
    live_flight = sum(1 for c in broker.copies if c.state == IN_FLIGHT)
    invariants = {
        "every message sent is delivered, dead-lettered, expired or still queued":
            bool((delivered | (states[:, [DEAD_LETTERED, EXPIRED, *LIVE]].sum(axis=1) > 0)).all()),
        "visible count matches the messages marked visible": live_visible == broker.visible_count,
        "in-flight count matches the messages marked in flight": live_flight == broker.in_flight_count,
        "dead-letter count matches the messages marked dead-lettered":
            int(states[:, DEAD_LETTERED].sum()) == broker.dlq_count,
        "a delivered message had a successful side effect": bool((side_effects[delivered] > 0).all()),
        "every duplicate side effect has one cause":
            sum(counters[cause] for cause in DUPLICATE_CAUSES) == duplicates,
        "no message succeeded without being received": bool((attempts[delivered] > 0).all()),
    }
    return QueueResult(summary=summary, outcome=outcome, config=cfg, seed=seed, timeseries=ts, messages=messages,
                       invariants=invariants)
