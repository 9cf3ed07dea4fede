"""Lab 1's explore prompts: each asks for an observation the event flow explorer shows.

One test per numbered prompt drives the explorer as the prompt says and checks the
observation a student should make; ``test_every_prompt_has_a_test`` pairs the two lists.
"""

from __future__ import annotations

import pytest
from nbchecks import ROOT, observe, prompt_titles

from messagelab.assignments import lab1
from messagelab.microservices.explorer import LANES, FlowExplorer

NOTEBOOK = ROOT / "source" / lab1.ID / f"{lab1.ID}.ipynb"


@pytest.fixture
def explorer() -> FlowExplorer:
    return FlowExplorer(lab1.SCENARIO.config)


def p95_wait(explorer: FlowExplorer, service: str) -> float:
    d = explorer.last_result.deliveries
    mine = d[d["receiver"] == service]
    return float((mine["received_s"] - mine["sent_s"]).quantile(0.95))


def arrows(explorer: FlowExplorer) -> list[tuple[str, str, str]]:
    """The traced order's arrows as (sender, receiver, label), read off the chart itself."""
    f = explorer.figure.data
    lanes = {v: k for k, v in LANES.items()}
    ys = [y for y in f[0].y if y is not None]
    return [(lanes[ys[2 * i]], lanes[ys[2 * i + 1]], label) for i, label in enumerate(f[1].text)]


def test_one_orders_journey(explorer):
    observe(explorer)
    placed = [(frm, to) for frm, to, label in arrows(explorer) if label == "OrderPlaced"]
    assert set(placed) == {("Order", "Inventory"), ("Order", "Notification")}
    compensated = next(i for i in range(51) if explorer.last_result.orders["outcome"].iloc[i] == "compensated")
    assert compensated <= 50  # reachable with the slider
    observe(explorer, trace_order=compensated)
    assert "compensated" in explorer.summary.value
    failures = {label for _, _, label in arrows(explorer)} & {"PaymentDeclined", "ShipmentRejected",
                                                              "StockReservationFailed"}
    assert len(failures) == 1  # one event starts the compensation ...
    receivers = {to for _, to, label in arrows(explorer) if label in failures}
    assert "Order" in receivers  # ... and Order (with whoever must undo a step) receives it


def test_a_slow_service(explorer):
    observe(explorer)
    normal_payment = p95_wait(explorer, "Payment")
    slow = observe(explorer, slow_factor=50)
    assert p95_wait(explorer, "Payment") > 5 * normal_payment  # its band rises
    assert slow["in_progress"] == 0 and slow["half_done"] == 0  # but it keeps up at 15 orders/s
    inventory = p95_wait(explorer, "Inventory")
    slow_payment = p95_wait(explorer, "Payment")
    observe(explorer, slow_factor=50, orders_per_s=30)
    assert p95_wait(explorer, "Payment") > 10 * slow_payment  # it cannot keep up at 30
    d = explorer.last_result.deliveries.query("receiver == 'Payment'")
    waits = (d["received_s"] - d["sent_s"]).groupby((d["sent_s"] // 5).astype(int)).median()
    assert waits.loc[0:3].is_monotonic_increasing  # the band climbs while orders arrive
    assert p95_wait(explorer, "Inventory") < 2 * inventory  # the services before it stay flat


def test_synchronous_coupling(explorer):
    carried = observe(explorer, slow_factor=20, slow_service="Order", orders_per_s=15,
                      event_design="event-carried-state")
    carried_inventory = p95_wait(explorer, "Inventory")
    thin = observe(explorer, slow_factor=20, slow_service="Order", orders_per_s=15, event_design="thin")
    for service in ("Inventory", "Payment", "Shipping", "Notification"):
        assert p95_wait(explorer, service) > 3 * carried_inventory, service  # every band rises
    assert carried["in_progress"] == 0 and thin["in_progress"] > 0.2 * thin["orders_placed"]
    assert "still in progress at the end" in explorer.summary.value


def test_crashes(explorer):
    lost = observe(explorer, crash_probability=0.05, publishing="dual-write-db-first")
    assert lost["half_done"] > 0
    stalled = explorer.last_result.orders.query("reason == 'stalled'")["order_id"]
    traced = int(stalled[stalled <= 50].iloc[0])
    observe(explorer, crash_probability=0.05, publishing="dual-write-db-first", trace_order=traced)
    assert "stalled" in explorer.summary.value and "never agreed" in explorer.summary.value
    assert "OrderCompleted" not in {label for _, _, label in arrows(explorer)}  # the journey stops
    fixed = observe(explorer, crash_probability=0.05, publishing="outbox", trace_order=traced)
    assert fixed["half_done"] == 0


def test_a_duplicate_burst(explorer):
    naive = observe(explorer, redelivery_probability=0.3, consumer="naive", publishing="outbox",
                    crash_probability=0.0)
    assert naive["double_charges"] > 10
    labels = [label for _, _, label in arrows(explorer)]
    assert len(labels) > len(set(labels))  # the repeated arrows
    idem = observe(explorer, redelivery_probability=0.3, consumer="idempotent")
    assert idem["double_charges"] == 0


PROMPT_TESTS = {
    "One order's journey": test_one_orders_journey,
    "A slow service": test_a_slow_service,
    "Synchronous coupling": test_synchronous_coupling,
    "Crashes": test_crashes,
    "A duplicate burst": test_a_duplicate_burst,
}


def test_every_prompt_has_a_test():
    assert prompt_titles(NOTEBOOK) == list(PROMPT_TESTS)
