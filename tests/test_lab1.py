"""Lab 1's checkpoint: its checks, and a sweep of every single change to the reference wiring.

Each event's subscribers are changed one service at a time (added or removed), as a student
editing the wiring would. Every wiring the grade accepts must meet the business's needs,
judged from the run's own rows: every order completed or fully compensated, every customer's
page showing the outcome, and no message delivered to a service with no use for it (the
wiring the step order implies is the only one without waste). Every wiring it refuses must
break one of them.
"""

from __future__ import annotations

import pytest

from messagelab.assignments import lab1
from messagelab.microservices.saga import EVENTS, SENDER, SERVICES, routes

WIRING = {"OrderPlaced": ["Inventory", "Notification"], "StockReserved": ["Payment"],
          "StockReservationFailed": ["Order"], "PaymentCharged": ["Shipping"],
          "PaymentDeclined": ["Order", "Inventory"], "ShipmentScheduled": ["Order"],
          "ShipmentRejected": ["Order", "Inventory", "Payment"], "OrderCompleted": ["Notification"],
          "OrderCancelled": ["Notification"]}
NEEDED = {(to, name) for name, receivers in routes(lab1.SCENARIO.config).items() for to in receivers}


def needs_broken(result) -> list[str]:
    o, d = result.orders, result.deliveries
    broken = []
    if (~o["outcome"].isin(["completed", "compensated"])).any():
        broken.append("an order without a clean outcome")
    if o["consistent_s"].isna().any():
        broken.append("a customer's page never showed the outcome")
    if not {(to, name) for to, name in zip(d["receiver"], d["message"], strict=True)} <= NEEDED:
        broken.append("a message delivered to a service with no use for it")
    return broken


def single_changes():
    for event in EVENTS:
        for service in SERVICES:
            if service == SENDER[event]:
                continue
            now = WIRING.get(event, [])
            changed = [s for s in now if s != service] if service in now else [*now, service]
            yield pytest.param({**WIRING, event: changed}, id=f"{event}-{service}")


def test_the_reference_wiring_is_the_wiring_the_saga_implies():
    assert {k: tuple(v) for k, v in WIRING.items()} == {k: v for k, v in routes(lab1.SCENARIO.config).items() if v}
    lab1.check_wiring(WIRING)
    lab1.check_wiring(WIRING, seeds=(14,), variant="bad_day")


@pytest.mark.parametrize("wiring", list(single_changes()))
def test_a_wiring_is_accepted_exactly_when_it_meets_every_need(wiring):
    evaluation = lab1.evaluate_wiring(wiring)
    broken = [need for r in evaluation.results for need in needs_broken(r)]
    assert evaluation.passed == (not broken), (evaluation.explain(), broken)


def test_the_capacity_check_says_which_way():
    lab1.check_payment_capacity(20.0)
    for value, side in ((80.0, "too high"), (0.4, "too low")):
        with pytest.raises(AssertionError, match=side):
            lab1.check_payment_capacity(value)


def test_the_fates_check_names_no_answer():
    lab1.check_fates(dict(lab1.FATES))
    with pytest.raises(AssertionError) as e:
        lab1.check_fates({**lab1.FATES, "outbox": "lost"})
    assert "1 of the three" in str(e.value) and "outbox" not in str(e.value)
    with pytest.raises(AssertionError, match="one of"):
        lab1.check_fates({**lab1.FATES, "outbox": "gone"})
    with pytest.raises(AssertionError, match="one entry for each"):
        lab1.check_fates({"outbox": "duplicated"})


def test_the_real_outbox_is_not_run_while_grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert list(lab1.real_outbox().columns) == ["note"]
