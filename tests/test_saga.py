"""The order saga: choreography against orchestration, compensations, delivery and event design.

Messages per order have a closed form when nothing is delivered twice: each step's
outcome is an independent business draw, so the expected deliveries follow from the
wiring (:func:`routes`) and the failure probabilities. It is checked as a 95 % confidence
interval over seeded replications, as are the consequences the module docstring claims.
"""

from __future__ import annotations

import pytest

from messagelab.microservices import saga
from messagelab.microservices.naming import command, past_tense
from messagelab.microservices.saga import STEPS, SagaConfig, coupling_matrix, routes
from messagelab.sim import ConfigError, replicate

SEEDS = range(6)
CLEAN = SagaConfig(redelivery_probability=0.0, delayed_probability=0.0)


def expected_messages(config: SagaConfig) -> float:
    """Deliveries per order from the wiring: sum over where the saga stops, times its probability."""
    wiring = routes(config)
    steps = [STEPS[s] for s in config.steps]
    fail = [getattr(config, s.failure_field) for s in steps]

    def deliveries(name: str) -> int:
        return len(wiring[name])

    start = deliveries("OrderPlaced") + (deliveries(steps[0].command) if config.coordination == "orchestration" else 0)
    total, reach = start, 1.0
    for i, s in enumerate(steps):
        ok = reach * (1 - fail[i])
        if i + 1 < len(steps):
            orchestrated = config.coordination == "orchestration"
            nxt = deliveries(s.done) + (deliveries(steps[i + 1].command) if orchestrated else 0)
        else:
            nxt = deliveries(s.done) + deliveries("OrderCompleted")
        failed = deliveries(s.failed) + deliveries("OrderCancelled")
        for p in steps[:i]:
            if p.name in config.compensated:
                failed += deliveries(p.undone) + (deliveries(p.undo) if config.coordination == "orchestration" else 0)
        total += ok * nxt + reach * fail[i] * failed
        reach = ok
    return total


@pytest.mark.parametrize("coordination", saga.COORDINATION)
def test_messages_per_order_match_the_wiring(coordination: str) -> None:
    config = CLEAN.replace(coordination=coordination)
    estimate = replicate(lambda seed: saga.simulate(config, seed=seed).summary["messages_per_order"], SEEDS)
    assert estimate.contains(expected_messages(config)), (estimate, expected_messages(config))


def test_redelivery_multiplies_deliveries_by_one_over_one_minus_r() -> None:
    r = 0.2
    config = CLEAN.replace(redelivery_probability=r, redelivery_delay_s=0.5)
    estimate = replicate(lambda seed: saga.simulate(config, seed=seed).summary["messages_per_order"], SEEDS)
    assert estimate.contains(expected_messages(CLEAN) / (1 - r)), estimate


def test_orchestration_sends_more_messages_and_takes_longer_than_choreography() -> None:
    chor = saga.simulate(CLEAN, seed=3).summary
    orch = saga.simulate(CLEAN.replace(coordination="orchestration"), seed=3).summary
    assert orch["messages_per_order"] > chor["messages_per_order"] + 1.5
    assert orch["completion_p50_s"] > chor["completion_p50_s"]
    # The same customers, the same cards, the same stock: the same outcomes.
    assert (orch["completed"], orch["compensated"]) == (chor["completed"], chor["compensated"])


def test_the_coupling_matrix_follows_the_wiring() -> None:
    chor = coupling_matrix(CLEAN)
    orch = coupling_matrix(CLEAN.replace(coordination="orchestration"))
    # The orchestrator knows every service; each service knows only the orchestrator.
    assert set(orch.columns[orch.loc["Order"]]) == {"Inventory", "Payment", "Shipping"}
    for service in ("Inventory", "Payment", "Shipping", "Notification"):
        assert list(orch.columns[orch.loc[service]]) == ["Order"]
    # In a choreography Inventory must read the failure events of everyone after it.
    assert set(chor.columns[chor.loc["Inventory"]]) == {"Order", "Payment", "Shipping"}
    assert not chor.loc["Order", "Notification"], "a publisher need not know its subscribers"
    # No one knows the whole saga, but more pairs of services know each other (10 against 7).
    assert (chor.to_numpy().sum(), orch.to_numpy().sum()) == (10, 7)
    thin = coupling_matrix(CLEAN.replace(event_design="thin"))
    assert thin.loc[["Payment", "Shipping", "Notification"], "Order"].all()
    assert thin.loc["Payment", "Order"] and not chor.loc["Payment", "Order"]


