"""The streaming model behaves as Kafka is documented to (REFERENCE.md, Apache Kafka).

Each test states the documented behaviour it checks; the figures are the model's own, run
under several seeds where the behaviour is statistical.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from messagelab.streaming import StreamConfig, simulate
from messagelab.streaming.cluster import TICK_S, assign, partition_rates
from messagelab.streaming.keys import partition_shares

SEEDS = (1, 2, 3)
#: A cluster with room to spare, so that one setting at a time is the bottleneck.
ROOMY = dict(broker_network_mb_s=5000.0, broker_disk_mb_s=5000.0)


def summary(config: StreamConfig, seed: int = 1):
    result = simulate(config, seed=seed)
    result.check_invariants()
    assert not result.truncated, result.outcome.reason
    return result.summary


# --- batching -------------------------------------------------------------------------------
def test_linger_adds_at_most_linger_ms_to_a_records_wait_and_fills_batches():
    light = StreamConfig(records_per_s=20_000, duration_s=20, **ROOMY)
    runs = {linger: summary(light.replace(linger_ms=linger)) for linger in (0.0, 5.0, 20.0, 100.0)}
    for linger, s in runs.items():
        assert s["accumulator_wait_max_ms"] <= linger + 1e-9
    acks = [runs[x]["ack_latency_p50_ms"] for x in sorted(runs)]
    batch = [runs[x]["records_per_batch"] for x in sorted(runs)]
    assert acks == sorted(acks) and batch == sorted(batch), (acks, batch)
    for linger, s in runs.items():
        assert s["ack_latency_p50_ms"] - runs[0.0]["ack_latency_p50_ms"] <= linger + 1e-6
    # 20,000 records/s over 12 partitions and 4 producers: 417/s per batch, so 5 ms of linger
    # gathers about 1 + 417 × 0.005 records.
    assert runs[5.0]["records_per_batch"] == pytest.approx(1 + 20_000 / 48 * 0.005, rel=0.05)


def test_bigger_batches_raise_the_throughput_a_busy_broker_can_take():
    # The brokers' request threads are the bottleneck: every batch costs them 1 ms.
    busy = StreamConfig(records_per_s=400_000, record_bytes=100, duration_s=10, partitions=12,
                        consumers=12, processing_ms_per_record=0.001, broker_batch_cpu_ms=1.0,
                        broker_request_threads=2, linger_ms=50, **ROOMY)
    rates = [summary(busy.replace(batch_size_bytes=size))["throughput_records_per_s"]
             for size in (1024, 4096, 16_384)]
    assert rates[0] < rates[1] < rates[2], rates
    # Three brokers × 2 threads at 1 ms a batch take 6,000 batches a second: throughput ≈ 6,000 × batch.
    records = [max(1, int(size // (100 + 8))) for size in (1024, 4096)]
    for rate, per_batch in zip(rates[:2], records, strict=True):
        assert rate == pytest.approx(6000 * per_batch, rel=0.1)


# --- acks -------------------------------------------------------------------------------------
def test_acks_all_costs_latency_and_throughput_over_acks_1():
    one = StreamConfig(records_per_s=400_000, record_bytes=200, duration_s=10, partitions=1, producers=1,
                       consumers=1, processing_ms_per_record=0.0001, network_rtt_ms=2.0, **ROOMY)
    leader_only = one.replace(acks="1", enable_idempotence=False)
    every_replica = one.replace(acks="all", enable_idempotence=True)
    a1, aall = summary(leader_only), summary(every_replica)
    assert aall["ack_latency_p50_ms"] > a1["ack_latency_p50_ms"]
    assert aall["throughput_records_per_s"] < a1["throughput_records_per_s"]
    # Both are held by the in-flight limit: 5 full batches per request latency.
    for config, s in ((leader_only, a1), (every_replica, aall)):
        assert s["throughput_records_per_s"] == pytest.approx(partition_rates(config)[0], rel=0.1)
    light = StreamConfig(records_per_s=5_000, duration_s=10, **ROOMY)
    assert summary(light)["ack_latency_p50_ms"] > summary(light.replace(acks="1", enable_idempotence=False))[
        "ack_latency_p50_ms"]


def test_a_leader_failure_loses_acknowledged_records_only_under_acks_0_and_1():
    failing = StreamConfig(duration_s=30, broker_failure_at_s=10.0, **ROOMY)
    lost = {}
    for acks in ("0", "1", "all"):
        config = failing.replace(acks=acks, enable_idempotence=acks == "all")
        lost[acks] = [summary(config, seed)["records_lost"] for seed in SEEDS]
    assert all(x == 0 for x in lost["all"])
    assert all(x > 0 for x in lost["1"])
    # acks=0 keeps writing to the dead leader until the controller notices: its partitions'
    # share of the rate for the whole session timeout.
    share = failing.shares()[failing.replicas()[:, 0] == failing.failed_broker].sum()
    expected = failing.records_per_s * share * failing.broker_session_timeout_s
    assert np.mean(lost["0"]) == pytest.approx(expected, rel=0.05)
    # acks=1 loses only what the followers had not fetched yet: a replication delay's worth.
    assert max(lost["1"]) < failing.records_per_s * share * (TICK_S + 0.01)


def test_too_few_in_sync_replicas_refuse_acks_all_writes():
    strict = StreamConfig(duration_s=30, replication_factor=2, min_insync_replicas=2, broker_failure_at_s=5.0,
                          **ROOMY)
    s = summary(strict)
    relaxed = summary(strict.replace(min_insync_replicas=1))
    assert s["records_lost"] == relaxed["records_lost"] == 0
    assert s["records_pending"] > 10 * max(relaxed["records_pending"], 1.0)
    assert s["throughput_records_per_s"] < relaxed["throughput_records_per_s"]


# --- consumer groups ------------------------------------------------------------------------
def test_more_consumers_than_partitions_leaves_the_extra_consumers_idle():
    base = StreamConfig(records_per_s=20_000, duration_s=10, partitions=6, processing_ms_per_record=0.2, **ROOMY)
    six, ten = summary(base.replace(consumers=6)), summary(base.replace(consumers=10))
    assert six["idle_consumers"] == 0 and ten["idle_consumers"] == 4
    assert ten["consumed_records_per_s"] == pytest.approx(six["consumed_records_per_s"], rel=0.01)
    assert ten["max_lag_records"] == pytest.approx(six["max_lag_records"], rel=0.05, abs=1e3)


def test_the_partition_count_rule_max_of_t_over_p_and_t_over_c():
    # One producer (p per partition ≈ 74,000 records/s) and consumers of 8,000 records/s each.
    base = StreamConfig(records_per_s=60_000, duration_s=20, producers=1, processing_ms_per_record=0.125, **ROOMY)
    p, c = partition_rates(base)
    needed = math.ceil(max(base.records_per_s / p, base.records_per_s / c))
    assert needed == 8
    enough = summary(base.replace(partitions=needed, consumers=needed, partitioner="round-robin"))
    short = summary(base.replace(partitions=needed - 1, consumers=needed, partitioner="round-robin"))
    assert enough["final_lag_records"] < 0.01 * enough["records_produced"]
    assert short["final_lag_records"] > 0.05 * short["records_produced"]
    # The producers' side: a target above p on one partition backs up in the producers.
    producer_bound = base.replace(records_per_s=2 * p, partitions=1, consumers=1, processing_ms_per_record=0.001)
    s = summary(producer_bound)
    assert s["throughput_records_per_s"] == pytest.approx(p, rel=0.1)
    assert s["records_pending"] > 0.3 * s["records_produced"]


def test_skewed_keys_cap_the_groups_throughput_at_the_hot_partition():
    skewed = StreamConfig(records_per_s=60_000, duration_s=20, key_count=1000, key_skew=1.2, partitions=12,
                          consumers=12, processing_ms_per_record=0.125, **ROOMY)
    shares = partition_shares(1000, 1.2, 12)
    per_consumer = 8000.0
    assert 60_000 * shares.max() > per_consumer > 60_000 / 12
    s = summary(skewed)
    expected = np.minimum(60_000 * shares, per_consumer).sum()
    assert s["consumed_records_per_s"] == pytest.approx(expected, rel=0.02)
    uniform = summary(skewed.replace(key_skew=0.0, key_count=100_000))
    assert uniform["consumed_records_per_s"] == pytest.approx(60_000, rel=0.02)
    assert s["hot_partition_share"] == pytest.approx(shares.max(), abs=0.01)


# --- the brokers' network -------------------------------------------------------------------
@pytest.mark.parametrize("rf", [1, 2, 3])
def test_replication_factor_times_producer_rate_bounds_broker_network_in(rf):
    config = StreamConfig(duration_s=10, replication_factor=rf, min_insync_replicas=1, **ROOMY)
    result = simulate(config, seed=1)
    written_mb_s = result.summary["throughput_records_per_s"] * config.stored_record_bytes / 1e6
    util = result.brokers["network_in"].sum() * config.broker_network_mb_s
    # Every record enters the cluster once from a producer and rf - 1 times as a follower's copy
    # (small batches carry more framing than the stored_record_bytes of a large one).
    assert written_mb_s * rf <= util <= written_mb_s * rf * 1.3


# --- rebalances -----------------------------------------------------------------------------
def test_an_eager_rebalance_stops_the_whole_group_and_an_incremental_one_only_what_moves():
    join = StreamConfig(duration_s=30, consumers=3, consumer_join_at_s=10.0, assignor="sticky",
                        processing_ms_per_record=0.05, **ROOMY)
    eager, incremental = summary(join.replace(rebalance="eager")), summary(join.replace(rebalance="incremental"))
    assert eager["rebalance_pause_s"] == pytest.approx(4 * join.rebalance_pause_s)
    assert incremental["rebalance_pause_s"] == pytest.approx(1 * join.rebalance_pause_s)
    assert incremental["max_lag_records"] < eager["max_lag_records"] / 2


def test_a_crashed_consumers_partitions_wait_for_the_session_timeout():
    crash = StreamConfig(duration_s=60, consumer_crash_at_s=5.0, session_timeout_s=20.0,
                         processing_ms_per_record=0.02, **ROOMY)
    result = simulate(crash, seed=1)
    result.check_invariants()
    owned = result.partitions["consumer"] == 0
    stalled_rate = result.partitions.loc[owned, "records_per_s"].sum()
    # Nothing reads them until the group notices (the session timeout) and has rebalanced.
    waited = crash.session_timeout_s + crash.rebalance_pause_s
    assert result.summary["max_lag_records"] == pytest.approx(stalled_rate * waited, rel=0.1)
    assert result.summary["records_reprocessed"] > 0
    assert (result.partitions.loc[owned, "consumer_at_end"] != 0).all()


def test_sticky_assignment_moves_only_the_departed_consumers_partitions():
    before = assign(list(range(12)), [0, 1, 2], "range")
    after_sticky = assign(list(range(12)), [1, 2], "sticky", before)
    after_range = assign(list(range(12)), [1, 2], "range", before)
    moved = lambda after: sum(before[p] != after[p] for p in range(12))  # noqa: E731
    assert moved(after_sticky) == 4
    assert moved(after_range) > 4
    assert sorted(np.bincount(list(after_sticky.values()))[1:]) == [6, 6]
