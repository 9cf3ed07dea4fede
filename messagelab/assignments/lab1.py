"""Lab 1, Event-Driven Architecture Simulator: ShopFast's order flow, wired and broken on purpose.

Everything the lab adds in Python: its scenario, the checks of its short checkpoint, and its
graded cells. The notebook reads its numbers from ``SCENARIO``.
"""

from __future__ import annotations

import tempfile
from typing import Any

import pandas as pd

from messagelab.explore import grading
from messagelab.grading import evaluate, plain, plain_number, require, student_check
from messagelab.grading.evaluate import Evaluation
from messagelab.microservices import sqlite_outbox
from messagelab.microservices.outbox import PUBLISHING
from messagelab.microservices.saga import STEP_NAMES, SagaConfig, simulate
from messagelab.sim.display import fmt, text_table
from messagelab.sim.scenario import Scenario, Target
from messagelab.sim.validation import ConfigError

ID = "lab1-eda-simulator"

GRADES: dict[str, tuple[str, float]] = {
    "sys-payment-capacity": ("code", 2),
    "arch-wiring": ("code", 4),
    "sys-dual-write-fates": ("code", 2),
    "arch-diagram": ("markdown", 2),
    "arch-rationale": ("markdown", 2),
    "biz-impact": ("markdown", 2),
    "biz-roadmap": ("markdown", 1),
    "sys-risks": ("markdown", 2),
    "comm-summary": ("markdown", 1),
}

#: A flash sale, time compressed: twenty seconds of orders, twenty for the sagas to finish.
#: The delivery is sound (outbox, idempotent consumers); the lab breaks it on purpose.
SCENARIO = Scenario(
    name="ShopFast flash sale",
    config=SagaConfig(
        orders_per_s=15.0,
        duration_s=20.0,
        drain_s=20.0,
        steps=STEP_NAMES,
        compensated=STEP_NAMES,
        publishing="outbox",
        consumer="idempotent",
        relay_interval_s=0.1,
        read_model="by-version",
        redelivery_probability=0.01,
        delayed_probability=0.0,
        redelivery_delay_s=5.0,
        crash_probability=0.0,
        service_workers=4,
        service_time_s=0.004,
        slow_service="Payment",
        slow_factor=1.0,
    ),
    targets=(
        Target("half_done", 0, "orders left half-done", "orders",
               hint="Each step's service must hear the event that starts its step, Order the one that ends "
                    "the saga, and every service holding something for an order when a later step fails."),
        Target("in_progress", 0, "orders without an outcome at the end", "orders",
               hint="Each step's service must hear the event that starts its step, and Order the last one."),
        Target("stale_read_models", 0, "customers whose order page never shows the outcome", "orders",
               hint="The order page is Notification's: it must hear how each order ended."),
        Target("ignored_deliveries", 0, "messages delivered to a service that has nothing to do with them",
               "messages", hint="Subscribe a service only to the events it acts on: each extra subscription "
                                "is load, and coupling."),
    ),
    design_fields=("subscriptions",),
    variants={
        # The same wiring on a bad day: every service crashes between write and publish 5% of the time,
        # and one delivery in ten comes twice.
        "bad_day": dict(crash_probability=0.05, redelivery_probability=0.1),
    },
)
VISIBLE_SEEDS = (0, 1)
#: The slowdown the lab's capacity question is about.
SLOWDOWN = 50


def scenario_frame() -> Any:
    c = SCENARIO.config
    rows = [
        ("orders placed", f"{fmt(c.orders_per_s)} per second for {fmt(c.duration_s, 's')}"),
        ("saga", "reserve stock → charge the card → book a courier, each step compensated"),
        ("handlers per service", f"{c.service_workers}, {fmt(c.service_time_s * 1000, 'ms')} per message"),
        ("publishing / consumers", f"{c.publishing}, polled every {fmt(c.relay_interval_s, 's')} / {c.consumer}"),
        ("messages delivered twice", f"{c.redelivery_probability:.0%}, {fmt(c.redelivery_delay_s, 's')} later"),
    ]
    return text_table(pd.DataFrame(rows, columns=["fact", "value"]).set_index("fact"))


# --- capacity -------------------------------------------------------------------------------
def payment_capacity_msg_per_s(slowdown: float = SLOWDOWN) -> float:
    c = SCENARIO.config
    return c.service_workers / (c.service_time_s * slowdown)


