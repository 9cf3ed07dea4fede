"""Exercise 02, Event-Driven Microservices Architecture: ShopFast splits its monolith.

Everything the exercise adds in Python: its scenario (the order flow, its faults, the
business targets), the checks its test cells call, and its graded cells. The notebook reads
its numbers from ``SCENARIO``; solutions and checks compute from it too.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from messagelab.grading import (
    check_count,
    config_from,
    design_changes,
    evaluate,
    plain,
    require,
    student_check,
)
from messagelab.grading.evaluate import Evaluation
from messagelab.microservices.naming import past_tense
from messagelab.microservices.saga import (
    EVENTS,
    SERVICES,
    STEP_NAMES,
    STEPS,
    SagaConfig,
    routes,
    sender,
    simulate,
)
from messagelab.sim.display import count, fmt, text_table
from messagelab.sim.scenario import Scenario, Target

ID = "ex02-event-driven-microservices"

#: Every graded cell of the notebook: grade_id -> (cell type, points).
GRADES: dict[str, tuple[str, float]] = {
    "sys-messages-per-order": ("code", 2),
    "arch-saga-design": ("code", 5),
    "arch-event-catalogue": ("code", 4),
    "arch-delivery-design": ("code", 5),
    "arch-diagram": ("markdown", 4),
    "arch-rationale": ("markdown", 5),
    "biz-impact": ("markdown", 4),
    "biz-roadmap": ("markdown", 3),
    "sys-risks": ("markdown", 3),
    "comm-summary": ("markdown", 3),
}

#: The saga's shape: how it is coordinated, in which order its steps run, which can be undone.
SAGA_FIELDS = ("coordination", "steps", "compensated")
#: The design fields that hold lists of step names.
LIST_FIELDS = ("steps", "compensated")
#: How messages are published, consumed and carried, and how the customer's page is kept.
DELIVERY_FIELDS = ("publishing", "consumer", "relay_interval_s", "event_design", "read_model")

#: ShopFast's new order flow, time compressed: twenty seconds of orders at 20 a second, then
#: twenty seconds for the sagas still running to finish. The starting design is the one the
#: first migration sprint shipped: dual writes, naive consumers, a page kept by arrival.
SCENARIO = Scenario(
    name="ShopFast order platform",
    config=SagaConfig(
        orders_per_s=20.0,
        duration_s=20.0,
        drain_s=20.0,
        stock_unavailable_probability=0.05,
        payment_declined_probability=0.08,
        shipment_rejected_probability=0.03,
        bus_latency_s=0.01,
        redelivery_probability=0.01,
        delayed_probability=0.003,
        redelivery_delay_s=5.0,
        crash_probability=0.01,
        service_workers=4,
        service_time_s=0.004,
        callback_s=0.01,
        coordination="choreography",
        steps=("charge-payment", "reserve-stock", "schedule-shipment"),
        compensated=(),
        publishing="dual-write-db-first",
        consumer="naive",
        relay_interval_s=1.0,
        event_design="event-carried-state",
        read_model="last-arrival",
    ),
    targets=(
        Target("half_done", 0, "orders left half-done (charged, reserved or shipped without an outcome to match)",
               "orders",
               hint="Every step a later step can cancel needs a compensation, and every event must reach "
                    "its consumers even when a service crashes between its write and its publish."),
        Target("refund_fraction", 0.01, "orders refunded after a charge", "refunds per order",
               hint="A refund costs a card fee and a customer's trust: the fewer steps that can still "
                    "fail after the card is charged, the fewer refunds."),
        Target("double_charges", 0, "customers charged twice", "orders",
               hint="At-least-once delivery repeats messages: a consumer must recognise one it has processed."),
        Target("double_shipments", 0, "orders shipped twice", "orders",
               hint="At-least-once delivery repeats messages: a consumer must recognise one it has processed."),
        Target("stale_read_models", 0, "customers whose order page shows the wrong outcome", "orders",
               hint="Messages arrive late and out of order: an older event must not overwrite a newer outcome."),
        Target("consistency_p95_s", 2.0, "time until every service agrees on an order's outcome (95th percentile)",
               "s", hint="Each hop of the saga waits for a relay poll, and orchestration has more hops.",
               missing="no order was agreed on"),
        Target("relay_polls_per_s", 20.0, "outbox polls of the services' databases", "polls/s",
               hint="Each poll is a query on a service's database: polling very often loads them."),
    ),
    design_fields=SAGA_FIELDS + DELIVERY_FIELDS,
    variants={
        # A bad week for the platform: a memory leak makes every service crash five times as often.
        "crash_storm": dict(crash_probability=0.05),
    },
)

CONSISTENCY_TARGET_S = next(t.limit for t in SCENARIO.targets if t.metric == "consistency_p95_s")
#: The targets a saga's shape answers for, with reliable delivery underneath.
SAGA_TARGETS = tuple(t for t in SCENARIO.targets if t.metric in ("half_done", "refund_fraction"))
#: Delivery that loses nothing: the saga check runs the student's saga on it.
RELIABLE = dict(publishing="outbox", consumer="idempotent", relay_interval_s=0.2,
                event_design="event-carried-state", read_model="by-version")
VISIBLE_SEEDS = (0, 1, 2)
#: The version of OrderPlaced the Order team ships this quarter (it adds a delivery slot).
ORDER_PLACED_VERSION = 2


def scenario_frame() -> Any:
    """The facts of the order flow a design must survive, as a table."""
    c = SCENARIO.config
    rows = [
        ("orders placed", f"{fmt(c.orders_per_s)} per second for {fmt(c.duration_s, 's')}, then "
                          f"{fmt(c.drain_s, 's')} for running sagas to finish"),
        ("out of stock", f"{c.stock_unavailable_probability:.0%} of orders"),
        ("card declined", f"{c.payment_declined_probability:.0%} of orders"),
        ("no courier for the address", f"{c.shipment_rejected_probability:.0%} of orders"),
        ("service crashes between its database write and its publish", f"{c.crash_probability:.0%} of operations"),
        ("messages delivered twice (lost acknowledgement)", f"{c.redelivery_probability:.0%}, "
                                                            f"{fmt(c.redelivery_delay_s, 's')} later"),
        ("messages delivered late (first attempt failed)", f"{c.delayed_probability:.1%}, "
                                                           f"{fmt(c.redelivery_delay_s, 's')} late"),
        ("time on the bus", f"{fmt(c.bus_latency_s * 1000, 'ms')} on average"),
        ("handlers per service", f"{c.service_workers}, {fmt(c.service_time_s * 1000, 'ms')} per message"),
    ]
    return text_table(pd.DataFrame(rows, columns=["fact", "value"]).set_index("fact"))


def step_frame() -> pd.DataFrame:
    """The saga's steps: the service, the command, its events and its compensation."""
    rows = [(s.name, s.service, s.command, s.done, s.failed, s.undo, s.undone) for s in STEPS.values()]
    return pd.DataFrame(rows, columns=["step", "service", "command", "succeeded", "failed", "compensation",
                                       "compensated"]).set_index("step")


