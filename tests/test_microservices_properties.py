"""With the outbox and idempotent consumers, no order is lost, none processed twice (hypothesis).

Whatever the crash and redelivery rates, the relay's speed and the load; and for the whole
saga, whatever its coordination, step order, event design, outages and slow services,
every saga ends completed or fully compensated. The examples are
derandomised, so CI tests the same configurations every run; set MESSAGELAB_SOAK_EXAMPLES
(e.g. 1000) for a soak run with more of them.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messagelab.microservices import PublishConfig, outbox, saga
from messagelab.microservices.saga import SagaConfig

EXAMPLES = int(os.environ.get("MESSAGELAB_SOAK_EXAMPLES") or 40)


@st.composite
def designs(draw) -> PublishConfig:
    return PublishConfig(
        publishing="outbox",
        consumer="idempotent",
        orders_per_s=draw(st.floats(1, 200)),
        duration_s=draw(st.floats(1, 30)),
        crash_probability=draw(st.sampled_from([0.0, 0.01, 0.1, 0.5])),
        redelivery_probability=draw(st.sampled_from([0.0, 0.05, 0.5])),
        relay_interval_s=draw(st.floats(0.01, 2)),
        relay_restart_s=draw(st.floats(0, 3)),
        db_commit_s=draw(st.floats(0.001, 0.05)),
        publish_s=draw(st.floats(0.001, 0.05)),
    )


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(config=designs(), seed=st.integers(0, 2**16))
def test_outbox_and_idempotent_consumer_lose_nothing_and_charge_once(config: PublishConfig, seed: int) -> None:
    result = outbox.simulate(config, seed=seed)
    result.check_invariants()
    s, orders = result.summary, result.orders
    assert s["events_lost"] == 0 and s["ghost_events"] == 0
    assert s["orders_committed"] == s["events_delivered"] + s["pending"]
    assert s["double_charges"] == 0 and s["charges_without_order"] == 0
    delivered = orders["fate"] == "delivered"
    assert (orders.loc[delivered, "charges"] == 1).all()
    assert (orders.loc[~delivered, "charges"] == 0).all()


@st.composite
def sagas(draw) -> SagaConfig:
    """Outbox, idempotent consumers, every step compensated: the rest at random, faults included."""
    steps = draw(st.permutations(saga.STEP_NAMES))
    duration = draw(st.floats(1, 20))
    return SagaConfig(
        publishing="outbox",
        consumer="idempotent",
        coordination=draw(st.sampled_from(saga.COORDINATION)),
        steps=tuple(steps),
        orders_per_s=draw(st.floats(1, 40)),
        duration_s=duration,
        # Long enough for any backlog of an overloaded service to drain: idle time costs nothing.
        drain_s=600.0,
        stock_unavailable_probability=draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
        payment_declined_probability=draw(st.sampled_from([0.0, 0.1, 0.5])),
        shipment_rejected_probability=draw(st.sampled_from([0.0, 0.1, 0.5])),
        crash_probability=draw(st.sampled_from([0.0, 0.01, 0.1, 0.3])),
        redelivery_probability=draw(st.sampled_from([0.0, 0.05, 0.3])),
        delayed_probability=draw(st.sampled_from([0.0, 0.05, 0.3])),
        redelivery_delay_s=draw(st.floats(0.1, 5)),
        relay_interval_s=draw(st.floats(0.01, 1)),
        event_design=draw(st.sampled_from(saga.EVENT_DESIGNS)),
        order_outage_start_s=draw(st.floats(0, duration)),
        order_outage_s=draw(st.floats(0, 10)),
        slow_service=draw(st.sampled_from(["", *saga.SERVICES])),
        slow_factor=draw(st.floats(1, 20)),
        schema_version=draw(st.sampled_from([1, 2])),
    )


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(config=sagas(), seed=st.integers(0, 2**16))
def test_outbox_and_idempotent_consumers_end_every_saga_completed_or_compensated(config: SagaConfig, seed: int) -> None:
    result = saga.simulate(config, seed=seed)
    result.check_invariants()
    s, orders = result.summary, result.orders
    assert not result.truncated
    assert s["half_done"] == 0 and s["in_progress"] == 0, orders[orders["outcome"] != "completed"].head()
    assert s["completed"] + s["compensated"] == s["orders_placed"]
    assert s["events_lost"] == 0 and s["ghost_orders"] == 0 and s["stale_read_models"] == 0
    # Processed once: no order charged, shipped or stocked twice, and nothing refunded twice.
    assert (orders[["charges", "shipments"]] <= 1).all(axis=None) and (orders["refunds"] <= 1).all()
    assert (orders.loc[orders["outcome"] == "completed", ["charges", "shipments", "stock"]] == 1).all(axis=None)
