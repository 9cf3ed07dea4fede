"""The event store's explorers: snapshot costs measured once and kept, the interval's trade-off, a timeline.

The snapshot explorer's costs are measured for real on SQLite, at short streams (a fraction
of a second); each test keeps its measurements in a cache folder of its own. The timeline
explorer runs on the trading domain with events stamped at fixed times, and on an aggregate
of no domain at all.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from importlib.metadata import version as package_version

import pandas as pd
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from hypothesis import given
from hypothesis import strategies as st

from messagelab.eventstore import snapshots
from messagelab.eventstore.clock import CLOCK
from messagelab.eventstore.explorer import (
    INTERVALS,
    LoadCosts,
    SnapshotExplorer,
    TimelineExplorer,
    cache_folder,
    largest_interval_within,
    loads,
    measured_costs,
    public_state,
)
from messagelab.eventstore.trading import Trading

#: Streams short enough to measure in a test, long enough for a snapshot every 100 to matter.
LENGTHS = (100, 1_000, 5_000)
TINY = (10, 100, 300)


@pytest.fixture(autouse=True)
def plain_run(monkeypatch, tmp_path):
    """A student's run (no grader), measurements kept in this test's own cache folder."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    measured_costs.cache_clear()
    yield
    measured_costs.cache_clear()


@pytest.fixture(scope="module")
def costs() -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as folder:
        return snapshots.measure(LENGTHS, interval=100, folder=folder, repeats=3)


@pytest.fixture
def explorer(costs) -> SnapshotExplorer:
    return SnapshotExplorer(costs)


@pytest.fixture
def measurements(monkeypatch) -> list[tuple[int, ...]]:
    """The lengths of every real measurement made while the test runs."""
    made, measure = [], snapshots.measure

    def counted(lengths, **kw):
        made.append(tuple(lengths))
        return measure(lengths, **kw)

    monkeypatch.setattr(snapshots, "measure", counted)
    return made


# --- measured costs, kept ----------------------------------------------------------------------
def test_costs_are_measured_once_per_process_and_the_file_cache_round_trips(measurements, tmp_path):
    first = measured_costs(TINY, repeats=1)
    assert measurements == [TINY] and first.attrs["from"] == "measured"
    assert first["events"].tolist() == list(TINY) and (first["full_ms"] > 0).all()
    first.loc[0, "full_ms"] = -1.0                       # a caller's copy: the kept costs stay as measured
    again = measured_costs(TINY, repeats=1)
    assert measurements == [TINY] and measured_costs.cache_info().hits == 1
    assert again.loc[0, "full_ms"] > 0

    kept = list((tmp_path / "cache" / "messagelab").glob("snapshot-costs-*.json"))
    assert len(kept) == 1 and package_version("eventsourcing") in kept[0].name
    assert json.loads(kept[0].read_text())["key"] == {"eventsourcing": package_version("eventsourcing"),
                                                      "lengths": list(TINY), "interval": 100, "repeats": 1}
    measured_costs.cache_clear()                         # a new process: only the file is left
    read = measured_costs(TINY, repeats=1)
    assert measurements == [TINY] and read.attrs["from"] == str(kept[0])
    pd.testing.assert_frame_equal(read, again)
    assert read.attrs["measured_in_s"] == again.attrs["measured_in_s"] > 0

    measured_costs((10, 100), repeats=1)                 # other lengths are another measurement
    assert measurements == [TINY, (10, 100)]


@pytest.mark.parametrize("kept", ["not json", json.dumps({"key": {"eventsourcing": "0.0"}, "costs": []})],
                         ids=["unreadable", "another version's"])
def test_a_cache_file_that_is_not_this_measurement_is_measured_again(measurements, kept):
    measured_costs(TINY, repeats=1)
    path = next((cache_folder()).glob("snapshot-costs-*.json"))
    path.write_text(kept)
    measured_costs.cache_clear()
    assert measured_costs(TINY, repeats=1).attrs["from"] == "measured"
    assert measurements == [TINY, TINY]
    assert json.loads(path.read_text())["key"]["lengths"] == list(TINY)   # and kept again


def test_a_cache_folder_that_cannot_be_made_falls_back_to_the_temporary_directory(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))   # messagelab/ cannot be made inside a file
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    assert cache_folder() == tmp_path / "tmp" / "messagelab"
    assert cache_folder().is_dir()


def test_by_default_the_explorer_reads_the_kept_costs(measurements):
    first, second = SnapshotExplorer(), SnapshotExplorer()
    assert len(measurements) == 1
    assert first.last_result == second.last_result


