"""The order saga across five services that own their data: choreography against orchestration.

An order touches Inventory (reserve the stock), Payment (charge the card) and Shipping
(book a courier). No transaction spans three databases, so the order is a **saga**: a
sequence of local transactions, each published as an event, with a **compensating
action** (release the stock, refund the card) that undoes a step when a later one fails::

    choreography                                 orchestration
    Order ──OrderPlaced──► Inventory             Order (orchestrator) ──ReserveStock──► Inventory
    Inventory ──StockReserved──► Payment         Inventory ──StockReserved──► Order
    Payment ──PaymentCharged──► Shipping         Order ──ChargePayment──► Payment
    Shipping ──ShipmentScheduled──► Order        Payment ──PaymentDeclined──► Order
    Payment ──PaymentDeclined──► Inventory,      Order ──ReleaseStock──► Inventory
                                 Order           Inventory ──StockReleased──► Order

In a **choreography** each service reacts to the events of the one before it and the
saga's shape lives in everybody's subscriptions; a failure event goes to every service
that must compensate. In an **orchestration** the Order service sends commands (verbs:
``ChargePayment``) and the services reply with events (past tense: ``PaymentCharged``);
the orchestrator knows the whole saga, the services know only it, and it compensates
step by step in reverse order. :func:`routes` is the wiring of each, and
:func:`coupling_matrix` reads who must know whom from it.

Everything travels through a bus that delivers **at least once**: each delivery takes an
exponential ``bus_latency_s`` (so messages overtake each other), and is delivered again
```redelivery_delay_s`` later with probability ``redelivery_probability`` (an
acknowledgement lost on the way back); with probability ``delayed_probability`` its first
attempt fails and it arrives ``redelivery_delay_s`` late, after messages sent later. A
**naive** consumer acts on every delivery (a second charge, a second courier); an
**idempotent** one records each message id with the change it made and skips a repeat.
Message ids are deterministic, so a re-published event is recognised too.

Each service's change and its publish go through ``publishing`` (see
:mod:`messagelab.microservices.outbox`): with crashes between the two, ``dual-write-db-first``
commits and never publishes (the incoming message comes back, is recognised as done, and
the saga stalls), ``dual-write-publish-first`` publishes a change it never committed (the
incoming message comes back and is processed again), and the ``outbox`` publishes every
committed change at least once, up to ``relay_interval_s`` later.

**Event design**: ``thin`` events carry the order id only, and every consumer that needs
the order calls the Order service back (a synchronous call that waits out an Order
outage); ``event-carried-state`` events carry the order (bigger, no call-backs). A
**schema change** to the Order service's events (``schema_version`` 2) is either
``additive`` (a tolerant reader ignores the new field) or ``breaking``; a
``lagging_consumer`` that understands only version 1 dead-letters every version-2 message
that carries the order's data — a thin event carries none.

**Read model**: the Notification service keeps the customer's order page, from
``OrderPlaced`` (received) then ``OrderCompleted``/``OrderCancelled``. Applied ``by-version``
it ignores an older event arriving late; applied by ``last-arrival`` a late duplicate of
``OrderPlaced`` overwrites the outcome, and the page never agrees again. **Consistency
time** is from placing an order until every service's data says its outcome.

>>> r = simulate(SagaConfig(duration_s=10), seed=1)
>>> s = r.summary
>>> s["half_done"], s["orders_placed"] == s["completed"] + s["compensated"]
(0, True)
>>> chor = coupling_matrix(SagaConfig()).loc["Inventory"]
>>> orch = coupling_matrix(SagaConfig(coordination="orchestration")).loc["Inventory"]
>>> list(chor[chor].index), list(orch[orch].index)
(['Order', 'Payment', 'Shipping'], ['Order'])
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import simpy

from messagelab.microservices.outbox import CONSUMERS, PUBLISHING
from messagelab.sim import FrozenConfig, RunBudget, SimResult, check_choice, check_number, run, streams
from messagelab.sim.stats import percentiles
from messagelab.sim.streams import Draws
from messagelab.sim.validation import MAX_RUN_ITEMS, ConfigError, check_run_size
from messagelab.sim.workload import poisson_arrivals

SERVICES = ("Order", "Inventory", "Payment", "Shipping", "Notification")
COORDINATION = ("choreography", "orchestration")
EVENT_DESIGNS = ("event-carried-state", "thin")
SCHEMA_CHANGES = ("additive", "breaking")
READ_MODELS = ("by-version", "last-arrival")
#: Each order's state at the horizon; every order has exactly one.
OUTCOMES = ("completed", "compensated", "half-done", "in-progress")


@dataclass(frozen=True)
class Step:
    """One local transaction of the saga: its command, its events, its compensation."""

    name: str
    service: str
    command: str
    done: str
    failed: str
    undo: str
    undone: str
    #: The SagaConfig field with the probability that the step fails for business reasons.
    failure_field: str


#: The saga's steps, in the order a step's business failure is drawn (common random numbers).
STEPS: dict[str, Step] = {s.name: s for s in (
    Step("reserve-stock", "Inventory", "ReserveStock", "StockReserved", "StockReservationFailed",
         "ReleaseStock", "StockReleased", "stock_unavailable_probability"),
    Step("charge-payment", "Payment", "ChargePayment", "PaymentCharged", "PaymentDeclined",
         "RefundPayment", "PaymentRefunded", "payment_declined_probability"),
    Step("schedule-shipment", "Shipping", "ScheduleShipment", "ShipmentScheduled", "ShipmentRejected",
         "CancelShipment", "ShipmentCancelled", "shipment_rejected_probability"),
)}
STEP_NAMES = tuple(STEPS)
#: The Order service's own events: the saga's start and its two ends.
ORDER_EVENTS = ("OrderPlaced", "OrderCompleted", "OrderCancelled")
#: Every message name: events in the past tense, commands as verbs.
EVENTS = ORDER_EVENTS + tuple(e for s in STEPS.values() for e in (s.done, s.failed, s.undone))
COMMANDS = tuple(c for s in STEPS.values() for c in (s.command, s.undo))
_CODE = {name: i for i, name in enumerate(EVENTS + COMMANDS)}


@dataclass(frozen=True)
class SagaConfig(FrozenConfig):
    """An order saga's design (coordination, steps, compensations, delivery, events) and its day."""

    coordination: str = "choreography"
    #: The steps in the order the saga runs them: each of STEP_NAMES once.
    steps: tuple[str, ...] = STEP_NAMES
    #: The steps that have a compensating action.
    compensated: tuple[str, ...] = STEP_NAMES
    orders_per_s: float = 20.0
    duration_s: float = 30.0
    #: Time after the last order for the sagas in progress to finish.
    drain_s: float = 30.0
    stock_unavailable_probability: float = 0.05
    payment_declined_probability: float = 0.08
    shipment_rejected_probability: float = 0.03
    #: Mean time a message spends on the bus (exponential: messages overtake each other).
    bus_latency_s: float = 0.01
    redelivery_probability: float = 0.01
    #: Probability that a delivery's first attempt fails and it is retried ``redelivery_delay_s``
    #: later: messages of one order then arrive out of order.
    delayed_probability: float = 0.01
    #: How long after a delivery its repeat arrives (the acknowledgement timeout).
    redelivery_delay_s: float = 5.0
    consumer: str = "idempotent"
    publishing: str = "outbox"
    #: Probability that a service dies between its database write and its publish.
    crash_probability: float = 0.0
    relay_interval_s: float = 0.1
    #: Concurrent handlers per service, and the mean time one message takes (exponential).
    service_workers: int = 4
    service_time_s: float = 0.004
    #: A service whose handlers are ``slow_factor`` times slower ("" for none).
    slow_service: str = ""
    slow_factor: float = 1.0
    event_design: str = "event-carried-state"
    #: Mean time of one synchronous call back to the Order service (thin events).
    callback_s: float = 0.01
    #: When the Order service goes down, and for how long (0: no outage).
    order_outage_start_s: float = 0.0
    order_outage_s: float = 0.0
    #: The version of the Order service's events; version 2 is ``schema_change`` from version 1.
    schema_version: int = 1
    schema_change: str = "additive"
    #: A service that understands only version 1 of the Order service's events ("" for none).
    lagging_consumer: str = ""
    read_model: str = "by-version"
    #: A choreography wired by hand: (event, its subscribers) pairs, or a dict; an event not
    #: listed reaches nobody. Empty: the wiring the step order and compensations imply.
    subscriptions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    thin_event_bytes: int = 300
    state_event_bytes: int = 3_000

    def __post_init__(self) -> None:
        for name in ("steps", "compensated"):  # a design dict gives lists
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        wiring = self.subscriptions
        if isinstance(wiring, dict) or (isinstance(wiring, list | tuple) and all(
                isinstance(pair, list | tuple) and len(pair) == 2 for pair in wiring)):
            pairs = wiring.items() if isinstance(wiring, dict) else wiring
            try:
                order = {name: i for i, name in enumerate(EVENTS)}
                wired = tuple(sorted(((event, tuple(to)) for event, to in pairs),
                                     key=lambda pair: order.get(pair[0], len(order))))
            except TypeError:
                wired = wiring  # not pairs of a name and names: validate() says so
            object.__setattr__(self, "subscriptions", wired)
        super().__post_init__()

    def validate(self) -> None:
        check_choice("coordination", self.coordination, COORDINATION)
        steps = self.steps
        if (not isinstance(steps, tuple) or sorted(map(str, steps)) != sorted(STEP_NAMES)
                or not all(isinstance(s, str) for s in steps)):
            raise ConfigError("steps", steps, "each of " + ", ".join(STEP_NAMES) + " once, in the order they run")
        if not isinstance(self.compensated, tuple) or not set(self.compensated) <= set(STEP_NAMES) \
                or len(set(self.compensated)) != len(self.compensated):
            raise ConfigError("compensated", self.compensated, "distinct names among " + ", ".join(STEP_NAMES))
        check_number("orders_per_s", self.orders_per_s, 0, 1_000, low_open=True, unit="orders/s")
        check_number("duration_s", self.duration_s, 0, 86_400, low_open=True, unit="s")
        check_number("drain_s", self.drain_s, 0, 86_400, unit="s")
        for f in ("stock_unavailable_probability", "payment_declined_probability", "shipment_rejected_probability"):
            check_number(f, getattr(self, f), 0, 1)
        check_number("bus_latency_s", self.bus_latency_s, 0, 60, low_open=True, unit="s")
        check_number("redelivery_probability", self.redelivery_probability, 0, 0.5, why="per delivery")
        check_number("delayed_probability", self.delayed_probability, 0, 0.5, why="per delivery")
        check_number("redelivery_delay_s", self.redelivery_delay_s, 0, 3_600, low_open=True, unit="s")
        check_choice("consumer", self.consumer, CONSUMERS)
        check_choice("publishing", self.publishing, PUBLISHING)
        check_number("crash_probability", self.crash_probability, 0, 0.5, why="per operation")
        check_number("relay_interval_s", self.relay_interval_s, 0.001, 3_600, unit="s")
        check_number("service_workers", self.service_workers, 1, 1_000, integer=True)
        check_number("service_time_s", self.service_time_s, 0, 60, low_open=True, unit="s")
        check_choice("slow_service", self.slow_service, ("", *SERVICES))
        check_number("slow_factor", self.slow_factor, 1, 1_000)
        check_choice("event_design", self.event_design, EVENT_DESIGNS)
        check_number("callback_s", self.callback_s, 0, 60, low_open=True, unit="s")
        check_number("order_outage_start_s", self.order_outage_start_s, 0, 86_400, unit="s")
        check_number("order_outage_s", self.order_outage_s, 0, 86_400, unit="s")
        check_number("schema_version", self.schema_version, 1, 2, integer=True)
        check_choice("schema_change", self.schema_change, SCHEMA_CHANGES)
        check_choice("lagging_consumer", self.lagging_consumer, ("", *SERVICES[1:]),
                     why="the Order service reads its own events")
        check_choice("read_model", self.read_model, READ_MODELS)
        self._check_subscriptions()
        check_number("thin_event_bytes", self.thin_event_bytes, 1, 262_144, integer=True, unit="bytes")
        check_number("state_event_bytes", self.state_event_bytes, 1, 262_144, integer=True, unit="bytes",
                     why="an SQS or SNS message holds at most 256 KiB")
        check_run_size("duration_s", self.duration_s, self.orders_per_s * self.duration_s * 10, "messages",
                       allowed=f"≤ {MAX_RUN_ITEMS / 10 / self.orders_per_s:g} s at {self.orders_per_s:g} orders/s")

    def _check_subscriptions(self) -> None:
        wiring = self.subscriptions
        if not wiring:
            return
        allowed = "a dict from each event to the services that receive it, e.g. {'OrderPlaced': ['Inventory']}"
        if self.coordination != "choreography":
            raise ConfigError("subscriptions", wiring, "none for an orchestration", "the orchestrator addresses "
                              "each service itself; wiring by hand is for a choreography")
        if not isinstance(wiring, tuple) or not all(isinstance(p, tuple) and len(p) == 2 for p in wiring):
            raise ConfigError("subscriptions", wiring, allowed)
        for event, receivers in wiring:
            if event not in EVENTS:
                raise ConfigError("subscriptions", event, "an event of the saga: " + ", ".join(EVENTS),
                                  "commands are for an orchestration" if event in COMMANDS else "")
            if not all(isinstance(r, str) and r in SERVICES for r in receivers) or len(set(receivers)) != len(
                    receivers):
                raise ConfigError(f"subscriptions[{event!r}]", list(receivers), "distinct services among "
                                  + ", ".join(SERVICES))
            if SENDER[event] in receivers:
                raise ConfigError(f"subscriptions[{event!r}]", list(receivers), f"services other than {SENDER[event]}",
                                  "a service does not subscribe to its own event")
        if len({event for event, _ in wiring}) != len(wiring):
            raise ConfigError("subscriptions", wiring, "each event once")

    @property
    def horizon_s(self) -> float:
        return float(self.duration_s + self.drain_s)