def test_a_missing_compensation_leaves_orders_half_done_and_the_reason_says_which() -> None:
    r = saga.simulate(CLEAN.replace(compensated=("reserve-stock",)), seed=1)
    half = r.orders[r.orders["outcome"] == "half-done"]
    assert len(half) > 0 and set(half["reason"]) == {"not compensated"}
    # The card was charged for an order the shop cancelled: payment is what was left.
    assert (half["charges_net"] == 1).all()
    assert saga.simulate(CLEAN, seed=1).summary["half_done"] == 0


def test_a_naive_consumer_charges_and_ships_twice_under_redelivery() -> None:
    config = CLEAN.replace(redelivery_probability=0.05, redelivery_delay_s=1.0)
    naive = saga.simulate(config.replace(consumer="naive"), seed=2).summary
    idem = saga.simulate(config, seed=2).summary
    assert naive["double_charges"] > 0 and naive["double_shipments"] > 0
    assert idem["double_charges"] == idem["double_shipments"] == 0 and idem["half_done"] == 0


def test_dual_write_commit_first_stalls_sagas_and_publish_first_invents_orders() -> None:
    crashy = CLEAN.replace(crash_probability=0.05)
    lost = saga.simulate(crashy.replace(publishing="dual-write-db-first"), seed=4)
    ghost = saga.simulate(crashy.replace(publishing="dual-write-publish-first"), seed=4)
    outbox = saga.simulate(crashy, seed=4)
    assert lost.summary["events_lost"] > 0 and "stalled" in set(lost.orders["reason"])
    assert ghost.summary["ghost_orders"] > 0 and "ghost order" in set(ghost.orders["reason"])
    assert outbox.summary["half_done"] == 0 and outbox.summary["events_lost"] == 0
    # The outbox pays in latency: a relay poll on every hop.
    assert outbox.summary["completion_p50_s"] > lost.summary["completion_p50_s"]


def test_thin_events_call_back_once_per_handler_that_needs_the_order() -> None:
    thin = saga.simulate(CLEAN.replace(event_design="thin"), seed=0).summary
    fat = saga.simulate(CLEAN, seed=0).summary
    assert fat["callbacks_per_order"] == 0 and thin["callbacks_per_order"] > 3
    assert thin["kb_per_order"] < fat["kb_per_order"] / 4


def test_an_order_service_outage_stalls_thin_events_but_not_event_carried_state() -> None:
    outage = CLEAN.replace(order_outage_start_s=10, order_outage_s=5)
    thin = saga.simulate(outage.replace(event_design="thin"), seed=0).summary
    fat = saga.simulate(outage, seed=0).summary
    assert thin["completion_p99_s"] > 3 and fat["completion_p99_s"] < thin["completion_p99_s"]


@pytest.mark.parametrize("lagging", ["Inventory", "Notification"])
def test_a_breaking_schema_change_dead_letters_at_the_lagging_consumer_only_with_carried_state(lagging) -> None:
    change = CLEAN.replace(schema_version=2, schema_change="breaking", lagging_consumer=lagging)
    broken = saga.simulate(change, seed=0).summary
    assert broken["dead_lettered"] > 0
    if lagging == "Inventory":
        assert broken["half_done"] == broken["orders_placed"], "no saga gets past its first step"
    else:
        assert broken["half_done"] == 0 and broken["stale_read_models"] > 0
    assert saga.simulate(change.replace(schema_change="additive"), seed=0).summary["dead_lettered"] == 0
    assert saga.simulate(change.replace(event_design="thin"), seed=0).summary["dead_lettered"] == 0


