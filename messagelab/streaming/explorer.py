"""The cluster explorer: size a topic, its cluster, its producers and its consumers, and watch the flow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from messagelab.explore import Explorer, choice, dropdown, facts_html, slider, toggle
from messagelab.sim.display import count, fmt
from messagelab.streaming.cluster import ACKS, StreamConfig, StreamResult, simulate
from messagelab.streaming.codecs import COMPRESSION

HEADLINE = "latency_p99_s"


def size_label(size_bytes: int) -> str:
    """A batch size as the controls name it: ``65536`` → ``'64 KiB'``, ``1048576`` → ``'1 MiB'``.

    >>> [size_label(s) for s in (1024, 16_384, 1_048_576, 1000)]
    ['1 KiB', '16 KiB', '1 MiB', '1,000 bytes']
    """
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size_bytes >= size and size_bytes % size == 0:
            return f"{size_bytes // size:,} {unit}"
    return f"{size_bytes:,} bytes"


#: Batch sizes offered by the cluster explorer: label -> bytes.
BATCH_SIZES = {size_label(s): s for s in (1024, 4096, 16_384, 65_536, 262_144, 1_048_576)}
#: Keys any scenario can offer: none (records spread sticky), or one key per record (hashed).
DEFAULT_KEYS: dict[str, dict[str, Any]] = {
    "no key (sticky)": dict(partitioner="sticky"),
    "a key per record": dict(partitioner="key-hash"),
}
#: The utilisation beyond which a broker's requests slow down sharply (1 / (1 - u)).
BUSY = 0.8


def key_of(config: StreamConfig, keys: Mapping[str, Mapping[str, Any]]) -> str:
    """The label in ``keys`` whose settings ``config`` has (the first label if none matches)."""
    for label, settings in keys.items():
        if all(getattr(config, name) == value for name, value in settings.items()):
            return label
    return next(iter(keys))


class ClusterExplorer(Explorer):
    """Partitions, consumers, brokers, replication, acks, batching, compression, the key, a broker failure.

    ``base`` is the scenario (its workload, cluster prices and faults); ``keys`` names the
    keys a producer could give its records, each as the settings it means (partitioner,
    key count, skew). ``failure_at_s`` is when the failure switch stops broker 0.
    """

    title = "Cluster explorer"

    def __init__(self, base: StreamConfig, *, keys: Mapping[str, Mapping[str, Any]] | None = None,
                 failure_at_s: float | None = None, latency_target_s: float | None = None, seed: int = 0):
        self.base, self.seed = base, seed
        self.keys = dict(keys or DEFAULT_KEYS)
        self.failure_at_s = failure_at_s if failure_at_s is not None else base.duration_s / 3
        self.latency_target_s = latency_target_s
        super().__init__()

    def make_controls(self) -> dict[str, widgets.Widget]:
        b = self.base
        batch = next((label for label, size in BATCH_SIZES.items() if size == b.batch_size_bytes), "16 KiB")
        most = max(96, b.partitions, b.consumers)
        return {
            "partitions": slider("int", "partitions", b.partitions, 1, most, 1),
            "consumers": slider("int", "consumers", b.consumers, 1, most, 1),
            "brokers": slider("int", "brokers", b.brokers, 1, max(24, b.brokers), 1),
            "replication_factor": slider("int", "replication factor", b.replication_factor, 1, 3, 1),
            "min_insync_replicas": slider("int", "min in-sync replicas", b.min_insync_replicas, 1, 3, 1),
            "linger_ms": slider("float", "linger (ms)", b.linger_ms, 0, 100, 1),
            "batch_size_bytes": choice("batch size", list(BATCH_SIZES.items()), BATCH_SIZES[batch]),
            "compression": dropdown("compression", list(COMPRESSION), b.compression),
            "key": dropdown("record key", list(self.keys), key_of(b, self.keys)),
            "acks": toggle("acks", list(ACKS), b.acks, button_width="60px"),
            "failure": toggle("broker 0", ["runs", "fails"], "fails" if b.broker_failure_at_s is not None
                              else "runs", button_width="80px"),
        }

    def make_figure(self) -> go.FigureWidget:
        fig = make_subplots(
            rows=2, cols=2, vertical_spacing=0.2, horizontal_spacing=0.12,
            subplot_titles=("Records per second: produced and consumed", "Consumer lag (records not yet read)",
                            "Load per partition (red: more than a consumer can read)",
                            "Broker utilisation (busiest resource)"),
        )
        fig.add_trace(go.Scatter(name="produced", mode="lines", line=dict(color="#1f77b4")), 1, 1)
        fig.add_trace(go.Scatter(name="consumed", mode="lines", line=dict(color="#2ca02c", dash="dot")), 1, 1)
        fig.add_trace(go.Scatter(name="lag", mode="lines", line=dict(color="#d62728"), showlegend=False), 1, 2)
        fig.add_trace(go.Bar(name="partition", marker_color="#1f77b4", showlegend=False), 2, 1)
        fig.add_trace(go.Scatter(name="one consumer's capacity", mode="lines",
                                 line=dict(color="grey", dash="dash")), 2, 1)
        fig.add_trace(go.Bar(name="broker", showlegend=False), 2, 2)
        fig.add_trace(go.Scatter(name="failure", mode="lines", line=dict(color="black", dash="dot"),
                                 showlegend=False, hoverinfo="skip"), 1, 2)
        fig.update_xaxes(title_text="second", row=1, col=1)
        fig.update_xaxes(title_text="second", row=1, col=2)
        fig.update_xaxes(title_text="partition", row=2, col=1)
        fig.update_xaxes(title_text="broker", row=2, col=2)
        fig.update_yaxes(title_text="records/s", rangemode="tozero", row=1, col=1)
        fig.update_yaxes(title_text="records", rangemode="tozero", row=1, col=2)
        fig.update_yaxes(title_text="records/s", rangemode="tozero", row=2, col=1)
        fig.update_yaxes(title_text="share of capacity", range=[0, 1.05], row=2, col=2)
        fig.update_layout(height=620, margin=dict(l=70, r=20, t=50, b=40), bargap=0.15,
                          legend=dict(orientation="h", y=1.1, x=0.0))
        return go.FigureWidget(fig)

    def config(self, values: dict[str, Any]) -> StreamConfig:
        v = dict(values)
        v.update(self.keys[v.pop("key")])
        v["broker_failure_at_s"] = self.failure_at_s if v.pop("failure") == "fails" else None
        v["failed_broker"] = 0
        v["enable_idempotence"] = v["acks"] == "all"
        return self.base.replace(**v)

    def compute(self, values: dict[str, Any]) -> StreamResult:
        return simulate(self.config(values), seed=self.seed)

    def draw(self, r: StreamResult) -> str:
        f, tl, c = self.figure.data, r.timeline, r.config
        # A second's flows are drawn at its middle, the lag at its end (when it was read).
        middle, end = tl["second"].to_numpy() + 0.5, tl["second"].to_numpy() + 1.0
        f[0].x, f[0].y = middle, tl["produced"].to_numpy()
        f[1].x, f[1].y = middle, tl["consumed"].to_numpy()
        f[2].x, f[2].y = end, tl["lag_records"].to_numpy()
        parts = r.partitions
        capacity = 1000.0 / c.processing_ms_per_record
        load = parts["records_per_s"].to_numpy()
        f[3].x, f[3].y = parts["partition"].to_numpy(), load
        # A partition above one consumer's capacity falls behind whoever reads it.
        f[3].marker.color = np.where(load > capacity, "#d62728", "#1f77b4")
        f[4].x, f[4].y = [-0.5, len(parts) - 0.5], [capacity, capacity]
        peak = r.brokers["peak"].to_numpy()
        f[5].x, f[5].y = r.brokers["broker"].to_numpy(), np.minimum(peak, 1.05)
        f[5].marker.color = ["#d62728" if p >= BUSY else "#1f77b4" for p in peak]
        if c.broker_failure_at_s is not None:
            top = max(float(tl["lag_records"].max()), 1.0)
            f[6].x, f[6].y = [c.broker_failure_at_s] * 2, [0, top]
        else:
            f[6].x, f[6].y = [], []
        return summary_html(r, self.latency_target_s)


def summary_rows(r: StreamResult) -> list[tuple[str, str]]:
    """The headline figures of a run, named in words, with units."""
    s = r.summary
    return [
        ("readings produced / acknowledged / consumed",
         " / ".join(fmt(s[k]) for k in ("records_produced", "records_acked", "records_consumed"))),
        ("throughput", f"{fmt(s['throughput_records_per_s'], 'records/s')} ({fmt(s['throughput_mb_s'], 'MB/s')})"),
        ("end-to-end latency p50 / p99", f"{fmt(s['latency_p50_s'], 's')} / {fmt(s['latency_p99_s'], 's')}"),
        ("acknowledgement p99", fmt(s["ack_latency_p99_ms"], "ms")),
        ("records per batch / batches per second", f"{fmt(s['records_per_batch'])} / {fmt(s['batches_per_s'])}"),
        ("largest lag / lag at the end", f"{fmt(s['max_lag_records'])} / {fmt(s['final_lag_records'])}"),
        ("hottest partition's share", f"{s['hot_partition_share']:.1%}"),
        ("busiest broker's utilisation", f"{s['broker_utilisation_max']:.0%}"),
        ("acknowledged and lost / failed back to producers / waiting in producers",
         " / ".join(fmt(s[k]) for k in ("records_lost", "records_failed", "records_pending"))),
        ("idle consumers", fmt(s["idle_consumers"])),
        ("storage for the retention (share of the brokers' disks)",
         f"{fmt(s['storage_gb'], 'GB')} ({s['storage_utilisation']:.0%})"),
        ("cost", fmt(s["cost_usd_month"], "USD") + " a month"),
    ]


def summary_html(r: StreamResult, latency_target_s: float | None = None) -> str:
    s = r.summary
    sentence = (
        f"The cluster acknowledged {fmt(s['throughput_records_per_s'], 'records/s')} and the consumers read "
        f"{fmt(s['consumed_records_per_s'], 'records/s')}; 99% of readings were processed within "
        f"{fmt(s['latency_p99_s'], 's')} of being sent"
    )
    if latency_target_s is not None:
        sentence += " (target " + fmt(latency_target_s, "s") + ")"
    sentence += f"; the lag ended at {count(round(s['final_lag_records']), 'record')}"
    lost = s["records_lost"]
    sentence += (f", and {count(round(lost), 'acknowledged record')} were lost." if lost >= 0.5
                 else ", and no acknowledged record was lost.")
    if s["idle_consumers"]:
        sentence += f" {count(s['idle_consumers'], 'consumer')} had no partition and sat idle."
    if r.truncated:
        sentence += f" <b>The run stopped early: {r.outcome.reason}.</b>"
    return facts_html(sentence, summary_rows(r))
