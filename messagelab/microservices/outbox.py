"""Publishing an event with a database write, and consuming it: outbox, dual write, idempotency.

A service that places an order must do two things: commit the order to its own database
and publish ``OrderPlaced`` to the event bus. They are two systems, so no transaction
spans both, and a crash between the two steps leaves them disagreeing:

``dual-write-db-first``
    commit, then publish. A crash in between **loses** the event: the order exists, and
    no other service will ever hear of it. Expected lost fraction: ``crash_probability``.
``dual-write-publish-first``
    publish, then commit. A crash in between **invents** an event: every consumer acts on
    an order that does not exist. Expected fraction of published events that are ghosts:
    ``crash_probability``.
``outbox``
    commit the order and an outbox row in **one** local transaction; a relay polls the
    outbox every ``relay_interval_s``, publishes each unsent row, then marks it sent. A
    relay crash between publishing and marking makes it publish that row again after its
    restart: nothing is lost and nothing invented, at the price of duplicates (expected
    ``p / (1 - p)`` per order for crash probability ``p``, a geometric number of tries)
    and of a delay of up to one poll interval. Duplicates are why consumers must be
    idempotent.

The bus delivers at least once: each publish reaches the Payment service once, and again
with probability ``redelivery_probability`` each time (an acknowledgement lost on the way
back), so ``r / (1 - r)`` extra deliveries per publish are expected. A **naive** consumer
charges the card on every delivery; an **idempotent** one records each message id it has
processed (in the same transaction as the charge) and charges once per order. Payment
charges what the event says, so a ghost event is a charge for an order that does not exist.

A crash here is the process dying between the two steps of one operation, with
probability ``crash_probability`` per operation; the other replicas go on serving, so a
crash costs only the operation it interrupts (and, for the relay, ``relay_restart_s``).

>>> r = simulate(PublishConfig(publishing="dual-write-db-first", crash_probability=0.1, duration_s=60), seed=1)
>>> s = r.summary
>>> s["events_lost"] > 0 and s["ghost_events"] == 0
True
>>> s = simulate(PublishConfig(publishing="outbox", crash_probability=0.1, duration_s=60), seed=1).summary
>>> s["events_lost"], s["ghost_events"], s["duplicate_publishes"] > 0
(0, 0, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import simpy

from messagelab.sim import FrozenConfig, RunBudget, SimResult, check_choice, check_number, run, streams
from messagelab.sim.stats import percentiles
from messagelab.sim.validation import MAX_RUN_ITEMS, check_run_size
from messagelab.sim.workload import poisson_arrivals

PUBLISHING = ("dual-write-db-first", "dual-write-publish-first", "outbox")
CONSUMERS = ("naive", "idempotent")

#: The fate of each order at the horizon; every order has exactly one.
FATES = ("delivered", "lost", "ghost", "pending", "in-flight")

@dataclass(frozen=True)
class PublishConfig(FrozenConfig):
    """How the Order service publishes ``OrderPlaced``, and how often it crashes mid-way."""

    publishing: str = "dual-write-db-first"
    orders_per_s: float = 50.0
    duration_s: float = 120.0
    #: Probability that the process dies between the two steps of one operation.
    crash_probability: float = 0.01
    #: Mean time of one database commit (exponential).
    db_commit_s: float = 0.005
    #: Mean time of one publish to the bus until its acknowledgement (exponential).
    publish_s: float = 0.002
    #: How often the outbox relay polls for unsent rows.
    relay_interval_s: float = 0.1
    #: How long a crashed relay takes to come back.
    relay_restart_s: float = 1.0
    #: Probability that a delivery is delivered again (at-least-once delivery).
    redelivery_probability: float = 0.01
    #: How the Payment service treats a message it has seen before.
    consumer: str = "naive"

    def validate(self) -> None:
        check_choice("publishing", self.publishing, PUBLISHING)
        check_number("orders_per_s", self.orders_per_s, 0, 2_000, low_open=True, unit="orders/s")
        check_number("duration_s", self.duration_s, 0, 7 * 86_400, low_open=True, unit="s")
        check_number("crash_probability", self.crash_probability, 0, 0.5, why="per operation")
        check_number("db_commit_s", self.db_commit_s, 0, 10, low_open=True, unit="s")
        check_number("publish_s", self.publish_s, 0, 10, low_open=True, unit="s")
        check_number("relay_interval_s", self.relay_interval_s, 0.001, 3_600, unit="s")
        check_number("relay_restart_s", self.relay_restart_s, 0, 3_600, unit="s")
        check_number("redelivery_probability", self.redelivery_probability, 0, 0.5, why="per delivery")
        check_choice("consumer", self.consumer, CONSUMERS)
        check_run_size("duration_s", self.duration_s, self.orders_per_s * self.duration_s, "orders",
                       allowed=f"≤ {MAX_RUN_ITEMS / self.orders_per_s:g} s at {self.orders_per_s:g} orders/s")


@dataclass
class PublishResult(SimResult):
    """One run: a row per order (``orders``) and the counts that matter (``summary``)."""

    #: order_id, placed_s, committed_s, first_published_s, publishes, lost, fate, deliveries, charges.
    orders: pd.DataFrame
    config: PublishConfig

    units: ClassVar[dict[str, str]] = {
        "orders_placed": "orders", "orders_committed": "orders", "events_delivered": "events",
        "events_lost": "events", "ghost_events": "events", "duplicate_publishes": "publishes",
        "pending": "orders", "in_flight": "orders", "lost_fraction": "fraction of committed orders",
        "ghost_fraction": "fraction of published events", "duplicates_per_order": "publishes per order",
        "publish_delay_p50_s": "s", "publish_delay_p99_s": "s",
        "deliveries": "deliveries", "charges": "charges", "double_charges": "orders charged more than once",
        "charges_without_order": "charges",
    }

    def check_invariants(self) -> None:
        o = self.orders
        problems = []
        unknown = set(o["fate"]) - set(FATES)
        if unknown:
            problems.append(f"unknown fates {sorted(unknown)}")
        expected = fates(o["committed_s"].notna().to_numpy(), (o["publishes"] > 0).to_numpy(), o["lost"].to_numpy())
        wrong = int((o["fate"].to_numpy() != expected).sum())
        if wrong:
            problems.append(f"{wrong} orders whose fate contradicts their commit and publishes")
        s = self.summary
        if s["orders_committed"] != s["events_delivered"] + s["events_lost"] + s["pending"]:
            problems.append("committed orders are not all delivered, lost or pending")
        if s["orders_placed"] != s["orders_committed"] + s["ghost_events"] + s["in_flight"]:
            problems.append("placed orders are not all committed, ghosts or in flight")
        if (o["publishes"] > 1).any() and self.config.publishing != "outbox":
            problems.append("an event published twice without a relay to repeat it")
        if (o["deliveries"] < o["publishes"]).any():
            problems.append("a published event that was never delivered")
        if (o["charges"] > o["deliveries"]).any() or ((o["deliveries"] > 0) & (o["charges"] == 0)).any():
            problems.append("a charge without a delivery, or a delivery that charged nothing")
        if self.config.consumer == "idempotent" and (o["charges"] > 1).any():
            problems.append("an idempotent consumer charged an order twice")
        if s["charges"] != o["charges"].sum() or s["deliveries"] != o["deliveries"].sum():
            problems.append("the summary's charges or deliveries disagree with the orders")
        assert not problems, "; ".join(problems)


def fates(committed: np.ndarray, published: np.ndarray, lost: np.ndarray) -> np.ndarray:
    """Each order's fate from whether it was committed, published, and its event dropped."""
    return np.select([committed & published, committed & lost, committed, published],
                     ["delivered", "lost", "pending", "ghost"], "in-flight")


