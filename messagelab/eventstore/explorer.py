"""Two explorers of an event store: what a snapshot interval buys, and one aggregate's history.

:class:`SnapshotExplorer` answers "how often should this aggregate be snapshotted?". Its load
times are measured for real on SQLite (:func:`measured_costs`, once per machine: the result
is kept in a cache file) at a few stream lengths, and extended to streams of millions of
events by the line fitted to them (:func:`messagelab.eventstore.snapshots.fit` and
:func:`~messagelab.eventstore.snapshots.model`): a full replay grows with the stream, a load
from a snapshot reads one snapshot and at most an interval of events, and every snapshot
kept costs storage. :func:`largest_interval_within` is the interval a load-time budget
allows.

:class:`TimelineExplorer` shows one aggregate's events of any ``eventsourcing`` application
on a timeline and, for the version chosen, the event that made it and the state that
replaying the events up to it gives: the store's answer to "what did the system believe
then, and why".

>>> largest_interval_within(50, fixed_ms=0.4, per_event_ms=0.02, snapshot_ms=0.5)
2475
>>> largest_interval_within(0.3, fixed_ms=0.4, per_event_ms=0.02) is None
True
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from eventsourcing.application import Application
from plotly.subplots import make_subplots

from messagelab.eventstore import snapshots
from messagelab.explore import Explorer, choice, facts_html, grading, slider
from messagelab.sim.display import count, fmt


def one_two_five(low: int, high: int) -> list[int]:
    """The 1-2-5 steps from ``low`` to ``high``: even steps on a log axis, and round numbers.

    >>> one_two_five(10, 1_000)
    [10, 20, 50, 100, 200, 500, 1000]
    """
    steps, decade = [], 1
    while decade <= high:
        steps += [m * decade for m in (1, 2, 5) if low <= m * decade <= high]
        decade *= 10
    return steps


#: The stream lengths whose loads are measured: a fresh process measures all three in about
#: 1.3 s on a laptop-class core (building 11,100 events, then three loads of each).
MEASURED_LENGTHS: tuple[int, ...] = (100, 1_000, 10_000)
#: The snapshot interval of the measured loads: the shortest tail the controls offer beyond
#: 10, so the measured snapshot load is mostly the cost of reading the snapshot itself.
MEASURED_INTERVAL = 100
#: Loads timed per measurement (their median is kept).
MEASURED_REPEATS = 3
#: The snapshot intervals offered: every 10 events (a snapshot per handful of commands) to
#: every 100,000 (hardly ever).
INTERVALS = one_two_five(10, 100_000)
#: The stream lengths offered: from a busy day's account to an instrument's years of ticks.
STREAM_LENGTHS = one_two_five(1_000, 10_000_000)
#: The load-time budgets offered, in ms: an interactive command (a few ms) to a batch job (1 s).
BUDGETS_MS = one_two_five(1, 1_000)
#: The columns :func:`snapshots.measure` returns, kept in this order in the cache file.
COLUMNS = ["events", "interval", "tail_events", "full_ms", "snapshot_ms", "event_bytes", "snapshot_bytes"]


# --- measured costs, kept ----------------------------------------------------------------------


def cache_folder() -> Path:
    """Where measurements are kept between runs: ``$XDG_CACHE_HOME/messagelab`` or ``~/.cache/messagelab``.

    When that folder cannot be made or written (a read-only home), a ``messagelab`` folder in
    the temporary directory: kept until the machine clears it, which is still better than
    measuring in every notebook run.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):   # the XDG spec ignores a relative path
        base = os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (Path(base) / "messagelab", Path(tempfile.gettempdir()) / "messagelab"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    raise OSError(f"neither {base}/messagelab nor the temporary directory can be written")


def _cache_key(lengths: tuple[int, ...], interval: int, repeats: int) -> dict[str, Any]:
    return {"eventsourcing": package_version("eventsourcing"), "lengths": list(lengths), "interval": interval,
            "repeats": repeats}


def _cache_file(key: dict[str, Any]) -> Path:
    lengths = "-".join(str(n) for n in key["lengths"])
    return cache_folder() / f"snapshot-costs-{key['eventsourcing']}-{lengths}-every{key['interval']}.json"


def _read_cache(path: Path, key: dict[str, Any]) -> pd.DataFrame | None:
    """The costs kept in ``path``, or None when it is missing, unreadable or of another measurement."""
    try:
        data = json.loads(path.read_text())
        if data["key"] != key:
            return None
        frame = pd.DataFrame(data["costs"], columns=COLUMNS)
        frame.attrs = {"measured_at": data["measured_at"], "measured_in_s": float(data["measured_in_s"]),
                       **key, "from": str(path)}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return frame


def _write_cache(path: Path, key: dict[str, Any], frame: pd.DataFrame) -> None:
    data = {"key": key, "measured_at": frame.attrs["measured_at"], "measured_in_s": frame.attrs["measured_in_s"],
            "costs": frame[COLUMNS].to_dict(orient="records")}
    spare = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        spare.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(spare, path)   # a reader sees the whole file or none
    except OSError:
        spare.unlink(missing_ok=True)   # not kept: the next process measures again


@functools.cache
def _costs(lengths: tuple[int, ...], interval: int, repeats: int) -> pd.DataFrame:
    key = _cache_key(lengths, interval, repeats)
    path = _cache_file(key)
    kept = _read_cache(path, key)
    if kept is not None:
        return kept
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="messagelab-replay-") as folder:
        frame = snapshots.measure(lengths, interval=interval, folder=folder, repeats=repeats)[COLUMNS]
    frame.attrs = {"measured_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
                   "measured_in_s": time.perf_counter() - start, **key, "from": "measured"}
    _write_cache(path, key, frame)
    return frame