@student_check("payment_capacity_msg_per_s is what the slowed Payment service can handle.")
def check_payment_capacity(value: Any) -> None:
    x = plain_number("payment_capacity_msg_per_s", value)
    expected = payment_capacity_msg_per_s()
    if abs(x - expected) > 0.02 * expected:
        side = "too high" if x > expected else "too low"
        raise AssertionError(f"payment_capacity_msg_per_s = {x:g} is {side}: each handler takes the slowed "
                             "time per message, and the handlers work side by side.")


# --- the wiring -----------------------------------------------------------------------------
def wiring_config(wiring: Any, **scenario_changes: Any) -> SagaConfig:
    if type(wiring) is not dict or not wiring:
        raise AssertionError("wiring must be a dict from each event to the list of services that receive it")
    checked = {}
    for event, receivers in wiring.items():
        if type(event) is not str or type(receivers) is not list:
            raise AssertionError(f"wiring[{event!r}] must be a list of services")
        checked[event] = [plain(f"wiring[{event!r}]", r) for r in receivers]
    try:
        return SCENARIO.config.replace(**scenario_changes, subscriptions=checked)
    except ConfigError as e:
        raise AssertionError(f"the wiring is not valid: {e}") from None


def evaluate_wiring(wiring: Any, seeds=VISIBLE_SEEDS, **scenario_changes: Any) -> Evaluation:
    return evaluate(simulate, wiring_config(wiring, **scenario_changes), SCENARIO.targets, seeds)


@student_check("Every order reaches an outcome that every service agrees on, and no message is wasted.")
def check_wiring(wiring: Any, seeds=VISIBLE_SEEDS, variant: str | None = None) -> None:
    if variant is None:
        require(evaluate_wiring(wiring, seeds))
        return
    ev = evaluate_wiring(wiring, seeds, **SCENARIO.variants[variant])
    if not ev.passed:
        raise AssertionError("On a day with crashes and duplicate deliveries: " + ev.explain())


# --- the real outbox ------------------------------------------------------------------------
#: What happens to an order's event under each publishing mode when the writer dies mid-way.
FATES = {"dual-write-db-first": "lost", "dual-write-publish-first": "invented", "outbox": "duplicated"}
FATE_WORDS = tuple(sorted(set(FATES.values())))
REAL_ORDERS, REAL_CRASH_PROBABILITY = 200, 0.05
#: The real run's counts as the lab's table names them.
REAL_COLUMNS = {"orders_committed": "orders committed", "bus_messages": "events on the bus", "events_lost": "lost",
                "ghost_events": "ghosts", "duplicate_publishes": "duplicates", "naive_charges": "naive charges",
                "idempotent_charges": "idempotent charges", "crashes": "processes killed", "wall_s": "seconds"}


def real_outbox(orders: int = REAL_ORDERS, crash_probability: float = REAL_CRASH_PROBABILITY,
                seed: int = 0) -> pd.DataFrame:
    """Each publishing mode run for real: SQLite databases, writer processes killed mid-way.

    The databases live in a temporary folder that is removed afterwards. While nbgrader grades
    the notebook nothing is run (no grade depends on it), and the table says so.
    """
    if grading():
        return pd.DataFrame({"note": ["not run while the notebook is graded"]})
    with tempfile.TemporaryDirectory(prefix="lab1-outbox-") as folder:
        counts = sqlite_outbox.compare(folder, orders=orders, crash_probability=crash_probability, seed=seed)
    return counts.rename(columns=REAL_COLUMNS)


@student_check("Each publishing mode's failure is named right.")
def check_fates(fates: Any) -> None:
    if type(fates) is not dict or set(fates) != set(PUBLISHING):
        raise AssertionError("fates must be a dict with one entry for each of " + ", ".join(PUBLISHING))
    wrong = [mode for mode in PUBLISHING if plain(f"fates[{mode!r}]", fates[mode]) != FATES[mode]]
    if any(fates[mode] not in FATE_WORDS for mode in PUBLISHING):
        raise AssertionError("each value must be one of: " + ", ".join(repr(w) for w in FATE_WORDS))
    if wrong:
        raise AssertionError(f"{len(wrong)} of the three are not what the table shows: read the columns "
                             "lost, ghosts and duplicates again")