# --- messages per order ---------------------------------------------------------------------
def messages_for_a_successful_order(coordination: str) -> int:
    """Deliveries one order that succeeds at every step costs, from the wiring."""
    config = SCENARIO.config.replace(coordination=coordination, steps=STEP_NAMES)
    wiring = routes(config)
    names = ["OrderPlaced", *(s.done for s in STEPS.values()), "OrderCompleted"]
    if coordination == "orchestration":
        names += [s.command for s in STEPS.values()]
    return sum(len(wiring[name]) for name in names)


@student_check("The message counts of a successful order are right for both coordinations.")
def check_messages_per_order(choreography: Any, orchestration: Any) -> None:
    for name, value, coordination in (("messages_choreography", choreography, "choreography"),
                                      ("messages_orchestration", orchestration, "orchestration")):
        check_count(name, value, messages_for_a_successful_order(coordination),
                    "count one delivery per receiver of every message, an event with two subscribers being two "
                    "deliveries (the wiring table lists them).")


# --- the saga -------------------------------------------------------------------------------
def saga_config(saga: Any, **scenario_changes: Any) -> SagaConfig:
    changes = design_changes(saga, SAGA_FIELDS, SAGA_FIELDS, LIST_FIELDS)
    return config_from(SCENARIO.config.replace(**scenario_changes, **RELIABLE), changes)


def evaluate_saga(saga: Any, seeds=VISIBLE_SEEDS) -> Evaluation:
    """The saga's shape under the scenario's faults, on delivery that loses nothing."""
    return evaluate(simulate, saga_config(saga), SAGA_TARGETS, seeds)


@student_check("The saga leaves no order half-done and keeps refunds within the target.")
def check_saga(saga: Any, seeds=VISIBLE_SEEDS) -> None:
    require(evaluate_saga(saga, seeds))


# --- the event catalogue --------------------------------------------------------------------
CATALOGUE_KEYS = ("event", "owner", "consumers", "version")