def measured_costs(lengths: Sequence[int] = MEASURED_LENGTHS, *, interval: int = MEASURED_INTERVAL,
                   repeats: int = MEASURED_REPEATS) -> pd.DataFrame:
    """Full-replay and snapshot-plus-tail load times measured on SQLite: :func:`snapshots.measure`, kept.

    One row per stream length (the columns of :func:`snapshots.measure`). Measured once per
    process, and kept in a JSON file in :func:`cache_folder` named by the ``eventsourcing``
    version, the lengths and the interval, so that the next notebook run on this machine reads
    it instead of measuring again. ``attrs`` says when it was measured, how long that took, and
    ``from`` (``"measured"``, or the file it was read from).
    """
    return _costs(tuple(int(n) for n in lengths), int(interval), int(repeats)).copy()


measured_costs.cache_info = _costs.cache_info  # type: ignore[attr-defined]
measured_costs.cache_clear = _costs.cache_clear  # type: ignore[attr-defined]


# --- the load model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadCosts:
    """What one load costs, read off measured loads: the parts :func:`snapshots.model` adds up."""

    #: The part of every load that does not depend on the stream (a query, an aggregate made).
    fixed_ms: float
    #: Replaying one more event.
    per_event_ms: float
    #: A load that starts from a snapshot, before its tail: at least the fixed part.
    snapshot_ms: float
    #: One snapshot's serialised state, and one event's (on average), as stored.
    snapshot_bytes: float
    event_bytes: float
    #: The longest stream measured: beyond it the times are the fitted line's.
    measured_up_to: int

    @classmethod
    def of(cls, costs: pd.DataFrame) -> LoadCosts:
        """Fit ``costs`` (rows of :func:`snapshots.measure`): the line through full replays, the snapshot's part.

        A measured snapshot load is the snapshot's part plus its tail at the fitted cost per
        event; their median (over the lengths long enough to have a snapshot) is the part.
        """
        with_snapshot = costs[costs["tail_events"] < costs["events"]]
        if len(costs) < 2 or with_snapshot.empty:
            raise ValueError("the costs need two stream lengths, one of them longer than the interval measured "
                             "(so that a snapshot was loaded)")
        fixed_ms, per_event_ms = snapshots.fit(costs)
        read = with_snapshot["snapshot_ms"] - per_event_ms * with_snapshot["tail_events"]
        return cls(fixed_ms, per_event_ms, max(float(read.median()), fixed_ms),
                   float(with_snapshot["snapshot_bytes"].median()),
                   float(costs["event_bytes"].sum() / costs["events"].sum()), int(costs["events"].max()))


