"""The saga explorer: shape the order saga and its delivery, and watch what every order becomes."""

from __future__ import annotations

from itertools import permutations
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from messagelab.explore import CONTROL_WIDTH, LABEL_STYLE, Explorer, dropdown, facts_html, slider, toggle
from messagelab.microservices.outbox import PUBLISHING
from messagelab.microservices.saga import (
    COORDINATION,
    EVENT_DESIGNS,
    OUTCOMES,
    READ_MODELS,
    SERVICES,
    STEP_NAMES,
    STEPS,
    SagaConfig,
    SagaResult,
    coupling_matrix,
    simulate,
)
from messagelab.sim.display import count, fmt

HEADLINE = "consistency_p95_s"
OUTCOME_COLOURS = {"completed": "#2ca02c", "compensated": "#1f77b4", "half-done": "#d62728",
                   "in-progress": "#7f7f7f"}
#: What can go wrong, as the bottom-left chart names it: summary key -> label.
HARMS = {
    "half_done": "half-done orders", "double_charges": "charged twice", "double_shipments": "shipped twice",
    "stale_read_models": "wrong order page", "refunds": "refunds", "events_lost": "events lost",
    "ghost_orders": "ghost orders", "dead_lettered": "dead-lettered",
}
#: The schema situations the explorer offers: label -> (schema_version, schema_change, lagging_consumer).
SCHEMAS = {
    "version 1 everywhere": (1, "additive", ""),
    "v2 additive, Notification lags": (2, "additive", "Notification"),
    "v2 breaking, Notification lags": (2, "breaking", "Notification"),
    "v2 breaking, Inventory lags": (2, "breaking", "Inventory"),
}


def delivery_controls(b: SagaConfig, *, most_redelivered: float) -> dict[str, widgets.Widget]:
    """The faults and delivery choices both explorers offer: crashes, repeats, publishing, consumers, events."""
    return {
        "crash_probability": slider("float", "crash between write and publish", b.crash_probability,
                                    0, 0.1, 0.005, readout_format=".3f"),
        "redelivery_probability": slider("float", "delivered twice", b.redelivery_probability,
                                         0, most_redelivered, 0.01),
        "publishing": dropdown("publishing", list(PUBLISHING), b.publishing),
        "consumer": toggle("consumers", ["naive", "idempotent"], b.consumer),
        "event_design": toggle("events", list(EVENT_DESIGNS), b.event_design),
    }


#: Each step by its verb, for the step-order control.
STEP_VERBS = {"reserve-stock": "reserve", "charge-payment": "charge", "schedule-shipment": "ship"}


def step_label(steps: tuple[str, ...]) -> str:
    """``reserve → charge → ship`` for a step order."""
    return " → ".join(STEP_VERBS[s] for s in steps)


