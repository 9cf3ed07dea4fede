"""Producer tuning: sweep batch size × linger, find the throughput/latency frontier and its knee.

Lab 2's clickstream falls behind every evening at prime time. Its producers' two batching
settings trade the same things against each other: a bigger ``batch_size_bytes`` and a
longer ``linger_ms`` put more records in each produce request, so the brokers spend their
per-request work on fewer requests and keep up with more records a second; but a record
waits up to ``linger_ms`` in its batch before it is even sent. :func:`frontier` runs one
setting of everything else with every pair of a grid of the two and marks the settings
no other beats on both throughput and p99 latency; :func:`knee` picks, among those, the
one with the lowest p99 that still reaches a target throughput: batch less and the
producers fall behind, batch more and records only wait longer.

:data:`PRIME_TIME` is the example the docstrings and tests use: a million 100-byte player
events a second keyed by viewing session, into 12 partitions on a small three-broker
cluster whose brokers take about 2,000 batches a second each (two request threads, 1 ms
of work per batch). The cluster then takes at most 6,000 batches a second, so it keeps up
only when a batch holds more than 1,000,000 / 6,000 ≈ 167 records. Kafka's default 16 KiB
holds 151 of these records however long it lingers, so it falls behind; 64 KiB keeps up
once each producer's batch for a partition lingers long enough to collect that many
(1,000,000 / 12 partitions / 4 producers × 10 ms ≈ 208 records), and lingering longer
only makes records wait.
With bigger batches the brokers' network, not their request threads, caps what the cluster
carries (about 2.3 million records a second): more batching adds no capacity, only wait, so
the whole frontier is the knee.

>>> sweep = frontier(PRIME_TIME)
>>> len(sweep), sorted({int(b) // 1024 for b in sweep.loc[sweep["pareto"], "batch_size_bytes"]})
(35, [64])
>>> best = knee(sweep, 990_000)
>>> int(best["batch_size_bytes"]) // 1024, float(best["linger_ms"]), round(float(best["latency_p99_s"]), 3)
(64, 10.0, 0.018)
>>> knee(sweep, 3_000_000) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from messagelab.explore import Explorer, choice, dropdown, facts_html, slider, toggle
from messagelab.sim.display import count, fmt
from messagelab.streaming.cluster import ACKS, StreamConfig, StreamResult, simulate
from messagelab.streaming.codecs import COMPRESSION
from messagelab.streaming.explorer import size_label

#: The batch sizes swept, in bytes: four times apart from 4 KiB, below Kafka's 16 KiB default
#: (where a batch of small records costs the brokers most per record), to 1 MiB, the default
#: ``max.request.size`` and so the largest batch a default producer can send at all.
BATCH_SIZES: tuple[int, ...] = (4_096, 16_384, 65_536, 262_144, 1_048_576)
#: The lingers swept, in ms: about doubling from 0 (the default before Kafka 4.0) through 5
#: (the default since) to 100, beyond which the wait in the batch alone would exceed any
#: p99 bound an interactive analytics pipeline sets. Roughly even steps on the explorer's
#: log-latency axis.
LINGERS_MS: tuple[float, ...] = (0.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)

#: Prime time on the video service's clickstream: a million 100-byte player events a second,
#: keyed by viewing session, on a small cluster that takes about 6,000 batches a second. With
#: Kafka's producer defaults (16 KiB, 5 ms) the producers fall seconds behind within a
#: 10-second run; one run takes about 15 ms, a whole sweep about half a second.
PRIME_TIME = StreamConfig(
    records_per_s=1_000_000.0,
    record_bytes=100,
    duration_s=10.0,
    key_count=50_000,
    producers=4,
    brokers=3,
    broker_request_threads=2,
    broker_batch_cpu_ms=1.0,
    partitions=12,
    consumers=12,
    processing_ms_per_record=0.01,
)

#: The sweep's columns besides the two settings, all from the run at the offered rate.
METRICS = ("throughput_records_per_s", "latency_p99_s", "records_per_batch", "final_lag_records")
#: A setting's capacity is read off a second run offered this many times the base rate: more
#: than any setting of the grid carries, so each run delivers what the setting can, not what
#: it is offered.
SATURATION = 4.0


@dataclass(frozen=True)
class _Sweep:
    """One sweep: its table and every run, by (batch size, linger)."""

    frame: pd.DataFrame
    runs: dict[tuple[int, float], StreamResult]


def non_dominated(throughput: np.ndarray, p99: np.ndarray) -> np.ndarray:
    """True where no other point has at least the throughput and at most the p99, and is better in one.

    A p99 that is NaN (no record was processed) counts as the worst latency.

    >>> non_dominated(np.array([1.0, 2.0, 2.0, 3.0]), np.array([1.0, 1.0, 3.0, 2.0])).tolist()
    [False, True, False, True]
    """
    thr = np.asarray(throughput, dtype=float)
    lat = np.nan_to_num(np.asarray(p99, dtype=float), nan=np.inf)
    at_least = (thr[None, :] >= thr[:, None]) & (lat[None, :] <= lat[:, None])
    better = (thr[None, :] > thr[:, None]) | (lat[None, :] < lat[:, None])
    return ~(at_least & better).any(axis=1)


@lru_cache(maxsize=16)
def _sweep(base: StreamConfig, batch_sizes: tuple[int, ...], lingers_ms: tuple[float, ...], seed: int) -> _Sweep:
    rows, runs = [], {}
    for size in batch_sizes:
        for linger in lingers_ms:
            config = base.replace(batch_size_bytes=size, linger_ms=linger)
            r = simulate(config, seed=seed)
            full = simulate(config.replace(records_per_s=base.records_per_s * SATURATION), seed=seed)
            runs[(size, linger)] = r
            rows.append({"batch_size_bytes": size, "linger_ms": linger,
                         "capacity_records_per_s": float(full.summary["throughput_records_per_s"]),
                         **{m: float(r.summary[m]) for m in METRICS}})
    frame = pd.DataFrame(rows, columns=["batch_size_bytes", "linger_ms", "capacity_records_per_s", *METRICS])
    frame["pareto"] = non_dominated(frame["capacity_records_per_s"].to_numpy(), frame["latency_p99_s"].to_numpy())
    return _Sweep(frame, runs)


def _swept(base: StreamConfig, batch_sizes: Any, lingers_ms: Any, seed: int) -> _Sweep:
    sizes = tuple(int(b) for b in batch_sizes)
    lingers = tuple(float(x) for x in lingers_ms)
    if not sizes or not lingers:
        raise ValueError("a sweep needs at least one batch size and one linger")
    # The sweep sets these two itself: any base that differs only in them is the same sweep.
    key = base.replace(batch_size_bytes=sizes[0], linger_ms=lingers[0])
    return _sweep(key, sizes, lingers, int(seed))


def frontier(base: StreamConfig, *, batch_sizes=BATCH_SIZES, lingers_ms=LINGERS_MS, seed: int = 0) -> pd.DataFrame:
    """Run ``base`` with every (batch size, linger) of the grid: one row per setting, grid order.

    Each setting runs twice under ``seed`` (so every setting sees the same records): at the
    offered rate, for ``throughput_records_per_s`` (acknowledged), ``latency_p99_s`` (end to
    end, produced → processed), ``records_per_batch`` and ``final_lag_records``; and offered
    :data:`SATURATION` times as much, for ``capacity_records_per_s``, what the setting can
    carry at most. ``pareto`` is True for the settings no other beats on both capacity (higher
    is better) and p99 at the offered rate (lower is better): the frontier, along which more
    batching buys capacity — headroom to catch up — with latency.

    The default grid (:data:`BATCH_SIZES` × :data:`LINGERS_MS`, 35 settings) spans Kafka's
    defaults on both sides: from batches too small for the brokers to the largest a default
    producer may send, and from no linger to one that alone breaks a sub-second bound; both
    step by two to four times, so the points spread evenly on a log-latency chart.

    A sweep is kept per (base, grid, seed), ``base``'s own batch size and linger aside: an
    explorer that moves only those two reuses it, and changing anything else (compression,
    acks, in-flight requests, partitions, consumers …) sweeps again. The last 16 sweeps are
    kept, each with its runs (about 2 MB); ``frontier.cache_info()`` tells how often one was
    reused.
    """
    return _swept(base, batch_sizes, lingers_ms, seed).frame.copy()


frontier.cache_info = _sweep.cache_info  # type: ignore[attr-defined]
frontier.cache_clear = _sweep.cache_clear  # type: ignore[attr-defined]


def knee(frame: pd.DataFrame, target_records_per_s: float) -> pd.Series | None:
    """The frontier's setting with the lowest p99 among those reaching ``target_records_per_s``.

    It is the least batching that keeps up: settings with less fall short of the target (or
    reach it only by queueing), settings with more add latency and no throughput worth
    having. Ties on p99 go to the smaller batch, then the shorter linger (less memory per
    partition in the producers). None when no setting of the sweep reaches the target.
    ``frame`` is what :func:`frontier` returns; the result is its row.
    """
    reach = frame[frame["pareto"] & (frame["capacity_records_per_s"] >= target_records_per_s)]
    if reach.empty:
        return None
    return reach.sort_values(["latency_p99_s", "batch_size_bytes", "linger_ms"], kind="stable").iloc[0]


def setting_label(size_bytes: int, linger_ms: float) -> str:
    """``'64 KiB, 10 ms'``: a (batch size, linger) setting in words."""
    return f"{size_label(size_bytes)}, {linger_ms:g} ms"


def setting_row(sweep: pd.DataFrame, config: StreamConfig) -> pd.Series:
    """The sweep's row of ``config``'s batch size and linger."""
    here = sweep[(sweep["batch_size_bytes"] == config.batch_size_bytes) & (sweep["linger_ms"] == config.linger_ms)]
    return here.iloc[0]


def _nearest(value: float, options: tuple) -> Any:
    return min(options, key=lambda o: (abs(o - value), o))


class TuningExplorer(Explorer):
    """Batch size, linger, compression, acks, in-flight requests, partitions, consumers; the sweep's frontier.

    ``base`` is the scenario (workload, cluster and the starting design); the controls
    override its producer and consumer settings. A base batch size or linger off the grid
    starts at the nearest grid value. The left chart is the sweep of batch size × linger at
    the other controls' settings; the right one shows where the current setting's records
    wait over the run: read by no consumer yet (the lag), or not yet sent by the producers.
    """

    title = "Kafka tuning explorer"

    def __init__(self, base: StreamConfig, *, target_records_per_s: float, p99_bound_s: float, seed: int = 0):
        self.base, self.seed = base, seed
        self.target_records_per_s, self.p99_bound_s = float(target_records_per_s), float(p99_bound_s)
        self.sweep: pd.DataFrame | None = None
        self.knee: pd.Series | None = None
        super().__init__()

    def make_controls(self) -> dict[str, widgets.Widget]:
        b = self.base
        most = max(48, b.partitions, b.consumers)
        return {
            "batch_size_bytes": choice("batch size", [(size_label(s), s) for s in BATCH_SIZES],
                                       _nearest(b.batch_size_bytes, BATCH_SIZES)),
            "linger_ms": choice("linger (ms)", [(f"{x:g}", x) for x in LINGERS_MS], _nearest(b.linger_ms, LINGERS_MS)),
            "compression": dropdown("compression", list(COMPRESSION), b.compression),
            "acks": toggle("acks", list(ACKS), b.acks, button_width="60px"),
            "max_in_flight": slider("int", "max in flight", min(b.max_in_flight, 5), 1, 5, 1),
            "partitions": slider("int", "partitions", b.partitions, 1, most, 1),
            "consumers": slider("int", "consumers", b.consumers, 1, most, 1),
        }

    def make_figure(self) -> go.FigureWidget:
        fig = make_subplots(
            rows=1, cols=2, column_widths=[0.58, 0.42], horizontal_spacing=0.12,
            subplot_titles=("Every batch size × linger: capacity against p99",
                            "Where this setting's records wait"),
        )
        fig.add_trace(go.Scatter(name="a setting of the sweep", mode="markers",
                                 marker=dict(color="#9e9e9e", size=8),
                                 hovertemplate="%{text}<br>%{y:,.0f} records/s, p99 %{x:.3g} s<extra></extra>"), 1, 1)
        fig.add_trace(go.Scatter(name="frontier", mode="lines+markers", line=dict(color="#1f77b4", width=2),
                                 marker=dict(size=9), hovertemplate="%{text}<extra>frontier</extra>"), 1, 1)
        # Line traces, not shapes: a shape's x on a log axis is not in seconds.
        fig.add_trace(go.Scatter(name="target throughput", mode="lines", line=dict(color="grey", dash="dash"),
                                 hoverinfo="skip"), 1, 1)
        fig.add_trace(go.Scatter(name="p99 bound", mode="lines", line=dict(color="grey", dash="dot"),
                                 hoverinfo="skip"), 1, 1)
        fig.add_trace(go.Scatter(name="knee", mode="markers",
                                 marker=dict(symbol="diamond-open", size=18, color="#2ca02c", line=dict(width=3)),
                                 hovertemplate="%{text}<extra>knee</extra>"), 1, 1)
        fig.add_trace(go.Scatter(name="this setting", mode="markers",
                                 marker=dict(symbol="circle", size=16, color="#d62728",
                                             line=dict(color="white", width=2)),
                                 hovertemplate="%{text}<br>%{y:,.0f} records/s, p99 %{x:.3g} s<extra></extra>"), 1, 1)
        fig.add_trace(go.Scatter(name="consumer lag", mode="lines", line=dict(color="#d62728")), 1, 2)
        fig.add_trace(go.Scatter(name="not yet sent (in the producers)", mode="lines",
                                 line=dict(color="#ff7f0e", dash="dot")), 1, 2)
        fig.update_xaxes(title_text="p99 latency, produced → processed (s, log)", type="log", row=1, col=1)
        fig.update_yaxes(title_text="capacity (records/s at most)", rangemode="tozero", row=1, col=1)
        fig.update_xaxes(title_text="time (s)", row=1, col=2)
        fig.update_yaxes(title_text="records", rangemode="tozero", row=1, col=2)
        fig.update_layout(height=500, margin=dict(l=70, r=20, t=40, b=120),
                          legend=dict(orientation="h", y=-0.2, x=0.0))
        return go.FigureWidget(fig)

    def config(self, values: dict[str, Any]) -> StreamConfig:
        v = dict(values)
        # Idempotence is the default with acks=all, and impossible without it (Kafka 3.0 on).
        v["enable_idempotence"] = v["acks"] == "all"
        return self.base.replace(**v)

    def compute(self, values: dict[str, Any]) -> StreamResult:
        c = self.config(values)
        sweep = _swept(c, BATCH_SIZES, LINGERS_MS, self.seed)
        self.sweep = sweep.frame
        self.knee = knee(sweep.frame, self.target_records_per_s)
        return sweep.runs[(c.batch_size_bytes, float(c.linger_ms))]

    def draw(self, r: StreamResult) -> str:
        f, sweep, s, c = self.figure.data, self.sweep, r.summary, r.config
        thr, p99 = sweep["capacity_records_per_s"].to_numpy(), sweep["latency_p99_s"].to_numpy()
        labels = [setting_label(b, x) for b, x in zip(sweep["batch_size_bytes"], sweep["linger_ms"], strict=True)]
        f[0].x, f[0].y, f[0].text = p99, thr, labels
        front = sweep[sweep["pareto"]].sort_values(["latency_p99_s", "capacity_records_per_s"])
        f[1].x, f[1].y = front["latency_p99_s"].to_numpy(), front["capacity_records_per_s"].to_numpy()
        f[1].text = [labels[i] for i in front.index]
        seen = p99[np.isfinite(p99) & (p99 > 0)]
        low, high = (float(seen.min()), float(seen.max())) if seen.size else (self.p99_bound_s, self.p99_bound_s)
        low, high = min(low, self.p99_bound_s) / 2, max(high, self.p99_bound_s) * 2
        f[2].x, f[2].y = [low, high], [self.target_records_per_s] * 2
        top = max(float(np.nanmax(thr)), self.target_records_per_s) * 1.05
        f[3].x, f[3].y = [self.p99_bound_s] * 2, [0.0, top]
        k = self.knee
        if k is None:
            f[4].x, f[4].y, f[4].text = [], [], []
        else:
            f[4].x, f[4].y = [k["latency_p99_s"]], [k["capacity_records_per_s"]]
            f[4].text = [setting_label(k["batch_size_bytes"], k["linger_ms"])]
        f[5].x, f[5].y = [s["latency_p99_s"]], [float(setting_row(sweep, c)["capacity_records_per_s"])]
        f[5].text = [setting_label(c.batch_size_bytes, c.linger_ms)]
        tl = r.timeline
        seconds = tl["second"].to_numpy() + 1.0   # each figure is at its second's end
        f[6].x, f[6].y = seconds, tl["lag_records"].to_numpy()
        # Producers that cannot keep up hold their records back: that backlog is no consumer's lag.
        f[7].x, f[7].y = seconds, np.maximum((tl["produced"] - tl["appended"]).cumsum().to_numpy(), 0.0)
        return tuning_html(r, sweep, k, self.target_records_per_s, self.p99_bound_s)


def _verdict(meets_target: bool, within_bound: bool, target: str, bound: str) -> str:
    if meets_target and within_bound:
        return f"this meets the {target} target and the {bound} bound"
    if meets_target:
        return f"enough for the {target} target, but over the {bound} bound"
    if within_bound:
        return f"within the {bound} bound, but short of the {target} target"
    return f"short of the {target} target and over the {bound} bound"


def tuning_html(r: StreamResult, sweep: pd.DataFrame, best: pd.Series | None, target_records_per_s: float,
                p99_bound_s: float) -> str:
    """The explorer's summary: this setting against the target and the bound, where the knee is, and a table."""
    s, c = r.summary, r.config
    capacity, p99 = float(setting_row(sweep, c)["capacity_records_per_s"]), s["latency_p99_s"]
    target, bound = fmt(target_records_per_s, "records/s"), fmt(p99_bound_s, "s")
    meets, within = capacity >= target_records_per_s, bool(np.isfinite(p99) and p99 <= p99_bound_s)
    sentence = (
        f"With {size_label(c.batch_size_bytes)} batches and a {c.linger_ms:g} ms linger the cluster can carry "
        f"{fmt(capacity, 'records/s')}; at the offered {fmt(c.records_per_s, 'records/s')} it delivered "
        f"{fmt(s['throughput_records_per_s'], 'records/s')} and 99% of records were processed within "
        f"{fmt(p99, 's')}: {_verdict(meets, within, target, bound)}. "
    )
    if best is None:
        top = sweep.loc[sweep["capacity_records_per_s"].idxmax()]
        sentence += (f"No batch size and linger reach the target with the other settings as they are; the most "
                     f"any carries is {fmt(top['capacity_records_per_s'], 'records/s')} "
                     f"({setting_label(top['batch_size_bytes'], top['linger_ms'])}).")
        knee_text = "none reaches the target"
    else:
        where = setting_label(best["batch_size_bytes"], best["linger_ms"])
        at_knee = (int(best["batch_size_bytes"]), float(best["linger_ms"])) == (c.batch_size_bytes, float(c.linger_ms))
        sentence += (f"The knee of the sweep — the least batching whose capacity reaches the target — is at {where} "
                     f"(p99 {fmt(best['latency_p99_s'], 's')})" + (": this setting." if at_knee else "."))
        knee_text = (f"{where}: {fmt(best['capacity_records_per_s'], 'records/s')} at most, "
                     f"p99 {fmt(best['latency_p99_s'], 's')}")
    if r.truncated:
        sentence += f" <b>The run stopped early: {r.outcome.reason}.</b>"
    rows = [
        ("capacity (the most this setting carries)", fmt(capacity, "records/s")),
        ("delivered at the offered rate", f"{fmt(s['throughput_records_per_s'], 'records/s')} "
                                          f"({fmt(s['throughput_mb_s'], 'MB/s')})"),
        ("end-to-end latency p50 / p99", f"{fmt(s['latency_p50_s'], 's')} / {fmt(p99, 's')}"),
        ("acknowledgement p99", fmt(s["ack_latency_p99_ms"], "ms")),
        ("records per batch / batches per second", f"{fmt(s['records_per_batch'])} / {fmt(s['batches_per_s'])}"),
        ("largest lag / lag at the end", f"{fmt(s['max_lag_records'])} / {fmt(s['final_lag_records'])}"),
        ("busiest broker's utilisation", f"{s['broker_utilisation_max']:.0%}"),
        ("records not yet acknowledged at the end", fmt(s["records_pending"])),
        ("settings on the frontier", f"{fmt(int(sweep['pareto'].sum()))} of {count(len(sweep), 'setting')}"),
        ("the knee", knee_text),
        ("cost", fmt(s["cost_usd_month"], "USD") + " a month"),
    ]
    return facts_html(sentence, rows)