def loads(costs: LoadCosts, events: Sequence[int], interval: int) -> pd.DataFrame:
    """:func:`snapshots.model` with ``costs``: per stream length, full replay and snapshot loads, and the storage.

    A stream shorter than the interval has no snapshot yet, so its load is the full replay.
    ``snapshot_kb`` is what the snapshots the interval leaves take to store.
    """
    m = snapshots.model(events, interval, costs.fixed_ms, costs.per_event_ms, costs.snapshot_ms)
    m["snapshot_ms"] = m["snapshot_ms"].where(m["snapshots"] > 0, m["full_ms"])
    m["snapshot_kb"] = m["snapshots"] * costs.snapshot_bytes / 1000
    return m


def largest_interval_within(budget_ms: float, fixed_ms: float, per_event_ms: float,
                            snapshot_ms: float | None = None) -> int | None:
    """The largest snapshot interval whose worst-case load stays within ``budget_ms``; None if none does.

    At worst a load reads the latest snapshot (``snapshot_ms``, by default the fixed part of a
    load, as in :func:`snapshots.model`) and a whole interval of events after it, so the
    interval is the events the budget pays for once the snapshot is read. A longer interval
    keeps fewer snapshots and breaks the budget; a shorter one keeps more for no need.

    >>> largest_interval_within(22, fixed_ms=2.0, per_event_ms=0.02)
    1000
    >>> largest_interval_within(22, fixed_ms=2.0, per_event_ms=0.02, snapshot_ms=4.0)
    900
    """
    if per_event_ms <= 0:
        raise ValueError(f"per_event_ms={per_event_ms}: replaying an event must cost something")
    base = fixed_ms if snapshot_ms is None else snapshot_ms

    def fits(interval: int) -> bool:
        return base + per_event_ms * interval <= budget_ms

    interval = max(math.floor((budget_ms - base) / per_event_ms), 0)
    # The division can land one either side of the true boundary in floating point.
    while fits(interval + 1):
        interval += 1
    while interval > 0 and not fits(interval):
        interval -= 1
    return interval or None


# --- the snapshot explorer --------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotResult:
    """The explorer's figures at one setting (times in ms)."""

    events: int
    interval: int
    budget_ms: float
    #: Loading the aggregate by replaying every event.
    full_ms: float
    #: Loading it from the latest snapshot and at most an interval of events after it.
    snapshot_ms: float
    within_budget: bool
    #: Snapshots the interval leaves in the stream, and what they take to store.
    snapshots: int
    snapshot_kb: float
    #: The fitted parts of a load (see :class:`LoadCosts`).
    fixed_ms: float
    per_event_ms: float
    snapshot_read_ms: float
    #: What :func:`largest_interval_within` allows under the budget (None: not even a snapshot alone fits).
    largest_interval: int | None
    #: Whether ``events`` is beyond the longest stream measured (so the times are the fitted line's).
    extrapolated: bool


def duration(ms: float) -> str:
    """A load time as people say it: ``'22 ms'``, ``'41.2 s'``, ``'3.5 min'``.

    >>> duration(0.45), duration(22.0), duration(41_200), duration(210_000)
    ('0.45 ms', '22 ms', '41.2 s', '3.5 min')
    """
    if ms >= 60_000:
        return fmt(ms / 60_000, "min")
    return fmt(ms / 1000, "s") if ms >= 1000 else fmt(ms, "ms")


def storage(kb: float) -> str:
    """Stored bytes in kB, MB or GB: ``'384 kB'``, ``'3.8 MB'``."""
    for unit, size in (("GB", 1e6), ("MB", 1e3)):
        if kb >= size:
            return fmt(kb / size, unit)
    return fmt(kb, "kB")


