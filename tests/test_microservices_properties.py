"""With the outbox and an idempotent consumer, no order is lost and none is charged twice (hypothesis).

Whatever the crash and redelivery rates, the relay's speed and the load. The examples are
derandomised, so CI tests the same configurations every run; set MESSAGELAB_SOAK_EXAMPLES
(e.g. 1000) for a soak run with more of them.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messagelab.microservices import PublishConfig, outbox

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