def simulate(config: PublishConfig, *, seed: int = 0, budget: RunBudget | None = None) -> PublishResult:
    """Place orders at ``orders_per_s`` for ``duration_s`` and publish each as configured."""
    rng = streams(seed, "arrivals", "service", "faults", "bus")
    placed = poisson_arrivals(((0.0, float(config.duration_s), float(config.orders_per_s)),), rng["arrivals"])
    n = placed.size
    committed_s = np.full(n, np.nan)
    first_published_s = np.full(n, np.nan)
    publishes = np.zeros(n, dtype=np.int64)
    lost = np.zeros(n, dtype=bool)
    env = simpy.Environment()
    service, faults = rng["service"], rng["faults"]
    p = float(config.crash_probability)

    def publish(order: int) -> None:
        publishes[order] += 1
        if np.isnan(first_published_s[order]):
            first_published_s[order] = env.now

    def place(order: int):
        if config.publishing == "dual-write-publish-first":
            yield env.timeout(service.exponential(config.publish_s))
            publish(order)
            if faults.random() < p:
                return  # the order is never committed: a ghost event
            yield env.timeout(service.exponential(config.db_commit_s))
            committed_s[order] = env.now
            return
        yield env.timeout(service.exponential(config.db_commit_s))
        committed_s[order] = env.now  # with an outbox, the order row and its outbox row together
        if config.publishing == "outbox":
            outbox.append(order)
            return
        if faults.random() < p:
            lost[order] = True  # committed, and the event is never sent
            return
        yield env.timeout(service.exponential(config.publish_s))
        publish(order)

    outbox: list[int] = []  # unsent rows, oldest first

    def relay():
        while True:
            yield env.timeout(config.relay_interval_s)
            while outbox:
                order = outbox[0]
                yield env.timeout(service.exponential(config.publish_s))
                publish(order)
                if faults.random() < p:  # died before marking the row sent: it stays unsent
                    yield env.timeout(config.relay_restart_s)
                    break
                outbox.pop(0)

    arrived = [0]  # orders placed so far; a truncated run has not placed the rest

    def arrivals():
        for order, at in enumerate(placed):
            yield env.timeout(at - env.now)
            arrived[0] = order + 1
            env.process(place(order))

    env.process(arrivals())
    if config.publishing == "outbox":
        env.process(relay())
    outcome = run(env, float(config.duration_s), budget or RunBudget())
    n = arrived[0]
    placed, committed_s, first_published_s = placed[:n], committed_s[:n], first_published_s[:n]
    publishes, lost = publishes[:n], lost[:n]

    committed = ~np.isnan(committed_s)
    published = publishes > 0
    fate = fates(committed, published, lost)
    orders = pd.DataFrame({
        "order_id": np.arange(n), "placed_s": placed, "committed_s": committed_s,
        "first_published_s": first_published_s, "publishes": publishes, "lost": lost, "fate": fate,
    })
    # Each publish is delivered again while a redelivery (probability r) follows: its extra
    # deliveries are geometric, and an order's sum over its publishes negative binomial.
    # One draw per order, published or not, so the bus stream lines up across designs.
    r = float(config.redelivery_probability)
    extra = rng["bus"].negative_binomial(np.maximum(publishes, 1), 1 - r)
    deliveries = np.where(publishes > 0, publishes + extra, 0)
    charges = deliveries if config.consumer == "naive" else np.minimum(deliveries, 1)
    orders["deliveries"], orders["charges"] = deliveries, charges
    counts = pd.Series(fate).value_counts()
    count = {name: int(counts.get(name, 0)) for name in FATES}
    delays = (first_published_s - committed_s)[committed & published]
    delay = percentiles(delays, (50, 99))
    n_committed, n_published = int(committed.sum()), int(published.sum())
    summary = {
        "orders_placed": int(n), "orders_committed": n_committed, "events_delivered": count["delivered"],
        "events_lost": count["lost"], "ghost_events": count["ghost"],
        "duplicate_publishes": int((publishes - 1).clip(min=0).sum()),
        "pending": count["pending"], "in_flight": count["in-flight"],
        "lost_fraction": count["lost"] / n_committed if n_committed else 0.0,
        "ghost_fraction": count["ghost"] / n_published if n_published else 0.0,
        "duplicates_per_order": float((publishes - 1).clip(min=0).sum() / n_published) if n_published else 0.0,
        "publish_delay_p50_s": delay["p50"], "publish_delay_p99_s": delay["p99"],
        "deliveries": int(deliveries.sum()), "charges": int(charges.sum()),
        "double_charges": int((charges > 1).sum()), "charges_without_order": int(charges[fate == "ghost"].sum()),
    }
    return PublishResult(summary=summary, outcome=outcome, orders=orders, config=config)
