"""The game-day explorer: inject a fault on the payment chain, watch what the patterns make of it.

One fault on a timeline (its kind, the service it hits, when, how long, how bad) — and, when
asked for, a second one after it, as a game day that injects a fault again — the load,
the gateway calls' retries and timeout, the circuit breaker's settings and the fallback. The
chart shows, second by second, the share of payments that succeed (with the fault's window
shaded), the state of the gateway's and the fraud check's breakers, and the calls reaching
each service — where a retry storm shows as the calls rising while the successes fall. The
summary says what the business saw: payments completed, revenue lost, SLA breaches, double
charges, and how long the chain took to recover after the fault ended.
"""

from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from messagelab.explore import Explorer, dropdown, facts_html, slider, toggle
from messagelab.resilience.backoff import BACKOFFS
from messagelab.resilience.breaker import CLOSED, HALF_OPEN, OPEN
from messagelab.resilience.config import FALLBACKS, ResilienceConfig
from messagelab.resilience.faults import FAULT_KINDS
from messagelab.resilience.model import ResilienceResult, simulate
from messagelab.sim.display import fmt

#: The fault switch's first choice: no fault at all.
NO_FAULT = "none"
#: Where a fault can be injected from the explorer (the services the platform depends on).
FAULT_TIERS = ("gateway", "fraud")
#: A fault's defaults when the base config has none to start from: (start_s, duration_s).
DEFAULT_WINDOW = (20.0, 15.0)
#: The magnitude each kind starts at when chosen, and its slider's range and step.
MAGNITUDES: dict[str, tuple[float, float, float, float]] = {
    "errors": (0.5, 0.0, 1.0, 0.05),
    "brownout": (5.0, 1.0, 50.0, 0.5),
    "slow": (5.0, 0.0, 60.0, 0.5),
    "outage": (1.0, 0.0, 1.0, 1.0),   # ignored: an outage refuses everything
    "capacity_loss": (0.5, 0.0, 1.0, 0.05),
}
#: Breaker states drawn as levels, bottom up.
STATE_LEVELS = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


#: The second fault's window when the base config has none to start from: (start_s, duration_s).
SECOND_WINDOW = (45.0, 5.0)
#: The second fault's controls: the first fault's names with this prefix.
SECOND = "second_"


def fault_of(config: ResilienceConfig, index: int = 0) -> tuple[str, str, float, float, float]:
    """The fault the explorer's ``index``-th fault controls start with: the base config's, if it has one.

    Otherwise the first starts on a gateway brownout and the second on none (with an outage's scale).
    """
    if len(config.faults) > index:
        kind, tier, start, duration, magnitude = config.faults[index]
        return kind, tier, float(start), float(duration), float(magnitude)
    if index == 0:
        start, duration = DEFAULT_WINDOW
        return "brownout", "gateway", start, duration, MAGNITUDES["brownout"][0]
    start, duration = SECOND_WINDOW
    return NO_FAULT, "gateway", min(start, config.duration_s - 1), duration, MAGNITUDES["outage"][0]


def fault_controls(fault: tuple[str, str, float, float, float], horizon: float, prefix: str = "",
                   label: str = "fault") -> dict[str, widgets.Widget]:
    """One fault's controls — how long, from when, how bad, what, where — named ``prefix + fault_...``."""
    kind, tier, start, duration, magnitude = fault
    _, low, high, step = MAGNITUDES["outage" if kind == NO_FAULT else kind]
    controls = {
        f"{prefix}fault_duration_s": slider("float", f"{label} lasts (s)", duration, 1, horizon, 1),
        f"{prefix}fault_start_s": slider("float", f"{label} starts at (s)", start, 0, horizon - 1, 1),
        f"{prefix}fault_magnitude": slider("float", f"{label}: how bad" if prefix else "how bad", magnitude, low,
                                           high, step),
        f"{prefix}fault_kind": dropdown(label, [NO_FAULT, *FAULT_KINDS], kind),
        f"{prefix}fault_tier": dropdown(f"{label} hits", list(FAULT_TIERS), tier),
    }
    if not prefix:
        return controls  # the window first: the first slider of the explorer
    # A later fault reads as a sentence: what, where, when, how long, how bad.
    order = ("fault_kind", "fault_tier", "fault_start_s", "fault_duration_s", "fault_magnitude")
    return {f"{prefix}{name}": controls[f"{prefix}{name}"] for name in order}


