"""Tuning: the frontier is what no other setting beats; the knee is the least batching that keeps up."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from messagelab.streaming.explorer import size_label
from messagelab.streaming.tuning import (
    BATCH_SIZES,
    LINGERS_MS,
    PRIME_TIME,
    TuningExplorer,
    frontier,
    knee,
    non_dominated,
    setting_label,
)

TARGET = 990_000.0
BOUND = 0.05
COLUMNS = ["batch_size_bytes", "linger_ms", "capacity_records_per_s", "throughput_records_per_s", "latency_p99_s",
           "records_per_batch", "final_lag_records", "pareto"]


def dominated_by_brute_force(thr: list[float], p99: list[float]) -> list[bool]:
    """For each point, whether another has at least its throughput and at most its p99, and is better in one."""
    p99 = [float("inf") if np.isnan(x) else x for x in p99]
    return [
        any(thr[j] >= thr[i] and p99[j] <= p99[i] and (thr[j] > thr[i] or p99[j] < p99[i]) for j in range(len(thr)))
        for i in range(len(thr))
    ]


@pytest.fixture(scope="module")
def sweep() -> pd.DataFrame:
    return frontier(PRIME_TIME)


@pytest.fixture
def explorer() -> TuningExplorer:
    return TuningExplorer(PRIME_TIME, target_records_per_s=TARGET, p99_bound_s=BOUND)


def row(frame: pd.DataFrame, size: int, linger: float) -> pd.Series:
    hit = frame[(frame["batch_size_bytes"] == size) & (frame["linger_ms"] == linger)]
    assert len(hit) == 1
    return hit.iloc[0]


# --- the sweep -------------------------------------------------------------------------------
def test_the_sweep_has_one_row_per_setting_in_grid_order(sweep):
    assert list(sweep.columns) == COLUMNS
    assert list(zip(sweep["batch_size_bytes"], sweep["linger_ms"], strict=True)) == list(
        itertools.product(BATCH_SIZES, LINGERS_MS))
    assert sweep["pareto"].dtype == bool


def test_pareto_flags_are_exactly_the_non_dominated_settings(sweep):
    thr, p99 = sweep["capacity_records_per_s"].tolist(), sweep["latency_p99_s"].tolist()
    assert sweep["pareto"].tolist() == [not d for d in dominated_by_brute_force(thr, p99)]
    assert 0 < sweep["pareto"].sum() < len(sweep)


def test_non_dominated_agrees_with_brute_force_on_ties_and_missing_latencies():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 15))
        # Few distinct values, so ties on one or both axes are common; NaN is a latency never measured.
        thr = rng.integers(0, 4, n).astype(float)
        p99 = rng.integers(0, 4, n).astype(float)
        p99[rng.random(n) < 0.15] = np.nan
        assert non_dominated(thr, p99).tolist() == [not d for d in dominated_by_brute_force(thr.tolist(), p99.tolist())]


def test_the_sweep_is_reused_when_only_batching_moves_and_run_again_otherwise():
    frontier.cache_clear()  # other test files in this process may have swept these settings already
    frontier(PRIME_TIME)
    before = frontier.cache_info()
    moved = frontier(PRIME_TIME.replace(batch_size_bytes=1_048_576, linger_ms=100.0))
    after = frontier.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
    frontier(PRIME_TIME.replace(compression="lz4"))
    changed = frontier.cache_info()
    assert (changed.hits, changed.misses) == (after.hits, after.misses + 1)
    # What a caller does with its table does not reach the cache.
    moved.loc[:, "pareto"] = False
    assert frontier(PRIME_TIME)["pareto"].any()


def test_another_grid_or_seed_is_another_sweep():
    grid = dict(batch_sizes=[16_384, 65_536], lingers_ms=[5, 10])
    small = frontier(PRIME_TIME, **grid)
    assert list(zip(small["batch_size_bytes"], small["linger_ms"], strict=True)) == [
        (16_384, 5.0), (16_384, 10.0), (65_536, 5.0), (65_536, 10.0)]
    frontier.cache_clear()
    frontier(PRIME_TIME, **grid)
    before = frontier.cache_info()
    frontier(PRIME_TIME, **grid, seed=1)
    assert frontier.cache_info().misses == before.misses + 1


def test_small_batches_fall_behind_and_batching_beyond_the_knee_only_adds_latency(sweep):
    """PRIME_TIME's cluster takes about 6,000 batches a second: 1,000,000 records/s need > 167 a batch."""
    best = sweep.groupby("batch_size_bytes")["throughput_records_per_s"].max().sort_index()
    assert list(best.index) == list(BATCH_SIZES)
    # The producers are the bottleneck at small batches: they hold records back while the consumers keep up.
    assert best[4_096] < 0.3 * TARGET and best[16_384] < TARGET
    small = sweep[sweep["batch_size_bytes"] <= 16_384]
    assert (small["latency_p99_s"] > 1.0).all()
    assert (small["final_lag_records"] < 0.01 * PRIME_TIME.records_per_s).all()
    # The best throughput a batch size reaches rises with the batch size, until it keeps up.
    assert (np.diff(best.to_numpy()) >= -1e-6 * best.max()).all()
    assert (best[best.index >= 65_536] >= TARGET).all()
    # The frontier keeps up, with batches at least as big as the knee's.
    k = knee(sweep, TARGET)
    front = sweep[sweep["pareto"]]
    assert (front["capacity_records_per_s"] >= TARGET).all()
    assert (front["batch_size_bytes"] >= k["batch_size_bytes"]).all()
    # Beyond the knee's linger, the biggest batches fill more slowly and records wait longer for nothing.
    largest = sweep[(sweep["batch_size_bytes"] == BATCH_SIZES[-1]) & (sweep["linger_ms"] >= k["linger_ms"])]
    assert len(largest) >= 3
    assert (np.diff(largest["latency_p99_s"].to_numpy()) > 0).all()
    assert (np.diff(largest["records_per_batch"].to_numpy()) > 0).all()
    assert (largest["throughput_records_per_s"] <= k["throughput_records_per_s"] * 1.0001).all()
    # Below it, the knee's batch size keeps up only by queueing at the brokers.
    shorter = sweep[(sweep["batch_size_bytes"] == k["batch_size_bytes"]) & (sweep["linger_ms"] < k["linger_ms"])]
    assert (shorter["latency_p99_s"] > 2 * k["latency_p99_s"]).all()