class SnapshotExplorer(Explorer):
    """Snapshot interval, stream length and load budget; load time and snapshot storage.

    The left chart is load time against the aggregate's stream length: measured loads as
    points, the line fitted to them for a full replay, and the load from a snapshot at the
    chosen interval, which stops growing once the stream is longer than the interval. The
    right one, at the chosen length, trades the two things an interval decides: the load time
    (rising with the interval) and the storage the snapshots take (falling with it).

    ``costs`` are rows of :func:`snapshots.measure`; by default :func:`measured_costs`.
    """

    title = "Snapshot explorer"

    def __init__(self, costs: pd.DataFrame | None = None, *, interval: int = 1_000, events: int = 1_000_000,
                 budget_ms: float = 50) -> None:
        self.defaults = {"interval": interval, "events": events, "budget_ms": budget_ms}
        self.measured: pd.DataFrame | None = None
        self.costs: LoadCosts | None = None
        if not grading():   # nothing to measure for a grader that draws nothing
            self.measured = measured_costs() if costs is None else costs
            self.costs = LoadCosts.of(self.measured)
        #: The curves of the last update: against stream length, and against the interval.
        self.by_length: pd.DataFrame | None = None
        self.by_interval: pd.DataFrame | None = None
        # Each curve depends on one control only: kept per interval and per length.
        self._by_length_at: dict[int, pd.DataFrame] = {}
        self._by_interval_at: dict[int, pd.DataFrame] = {}
        super().__init__()

    def make_controls(self) -> dict[str, widgets.Widget]:
        d = self.defaults
        return {
            "interval": choice("snapshot every (events)", [(f"{n:,}", n) for n in INTERVALS], d["interval"]),
            "events": choice("stream length (events)", [(f"{n:,}", n) for n in STREAM_LENGTHS], d["events"]),
            "budget_ms": choice("load budget (ms)", [(f"{n:,}", n) for n in BUDGETS_MS], d["budget_ms"]),
        }

    def make_figure(self) -> go.FigureWidget:
        fig = make_subplots(
            rows=1, cols=2, horizontal_spacing=0.14, specs=[[{}, {"secondary_y": True}]],
            subplot_titles=("Load time against the stream's length", "At this length: what the interval trades"),
        )
        full, snap, budget = "#d62728", "#1f77b4", "grey"
        fig.add_trace(go.Scatter(name="full replay, measured", mode="markers", marker=dict(color=full, size=9),
                                 hovertemplate="%{x:,} events: %{y:.3g} ms<extra>full replay, measured</extra>"), 1, 1)
        fig.add_trace(go.Scatter(name="full replay, fitted", mode="lines", line=dict(color=full),
                                 hovertemplate="%{x:,} events: %{y:,.3g} ms<extra>full replay</extra>"), 1, 1)
        fig.add_trace(go.Scatter(name="from a snapshot, this interval", mode="lines", line=dict(color=snap),
                                 hovertemplate="%{x:,} events: %{y:,.3g} ms<extra>from a snapshot</extra>"), 1, 1)
        every = int(self.measured["interval"].iloc[0])
        fig.add_trace(go.Scatter(name=f"from a snapshot every {every:,} events, measured", mode="markers",
                                 marker=dict(color=snap, size=9, symbol="square"),
                                 hovertemplate="%{x:,} events: %{y:.3g} ms<extra>snapshot, measured</extra>"), 1, 1)
        # Line traces, not shapes: a shape's coordinates on a log axis are not in ms.
        fig.add_trace(go.Scatter(name="budget", mode="lines", line=dict(color=budget, dash="dash"),
                                 hoverinfo="skip"), 1, 1)
        fig.add_trace(go.Scatter(name="this length", mode="lines", line=dict(color="black", dash="dot"),
                                 showlegend=False, hoverinfo="skip"), 1, 1)
        fig.add_trace(go.Scatter(name="this setting", mode="markers", showlegend=False,
                                 marker=dict(color=[full, snap], size=13, line=dict(color="white", width=2)),
                                 hovertemplate="%{text}<extra></extra>"), 1, 1)
        fig.add_trace(go.Scatter(name="load from a snapshot", mode="lines", line=dict(color=snap), showlegend=False,
                                 hovertemplate="every %{x:,} events: %{y:,.3g} ms<extra>load</extra>"), 1, 2)
        fig.add_trace(go.Scatter(name="snapshot storage", mode="lines", line=dict(color="#2ca02c", dash="dashdot"),
                                 hovertemplate="every %{x:,} events: %{y:,.4g} kB<extra>snapshot storage</extra>"),
                      1, 2, secondary_y=True)
        fig.add_trace(go.Scatter(name="budget", mode="lines", line=dict(color=budget, dash="dash"), showlegend=False,
                                 hoverinfo="skip"), 1, 2)
        fig.add_trace(go.Scatter(name="largest interval within the budget", mode="lines",
                                 line=dict(color="#2ca02c", dash="dot"), hoverinfo="skip"), 1, 2)
        fig.add_trace(go.Scatter(name="this interval", mode="markers", showlegend=False,
                                 marker=dict(color=snap, size=13, line=dict(color="white", width=2)),
                                 hovertemplate="%{text}<extra></extra>"), 1, 2)
        fig.add_trace(go.Scatter(name="this interval's storage", mode="markers", showlegend=False,
                                 marker=dict(color="#2ca02c", size=13, symbol="diamond",
                                             line=dict(color="white", width=2)),
                                 hovertemplate="%{text}<extra></extra>"), 1, 2, secondary_y=True)
        fig.update_xaxes(title_text="events in the aggregate's stream (log)", type="log", row=1, col=1)
        fig.update_yaxes(title_text="load time (ms, log)", type="log", row=1, col=1)
        fig.update_xaxes(title_text="snapshot every … events (log)", type="log", row=1, col=2)
        fig.update_yaxes(title_text="load time (ms, log)", type="log", row=1, col=2, secondary_y=False)
        # Ticks at powers of ten only: a second log axis over many decades labels stray values otherwise.
        fig.update_yaxes(title_text="snapshot storage (kB, log)", type="log", row=1, col=2, secondary_y=True,
                         showgrid=False, dtick=1)
        fig.update_layout(height=520, margin=dict(l=70, r=70, t=40, b=130),
                          legend=dict(orientation="h", y=-0.2, x=0.0))
        return go.FigureWidget(fig)

    def compute(self, values: dict[str, Any]) -> SnapshotResult:
        c = self.costs
        n, interval, budget = int(values["events"]), int(values["interval"]), float(values["budget_ms"])
        self.by_length = self._by_length(interval)
        self.by_interval = self._by_interval(n)
        here = loads(c, [n], interval).iloc[0]
        snapshot_ms = float(here["snapshot_ms"])
        return SnapshotResult(
            events=n, interval=interval, budget_ms=budget, full_ms=float(here["full_ms"]), snapshot_ms=snapshot_ms,
            within_budget=snapshot_ms <= budget, snapshots=int(here["snapshots"]),
            snapshot_kb=float(here["snapshot_kb"]), fixed_ms=c.fixed_ms, per_event_ms=c.per_event_ms,
            snapshot_read_ms=c.snapshot_ms,
            largest_interval=largest_interval_within(budget, c.fixed_ms, c.per_event_ms, c.snapshot_ms),
            extrapolated=n > c.measured_up_to,
        )

    def _by_length(self, interval: int) -> pd.DataFrame:
        """Loads at ``interval`` over the stream lengths drawn: from the shortest measured to the longest offered."""
        if interval not in self._by_length_at:
            shortest = min(int(self.measured["events"].min()), STREAM_LENGTHS[0])
            lengths = np.unique(np.geomspace(shortest, STREAM_LENGTHS[-1], 81).round().astype(int))
            self._by_length_at[interval] = loads(self.costs, lengths.tolist(), interval)
        return self._by_length_at[interval]

    def _by_interval(self, events: int) -> pd.DataFrame:
        """Loads and storage at a stream of ``events`` over the intervals drawn."""
        if events not in self._by_interval_at:
            intervals = np.unique(np.geomspace(INTERVALS[0], INTERVALS[-1], 41).round().astype(int))
            self._by_interval_at[events] = pd.concat([loads(self.costs, [events], int(i)) for i in intervals],
                                                     ignore_index=True)
        return self._by_interval_at[events]

    def draw(self, r: SnapshotResult) -> str:
        f, measured, line, across = self.figure.data, self.measured, self.by_length, self.by_interval
        f[0].x, f[0].y = measured["events"].to_numpy(), measured["full_ms"].to_numpy()
        f[1].x, f[1].y = line["events"].to_numpy(), line["full_ms"].to_numpy()
        f[2].x, f[2].y = line["events"].to_numpy(), line["snapshot_ms"].to_numpy()
        f[2].name = f"from a snapshot every {r.interval:,} events"
        with_snapshot = measured[measured["tail_events"] < measured["events"]]
        f[3].x, f[3].y = with_snapshot["events"].to_numpy(), with_snapshot["snapshot_ms"].to_numpy()
        ends = [float(line["events"].iloc[0]), float(line["events"].iloc[-1])]
        f[4].x, f[4].y = ends, [r.budget_ms] * 2
        low = min(float(measured[["full_ms", "snapshot_ms"]].min().min()), r.budget_ms)
        high = max(float(line["full_ms"].max()), r.budget_ms)
        f[5].x, f[5].y = [r.events] * 2, [low, high]
        f[6].x, f[6].y = [r.events] * 2, [r.full_ms, r.snapshot_ms]
        f[6].text = [f"{r.events:,} events, full replay: {duration(r.full_ms)}",
                     f"{r.events:,} events, snapshot every {r.interval:,}: {duration(r.snapshot_ms)}"]
        intervals = across["interval"].to_numpy()
        f[7].x, f[7].y = intervals, across["snapshot_ms"].to_numpy()
        # No snapshot at all (an interval beyond the stream) takes nothing: no point on a log axis.
        f[8].x, f[8].y = intervals, across["snapshot_kb"].where(across["snapshots"] > 0).to_numpy()
        f[9].x, f[9].y = [INTERVALS[0], INTERVALS[-1]], [r.budget_ms] * 2
        if r.largest_interval is not None and INTERVALS[0] <= r.largest_interval <= INTERVALS[-1]:
            times = across["snapshot_ms"]
            f[10].x = [r.largest_interval] * 2
            f[10].y = [min(float(times.min()), r.budget_ms), max(float(times.max()), r.budget_ms)]
        else:
            f[10].x, f[10].y = [], []
        f[11].x, f[11].y = [r.interval], [r.snapshot_ms]
        f[11].text = [f"every {r.interval:,} events: {duration(r.snapshot_ms)}"]
        if r.snapshots:
            f[12].x, f[12].y = [r.interval], [r.snapshot_kb]
            f[12].text = [f"every {r.interval:,} events: {count(r.snapshots, 'snapshot')}, {storage(r.snapshot_kb)}"]
        else:
            f[12].x, f[12].y, f[12].text = [], [], []
        return snapshot_html(r, self.costs, self.measured)