def fault_from(values: dict[str, Any], prefix: str = "") -> tuple[tuple[Any, ...], ...]:
    """The fault ``values`` describe (taking its controls out of them), as a config's faults: () for none."""
    kind, tier = values.pop(f"{prefix}fault_kind"), values.pop(f"{prefix}fault_tier")
    start, duration = values.pop(f"{prefix}fault_start_s"), values.pop(f"{prefix}fault_duration_s")
    magnitude = values.pop(f"{prefix}fault_magnitude")
    if kind == NO_FAULT:
        return ()
    _, low, high, _ = MAGNITUDES[kind]
    return ((kind, tier, start, duration, min(max(magnitude, low), high)),)


def fault_words(fault: tuple[str, str, float, float, float]) -> str:
    """A fault as people say it: "the gateway 20× slower from 20 s for 15 s"."""
    kind, tier, start, duration, magnitude = fault
    what = {"errors": f"{magnitude:.0%} of its answers failing", "brownout": f"{magnitude:g}× slower",
            "slow": f"{magnitude:g} s slower per call", "outage": "refusing every call",
            "capacity_loss": f"{magnitude:.0%} of its workers gone"}[kind]
    return f"the {html.escape(tier)} {what} from {fmt(start, 's')} for {fmt(duration, 's')}"