# --- the knee --------------------------------------------------------------------------------
def test_the_knee_is_the_lowest_p99_setting_that_reaches_the_target(sweep):
    assert (int(knee(sweep, TARGET)["batch_size_bytes"]), float(knee(sweep, TARGET)["linger_ms"])) == (65_536, 10.0)
    for target in (100_000, 500_000, 900_000, TARGET, 999_600):
        k = knee(sweep, target)
        reach = sweep[sweep["capacity_records_per_s"] >= target]
        assert k is not None and bool(k["pareto"]) and k["capacity_records_per_s"] >= target
        assert k["latency_p99_s"] == reach["latency_p99_s"].min()
    # A lower target never costs more latency.
    p99s = [knee(sweep, target)["latency_p99_s"] for target in (100_000, 500_000, TARGET, 999_600)]
    assert p99s == sorted(p99s)


def test_no_knee_for_a_target_no_setting_reaches(sweep):
    assert knee(sweep, sweep["capacity_records_per_s"].max() + 1) is None
    assert knee(sweep, 5_000_000) is None


def test_the_knee_breaks_ties_toward_less_batching_and_ignores_settings_off_the_frontier():
    frame = pd.DataFrame({
        "batch_size_bytes": [65_536, 16_384, 16_384, 4_096, 4_096],
        "linger_ms": [10.0, 20.0, 10.0, 0.0, 5.0],
        "capacity_records_per_s": [100.0, 100.0, 100.0, 50.0, 100.0],
        "latency_p99_s": [0.02, 0.02, 0.02, 0.001, 0.01],
        "pareto": [True, True, True, True, False],   # the last is flagged off on purpose
    })
    k = knee(frame, 90)
    assert (k["batch_size_bytes"], k["linger_ms"]) == (16_384, 10.0)
    assert knee(frame, 40)["latency_p99_s"] == 0.001


def test_labels_name_the_settings_in_kib_and_ms():
    assert [size_label(s) for s in BATCH_SIZES] == ["4 KiB", "16 KiB", "64 KiB", "256 KiB", "1 MiB"]
    assert setting_label(65_536, 10.0) == "64 KiB, 10 ms"


