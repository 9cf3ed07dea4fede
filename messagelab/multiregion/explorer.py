"""The global explorer: one dataset's placement and replication on a world map, and what users then see.

The map shows the deployment's regions (marker size: the users near each; EEA regions
outlined) and every path the dataset's data travels — a copy replicated from where writes
land to each replica, and the route of each region's writes to where they land — green when
it is allowed, red when it moves EEA users' personal data out of the EEA without a legal
basis (GDPR Art. 44). Below it: each region's write latency (p50 and p99), staleness (p99:
how long after a write commits a reader near that region still sees the old value) and the
transfer it is billed for the copies it sends; and the failover timeline — the share of
writes accepted each second, with the failure, its detection, the promotion and the
failback marked. The summary gives RPO, RTO, conflicts and
lost updates, read-your-writes violations, residency violations and the monthly transfer bill.
"""

from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from messagelab.explore import CONTROL_WIDTH, LABEL_STYLE, Explorer, dropdown, facts_html, slider, toggle
from messagelab.multiregion.config import CONFLICTS, MODES, TOPOLOGIES, Dataset, MultiRegionConfig
from messagelab.multiregion.model import MultiRegionResult, replica_sets, simulate, writer
from messagelab.multiregion.regions import REGIONS, personal_data_may_go
from messagelab.sim.display import fmt

#: The failure switch's first choice: no region fails.
NO_FAILURE = "none"
ALLOWED, VIOLATING = "#2ca02c", "#d62728"


def paths(config: MultiRegionConfig, d: Dataset) -> list[tuple[str, str, str, bool]]:
    """Every (kind, from, to, allowed) the dataset's data travels: its replication and its writes' routes."""
    out: set[tuple[str, str, str, bool]] = set()
    sets = replica_sets(config, d)
    for home, share in zip(config.regions, config.user_shares, strict=True):
        if share == 0:
            continue
        land = writer(config, d, home, sets[home])

        def ok(dest: str, home: str = home) -> bool:
            return d.data_class != "personal" or personal_data_may_go(
                home, dest, dpf_certified=config.dpf_certified, safeguards=config.transfer_safeguards)

        if land != home:
            out.add(("route", home, land, ok(land)))
        hub = d.primary if d.topology == "hub_and_spoke" else land
        if hub != land:
            out.add(("copy", land, hub, ok(hub) and ok(land)))
        for r in sets[home]:
            if r not in (land, hub):
                out.add(("copy", hub, r, ok(r) and ok(hub) and ok(land)))
    return sorted(out)