def routes(config: SagaConfig) -> dict[str, tuple[str, ...]]:
    """Who receives each message: the saga's wiring under ``config.coordination``.

    A name with no receivers (a compensation's event in a choreography) is published for
    anyone who cares, and delivered to nobody. ``config.subscriptions``, when given, is the
    wiring: a service then receives what it subscribes to, and acts only on what its step
    needs (the rest it reads and ignores).
    """
    if config.subscriptions:
        return {name: () for name in EVENTS} | dict(config.subscriptions)
    steps = [STEPS[s] for s in config.steps]
    out: dict[str, tuple[str, ...]] = {"OrderPlaced": ("Notification",), "OrderCompleted": ("Notification",),
                                       "OrderCancelled": ("Notification",)}
    if config.coordination == "orchestration":
        for s in steps:
            out[s.command], out[s.undo] = (s.service,), (s.service,)
            out[s.done] = out[s.failed] = out[s.undone] = ("Order",)
        return out
    out["OrderPlaced"] = (steps[0].service, "Notification")
    for i, s in enumerate(steps):
        out[s.done] = (steps[i + 1].service,) if i + 1 < len(steps) else ("Order",)
        undoers = tuple(p.service for p in steps[:i] if p.name in config.compensated)
        out[s.failed] = ("Order", *undoers)
        out[s.undone] = ()
    return out