def test_while_graded_the_snapshot_explorer_measures_nothing(monkeypatch, measurements):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    e = SnapshotExplorer()
    assert measurements == [] and e.controls == {} and e.last_result is None


# --- the interval's trade-off --------------------------------------------------------------------
def test_a_snapshot_load_is_below_a_full_replay_for_long_streams(costs, explorer):
    measured = costs.set_index("events")
    assert measured.loc[5_000, "snapshot_ms"] < measured.loc[5_000, "full_ms"] / 5   # as measured
    fitted = LoadCosts.of(costs)
    for interval in INTERVALS:
        long = loads(fitted, [interval * 10, interval * 1_000], interval)
        assert (long["snapshot_ms"] < long["full_ms"]).all()
    explorer.set(events=10_000_000, interval=1_000)
    r = explorer.last_result
    assert r.extrapolated and r.snapshot_ms < r.full_ms / 100


def test_a_larger_interval_loads_slower_and_keeps_fewer_snapshots(explorer):
    seen = []
    for interval in (100, 1_000, 10_000):
        explorer.set(interval=interval, events=1_000_000)
        seen.append(explorer.last_result)
    assert [r.snapshots for r in seen] == [10_000, 1_000, 100]
    assert seen[0].snapshot_ms < seen[1].snapshot_ms < seen[2].snapshot_ms
    assert seen[0].snapshot_kb > seen[1].snapshot_kb > seen[2].snapshot_kb > 0
    assert len({r.full_ms for r in seen}) == 1                  # the interval does not change a full replay
    r = seen[1]
    assert r.snapshot_ms == pytest.approx(r.snapshot_read_ms + 1_000 * r.per_event_ms)


def test_a_stream_shorter_than_the_interval_has_no_snapshot_and_loads_by_full_replay(explorer):
    explorer.set(events=1_000, interval=100_000)
    r = explorer.last_result
    assert (r.snapshots, r.snapshot_kb) == (0, 0.0) and r.snapshot_ms == r.full_ms
    assert "has none yet" in explorer.summary.value


def test_the_budget_decides_the_verdict_and_the_largest_interval(explorer):
    explorer.set(events=1_000_000, interval=1_000, budget_ms=1_000)
    generous = explorer.last_result
    explorer.set(budget_ms=1)
    tight = explorer.last_result
    assert generous.within_budget and not tight.within_budget
    assert "over the 1 ms budget" in explorer.summary.value
    for r in (generous, tight):
        assert r.largest_interval == largest_interval_within(r.budget_ms, r.fixed_ms, r.per_event_ms,
                                                             r.snapshot_read_ms)
    # On a slow machine reading one snapshot alone can take more than 1 ms: then no interval fits.
    if tight.snapshot_read_ms > tight.budget_ms:
        assert tight.largest_interval is None and generous.largest_interval > 0
    else:
        assert generous.largest_interval > tight.largest_interval > 0


def test_the_summary_says_the_setting_in_words(explorer):
    explorer.set(events=2_000_000, interval=1_000, budget_ms=50)
    text = explorer.summary.value
    assert "At 2,000,000 events a full replay takes about" in text
    assert "a snapshot every 1,000 events loads in about" in text and "2,000 snapshots" in text
    assert "measured up to 5,000 events" in text and "<table>" in text


def test_the_figure_marks_the_chosen_length_interval_and_budget(explorer):
    explorer.set(events=200_000, interval=5_000, budget_ms=20)
    f, r = explorer.figure.data, explorer.last_result
    assert list(f[0].x) == list(LENGTHS)                          # measured full replays
    assert list(f[3].x) == [1_000, 5_000]                         # measured snapshot loads (100 has none)
    assert list(f[4].y) == [20, 20] and list(f[9].y) == [20, 20]  # the budget, both panels
    assert list(f[5].x) == [200_000, 200_000] and list(f[6].y) == [r.full_ms, r.snapshot_ms]
    assert list(f[11].x) == [5_000] and list(f[11].y) == [r.snapshot_ms]
    assert list(f[12].y) == [r.snapshot_kb]
    assert list(f[10].x) == [r.largest_interval] * 2


@given(budget=st.floats(0.1, 1_000), fixed=st.floats(0, 5), per_event=st.floats(1e-4, 1.0),
       read=st.none() | st.floats(0, 10))
def test_the_largest_interval_within_the_budget_fits_it_and_one_more_would_not(budget, fixed, per_event, read):
    largest = largest_interval_within(budget, fixed, per_event, read)
    base = fixed if read is None else read

    def worst(interval: int) -> float:    # the modelled load of a stream an interval past its last snapshot
        m = snapshots.model([2 * interval], interval, fixed, per_event, read)
        return float(m["snapshot_ms"].iloc[0])

    if largest is None:
        assert base + per_event > budget
    else:
        assert worst(largest) <= budget < worst(largest + 1)