# --- the explorer ----------------------------------------------------------------------------
def test_the_explorer_starts_at_the_base_and_draws_the_whole_sweep(explorer, sweep):
    assert explorer.values == {"batch_size_bytes": 16_384, "linger_ms": 5.0, "compression": "none", "acks": "all",
                               "max_in_flight": 5, "partitions": 12, "consumers": 12}
    first = next(iter(explorer.controls.values()))
    assert first.continuous_update is False
    assert [label for label, _ in first.options] == ["4 KiB", "16 KiB", "64 KiB", "256 KiB", "1 MiB"]
    f = explorer.figure.data
    assert np.allclose(f[0].x, sweep["latency_p99_s"]) and np.allclose(f[0].y, sweep["capacity_records_per_s"])
    front = sweep[sweep["pareto"]]
    assert sorted(f[1].y) == sorted(front["capacity_records_per_s"]) and list(f[1].x) == sorted(f[1].x)
    assert set(f[2].y) == {TARGET} and set(f[3].x) == {BOUND}
    assert min(f[2].x) < sweep["latency_p99_s"].min() and max(f[2].x) > sweep["latency_p99_s"].max()
    assert max(f[3].y) >= sweep["capacity_records_per_s"].max()
    assert explorer.figure.layout.xaxis.type == "log"
    here = row(sweep, 16_384, 5.0)
    assert (f[5].x[0], f[5].y[0]) == (here["latency_p99_s"], here["capacity_records_per_s"])
    r = explorer.last_result
    assert np.allclose(f[6].y, r.timeline["lag_records"])
    # Not yet sent: what is pending less what the brokers hold unreplicated (no retries without a failure).
    unreplicated = r.accounts["log_end"].sum() - r.accounts["high_watermark"].sum()
    assert f[7].y[-1] == pytest.approx(r.summary["records_pending"] - unreplicated, rel=1e-6)
    assert f[7].y[-1] > 0.5 * PRIME_TIME.records_per_s   # Kafka's defaults fall behind, in the producers
    text = explorer.summary.value
    assert "16 KiB batches and a 5 ms linger" in text and "short of the 990,000 records/s target" in text
    assert "over the 0.05 s bound" in text and "knee of the sweep" in text and "64 KiB, 10 ms" in text
    assert np.isfinite(explorer.last_update_ms) and explorer.last_update_ms > 0


def test_moving_batching_moves_the_marker_and_reuses_the_sweep(explorer, sweep):
    before = frontier.cache_info()
    explorer.set(batch_size_bytes=65_536)
    explorer.set(linger_ms=50)
    info = frontier.cache_info()
    assert (info.hits, info.misses) == (before.hits + 2, before.misses)
    f, here = explorer.figure.data, row(sweep, 65_536, 50.0)
    assert (f[5].x[0], f[5].y[0]) == (here["latency_p99_s"], here["capacity_records_per_s"])
    assert f[5].text[0] == "64 KiB, 50 ms"
    c = explorer.last_result.config
    assert (c.batch_size_bytes, c.linger_ms) == (65_536, 50.0)
    assert "this meets the 990,000 records/s target and the 0.05 s bound" in explorer.summary.value
    explorer.set(linger_ms=10)
    k = explorer.knee
    assert (f[4].x[0], f[4].y[0]) == (k["latency_p99_s"], k["capacity_records_per_s"])
    assert (f[5].x[0], f[5].y[0]) == (f[4].x[0], f[4].y[0])
    assert "this setting." in explorer.summary.value
    assert np.isfinite(explorer.last_update_ms)


def test_acks_sets_idempotence_and_other_knobs_sweep_again(explorer):
    before = frontier.cache_info()
    explorer.set(acks="1", max_in_flight=3)
    c = explorer.last_result.config
    assert (c.acks, c.enable_idempotence, c.max_in_flight) == ("1", False, 3)
    assert "Not a valid setting" not in explorer.summary.value
    assert frontier.cache_info().misses == before.misses + 1
    assert explorer.sweep.equals(frontier(c))
    explorer.set(acks="all")
    assert explorer.last_result.config.enable_idempotence is True


def test_too_few_consumers_fall_behind_at_every_batching(explorer):
    explorer.set(consumers=6, batch_size_bytes=65_536, linger_ms=10)
    r, sweep = explorer.last_result, explorer.sweep
    assert r.summary["final_lag_records"] > 1_000_000
    assert (sweep["latency_p99_s"] > BOUND).all()
    assert "over the 0.05 s bound" in explorer.summary.value


def test_an_invalid_setting_shows_the_config_error(explorer):
    result, figure_x = explorer.last_result, explorer.figure.data[5].x
    explorer.controls["partitions"].max = 100_000
    explorer.set(partitions=40_000)
    assert "Not a valid setting" in explorer.summary.value and "partitions" in explorer.summary.value
    assert explorer.last_result is result and explorer.figure.data[5].x == figure_x
    assert np.isfinite(explorer.last_update_ms)


def test_a_target_no_setting_reaches_is_said_so():
    e = TuningExplorer(PRIME_TIME, target_records_per_s=5_000_000, p99_bound_s=BOUND)
    assert e.knee is None and len(e.figure.data[4].x) == 0
    assert "No batch size and linger reach the target" in e.summary.value
    assert max(e.figure.data[3].y) >= 5_000_000