def _sender(name: str) -> str:
    """The service that publishes an event or sends a command."""
    if name in ORDER_EVENTS or name in COMMANDS:
        return "Order"
    return next(s.service for s in STEPS.values() if name in (s.done, s.failed, s.undone))


#: The service that publishes each event or sends each command.
SENDER: dict[str, str] = {name: _sender(name) for name in EVENTS + COMMANDS}


def sender(name: str) -> str:
    """The service that publishes an event or sends a command."""
    return SENDER[name]


def coupling_matrix(config: SagaConfig) -> pd.DataFrame:
    """``m.loc[a, b]`` is True when service ``a`` must know about service ``b``.

    A subscriber knows the publisher whose events it reads; a command's sender knows its
    receiver, and a service that replies to commands knows where to reply; with thin
    events every consumer that needs the order knows the Order service it calls back.
    """
    m = pd.DataFrame(False, index=pd.Index(SERVICES, name="knows →"), columns=list(SERVICES))
    for name, receivers in routes(config).items():
        frm = sender(name)
        for to in receivers:
            m.loc[to, frm] = True
            if name in COMMANDS:
                m.loc[frm, to] = True
    if config.event_design == "thin":
        for to in {r for name, rs in routes(config).items() for r in rs if _needs_data(config, name, r)}:
            m.loc[to, "Order"] = True
    for s in SERVICES:
        m.loc[s, s] = False
    return m