def required_events(saga: Any) -> dict[str, tuple[str, set[str]]]:
    """Each event the saga delivers (commands are not events): its owner and its consumers."""
    wiring = routes(saga_config(saga))
    return {name: (sender(name), set(receivers)) for name, receivers in wiring.items() if receivers and name in EVENTS}


def catalogue_problems(catalogue: Any, saga: Any) -> list[str]:
    """What is wrong with the catalogue, each with the direction to go; empty when it is right."""
    if type(catalogue) is not list or not catalogue:
        return ["catalogue must be a non-empty list of dicts"]
    problems, entries = [], {}
    for i, entry in enumerate(catalogue):
        if type(entry) is not dict or set(entry) != set(CATALOGUE_KEYS):
            problems.append(f"entry {i} must be a dict with exactly the keys {', '.join(CATALOGUE_KEYS)}")
            continue
        name, owner = plain(f"catalogue[{i}]['event']", entry["event"]), plain(f"catalogue[{i}]['owner']",
                                                                                  entry["owner"])
        consumers, version = entry["consumers"], entry["version"]
        if type(name) is not str or not past_tense(name):
            problems.append(f"{name!r} is not named as an event: say what happened, in the past tense, "
                            "in CamelCase (a command would be a verb)")
            continue
        if name in entries:
            problems.append(f"{name} is listed twice: an event has one owner and one entry")
        if owner not in SERVICES:
            problems.append(f"{name}: the owner {owner!r} is not one of the services ({', '.join(SERVICES)})")
        if type(consumers) is not list or any(c not in SERVICES for c in consumers) or len(set(consumers)) != len(
                consumers):
            problems.append(f"{name}: consumers must be a list of distinct services")
            continue
        if owner in consumers:
            problems.append(f"{name}: {owner} consumes its own event; it knows already")
        if type(version) is not int or version < 1:
            problems.append(f"{name}: the version must be a whole number from 1")
        entries[name] = (owner, set(consumers), version)
    for name, (owner, consumers) in required_events(saga).items():
        if name not in entries:
            problems.append(f"the saga publishes an event the catalogue leaves out: one that {owner} publishes "
                            f"and {count(len(consumers), 'service')} must hear")
            continue
        listed_owner, listed, _ = entries[name]
        if listed_owner != owner:
            problems.append(f"{name}: the owner is the service whose data changed when it happened")
        if listed - consumers:
            problems.append(f"{name}: a consumer is listed that has nothing to do with it in this saga")
        if consumers - listed:
            problems.append(f"{name}: a service that must react to it is missing from its consumers "
                            "(does someone hold something for this order that must be undone, or shown?)")
    placed = entries.get("OrderPlaced")
    if placed and placed[2] != ORDER_PLACED_VERSION:
        problems.append("OrderPlaced: the version must be the one the Order team ships this quarter")
    return problems


@student_check("The event catalogue is named, owned and subscribed consistently with the saga.")
def check_catalogue(catalogue: Any, saga: Any) -> None:
    problems = catalogue_problems(catalogue, saga)
    if problems:
        raise AssertionError("The event catalogue needs work:\n- " + "\n- ".join(problems))


def catalogue_frame(catalogue: Any) -> pd.DataFrame:
    """The catalogue as a table, consumers joined."""
    rows = [{**e, "consumers": ", ".join(e["consumers"])} for e in catalogue if type(e) is dict]
    return pd.DataFrame(rows)


# --- delivery and consistency ---------------------------------------------------------------
def design_config(design: Any, **scenario_changes: Any) -> SagaConfig:
    """The whole design — the saga's shape and its delivery, one dict — on the scenario."""
    changes = design_changes(design, SCENARIO.design_fields, SCENARIO.design_fields, LIST_FIELDS)
    return config_from(SCENARIO.config.replace(**scenario_changes), changes)


def evaluate_design(design: Any, seeds=VISIBLE_SEEDS, **scenario_changes: Any) -> Evaluation:
    """The whole design through the scenario, against every target."""
    return evaluate(simulate, design_config(design, **scenario_changes), SCENARIO.targets, seeds)


@student_check("The design meets every business target.")
def check_design(design: Any, seeds=VISIBLE_SEEDS, variant: str | None = None) -> None:
    if variant is None:
        require(evaluate_design(design, seeds))
        return
    ev = evaluate_design(design, seeds, **SCENARIO.variants[variant])
    if not ev.passed:
        raise AssertionError("In a week when every service crashes five times as often: " + ev.explain())
