"""The queue explorer: move the design levers and watch the Black Friday spike play out."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from messagelab.explore import Explorer, choice, facts_html, slider
from messagelab.queues.config import QueueConfig
from messagelab.queues.model import DUPLICATE_CAUSES, QueueResult, simulate
from messagelab.sim.display import count, fmt

HEADLINE = "latency_p99_s"

#: The receive-count control's "no DLQ" position (a selection slider needs a value there);
#: the config, like a design dict, says None.
NO_DLQ = 0


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
            "max_receive_count": choice("maxReceiveCount", [("no DLQ", NO_DLQ), *((str(k), k) for k in range(1, 21))],
                                        b.max_receive_count or NO_DLQ),
            "receive_batch_size": slider("int", "receive batch size", b.receive_batch_size, 1, 10, 1),
            "wait_time_s": slider("int", "long-poll wait (s, 0 = short)", int(b.wait_time_s), 0, 20, 1),
            "failure_rate": slider("float", "transient failure rate", b.failure_rate, 0, 0.3, 0.01),
            "poison_rate": slider("float", "poison message rate", b.poison_rate, 0, 0.05, 0.001,
                                  readout_format=".3f"),
            "message_groups": choice("FIFO message groups", [1, 2, 5, 10, 20, 50, 100, 1000], b.message_groups),
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
        fig.add_trace(go.Bar(name="cost", marker_color=["#8c564b", "#e377c2", "#7f7f7f"], showlegend=False), 2, 2)
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

    def set(self, **values: Any) -> None:
        """Move controls; ``max_receive_count=None`` (a design dict's "no DLQ") is understood too."""
        if "max_receive_count" in values and values["max_receive_count"] is None:
            values["max_receive_count"] = NO_DLQ
        super().set(**values)

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
        f[5].x = ["requests", "consumers", "idempotency table"]
        f[5].y = [s["request_cost_usd"] * hours, s["consumer_cost_usd"] * hours, s["store_cost_usd"] * hours]
        return summary_html(r)


def summary_frame(r: QueueResult) -> pd.DataFrame:
    """The headline numbers of a run, with units, for a table beside the chart."""
    s, cfg = r.summary, r.config
    causes = ", ".join(f"{fmt(s[key])} {label}" for key, label in DUPLICATE_CAUSES.items())
    rows = [
        ("orders sent", fmt(s["messages_sent"])),
        ("confirmed / dead-lettered / expired / still queued",
         " / ".join(fmt(s[k]) for k in ("delivered", "dead_lettered", "expired", "still_queued"))),
        ("valid orders dead-lettered or never confirmed", fmt(s["valid_orders_lost"])),
        ("confirmation time p50 / p95 / p99",
         " / ".join(fmt(s[k], "s") for k in ("latency_p50_s", "latency_p95_s", "latency_p99_s"))),
        ("orders processed twice (by cause)", f"{fmt(s['duplicates_processed'])} ({causes})"),
        ("redeliveries / repeats skipped by the idempotent consumer",
         f"{fmt(s['redeliveries'])} / {fmt(s['duplicates_skipped'])}"),
        ("consumer crashes (each consumer is back after a restart)", fmt(s["consumer_crashes"])),
        ("receive calls (empty)", f"{fmt(s['receive_calls'])} ({fmt(s['empty_receives'])})"),
        ("consumer utilisation during the spike / whole run",
         f"{s['consumer_utilisation_peak']:.0%} / {s['consumer_utilisation']:.0%}"),
        ("idempotency-table writes", fmt(s["store_writes"]) if cfg.idempotent_consumer else "none (not idempotent)"),
    ]
    if cfg.queue_type == "fifo":
        demand = cfg.peak_arrival_rate_per_s * (1 + cfg.producer_retry_rate)
        rows.append(("FIFO: peak sends against the send quota (sends throttled)",
                     f"{fmt(demand)}/s of {fmt(cfg.fifo_send_tps)}/s ({fmt(s['throttled_sends'])})"))
        rows.append(("FIFO: message groups (one order in flight per group)", fmt(cfg.message_groups)))
    rows.append(("cost per day", f"${s['cost_per_day_usd']:,.2f}"))
    return pd.DataFrame(rows, columns=["metric", "value"]).set_index("metric")


def summary_html(r: QueueResult) -> str:
    s = r.summary
    lost = s["expired"] + s["still_queued"]
    sentence = (
        f"With {count(r.config.consumers, 'consumer')}, 99% of orders were confirmed within "
        f"{fmt(s['latency_p99_s'], 's')}; the queue peaked at {count(s['max_visible'], 'waiting message')}; "
        f"by the end {count(lost, 'order')} had not been processed, {fmt(s['dead_lettered'])} had gone to "
        f"the DLQ ({count(s['valid_orders_lost'], 'valid order')} lost) "
        f"and {fmt(s['duplicates_processed'])} had been processed twice. "
        f"Running this all day would cost ${s['cost_per_day_usd']:,.2f}."
    )
    if r.truncated:
        sentence += f" <b>The run stopped early: {r.outcome.reason}.</b>"
    return facts_html(sentence, list(summary_frame(r)["value"].items()))
