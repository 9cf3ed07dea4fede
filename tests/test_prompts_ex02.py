"""Exercise 02's explore prompts: each asks for an observation the saga explorer shows.

One test per numbered prompt of the notebook's "Try these" cell drives the explorer as the
prompt says and checks the observation a student should make. A prompt without a test, or
a test without a prompt, fails ``test_every_prompt_has_a_test``.
"""

from __future__ import annotations

from itertools import permutations

import pytest
from nbchecks import ROOT, observe, prompt_titles

from messagelab.assignments import ex02
from messagelab.microservices.explorer import SagaExplorer, summary_frame
from messagelab.microservices.saga import STEP_NAMES

NOTEBOOK = ROOT / "source" / ex02.ID / f"{ex02.ID}.ipynb"
ALL = STEP_NAMES
SAFE = dict(compensated=ALL, publishing="outbox", consumer="idempotent", read_model="by-version")


@pytest.fixture
def explorer() -> SagaExplorer:
    return SagaExplorer(ex02.SCENARIO.config, consistency_target_s=ex02.CONSISTENCY_TARGET_S)


def reasons(explorer: SagaExplorer) -> set[str]:
    o = explorer.last_result.orders
    return set(o.loc[o["outcome"] == "half-done", "reason"])


def test_compensations(explorer):
    start = observe(explorer)
    assert start["half_done"] > 0 and {"not compensated", "stalled"} <= reasons(explorer)
    assert "not compensated" in explorer.summary.value  # the sentence gives the reasons
    observe(explorer, compensated=ALL)
    assert "not compensated" not in reasons(explorer) and "stalled" in reasons(explorer)  # the one that remains
    stalled = explorer.last_result.orders.query("reason == 'stalled'")
    assert (stalled["finished_s"].isna()).all()  # a stalled saga never reached an outcome


def test_dual_write(explorer):
    first = observe(explorer, compensated=ALL)
    ghost = observe(explorer, compensated=ALL, publishing="dual-write-publish-first")
    assert "ghost order" in reasons(explorer) and ghost["ghost_orders"] > 0 and first["events_lost"] > 0
    slow = observe(explorer, compensated=ALL, publishing="outbox")
    assert slow["events_lost"] == slow["ghost_orders"] == 0 and slow["crashes"] > 0  # crashes as often
    assert not {"stalled", "ghost order"} & reasons(explorer)
    fast = observe(explorer, compensated=ALL, publishing="outbox", relay_interval_s=0.1)
    assert fast["consistency_p95_s"] < slow["consistency_p95_s"] / 3  # the outbox costs time
    assert fast["relay_polls_per_s"] == 10 * slow["relay_polls_per_s"]  # a shorter poll costs queries
    assert summary_frame(explorer.last_result).index[-1] == "outbox polls per second"


def test_idempotency(explorer):
    naive = observe(explorer, **{**SAFE, "consumer": "naive"})
    idem = observe(explorer, **SAFE)
    assert naive["double_charges"] > 0 and naive["double_shipments"] > 0
    assert idem["double_charges"] == idem["double_shipments"] == 0
    naive_more = observe(explorer, **{**SAFE, "consumer": "naive"}, redelivery_probability=0.1)
    idem_more = observe(explorer, **SAFE, redelivery_probability=0.1)
    assert naive_more["double_charges"] > 3 * naive["double_charges"]
    assert idem_more["double_charges"] == idem_more["double_shipments"] == idem_more["half_done"] == 0


def test_step_order(explorer):
    refunds = {steps: observe(explorer, **SAFE, steps=steps)["refunds"] for steps in permutations(ALL)}
    none = {steps for steps, n in refunds.items() if n == 0}
    assert none == {steps for steps in refunds if steps[-1] == "charge-payment"}  # the card charged last
    observe(explorer, **SAFE, steps=("reserve-stock", "schedule-shipment", "charge-payment"))
    deliveries = explorer.last_result.deliveries
    assert {"PaymentDeclined"} <= set(deliveries.loc[deliveries["receiver"] == "Shipping", "message"])  # undone


def test_coordination(explorer):
    chor = observe(explorer, **SAFE)
    chor_pairs = int(explorer.figure.data[4].z.sum())
    orch = observe(explorer, **SAFE, coordination="orchestration")
    orch_matrix = explorer.figure.data[4].z
    assert orch["messages_per_order"] > chor["messages_per_order"] + 1.5
    assert orch["consistency_p95_s"] > chor["consistency_p95_s"]
    assert orch_matrix[0].sum() == 3 and orch_matrix[1:, 0].all()  # the orchestrator knows the saga
    assert chor_pairs > int(orch_matrix.sum())  # more pairs must know each other in a choreography


def test_event_design(explorer):
    fat = observe(explorer, **SAFE)
    thin = observe(explorer, **SAFE, event_design="thin")
    assert thin["kb_per_order"] < fat["kb_per_order"] / 4 and thin["callbacks_per_order"] > 3
    assert fat["callbacks_per_order"] == 0
    broken = observe(explorer, **SAFE, event_design="event-carried-state", schema="v2 breaking, Notification lags")
    assert broken["dead_lettered"] > 0 and broken["stale_read_models"] > 0 and broken["half_done"] == 0
    dead = explorer.last_result.deliveries.query("not handled")
    assert set(dead["receiver"]) == {"Notification"}
    thin_broken = observe(explorer, **SAFE, event_design="thin", schema="v2 breaking, Notification lags")
    assert thin_broken["dead_lettered"] == 0 and thin_broken["stale_read_models"] == 0  # ids only
    additive = observe(explorer, **SAFE, event_design="event-carried-state", schema="v2 additive, Notification lags")
    assert additive["dead_lettered"] == 0


def test_read_model(explorer):
    by_version = observe(explorer, **SAFE)
    stale = observe(explorer, **{**SAFE, "read_model": "last-arrival"})
    assert by_version["stale_read_models"] == 0 and stale["stale_read_models"] > 0
    assert stale["half_done"] == 0  # every order completed or was compensated
    o = explorer.last_result.orders
    late = explorer.last_result.deliveries.query("receiver == 'Notification' and message == 'OrderPlaced'")
    wrong = o[o["outcome"].isin(["completed", "compensated"]) & o["consistent_s"].isna()]["order_id"]
    # The late OrderPlaced arrived after the outcome and overwrote it.
    last = late.groupby("order_id")["received_s"].max()
    assert (last.loc[wrong] > o.set_index("order_id").loc[wrong, "finished_s"]).all()


PROMPT_TESTS = {
    "Compensations": test_compensations,
    "Dual write": test_dual_write,
    "Idempotency": test_idempotency,
    "Step order": test_step_order,
    "Coordination": test_coordination,
    "Event design": test_event_design,
    "Read model": test_read_model,
}


def test_every_prompt_has_a_test():
    assert prompt_titles(NOTEBOOK) == list(PROMPT_TESTS)