def snapshot_html(r: SnapshotResult, costs: LoadCosts, measured: pd.DataFrame) -> str:
    """The snapshot explorer's summary: this setting in a sentence, what the interval allows, then a table."""
    sentence = f"At {r.events:,} events a full replay takes about {duration(r.full_ms)}; "
    verdict = (f"within the {fmt(r.budget_ms, 'ms')} budget" if r.within_budget
               else f"over the {fmt(r.budget_ms, 'ms')} budget")
    if r.snapshots:
        sentence += (f"a snapshot every {r.interval:,} events loads in about {duration(r.snapshot_ms)}, {verdict}, "
                     f"and keeps {count(r.snapshots, 'snapshot')} (~{storage(r.snapshot_kb)}).")
    else:
        sentence += (f"with a snapshot every {r.interval:,} events the stream has none yet, so a load is that full "
                     f"replay, {verdict}.")
    if r.largest_interval is None:
        sentence += (f" No interval keeps a load within the budget: reading a snapshot alone takes about "
                     f"{duration(r.snapshot_read_ms)}.")
    elif r.full_ms <= r.budget_ms:
        sentence += (f" A full replay already fits the budget; as the stream grows, a snapshot at least every "
                     f"{r.largest_interval:,} events keeps loads within it.")
    else:
        sentence += f" Snapshots as far apart as every {r.largest_interval:,} events would keep loads within it."
    if r.extrapolated:
        sentence += (f" Loads were measured up to {costs.measured_up_to:,} events; beyond, the times are the line "
                     "fitted to them.")
    stream_kb = r.events * costs.event_bytes / 1000
    lengths = ", ".join(f"{int(n):,}" for n in measured["events"])
    how = f"{lengths} events, a snapshot every {int(measured['interval'].iloc[0]):,}"
    a = measured.attrs
    if a:   # measured_costs' frames say when and how long
        how += (f"; eventsourcing {a['eventsourcing']}, {a['measured_in_s']:.1f} s on {a['measured_at']}"
                + ("" if a["from"] == "measured" else " (read from the cache)"))
    rows = [
        ("full replay", duration(r.full_ms)),
        (f"from a snapshot every {r.interval:,} events (worst case)", duration(r.snapshot_ms)),
        ("snapshots kept / their storage", f"{fmt(r.snapshots)} / {storage(r.snapshot_kb)}"),
        ("the stream's own events' storage", storage(stream_kb)),
        ("largest interval within the budget",
         "none" if r.largest_interval is None else f"every {r.largest_interval:,} events"),
        ("fixed part of a load (fitted)", fmt(r.fixed_ms, "ms")),
        ("replaying one event (fitted)", f"{r.per_event_ms:.3g} ms ({fmt(1000 / r.per_event_ms, 'events/s')})"),
        ("reading a snapshot, before its tail", fmt(r.snapshot_read_ms, "ms")),
        ("one snapshot's / one event's stored state", f"{fmt(costs.snapshot_bytes)} / {fmt(costs.event_bytes)} bytes"),
        ("measured on SQLite", how),
    ]
    return facts_html(sentence, rows)