# --- the timeline ----------------------------------------------------------------------------
OPEN = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)


@pytest.fixture
def account():
    """Alice's account over a morning: open, buy order placed and partly filled, deposit, cancel, withdraw."""
    app = Trading()
    with CLOCK.at(OPEN):
        alice = app.open_account("Alice", 1_000)
    with CLOCK.at(OPEN + timedelta(minutes=2)):
        order = app.place_order(alice, "VWS", "buy", 10, 45)
    with CLOCK.at(OPEN + timedelta(minutes=5)):
        app.fill(order, 4, 44)
    with CLOCK.at(OPEN + timedelta(minutes=9)):
        app.deposit(alice, 250)
    with CLOCK.at(OPEN + timedelta(minutes=14)):
        app.cancel(order)
    with CLOCK.at(OPEN + timedelta(minutes=20)):
        app.withdraw(alice, 300)
    return app, alice, order


MINUTES = [0, 2, 5, 9, 14, 20]
KINDS = ["AccountOpened", "CashReserved", "CashSpent", "CashDeposited", "CashReleased", "CashWithdrawn"]


def test_the_timeline_has_one_marker_per_event_at_its_time_and_kind(account):
    app, alice, _ = account
    e = TimelineExplorer(app, alice)
    markers = e.figure.data[1]
    assert list(markers.x) == [datetime(2024, 3, 4, 9, 30) + timedelta(minutes=m) for m in MINUTES]
    assert list(markers.y) == KINDS
    assert "amount: 450" in markers.text[1] and "version 2: CashReserved" in markers.text[1]
    assert list(e.figure.layout.yaxis.categoryarray) == KINDS[::-1]     # first kind at the top
    assert e.controls["version"].min == 1 and e.controls["version"].max == e.controls["version"].value == 6


def test_the_state_at_every_version_is_what_the_repository_gives(account):
    app, alice, _ = account
    e = TimelineExplorer(app, alice)
    for v in range(1, 7):
        e.set(version=v)
        assert e.last_result.state == public_state(app.repository.get(alice, version=v))
    assert e.last_result.state["cash"] == 1_000 - 4 * 44 + 250 - 300
    e.set(version=2)
    assert (e.last_result.state["cash"], e.last_result.state["reserved"]) == (1_000, 450)
    assert "<td style='text-align:right'>450</td>" in e.summary.value


def test_the_highlighted_event_is_the_selected_version_s(account):
    app, alice, _ = account
    e = TimelineExplorer(app, alice)
    for v, (minutes, kind) in enumerate(zip(MINUTES, KINDS, strict=True), start=1):
        e.set(version=v)
        r, ring = e.last_result, e.figure.data[3]
        assert r.event.originator_version == v and r.name == kind
        assert r.timestamp == OPEN + timedelta(minutes=minutes)
        assert list(ring.x) == [datetime(2024, 3, 4, 9, 30) + timedelta(minutes=minutes)] and list(ring.y) == [kind]
        replayed = ["#1f77b4" if i < v else "#c7c7c7" for i in range(6)]
        assert list(e.figure.data[1].marker.color) == replayed
        assert f"Version {v} of 6: <b>{kind}</b> at {(OPEN + timedelta(minutes=minutes)):%Y-%m-%d %H:%M:%S} UTC" \
               in e.summary.value


def test_ids_are_shortened_in_the_state_and_the_event(account):
    app, alice, order = account
    e = TimelineExplorer(app, order)
    assert e.last_result.state["account_id"] == alice
    assert f"{alice.hex[:8]}…" in e.summary.value and str(alice) not in e.summary.value


class Counter(Aggregate):
    """An aggregate of no domain: the timeline needs nothing of trading."""

    @event("Started")
    def __init__(self, label: str) -> None:
        self.label = label
        self.total = 0
        self._hidden = "not shown"

    @event("Added")
    def add(self, amount: int) -> None:
        self.total += amount


def test_the_timeline_works_on_any_application_s_aggregate():
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    counter = Counter("clicks")
    for amount in (1, 2, 3):
        counter.add(amount)
    app.save(counter)
    e = TimelineExplorer(app, counter.id, version=2)
    assert e.last_result.name == "Added" and e.last_result.attributes == {"amount": 1}
    assert e.last_result.state == {"label": "clicks", "total": 1}
    e.set(version=4)
    assert e.last_result.state == {"label": "clicks", "total": 6}
    assert list(e.figure.layout.yaxis.categoryarray) == ["Added", "Started"]