def _needs_data(config: SagaConfig, name: str, receiver: str) -> bool:
    """Whether handling ``name`` at ``receiver`` needs the order (items, amount, address, e-mail)."""
    if receiver == "Notification":
        return True
    step = next((s for s in STEPS.values() if s.service == receiver), None)
    if step is None:
        return False
    first = STEPS[config.steps[0]]
    trigger = step.command if config.coordination == "orchestration" else (
        "OrderPlaced" if step is first else STEPS[config.steps[config.steps.index(step.name) - 1]].done)
    return name == trigger


@dataclass
class SagaResult(SimResult):
    """One run: a row per order (``orders``), a row per delivery (``deliveries``), the summary."""

    #: order_id, placed_s, outcome, reason, finished_s, consistent_s, messages, callbacks, charges, shipments.
    orders: pd.DataFrame
    #: sent_s, received_s, sender, receiver, message, order_id, handled (False: dead-lettered).
    deliveries: pd.DataFrame
    config: SagaConfig

    units: ClassVar[dict[str, str]] = {
        "orders_placed": "orders", "completed": "orders", "compensated": "orders", "half_done": "orders",
        "in_progress": "orders", "half_done_fraction": "fraction of orders",
        "completion_p50_s": "s", "completion_p99_s": "s", "consistency_p50_s": "s",
        "consistency_p95_s": "s", "consistency_p99_s": "s",
        "stale_read_models": "orders", "messages_per_order": "deliveries per order",
        "kb_per_order": "kB per order", "callbacks_per_order": "calls per order",
        "double_charges": "orders charged more than once", "double_shipments": "orders shipped more than once",
        "refunds": "refunds", "refund_fraction": "refunds per order", "relay_polls_per_s": "polls/s",
        "events_lost": "events", "ghost_orders": "orders", "dead_lettered": "messages",
        "crashes": "crashes", "ignored_deliveries": "messages",
    }

    def check_invariants(self) -> None:
        o, s = self.orders, self.summary
        problems = []
        if set(o["outcome"]) - set(OUTCOMES):
            problems.append(f"unknown outcomes {sorted(set(o['outcome']) - set(OUTCOMES))}")
        total = sum(s[k] for k in ("completed", "compensated", "half_done", "in_progress"))
        if total != s["orders_placed"] or s["orders_placed"] != len(o):
            problems.append("orders are not each completed, compensated, half-done or in progress")
        done = o["outcome"] == "completed"
        if (o.loc[done, ["stock", "charges_net", "shipments_net"]] < 1).any(axis=None):
            problems.append("a completed order without its stock, charge or shipment")
        comp = o["outcome"] == "compensated"
        if (o.loc[comp, ["stock", "charges_net", "shipments_net"]] != 0).any(axis=None):
            problems.append("a compensated order with an effect left over")
        if (o["consistent_s"] < o["placed_s"]).any() or (o["consistent_s"].notna() & o["outcome"].isin(
                ["half-done", "in-progress"])).any():
            problems.append("an order agreed on before it was placed, or agreed on without an outcome")
        if len(self.deliveries) != o["messages"].sum():
            problems.append("the deliveries table and the orders' message counts disagree")
        if self.config.consumer == "idempotent" and self.config.crash_probability == 0 and (
                (o["charges"] > 1).any() or (o["shipments"] > 1).any()):
            problems.append("an idempotent consumer acted twice on one order")
        if s["dead_lettered"] != int((~self.deliveries["handled"]).sum()):
            problems.append("dead-lettered messages disagree with the deliveries")
        assert not problems, "; ".join(problems)

    def outcome_counts(self) -> pd.Series:
        """Orders by outcome, every outcome listed."""
        return self.orders["outcome"].value_counts().reindex(list(OUTCOMES), fill_value=0)


