"""The queue explorer: move the design levers and watch the Black Friday spike play out."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from messagelab.explore import Explorer, slider
from messagelab.queues.config import QueueConfig
from messagelab.queues.model import QueueResult, simulate

HEADLINE = "latency_p99_s"


class QueueExplorer(Explorer):
    """Consumers, visibility timeout, maxReceiveCount, batch size, polling, queue type, faults.

    ``base`` is the scenario (workload and faults); the controls override its design fields.
    """

    title = "Queue explorer"

    def __init__(self, base: QueueConfig, *, seed: int = 0, latency_target_s: float | None = None):
        self.base, self.seed, self.latency_target_s = base, seed, latency_target_s
        super().__init__()

    def make_controls(self) -> dict[str, widgets.Widget]:
        b = self.base
        return {
            "consumers": slider("int", "consumers", b.consumers, 1, 60, 1),
            "visibility_timeout_s": slider("float", "visibility timeout (s)", b.visibility_timeout_s, 0.5, 60, 0.5),
            "max_receive_count": slider("int", "maxReceiveCount (0 = no DLQ)", b.max_receive_count or 0, 0, 20, 1),
            "receive_batch_size": slider("int", "receive batch size", b.receive_batch_size, 1, 10, 1),
            "wait_time_s": slider("int", "long-poll wait (s, 0 = short)", int(b.wait_time_s), 0, 20, 1),
            "failure_rate": slider("float", "transient failure rate", b.failure_rate, 0, 0.3, 0.01),
            "poison_rate": slider("float", "poison message rate", b.poison_rate, 0, 0.05, 0.001,
                                  readout_format=".3f"),
            "queue_type": widgets.ToggleButtons(options=["standard", "fifo"], value=b.queue_type,
                                                description="queue type",
                                                style={"description_width": "initial", "button_width": "90px"}),
            "idempotent_consumer": widgets.Checkbox(value=b.idempotent_consumer, description="idempotent consumer"),
        }

    def make_figure(self) -> go.FigureWidget:
        fig = make_subplots(
            rows=2, cols=2, vertical_spacing=0.16, horizontal_spacing=0.1,
            subplot_titles=("Messages waiting and in flight", "Age of the oldest message",
                            "Order confirmation time (end to end)", "Cost per day"),
        )
        fig.add_trace(go.Scatter(name="visible", line=dict(color="#1f77b4")), 1, 1)
        fig.add_trace(go.Scatter(name="in flight", line=dict(color="#ff7f0e")), 1, 1)
        fig.add_trace(go.Scatter(name="in DLQ", line=dict(color="#d62728", dash="dot")), 1, 1)
        fig.add_trace(go.Scatter(name="oldest age", line=dict(color="#2ca02c"), showlegend=False), 1, 2)
        fig.add_trace(go.Histogram(name="orders", marker_color="#9467bd", nbinsx=60, showlegend=False), 2, 1)
        fig.add_trace(go.Bar(name="cost", marker_color=["#8c564b", "#e377c2"], showlegend=False), 2, 2)
        fig.update_xaxes(title_text="time (s)", row=1, col=1)
        fig.update_xaxes(title_text="time (s)", row=1, col=2)
        fig.update_yaxes(title_text="messages", row=1, col=1)
        fig.update_yaxes(title_text="seconds", row=1, col=2)
        fig.update_xaxes(title_text="seconds", row=2, col=1)
        fig.update_yaxes(title_text="orders", type="log", dtick=1, row=2, col=1)
        fig.update_yaxes(title_text="USD per day", row=2, col=2)
        if self.latency_target_s:
            fig.add_hline(y=self.latency_target_s, line_dash="dash", line_color="grey", row=1, col=2,
                          annotation_text="latency target", annotation_position="top left")
            fig.add_vline(x=self.latency_target_s, line_dash="dash", line_color="grey", row=2, col=1)
        fig.update_layout(height=560, margin=dict(l=50, r=20, t=50, b=40),
                          legend=dict(orientation="h", y=1.12, x=0))
        return go.FigureWidget(fig)

    def config(self, values: dict[str, Any]) -> QueueConfig:
        v = dict(values)
        v["max_receive_count"] = v["max_receive_count"] or None
        v["wait_time_s"] = float(v["wait_time_s"])
        return self.base.replace(**v)

    def compute(self, values: dict[str, Any]) -> QueueResult:
        return simulate(self.config(values), seed=self.seed)

    def draw(self, r: QueueResult) -> str:
        ts, s = r.timeseries, r.summary
        f = self.figure.data
        t = ts["time_s"].to_numpy()
        f[0].x, f[0].y = t, ts["visible"].to_numpy()
        f[1].x, f[1].y = t, ts["in_flight"].to_numpy()
        f[2].x, f[2].y = t, ts["dlq_depth"].to_numpy()
        f[3].x, f[3].y = t, ts["oldest_age_s"].to_numpy()
        lat = r.messages["latency_s"].to_numpy()
        f[4].x = lat[np.isfinite(lat)]
        hours = 86400.0 / max(r.outcome.sim_time_s, 1e-9)
        f[5].x = ["requests", "consumers"]
        f[5].y = [s["request_cost_usd"] * hours, s["consumer_cost_usd"] * hours]
        return summary_html(r)


def summary_frame(r: QueueResult) -> pd.DataFrame:
    """The headline numbers of a run, with units, for a table beside the chart."""
    s = r.summary
    rows = [
        ("orders sent", f"{s['messages_sent']:,}"),
        ("confirmed / dead-lettered / expired / still queued",
         f"{s['delivered']:,} / {s['dead_lettered']:,} / {s['expired']:,} / {s['still_queued']:,}"),
        ("confirmation time p50 / p95 / p99",
         f"{s['latency_p50_s']:.2f} s / {s['latency_p95_s']:.2f} s / {s['latency_p99_s']:.2f} s"),
        ("orders processed twice", f"{s['duplicates_processed']:,}"),
        ("redeliveries", f"{s['redeliveries']:,}"),
        ("receive calls (empty)", f"{s['receive_calls']:,} ({s['empty_receives']:,})"),
        ("consumer utilisation", f"{s['consumer_utilisation']:.0%}"),
        ("cost per day", f"${s['cost_per_day_usd']:,.2f}"),
    ]
    return pd.DataFrame(rows, columns=["metric", "value"]).set_index("metric")


def summary_html(r: QueueResult) -> str:
    s = r.summary
    lost = s["expired"] + s["still_queued"]
    sentence = (
        f"With {r.config.consumers} consumers, 99% of orders were confirmed within "
        f"{s['latency_p99_s']:.1f} s; the queue peaked at {s['max_visible']:,} waiting messages; "
        f"{lost:,} orders were not processed by the end, {s['dead_lettered']:,} went to the DLQ, "
        f"and {s['duplicates_processed']:,} were processed twice. "
        f"Running this all day would cost ${s['cost_per_day_usd']:,.2f}."
    )
    if r.truncated:
        sentence += f" <b>The run stopped early: {r.outcome.reason}.</b>"
    rows = "".join(
        f"<tr><td style='text-align:left;padding-right:2em'>{name}</td><td style='text-align:right'>{value}</td></tr>"
        for name, value in summary_frame(r)["value"].items()
    )
    return f"<p>{sentence}</p><table>{rows}</table>"
