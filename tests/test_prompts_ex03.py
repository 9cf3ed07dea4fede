"""Exercise 03's explore prompts: each asks for an observation the cluster explorer shows.

One test per numbered prompt of the notebook's "Try these" cell drives the explorer as the
prompt says and checks the observation a student should make. A prompt without a test, or
a test without a prompt, fails ``test_every_prompt_has_a_test``.
"""

from __future__ import annotations

import pytest
from nbchecks import ROOT, observe, prompt_titles

from messagelab.assignments import ex03
from messagelab.streaming.cluster import partition_rates
from messagelab.streaming.explorer import ClusterExplorer

NOTEBOOK = ROOT / "source" / ex03.ID / f"{ex03.ID}.ipynb"
RATE = ex03.SCENARIO.config.records_per_s
EVEN = dict(key="sensor id", partitions=20, consumers=20)
DURABLE = dict(acks="all", replication_factor=3, min_insync_replicas=2)


@pytest.fixture
def explorer() -> ClusterExplorer:
    return ClusterExplorer(ex03.SCENARIO.config, keys=ex03.KEYS, latency_target_s=ex03.LATENCY_TARGET_S)


def capacity(explorer) -> float:
    return partition_rates(explorer.last_result.config)[1]


def test_hot_partitions(explorer):
    pilot = observe(explorer)
    parts = explorer.last_result.partitions
    assert parts["records_per_s"].max() > 3 * capacity(explorer)          # far above the dashed line
    lag = explorer.last_result.timeline["lag_records"]
    assert pilot["latency_p99_s"] > ex03.LATENCY_TARGET_S and lag.is_monotonic_increasing
    model = observe(explorer, key="turbine model")
    sensor = observe(explorer, key="sensor id")
    assert model["hot_partition_share"] > pilot["hot_partition_share"] > 2 * sensor["hot_partition_share"]
    assert sensor["latency_p99_s"] < pilot["latency_p99_s"]
    assert "99% of readings" in explorer.summary.value
    # One farm's readings share one partition, whatever the count: one consumer reads them all.
    many = observe(explorer, key="wind farm", partitions=96, consumers=96)
    assert many["latency_p99_s"] > 5 * ex03.LATENCY_TARGET_S
    assert many["hot_partition_share"] * RATE > capacity(explorer)


def test_partitions_and_consumers(explorer):
    sixteen = observe(explorer, key="sensor id", partitions=16, consumers=16)
    twenty = observe(explorer, partitions=20, consumers=20)
    shared = observe(explorer, partitions=20, consumers=16)
    owned = explorer.last_result.consumers["partitions_at_start"]
    idle = observe(explorer, partitions=20, consumers=24)
    assert twenty["latency_p99_s"] < 0.1 < sixteen["latency_p99_s"]     # 16 at 100%: the lag creeps up
    assert sixteen["final_lag_records"] > 10 * twenty["final_lag_records"]
    assert shared["latency_p99_s"] > ex03.LATENCY_TARGET_S and (owned == 2).sum() == 4
    assert idle["idle_consumers"] == 4 and "sat idle" in explorer.summary.value
    assert idle["cost_usd_month"] > twenty["cost_usd_month"]


def test_batching(explorer):
    runs = {linger: observe(explorer, **EVEN, linger_ms=linger) for linger in (0.0, 5.0, 50.0)}
    per_batch = [runs[x]["records_per_batch"] for x in (0.0, 5.0, 50.0)]
    batches = [runs[x]["batches_per_s"] for x in (0.0, 5.0, 50.0)]
    busiest = [runs[x]["broker_utilisation_max"] for x in (0.0, 5.0, 50.0)]
    assert per_batch == sorted(per_batch) and batches == sorted(batches, reverse=True)
    assert busiest[2] < busiest[0] / 2                                      # fewer requests to handle
    for linger, s in runs.items():
        assert 0 <= s["latency_p50_s"] - runs[0.0]["latency_p50_s"] <= linger / 1000   # at most linger added
    small = observe(explorer, **EVEN, linger_ms=50.0, batch_size_bytes=1024)
    assert small["records_per_batch"] < runs[50.0]["records_per_batch"]     # the batch fills before the linger


def test_compression(explorer):
    runs = {codec: observe(explorer, **EVEN, compression=codec) for codec in ("none", "lz4", "zstd")}
    storage = [runs[c]["storage_utilisation"] for c in ("none", "lz4", "zstd")]
    cost = [runs[c]["cost_usd_month"] for c in ("none", "lz4", "zstd")]
    assert storage == sorted(storage, reverse=True) and cost == sorted(cost, reverse=True)
    assert storage[2] < 0.4 * storage[0]


def test_a_broker_fails(explorer):
    pilot = observe(explorer, **EVEN, failure="fails")
    assert pilot["records_lost"] > 0 and "acknowledged record" in explorer.summary.value
    durable = observe(explorer, **EVEN, failure="fails", **DURABLE)
    assert durable["records_lost"] == 0 and "no acknowledged record was lost" in explorer.summary.value
    # Every partition has a replica on broker 0 (three replicas on three brokers): until the
    # controller fences it, none of their high watermarks moves, and the consumers wait.
    waited = ex03.SCENARIO.config.broker_session_timeout_s
    assert durable["max_lag_records"] == pytest.approx(RATE * waited, rel=0.2)
    assert len(explorer.figure.data[6].x) == 2                              # the dotted line of the failure


def test_in_sync_replicas(explorer):
    strict = observe(explorer, **EVEN, failure="fails", acks="all", replication_factor=2, min_insync_replicas=2)
    timeline = explorer.last_result.timeline
    after = timeline[timeline["second"] >= 20]                              # after the fencing
    assert strict["records_pending"] > RATE and (after["consumed"] < 0.8 * after["produced"]).all()
    relaxed = observe(explorer, **EVEN, failure="fails", acks="all", replication_factor=2, min_insync_replicas=1)
    assert relaxed["records_pending"] < RATE / 100 and relaxed["records_lost"] == 0


PROMPT_TESTS = {
    "Hot partitions": test_hot_partitions,
    "Partitions and consumers": test_partitions_and_consumers,
    "Batching": test_batching,
    "Compression": test_compression,
    "A broker fails": test_a_broker_fails,
    "In-sync replicas": test_in_sync_replicas,
}


def test_every_prompt_has_a_test():
    assert prompt_titles(NOTEBOOK) == list(PROMPT_TESTS)