def simulate(config: SagaConfig, *, seed: int = 0, budget: RunBudget | None = None) -> SagaResult:
    """Place orders at ``orders_per_s`` for ``duration_s``; run each saga until ``horizon_s``."""
    rng = streams(seed, "arrivals", "business", "service", "bus", "faults")
    placed = poisson_arrivals(((0.0, float(config.duration_s), float(config.orders_per_s)),), rng["arrivals"])
    n = placed.size
    probabilities = np.array([getattr(config, s.failure_field) for s in STEPS.values()])
    fails = (rng["business"].random((n, len(STEPS))) < probabilities).tolist()
    service_time = Draws(rng["service"], "standard_exponential")
    bus_time, bus_u = Draws(rng["bus"], "standard_exponential"), Draws(rng["bus"])
    fault = Draws(rng["faults"])

    steps = [STEPS[s] for s in config.steps]
    col = {s.name: i for i, s in enumerate(STEPS.values())}
    route = routes(config)
    orchestrated = config.coordination == "orchestration"
    naive = config.consumer == "naive"
    thin = config.event_design == "thin"
    breaking = config.schema_version == 2 and config.schema_change == "breaking"
    p_crash, r_redeliver = float(config.crash_probability), float(config.redelivery_probability)
    outage = (config.order_outage_start_s, config.order_outage_start_s + config.order_outage_s)

    # Who does what on receiving which message (one table, read by the handlers).
    handler: dict[tuple[str, str], tuple[str, int]] = {}
    for i, s in enumerate(steps):
        trigger = s.command if orchestrated else ("OrderPlaced" if i == 0 else steps[i - 1].done)
        handler[s.service, trigger] = ("act", i)
        if orchestrated:
            handler[s.service, s.undo] = ("undo", i)
            handler["Order", s.done] = ("next", i)
            handler["Order", s.failed] = ("compensate-below", i)
            handler["Order", s.undone] = ("compensate-below", i)
        else:
            for j, p in enumerate(steps[:i]):
                if p.name in config.compensated:
                    handler[p.service, s.failed] = ("undo", j)
            handler["Order", s.failed] = ("cancel", i)
    if not orchestrated:
        handler["Order", steps[-1].done] = ("complete", 0)
    handler["Notification", "OrderPlaced"] = ("view", 1)
    handler["Notification", "OrderCompleted"] = ("view", 2)
    handler["Notification", "OrderCancelled"] = ("view", 3)
    needs_data = {(to, name) for name, rs in route.items() for to in rs if _needs_data(config, name, to)}

    # Per-order state as Python lists: the handlers touch one element at a time, which lists
    # do several times faster than numpy arrays; _result turns them into arrays.
    applied = [[0] * len(STEPS) for _ in range(n)]  # times each step's action took effect
    undone = [[0] * len(STEPS) for _ in range(n)]  # times it was compensated
    status = [0] * n  # 0 open, 2 completed, 3 cancelled (the view's codes)
    finished_s = [float("nan")] * n
    view = [0] * n  # the customer's order page: 0 nothing, 1 received, 2/3 outcome
    last_change = placed.tolist()
    exists = [True] * n
    outstanding, messages, nbytes, callbacks = [0] * n, [0] * n, [0] * n, [0] * n
    counters = {"lost": 0, "crashes": 0, "dead": 0, "ignored": 0}
    log: list[tuple[float, float, str, str, str, int, bool]] = []
    seen: dict[str, set[int]] = {s: set() for s in SERVICES}
    env = simpy.Environment()
    # Each service is ``service_workers`` handlers taking messages first come, first served:
    # a heap of the times its handlers come free (an exact c-server FIFO queue, two simpy
    # events per delivery instead of a process and a resource's four).
    free = {s: [0.0] * config.service_workers for s in SERVICES}
    mean_time = {s: config.service_time_s * (config.slow_factor if s == config.slow_service else 1.0)
                 for s in SERVICES}

    def serve(service: str, mean_s: float) -> float:
        """Queue one message at ``service`` now; the time its handler finishes."""
        start = max(env.now, heapq.heappop(free[service]))
        if service == "Order" and outage[0] <= start < outage[1]:
            start = outage[1]
        end = start + mean_s * service_time()
        heapq.heappush(free[service], end)
        return end

    def at(delay: float, action) -> None:
        env.timeout(delay).callbacks.append(action)

    bus_latency_s, delayed_p, again_s = config.bus_latency_s, config.delayed_probability, config.redelivery_delay_s

    def send(order: int, name: str, delay: float = 0.0) -> None:
        """Put ``name`` on the bus for each of its receivers, each delivered at least once."""
        for to in route[name]:
            first = delay + bus_latency_s * bus_time()
            if bus_u() < delayed_p:
                first += again_s
            repeats = 0
            while bus_u() < r_redeliver:
                repeats += 1
            for k in range(repeats + 1):
                deliver(order, name, to, env.now, first + k * again_s)

    def publish(order: int, change, emits: list[str], redeliver) -> None:
        """Commit ``change`` and publish ``emits`` as ``config.publishing`` does, crashes included."""
        crashed = p_crash > 0 and fault() < p_crash
        counters["crashes"] += crashed
        if config.publishing == "outbox":
            change()
            for name in emits:
                # The relay polls, publishes, and marks the row sent; a crash before the mark
                # publishes the row again after the next poll (same message id).
                copies = 1
                while p_crash and fault() < p_crash:
                    copies += 1
                poll = config.relay_interval_s * fault()
                for c in range(copies):
                    send(order, name, poll + c * config.relay_interval_s)
        elif config.publishing == "dual-write-db-first":
            change()
            if crashed:
                # The incoming message comes back; an idempotent consumer sees it done and
                # skips it, so the events are never published. A naive one does it again.
                counters["lost"] += len(emits) if redeliver is None or not naive else 0
                if redeliver is not None:
                    redeliver()
                return
            for name in emits:
                send(order, name)
        else:  # dual-write-publish-first
            for name in emits:
                send(order, name)
            if crashed:
                if redeliver is None:
                    exists[order] = False  # the order row never committed: a ghost
                else:
                    redeliver()
                return
            change()

    # What a delivery of ``name`` to ``to`` involves, worked out once per pair: whether its
    # handler calls the Order service back, the bytes it carries, whether it is refused.
    plan: dict[tuple[str, str], tuple[bool, int, bool]] = {}
    for name, receivers in route.items():
        for to in receivers:
            data = (to, name) in needs_data
            carries = data and not thin
            plan[to, name] = (data and thin, config.state_event_bytes if carries else config.thin_event_bytes,
                              breaking and carries and to == config.lagging_consumer and SENDER[name] == "Order")
    # A call back waits for an Order handler, so a slow Order service answers slowly too.
    callback_s = config.callback_s * (config.slow_factor if config.slow_service == "Order" else 1.0)

    def deliver(order: int, name: str, to: str, sent: float, delay: float) -> None:
        """The message reaches ``to`` after ``delay``, waits for a handler, and is handled."""
        outstanding[order] += 1
        fetch, size, rejected = plan[to, name]

        def handled(_event) -> None:
            messages[order] += 1
            nbytes[order] += size
            log.append((sent, env.now, SENDER[name], to, name, order, not rejected))
            outstanding[order] -= 1
            if rejected:
                counters["dead"] += 1
                return
            handle(order, name, to, sent)

        def called_back(_event) -> None:  # thin events: the handler asks the Order service
            callbacks[order] += 1
            at(serve("Order", callback_s) - env.now, handled)

        def arrived(_event) -> None:
            at(serve(to, mean_time[to]) - env.now, called_back if fetch else handled)

        at(delay, arrived)

    def redelivery(order: int, name: str, to: str, sent: float):
        def again() -> None:
            deliver(order, name, to, sent, config.redelivery_delay_s)
        return again

    def handle(order: int, name: str, to: str, sent: float) -> None:
        job = handler.get((to, name))
        if job is None:
            counters["ignored"] += 1  # wired to a service that has nothing to do with it
            return
        mid = order * 64 + _CODE[name]
        if not naive and mid in seen[to]:
            return  # a repeat: acknowledged, nothing done
        kind, i = job
        emits: list[str] = []

        def mark(changed: bool) -> None:
            """Record the message as processed; a change to the order's data moves its consistency time."""
            seen[to].add(mid)
            if changed:
                last_change[order] = max(last_change[order], env.now)

        if kind == "view":
            def change() -> None:
                applies = config.read_model == "last-arrival" or i > view[order]
                if applies:
                    view[order] = i
                mark(applies)
            change()  # the page is the Notification service's own table: nothing to publish
            return
        if kind == "act":
            step = steps[i]
            c = col[step.name]
            ok = not fails[order][c]
            emits = [step.done if ok else step.failed]

            def change() -> None:
                if ok:
                    applied[order][c] += 1
                mark(ok)
        elif kind == "undo":
            c = col[steps[i].name]
            emits = [steps[i].undone]

            def change() -> None:
                undone[order][c] += 1
                mark(True)
        else:  # the Order service: complete, cancel, next step or compensate
            below = [j for j in range(i - 1, -1, -1) if steps[j].name in config.compensated]
            if kind == "next" and i + 1 < len(steps):
                emits = [steps[i + 1].command]
                outcome = 0
            elif kind in ("next", "complete"):
                emits, outcome = ["OrderCompleted"], 2
            elif kind == "compensate-below" and below:
                emits, outcome = [steps[below[0]].undo], 0
            else:  # cancel (choreography), or nothing left to compensate
                emits, outcome = ["OrderCancelled"], 3

            def change() -> None:
                ends = bool(outcome) and status[order] == 0
                if ends:
                    status[order], finished_s[order] = outcome, env.now
                mark(ends)
        publish(order, change, emits, redelivery(order, name, to, sent))

    def place(order: int) -> None:
        def placed_(_event) -> None:
            emits = ["OrderPlaced"] + ([steps[0].command] if orchestrated else [])
            publish(order, lambda: None, emits, None)
        at(serve("Order", mean_time["Order"]) - env.now, placed_)

    arrived = [0]

    def arrivals():
        for order, at_s in enumerate(placed):
            yield env.timeout(at_s - env.now)
            arrived[0] = order + 1
            place(order)

    env.process(arrivals())
    outcome = run(env, config.horizon_s, budget or RunBudget())
    return _result(config, outcome, arrived[0], placed, col, applied, undone, status, finished_s, view,
                   last_change, exists, outstanding, messages, nbytes, callbacks, counters, log)