class ResilienceExplorer(Explorer):
    """A game day on the payment chain: a fault, the retries, the timeout, the breaker, the fallback.

    ``base`` is the scenario's chain (its load, services and defaults); the fault controls start
    on its first fault. With ``second_fault`` the timeline holds a second fault too (its
    controls named ``second_fault_...``), starting on the base's second fault or on none.
    ``sla_latency_s`` is drawn in the summary when given (the scenario's own, otherwise the
    config's).
    """

    title = "Game day: the payment chain under a fault"

    def __init__(self, base: ResilienceConfig, *, seed: int = 0, sla_latency_s: float | None = None,
                 second_fault: bool = False) -> None:
        self.base, self.seed, self.second_fault = base, seed, second_fault
        self.sla_latency_s = sla_latency_s if sla_latency_s is not None else base.sla_latency_s
        super().__init__()

    def make_controls(self) -> dict[str, widgets.Widget]:
        b = self.base
        horizon = b.duration_s
        # The fault's window first: the first slider of the explorer.
        controls = fault_controls(fault_of(b), horizon)
        controls |= {
            "arrival_rate_per_s": slider("float", "payments/s", b.arrival_rate_per_s, 10, 200, 10),
            "gateway_timeout_s": slider("float", "gateway timeout (s)", b.gateway_timeout_s, 0.1, 10, 0.1),
            "gateway_max_attempts": slider("int", "gateway attempts", b.gateway_max_attempts, 1, 5, 1),
            "gateway_backoff": dropdown("backoff", list(BACKOFFS), b.gateway_backoff),
            "retry_budget": toggle("retry budget", [False, True], b.retry_budget, button_width="60px"),
            "gateway_breaker": toggle("gateway breaker", [True, False], b.gateway_breaker, button_width="60px"),
            "fraud_breaker": toggle("fraud-check breaker", [True, False], b.fraud_breaker, button_width="60px"),
            "breaker_failure_rate_threshold_pct": slider("float", "opens at failure rate (%)",
                                                         b.breaker_failure_rate_threshold_pct, 5, 100, 5),
            "breaker_sliding_window_size": slider("int", "window (calls)", b.breaker_sliding_window_size,
                                                  5, 500, 5),
            "breaker_minimum_number_of_calls": slider("int", "minimum calls", b.breaker_minimum_number_of_calls,
                                                      1, 500, 1),
            "breaker_wait_duration_in_open_state_s": slider("float", "wait when open (s)",
                                                            b.breaker_wait_duration_in_open_state_s, 1, 120, 1),
            "breaker_permitted_calls_in_half_open_state": slider(
                "int", "trial calls (half-open)", b.breaker_permitted_calls_in_half_open_state, 1, 50, 1),
            "gateway_fallback": dropdown("fallback", list(FALLBACKS), b.gateway_fallback),
        }
        if self.second_fault:
            controls |= fault_controls(fault_of(b, 1), horizon, SECOND, "second fault")
        # Registered before the explorer's own observer: a new kind of fault brings its own scale.
        for prefix in ("", SECOND) if self.second_fault else ("",):
            controls[f"{prefix}fault_kind"].observe(
                lambda change, prefix=prefix: self._kind_chosen(change, prefix), names="value")
        return controls

    def _kind_chosen(self, change: dict[str, Any], prefix: str = "") -> None:
        """Give the magnitude slider the new kind's range and starting value, without a run of its own.

        The starting value is the base config's own when the kind is its fault's (choosing the
        scenario's fault again brings back the scenario's), otherwise the kind's default.
        """
        if change["new"] == NO_FAULT:
            return
        value, low, high, step = MAGNITUDES[change["new"]]
        kind, _, _, _, magnitude_0 = fault_of(self.base, 1 if prefix else 0)
        if kind == change["new"]:
            value = magnitude_0
        magnitude, holding = self.controls[f"{prefix}fault_magnitude"], getattr(self, "_holding", False)
        self._holding = True
        try:
            magnitude.min, magnitude.max = min(magnitude.min, low), max(magnitude.max, high)
            magnitude.value = value
            magnitude.min, magnitude.max, magnitude.step = low, high, step
        finally:
            self._holding = holding

    def make_figure(self) -> go.FigureWidget:
        fig = make_subplots(
            rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.4, 0.2, 0.4],
            subplot_titles=("Payments that succeed (and answered at all), each second",
                            "Circuit breakers' states", "Calls reaching each service per second"),
        )
        fig.add_trace(go.Scatter(name="fault", mode="lines", fill="toself", fillcolor="rgba(214,39,40,0.12)",
                                 line=dict(width=0), hoverinfo="skip"), 1, 1)
        fig.add_trace(go.Scatter(name="succeeded", mode="lines", line=dict(color="#2ca02c")), 1, 1)
        fig.add_trace(go.Scatter(name="answered (success or fallback)", mode="lines",
                                 line=dict(color="#1f77b4", dash="dot")), 1, 1)
        fig.add_trace(go.Scatter(name="gateway breaker", mode="lines", line=dict(color="#d62728", shape="hv")), 2, 1)
        fig.add_trace(go.Scatter(name="fraud-check breaker", mode="lines",
                                 line=dict(color="#ff7f0e", shape="hv", dash="dash")), 2, 1)
        for name, color in (("API", "#9467bd"), ("fraud check", "#ff7f0e"), ("gateway", "#d62728")):
            fig.add_trace(go.Scatter(name=f"calls to the {name}", mode="lines", line=dict(color=color)), 3, 1)
        fig.add_trace(go.Scatter(name="payments arriving", mode="lines", line=dict(color="grey", dash="dash")), 3, 1)
        fig.update_yaxes(title_text="share", range=[-0.02, 1.05], row=1, col=1)
        fig.update_yaxes(tickvals=list(STATE_LEVELS.values()), ticktext=list(STATE_LEVELS), range=[-0.3, 2.3],
                         row=2, col=1)
        fig.update_yaxes(title_text="calls/s", rangemode="tozero", row=3, col=1)
        fig.update_xaxes(title_text="second", row=3, col=1)
        fig.update_layout(height=680, margin=dict(l=80, r=20, t=50, b=40), legend=dict(orientation="h", y=-0.08))
        return go.FigureWidget(fig)

    def config(self, values: dict[str, Any]) -> ResilienceConfig:
        v = dict(values)
        faults = fault_from(v) + (fault_from(v, SECOND) if self.second_fault else ())
        return self.base.replace(faults=faults, **v)

    def compute(self, values: dict[str, Any]) -> ResilienceResult:
        return simulate(self.config(values), seed=self.seed)

    def draw(self, r: ResilienceResult) -> str:
        f, ts, c = self.figure.data, r.timeseries, r.config
        t = ts["time_s"].to_numpy() + c.sample_interval_s / 2
        # Each fault's window, one closed shape after another (None separates them).
        xs: list[float | None] = []
        ys: list[float | None] = []
        for _, _, start, duration, _ in c.faults:
            xs += [start, start + duration, start + duration, start, start, None]
            ys += [0, 0, 1.05, 1.05, 0, None]
        f[0].x, f[0].y = xs[:-1], ys[:-1]
        f[1].x, f[1].y = t, ts["success_rate"].to_numpy()
        f[2].x, f[2].y = t, ts["availability"].to_numpy()
        starts = ts["time_s"].to_numpy()
        f[3].x, f[3].y = starts, ts["gateway_breaker"].map(STATE_LEVELS).to_numpy()
        f[4].x, f[4].y = starts, ts["fraud_breaker"].map(STATE_LEVELS).to_numpy()
        per_s = 1.0 / c.sample_interval_s
        for trace, column in zip(f[5:8], ("api_calls", "fraud_calls", "gateway_calls"), strict=True):
            trace.x, trace.y = t, ts[column].to_numpy() * per_s
        f[8].x, f[8].y = t, ts["payments"].to_numpy() * per_s
        return summary_html(r, self.sla_latency_s)