class GlobalExplorer(Explorer):
    """One dataset's design across the world: the dataset of ``base`` named ``dataset``, on its own.

    The run holds that dataset's writes only (its share of ``base``'s), so every figure is
    its users'. ``latency_target_ms`` (optional) is drawn on the latency chart;
    ``traffic_scale`` turns the simulated sample's transfer bill into the platform's.
    """

    title = "Global placement: where the data lives, how it travels, what users see"

    def __init__(self, base: MultiRegionConfig, dataset: str, *, seed: int = 0,
                 latency_target_ms: float | None = None, traffic_scale: float = 1.0) -> None:
        self.base, self.dataset_name, self.seed = base, dataset, seed
        self.latency_target_ms, self.traffic_scale = latency_target_ms, traffic_scale
        self.base.dataset(dataset)  # KeyError now rather than at the first slider move
        super().__init__()

    @property
    def dataset(self) -> Dataset:
        return self.base.dataset(self.dataset_name)

    def make_controls(self) -> dict[str, widgets.Widget]:
        b, d = self.base, self.dataset
        regions = list(b.regions)
        replicas = widgets.SelectMultiple(options=regions, value=tuple(r for r in d.replicas if r in regions),
                                          description="replicas", rows=min(len(regions), 4), style=LABEL_STYLE,
                                          layout=widgets.Layout(width=CONTROL_WIDTH))
        replicas.continuous_update = False
        return {
            # The replication pipeline first: the first slider of the explorer.
            "replication_delay_ms": slider("float", "replication delay (ms)", b.replication_delay_ms, 0, 5000, 50),
            "topology": dropdown("topology", list(TOPOLOGIES), d.topology),
            "mode": dropdown("mode", list(MODES), d.mode),
            "quorum": slider("int", "quorum (other replicas)", d.quorum, 1, max(len(regions) - 1, 1), 1),
            "primary": dropdown("primary / hub", regions, d.primary if d.primary in regions else regions[0]),
            "replicas": replicas,
            "copies": slider("int", "copies (geo-partitioned)", d.copies, 1, len(regions), 1),
            "conflict": dropdown("conflicts", list(CONFLICTS), d.conflict),
            "failed_region": dropdown("region that fails", [NO_FAILURE, *regions], b.failed_region or NO_FAILURE),
            "dpf_certified": toggle("DPF-certified", [False, True], b.dpf_certified, button_width="60px"),
        }

    def make_figure(self) -> go.FigureWidget:
        fig = make_subplots(
            rows=3, cols=3, row_heights=[0.46, 0.24, 0.3], vertical_spacing=0.11, horizontal_spacing=0.07,
            specs=[[{"type": "scattergeo", "colspan": 3}, None, None],
                   [{"type": "xy"}, {"type": "xy"}, {"type": "xy"}],
                   [{"type": "xy", "colspan": 3}, None, None]],
            subplot_titles=("Regions and the paths the data travels (red: EEA personal data leaving the EEA)",
                            "Write latency, by users' region (ms)", "Staleness p99, by readers' (ms)",
                            "Transfer billed, by sender (USD/month)",
                            "Failover: share of writes accepted each second"),
        )
        fig.add_trace(go.Scattergeo(name="allowed path", mode="lines", line=dict(width=2, color=ALLOWED)), 1, 1)
        fig.add_trace(go.Scattergeo(name="violating path", mode="lines", line=dict(width=3, color=VIOLATING)), 1, 1)
        fig.add_trace(go.Scattergeo(name="regions", mode="markers+text", textposition="top center",
                                    marker=dict(color="#1f77b4", line=dict(width=2))), 1, 1)
        fig.add_trace(go.Bar(name="write p50", marker_color="#9ecae1"), 2, 1)
        fig.add_trace(go.Bar(name="write p99", marker_color="#3182bd"), 2, 1)
        fig.add_trace(go.Scatter(name="latency target", mode="lines", line=dict(color="grey", dash="dash")), 2, 1)
        fig.add_trace(go.Bar(name="staleness p99", marker_color="#fd8d3c"), 2, 2)
        fig.add_trace(go.Scatter(name="writes accepted", mode="lines", line=dict(color="#2ca02c")), 3, 1)
        fig.add_trace(go.Scatter(name="failover steps", mode="lines", line=dict(color="grey", dash="dot")), 3, 1)
        fig.add_trace(go.Scatter(name="failover step", mode="text", textposition="middle right", showlegend=False,
                                 textfont=dict(color="#444")), 3, 1)
        fig.add_trace(go.Bar(name="transfer a month", marker_color="#756bb1"), 2, 3)
        # No base layer (coastlines, land, countries): plotly.js would fetch them from its CDN, which a hub
        # without internet access cannot reach, and then draw nothing at all. A graticule places the regions.
        fig.update_geos(projection_type="natural earth", showcoastlines=False, showland=False, showcountries=False,
                        showocean=False, showlakes=False, showrivers=False, showframe=True, bgcolor="#f7fbff",
                        lataxis=dict(showgrid=True, gridcolor="#dde6ee", dtick=30, range=[-60, 80]),
                        lonaxis=dict(showgrid=True, gridcolor="#dde6ee", dtick=30, range=[-180, 180]))
        fig.update_yaxes(rangemode="tozero", row=2, col=1)
        fig.update_yaxes(rangemode="tozero", row=2, col=2)
        fig.update_yaxes(rangemode="tozero", row=2, col=3)
        fig.update_yaxes(range=[-0.02, 1.08], title_text="share", row=3, col=1)
        fig.update_xaxes(title_text="second", row=3, col=1)
        fig.update_layout(height=900, barmode="group", margin=dict(l=60, r=20, t=50, b=40),
                          legend=dict(orientation="h", y=-0.06))
        return go.FigureWidget(fig)

    def config(self, values: dict[str, Any]) -> MultiRegionConfig:
        v = dict(values)
        failed = v.pop("failed_region")
        top = {k: v.pop(k) for k in ("replication_delay_ms", "dpf_certified")}
        d = self.dataset
        mine = Dataset(**{**d.__dict__, **v, "replicas": tuple(v["replicas"]), "write_share": 1.0})
        return self.base.replace(datasets=(mine,), writes_per_s=self.base.writes_per_s * d.write_share,
                                 failed_region=None if failed == NO_FAILURE else failed, **top)

    def compute(self, values: dict[str, Any]) -> MultiRegionResult:
        return simulate(self.config(values), seed=self.seed)

    def draw(self, r: MultiRegionResult) -> str:
        f, c = self.figure.data, r.config
        d = c.dataset(self.dataset_name)
        for trace, allowed in ((f[0], True), (f[1], False)):
            lon: list[float | None] = []
            lat: list[float | None] = []
            for _, a, b, ok in paths(c, d):
                if ok == allowed:
                    lon += [REGIONS[a].lon, REGIONS[b].lon, None]
                    lat += [REGIONS[a].lat, REGIONS[b].lat, None]
            trace.lon, trace.lat = lon, lat
        regions = list(c.regions)
        f[2].lon, f[2].lat = [REGIONS[x].lon for x in regions], [REGIONS[x].lat for x in regions]
        f[2].text = [REGIONS[x].city + (" ✕" if x == c.failed_region else "") for x in regions]
        f[2].marker.size = [10 + 40 * s for s in c.user_shares]
        f[2].marker.line.color = ["#ffbf00" if REGIONS[x].eea else "#1f77b4" for x in regions]
        t = r.regions
        f[3].x = f[4].x = f[6].x = regions
        f[3].y, f[4].y = t["write_p50_ms"].to_numpy(), t["write_p99_ms"].to_numpy()
        f[6].y = t["staleness_p99_ms"].to_numpy()
        f[10].x, f[10].y = regions, t["transfer_usd_month"].to_numpy() * self.traffic_scale
        if self.latency_target_ms is not None:
            f[5].x, f[5].y = [regions[0], regions[-1]], [self.latency_target_ms] * 2
        ts = r.timeseries
        f[7].x, f[7].y = ts["time_s"].to_numpy() + c.sample_interval_s / 2, ts["availability"].to_numpy()
        steps = [("failed", r.timeline.failed_s), ("detected", r.timeline.detected_s),
                 ("promoted", r.timeline.promoted_s), ("failed back", r.timeline.failed_back_s)]
        xs: list[float | None] = []
        ys: list[float | None] = []
        marks = [(name, at, foot) for (name, at), foot in zip(steps, (0.08, 0.3, 0.52, 0.08), strict=True)
                 if math.isfinite(at)]
        for _, at, _ in marks:
            xs += [at, at, None]
            ys += [0, 1.0, None]
        f[8].x, f[8].y = xs, ys
        # Each step named low beside its line, at staggered heights (detection follows the failure by seconds).
        f[9].x, f[9].y, f[9].text = [m[1] for m in marks], [m[2] for m in marks], [m[0] for m in marks]
        return summary_html(r, self.dataset_name, self.traffic_scale)


