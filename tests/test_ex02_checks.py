"""Exercise 02's checks: each accepts the reference answer and says which way to go otherwise."""

from __future__ import annotations

import copy

import pytest

from messagelab.assignments import ex02

SAGA = {"coordination": "choreography", "steps": ["reserve-stock", "schedule-shipment", "charge-payment"],
        "compensated": ["reserve-stock", "schedule-shipment"]}
CATALOGUE = [
    {"event": "OrderPlaced", "owner": "Order", "consumers": ["Inventory", "Notification"], "version": 2},
    {"event": "StockReserved", "owner": "Inventory", "consumers": ["Shipping"], "version": 1},
    {"event": "StockReservationFailed", "owner": "Inventory", "consumers": ["Order"], "version": 1},
    {"event": "ShipmentScheduled", "owner": "Shipping", "consumers": ["Payment"], "version": 1},
    {"event": "ShipmentRejected", "owner": "Shipping", "consumers": ["Inventory", "Order"], "version": 1},
    {"event": "PaymentCharged", "owner": "Payment", "consumers": ["Order"], "version": 1},
    {"event": "PaymentDeclined", "owner": "Payment", "consumers": ["Inventory", "Shipping", "Order"], "version": 1},
    {"event": "OrderCompleted", "owner": "Order", "consumers": ["Notification"], "version": 1},
    {"event": "OrderCancelled", "owner": "Order", "consumers": ["Notification"], "version": 1},
]


def failure(check, *args) -> str:
    with pytest.raises(AssertionError) as e:
        check(*args)
    return str(e.value)


def test_messages_per_order_are_counted_from_the_wiring(capsys):
    ex02.check_messages_per_order(6, 8)
    assert capsys.readouterr().out.startswith("✓")
    assert "too few" in failure(ex02.check_messages_per_order, 5, 8)
    assert "too many" in failure(ex02.check_messages_per_order, 6, 9)
    assert "must be a number" in failure(ex02.check_messages_per_order, "6", 8)


def test_the_reference_catalogue_passes_and_an_orchestrated_saga_needs_another():
    assert ex02.catalogue_problems(CATALOGUE, SAGA) == []
    problems = ex02.catalogue_problems(CATALOGUE, {**SAGA, "coordination": "orchestration"})
    assert any("nothing to do with it" in p for p in problems)  # in an orchestration Order hears every reply
    assert any("leaves out" in p for p in problems)  # and the compensations' events are delivered


def edited(index: int, **changes) -> list[dict]:
    catalogue = copy.deepcopy(CATALOGUE)
    catalogue[index].update(changes)
    return catalogue


@pytest.mark.parametrize(("catalogue", "expected"), [
    (CATALOGUE[:-1], "leaves out"),
    (edited(6, consumers=["Order"]), "must react to it is missing"),
    (edited(3, consumers=["Payment", "Notification"]), "nothing to do with it"),
    (edited(5, owner="Order"), "the owner is the service whose data changed"),
    (edited(1, event="ReserveStock"), "past tense"),
    (edited(1, event="stock_reserved"), "past tense"),
    (edited(0, version=1), "the version must be the one the Order team ships"),
    (edited(2, version=0), "whole number from 1"),
    (edited(2, owner="Warehouse"), "not one of the services"),
    (edited(7, consumers=["Order", "Notification"]), "consumes its own event"),
    (CATALOGUE + [CATALOGUE[0]], "listed twice"),
    ([{"event": "OrderPlaced"}], "exactly the keys"),
    ({"OrderPlaced": "Order"}, "non-empty list"),
])
def test_a_wrong_catalogue_is_told_which_way_to_go(catalogue, expected):
    message = failure(ex02.check_catalogue, catalogue, SAGA)
    assert expected in message, message


def test_feedback_on_a_missing_event_does_not_name_it():
    message = failure(ex02.check_catalogue, [e for e in CATALOGUE if e["event"] != "PaymentDeclined"], SAGA)
    assert "PaymentDeclined" not in message and "Payment publishes and 3 services must hear" in message


def test_the_design_checks_accept_the_reference_and_explain_a_miss():
    delivery = {"publishing": "outbox", "consumer": "idempotent", "relay_interval_s": 0.3,
                "event_design": "event-carried-state", "read_model": "by-version"}
    ex02.check_saga(SAGA)
    ex02.check_design({**SAGA, **delivery})
    ex02.check_design({**SAGA, **delivery}, seeds=(5,), variant="crash_storm")
    message = failure(ex02.check_design, {**SAGA, **delivery, "publishing": "dual-write-db-first"}, (0,),
                      "crash_storm")
    assert message.startswith("In a week when every service crashes five times as often")
    assert "half-done" in message
    assert "leaves out" in failure(ex02.check_design, {**SAGA, "publishing": "outbox"})
    assert "not a design setting" in failure(ex02.check_saga, {**SAGA, "orders_per_s": 1})
