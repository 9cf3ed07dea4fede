"""Lab 2's explore prompts: each asks for an observation the tuning explorer shows.

One test per numbered prompt of the notebook's "Try these" cell drives the explorer as the
prompt says and checks the observation a student should make. A prompt without a test, or
a test without a prompt, fails ``test_every_prompt_has_a_test``.
"""

from __future__ import annotations

import pytest
from nbchecks import ROOT, observe, prompt_titles

from messagelab.assignments import lab2
from messagelab.streaming.tuning import LINGERS_MS, TuningExplorer, setting_row

NOTEBOOK = ROOT / "source" / lab2.ID / f"{lab2.ID}.ipynb"
TARGET = lab2.SCENARIO.targets[0].limit
KNEE = dict(batch_size_bytes=65_536, linger_ms=10.0)


@pytest.fixture(scope="module")
def explorer() -> TuningExplorer:
    return TuningExplorer(lab2.SCENARIO.config, target_records_per_s=TARGET, p99_bound_s=lab2.P99_BOUND_S)


def capacity(explorer) -> float:
    return float(setting_row(explorer.sweep, explorer.last_result.config)["capacity_records_per_s"])


def test_kafkas_defaults(explorer):
    s = observe(explorer, batch_size_bytes=16_384, linger_ms=5.0, compression="none", acks="all", consumers=12)
    assert capacity(explorer) < TARGET and s["latency_p99_s"] > 1.0
    # The brokers take all the batches they can: the events wait in the collectors, not in the lag.
    assert s["batches_per_s"] == pytest.approx(lab2.batches_per_s(), rel=0.01)
    assert s["records_pending"] > 100 * s["final_lag_records"]
    # No linger helps: every linger of the sweep at 16 KiB falls short.
    sweep = explorer.sweep
    assert (sweep.loc[sweep["batch_size_bytes"] == 16_384, "capacity_records_per_s"] < TARGET).all()
    assert "short of the" in explorer.summary.value


def test_batch_size(explorer):
    observe(explorer, batch_size_bytes=4_096, linger_ms=5.0)
    small, small_batch = capacity(explorer), explorer.last_result.summary["records_per_batch"]
    observe(explorer, batch_size_bytes=65_536, linger_ms=5.0)
    assert small < 0.3 * TARGET < TARGET < capacity(explorer)
    assert explorer.last_result.summary["records_per_batch"] > lab2.records_per_batch_needed() > small_batch
    assert (int(explorer.knee["batch_size_bytes"]), float(explorer.knee["linger_ms"])) == (65_536, 10.0)
    assert "The knee of the sweep" in explorer.summary.value and "64 KiB, 10 ms" in explorer.summary.value


def test_linger_and_the_knee(explorer):
    p99 = {}
    for linger in LINGERS_MS:
        p99[linger] = observe(explorer, batch_size_bytes=65_536, linger_ms=linger)["latency_p99_s"]
    best = min(p99, key=p99.get)
    assert best == 10.0 and p99[0.0] > 3 * p99[10.0] and p99[2.0] > 3 * p99[10.0]
    assert p99[10.0] < p99[20.0] < p99[50.0]
    assert explorer.figure.data[5].x[0] == pytest.approx(p99[100.0])
    # Waiting alone: a 100 ms linger could spend the whole bound (if the batch did not fill first).
    assert 100 / 1000 >= lab2.P99_BOUND_S


def test_compression(explorer):
    observe(explorer, batch_size_bytes=16_384, linger_ms=5.0, compression="none")
    plain, plain_batch = capacity(explorer), explorer.last_result.summary["records_per_batch"]
    for codec in ("lz4", "zstd"):
        s = observe(explorer, batch_size_bytes=16_384, linger_ms=5.0, compression=codec)
        # batch.size counts compressed bytes: more events in the same batch, the same work per batch.
        assert capacity(explorer) > TARGET > plain and s["records_per_batch"] > plain_batch
        assert s["latency_p99_s"] < lab2.P99_BOUND_S


def test_acks(explorer):
    leader = observe(explorer, **KNEE, compression="none", acks="1")
    every = observe(explorer, **KNEE, compression="none", acks="all")
    assert 0 < every["latency_p99_s"] - leader["latency_p99_s"] < 0.01       # milliseconds, not more
    assert every["durable_writes"] and not leader["durable_writes"]
    assert explorer.last_result.config.enable_idempotence


def test_consumers(explorer):
    s = observe(explorer, **KNEE, acks="all", consumers=6)
    timeline = explorer.last_result.timeline
    assert timeline["lag_records"].is_monotonic_increasing and s["final_lag_records"] > 1_000_000
    assert (explorer.sweep["latency_p99_s"] > lab2.P99_BOUND_S).all()      # no batching helps
    more = observe(explorer, **KNEE, consumers=12)
    assert more["latency_p99_s"] < lab2.P99_BOUND_S


PROMPT_TESTS = {
    "Kafka's defaults": test_kafkas_defaults,
    "Batch size": test_batch_size,
    "Linger and the knee": test_linger_and_the_knee,
    "Compression": test_compression,
    "Acks": test_acks,
    "Consumers": test_consumers,
}


def test_every_prompt_has_a_test():
    assert prompt_titles(NOTEBOOK) == list(PROMPT_TESTS)