def summary_rows(r: MultiRegionResult, traffic_scale: float = 1.0) -> list[tuple[str, str]]:
    """What users and the business saw, as named figures."""
    s, t = r.summary, r.regions
    worst = t.loc[t["write_p99_ms"].idxmax()] if t["write_p99_ms"].notna().any() else None
    rows = [
        ("writes accepted", f"{fmt(s['writes'] - s['refused'])} of {fmt(s['writes'])} ({s['availability']:.1%})"),
        ("write latency p50 / p99 (all users)", f"{fmt(s['write_latency_p50_ms'], 'ms')} / "
                                               f"{fmt(s['write_latency_p99_ms'], 'ms')}"),
    ]
    if worst is not None:
        rows.append(("slowest region's write p99", f"{worst['region']}: {fmt(worst['write_p99_ms'], 'ms')}"))
    rows += [
        ("staleness p50 / p99 (reads)", f"{fmt(s['staleness_p50_ms'], 'ms')} / {fmt(s['staleness_p99_ms'], 'ms')}"),
        ("writes their author could not read back", fmt(s["read_your_writes_violations"])),
        ("concurrent writes (pairs) / updates lost to them", f"{fmt(s['conflicts'])} / {fmt(s['lost_updates'])}"),
        ("residency violations (paths)", fmt(s["residency_violations"])),
        ("transfer between regions", f"{fmt(s['monthly_transfer_usd'] * traffic_scale, 'USD')} a month"),
    ]
    if r.timeline.region is not None:
        rows += [("writes lost with the failure (RPO)", f"{fmt(s['rpo_writes'])} ({fmt(s['rpo_s'], 's')} of writes)"),
                 ("writes refused until rerouted (RTO)", fmt(s["rto_s"], "s"))]
    return rows


def summary_html(r: MultiRegionResult, dataset: str, traffic_scale: float = 1.0) -> str:
    """The summary: a sentence on the design and what it cost, then the figures."""
    s, c = r.summary, r.config
    d = c.dataset(dataset)
    where = ("each user's home region" if d.topology == "geo_partitioned"
             else ", ".join(REGIONS[x].city for x in d.replicas))
    sentence = (f"{html.escape(d.name)}: {d.topology.replace('_', '-')}, {d.mode}, copies in "
                f"{html.escape(where)}; write p99 {fmt(s['write_latency_p99_ms'], 'ms')}, "
                f"staleness p99 {fmt(s['staleness_p99_ms'], 'ms')}")
    if r.timeline.region is not None:
        sentence += (f"; {REGIONS[r.timeline.region].city} failing lost {fmt(s['rpo_writes'])} of them and refused "
                     f"them for {fmt(s['rto_s'], 's')}")
    flagged = r.residency
    if len(flagged):
        sentence += (f". <b>{len(flagged)} path(s) move EEA personal data out of the EEA</b> "
                     f"({html.escape(flagged['breaks'].iloc[0].split(':')[0])})")
    return facts_html(sentence + ".", summary_rows(r, traffic_scale))


__all__ = ["NO_FAILURE", "GlobalExplorer", "paths", "summary_html", "summary_rows"]
