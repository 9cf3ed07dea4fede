"""Exercise 01's explore prompts: each asks for an observation the explorer shows.

One test per numbered prompt of the notebook's "Try these" cell drives the explorer as the
prompt says and checks the observation a student should make. A prompt without a test, or
a test without a prompt, fails ``test_every_prompt_has_a_test``.
"""

from __future__ import annotations

import pytest
from nbchecks import ROOT, observe, prompt_titles

from messagelab.assignments import ex01
from messagelab.queues.explorer import QueueExplorer, summary_frame

NOTEBOOK = ROOT / "source" / ex01.ID / f"{ex01.ID}.ipynb"


@pytest.fixture
def explorer() -> QueueExplorer:
    return QueueExplorer(ex01.SCENARIO.config, latency_target_s=ex01.LATENCY_TARGET_S)


def visible_at(explorer: QueueExplorer, t: float) -> int:
    ts = explorer.last_result.timeseries
    return int(ts.loc[(ts["time_s"] - t).abs().idxmin(), "visible"])


def test_capacity(explorer):
    start = observe(explorer)
    assert visible_at(explorer, explorer.base.horizon_s) > 1000  # "still above 1,000 when the run ends"
    assert start["consumer_utilisation_peak"] < 0.95 and start["consumer_crashes"] > 0  # crashed consumers idle
    spike_end = explorer.base.spike_end_s
    enough = next(n for n in range(5, 61) if (observe(explorer, consumers=n), visible_at(explorer, spike_end))[1] == 0)
    assert 18 <= enough <= 30, enough
    assert explorer.last_result.summary["consumer_utilisation_peak"] < 0.85  # near the 75% cap, not at 100%


def test_polling(explorer):
    short = observe(explorer, consumers=30, wait_time_s=0)
    long = observe(explorer, consumers=30, wait_time_s=20)
    assert long["empty_receives"] * 10 < short["empty_receives"]
    assert long["request_cost_usd"] * 5 < short["request_cost_usd"]


def test_visibility_timeout(explorer):
    base = dict(consumers=30, wait_time_s=20, max_receive_count=5)
    normal = observe(explorer, **base, visibility_timeout_s=8, idempotent_consumer=False)
    short = observe(explorer, **base, visibility_timeout_s=1, idempotent_consumer=False)
    assert short["duplicates_processed"] > 3 * normal["duplicates_processed"]
    causes = {k: short[k] for k in ("duplicates_from_visibility_timeout", "duplicates_from_producer_resend",
                                    "duplicates_from_sqs_extra_copy")}
    assert max(causes, key=causes.get) == "duplicates_from_visibility_timeout"  # the cause that grows
    assert normal["duplicates_from_visibility_timeout"] == 0
    slow = explorer.last_result.messages.query("side_effects > 1")
    assert (slow["attempts"] > 1).all()  # the orders hit are the ones received again
    table = summary_frame(explorer.last_result)
    assert "timeout ran out" in table.loc["orders processed twice (by cause)", "value"]
    idem8 = observe(explorer, **base, visibility_timeout_s=8, idempotent_consumer=True)
    idem1 = observe(explorer, **base, visibility_timeout_s=1, idempotent_consumer=True)
    assert idem1["duplicates_processed"] == 0
    assert idem1["redeliveries"] > 2 * idem8["redeliveries"]
    assert idem1["duplicates_skipped"] > 2 * idem8["duplicates_skipped"]
    assert idem1["store_writes"] > idem8["store_writes"]
    long = observe(explorer, **base, visibility_timeout_s=60, idempotent_consumer=True)
    assert long["latency_p99_s"] > 50  # a failed payment waits out the whole timeout


def test_poison_orders(explorer):
    base = dict(consumers=30, wait_time_s=20, visibility_timeout_s=8, poison_rate=0.01)
    none = observe(explorer, **base, max_receive_count=None)
    assert none["dead_lettered"] == 0 and none["still_queued"] > 0  # poison orders cycle in the queue
    five = observe(explorer, **base, max_receive_count=5)
    assert five["dead_lettered"] > 0 and five["still_queued"] == 0
    assert none["redeliveries"] > five["redeliveries"]  # the consumers' time they take
    one = observe(explorer, **base, max_receive_count=1)
    assert one["valid_orders_lost"] > 10 and five["valid_orders_lost"] == 0
    assert one["dead_lettered"] > five["dead_lettered"]


def test_ordering(explorer):
    base = dict(consumers=30, wait_time_s=20, visibility_timeout_s=8, max_receive_count=5)
    standard = observe(explorer, **base, queue_type="standard")
    fifo = observe(explorer, **base, queue_type="fifo", message_groups=100)
    assert fifo["latency_p99_s"] > standard["latency_p99_s"]
    assert fifo["throttled_sends"] == 0
    rows = summary_frame(explorer.last_result)
    assert "of 300/s" in rows.loc["FIFO: peak sends against the send quota (sends throttled)", "value"]
    few = observe(explorer, **base, queue_type="fifo", message_groups=5)
    assert few["valid_orders_lost"] > 0 and few["latency_p99_s"] > 3 * fifo["latency_p99_s"]
    assert few["consumer_utilisation_peak"] < 0.3  # consumers idle: the groups, not the fleet, limit throughput


def test_idempotency(explorer):
    base = dict(consumers=30, wait_time_s=20, visibility_timeout_s=8, max_receive_count=5)
    plain = observe(explorer, **base, idempotent_consumer=False)
    idem = observe(explorer, **base, idempotent_consumer=True)
    assert plain["duplicates_processed"] > 0 and idem["duplicates_processed"] == 0
    assert plain["store_cost_usd"] == 0 < idem["store_cost_usd"]
    assert idem["latency_p50_s"] > plain["latency_p50_s"]  # each attempt waits for its write


PROMPT_TESTS = {
    "Capacity": test_capacity,
    "Polling": test_polling,
    "Visibility timeout": test_visibility_timeout,
    "Poison orders": test_poison_orders,
    "Ordering": test_ordering,
    "Idempotency": test_idempotency,
}


def test_every_prompt_has_a_test():
    assert prompt_titles(NOTEBOOK) == list(PROMPT_TESTS)