class SagaExplorer(Explorer):
    """Coordination, step order, compensations, publishing, consumers, event design, read model, faults.

    ``base`` is the scenario (workload and faults); the controls override its design fields.
    """

    title = "Saga explorer"

    def __init__(self, base: SagaConfig, *, seed: int = 0, consistency_target_s: float | None = None):
        self.base, self.seed, self.consistency_target_s = base, seed, consistency_target_s
        super().__init__()

    def make_controls(self) -> dict[str, widgets.Widget]:
        b = self.base
        schema = next((label for label, v in SCHEMAS.items()
                       if v == (b.schema_version, b.schema_change, b.lagging_consumer)), "version 1 everywhere")
        shared = delivery_controls(b, most_redelivered=0.2)
        return {
            "crash_probability": shared.pop("crash_probability"),
            "relay_interval_s": slider("float", "outbox relay poll (s)", b.relay_interval_s, 0.05, 2.0, 0.05),
            "redelivery_probability": shared.pop("redelivery_probability"),
            "steps": dropdown("step order", [(step_label(p), p) for p in permutations(STEP_NAMES)], b.steps),
            "compensated": widgets.SelectMultiple(
                options=[(STEPS[s].undo, s) for s in STEP_NAMES], value=b.compensated, rows=3,
                description="compensations (ctrl-click)", style=LABEL_STYLE,
                layout=widgets.Layout(width=CONTROL_WIDTH)),
            "schema": dropdown("schema", list(SCHEMAS), schema),
            "coordination": toggle("coordination", list(COORDINATION), b.coordination),
            **shared,
            "read_model": toggle("order page applied", list(READ_MODELS), b.read_model),
        }

    def make_figure(self) -> go.FigureWidget:
        fig = make_subplots(
            rows=2, cols=2, vertical_spacing=0.2, horizontal_spacing=0.12,
            subplot_titles=("What every order became", "Time until every service agrees (cumulative)",
                            "What went wrong", "Who must know whom (row knows column)"),
        )
        fig.add_trace(go.Bar(name="orders", x=list(range(len(OUTCOMES))), marker_color=list(OUTCOME_COLOURS.values()),
                             showlegend=False), 1, 1)
        fig.add_trace(go.Scatter(name="outcome agreed", mode="lines", line=dict(color="#1f77b4")), 1, 2)
        fig.add_trace(go.Scatter(name="saga finished", mode="lines", line=dict(color="#ff7f0e", dash="dot")), 1, 2)
        fig.add_trace(go.Bar(name="count", x=list(range(len(HARMS))), marker_color="#d62728", showlegend=False), 2, 1)
        cells = list(range(len(SERVICES)))
        fig.add_trace(go.Heatmap(x=cells, y=cells, zmin=0, zmax=1, showscale=False,
                                 colorscale=[[0, "#f7f7f7"], [1, "#9467bd"]], xgap=2, ygap=2,
                                 hoverinfo="skip"), 2, 2)
        # Bars and matrix cells at positions 0, 1, 2 … named by tick labels: the page drew
        # category names sent as x values as 0, 1, 2 … after an update.
        for row, col, names in ((1, 1, OUTCOMES), (2, 1, tuple(HARMS.values())), (2, 2, SERVICES)):
            fig.update_xaxes(tickmode="array", tickvals=list(range(len(names))), ticktext=list(names),
                             row=row, col=col)
        fig.update_yaxes(tickmode="array", tickvals=list(range(len(SERVICES))), ticktext=list(SERVICES),
                         row=2, col=2)
        fig.update_yaxes(title_text="orders", row=1, col=1)
        fig.update_xaxes(title_text="seconds after the order (log)", type="log", row=1, col=2)
        fig.update_yaxes(title_text="share of orders", range=[0, 1.02], row=1, col=2)
        fig.update_yaxes(title_text="orders or messages", row=2, col=1)
        fig.update_yaxes(autorange="reversed", row=2, col=2)
        if self.consistency_target_s:
            # A line trace, not a shape: a shape's x on a log axis is not in seconds.
            fig.add_trace(go.Scatter(x=[self.consistency_target_s] * 2, y=[0, 1.02], mode="lines",
                                     line=dict(color="grey", dash="dash"), name="target", showlegend=False,
                                     hoverinfo="skip"), 1, 2)
            fig.add_hline(y=0.95, line_dash="dash", line_color="grey", row=1, col=2)
        fig.update_layout(height=620, margin=dict(l=60, r=20, t=50, b=40),
                          legend=dict(orientation="h", y=1.1, x=0.55))
        return go.FigureWidget(fig)

    def set(self, **values: Any) -> None:
        """Move controls; a design dict's lists (``steps``, ``compensated``) are understood too."""
        for name in ("steps", "compensated"):
            if name in values:
                values[name] = tuple(values[name])
        super().set(**values)

    def config(self, values: dict[str, Any]) -> SagaConfig:
        v = dict(values)
        v["schema_version"], v["schema_change"], v["lagging_consumer"] = SCHEMAS[v.pop("schema")]
        return self.base.replace(**v)

    def compute(self, values: dict[str, Any]) -> SagaResult:
        return simulate(self.config(values), seed=self.seed)

    def draw(self, r: SagaResult) -> str:
        f, s, o = self.figure.data, r.summary, r.orders
        f[0].y = r.outcome_counts().to_numpy()
        for trace, column in ((f[1], "consistent_s"), (f[2], "finished_s")):
            x, y = cumulative(o[column] - o["placed_s"], len(o))
            trace.x, trace.y = x, y
        f[3].y = [s[key] for key in HARMS]
        f[4].z = coupling_matrix(r.config).to_numpy().astype(int)
        return summary_html(r)