def test_a_last_arrival_read_model_is_left_stale_by_late_messages_and_by_version_is_not() -> None:
    late = CLEAN.replace(delayed_probability=0.1, redelivery_delay_s=2.0)
    stale = saga.simulate(late.replace(read_model="last-arrival"), seed=0).summary
    ok = saga.simulate(late, seed=0).summary
    assert stale["stale_read_models"] > 0 and ok["stale_read_models"] == 0


def test_a_slow_service_raises_latency_and_consistency_time() -> None:
    slow = saga.simulate(CLEAN.replace(slow_service="Payment", slow_factor=50), seed=0).summary
    fast = saga.simulate(CLEAN, seed=0).summary
    assert slow["completion_p50_s"] > 5 * fast["completion_p50_s"]
    assert slow["consistency_p50_s"] >= slow["completion_p50_s"] * 0.9


def test_event_names_are_past_tense_and_commands_are_verbs() -> None:
    assert [n for n in saga.EVENTS if not past_tense(n)] == []
    assert [n for n in saga.COMMANDS if not command(n)] == []


@pytest.mark.parametrize(("field", "value"), [
    ("steps", ("reserve-stock", "charge-payment")),
    ("steps", ("reserve-stock", "reserve-stock", "charge-payment")),
    ("compensated", ("refund",)),
    ("slow_service", "Warehouse"),
    ("lagging_consumer", "Order"),
    ("state_event_bytes", 300_000),
])
def test_a_bad_design_names_its_field(field: str, value) -> None:
    with pytest.raises(ConfigError) as e:
        CLEAN.replace(**{field: value})
    assert e.value.field == field


def test_a_design_dict_may_give_lists() -> None:
    c = CLEAN.replace(steps=["charge-payment", "reserve-stock", "schedule-shipment"], compensated=[])
    assert c.steps[0] == "charge-payment" and c.compensated == ()


def test_a_hand_wired_choreography_runs_as_wired() -> None:
    wiring = {name: list(receivers) for name, receivers in routes(CLEAN).items()}
    assert saga.simulate(CLEAN.replace(subscriptions=wiring), seed=1).summary == saga.simulate(CLEAN, seed=1).summary
    # Inventory no longer hears of declined cards: it keeps stock for cancelled orders.
    unheard = saga.simulate(CLEAN.replace(subscriptions={**wiring, "PaymentDeclined": ["Order"]}), seed=1)
    assert set(unheard.orders.loc[unheard.orders["outcome"] == "half-done", "reason"]) == {"not compensated"}
    assert (unheard.orders.loc[unheard.orders["outcome"] == "half-done", "stock"] == 1).all()
    # OrderPlaced wired to Payment, which has nothing to do with it: every saga stalls.
    wrong = saga.simulate(CLEAN.replace(subscriptions={**wiring, "OrderPlaced": ["Payment", "Notification"]}), seed=1)
    assert wrong.summary["half_done"] == wrong.summary["orders_placed"] == wrong.summary["ignored_deliveries"]
    assert coupling_matrix(wrong.config).loc["Payment", "Order"] and not coupling_matrix(CLEAN).loc["Payment", "Order"]


@pytest.mark.parametrize(("wiring", "field"), [
    ({"ChargePayment": ["Payment"]}, "subscriptions"),
    ({"OrderPlaced": ["Warehouse"]}, "subscriptions['OrderPlaced']"),
    ({"OrderPlaced": ["Order"]}, "subscriptions['OrderPlaced']"),
    ("OrderPlaced", "subscriptions"),
])
def test_a_bad_wiring_names_the_event(wiring, field) -> None:
    with pytest.raises(ConfigError) as e:
        CLEAN.replace(subscriptions=wiring)
    assert e.value.field == field
    with pytest.raises(ConfigError, match="orchestration"):
        CLEAN.replace(coordination="orchestration", subscriptions={"OrderPlaced": ["Inventory"]})
