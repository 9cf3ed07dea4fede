"""Dual write loses or invents events at the crash probability; the outbox loses none.

Each claim is the closed form of the module docstring (``messagelab.microservices.outbox``),
checked as a 95 % confidence interval over seeded replications.
"""

from __future__ import annotations

import pytest

from messagelab.microservices import PublishConfig, outbox
from messagelab.sim import ConfigError, replicate

SEEDS = range(8)
P = 0.05
#: 6,000 orders a run: enough for a tight interval, quick enough for a unit test.
BASE = PublishConfig(orders_per_s=50, duration_s=120, crash_probability=P, relay_restart_s=0.1)


def summary(publishing: str, seed: int, **changes) -> dict:
    return outbox.simulate(BASE.replace(publishing=publishing, **changes), seed=seed).summary


def test_dual_write_commit_first_loses_the_crash_probability_of_events() -> None:
    estimate = replicate(lambda seed: summary("dual-write-db-first", seed)["lost_fraction"], SEEDS)
    assert estimate.contains(P), estimate
    assert all(summary("dual-write-db-first", seed)["ghost_events"] == 0 for seed in SEEDS[:2])


def test_dual_write_publish_first_invents_the_crash_probability_of_events() -> None:
    estimate = replicate(lambda seed: summary("dual-write-publish-first", seed)["ghost_fraction"], SEEDS)
    assert estimate.contains(P), estimate
    assert all(summary("dual-write-publish-first", seed)["events_lost"] == 0 for seed in SEEDS[:2])


def test_the_outbox_loses_and_invents_nothing_and_repeats_p_over_1_minus_p() -> None:
    runs = [summary("outbox", seed) for seed in SEEDS]
    assert all(r["events_lost"] == 0 and r["ghost_events"] == 0 for r in runs)
    estimate = replicate(lambda seed: runs[seed]["duplicates_per_order"], SEEDS)
    assert estimate.contains(P / (1 - P)), estimate


def test_without_crashes_every_mode_delivers_every_committed_order_once() -> None:
    for publishing in outbox.PUBLISHING:
        s = summary(publishing, 0, crash_probability=0.0)
        assert s["events_lost"] == s["ghost_events"] == s["duplicate_publishes"] == 0, (publishing, s)
        assert s["events_delivered"] + s["pending"] == s["orders_committed"] > 0


def test_the_outbox_delays_an_event_by_at_most_about_one_poll() -> None:
    for interval in (0.05, 0.5):
        s = summary("outbox", 0, crash_probability=0.0, relay_interval_s=interval)
        assert s["publish_delay_p99_s"] <= interval + 0.05, (interval, s)
        assert s["publish_delay_p50_s"] >= interval / 4, "the relay cannot publish before it polls"


def test_dual_write_delay_is_one_publish() -> None:
    s = summary("dual-write-db-first", 0)
    assert s["publish_delay_p50_s"] < 5 * BASE.publish_s


def test_a_run_too_large_to_answer_a_slider_is_refused_naming_the_limit() -> None:
    with pytest.raises(ConfigError, match=r"duration_s = 100000 is not allowed.*≤ 20000 s at 100 orders/s"):
        PublishConfig(orders_per_s=100, duration_s=100_000)


def test_a_relay_slower_than_the_orders_leaves_a_growing_backlog_pending_not_lost() -> None:
    s = summary("outbox", 0, crash_probability=0.05, relay_restart_s=5.0)
    assert s["events_lost"] == 0
    assert s["pending"] > s["events_delivered"], s


def test_at_least_once_delivery_repeats_r_over_1_minus_r_per_publish() -> None:
    r = 0.1
    runs = [summary("dual-write-db-first", seed, crash_probability=0.0, redelivery_probability=r) for seed in SEEDS]
    estimate = replicate(lambda seed: (runs[seed]["deliveries"] / runs[seed]["events_delivered"]) - 1, SEEDS)
    assert estimate.contains(r / (1 - r)), estimate
    assert all(s["charges"] == s["deliveries"] and s["double_charges"] > 0 for s in runs), "a naive consumer"


def test_an_idempotent_consumer_charges_each_delivered_order_once() -> None:
    s = summary("outbox", 0, redelivery_probability=0.2, consumer="idempotent")
    assert s["duplicate_publishes"] > 0 and s["deliveries"] > s["events_delivered"], "duplicates to absorb"
    assert s["double_charges"] == 0
    assert s["charges"] == s["events_delivered"]


def test_a_ghost_event_charges_for_an_order_that_does_not_exist() -> None:
    s = summary("dual-write-publish-first", 0, consumer="idempotent")
    assert s["charges_without_order"] == s["ghost_events"] > 0