def cumulative(delays: pd.Series, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted delays (s) and the share of all ``total`` orders done by each (a never-done order never counts)."""
    x = np.sort(delays.dropna().to_numpy())
    x = np.maximum(x, 1e-3)  # a log axis: an order agreed on at once is drawn at 1 ms
    return x, np.arange(1, x.size + 1) / max(total, 1)


def summary_frame(r: SagaResult) -> pd.DataFrame:
    """The headline numbers of a run, with units, for a table beside the chart."""
    s = r.summary
    rows = [
        ("orders placed", fmt(s["orders_placed"])),
        ("completed / compensated / half-done / in progress",
         " / ".join(fmt(s[k]) for k in ("completed", "compensated", "half_done", "in_progress"))),
        ("saga finished, p50 / p99", " / ".join(fmt(s[k], "s") for k in ("completion_p50_s", "completion_p99_s"))),
        ("every service agrees, p50 / p95 / p99",
         " / ".join(fmt(s[k], "s") for k in ("consistency_p50_s", "consistency_p95_s", "consistency_p99_s"))),
        ("messages delivered per order", fmt(s["messages_per_order"])),
        ("kB on the bus per order", fmt(s["kb_per_order"])),
        ("call-backs to the Order service per order", fmt(s["callbacks_per_order"])),
        ("customers charged twice / orders shipped twice",
         f"{fmt(s['double_charges'])} / {fmt(s['double_shipments'])}"),
        ("refunds (share of orders)", f"{fmt(s['refunds'])} ({s['refund_fraction']:.1%})"),
        ("order pages showing the wrong outcome", fmt(s["stale_read_models"])),
        ("crashes / events lost / ghost orders",
         " / ".join(fmt(s[k]) for k in ("crashes", "events_lost", "ghost_orders"))),
        ("messages dead-lettered (schema not understood)", fmt(s["dead_lettered"])),
        ("outbox polls per second", fmt(s["relay_polls_per_s"])),
    ]
    return pd.DataFrame(rows, columns=["metric", "value"]).set_index("metric")


def summary_html(r: SagaResult) -> str:
    s = r.summary
    reasons = r.orders.loc[r.orders["outcome"] == "half-done", "reason"].value_counts()
    why = (" (" + ", ".join(f"{fmt(int(n))} {reason}" for reason, n in reasons.items()) + ")") if len(reasons) else ""
    sentence = (
        f"Of {count(s['orders_placed'], 'order')}, {fmt(s['completed'])} completed, {fmt(s['compensated'])} were "
        f"cancelled and fully compensated, and {count(s['half_done'], 'order')} were left half-done{why}. "
        f"95% of orders were agreed on by every service within {fmt(s['consistency_p95_s'], 's')}, "
        f"at {fmt(s['messages_per_order'])} messages per order; "
        f"{count(s['double_charges'], 'customer')} were charged twice."
    )
    if r.truncated:
        sentence += f" <b>The run stopped early: {r.outcome.reason}.</b>"
    return facts_html(sentence, list(summary_frame(r)["value"].items()))


#: Each service's lane on the timeline, top to bottom.
LANES = {name: i for i, name in enumerate(SERVICES)}
SERVICE_COLOURS = dict(zip(SERVICES, ("#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e"), strict=True))


class FlowExplorer(Explorer):
    """Events flowing between the services for one traced order, and every message's wait.

    A slow service, the order rate, crashes between write and publish, duplicate deliveries,
    call-backs or carried state, publishing and consumers; ``trace_order`` picks the order the
    timeline draws.
    """

    title = "Event flow explorer"

    def __init__(self, base: SagaConfig, *, seed: int = 0, traced: int = 0):
        self.base, self.seed, self.traced = base, seed, traced
        super().__init__()

    def make_controls(self) -> dict[str, widgets.Widget]:
        b = self.base
        shared = delivery_controls(b, most_redelivered=0.3)
        return {
            "slow_factor": slider("int", "slowdown of the slow service (×)", int(b.slow_factor), 1, 100, 1),
            "orders_per_s": slider("float", "orders per second", b.orders_per_s, 5, 60, 5),
            "trace_order": slider("int", "order traced", self.traced, 0, 50, 1),
            "crash_probability": shared.pop("crash_probability"),
            "redelivery_probability": shared.pop("redelivery_probability"),
            "slow_service": dropdown("slow service", list(SERVICES), b.slow_service or "Payment"),
            **shared,
        }

    def make_figure(self) -> go.FigureWidget:
        fig = make_subplots(rows=2, cols=1, vertical_spacing=0.16, row_heights=[0.5, 0.5],
                            subplot_titles=("The traced order's messages, service to service",
                                            "Sent → handled, median of each second, by receiving service"))
        fig.add_trace(go.Scatter(name="message", mode="lines+markers", line=dict(color="#7f7f7f", width=1.5),
                                 marker=dict(symbol="arrow", angleref="previous", size=10), showlegend=False,
                                 hoverinfo="skip"), 1, 1)
        fig.add_trace(go.Scatter(name="label", mode="text", textposition="top center", showlegend=False,
                                 textfont=dict(size=10), hoverinfo="skip"), 1, 1)
        for service in SERVICES:
            fig.add_trace(go.Scatter(name=service, mode="lines", line=dict(width=2, color=SERVICE_COLOURS[service]),
                                     hovertemplate=f"{service}: %{{y:.3f}} s at %{{x:.0f}} s<extra></extra>"), 2, 1)
        fig.update_yaxes(tickmode="array", tickvals=list(LANES.values()), ticktext=list(LANES),
                         range=[len(LANES) - 0.5, -0.5], row=1, col=1)
        fig.update_xaxes(title_text="seconds after the order was placed", row=1, col=1)
        fig.update_xaxes(title_text="time handled (s)", row=2, col=1)
        fig.update_yaxes(title_text="sent → handled (s, log)", type="log", row=2, col=1)
        fig.update_layout(height=680, margin=dict(l=90, r=20, t=50, b=40), legend=dict(orientation="h", y=-0.1))
        return go.FigureWidget(fig)

    def config(self, values: dict[str, Any]) -> SagaConfig:
        v = dict(values)
        self.traced = v.pop("trace_order")
        return self.base.replace(**v)

    def compute(self, values: dict[str, Any]) -> SagaResult:
        return simulate(self.config(values), seed=self.seed)

    def draw(self, r: SagaResult) -> str:
        f = self.figure.data
        x, y, label_x, label_y, labels = sequence(r, self.traced)
        f[0].x, f[0].y = x, y
        f[1].x, f[1].y, f[1].text = label_x, label_y, labels
        for trace, service in zip(f[2:], SERVICES, strict=True):
            x, y = waits_by_second(r, service)
            trace.x, trace.y = x, y
        return flow_html(r, self.traced)


def waits_by_second(r: SagaResult, service: str) -> tuple[np.ndarray, np.ndarray]:
    """Each second of the run (by when messages were handled) and the median of sent → handled at ``service``.

    A line per service instead of a point per message: thousands of points took the page
    longer to redraw than the simulation took to run. The median, because a second's few
    repeated deliveries (sent long before) would make its tail the redelivery delay.
    """
    d = r.deliveries[r.deliveries["receiver"] == service]
    took = (d["received_s"] - d["sent_s"]).clip(lower=1e-4)  # a log axis
    median = took.groupby(d["received_s"].floordiv(1.0)).median()
    return median.index.to_numpy() + 0.5, median.to_numpy()


def sequence(r: SagaResult, order: int) -> tuple[list, list, list, list, list]:
    """The traced order's deliveries as arrows between lanes (None breaks them) and their labels."""
    placed = r.orders["placed_s"].iloc[order] if order < len(r.orders) else 0.0
    rows = r.deliveries[r.deliveries["order_id"] == order].sort_values("received_s")
    x: list = []
    y: list = []
    label_x, label_y, labels = [], [], []
    for sent, received, frm, to, name, handled in rows[["sent_s", "received_s", "sender", "receiver", "message",
                                                      "handled"]].itertuples(index=False):
        x += [sent - placed, received - placed, None]
        y += [LANES[frm], LANES[to], None]
        label_x.append((sent + received) / 2 - placed)
        label_y.append((LANES[frm] + LANES[to]) / 2)
        labels.append(name if handled else f"{name} ✗")
    return x, y, label_x, label_y, labels


def flow_html(r: SagaResult, order: int) -> str:
    s, o = r.summary, r.orders
    if order < len(o):
        row = o.iloc[order]
        fate = row["outcome"] + (f" ({row['reason']})" if row["reason"] else "")
        traced = (f"Order {order} ({count(int(row['messages']), 'message')}) ended <b>{fate}</b>"
                  + (f", agreed on by every service after {fmt(row['consistent_s'] - row['placed_s'], 's')}."
                     if np.isfinite(row["consistent_s"]) else ", and the services never agreed on it."))
    else:
        traced = f"Order {order} was never placed in this run."
    waits = (r.deliveries["received_s"] - r.deliveries["sent_s"]).groupby(r.deliveries["receiver"]).quantile(0.95)
    slowest = waits.idxmax() if len(waits) else "none"
    sentence = (
        f"{traced} Of {count(s['orders_placed'], 'order')}, {fmt(s['completed'])} completed, "
        f"{fmt(s['compensated'])} were compensated, {count(s['half_done'], 'order')} were left half-done and "
        f"{count(s['in_progress'], 'order')} were still in progress at the end. Messages waited longest at "
        f"{slowest} (95% handled within {fmt(waits.max() if len(waits) else float('nan'), 's')}); "
        f"{count(s['double_charges'], 'customer')} were charged twice."
    )
    if r.truncated:
        sentence += f" <b>The run stopped early: {r.outcome.reason}.</b>"
    return f"<p>{sentence}</p>"
