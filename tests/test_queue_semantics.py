"""The SQS queue model behaves as Amazon SQS does: one small seeded scenario per behaviour."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from messagelab import ConfigError
from messagelab.queues import QueueConfig, QueueResult, simulate
from messagelab.queues.config import PRICE_PER_MILLION_USD
from messagelab.sim import RunBudget


def run(seed: int = 0, **fields) -> QueueResult:
    result = simulate(QueueConfig(**fields), seed=seed)
    result.check_invariants()
    return result


def fifo_order_violations(messages: pd.DataFrame) -> int:
    """Pairs of consecutive sends in one message group whose first success came in reverse."""
    done = messages[messages["outcome"] == "delivered"]
    return sum(
        int((np.diff(g.sort_values("sent_s")["first_done_s"].to_numpy()) < 0).sum())
        for _, g in done.groupby("group")
    )


# --- (a) visibility timeout and at-least-once delivery ---------------------------------

SLOW = dict(arrival_rate_per_s=0.5, duration_s=120, drain_s=30, consumers=10,
            processing_time_mean_s=3.0, processing_time_distribution="deterministic",
            visibility_timeout_s=2.0)


def test_processing_slower_than_the_visibility_timeout_is_delivered_again():
    r = run(**SLOW)
    s, m = r.summary, r.messages
    assert s["redeliveries"] > 0
    assert s["duplicates_processed"] > 0
    assert (m["side_effects"] > 1).any()
    assert s["duplicates_processed"] == (m["side_effects"] - 1).clip(lower=0).sum()
    # The latest receiver's delete is the one that counts; every message was still done once.
    assert s["delivered"] == s["messages_sent"]


def test_a_visibility_timeout_longer_than_processing_delivers_once():
    r = run(**{**SLOW, "visibility_timeout_s": 30.0})
    assert r.summary["redeliveries"] == 0 and r.summary["duplicates_processed"] == 0
    assert (r.messages["side_effects"] == 1).all()


def test_an_idempotent_consumer_counts_side_effects_once():
    plain = run(**SLOW)
    r = run(**SLOW, idempotent_consumer=True)
    s, m = r.summary, r.messages
    assert m["side_effects"].max() <= 1
    assert (m.loc[m["outcome"] == "delivered", "side_effects"] == 1).all()
    assert s["duplicates_skipped"] > 0 and s["duplicates_processed"] == 0
    # Same seed, same redeliveries: idempotency changes the effect, not the delivery.
    assert s["redeliveries"] == plain.summary["redeliveries"]
    assert s["duplicates_skipped"] == plain.summary["duplicates_processed"]


# --- (b) dead-letter queue ---------------------------------------------------------------

POISON = dict(arrival_rate_per_s=2, duration_s=60, drain_s=120, poison_rate=0.2,
              visibility_timeout_s=10, consumers=3, processing_time_mean_s=0.1)


@pytest.mark.parametrize("max_receive_count", [1, 3, 5])
def test_poison_messages_go_to_the_dlq_after_max_receive_count_attempts(max_receive_count):
    r = run(**POISON, max_receive_count=max_receive_count)
    m, s = r.messages, r.summary
    poison = m[m["poison"]]
    assert len(poison) > 5
    assert (poison["outcome"] == "dead_lettered").all()
    assert (poison["attempts"] == max_receive_count).all()
    # A receive after the last visibility timeout finds the count exhausted and redrives.
    to_dlq = poison["dead_lettered_s"] - poison["sent_s"]
    vt = POISON["visibility_timeout_s"]
    assert (to_dlq >= max_receive_count * vt).all()
    assert (to_dlq <= max_receive_count * vt + 1.0).all()
    assert s["poison_time_to_dlq_max_s"] == pytest.approx(to_dlq.max())
    # Healthy messages are not affected, and the DLQ depth is what was redriven.
    assert (m.loc[~m["poison"], "outcome"] == "delivered").all()
    assert s["dead_lettered"] == len(poison) == r.timeseries["dlq_depth"].iloc[-1]


def test_without_a_dlq_poison_messages_are_retried_until_the_end():
    r = run(**POISON, max_receive_count=None)
    m, s = r.messages, r.summary
    poison = m[m["poison"]]
    assert s["dead_lettered"] == 0 and poison["dead_lettered_s"].isna().all()
    assert (poison["outcome"] == "queued").all()
    # One attempt per visibility timeout, for as long as the run lasts.
    horizon = POISON["duration_s"] + POISON["drain_s"]
    vt = POISON["visibility_timeout_s"]
    assert (poison["attempts"] >= np.floor((horizon - poison["sent_s"]) / (vt + 0.5))).all()
    assert poison["attempts"].min() >= 12
    # Every finished attempt failed; a few may still be in progress when the run ends.
    assert 0 <= poison["attempts"].sum() - s["failures"] <= POISON["consumers"]


# --- (c) retention -----------------------------------------------------------------------


def test_retention_expires_poison_messages_that_nobody_can_process():
    r = run(**{**POISON, "drain_s": 200}, retention_period_s=60, max_receive_count=None)
    m, s = r.messages, r.summary
    poison = m[m["poison"]]
    assert len(poison) > 5 and (poison["outcome"] == "expired").all()
    assert (m.loc[~m["poison"], "outcome"] == "delivered").all()
    assert s["expired"] == len(poison) and s["still_queued"] == 0
    # Retried every visibility timeout until 60 s old: about six attempts, never more.
    assert poison["attempts"].between(5, 7).all()


# --- (d) FIFO order ----------------------------------------------------------------------

ORDERING = dict(arrival_rate_per_s=20, duration_s=60, drain_s=60, message_groups=5,
                consumers=5, receive_batch_size=10, visibility_timeout_s=10,
                processing_time_mean_s=0.05, failure_rate=0.3)


def test_fifo_keeps_group_order_without_failures():
    r = run(**{**ORDERING, "failure_rate": 0.0}, queue_type="fifo")
    assert r.summary["delivered"] == r.summary["messages_sent"] > 1000
    assert r.messages["group"].nunique() == 5
    assert fifo_order_violations(r.messages) == 0


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(ORDERING, id="5 consumers, batch 10"),
        pytest.param(dict(arrival_rate_per_s=1, duration_s=20, drain_s=60, message_groups=1,
                          consumers=1, receive_batch_size=1, wait_time_s=20,
                          request_latency_s=0, visibility_timeout_s=5, failure_rate=0.3,
                          processing_time_mean_s=0.1,
                          processing_time_distribution="deterministic"),
                     id="1 consumer, batch 1, 1 group"),
    ],
)
def test_fifo_keeps_group_order_through_failures(fields):
    r = run(**fields, queue_type="fifo")
    assert r.summary["failures"] > 0
    assert fifo_order_violations(r.messages) == 0


def test_a_standard_queue_reorders_after_failures():
    r = run(**ORDERING, queue_type="standard")
    assert r.summary["failures"] > 0
    assert fifo_order_violations(r.messages) > 10


# --- (e) producer resends and FIFO deduplication -----------------------------------------

RESEND = dict(arrival_rate_per_s=5, duration_s=60, drain_s=30, consumers=3,
              processing_time_mean_s=0.1, producer_retry_rate=0.5, producer_retry_delay_s=1.0)


def test_fifo_drops_a_resend_within_the_deduplication_window():
    r = run(**RESEND, queue_type="fifo")
    s, m = r.summary, r.messages
    assert 0.4 <= s["deduplicated_sends"] / s["messages_sent"] <= 0.6
    assert s["duplicates_processed"] == 0 and (m["side_effects"] == 1).all()


def test_a_standard_queue_processes_every_resend():
    fifo = run(**RESEND, queue_type="fifo")
    r = run(**RESEND, queue_type="standard")
    assert r.summary["deduplicated_sends"] == 0
    # Same seed, same resends: each one FIFO dropped is processed twice here.
    assert r.summary["duplicates_processed"] == fifo.summary["deduplicated_sends"] > 0
    assert r.messages["side_effects"].max() == 2


def test_fifo_does_not_deduplicate_a_resend_after_five_minutes():
    r = run(**{**RESEND, "drain_s": 500, "producer_retry_delay_s": 400}, queue_type="fifo")
    s = r.summary
    assert s["deduplicated_sends"] == 0
    assert 0.4 <= s["duplicates_processed"] / s["messages_sent"] <= 0.6


# --- (f) FIFO send throttling ------------------------------------------------------------

THROTTLE = dict(queue_type="fifo", arrival_rate_per_s=500, duration_s=30, drain_s=60,
                consumers=50, processing_time_mean_s=0.05)


def test_fifo_sends_above_300_tps_are_throttled_and_latency_grows():
    r = run(**THROTTLE)
    s, m = r.summary, r.messages
    assert s["throttled_sends"] > 0.5 * s["messages_sent"]
    early = m.loc[m["sent_s"] < 5, "latency_s"].mean()
    late = m.loc[m["sent_s"] > 25, "latency_s"].mean()
    # Sends queue up at 500 − 300 = 200 per second: after 25 s about 5,000 wait, ≈ 17 s.
    assert early < 3 < 12 < late


def test_fifo_high_throughput_mode_keeps_latency_flat():
    r = run(**THROTTLE, fifo_high_throughput=True)
    m = r.messages
    assert r.summary["throttled_sends"] < 0.05 * r.summary["messages_sent"]
    assert m.loc[m["sent_s"] > 25, "latency_s"].mean() < 0.5
    assert r.summary["latency_p99_s"] < 1.0


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({**THROTTLE, "arrival_rate_per_s": 100}, id="a third of 300 TPS"),
        pytest.param({**THROTTLE, "fifo_high_throughput": True}, id="500/s in high-throughput mode"),
    ],
)
def test_fifo_sends_below_the_quota_are_not_throttled(fields):
    assert run(**fields).summary["throttled_sends"] == 0


# --- (g) long vs short polling, (h) receive batches --------------------------------------

QUIET = dict(arrival_rate_per_s=0.5, duration_s=300, drain_s=30, consumers=5)


def test_long_polling_makes_far_fewer_empty_receives_and_costs_less():
    short = run(**QUIET, wait_time_s=0)
    long = run(**QUIET, wait_time_s=20)
    s, lg = short.summary, long.summary
    assert s["delivered"] == lg["delivered"] == s["messages_sent"]
    # Short polling: every consumer asks once per 20 ms round trip, almost always in vain.
    expected_calls = QUIET["consumers"] * 330 / 0.02
    assert s["receive_calls"] == pytest.approx(expected_calls, rel=0.05)
    assert s["empty_receives"] > 0.95 * s["receive_calls"]
    # Long polling: an empty call costs one request per 20 s wait at most.
    assert lg["empty_receives"] <= QUIET["consumers"] * (330 / 20 + 1)
    assert lg["empty_receives"] < s["empty_receives"] / 100
    assert lg["receive_calls"] < s["receive_calls"] / 100
    assert lg["requests"] < s["requests"] / 50
    assert lg["request_cost_usd"] < s["request_cost_usd"] / 50


def test_request_cost_is_requests_times_the_price_per_million():
    for queue_type in ("standard", "fifo"):
        s = run(**QUIET, queue_type=queue_type).summary
        price = PRICE_PER_MILLION_USD[queue_type]
        assert s["request_cost_usd"] == pytest.approx(s["requests"] * price / 1e6)
        assert s["requests"] >= s["receive_calls"] + 2 * s["delivered"]  # send + delete each


# A fivefold spike builds a backlog: then a receive finds many messages waiting.
BACKLOG = dict(arrival_rate_per_s=20, spike_multiplier=5, spike_start_s=20, spike_duration_s=20,
               duration_s=60, drain_s=60, consumers=4, processing_time_mean_s=0.05,
               wait_time_s=20)


def test_batches_of_ten_need_fewer_receive_calls_than_single_messages():
    one = run(**BACKLOG, receive_batch_size=1).summary
    ten = run(**BACKLOG, receive_batch_size=10).summary
    assert one["delivered"] == ten["delivered"] == one["messages_sent"]
    assert one["receive_calls"] - one["empty_receives"] == one["delivered"]
    full = ten["receive_calls"] - ten["empty_receives"]
    assert ten["delivered"] / 10 <= full < 0.5 * one["receive_calls"]
    assert ten["requests"] < one["requests"]
    # The request round trip is paid per call, so the backlog also drains sooner.
    assert ten["latency_mean_s"] < one["latency_mean_s"]


# --- (i) delivery delay ------------------------------------------------------------------


def test_delivery_delay_hides_each_message_for_the_delay():
    fields = dict(arrival_rate_per_s=2, duration_s=60, drain_s=90)
    m = run(**fields, delivery_delay_s=60).messages
    assert (m["outcome"] == "delivered").all()
    assert (m["first_done_s"] - m["sent_s"]).min() >= 60
    assert (m["latency_s"] < 62).all()
    assert (run(**fields).messages["latency_s"] < 60).all()


# --- (j) consumer crashes, (k) duplicate delivery ----------------------------------------


@pytest.mark.parametrize("batch", [1, 10])
def test_consumer_crashes_redeliver_but_lose_nothing(batch):
    r = run(arrival_rate_per_s=5, duration_s=60, drain_s=200, crash_rate=0.1,
            consumer_restart_s=5, receive_batch_size=batch)
    s = r.summary
    assert s["consumer_crashes"] > 5
    assert s["redeliveries"] >= s["consumer_crashes"]
    assert s["delivered"] == s["messages_sent"] and s["still_queued"] == 0
    assert s["dead_lettered"] == 0 and s["expired"] == 0


def test_a_crash_costs_the_restart_time():
    base = dict(arrival_rate_per_s=5, duration_s=60, drain_s=200, crash_rate=0.1, consumers=1)
    quick = run(**base, consumer_restart_s=0.1).summary
    slow = run(**base, consumer_restart_s=10).summary
    assert slow["latency_mean_s"] > 2 * quick["latency_mean_s"]


def test_standard_queues_sometimes_deliver_twice_fifo_queues_never():
    fields = dict(arrival_rate_per_s=5, duration_s=60, duplicate_delivery_rate=0.1)
    s = run(**fields).summary
    assert 0.04 < s["duplicates_processed"] / s["delivered"] < 0.2
    assert run(**fields, queue_type="fifo").summary["duplicates_processed"] == 0


# --- (l) determinism and common random numbers -------------------------------------------

FAULTY = dict(arrival_rate_per_s=10, duration_s=60, failure_rate=0.1, poison_rate=0.05,
              crash_rate=0.02, max_receive_count=3, visibility_timeout_s=5,
              producer_retry_rate=0.1, duplicate_delivery_rate=0.05)


def test_same_seed_same_result():
    a, b = simulate(QueueConfig(**FAULTY), seed=5), simulate(QueueConfig(**FAULTY), seed=5)
    assert_series_equal(a.summary, b.summary)
    assert_frame_equal(a.messages, b.messages)
    assert_frame_equal(a.timeseries, b.timeseries)


def test_other_seeds_differ():
    a = simulate(QueueConfig(**FAULTY), seed=5)
    b = simulate(QueueConfig(**FAULTY), seed=6)
    assert not a.messages["sent_s"].equals(b.messages["sent_s"])
    assert not a.summary.equals(b.summary)


def test_designs_compared_under_one_seed_see_the_same_workload():
    few = simulate(QueueConfig(**FAULTY, consumers=3), seed=9).messages
    many = simulate(QueueConfig(**FAULTY, consumers=8), seed=9).messages
    for column in ("sent_s", "poison", "group"):
        assert few[column].equals(many[column])
    assert not few["latency_s"].equals(many["latency_s"])
    # A design field that draws nothing still sees the same arrivals.
    vt = simulate(QueueConfig(**{**FAULTY, "visibility_timeout_s": 20}), seed=9).messages
    assert vt["sent_s"].equals(few["sent_s"])


# --- (m) configuration limits from the SQS documentation ---------------------------------


@pytest.mark.parametrize(
    "field,good,bad",
    [
        ("visibility_timeout_s", [0, 30, 43200], [-1, 43200.5]),
        ("retention_period_s", [60, 1_209_600], [59.9, 1_209_601]),
        ("delivery_delay_s", [0, 900], [-0.1, 901]),
        ("wait_time_s", [0, 20], [-1, 20.5]),
        ("receive_batch_size", [1, 10], [0, 11, 2.5]),
        ("max_receive_count", [None, 1, 1000], [0, 1001, 1.5]),
        ("consumers", [1, 1000], [0, -3, 2.5]),
        ("arrival_rate_per_s", [0.001, 5000], [0, -1]),
        ("message_size_kib", [0.5, 1024], [0, 1025]),
        ("failure_rate", [0, 0.95], [-0.1, 0.96]),
        ("processing_time_mean_s", [0.001], [0]),
    ],
)
def test_each_sqs_limit_is_enforced_and_named(field, good, bad):
    for value in good:
        QueueConfig(**{field: value})
    for value in bad:
        with pytest.raises(ConfigError) as info:
            QueueConfig(**{field: value})
        assert info.value.field == field
        assert str(info.value).startswith(f"{field} = {value!r} is not allowed")


@pytest.mark.parametrize("field", ["visibility_timeout_s", "consumers", "wait_time_s",
                                   "max_receive_count", "queue_type", "idempotent_consumer"])
def test_wrong_types_are_config_errors(field):
    bad = "fast" if field != "queue_type" else "FIFO"
    with pytest.raises(ConfigError, match=field):
        QueueConfig(**{field: bad})


def test_high_throughput_mode_needs_a_fifo_queue():
    QueueConfig(queue_type="fifo", fifo_high_throughput=True)
    with pytest.raises(ConfigError) as info:
        QueueConfig(queue_type="standard", fifo_high_throughput=True)
    assert info.value.field == "fifo_high_throughput"
    assert "FIFO" in str(info.value)


def test_short_polling_needs_a_round_trip():
    QueueConfig(wait_time_s=20, request_latency_s=0)
    with pytest.raises(ConfigError, match="request_latency_s"):
        QueueConfig(wait_time_s=0, request_latency_s=0)


def test_runs_too_large_to_simulate_are_refused():
    with pytest.raises(ConfigError, match="duration_s"):
        QueueConfig(arrival_rate_per_s=5000, duration_s=3600)


def test_replace_validates_and_rejects_unknown_fields():
    cfg = QueueConfig()
    assert cfg.replace(consumers=7).consumers == 7 and cfg.consumers == 5
    with pytest.raises(ConfigError, match="visibility_timeout_s"):
        cfg.replace(visibility_timeout_s=50_000)
    with pytest.raises(ConfigError, match="visibility_timeout"):
        cfg.replace(visibility_timeout=10)


def test_defaults_are_sqs_defaults():
    cfg = QueueConfig()
    assert cfg.visibility_timeout_s == 30
    assert cfg.retention_period_s == 4 * 86400
    assert cfg.delivery_delay_s == 0 and cfg.wait_time_s == 0
    assert cfg.receive_batch_size == 1 and cfg.max_receive_count is None
    assert cfg.queue_type == "standard" and not cfg.fifo_high_throughput


# --- (n) an unstable setting is an answer, not a hang ------------------------------------

UNSTABLE = dict(arrival_rate_per_s=100, duration_s=7200, consumers=1,
                processing_time_mean_s=1.0)


def test_an_unstable_queue_stops_within_its_budget():
    start = time.perf_counter()
    r = simulate(QueueConfig(**UNSTABLE), seed=0, budget=RunBudget(max_events=50_000))
    assert time.perf_counter() - start < 3
    assert r.truncated and r.summary["truncated"]
    assert "event budget" in r.outcome.reason
    assert r.outcome.sim_time_s < UNSTABLE["duration_s"]
    m = r.messages
    assert (m["first_done_s"].dropna() <= r.outcome.sim_time_s).all()
    assert r.summary["delivered"] < 0.1 * r.summary["messages_sent"]


def test_an_unstable_queue_stopped_by_its_budget_still_accounts_for_every_message():
    r = simulate(QueueConfig(**UNSTABLE), seed=0, budget=RunBudget(max_events=50_000))
    assert r.truncated
    r.check_invariants()
    sent = int((r.messages["sent_s"] <= r.outcome.sim_time_s).sum())
    assert r.summary["messages_sent"] == sent


def test_zero_capacity_is_impossible_to_configure():
    with pytest.raises(ConfigError, match="consumers"):
        QueueConfig(consumers=0)
    assert math.isfinite(QueueConfig().horizon_s)


# --- what a run says about its duplicates, its peak and its lost orders -----------------

FAST = dict(arrival_rate_per_s=5.0, duration_s=60, drain_s=30, consumers=5, wait_time_s=20,
            processing_time_mean_s=0.1, processing_time_distribution="deterministic")


@pytest.mark.parametrize(("fields", "cause"), [
    (SLOW, "duplicates_from_visibility_timeout"),
    ({**FAST, "producer_retry_rate": 0.3}, "duplicates_from_producer_resend"),
    ({**FAST, "duplicate_delivery_rate": 0.3}, "duplicates_from_sqs_extra_copy"),
])
def test_each_duplicate_is_told_by_its_cause(fields, cause):
    s = run(**fields).summary
    assert s["duplicates_processed"] > 0 and s[cause] == s["duplicates_processed"]


def test_peak_utilisation_is_the_consumers_share_of_the_spike():
    # One consumer, 0.1 s per order at 2 orders/s normally and 8 during the spike: 20% busy
    # outside it, 80% within it.
    s = run(arrival_rate_per_s=2.0, duration_s=300, drain_s=0, consumers=1, wait_time_s=20,
            processing_time_mean_s=0.1, processing_time_distribution="deterministic", request_latency_s=0.0,
            spike_multiplier=4.0, spike_start_s=100, spike_duration_s=100).summary
    assert s["consumer_utilisation_peak"] == pytest.approx(0.8, abs=0.06)
    assert s["consumer_utilisation"] == pytest.approx(0.4, abs=0.05)


def test_a_valid_order_dead_lettered_counts_as_lost_a_poison_one_does_not():
    # One receive before the DLQ: each transient failure sends a good order there.
    s = run(**FAST, failure_rate=0.1, poison_rate=0.05, max_receive_count=1).summary
    m = run(**FAST, failure_rate=0.1, poison_rate=0.05, max_receive_count=1).messages
    assert s["valid_orders_lost"] == int((~m["poison"] & m["dead_lettered_s"].notna()).sum()) > 0
    assert run(**FAST, poison_rate=0.05, max_receive_count=5).summary["valid_orders_lost"] == 0


def test_an_idempotency_table_costs_a_write_and_a_few_milliseconds_per_attempt():
    plain = run(**FAST).summary
    idem = run(**FAST, idempotent_consumer=True).summary
    assert idem["store_writes"] == plain["delivered"] and plain["store_writes"] == 0  # no retries here
    assert idem["store_cost_usd"] == pytest.approx(idem["store_writes"] / 1e6 * 0.625)
    assert idem["latency_p50_s"] == pytest.approx(plain["latency_p50_s"] + 0.005, abs=1e-6)