# --- the timeline explorer --------------------------------------------------------------------------

#: An event's envelope, shown apart from its attributes (the timeline's axes, the version).
ENVELOPE = ("originator_id", "originator_version", "originator_topic", "timestamp")


def _utc(when: datetime) -> datetime:
    """``when`` in UTC without its zone: plotly draws a time as the wall time it is given."""
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def shown(value: Any) -> str:
    """One attribute as the explorer writes it: ids shortened, times in UTC to the second, numbers as :func:`fmt`.

    >>> shown(uuid.UUID("2799e283-d0f7-48a7-9386-a8da8100d0b3")), shown(1500), shown(None), shown("VWS")
    ('2799e283…', '1,500', 'None', 'VWS')
    >>> from datetime import timedelta, timezone
    >>> shown(datetime(2024, 3, 4, 10, 30, tzinfo=timezone(timedelta(hours=1))))
    '2024-03-04 09:30:00 UTC'
    """
    if isinstance(value, uuid.UUID):
        return f"{value.hex[:8]}…"
    if isinstance(value, datetime):
        return _utc(value).isoformat(sep=" ", timespec="seconds") + (" UTC" if value.tzinfo else "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return fmt(value)
    return str(value)


def attributes(event: Any) -> dict[str, Any]:
    """An event's own data: its attributes besides the envelope (id, version, topic, time)."""
    return {k: v for k, v in vars(event).items() if k not in ENVELOPE}


def public_state(aggregate: Any) -> dict[str, Any]:
    """An aggregate's state: its attributes not prefixed ``_`` (the library's id, version and times are)."""
    return {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}


@dataclass(frozen=True)
class TimelineResult:
    """The timeline explorer at one version: the event that made it, and the state it gives."""

    version: int
    latest: int
    #: The event stored at ``version`` and its name (its class's).
    event: Any
    name: str
    timestamp: datetime
    #: The event's data (:func:`attributes`).
    attributes: dict[str, Any]
    #: The aggregate's public attributes as of ``version`` (:func:`public_state`).
    state: dict[str, Any]


class TimelineExplorer(Explorer):
    """One aggregate's events on a timeline; choose a version, see its event and the state as of it.

    ``app`` is any ``eventsourcing`` application and ``aggregate_id`` one of its aggregates.
    Its events are read once, when the explorer is made; each version's state is read from
    the application's repository (a replay of the events up to it, or a snapshot and its
    tail). Each event is a marker at its time, on the row of its kind; the events replayed
    into the chosen version's state are coloured, the later ones grey.
    """

    title = "Event timeline"

    def __init__(self, app: Application, aggregate_id: uuid.UUID, *, version: int | None = None) -> None:
        self.app, self.aggregate_id = app, aggregate_id
        self.events = list(app.events.get(aggregate_id))
        if not self.events:
            raise ValueError(f"the application holds no events of {aggregate_id}")
        self.by_version = {e.originator_version: e for e in self.events}
        self.first, self.latest = self.events[0].originator_version, self.events[-1].originator_version
        self.start = self.latest if version is None else version
        #: The kinds of event in the order they first happened: the timeline's rows, top down.
        self.kinds = list(dict.fromkeys(type(e).__name__ for e in self.events))
        super().__init__()

    def make_controls(self) -> dict[str, widgets.Widget]:
        return {"version": slider("int", "version", self.start, self.first, self.latest, 1)}

    def make_figure(self) -> go.FigureWidget:
        fig = go.Figure()
        times = [_utc(e.timestamp) for e in self.events]
        names = [type(e).__name__ for e in self.events]
        hover = [
            "<br>".join([f"<b>version {e.originator_version}: {html.escape(n)}</b>", shown(e.timestamp),
                         *(f"{html.escape(k)}: {html.escape(shown(v))}" for k, v in attributes(e).items())])
            for e, n in zip(self.events, names, strict=True)
        ]
        fig.add_trace(go.Scatter(name="in order", mode="lines", x=times, y=names, line=dict(color="#c7c7c7", width=1),
                                 hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(name="event", mode="markers", x=times, y=names, text=hover, marker=dict(size=10),
                                 hovertemplate="%{text}<extra></extra>", showlegend=False))
        fig.add_trace(go.Scatter(name="as of", mode="lines", line=dict(color="#d62728", dash="dot"),
                                 hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(name="this version's event", mode="markers", showlegend=False,
                                 marker=dict(symbol="circle-open", size=20, color="#d62728", line=dict(width=3)),
                                 hoverinfo="skip"))
        fig.update_xaxes(title_text="time (UTC)")
        fig.update_yaxes(type="category", categoryorder="array", categoryarray=self.kinds[::-1])
        fig.update_layout(height=max(260, 120 + 32 * len(self.kinds)), margin=dict(l=140, r=20, t=30, b=50))
        return go.FigureWidget(fig)

    def compute(self, values: dict[str, Any]) -> TimelineResult:
        v = int(values["version"])
        e = self.by_version[v]
        aggregate = self.app.repository.get(self.aggregate_id, version=v)
        return TimelineResult(version=v, latest=self.latest, event=e, name=type(e).__name__, timestamp=e.timestamp,
                              attributes=attributes(e), state=public_state(aggregate))

    def draw(self, r: TimelineResult) -> str:
        f = self.figure.data
        f[1].marker.color = ["#1f77b4" if e.originator_version <= r.version else "#c7c7c7" for e in self.events]
        when = _utc(r.timestamp)
        f[2].x, f[2].y = [when, when], [self.kinds[0], self.kinds[-1]]
        f[3].x, f[3].y = [when], [r.name]
        return timeline_html(r, self.first)


def timeline_html(r: TimelineResult, first: int = 1) -> str:
    """The timeline's summary: the event at the version in words, then the state as of it."""
    data = ", ".join(f"{html.escape(k)} = {html.escape(shown(v))}" for k, v in r.attributes.items())
    replayed = r.version - first + 1
    which = "it" if replayed == 1 else f"the first {count(replayed, 'event')}"
    sentence = (f"Version {r.version:,} of {r.latest:,}: <b>{html.escape(r.name)}</b> at "
                f"{html.escape(shown(r.timestamp))}" + (f", with {data}" if data else ", with no data of its own")
                + f". Replaying {which} gives this state:")
    return facts_html(sentence, [(k, shown(v)) for k, v in r.state.items()])