def _result(config, outcome, n, placed, col, applied, undone, status, finished_s, view, last_change,
            exists, outstanding, messages, nbytes, callbacks, counters, log) -> SagaResult:
    applied, undone = np.array(applied, dtype=np.int64).reshape(-1, len(STEPS)), np.array(
        undone, dtype=np.int64).reshape(-1, len(STEPS))
    status, finished_s, view = np.array(status), np.array(finished_s, dtype=float), np.array(view)
    last_change, exists, outstanding = np.array(last_change, dtype=float), np.array(exists, dtype=bool), np.array(
        outstanding)
    messages, nbytes, callbacks = np.array(messages), np.array(nbytes), np.array(callbacks)
    net = applied[:n] - undone[:n]
    used = [col[s] for s in config.steps]
    status, view, exists = status[:n], view[:n], exists[:n]
    all_done = (net[:, used] >= 1).all(axis=1)
    none_left = (net[:, used] == 0).all(axis=1)
    completed = (status == 2) & all_done & exists
    compensated = (status == 3) & none_left & exists
    moving = outstanding[:n] > 0
    outcome_of = np.select([completed, compensated, moving], ["completed", "compensated", "in-progress"],
                           "half-done")
    reason = np.select(
        [~exists, (status == 3) & (net[:, used] > 0).any(axis=1), (net[:, used] < 0).any(axis=1),
         (status == 2) & ~all_done, status == 0],
        ["ghost order", "not compensated", "undone more than done", "completed without every step",
         "stalled"], "")
    reason = np.where(outcome_of == "half-done", reason, "")
    agreed = (completed | compensated) & (view == status)
    consistent_s = np.where(agreed, last_change[:n], np.nan)
    c_pay, c_ship, c_stock = col["charge-payment"], col["schedule-shipment"], col["reserve-stock"]
    orders = pd.DataFrame({
        "order_id": np.arange(n), "placed_s": placed[:n], "outcome": outcome_of, "reason": reason,
        "finished_s": finished_s[:n], "consistent_s": consistent_s, "messages": messages[:n],
        "callbacks": callbacks[:n], "charges": applied[:n, c_pay], "refunds": undone[:n, c_pay],
        "shipments": applied[:n, c_ship], "stock": net[:, c_stock], "charges_net": net[:, c_pay],
        "shipments_net": net[:, c_ship],
    })
    deliveries = pd.DataFrame(log, columns=["sent_s", "received_s", "sender", "receiver", "message",
                                            "order_id", "handled"])
    counts = pd.Series(outcome_of).value_counts()
    done_lat = (finished_s[:n] - placed[:n])[completed]
    cons = (consistent_s - placed[:n])[agreed]
    lat, con = percentiles(done_lat, (50, 99)), percentiles(cons, (50, 95, 99))
    publishers = {sender(name) for name, receivers in routes(config).items() if receivers}
    per = max(n, 1)
    summary = {
        "orders_placed": int(n), "completed": int(counts.get("completed", 0)),
        "compensated": int(counts.get("compensated", 0)), "half_done": int(counts.get("half-done", 0)),
        "in_progress": int(counts.get("in-progress", 0)),
        "half_done_fraction": float(counts.get("half-done", 0) / per),
        "completion_p50_s": lat["p50"], "completion_p99_s": lat["p99"],
        "consistency_p50_s": con["p50"], "consistency_p95_s": con["p95"], "consistency_p99_s": con["p99"],
        # Pages that will never show the outcome: nothing is left in flight to correct them.
        "stale_read_models": int(((completed | compensated) & (view != status) & ~moving).sum()),
        "messages_per_order": float(messages[:n].sum() / per), "kb_per_order": float(nbytes[:n].sum() / per / 1000),
        "callbacks_per_order": float(callbacks[:n].sum() / per),
        "double_charges": int((applied[:n, c_pay] > 1).sum()), "double_shipments": int((applied[:n, c_ship] > 1).sum()),
        "refunds": int(undone[:n, c_pay].sum()), "refund_fraction": float(undone[:n, c_pay].sum() / per),
        # Every service that publishes runs a relay polling its outbox table.
        "relay_polls_per_s": len(publishers) / config.relay_interval_s if config.publishing == "outbox" else 0.0,
        "events_lost": counters["lost"],
        "ghost_orders": int((~exists).sum()), "dead_lettered": counters["dead"], "crashes": counters["crashes"],
        "ignored_deliveries": counters["ignored"],
    }
    return SagaResult(summary=summary, outcome=outcome, orders=orders, deliveries=deliveries, config=config)


def wiring_frame(config: SagaConfig) -> pd.DataFrame:
    """The wiring as a table: each message, who sends it and who receives it."""
    rows = [(name, "command" if name in COMMANDS else "event", sender(name), ", ".join(rs) or "nobody")
            for name, rs in routes(config).items()]
    return pd.DataFrame(rows, columns=["message", "kind", "sent by", "received by"]).set_index("message")