def summary_rows(r: ResilienceResult) -> list[tuple[str, str]]:
    """What the business saw, and what the patterns did, as named figures."""
    s = r.summary
    recover = s["time_to_recover_s"]
    return [
        ("payments succeeded", f"{fmt(s['succeeded'])} of {fmt(s['payments'])} ({s['success_rate']:.1%})"),
        ("answered at all (success or fallback)", f"{s['availability']:.1%}"),
        ("latency p50 / p99 (every answer)", f"{fmt(s['latency_p50_s'], 's')} / {fmt(s['latency_p99_s'], 's')}"),
        ("revenue lost", fmt(s["revenue_lost_usd"], "USD")),
        ("SLA breaches (answers later than the SLA)", fmt(s["sla_breaches"])),
        ("double charges", fmt(s["double_charges"])),
        ("calls to the gateway per payment", f"{s['gateway_amplification']:.2f}"),
        ("retries, at every layer", fmt(s["retries"])),
        ("calls refused by an open breaker", fmt(s["calls_not_permitted"])),
        ("times the gateway breaker opened", fmt(s["gateway_breaker_opened"])),
        ("recovered after the fault ended", "not within the run" if _missing(recover) else fmt(recover, "s")),
    ]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def summary_html(r: ResilienceResult, sla_latency_s: float | None = None) -> str:
    """The summary: what happened, in a sentence, then the figures."""
    s, c = r.summary, r.config
    if c.faults:
        fault = (f"With {', then '.join(fault_words(x) for x in c.faults)}, "
                 f"{s['success_rate']:.1%} of payments succeeded")
    else:
        fault = f"With no fault, {s['success_rate']:.1%} of payments succeeded"
    recover = s["time_to_recover_s"]
    if c.faults:
        last = "the last fault" if len(c.faults) > 1 else "the fault"
        fault += (", and the chain had not recovered when the run ended" if _missing(recover)
                  else f", and it recovered {fmt(recover, 's')} after {last} ended")
    if s["gateway_amplification"] > 1.5:
        fault += f"; every payment sent {s['gateway_amplification']:.1f} calls to the gateway on average"
    sla = f" (SLA {fmt(sla_latency_s, 's')})" if sla_latency_s is not None else ""
    sentence = (f"{fault}. Revenue lost: {html.escape(fmt(s['revenue_lost_usd'], 'USD'))}; "
                f"{fmt(s['sla_breaches'])} answers breached the SLA{sla}.")
    return facts_html(sentence, summary_rows(r))


__all__ = ["FAULT_TIERS", "MAGNITUDES", "NO_FAULT", "SECOND", "ResilienceExplorer", "fault_controls", "fault_from",
           "fault_of", "fault_words", "summary_html", "summary_rows"]
